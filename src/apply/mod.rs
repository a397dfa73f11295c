//! Apply: execute a plan's calls through a `ContactsApi`, one contact's calls in order, contacts
//! and channels concurrently, batching already decided by the planner. Emits progress events;
//! never prints.

use serde::{Deserialize, Serialize};

use crate::plan::Plan;

/// What happened to one contact of the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Every planned call succeeded.
    Done,
    /// Nothing to do (unchanged, unpruned orphan).
    NoChange,
    /// A call failed; later calls of this contact were not made.
    Failed,
    /// Not attempted: the run was interrupted, or its channel stopped (401), before it started.
    NotRun,
    /// Not attempted: the contact could not be planned (`action == error`).
    PlanError,
}

/// Why a contact was not started (`Outcome::NotRun`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotRun {
    /// The run was interrupted (Ctrl-C, SIGTERM).
    Interrupted,
    /// Its channel stopped: the token was refused, the host cannot be reached, or it kept
    /// answering 429 past the whole retry schedule.
    ChannelStopped,
    /// Its calls could not have ended before the time budget ran out: it is left for the next
    /// run, untouched.
    TimeBudget,
}

/// The result for one contact, aligned with `Plan::contacts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactOutcome {
    /// What happened.
    pub outcome: Outcome,
    /// The contact's ID after apply (the new ID after a create; `None` if it has none).
    pub id: Option<String>,
    /// Calls of this contact that succeeded.
    pub calls_done: usize,
    /// Calls planned for this contact.
    pub calls_planned: usize,
    /// Why it failed or did not run.
    pub error: Option<ContactFailure>,
    /// Why it was not started (`outcome == NotRun`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_run: Option<NotRun>,
}

/// Why a contact of an apply failed or did not run. An error: it words itself (`#[error]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum ContactFailure {
    /// Its first call failed: the call's error, in its own words.
    #[error("{error}")]
    Call {
        /// The error (the API's status and message, or the engine's finding).
        error: String,
    },
    /// A call failed after others succeeded: the contact is partly applied.
    #[error(
        "{error} (after {done} of {total} calls succeeded: the contact is partly applied; run apply again to finish it)"
    )]
    Partly {
        /// The error of the call that failed.
        error: String,
        /// Calls that succeeded.
        done: usize,
        /// Calls planned.
        total: usize,
    },
    /// The run had no client for its channel.
    #[error("no client for channel {channel}")]
    NoClient {
        /// Channel name.
        channel: String,
    },
    /// Not started: the run was interrupted.
    #[error("not started: the run was interrupted")]
    Interrupted,
    /// Not started: its channel stopped.
    #[error(
        "not started: channel {channel} stopped (its token was refused, its host cannot be reached, or it kept answering 429)"
    )]
    ChannelStopped {
        /// Channel name.
        channel: String,
    },
    /// Not started: its calls could not have finished within the time budget.
    #[error(
        "not started: its calls could not have finished within the time budget; the next apply continues with it"
    )]
    TimeBudget,
    /// Not started.
    #[error("not started")]
    NotStarted,
}

/// What an apply did: the plan it executed and the outcome of each contact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApplyReport {
    /// The plan executed.
    pub plan: Plan,
    /// One per `plan.contacts`, same order.
    pub outcomes: Vec<ContactOutcome>,
    /// HTTP requests sent during apply (retries included; reads done to recover lost creates
    /// included).
    pub requests_sent: usize,
    /// The run was interrupted (Ctrl-C) before it finished.
    pub interrupted: bool,
}

impl ApplyReport {
    /// Contacts that failed or did not run although they had calls planned.
    pub fn failures(&self) -> impl Iterator<Item = (&crate::plan::ContactPlan, &ContactOutcome)> {
        self.plan
            .contacts
            .iter()
            .zip(&self.outcomes)
            .filter(|(_, o)| matches!(o.outcome, Outcome::Failed | Outcome::NotRun))
    }

    /// Contacts left for the next run because the time budget ran out: not started, untouched.
    pub fn left_for_next_run(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|o| o.not_run == Some(NotRun::TimeBudget))
            .count()
    }

    /// Whether every planned call was made, every contact could be planned, and every
    /// channel's orphans could be looked for.
    pub fn succeeded(&self) -> bool {
        !self.interrupted
            && !self.plan.is_incomplete()
            && self
                .outcomes
                .iter()
                .all(|o| matches!(o.outcome, Outcome::Done | Outcome::NoChange))
    }
}

mod engine;
pub use engine::{ApplyEvent, ApplyOptions, Interrupt, apply};

#[cfg(test)]
mod tests;
