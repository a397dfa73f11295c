//! The JSON Schema: the checked-in `schemas/contactctl.schema.json` is exactly what
//! `contactctl schema` prints, every property has a description (editors show it as help),
//! tokens have no place in it, and every example and valid fixture file passes it on its own, as
//! an editor checks it. The invalid fixtures go through it too, file by file: the test lists
//! exactly which of their problems only `validate` can catch, and why no schema can say them.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

use jsonschema::error::ValidationErrorKind;
use serde_json::Value;
use serde_saphyr::granit_parser::{Event, Parser};

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
         (or, before the CLI has the command: cargo test --test it -- --ignored schema::\
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
        r#"{"channels": {"web": {"base_url": "https://x.example", "token_env": "T", "rate_limit": 0}}}"#,
        r#"{"contacts": [{"tags": ["VIP"]}]}"#,
        r#"{"contacts": [{"channel": "web", "fields": {}}]}"#,
    ] {
        let value: Value = serde_json::from_str(bad).unwrap();
        assert!(!validator.is_valid(&value), "accepted {bad}");
    }
}

#[test]
fn a_contact_with_an_id_or_fields_passes_the_schema() {
    let validator = jsonschema::draft202012::new(&generated()).unwrap();
    for good in [
        r#"{"contacts": [{"id": 7}]}"#,
        r#"{"contacts": [{"id": "7", "fields": {}, "tags": []}]}"#,
        r#"{"contacts": [{"fields": {"email": "a@example.com"}}]}"#,
    ] {
        let value: Value = serde_json::from_str(good).unwrap();
        assert!(validator.is_valid(&value), "rejected {good}");
    }
}

// ---------------------------------------------------------------------------------------------
// The invalid fixtures through the schema alone, file by file, as an editor checks them: which
// of the problems `validate` finds could an editor's schema check have shown, and which only
// `validate` can catch (and why no JSON Schema can say it).

/// Invalid fixtures (or files of a directory fixture) in which the schema catches none of the
/// problems `validate` reports, each with why no JSON Schema can express them. A JSON Schema
/// checks one document's data against constants: it cannot see the YAML text the data came
/// from, another file, or another value of the same document (`fields:` declared here, used
/// there; `$data` references are not part of the standard).
const ONLY_VALIDATE: &[(&str, &str)] = &[
    (
        "alias-bomb.yaml",
        "aliases that expand past the reader's size limit: stopped while reading the YAML, before there is data to check (a reader that shares aliases instead of copying them hands the schema the stray keys `a`..`i`, rejected for those instead)",
    ),
    (
        "bad-file-in-directory/10-contacts.yaml",
        "not UTF-8 text: no YAML reader gets as far as data",
    ),
    (
        "bad-file-in-directory/40-broken.yaml",
        "YAML syntax (an unclosed bracket): no data to check",
    ),
    (
        "binary.yaml",
        "not UTF-8 text: no YAML reader gets as far as data",
    ),
    (
        "control-characters.yaml",
        "a control character in a field name (a key) or a tag: validate refuses it, as a plan shows names and tags; the schema leaves names free",
    ),
    (
        "csv-and-yaml-problems/contactctl.yaml",
        "a value must fit the type declared for its field under `fields`: a rule between two values",
    ),
    (
        "csv-empty-file/contactctl.yaml",
        "the key field must be a column of the sheet a source names: the schema cannot read the sheet",
    ),
    (
        "csv-missing-file/contactctl.yaml",
        "a source's file must exist, be a file, and lie inside the config's directory: the schema cannot look at files",
    ),
    (
        "csv-undeclared-tag/contactctl.yaml",
        "a source's `tags` must be listed under `tags`: a rule between two values",
    ),
    (
        "deep-nesting.yaml",
        "nesting past the reader's depth limit, stopped while reading the YAML (a reader without a limit hands the schema a `version` that is a list, rejected for that instead)",
    ),
    (
        "duplicate-identity.yaml",
        "two contacts with one identity once values are normalised by their field's type: uniqueness of a computed key across list items",
    ),
    (
        "duplicate-key-across-files/b.yaml",
        "a key also defined in another file of the directory: the schema sees one file at a time",
    ),
    (
        "duplicate-key.yaml",
        "a key twice in one mapping: a YAML rule, gone once the text is data (JSON objects cannot hold it)",
    ),
    (
        "huge-key.yaml",
        "YAML syntax (a plain key longer than 1024 characters): no data to check",
    ),
    (
        "marker-on-contact.yaml",
        "a contact field named like `defaults.marker.field`: a rule between two values of the document",
    ),
    (
        "marker-type.yaml",
        "the marker's value must fit the type declared for that field under `fields`: a rule between two values",
    ),
    (
        "multiple-documents.yaml",
        "a second YAML document in the file: each document passes on its own, and a schema checks one",
    ),
    (
        "no-identity.yaml",
        "the key field (`key:` or `defaults.key`) must have a value among the contact's fields: a rule between two values",
    ),
    (
        "no-yaml-files",
        "a directory without a config file: nothing for a schema to check",
    ),
    (
        "syntax-error.yaml",
        "YAML syntax (an unclosed quote): no data to check",
    ),
    (
        "undeclared-field.yaml",
        "a contact's field must be declared under `fields`: a rule between two values",
    ),
    (
        "undeclared-key-field.yaml",
        "`defaults.channel` must name a channel and a key field must be declared under `fields`: rules between two values",
    ),
    (
        "undeclared-tag.yaml",
        "a contact's tag must be listed under `tags`: a rule between two values",
    ),
    (
        "write-mode-on-key.yaml",
        "the key field, the marker field and a contact's `key:` must be `write: sync`, a tag keeps one write mode, and `safety.protected_fields` must be declared under `fields`: rules between values",
    ),
    (
        "unknown-channel.yaml",
        "a contact's channel must be one of `channels`, and with several channels and no `defaults.channel` it must say which: rules between values",
    ),
];

/// Fixtures in which the schema catches some of the problems `validate` reports, each with why
/// no JSON Schema can express the rest.
const PARTLY: &[(&str, &str)] = &[
    (
        "csv-bad-source/contactctl.yaml",
        "the schema catches the settings of the wrong shape; a source's channel, key field, mapped fields and `tags_column` must name a channel, declared fields and a column of its sheet: rules between values and files",
    ),
    (
        "dot-segment-id.yaml",
        "the schema catches the empty `id`; `.` and `..` are refused by validate, which says why (a path segment that would address another endpoint)",
    ),
    (
        "missing-required.yaml",
        "`version` is required of the merged config, not of each file: a directory may write it in one file only",
    ),
    (
        "wrong-type.yaml",
        "a value must fit the type declared for its field under `fields` (a rule between two values); the schema catches the value that is a list",
    ),
];

/// Where each value and each mapping key of one YAML document starts, by JSON pointer: the
/// places the loader reports problems at (same parser, same 1-based line and column).
#[derive(Default)]
struct Positions {
    values: HashMap<String, (usize, usize)>,
    keys: HashMap<String, (usize, usize)>,
    /// The items of each list, for a problem reported on one item of a list (a duplicate).
    items: HashMap<String, Vec<(usize, usize)>>,
}

/// `None` when the text is not one YAML document the parser reads.
fn positions(text: &str) -> Option<Positions> {
    enum Open {
        Seq(String, usize),
        Map(String, Option<String>),
    }
    let mut out = Positions::default();
    let mut stack: Vec<Open> = Vec::new();
    let mut parser = Parser::new_from_str(text);
    loop {
        let (event, span) = parser.next_event()?.ok()?;
        let pos = (span.start.line(), span.start.col() + 1);
        let starts_node = match &event {
            Event::StreamEnd => return Some(out),
            Event::MappingEnd | Event::SequenceEnd => {
                stack.pop();
                false
            }
            Event::Scalar(..) | Event::MappingStart(..) | Event::SequenceStart(..) => true,
            Event::Alias(_) => true,
            _ => false,
        };
        if !starts_node {
            continue;
        }
        let here = match stack.last_mut() {
            None => String::new(),
            Some(Open::Seq(at, i)) => {
                let here = format!("{at}/{i}");
                out.items.entry(at.clone()).or_default().push(pos);
                *i += 1;
                here
            }
            Some(Open::Map(at, key @ None)) => {
                if let Event::Scalar(k, ..) = &event {
                    let pointer = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                    out.keys.insert(pointer.clone(), pos);
                    *key = Some(pointer);
                }
                continue;
            }
            Some(Open::Map(_, key)) => key.take().unwrap_or_default(),
        };
        out.values.insert(here.clone(), pos);
        match event {
            Event::MappingStart(..) => stack.push(Open::Map(here, None)),
            Event::SequenceStart(..) => stack.push(Open::Seq(here, 0)),
            _ => {}
        }
    }
}

/// The places a schema error points at, where the loader reports the same problem: the
/// unexpected key itself, the items of a list with duplicates, else the value.
fn error_places(error: &jsonschema::ValidationError<'_>, at: &Positions) -> Vec<(usize, usize)> {
    let pointer = error.instance_path().as_str().to_string();
    match error.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected } => unexpected
            .iter()
            .filter_map(|k| at.keys.get(&format!("{pointer}/{k}")).copied())
            .collect(),
        ValidationErrorKind::UniqueItems => at.items.get(&pointer).cloned().unwrap_or_default(),
        _ => vec![at.values.get(&pointer).copied().unwrap_or((1, 1))],
    }
}

/// One problem `validate` reports: a line of an `.expected` file.
struct Expected {
    line: usize,
    col: usize,
    text: String,
}

/// What an editor's schema check makes of one file of the invalid fixtures.
struct Verdict {
    /// The problems `validate` reports in it that the schema also catches.
    caught: Vec<String>,
    /// ...and those it does not.
    missed: Vec<String>,
    /// Schema errors at a place where `validate` reports nothing (the two disagree).
    extra: Vec<String>,
}

/// Each file the invalid fixtures report problems in (a directory's files one by one; the
/// directory itself when the problem is the directory), with those problems.
fn invalid_units() -> BTreeMap<String, Vec<Expected>> {
    let mut units: BTreeMap<String, Vec<Expected>> = BTreeMap::new();
    let mut expected_files: Vec<PathBuf> = fs::read_dir("tests/fixtures/invalid")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("expected"))
        .collect();
    expected_files.sort();
    for file in expected_files {
        for line in fs::read_to_string(&file).unwrap().lines() {
            let rest = line.strip_prefix("tests/fixtures/invalid/").unwrap();
            let mut parts = rest.splitn(4, ':');
            let (Some(unit), Some(l), Some(c), Some(text)) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                panic!("{}: not file:line:col: message: {line}", file.display());
            };
            units.entry(unit.to_string()).or_default().push(Expected {
                line: l.parse().unwrap(),
                col: c.parse().unwrap(),
                text: format!("{l}:{c}:{text}"),
            });
        }
    }
    units
}

fn verdict(
    validator: &jsonschema::Validator,
    path: &Path,
    expected: &[Expected],
) -> Result<Verdict, &'static str> {
    if path.is_dir() {
        return Err("no config file");
    }
    let text = fs::read_to_string(path).map_err(|_| "not UTF-8")?;
    let mut options = serde_saphyr::Options::default();
    options.strict_booleans = true;
    let value: Value =
        serde_saphyr::from_str_with_options(&text, options).map_err(|_| "not read as YAML")?;
    let at = positions(&text).ok_or("not read as YAML")?;
    let mut places = Vec::new();
    let mut extra = Vec::new();
    for error in validator.iter_errors(&value) {
        let these = error_places(&error, &at);
        if !expected.iter().any(|e| these.contains(&(e.line, e.col))) {
            extra.push(format!("{} at {}", error, error.instance_path()));
        }
        places.extend(these);
    }
    let (caught, missed): (Vec<&Expected>, Vec<&Expected>) = expected
        .iter()
        .partition(|e| places.contains(&(e.line, e.col)));
    let texts = |v: Vec<&Expected>| v.into_iter().map(|e| e.text.clone()).collect();
    Ok(Verdict {
        caught: texts(caught),
        missed: texts(missed),
        extra,
    })
}

#[test]
fn the_invalid_fixtures_the_schema_cannot_catch_are_exactly_the_listed_ones() {
    let schema: Value = serde_json::from_str(&fs::read_to_string(SCHEMA_FILE).unwrap()).unwrap();
    let validator = jsonschema::draft202012::new(&schema).unwrap();
    let units = invalid_units();
    assert!(units.len() >= 25, "{:?}", units.keys());
    let mut only_validate = BTreeMap::new();
    let mut partly = BTreeMap::new();
    let mut report = String::new();
    let mut disagreements = Vec::new();
    for (unit, expected) in &units {
        // A problem inside a CSV sheet (`sources:`) is beyond any schema of the YAML: a sheet is
        // data the YAML names, read by the loader alone.
        if unit.ends_with(".csv") {
            continue;
        }
        let path = Path::new("tests/fixtures/invalid").join(unit);
        match verdict(&validator, &path, expected) {
            Err(why) => {
                report.push_str(&format!("{unit}: schema never sees it ({why})\n"));
                only_validate.insert(unit.as_str(), ());
            }
            Ok(v) => {
                report.push_str(&format!(
                    "{unit}: schema catches {}, misses {}\n",
                    v.caught.len(),
                    v.missed.len()
                ));
                for m in &v.missed {
                    report.push_str(&format!("    missed {m}\n"));
                }
                if v.caught.is_empty() {
                    only_validate.insert(unit.as_str(), ());
                } else if !v.missed.is_empty() {
                    partly.insert(unit.as_str(), ());
                }
                for e in v.extra {
                    disagreements.push(format!("{unit}: {e}"));
                }
            }
        }
    }
    let listed = |l: &[(&'static str, &str)]| l.iter().map(|(u, _)| (*u, ())).collect();
    let listed_only: BTreeMap<&str, ()> = listed(ONLY_VALIDATE);
    let listed_partly: BTreeMap<&str, ()> = listed(PARTLY);
    assert!(
        only_validate == listed_only && partly == listed_partly,
        "the schema's verdicts changed; update ONLY_VALIDATE and PARTLY:\n{report}\n\
         only validate: {:?}\npartly: {:?}",
        only_validate.keys(),
        partly.keys()
    );
    assert!(
        disagreements.is_empty(),
        "the schema rejects what validate does not report there:\n{}",
        disagreements.join("\n")
    );
}
