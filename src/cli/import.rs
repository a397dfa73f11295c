//! `contactctl import`: read existing contacts of one channel — by ID, or every contact a
//! custom-field look-up returns, page by page — and write them as a `contacts:` fragment
//! (`crate::import` builds the text). Reads only; never writes to the platform, never edits the
//! config.

use anyhow::{Context, bail};

use super::ImportArgs;
use super::common::{Exit, Output, load_config};
use crate::import;
use crate::ops::import::{get_all, lookup_all, parse_query, query_value};
use crate::ops::session::connect;

pub async fn run(args: ImportArgs, out: &Output) -> anyhow::Result<Exit> {
    let config = load_config(&args.path, out)?;
    if !config.channels.contains_key(&args.channel) {
        bail!(
            "--channel {}: no such channel in the config (channels: {})",
            args.channel,
            config
                .channels
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let query = match &args.field {
        Some(q) => {
            let (field, value) = parse_query(q)?;
            let value = query_value(&config, &args.channel, &field, &value)?;
            Some((field, value))
        }
        None => None,
    };
    let conn = connect(
        &config,
        std::slice::from_ref(&args.channel),
        &args.endpoint,
        out,
    )
    .await?;
    let Some(client) = conn.clients.get(&args.channel) else {
        bail!("no API client for channel {}", args.channel);
    };

    let (contacts, missing) = match &query {
        Some((field, value)) => {
            let rate_limit = config
                .channels
                .get(&args.channel)
                .map_or(crate::model::DEFAULT_RATE_LIMIT, |c| c.rate_limit);
            let contacts = lookup_all(client, field, value, rate_limit, out).await?;
            (contacts, Vec::new())
        }
        None => get_all(client, &args.ids).await?,
    };

    // Re-running an import into the same file (inside the config directory) rewrites it: the
    // contacts it already holds are not "already in the config", or the rewrite would drop them.
    let mut config = config;
    if let Some(out_file) = args
        .out
        .as_deref()
        .and_then(|p| std::fs::canonicalize(p).ok())
    {
        config
            .contacts
            .retain(|c| std::fs::canonicalize(&c.source.file).map_or(true, |f| f != out_file));
    }
    let imported = import::render(&config, &args.channel, &contacts)?;
    match &args.out {
        Some(path) => std::fs::write(path, &imported.yaml)
            .with_context(|| format!("writing {}", path.display()))?,
        None => out.stdout(|w| w.write_all(imported.yaml.as_bytes()))?,
    }
    let whereto = args
        .out
        .as_ref()
        .map_or_else(|| "stdout".to_string(), |p| p.display().to_string());
    let mut note = format!(
        "Imported {} contact{} from channel {} to {whereto}",
        imported.written,
        super::validate::plural(imported.written),
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
    if !missing.is_empty() {
        bail!(
            "{} of the IDs asked for could not be imported (the others were written): {}",
            missing.len(),
            missing.join("; ")
        );
    }
    Ok(Exit::Ok)
}
