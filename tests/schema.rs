//! The JSON Schema: the checked-in `schemas/contactctl.schema.json` is exactly what
//! `contactctl schema` prints, every property has a description (editors show it as help),
//! tokens have no place in it, and every example and valid fixture file passes it on its own, as
//! an editor checks it.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

const SCHEMA_FILE: &str = "schemas/contactctl.schema.json";

fn generated() -> Value {
    serde_json::from_str(&contactctl::config::schema_json()).unwrap()
}

#[test]
fn the_checked_in_schema_is_the_generated_one() {
    let checked_in = fs::read_to_string(SCHEMA_FILE).unwrap_or_default();
    assert!(
        checked_in == contactctl::config::schema_json(),
        "{SCHEMA_FILE} is out of date. Regenerate it with\n    \
         cargo run -- schema > {SCHEMA_FILE}\n\
         (or, before the CLI has the command: cargo test --test schema -- --ignored \
         write_the_schema_file)"
    );
}

/// Writes the schema file; run by hand (see the message above).
#[test]
#[ignore]
fn write_the_schema_file() {
    fs::write(SCHEMA_FILE, contactctl::config::schema_json()).unwrap();
}

/// Every subschema reachable from `v`, with the JSON pointer where it is.
fn walk<'a>(v: &'a Value, at: String, out: &mut Vec<(String, &'a Value)>) {
    match v {
        Value::Object(map) => {
            out.push((at.clone(), v));
            for (k, child) in map {
                walk(child, format!("{at}/{k}"), out);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                walk(child, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn every_property_has_a_description() {
    let schema = generated();
    let mut nodes = Vec::new();
    walk(&schema, String::new(), &mut nodes);
    let mut properties = 0;
    let mut missing = Vec::new();
    for (at, node) in nodes {
        let Some(Value::Object(props)) = node.get("properties") else {
            continue;
        };
        for (name, prop) in props {
            properties += 1;
            let described = prop
                .get("description")
                .and_then(Value::as_str)
                .is_some_and(|d| !d.trim().is_empty());
            if !described {
                missing.push(format!("{at}/properties/{name}"));
            }
        }
    }
    assert!(properties >= 20, "only {properties} properties found");
    assert!(
        missing.is_empty(),
        "properties without a description: {missing:?}"
    );
}

#[test]
fn a_channel_has_no_place_for_a_token() {
    let schema = generated();
    let channel = &schema["$defs"]["Channel"];
    assert_eq!(channel["additionalProperties"], Value::Bool(false));
    let names: Vec<&String> = channel["properties"].as_object().unwrap().keys().collect();
    assert!(names.iter().any(|n| *n == "token_env"), "{names:?}");
    assert!(
        names
            .iter()
            .all(|n| !n.contains("token") || *n == "token_env"),
        "{names:?}"
    );
}

/// Folders of `examples/` that hold other files than configs (CI recipes, sandbox states).
const NOT_CONFIGS: &[&str] = &["examples/ci", "examples/sandbox"];

/// Every config file of the examples and the valid fixtures, one by one.
fn config_files() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![
        PathBuf::from("examples"),
        PathBuf::from("tests/fixtures/valid"),
    ];
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if path.is_dir() {
                if !NOT_CONFIGS.iter().any(|d| path == Path::new(d)) {
                    dirs.push(path);
                }
            } else if !name.starts_with('.') && (name.ends_with(".yaml") || name.ends_with(".yml"))
            {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn yaml_as_json(path: &Path) -> Value {
    let text = fs::read_to_string(path).unwrap();
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_example_and_valid_file_passes_the_checked_in_schema_alone() {
    let schema: Value = serde_json::from_str(&fs::read_to_string(SCHEMA_FILE).unwrap()).unwrap();
    let validator = jsonschema::draft202012::new(&schema).unwrap();
    let files = config_files();
    assert!(files.len() >= 8, "{files:?}");
    let mut failures = Vec::new();
    for file in &files {
        let value = yaml_as_json(file);
        for error in validator.iter_errors(&value) {
            failures.push(format!(
                "{}: {} at {}",
                file.display(),
                error,
                error.instance_path()
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn the_schema_rejects_what_the_loader_rejects() {
    let schema = generated();
    let validator = jsonschema::draft202012::new(&schema).unwrap();
    for bad in [
        r#"{"version": 2}"#,
        r#"{"channels": {"web": {"base_url": "https://x.example", "token_env": "T", "token": "s"}}}"#,
        r#"{"channels": {"web": {"base_url": "x.example", "token_env": "T"}}}"#,
        r#"{"contacts": [{"fields": {"a": [1]}}]}"#,
        r#"{"contacts": [{"tags": null}]}"#,
        r#"{"fields": {"a": {"type": "string"}}}"#,
        r#"{"contact": []}"#,
    ] {
        let value: Value = serde_json::from_str(bad).unwrap();
        assert!(!validator.is_valid(&value), "accepted {bad}");
    }
}
