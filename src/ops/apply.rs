//! The apply operation, the whole sequence in one call ([`run`]): the lock of its rate-limit
//! groups, the plan it applies (fresh, or a saved plan proven to still hold), the read budget,
//! the gates (safety), the no-change path, confirmation, the engine with the session's clients,
//! the report, and the run's record (`--report`) from the session's opening ([`open`]) to its
//! summary. What it shows and asks goes through [`ApplyUi`]: the command line's prompt, progress
//! bar and signals, a test's recorder. This decides and executes; it never prints.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use tokio::time::Instant;

use super::Error;
use super::lock::{self, Waiting};
use super::plan::{Opening, read_and_plan};
use super::report::{End, Recordable, Report};
use super::saved::{self, SavedPlan, stale_contacts};
use super::session::{Endpoint, Session, connect, load, requests_sent};
use super::targets::Targets;
use crate::api::{ContactsApi, HttpClient, RequestLog};
use crate::apply::{ApplyEvent, ApplyOptions, ApplyReport, Interrupt, apply};
use crate::model::{Config, Identity};
use crate::plan::{ContactPlan, Plan, PlanOptions, estimated_seconds};
use crate::read::{ReadEvent, ReadOptions, fewest_reads, read_identities};

/// Where the plan to apply comes from.
pub enum Source {
    /// A plan saved with `plan --out` (the reviewed one), checked against the config at `path`
    /// and the platform before anything is written.
    Saved {
        /// The saved plan.
        saved: SavedPlan,
        /// The config it must have been made from.
        path: PathBuf,
    },
    /// Read and plan these targets now.
    Fresh(Targets),
}

/// What to apply and how: the command's arguments, turned into the operation's terms.
pub struct ApplyRequest<'a> {
    /// The config.
    pub config: &'a Config,
    /// One client per channel the run calls.
    pub clients: &'a BTreeMap<String, HttpClient>,
    /// The plan: saved, or to make.
    pub source: Source,
    /// How a fresh plan reads (the session's: in flight, page size, `--max-pages`).
    pub read: ReadOptions,
    /// Plan deletions of marked contacts the config no longer lists (`--prune`; fresh plans).
    pub prune: bool,
    /// Apply a plan the safety gate would refuse (`--force`).
    pub force: bool,
    /// Apply without asking (`--auto-approve`); a saved plan was reviewed and is never asked.
    pub auto_approve: bool,
    /// The time budget (`--max-duration`), counted from `started`.
    pub max_duration: Option<Duration>,
    /// When the run started (the budget counts from there, as a CI job's limit does).
    pub started: Instant,
    /// What stops new contacts from starting (Ctrl-C).
    pub interrupt: &'a dyn Interrupt,
    /// The rate-limit groups locked from before the first read to the last call
    /// ([`Session::lock_groups`]; none under `--sandbox`).
    pub lock_groups: &'a [lock::Group],
    /// How long to wait for another run's lock (`--lock-timeout`; the time budget bounds it too).
    pub lock_timeout: Option<Duration>,
    /// The run's record (`--report`; [`Report::none`] for none): [`run`] writes its summary.
    pub report: &'a Report,
}

/// What the operation tells the one who runs it, as it goes.
#[derive(Debug)]
pub enum Event<'a> {
    /// Another run holds a lock this one waits for (said once).
    Waiting(&'a Waiting),
    /// A read of the plan (or of the saved plan's check).
    Read(&'a ReadEvent),
    /// A call of the writes, or a contact done.
    Apply(&'a ApplyEvent),
}

/// The saved plan's check passed: what it cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rechecked {
    /// Contacts with calls, each re-read.
    pub contacts: usize,
    /// The requests the check sent.
    pub reads: usize,
}

/// What [`run`] shows and asks through: a terminal, a CI log, a test. Events come from the
/// reads and the writes as they happen (`&self`: they may come from several tasks at once).
pub trait ApplyUi: Send + Sync {
    /// What the UI's own steps fail with (output gone, a confirmation refused), as the run's
    /// record says it.
    type Error: Recordable;
    /// The plan is known (made, or the saved one checked: `rechecked` says at what cost), before
    /// any gate: shown so that a refusal or a question can refer to it.
    fn planned(&mut self, plan: &Plan, rechecked: Option<Rechecked>) -> Result<(), Self::Error>;
    /// The plan has changes and passed the gates: go on only if the user says so.
    fn confirm(&mut self, plan: &Plan) -> Result<(), Self::Error>;
    /// The writes start now (after confirmation): the place to listen for Ctrl-C.
    fn writing(&mut self, plan: &Plan);
    /// A read or a write happened, or the run waits for a lock.
    fn event(&self, event: Event<'_>);
    /// The run ended with its report (before the record's summary is written): the place to show
    /// it.
    fn finished(&mut self, applied: &Applied) -> Result<(), Self::Error> {
        let _ = applied;
        Ok(())
    }
}

/// Why [`run`] stopped before a report: the operation refused or failed, or the UI did.
#[derive(Debug)]
pub enum RunError<E> {
    /// The operation's own error (a gate refused, the saved plan is stale, ...).
    Ops(Error),
    /// The UI's error (output gone, confirmation refused).
    Ui(E),
}

impl<E> From<Error> for RunError<E> {
    fn from(e: Error) -> Self {
        RunError::Ops(e)
    }
}

/// What a run did.
#[derive(Debug)]
pub struct Applied {
    /// Whether the plan had changes (without, the report is of a run that called nothing).
    pub had_changes: bool,
    /// The report; its plan is the one applied.
    pub report: ApplyReport,
}

impl Applied {
    /// Whether the run did all it had to (exit 0): without changes, every contact could be
    /// planned; with changes, every contact's calls were made; either way, every channel's
    /// orphans could be looked for.
    pub fn succeeded(&self) -> bool {
        if self.had_changes {
            self.report.succeeded()
        } else {
            let plan = &self.report.plan;
            plan.summary.errors == 0 && !plan.is_incomplete()
        }
    }
}

/// An apply, opened: its session, where its plan comes from, and its record.
pub struct Opened {
    /// The config and a client per channel.
    pub session: Session,
    /// The plan: saved, or to make.
    pub source: Source,
    /// The run's record (`--report`), or none.
    pub report: Report,
}

/// Open an apply: its record first (`report`, `--report`: created, so that a run that cannot
/// open says why in it too), then its session: with `plan_file` (`--plan`), the saved plan and a
/// client for each channel it has calls on (`opening` may then name no channel, contact or
/// BASE); otherwise the targets `opening` names and their channels.
pub async fn open(
    opening: Opening<'_>,
    plan_file: Option<&Path>,
    report: Option<&Path>,
) -> Result<Opened, Error> {
    let report = match report {
        Some(file) => Report::create(file, opening.path)?,
        None => Report::none(),
    };
    match open_session(opening, plan_file).await {
        Ok((session, source)) => Ok(Opened {
            session,
            source,
            report,
        }),
        Err(e) => {
            report.end(End::Failed(e.failure()))?;
            Err(e)
        }
    }
}

async fn open_session(
    opening: Opening<'_>,
    plan_file: Option<&Path>,
) -> Result<(Session, Source), Error> {
    match plan_file {
        Some(file) => {
            let saved = saved::load(file)?;
            let mut session = open_saved(
                opening.path,
                &saved,
                opening.channels,
                opening.contacts,
                &opening.endpoint,
                opening.log,
            )
            .await?;
            session.read.max_pages = opening.max_pages;
            let path = opening.path.to_path_buf();
            Ok((session, Source::Saved { saved, path }))
        }
        None => {
            let (session, targets) = super::plan::open(opening).await?;
            Ok((session, Source::Fresh(targets)))
        }
    }
}

/// Apply, the whole sequence `contactctl apply` runs: the locks, taken before the first read
/// and held to the last call (their wait counts against the time budget); the plan (a saved plan
/// rechecked, or read and planned within the read budget), shown; a plan without changes ends
/// there (its report calls nothing); the gates; confirmation (unless `auto_approve` or the plan
/// was saved); the writes, until done, the time budget, or an interrupt; the report, shown; the
/// record's summary, however the run ended.
pub async fn run<U: ApplyUi>(
    request: ApplyRequest<'_>,
    ui: &mut U,
) -> Result<Applied, RunError<U::Error>> {
    let report = request.report;
    let result = locked(request, ui).await;
    let end = match &result {
        Ok(applied) => End::Finished {
            exit: if applied.succeeded() { 0 } else { 1 },
        },
        Err(RunError::Ops(e)) => End::Failed(e.failure()),
        Err(RunError::Ui(e)) => End::Failed(e.failure()),
    };
    report.end(end)?;
    result
}

/// [`run`] but the record's summary.
async fn locked<U: ApplyUi>(
    request: ApplyRequest<'_>,
    ui: &mut U,
) -> Result<Applied, RunError<U::Error>> {
    let ApplyRequest {
        config,
        clients,
        source,
        read,
        prune,
        force,
        auto_approve,
        max_duration,
        started,
        interrupt,
        lock_groups,
        lock_timeout,
        report,
    } = request;
    // One apply at a time per host and token on this machine: held until `_held` drops, as the
    // run ends.
    let deadline = max_duration.map(|budget| started + budget);
    let on_wait = |w: &Waiting| ui.event(Event::Waiting(w));
    let _held = lock::take(lock_groups, lock_timeout, deadline, &on_wait)
        .await
        .map_err(Error::from)?;
    report.start(&clients.keys().cloned().collect::<Vec<_>>());
    let on_read = |e: ReadEvent| ui.event(Event::Read(&e));
    let reviewed = matches!(source, Source::Saved { .. });
    let (plan, rechecked) = match source {
        Source::Saved { saved, path } => {
            refuse_protected_unread(config, &saved, force)?;
            let before = requests_sent(clients);
            let plan = recheck(config, clients, &path, saved, &on_read).await?;
            let rechecked = Rechecked {
                contacts: plan.contacts.iter().filter(|c| !c.calls.is_empty()).count(),
                reads: usize::try_from(requests_sent(clients) - before).unwrap_or(usize::MAX),
            };
            (plan, Some(rechecked))
        }
        Source::Fresh(targets) => {
            if let Some(budget) = max_duration {
                check_read_budget(config, &targets, budget)?;
            }
            let options = PlanOptions {
                prune,
                ..PlanOptions::default()
            };
            let plan = read_and_plan(config, clients, &targets, read, options, &on_read).await;
            (plan, None)
        }
    };
    report.plan(&plan);
    ui.planned(&plan, rechecked).map_err(RunError::Ui)?;
    if !plan.has_changes() {
        // no call to make: nothing to interrupt
        let report = apply_plan(
            config,
            clients,
            plan,
            None,
            &AtomicBool::new(false),
            &|_| {},
        )
        .await;
        return finish(
            Applied {
                had_changes: false,
                report,
            },
            ui,
        );
    }
    check_gates(config, &plan, force)?;
    if !auto_approve && !reviewed {
        ui.confirm(&plan).map_err(RunError::Ui)?;
    }
    ui.writing(&plan);
    let on_apply = |e: ApplyEvent| {
        report.on_apply(&e);
        ui.event(Event::Apply(&e));
    };
    let report = apply_plan(config, clients, plan, deadline, interrupt, &on_apply).await;
    finish(
        Applied {
            had_changes: true,
            report,
        },
        ui,
    )
}

/// The run's end: its report shown.
fn finish<U: ApplyUi>(applied: Applied, ui: &mut U) -> Result<Applied, RunError<U::Error>> {
    ui.finished(&applied).map_err(RunError::Ui)?;
    Ok(applied)
}

/// The gates a plan with changes passes before anything is asked or written: one call each.
fn check_gates(config: &Config, plan: &Plan, force: bool) -> Result<(), Error> {
    check_safety(plan, force)?;
    check_protected(config, plan, force)
}

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
/// `events` hear the reads.
pub async fn recheck<C: ContactsApi>(
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
    let fresh = read_identities(config, clients, &identities, ReadOptions::default(), events).await;
    let stale = stale_contacts(config, &planned, &fresh);
    if !stale.is_empty() {
        return Err(Error::PlatformChanged {
            // applied: every contact with calls is already as the plan would make it
            applied: stale.len() == planned.len() && stale.iter().all(|s| s.applied()),
            contacts: stale,
        });
    }
    // The platform is as it was: the file's calls must be the ones the config plans from it.
    crate::plan::verify(config, saved.plan, fresh).map_err(|m| Error::PlanMismatch {
        path: path.to_path_buf(),
        contact: m.contact,
        why: m.why,
    })
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
    // (a change-scoped run's `selected` holds only the contacts it reads). Channels that share
    // a token share its limit: their reads queue in one window, as the session's limiter runs them.
    let reads = fewest_reads(config, &targets.selected);
    let worst = config
        .limit_groups()
        .into_iter()
        .filter_map(|group| {
            let reading: Vec<&String> = group
                .channels
                .iter()
                .filter(|c| reads.get(*c).is_some_and(|n| *n > 0))
                .collect();
            let total: usize = reading.iter().map(|c| reads[*c]).sum();
            (total > 0).then(|| {
                let names = reading
                    .iter()
                    .map(|c| c.as_str())
                    .collect::<Vec<_>>()
                    .join(", ");
                (
                    estimated_seconds(total, group.rate_limit),
                    names,
                    total,
                    group.rate_limit,
                )
            })
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

/// The protected-fields gate of a saved plan, before its contacts are re-read: made from this
/// config, its protected changes are the ones a plan that still holds would carry (the recheck
/// proves its calls unchanged), so without `force` it is refused with no call at all, not after
/// one read per planned contact (SPEC: "refuses (exit 1, no call made)"). A plan of another
/// config is left to [`recheck`], which refuses it as such.
fn refuse_protected_unread(config: &Config, saved: &SavedPlan, force: bool) -> Result<(), Error> {
    if saved.config_hash == config.hash {
        check_protected(config, &saved.plan, force)
    } else {
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{config, desired, key};

    /// `n` contacts on `channel`, each read once (no marker).
    fn contacts(cfg: &mut Config, channel: &str, n: usize) {
        for i in 0..n {
            let email = format!("{channel}{i}@x.example");
            cfg.contacts
                .push(desired(channel, key("email", &email), &[], None));
        }
    }

    #[test]
    fn the_read_budget_queues_channels_that_share_a_token_in_one_window() {
        // 60 reads each at 100 a minute: alone, each channel's reads go at once
        let mut cfg = config();
        cfg.channels.get_mut("viber").unwrap().rate_limit = 100;
        contacts(&mut cfg, "web", 60);
        contacts(&mut cfg, "viber", 60);
        let budget = Duration::from_secs(30);
        assert!(check_read_budget(&cfg, &Targets::all(&cfg), budget).is_ok());

        // on one host with one token, 120 reads wait for a second window
        let web = cfg.channels["web"].clone();
        let viber = cfg.channels.get_mut("viber").unwrap();
        viber.base_url = web.base_url;
        viber.token_env = web.token_env;
        match check_read_budget(&cfg, &Targets::all(&cfg), budget) {
            Err(Error::BudgetBelowReads {
                channel,
                reads,
                rate_limit,
                needed_seconds,
                ..
            }) => {
                assert_eq!(channel, "viber, web");
                assert_eq!((reads, rate_limit), (120, 100));
                assert!(needed_seconds >= 60, "{needed_seconds}");
            }
            other => panic!("{other:?}"),
        }
    }
}
