//! YAML edits at byte spans: a scalar replaced by a new value written in the style around it, and
//! items removed from or added to a block (`- a` lines) or flow (`[a, b]`) list. A new value is
//! quoted exactly when the loader's own YAML 1.2 reading of it plain would differ (`+34600111222`
//! is a number, `007` too, `null`, `true`, `a: b`, `a #b`, a `,` in a flow list): the check is
//! that reading, not a list of rules, so writer and reader cannot disagree.

use super::{Splice, line_ending};
use crate::config::{NodeKind, parse_yaml};
use crate::model::yaml_double_quoted;

/// What a value must read back as: the loader turns each into the wire string it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Text, exactly this string (text, email, phone, URL, date fields; tags).
    Text,
    /// A number field: a plain number whose written text is this string, or this text.
    Number,
    /// A boolean field: `true` or `false` (any case on the wire).
    Boolean,
}

/// How the value being replaced was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quote {
    /// Plain (or empty).
    Plain,
    /// `'single'`.
    Single,
    /// `"double"`.
    Double,
}

/// Why a list cannot be edited in place.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A block list item that does not start its own line with `- `.
    #[error("a list item at byte {at} does not start its own line with \"- \"")]
    NotOwnLine {
        /// The item's first byte.
        at: usize,
    },
    /// No `:` after the key, where a value is to be written.
    #[error("no \":\" after the key at byte {at}")]
    NoColon {
        /// Where the key ends.
        at: usize,
    },
}

/// `value` written as a YAML scalar that reads back as `expect`, in the style of the value it
/// replaces (`old`), inside a flow collection when `flow`. Plain when plain reads back the same
/// (and the old value was plain), else quoted: as the old value was, or double quotes.
pub fn scalar(value: &str, expect: Expect, old: Quote, flow: bool) -> String {
    let value = match expect {
        Expect::Boolean if value.eq_ignore_ascii_case("true") => "true",
        Expect::Boolean if value.eq_ignore_ascii_case("false") => "false",
        _ => value,
    };
    let printable = !value.chars().any(char::is_control);
    // Plain only where it reads back both in a flow list and as a block value: `?` reads back
    // from `[?]` in this loader, but YAML makes it a key indicator, as other tools would read it.
    if old == Quote::Plain
        && printable
        && reads_back(value, value, expect, flow)
        && (!flow || reads_back(value, value, expect, false))
    {
        return value.to_string();
    }
    if old == Quote::Single && printable {
        let single = format!("'{}'", value.replace('\'', "''"));
        if reads_back(&single, value, Expect::Text, flow) {
            return single;
        }
    }
    yaml_double_quoted(value)
}

/// Whether `written`, as a value (in a flow list when `flow`), is read by the loader as `value`
/// of the kind `expect` asks. A quoted text reads back as text, whatever `expect`: the loader
/// accepts text for every field type.
fn reads_back(written: &str, value: &str, expect: Expect, flow: bool) -> bool {
    let doc = if flow {
        format!("v: [{written}]\n")
    } else {
        format!("v: {written}\n")
    };
    let Ok(root) = parse_yaml(&doc) else {
        return false;
    };
    let Some(node) = root.get("v") else {
        return false;
    };
    let node = if flow {
        match &node.kind {
            NodeKind::Seq(items) if items.len() == 1 => &items[0],
            _ => return false,
        }
    } else {
        node
    };
    match (&node.kind, expect) {
        (NodeKind::Str(s), _) => s == value,
        (NodeKind::Number { text, .. }, Expect::Number) => text == value,
        (NodeKind::Bool(b), Expect::Boolean) => b.to_string() == value,
        _ => false,
    }
}

/// Replace the value at `start..end` (its key ending at `key_end`) with `new`. An empty value
/// (`email:` with nothing after it) has no bytes: `new` goes after the key's `:`.
pub fn set_value(
    text: &str,
    key_end: usize,
    start: usize,
    end: usize,
    new: &str,
) -> Result<Splice, Error> {
    if start < end {
        return Ok(Splice {
            start,
            end,
            text: new.to_string(),
        });
    }
    let colon = text
        .get(key_end..)
        .and_then(|rest| {
            let skipped = rest.len() - rest.trim_start_matches([' ', '\t']).len();
            rest[skipped..]
                .starts_with(':')
                .then_some(key_end + skipped)
        })
        .ok_or(Error::NoColon { at: key_end })?;
    Ok(Splice {
        start: colon + 1,
        end: colon + 1,
        text: format!(" {new}"),
    })
}

/// Where the block scalar (`|` or `>`) of the value whose key ends at `key_end` has its header
/// indicator: after the key's `:` and spaces. `None` when something else is there (a tag).
pub fn block_header(text: &str, key_end: usize) -> Option<usize> {
    let rest = text.get(key_end..)?;
    let after_key = rest.trim_start_matches([' ', '\t']);
    let after_colon = after_key.strip_prefix(':')?.trim_start_matches([' ', '\t']);
    let at = text.len() - after_colon.len();
    matches!(after_colon.as_bytes().first(), Some(b'|' | b'>')).then_some(at)
}

/// The splices that make the block scalar whose header indicator (`|` or `>`) is at `header`
/// and whose content ends at `end` (past its trailing line breaks, as the loader reads it) hold
/// `value`: a literal block (`|`, or `|-` without a final line break) at the content's own
/// indentation, the header's comment and the blank lines after the content kept; `None` (a
/// cleared value) is written `null`. `None` when no literal block reads back exactly as `value`
/// (leading whitespace on its first line, a line of spaces only, more than one final line
/// break, a character YAML does not print, an empty value) or the header has an explicit
/// indentation: such a value is left to the user.
pub fn set_block(
    text: &str,
    header: usize,
    end: usize,
    value: Option<&str>,
) -> Option<Vec<Splice>> {
    let indicators = text.get(header..)?;
    let header_len = 1 + indicators[1..]
        .bytes()
        .take_while(|b| matches!(b, b'+' | b'-' | b'0'..=b'9'))
        .count();
    if indicators[1..header_len]
        .bytes()
        .any(|b| b.is_ascii_digit())
    {
        return None;
    }
    // the content: the lines after the header's, up to the last that holds more than spaces
    let content_start = header + indicators.find('\n')? + 1;
    let mut content_end = content_start;
    let mut indent = None;
    let mut at = content_start;
    for line in text.get(content_start..end)?.split_inclusive('\n') {
        let body = line.trim_end_matches(['\r', '\n']);
        if !body.trim().is_empty() {
            indent.get_or_insert(body.len() - body.trim_start_matches(' ').len());
            content_end = at + line.len();
        }
        at += line.len();
    }
    let indent = indent.filter(|&n| n > 0)?;
    let eol = super::line_ending(text, header);
    let (new_header, content) = match value {
        None => ("null".to_string(), String::new()),
        Some(value) => literal_block(value, indent, eol)?,
    };
    Some(vec![
        Splice {
            start: header,
            end: header + header_len,
            text: new_header,
        },
        Splice {
            start: content_start,
            end: content_end,
            text: content,
        },
    ])
}

/// `value` as a literal block's header and content lines at `indent` spaces, each line ended by
/// `eol`; `None` unless that block reads back as exactly `value`.
fn literal_block(value: &str, indent: usize, eol: &str) -> Option<(String, String)> {
    let unprintable = |c: char| {
        (c.is_control() && c != '\n' && c != '\t')
            || matches!(
                c,
                '\u{feff}' | '\u{2028}' | '\u{2029}' | '\u{fffe}' | '\u{ffff}'
            )
    };
    if value.chars().any(unprintable) {
        return None;
    }
    let (body, chomp) = match value.strip_suffix('\n') {
        Some(body) if body.ends_with('\n') => return None,
        Some(body) => (body, ""),
        None => (value, "-"),
    };
    let lines: Vec<&str> = body.split('\n').collect();
    let first = lines.iter().find(|l| !l.is_empty())?;
    if first.starts_with([' ', '\t']) || lines.iter().any(|l| !l.is_empty() && l.trim().is_empty())
    {
        return None;
    }
    let pad = " ".repeat(indent);
    let content: String = lines
        .iter()
        .map(|l| {
            if l.is_empty() {
                eol.to_string()
            } else {
                format!("{pad}{l}{eol}")
            }
        })
        .collect();
    let header = format!("|{chomp}");
    let doc = format!("v: {header}{eol}{content}");
    let root = parse_yaml(&doc).ok()?;
    (root.get("v")?.kind == NodeKind::Str(value.into())).then_some((header, content))
}

/// A list of tags in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct List {
    /// `[a, b]` (else `- a` lines).
    pub flow: bool,
    /// First byte of the list: its `[`, or its first item's `-`.
    pub start: usize,
    /// Where its key (`tags`) ends: a block list emptied is written ` []` after the key's `:`.
    pub key_end: usize,
    /// Each item's bytes.
    pub items: Vec<(usize, usize)>,
}

/// The splices that remove the items at the indexes `remove` from `list` and add `add` (values
/// already written as scalars, see [`scalar`]) after the last item kept. A block list keeps one
/// `- item` line per item (an item's line goes with it, end-of-line comment included; other
/// lines and comments stay); a block list left empty becomes `[]`.
pub fn edit_list(
    text: &str,
    list: &List,
    remove: &[usize],
    add: &[String],
) -> Result<Vec<Splice>, Error> {
    if list.flow {
        Ok(flow_list(list, remove, add))
    } else {
        block_list(text, list, remove, add)
    }
}

fn flow_list(list: &List, remove: &[usize], add: &[String]) -> Vec<Splice> {
    let items = &list.items;
    let kept: Vec<usize> = (0..items.len()).filter(|i| !remove.contains(i)).collect();
    let added = add.join(", ");
    let Some(&last_kept) = kept.last() else {
        // nothing kept: the items' bytes become the new ones (`[ ]` stays as written when empty)
        return match (items.first(), items.last()) {
            (Some(first), Some(last)) => vec![Splice {
                start: first.0,
                end: last.1,
                text: added,
            }],
            _ if add.is_empty() => vec![],
            _ => vec![Splice {
                start: list.start + 1,
                end: list.start + 1,
                text: added,
            }],
        };
    };
    let mut out = Vec::new();
    // removed items before the last one kept: each with what separates it from the next
    for &i in remove.iter().filter(|&&i| i < last_kept) {
        out.push(Splice {
            start: items[i].0,
            end: items[i + 1].0,
            text: String::new(),
        });
    }
    // the removed run after the last one kept goes with the separator before it; the added
    // values come right after the last one kept
    let end = items.last().map_or(items[last_kept].1, |l| l.1);
    let text = if add.is_empty() {
        String::new()
    } else {
        format!(", {added}")
    };
    if end > items[last_kept].1 || !text.is_empty() {
        out.push(Splice {
            start: items[last_kept].1,
            end,
            text,
        });
    }
    out
}

fn block_list(
    text: &str,
    list: &List,
    remove: &[usize],
    add: &[String],
) -> Result<Vec<Splice>, Error> {
    // Each item's whole line: from the start of its line to past its line break.
    let mut lines = Vec::with_capacity(list.items.len());
    for &(start, end) in &list.items {
        let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
        let prefix = &text[line_start..start];
        let dash = prefix.trim_start_matches([' ', '\t']);
        if !dash.starts_with('-') || !dash[1..].chars().all(|c| c == ' ' || c == '\t') {
            return Err(Error::NotOwnLine { at: start });
        }
        let line_end = text[end..].find('\n').map_or(text.len(), |i| end + i + 1);
        let indent = &prefix[..prefix.len() - dash.len()];
        lines.push((line_start, line_end, indent));
    }
    let mut out: Vec<Splice> = remove
        .iter()
        .filter_map(|&i| lines.get(i))
        .map(|&(start, end, _)| Splice {
            start,
            end,
            text: String::new(),
        })
        .collect();
    let kept: Vec<usize> = (0..lines.len()).filter(|i| !remove.contains(i)).collect();
    if !add.is_empty() {
        let (at, indent) = match (kept.last(), lines.first()) {
            (Some(&k), _) => (lines[k].1, lines[k].2),
            (None, Some(first)) => (first.0, first.2),
            (None, None) => (list.start, ""),
        };
        let eol = line_ending(text, at.saturating_sub(1));
        let mut new = String::new();
        if at > 0 && !text[..at].ends_with('\n') {
            new.push_str(eol);
        }
        for value in add {
            new.push_str(&format!("{indent}- {value}{eol}"));
        }
        out.push(Splice {
            start: at,
            end: at,
            text: new,
        });
    } else if kept.is_empty() {
        let splice = set_value(text, list.key_end, list.key_end, list.key_end, "[]")?;
        out.push(splice);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Node, NodeKind, parse_yaml};
    use crate::edit::apply;
    use proptest::prelude::*;

    #[test]
    fn values_yaml_would_read_as_something_else_are_quoted() {
        let t = |v: &str| scalar(v, Expect::Text, Quote::Plain, false);
        assert_eq!(t("+34600111222"), "\"+34600111222\"");
        assert_eq!(t("007"), "\"007\"");
        assert_eq!(t("null"), "\"null\"");
        assert_eq!(t("~"), "\"~\"");
        assert_eq!(t("true"), "\"true\"");
        assert_eq!(t("a: b"), "\"a: b\"");
        assert_eq!(t("a #b"), "\"a #b\"");
        assert_eq!(t(" lead"), "\" lead\"");
        assert_eq!(t("say \"hi\"\n"), "\"say \\\"hi\\\"\\n\"");
        assert_eq!(t("Ana María"), "Ana María");
        assert_eq!(t("a,b"), "a,b");
        assert_eq!(scalar("a,b", Expect::Text, Quote::Plain, true), "\"a,b\"");
        assert_eq!(scalar("VIP", Expect::Text, Quote::Plain, true), "VIP");
        assert_eq!(scalar("7.50", Expect::Number, Quote::Plain, false), "7.50");
        assert_eq!(scalar("TRUE", Expect::Boolean, Quote::Plain, false), "true");
        assert_eq!(
            scalar("it's", Expect::Text, Quote::Single, false),
            "'it''s'"
        );
        assert_eq!(scalar("x", Expect::Text, Quote::Double, false), "\"x\"");
    }

    /// `text`'s `tags:` list, written `[..]` when `flow`, with `remove` and `add` applied.
    fn edited(text: &str, flow: bool, remove: &[usize], add: &[&str]) -> String {
        let root = parse_yaml(text).unwrap();
        let e = root.entry("tags").unwrap();
        let list = List {
            flow,
            start: e.value.at.start as usize,
            key_end: e.key_end as usize,
            items: spans(&e.value),
        };
        let add: Vec<String> = add.iter().map(|s| s.to_string()).collect();
        apply(text, &edit_list(text, &list, remove, &add).unwrap()).unwrap()
    }

    fn flow(text: &str, remove: &[usize], add: &[&str]) -> String {
        edited(text, true, remove, add)
    }

    fn block(text: &str, remove: &[usize], add: &[&str]) -> String {
        edited(text, false, remove, add)
    }

    fn spans(node: &Node) -> Vec<(usize, usize)> {
        match &node.kind {
            NodeKind::Seq(items) => items
                .iter()
                .map(|n| (n.at.start as usize, n.at.end as usize))
                .collect(),
            _ => vec![],
        }
    }

    #[test]
    fn flow_lists_lose_and_gain_items_in_place() {
        let t = "tags: [a, 'b' , c]  # x\n";
        assert_eq!(flow(t, &[1], &[]), "tags: [a, c]  # x\n");
        assert_eq!(flow(t, &[0], &[]), "tags: ['b' , c]  # x\n");
        assert_eq!(flow(t, &[2], &[]), "tags: [a, 'b']  # x\n");
        assert_eq!(flow(t, &[1, 2], &["d"]), "tags: [a, d]  # x\n");
        assert_eq!(flow(t, &[0, 1, 2], &[]), "tags: []  # x\n");
        assert_eq!(flow(t, &[], &["d", "e"]), "tags: [a, 'b' , c, d, e]  # x\n");
        assert_eq!(flow("tags: []\n", &[], &["d"]), "tags: [d]\n");
        assert_eq!(flow("tags: [ ]\n", &[], &[]), "tags: [ ]\n");
    }

    #[test]
    fn block_lists_lose_and_gain_lines() {
        let t = "tags:   # mine\r\n  - a\r\n  # between\r\n  - b   # why\r\nnext: 1\r\n";
        assert_eq!(
            block(t, &[1], &[]),
            "tags:   # mine\r\n  - a\r\n  # between\r\nnext: 1\r\n"
        );
        assert_eq!(
            block(t, &[0], &["c"]),
            "tags:   # mine\r\n  # between\r\n  - b   # why\r\n  - c\r\nnext: 1\r\n"
        );
        assert_eq!(
            block(t, &[0, 1], &[]),
            "tags: []   # mine\r\n  # between\r\nnext: 1\r\n"
        );
        assert_eq!(
            block(t, &[0, 1], &["c"]),
            "tags:   # mine\r\n  - c\r\n  # between\r\nnext: 1\r\n"
        );
        assert_eq!(block("tags:\n- a", &[], &["b"]), "tags:\n- a\n- b\n");
    }

    #[test]
    fn an_empty_value_is_written_after_its_colon() {
        let t = "email:   # none yet\nx: 1\n";
        let root = parse_yaml(t).unwrap();
        let e = root.entry("email").unwrap();
        let (start, end) = (e.value.at.start as usize, e.value.at.start as usize);
        let s = set_value(t, e.key_end as usize, start, end, "a@b.c").unwrap();
        assert_eq!(apply(t, &[s]).unwrap(), "email: a@b.c   # none yet\nx: 1\n");
    }

    /// `text` with the block value of `key` (a top-level key) set to `value`, or `None`.
    fn block_set(text: &str, key: &str, value: Option<&str>) -> Option<String> {
        let root = parse_yaml(text).unwrap();
        let entry = root.entry(key).unwrap();
        let header = block_header(text, entry.key_end as usize)?;
        let splices = set_block(text, header, entry.value.at.end as usize, value)?;
        Some(apply(text, &splices).unwrap())
    }

    #[test]
    fn a_block_value_is_rewritten_as_a_literal_block_keeping_its_comment_and_indentation() {
        let text = "a: | # keep me\n    old\n    text\n\n# after\nb: 1\n";
        assert_eq!(
            block_set(text, "a", Some("new\nlines")).unwrap(),
            "a: |- # keep me\n    new\n    lines\n\n# after\nb: 1\n"
        );
        assert_eq!(
            block_set(text, "a", Some("one line\n\nafter a blank\n")).unwrap(),
            "a: | # keep me\n    one line\n\n    after a blank\n\n# after\nb: 1\n"
        );
        // folded becomes literal (its folding would change the value); CRLF stays CRLF
        assert_eq!(
            block_set("a: >-\r\n  x\r\n  y\r\nb: 1\r\n", "a", Some("p: q #r")).unwrap(),
            "a: |-\r\n  p: q #r\r\nb: 1\r\n"
        );
        // cleared
        assert_eq!(
            block_set("a: |\n  x\nb: 1\n", "a", None).unwrap(),
            "a: null\nb: 1\n"
        );
    }

    #[test]
    fn a_block_value_no_literal_block_can_hold_exactly_is_left_alone() {
        let text = "a: |\n  x\nb: 1\n";
        for value in [
            "",
            " leading space",
            "\tleading tab",
            "two breaks\n\n",
            "a\n  \nb",
            "bell\u{7}",
            "cr\r",
        ] {
            assert_eq!(block_set(text, "a", Some(value)), None, "{value:?}");
        }
        // an explicit indentation, a tag
        assert_eq!(block_set("a: |2\n   x\n", "a", Some("y")), None);
        assert_eq!(block_set("a: !!str |\n  x\n", "a", Some("y")), None);
    }

    proptest! {
        #[test]
        fn every_written_block_reads_back_as_its_value(
            value in "[ -~\t\n\u{a0}-\u{17f}]{0,24}",
            folded in any::<bool>(),
        ) {
            let text = format!(
                "k:\n  a: {} # c\n    old\n     more\n\n  b: 2\n",
                if folded { ">" } else { "|" }
            );
            let root = parse_yaml(&text).unwrap();
            let entry = root.get("k").unwrap().entry("a").unwrap();
            let header = block_header(&text, entry.key_end as usize).unwrap();
            if let Some(splices) = set_block(&text, header, entry.value.at.end as usize, Some(&value)) {
                let after = apply(&text, &splices).unwrap();
                let root = parse_yaml(&after).unwrap();
                let k = root.get("k").unwrap();
                prop_assert_eq!(k.get("a").unwrap().kind.clone(), NodeKind::Str(value.as_str().into()), "{}", after);
                prop_assert_eq!(k.get("b").unwrap().to_json(), serde_json::json!(2));
                prop_assert!(after.contains(" # c\n"), "{}", after);
            }
        }
        #[test]
        fn every_written_scalar_reads_back_as_its_value(
            value in "[ -~\\t\\n\\u{a0}-\\u{17f}]{0,16}",
            old in prop_oneof![Just(Quote::Plain), Just(Quote::Single), Just(Quote::Double)],
            flow in any::<bool>(),
        ) {
            let written = scalar(&value, Expect::Text, old, flow);
            prop_assert!(reads_back(&written, &value, Expect::Text, flow), "{value:?} -> {written}");
            // and inside a block mapping, indented, with a comment after it
            let doc = format!("a:\n  v: {written}  # c\n  w: 1\n");
            let root = parse_yaml(&doc).unwrap();
            prop_assert_eq!(root.get("a").unwrap().get("v").unwrap().kind.clone(), NodeKind::Str(value.as_str().into()));
        }

        #[test]
        fn list_edits_keep_every_other_item_and_every_comment(
            items in proptest::collection::vec("[a-z]{1,4}", 0..6),
            remove_mask in any::<u8>(),
            add in proptest::collection::vec("[a-z]{1,4}|[0-9]{1,3}|true", 0..3),
            flow in any::<bool>(),
            crlf in any::<bool>(),
        ) {
            let eol = if crlf { "\r\n" } else { "\n" };
            let list = if flow {
                format!("[{}]", items.join(", "))
            } else if items.is_empty() {
                "[]".to_string()
            } else {
                items.iter().map(|i| format!("{eol}  - {i}  # on {i}")).collect()
            };
            let text = if flow || items.is_empty() {
                format!("# head{eol}c:{eol}  tags: {list} # tail{eol}  # own line{eol}  x: 1{eol}")
            } else {
                format!("# head{eol}c:{eol}  tags: # tail{list}{eol}  # own line{eol}  x: 1{eol}")
            };
            let root = parse_yaml(&text).unwrap();
            let c = root.entry("c").unwrap();
            let e = c.value.entry("tags").unwrap();
            let flow_now = flow || items.is_empty();
            let list = List {
                flow: flow_now,
                start: e.value.at.start as usize,
                key_end: e.key_end as usize,
                items: spans(&e.value),
            };
            let remove: Vec<usize> = (0..items.len()).filter(|i| remove_mask & (1 << i) != 0).collect();
            let written: Vec<String> = add.iter().map(|a| scalar(a, Expect::Text, Quote::Plain, flow_now)).collect();
            let out = apply(&text, &edit_list(&text, &list, &remove, &written).unwrap()).unwrap();
            let root = parse_yaml(&out).unwrap();
            let got: Vec<String> = match &root.get("c").unwrap().get("tags").unwrap().kind {
                NodeKind::Seq(v) => v.iter().map(|n| match &n.kind { NodeKind::Str(s) => s.to_string(), k => format!("{k:?}") }).collect(),
                k => panic!("{k:?}"),
            };
            let mut want: Vec<String> = items.iter().enumerate().filter(|(i, _)| !remove.contains(i)).map(|(_, s)| s.clone()).collect();
            want.extend(add.iter().cloned());
            prop_assert_eq!(got, want);
            for line in ["# head", "  # own line", "  x: 1"] {
                prop_assert!(out.contains(&format!("{line}{eol}")), "{out:?}");
            }
            prop_assert!(out.contains("# tail"));
            prop_assert_eq!(out.matches('\n').count(), out.matches(eol).count(), "one line ending");
        }
    }
}
