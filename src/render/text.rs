//! Text output, Terraform-like, for a terminal or a CI log: contacts grouped per channel (`+`
//! create, `~` update, `!` error, `?` orphan, `-` pruned orphan) with a diff of each changed
//! contact, unchanged contacts counted, then safety warnings and the summary. Colour (ANSI, via
//! `anstyle`) only when the caller says so; it never looks at the terminal or the environment.

use std::collections::{BTreeMap, BTreeSet};
use std::io;

use anstyle::{AnsiColor, Style};

use super::problems;
use super::{
    Mark, Sign, Tally, by_channel, calls_per_channel, contact_name, cost, diff_lines,
    escape_controls, is_left, is_shown, kept_line, no_changes_sentence, report_heading,
    report_hints, report_problem, skipped_sentence, summary_sentence,
};
use crate::apply::{ApplyReport, ContactOutcome, Outcome};
use crate::plan::{Action, ContactPlan, Plan};

const GREEN: Style = AnsiColor::Green.on_default();
const YELLOW: Style = AnsiColor::Yellow.on_default();
const RED: Style = AnsiColor::Red.on_default();
const CYAN: Style = AnsiColor::Cyan.on_default();
const BOLD: Style = Style::new().bold();
const DIM: Style = Style::new().dimmed();

/// Writes text, styled only when colour is on.
struct Painter {
    color: bool,
}

impl Painter {
    fn paint(&self, style: Style, text: &str) -> String {
        if self.color {
            format!("{style}{text}{style:#}")
        } else {
            text.to_string()
        }
    }
}

/// The sign and style of a contact's header line.
fn header_sign(c: &ContactPlan) -> (&'static str, Style) {
    match c.action {
        Action::Create => ("+", GREEN),
        Action::Update => ("~", YELLOW),
        Action::Unchanged => (" ", DIM),
        Action::Orphan if !c.calls.is_empty() => ("-", RED),
        Action::Orphan => ("?", CYAN),
        Action::Error => ("!", RED),
    }
}

/// Write the plan: per channel (name order) the contacts that change, err or are orphans, each
/// with its diff, and those with values kept on the platform (`= firstName: "Anne" (kept; ...)`);
/// the count of unchanged ones; then warnings, the summary and the call count.
pub fn plan(plan: &Plan, w: &mut dyn io::Write, color: bool) -> io::Result<()> {
    let p = Painter { color };
    for (channel, contacts) in by_channel(plan) {
        writeln!(w, "{}", p.paint(BOLD, &format!("channel {channel}")))?;
        let shared = shared_errors(&contacts);
        let mut shown_groups = BTreeSet::new();
        for c in contacts.iter().filter(|c| is_shown(c)) {
            let error = problems::contact_error(c);
            if let Some(error) = &error
                && let Some((key, group)) = shared.get_key_value(error)
            {
                if shown_groups.insert(key) {
                    write_error_group(w, &p, error, group)?;
                }
                continue;
            }
            let (sign, style) = header_sign(c);
            let mut header = format!(
                "  {} {}",
                p.paint(style, sign),
                contact_name(c, c.id.as_deref())
            );
            match c.action {
                Action::Error => {
                    if let Some(source) = &c.source {
                        header.push_str(&format!(" ({source})"));
                    }
                }
                Action::Orphan if c.calls.is_empty() => header.push_str(
                    " is not in the config but carries the marker (orphan; --prune removes its \
                     managed tags and the marker)",
                ),
                Action::Orphan => header.push_str(" is not in the config: pruned"),
                _ => {}
            }
            writeln!(w, "{header}")?;
            if let Some(error) = &error {
                writeln!(w, "      {}", p.paint(RED, &escape_controls(error)))?;
            }
            for line in diff_lines(c) {
                let text = match line.sign {
                    Sign::Add => p.paint(GREEN, &format!("+ {}", line.text())),
                    Sign::Remove => p.paint(RED, &format!("- {}", line.text())),
                    // a word diff: its markers coloured, the words around them plain
                    Sign::Change => {
                        let mut text = p.paint(YELLOW, "~");
                        text.push(' ');
                        for (mark, part) in &line.parts {
                            text.push_str(&match mark {
                                Mark::Plain => part.clone(),
                                Mark::Removed => p.paint(RED, part),
                                Mark::Added => p.paint(GREEN, part),
                            });
                        }
                        text
                    }
                };
                writeln!(w, "      {text}")?;
            }
            for k in &c.kept {
                writeln!(w, "      {}", p.paint(CYAN, &format!("= {}", kept_line(k))))?;
            }
        }
        let unchanged = contacts
            .iter()
            .filter(|c| c.action == Action::Unchanged)
            .count();
        if unchanged > 0 {
            writeln!(w, "  {}", p.paint(DIM, &format!("{unchanged} unchanged")))?;
        }
        writeln!(w)?;
    }

    for warning in &plan.warnings {
        let warning = problems::warning(warning);
        writeln!(w, "{} {warning}", p.paint(YELLOW.bold(), "Warning:"))?;
    }
    if !plan.warnings.is_empty() {
        writeln!(w)?;
    }

    writeln!(w, "{} {}.", p.paint(BOLD, "Plan:"), summary_sentence(plan))?;
    if let Some(skipped) = skipped_sentence(plan, str::to_string) {
        writeln!(w, "{skipped}.")?;
    }
    if !plan.has_changes() && plan.summary.errors == 0 && !plan.is_incomplete() {
        writeln!(w, "{}", no_changes_sentence(plan, str::to_string))?;
    } else {
        let per_channel = calls_per_channel(plan);
        if per_channel.is_empty() {
            writeln!(w, "API calls: {}", cost(plan))?;
        } else {
            writeln!(w, "API calls: {} ({per_channel})", cost(plan))?;
        }
    }
    Ok(())
}

/// Errors shared by more than this many contacts of a channel are written once.
const GROUP_ERRORS_OVER: usize = 3;
/// How many contacts of such a group are named.
const GROUP_NAMES_SHOWN: usize = 3;

/// The errors of a channel that more than [`GROUP_ERRORS_OVER`] contacts share (a refused token,
/// an unreachable host): message → those contacts, in plan order.
fn shared_errors<'a>(contacts: &[&'a ContactPlan]) -> BTreeMap<String, Vec<&'a ContactPlan>> {
    let mut by_error: BTreeMap<String, Vec<&ContactPlan>> = BTreeMap::new();
    for c in contacts {
        if let Some(e) = problems::contact_error(c) {
            by_error.entry(e).or_default().push(c);
        }
    }
    by_error.retain(|_, group| group.len() > GROUP_ERRORS_OVER);
    by_error
}

/// One error many contacts share: the error once, the first contacts named, the rest counted
/// (the JSON plan lists every one).
fn write_error_group(
    w: &mut dyn io::Write,
    p: &Painter,
    error: &str,
    group: &[&ContactPlan],
) -> io::Result<()> {
    writeln!(
        w,
        "  {} {} contacts could not be planned:",
        p.paint(RED, "!"),
        group.len()
    )?;
    writeln!(w, "      {}", p.paint(RED, &escape_controls(error)))?;
    for c in group.iter().take(GROUP_NAMES_SHOWN) {
        let source = c
            .source
            .as_ref()
            .map(|s| format!(" ({s})"))
            .unwrap_or_default();
        writeln!(w, "      {}{source}", contact_name(c, c.id.as_deref()))?;
    }
    if group.len() > GROUP_NAMES_SHOWN {
        writeln!(
            w,
            "      and {} more (--format json lists every one)",
            group.len() - GROUP_NAMES_SHOWN
        )?;
    }
    Ok(())
}

/// What a finished contact's line says it was: `created`, `updated`, `pruned`.
fn done_verb(action: Action) -> &'static str {
    match action {
        Action::Create => "created",
        Action::Orphan => "pruned",
        _ => "updated",
    }
}

/// Write one line per contact that had calls or an error (`✓ created email=x (id 123)`, `✗
/// email=y (id 5): 403: ...`), then the outcome: `Apply complete: ...` or `Apply finished with
/// errors: ...` with the failed contacts and why, and what to do next. Contacts the time budget
/// left for the next run are counted, and named only with `list_left`.
pub fn report(
    report: &ApplyReport,
    w: &mut dyn io::Write,
    color: bool,
    list_left: bool,
) -> io::Result<()> {
    let p = Painter { color };
    let mut listed = false;
    let shown = |o: &ContactOutcome| list_left || !is_left(o);
    for (c, o) in report.plan.contacts.iter().zip(&report.outcomes) {
        let name = contact_name(c, o.id.as_deref());
        if !shown(o) {
            continue;
        }
        listed |= o.outcome != Outcome::NoChange;
        match o.outcome {
            Outcome::NoChange => {}
            Outcome::NotRun if is_left(o) => {
                writeln!(w, "{} {name}: left for the next run", p.paint(YELLOW, "-"))?;
            }
            Outcome::Done => {
                writeln!(w, "{} {} {name}", p.paint(GREEN, "✓"), done_verb(c.action))?;
            }
            Outcome::Failed => writeln!(
                w,
                "{} {name}: {} ({} of {} calls done)",
                p.paint(RED, "✗"),
                escape_controls(
                    &o.error
                        .as_ref()
                        .map_or_else(|| "failed".into(), ToString::to_string)
                ),
                o.calls_done,
                o.calls_planned
            )?,
            Outcome::NotRun => writeln!(w, "{} {name}: not run", p.paint(YELLOW, "-"))?,
            Outcome::PlanError => writeln!(
                w,
                "{} {name}: not planned: {}",
                p.paint(RED, "!"),
                escape_controls(&problems::contact_error(c).unwrap_or_else(|| "error".into()))
            )?,
        }
    }
    if listed {
        writeln!(w)?;
    }

    let heading = report_heading(report);
    let tally = Tally::of(report).sentence(report.requests_sent);
    if report.succeeded() {
        writeln!(
            w,
            "{} {tally}.",
            p.paint(GREEN.bold(), &format!("Apply {heading}:"))
        )?;
        return Ok(());
    }
    writeln!(
        w,
        "{} {tally}.",
        p.paint(RED.bold(), &format!("Apply {heading}:"))
    )?;
    for (c, o) in report.plan.contacts.iter().zip(&report.outcomes) {
        if !shown(o) {
            continue;
        }
        if let Some(why) = report_problem(report, c, o) {
            let name = c.identity.display();
            writeln!(w, "  {} on {}: {why}", escape_controls(&name), c.channel)?;
        }
    }

    for hint in report_hints(report) {
        writeln!(w, "{hint}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::fixtures;
    use super::*;
    use crate::model::ReadFailure;

    fn render_plan(p: &Plan, color: bool) -> String {
        let mut out = Vec::new();
        plan(p, &mut out, color).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn render_report(r: &ApplyReport, color: bool) -> String {
        let mut out = Vec::new();
        report(r, &mut out, color, false).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn plan_text_snapshot() {
        insta::assert_snapshot!(render_plan(&fixtures::plan(), false));
    }

    #[test]
    fn plan_text_color_snapshot() {
        insta::assert_snapshot!(render_plan(&fixtures::plan(), true));
    }

    #[test]
    fn long_notes_plan_text_snapshot() {
        insta::assert_snapshot!(render_plan(&fixtures::notes_plan(), false));
    }

    #[test]
    fn long_notes_plan_text_color_snapshot() {
        insta::assert_snapshot!(render_plan(&fixtures::notes_plan(), true));
    }

    #[test]
    fn pruned_plan_text_snapshot() {
        insta::assert_snapshot!(render_plan(&fixtures::pruned_plan(), false));
    }

    #[test]
    fn scoped_plan_text_snapshot() {
        insta::assert_snapshot!(render_plan(&fixtures::scoped_plan(), false));
    }

    #[test]
    fn costly_plan_text_snapshot() {
        insta::assert_snapshot!(render_plan(&fixtures::costly_plan(), false));
    }

    #[test]
    fn modes_plan_text_snapshot() {
        let text = render_plan(&fixtures::modes_plan(), false);
        insta::assert_snapshot!(text);
        assert!(
            text.contains("    email=bo@example.com (id 1002)\n      = firstName: \"Bob\" (kept; the repo has \"Bo\")\n"),
            "a contact whose only difference is kept is shown, unchanged:\n{text}"
        );
        assert!(text.contains("2 values kept on the platform"), "{text}");
    }

    #[test]
    fn no_change_plan_text_snapshot() {
        insta::assert_snapshot!(render_plan(&fixtures::no_change_plan(), false));
    }

    #[test]
    fn an_error_many_contacts_share_is_written_once_and_a_few_are_each_shown() {
        use crate::model::{Found, LiveState};
        use crate::testing::{self, key};
        let refused = "channel web: the API refused the token in $T (401 API Token is invalid)";
        let mut config = testing::config();
        config.contacts = (0..6)
            .map(|i| testing::desired("web", key("email", &format!("u{i}@x.com")), &[], None))
            .chain([testing::desired(
                "viber",
                key("email", "v@x.com"),
                &[],
                None,
            )])
            .collect();
        let live = LiveState {
            contacts: (0..6)
                .map(|i| {
                    let reason = refused.into();
                    (i, Found::Failed(ReadFailure::ChannelStopped { reason }))
                })
                .chain([(
                    6,
                    Found::Failed(ReadFailure::ChannelStopped {
                        reason: "403: Forbidden".into(),
                    }),
                )])
                .collect(),
            ..LiveState::default()
        };
        let text = render_plan(&crate::plan::plan(&config, live, Default::default()), false);
        assert!(
            text.contains(&format!(
                "channel web\n  ! 6 contacts could not be planned:\n      {refused}\n      email=u0@x.com (contacts.yaml:3:5)\n      email=u1@x.com (contacts.yaml:3:5)\n      email=u2@x.com (contacts.yaml:3:5)\n      and 3 more (--format json lists every one)\n"
            )),
            "{text}"
        );
        assert!(
            text.contains("  ! email=v@x.com (contacts.yaml:3:5)\n      403: Forbidden\n"),
            "an error of its own is shown as before:\n{text}"
        );
    }

    #[test]
    fn text_without_color_has_no_escape_codes_and_with_color_has_them() {
        assert!(!render_plan(&fixtures::plan(), false).contains('\x1b'));
        assert!(render_plan(&fixtures::plan(), true).contains('\x1b'));
        assert!(!render_report(&fixtures::failed_report(), false).contains('\x1b'));
        assert!(render_report(&fixtures::failed_report(), true).contains('\x1b'));
    }

    /// `text` without its ANSI style sequences.
    fn unstyled(text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(at) = rest.find("\x1b[") {
            out.push_str(&rest[..at]);
            let after = &rest[at + 2..];
            let end = after.find('m').map_or(after.len(), |m| m + 1);
            rest = &after[end..];
        }
        out.push_str(rest);
        out
    }

    #[test]
    fn colour_only_styles_the_text_it_would_print_without() {
        for p in [fixtures::plan(), fixtures::notes_plan()] {
            assert_eq!(unstyled(&render_plan(&p, true)), render_plan(&p, false));
        }
    }

    #[test]
    fn report_text_with_a_failure_snapshot() {
        insta::assert_snapshot!(render_report(&fixtures::failed_report(), false));
    }

    #[test]
    fn report_text_of_a_run_stopped_by_its_time_budget_counts_the_contacts_left() {
        let text = render_report(&fixtures::left_report(), false);
        insta::assert_snapshot!(text);
        assert!(
            !text.contains("left for the next run (time budget)"),
            "{text}"
        );
    }

    #[test]
    fn report_text_with_list_left_names_the_contacts_left() {
        let mut out = Vec::new();
        report(&fixtures::left_report(), &mut out, false, true).unwrap();
        insta::assert_snapshot!(String::from_utf8(out).unwrap());
    }

    #[test]
    fn an_apply_whose_orphans_were_unknown_did_not_do_all_it_was_asked() {
        let mut plan = fixtures::plan();
        plan.contacts
            .retain(|c| c.action != crate::plan::Action::Error);
        plan.prune = true;
        plan.warnings.push(crate::plan::Warning::OrphansUnread {
            channel: "web".into(),
            reason: "outcome unknown: 502".into(),
        });
        let report = fixtures::successful_report(plan);
        assert!(!report.succeeded());
        let text = render_report(&report, false);
        assert!(text.contains("Apply finished with errors:"), "{text}");
        assert!(
            text.contains(
                "The orphans of channel web could not all be looked for (see the warning), so \
                 some may not have been pruned: run contactctl apply --prune again once the \
                 platform answers."
            ),
            "{text}"
        );
        // without --prune it is still a failed read (exit 1), with nothing left unpruned
        let mut report = report;
        report.plan.prune = false;
        assert!(!report.succeeded());
        let text = render_report(&report, false);
        assert!(
            text.contains(
                "The orphans of channel web could not all be looked for (see the warning): run \
                 contactctl plan again once the platform answers."
            ),
            "{text}"
        );
    }

    #[test]
    fn report_text_success_snapshot() {
        let mut plan = fixtures::plan();
        plan.contacts
            .retain(|c| c.action != crate::plan::Action::Error);
        insta::assert_snapshot!(render_report(&fixtures::successful_report(plan), false));
    }
}
