//! `contactctl import`: run the import operation, print the fragment (or say where it went),
//! and say what was imported.

use std::path::{Path, PathBuf};

use super::error::CommandError;
use super::output::{Exit, Output};
use super::{FormatArg, ImportArgs};
use crate::import::TAGS_COLUMN;
use crate::ops;
use crate::ops::import::{ImportEvent, ImportFormat, ImportRequest};
use crate::render::{human_duration, plural};

pub async fn run(args: ImportArgs, out: &Output) -> Result<Exit, CommandError> {
    let format = match out.format_arg {
        FormatArg::Text => ImportFormat::Yaml,
        FormatArg::Csv => ImportFormat::Csv,
        FormatArg::Markdown | FormatArg::Json => {
            return Err(CommandError::new(
                "import writes YAML (the default) or a CSV sheet (--format csv)",
            ));
        }
    };
    let request = ImportRequest {
        path: &args.path,
        channel: &args.channel,
        ids: &args.ids,
        field: args.field.as_deref(),
        out: args.out.as_deref(),
        format,
        endpoint: &args.endpoint.to_ops(),
        max_pages: args.paging.max_pages,
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
        out.stdout(|w| w.write_all(imported.text.as_bytes()))?;
    }
    let whereto = args
        .out
        .as_ref()
        .map_or_else(|| "stdout".to_string(), |p| p.display().to_string());
    let mut note = format!(
        "Imported {} from channel {} to {whereto}",
        plural(imported.written, "contact", "contacts"),
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
    if format == ImportFormat::Csv && imported.written > 0 {
        sheet_notes(&args, imported, out);
    }
    if !outcome.missing.is_empty() {
        if !imported.not_written.is_empty() {
            out.note(
                &ops::Error::ImportIncomplete {
                    not_written: imported.not_written.clone(),
                }
                .to_string(),
            );
        }
        return Err(ops::Error::ImportMissing {
            missing: outcome.missing,
        }
        .into());
    }
    if !imported.not_written.is_empty() {
        return Err(ops::Error::ImportIncomplete {
            not_written: outcome.imported.not_written,
        }
        .into());
    }
    Ok(Exit::Ok)
}

/// After a sheet: the `sources:` entry that reads it, and what it could not hold.
fn sheet_notes(args: &ImportArgs, imported: &crate::import::Imported, out: &Output) {
    let file = args.out.as_ref().map_or_else(
        || "SHEET.csv".to_string(),
        |p| relative_to_config(&args.path, p).display().to_string(),
    );
    out.note(&format!(
        "Read it with this entry in the config (the csv: path relative to the YAML file that names it):\n  \
         sources:\n    - csv: {file}\n      channel: {}\n      tags_column: {TAGS_COLUMN}",
        args.channel
    ));
    if !imported.notes.is_empty() {
        // They hold contacts' values: listed only when asked for in full.
        if out.verbose > 1 {
            for n in &imported.notes {
                out.note(&format!("  {n}"));
            }
        } else {
            out.note(&format!(
                "{} value{} read but not in the sheet (fields the config does not declare, or values that do not fit their type); -vv lists them.",
                imported.notes.len(),
                if imported.notes.len() == 1 { "" } else { "s" }
            ));
        }
    }
}

/// `sheet` as a `csv:` entry of a YAML file of the config at `config` names it: relative to the
/// config's directory (the directory itself, or the file's), else absolute.
fn relative_to_config(config: &Path, sheet: &Path) -> PathBuf {
    let dir = if config.is_dir() {
        config
    } else {
        config.parent().unwrap_or(Path::new(""))
    };
    if let Ok(rel) = sheet.strip_prefix(dir) {
        return rel.to_path_buf();
    }
    match (dir.canonicalize(), sheet.canonicalize()) {
        (Ok(dir), Ok(sheet)) => sheet
            .strip_prefix(&dir)
            .map_or_else(|_| sheet.clone(), Path::to_path_buf),
        (_, Ok(sheet)) => sheet,
        _ => sheet.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sheet_is_named_as_the_config_names_it() {
        let tmp = tempfile::tempdir().unwrap();
        let cfg = tmp.path().join("cfg");
        std::fs::create_dir_all(cfg.join("lists")).unwrap();
        let sheet = cfg.join("lists/event.csv");
        std::fs::write(&sheet, "email\n").unwrap();
        // a directory config, and a file config beside the sheet's folder
        assert_eq!(
            relative_to_config(&cfg, &sheet),
            Path::new("lists/event.csv")
        );
        let file = cfg.join("contactctl.yaml");
        assert_eq!(
            relative_to_config(&file, &sheet),
            Path::new("lists/event.csv")
        );
        // relative paths as typed on the command line
        assert_eq!(
            relative_to_config(Path::new("contactctl.yaml"), Path::new("lists/a.csv")),
            Path::new("lists/a.csv")
        );
        // a sheet outside the config's directory: absolute
        let outside = tmp.path().join("elsewhere.csv");
        std::fs::write(&outside, "email\n").unwrap();
        assert!(relative_to_config(&cfg, &outside).is_absolute());
    }
}
