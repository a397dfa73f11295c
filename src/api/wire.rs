//! The Contacts API's JSON bodies, shared by the HTTP client and the sandbox so the two can never
//! disagree about the wire. Parsing is lenient where the documents are loose (values that are
//! numbers or `null`, IDs that are numbers, `message` as a string or a list) and strict nowhere
//! else. No IO here.

use serde::{Deserialize, Deserializer, Serialize};

pub use crate::model::FieldWrite;
use crate::model::{Fields, LiveContact};

/// A contact as the API sends it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireContact {
    /// Platform contact ID (numbers are accepted and kept as their text).
    #[serde(deserialize_with = "string_or_number")]
    pub id: String,
    /// Field values; numbers and booleans are kept as their text, `null` as `None`.
    #[serde(default, deserialize_with = "lenient_fields")]
    pub custom_fields: Fields,
    /// Tags (a missing or `null` list is empty).
    #[serde(default, deserialize_with = "null_as_default")]
    pub tags: Vec<String>,
    /// Seconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<i64>,
}

impl From<WireContact> for LiveContact {
    fn from(w: WireContact) -> Self {
        LiveContact {
            id: w.id,
            fields: w.custom_fields,
            tags: w.tags,
        }
    }
}

/// `{"data": T}`, the envelope of get, create and update responses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Data<T> {
    /// The payload.
    pub data: T,
}

/// `{"id": "..."}`, what create and update return.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdOnly {
    /// The contact's ID.
    #[serde(deserialize_with = "string_or_number")]
    pub id: String,
}

/// Body of create (call 6) and update (call 3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldsBody {
    /// The fields to write; a value may come as a number, a boolean or `null` (kept as its
    /// text; `null` as `""`).
    #[serde(deserialize_with = "lenient_writes")]
    pub custom_fields: Vec<FieldWrite>,
}

/// Body of add tags (call 4) and remove tags (call 5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TagsBody {
    /// Tag names.
    pub tags: Vec<String>,
}

/// Laravel-style pagination links of the look-up by custom field.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Links {
    pub first: Option<String>,
    pub last: Option<String>,
    pub prev: Option<String>,
    pub next: Option<String>,
}

/// Laravel-style pagination metadata of the look-up by custom field. Numbers may come as JSON
/// numbers or as numeric strings (PHP serialises either); anything else reads as absent.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Meta {
    #[serde(default, deserialize_with = "lenient_count")]
    pub current_page: Option<u64>,
    #[serde(default, deserialize_with = "lenient_count")]
    pub from: Option<u64>,
    #[serde(default, deserialize_with = "lenient_count")]
    pub last_page: Option<u64>,
    #[serde(default, deserialize_with = "lenient_text")]
    pub path: Option<String>,
    #[serde(default, deserialize_with = "lenient_count")]
    pub per_page: Option<u64>,
    #[serde(default, deserialize_with = "lenient_count")]
    pub to: Option<u64>,
    #[serde(default, deserialize_with = "lenient_count")]
    pub total: Option<u64>,
}

/// A page of the look-up by custom field (call 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page {
    /// The contacts on this page.
    #[serde(default, deserialize_with = "null_as_default")]
    pub data: Vec<WireContact>,
    /// Page links (not followed: they drop the filter).
    #[serde(default)]
    pub links: Links,
    /// Where this page stands.
    #[serde(default)]
    pub meta: Meta,
}

/// `message` of a status body: a string, or a list of strings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Message {
    /// One message.
    One(String),
    /// Several messages.
    Many(Vec<String>),
}

impl Message {
    /// All messages joined with `; `.
    pub fn text(&self) -> String {
        match self {
            Message::One(s) => s.clone(),
            Message::Many(v) => v.join("; "),
        }
    }
}

/// `{"status": ..., "message": ..., "data": []}`: every error, and the tag calls' success.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusBody {
    /// `success` or `error`.
    pub status: String,
    /// What happened.
    pub message: Message,
    /// Always an empty list in the documents.
    #[serde(default)]
    pub data: serde_json::Value,
}

impl StatusBody {
    /// An error body with `message`.
    pub fn error(message: impl Into<String>) -> Self {
        StatusBody {
            status: "error".into(),
            message: Message::One(message.into()),
            data: serde_json::Value::Array(vec![]),
        }
    }

    /// A success body with `message`.
    pub fn success(message: impl Into<String>) -> Self {
        StatusBody {
            status: "success".into(),
            message: Message::One(message.into()),
            data: serde_json::Value::Array(vec![]),
        }
    }
}

/// A body the lenient parsing still cannot read: what was expected, and what was found.
#[derive(Debug, thiserror::Error)]
enum Unreadable {
    /// A field value that is an object or a list where a scalar belongs.
    #[error("expected a string, found {0}")]
    Scalar(serde_json::Value),
    /// An ID that is neither a string nor a number.
    #[error("expected an ID (string or number), found {0}")]
    Id(serde_json::Value),
    /// `custom_fields` that is neither an object, `null` nor `[]`.
    #[error("custom_fields: expected an object, found {0}")]
    Fields(serde_json::Value),
}

fn scalar_text(v: serde_json::Value) -> Result<Option<String>, Unreadable> {
    match v {
        serde_json::Value::Null => Ok(None),
        serde_json::Value::String(s) => Ok(Some(s)),
        serde_json::Value::Number(n) => Ok(Some(n.to_string())),
        serde_json::Value::Bool(b) => Ok(Some(if b { "TRUE" } else { "FALSE" }.to_string())),
        other => Err(Unreadable::Scalar(other)),
    }
}

fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    match v {
        serde_json::Value::String(s) => Ok(s),
        serde_json::Value::Number(n) => Ok(n.to_string()),
        other => Err(serde::de::Error::custom(Unreadable::Id(other))),
    }
}

fn string_or_scalar_or_null<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    scalar_text(v)
        .map(Option::unwrap_or_default)
        .map_err(serde::de::Error::custom)
}

/// A create or update body's `custom_fields`, each value read leniently (see
/// [`string_or_scalar_or_null`]).
fn lenient_writes<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<FieldWrite>, D::Error> {
    #[derive(Deserialize)]
    struct Lenient {
        name: String,
        #[serde(deserialize_with = "string_or_scalar_or_null")]
        value: String,
    }
    let writes = Vec::<Lenient>::deserialize(d)?;
    Ok(writes
        .into_iter()
        .map(|w| FieldWrite {
            name: w.name,
            value: w.value,
        })
        .collect())
}

fn lenient_fields<'de, D: Deserializer<'de>>(d: D) -> Result<Fields, D::Error> {
    // `custom_fields` may be an object, `null`, or (as empty PHP arrays serialise) `[]`.
    let v = serde_json::Value::deserialize(d)?;
    match v {
        serde_json::Value::Null => Ok(Fields::new()),
        serde_json::Value::Array(a) if a.is_empty() => Ok(Fields::new()),
        serde_json::Value::Object(m) => m
            .into_iter()
            .map(|(k, v)| {
                // nested values (objects, lists) are kept as their JSON text
                let text = match v {
                    v @ (serde_json::Value::Array(_) | serde_json::Value::Object(_)) => {
                        Ok(Some(v.to_string()))
                    }
                    v => scalar_text(v),
                };
                text.map(|t| (k, t))
            })
            .collect::<Result<_, _>>()
            .map_err(serde::de::Error::custom),
        other => Err(serde::de::Error::custom(Unreadable::Fields(other))),
    }
}

/// A count in `meta`: a number, a numeric string, or absent (`null` and anything else).
fn lenient_count<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::Number(n) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

/// A text in `meta`: a string, or absent (anything else).
fn lenient_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => Some(s),
        _ => None,
    })
}

fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documents_sample_page() {
        let body = r#"{"data":[{"id":"1776025372480910","custom_fields":{"firstName":"Mahin","timezone":"5","customerid":"1"},"tags":["Blog Updates"],"created_at":1575618542}],
          "links":{"first":"x","last":"x","prev":null,"next":null},
          "meta":{"current_page":1,"from":1,"last_page":1,"path":"p","per_page":10,"to":1,"total":1}}"#;
        let page: Page = serde_json::from_str(body).unwrap();
        assert_eq!(page.data[0].id, "1776025372480910");
        assert_eq!(page.data[0].custom_fields["timezone"].as_deref(), Some("5"));
        assert_eq!(page.meta.last_page, Some(1));
    }

    #[test]
    fn lenient_where_the_documents_are_loose() {
        let c: WireContact = serde_json::from_str(
            r#"{"id":42,"custom_fields":{"n":7,"b":true,"x":null},"tags":null}"#,
        )
        .unwrap();
        assert_eq!(c.id, "42");
        assert_eq!(c.custom_fields["n"].as_deref(), Some("7"));
        assert_eq!(c.custom_fields["b"].as_deref(), Some("TRUE"));
        assert_eq!(c.custom_fields["x"], None);
        assert!(c.tags.is_empty());
        let c: WireContact = serde_json::from_str(r#"{"id":"1","custom_fields":[]}"#).unwrap();
        assert!(c.custom_fields.is_empty());
    }

    #[test]
    fn message_may_be_a_list() {
        let b: StatusBody =
            serde_json::from_str(r#"{"status":"error","message":["a","b"],"data":[]}"#).unwrap();
        assert_eq!(b.message.text(), "a; b");
    }
}
