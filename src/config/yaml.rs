//! YAML text → a small tree where every key and value knows its file, line and column, and from
//! there → `serde_json::Value` for the schema. Parsing is serde-saphyr's (YAML 1.2, strict
//! booleans, budgets against alias bombs and deep nesting); this module only keeps positions,
//! catches duplicate keys with both places, and turns parse failures into diagnostics.
//!
//! Knows nothing of the config's meaning: no section names, no schema.

use std::collections::HashMap;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_saphyr::{Location, MessageFormatter, Spanned};

use super::diag::{Diags, Pos};

/// A YAML value with its position. Positions are where the value is used (for an alias, the
/// alias, not its anchor).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    /// Where the value starts.
    pub pos: Pos,
    /// What it is.
    pub kind: Kind,
}

/// The kinds of YAML value a config can hold.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    /// `null`, `~`, or nothing.
    Null,
    /// `true` / `false` (YAML 1.2: `yes`/`on` are text).
    Bool(bool),
    /// A number: its text as written (`1.50`, `+34600111223`) and its value.
    Number {
        text: String,
        value: serde_json::Number,
    },
    /// Text.
    Str(String),
    /// A list.
    Seq(Vec<Node>),
    /// A mapping, keys in file order, no duplicates.
    Map(Vec<Entry>),
}

/// One key of a mapping.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    /// The key, as text.
    pub key: String,
    /// Where the key is.
    pub key_pos: Pos,
    /// Its value.
    pub value: Node,
}

impl Node {
    /// The value of `key` when this is a mapping that has it.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|e| &e.value)
    }

    /// The entry of `key` when this is a mapping that has it.
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        match &self.kind {
            Kind::Map(entries) => entries.iter().find(|e| e.key == key),
            _ => None,
        }
    }

    /// The `i`-th item when this is a list.
    pub fn item(&self, i: usize) -> Option<&Node> {
        match &self.kind {
            Kind::Seq(items) => items.get(i),
            _ => None,
        }
    }

    /// A short name of the kind, for messages.
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            Kind::Null => "null",
            Kind::Bool(_) => "a boolean",
            Kind::Number { .. } => "a number",
            Kind::Str(_) => "text",
            Kind::Seq(_) => "a list",
            Kind::Map(_) => "a mapping",
        }
    }

    /// The JSON value the schema checks. Numbers become JSON numbers (their exact text stays in
    /// the tree for the wire).
    pub fn to_json(&self) -> Value {
        match &self.kind {
            Kind::Null => Value::Null,
            Kind::Bool(b) => Value::Bool(*b),
            Kind::Number { value, .. } => Value::Number(value.clone()),
            Kind::Str(s) => Value::String(s.clone()),
            Kind::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            Kind::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|e| (e.key.clone(), e.value.to_json()))
                    .collect(),
            ),
        }
    }
}

/// Deepest nesting of mappings and lists accepted.
pub(crate) const MAX_DEPTH: usize = 16;

/// Parse one file's text. Problems go to `diags`; `None` when the file gave nothing usable.
/// `Some` with a `Null` root means the file holds no document (empty, or only comments).
pub(crate) fn parse(file: u32, text: &str, diags: &mut Diags) -> Option<Node> {
    let options = serde_saphyr::options! {
        // YAML 1.2: `yes`, `no`, `on`, `off` are text, so `vip: yes` is caught as not a boolean.
        strict_booleans: true,
        // Let every key through so a duplicate is reported with both of its positions.
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::PassThrough,
        // Application tags (`!secret x`) mean nothing to us: say so rather than drop them.
        reject_unsupported_tags: true,
        // `.inf`/`.nan` are not values anyone stores: keep them as text, the type check decides.
        non_finite_float_policy: serde_saphyr::NonFiniteFloatPolicy::AsString,
        // We render our own excerpts.
        with_snippet: false,
        budget: serde_saphyr::budget! {
            // Room for a few hundred thousand contacts; the other limits (aliases, anchors,
            // 64 MiB of scalars) stay at their safe defaults.
            max_events: 20_000_000,
            max_nodes: 10_000_000,
            // A config is 5 levels deep (contacts → contact → fields → value). Each level costs
            // several stack frames here (and in every recursive walk of the tree after), so
            // the default of 64 can exhaust a 2 MiB thread stack in a debug build.
            max_depth: MAX_DEPTH,
        },
    };
    match serde_saphyr::from_str_with_options::<Spanned<Raw>>(text, options) {
        Ok(root) => Some(Builder { file, text, diags }.node(root)),
        Err(e) => {
            let pos = e
                .location()
                .map(|l| pos_of(file, &l))
                .unwrap_or(Pos::start(file));
            let message = match e.without_snippet() {
                serde_saphyr::Error::Budget {
                    breach: serde_saphyr::budget::BudgetBreach::Depth { .. },
                    ..
                } => format!("nested deeper than {MAX_DEPTH} levels"),
                other => serde_saphyr::UserMessageFormatter
                    .format_message(other)
                    .into_owned(),
            };
            diags.push(pos, format!("invalid YAML: {message}"));
            None
        }
    }
}

fn pos_of(file: u32, l: &Location) -> Pos {
    let clamp = |n: u64| u32::try_from(n).unwrap_or(u32::MAX).max(1);
    Pos {
        file,
        line: clamp(l.line()),
        col: clamp(l.column()),
    }
}

struct Builder<'a> {
    file: u32,
    text: &'a str,
    diags: &'a mut Diags,
}

impl Builder<'_> {
    fn node(&mut self, raw: Spanned<Raw>) -> Node {
        let pos = pos_of(self.file, &raw.referenced);
        let kind = match raw.value {
            Raw::Null => Kind::Null,
            Raw::Bool(b) => Kind::Bool(b),
            Raw::Int(i) => {
                let value = i64::try_from(i)
                    .map(serde_json::Number::from)
                    .or_else(|_| u64::try_from(i).map(serde_json::Number::from))
                    .ok()
                    .or_else(|| serde_json::Number::from_f64(i as f64))
                    .unwrap_or_else(|| serde_json::Number::from(0));
                Kind::Number {
                    text: self.number_text(&raw.defined, || i.to_string()),
                    value,
                }
            }
            Raw::Float(f) => match serde_json::Number::from_f64(f) {
                Some(value) => Kind::Number {
                    text: self.number_text(&raw.defined, || value.to_string()),
                    value,
                },
                None => Kind::Str(f.to_string()),
            },
            Raw::Str(s) => Kind::Str(s),
            Raw::Seq(items) => Kind::Seq(items.into_iter().map(|i| self.node(i)).collect()),
            Raw::Map(entries) => Kind::Map(self.entries(entries)),
        };
        Node { pos, kind }
    }

    /// The number as written, when the source says it plainly (`1.50`, `+34600111223`, `007`);
    /// else (`0x1F`, `1_000`) its value's decimal text.
    fn number_text(&self, at: &Location, value_text: impl FnOnce() -> String) -> String {
        let span = at.span();
        let written = span.byte_offset().zip(span.byte_len()).and_then(|(o, l)| {
            let start = usize::try_from(o).ok()?;
            let end = start.checked_add(usize::try_from(l).ok()?)?;
            self.text.get(start..end)
        });
        match written {
            Some(w) if crate::model::normalize_number(w).is_some() => w.to_string(),
            _ => value_text(),
        }
    }

    fn entries(&mut self, raw: Vec<(Spanned<Raw>, Spanned<Raw>)>) -> Vec<Entry> {
        let mut out: Vec<Entry> = Vec::with_capacity(raw.len());
        // Small mappings (nearly all) are checked for duplicates by a scan; big ones by hash.
        let mut index: Option<HashMap<String, usize>> = None;
        for (k, v) in raw {
            let key_pos = pos_of(self.file, &k.referenced);
            let key = match k.value {
                Raw::Str(s) => s,
                Raw::Bool(b) => b.to_string(),
                Raw::Int(i) => self.number_text(&k.defined, || i.to_string()),
                Raw::Float(f) => self.number_text(&k.defined, || f.to_string()),
                Raw::Null => {
                    self.diags
                        .push(key_pos, "a key must be text, not null".into());
                    continue;
                }
                Raw::Seq(_) | Raw::Map(_) => {
                    self.diags
                        .push(key_pos, "a key must be text, not a list or mapping".into());
                    continue;
                }
            };
            if out.len() >= 16 && index.is_none() {
                index = Some(
                    out.iter()
                        .enumerate()
                        .map(|(i, e)| (e.key.clone(), i))
                        .collect(),
                );
            }
            let seen = match &index {
                Some(ix) => ix.get(&key).copied(),
                None => out.iter().position(|e| e.key == key),
            };
            if let Some(first) = seen {
                let first = self.diags.loc(out[first].key_pos);
                self.diags.push(
                    key_pos,
                    format!("duplicate key {key:?} (also defined at {first})"),
                );
                continue;
            }
            let value = self.node(v);
            if let Some(ix) = &mut index {
                ix.insert(key.clone(), out.len());
            }
            out.push(Entry {
                key,
                key_pos,
                value,
            });
        }
        out
    }
}

/// What serde-saphyr hands us for any YAML value; positions come from the `Spanned` around it.
#[derive(Debug)]
enum Raw {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    Seq(Vec<Spanned<Raw>>),
    Map(Vec<(Spanned<Raw>, Spanned<Raw>)>),
}

impl<'de> Deserialize<'de> for Raw {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(RawVisitor)
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = Raw;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Raw, E> {
        Ok(Raw::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Raw, E> {
        Ok(Raw::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Raw, D::Error> {
        Raw::deserialize(d)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Raw, E> {
        Ok(Raw::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Raw, E> {
        Ok(Raw::Int(v.into()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Raw, E> {
        Ok(Raw::Int(v.into()))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Raw, E> {
        Ok(Raw::Int(v))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Raw, E> {
        Ok(i128::try_from(v).map_or(Raw::Float(v as f64), Raw::Int))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Raw, E> {
        Ok(Raw::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Raw, E> {
        Ok(Raw::Str(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Raw, E> {
        Ok(Raw::Str(v))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Raw, E> {
        match std::str::from_utf8(v) {
            Ok(s) => Ok(Raw::Str(s.to_string())),
            Err(_) => Err(E::custom("binary values are not supported")),
        }
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Raw, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Raw::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw, A::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).min(1024));
        while let Some(k) = map.next_key()? {
            let v = map.next_value()?;
            entries.push((k, v));
        }
        Ok(Raw::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    fn parse_ok(text: &str) -> Node {
        let mut diags = Diags::default();
        let node = parse(0, text, &mut diags).expect("parses");
        assert!(diags.is_empty(), "{:?}", diags);
        node
    }

    fn problems(text: &str) -> Vec<String> {
        let mut diags = Diags::new(vec!["f.yaml".into()]);
        parse(0, text, &mut diags);
        diags
            .into_diagnostics()
            .into_iter()
            .map(|d| d.to_string())
            .collect()
    }

    #[test]
    fn every_key_and_value_has_its_line_and_column() {
        let n = parse_ok("a:\n  - b: 1\n    c: 'x'\n");
        let a = n.entry("a").unwrap();
        assert_eq!((a.key_pos.line, a.key_pos.col), (1, 1));
        let item = a.value.item(0).unwrap();
        assert_eq!((item.pos.line, item.pos.col), (2, 5));
        let c = item.entry("c").unwrap();
        assert_eq!((c.key_pos.line, c.key_pos.col), (3, 5));
        assert_eq!((c.value.pos.line, c.value.pos.col), (3, 8));
    }

    #[test]
    fn numbers_keep_their_written_text() {
        let n = parse_ok("a: 1.50\nb: +34600111223\nc: 0x1F\nd: 12345678901234567890123\n");
        let text = |k: &str| match &n.get(k).unwrap().kind {
            Kind::Number { text, .. } => text.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(text("a"), "1.50");
        assert_eq!(text("b"), "+34600111223");
        assert_eq!(text("c"), "31");
        assert_eq!(text("d"), "12345678901234567890123");
    }

    #[test]
    fn yaml_1_1_booleans_are_text() {
        let n = parse_ok("a: yes\nb: on\nc: true\nd: TRUE\n");
        assert_eq!(n.get("a").unwrap().kind, Kind::Str("yes".into()));
        assert_eq!(n.get("b").unwrap().kind, Kind::Str("on".into()));
        assert_eq!(n.get("c").unwrap().kind, Kind::Bool(true));
        assert_eq!(n.get("d").unwrap().kind, Kind::Bool(true));
    }

    #[test]
    fn duplicate_keys_name_both_places() {
        assert_eq!(
            problems("a: 1\nb: 2\na: 3\n"),
            ["f.yaml:3:1: duplicate key \"a\" (also defined at f.yaml:1:1)"]
        );
    }

    #[test]
    fn duplicate_keys_in_big_mappings_are_found_too() {
        let mut text: String = (0..40).map(|i| format!("k{i}: {i}\n")).collect();
        text.push_str("k3: again\n");
        assert_eq!(
            problems(&text),
            ["f.yaml:41:1: duplicate key \"k3\" (also defined at f.yaml:4:1)"]
        );
    }

    #[test]
    fn syntax_errors_have_a_position() {
        assert_eq!(
            problems("a: [\n"),
            ["f.yaml:1:4: invalid YAML: unclosed bracket '['"]
        );
    }

    #[test]
    fn nesting_deeper_than_the_limit_is_an_error() {
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert_eq!(problems(&ok), Vec::<String>::new());
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        let got = problems(&deep);
        assert_eq!(got.len(), 1);
        assert!(got[0].starts_with("f.yaml:1:17: invalid YAML: "), "{got:?}");
    }

    #[test]
    fn aliases_are_expanded_at_the_alias() {
        let n = parse_ok("a: &x [1]\nb: *x\n");
        let b = n.get("b").unwrap();
        assert_eq!((b.pos.line, b.pos.col), (2, 4));
        assert_eq!(b.to_json(), serde_json::json!([1]));
    }
}
