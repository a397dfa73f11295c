//! `contactctl validate` and `contactctl schema`: offline checks of the config, and its schema.

use std::path::Path;

use super::error::CommandError;
use super::output::{Exit, Output};
use crate::config;
use crate::ops;
use crate::render::{self, Format};

/// Check the config. Text: the verdict on stderr, problems as `file:line:col: message` (with
/// excerpts on a terminal). JSON: the verdict on stdout as one object, the problems on stderr
/// too, plainly.
pub fn run(path: &Path, out: &Output) -> Result<Exit, CommandError> {
    out.no_csv("validate")?;
    let result = ops::load(path);
    if out.format != Format::Json {
        let config = result?;
        let mut text = Vec::new();
        render::validate(out.format, path, Ok(&config), &mut text, false)?;
        out.err_text(&String::from_utf8_lossy(&text));
        return Ok(Exit::Ok);
    }
    let (verdict, exit) = match &result {
        Ok(config) => (Ok(config), Exit::Ok),
        Err(ops::Error::Config { diagnostics, .. }) => {
            out.err_text(&config::render_diagnostics(diagnostics, false));
            (Err(diagnostics.as_slice()), Exit::Error)
        }
        Err(_) => return result.map(|_| Exit::Ok).map_err(CommandError::from),
    };
    out.stdout(|w| render::validate(Format::Json, path, verdict, w, false))?;
    Ok(exit)
}

/// Print the JSON Schema of the config.
pub fn schema(out: &Output) -> Result<Exit, CommandError> {
    out.stdout(|w| w.write_all(config::schema_json().as_bytes()))?;
    Ok(Exit::Ok)
}
