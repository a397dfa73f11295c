//! Whatever the bytes, `config::load` returns: a config or diagnostics, never a panic, a hang
//! or an exhausted stack. Random bytes, random YAML-ish text, random config-shaped text, and the
//! big and deep inputs that break naive parsers.

use std::fs;
use std::path::Path;

use contactctl::config::load;
use proptest::prelude::*;

/// Load `bytes` as a config file; the diagnostics (empty on success).
fn load_bytes(bytes: &[u8]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.yaml");
    fs::write(&file, bytes).unwrap();
    match load(&file) {
        Ok(_) => Vec::new(),
        Err(diags) => {
            for d in &diags {
                assert!(d.loc.line >= 1 && d.loc.col >= 1, "{d}");
                assert!(d.loc.file.ends_with("c.yaml"), "{d}");
                assert!(!d.message.is_empty());
            }
            diags.iter().map(ToString::to_string).collect()
        }
    }
}

/// Config-shaped lines: known keys and awkward values at random indentation.
fn config_ish() -> impl Strategy<Value = String> {
    let key = prop::sample::select(vec![
        "version",
        "channels",
        "web",
        "base_url",
        "token_env",
        "token",
        "rate_limit",
        "viber",
        "boolean_format",
        "fields",
        "email",
        "type",
        "tags",
        "defaults",
        "channel",
        "key",
        "marker",
        "field",
        "value",
        "safety",
        "max_change_percent",
        "contacts",
        "- id",
        "- fields",
        "id",
        "- ",
        "<<",
        "? ",
    ]);
    let value = prop::sample::select(vec![
        "",
        "1",
        "2",
        "-1",
        "1.5",
        "1e999",
        ".nan",
        "true",
        "yes",
        "null",
        "~",
        "[]",
        "{}",
        "[a, b]",
        "{type: email}",
        "https://x.example",
        "T",
        "web",
        "email",
        "&a x",
        "*a",
        "*b",
        "!!str 1",
        "!custom x",
        "'quoted'",
        "\"esc\\u0000\"",
        "|",
        ">-",
        "[",
        "}",
        "a@b.c",
        "{email: a@b.c}",
        "- x",
    ]);
    prop::collection::vec((0usize..6, key, value), 0..40).prop_map(|lines| {
        lines
            .into_iter()
            .map(|(indent, k, v)| format!("{}{k}: {v}\n", " ".repeat(indent * 2)))
            .collect()
    })
}

/// The example config with a few random edits: reaches the merge, schema and semantic stages.
fn mutated_example() -> impl Strategy<Value = Vec<u8>> {
    let example = fs::read("examples/contactctl.yaml").unwrap();
    let len = example.len();
    let edit = (
        0..len,
        0u8..3,
        prop::sample::select(b" :-[]{}&*!\n\"'#,0aZ~".to_vec()),
    );
    prop::collection::vec(edit, 1..6).prop_map(move |edits| {
        let mut bytes = example.clone();
        for (at, op, byte) in edits {
            let at = at.min(bytes.len().saturating_sub(1));
            match op {
                0 if !bytes.is_empty() => {
                    bytes.remove(at);
                }
                1 => bytes.insert(at, byte),
                _ if !bytes.is_empty() => bytes[at] = byte,
                _ => {}
            }
        }
        bytes
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2000)) {
        load_bytes(&bytes);
    }

    #[test]
    fn random_yaml_like_text_never_panics(text in "[a-z0-9:,\\-\\[\\]{}&*!|>'\"#%@?. \n\t]{0,400}") {
        load_bytes(text.as_bytes());
    }

    #[test]
    fn a_randomly_edited_example_never_panics(bytes in mutated_example()) {
        load_bytes(&bytes);
    }

    #[test]
    fn random_config_like_text_never_panics(text in config_ish()) {
        load_bytes(text.as_bytes());
    }
}

#[test]
fn empty_and_whitespace_files_are_errors_at_the_start() {
    for text in ["", " ", "\n\n", "# only a comment\n", "---\n", "~\n"] {
        let got = load_bytes(text.as_bytes());
        assert_eq!(got.len(), 1, "{text:?}: {got:?}");
        assert!(
            got[0].contains("c.yaml:1:1: the file is empty"),
            "{text:?}: {got:?}"
        );
    }
}

#[test]
fn deep_flow_nesting_is_an_error() {
    for open in ["[", "{a: "] {
        let got = load_bytes(open.repeat(100_000).as_bytes());
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(got[0].contains("invalid YAML"), "{got:?}");
    }
}

#[test]
fn deep_block_nesting_is_an_error() {
    let text: String = (0..5_000)
        .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
        .collect();
    let got = load_bytes(text.as_bytes());
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].contains("invalid YAML"), "{got:?}");
}

#[test]
fn a_huge_scalar_is_an_error_not_a_crash() {
    // 16 MiB of one plain scalar: parsed, then refused for what it is.
    let got = load_bytes("x".repeat(16 << 20).as_bytes());
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].ends_with("found text"), "{got:?}");
}

#[test]
fn a_huge_file_is_refused_before_it_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.yaml");
    let f = fs::File::create(&file).unwrap();
    f.set_len(65 << 20).unwrap();
    let got = load(Path::new(&file)).unwrap_err();
    assert_eq!(got.len(), 1);
    assert!(got[0].message.contains("too large"), "{}", got[0]);
}

#[test]
fn an_alias_bomb_is_an_error() {
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let p = i - 1;
        text.push_str(&format!(
            "a{i}: &a{i} [{}]\n",
            vec![format!("*a{p}"); 10].join(", ")
        ));
    }
    let got = load_bytes(text.as_bytes());
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].contains("invalid YAML"), "{got:?}");
}

#[test]
fn text_repeated_by_aliases_is_counted_every_time() {
    // 1 MiB of text, used 100 times: 100 MiB of text from a 1 MiB file.
    let text = format!(
        "a: &a \"{}\"\nb: [{}]\n",
        "x".repeat(1 << 20),
        vec!["*a"; 100].join(", ")
    );
    let got = load_bytes(text.as_bytes());
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].contains("MiB of text"), "{got:?}");
}

#[test]
fn a_nul_byte_and_a_bom_are_handled() {
    let got = load_bytes(b"version: 1\0\n");
    assert!(!got.is_empty());
    let got = load_bytes(
        "\u{feff}version: 1\nchannels: {web: {base_url: https://x.example, token_env: T}}\n"
            .as_bytes(),
    );
    assert!(got.is_empty(), "{got:?}");
}
