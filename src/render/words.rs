//! The wording the formats share: the summary sentence, counts, plurals and durations as
//! people say them, a plan's cost, a contact's name and its kept values, the grouping of a
//! plan's contacts, and an apply report's tally, heading, problems and hints.

use std::collections::BTreeMap;

use super::escape_controls;
use crate::apply::{ApplyReport, ContactOutcome, NotRun, Outcome};
use crate::model::Identity;
use crate::plan::{Action, ContactPlan, Kept, Plan};

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
            escape_controls(&super::problems::contact_error(c).unwrap_or_else(|| "error".into()))
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
    if report.plan.is_incomplete() {
        let unread: Vec<&str> = report.plan.orphans_unread().map(|(c, _)| c).collect();
        let channels = match unread.as_slice() {
            [one] => format!("channel {one}"),
            many => format!("channels {}", many.join(", ")),
        };
        hints.push(if report.plan.prune {
            format!(
                "The orphans of {channels} could not all be looked for (see the warning), so \
                 some may not have been pruned: run contactctl apply --prune again once the \
                 platform answers."
            )
        } else {
            format!(
                "The orphans of {channels} could not all be looked for (see the warning): run \
                 contactctl plan again once the platform answers."
            )
        });
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
}
