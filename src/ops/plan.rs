//! The plan operation: open a session for the targeted contacts (narrowed to those changed since
//! BASE in a change-scoped run), read their live state, plan.

use std::collections::BTreeMap;
use std::path::Path;

use super::Error;
use super::scope::{Base, Loaded, load_base, narrow};
use super::session::{Endpoint, Session, connect, load};
use super::targets::{Targets, select};
use crate::api::{ContactsApi, RequestLog};
use crate::model::Config;
use crate::plan::{Plan, PlanOptions, RunScope, plan};
use crate::read::{ReadEvent, ReadOptions, read_live, read_scoped};

/// What a run opens its session on: the config at `path`, narrowed to `channels` and `contacts`
/// (`--channel`, `--contact`) and to the contacts changed since `base` (`--base`,
/// `--changed-since`), the API's `endpoint`, the reads' `max_pages` (`--max-pages`) and the
/// request `log` (`-v`).
pub struct Opening<'a> {
    /// The config: a file or a directory.
    pub path: &'a Path,
    /// `--channel`.
    pub channels: &'a [String],
    /// `--contact`.
    pub contacts: &'a [String],
    /// BASE of a change-scoped run.
    pub base: Option<Base>,
    /// The hosts or the sandbox.
    pub endpoint: Endpoint,
    /// The most pages one paged read takes (`None`: the default for each channel).
    pub max_pages: Option<u64>,
    /// Where requests are logged.
    pub log: Option<RequestLog>,
}

/// Load the config, narrow it to the targets `opening` names (to the contacts changed since BASE
/// when there is one), and connect to the channels that involves.
pub async fn open(opening: Opening<'_>) -> Result<(Session, Targets), Error> {
    let Opening {
        path,
        channels,
        contacts,
        base,
        endpoint,
        max_pages,
        log,
    } = opening;
    if base.is_some() && !path.exists() {
        // the config's own problem comes first, as in a full run
        load(path)?;
    }
    // BASE is read first and kept as fingerprints only, so that the two configs are never in
    // memory at once.
    let loaded = base.as_ref().map(|b| load_base(path, b)).transpose()?;
    let config = load(path)?;
    let targets = targets(&config, channels, contacts, base.as_ref().zip(loaded))?;
    let mut session = connect(config, &targets.channels, &endpoint, log).await?;
    session.read.max_pages = max_pages;
    Ok((session, targets))
}

/// The targets of a run on `config`: selected by `--channel`/`--contact`, then narrowed to the
/// contacts changed since BASE when there is one.
pub fn targets(
    config: &Config,
    channels: &[String],
    contacts: &[String],
    base: Option<(&Base, Loaded)>,
) -> Result<Targets, Error> {
    let mut targets = select(config, channels, contacts)?;
    if let Some((base, loaded)) = base {
        targets = narrow(config, targets, base, loaded);
    }
    Ok(targets)
}

/// Read the live state of `targets` through `clients` (one per channel) as `read` says (its
/// `orphans` is the targets'), `events` hearing the reads, and plan them; a change-scoped run's
/// plan says what it skipped, and carries the run's warnings.
pub async fn read_and_plan<C: ContactsApi>(
    config: &Config,
    clients: &BTreeMap<String, C>,
    targets: &Targets,
    read: ReadOptions,
    mut options: PlanOptions,
    events: &(dyn Fn(ReadEvent) + Send + Sync),
) -> Plan {
    let read_options = ReadOptions {
        orphans: targets.orphans,
        ..read
    };
    let live = match &targets.scope {
        Some(scope) => {
            options.scope = Some(RunScope {
                base: scope.base.clone(),
                skipped: scope.skipped.clone(),
            });
            read_scoped(config, clients, &scope.read, read_options, events).await
        }
        None => read_live(config, clients, &targets.selected, read_options, events).await,
    };
    options.warnings.extend(targets.warnings.iter().cloned());
    plan(config, live, options)
}

impl Session {
    /// Read the live state of `targets` as the session's read options say, and plan them;
    /// `events` hear the reads.
    pub async fn plan(
        &self,
        targets: &Targets,
        options: PlanOptions,
        events: &(dyn Fn(ReadEvent) + Send + Sync),
    ) -> Plan {
        let (config, clients) = (&self.config, &self.clients);
        read_and_plan(config, clients, targets, self.read, options, events).await
    }
}
