//! `contactctl import`: run the import operation, print the fragment (or say where it went),
//! and say what was imported.

use super::ImportArgs;
use super::error::CommandError;
use super::output::{Exit, Output};
use crate::ops;
use crate::ops::import::{ImportEvent, ImportRequest};
use crate::render::human_duration;

pub async fn run(args: ImportArgs, out: &Output) -> Result<Exit, CommandError> {
    let request = ImportRequest {
        path: &args.path,
        channel: &args.channel,
        ids: &args.ids,
        field: args.field.as_deref(),
        out: args.out.as_deref(),
        endpoint: &args.endpoint.to_ops(),
    };
    let events = |e: ImportEvent| match e {
        ImportEvent::Paging {
            total,
            pages,
            per_page,
            estimated_seconds,
        } => out.note(&format!(
            "import: {total} contacts in {pages} pages of {per_page}{}",
            if estimated_seconds > 0 {
                format!(
                    ", {} at the channel's rate limit",
                    human_duration(estimated_seconds)
                )
            } else {
                String::new()
            }
        )),
    };
    let outcome = ops::import::import(request, out.log(), &events).await?;
    let imported = &outcome.imported;
    if args.out.is_none() {
        out.stdout(|w| w.write_all(imported.yaml.as_bytes()))?;
    }
    let whereto = args
        .out
        .as_ref()
        .map_or_else(|| "stdout".to_string(), |p| p.display().to_string());
    let mut note = format!(
        "Imported {} contact{} from channel {} to {whereto}",
        imported.written,
        if imported.written == 1 { "" } else { "s" },
        args.channel
    );
    if imported.by_id > 0 {
        note.push_str(&format!(" ({} by id)", imported.by_id));
    }
    if !imported.already_in_config.is_empty() {
        note.push_str(&format!(
            "; {} already in the config, left out",
            imported.already_in_config.len()
        ));
    }
    note.push('.');
    out.note(&note);
    if !outcome.missing.is_empty() {
        return Err(ops::Error::ImportMissing {
            missing: outcome.missing,
        }
        .into());
    }
    Ok(Exit::Ok)
}
