//! Renderers: one plan (or apply report) to text ([`text`]), Markdown ([`markdown`]) or JSON
//! ([`json`]), written to a writer. They decide nothing: every figure comes from the plan or the
//! report. This file holds what the formats share (wording of the summary, durations, the diff of
//! a contact's managed state); it must not print, read the environment or decide colour.

pub mod json;
pub mod markdown;
pub mod text;

#[cfg(test)]
mod fixtures;

use std::collections::{BTreeMap, BTreeSet};
use std::io;

use crate::apply::{ApplyReport, ContactOutcome, Outcome};
use crate::model::Identity;
use crate::plan::{Action, ContactPlan, Plan};

/// An output format of `plan` and `apply`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
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

/// Render an apply report in `format`; `color` as for [`plan()`].
pub fn report(
    format: Format,
    report: &ApplyReport,
    w: &mut dyn io::Write,
    color: bool,
) -> io::Result<()> {
    match format {
        Format::Text => text::report(report, w, color),
        Format::Markdown => markdown::report(report, w),
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
    format!(
        "{} to create, {} to update, {} unchanged, {orphans}; {} to add, {} to remove; {}",
        s.create,
        s.update,
        s.unchanged,
        plural(s.tags_added, "tag", "tags"),
        s.tags_removed,
        plural(s.errors, "error", "errors"),
    )
}

/// `1 orphan`, `2 orphans`.
pub(crate) fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A duration as people say it: `~0s`, `~45s`, `~2m`, `~1h 5m`.
pub(crate) fn human_duration(seconds: u64) -> String {
    let (h, m, s) = (seconds / 3600, seconds % 3600 / 60, seconds % 60);
    match (h, m, s) {
        (0, 0, s) => format!("~{s}s"),
        (0, m, 0) => format!("~{m}m"),
        (0, m, s) => format!("~{m}m {s}s"),
        (h, 0, _) => format!("~{h}h"),
        (h, m, _) => format!("~{h}h {m}m"),
    }
}

/// `web: 4 at 100/min, ~0s; viber: 2 at 200/min, ~0s` — the channels that get calls.
pub(crate) fn calls_per_channel(plan: &Plan) -> String {
    plan.channels
        .iter()
        .filter(|c| c.api_calls > 0)
        .map(|c| {
            format!(
                "{}: {} at {}/min, {}",
                c.channel,
                c.api_calls,
                c.rate_limit,
                human_duration(c.estimated_seconds)
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
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

/// What an apply did, counted per kind of outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Tally {
    pub created: usize,
    pub updated: usize,
    pub pruned: usize,
    pub failed: usize,
    pub not_run: usize,
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

/// How the apply ended: `complete`, `interrupted` or `finished with errors`.
pub(crate) fn report_heading(report: &ApplyReport) -> &'static str {
    if report.succeeded() {
        "complete"
    } else if report.interrupted {
        "interrupted"
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
        Outcome::Failed => Some(o.error.clone().unwrap_or_else(|| "failed".into())),
        Outcome::NotRun if report.interrupted => Some("not run (interrupted)".into()),
        Outcome::NotRun => Some("not run".into()),
        Outcome::PlanError => Some(format!(
            "could not be planned: {}",
            c.error.as_deref().unwrap_or("error")
        )),
        Outcome::Done | Outcome::NoChange => None,
    }
}

/// The hints that close a report that did not succeed.
pub(crate) fn report_hints(report: &ApplyReport) -> Vec<&'static str> {
    let mut hints = Vec::new();
    if report.failures().next().is_some() || report.interrupted {
        hints.push("Run contactctl apply again to finish.");
    }
    if report
        .outcomes
        .iter()
        .any(|o| o.outcome == Outcome::PlanError)
    {
        hints.push(
            "Fix the contacts that could not be planned in the config, then run contactctl apply again.",
        );
    }
    hints
}

/// How a contact is named in lines about it: `email=ana@example.com (id 1001)`, or `id=...` alone
/// when the ID is its identity. `id` is the ID to show (a report's new ID after a create).
pub(crate) fn contact_name(c: &ContactPlan, id: Option<&str>) -> String {
    match (id, &c.identity) {
        (Some(id), Identity::Key { .. }) => format!("{} (id {id})", c.identity.display()),
        _ => c.identity.display(),
    }
}

/// One line of a contact's diff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sign {
    /// Present after apply, not before.
    Add,
    /// Present before apply, not after.
    Remove,
}

impl Sign {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Sign::Add => "+",
            Sign::Remove => "-",
        }
    }
}

/// The diff of a contact's managed state, before and after apply: one line per field
/// (`firstName: "Ana"`, name order) then one per tag (`tag: VIP`, sorted). Unchanged lines are
/// left out, and a field's old line comes right before its new one.
pub(crate) fn diff_lines(c: &ContactPlan) -> Vec<(Sign, String)> {
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
    let mut lines = Vec::new();
    for key in keys {
        let (was, will) = (old.get(key), new.get(key));
        if was == will {
            continue;
        }
        if let Some(line) = was {
            lines.push((Sign::Remove, line.clone()));
        }
        if let Some(line) = will {
            lines.push((Sign::Add, line.clone()));
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
        .map(|(name, value)| (LineKey::Field(name), format!("{name}: {value:?}")))
        .chain(tags.iter().map(|t| (LineKey::Tag(t), format!("tag: {t}"))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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
            .map(|(s, l)| format!("{} {l}", s.as_str()))
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
