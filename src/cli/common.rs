//! What the commands share: output (colour, broken pipes, error messages), exit codes, and
//! preparing a run (load the config, narrow it, point each channel at its host or the in-process
//! sandbox, build one rate-limited client per channel).

use std::io::{IsTerminal, Write};
use std::path::Path;

use anyhow::{Context, bail};

use super::{Format, Global};
use crate::config;
use crate::model::Config;

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
    /// Output format of plans and reports.
    pub format: Format,
    /// Colour on stdout.
    pub color: bool,
    /// Colour on stderr.
    pub color_err: bool,
    /// `-v`.
    pub verbose: bool,
}

impl Output {
    pub fn new(g: &Global) -> Self {
        let no_color = g.no_color || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Output {
            format: g.format,
            color: !no_color && std::io::stdout().is_terminal(),
            color_err: !no_color && std::io::stderr().is_terminal(),
            verbose: g.verbose,
        }
    }

    /// Write to stdout through `f`; a closed pipe (`| head`) ends the process quietly.
    pub fn stdout(
        &self,
        f: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    ) -> anyhow::Result<()> {
        let stdout = std::io::stdout();
        let mut lock = std::io::BufWriter::new(stdout.lock());
        let result = f(&mut lock).and_then(|()| lock.flush());
        match result {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
            other => other.context("writing to stdout"),
        }
    }

    /// Print an error and its causes on stderr; returns exit code 1.
    pub fn fail(&self, e: &anyhow::Error) -> Exit {
        if self.color_err {
            let style = anstyle::AnsiColor::Red.on_default().bold();
            eprintln!("{style}error:{style:#} {e:#}");
        } else {
            eprintln!("error: {e:#}");
        }
        Exit::Error
    }

    /// A line of information on stderr.
    pub fn note(&self, msg: &str) {
        eprintln!("{msg}");
    }
}

/// Load the config at `path`, or print every problem as `file:line:col: message` and fail.
pub fn load_config(path: &Path, out: &Output) -> anyhow::Result<Config> {
    match config::load(path) {
        Ok(c) => Ok(c),
        Err(diags) => {
            // Source excerpts help a person at a terminal; scripts and CI logs get the plain
            // `file:line:col: message` lines alone.
            let snippets = out.color_err;
            eprint!("{}", config::render_diagnostics(&diags, snippets));
            bail!(
                "{} problem{} in {}",
                diags.len(),
                if diags.len() == 1 { "" } else { "s" },
                path.display()
            )
        }
    }
}
