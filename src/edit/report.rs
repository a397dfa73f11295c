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
    /// Contacts of `left_for_apply` whose live state could not be read (a refused token, an
    /// unreachable host, a failed read): nothing is known of their drift, so adopt fails.
    pub unread: usize,
    /// Channels whose orphans could not be looked for, with the failed read's error: the live
    /// state could not be read, so adopt fails (as `plan` does).
    pub orphans_unread: Vec<(String, String)>,
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
    /// Why.
    pub reason: RefusalReason,
}

/// Why a contact's value cannot be adopted; its `#[error]` words it (the report's `reason`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefusalReason {
    /// The contact's file could not be read again.
    #[error("its file could not be read again")]
    FileUnreadable,
    /// The contact's file no longer parses.
    #[error("its file no longer parses")]
    FileUnparsable,
    /// No `sources:` entry reads the CSV file.
    #[error("the sources: entry that names this file was not found")]
    NoSourceEntry,
    /// The contact's CSV row is gone.
    #[error("its row was not found")]
    NoRow,
    /// The field's CSV column is gone.
    #[error("its column was not found")]
    NoColumn,
    /// A field the platform cleared, in a source where an empty cell means "leave alone".
    #[error(
        "{0} is empty on the platform, and an empty cell means \"leave alone\" in this source (empty: keep); set empty: clear on it, or clear the cell and apply"
    )]
    EmptyCellKeeps(String),
    /// A tag the source's `tags:` gives every row.
    #[error(
        "tag {0:?} is given to every row of this source (its tags:): it cannot be removed for one row"
    )]
    TagOfEveryRow(String),
    /// Two fields read one cell (`columns:`), and the platform does not hold one value for
    /// both: writing the cell for one would change the other.
    #[error(
        "column {column:?} is read as both {first} and {second}, and the platform does not hold one value for both: one cell cannot say both; edit it by hand"
    )]
    CellReadTwice {
        /// The column's header.
        column: String,
        /// The field whose platform value would be written.
        first: String,
        /// The other field that reads it.
        second: String,
    },
    /// The tags drifted and the source has no tags column.
    #[error("its tags drifted, and this source has no tags column (tags_column:) to write them in")]
    NoTagsColumn,
    /// The platform's value is not one the config accepts for the field.
    #[error("the platform's {field} is not a valid {ty}: {why}")]
    Invalid {
        /// The field.
        field: String,
        /// Its type's name.
        ty: &'static str,
        /// Why the value is not of that type.
        why: String,
    },
    /// The value is shared through a YAML anchor or alias.
    #[error(
        "this value is shared through a YAML anchor or alias (& / *): adopting it for this contact would change the others too; edit it by hand"
    )]
    Shared,
    /// The contact is no longer where the config said.
    #[error("it was not found in its file again")]
    ContactGone,
    /// The contact has no `fields:` mapping.
    #[error("it has no fields: mapping")]
    NoFields,
    /// The contact does not write the field.
    #[error("field {0} was not found")]
    NoField(String),
    /// The value is a block scalar.
    #[error(
        "this value is written as a block (| or >) that no literal block can hold the platform's value in exactly (leading spaces, a line of spaces only, several final line breaks, a character YAML does not print, an empty text, or a number or boolean field): edit it by hand"
    )]
    BlockScalar,
    /// The contact has no `tags:` list.
    #[error("it has no tags: list")]
    NoTags,
    /// The contact's `tags:` is not a list.
    #[error("its tags: is not a list")]
    TagsNotAList,
    /// The edit itself could not be made: the editor's own error.
    #[error("{0}")]
    Edit(String),
}

/// Why a drifted contact is left for `apply`; its `#[error]` words it (the report's `reason`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeftReason {
    /// The contact is not on the platform.
    #[error("not on the platform: apply creates it")]
    Create,
    /// The contact could not be planned: the plan's words for why.
    #[error("could not be planned: {0}")]
    NotPlanned(String),
    /// The marker field is not written yet.
    #[error("the marker is not written yet: apply writes it")]
    Marker,
    /// A `write: if_empty` field the platform has no value for.
    #[error("{0} is empty on the platform (write: if_empty): apply fills it")]
    IfEmpty(String),
    /// A `write: add` tag the platform lacks.
    #[error("tag {0:?} (write: add) is not on the platform: apply adds it")]
    AddOnlyTag(String),
}

/// Both reasons serialize as their words (the JSON report's `reason` strings).
macro_rules! serialize_as_words {
    ($($t:ty),*) => {$(
        impl Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
    )*};
}
serialize_as_words!(RefusalReason, LeftReason);

/// Something only `apply` resolves.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Left {
    /// Channel name.
    pub channel: String,
    /// The contact.
    pub identity: Identity,
    /// Where it is defined.
    pub source: Option<SourceLoc>,
    /// What apply will do.
    pub reason: LeftReason,
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
