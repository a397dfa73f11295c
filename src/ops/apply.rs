//! The apply operation: the plan it applies (fresh, or a saved plan proven to still hold), the
//! safety gate, and running the engine with the session's clients. Confirmation, progress and
//! signals are the command line's; this decides and executes.

use std::collections::BTreeMap;
use std::path::Path;

use super::Error;
use super::plan::read_and_plan;
use super::saved::{SavedPlan, stale_contacts};
use super::session::{Endpoint, Session, connect, load};
use super::targets::{Targets, select};
use crate::api::{ContactsApi, RequestLog};
use crate::apply::{ApplyEvent, ApplyOptions, ApplyReport, Interrupt, apply};
use crate::model::Config;
use crate::plan::{Plan, PlanOptions};

/// Open a session for applying `saved`: the config at `path`, narrowed as the saved plan was.
/// `channels` and `contacts` (`--channel`, `--contact`) must be empty: the plan says what it
/// covers.
pub async fn open_saved(
    path: &Path,
    saved: &SavedPlan,
    channels: &[String],
    contacts: &[String],
    endpoint: &Endpoint,
    log: Option<RequestLog>,
) -> Result<(Session, Targets), Error> {
    if !channels.is_empty() || !contacts.is_empty() {
        return Err(Error::NarrowedSavedPlan);
    }
    let config = load(path)?;
    let targets = select(&config, &saved.channels, &saved.contacts)?;
    let session = connect(config, &targets.channels, endpoint, log).await?;
    Ok((session, targets))
}

/// The saved plan, if it still holds: the config (at `path`) is the one it was made from, and a
/// fresh read finds every planned contact as it was. Otherwise nothing is applied.
pub async fn recheck<C: ContactsApi>(
    config: &Config,
    clients: &BTreeMap<String, C>,
    targets: &Targets,
    path: &Path,
    saved: SavedPlan,
) -> Result<Plan, Error> {
    if saved.config_hash != config.hash {
        return Err(Error::ConfigChanged {
            path: path.to_path_buf(),
        });
    }
    let options = PlanOptions {
        prune: saved.plan.prune,
    };
    let fresh = read_and_plan(config, clients, targets, options).await;
    let stale = stale_contacts(&saved.plan, &fresh);
    if stale.is_empty() {
        Ok(saved.plan)
    } else {
        Err(Error::PlatformChanged { contacts: stale })
    }
}

/// The safety gate (SPEC "Safety"): a plan that changes more existing contacts of a channel
/// than `safety.max_change_percent` allows is refused, unless `force`.
pub fn check_safety(plan: &Plan, force: bool) -> Result<(), Error> {
    if plan.is_unsafe() && !force {
        Err(Error::Unsafe {
            warnings: plan.warnings.clone(),
        })
    } else {
        Ok(())
    }
}

impl Session {
    /// The saved plan, if it still holds (see [`recheck`]).
    pub async fn recheck(
        &self,
        targets: &Targets,
        path: &Path,
        saved: SavedPlan,
    ) -> Result<Plan, Error> {
        recheck(&self.config, &self.clients, targets, path, saved).await
    }

    /// Make the plan's calls; the report counts the requests sent (retries and recovery reads
    /// included). `interrupt` stops new contacts from starting; `events` hear every call and
    /// contact as it ends.
    pub async fn apply(
        &self,
        plan: Plan,
        interrupt: &dyn Interrupt,
        events: &(dyn Fn(ApplyEvent) + Send + Sync),
    ) -> ApplyReport {
        let before = self.requests_sent();
        let mut report = apply(
            plan,
            &self.config,
            &self.clients,
            ApplyOptions::default(),
            interrupt,
            events,
        )
        .await;
        report.requests_sent = usize::try_from(self.requests_sent() - before).unwrap_or(usize::MAX);
        report
    }
}
