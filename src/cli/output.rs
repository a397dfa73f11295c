//! Where and how the commands write: the output format, colour on stdout and stderr, stdout that
//! ends the process quietly on a closed pipe, notes and `-v` lines on stderr. The only place
//! (with `error` and `progress`) that writes to the terminal.

use std::io::Write;

use anstream::{AutoStream, ColorChoice};

use super::error::CommandError;
use super::{FormatArg, Global};
use crate::api::RequestLog;
use crate::render::Format;

/// The process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Success (with `--detailed-exitcode`: and nothing to change).
    Ok = 0,
    /// An error: invalid config, API or network failure, a contact that could not be reconciled.
    Error = 1,
    /// With `--detailed-exitcode`: success, and there are changes.
    Changes = 2,
}

/// Where and how output goes.
pub struct Output {
    /// Output format of plans and reports (`--format csv` reads as text here: only `import`
    /// takes it, see [`Output::format_arg`]).
    pub format: Format,
    /// `--format` as given.
    pub format_arg: FormatArg,
    /// Colour on stdout.
    pub color: bool,
    /// Colour on stderr.
    pub color_err: bool,
    /// `-v` (1: requests, contacts' values masked), `-vv` (2: values shown).
    pub verbose: u8,
}

impl Output {
    /// Output as the global flags and the terminal say.
    pub fn new(g: &Global) -> Self {
        // anstream decides each stream as the ecosystem expects (NO_COLOR, then CLICOLOR_FORCE,
        // CLICOLOR=0, a terminal whose TERM is not dumb); --no-color turns colour off whatever
        // the environment says.
        let color = |choice: ColorChoice| !g.no_color && choice != ColorChoice::Never;
        Output {
            format: match g.format {
                FormatArg::Text | FormatArg::Csv => Format::Text,
                FormatArg::Markdown => Format::Markdown,
                FormatArg::Json => Format::Json,
            },
            format_arg: g.format,
            color: color(AutoStream::choice(&std::io::stdout())),
            color_err: color(AutoStream::choice(&std::io::stderr())),
            verbose: g.verbose,
        }
    }

    /// Write to stdout through `f`; a closed pipe (`| head`) ends the process quietly.
    pub fn stdout(
        &self,
        f: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        let stdout = std::io::stdout();
        let mut lock = std::io::BufWriter::new(stdout.lock());
        let result = f(&mut lock).and_then(|()| lock.flush());
        match result {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
            other => other,
        }
    }

    /// Refuse `--format csv`, which only `import` writes.
    pub fn no_csv(&self, command: &str) -> Result<(), CommandError> {
        if self.format_arg == FormatArg::Csv {
            Err(CommandError::new(format!(
                "{command} prints text, markdown or json; --format csv is for import"
            )))
        } else {
            Ok(())
        }
    }

    /// A line of information on stderr.
    pub fn note(&self, msg: &str) {
        eprintln!("{msg}");
    }

    /// Text written to stderr as is (diagnostics already rendered).
    pub fn err_text(&self, text: &str) {
        eprint!("{text}");
    }

    /// The `-v` log: a line per request on stderr, when asked for; with `-vv` contacts' look-up
    /// values in full, which it says once.
    pub fn log(&self) -> Option<RequestLog> {
        if self.verbose == 0 {
            return None;
        }
        let values = self.verbose > 1;
        if values {
            self.note(
                "contactctl: -vv: the request log shows contacts' key values (e-mails, phones) in full",
            );
        }
        Some(RequestLog {
            sink: std::sync::Arc::new(|line: &str| eprintln!("contactctl: {line}")),
            values,
        })
    }
}
