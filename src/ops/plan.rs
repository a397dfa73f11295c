//! The plan operation: open a session for the targeted contacts, read their live state, plan.

use std::collections::BTreeMap;
use std::path::Path;

use super::Error;
use super::session::{Endpoint, Session, connect, load};
use super::targets::{Targets, select};
use crate::api::{ContactsApi, RequestLog};
use crate::model::Config;
use crate::plan::{Plan, PlanOptions, plan};
use crate::read::{ReadOptions, read_live};

/// Load the config at `path`, narrow it to `channels` and `contacts` (`--channel`,
/// `--contact`), and connect to the channels that involves.
pub async fn open(
    path: &Path,
    channels: &[String],
    contacts: &[String],
    endpoint: &Endpoint,
    log: Option<RequestLog>,
) -> Result<(Session, Targets), Error> {
    let config = load(path)?;
    let targets = select(&config, channels, contacts)?;
    let session = connect(config, &targets.channels, endpoint, log).await?;
    Ok((session, targets))
}

/// Read the live state of `targets` through `clients` (one per channel) and plan them.
pub async fn read_and_plan<C: ContactsApi>(
    config: &Config,
    clients: &BTreeMap<String, C>,
    targets: &Targets,
    options: PlanOptions,
) -> Plan {
    let live = read_live(
        config,
        clients,
        &targets.selected,
        ReadOptions {
            orphans: targets.orphans,
            ..ReadOptions::default()
        },
    )
    .await;
    plan(config, live, options)
}

impl Session {
    /// Read the live state of `targets` and plan them.
    pub async fn plan(&self, targets: &Targets, options: PlanOptions) -> Plan {
        read_and_plan(&self.config, &self.clients, targets, options).await
    }
}
