//! Domain types shared by every module: the loaded config (channels, field types, desired
//! contacts), the live contacts read from the platform, and the normalisation that decides when
//! two values are the same. Pure data and pure functions: no IO, no async, no clock.

mod fields;
mod id;
mod limits;
mod live;
mod modes;
mod quote;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

pub use compact_str::CompactString;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use self::fields::Fields;
pub use self::id::{id_is_usable, unusable_id_reason};
pub use self::limits::LimitGroup;
pub use self::live::{FieldWrite, Found, LiveState, ReadFailure};
pub use self::modes::{TagWrite, WriteMode};
pub use self::quote::{yaml_double_quoted, yaml_needs_escape};

/// Calls per minute a channel accepts when the config does not say (the vendor documents' figure).
pub const DEFAULT_RATE_LIMIT: u32 = 100;
/// Most fields one create or update call may carry.
pub const MAX_FIELDS_PER_CALL: usize = 30;
/// Most tags one add-tags or remove-tags call may carry.
pub const MAX_TAGS_PER_CALL: usize = 10;
/// Page size the look-up by custom field returns when nothing else is said.
pub const DEFAULT_PAGE_SIZE: usize = 10;

/// The declared type of a managed field; decides how its values are checked and compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    /// Free text, compared exactly.
    Text,
    /// A number; `"7"`, `7` and `7.0` are the same value.
    Number,
    /// `true`/`false`, compared case-insensitively (`"TRUE"` = `true`).
    Boolean,
    /// An e-mail address, compared case-insensitively.
    Email,
    /// A phone number; spaces, dashes, dots and parentheses are ignored (a leading `+` is kept).
    Phone,
    /// A URL, compared exactly.
    Url,
    /// A date, compared exactly (write it as the platform stores it, e.g. `2024-05-01`).
    Date,
}

impl FieldType {
    /// The name used in the config and in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::Text => "text",
            FieldType::Number => "number",
            FieldType::Boolean => "boolean",
            FieldType::Email => "email",
            FieldType::Phone => "phone",
            FieldType::Url => "url",
            FieldType::Date => "date",
        }
    }
}

/// How a channel writes booleans (and sends them in look-ups).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum BooleanFormat {
    /// `TRUE` / `FALSE`, as the vendor documents ask (the default).
    #[default]
    Upper,
    /// `true` / `false`, as another white-label copy asks.
    Lower,
}

impl BooleanFormat {
    /// The wire spelling of `b` for this format.
    pub fn write(self, b: bool) -> &'static str {
        match (self, b) {
            (BooleanFormat::Upper, true) => "TRUE",
            (BooleanFormat::Upper, false) => "FALSE",
            (BooleanFormat::Lower, true) => "true",
            (BooleanFormat::Lower, false) => "false",
        }
    }
}

/// A position in a config file, 1-based, for messages of the form `file:line:col: message`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
pub struct SourceLoc {
    /// The file as the user named it (or as found in the directory they named); shared by every
    /// position in that file (100,000 contacts in one file hold one copy of its name).
    pub file: Arc<str>,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
}

impl fmt::Display for SourceLoc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

/// One channel: a platform endpoint and the token that addresses its contacts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    /// The name the config gives the channel (`web`, `viber`, ...).
    pub name: String,
    /// API root; calls go to `{base_url}/v1/...`. Never ends with `/`.
    pub base_url: String,
    /// Name of the environment variable that holds the token (never the token itself).
    pub token_env: String,
    /// Where `token_env` is written, to point at it when its value is not shown.
    pub token_env_at: SourceLoc,
    /// Calls per minute the channel accepts.
    pub rate_limit: u32,
    /// Contact IDs in update and tag calls are Base64-encoded (Viber channels).
    pub viber: bool,
    /// Contact IDs in the get-by-ID call are Base64-encoded too (defaults to `viber`).
    pub viber_encode_get: bool,
    /// How booleans are written and looked up.
    pub boolean_format: BooleanFormat,
}

/// The marker field that every managed contact carries (see SPEC "Reading in bulk").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    /// Field name, e.g. `managed_by`.
    pub field: String,
    /// Value, e.g. `git`.
    pub value: String,
}

/// Thresholds of the safety check, and the fields whose change needs `--force`.
#[derive(Debug, Clone, PartialEq)]
pub struct Safety {
    /// Refuse when strictly more than this percentage of existing contacts would change.
    pub max_change_percent: f64,
    /// ...but only when at least this many managed contacts exist on the channel.
    pub min_existing: usize,
    /// Changing a non-empty value of one of these fields, or clearing it, on an existing
    /// contact is refused without `--force` (`safety.protected_fields`).
    pub protected_fields: BTreeSet<String>,
}

impl Default for Safety {
    fn default() -> Self {
        Safety {
            max_change_percent: 30.0,
            min_existing: 10,
            protected_fields: BTreeSet::new(),
        }
    }
}

/// How a desired contact is found on the platform.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Identity {
    /// A known platform contact ID (raw, not Base64).
    Id(String),
    /// The value of a key field, looked up with `by_custom_field`. `value` is the wire string.
    Key { field: String, value: String },
}

impl Identity {
    /// The form shown in plans and accepted by `--contact`: `email=juan@example.com` or `id=123`.
    pub fn display(&self) -> String {
        match self {
            Identity::Id(id) => format!("id={id}"),
            Identity::Key { field, value } => format!("{field}={value}"),
        }
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display())
    }
}

/// A contact as the config wants it.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredContact {
    /// Channel name (resolved: the contact's own, else `defaults.channel`).
    pub channel: String,
    /// How the contact is found.
    pub identity: Identity,
    /// Field values to hold, as wire strings (`None` = clear the field). Only declared fields;
    /// the marker is not included here (the planner adds it).
    pub fields: Fields,
    /// Managed tags the contact should have; `None` leaves its tags alone.
    pub tags: Option<BTreeSet<String>>,
    /// Where the contact starts in the config.
    pub source: SourceLoc,
}

/// The whole config, loaded, merged and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Channels by name.
    pub channels: BTreeMap<String, Channel>,
    /// Managed fields and their types.
    pub fields: BTreeMap<String, FieldType>,
    /// Write modes of the fields that are not `sync` (read through [`Config::field_mode`]).
    pub field_modes: BTreeMap<String, WriteMode>,
    /// Managed tags.
    pub tags: BTreeSet<String>,
    /// Write modes of the managed tags that are not `sync` (read through [`Config::tag_mode`]).
    pub tag_modes: BTreeMap<String, TagWrite>,
    /// Default channel of a contact that names none.
    pub default_channel: Option<String>,
    /// Default key field of a contact with neither `id` nor `key`.
    pub default_key: Option<String>,
    /// Optional marker for bulk reads.
    pub marker: Option<Marker>,
    /// Safety thresholds.
    pub safety: Safety,
    /// Desired contacts, in file order.
    pub contacts: Vec<DesiredContact>,
    /// Hex SHA-256 over the config files' names and bytes, for stale saved plans.
    pub hash: String,
}

impl Config {
    /// The declared type of `field`; the marker field and undeclared fields are `text`.
    pub fn field_type(&self, field: &str) -> FieldType {
        self.fields.get(field).copied().unwrap_or(FieldType::Text)
    }

    /// When `field` is written; the marker field and undeclared fields are `sync`.
    pub fn field_mode(&self, field: &str) -> WriteMode {
        self.field_modes.get(field).copied().unwrap_or_default()
    }

    /// How the managed tag `tag` is reconciled; `sync` unless the config says otherwise.
    pub fn tag_mode(&self, tag: &str) -> TagWrite {
        self.tag_modes.get(tag).copied().unwrap_or_default()
    }
}

/// A contact as the platform holds it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LiveContact {
    /// Platform contact ID (raw, not Base64).
    pub id: String,
    /// Every field the platform returned; `None` for an explicit `null`.
    pub fields: Fields,
    /// Every tag, managed or not, in the platform's order.
    pub tags: Vec<String>,
}

impl LiveContact {
    /// The value of `field`, with missing, `null` and `""` all folded to `None`.
    pub fn value(&self, field: &str) -> Option<&str> {
        self.fields
            .get(field)
            .and_then(|v| v.as_deref())
            .filter(|v| !v.is_empty())
    }
}

/// Normalise a wire value by its field type, for comparison. `None` means empty (missing,
/// `null` and `""` are all empty).
pub fn normalize(ty: FieldType, value: Option<&str>) -> Option<String> {
    let v = value?;
    if v.is_empty() {
        return None;
    }
    Some(match ty {
        FieldType::Text | FieldType::Url | FieldType::Date => v.to_string(),
        FieldType::Email => v.trim().to_lowercase(),
        FieldType::Boolean => v.trim().to_ascii_lowercase(),
        FieldType::Phone => normalize_phone(v),
        FieldType::Number => normalize_number(v.trim()).unwrap_or_else(|| v.to_string()),
    })
}

/// Whether two wire values are the same value of type `ty`.
pub fn same_value(ty: FieldType, a: Option<&str>, b: Option<&str>) -> bool {
    normalize(ty, a) == normalize(ty, b)
}

fn normalize_phone(v: &str) -> String {
    v.chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')' | '\t'))
        .collect()
}

/// The canonical decimal text of a number (`"007.50"` → `"7.5"`, `"-0"` → `"0"`, `"1e3"` →
/// `"1000"`), or `None` when `v` is not a number. Works on the digits, so long IDs keep every
/// digit (no round trip through `f64`).
pub fn normalize_number(v: &str) -> Option<String> {
    let (neg, rest) = match v.as_bytes().first()? {
        b'-' => (true, &v[1..]),
        b'+' => (false, &v[1..]),
        _ => (false, v),
    };
    let (mantissa, exp) = match rest.find(['e', 'E']) {
        Some(i) => (&rest[..i], rest[i + 1..].parse::<i64>().ok()?),
        None => (rest, 0),
    };
    let (int, frac) = match mantissa.find('.') {
        Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
        None => (mantissa, ""),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    // digits with the decimal point after `point` of them
    let digits: String = format!("{int}{frac}");
    let point = i64::try_from(int.len()).ok()?.checked_add(exp)?;
    if point.unsigned_abs() > 10_000 {
        return None; // absurd exponent: not a value anyone stores
    }
    let (int_part, frac_part) = if point <= 0 {
        (
            String::new(),
            format!("{}{}", "0".repeat(point.unsigned_abs() as usize), digits),
        )
    } else if point as usize >= digits.len() {
        (
            format!("{}{}", digits, "0".repeat(point as usize - digits.len())),
            String::new(),
        )
    } else {
        (
            digits[..point as usize].to_string(),
            digits[point as usize..].to_string(),
        )
    };
    let int_part = int_part.trim_start_matches('0');
    let frac_part = frac_part.trim_end_matches('0');
    let int_part = if int_part.is_empty() { "0" } else { int_part };
    let body = if frac_part.is_empty() {
        int_part.to_string()
    } else {
        format!("{int_part}.{frac_part}")
    };
    Some(if neg && body != "0" {
        format!("-{body}")
    } else {
        body
    })
}

/// Why a value is not one of its field's type: the value, and what it is not.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("{0:?} is not a number")]
    Number(String),
    #[error("{0:?} is not a boolean (write true or false)")]
    Boolean(String),
    #[error("{0:?} is not an e-mail address")]
    Email(String),
    #[error(
        "{0:?} is not a phone number (digits, an optional leading +, and spaces, dashes, dots or parentheses)"
    )]
    Phone(String),
    #[error("{0:?} is not an http(s) URL")]
    Url(String),
    #[error("{0:?} is not a date (write YYYY-MM-DD)")]
    Date(String),
}

/// Whether `v` (a wire string) is a valid value of type `ty`; `Err` says why not.
pub fn check_value(ty: FieldType, v: &str) -> Result<(), String> {
    value_error(ty, v).map_or(Ok(()), |e| Err(e.to_string()))
}

/// Why `v` (a wire string) is not a valid value of type `ty` (`None`: it is one).
pub fn value_error(ty: FieldType, v: &str) -> Option<ValueError> {
    let fits = |ok: bool, not: fn(String) -> ValueError| (!ok).then(|| not(v.to_string()));
    match ty {
        FieldType::Text => None,
        FieldType::Number => fits(normalize_number(v.trim()).is_some(), ValueError::Number),
        FieldType::Boolean => fits(
            matches!(v.to_ascii_lowercase().as_str(), "true" | "false"),
            ValueError::Boolean,
        ),
        FieldType::Email => {
            let ok = v.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && !domain.is_empty()
                    && !domain.contains('@')
                    && !v.chars().any(char::is_whitespace)
            });
            fits(ok, ValueError::Email)
        }
        FieldType::Phone => {
            let n = normalize_phone(v);
            let digits = n.strip_prefix('+').unwrap_or(&n);
            fits(
                !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()),
                ValueError::Phone,
            )
        }
        FieldType::Url => {
            let ok = ["http://", "https://"]
                .iter()
                .any(|p| v.len() > p.len() && v[..p.len()].eq_ignore_ascii_case(p))
                && !v.chars().any(char::is_whitespace);
            fits(ok, ValueError::Url)
        }
        FieldType::Date => {
            let b = v.as_bytes();
            let ok = b.len() == 10
                && b[4] == b'-'
                && b[7] == b'-'
                && b.iter()
                    .enumerate()
                    .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
                && {
                    let year: u32 = v[..4].parse().unwrap_or(0);
                    let month: u8 = v[5..7].parse().unwrap_or(0);
                    let day: u8 = v[8..10].parse().unwrap_or(0);
                    let leap = year.is_multiple_of(4)
                        && (!year.is_multiple_of(100) || year.is_multiple_of(400));
                    let days = match month {
                        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
                        4 | 6 | 9 | 11 => 30,
                        2 if leap => 29,
                        2 => 28,
                        _ => 0,
                    };
                    (1..=days).contains(&day)
                };
            fits(ok, ValueError::Date)
        }
    }
}

/// The managed part of a live contact: the fields declared in the config and the marker field
/// (only those with a value; empty values folded away), and its managed tags, sorted. Two reads of
/// an unchanged contact give equal results, so a saved plan compares this to find stale contacts.
/// The reader keeps what it finds as this, and the planner plans from it; the room of what it
/// drops is given back.
pub fn managed_part(config: &Config, mut live: LiveContact) -> LiveContact {
    let marker_field = config.marker.as_ref().map(|m| m.field.as_str());
    live.fields.retain(|name, value| {
        (config.fields.contains_key(name) || Some(name) == marker_field)
            && value.as_deref().is_some_and(|v| !v.is_empty())
    });
    live.tags.retain(|t| config.tags.contains(t));
    live.tags.sort_unstable();
    live.tags.dedup();
    live.tags.shrink_to_fit();
    live
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_compare_by_value() {
        for (a, b) in [
            ("7", "7"),
            ("7", "7.0"),
            ("007", "7"),
            ("-0", "0"),
            ("1e3", "1000"),
            ("1.50", "1.5"),
            ("+3", "3"),
            (".5", "0.5"),
            ("12345678901234567890", "12345678901234567890.000"),
        ] {
            assert!(same_value(FieldType::Number, Some(a), Some(b)), "{a} = {b}");
        }
        assert!(!same_value(
            FieldType::Number,
            Some("12345678901234567890"),
            Some("12345678901234567891")
        ));
        assert_eq!(normalize_number("abc"), None);
        assert_eq!(normalize_number("1e99999999"), None);
        assert_eq!(normalize_number(""), None);
        assert_eq!(normalize_number("-"), None);
    }

    #[test]
    fn booleans_compare_case_insensitively() {
        assert!(same_value(FieldType::Boolean, Some("TRUE"), Some("true")));
        assert!(!same_value(FieldType::Boolean, Some("TRUE"), Some("false")));
    }

    #[test]
    fn emails_compare_case_insensitively_text_exactly() {
        assert!(same_value(
            FieldType::Email,
            Some("A@B.com"),
            Some("a@b.COM")
        ));
        assert!(!same_value(FieldType::Text, Some("Ana"), Some("ana")));
    }

    #[test]
    fn phones_ignore_punctuation_but_keep_plus() {
        assert!(same_value(
            FieldType::Phone,
            Some("+34 (600) 111-22.3"),
            Some("+3460011122 3")
        ));
        assert!(!same_value(
            FieldType::Phone,
            Some("+34600111223"),
            Some("34600111223")
        ));
    }

    #[test]
    fn missing_null_and_empty_are_all_empty() {
        for ty in [FieldType::Text, FieldType::Number, FieldType::Boolean] {
            assert!(same_value(ty, None, Some("")));
            assert_eq!(normalize(ty, Some("")), None);
        }
        let live = LiveContact {
            id: "1".into(),
            fields: [("a", None), ("b", Some(""))].into(),
            tags: vec![],
        };
        assert_eq!(live.value("a"), None);
        assert_eq!(live.value("b"), None);
        assert_eq!(live.value("c"), None);
    }

    #[test]
    fn values_are_checked_by_type() {
        assert!(check_value(FieldType::Email, "juan@example.com").is_ok());
        assert!(check_value(FieldType::Email, "juan").is_err());
        assert!(check_value(FieldType::Phone, "+34 600-111").is_ok());
        assert!(check_value(FieldType::Phone, "call me").is_err());
        assert!(check_value(FieldType::Boolean, "TRUE").is_ok());
        assert!(check_value(FieldType::Boolean, "yes").is_err());
        assert!(check_value(FieldType::Number, "1.5").is_ok());
        assert!(check_value(FieldType::Number, "one").is_err());
        assert!(check_value(FieldType::Url, "https://x.example").is_ok());
        assert!(check_value(FieldType::Url, "x.example").is_err());
        assert!(check_value(FieldType::Date, "2024-05-01").is_ok());
        assert!(check_value(FieldType::Date, "2024-13-01").is_err());
        assert!(
            check_value(FieldType::Date, "2024-02-29").is_ok(),
            "leap year"
        );
        assert!(check_value(FieldType::Date, "2023-02-29").is_err());
        assert!(check_value(FieldType::Date, "2024-02-30").is_err());
        assert!(check_value(FieldType::Date, "2024-04-31").is_err());
        assert!(check_value(FieldType::Date, "1900-02-29").is_err());
        assert!(check_value(FieldType::Date, "2000-02-29").is_ok());
        assert!(check_value(FieldType::Date, "01/05/2024").is_err());
    }

    #[test]
    fn identity_display_is_the_contact_flag_form() {
        assert_eq!(Identity::Id("x+/=".into()).display(), "id=x+/=");
        let key = Identity::Key {
            field: "email".into(),
            value: "a@b.c".into(),
        };
        assert_eq!(key.display(), "email=a@b.c");
    }
}
