//! What reading the platform finds, and what writing to it sends: the live state of the
//! contacts being planned (found, absent, ambiguous, failed; orphans) and a field write. Shared by
//! the reader (which fills the live state), the planner (which reads it and plans field writes)
//! and the HTTP client (which sends the writes), so none of those depends on another for them.
//! Pure data: no IO.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::LiveContact;
use super::id::UnusableId;

/// What the platform held for one desired contact when it was read.
#[derive(Debug, Clone, PartialEq)]
pub enum Found {
    /// Exactly one contact matched.
    Present(LiveContact),
    /// No contact matched.
    Absent,
    /// A key look-up matched several contacts: their IDs (possibly only the first page) and the
    /// total the API reported.
    Ambiguous {
        /// IDs seen.
        ids: Vec<String>,
        /// Total matches.
        total: u64,
    },
    /// Reading it failed.
    Failed(ReadFailure),
}

/// Why reading a desired contact failed. An error: its words are its own (`#[error]`), so the
/// apply engine's create check and the renderers (`render::problems`) say it the same way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum ReadFailure {
    /// The run has no API client for the contact's channel.
    #[error("no API client for channel {channel}")]
    NoClient {
        /// Channel name.
        channel: String,
    },
    /// The channel stopped (a refused token, an unreachable host, a server paging without end):
    /// the error that stopped it, in its own words.
    #[error("{reason}")]
    ChannelStopped {
        /// The API's or the pager's error, as it says itself.
        reason: String,
    },
    /// The read call failed for this contact only: the API's error, in its own words.
    #[error("reading it failed: {reason}")]
    Call {
        /// The API's error, as it says itself.
        reason: String,
    },
    /// The platform holds the contact under an ID no call can address.
    #[error(
        "the platform holds it under an ID no call can use: {}",
        UnusableId(id)
    )]
    UnusableId {
        /// The ID.
        id: String,
    },
    /// The key value normalises to nothing: there is nothing to look up.
    #[error("the key field {field} has no value to look up")]
    NoKeyValue {
        /// The key field.
        field: String,
    },
    /// A loosely matching server returned more contacts for a key than the reader checks.
    #[error(
        "the look-up of {field}={query} returned {returned} contacts, too many to check which \
         hold exactly that value"
    )]
    TooManyToCheck {
        /// The key field.
        field: String,
        /// The value looked up.
        query: String,
        /// What the server said it matched.
        returned: u64,
    },
}

/// The live state of the contacts being planned.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LiveState {
    /// For each planned desired contact: its index in `Config::contacts` and what was found.
    /// Contacts of the config not listed here are not planned (narrowed by `--channel`/`--contact`).
    pub contacts: Vec<(usize, Found)>,
    /// Contacts carrying the marker that no desired contact matched, per channel name.
    pub orphans: Vec<(String, LiveContact)>,
    /// Calls the reader made, per channel name: pages, look-ups and gets (a call retried by the
    /// client counts once). What apply spends again on its own plan before it writes.
    pub reads: BTreeMap<String, usize>,
    /// Channels whose orphans were asked for but could not all be looked for (paging the marker
    /// failed, or the read of a dropped contact): the read's error, in its own words, per
    /// channel name.
    pub orphans_unread: BTreeMap<String, String>,
}

/// One `{"name": N, "value": V}` of a create or update body.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FieldWrite {
    /// Field name.
    pub name: String,
    /// Value as a string; `""` clears the field.
    pub value: String,
}
