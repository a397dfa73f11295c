//! Renderers: one plan (or apply report) to text ([`text`]), Markdown ([`markdown`]) or JSON
//! ([`json`]), and the verdict of `validate` ([`validate()`]), written to a writer. The one format
//! dispatch is here ([`plan()`], [`report()`], [`validate()`]). They decide nothing: every figure comes from the plan or the
//! report. This file holds what the formats share (wording of the summary, durations, the diff of
//! a contact's managed state); it must not print, read the environment or decide colour.

pub mod adopt;
mod controls;
pub mod json;
pub mod markdown;
pub(crate) mod problems;
pub mod text;
mod validate;

pub use validate::validate;

pub(crate) use controls::escape_controls;

#[cfg(test)]
mod fixtures;

use std::collections::{BTreeMap, BTreeSet};
use std::io;

use similar::{ChangeTag, TextDiff};

use crate::apply::{ApplyReport, ContactOutcome, NotRun, Outcome};
use crate::model::Identity;
use crate::plan::{Action, ContactPlan, Kept, Plan};

/// An output format of `plan` and `apply`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Terraform-like text for a terminal or a log.
    #[default]
    Text,
    /// Markdown for a pull-request comment.
    Markdown,
    /// One JSON object (SPEC's plan object) for scripts.
    Json,
}

/// Render `plan` in `format`. `color` matters to text only (the caller decides it: terminal,
/// `--no-color`, `NO_COLOR`).
pub fn plan(format: Format, plan: &Plan, w: &mut dyn io::Write, color: bool) -> io::Result<()> {
    match format {
        Format::Text => text::plan(plan, w, color),
        Format::Markdown => markdown::plan(plan, w),
        Format::Json => json::plan(plan, w),
    }
}

/// Render an apply report in `format`; `color` as for [`plan()`]. `list_left`: name each contact
/// the time budget left for the next run (`-v`); text and Markdown otherwise only count them, as
/// there may be thousands. JSON always has every contact.
pub fn report(
    format: Format,
    report: &ApplyReport,
    w: &mut dyn io::Write,
    color: bool,
    list_left: bool,
) -> io::Result<()> {
    match format {
        Format::Text => text::report(report, w, color, list_left),
        Format::Markdown => markdown::report(report, w, list_left),
        Format::Json => json::report(report, w),
    }
}

/// The word for an action, as in SPEC's JSON `action`.
pub(crate) fn action_name(action: Action) -> &'static str {
    match action {
        Action::Create => "create",
        Action::Update => "update",
        Action::Unchanged => "unchanged",
        Action::Orphan => "orphan",
        Action::Error => "error",
    }
}

/// `1 to create, 2 to update, 40 unchanged, 0 orphans; 3 tags to add, 1 to remove; 0 errors`.
pub(crate) fn summary_sentence(plan: &Plan) -> String {
    let s = &plan.summary;
    let orphans = if plan.prune && s.orphans > 0 {
        format!("{} to prune", plural(s.orphans, "orphan", "orphans"))
    } else {
        plural(s.orphans, "orphan", "orphans")
    };
    let kept = if s.kept > 0 {
        format!(
            "; {} kept on the platform",
            plural(s.kept, "value", "values")
        )
    } else {
        String::new()
    };
    format!(
        "{} to create, {} to update, {} unchanged, {orphans}; {} to add, {} to remove; {}{kept}",
        s.create,
        s.update,
        s.unchanged,
        plural(s.tags_added, "tag", "tags"),
        s.tags_removed,
        plural(s.errors, "error", "errors"),
    )
}

/// What a kept value's line says after its sign: `firstName: "Anne" (kept; the repo has
/// "Ann")` — the platform's value, which stays, then the repo's (`null` for either when empty).
pub(crate) fn kept_line(k: &Kept) -> String {
    let show = |v: &Option<String>| v.as_ref().map_or("null".to_string(), |v| format!("{v:?}"));
    format!(
        "{}: {} (kept; the repo has {})",
        k.name,
        show(&k.platform),
        show(&k.repo)
    )
}

/// The note a protected field's change carries in a diff.
pub(crate) const PROTECTED_NOTE: &str = " (protected: apply needs --force)";

/// `1 orphan`, `2 orphans`.
pub(crate) fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A duration as people say it: `~0s`, `~45s`, `~2m`, `~1h 5m`.
pub fn human_duration(seconds: u64) -> String {
    let (h, m, s) = (seconds / 3600, seconds % 3600 / 60, seconds % 60);
    match (h, m, s) {
        (0, 0, s) => format!("~{s}s"),
        (0, m, 0) => format!("~{m}m"),
        (0, m, s) => format!("~{m}m {s}s"),
        (h, 0, _) => format!("~{h}h"),
        (h, m, _) => format!("~{h}h {m}m"),
    }
}

/// `1,000`: a count with thousands separated, as the cost lines write them.
pub(crate) fn count(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

/// `10 writes after 1,000 reads`, or `10 writes` when the plan read nothing.
pub(crate) fn writes_after_reads(writes: usize, reads: usize) -> String {
    let writes = format!(
        "{} {}",
        count(writes),
        if writes == 1 { "write" } else { "writes" }
    );
    if reads == 0 {
        writes
    } else {
        let reads = format!(
            "{} {}",
            count(reads),
            if reads == 1 { "read" } else { "reads" }
        );
        format!("{writes} after {reads}")
    }
}

/// What apply costs, all channels: `10 writes after 1,000 reads, ~10m` (channels run in
/// parallel, so the time is the longest channel's).
pub(crate) fn cost(plan: &Plan) -> String {
    let s = &plan.summary;
    format!(
        "{}, {}",
        writes_after_reads(s.api_calls, s.reads),
        human_duration(s.estimated_seconds)
    )
}

/// `viber: 2 writes after 1 read, ~0s at 200/min; web: 10 writes after 1,000 reads, ~10m at
/// 100/min` — the channels that get writes.
pub(crate) fn calls_per_channel(plan: &Plan) -> String {
    plan.channels
        .iter()
        .filter(|c| c.api_calls > 0)
        .map(|c| {
            format!(
                "{}: {}, {} at {}/min",
                c.channel,
                writes_after_reads(c.api_calls, c.reads),
                human_duration(c.estimated_seconds),
                c.rate_limit,
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// `9,997 contacts unchanged since BASE, not read` for a change-scoped plan; `base` is BASE as
/// the format writes it.
pub(crate) fn skipped_sentence(plan: &Plan, base: impl Fn(&str) -> String) -> Option<String> {
    plan.scope.as_ref().map(|scope| {
        let n = plan.summary.skipped;
        format!(
            "{} {} unchanged since {}, not read",
            count(n),
            if n == 1 { "contact" } else { "contacts" },
            base(&scope.base)
        )
    })
}

/// What a plan with nothing to change says: that the platform matches, or for a change-scoped
/// plan no more than it read (`base` is BASE as the format writes it).
pub(crate) fn no_changes_sentence(plan: &Plan, base: impl Fn(&str) -> String) -> String {
    match &plan.scope {
        None => "No changes. The platform matches the configuration.".to_string(),
        Some(scope) if plan.contacts.is_empty() => format!(
            "No changes: nothing the config manages changed since {}.",
            base(&scope.base)
        ),
        Some(scope) => format!(
            "No changes. The contacts changed since {} match the platform.",
            base(&scope.base)
        ),
    }
}

/// The contacts of `plan` grouped by channel (name order), each group in plan order.
pub(crate) fn by_channel(plan: &Plan) -> BTreeMap<&str, Vec<&ContactPlan>> {
    let mut groups: BTreeMap<&str, Vec<&ContactPlan>> = BTreeMap::new();
    for c in &plan.contacts {
        groups.entry(c.channel.as_str()).or_default().push(c);
    }
    groups
}

/// Whether a contact has something to show beyond a count: changes, an error, an orphan.
pub(crate) fn is_listed(c: &ContactPlan) -> bool {
    c.action != Action::Unchanged
}

/// Whether a contact is shown in text: listed, or unchanged with values kept on the platform.
pub(crate) fn is_shown(c: &ContactPlan) -> bool {
    is_listed(c) || !c.kept.is_empty()
}

/// What an apply did, counted per kind of outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Tally {
    pub created: usize,
    pub updated: usize,
    pub pruned: usize,
    pub failed: usize,
    pub not_run: usize,
    /// Not run: left for the next run by the time budget.
    pub left: usize,
    pub plan_errors: usize,
}

impl Tally {
    pub(crate) fn of(report: &ApplyReport) -> Tally {
        let mut t = Tally::default();
        for (c, o) in report.plan.contacts.iter().zip(&report.outcomes) {
            match (o.outcome, c.action) {
                (Outcome::Done, Action::Create) => t.created += 1,
                (Outcome::Done, Action::Orphan) => t.pruned += 1,
                (Outcome::Done, _) => t.updated += 1,
                (Outcome::Failed, _) => t.failed += 1,
                (Outcome::NotRun, _) if is_left(o) => t.left += 1,
                (Outcome::NotRun, _) => t.not_run += 1,
                (Outcome::PlanError, _) => t.plan_errors += 1,
                (Outcome::NoChange, _) => {}
            }
        }
        t
    }

    /// `3 created, 2 updated, 0 failed; 11 API calls` (pruned, not run and not planned only when
    /// there are some).
    pub(crate) fn sentence(&self, requests_sent: usize) -> String {
        let mut parts = vec![
            format!("{} created", self.created),
            format!("{} updated", self.updated),
        ];
        if self.pruned > 0 {
            parts.push(format!("{} pruned", self.pruned));
        }
        parts.push(format!("{} failed", self.failed));
        if self.not_run > 0 {
            parts.push(format!("{} not run", self.not_run));
        }
        if self.left > 0 {
            parts.push(format!("{} left for the next run", self.left));
        }
        if self.plan_errors > 0 {
            parts.push(format!("{} not planned", self.plan_errors));
        }
        format!(
            "{}; {}",
            parts.join(", "),
            plural(requests_sent, "API call", "API calls")
        )
    }
}

/// Whether a contact of a report was left for the next run by the time budget.
pub(crate) fn is_left(o: &ContactOutcome) -> bool {
    o.not_run == Some(NotRun::TimeBudget)
}

/// How the apply ended: `complete`, `interrupted`, `stopped at its time budget` or `finished
/// with errors`.
pub(crate) fn report_heading(report: &ApplyReport) -> &'static str {
    if report.succeeded() {
        "complete"
    } else if report.interrupted {
        "interrupted"
    } else if report.left_for_next_run() > 0 {
        "stopped at its time budget"
    } else {
        "finished with errors"
    }
}

/// Why a contact of a report did not finish, or `None` when it did (or had nothing to do).
pub(crate) fn report_problem(
    report: &ApplyReport,
    c: &ContactPlan,
    o: &ContactOutcome,
) -> Option<String> {
    match o.outcome {
        Outcome::Failed => Some(
            escape_controls(
                &o.error
                    .as_ref()
                    .map_or_else(|| "failed".into(), ToString::to_string),
            )
            .into_owned(),
        ),
        Outcome::NotRun if is_left(o) => Some("left for the next run (time budget)".into()),
        Outcome::NotRun if report.interrupted => Some("not run (interrupted)".into()),
        Outcome::NotRun => Some("not run".into()),
        Outcome::PlanError => Some(format!(
            "could not be planned: {}",
            escape_controls(&problems::contact_error(c).unwrap_or_else(|| "error".into()))
        )),
        Outcome::Done | Outcome::NoChange => None,
    }
}

/// The hints that close a report that did not succeed.
pub(crate) fn report_hints(report: &ApplyReport) -> Vec<String> {
    let mut hints = Vec::new();
    let left = report.left_for_next_run();
    if left > 0 {
        hints.push(format!(
            "{} left for the next run: their calls could not have finished within the time \
             budget (--max-duration), so they were not started. Run contactctl apply again to \
             continue where this run stopped.",
            plural(left, "contact was", "contacts were")
        ));
    } else if report.failures().next().is_some() || report.interrupted {
        hints.push("Run contactctl apply again to finish.".to_string());
    }
    if report
        .outcomes
        .iter()
        .any(|o| o.outcome == Outcome::PlanError)
    {
        hints.push(
            "Fix the contacts that could not be planned in the config, then run contactctl apply again.".to_string(),
        );
    }
    hints
}

/// How a contact is named in lines about it: `email=ana@example.com (id 1001)`, or `id=...` alone
/// when the ID is its identity. `id` is the ID to show (a report's new ID after a create).
pub(crate) fn contact_name(c: &ContactPlan, id: Option<&str>) -> String {
    let name = match (id, &c.identity) {
        (Some(id), Identity::Key { .. }) => format!("{} (id {id})", c.identity.display()),
        _ => c.identity.display(),
    };
    escape_controls(&name).into_owned()
}

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
    use super::*;

    #[test]
    fn counts_and_costs_read_as_people_say_them() {
        for (n, text) in [
            (0, "0"),
            (7, "7"),
            (999, "999"),
            (1000, "1,000"),
            (9997, "9,997"),
            (1234567, "1,234,567"),
        ] {
            assert_eq!(count(n), text);
        }
        assert_eq!(writes_after_reads(10, 1000), "10 writes after 1,000 reads");
        assert_eq!(writes_after_reads(1, 1), "1 write after 1 read");
        assert_eq!(writes_after_reads(5, 0), "5 writes");
    }

    #[test]
    fn durations_read_as_people_say_them() {
        for (secs, text) in [
            (0, "~0s"),
            (45, "~45s"),
            (120, "~2m"),
            (150, "~2m 30s"),
            (3600, "~1h"),
            (3900, "~1h 5m"),
        ] {
            assert_eq!(human_duration(secs), text);
        }
    }

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
