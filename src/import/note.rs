//! What an import says besides the contacts themselves, as typed values that word themselves:
//! the YAML fragment's header comment ([`Header`]), the notes on one contact ([`Note`]: its ID,
//! values read but not written), and why a contact cannot be a sheet's row ([`Unwritable`]).
//! The writers emit their `Display`; nothing here decides what goes in.

use std::fmt;

use super::yaml::note_text;
use crate::model::Marker;

/// The comment lines a YAML fragment opens with: where it came from and how many contacts it
/// holds, where to put it, what the marker will do, and which contacts were left out.
pub(super) struct Header<'a> {
    /// The channel read.
    pub(super) channel: &'a str,
    /// Contacts written.
    pub(super) written: usize,
    /// The config's marker, when it has one.
    pub(super) marker: Option<&'a Marker>,
    /// Platform IDs left out because the config already holds them.
    pub(super) already_in_config: &'a [String],
}

impl fmt::Display for Header<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.written;
        writeln!(
            f,
            "# Imported by contactctl from channel {}: {n} contact{}.",
            self.channel,
            if n == 1 { "" } else { "s" }
        )?;
        f.write_str(
            "# A config fragment: put it in the config directory, next to the files that declare \
             the\n# channels, fields and tags; a plan right after shows these contacts unchanged.\n",
        )?;
        if let Some(m) = self.marker {
            writeln!(
                f,
                "# defaults.marker is {}={}: contacts below that lack it plan as marker-only \
                 updates\n# (apply writes the marker); that is expected.",
                note_text(&m.field),
                note_text(&m.value)
            )?;
        }
        if !self.already_in_config.is_empty() {
            let ids: Vec<String> = self
                .already_in_config
                .iter()
                .map(|id| note_text(id))
                .collect();
            writeln!(
                f,
                "# Left out, already in the config: id {}.",
                ids.join(", ")
            )?;
        }
        Ok(())
    }
}

/// One thing said about an imported contact, in its YAML comment (joined with `; `) or, after
/// its ID, in a sheet's notes.
pub(super) enum Note<'a> {
    /// Its platform ID (shown as a comment's text).
    Id(&'a str),
    /// Written by `id:`: its key value (`key`=`value`) is shared by `count` imported contacts.
    SharedKey {
        key: &'a str,
        value: &'a str,
        count: usize,
    },
    /// Declared values that do not fit their type, each `name=value (why)`.
    Invalid(&'a [String]),
    /// Values of fields the config does not declare, each `name=value`.
    Undeclared(&'a [String]),
}

impl fmt::Display for Note<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Note::Id(id) => write!(f, "id {}", note_text(id)),
            Note::SharedKey { key, value, count } => write!(
                f,
                "written by id: {key}={} is shared by {count} imported contacts",
                note_text(value)
            ),
            Note::Invalid(values) => write!(f, "not written (invalid): {}", values.join(", ")),
            Note::Undeclared(values) => write!(f, "not managed here: {}", values.join(", ")),
        }
    }
}

/// Why a contact cannot be a sheet's row (a sheet identifies a row by its key value alone).
pub(super) enum Unwritable<'a> {
    /// The config has no usable key field.
    NoKeyField,
    /// The contact has no valid value for the key field.
    NoKeyValue(&'a str),
    /// Other imported contacts share its value of the key field.
    SharedKey(&'a str),
}

impl fmt::Display for Unwritable<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unwritable::NoKeyField => {
                f.write_str("the config has no key field (defaults.key) to identify a row by")
            }
            Unwritable::NoKeyValue(key) => write!(f, "no value for the key field {key}"),
            Unwritable::SharedKey(key) => {
                write!(f, "its {key} is shared by other imported contacts")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn why_a_contact_is_no_row_is_said_with_the_key_field() {
        assert_eq!(
            Unwritable::NoKeyField.to_string(),
            "the config has no key field (defaults.key) to identify a row by"
        );
        assert_eq!(
            Unwritable::NoKeyValue("email").to_string(),
            "no value for the key field email"
        );
        assert_eq!(
            Unwritable::SharedKey("email").to_string(),
            "its email is shared by other imported contacts"
        );
    }
}
