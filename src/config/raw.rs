//! The config as written: serde + schemars types, one per YAML section. They are the single
//! source of the JSON Schema (`contactctl schema`), and what the loader deserializes each section
//! into after the schema has passed. Doc comments here become the schema's descriptions, which
//! editors show as help: write them for the person editing the YAML. The schemas written by hand
//! (a tag, a contact ID, a field value) are data files in `schemas/`, their descriptions too.
//!
//! Owns the shape of the file only; positions, merging and meaning live in the sibling modules.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

use crate::model::{BooleanFormat, DEFAULT_RATE_LIMIT, FieldType, TagWrite, WriteMode};

/// Settings and desired contacts of a contactctl repository. Write it as one file, or split it
/// into several `*.yaml` files of one directory: mappings merge by key, `contacts`, `sources` and
/// `tags` lists are concatenated. `version` and `channels` must appear in one of the files.
///
/// The schema describes one file, so that an editor checks each file of a directory on its own;
/// the loader requires `version` and `channels` of the merged config.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "contactctl config")]
pub(crate) struct RawConfig {
    /// Version of this config format: `1`. Required (in one file of a directory at least).
    #[schemars(extend("const" = 1))]
    #[schemars(transform = not_null)]
    pub version: Option<u32>,
    /// The platform channels contacts live on, by name (e.g. `web`, `viber`). Each one has its own
    /// API root, token variable and rate limit. Required (in one file of a directory at least).
    #[serde(default)]
    pub channels: BTreeMap<String, RawChannel>,
    /// The contact fields this repository manages, by name, with their types. Only these may be
    /// written on a contact; fields the platform has but this list omits are never touched.
    #[serde(default)]
    pub fields: BTreeMap<String, RawField>,
    /// The tags this repository manages: a name, or `{ name: NAME, write: add }`. Only these may
    /// be written on a contact; a managed tag a contact should not have is removed (unless its
    /// `write` is `add`), other tags are never touched.
    #[serde(default)]
    #[schemars(extend("uniqueItems" = true))]
    pub tags: Vec<RawTag>,
    /// What a contact that does not say otherwise uses: its channel, its key field, and the
    /// marker every managed contact carries.
    #[serde(default)]
    pub defaults: RawDefaults,
    /// When `apply` refuses to run without `--force`: too many changes to existing contacts.
    #[serde(default)]
    pub safety: RawSafety,
    /// The contacts as they should be on the platform. Each is found by `id`, or else by the
    /// value of its key field.
    #[serde(default)]
    pub contacts: Vec<RawContact>,
    /// More contacts, read from CSV files (spreadsheets) kept beside the YAML: each row is a
    /// contact, as if written under `contacts`. Lists of several files are concatenated.
    #[serde(default)]
    pub sources: Vec<RawSource>,
}

/// One platform channel: where its API is and which environment variable holds its token.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Channel")]
pub(crate) struct RawChannel {
    /// API root, `http://` or `https://`; calls go to `{base_url}/v1/...`. A trailing `/` is
    /// ignored. No user info (`user:pass@`: the token comes from `token_env`), no query string.
    #[schemars(regex(pattern = r"^[Hh][Tt][Tt][Pp][Ss]?://[^\s/?#@]+(/[^\s?#]*)?$"))]
    pub base_url: String,
    /// Name of the environment variable that holds this channel's token, e.g.
    /// `CONTACTS_WEB_TOKEN`: letters, digits and `_`, not starting with a digit. The token
    /// itself is never written in the config.
    #[schemars(regex(pattern = r"^[A-Za-z_][A-Za-z0-9_]*$"))]
    pub token_env: String,
    /// Calls per minute the channel accepts; contactctl never sends more in any 60-second window.
    #[serde(default = "default_rate_limit")]
    #[schemars(range(min = 1))]
    pub rate_limit: u32,
    /// A Viber channel: contact IDs are Base64-encoded in update and tag calls.
    #[serde(default)]
    pub viber: bool,
    /// Base64-encode the contact ID in the get-by-ID call too. Defaults to the value of `viber`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = not_null)]
    pub viber_encode_get: Option<bool>,
    /// How booleans are written: `upper` (`TRUE`/`FALSE`, the default) or `lower`
    /// (`true`/`false`).
    #[serde(default)]
    #[schemars(schema_with = "boolean_format_schema")]
    pub boolean_format: BooleanFormat,
}

fn default_rate_limit() -> u32 {
    DEFAULT_RATE_LIMIT
}

/// A managed field.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Field")]
pub(crate) struct RawField {
    /// How values are checked and compared: `text`, `number` (`"7"` = `7`), `boolean` (`TRUE` =
    /// `true`), `email` (case-insensitive), `phone` (spaces, dashes, dots and parentheses
    /// ignored), `url`, or `date` (`YYYY-MM-DD`).
    #[serde(rename = "type")]
    #[schemars(schema_with = "field_type_schema")]
    pub ty: FieldType,
    /// Who has the last word: `sync` (the default) writes every difference; `create` writes the
    /// value only when contactctl creates the contact; `if_empty` only while the platform holds
    /// no value. A platform value `create` or `if_empty` does not overwrite is shown as kept.
    /// The key field and the marker field must be `sync`.
    #[serde(default)]
    #[schemars(schema_with = "write_mode_schema")]
    pub write: WriteMode,
}

/// A managed tag: its name, or its name and write mode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct RawTag {
    /// The tag's name.
    pub name: String,
    /// `sync` (the default): added where listed, removed where a contact's `tags:` omits it;
    /// `add`: added where listed, never removed.
    pub write: TagWrite,
}

impl JsonSchema for RawTag {
    fn schema_name() -> Cow<'static, str> {
        "Tag".into()
    }

    // One schema for both forms, rather than a `oneOf`: `minLength` binds only text and
    // `properties`/`required` only a mapping, so a bad `write` is reported at its own value.
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        hand_written(include_str!("schemas/tag.json"))
    }
}

impl<'de> Deserialize<'de> for RawTag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Full {
            name: String,
            #[serde(default)]
            write: TagWrite,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            Name(String),
            Full(Full),
        }
        Ok(match Either::deserialize(d)? {
            Either::Name(name) => RawTag {
                name,
                write: TagWrite::Sync,
            },
            Either::Full(f) => RawTag {
                name: f.name,
                write: f.write,
            },
        })
    }
}

/// Defaults for contacts that do not set their own.
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Defaults")]
pub(crate) struct RawDefaults {
    /// Channel of a contact without `channel:`. Not needed when there is only one channel.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    #[schemars(transform = not_null)]
    pub channel: Option<String>,
    /// Field that identifies a contact without `id:` or `key:` (looked up by its value), e.g.
    /// `email`. Must be declared in `fields`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    #[schemars(transform = not_null)]
    pub key: Option<String>,
    /// A field every managed contact carries, so `plan` can read them in bulk (10 a call)
    /// instead of one by one. contactctl writes it; do not set it on contacts, and it need not be
    /// declared in `fields`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(transform = not_null)]
    pub marker: Option<RawMarker>,
}

/// The marker field and its value.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Marker")]
pub(crate) struct RawMarker {
    /// Name of the marker field, e.g. `managed_by`.
    #[schemars(length(min = 1))]
    pub field: String,
    /// Value every managed contact holds in the marker field, e.g. `git`.
    #[schemars(length(min = 1))]
    pub value: String,
}

/// Thresholds of `apply`'s safety check.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Safety")]
pub(crate) struct RawSafety {
    /// Refuse (without `--force`) when strictly more than this percentage of a channel's existing
    /// managed contacts would change.
    #[serde(default = "default_max_change_percent")]
    #[schemars(range(min = 0, max = 100))]
    pub max_change_percent: f64,
    /// ...but only when the channel has at least this many existing managed contacts.
    #[serde(default = "default_min_existing")]
    pub min_existing: u32,
    /// Fields whose value `apply` may change or clear on an existing contact only with `--force`
    /// (e.g. `[email]`). Filling an empty value and creating a contact need no `--force`. Each
    /// must be declared in `fields`.
    #[serde(default)]
    #[schemars(inner(length(min = 1)))]
    #[schemars(extend("uniqueItems" = true))]
    pub protected_fields: Vec<String>,
}

impl Default for RawSafety {
    fn default() -> Self {
        RawSafety {
            max_change_percent: default_max_change_percent(),
            min_existing: default_min_existing(),
            protected_fields: Vec::new(),
        }
    }
}

fn default_max_change_percent() -> f64 {
    30.0
}

fn default_min_existing() -> u32 {
    10
}

/// A contact as it should be on the platform. It needs `id`, or `fields` holding the value of
/// its key field.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Contact")]
// Which field is the key (`key:` or `defaults.key`) and whether it has a value is for `validate`;
// that a contact without `id` names at least one field is the part a schema can say.
#[schemars(extend("anyOf" = [
    { "required": ["id"] },
    {
        "required": ["fields"],
        "properties": {
            "fields": {
                "description": "Without `id`, the contact is looked up by its key field: `fields` must hold its value.",
                "minProperties": 1
            }
        }
    }
]))]
pub(crate) struct RawContact {
    /// Channel the contact lives on. Defaults to `defaults.channel` (or the only channel).
    #[schemars(length(min = 1))]
    #[schemars(transform = not_null)]
    pub channel: Option<String>,
    /// The platform's contact ID, when known: the contact is then read by ID instead of looked up
    /// by its key field. Write it as the platform shows it (not Base64-encoded).
    #[schemars(transform = not_null)]
    pub id: Option<IdValue>,
    /// Field that identifies this contact (looked up by its value). Defaults to `defaults.key`.
    #[schemars(length(min = 1))]
    #[schemars(transform = not_null)]
    pub key: Option<String>,
    /// Field values to hold, by field name. Each field must be declared in `fields` and the value
    /// must fit its type; `null` clears the field. Fields not written here are left alone.
    #[schemars(transform = not_null)]
    pub fields: Option<BTreeMap<String, FieldValue>>,
    /// Managed tags the contact should have; other managed tags are removed from it (`[]` removes
    /// them all). Without `tags:` the contact's tags are left alone.
    #[schemars(inner(length(min = 1)))]
    #[schemars(extend("uniqueItems" = true))]
    #[schemars(transform = not_null)]
    pub tags: Option<Vec<String>>,
}

/// A CSV file of contacts: a header row, then one contact per row.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Source")]
pub(crate) struct RawSource {
    /// Path of the CSV file, relative to the YAML file that names it, inside its directory
    /// (e.g. `lists/event-2026.csv`). UTF-8 (a BOM is allowed), comma-separated, with a header
    /// row naming the columns.
    #[schemars(length(min = 1))]
    pub csv: String,
    /// Channel of every row. Defaults to `defaults.channel` (or the only channel).
    #[schemars(length(min = 1))]
    #[schemars(transform = not_null)]
    pub channel: Option<String>,
    /// Field that identifies each row (looked up by its value); its column must have a value on
    /// every row. Defaults to `defaults.key`.
    #[schemars(length(min = 1))]
    #[schemars(transform = not_null)]
    pub key: Option<String>,
    /// Columns whose header is not the field's name: field name → column header, e.g.
    /// `firstName: First Name`. A declared field not listed here reads the column of its own
    /// name, if the file has one.
    #[serde(default)]
    pub columns: BTreeMap<String, String>,
    /// Header of a column holding each row's tags, separated by `;` (e.g. `VIP; Blog Updates`).
    /// Each must be declared in `tags`.
    #[schemars(length(min = 1))]
    #[schemars(transform = not_null)]
    pub tags_column: Option<String>,
    /// Tags every row carries, added to those of `tags_column`. With `tags_column` or `tags`, a
    /// row's other managed tags are removed; with neither, rows leave their tags alone.
    #[schemars(inner(length(min = 1)))]
    #[schemars(extend("uniqueItems" = true))]
    #[schemars(transform = not_null)]
    pub tags: Option<Vec<String>>,
    /// What an empty cell means: `keep` (the default) leaves the field alone, `clear` clears it.
    #[serde(default)]
    #[schemars(schema_with = "empty_cells_schema")]
    pub empty: EmptyCells,
    /// Columns to skip. Any other column must be a declared field, a column named in `columns`,
    /// or `tags_column`.
    #[serde(default)]
    pub ignore_columns: Vec<String>,
}

/// What an empty CSV cell means for its field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum EmptyCells {
    /// Leave the field alone, like a field not written on a YAML contact.
    #[default]
    Keep,
    /// Clear the field, like `null` on a YAML contact.
    Clear,
}

/// A contact ID: text, or a whole number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct IdValue(pub String);

impl JsonSchema for IdValue {
    fn schema_name() -> Cow<'static, str> {
        "ContactId".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        hand_written(include_str!("schemas/contact_id.json"))
    }
}

impl<'de> Deserialize<'de> for IdValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = IdValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a contact ID (text or a whole number)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<IdValue, E> {
                Ok(IdValue(v.to_string()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<IdValue, E> {
                Ok(IdValue(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<IdValue, E> {
                Ok(IdValue(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<IdValue, E> {
                Ok(IdValue(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// A field value as written: text, a number, a boolean, or `null` (clear the field).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub(crate) enum FieldValue {
    /// `null` (or nothing): clear the field.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number; its wire text is taken from the source, as written.
    Number(serde_json::Number),
    /// Text.
    Text(String),
}

impl JsonSchema for FieldValue {
    fn schema_name() -> Cow<'static, str> {
        "FieldValue".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        hand_written(include_str!("schemas/field_value.json"))
    }
}

impl<'de> Deserialize<'de> for FieldValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = FieldValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("text, a number, true/false or null")
            }
            fn visit_unit<E: de::Error>(self) -> Result<FieldValue, E> {
                Ok(FieldValue::Null)
            }
            fn visit_none<E: de::Error>(self) -> Result<FieldValue, E> {
                Ok(FieldValue::Null)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<FieldValue, D::Error> {
                FieldValue::deserialize(d)
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<FieldValue, E> {
                Ok(FieldValue::Bool(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<FieldValue, E> {
                Ok(FieldValue::Number(v.into()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<FieldValue, E> {
                Ok(FieldValue::Number(v.into()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<FieldValue, E> {
                serde_json::Number::from_f64(v)
                    .map(FieldValue::Number)
                    .ok_or_else(|| E::custom(NotFinite))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<FieldValue, E> {
                Ok(FieldValue::Text(v.to_string()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<FieldValue, E> {
                Ok(FieldValue::Text(v))
            }
        }
        d.deserialize_any(V)
    }
}

/// A schema written by hand, read from its data file in `schemas/` (its descriptions are the
/// schema's text, shown by editors as help). The files are constants of the binary: a file that
/// does not parse is a bug, as a `json_schema!` that does not build one is.
fn hand_written(json: &'static str) -> Schema {
    serde_json::from_str(json)
        .unwrap_or_else(|e| panic!("a hand-written schema in src/config/schemas/ is invalid: {e}"))
}

/// Why a float read as a field value is refused: JSON has no infinity nor NaN.
struct NotFinite;

impl fmt::Display for NotFinite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number must be finite")
    }
}

/// An optional key may be left out, but not written as `null`: `tags:` with nothing after it
/// would otherwise read as "leave the tags alone", which is easily mistaken for `tags: []`.
fn not_null(schema: &mut Schema) {
    if let Some(serde_json::Value::Array(types)) = schema.get_mut("type") {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let only = types.remove(0);
            schema.insert("type".into(), only);
        }
    }
    if let Some(serde_json::Value::Array(mut any_of)) = schema.remove("anyOf") {
        any_of.retain(|s| s.get("type").and_then(|t| t.as_str()) != Some("null"));
        if any_of.len() == 1 {
            if let Some(serde_json::Value::Object(only)) = any_of.pop() {
                for (k, v) in only {
                    schema.insert(k, v);
                }
            }
        } else {
            schema.insert("anyOf".into(), any_of.into());
        }
    }
}

fn field_type_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "string",
        "enum": ["text", "number", "boolean", "email", "phone", "url", "date"]
    })
}

fn write_mode_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "string",
        "enum": ["sync", "create", "if_empty"],
        "default": "sync"
    })
}

fn empty_cells_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "string",
        "enum": ["keep", "clear"],
        "default": "keep"
    })
}

fn boolean_format_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "string",
        "enum": ["upper", "lower"],
        "default": "upper"
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_values_keep_their_yaml_kind() {
        let v: BTreeMap<String, FieldValue> =
            serde_json::from_str(r#"{"a":null,"b":true,"c":7,"d":"x","e":1.5}"#).unwrap();
        assert_eq!(v["a"], FieldValue::Null);
        assert_eq!(v["b"], FieldValue::Bool(true));
        assert_eq!(v["c"], FieldValue::Number(7.into()));
        assert_eq!(v["d"], FieldValue::Text("x".into()));
        assert!(matches!(v["e"], FieldValue::Number(_)));
    }

    #[test]
    fn a_tag_is_a_name_or_a_name_and_a_write_mode() {
        let v: Vec<RawTag> = serde_json::from_str(
            r#"["VIP", {"name": "Onboarded", "write": "add"}, {"name": "X"}]"#,
        )
        .unwrap();
        assert_eq!(
            v.iter()
                .map(|t| (t.name.as_str(), t.write))
                .collect::<Vec<_>>(),
            [
                ("VIP", TagWrite::Sync),
                ("Onboarded", TagWrite::Add),
                ("X", TagWrite::Sync)
            ]
        );
        assert!(serde_json::from_str::<RawTag>(r#"{"name": "X", "write": "create"}"#).is_err());
        let f: RawField = serde_json::from_str(r#"{"type": "text", "write": "if_empty"}"#).unwrap();
        assert_eq!(f.write, WriteMode::IfEmpty);
    }

    #[test]
    fn ids_may_be_text_or_whole_numbers() {
        let v: Vec<IdValue> = serde_json::from_str(r#"["a+/=", 1776025372480910]"#).unwrap();
        assert_eq!(v[0].0, "a+/=");
        assert_eq!(v[1].0, "1776025372480910");
        assert!(serde_json::from_str::<IdValue>("1.5").is_err());
    }
}
