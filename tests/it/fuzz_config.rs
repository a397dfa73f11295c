//! The config loader on odd input, beyond tests/config_garbage.rs (random bytes, YAML-ish text,
//! deep nesting, a huge scalar, alias bombs): odd Unicode anywhere in a real config (bidi
//! overrides, zero-width joiners, NEL and line/paragraph separators, C0/C1 controls, BOMs
//! mid-file, astral characters, lone CRs), any Unicode as names and values, directories of
//! broken files, and numbers too big for any field. Every outcome is a config or diagnostics:
//! never a panic; every diagnostic is `file:line:col: message` on one line with no terminal
//! escape, and renders with its source excerpt.

use std::fs;
use std::path::Path;

use contactctl::config::{Diagnostic, load, render_diagnostics};
use proptest::prelude::*;

/// Check a load's diagnostics; return them as text (empty on success).
fn check(result: Result<contactctl::model::Config, Vec<Diagnostic>>, dir: &Path) -> Vec<String> {
    let Err(diags) = result else {
        return Vec::new();
    };
    assert!(!diags.is_empty());
    for d in &diags {
        assert!(d.loc.line >= 1 && d.loc.col >= 1, "{d}");
        assert!(Path::new(&*d.loc.file).starts_with(dir), "{d}");
        assert!(!d.message.trim().is_empty(), "{d}");
        // One problem, one line, and nothing that drives the terminal. (Names are echoed as
        // written, so a tab typed inside a name comes back as a tab.)
        let line = d.to_string();
        assert!(
            !line.contains(['\n', '\r', '\u{1b}']),
            "a line break or an escape in {line:?}"
        );
    }
    // the excerpts read the files again and slice them at the positions
    render_diagnostics(&diags, true);
    render_diagnostics(&diags, false);
    diags.iter().map(ToString::to_string).collect()
}

fn load_text(text: &str) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.yaml");
    fs::write(&file, text).unwrap();
    check(load(&file), dir.path())
}

/// Characters that trip up text handling: bidi overrides, zero-width and joiners, NEL, line and
/// paragraph separators, BOM, C0 and C1 controls, tabs, lone CR, combining marks, astral.
fn odd_char() -> impl Strategy<Value = char> {
    prop::sample::select(vec![
        '\u{202E}',
        '\u{2066}',
        '\u{200B}',
        '\u{200D}',
        '\u{FEFF}',
        '\u{0085}',
        '\u{2028}',
        '\u{2029}',
        '\u{0000}',
        '\u{0007}',
        '\u{001B}',
        '\u{007F}',
        '\u{0090}',
        '\u{009F}',
        '\t',
        '\r',
        '\u{000B}',
        '\u{000C}',
        '\u{0301}',
        '\u{1D518}',
        '\u{1F469}',
        '\u{FFFD}',
        'ñ',
        '李',
        '\u{E000}',
        '\u{10FFFF}',
    ])
}

fn example() -> String {
    fs::read_to_string("examples/contactctl.yaml").unwrap()
}

/// The example config with odd characters inserted at random places.
fn example_with_odd_chars() -> impl Strategy<Value = String> {
    let len = example().chars().count();
    prop::collection::vec((0..len, odd_char()), 1..8).prop_map(|edits| {
        let mut chars: Vec<char> = example().chars().collect();
        for (at, c) in edits {
            chars.insert(at.min(chars.len()), c);
        }
        chars.into_iter().collect()
    })
}

/// A config whose names and values are `s`: a field named `s`, a tag `s`, a channel named `s`,
/// values `s` on text fields.
fn config_with(s: &str) -> String {
    let q = serde_json::to_string(s).unwrap();
    format!(
        "version: 1\nchannels:\n  {q}: {{ base_url: \"https://x.example/api\", token_env: T }}\nfields:\n  email: {{ type: email }}\n  {q}: {{ type: text }}\n  note: {{ type: text }}\ntags: [{q}]\ndefaults: {{ key: email }}\ncontacts:\n  - fields: {{ email: a@x.com, note: {q}, {q}: {q} }}\n    tags: [{q}]\n"
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn odd_characters_anywhere_in_a_config_never_panic(text in example_with_odd_chars()) {
        load_text(&text);
    }

    #[test]
    fn any_unicode_as_names_and_values_loads_exactly_or_is_a_clear_error(s in any::<String>()) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.yaml");
        fs::write(&file, config_with(&s)).unwrap();
        let result = load(&file);
        if let Ok(config) = &result {
            // what is written is what is sent: no trimming, folding or normalising of text
            let c = &config.contacts[0];
            prop_assert_eq!(c.fields["note"].as_deref(), Some(s.as_str()));
            prop_assert_eq!(c.fields[&s].as_deref(), Some(s.as_str()));
            prop_assert!(c.tags.as_ref().is_some_and(|t| t.contains(&s)));
            prop_assert_eq!(&c.channel, &s);
        }
        check(result, dir.path());
    }

    #[test]
    fn a_directory_of_broken_files_never_panics(
        files in prop::collection::vec(
            (
                prop::sample::select(vec!["a.yaml", "b.yml", "ñ.yaml", "\u{202E}lmay.yaml", ".hidden.yaml", "c.yaml.bak", "z z.yaml"]),
                prop_oneof![
                    example_with_odd_chars().prop_map(String::into_bytes),
                    Just(b"contacts:\n  - fields: { email: b@x.com }\n".to_vec()),
                    Just(b"version: 2\n".to_vec()),
                    Just(b"fields:\n  email: { type: text }\n".to_vec()),
                    Just(Vec::new()),
                    prop::collection::vec(any::<u8>(), 0..200),
                ],
            ),
            1..5,
        )
    ) {
        let dir = tempfile::tempdir().unwrap();
        for (name, bytes) in &files {
            fs::write(dir.path().join(name), bytes).unwrap();
        }
        check(load(dir.path()), dir.path());
    }
}

#[test]
fn numbers_too_big_for_any_field_are_errors_at_their_place() {
    for value in [
        "99999999999999999999999999",
        "1e400",
        "-1e400",
        "4294967296",
        "-1",
        ".inf",
        "-.inf",
        ".nan",
        "\"100\"",
        "[100]",
    ] {
        let text = format!(
            "version: 1\nchannels:\n  web: {{ base_url: \"https://x.example/api\", token_env: T, rate_limit: {value} }}\nfields:\n  email: {{ type: email }}\ndefaults: {{ key: email }}\nsafety: {{ max_change_percent: {value}, min_existing: {value} }}\ncontacts:\n  - fields: {{ email: a@x.com }}\n"
        );
        let diags = load_text(&text);
        assert!(!diags.is_empty(), "{value} was accepted");
        assert!(
            diags.iter().any(|d| d.contains("c.yaml:3:")),
            "{value}: the rate limit's line is named: {diags:?}"
        );
    }
    // version too
    let diags = load_text("version: 99999999999999999999999\n");
    assert!(diags.iter().any(|d| d.contains("c.yaml:1:")), "{diags:?}");
}

#[test]
fn positions_count_characters_and_any_line_break() {
    let body = "channels:\n  web: { base_url: \"https://x.example/api\", token_env: T }\nfields:\n  email: { type: email }\ndefaults: { key: email }\ncontacts:\n  - fields: { email: \"ñandú👩\u{200D}👧@x.com\", bogus: 1 }\n";
    let expect = "c.yaml:8:40: field \"bogus\" is not declared in fields";
    for (what, text) in [
        ("LF", format!("version: 1\n{body}")),
        ("CRLF", format!("version: 1\n{body}").replace('\n', "\r\n")),
        ("CR", format!("version: 1\n{body}").replace('\n', "\r")),
        ("BOM", format!("\u{FEFF}version: 1\n{body}")),
    ] {
        let diags = load_text(&text);
        assert!(
            diags.iter().any(|d| d.ends_with(expect)),
            "{what}: {diags:?}"
        );
    }
}

#[test]
fn a_config_of_thousands_of_contacts_loads() {
    let mut text = String::from(
        "version: 1\nchannels:\n  web: { base_url: \"https://x.example/api\", token_env: T }\nfields:\n  email: { type: email }\n  n: { type: number }\ntags: [A, B]\ndefaults: { key: email }\ncontacts:\n",
    );
    for i in 0..5_000 {
        text.push_str(&format!(
            "  - fields: {{ email: c{i}@x.com, n: {i} }}\n    tags: [A]\n"
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.yaml");
    fs::write(&file, text).unwrap();
    let config = load(&file).unwrap();
    assert_eq!(config.contacts.len(), 5_000);
}
