//! The plan: what `apply` will do, decided from the desired config and the live state alone.
//! Pure: no async, no IO, no clock — `plan(config, live, options)` is a function, tested
//! exhaustively without a server. The plan carries the exact API calls apply makes, batched to the
//! API's limits, so its call count is exact.

mod estimate;
mod planner;
mod protect;
pub mod scope;
mod verify;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::{FieldWrite, Identity, LiveContact, ReadFailure, SourceLoc};
pub use estimate::estimated_seconds;
pub use planner::{managed_part, plan};
pub use protect::{ProtectedChange, protected_changes};
pub use verify::{Mismatch, MismatchReason, verify};

/// Choices that change the plan, and what the run that reads for it knows about itself.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PlanOptions {
    /// Orphans become changes: their managed tags and the marker are removed.
    pub prune: bool,
    /// A change-scoped run: BASE, and the contacts it left unread.
    pub scope: Option<RunScope>,
    /// Warnings about the run itself, carried into the plan before the safety warnings (a BASE
    /// that could not be used, say).
    pub warnings: Vec<Warning>,
}

/// What a change-scoped run (`--base`, `--changed-since`) was compared with, and left unread.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RunScope {
    /// BASE as the user named it: the git ref of `--changed-since`, the path of `--base`.
    pub base: String,
    /// Per channel, contacts of the config not read because their effective desired state is
    /// unchanged since BASE. The run trusts that BASE was applied: they are presumed to exist
    /// on the platform as configured.
    pub skipped: BTreeMap<String, usize>,
}

/// What happens to one contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Created (it was not found).
    Create,
    /// Fields written and/or tags changed.
    Update,
    /// Already matches the config.
    Unchanged,
    /// Carries the marker but is not in the config (a change only with `--prune`).
    Orphan,
    /// Cannot be planned (ambiguous key, read failure, ...).
    Error,
}

/// One field that changes: values as the API holds them (`None` when empty).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    /// Field name.
    pub name: String,
    /// Current value on the platform.
    pub before: Option<String>,
    /// Value after apply (`None`: cleared).
    pub after: Option<String>,
    /// A change of a non-empty value of a field in `safety.protected_fields` (or its clear) on
    /// an existing contact: apply refuses it without `--force`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub protected: bool,
}

/// A platform value that differs from the repo's and stays, because the field's write mode
/// (`create`, `if_empty`) says the platform has the last word: no call, not a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kept {
    /// Field name.
    pub name: String,
    /// The value on the platform, which stays (`None` when empty).
    pub platform: Option<String>,
    /// The repo's value, not written (`None`: `null`).
    pub repo: Option<String>,
}

/// One API call apply will make for a contact. Calls after a `Create` address the ID it returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "call", rename_all = "snake_case")]
pub enum Call {
    /// `POST /v1/contact` with at most 30 fields (the identity key first).
    Create { fields: Vec<FieldWrite> },
    /// `PUT /v1/contact/{id}` with at most 30 fields.
    Update { fields: Vec<FieldWrite> },
    /// `POST /v1/contact/{id}/tags` with at most 10 tags.
    AddTags { tags: Vec<String> },
    /// `DELETE /v1/contact/{id}/tags` with at most 10 tags.
    RemoveTags { tags: Vec<String> },
}

/// The plan for one contact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContactPlan {
    /// Channel name.
    pub channel: String,
    /// How the contact is identified (orphans: their key value if they have one, else their ID).
    pub identity: Identity,
    /// Platform ID when the contact exists.
    pub id: Option<String>,
    /// What happens.
    pub action: Action,
    /// Fields that change (the marker included when written).
    pub fields: Vec<FieldChange>,
    /// Platform values that differ from the repo's and stay (write modes): no call.
    #[serde(default)]
    pub kept: Vec<Kept>,
    /// Managed tags added.
    pub tags_added: Vec<String>,
    /// Managed tags removed.
    pub tags_removed: Vec<String>,
    /// Why the contact cannot be planned (`action == Error`).
    pub error: Option<ContactError>,
    /// The calls apply will make, in order.
    pub calls: Vec<Call>,
    /// The only change is writing the marker (does not count toward the safety limit).
    pub marker_only: bool,
    /// Where the contact is declared (`None` for orphans).
    pub source: Option<SourceLoc>,
    /// The managed part of the live contact it was planned against (declared fields, the marker,
    /// managed tags): a saved plan is stale when this differs on re-read.
    pub live: Option<LiveContact>,
}

/// Why a contact cannot be planned (`action == Error`); `render::problems` words it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactError {
    /// Its key look-up matched several contacts.
    Ambiguous {
        /// IDs seen (possibly only the first page's).
        ids: Vec<String>,
        /// The total the API reported.
        total: u64,
    },
    /// Reading it failed.
    Read(ReadFailure),
    /// It is identified by an ID its channel does not hold: contacts are created by key, not by
    /// ID.
    NoSuchId {
        /// The ID.
        id: String,
    },
}

/// A warning a plan carries; `render::problems` words it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Warning {
    /// BASE is not a valid config, so the run read every contact (a full run).
    InvalidBase {
        /// The flag that named BASE (`--base`, `--changed-since`).
        flag: String,
        /// BASE as the user named it.
        base: String,
        /// How many problems the config there has.
        problems: usize,
        /// The first of them, as the config's diagnostics say it (`file:line:col: message`).
        first: Option<String>,
    },
    /// The safety check: more existing contacts of a channel would change than
    /// `safety.max_change_percent` allows. Apply refuses without `--force`.
    TooManyChanges {
        /// Channel name.
        channel: String,
        /// Existing contacts that would change.
        changing: usize,
        /// Existing contacts (those a scoped run skipped included).
        existing: usize,
        /// `safety.max_change_percent`.
        max_percent: f64,
    },
    /// The safety check: a `--prune` run prunes contacts on a channel where no contact of the
    /// config was found (a config that lost its contacts file). Apply refuses without `--force`.
    PrunesLostConfig {
        /// Channel name.
        channel: String,
        /// Contacts it would prune.
        pruned: usize,
    },
    /// The orphans of a channel are unknown: paging its marker failed (its contacts were read
    /// one by one instead, or not at all when the channel stopped), or, in a change-scoped run,
    /// reading a contact the config dropped failed. The plan is incomplete.
    OrphansUnread {
        /// Channel name.
        channel: String,
        /// The failed read's error, in its own words.
        reason: String,
    },
    /// Protected fields (`safety.protected_fields`) would change on existing contacts, as the
    /// planner marked them. Apply refuses without `--force`.
    ProtectedFields {
        /// The first contacts (at most 10), in plan order.
        named: Vec<ProtectedContact>,
        /// Contacts in all.
        total: usize,
    },
}

impl Warning {
    /// Whether it is one of the safety check's (computed again from a saved plan), not one of
    /// the run's own.
    pub fn is_safety(&self) -> bool {
        match self {
            Warning::InvalidBase { .. } | Warning::OrphansUnread { .. } => false,
            Warning::TooManyChanges { .. }
            | Warning::PrunesLostConfig { .. }
            | Warning::ProtectedFields { .. } => true,
        }
    }
}

/// One contact of a [`Warning::ProtectedFields`]: the protected fields that would change on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProtectedContact {
    /// Channel name.
    pub channel: String,
    /// The contact as the plan names it.
    pub identity: Identity,
    /// The protected fields, in the plan's order.
    pub fields: Vec<String>,
}

/// Per-channel figures: call count and duration at its rate limit, and the safety check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelSummary {
    /// Channel name.
    pub channel: String,
    /// Calls apply will make on it (writes).
    pub api_calls: usize,
    /// Reads the plan made on it, which apply makes again before writing.
    #[serde(default)]
    pub reads: usize,
    /// Contacts of the config on it left unread by a change-scoped run.
    #[serde(default)]
    pub skipped: usize,
    /// Its rate limit, calls per minute.
    pub rate_limit: u32,
    /// Seconds apply's reads and writes take at that limit ([`estimated_seconds`]: a sliding
    /// window lets `rate_limit` go at once, the next batch when the first leave the 60 s window).
    pub estimated_seconds: u64,
    /// Existing managed contacts: contacts of the config found on the platform, plus the
    /// orphans a `--prune` run prunes.
    pub existing: usize,
    /// Of `existing`, the orphans a `--prune` run prunes.
    #[serde(default)]
    pub pruned: usize,
    /// Of those, how many change (marker-only updates excluded; pruned orphans included).
    pub changing: usize,
    /// The safety check refuses this channel (without `--force`): `changing` is more than
    /// `safety.max_change_percent` of `existing + skipped` (a scoped run's skipped contacts are
    /// presumed to exist unchanged, as BASE was applied), or the run prunes contacts on a
    /// channel where no contact of the config was found (a config that lost its contacts file).
    pub unsafe_change: bool,
}

/// Totals, exactly SPEC.md's `summary` object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Summary {
    pub create: usize,
    pub update: usize,
    pub unchanged: usize,
    pub orphans: usize,
    pub tags_added: usize,
    pub tags_removed: usize,
    pub errors: usize,
    /// Writes apply will make.
    pub api_calls: usize,
    /// Reads this plan made (apply makes them again, on its own plan, before writing).
    #[serde(default)]
    pub reads: usize,
    /// Contacts of the config left unread by a change-scoped run (0 in a full run).
    #[serde(default)]
    pub skipped: usize,
    /// Seconds apply takes for its reads and writes at the channels' limits, channels in
    /// parallel (channels on one host with one token together, at their lowest limit: the limit
    /// is the token's): the longest.
    #[serde(default)]
    pub estimated_seconds: u64,
    /// Platform values kept by write modes (each a [`Kept`]): shown, no call.
    #[serde(default)]
    pub kept: usize,
}

/// The whole plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// One entry per planned contact, in config order, orphans last (by channel, then ID).
    pub contacts: Vec<ContactPlan>,
    /// Totals.
    pub summary: Summary,
    /// Per channel, in name order (only channels with planned contacts).
    pub channels: Vec<ChannelSummary>,
    /// Warnings: the run's own (a BASE that could not be used), then one per channel the safety
    /// check refuses, then the protected fields the plan changes.
    pub warnings: Vec<Warning>,
    /// Whether orphans were planned for removal.
    pub prune: bool,
    /// The change-scoped run this plan comes from (`None`: a full run).
    #[serde(default)]
    pub scope: Option<RunScope>,
}

impl Plan {
    /// Whether apply would make any call (drift, for `--detailed-exitcode`).
    pub fn has_changes(&self) -> bool {
        self.summary.api_calls > 0
    }

    /// Whether some channel's orphans could not be looked for: part of the live state could
    /// not be read (an API or network failure), so `plan`, `apply` and `adopt` exit 1 (SPEC's
    /// exit codes).
    pub fn is_incomplete(&self) -> bool {
        self.orphans_unread().next().is_some()
    }

    /// The channels whose orphans could not be looked for, each with the failed read's error
    /// ([`Warning::OrphansUnread`]), in the plan's order.
    pub fn orphans_unread(&self) -> impl Iterator<Item = (&str, &str)> {
        self.warnings.iter().filter_map(|w| match w {
            Warning::OrphansUnread { channel, reason } => Some((channel.as_str(), reason.as_str())),
            _ => None,
        })
    }

    /// Whether any channel fails the safety check.
    pub fn is_unsafe(&self) -> bool {
        self.channels.iter().any(|c| c.unsafe_change)
    }
}
