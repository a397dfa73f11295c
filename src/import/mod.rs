//! `import` as a library: live contacts of one channel → the text of a config fragment that a
//! plan right after shows unchanged: YAML (`contacts:` only, [`render`]) or a CSV sheet for a
//! `sources:` entry ([`render_csv`], in `sheet`). Owns which contacts go in and how each is
//! written; pure: no IO, no HTTP, no clock. Never reads or changes the config files (the caller
//! decides where the text goes).
//!
//! What goes in, per contact (SPEC "import"):
//! - `channel:` unless it is the config's default channel;
//! - the identity `plan` would use: nothing extra when the default key field has a (valid,
//!   written) value, else `id:`. A key value that several imported contacts share is written by
//!   `id:` instead, since the config refuses two contacts with one identity;
//! - `fields:` with the declared fields that have a value, typed (numbers and booleans as YAML
//!   numbers and booleans when that reads back to the same value, text quoted when needed);
//! - `tags:` with its managed tags, always (`[]` when none: the plan then keeps it that way);
//! - a comment above it with its platform ID, its undeclared fields and values, and any declared
//!   value that does not fit its type (left unwritten, so the plan leaves it alone): nothing is
//!   dropped silently.
//!
//! Contacts the config already holds (same ID, or same key value on the channel) are left out
//! and named in the header, so the fragment can be dropped into the config directory as is.
//! The marker field is never written: `apply` writes it.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;

mod note;
mod sheet;
mod yaml;

pub use sheet::{TAGS_COLUMN, render_csv};

use note::{Header, Note};
use yaml::note_text;
pub use yaml::scalar;

use crate::model::{
    Config, FieldType, Identity, LiveContact, check_value, normalize, yaml_double_quoted,
};

/// The fragment and what went into it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// The text: YAML (header comments, then `contacts:`) or a CSV sheet.
    pub text: String,
    /// Contacts written.
    pub written: usize,
    /// Of those, written by `id:` (no usable, unique key value).
    pub by_id: usize,
    /// Platform IDs left out because the config already holds them.
    pub already_in_config: Vec<String>,
    /// Contacts that could not be written in this format, each `ID: why` (a sheet's row needs a
    /// unique key value).
    pub not_written: Vec<String>,
    /// Values read but not written, each `ID: name=value (why)` or `ID: not managed here:
    /// name=value`: YAML writes them as comments, a sheet cannot.
    pub notes: Vec<String>,
}

/// The contacts to write, sorted out: what the config holds already is left out.
struct Picked<'a> {
    entries: Vec<Entry<'a>>,
    /// Platform IDs left out because the config already holds them.
    already_in_config: Vec<String>,
    /// The key field contacts are identified by, when the config has a usable one.
    key: Option<&'a str>,
    /// How many picked contacts share each normalised key value.
    key_count: HashMap<String, usize>,
}

impl Entry<'_> {
    /// Whether the contact can be identified by its key value: it has one, and no other picked
    /// contact shares it (the config refuses two contacts with one identity).
    fn unique_key(&self, picked: &Picked<'_>) -> bool {
        self.key_norm
            .as_ref()
            .is_some_and(|k| picked.key_count.get(k).copied().unwrap_or(0) <= 1)
    }
}

/// Sort out `contacts` (read from `channel`): each once, in the order given, those the config
/// holds already (same ID, or same key value on the channel) left out.
fn pick<'a>(config: &'a Config, channel: &str, contacts: &'a [LiveContact]) -> Picked<'a> {
    let marker_field = config.marker.as_ref().map(|m| m.field.as_str());
    let key = config
        .default_key
        .as_deref()
        .filter(|k| config.fields.contains_key(*k) && Some(*k) != marker_field);

    // What the config already holds on this channel.
    let mut config_ids: HashSet<&str> = HashSet::new();
    let mut config_keys: HashMap<&str, HashSet<String>> = HashMap::new();
    for c in config.contacts.iter().filter(|c| c.channel == channel) {
        match &c.identity {
            Identity::Id(id) => {
                config_ids.insert(id);
            }
            Identity::Key { field, value } => {
                if let Some(v) = normalize(config.field_type(field), Some(value)) {
                    config_keys.entry(field).or_default().insert(v);
                }
            }
        }
    }
    let in_config = |c: &LiveContact| {
        config_ids.contains(c.id.as_str())
            || config_keys.iter().any(|(field, values)| {
                normalize(config.field_type(field), c.value(field))
                    .is_some_and(|v| values.contains(&v))
            })
    };

    let mut seen: HashSet<&str> = HashSet::new();
    let mut already_in_config = Vec::new();
    let mut picked: Vec<Entry<'_>> = Vec::new();
    for c in contacts {
        if !seen.insert(c.id.as_str()) {
            continue;
        }
        if in_config(c) {
            already_in_config.push(c.id.clone());
            continue;
        }
        picked.push(entry(config, channel, c, marker_field, key));
    }

    // A key value shared by several imported contacts cannot identify any of them.
    let mut key_count: HashMap<String, usize> = HashMap::new();
    for e in &picked {
        if let Some(k) = &e.key_norm {
            *key_count.entry(k.clone()).or_default() += 1;
        }
    }
    Picked {
        entries: picked,
        already_in_config,
        key,
        key_count,
    }
}

/// Build the `contacts:` fragment for `contacts` (read from `channel`, a channel of `config`), in
/// the order given; a contact listed twice (same ID) is written once.
pub fn render(config: &Config, channel: &str, contacts: &[LiveContact]) -> Imported {
    let picked = pick(config, channel, contacts);
    let key = picked.key;
    let already_in_config = &picked.already_in_config;
    let n = picked.entries.len();
    let header = Header {
        channel,
        written: n,
        marker: config.marker.as_ref(),
        already_in_config,
    };
    let mut yaml = header.to_string();
    if picked.entries.is_empty() {
        yaml.push_str("contacts: []\n");
    } else {
        yaml.push_str("contacts:\n");
    }

    let mut by_id = 0;
    for e in &picked.entries {
        let shared = e
            .key_norm
            .as_ref()
            .and_then(|k| picked.key_count.get(k))
            .copied()
            .filter(|&n| n > 1);
        let use_key = e.unique_key(&picked);
        if !use_key {
            by_id += 1;
        }
        let mut notes = vec![Note::Id(&e.live.id)];
        if let (Some(count), Some(key)) = (shared, key) {
            notes.push(Note::SharedKey {
                key,
                value: e.live.value(key).unwrap_or_default(),
                count,
            });
        }
        if !e.invalid.is_empty() {
            notes.push(Note::Invalid(&e.invalid));
        }
        if !e.undeclared.is_empty() {
            notes.push(Note::Undeclared(&e.undeclared));
        }
        let notes: Vec<String> = notes.iter().map(Note::to_string).collect();
        let _ = writeln!(yaml, "  # {}", notes.join("; "));

        let mut lines: Vec<String> = Vec::new();
        if let Some(ch) = &e.channel {
            lines.push(format!("channel: {}", scalar(ch)));
        }
        if !use_key {
            lines.push(format!("id: {}", yaml_double_quoted(&e.live.id)));
        }
        if !e.fields.is_empty() {
            lines.push("fields:".to_string());
            for (name, ty, value) in &e.fields {
                lines.push(format!("  {}: {}", scalar(name), typed(*ty, value)));
            }
        }
        let tags: Vec<String> = e.tags.iter().map(|t| scalar(t)).collect();
        lines.push(format!("tags: [{}]", tags.join(", ")));
        for (i, line) in lines.iter().enumerate() {
            let lead = if i == 0 { "  - " } else { "    " };
            let _ = writeln!(yaml, "{lead}{line}");
        }
    }
    Imported {
        text: yaml,
        written: n,
        by_id,
        already_in_config: picked.already_in_config.clone(),
        not_written: Vec::new(),
        notes: Vec::new(),
    }
}

/// One contact, sorted out.
struct Entry<'a> {
    live: &'a LiveContact,
    /// `Some` when not the default channel.
    channel: Option<String>,
    /// The normalised value of the key field, when it is written (so usable as identity).
    key_norm: Option<String>,
    /// Declared fields with a value that fits their type: (name, type, value as the API holds
    /// it).
    fields: Vec<(String, FieldType, String)>,
    /// Managed tags, in the config's order.
    tags: Vec<&'a str>,
    /// `name=value (why)` of declared values that do not fit their type.
    invalid: Vec<String>,
    /// `name=value` of fields the config does not declare.
    undeclared: Vec<String>,
}

fn entry<'a>(
    config: &'a Config,
    channel: &str,
    live: &'a LiveContact,
    marker_field: Option<&str>,
    key: Option<&str>,
) -> Entry<'a> {
    let mut fields = Vec::new();
    let mut invalid = Vec::new();
    let mut undeclared = Vec::new();
    let mut key_norm = None;
    for (name, value) in &live.fields {
        let Some(value) = value.as_deref().filter(|v| !v.is_empty()) else {
            continue;
        };
        if Some(name.as_str()) == marker_field {
            continue;
        }
        let Some(&ty) = config.fields.get(name.as_str()) else {
            undeclared.push(format!("{}={}", note_text(name), note_text(value)));
            continue;
        };
        match check_value(ty, value) {
            Ok(()) => {
                fields.push((name.to_string(), ty, value.to_string()));
                if Some(name.as_str()) == key {
                    key_norm = normalize(ty, Some(value));
                }
            }
            Err(why) => invalid.push(format!("{}={} ({why})", note_text(name), note_text(value))),
        }
    }
    let have: BTreeSet<&str> = live.tags.iter().map(String::as_str).collect();
    let tags = config
        .tags
        .iter()
        .map(String::as_str)
        .filter(|t| have.contains(t))
        .collect();
    Entry {
        live,
        channel: (config.default_channel.as_deref() != Some(channel)).then(|| channel.to_string()),
        key_norm,
        fields,
        tags,
        invalid,
        undeclared,
    }
}

/// A valid value of type `ty` as a YAML scalar that the config loader reads back as the same
/// value: a plain number when the text is the number's canonical form (the loader keeps a
/// number's text as written), `true`/`false` for booleans, text otherwise.
fn typed(ty: FieldType, value: &str) -> String {
    match ty {
        FieldType::Number if crate::model::normalize_number(value).as_deref() == Some(value) => {
            value.to_string()
        }
        FieldType::Boolean if value.eq_ignore_ascii_case("true") => "true".to_string(),
        FieldType::Boolean if value.eq_ignore_ascii_case("false") => "false".to_string(),
        _ => scalar(value),
    }
}

#[cfg(test)]
mod tests {

    use proptest::prelude::*;

    use super::*;
    use crate::model::{Marker, SourceLoc};
    use crate::testing::{self, live};

    /// The shared test config, with a managed tag whose name needs quoting.
    fn config() -> Config {
        let mut config = testing::config();
        config.tags.insert("a, b".to_string());
        config
    }

    fn load_with(header: &str, fragment: &str) -> Result<Config, String> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("00-base.yaml"), header).unwrap();
        std::fs::write(dir.path().join("50-imported.yaml"), fragment).unwrap();
        crate::config::load(dir.path()).map_err(|d| {
            d.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        })
    }

    const HEADER: &str = "version: 1\nchannels:\n  web: { base_url: https://x.example/api, token_env: T }\n  viber: { base_url: https://x.example/api, token_env: V, viber: true, boolean_format: lower }\nfields:\n  email: { type: email }\n  firstName: { type: text }\n  phone: { type: phone }\n  vip: { type: boolean }\n  customerid: { type: number }\n  note: { type: text }\ntags: [Blog Updates, VIP, \"a, b\"]\ndefaults: { channel: web, key: email }\n";

    #[test]
    fn a_contact_is_written_by_key_with_typed_fields_managed_tags_and_a_note() {
        let c = live(
            "1776025372480910",
            &[
                ("email", "Juan@Example.com"),
                ("firstName", "Juan"),
                ("vip", "TRUE"),
                ("customerid", "1042"),
                ("phone", "+34 600 111 222"),
                ("locale", "en_GB"),
                ("timezone", "5"),
            ],
            &["VIP", "Unmanaged", "Blog Updates"],
        );
        let out = render(&config(), "web", &[c]);
        insta::assert_snapshot!(out.text, @r#"
        # Imported by contactctl from channel web: 1 contact.
        # A config fragment: put it in the config directory, next to the files that declare the
        # channels, fields and tags; a plan right after shows these contacts unchanged.
        contacts:
          # id 1776025372480910; not managed here: locale=en_GB, timezone=5
          - fields:
              customerid: 1042
              email: Juan@Example.com
              firstName: Juan
              phone: "+34 600 111 222"
              vip: true
            tags: [Blog Updates, VIP]
        "#);
        assert_eq!((out.written, out.by_id), (1, 0));
    }

    #[test]
    fn without_a_key_value_a_contact_is_written_by_id_on_its_channel() {
        let c = live(
            "tMNGhftyUPrB3r1lD+bT4g==",
            &[("firstName", "Ana"), ("vip", "false")],
            &[],
        );
        let out = render(&config(), "viber", &[c]);
        insta::assert_snapshot!(out.text, @r#"
        # Imported by contactctl from channel viber: 1 contact.
        # A config fragment: put it in the config directory, next to the files that declare the
        # channels, fields and tags; a plan right after shows these contacts unchanged.
        contacts:
          # id tMNGhftyUPrB3r1lD+bT4g==
          - channel: viber
            id: "tMNGhftyUPrB3r1lD+bT4g=="
            fields:
              firstName: Ana
              vip: false
            tags: []
        "#);
        assert_eq!(out.by_id, 1);
    }

    #[test]
    fn a_value_that_does_not_fit_its_type_is_noted_not_written() {
        let c = live(
            "7",
            &[("email", "not-an-email"), ("customerid", "n/a")],
            &[],
        );
        let out = render(&config(), "web", &[c]);
        assert!(out.text.contains(
            "# id 7; not written (invalid): customerid=n/a (\"n/a\" is not a number), email=not-an-email (\"not-an-email\" is not an e-mail address)"
        ), "{}", out.text);
        assert!(
            out.text.contains("  - id: \"7\"\n    tags: []\n"),
            "{}",
            out.text
        );
        load_with(HEADER, &out.text).unwrap();
    }

    #[test]
    fn a_key_value_shared_by_two_imported_contacts_writes_both_by_id() {
        let a = live("1", &[("email", "dup@x.com")], &[]);
        let b = live("2", &[("email", "DUP@x.com")], &[]);
        let c = live("3", &[("email", "solo@x.com")], &[]);
        let out = render(&config(), "web", &[a, b, c]);
        assert_eq!((out.written, out.by_id), (3, 2));
        assert!(
            out.text
                .contains("written by id: email=DUP@x.com is shared by 2 imported contacts"),
            "{}",
            out.text
        );
        let cfg = load_with(HEADER, &out.text).unwrap();
        let ids: Vec<String> = cfg.contacts.iter().map(|c| c.identity.display()).collect();
        assert_eq!(ids, ["id=1", "id=2", "email=solo@x.com"]);
    }

    #[test]
    fn contacts_the_config_holds_are_left_out_and_named() {
        let mut cfg = config();
        let existing = |identity| crate::model::DesiredContact {
            channel: "web".into(),
            identity,
            fields: Default::default(),
            tags: None,
            source: SourceLoc::default(),
        };
        cfg.contacts = vec![
            existing(Identity::Key {
                field: "email".into(),
                value: "Known@x.com".into(),
            }),
            existing(Identity::Id("5".into())),
        ];
        let contacts = [
            live("4", &[("email", "known@x.com")], &[]),
            live("5", &[], &[]),
            live("6", &[("email", "new@x.com")], &[]),
            live("6", &[("email", "new@x.com")], &[]),
        ];
        let out = render(&cfg, "web", &contacts);
        assert_eq!(out.already_in_config, ["4", "5"]);
        assert_eq!(out.written, 1, "the repeated ID is written once");
        assert!(
            out.text
                .contains("# Left out, already in the config: id 4, 5.\n")
        );
    }

    #[test]
    fn with_a_marker_it_is_not_written_and_the_header_says_why_a_plan_updates() {
        let mut cfg = config();
        cfg.marker = Some(Marker {
            field: "managed_by".into(),
            value: "git".into(),
        });
        let c = live("1", &[("email", "a@x.com"), ("managed_by", "git")], &[]);
        let out = render(&cfg, "web", &[c]);
        assert!(!out.text.contains("managed_by: "), "{}", out.text);
        assert!(out.text.contains(
            "# defaults.marker is managed_by=git: contacts below that lack it plan as marker-only updates"
        ));
    }

    #[test]
    fn nothing_found_is_an_empty_list() {
        let out = render(&config(), "web", &[]);
        assert!(out.text.ends_with("contacts: []\n"));
        load_with(HEADER, &out.text).unwrap();
    }

    #[test]
    fn tricky_values_read_back_as_the_same_values() {
        let tricky = [
            "yes",
            "No",
            "null",
            "~",
            "123",
            "007",
            "1e3",
            "-1",
            "a: b # c",
            "#hash",
            "- dash",
            "[x]",
            "{y}",
            "María José",
            "Ωmega 🎉",
            "🎉 party",
            "line\nbreak",
            "tab\there",
            " padded ",
            "quote\"back\\slash",
            "'single'",
            "&anchor",
            "*alias",
            "!tag",
            "%pct",
            "@at",
            "`tick",
            "a,b",
            "2024-05-01",
            "x\u{7f}y\u{85}z\u{feff}\u{2028}",
            "?q",
            "tr",
        ];
        let contacts: Vec<LiveContact> = tricky
            .iter()
            .enumerate()
            .map(|(i, v)| {
                live(
                    &format!("{i}"),
                    &[("email", &format!("u{i}@x.com")), ("note", v), ("odd", v)],
                    &["a, b"],
                )
            })
            .collect();
        let out = render(&config(), "web", &contacts);
        let cfg = load_with(HEADER, &out.text).unwrap_or_else(|e| panic!("{e}\n{}", out.text));
        assert_eq!(cfg.contacts.len(), tricky.len());
        for (c, v) in cfg.contacts.iter().zip(tricky) {
            assert_eq!(c.fields["note"].as_deref(), Some(v));
            assert_eq!(
                c.tags
                    .as_ref()
                    .map(|t| t.iter().cloned().collect::<Vec<_>>()),
                Some(vec!["a, b".to_string()])
            );
        }
        // every note stays on its own comment line
        for line in out.text.lines() {
            assert!(
                line.trim_start().starts_with('#')
                    || line.starts_with("contacts")
                    || line.starts_with("  "),
                "{line:?}"
            );
        }
    }

    #[test]
    fn numbers_booleans_phones_and_ids_read_back_equal() {
        let values = [
            ("customerid", "1042"),
            ("customerid", "12345678901234567890123"),
            ("customerid", "-0"),
            ("customerid", "007"),
            ("customerid", "1.50"),
            ("customerid", "2.5"),
            ("customerid", "1e3"),
            ("vip", "TRUE"),
            ("vip", "False"),
            ("phone", "+34600111222"),
            ("phone", "(0) 600-111"),
        ];
        for (id_base, (field, value)) in values.iter().enumerate() {
            let id = format!("+/={id_base}==");
            let c = live(&id, &[(field, value)], &[]);
            let out = render(&config(), "viber", std::slice::from_ref(&c));
            let cfg = load_with(HEADER, &out.text).unwrap_or_else(|e| panic!("{e}\n{}", out.text));
            let got = &cfg.contacts[0];
            assert_eq!(got.identity, Identity::Id(id.clone()));
            let ty = cfg.field_type(field);
            let read = got.fields[*field].as_deref();
            assert!(
                crate::model::same_value(ty, read, Some(value)),
                "{field}={value} read back as {read:?}\n{}",
                out.text
            );
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn any_text_reads_back_as_itself(v in "\\PC{1,12}|[ -~\\t\\n]{1,12}") {
            let c = live("1", &[("email", "a@x.com"), ("note", &v), ("extra", &v)], &[]);
            let out = render(&config(), "web", &[c]);
            let cfg = load_with(HEADER, &out.text).map_err(|e| TestCaseError::fail(format!("{e}\n{}", out.text)))?;
            prop_assert_eq!(cfg.contacts[0].fields["note"].as_deref(), Some(v.as_str()));
        }
    }
}
