//! `contactctl init`: write a starter config (and its schema) and say how to try it.

use std::path::Path;

use super::error::CommandError;
use super::output::{Exit, Output};
use crate::ops::init::{init, is_default_path};

/// Write the starter config at `path`; refuses when a config is there.
pub fn run(path: &Path, out: &Output) -> Result<Exit, CommandError> {
    let written = init(path)?;
    // The plan command to suggest: the same path the user gave, unless it is the default.
    let shown = if is_default_path(&written.config) {
        String::new()
    } else {
        format!(" {}", path.display())
    };
    out.note(&format!(
        "Wrote {} (and {}, for editors that read the schema line).\n\
         It points at the local sandbox. To try it:\n  \
         contactctl sandbox --port 8080            # in another terminal\n  \
         export CONTACTS_WEB_TOKEN=sandbox-web-token CONTACTS_VIBER_TOKEN=sandbox-viber-token\n  \
         contactctl plan{shown}\n\
         For the real platform, edit base_url and put each channel's token in its token_env variable.",
        written.config.display(),
        written.schema.display(),
    ));
    Ok(Exit::Ok)
}
