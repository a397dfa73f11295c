//! The diff of a contact's managed state, before and after apply: a `-` and a `+` line per
//! changed field or tag, and for a long text value changed in part, the word diff (`~`) of what
//! changed inside it.

use std::collections::{BTreeMap, BTreeSet};

use similar::{ChangeTag, TextDiff};

use super::escape_controls;
use crate::plan::ContactPlan;

/// The note a protected field's change carries in a diff.
pub(crate) const PROTECTED_NOTE: &str = " (protected: apply needs --force)";

/// The sign of a line of a contact's diff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sign {
    /// Present after apply, not before.
    Add,
    /// Present before apply, not after.
    Remove,
    /// What changed inside a long text value, under its `-` and `+` lines.
    Change,
}

impl Sign {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Sign::Add => "+",
            Sign::Remove => "-",
            Sign::Change => "~",
        }
    }
}

/// What a part of a diff line is, for a renderer that styles it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mark {
    /// Text as it is (a whole `-`/`+` line, or unchanged words of a word diff).
    Plain,
    /// Removed words, written `[-like this-]` (as `git diff --word-diff=plain`).
    Removed,
    /// Added words, written `{+like this+}`.
    Added,
}

/// One line of a contact's diff: its sign, then its text in parts. The text of the parts put
/// together is the whole line; colour is a renderer's addition, so a line reads the same
/// without it (in a CI log, or a Markdown code block).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DiffLine {
    pub sign: Sign,
    pub parts: Vec<(Mark, String)>,
}

impl DiffLine {
    fn whole(sign: Sign, text: String) -> DiffLine {
        DiffLine {
            sign,
            parts: vec![(Mark::Plain, text)],
        }
    }

    /// The text after the sign.
    pub(crate) fn text(&self) -> String {
        self.parts.iter().map(|(_, t)| t.as_str()).collect()
    }
}

/// The diff of a contact's managed state, before and after apply: one line per field
/// (`firstName: "Ana"`, name order) then one per tag (`tag: VIP`, sorted). Unchanged lines are
/// left out, and a field's old line comes right before its new one. A long text value that
/// changed in part gets a third line, its word diff (see [`word_diff`]).
pub(crate) fn diff_lines(c: &ContactPlan) -> Vec<DiffLine> {
    let mut fields: BTreeMap<&str, &str> = BTreeMap::new();
    let mut tags: BTreeSet<&str> = BTreeSet::new();
    if let Some(live) = &c.live {
        for (name, value) in &live.fields {
            if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
                fields.insert(name, v);
            }
        }
        tags.extend(live.tags.iter().map(String::as_str));
    }
    // Fields the plan changes that the snapshot lacks still have their `before`.
    for f in &c.fields {
        if let Some(before) = f.before.as_deref() {
            fields.entry(&f.name).or_insert(before);
        }
    }
    let before = fields.clone();
    let old = state_lines(&fields, &tags);

    for f in &c.fields {
        match f.after.as_deref() {
            Some(after) => fields.insert(&f.name, after),
            None => fields.remove(f.name.as_str()),
        };
    }
    for t in &c.tags_removed {
        tags.remove(t.as_str());
    }
    tags.extend(c.tags_added.iter().map(String::as_str));
    let new = state_lines(&fields, &tags);

    // Both states are keyed and sorted, so a comparison key by key is the whole diff.
    let keys: BTreeSet<&LineKey<'_>> = old.keys().chain(new.keys()).collect();
    let protected: BTreeSet<&str> = c
        .fields
        .iter()
        .filter(|f| f.protected)
        .map(|f| f.name.as_str())
        .collect();
    let mut lines = Vec::new();
    for key in keys {
        let (was, will) = (old.get(key), new.get(key));
        if was == will {
            continue;
        }
        if let Some(line) = was {
            lines.push(DiffLine::whole(Sign::Remove, line.clone()));
        }
        if let Some(line) = will {
            lines.push(DiffLine::whole(Sign::Add, line.clone()));
        }
        // the field's last line (its new value, or the old one it clears) says it is protected
        if let LineKey::Field(name) = key
            && protected.contains(name)
            && let Some(last) = lines.last_mut()
        {
            last.parts.push((Mark::Plain, PROTECTED_NOTE.to_string()));
        }
        if let LineKey::Field(name) = key
            && let (Some(was), Some(will)) = (before.get(name), fields.get(name))
            && let Some(words) = word_diff(name, was, will)
        {
            lines.push(words);
        }
    }
    lines
}

/// What a state line is about, in display order: fields by name, then tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum LineKey<'a> {
    Field(&'a str),
    Tag(&'a str),
}

fn state_lines<'a>(
    fields: &BTreeMap<&'a str, &str>,
    tags: &BTreeSet<&'a str>,
) -> BTreeMap<LineKey<'a>, String> {
    fields
        .iter()
        .map(|(name, value)| {
            let shown = format!("{}: {value:?}", escape_controls(name));
            (LineKey::Field(name), shown)
        })
        .chain(
            tags.iter()
                .map(|t| (LineKey::Tag(t), format!("tag: {}", escape_controls(t)))),
        )
        .collect()
}

/// A value at least this long (in characters, old or new) gets a word diff. Below it, the
/// `-` and `+` lines fit a terminal's 80 columns with their indent and name, one above the
/// other, letter over letter; above it they wrap (or scroll, in a PR comment's code block) and
/// no longer line up, and two words changed in a long note are hard to find.
const WORD_DIFF_MIN_CHARS: usize = 60;
/// ...and only when at least this share of the words stays: a value rewritten from end to end
/// reads better as its `-` and `+` lines alone than buried in markers.
const WORD_DIFF_MIN_RATIO: f32 = 0.5;
/// Past this length (old or new), no word diff: a document, not a note, and the diff's cost
/// grows with the product of the lengths.
const WORD_DIFF_MAX_CHARS: usize = 10_000;
/// Unchanged words kept on each side of a change; the rest of the unchanged text is cut to `…`.
const WORD_DIFF_CONTEXT: usize = 4;

/// A run of a word diff: unchanged text, or what was removed and added there.
enum Run {
    Same(String),
    Change(String, String),
}

/// `name: …about the [-premium-]{+enterprise+} plan in March; follow … before [-10am-]{+9am+}.`:
/// what changed inside a long text value, word by word (`similar`'s word diff), with a few
/// unchanged words around each change. `None` when the value is short, or mostly rewritten.
fn word_diff(name: &str, was: &str, will: &str) -> Option<DiffLine> {
    let longest = was.chars().count().max(will.chars().count());
    if !(WORD_DIFF_MIN_CHARS..=WORD_DIFF_MAX_CHARS).contains(&longest) {
        return None;
    }
    let diff = TextDiff::from_words(was, will);
    if diff.ratio() < WORD_DIFF_MIN_RATIO {
        return None;
    }
    let mut runs: Vec<Run> = Vec::new();
    // Spaces between two changed words join the change (`[-the premium-]`, not
    // `[-the-] [-premium-]`); held until the next word says which.
    let mut spaces = String::new();
    for change in diff.iter_all_changes() {
        let token = change.value();
        let in_change = matches!(runs.last(), Some(Run::Change(..)));
        match change.tag() {
            ChangeTag::Equal if in_change && token.trim().is_empty() => spaces.push_str(token),
            ChangeTag::Equal => {
                let text = std::mem::take(&mut spaces) + token;
                match runs.last_mut() {
                    Some(Run::Same(same)) => same.push_str(&text),
                    _ => runs.push(Run::Same(text)),
                }
            }
            tag => {
                if !in_change {
                    runs.push(Run::Change(String::new(), String::new()));
                }
                if let Some(Run::Change(removed, added)) = runs.last_mut() {
                    removed.push_str(&spaces);
                    added.push_str(&spaces);
                    spaces.clear();
                    let side = if tag == ChangeTag::Delete {
                        removed
                    } else {
                        added
                    };
                    side.push_str(token);
                }
            }
        }
    }
    if !spaces.is_empty() {
        runs.push(Run::Same(spaces));
    }
    let runs = space_before_words(runs);

    let mut parts = vec![(Mark::Plain, format!("{}: ", escape_controls(name)))];
    let last = runs.len().saturating_sub(1);
    for (i, run) in runs.iter().enumerate() {
        match run {
            Run::Same(text) => parts.push((Mark::Plain, one_line(&context(text, i, last)))),
            Run::Change(removed, added) => {
                if !removed.is_empty() {
                    parts.push((Mark::Removed, format!("[-{}-]", one_line(removed))));
                }
                if !added.is_empty() {
                    parts.push((Mark::Added, format!("{{+{}+}}", one_line(added))));
                }
            }
        }
    }
    Some(DiffLine {
        sign: Sign::Change,
        parts,
    })
}

/// Words removed (or added) with the space after them, `the [-premium -]plan`, read as the
/// same words with the space before them: `the[- premium-] plan`. Both say the same of the
/// old and new text; the second keeps the words apart.
fn space_before_words(runs: Vec<Run>) -> Vec<Run> {
    let mut out: Vec<Run> = Vec::with_capacity(runs.len());
    let mut carry = String::new();
    for run in runs {
        match run {
            Run::Same(text) => {
                out.push(Run::Same(std::mem::take(&mut carry) + &text));
            }
            Run::Change(mut removed, mut added) => {
                let prev = match out.last_mut() {
                    Some(Run::Same(prev)) => Some(prev),
                    _ => None,
                };
                let side = match (removed.is_empty(), added.is_empty()) {
                    (false, true) => Some(&mut removed),
                    (true, false) => Some(&mut added),
                    _ => None,
                };
                if let (Some(prev), Some(side)) = (prev, side) {
                    let words = side.trim_end().len();
                    let space = side[words..].to_string();
                    if words > 0 && !space.is_empty() && prev.ends_with(&space) {
                        prev.truncate(prev.len() - space.len());
                        side.truncate(words);
                        side.insert_str(0, &space);
                        carry = space;
                    }
                }
                out.push(Run::Change(removed, added));
            }
        }
    }
    if !carry.is_empty() {
        out.push(Run::Same(carry));
    }
    out
}

/// Unchanged text of a word diff, the `i`-th run of `0..=last`, cut to the words next to the
/// changes around it: the last few before the first change, the first few after the last
/// one, a few on each side in between.
fn context(text: &str, i: usize, last: usize) -> String {
    // Byte ranges of the words.
    let mut words: Vec<(usize, usize)> = Vec::new();
    let mut start = None;
    for (at, ch) in text.char_indices() {
        match (ch.is_whitespace(), start) {
            (false, None) => start = Some(at),
            (true, Some(s)) => {
                words.push((s, at));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        words.push((s, text.len()));
    }
    let keep_head = if i > 0 { WORD_DIFF_CONTEXT } else { 0 };
    let keep_tail = if i < last { WORD_DIFF_CONTEXT } else { 0 };
    if words.len() <= keep_head + keep_tail {
        return text.to_string();
    }
    let head = match keep_head {
        0 => "",
        n => &text[..words[n - 1].1],
    };
    let tail = match keep_tail {
        0 => "",
        n => &text[words[words.len() - n].0..],
    };
    match (head.is_empty(), tail.is_empty()) {
        (true, _) => format!("…{tail}"),
        (_, true) => format!("{head}…"),
        _ => format!("{head} … {tail}"),
    }
}

/// Text on one line: control characters (line breaks, tabs) written as escapes, as the `-`/`+`
/// lines write them.
fn one_line(text: &str) -> String {
    escape_controls(text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::super::fixtures;
    use super::*;
    use crate::plan::Action;

    /// The word diff line of a value changed from `was` to `will`, if any.
    fn words(was: &str, will: &str) -> Option<String> {
        word_diff("note", was, will).map(|l| l.text())
    }

    #[test]
    fn a_long_value_changed_in_part_shows_the_changed_words_with_a_little_context() {
        assert_eq!(
            words(fixtures::NOTE_BEFORE, fixtures::NOTE_AFTER).as_deref(),
            Some(
                "note: …calls. Asked about the [-premium-]{+enterprise+} plan at the March … \
                 Do not call before [-10am.-]{+9am.+} Speaks Spanish and English."
            )
        );
    }

    #[test]
    fn neighbouring_changed_words_are_one_change() {
        let was = "Asked about the premium plan at the March webinar; follow up in the summer.";
        let will = "Asked about an enterprise plan at the March webinar; follow up in the summer.";
        let line = words(was, will).unwrap();
        assert!(
            line.starts_with("note: Asked about [-the premium-]{+an enterprise+} plan at the"),
            "{line}"
        );
        // a word replaced by several
        let line = words(was, &was.replace("summer.", "summer, by phone.")).unwrap();
        assert!(
            line.ends_with("in the [-summer.-]{+summer, by phone.+}"),
            "{line}"
        );
        // words only added, or only removed, with their space
        let line = words(was, &was.replace("March", "March partner")).unwrap();
        assert!(line.contains("the March{+ partner+} webinar;"), "{line}");
        let line = words(was, &was.replace(" premium", "")).unwrap();
        assert!(line.contains("about the[- premium-] plan"), "{line}");
    }

    #[test]
    fn short_or_rewritten_values_get_no_word_diff() {
        // 59 characters: the `-`/`+` lines still sit one over the other on 80 columns
        let short = "x".repeat(50) + " abcdefgh";
        assert_eq!(short.chars().count(), 59);
        assert_eq!(words(&short, &short.replace("abcdefgh", "abcdefgi")), None);
        let long = short.clone() + "i";
        assert!(words(&long, &long.replace("abcdefgh", "abcdefgi")).is_some());
        // from end to end: less than half the words stay
        let was = "Prefers the newsletter in Spanish, sent on Mondays, and no phone calls at all.";
        let will = "Asked to be called on Fridays after lunch; e-mails go unread for weeks now.";
        assert_eq!(words(was, will), None);
    }

    #[test]
    fn a_word_diff_stays_on_one_line() {
        let was = "Line one of a note.\nLine two of the note, which is long enough to matter.";
        let will = "Line one of a note.\nLine 2 of the note, which is long enough to matter.";
        let line = words(was, will).unwrap();
        assert_eq!(
            line,
            "note: …of a note.\\nLine [-two-]{+2+} of the note, which…"
        );
    }

    #[test]
    fn only_a_value_changed_in_place_gets_a_word_diff() {
        let mut plan = fixtures::notes_plan();
        let signs = |c: &ContactPlan| -> Vec<&str> {
            diff_lines(c).iter().map(|l| l.sign.as_str()).collect()
        };
        // two words of a note changed: its two lines and the word diff; the short name: two
        assert_eq!(signs(&plan.contacts[0]), ["-", "+", "-", "+", "~"]);
        // rewritten, and written on a new contact: the lines alone
        assert_eq!(signs(&plan.contacts[1]), ["-", "+"]);
        assert!(!signs(&plan.contacts[2]).contains(&"~"));
        // cleared: the old line alone
        for f in &mut plan.contacts[0].fields {
            f.after = None;
        }
        assert_eq!(signs(&plan.contacts[0]), ["-", "-"]);
    }

    #[test]
    fn the_diff_pairs_old_and_new_values_and_hides_what_stays() {
        let plan = fixtures::plan();
        let update = plan
            .contacts
            .iter()
            .find(|c| c.action == Action::Update)
            .unwrap();
        let lines: Vec<String> = diff_lines(update)
            .into_iter()
            .map(|l| format!("{} {}", l.sign.as_str(), l.text()))
            .collect();
        assert_eq!(
            lines,
            [
                "- firstName: \"Ana\"",
                "+ firstName: \"Anna\"",
                "- lastName: \"Lopez\"",
                "- tag: Blog Updates",
                "+ tag: VIP",
            ]
        );
    }
}
