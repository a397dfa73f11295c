//! The command error: every failure of a command, converted once from the library's typed errors
//! into a message, hints for the user and a kind that picks the exit code (as jj's
//! `CommandError`). Printed on stderr as `error: ...` followed by `hint: ...` lines; a config's
//! problems come first, as `file:line:col: message` (with source excerpts on a terminal).

use std::path::Path;

use super::output::{Exit, Output};
use super::{DEFAULT_CONFIG, shell_word};
use crate::config::{self, Diagnostic};
use crate::ops;
use crate::ops::saved::SavedPlanError;

/// What sort of failure: all exit 1 (SPEC's exit codes), but they read differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The input is wrong: the config, a flag, a file given.
    User,
    /// The tool refused, to keep the platform safe (stale plan, safety limit, no confirmation).
    Refused,
    /// The platform, the network or the machine failed.
    Runtime,
}

/// A failed command.
#[derive(Debug)]
pub struct CommandError {
    /// What sort of failure.
    pub kind: ErrorKind,
    /// One sentence: what went wrong.
    pub message: String,
    /// What the user can do about it.
    pub hints: Vec<String>,
    /// Config problems to print before the message.
    pub diagnostics: Vec<Diagnostic>,
}

impl CommandError {
    /// A failure of `kind` saying `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        CommandError {
            kind,
            message: message.into(),
            hints: Vec::new(),
            diagnostics: Vec::new(),
        }
    }

    /// The same, with a hint.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hints.push(hint.into());
        self
    }

    /// The exit code.
    pub fn exit(&self) -> Exit {
        match self.kind {
            ErrorKind::User | ErrorKind::Refused | ErrorKind::Runtime => Exit::Error,
        }
    }

    /// Print it on stderr; returns the exit code.
    pub fn print(&self, out: &Output) -> Exit {
        if !self.diagnostics.is_empty() {
            // Source excerpts help a person at a terminal; scripts and CI logs get the plain
            // `file:line:col: message` lines alone.
            out.err_text(&config::render_diagnostics(
                &self.diagnostics,
                out.color_err,
            ));
        }
        let (error, hint) = if out.color_err {
            let red = anstyle::AnsiColor::Red.on_default().bold();
            let cyan = anstyle::AnsiColor::Cyan.on_default().bold();
            (
                format!("{red}error:{red:#}"),
                format!("{cyan}hint:{cyan:#}"),
            )
        } else {
            ("error:".to_string(), "hint:".to_string())
        };
        out.note(&format!("{error} {}", self.message));
        for h in &self.hints {
            out.note(&format!("{hint} {h}"));
        }
        self.exit()
    }
}

impl From<std::io::Error> for CommandError {
    fn from(e: std::io::Error) -> Self {
        CommandError::new(ErrorKind::Runtime, format!("writing the output: {e}"))
    }
}

const PLAN_AGAIN: &str = "make and review a new plan: contactctl plan --out FILE";

impl From<ops::Error> for CommandError {
    fn from(e: ops::Error) -> Self {
        use ops::Error as E;
        let message = e.to_string();
        let err = |kind| CommandError::new(kind, message.clone());
        match e {
            E::Config { path, diagnostics } => {
                let e = CommandError {
                    diagnostics,
                    ..err(ErrorKind::User)
                };
                if path.exists() {
                    e
                } else {
                    let init = if path == Path::new(DEFAULT_CONFIG) {
                        "contactctl init".to_string()
                    } else {
                        format!("contactctl init {}", shell_word(&path.display().to_string()))
                    };
                    e.hint(format!(
                        "`{init}` writes a starter config there, or name yours: contactctl plan PATH"
                    ))
                }
            }
            E::UnknownChannel { .. } | E::BadUrl { .. } | E::BadQuery(_) => err(ErrorKind::User),
            E::UnknownContact(_) => err(ErrorKind::User).hint(
                "name a contact as plans show it: email=juan@example.com, id=123, or a bare key value or ID",
            ),
            E::NoToken { .. } => err(ErrorKind::User)
                .hint("or try --sandbox: the built-in simulator of the API needs no token"),
            E::PlainHttp { .. } => {
                err(ErrorKind::User).hint("use https, or pass --allow-insecure to send it anyway")
            }
            E::SandboxState(_) | E::NarrowedSavedPlan => err(ErrorKind::User),
            E::Lock(ops::lock::LockError::TimedOut { .. }) => err(ErrorKind::Refused).hint(
                "one apply at a time per host and token: wait for it, or raise --lock-timeout",
            ),
            E::Lock(_) => err(ErrorKind::Runtime),
            E::SavedPlan(SavedPlanError::Read { .. }) => err(ErrorKind::User),
            E::SavedPlan(_) => err(ErrorKind::User).hint(PLAN_AGAIN),
            E::PlatformChanged { applied: true, .. } => err(ErrorKind::Refused)
                .hint("`contactctl plan` shows what, if anything, is left to do"),
            E::ConfigChanged { .. } | E::PlatformChanged { .. } | E::PlanMismatch { .. } => {
                err(ErrorKind::Refused).hint(PLAN_AGAIN)
            }
            E::BudgetBelowReads { .. } => err(ErrorKind::Refused)
                .hint("with defaults.marker set, reads take about one call per 10 contacts once the marker is written")
                .hint("narrow the run with --channel or --contact, or give it more time with --max-duration"),
            E::Unsafe { .. } => err(ErrorKind::Refused).hint(
                "review the plan (see the warning above), then pass --force to apply it",
            ),
            E::Protected { .. } => err(ErrorKind::Refused).hint(
                "review those changes in the plan, then pass --force to apply them",
            ),
            E::UnknownRef {
                ref reference,
                shallow,
                ..
            } => {
                let e = err(ErrorKind::User);
                if shallow {
                    e.hint(format!(
                        "this clone is shallow: fetch the commit first, e.g. `git fetch --no-tags \
                         --depth=1 origin {reference}` (or `git fetch --deepen=100`; in GitHub \
                         Actions, `fetch-depth: 0` on actions/checkout)"
                    ))
                } else {
                    e.hint(format!(
                        "check the ref with `git rev-parse {reference}`; a branch of another \
                         remote is written origin/NAME, and may need `git fetch origin` first"
                    ))
                }
            }
            E::NotAGitRepository { .. } => err(ErrorKind::User).hint(
                "--changed-since reads BASE from the git repository that holds the config; \
                 without one, give BASE as a path with --base",
            ),
            E::BaseMissing { flag, .. } => err(ErrorKind::User).hint(if flag == "--changed-since" {
                "the config did not exist at that commit: plan without --changed-since (a full \
                 run), or give an older commit"
            } else {
                "give --base the path of a config: a file, or a directory of *.yaml files"
            }),
            E::Git { .. } => err(ErrorKind::Runtime).hint("--changed-since needs `git` on the PATH"),
            E::FileChanged { .. } => err(ErrorKind::Refused)
                .hint("run adopt again: it reads the file as it is now"),
            E::AdoptWrite { .. } | E::AdoptBroke { .. } => err(ErrorKind::Runtime),
            E::ConfigExists { .. } => err(ErrorKind::User).hint(
                "edit it, or give init another path (e.g. `contactctl init new-contacts/`)",
            ),
            E::DirectoryHasConfig { .. } => {
                err(ErrorKind::User).hint("give init an empty or new directory")
            }
            E::ImportIncomplete { .. } => err(ErrorKind::User).hint(
                "import those contacts as YAML (without --format csv): there a contact without a unique key value is written by id",
            ),
            E::SandboxStart { .. }
            | E::HttpSetup(_)
            | E::Io { .. }
            | E::Lookup { .. }
            | E::ImportMissing { .. }
            | E::Api(_) => err(ErrorKind::Runtime),
        }
    }
}
