//! Contacts from CSV files (`sources:`), as `config::load` builds them: each row a desired
//! contact exactly as a YAML one (wire values, booleans in the channel's spelling, tags from the
//! column and the source, empty cells kept or cleared), positions of rows, the config hash over
//! the sheets, directory configs, and excerpts that mark the offending cell.
//! The error cases, one per kind, are fixtures (`tests/fixtures/invalid/csv-*`).

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use contactctl::config::{Diagnostic, load, render_diagnostics};
use contactctl::model::{Config, DesiredContact, Identity};

fn ok(path: &Path) -> Config {
    load(path).unwrap_or_else(|d| panic!("{}", render_diagnostics(&d, false)))
}

fn errors(path: &Path) -> Vec<String> {
    load(path)
        .expect_err("should not load")
        .iter()
        .map(Diagnostic::to_string)
        .collect()
}

fn by_email<'a>(config: &'a Config, email: &str) -> &'a DesiredContact {
    config
        .contacts
        .iter()
        .find(|c| {
            c.identity
                == Identity::Key {
                    field: "email".into(),
                    value: email.into(),
                }
        })
        .unwrap_or_else(|| panic!("no contact {email}"))
}

fn field<'a>(c: &'a DesiredContact, name: &str) -> Option<Option<&'a str>> {
    c.fields.get(name).map(|v| v.as_deref())
}

fn tags(list: &[&str]) -> Option<BTreeSet<String>> {
    Some(list.iter().map(|t| t.to_string()).collect())
}

#[test]
fn rows_become_contacts_after_the_yaml_ones_with_mapped_columns_and_tags() {
    let config = ok(Path::new("tests/fixtures/valid/csv-sheet"));
    let identities: Vec<String> = config
        .contacts
        .iter()
        .map(|c| c.identity.display())
        .collect();
    assert_eq!(
        identities,
        [
            "email=juan@example.com",
            "email=ana@example.com",
            "email=bo@example.com",
            "email=cy@example.com"
        ]
    );
    let ana = by_email(&config, "ana@example.com");
    assert_eq!(ana.channel, "web", "defaults.channel");
    assert_eq!(
        field(ana, "firstName"),
        Some(Some("Ana")),
        "columns: mapping"
    );
    assert_eq!(field(ana, "lastName"), Some(Some("López")));
    assert_eq!(
        field(ana, "vip"),
        Some(Some("TRUE")),
        "the channel's spelling"
    );
    assert_eq!(
        ana.tags,
        tags(&["Event 2026", "VIP"]),
        "column ∪ source tags"
    );
    assert_eq!(
        ana.source.to_string(),
        "tests/fixtures/valid/csv-sheet/lists/event-2026.csv:2:1"
    );

    let bo = by_email(&config, "bo@example.com");
    assert_eq!(
        field(bo, "firstName"),
        Some(Some("Bo, Jr.")),
        "quoted comma"
    );
    assert_eq!(field(bo, "vip"), Some(Some("FALSE")));
    assert_eq!(bo.tags, tags(&["Blog Updates", "Event 2026", "VIP"]));

    // Empty cells leave fields alone (empty: keep); an empty tags cell leaves the source's tags.
    let cy = by_email(&config, "cy@example.com");
    assert_eq!(field(cy, "lastName"), None);
    assert_eq!(field(cy, "vip"), None);
    assert_eq!(cy.tags, tags(&["Event 2026"]));
    assert_eq!(cy.fields.len(), 2, "{:?}", cy.fields);
    assert_eq!(cy.source.line, 4);
}

#[test]
fn bom_crlf_quoted_line_breaks_blank_rows_and_empty_clear() {
    let config = ok(Path::new("tests/fixtures/valid/csv-formats"));
    assert_eq!(config.contacts.len(), 4, "blank line and empty row skipped");
    let da = by_email(&config, "da@example.com");
    assert_eq!(da.channel, "viber");
    assert_eq!(field(da, "firstName"), Some(Some("Da\r\nvid")));
    assert_eq!(
        field(da, "vip"),
        Some(Some("true")),
        "boolean_format: lower"
    );
    assert_eq!(
        field(da, "customerid"),
        Some(Some("007")),
        "text as written"
    );
    assert_eq!(da.tags, None, "no tags_column and no tags: left alone");
    assert_eq!(da.source.line, 2, "the BOM is not a line");

    // empty: clear: an empty cell clears the field
    let ed = by_email(&config, "ed@example.com");
    assert_eq!(field(ed, "firstName"), Some(None));
    assert_eq!(field(ed, "vip"), Some(None));
    assert_eq!(field(ed, "customerid"), Some(None));
    assert_eq!(ed.source.line, 5, "after a quoted CRLF and a blank line");

    let fi = by_email(&config, "fi@example.com");
    assert_eq!(field(fi, "vip"), Some(Some("false")));
    assert_eq!(field(fi, "customerid"), Some(Some("1.50")));
    assert_eq!(fi.source.line, 7);

    // the second sheet: its own channel, the id column ignored, empty: keep
    let gu = by_email(&config, "gu@example.com");
    assert_eq!(gu.channel, "web");
    assert_eq!(field(gu, "vip"), None);
    assert_eq!(gu.fields.len(), 1);
}

#[test]
fn a_bad_boolean_in_the_fourth_data_row_third_column_is_at_line_5_column_3() {
    let got = errors(Path::new("tests/fixtures/invalid/csv-bad-value"));
    assert!(
        got[0].starts_with("tests/fixtures/invalid/csv-bad-value/event.csv:5:3: "),
        "{got:?}"
    );
}

#[test]
fn snippets_mark_the_offending_cell() {
    let diags = load(Path::new("tests/fixtures/invalid/csv-bad-value")).unwrap_err();
    let out = render_diagnostics(&diags, true);
    insta::assert_snapshot!(out, @r#"
    tests/fixtures/invalid/csv-bad-value/event.csv:5:3: field "vip" is boolean: "yes" is not a boolean (write true or false)
      |
    5 | di@example.com,Di,yes,4
      |                   ^^^
    tests/fixtures/invalid/csv-bad-value/event.csv:6:1: field "email" is email: "not-an-email" is not an e-mail address
      |
    6 | not-an-email,Ed,false,five
      | ^^^^^^^^^^^^
    tests/fixtures/invalid/csv-bad-value/event.csv:6:4: field "customerid" is number: "five" is not a number
      |
    6 | not-an-email,Ed,false,five
      |                       ^^^^
    "#);
}

#[test]
fn a_file_that_is_not_utf8_is_marked_at_its_cell() {
    let diags = load(Path::new("tests/fixtures/invalid/csv-not-utf8")).unwrap_err();
    let out = render_diagnostics(&diags, true);
    insta::assert_snapshot!(out, @r#"
    tests/fixtures/invalid/csv-not-utf8/event.csv:3:2: the file is not UTF-8 text (byte 0xED at offset 57): save it as "CSV UTF-8"
      |
    3 | maria@example.com,Mar�a
      |                   ^^^^^
    "#);
}

/// A copy of the `csv-sheet` fixture at `to`.
fn sheet_repo(to: &Path) {
    let from = Path::new("tests/fixtures/valid/csv-sheet");
    fs::create_dir_all(to.join("lists")).unwrap();
    for file in ["contactctl.yaml", "lists/event-2026.csv"] {
        fs::copy(from.join(file), to.join(file)).unwrap();
    }
}

#[test]
fn editing_a_sheet_changes_the_config_hash() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    sheet_repo(&a);
    sheet_repo(&b);
    let hash = |p: &Path| load(p).unwrap().hash;
    let original = hash(&a);
    assert_eq!(original, hash(&b), "not where the repo is");

    // A value in the sheet, nothing in the YAML.
    let sheet = b.join("lists/event-2026.csv");
    let text = fs::read_to_string(&sheet).unwrap().replace("Ana,", "Anna,");
    fs::write(&sheet, text).unwrap();
    assert_ne!(original, hash(&b));

    // Without the source, the hash is that of the YAML alone: the sheet counted.
    let yaml = a.join("contactctl.yaml");
    let text = fs::read_to_string(&yaml).unwrap();
    let without = text.split("sources:").next().unwrap().to_string();
    fs::write(&yaml, &without).unwrap();
    let yaml_only = hash(&a);
    fs::write(&yaml, format!("{without}sources: []\n")).unwrap();
    assert_ne!(yaml_only, hash(&a));
}

#[test]
fn the_path_is_relative_to_the_yaml_file_that_names_it_and_lists_concatenate() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    fs::create_dir_all(dir.join("lists")).unwrap();
    fs::write(
        dir.join("a.yaml"),
        "version: 1\nchannels:\n  web: { base_url: 'https://x.example/api', token_env: T }\n\
         fields: { email: { type: email }, name: { type: text } }\ndefaults: { key: email }\n\
         sources: [{ csv: lists/one.csv }]\n",
    )
    .unwrap();
    fs::write(dir.join("b.yaml"), "sources:\n  - csv: two.csv\n").unwrap();
    fs::write(dir.join("lists/one.csv"), "email\na@x.com\n").unwrap();
    fs::write(dir.join("two.csv"), "email,name\nb@x.com,B\n").unwrap();
    let config = ok(dir);
    let sources: Vec<String> = config
        .contacts
        .iter()
        .map(|c| c.source.to_string())
        .collect();
    let d = dir.display();
    assert_eq!(
        sources,
        [format!("{d}/lists/one.csv:2:1"), format!("{d}/two.csv:2:1")]
    );
    // one file of the directory alone: still relative to that file
    let one = ok(&dir.join("a.yaml"));
    assert_eq!(one.contacts.len(), 1);
}

#[test]
fn columns_may_feed_several_fields_and_ignore_wins_over_a_field_name() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    fs::write(
        dir.join("c.yaml"),
        "version: 1\nchannels:\n  web: { base_url: 'https://x.example/api', token_env: T }\n\
         fields: { email: { type: email }, login: { type: text }, name: { type: text } }\n\
         defaults: { key: email }\n\
         sources: [{ csv: s.csv, columns: { login: email }, ignore_columns: [name] }]\n",
    )
    .unwrap();
    fs::write(dir.join("s.csv"), "email,name\na@x.com,Not read\n").unwrap();
    let config = ok(&dir.join("c.yaml"));
    let a = &config.contacts[0];
    assert_eq!(field(a, "email"), Some(Some("a@x.com")));
    assert_eq!(field(a, "login"), Some(Some("a@x.com")));
    assert_eq!(field(a, "name"), None);
}

#[test]
fn a_source_without_a_channel_or_key_is_reported_once_where_it_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    fs::write(
        dir.join("c.yaml"),
        "version: 1\nchannels:\n  web: { base_url: 'https://x.example/api', token_env: T }\n  \
         sms: { base_url: 'https://x.example/api', token_env: S }\n\
         fields: { email: { type: email } }\nsources:\n  - csv: s.csv\n",
    )
    .unwrap();
    fs::write(dir.join("s.csv"), "email\na@x.com\nb@x.com\n").unwrap();
    let d = dir.display();
    assert_eq!(
        errors(&dir.join("c.yaml")),
        [
            format!(
                "{d}/c.yaml:7:5: source has no channel: set channel: or defaults.channel (channels: sms, web)"
            ),
            format!(
                "{d}/c.yaml:7:5: source has no key field: set key: or defaults.key (each row is looked up by its value)"
            ),
        ]
    );
}

#[test]
fn a_hundred_thousand_rows_load_with_their_lines() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    fs::write(
        dir.join("c.yaml"),
        "version: 1\nchannels:\n  web: { base_url: 'https://x.example/api', token_env: T }\n\
         fields: { email: { type: email }, vip: { type: boolean } }\ndefaults: { key: email }\n\
         sources: [{ csv: s.csv }]\n",
    )
    .unwrap();
    let mut sheet = String::from("email,vip\r\n");
    for i in 0..100_000 {
        sheet.push_str(&format!("u{i}@x.com,{}\r\n", i % 2 == 0));
    }
    fs::write(dir.join("s.csv"), sheet).unwrap();
    let config = ok(&dir.join("c.yaml"));
    assert_eq!(config.contacts.len(), 100_000);
    let last = config.contacts.last().unwrap();
    assert_eq!(last.source.line, 100_001);
    assert_eq!(field(last, "vip"), Some(Some("FALSE")));
}
