//! The import operation: read existing contacts of one channel — by ID, or every contact a
//! custom-field look-up returns, through the one pager — and have `crate::import` write them as a
//! config fragment, to a file or for the caller to print. Reads only; never writes to the
//! platform, never edits the config.

use std::collections::HashSet;
use std::path::Path;

use futures::stream::{self, StreamExt};

use super::Error;
use super::session::{Endpoint, connect, load};
use super::targets::check_channel;
use crate::api::{ApiError, ContactsApi, RequestLog};
use crate::import::{self, Imported};
use crate::model::{Config, FieldType, LiveContact};
use crate::plan::estimated_seconds;
use crate::read::pager::{FailedPage, PageLimit, PageOptions, page_all};

/// Page size asked of the look-up; the server may serve fewer (the platform's is 10), and what
/// it says in `meta` is followed.
const PER_PAGE: u64 = 1000;
/// Reads in flight at once (the channel's rate limiter still paces them).
const CONCURRENCY: usize = 8;

/// What import writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ImportFormat {
    /// A `contacts:` fragment for the config directory.
    #[default]
    Yaml,
    /// A CSV sheet for a `sources:` entry (`tags_column: Tags`).
    Csv,
}

/// What to import.
#[derive(Debug, Clone, Copy)]
pub struct ImportRequest<'a> {
    /// The config (a file or directory).
    pub path: &'a Path,
    /// The channel to read from.
    pub channel: &'a str,
    /// Contact IDs to import (used when `field` is `None`).
    pub ids: &'a [String],
    /// `NAME=VALUE`: import every contact this look-up returns.
    pub field: Option<&'a str>,
    /// Write the fragment here (else the caller prints it).
    pub out: Option<&'a Path>,
    /// YAML or CSV.
    pub format: ImportFormat,
    /// Where the API is.
    pub endpoint: &'a Endpoint,
    /// The most pages the look-up of `field` reads (`--max-pages`); `None`: the default of a
    /// marker read, 1,000 plus one per contact of the channel in the config.
    pub max_pages: Option<u64>,
}

/// What import tells while it works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportEvent {
    /// The look-up has more than one page: how many contacts and pages, and how long reading
    /// them takes at the channel's rate limit.
    Paging {
        /// Contacts the look-up matches (`meta.total`).
        total: u64,
        /// Pages (`meta.last_page`).
        pages: u64,
        /// Contacts per page the server uses.
        per_page: u64,
        /// Seconds reading every page takes at the channel's rate limit.
        estimated_seconds: u64,
    },
}

/// What an import wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportOutcome {
    /// The fragment and its counts.
    pub imported: Imported,
    /// For each `--id` not found: `ID: why`.
    pub missing: Vec<NotImported>,
}

/// Read the contacts `request` asks for and build their fragment; write it to `request.out`
/// when given. An ID that is not found does not stop the others (see `missing`).
pub async fn import(
    request: ImportRequest<'_>,
    log: Option<RequestLog>,
    events: &(dyn Fn(ImportEvent) + Send + Sync),
) -> Result<ImportOutcome, Error> {
    let config = load(request.path)?;
    check_channel(&config, request.channel)?;
    let query = match request.field {
        Some(q) => {
            let (field, value) = parse_query(q)?;
            let value = query_value(&config, request.channel, &field, &value)?;
            Some((field, value))
        }
        None => None,
    };
    let limit = PageLimit::for_channel(&config, request.channel, request.max_pages);
    let rate_limit = config
        .channels
        .get(request.channel)
        .map_or(crate::model::DEFAULT_RATE_LIMIT, |c| c.rate_limit);
    let channels = [request.channel.to_string()];
    let mut session = connect(config, &channels, request.endpoint, log).await?;
    let Some(client) = session.clients.get(request.channel) else {
        return Err(Error::UnknownChannel {
            name: request.channel.to_string(),
            known: session.config.channels.keys().cloned().collect(),
        });
    };

    let (contacts, missing) = match &query {
        Some((field, value)) => {
            let paging = |first: &crate::api::LookupPage| {
                if first.last_page > 1 && first.last_page != u64::MAX {
                    events(ImportEvent::Paging {
                        total: first.total,
                        pages: first.last_page,
                        per_page: first.per_page,
                        estimated_seconds: estimated_seconds(
                            usize::try_from(first.last_page).unwrap_or(usize::MAX),
                            rate_limit,
                        ),
                    });
                }
            };
            let options = PageOptions {
                per_page: PER_PAGE,
                concurrency: CONCURRENCY,
                // a partial bootstrap would look complete
                failed_page: FailedPage::Fail,
                limit,
            };
            let contacts = page_all(client, field, value, options, paging, |_| true)
                .await
                .map_err(|source| Error::Lookup {
                    query: format!("{field}={value}"),
                    source,
                })?;
            (contacts, Vec::new())
        }
        None => get_all(client, request.ids).await?,
    };

    // Re-running an import into the same file (inside the config directory) rewrites it: the
    // contacts it already holds are not "already in the config", or the rewrite would drop them.
    let config = &mut session.config;
    if let Some(out_file) = request.out.and_then(|p| std::fs::canonicalize(p).ok()) {
        config
            .contacts
            .retain(|c| std::fs::canonicalize(&*c.source.file).map_or(true, |f| f != out_file));
    }
    let imported = match request.format {
        ImportFormat::Yaml => import::render(config, request.channel, &contacts),
        ImportFormat::Csv => import::render_csv(config, request.channel, &contacts),
    };
    if let Some(path) = request.out {
        std::fs::write(path, &imported.text).map_err(|e| Error::io("writing", path, e))?;
    }
    Ok(ImportOutcome { imported, missing })
}

/// Get each ID (in the order given, each once). Returns the contacts found, and for each ID
/// that was not, `ID: why`. A refused token or an unreachable host stops everything.
async fn get_all<C: ContactsApi>(
    client: &C,
    ids: &[String],
) -> Result<(Vec<LiveContact>, Vec<NotImported>), ApiError> {
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
            Ok(None) => missing.push(NotImported::NoSuchContact(id.clone())),
            Err(e) if e.stops_channel() => return Err(e),
            Err(e) => missing.push(NotImported::Failed(id.clone(), e.to_string())),
        }
    }
    Ok((found, missing))
}

/// The wire value to look `field` up with, from what the user typed: a declared boolean field's
/// `true`/`false` in the channel's spelling, anything else as typed.
pub fn query_value(
    config: &Config,
    channel: &str,
    field: &str,
    value: &str,
) -> Result<String, Error> {
    if value.is_empty() {
        return Err(Error::BadQuery(QueryProblem::NoValue {
            field: field.to_string(),
        }));
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
            _ => Err(Error::BadQuery(QueryProblem::NotBoolean {
                field: field.to_string(),
                value: value.to_string(),
            })),
        };
    }
    Ok(value.to_string())
}

/// Why an `import --field` is not a look-up the API can make.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryProblem {
    /// `--field NAME=` with nothing to look up.
    #[error("--field {field}=: the look-up needs a value")]
    NoValue {
        /// The field.
        field: String,
    },
    /// A declared boolean field looked up with something other than true or false.
    #[error("--field {field}={value}: {field} is a boolean field; give true or false")]
    NotBoolean {
        /// The field.
        field: String,
        /// What was given.
        value: String,
    },
    /// The argument has no `=` or no name before it.
    #[error("--field {arg}: write it as NAME=VALUE, e.g. --field customer_type=premium")]
    NotNameValue {
        /// The argument as given.
        arg: String,
    },
}

/// An `--id` an import could not get.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotImported {
    /// The platform has no contact with this ID.
    #[error("{0}: no such contact")]
    NoSuchContact(String),
    /// Getting it failed: the ID and the call's error.
    #[error("{0}: {1}")]
    Failed(String, String),
}

/// `NAME=VALUE` split at the first `=`.
pub fn parse_query(arg: &str) -> Result<(String, String), Error> {
    match arg.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_string(), value.to_string()))
        }
        _ => Err(Error::BadQuery(QueryProblem::NotNameValue {
            arg: arg.to_string(),
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_follow_the_channel_s_boolean_spelling() {
        let cfg = crate::testing::config();
        assert_eq!(query_value(&cfg, "web", "vip", "true").unwrap(), "TRUE");
        assert_eq!(query_value(&cfg, "viber", "vip", "TRUE").unwrap(), "true");
        assert!(query_value(&cfg, "web", "vip", "yes").is_err());
        assert_eq!(
            query_value(&cfg, "web", "customer_type", "premium").unwrap(),
            "premium"
        );
        assert!(query_value(&cfg, "web", "x", "").is_err());
        assert_eq!(
            parse_query("a=b=c").unwrap(),
            ("a".to_string(), "b=c".to_string())
        );
        assert!(parse_query("novalue").is_err());
        assert!(parse_query("=x").is_err());
    }
}
