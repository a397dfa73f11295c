//! The import operation: read existing contacts of one channel — by ID, or every contact a
//! custom-field look-up returns, page by page — for `crate::import` to write as a config fragment.

use std::collections::HashSet;

use futures::stream::{self, StreamExt};

use crate::api::{ApiError, ContactsApi, HttpClient};
use crate::cli::common::Output;
use crate::import::ImportError;
use crate::model::{Config, FieldType, LiveContact};

/// Page size asked of the look-up; the server may serve fewer (the platform's is 10), and what
/// it says in `meta` is followed.
const PER_PAGE: u64 = 1000;
/// Reads in flight at once (the channel's rate limiter still paces them).
const CONCURRENCY: usize = 8;

/// Get each ID (in the order given, each once). Returns the contacts found, and for each ID
/// that was not, `ID: why`. A refused token stops everything.
pub async fn get_all(
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
pub async fn lookup_all(
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

/// The wire value to look `field` up with, from what the user typed: a declared boolean field's
/// `true`/`false` in the channel's spelling, anything else as typed.
pub fn query_value(
    config: &Config,
    channel: &str,
    field: &str,
    value: &str,
) -> Result<String, ImportError> {
    if value.is_empty() {
        return Err(ImportError::BadQuery(format!(
            "--field {field}=: the look-up needs a value"
        )));
    }
    if config.field_type(field) == FieldType::Boolean && config.fields.contains_key(field) {
        let format = config
            .channels
            .get(channel)
            .map(|c| c.boolean_format)
            .unwrap_or_default();
        return match value.to_ascii_lowercase().as_str() {
            "true" => Ok(format.write(true).to_string()),
            "false" => Ok(format.write(false).to_string()),
            _ => Err(ImportError::BadQuery(format!(
                "--field {field}={value}: {field} is a boolean field; give true or false"
            ))),
        };
    }
    Ok(value.to_string())
}

/// `NAME=VALUE` split at the first `=`.
pub fn parse_query(arg: &str) -> Result<(String, String), ImportError> {
    match arg.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_string(), value.to_string()))
        }
        _ => Err(ImportError::BadQuery(format!(
            "--field {arg}: write it as NAME=VALUE, e.g. --field customer_type=premium"
        ))),
    }
}
