//! The command error: every failure of a command, converted once from the library's typed errors
//! into a message and hints for the user (as jj's `CommandError`); every one exits 1 (SPEC's exit
//! codes), and a refusal is told apart only for the apply report. Printed on stderr as
//! `error: ...` followed by `hint: ...` lines; a config's problems come first, as
//! `file:line:col: message` (with source excerpts on a terminal).

use std::path::Path;

use super::output::{Exit, Output};
use super::{DEFAULT_CONFIG, shell_word};
use crate::config::{self, Diagnostic};
use crate::ops;
use crate::ops::saved::SavedPlanError;

/// A failed command.
#[derive(Debug)]
pub struct CommandError {
    /// The tool refused, to keep the platform safe (a stale plan, the safety limit, no
    /// confirmation), rather than failed: an apply report says `refused`. The exit code is 1
    /// either way (SPEC's exit codes).
    pub refused: bool,
    /// One sentence: what went wrong.
    pub message: String,
    /// What the user can do about it.
    pub hints: Vec<String>,
    /// Config problems to print before the message.
    pub diagnostics: Vec<Diagnostic>,
}

impl CommandError {
    /// A failure saying `message`.
    pub fn new(message: impl Into<String>) -> Self {
        CommandError {
            refused: false,
            message: message.into(),
            hints: Vec::new(),
            diagnostics: Vec::new(),
        }
    }

    /// A refusal saying `message`.
    pub fn refused(message: impl Into<String>) -> Self {
        CommandError {
            refused: true,
            ..CommandError::new(message)
        }
    }

    /// The same, with a hint.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hints.push(hint.into());
        self
    }

    /// Print it on stderr; returns the exit code: 1, whatever failed (SPEC's exit codes).
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
        Exit::Error
    }
}

impl From<std::io::Error> for CommandError {
    fn from(e: std::io::Error) -> Self {
        CommandError::new(format!("writing the output: {e}"))
    }
}

const PLAN_AGAIN: &str = "make and review a new plan: contactctl plan --out FILE";

impl From<ops::Error> for CommandError {
    fn from(e: ops::Error) -> Self {
        use ops::Error as E;
        let message = e.to_string();
        let refused = e.refused();
        let err = || CommandError {
            refused,
            ..CommandError::new(message.clone())
        };
        match e {
            E::Config { path, diagnostics } => {
                let e = CommandError {
                    diagnostics,
                    ..err()
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
            E::UnknownContact(_) => err().hint(
                "name a contact as plans show it: email=juan@example.com, id=123, or a bare key value or ID",
            ),
            E::NoToken { .. } => err()
                .hint("or try --sandbox: the built-in simulator of the API needs no token"),
            E::PlainHttp { .. } => {
                err().hint("use https, or pass --allow-insecure to send it anyway")
            }
            E::Lock(ops::lock::LockError::TimedOut { .. }) => err().hint(
                "one apply at a time per host and token: wait for it, or raise --lock-timeout",
            ),
            // an unreadable file is not a plan to make again
            E::SavedPlan(SavedPlanError::Read { .. }) => err(),
            E::SavedPlan(_) => err().hint(PLAN_AGAIN),
            E::PlatformChanged { applied: true, .. } => err()
                .hint("`contactctl plan` shows what, if anything, is left to do"),
            E::ConfigChanged { .. } | E::PlatformChanged { .. } | E::PlanMismatch { .. } => {
                err().hint(PLAN_AGAIN)
            }
            E::BudgetBelowReads { .. } => err()
                .hint("with defaults.marker set, reads take about one call per 10 contacts once the marker is written")
                .hint("narrow the run with --channel or --contact, or give it more time with --max-duration"),
            E::Unsafe { .. } => err().hint(
                "review the plan (see the warning above), then pass --force to apply it",
            ),
            E::Protected { .. } => err().hint(
                "review those changes in the plan, then pass --force to apply them",
            ),
            E::UnknownRef {
                ref reference,
                shallow,
                ..
            } => {
                let e = err();
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
            E::NotAGitRepository { .. } => err().hint(
                "--changed-since reads BASE from the git repository that holds the config; \
                 without one, give BASE as a path with --base",
            ),
            E::BaseMissing { flag, .. } => err().hint(if flag == "--changed-since" {
                "the config did not exist at that commit: plan without --changed-since (a full \
                 run), or give an older commit"
            } else {
                "give --base the path of a config: a file, or a directory of *.yaml files"
            }),
            E::Git { .. } => err().hint("--changed-since needs `git` on the PATH"),
            E::FileChanged { .. } => err()
                .hint("run adopt again: it reads the file as it is now"),
            E::ConfigExists { .. } => err().hint(
                "edit it, or give init another path (e.g. `contactctl init new-contacts/`)",
            ),
            E::DirectoryHasConfig { .. } => {
                err().hint("give init an empty or new directory")
            }
            E::ImportIncomplete { .. } => err().hint(
                "import those contacts as YAML (without --format csv): there a contact without a unique key value is written by id",
            ),
            E::UnknownChannel { .. }
            | E::BadUrl { .. }
            | E::BadQuery(_)
            | E::SandboxState(_)
            | E::NarrowedSavedPlan
            | E::Lock(_)
            | E::AdoptWrite { .. }
            | E::AdoptBroke { .. }
            | E::SandboxStart { .. }
            | E::HttpSetup(_)
            | E::Io { .. }
            | E::Lookup { .. }
            | E::ImportMissing { .. }
            | E::Api(_) => err(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ApiError;

    #[test]
    fn every_failure_exits_1_and_only_a_refusal_is_told_apart() {
        let refused = CommandError::from(ops::Error::Unsafe { warnings: vec![] });
        assert!(refused.refused);
        assert_eq!(
            refused.hints,
            ["review the plan (see the warning above), then pass --force to apply it"]
        );
        let failed = CommandError::from(ops::Error::Api(ApiError::Unknown {
            reason: "boom".into(),
        }));
        assert!(!failed.refused);
        // printed on stderr, each says its words and exits 1
        let out = Output {
            format: crate::render::Format::Text,
            format_arg: super::super::FormatArg::Text,
            color: false,
            color_err: false,
            verbose: 0,
        };
        for e in [
            refused,
            failed,
            CommandError::new("x"),
            CommandError::refused("y"),
        ] {
            assert_eq!(e.print(&out), Exit::Error);
        }
    }
}
