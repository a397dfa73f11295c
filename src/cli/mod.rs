//! The command line: clap types (their doc comments are the `--help` text) and one small function
//! per command, each a thin wrapper around an operation of `crate::ops`: parse the arguments,
//! call the operation, render, pick the exit code. Confirmation, progress and signals live here
//! too. Library errors become a [`CommandError`] (message, hints, exit code) here, once.

mod adopt;
mod apply;
mod completions;
mod confirm;
mod duration;
mod error;
mod import;
mod init;
mod output;
mod plan;
mod progress;
mod sandbox;
mod show;
mod signals;
mod validate;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub use error::CommandError;
pub use output::{Exit, Output};

/// Keep a chat platform's contacts — field values and tags — in YAML under git, see how the
/// platform differs (`plan`), and make it match (`apply`), within the API's limits.
#[derive(Debug, Parser)]
#[command(name = "contactctl", version, about, long_about = None, propagate_version = true)]
#[command(
    after_help = "Try it without a token: contactctl init && contactctl plan --sandbox\n\nNew here? `contactctl init` writes a starter config; the README has a ten-minute walk-through."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    pub global: Global,
}

/// Flags every command accepts.
#[derive(Debug, Args, Clone)]
pub struct Global {
    /// Output format of plans and reports.
    #[arg(long, global = true, value_enum, default_value_t = FormatArg::Text)]
    pub format: FormatArg,
    /// No colour in the output, whatever the environment says. Without it, colour is on for a
    /// terminal unless NO_COLOR is set, CLICOLOR=0 or TERM=dumb; CLICOLOR_FORCE=1 turns it on
    /// anywhere (NO_COLOR wins).
    #[arg(long, global = true)]
    pub no_color: bool,
    /// Log every API call (method, path, status, time) on stderr. Tokens are never logged, and
    /// contacts' look-up values are masked (`j***@example.com`); -vv shows them in full.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// For people, on a terminal.
    Text,
    /// For a pull-request comment.
    Markdown,
    /// One JSON object, for scripts.
    Json,
    /// `import` only: a CSV sheet for a `sources:` entry.
    Csv,
}

/// Which contacts to work on, and against what.
#[derive(Debug, Args, Clone)]
pub struct Target {
    /// The config: a YAML file, or a directory of *.yaml/*.yml files.
    #[arg(default_value = DEFAULT_CONFIG)]
    pub path: PathBuf,
    /// Only this channel (repeatable).
    #[arg(long = "channel", value_name = "NAME")]
    pub channels: Vec<String>,
    /// Only this contact, as shown in plans: `email=juan@example.com`, `id=123`, or a bare key
    /// value or ID (repeatable). Orphans are not looked for when this is given.
    #[arg(long = "contact", value_name = "IDENTITY")]
    pub contacts: Vec<String>,
    /// Read and plan only the contacts whose desired state differs from the config BASE (a file
    /// or directory: the same repo as it was); the others are trusted to be as BASE made them.
    #[arg(long, value_name = "BASE", conflicts_with = "changed_since")]
    pub base: Option<PathBuf>,
    /// As --base, with BASE the config's own path as it was at GITREF in its git repository
    /// (e.g. the pull request's base, or the commit before a push).
    #[arg(long, value_name = "GITREF")]
    pub changed_since: Option<String>,
    #[command(flatten)]
    pub endpoint: Endpoint,
}

impl Target {
    /// BASE of a change-scoped run, if one was asked for.
    pub fn base(&self) -> Option<crate::ops::Base> {
        match (&self.base, &self.changed_since) {
            (Some(path), _) => Some(crate::ops::Base::Path(path.clone())),
            (None, Some(reference)) => Some(crate::ops::Base::GitRef(reference.clone())),
            (None, None) => None,
        }
    }
}

/// Where the API is and how to reach it: the configured hosts, or the in-process sandbox.
#[derive(Debug, Args, Clone)]
pub struct Endpoint {
    /// Run against a simulator of the API started inside this process on 127.0.0.1, serving
    /// the config's channels; no token needed.
    #[arg(long)]
    pub sandbox: bool,
    /// Seed the --sandbox simulator with this state file (YAML/JSON: channels and contacts).
    #[arg(long, value_name = "FILE", requires = "sandbox")]
    pub sandbox_state: Option<PathBuf>,
    /// Allow plain http:// base URLs for hosts other than this machine (tokens travel in clear).
    #[arg(long)]
    pub allow_insecure: bool,
    /// Seconds to wait for one HTTP response before treating it as lost (at least 1).
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 30,
        env = "CONTACTCTL_TIMEOUT",
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub timeout: u64,
}

impl Endpoint {
    /// The library's endpoint.
    pub fn to_ops(&self) -> crate::ops::Endpoint {
        crate::ops::Endpoint {
            sandbox: self.sandbox,
            sandbox_state: self.sandbox_state.clone(),
            allow_insecure: self.allow_insecure,
            timeout: Duration::from_secs(self.timeout),
        }
    }

    /// These settings as flags to repeat in a suggested command (` --sandbox`, ...).
    pub fn flags(&self) -> String {
        let mut flags = String::new();
        if self.sandbox {
            flags.push_str(" --sandbox");
        }
        if let Some(state) = &self.sandbox_state {
            let state = shell_word(&state.display().to_string());
            flags.push_str(&format!(" --sandbox-state {state}"));
        }
        if self.allow_insecure {
            flags.push_str(" --allow-insecure");
        }
        flags
    }
}

/// `word` as one shell word: as is when it is plain, else in single quotes.
pub fn shell_word(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+=:,@%".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// The config a command reads when given no PATH.
pub const DEFAULT_CONFIG: &str = "contactctl.yaml";

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the config offline; every problem is reported as file:line:col: message.
    #[command(after_help = "Example: contactctl validate contacts/")]
    Validate {
        /// The config: a YAML file, or a directory of *.yaml/*.yml files.
        #[arg(default_value = DEFAULT_CONFIG)]
        path: PathBuf,
    },
    /// Read the live state of every managed contact and print the changes apply would make.
    #[command(
        after_help = "Examples:\n  contactctl plan contacts/ --format markdown --changed-since origin/main   # pull request\n  contactctl plan contacts/ --detailed-exitcode --format json   # nightly drift check\n  contactctl plan examples/contactctl.yaml --sandbox"
    )]
    Plan(PlanArgs),
    /// Plan, ask for confirmation (or --auto-approve), then make the calls.
    #[command(
        after_help = "Examples:\n  contactctl apply contacts/ --auto-approve\n  contactctl apply contacts/ --auto-approve --changed-since HEAD~1   # on merge\n  contactctl apply contacts/ --auto-approve --max-duration 5h30m   # CI job limited to 6 h\n  contactctl plan contacts/ --out plan.json && contactctl apply contacts/ --plan plan.json"
    )]
    Apply(ApplyArgs),
    /// Print a plan saved with `plan --out`, exactly as plan printed it in the chosen --format,
    /// without a config, a token or any API call.
    #[command(
        after_help = "Examples:\n  contactctl plan contacts/ --out plan.json && contactctl show plan.json --format markdown\n  contactctl show plan.json --format json | jq .summary"
    )]
    Show(ShowArgs),
    /// Write existing contacts of one channel (by IDs, or by a custom-field look-up) as config to
    /// bootstrap a repo: a `contacts:` YAML fragment to drop into the config directory, or with
    /// --format csv a sheet for a `sources:` entry.
    #[command(
        after_help = "Examples:\n  contactctl import contacts/ --channel web --field customer_type=premium --out contacts/50-premium.yaml\n  contactctl import contacts/ --channel viber --id 'tMNGhftyUPrB3r1lD+bT4g==' --id 'a/B+c='\n  contactctl import contacts/ --channel web --field segment=event --format csv --out contacts/lists/event.csv\n\nExit 1 when an --id was not found, or (csv) a contact has no unique key value to be a row; the others are still written."
    )]
    Import(ImportArgs),
    /// Edit the config's files so that they match the platform where it drifted (the repo follows
    /// the platform: the other remedy to drift than apply); makes no write call.
    #[command(
        after_help = "Examples:\n  contactctl adopt contacts/ --dry-run      # show the diff, write nothing\n  contactctl adopt contacts/ --contact email=juan@example.com\n\nExit 1 when a contact could not be adopted (named with file:line:col and why); the others are still adopted."
    )]
    Adopt(AdoptArgs),
    /// Print the JSON Schema of the config.
    #[command(after_help = "Example: contactctl schema > schemas/contactctl.schema.json")]
    Schema,
    /// Serve a local, stateful simulator of the Contacts API until stopped.
    #[command(
        after_help = "Example:\n  contactctl sandbox --port 8080\n  curl -H 'Authorization: Bearer sandbox-web-token' \\\n    http://127.0.0.1:8080/api/v1/contact/1776025372480910"
    )]
    Sandbox(SandboxArgs),
    /// Write a starter config for a new contacts repo, ready for the sandbox; never overwrites.
    #[command(
        after_help = "Examples:\n  contactctl init                  # writes ./contactctl.yaml (and contactctl.schema.json)\n  contactctl init contacts/        # writes contacts/contactctl.yaml"
    )]
    Init(InitArgs),
    /// Print a shell completion script for contactctl.
    #[command(
        after_help = "Examples:\n  source <(contactctl completions bash)\n  contactctl completions bash > ~/.local/share/bash-completion/completions/contactctl\n  contactctl completions zsh > \"${fpath[1]}/_contactctl\"\n  contactctl completions fish > ~/.config/fish/completions/contactctl.fish"
    )]
    Completions(CompletionsArgs),
    /// Print the man page of contactctl, or write a page per command into a directory.
    #[command(
        after_help = "Examples:\n  contactctl man | man -l -\n  contactctl man --out ~/.local/share/man/man1"
    )]
    Man(ManArgs),
}

/// `init` flags.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Where to write the config: a file, or a directory (ending in `/` or existing) to write
    /// `contactctl.yaml` into. An existing config is never overwritten.
    #[arg(default_value = DEFAULT_CONFIG)]
    pub path: PathBuf,
}

/// `completions` arguments.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `man` flags.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write contactctl.1 and one contactctl-<command>.1 per command into DIR instead of
    /// printing the main page.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// How far a paged read may go.
#[derive(Debug, Args, Clone)]
pub struct Paging {
    /// The most pages one paged read takes (the marker's pages; an import's look-up), whatever
    /// the server announces; past it the read stops with an error. Default: 1000 plus one per
    /// contact of the channel in the config. Raise it for a channel with many orphans or a large
    /// import.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_pages: Option<u64>,
}

/// `plan` flags.
#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub target: Target,
    /// Exit 0 when nothing changes, 2 when there are changes (drift), 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Save the plan to FILE for `apply --plan FILE`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Plan removing orphans (marked contacts no longer in the config): their managed tags and
    /// the marker.
    #[arg(long)]
    pub prune: bool,
    #[command(flatten)]
    pub paging: Paging,
}

/// `adopt` flags.
#[derive(Debug, Args)]
pub struct AdoptArgs {
    #[command(flatten)]
    pub target: AdoptTarget,
    /// Print the diff and the summary, write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// Which contacts `adopt` takes back, and from where (as `plan`, without BASE).
#[derive(Debug, Args, Clone)]
pub struct AdoptTarget {
    /// The config: a YAML file, or a directory of *.yaml/*.yml files.
    #[arg(default_value = DEFAULT_CONFIG)]
    pub path: PathBuf,
    /// Only this channel (repeatable).
    #[arg(long = "channel", value_name = "NAME")]
    pub channels: Vec<String>,
    /// Only this contact, as shown in plans (repeatable).
    #[arg(long = "contact", value_name = "IDENTITY")]
    pub contacts: Vec<String>,
    #[command(flatten)]
    pub endpoint: Endpoint,
}

/// `apply` flags.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub target: Target,
    /// Apply without asking for confirmation (without it and without a terminal, a plan with
    /// changes is refused; one without changes exits 0).
    #[arg(long)]
    pub auto_approve: bool,
    /// Apply this saved plan exactly, if neither the config nor the planned contacts changed
    /// since it was made. It was the reviewed plan, so it is applied without asking.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["base", "changed_since", "max_pages"])]
    pub plan: Option<PathBuf>,
    /// Apply even when more contacts would change than the safety limit allows.
    #[arg(long)]
    pub force: bool,
    /// Remove orphans' managed tags and marker.
    #[arg(long)]
    pub prune: bool,
    /// A time budget, from the start (e.g. 5h30m, 90m, 45s): start no contact whose calls could
    /// not finish within it at the channels' rate limits. Contacts in flight finish, none is left
    /// half done; the rest are left for the next apply, which continues where this one stopped
    /// (exit 1). In CI, set it a margin below the job's time limit.
    #[arg(long, value_name = "DURATION", value_parser = duration::parse)]
    pub max_duration: Option<Duration>,
    #[command(flatten)]
    pub paging: Paging,
    /// Write the run's record to FILE as it goes (JSON Lines: a header, the plan's counts, each
    /// call and contact with its outcome and time, a summary last; README "The apply report").
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// One apply at a time per host and token on this machine: when another apply holds the
    /// lock, give up (exit 1, nothing read or written) after waiting this long (e.g. 10m, 30s).
    /// Default: wait until it is free, within --max-duration when given.
    #[arg(long, value_name = "DURATION", value_parser = duration::parse)]
    pub lock_timeout: Option<Duration>,
}

/// `show` arguments.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A plan saved with `contactctl plan --out FILE`.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

/// `import` flags.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The config: a YAML file, or a directory of *.yaml/*.yml files.
    #[arg(default_value = DEFAULT_CONFIG)]
    pub path: PathBuf,
    /// The channel to read the contacts from.
    #[arg(long, value_name = "NAME")]
    pub channel: String,
    /// A contact ID to import (repeatable).
    #[arg(
        long = "id",
        value_name = "ID",
        required_unless_present = "field",
        conflicts_with_all = ["field", "max_pages"]
    )]
    pub ids: Vec<String>,
    /// Import every contact the look-up by this custom field returns (all pages).
    #[arg(long, value_name = "NAME=VALUE")]
    pub field: Option<String>,
    /// Write the YAML to FILE instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub paging: Paging,
    #[command(flatten)]
    pub endpoint: Endpoint,
}

/// `sandbox` flags.
#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub listen: std::net::IpAddr,
    /// Channels and contacts to serve (YAML/JSON); default: channels web and viber with the
    /// vendor documents' sample contact.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Fault: answer every Nth API request with 500.
    #[arg(long, value_name = "N")]
    pub fail_every: Option<u64>,
    /// Fault: commit every Nth create, then drop its response.
    #[arg(long, value_name = "N")]
    pub drop_create_every: Option<u64>,
    /// Fault: answer every Nth API request with 429.
    #[arg(long, value_name = "N")]
    pub throttle_every: Option<u64>,
    /// Fault: the Retry-After seconds sent with injected 429s.
    #[arg(long, value_name = "SECS")]
    pub retry_after: Option<u64>,
    /// Fault: milliseconds added to every API response.
    #[arg(long, value_name = "MS")]
    pub latency_ms: Option<u64>,
}

/// Run the parsed command; returns the exit code.
pub async fn run(cli: Cli) -> Exit {
    let out = Output::new(&cli.global);
    let result = match cli.command {
        Command::Validate { path } => validate::run(&path, &out),
        Command::Schema => validate::schema(&out),
        Command::Plan(args) => plan::run(args, &out).await,
        Command::Apply(args) => apply::run(args, &out).await,
        Command::Show(args) => show::run(&args.file, &out),
        Command::Adopt(args) => adopt::run(args, &out).await,
        Command::Sandbox(args) => sandbox::run(args, &out).await,
        Command::Init(args) => init::run(&args.path, &out),
        Command::Completions(args) => completions::completions(args.shell, &out),
        Command::Man(args) => completions::man(args.out.as_deref(), &out),
        Command::Import(args) => import::run(args, &out).await,
    };
    result.unwrap_or_else(|e| e.print(&out))
}

#[cfg(test)]
mod tests {
    use super::shell_word;

    #[test]
    fn a_path_is_quoted_only_when_a_shell_would_split_or_expand_it() {
        assert_eq!(shell_word("contacts/plan.json"), "contacts/plan.json");
        assert_eq!(shell_word("my plan.json"), "'my plan.json'");
        assert_eq!(shell_word("it's.json"), "'it'\\''s.json'");
        assert_eq!(shell_word("$HOME/x"), "'$HOME/x'");
        assert_eq!(shell_word(""), "''");
    }
}
