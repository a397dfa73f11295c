//! YAML text → a small tree where every key and value knows its file, line and column, and from
//! there → `serde_json::Value` for the schema. The YAML parser is serde-saphyr's (`granit_parser`,
//! pure Rust, YAML 1.2); this module resolves values by the YAML 1.2 core schema (`yes`/`on` are
//! text), keeps positions, catches duplicate keys with both places, bounds depth and alias
//! expansion, and turns parse failures into diagnostics.
//!
//! Knows nothing of the config's meaning: no section names, no schema.

use std::borrow::Cow;
use std::collections::HashMap;

use compact_str::CompactString;
use serde_json::Value;
use serde_saphyr::granit_parser::{
    Event, Options as ParserOptions, Parser, ScalarStyle, Span, StrInput, Tag,
};

use super::diag::{Diags, Pos};
use super::problem::{Stopped, YamlProblem};

/// A YAML value with its position. Positions are where the value is used (for an alias, the
/// alias, not its anchor).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    /// Where the value starts.
    pub pos: Pos,
    /// What it is.
    pub kind: NodeKind,
    /// Its bytes in the text and how they are written, for editing the file in place (adopt).
    pub at: At,
}

/// Where a value's text is and how it is written: what an in-place edit (`crate::edit`) needs
/// beyond the line and column, from the same parse that positions every diagnostic, so the
/// loader and the editor cannot disagree about where a value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct At {
    /// Byte offset of its first byte (a quoted scalar's opening quote; a flow collection's
    /// bracket; a block list's first `-`).
    pub start: u32,
    /// Byte offset just past its last byte (a closing quote or bracket; a block collection's last
    /// value). Trailing spaces and comments are not part of it.
    pub end: u32,
    /// How it is written.
    pub style: Style,
    /// It is anchored (`&a`), an alias (`*a`), or inside one of those: its text is shared with
    /// other values, so an edit for one contact would change others.
    pub shared: bool,
}

/// How a value is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Style {
    /// A plain scalar (or an empty value).
    #[default]
    Plain,
    /// `'single quoted'`.
    Single,
    /// `"double quoted"`.
    Double,
    /// A block scalar, `|` or `>`.
    Block,
    /// A flow collection, `[a, b]` or `{a: 1}`.
    Flow,
    /// A block collection (`- a` lines, or `key: value` lines).
    Lines,
}

impl At {
    /// Mark this value and everything in it as shared (see [`At::shared`]).
    fn share(node: &mut Node) {
        node.at.shared = true;
        match &mut node.kind {
            NodeKind::Seq(items) => items.iter_mut().for_each(At::share),
            NodeKind::Map(entries) => entries.iter_mut().for_each(|e| At::share(&mut e.value)),
            _ => {}
        }
    }
}

/// The kinds of YAML value a config can hold.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum NodeKind {
    /// `null`, `~`, or nothing.
    Null,
    /// `true` / `false` (YAML 1.2: `yes`/`on` are text).
    Bool(bool),
    /// A number: its text as written (`1.50`, `+34600111223`) and its value.
    Number {
        text: CompactString,
        value: serde_json::Number,
    },
    /// Text. Keys and values are inline strings: a 100,000-contact config holds millions of
    /// short ones, and as `String`s they were most of its load-time memory.
    Str(CompactString),
    /// A list.
    Seq(Vec<Node>),
    /// A mapping, keys in file order, no duplicates.
    Map(Vec<Entry>),
}

/// One key of a mapping.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    /// The key, as text.
    pub key: CompactString,
    /// Where the key is.
    pub key_pos: Pos,
    /// Byte offset just past the key's text (the `:` follows, perhaps after spaces).
    pub key_end: u32,
    /// Its value.
    pub value: Node,
}

impl Node {
    /// The value of `key` when this is a mapping that has it.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|e| &e.value)
    }

    /// Where the value of `key` is, or this node when it has none: where a problem of a setting
    /// is reported.
    pub fn pos_of(&self, key: &str) -> Pos {
        self.get(key).map_or(self.pos, |n| n.pos)
    }

    /// The entry of `key` when this is a mapping that has it.
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        match &self.kind {
            NodeKind::Map(entries) => entries.iter().find(|e| e.key == key),
            _ => None,
        }
    }

    /// The `i`-th item when this is a list.
    pub fn item(&self, i: usize) -> Option<&Node> {
        match &self.kind {
            NodeKind::Seq(items) => items.get(i),
            _ => None,
        }
    }

    /// A short name of the kind, for messages.
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            NodeKind::Null => "null",
            NodeKind::Bool(_) => "a boolean",
            NodeKind::Number { .. } => "a number",
            NodeKind::Str(_) => "text",
            NodeKind::Seq(_) => "a list",
            NodeKind::Map(_) => "a mapping",
        }
    }

    /// The JSON value the schema checks. Numbers become JSON numbers (their exact text stays in
    /// the tree for the wire).
    pub fn to_json(&self) -> Value {
        match &self.kind {
            NodeKind::Null => Value::Null,
            NodeKind::Bool(b) => Value::Bool(*b),
            NodeKind::Number { value, .. } => Value::Number(value.clone()),
            NodeKind::Str(s) => Value::String(s.to_string()),
            NodeKind::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            NodeKind::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|e| (e.key.to_string(), e.value.to_json()))
                    .collect(),
            ),
        }
    }
}

/// Deepest nesting of mappings and lists accepted. A config is 5 levels deep (contacts →
/// contact → fields → value); every recursive walk of the tree is bounded by this.
pub(crate) const MAX_DEPTH: usize = 16;
/// Most values one file may hold, aliases counted each time they are used (an alias bomb stops
/// here, before it is expanded).
pub(super) const MAX_NODES: usize = 5_000_000;
/// Most bytes of text one file may hold, aliases counted each time they are used.
pub(super) const MAX_TEXT_BYTES: usize = 64 * 1024 * 1024;

/// Parse one file's text. Problems go to `diags`; `None` when the file gave nothing usable.
/// `Some` with a `Null` root means the file holds no document (empty, or only comments).
///
/// The events come from serde-saphyr's own YAML parser (`granit_parser`), read directly: going
/// through serde with `Spanned<T>` on every value costs several times more, and a config of
/// 100,000 contacts must load in well under two seconds. Values are resolved by the YAML 1.2
/// core schema: `yes`/`on` are text, `true`/`false` booleans.
pub(crate) fn parse(file: u32, text: &str, diags: &mut Diags) -> Option<Node> {
    let mut options = ParserOptions::default();
    options.emit_comments = false;
    // The parser looks ahead, so its own limits are what usually stop a deep input first.
    options.flow_nesting_limit = MAX_DEPTH;
    options.block_nesting_limit = MAX_DEPTH;
    let mut builder = Builder {
        parser: Parser::new_from_str_with_options(text, options),
        file,
        diags,
        anchors: HashMap::new(),
        nodes: 0,
        text_bytes: 0,
        last: Pos::start(file),
    };
    match builder.document() {
        Ok(root) => Some(root),
        Err(Stop { mut pos, why }) => {
            // The scanner reports a stray tab at the scalar or block it was reading; the tab is
            // what the user must find. Only the parser's own words are looked at: a tag of ours
            // (`!tabular`) says "tab" too.
            if matches!(&why, Stopped::Parser(words) if words.contains("tab"))
                && let Some(tab) = first_tab_from(text, pos)
            {
                pos = tab;
            }
            builder.diags.push(pos, YamlProblem::Invalid(why));
            None
        }
    }
}

/// The position of the first tab on the line of `from` or after it.
fn first_tab_from(text: &str, from: Pos) -> Option<Pos> {
    let start = usize::try_from(from.line.saturating_sub(1)).ok()?;
    text.lines().enumerate().skip(start).find_map(|(i, line)| {
        let col = line.chars().position(|c| c == '\t')?;
        Some(Pos {
            line: u32::try_from(i + 1).ok()?,
            col: u32::try_from(col + 1).ok()?,
            ..from
        })
    })
}

/// Why parsing stopped, and where.
struct Stop {
    pos: Pos,
    why: Stopped,
}

/// The parser's words for nesting beyond its limit (`MAX_DEPTH`, given as its own).
const RECURSION_NEEDLES: &[&str] = &["recursion limit"];
/// The parser's words for a key too long to be one.
const LONG_KEY_NEEDLES: &[&str] = &["simple key"];

/// Why the parser stopped, from its words `info`.
fn parser_stop(info: String) -> Stopped {
    let says = |needles: &[&str]| needles.iter().any(|n| info.contains(n));
    if says(RECURSION_NEEDLES) {
        Stopped::TooDeep
    } else if says(LONG_KEY_NEEDLES) {
        Stopped::LongKey(info)
    } else {
        Stopped::Parser(info)
    }
}

/// An anchored value, with what it costs each time an alias repeats it.
struct Anchored {
    node: Node,
    nodes: usize,
    text_bytes: usize,
}

struct Builder<'a, 'd> {
    parser: Parser<'a, StrInput<'a>>,
    file: u32,
    diags: &'d mut Diags,
    anchors: HashMap<usize, Anchored>,
    nodes: usize,
    text_bytes: usize,
    /// Position of the last event, for errors at the end of the input.
    last: Pos,
}

impl<'a> Builder<'a, '_> {
    fn pos(&self, span: &Span) -> Pos {
        let clamp = |n: usize| u32::try_from(n).unwrap_or(u32::MAX).max(1);
        Pos {
            file: self.file,
            line: clamp(span.start.line()),
            col: clamp(span.start.col().saturating_add(1)),
        }
    }

    fn next(&mut self) -> Result<(Event<'a>, Pos, At), Stop> {
        match self.parser.next_event() {
            Some(Ok((event, span))) => {
                let pos = self.pos(&span);
                self.last = pos;
                let offset = |m: &serde_saphyr::granit_parser::Marker| {
                    u32::try_from(m.byte_offset().unwrap_or(0)).unwrap_or(u32::MAX)
                };
                let at = At {
                    start: offset(&span.start),
                    end: offset(&span.end),
                    ..At::default()
                };
                Ok((event, pos, at))
            }
            Some(Err(e)) => {
                let m = e.marker();
                let clamp = |n: usize| u32::try_from(n).unwrap_or(u32::MAX).max(1);
                Err(Stop {
                    pos: Pos {
                        file: self.file,
                        line: clamp(m.line()),
                        col: clamp(m.col().saturating_add(1)),
                    },
                    why: parser_stop(e.info()),
                })
            }
            None => Err(Stop {
                pos: self.last,
                why: Stopped::EndOfFile,
            }),
        }
    }

    /// The one document of the file (a `Null` at 1:1 when there is none).
    fn document(&mut self) -> Result<Node, Stop> {
        let mut root: Option<Node> = None;
        loop {
            let (event, pos, _) = self.next()?;
            match event {
                Event::StreamStart | Event::DocumentEnd => {}
                Event::StreamEnd => break,
                Event::DocumentStart(..) => {
                    if root.is_some() {
                        return Err(Stop {
                            pos,
                            why: Stopped::SecondDocument,
                        });
                    }
                    // Aliases refer to anchors of their own document.
                    self.anchors.clear();
                    let (event, pos, at) = self.next()?;
                    root = Some(self.node(event, pos, at, 0)?);
                }
                _ => {}
            }
        }
        Ok(root.unwrap_or(Node {
            pos: Pos::start(self.file),
            kind: NodeKind::Null,
            at: At::default(),
        }))
    }

    /// Count `nodes` values and `bytes` of text against the file's budget.
    fn spend(&mut self, nodes: usize, bytes: usize, pos: Pos) -> Result<(), Stop> {
        self.nodes = self.nodes.saturating_add(nodes);
        self.text_bytes = self.text_bytes.saturating_add(bytes);
        if self.nodes > MAX_NODES {
            return Err(Stop {
                pos,
                why: Stopped::TooManyValues,
            });
        }
        if self.text_bytes > MAX_TEXT_BYTES {
            return Err(Stop {
                pos,
                why: Stopped::TooMuchText,
            });
        }
        Ok(())
    }

    fn node(&mut self, event: Event<'a>, pos: Pos, at: At, depth: usize) -> Result<Node, Stop> {
        let (nodes_before, bytes_before) = (self.nodes, self.text_bytes);
        let (node, anchor) = match event {
            Event::Scalar(value, style, anchor, tag) => {
                self.spend(1, value.len(), pos)?;
                let at = At {
                    style: match style {
                        ScalarStyle::Plain => Style::Plain,
                        ScalarStyle::SingleQuoted => Style::Single,
                        ScalarStyle::DoubleQuoted => Style::Double,
                        _ => Style::Block,
                    },
                    ..at
                };
                let kind = scalar(value, style, tag.as_deref()).map_err(|why| Stop { pos, why })?;
                (Node { pos, kind, at }, anchor)
            }
            Event::SequenceStart(style, anchor, tag) => {
                self.collection(tag.as_deref(), "seq", pos, depth)?;
                let mut items: Vec<Node> = Vec::new();
                let end = loop {
                    let (event, item_pos, item_at) = self.next()?;
                    if matches!(event, Event::SequenceEnd) {
                        break item_at.end;
                    }
                    items.push(self.node(event, item_pos, item_at, depth + 1)?);
                };
                items.shrink_to_fit();
                let at = collection_at(at, style, end, items.last().map(|n| n.at.end));
                (
                    Node {
                        pos,
                        kind: NodeKind::Seq(items),
                        at,
                    },
                    anchor,
                )
            }
            Event::MappingStart(style, anchor, tag) => {
                self.collection(tag.as_deref(), "map", pos, depth)?;
                let (entries, end) = self.entries(depth)?;
                let at = collection_at(at, style, end, entries.last().map(|e| e.value.at.end));
                (
                    Node {
                        pos,
                        kind: NodeKind::Map(entries),
                        at,
                    },
                    anchor,
                )
            }
            Event::Alias(id) => {
                // The parser resolves names to ids; an id we have not stored is an alias inside
                // the value it names (`&a [*a]`), which would never end.
                let Some((nodes, bytes)) = self.anchors.get(&id).map(|a| (a.nodes, a.text_bytes))
                else {
                    return Err(Stop {
                        pos,
                        why: Stopped::SelfAlias,
                    });
                };
                // Counted before it is copied, so a bomb stops before it goes off.
                self.spend(nodes, bytes, pos)?;
                let mut node = match self.anchors.get(&id) {
                    Some(a) => a.node.clone(),
                    None => {
                        return Err(Stop {
                            pos,
                            why: Stopped::UnknownAlias,
                        });
                    }
                };
                node.pos = pos;
                At::share(&mut node);
                return Ok(node);
            }
            _ => {
                return Err(Stop {
                    pos,
                    why: Stopped::UnexpectedEvent,
                });
            }
        };
        let mut node = node;
        if anchor != 0 {
            At::share(&mut node);
            self.anchors.insert(
                anchor,
                Anchored {
                    node: node.clone(),
                    nodes: self.nodes - nodes_before,
                    text_bytes: self.text_bytes - bytes_before,
                },
            );
        }
        Ok(node)
    }

    /// Checks on entering a list or mapping: its depth, its tag, its cost.
    fn collection(
        &mut self,
        tag: Option<&Tag>,
        core: &str,
        pos: Pos,
        depth: usize,
    ) -> Result<(), Stop> {
        if depth >= MAX_DEPTH {
            return Err(Stop {
                pos,
                why: Stopped::TooDeep,
            });
        }
        if let Some(tag) = tag
            && !tag.is_yaml_core_schema_tag(core)
            && !is_non_specific(tag)
        {
            return Err(Stop {
                pos,
                why: Stopped::UnsupportedTag(tag_name(tag)),
            });
        }
        self.spend(1, 0, pos)
    }

    /// The entries of a mapping, up to its end (and the end's offset). A key that cannot be one,
    /// or that repeats, is reported and its entry dropped; parsing goes on.
    fn entries(&mut self, depth: usize) -> Result<(Vec<Entry>, u32), Stop> {
        let mut out: Vec<Entry> = Vec::new();
        // Small mappings (nearly all) are checked for duplicates by a scan; big ones by hash.
        let mut index: Option<HashMap<CompactString, usize>> = None;
        loop {
            let (event, key_pos, key_at) = self.next()?;
            if matches!(event, Event::MappingEnd) {
                // a config holds 100,000 small mappings: growth's spare room would be a third
                // of the tree
                out.shrink_to_fit();
                return Ok((out, key_at.end));
            }
            let merge_key = matches!(
                &event,
                Event::Scalar(k, ScalarStyle::Plain, _, None) if k == "<<"
            );
            let key = self.node(event, key_pos, key_at, depth + 1)?;
            let key_end = key.at.end;
            let (event, value_pos, value_at) = self.next()?;
            let value = self.node(event, value_pos, value_at, depth + 1)?;
            let key = match key.kind {
                _ if merge_key => {
                    self.diags.push(key_pos, YamlProblem::MergeKey);
                    continue;
                }
                NodeKind::Str(s) => s,
                NodeKind::Bool(b) => CompactString::from(if b { "true" } else { "false" }),
                NodeKind::Number { text, .. } => text,
                NodeKind::Null => {
                    self.diags.push(key_pos, YamlProblem::NullKey);
                    continue;
                }
                NodeKind::Seq(_) | NodeKind::Map(_) => {
                    self.diags.push(key_pos, YamlProblem::CollectionKey);
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
                self.diags
                    .push(key_pos, YamlProblem::DuplicateKey { key, first });
                continue;
            }
            if let Some(ix) = &mut index {
                ix.insert(key.clone(), out.len());
            }
            out.push(Entry {
                key,
                key_pos,
                key_end,
                value,
            });
        }
    }
}

/// Where a collection that started at `start` is: a flow one ends at its closing bracket (`end`,
/// the end of its end event), a block one at its last value (`last`; the end event of a block
/// collection is where the next thing starts, past comments and blank lines).
fn collection_at(
    start: At,
    style: serde_saphyr::granit_parser::StructureStyle,
    end: u32,
    last: Option<u32>,
) -> At {
    if style == serde_saphyr::granit_parser::StructureStyle::Flow {
        At {
            end,
            style: Style::Flow,
            ..start
        }
    } else {
        At {
            end: last.unwrap_or(start.start),
            style: Style::Lines,
            ..start
        }
    }
}

/// `!` alone: "not a specific tag", which for a scalar means text.
fn is_non_specific(tag: &Tag) -> bool {
    matches!(tag.parts(), ("", "!") | ("!", ""))
}

fn tag_name(tag: &Tag) -> String {
    let (handle, suffix) = tag.original_parts();
    format!("{handle}{suffix}")
}

/// Resolve a scalar by the YAML 1.2 core schema (or its explicit tag).
fn scalar(value: Cow<'_, str>, style: ScalarStyle, tag: Option<&Tag>) -> Result<NodeKind, Stopped> {
    let Some(tag) = tag else {
        return Ok(if style == ScalarStyle::Plain {
            plain(value)
        } else {
            NodeKind::Str(CompactString::from(value))
        });
    };
    if is_non_specific(tag) || tag.is_yaml_core_schema_tag("str") {
        return Ok(NodeKind::Str(CompactString::from(value)));
    }
    let wanted = ["null", "bool", "int", "float"]
        .into_iter()
        .find(|t| tag.is_yaml_core_schema_tag(t));
    let Some(wanted) = wanted else {
        return Err(Stopped::UnsupportedTag(tag_name(tag)));
    };
    let kind = plain(value.clone());
    let fits = match (&kind, wanted) {
        (NodeKind::Null, "null") | (NodeKind::Bool(_), "bool") => true,
        (NodeKind::Number { text, .. }, "int") => !text.contains(['.', 'e', 'E']),
        (NodeKind::Number { .. }, "float") => true,
        _ => false,
    };
    if fits {
        Ok(kind)
    } else {
        Err(Stopped::NotValidAsTagged {
            value: value.into_owned(),
            tag: tag_name(tag),
        })
    }
}

/// A plain (unquoted) scalar: null, boolean, number or text, by the YAML 1.2 core schema.
fn plain(value: Cow<'_, str>) -> NodeKind {
    match value.as_ref() {
        "" | "~" | "null" | "Null" | "NULL" => return NodeKind::Null,
        "true" | "True" | "TRUE" => return NodeKind::Bool(true),
        "false" | "False" | "FALSE" => return NodeKind::Bool(false),
        _ => {}
    }
    number(&value).unwrap_or_else(|| NodeKind::Str(CompactString::from(value)))
}

/// A core-schema number (`7`, `-0`, `0o17`, `0x1F`, `1.5`, `.5`, `1e3`), keeping its text as
/// written when that is plain decimal. `.inf` and `.nan` are left as text: no field holds them.
fn number(s: &str) -> Option<NodeKind> {
    let radix = |digits: &str, radix: u32| {
        let v = u64::from_str_radix(digits, radix).ok()?;
        Some(NodeKind::Number {
            text: compact_str::ToCompactString::to_compact_string(&v),
            value: v.into(),
        })
    };
    if let Some(octal) = s.strip_prefix("0o") {
        return radix(octal, 8);
    }
    if let Some(hex) = s.strip_prefix("0x") {
        return radix(hex, 16);
    }
    let unsigned = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(i) => (&unsigned[..i], Some(&unsigned[i + 1..])),
        None => (unsigned, None),
    };
    let (int, frac) = match mantissa.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (mantissa, None),
    };
    let digits = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    let well_formed = digits(int)
        && frac.is_none_or(digits)
        && exponent_ok
        && (!int.is_empty() || frac.is_some_and(|f| !f.is_empty()));
    if !well_formed {
        return None;
    }
    let value = if frac.is_none() && exponent.is_none() {
        s.parse::<i64>()
            .map(serde_json::Number::from)
            .or_else(|_| {
                s.trim_start_matches('+')
                    .parse::<u64>()
                    .map(serde_json::Number::from)
            })
            .ok()
    } else {
        None
    };
    let value = value.or_else(|| s.parse::<f64>().ok().and_then(serde_json::Number::from_f64))?;
    Some(NodeKind::Number {
        text: s.into(),
        value,
    })
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
            NodeKind::Number { text, .. } => text.clone(),
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
        assert_eq!(n.get("a").unwrap().kind, NodeKind::Str("yes".into()));
        assert_eq!(n.get("b").unwrap().kind, NodeKind::Str("on".into()));
        assert_eq!(n.get("c").unwrap().kind, NodeKind::Bool(true));
        assert_eq!(n.get("d").unwrap().kind, NodeKind::Bool(true));
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
    fn a_stray_tab_is_pointed_at_where_it_is() {
        assert_eq!(
            problems("version: 1\n\tchannels:\n"),
            ["f.yaml:2:1: invalid YAML: while scanning a plain scalar, found a tab"]
        );
        assert_eq!(
            problems("version: 1\nchannels:\n\tweb: {}\n"),
            ["f.yaml:3:1: invalid YAML: tabs disallowed within this context (block indentation)"]
        );
        let tagged = problems("version: 1\nx: !tabular 1\ny: \"a\tb\"\n");
        assert_eq!(tagged.len(), 1);
        assert!(tagged[0].starts_with("f.yaml:2:"), "{tagged:?}");
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

    fn kind(text: &str) -> NodeKind {
        parse_ok(&format!("v: {text}\n"))
            .get("v")
            .unwrap()
            .kind
            .clone()
    }

    fn number_text(text: &str) -> Option<String> {
        match kind(text) {
            NodeKind::Number { text, .. } => Some(text.to_string()),
            _ => None,
        }
    }

    #[test]
    fn plain_scalars_resolve_by_the_yaml_1_2_core_schema() {
        for null in ["", "~", "null", "Null", "NULL"] {
            assert_eq!(kind(null), NodeKind::Null, "{null:?}");
        }
        assert_eq!(kind("True"), NodeKind::Bool(true));
        assert_eq!(kind("FALSE"), NodeKind::Bool(false));
        for text in [
            "yes",
            "No",
            "on",
            "off",
            "y",
            "nULL",
            "tRue",
            ".inf",
            "-.nan",
            "1_000",
            "1.2.3",
            "+",
            "e3",
            "0x",
            "0o9",
            "2024-05-01",
            "12:30",
        ] {
            assert_eq!(kind(text), NodeKind::Str(text.into()), "{text:?}");
        }
        for (written, text) in [
            ("7", "7"),
            ("-0", "-0"),
            ("+3", "+3"),
            ("007", "007"),
            (".5", ".5"),
            ("1.", "1."),
            ("1e3", "1e3"),
            ("-1.5E-2", "-1.5E-2"),
            ("0x1F", "31"),
            ("0o17", "15"),
        ] {
            assert_eq!(number_text(written).as_deref(), Some(text), "{written:?}");
        }
    }

    #[test]
    fn quoted_and_tagged_scalars() {
        assert_eq!(kind("'7'"), NodeKind::Str("7".into()));
        assert_eq!(kind("\"true\""), NodeKind::Str("true".into()));
        assert_eq!(kind("!!str 7"), NodeKind::Str("7".into()));
        assert_eq!(kind("! 7"), NodeKind::Str("7".into()));
        assert_eq!(number_text("!!int 7").as_deref(), Some("7"));
        assert_eq!(kind("!!bool true"), NodeKind::Bool(true));
        assert_eq!(
            problems("v: !!int x\n"),
            ["f.yaml:1:10: invalid YAML: \"x\" is not a valid !!int"]
        );
        assert_eq!(
            problems("v: !secret x\n"),
            ["f.yaml:1:12: invalid YAML: unsupported tag !secret"]
        );
        assert_eq!(
            problems("v: !!set {a}\n"),
            ["f.yaml:1:10: invalid YAML: unsupported tag !!set"]
        );
    }

    #[test]
    fn keys_must_be_scalars_and_merge_keys_are_refused() {
        assert_eq!(
            problems("? [a]\n: 1\n~: 2\n<<: {b: 3}\n7: ok\n"),
            [
                "f.yaml:1:3: a key must be text, not a list or mapping",
                "f.yaml:3:1: a key must be text, not null",
                "f.yaml:4:1: merge keys (<<) are not YAML 1.2: write the keys out",
            ]
        );
        assert!(parse_ok("7: ok\n").get("7").is_some());
    }

    #[test]
    fn an_alias_inside_its_own_anchor_is_an_error() {
        let got = problems("a: &a [1, *a]\n");
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(got[0].starts_with("f.yaml:1:"), "{got:?}");
    }

    #[test]
    fn every_value_knows_its_bytes_and_style() {
        let text =
            "a: 'q' # c\r\nb: [x, \"y\" ]\r\nc:\r\n  - p\r\n  - é  # c\r\nd: &s v\r\ne: *s\r\n";
        let n = parse_ok(text);
        let bytes = |n: &Node| &text[n.at.start as usize..n.at.end as usize];
        let a = n.get("a").unwrap();
        assert_eq!((bytes(a), a.at.style), ("'q'", Style::Single));
        assert_eq!(&text[..n.entry("a").unwrap().key_end as usize], "a");
        let b = n.get("b").unwrap();
        assert_eq!((bytes(b), b.at.style), ("[x, \"y\" ]", Style::Flow));
        assert_eq!(bytes(b.item(1).unwrap()), "\"y\"");
        let c = n.get("c").unwrap();
        assert_eq!((bytes(c), c.at.style), ("- p\r\n  - é", Style::Lines));
        assert_eq!(bytes(c.item(1).unwrap()), "é");
        assert!(!a.at.shared && !c.at.shared);
        assert!(n.get("d").unwrap().at.shared, "anchored");
        assert!(n.get("e").unwrap().at.shared, "an alias");
    }

    #[test]
    fn aliases_are_expanded_at_the_alias() {
        let n = parse_ok("a: &x [1]\nb: *x\n");
        let b = n.get("b").unwrap();
        assert_eq!((b.pos.line, b.pos.col), (2, 4));
        assert_eq!(b.to_json(), serde_json::json!([1]));
    }
}
