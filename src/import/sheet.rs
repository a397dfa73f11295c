//! A CSV sheet of imported contacts, for a `sources:` entry (SPEC "Contacts from CSV files"):
//! a header of the declared fields — the key field first, then the others in name order, never
//! the marker — and `Tags` (the managed tags, separated by `;`), then a row per contact. A
//! sheet identifies a row by its key value alone, so a contact without a usable, unique key
//! value cannot be a row: it is reported, not written. Read back by a source with
//! `tags_column: Tags`, it plans no change.

use super::note::{Note, Unwritable};
use super::{Imported, pick};
use crate::model::{Config, LiveContact};

/// The header of the tags column.
pub const TAGS_COLUMN: &str = "Tags";

/// Build the sheet for `contacts` (read from `channel`, a channel of `config`), in the order
/// given; a contact listed twice (same ID) is written once.
pub fn render_csv(config: &Config, channel: &str, contacts: &[LiveContact]) -> Imported {
    let picked = pick(config, channel, contacts);
    let marker = config.marker.as_ref().map(|m| m.field.as_str());
    let mut columns: Vec<&str> = picked.key.into_iter().collect();
    columns.extend(
        config
            .fields
            .keys()
            .map(String::as_str)
            .filter(|f| Some(*f) != picked.key && Some(*f) != marker),
    );
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    let mut header: Vec<&str> = columns.clone();
    header.push(TAGS_COLUMN);
    // Writing to memory cannot fail; a failure would only lose rows, and the count says so.
    let _ = writer.write_record(&header);

    let mut written = 0;
    let mut not_written = Vec::new();
    let mut notes = Vec::new();
    for e in &picked.entries {
        let id = &e.live.id;
        if !e.unique_key(&picked) {
            let why = match (picked.key, &e.key_norm) {
                (None, _) => Unwritable::NoKeyField,
                (Some(k), None) => Unwritable::NoKeyValue(k),
                (Some(k), Some(_)) => Unwritable::SharedKey(k),
            };
            not_written.push(format!("{id}: {why}"));
            continue;
        }
        // one note per value, each after the contact's ID
        notes.extend(
            e.invalid
                .iter()
                .map(|n| format!("{id}: {}", Note::Invalid(std::slice::from_ref(n)))),
        );
        notes.extend(
            e.undeclared
                .iter()
                .map(|n| format!("{id}: {}", Note::Undeclared(std::slice::from_ref(n)))),
        );
        let mut row: Vec<&str> = columns
            .iter()
            .map(|c| {
                e.fields
                    .iter()
                    .find(|(name, _, _)| name == c)
                    .map_or("", |(_, _, v)| v.as_str())
            })
            .collect();
        let tags = e.tags.join("; ");
        row.push(&tags);
        if writer.write_record(&row).is_ok() {
            written += 1;
        }
    }
    let text = writer
        .into_inner()
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default();
    Imported {
        text,
        written,
        by_id: 0,
        already_in_config: picked.already_in_config,
        not_written,
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{self, live};

    #[test]
    fn a_sheet_has_the_key_first_no_marker_and_tags_last() {
        let config = testing::with_marker(testing::config());
        let contacts = [
            live(
                "1",
                &[
                    ("email", "a@x.com"),
                    ("vip", "TRUE"),
                    ("managed_by", "git"),
                    ("locale", "en"),
                ],
                &["VIP", "Blog Updates", "Other"],
            ),
            live("2", &[("firstName", "No key")], &[]),
        ];
        let out = render_csv(&config, "web", &contacts);
        assert_eq!(
            out.text,
            "email,customerid,firstName,lastName,note,phone,vip,Tags\n\
             a@x.com,,,,,,TRUE,Blog Updates; VIP\n"
        );
        assert_eq!(out.written, 1);
        assert_eq!(out.not_written, ["2: no value for the key field email"]);
        assert_eq!(out.notes, ["1: not managed here: locale=en"]);
    }
}
