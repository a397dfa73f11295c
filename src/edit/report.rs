//! What an `adopt` run did, as data for the renderers: per contact its edits (file, line, column,
//! old text, new text) or why it was refused, what was left for `apply`, the platform contacts
//! the repo does not name, and each changed file before and after. Built by `ops::adopt`; no
//! logic beyond counting.

use std::sync::Arc;

use serde::Serialize;

use crate::model::{Identity, SourceLoc};

/// The outcome of one `adopt` run.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Adoption {
    /// Contacts that drifted and were adopted or refused, in config order.
    pub contacts: Vec<ContactAdoption>,
    /// What only `apply` can resolve (no failure).
    pub left_for_apply: Vec<Left>,
    /// Platform contacts carrying the marker that the repo does not name (orphans).
    pub not_in_repo: Vec<NotInRepo>,
    /// Each file changed, in the order first edited.
    pub files: Vec<FileChange>,
    /// Nothing was written (`--dry-run`).
    pub dry_run: bool,
}

/// One drifted contact.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContactAdoption {
    /// Channel name.
    pub channel: String,
    /// How the contact is identified, as in plans.
    pub identity: Identity,
    /// Where the contact is defined.
    pub source: SourceLoc,
    /// Its edits (empty when refused).
    pub edits: Vec<EditNote>,
    /// Why nothing was changed for it.
    pub refusal: Option<Refusal>,
}

/// What an edit adopts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Adopted {
    /// A field's value (or its clearing).
    Field(String),
    /// A tag the platform has, added to the contact's list.
    TagAdded(String),
    /// A tag the platform lacks, removed from the contact's list.
    TagRemoved(String),
}

/// One edit of one file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EditNote {
    /// The file as the config names it.
    pub file: Arc<str>,
    /// 1-based line of the edited text (a CSV row's first line).
    pub line: usize,
    /// 1-based column (in a CSV file, the cell's index in its row).
    pub column: usize,
    /// What it adopts.
    pub adopts: Adopted,
    /// The text replaced (empty for an insertion).
    pub old: String,
    /// The text written (empty for a removal).
    pub new: String,
}

/// Why a contact was not adopted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Refusal {
    /// Where the value that cannot be edited for this contact alone is.
    pub at: SourceLoc,
    /// Why, in words.
    pub reason: String,
}

/// Something only `apply` resolves.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Left {
    /// Channel name.
    pub channel: String,
    /// The contact.
    pub identity: Identity,
    /// Where it is defined.
    pub source: Option<SourceLoc>,
    /// What apply will do, in words.
    pub reason: String,
}

/// A platform contact the repo does not name.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NotInRepo {
    /// Channel name.
    pub channel: String,
    /// Its platform ID.
    pub id: String,
    /// Its identity as plans show it.
    pub identity: Identity,
}

/// A file adopt changes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileChange {
    /// The file as the config names it.
    pub file: Arc<str>,
    /// Its text as read.
    #[serde(skip)]
    pub before: String,
    /// Its text as written (or, with `--dry-run`, as it would be).
    #[serde(skip)]
    pub after: String,
}

impl Adoption {
    /// Contacts adopted (with at least one edit).
    pub fn adopted(&self) -> usize {
        self.contacts.iter().filter(|c| c.refusal.is_none()).count()
    }

    /// Contacts refused.
    pub fn refused(&self) -> usize {
        self.contacts.iter().filter(|c| c.refusal.is_some()).count()
    }

    /// Field edits and tag edits of the adopted contacts.
    pub fn counts(&self) -> (usize, usize) {
        let edits = self.contacts.iter().flat_map(|c| &c.edits);
        let fields = edits
            .clone()
            .filter(|e| matches!(e.adopts, Adopted::Field(_)))
            .count();
        (fields, edits.count() - fields)
    }
}
