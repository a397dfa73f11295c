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

/// Load the config at `path`, narrow it to `channels` and `contacts` (`--channel`,
/// `--contact`), and connect to the channels that involves.
pub async fn open(
    path: &Path,
    channels: &[String],
    contacts: &[String],
    endpoint: &Endpoint,
    log: Option<RequestLog>,
) -> Result<(Session, Targets), Error> {
    open_scoped(path, channels, contacts, None, endpoint, log).await
}

/// [`open`], narrowed to the contacts changed since `base` when one is given (`--base`,
/// `--changed-since`).
pub async fn open_scoped(
    path: &Path,
    channels: &[String],
    contacts: &[String],
    base: Option<&Base>,
    endpoint: &Endpoint,
    log: Option<RequestLog>,
) -> Result<(Session, Targets), Error> {
    if base.is_some() && !path.exists() {
        // the config's own problem comes first, as in a full run
        load(path)?;
    }
    // BASE is read first and kept as fingerprints only, so that the two configs are never in
    // memory at once.
    let loaded = base.map(|b| load_base(path, b)).transpose()?;
    let config = load(path)?;
    let targets = targets(&config, channels, contacts, base.zip(loaded))?;
    let session = connect(config, &targets.channels, endpoint, log).await?;
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
