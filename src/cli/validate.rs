//! `contactctl validate` and `contactctl schema`: offline checks of the config, and its schema.

use std::path::Path;

use super::common::{Exit, Output, load_config};
use crate::config;

/// Check the config; problems go to stderr as `file:line:col: message`.
pub fn run(path: &Path, out: &Output) -> anyhow::Result<Exit> {
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

/// Print the JSON Schema of the config.
pub fn schema(out: &Output) -> anyhow::Result<Exit> {
    out.stdout(|w| w.write_all(config::schema_json().as_bytes()))?;
    Ok(Exit::Ok)
}

pub fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
