//! The apply engine: runs each contact's planned calls in order through its channel's
//! `ContactsApi`, contacts concurrently (the client's rate limiter paces them), channels in
//! parallel. Owns the rules that keep a run safe: a create whose outcome is unknown is looked up
//! by its identity before it is tried again (never a duplicate), one contact's failure never stops
//! the others, a refused token stops only its channel, and an interrupt stops new work but
//! accounts for every contact. With a deadline (a time budget), a contact starts only if the
//! channel's rate limiter foresees all its calls, and those of the contacts in flight, ended by
//! then: the rest are left untouched for the next run, and none is left half done. Reports
//! through events; never prints.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::StreamExt;
use tokio::time::Instant;

use super::{ApplyReport, ContactFailure, ContactOutcome, NotRun, Outcome};
use crate::api::{ApiError, ContactsApi, in_flight_for};
use crate::model::{Config, FieldWrite, Found, Identity};
use crate::plan::{Action, Call, ContactPlan, Plan};
use crate::read::read_one;

/// How many times a create whose outcome stayed unknown is attempted in all (each retry only
/// after a look-up found no contact).
const MAX_CREATE_ATTEMPTS: usize = 3;

/// Choices for a run.
#[derive(Debug, Clone, Copy)]
pub struct ApplyOptions {
    /// Contacts worked on at once per channel (the rate limiter still bounds calls); `None`:
    /// as many as the channel's rate limit keeps busy ([`in_flight_for`]).
    pub concurrency: Option<usize>,
    /// How long to let the platform settle before looking up a create whose outcome is
    /// unknown: a server that timed out may still be writing the contact, and a look-up too
    /// soon would miss it and let a retry make a duplicate.
    pub settle: Duration,
    /// The time budget: start no contact whose calls the channel's rate limiter foresees
    /// ending after this (`None`: no budget).
    pub deadline: Option<Instant>,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            concurrency: None,
            settle: Duration::from_secs(2),
            deadline: None,
        }
    }
}

/// What the engine reports while it works, for progress displays.
#[derive(Debug, Clone, PartialEq)]
pub enum ApplyEvent {
    /// One planned call finished (successfully or not).
    CallDone {
        /// Channel name.
        channel: String,
        /// Whether it succeeded.
        ok: bool,
        /// Its contact's position in `Plan::contacts`.
        index: usize,
        /// Its position in the contact's `calls`.
        call: usize,
        /// Why it failed (`ok == false`).
        error: Option<String>,
    },
    /// A contact finished (or will not start); `index` is its position in the plan.
    ContactDone {
        /// Position in `Plan::contacts`.
        index: usize,
        /// Its channel.
        channel: String,
        /// What happened.
        outcome: ContactOutcome,
    },
}

/// Something that says whether the run was interrupted (Ctrl-C): no new contact is started
/// once it returns true.
pub trait Interrupt: Sync {
    /// Whether to stop starting new work.
    fn interrupted(&self) -> bool;
}

impl Interrupt for AtomicBool {
    fn interrupted(&self) -> bool {
        self.load(Ordering::SeqCst)
    }
}

/// Execute `plan` through `clients` (one per channel, by name). Returns the report with one
/// outcome per plan contact; `requests_sent` is left 0 for the caller, which knows its clients.
pub async fn apply<C: ContactsApi>(
    plan: Plan,
    config: &Config,
    clients: &BTreeMap<String, C>,
    options: ApplyOptions,
    interrupt: &dyn Interrupt,
    events: &(dyn Fn(ApplyEvent) + Send + Sync),
) -> ApplyReport {
    let mut outcomes: Vec<Option<ContactOutcome>> = vec![None; plan.contacts.len()];
    let mut by_channel: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, cp) in plan.contacts.iter().enumerate() {
        match static_outcome(cp) {
            Some(o) => outcomes[i] = Some(o),
            None => by_channel.entry(cp.channel.as_str()).or_default().push(i),
        }
    }

    let runs = by_channel.into_iter().map(|(channel, indices)| {
        let client = clients.get(channel);
        let plan = &plan;
        let concurrency = options
            .concurrency
            .unwrap_or_else(|| in_flight_for(config.rate_limit(channel)));
        async move {
            let Some(client) = client else {
                // The caller builds a client for every channel it plans; this is a bug guard.
                return indices
                    .into_iter()
                    .map(|i| {
                        let cp = &plan.contacts[i];
                        let why = ContactFailure::NoClient {
                            channel: channel.to_string(),
                        };
                        (i, failed(cp, None, 0, why))
                    })
                    .collect::<Vec<_>>();
            };
            let stopped = AtomicBool::new(false);
            let budget = Budget::new(options.deadline);
            futures::stream::iter(indices)
                .map(|i| {
                    let (stopped, budget) = (&stopped, &budget);
                    async move {
                        let cp = &plan.contacts[i];
                        let outcome = if interrupt.interrupted() {
                            not_run(cp, NotRun::Interrupted, ContactFailure::Interrupted)
                        } else if stopped.load(Ordering::SeqCst) {
                            not_run(
                                cp,
                                NotRun::ChannelStopped,
                                ContactFailure::ChannelStopped {
                                    channel: channel.to_string(),
                                },
                            )
                        } else if !budget.admit(client, cp.calls.len()) {
                            not_run(cp, NotRun::TimeBudget, ContactFailure::TimeBudget)
                        } else {
                            let o =
                                run_contact(i, cp, config, client, options, budget, events).await;
                            if o.stops_channel {
                                stopped.store(true, Ordering::SeqCst);
                            }
                            o.outcome
                        };
                        events(ApplyEvent::ContactDone {
                            index: i,
                            channel: cp.channel.clone(),
                            outcome: outcome.clone(),
                        });
                        (i, outcome)
                    }
                })
                .buffer_unordered(concurrency.max(1))
                .collect::<Vec<_>>()
                .await
        }
    });
    for (i, outcome) in futures::future::join_all(runs).await.into_iter().flatten() {
        outcomes[i] = Some(outcome);
    }

    let outcomes = outcomes
        .into_iter()
        .zip(&plan.contacts)
        .map(|(o, cp)| {
            o.unwrap_or_else(|| not_run(cp, NotRun::Interrupted, ContactFailure::NotStarted))
        })
        .collect();
    ApplyReport {
        plan,
        outcomes,
        requests_sent: 0,
        interrupted: interrupt.interrupted(),
    }
}

/// The outcome of a contact that needs no call, or `None` when it has calls to make.
fn static_outcome(cp: &ContactPlan) -> Option<ContactOutcome> {
    if cp.action == Action::Error {
        return Some(ContactOutcome {
            outcome: Outcome::PlanError,
            id: cp.id.clone(),
            calls_done: 0,
            calls_planned: 0,
            // the plan's own error says why: renderers word it from the plan
            error: None,
            not_run: None,
        });
    }
    cp.calls.is_empty().then(|| ContactOutcome {
        outcome: Outcome::NoChange,
        id: cp.id.clone(),
        calls_done: 0,
        calls_planned: 0,
        error: None,
        not_run: None,
    })
}

fn not_run(cp: &ContactPlan, reason: NotRun, why: ContactFailure) -> ContactOutcome {
    ContactOutcome {
        outcome: Outcome::NotRun,
        id: cp.id.clone(),
        calls_done: 0,
        calls_planned: cp.calls.len(),
        error: Some(why),
        not_run: Some(reason),
    }
}

/// One channel's share of the time budget: the calls of its started contacts that have not
/// ended, and whether a contact has been left for the next run.
struct Budget {
    deadline: Option<Instant>,
    state: Mutex<BudgetState>,
}

#[derive(Default)]
struct BudgetState {
    /// Calls of started contacts not yet ended (made or given up).
    not_ended: usize,
    /// A contact did not fit: every later one of the channel is left too. The run stays in plan
    /// order, so the next run continues where this one stopped; a smaller contact further on
    /// could only have used a few slots of the window, and would scatter what is left.
    spent: bool,
}

impl Budget {
    fn new(deadline: Option<Instant>) -> Budget {
        Budget {
            deadline,
            state: Mutex::new(BudgetState::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BudgetState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether a contact of `calls` calls may start: the limiter foresees its calls, after
    /// those of the contacts in flight, all ended by the deadline (its calls one after another,
    /// each taking the measured call time). A client that cannot foresee (a fake) is only
    /// stopped by the deadline itself. Counts its calls in when it may start.
    fn admit<C: ContactsApi>(&self, client: &C, calls: usize) -> bool {
        let Some(deadline) = self.deadline else {
            return true;
        };
        let mut state = self.lock();
        if state.spent {
            return false;
        }
        let now = Instant::now();
        let fits = match client.forecast(state.not_ended + calls) {
            Some(f) => {
                let own = f
                    .call_time
                    .saturating_mul(u32::try_from(calls).unwrap_or(u32::MAX));
                now + f.last_send + own <= deadline
            }
            None => now < deadline,
        };
        if fits {
            state.not_ended += calls;
        } else {
            state.spent = true;
        }
        fits
    }

    /// `n` calls of a started contact ended, or will not be made.
    fn ended(&self, n: usize) {
        if self.deadline.is_some() {
            let mut state = self.lock();
            state.not_ended = state.not_ended.saturating_sub(n);
        }
    }
}

fn failed(
    cp: &ContactPlan,
    id: Option<String>,
    done: usize,
    why: ContactFailure,
) -> ContactOutcome {
    ContactOutcome {
        outcome: Outcome::Failed,
        id,
        calls_done: done,
        calls_planned: cp.calls.len(),
        error: Some(why),
        not_run: None,
    }
}

struct RunResult {
    outcome: ContactOutcome,
    stops_channel: bool,
}

/// Make one contact's calls in order; stop at its first failure.
async fn run_contact<C: ContactsApi>(
    index: usize,
    cp: &ContactPlan,
    config: &Config,
    client: &C,
    options: ApplyOptions,
    budget: &Budget,
    events: &(dyn Fn(ApplyEvent) + Send + Sync),
) -> RunResult {
    let mut id = cp.id.clone();
    for (done, call) in cp.calls.iter().enumerate() {
        let result = match (call, id.as_deref()) {
            (Call::Create { fields }, _) => create(cp, config, client, options, fields)
                .await
                .map(|new_id| id = Some(new_id)),
            (Call::Update { fields }, Some(cid)) => {
                client.update(cid, fields).await.map_err(CallError::from)
            }
            (Call::AddTags { tags }, Some(cid)) => {
                client.add_tags(cid, tags).await.map_err(CallError::from)
            }
            (Call::RemoveTags { tags }, Some(cid)) => {
                client.remove_tags(cid, tags).await.map_err(CallError::from)
            }
            (_, None) => Err(CallError::NoId),
        };
        budget.ended(1);
        // the channel stopped while its first call waited for its turn: nothing of the contact
        // was sent, so it did not run (the same as a contact that had not started)
        if done == 0 && matches!(result, Err(CallError::Api(ApiError::NotSent(_)))) {
            budget.ended(cp.calls.len() - 1);
            return RunResult {
                outcome: not_run(
                    cp,
                    NotRun::ChannelStopped,
                    ContactFailure::ChannelStopped {
                        channel: cp.channel.clone(),
                    },
                ),
                stops_channel: true,
            };
        }
        events(ApplyEvent::CallDone {
            channel: cp.channel.clone(),
            ok: result.is_ok(),
            index,
            call: done,
            error: result.as_ref().err().map(ToString::to_string),
        });
        if let Err(e) = result {
            // the calls after a failure are not made
            budget.ended(cp.calls.len() - done - 1);
            let stops = e.stops_channel();
            let why = describe_failure(cp, done, &e);
            return RunResult {
                outcome: failed(cp, id, done, why),
                stops_channel: stops,
            };
        }
    }
    RunResult {
        outcome: ContactOutcome {
            outcome: Outcome::Done,
            id,
            calls_done: cp.calls.len(),
            calls_planned: cp.calls.len(),
            error: None,
            not_run: None,
        },
        stops_channel: false,
    }
}

fn describe_failure(cp: &ContactPlan, done: usize, e: &CallError) -> ContactFailure {
    let error = e.to_string();
    if done == 0 {
        ContactFailure::Call { error }
    } else {
        ContactFailure::Partly {
            error,
            done,
            total: cp.calls.len(),
        }
    }
}

/// Why one of a contact's calls failed: the API's error, or what the engine found itself.
#[derive(Debug, thiserror::Error)]
enum CallError {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error("unexpected response: a call was planned for a contact without an ID")]
    NoId,
    #[error("unexpected response: a create was planned for a contact identified by ID")]
    CreateById,
    /// A create's outcome was unknown, and its key now matches several contacts.
    #[error(
        "create outcome unknown ({outcome}) and {identity} now matches {total} contacts: {}; resolve the duplicates by hand",
        ids.join(", ")
    )]
    CreateAmbiguous {
        outcome: ApiError,
        identity: Identity,
        ids: Vec<String>,
        total: u64,
    },
    /// A create's outcome was unknown, and the look-up to check it failed.
    #[error(
        "outcome unknown: create outcome unknown ({outcome}) and the look-up to check it failed ({why}); run apply again: it looks the contact up first"
    )]
    CreateCheckFailed { outcome: ApiError, why: String },
    #[error("outcome unknown: create failed")]
    CreateFailed,
}

impl CallError {
    /// Whether the channel's other contacts should stop too (the API's refused token,
    /// unreachable host, endless 429s).
    fn stops_channel(&self) -> bool {
        matches!(self, CallError::Api(e) if e.stops_channel())
    }
}

/// Create the contact; when the outcome is unknown, look it up by its identity before trying
/// again, so a lost response never makes a duplicate.
async fn create<C: ContactsApi>(
    cp: &ContactPlan,
    config: &Config,
    client: &C,
    options: ApplyOptions,
    fields: &[FieldWrite],
) -> Result<String, CallError> {
    if !matches!(cp.identity, Identity::Key { .. }) {
        return Err(CallError::CreateById);
    }
    let mut last = None;
    for _ in 0..MAX_CREATE_ATTEMPTS {
        match client.create(fields).await {
            Ok(id) => return Ok(id),
            Err(e) if e.outcome_unknown() => {
                // The platform may have created it (or still be creating it): let it settle,
                // then find out before anything else.
                tokio::time::sleep(options.settle).await;
                match read_one(client, config, &cp.identity).await {
                    Ok(Found::Present(live)) => return Ok(live.id),
                    Ok(Found::Absent) => last = Some(e),
                    Ok(Found::Ambiguous { ids, total }) => {
                        return Err(CallError::CreateAmbiguous {
                            outcome: e,
                            identity: cp.identity.clone(),
                            ids,
                            total,
                        });
                    }
                    Ok(Found::Failed(why)) => return Err(check_failed(e, &why)),
                    Err(why) => return Err(check_failed(e, &why)),
                }
            }
            // the channel stopped after an attempt whose outcome was unknown: that attempt was
            // sent, so the contact did run
            Err(ApiError::NotSent(stopped)) if last.is_some() => return Err((*stopped).into()),
            Err(e) => return Err(e.into()),
        }
    }
    Err(last.map_or(CallError::CreateFailed, CallError::Api))
}

/// A create whose outcome is unknown (`outcome`), and the look-up to check it failed: `why`
/// says how.
fn check_failed(outcome: ApiError, why: &dyn std::fmt::Display) -> CallError {
    CallError::CreateCheckFailed {
        outcome,
        why: why.to_string(),
    }
}
