//! What `config::load` builds: values as the wire strings the API holds, booleans in the
//! contact's channel spelling, identities, tags, channel defaults, directory merging and order,
//! the config hash, and the form of diagnostics.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use contactctl::config::{Diagnostic, load};
use contactctl::model::{BooleanFormat, Config, DesiredContact, FieldType, Identity};

fn ok(path: &str) -> Config {
    load(Path::new(path))
        .unwrap_or_else(|d| panic!("{}", contactctl::config::render_diagnostics(&d, false)))
}

fn errors(path: &Path) -> Vec<String> {
    load(path)
        .expect_err("should not load")
        .iter()
        .map(Diagnostic::to_string)
        .collect()
}

fn field<'a>(c: &'a DesiredContact, name: &str) -> Option<&'a str> {
    c.fields.get(name).expect(name).as_deref()
}

#[test]
fn values_become_the_strings_the_api_holds() {
    let config = ok("tests/fixtures/valid/values.yaml");
    let first = &config.contacts[0];
    assert_eq!(field(first, "name"), Some("42"), "a number on a text field");
    assert_eq!(field(first, "code"), Some("007"));
    assert_eq!(
        field(first, "score"),
        Some("1.50"),
        "numbers keep their text"
    );
    assert_eq!(field(first, "phone"), Some("+34600111223"));
    assert_eq!(field(first, "site"), Some("https://example.com/x?y=1"));
    assert_eq!(field(first, "born"), Some("2024-05-01"));
    let second = &config.contacts[1];
    assert_eq!(field(second, "score"), Some("-3"));
    assert_eq!(field(second, "name"), None, "\"\" clears");
    assert_eq!(field(second, "phone"), None, "null clears");
}

#[test]
fn booleans_take_the_spelling_of_the_contacts_channel() {
    let config = ok("tests/fixtures/valid/values.yaml");
    assert_eq!(
        config.channels["viber"].boolean_format,
        BooleanFormat::Lower
    );
    // web (upper): the string "TRUE" and the YAML false
    assert_eq!(field(&config.contacts[0], "vip"), Some("TRUE"));
    assert_eq!(field(&config.contacts[2], "vip"), Some("FALSE"));
    // viber (lower): YAML TRUE
    assert_eq!(field(&config.contacts[1], "vip"), Some("true"));
}

#[test]
fn identities_use_id_or_the_key_fields_wire_value() {
    let config = ok("tests/fixtures/valid/values.yaml");
    assert_eq!(
        config.contacts[0].identity,
        Identity::Key {
            field: "email".into(),
            value: "one@example.com".into()
        }
    );
    assert_eq!(
        config.contacts[2].identity,
        Identity::Key {
            field: "phone".into(),
            value: "(600) 111-223".into()
        }
    );
    let config = ok("tests/fixtures/valid/one-channel.yml");
    assert_eq!(
        config.contacts[0].identity,
        Identity::Id("1776025372480910".into())
    );
    assert_eq!(
        config.contacts[1].identity,
        Identity::Id("tMNGhftyUPrB3r1lD+bT4g==".into())
    );
}

#[test]
fn tags_absent_leave_alone_and_empty_remove_all() {
    let config = ok("tests/fixtures/valid/one-channel.yml");
    assert_eq!(config.contacts[0].tags, None);
    assert_eq!(config.contacts[1].tags, Some(BTreeSet::new()));
    let config = ok("tests/fixtures/valid/values.yaml");
    let both: BTreeSet<String> = ["A".to_string(), "B".to_string()].into();
    assert_eq!(
        config.contacts[1].tags.as_ref(),
        Some(&both),
        "through an alias"
    );
}

#[test]
fn the_only_channel_is_the_default_and_settings_are_normalised() {
    let config = ok("tests/fixtures/valid/one-channel.yml");
    assert_eq!(config.default_channel.as_deref(), Some("web"));
    assert!(config.contacts.iter().all(|c| c.channel == "web"));
    let web = &config.channels["web"];
    assert_eq!(web.base_url, "http://localhost:8080", "trailing / stripped");
    assert_eq!(web.rate_limit, 1);
    assert!(!web.viber);
    assert!(web.viber_encode_get);
    assert_eq!(config.fields.len(), 0);
    assert_eq!(config.safety.max_change_percent, 30.0);
    assert_eq!(config.safety.min_existing, 10);
}

#[test]
fn defaults_and_safety_are_read() {
    let config = ok("examples/contactctl.yaml");
    assert_eq!(config.default_key.as_deref(), Some("email"));
    let marker = config.marker.as_ref().unwrap();
    assert_eq!(
        (marker.field.as_str(), marker.value.as_str()),
        ("managed_by", "git")
    );
    assert_eq!(config.channels["web"].rate_limit, 100);
    assert!(
        config.channels["viber"].viber_encode_get,
        "defaults to viber"
    );
    assert_eq!(config.fields["customerid"], FieldType::Number);
    let config = ok("tests/fixtures/valid/values.yaml");
    assert_eq!(config.safety.max_change_percent, 12.5);
    assert_eq!(config.safety.min_existing, 0);
}

#[test]
fn a_directory_merges_its_files_in_name_order_skipping_others() {
    let config = ok("tests/fixtures/valid/split-dir");
    let emails: Vec<String> = config
        .contacts
        .iter()
        .map(|c| c.identity.display())
        .collect();
    assert_eq!(emails, ["email=a@example.com", "email=b@example.com"]);
    assert_eq!(
        config.contacts[1].source.to_string(),
        "tests/fixtures/valid/split-dir/c-more-contacts.yaml:2:5"
    );
    assert_eq!(config.tags, ["VIP".to_string()].into());
    let split = ok("examples/split");
    assert_eq!(
        split.default_key.as_deref(),
        Some("email"),
        "defaults merged by key"
    );
    assert_eq!(split.default_channel.as_deref(), Some("web"));
    assert_eq!(split.tags.len(), 3, "tags concatenated");
}

#[test]
fn the_contact_source_is_its_list_item() {
    let config = ok("examples/contactctl.yaml");
    assert_eq!(
        config.contacts[0].source.to_string(),
        "examples/contactctl.yaml:39:5"
    );
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

#[test]
fn the_hash_depends_on_file_names_and_bytes_not_on_where_the_repo_is() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    copy_dir(Path::new("examples/split"), &a);
    copy_dir(Path::new("examples/split"), &b);
    let hash = |p: &Path| load(p).unwrap().hash;
    let original = hash(&a);
    assert_eq!(original.len(), 64);
    assert_eq!(original, hash(&b));
    assert_eq!(original, hash(Path::new("examples/split")));

    // One byte more in a comment.
    let file = b.join("10-fields.yaml");
    let mut text = fs::read_to_string(&file).unwrap();
    text.push('\n');
    fs::write(&file, text).unwrap();
    assert_ne!(original, hash(&b));

    // A file renamed (same order).
    fs::rename(a.join("10-fields.yaml"), a.join("11-fields.yaml")).unwrap();
    assert_ne!(original, hash(&a));
}

#[test]
fn a_missing_path_is_one_diagnostic_naming_it() {
    let got = errors(Path::new("tests/fixtures/does-not-exist.yaml"));
    assert_eq!(got.len(), 1);
    assert!(
        got[0].starts_with("tests/fixtures/does-not-exist.yaml:1:1: cannot read the config: "),
        "{got:?}"
    );
}

#[test]
fn every_problem_is_reported_sorted_by_file_then_position() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    fs::write(
        dir.join("b.yaml"),
        "contacts:\n  - fields: {nick: x}\n  - channel: sms\n    id: '1'\n",
    )
    .unwrap();
    fs::write(
        dir.join("a.yaml"),
        "version: 1\nchannels:\n  web: {base_url: https://x.example, token_env: T, rate: 1}\n\
         fields: {email: {type: email}}\ndefaults: {key: email}\n",
    )
    .unwrap();
    let d = dir.display();
    assert_eq!(
        errors(dir),
        [
            format!(
                "{d}/a.yaml:3:52: unknown key \"rate\" (did you mean \"rate_limit\"? expected one of: base_url, token_env, rate_limit, viber, viber_encode_get, boolean_format)"
            ),
            format!(
                "{d}/b.yaml:2:5: contact has no identity: set id, or a value for its key field \"email\""
            ),
            format!("{d}/b.yaml:2:14: field \"nick\" is not declared in fields"),
            format!("{d}/b.yaml:3:14: unknown channel \"sms\" (channels: web)"),
        ]
    );
}

#[test]
fn a_contact_with_a_schema_error_is_not_reported_twice() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("c.yaml");
    fs::write(
        &file,
        "version: 1\nchannels: {web: {base_url: https://x.example, token_env: T}}\n\
         contacts:\n  - {nick: x}\n",
    )
    .unwrap();
    let got = errors(&file);
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].contains(":4:6: unknown key \"nick\""), "{got:?}");
}

#[test]
fn snippets_show_the_offending_line_under_each_problem() {
    let diags = load(Path::new("tests/fixtures/invalid/undeclared-tag.yaml")).unwrap_err();
    let out = contactctl::config::render_diagnostics(&diags, true);
    insta::assert_snapshot!(out, @r#"
    tests/fixtures/invalid/undeclared-tag.yaml:11:17: tag "Gold" is not declared in tags
       |
    11 |     tags: [VIP, Gold]
       |                 ^^^^
    "#);
}

#[test]
fn a_tag_may_be_declared_by_two_files_but_not_twice_in_one() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    fs::write(
        dir.join("a.yaml"),
        "version: 1\nchannels:\n  web: { base_url: 'https://x.example/api', token_env: T }\n\
         fields: { email: { type: email } }\ntags: [A]\ndefaults: { key: email }\n",
    )
    .unwrap();
    fs::write(
        dir.join("b.yaml"),
        "tags: [A, B]\ncontacts:\n  - fields: { email: a@x.com }\n    tags: [A, B]\n",
    )
    .unwrap();
    let config = load(dir).unwrap();
    assert_eq!(
        config.tags.iter().map(String::as_str).collect::<Vec<_>>(),
        ["A", "B"]
    );

    fs::write(dir.join("b.yaml"), "tags: [B, B]\n").unwrap();
    let errs = errors(dir);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].contains("b.yaml:1:11: duplicate tag \"B\""),
        "{errs:?}"
    );
}

#[test]
fn write_modes_and_protected_fields_load_into_the_config() {
    use contactctl::model::{TagWrite, WriteMode};
    let config = ok("tests/fixtures/valid/write-modes.yaml");
    assert_eq!(config.field_mode("firstName"), WriteMode::Create);
    assert_eq!(config.field_mode("nickname"), WriteMode::IfEmpty);
    assert_eq!(config.field_mode("email"), WriteMode::Sync);
    assert_eq!(config.field_mode("vip"), WriteMode::Sync);
    assert_eq!(
        config.field_modes.len(),
        2,
        "only the modes that are not sync"
    );
    assert_eq!(config.tag_mode("Onboarded"), TagWrite::Add);
    assert_eq!(config.tag_mode("Newsletter"), TagWrite::Sync);
    assert_eq!(config.tag_modes.len(), 1);
    assert!(config.tags.contains("Onboarded") && config.tags.contains("Newsletter"));
    assert_eq!(
        config.safety.protected_fields.iter().collect::<Vec<_>>(),
        ["email", "vip"]
    );
}
