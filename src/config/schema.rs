//! The JSON Schema of the config, generated from the raw types in `raw.rs`, and the check of a
//! merged config against it. Each schema error is turned into one problem (`SchemaProblem`, one
//! plain sentence once worded) at the position of the offending key or value (found by walking
//! the positioned tree along the error's instance path), so the schema and the loader can never
//! disagree about what is valid.
//!
//! Knows nothing of the config's meaning beyond the schema; semantic rules are in `check.rs`.

use std::collections::HashSet;
use std::sync::OnceLock;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::paths::{Location, LocationSegment};
use jsonschema::{ValidationError, Validator};
use serde_json::Value;

use super::diag::Diags;
use super::problem::{Alternatives, Found, JsonType, KeyChoices, SchemaProblem, Under};
use super::raw::RawConfig;
use super::yaml::Node;

/// The schema as a JSON value.
pub(crate) fn schema_value() -> Value {
    let schema = schemars::generate::SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<RawConfig>();
    schema.to_value()
}

/// The schema, pretty-printed with a trailing newline (what `contactctl schema` prints and
/// `schemas/contactctl.schema.json` holds).
pub(crate) fn schema_json() -> String {
    let mut out = serde_json::to_string_pretty(&schema_value())
        .unwrap_or_else(|e| format!("{{\"error\": {:?}}}", e.to_string()));
    out.push('\n');
    out
}

/// The validator, built once per process (the schema is a constant of the binary).
fn validator() -> Result<&'static (Validator, Value), &'static str> {
    static VALIDATOR: OnceLock<Result<(Validator, Value), String>> = OnceLock::new();
    VALIDATOR
        .get_or_init(|| {
            let schema = schema_value();
            jsonschema::draft202012::new(&schema)
                .map(|v| (v, schema))
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(String::as_str)
}

/// Where the schema found problems, so later checks skip what is already reported.
#[derive(Debug, Default)]
pub(crate) struct SchemaReport {
    /// Instance paths (JSON pointers) of every schema error.
    pointers: Vec<String>,
    /// Indices of contacts with a schema error.
    pub contacts: HashSet<usize>,
    /// The config has a top-level key the schema does not know (`defualts`): a section may be
    /// misspelt, so what its absence implies is not reported again.
    pub unknown_top_level_key: bool,
}

impl SchemaReport {
    /// Whether the top-level `section`, absent from `value`, may be there under a misspelt key:
    /// the config has a top-level key the schema does not know (`defualts`, `chanels`), reported
    /// once with its did-you-mean. What the section's absence implies (the section missing, a
    /// contact without a channel, a field or a tag not declared) then follows from that one
    /// slip and is not reported.
    pub fn may_be_misspelt(&self, value: &Value, section: &str) -> bool {
        self.unknown_top_level_key && value.get(section).is_none()
    }

    /// Whether a schema error was reported at `pointer` or inside it.
    pub fn flagged(&self, pointer: &str) -> bool {
        self.pointers.iter().any(|p| {
            p.strip_prefix(pointer)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        })
    }
}

/// Check the merged config `value` (built from `root`) against the schema; report each error.
pub(crate) fn check(value: &Value, root: &Node, diags: &mut Diags) -> SchemaReport {
    let mut report = SchemaReport::default();
    let (validator, schema) = match validator() {
        Ok(v) => v,
        Err(e) => {
            diags.push(root.pos, SchemaProblem::DoesNotCompile(e));
            return report;
        }
    };
    for error in validator.iter_errors(value) {
        // Duplicates are reported by the semantic checks, with both positions; they taint nothing.
        if matches!(error.kind(), ValidationErrorKind::UniqueItems) {
            continue;
        }
        let path = error.instance_path();
        let segments: Vec<LocationSegment<'_>> = path.iter().collect();
        // A contact with neither `id` nor `fields` (the contact's `anyOf`) is reported by the
        // semantic checks, which name the key field whose value it needs: the schema cannot.
        if matches!(error.kind(), ValidationErrorKind::AnyOf { .. })
            && matches!(
                segments.as_slice(),
                [LocationSegment::Property(first), LocationSegment::Index(_)] if first == "contacts"
            )
        {
            continue;
        }
        if let [
            LocationSegment::Property(first),
            LocationSegment::Index(i),
            ..,
        ] = segments.as_slice()
            && first == "contacts"
        {
            report.contacts.insert(*i);
        }
        if segments.is_empty()
            && matches!(
                error.kind(),
                ValidationErrorKind::AdditionalProperties { .. }
            )
        {
            report.unknown_top_level_key = true;
        }
        report.pointers.push(path.as_str().to_string());
        let node = locate(root, &segments);
        // a value refused as no variable name may be a token: its line is not shown either
        let secret = matches!(error.kind(), ValidationErrorKind::Pattern { .. })
            && matches!(segments.last(), Some(LocationSegment::Property(p)) if p == "token_env");
        for (target, problem) in describe(&error, &segments, schema) {
            let pos = match target {
                Target::Value => node.pos,
                Target::Key(name) => node.entry(&name).map(|e| e.key_pos).unwrap_or(node.pos),
            };
            if secret {
                diags.push_secret(pos, problem);
            } else {
                diags.push(pos, problem);
            }
        }
    }
    report
}

/// Walk `root` along an instance path to the deepest node reached (the root for an empty path).
fn locate<'a>(root: &'a Node, segments: &[LocationSegment<'_>]) -> &'a Node {
    let mut node = root;
    for segment in segments {
        let next = match segment {
            LocationSegment::Property(name) => node.get(name),
            LocationSegment::Index(i) => node.item(*i),
        };
        match next {
            Some(n) => node = n,
            None => break,
        }
    }
    node
}

/// Where a problem is reported.
enum Target {
    /// At the value the error is about.
    Value,
    /// At this key of the mapping the error is about.
    Key(String),
}

/// The problems a validation error stands for, each with where it is reported.
fn describe(
    error: &ValidationError<'_>,
    segments: &[LocationSegment<'_>],
    schema: &Value,
) -> Vec<(Target, SchemaProblem)> {
    let instance = error.instance();
    let last = match segments.last() {
        Some(LocationSegment::Property(p)) => p.as_ref(),
        _ => "",
    };
    let one = |p: SchemaProblem| vec![(Target::Value, p)];
    // a value's message names its key: `rate_limit: expected a whole number, found text`
    let under = || Under(last.to_string());
    let found = || instance.clone().into_owned();
    match error.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            unknown_keys(unexpected, segments, schema, error.schema_path())
        }
        ValidationErrorKind::Required { property } => {
            let name = property
                .as_str()
                .map_or_else(|| property.to_string(), str::to_string);
            one(SchemaProblem::MissingKey(name))
        }
        ValidationErrorKind::Type { kind } => {
            let mut expected: Vec<JsonType> = match kind {
                TypeKind::Single(t) => vec![type_name(t.as_str())],
                TypeKind::Multiple(set) => set.iter().map(|t| type_name(t.as_str())).collect(),
            };
            expected.sort();
            one(SchemaProblem::WrongType {
                under: under(),
                expected: Alternatives(expected),
                found: Found(json_kind(instance.as_ref())),
            })
        }
        // `version: "1"`: the type error above says it; "unsupported version" would contradict it
        ValidationErrorKind::Constant { expected_value }
            if last == "version" && instance.is_string() && expected_value.is_number() =>
        {
            Vec::new()
        }
        ValidationErrorKind::Constant { expected_value } if last == "version" => {
            one(SchemaProblem::UnsupportedVersion {
                found: found(),
                expected: expected_value.as_ref().clone(),
            })
        }
        ValidationErrorKind::Constant { expected_value } => one(SchemaProblem::NotConstant {
            under: under(),
            expected: expected_value.as_ref().clone(),
            found: found(),
        }),
        ValidationErrorKind::Enum { options } => {
            let options: Vec<String> = options
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|o| o.as_str().map_or_else(|| o.to_string(), str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            one(SchemaProblem::NotOneOf {
                under: under(),
                found: found(),
                options,
            })
        }
        ValidationErrorKind::Minimum { limit } => one(SchemaProblem::BelowMinimum {
            under: under(),
            found: found(),
            limit: limit.clone(),
        }),
        ValidationErrorKind::Maximum { limit } => one(SchemaProblem::AboveMaximum {
            under: under(),
            found: found(),
            limit: limit.clone(),
        }),
        ValidationErrorKind::MinLength { limit: 1 } => one(SchemaProblem::Empty(under())),
        // the value is not repeated: it may be the token itself, pasted in by mistake
        ValidationErrorKind::Pattern { .. } if last == "token_env" => {
            one(SchemaProblem::TokenEnvLooksLikeToken)
        }
        ValidationErrorKind::Pattern { .. } if last == "base_url" => {
            one(base_url_problem(instance.as_str().unwrap_or("")))
        }
        _ => one(SchemaProblem::Other(error.to_string())),
    }
}

/// The problems of keys the schema does not allow (`unexpected`) in the mapping at `segments`,
/// each at its key: a token written in a channel, or an unknown key with the keys allowed there
/// (read from `schema` at the error's `schema_path`) and the one it most likely meant.
fn unknown_keys(
    unexpected: &[String],
    segments: &[LocationSegment<'_>],
    schema: &Value,
    schema_path: &Location,
) -> Vec<(Target, SchemaProblem)> {
    let in_channel = matches!(
        segments,
        [LocationSegment::Property(s), LocationSegment::Property(_)] if s == "channels"
    );
    let allowed = allowed_keys(schema, schema_path);
    unexpected
        .iter()
        .map(|key| {
            let problem = if in_channel && key.to_ascii_lowercase().contains("token") {
                SchemaProblem::TokenWritten
            } else {
                SchemaProblem::UnknownKey {
                    key: key.clone(),
                    choices: KeyChoices {
                        guess: did_you_mean(key, &allowed).map(str::to_string),
                        allowed: allowed.clone(),
                    },
                }
            };
            (Target::Key(key.clone()), problem)
        })
        .collect()
}

/// Why `url` is not a `base_url`, repeating it only when it holds no user info (which may be a
/// password).
fn base_url_problem(url: &str) -> SchemaProblem {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        SchemaProblem::BaseUrlUserInfo
    } else if url.contains('?') || url.contains('#') {
        SchemaProblem::BaseUrlQuery(url.to_string())
    } else {
        SchemaProblem::NotHttpUrl(url.to_string())
    }
}

/// The allowed key `key` was most likely meant to be (a typo, another case), if one is close.
fn did_you_mean<'a>(key: &str, allowed: &'a [String]) -> Option<&'a str> {
    allowed
        .iter()
        .map(|k| {
            (
                strsim::jaro_winkler(&key.to_lowercase(), &k.to_lowercase()),
                k,
            )
        })
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k.as_str())
}

/// The property names the schema allows where an `additionalProperties` error was raised.
fn allowed_keys(schema: &Value, schema_path: &Location) -> Vec<String> {
    let pointer = schema_path.as_str();
    let parent = pointer
        .strip_suffix("/additionalProperties")
        .unwrap_or(pointer);
    schema
        .pointer(parent)
        .and_then(|s| s.get("properties"))
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

/// A JSON Schema type name (`integer`) as the type it is in YAML terms.
fn type_name(t: &str) -> JsonType {
    match t {
        "string" => JsonType::Text,
        "integer" => JsonType::WholeNumber,
        "number" => JsonType::Number,
        "boolean" => JsonType::Boolean,
        "array" => JsonType::List,
        "object" => JsonType::Mapping,
        "null" => JsonType::Null,
        _ => JsonType::Other,
    }
}

/// The type of the value `v` in YAML terms.
fn json_kind(v: &Value) -> JsonType {
    match v {
        Value::Null => JsonType::Null,
        Value::Bool(_) => JsonType::Boolean,
        Value::Number(n) if n.is_f64() => JsonType::Number,
        Value::Number(_) => JsonType::WholeNumber,
        Value::String(_) => JsonType::Text,
        Value::Array(_) => JsonType::List,
        Value::Object(_) => JsonType::Mapping,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_compiles() {
        assert!(validator().is_ok());
    }

    #[test]
    fn flagged_matches_whole_segments() {
        let report = SchemaReport {
            pointers: vec!["/contacts/1/fields".into()],
            contacts: HashSet::new(),
            unknown_top_level_key: false,
        };
        assert!(report.flagged("/contacts/1"));
        assert!(report.flagged("/contacts/1/fields"));
        assert!(!report.flagged("/contacts/10"));
        assert!(!report.flagged("/channels"));
    }

    #[test]
    fn an_absent_section_may_be_misspelt_only_beside_an_unknown_top_level_key() {
        let value = serde_json::json!({"version": 1, "chanels": {}});
        let mut report = SchemaReport::default();
        assert!(!report.may_be_misspelt(&value, "channels"));
        report.unknown_top_level_key = true;
        assert!(report.may_be_misspelt(&value, "channels"));
        assert!(report.may_be_misspelt(&value, "fields"));
        // a section that is there is not misspelt
        assert!(!report.may_be_misspelt(&value, "version"));
    }
}
