//! What an operation can fail with, typed: the command line turns each variant into a message,
//! hints and an exit code once, at its edge (`cli::error`). Variants carry the facts (paths,
//! channels, contacts, the underlying error), never a token, never a pre-rendered hint.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::api::ApiError;
use crate::config::Diagnostic;
use crate::read::pager::PageError;
use crate::sandbox::SandboxError;

use super::git::GitAction;
use super::import::{NotImported, QueryProblem};
use super::saved::{SavedPlanError, Stale};

/// Why an operation could not run, or refused to.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The config has problems, each with its `file:line:col`.
    #[error("{}", ConfigProblems { path, diagnostics })]
    Config {
        /// The config as the user named it.
        path: PathBuf,
        /// Every problem found, sorted by file and position.
        diagnostics: Vec<Diagnostic>,
    },
    /// `--channel` names a channel the config does not have.
    #[error("--channel {name}: no such channel in the config (channels: {})", known.join(", "))]
    UnknownChannel {
        /// The channel asked for.
        name: String,
        /// The config's channels.
        known: Vec<String>,
    },
    /// `--contact` names no contact of the config.
    #[error("--contact {0}: no contact in the config has that identity")]
    UnknownContact(String),
    /// Token variables of the channels to call are not set.
    #[error("no token: set the environment variable{} {}", if missing.len() == 1 { "" } else { "s" }, missing.iter().map(|(var, ch)| format!("{var} (channel {ch})")).collect::<Vec<_>>().join(", "))]
    NoToken {
        /// (environment variable, channel) of each missing token.
        missing: Vec<(TokenVariable, String)>,
    },
    /// A channel's `base_url` is not a URL the client can use.
    #[error("channel {channel}: base_url {url} is not a valid URL ({reason})")]
    BadUrl {
        /// Channel name.
        channel: String,
        /// The configured `base_url`.
        url: String,
        /// The parser's reason.
        reason: String,
    },
    /// A channel's `base_url` is plain http to a host other than this machine.
    #[error("channel {channel}: base_url {url} is plain http, which would send the token in clear")]
    PlainHttp {
        /// Channel name.
        channel: String,
        /// The configured `base_url`.
        url: String,
    },
    /// The `--sandbox-state` file cannot be used.
    #[error(transparent)]
    SandboxState(#[from] SandboxError),
    /// `adopt`: a file changed on disk between the read and the write; it is not overwritten.
    #[error("{file} changed on disk since adopt read it: not overwritten")]
    FileChanged {
        /// The file as the config names it.
        file: String,
        /// Its path.
        path: PathBuf,
    },
    /// `adopt`: a file could not be written.
    #[error("writing {}: {source}", path.display())]
    AdoptWrite {
        /// The file (or its temporary file).
        path: PathBuf,
        /// The OS's reason.
        source: std::io::Error,
    },
    /// `adopt`: the edited config no longer loads. A bug of adopt; nothing was written.
    #[error("adopt's edits would break the config, so nothing was written (a bug: please report it): {}", problems.join("; "))]
    AdoptBroke {
        /// The loader's problems with the edited files.
        problems: Vec<String>,
    },
    /// The sandbox could not start (the port is taken, ...).
    #[error("starting the sandbox on {addr}: {source}")]
    SandboxStart {
        /// Where it was to listen.
        addr: String,
        /// The OS's reason.
        source: std::io::Error,
    },
    /// `--changed-since` names a ref the repository does not have.
    #[error("--changed-since {reference}: no such commit in the repository at {}", repo.display())]
    UnknownRef {
        /// The ref as given.
        reference: String,
        /// The repository's top directory.
        repo: PathBuf,
        /// The clone is shallow (CI), so the commit may exist but not have been fetched.
        shallow: bool,
    },
    /// `--changed-since` was given for a config that is not in a git repository.
    #[error("--changed-since: {} is not in a git repository ({reason})", path.display())]
    NotAGitRepository {
        /// The config as the user named it.
        path: PathBuf,
        /// What git said.
        reason: String,
    },
    /// BASE is not there: the `--base` path does not exist, or the config's path did not exist
    /// at the `--changed-since` ref.
    #[error("{flag} {base}: there is no config at {} ({reason})", path.display())]
    BaseMissing {
        /// `--base` or `--changed-since`.
        flag: &'static str,
        /// BASE as the user named it.
        base: String,
        /// The path looked for.
        path: PathBuf,
        /// Why it is not there.
        reason: String,
    },
    /// A git command failed (git missing, a damaged repository, ...).
    #[error("{action}: {reason}")]
    Git {
        /// What was being done.
        action: GitAction,
        /// What git said.
        reason: String,
    },
    /// The HTTP client could not be set up (TLS roots, ...).
    #[error("setting up the HTTP client: {0}")]
    HttpSetup(#[source] reqwest::Error),
    /// A file could not be read or written.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What was being done: `reading`, `writing`, `creating`.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS's reason.
        source: std::io::Error,
    },
    /// Another apply holds the lock of a rate-limit group, or the lock file cannot be used.
    #[error(transparent)]
    Lock(#[from] super::lock::LockError),
    /// A saved plan cannot be used.
    #[error(transparent)]
    SavedPlan(#[from] SavedPlanError),
    /// `--channel`/`--contact` given with `--plan`.
    #[error(
        "--channel and --contact cannot be combined with --plan: the saved plan already says what it covers"
    )]
    NarrowedSavedPlan,
    /// The config changed since the saved plan was made.
    #[error("the config at {} changed since the plan was saved; nothing was written", path.display())]
    ConfigChanged {
        /// The config.
        path: PathBuf,
    },
    /// A saved plan's calls are not the ones the config plans (a tampered, hand-edited or
    /// foreign file).
    #[error("the saved plan does not match what the config at {} plans: {contact} ({why}); nothing was written (--force does not override this)", path.display())]
    PlanMismatch {
        /// The config.
        path: PathBuf,
        /// The first contact that differs, in words (`email=a@b.c on web`).
        contact: String,
        /// How it differs.
        why: crate::plan::MismatchReason,
    },
    /// Planned contacts changed on the platform since the saved plan was made.
    #[error("{}; nothing was written (--force does not override this). Changed: {}",
        if *applied {
            "the platform is already as this saved plan would make it: it was applied since it was saved"
        } else {
            "the platform changed since the plan was saved, so it no longer holds"
        },
        contacts.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "))]
    PlatformChanged {
        /// The contacts that changed, each with why.
        contacts: Vec<Stale>,
        /// Every one of them is already as the plan would make it.
        applied: bool,
    },
    /// The time budget cannot hold even the reads the plan needs before its first write.
    #[error(
        "--max-duration {} cannot hold the reads alone: channel {channel} needs at least {reads} reads before its first write, {} at {rate_limit}/min; nothing was read or written",
        crate::render::human_duration(budget.as_secs()),
        crate::render::human_duration(*needed_seconds)
    )]
    BudgetBelowReads {
        /// The channel whose reads take longest (channels sharing one token: their names,
        /// comma-separated; their reads queue together).
        channel: String,
        /// The fewest reads it takes.
        reads: usize,
        /// Its rate limit, calls a minute.
        rate_limit: u32,
        /// How long those reads take at that limit.
        needed_seconds: u64,
        /// The budget given.
        budget: std::time::Duration,
    },
    /// The plan fails the safety check: more existing contacts would change than the safety
    /// limit allows, or a `--prune` would prune a channel where no contact of the config was
    /// found.
    #[error("refusing to apply: {}; no call was made", UnsafeReasons(warnings))]
    Unsafe {
        /// The plan's warnings (the safety check's among them).
        warnings: Vec<crate::plan::Warning>,
    },
    /// The plan changes protected fields (`safety.protected_fields`) of existing contacts.
    #[error(
        "refusing to apply: the plan changes protected fields (safety.protected_fields); no call was made. Protected: {}",
        changes.join(", ")
    )]
    Protected {
        /// Each change: `field of identity on channel`.
        changes: Vec<String>,
    },
    /// `import --field` is not a look-up the API can make.
    #[error("{0}")]
    BadQuery(QueryProblem),
    /// A look-up that an import depends on failed.
    #[error("looking up {query}: {source}")]
    Lookup {
        /// `field=value`.
        query: String,
        /// The API's error, or the read's page limit.
        source: PageError,
    },
    /// Some `--id`s of an import were not found (the others were written).
    #[error("{} of the IDs asked for could not be imported (the others were written): {}", missing.len(), missing.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    ImportMissing {
        /// Each ID and why.
        missing: Vec<NotImported>,
    },
    /// Some imported contacts could not be rows of a sheet (the others were written).
    #[error("{} of the contacts could not be written as rows of the sheet (the others were written): {}", not_written.len(), not_written.join("; "))]
    ImportIncomplete {
        /// `ID: why`, per contact.
        not_written: Vec<String>,
    },
    /// A call whose failure stops the whole operation (a refused token).
    #[error(transparent)]
    Api(#[from] ApiError),
    /// `init` found a config where it would write one.
    #[error("{} already exists; init never overwrites a config", path.display())]
    ConfigExists {
        /// The config file.
        path: PathBuf,
    },
    /// `init` was pointed at a directory that already holds a config.
    #[error("{} already holds a config ({other}); a new file there would be merged with it", dir.display())]
    DirectoryHasConfig {
        /// The directory.
        dir: PathBuf,
        /// The config file found in it.
        other: String,
    },
}

/// What the safety check refused, for [`Error::Unsafe`]: each failed check once.
struct UnsafeReasons<'a>(&'a [crate::plan::Warning]);

impl fmt::Display for UnsafeReasons<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::plan::Warning;
        let lost = self
            .0
            .iter()
            .any(|w| matches!(w, Warning::PrunesLostConfig { .. }));
        let many = self
            .0
            .iter()
            .any(|w| matches!(w, Warning::TooManyChanges { .. }));
        if lost {
            f.write_str(
                "--prune would prune contacts on a channel where no contact of the config was found",
            )?;
        }
        if many || !lost {
            if lost {
                f.write_str(", and ")?;
            }
            f.write_str("more contacts would change than the safety limit allows")?;
        }
        Ok(())
    }
}

impl Error {
    /// An IO error on `path`, saying what was being done.
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }

    /// Whether the tool refused, to keep the platform safe (the safety limit, protected fields,
    /// a stale or mismatched saved plan, a budget below the reads, another apply's lock held
    /// past the wait, a file changed under adopt), rather than failed: an apply record's
    /// `refused`.
    pub fn refused(&self) -> bool {
        matches!(
            self,
            Error::Lock(super::lock::LockError::TimedOut { .. })
                | Error::PlatformChanged { .. }
                | Error::ConfigChanged { .. }
                | Error::PlanMismatch { .. }
                | Error::BudgetBelowReads { .. }
                | Error::Unsafe { .. }
                | Error::Protected { .. }
                | Error::FileChanged { .. }
        )
    }
}

/// "3 problems in lists/event.csv": the one file they are in, or how many files of the config.
struct ConfigProblems<'a> {
    path: &'a Path,
    diagnostics: &'a [Diagnostic],
}

impl fmt::Display for ConfigProblems<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.diagnostics.len();
        let s = if n == 1 { "" } else { "s" };
        let files: BTreeSet<&str> = self.diagnostics.iter().map(|d| &*d.loc.file).collect();
        match files.len() {
            1 => write!(
                f,
                "{n} problem{s} in {}",
                files.first().copied().unwrap_or_default()
            ),
            0 => write!(f, "{n} problem{s} in {}", self.path.display()),
            k => write!(f, "{n} problem{s} in {k} files of {}", self.path.display()),
        }
    }
}

/// How a missing token's variable is named to the user: by its name when it looks like one,
/// else by where the config sets `token_env` (its value may be a token pasted by mistake).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenVariable {
    /// A variable name (`CONTACTS_WEB_TOKEN`).
    Named(String),
    /// The `file:line:col` of a `token_env` whose value does not look like a variable name.
    At(String),
}

impl fmt::Display for TokenVariable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenVariable::Named(name) => f.write_str(name),
            TokenVariable::At(at) => write!(f, "named by token_env at {at}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Warning;

    #[test]
    fn the_safety_refusal_names_each_check_that_failed() {
        let lost = Warning::PrunesLostConfig {
            channel: "web".into(),
            pruned: 4,
        };
        let many = Warning::TooManyChanges {
            channel: "viber".into(),
            changing: 5,
            existing: 10,
            max_percent: 30.0,
        };
        let said = |warnings: Vec<Warning>| Error::Unsafe { warnings }.to_string();
        assert_eq!(
            said(vec![many.clone()]),
            "refusing to apply: more contacts would change than the safety limit allows; no call \
             was made"
        );
        assert_eq!(
            said(vec![lost.clone()]),
            "refusing to apply: --prune would prune contacts on a channel where no contact of the \
             config was found; no call was made"
        );
        assert_eq!(
            said(vec![lost, many]),
            "refusing to apply: --prune would prune contacts on a channel where no contact of the \
             config was found, and more contacts would change than the safety limit allows; no \
             call was made"
        );
    }
}
