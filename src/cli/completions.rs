//! `contactctl completions SHELL` and `contactctl man`: shell completion scripts (clap_complete)
//! and man pages (clap_mangen), both generated from the clap types in `cli/mod.rs`, so they
//! cannot disagree with `--help`. Owns only the generation and where it is written.

use std::path::Path;

use clap::CommandFactory;
use clap_complete::Shell;

use super::Cli;
use super::error::CommandError;
use super::output::{Exit, Output};

/// The command tree as the binary is invoked.
fn command() -> clap::Command {
    Cli::command().bin_name("contactctl")
}

/// Print the completion script for `shell`.
pub fn completions(shell: Shell, out: &Output) -> Result<Exit, CommandError> {
    // Generated into memory first: clap_complete panics when its writer fails, and a closed
    // pipe (`| head`) must end the process quietly instead.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command(), "contactctl", &mut script);
    out.stdout(|w| w.write_all(&script))?;
    Ok(Exit::Ok)
}

/// Print the main man page, or write `contactctl.1` and a `contactctl-<command>.1` per command
/// into `dir`.
pub fn man(dir: Option<&Path>, out: &Output) -> Result<Exit, CommandError> {
    match dir {
        None => {
            let mut page = Vec::new();
            // No `help` subcommand: it gets no page of its own (generate_to leaves it out too),
            // so the main page must not point at one.
            clap_mangen::Man::new(command().disable_help_subcommand(true))
                .render(&mut page)
                .map_err(|e| CommandError::new(format!("rendering the man page: {e}")))?;
            out.stdout(|w| w.write_all(&page))?;
        }
        Some(dir) => {
            let failed = |e: std::io::Error| {
                CommandError::new(format!("writing man pages into {}: {e}", dir.display()))
            };
            std::fs::create_dir_all(dir).map_err(failed)?;
            clap_mangen::generate_to(command(), dir).map_err(failed)?;
            out.note(&format!(
                "Wrote contactctl.1 and a page per command into {}.",
                dir.display()
            ));
        }
    }
    Ok(Exit::Ok)
}
