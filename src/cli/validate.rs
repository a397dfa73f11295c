//! `contactctl validate` and `contactctl schema`: offline checks of the config, and its schema.

use std::path::Path;

use serde_json::json;

use super::Format;
use super::common::{Exit, Output, load_config};
use crate::config;

/// Check the config; problems go to stderr as `file:line:col: message`. With `--format json`
/// the verdict is also one JSON object on stdout, for scripts and CI annotations:
/// `{"valid": true, "contacts": N, ...}` or `{"valid": false, "problems": [{file, line, col,
/// message}, ...]}`.
pub fn run(path: &Path, out: &Output) -> anyhow::Result<Exit> {
    if out.format == Format::Json {
        return run_json(path, out);
    }
    let config = load_config(path, out)?;
    out.note(&format!(
        "{} is valid: {} contact{}, {} channel{}, {} field{}, {} tag{}.",
        path.display(),
        config.contacts.len(),
        plural(config.contacts.len()),
        config.channels.len(),
        plural(config.channels.len()),
        config.fields.len(),
        plural(config.fields.len()),
        config.tags.len(),
        plural(config.tags.len()),
    ));
    Ok(Exit::Ok)
}

fn run_json(path: &Path, out: &Output) -> anyhow::Result<Exit> {
    let (verdict, exit) = match config::load(path) {
        Ok(config) => (
            json!({
                "valid": true,
                "contacts": config.contacts.len(),
                "channels": config.channels.len(),
                "fields": config.fields.len(),
                "tags": config.tags.len(),
            }),
            Exit::Ok,
        ),
        Err(diags) => {
            eprint!("{}", config::render_diagnostics(&diags, false));
            let problems: Vec<_> = diags
                .iter()
                .map(|d| {
                    json!({
                        "file": d.loc.file,
                        "line": d.loc.line,
                        "col": d.loc.col,
                        "message": d.message,
                    })
                })
                .collect();
            (json!({ "valid": false, "problems": problems }), Exit::Error)
        }
    };
    out.stdout(|w| {
        serde_json::to_writer_pretty(&mut *w, &verdict)?;
        w.write_all(b"\n")
    })?;
    Ok(exit)
}

/// Print the JSON Schema of the config.
pub fn schema(out: &Output) -> anyhow::Result<Exit> {
    out.stdout(|w| w.write_all(config::schema_json().as_bytes()))?;
    Ok(Exit::Ok)
}

pub fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
