//! `contactctl import`: read existing contacts of one channel — by ID, or every contact a
//! custom-field look-up returns, page by page — and write them as a `contacts:` fragment
//! (`crate::import` builds the text). Reads only; never writes to the platform, never edits the
//! config.

use std::collections::HashSet;

use anyhow::{Context, bail};
use futures::stream::{self, StreamExt};

use super::ImportArgs;
use super::common::{Exit, Output, connect, load_config};
use crate::api::{ApiError, ContactsApi, HttpClient};
use crate::import;
use crate::model::LiveContact;

/// Page size asked of the look-up; the server may serve fewer (the platform's is 10), and what
/// it says in `meta` is followed.
const PER_PAGE: u64 = 1000;
/// Reads in flight at once (the channel's rate limiter still paces them).
const CONCURRENCY: usize = 8;

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
            let (field, value) = import::parse_query(q)?;
            let value = import::query_value(&config, &args.channel, &field, &value)?;
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

/// Get each ID (in the order given, each once). Returns the contacts found, and for each ID
/// that was not, `ID: why`. A refused token stops everything.
async fn get_all(
    client: &HttpClient,
    ids: &[String],
) -> anyhow::Result<(Vec<LiveContact>, Vec<String>)> {
    let mut seen = HashSet::new();
    let ids: Vec<&String> = ids.iter().filter(|id| seen.insert(id.as_str())).collect();
    let results: Vec<(&String, Result<Option<LiveContact>, ApiError>)> = stream::iter(ids)
        .map(|id| async move { (id, client.get(id).await) })
        .buffered(CONCURRENCY)
        .collect()
        .await;
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for (id, result) in results {
        match result {
            Ok(Some(c)) => found.push(c),
            Ok(None) => missing.push(format!("{id}: no such contact")),
            Err(e @ ApiError::Unauthorized { .. }) => return Err(e.into()),
            Err(e) => missing.push(format!("{id}: {e}")),
        }
    }
    Ok((found, missing))
}

/// Every contact the look-up of `field`=`value` returns: page 1, then the pages `meta` announces,
/// in order, at the page size the server actually used. Any failed page fails the import (a
/// partial bootstrap would look complete).
async fn lookup_all(
    client: &HttpClient,
    field: &str,
    value: &str,
    rate_limit: u32,
    out: &Output,
) -> anyhow::Result<Vec<LiveContact>> {
    let what = |e: ApiError| anyhow::Error::new(e).context(format!("looking up {field}={value}"));
    let first = client
        .lookup_page(field, value, 1, PER_PAGE)
        .await
        .map_err(what)?;
    let last = first.last_page;
    if last > 1 {
        let limit = u64::from(rate_limit);
        let seconds = ((last - 2) / limit.max(1)) * 60;
        out.note(&format!(
            "import: {} contacts in {last} pages of {}{}",
            first.total,
            first.per_page,
            if seconds > 0 {
                format!(", about {seconds} s at the channel's rate limit")
            } else {
                String::new()
            }
        ));
    }
    let rest: Vec<Result<_, ApiError>> = stream::iter(2..=last)
        .map(|p| client.lookup_page(field, value, p, PER_PAGE))
        .buffered(CONCURRENCY)
        .collect()
        .await;
    let mut contacts = first.contacts;
    for page in rest {
        contacts.extend(page.map_err(what)?.contacts);
    }
    Ok(contacts)
}
