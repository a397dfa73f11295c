//! What reading the platform finds, and what writing to it sends: the live state of the
//! contacts being planned (found, absent, ambiguous, failed; orphans) and a field write. Shared by
//! the reader (which fills the live state), the planner (which reads it and plans field writes)
//! and the HTTP client (which sends the writes), so none of those depends on another for them.
//! Pure data: no IO.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::LiveContact;

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
    /// Reading it failed; the message says why.
    Failed(String),
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
}

/// One `{"name": N, "value": V}` of a create or update body.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FieldWrite {
    /// Field name.
    pub name: String,
    /// Value as a string; `""` clears the field.
    pub value: String,
}
