//! The apply operation: the plan it applies (fresh, or a saved plan proven to still hold), the
//! safety gate, and running the engine with the session's clients. Confirmation, progress and
//! signals are the command line's; this decides and executes.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use tokio::time::Instant;

use super::Error;
use super::saved::{SavedPlan, stale_contacts};
use super::session::{Endpoint, Session, connect, load, requests_sent};
use super::targets::Targets;
use crate::api::{ContactsApi, HttpClient, RequestLog};
use crate::apply::{ApplyEvent, ApplyOptions, ApplyReport, Interrupt, apply};
use crate::model::{Config, Identity};
use crate::plan::{ContactPlan, Plan, estimated_seconds};
use crate::read::{ReadEvent, ReadOptions, fewest_reads, read_identities_with};

/// Open a session for applying `saved`: the config at `path`, and a client for each channel the
/// saved plan has calls on. `channels` and `contacts` (`--channel`, `--contact`) must be empty:
/// the plan says what it covers.
pub async fn open_saved(
    path: &Path,
    saved: &SavedPlan,
    channels: &[String],
    contacts: &[String],
    endpoint: &Endpoint,
    log: Option<RequestLog>,
) -> Result<Session, Error> {
    if !channels.is_empty() || !contacts.is_empty() {
        return Err(Error::NarrowedSavedPlan);
    }
    let config = load(path)?;
    let mut channels: Vec<String> = saved
        .plan
        .contacts
        .iter()
        .filter(|c| !c.calls.is_empty())
        .map(|c| c.channel.clone())
        .collect();
    channels.sort();
    channels.dedup();
    connect(config, &channels, endpoint, log).await
}

/// The saved plan, if it still holds: the config (at `path`) is the one it was made from, and
/// every contact it has calls for is as it was on the platform — each read once (by ID when the
/// plan knows it; a contact to create is looked up by its key and must still be absent), and
/// compared on its managed part (existence, managed fields, managed tags). Contacts without
/// calls are not read: applying the plan does not touch them. Otherwise nothing is applied.
pub async fn recheck<C: ContactsApi>(
    config: &Config,
    clients: &BTreeMap<String, C>,
    path: &Path,
    saved: SavedPlan,
) -> Result<Plan, Error> {
    recheck_with(config, clients, path, saved, &|_| {}).await
}

/// [`recheck`], `events` hearing the reads.
pub async fn recheck_with<C: ContactsApi>(
    config: &Config,
    clients: &BTreeMap<String, C>,
    path: &Path,
    saved: SavedPlan,
    events: &(dyn Fn(ReadEvent) + Send + Sync),
) -> Result<Plan, Error> {
    if saved.config_hash != config.hash {
        return Err(Error::ConfigChanged {
            path: path.to_path_buf(),
        });
    }
    let planned: Vec<&ContactPlan> = saved
        .plan
        .contacts
        .iter()
        .filter(|c| !c.calls.is_empty())
        .collect();
    let identities: Vec<(String, Identity)> = planned
        .iter()
        .map(|c| {
            let identity = match &c.id {
                Some(id) => Identity::Id(id.clone()),
                None => c.identity.clone(),
            };
            (c.channel.clone(), identity)
        })
        .collect();
    let fresh =
        read_identities_with(config, clients, &identities, ReadOptions::default(), events).await;
    let stale = stale_contacts(config, &planned, fresh);
    if stale.is_empty() {
        Ok(saved.plan)
    } else {
        Err(Error::PlatformChanged {
            // applied: every contact with calls is already as the plan would make it
            applied: stale.len() == planned.len() && stale.iter().all(|s| s.applied),
            contacts: stale.into_iter().map(|s| s.contact).collect(),
        })
    }
}

/// Refuse a time budget that cannot hold even the reads of `targets` (the fewest the reader can
/// make, at each channel's rate limit), before any call: a run that spends its budget reading
/// writes nothing, and the next run would read it all again, so it would never finish. Said up
/// front, with how long the reads take, it can be fixed (a marker, a narrower run, more time).
pub fn check_read_budget(
    config: &Config,
    targets: &Targets,
    budget: Duration,
) -> Result<(), Error> {
    // (a change-scoped run's `selected` holds only the contacts it reads)
    let worst = fewest_reads(config, &targets.selected)
        .into_iter()
        .map(|(channel, reads)| {
            let rate_limit = config.channels.get(&channel).map_or(100, |c| c.rate_limit);
            (
                estimated_seconds(reads, rate_limit),
                channel,
                reads,
                rate_limit,
            )
        })
        .max();
    match worst {
        Some((needed_seconds, channel, reads, rate_limit))
            if Duration::from_secs(needed_seconds) >= budget =>
        {
            Err(Error::BudgetBelowReads {
                channel,
                reads,
                rate_limit,
                needed_seconds,
                budget,
            })
        }
        _ => Ok(()),
    }
}

/// The protected-fields gate (SPEC "Who owns a value"): a plan that changes or clears a
/// non-empty value of a field of `safety.protected_fields` on an existing contact is refused,
/// naming each contact and field, unless `force`.
pub fn check_protected(config: &Config, plan: &Plan, force: bool) -> Result<(), Error> {
    let changes = crate::plan::protected_changes(config, plan);
    if changes.is_empty() || force {
        Ok(())
    } else {
        Err(Error::Protected {
            changes: changes.iter().map(ToString::to_string).collect(),
        })
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
    /// The saved plan, if it still holds (see [`recheck`]); `events` hear the reads.
    pub async fn recheck(
        &self,
        path: &Path,
        saved: SavedPlan,
        events: &(dyn Fn(ReadEvent) + Send + Sync),
    ) -> Result<Plan, Error> {
        recheck_with(&self.config, &self.clients, path, saved, events).await
    }

    /// Make the plan's calls through the session's clients: see [`apply_plan`].
    pub async fn apply(
        &self,
        plan: Plan,
        deadline: Option<Instant>,
        interrupt: &dyn Interrupt,
        events: &(dyn Fn(ApplyEvent) + Send + Sync),
    ) -> ApplyReport {
        apply_plan(
            &self.config,
            &self.clients,
            plan,
            deadline,
            interrupt,
            events,
        )
        .await
    }
}

/// Make `plan`'s calls through `clients` (one per channel); the report counts the requests sent
/// (retries and recovery reads included). No contact starts whose calls could not have ended by
/// `deadline` (the time budget), and `interrupt` stops new contacts from starting; `events` hear
/// every call and contact as it ends.
pub async fn apply_plan(
    config: &Config,
    clients: &BTreeMap<String, HttpClient>,
    plan: Plan,
    deadline: Option<Instant>,
    interrupt: &dyn Interrupt,
    events: &(dyn Fn(ApplyEvent) + Send + Sync),
) -> ApplyReport {
    let before = requests_sent(clients);
    let options = ApplyOptions {
        deadline,
        ..ApplyOptions::default()
    };
    let mut report = apply(plan, config, clients, options, interrupt, events).await;
    report.requests_sent = usize::try_from(requests_sent(clients) - before).unwrap_or(usize::MAX);
    report
}
