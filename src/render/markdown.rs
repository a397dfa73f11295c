//! Markdown output, for a pull-request comment: the summary first, safety warnings as an alert,
//! a table per channel, and each changed contact's diff folded in a `<details>` block. Values
//! from the platform or the config are escaped (or kept in code) so they cannot break the table,
//! ping people or inject HTML. The whole comment stays under GitHub's 65,536-character limit,
//! with room left for what CI adds around it: detail blocks are cut from the end first, then
//! table rows, and a note says what was cut. Decides nothing.

use std::io;

use super::problems;
use super::{
    Tally, by_channel, calls_per_channel, contact_name, cost, diff_lines, escape_controls,
    human_duration, is_left, is_listed, no_changes_sentence, plural, report_heading, report_hints,
    skipped_sentence, summary_sentence, writes_after_reads,
};
use crate::apply::{ApplyReport, Outcome};
use crate::plan::Kept;
use crate::plan::{Action, ContactPlan, Plan};

/// Most bytes one comment may have (GitHub counts characters; bytes are never fewer).
pub const MAX_COMMENT_LEN: usize = 65_536;
/// Room left under [`MAX_COMMENT_LEN`] for what a CI job wraps around the plan: the hidden
/// marker it finds its comment by, a link to the run with the full plan, the commit. The
/// recipes in `examples/ci/` add about 300 characters.
pub const CALLER_ROOM: usize = 1_024;
/// Room kept for the note that says what was cut.
const NOTE_ROOM: usize = 600;
/// Field and tag names listed in a table cell before "and N more".
const NAMES_IN_CELL: usize = 8;

/// What a piece of the document is, for the cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PieceKind {
    /// Always kept.
    Fixed,
    /// A table row: cut after every detail block is gone.
    Row,
    /// A `<details>` block: cut first.
    Detail,
}

/// A document made of pieces, written whole or cut to fit.
#[derive(Default)]
struct Doc {
    pieces: Vec<(PieceKind, String)>,
}

impl Doc {
    fn push(&mut self, kind: PieceKind, text: String) {
        self.pieces.push((kind, text));
    }

    fn fixed(&mut self, text: impl Into<String>) {
        self.push(PieceKind::Fixed, text.into());
    }

    /// Write the pieces, cutting detail blocks and then rows from the end when the whole would
    /// not leave [`CALLER_ROOM`] under [`MAX_COMMENT_LEN`].
    fn write(&self, w: &mut dyn io::Write) -> io::Result<()> {
        let total: usize = self.pieces.iter().map(|(_, t)| t.len()).sum();
        let mut keep = vec![true; self.pieces.len()];
        let mut cut = [0usize; 2];
        if total > MAX_COMMENT_LEN - CALLER_ROOM {
            let budget = MAX_COMMENT_LEN - CALLER_ROOM - NOTE_ROOM;
            let mut size = total;
            for (slot, kind) in [PieceKind::Detail, PieceKind::Row].into_iter().enumerate() {
                for (i, (k, text)) in self.pieces.iter().enumerate().rev() {
                    if size <= budget {
                        break;
                    }
                    if *k == kind {
                        keep[i] = false;
                        size -= text.len();
                        cut[slot] += 1;
                    }
                }
            }
        }
        for ((_, text), kept) in self.pieces.iter().zip(&keep) {
            if *kept {
                w.write_all(text.as_bytes())?;
            }
        }
        if cut != [0, 0] {
            let count = |kind| self.pieces.iter().filter(|(k, _)| *k == kind).count();
            writeln!(
                w,
                "\n> [!NOTE]\n> Cut to fit a comment: {} of {} change details and {} of {} table \
                 rows are not shown. Run `contactctl plan` for the full plan.",
                cut[0],
                count(PieceKind::Detail),
                cut[1],
                count(PieceKind::Row)
            )?;
        }
        Ok(())
    }
}

/// Escape text for inline Markdown (a table cell, a heading, a quote): backslash-escape the
/// characters that start markup, `|` included, and fold line breaks into spaces.
fn escape(text: &str) -> String {
    let text = escape_controls(text);
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '~' | '&' | '#' | '!' | '@'
            | '$' => {
                out.push('\\');
                out.push(ch);
            }
            '\n' | '\r' => out.push(' '),
            _ => out.push(ch),
        }
    }
    out
}

/// Text as an inline code span safe inside a table cell: fenced by more backticks than it
/// holds, `|` escaped (GitHub reads `\|` as a pipe even in code), line breaks folded.
fn code(text: &str) -> String {
    let text: String = escape_controls(text)
        .chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .collect();
    let longest_run = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest_run + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{}{pad}{fence}", text.replace('|', "\\|"))
}

/// Escape text for HTML (a `<summary>`, where Markdown is not read).
fn html(text: &str) -> String {
    escape_controls(text)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `a, b, c and 3 more`.
fn names<'a>(items: impl Iterator<Item = &'a str>) -> String {
    let all: Vec<&str> = items.collect();
    let shown = all
        .iter()
        .take(NAMES_IN_CELL)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if all.len() > NAMES_IN_CELL {
        format!("{shown} and {} more", all.len() - NAMES_IN_CELL)
    } else {
        shown
    }
}

/// The `changes` cell of a contact's row.
fn changes_cell(c: &ContactPlan) -> String {
    if let Some(error) = problems::contact_error(c) {
        return escape(&error);
    }
    if c.action == Action::Orphan && c.calls.is_empty() {
        return "not in the config but carries the marker; `--prune` removes its managed tags \
                and the marker"
            .into();
    }
    let mut parts = Vec::new();
    if !c.fields.is_empty() {
        let labels: Vec<String> = c
            .fields
            .iter()
            .map(|f| {
                if f.protected {
                    format!("{} (protected)", f.name)
                } else {
                    f.name.clone()
                }
            })
            .collect();
        let mut fields = names(labels.iter().map(String::as_str));
        if c.marker_only {
            fields.push_str(" (marker only)");
        }
        parts.push(format!("fields: {}", escape(&fields)));
    }
    if !c.tags_added.is_empty() {
        parts.push(format!(
            "tags added: {}",
            escape(&names(c.tags_added.iter().map(String::as_str)))
        ));
    }
    if !c.tags_removed.is_empty() {
        parts.push(format!(
            "tags removed: {}",
            escape(&names(c.tags_removed.iter().map(String::as_str)))
        ));
    }
    if !c.kept.is_empty() {
        parts.push(format!(
            "kept: {}",
            escape(&names(c.kept.iter().map(|k| k.name.as_str())))
        ));
    }
    parts.join("; ")
}

/// A kept value's row: the contact, the field, the platform's value (which stays), the repo's.
fn kept_row(c: &ContactPlan, k: &Kept) -> String {
    let value = |v: &Option<String>| v.as_deref().map_or("*empty*".to_string(), code);
    format!(
        "| {} | {} | {} | {} |\n",
        code(&contact_name(c, c.id.as_deref())),
        escape(&k.name),
        value(&k.platform),
        value(&k.repo)
    )
}

/// The word for a contact's action in the table.
fn action_cell(c: &ContactPlan) -> &'static str {
    match c.action {
        Action::Create => "create",
        Action::Update => "update",
        Action::Unchanged => "unchanged",
        Action::Orphan if !c.calls.is_empty() => "prune",
        Action::Orphan => "orphan",
        Action::Error => "**error**",
    }
}

/// Write the plan as a pull-request comment, cut to fit [`MAX_COMMENT_LEN`].
pub fn plan(plan: &Plan, w: &mut dyn io::Write) -> io::Result<()> {
    let mut doc = Doc::default();
    let calls = if plan.has_changes() {
        format!(" — {} ({})", cost(plan), calls_per_channel(plan))
    } else {
        String::new()
    };
    doc.fixed(format!(
        "**contactctl plan:** {}{calls}\n\n",
        summary_sentence(plan)
    ));
    if let Some(skipped) = skipped_sentence(plan, code) {
        doc.fixed(format!("{skipped}.\n\n"));
    }
    if !plan.has_changes() && plan.summary.errors == 0 && !plan.is_incomplete() {
        doc.fixed(format!("{}\n\n", no_changes_sentence(plan, code)));
    }
    if !plan.warnings.is_empty() {
        let mut block = String::from("> [!WARNING]\n");
        for warning in &plan.warnings {
            block.push_str(&format!("> {}\n", escape(&problems::warning(warning))));
        }
        block.push('\n');
        doc.fixed(block);
    }

    let groups = by_channel(plan);
    for (channel, contacts) in &groups {
        let summary = plan.channels.iter().find(|s| s.channel == *channel);
        let figures = summary
            .filter(|s| s.api_calls > 0)
            .map(|s| {
                format!(
                    " — {}, {}",
                    writes_after_reads(s.api_calls, s.reads),
                    human_duration(s.estimated_seconds)
                )
            })
            .unwrap_or_default();
        doc.fixed(format!("#### Channel {}{figures}\n\n", escape(channel)));
        let listed: Vec<&&ContactPlan> = contacts.iter().filter(|c| is_listed(c)).collect();
        if !listed.is_empty() {
            doc.fixed("| contact | action | changes |\n| --- | --- | --- |\n");
            for c in listed {
                doc.push(
                    PieceKind::Row,
                    format!(
                        "| {} | {} | {} |\n",
                        code(&contact_name(c, c.id.as_deref())),
                        action_cell(c),
                        changes_cell(c)
                    ),
                );
            }
            doc.fixed("\n");
        }
        let unchanged = contacts
            .iter()
            .filter(|c| c.action == Action::Unchanged)
            .count();
        if unchanged > 0 {
            doc.fixed(format!(
                "{} not listed.\n\n",
                plural(unchanged, "unchanged contact", "unchanged contacts")
            ));
        }
        // Kept values are no change (a contact with nothing else is not in the table above), but
        // a reviewer sees them: the platform's value stays where the repo says another.
        let kept: Vec<String> = contacts
            .iter()
            .flat_map(|c| c.kept.iter().map(move |k| kept_row(c, k)))
            .collect();
        if !kept.is_empty() {
            doc.fixed(
                "Kept on the platform (`write: create` or `if_empty`: no call):\n\n\
                 | contact | field | platform | repo |\n| --- | --- | --- | --- |\n",
            );
            for row in kept {
                doc.push(PieceKind::Row, row);
            }
            doc.fixed("\n");
        }
    }

    let mut details = Vec::new();
    for contacts in groups.values() {
        for c in contacts.iter().filter(|c| !c.calls.is_empty()) {
            let lines = diff_lines(c);
            if lines.is_empty() {
                continue;
            }
            let mut block = format!(
                "<details><summary><code>{}</code> on {}: {}</summary>\n\n```diff\n",
                html(&contact_name(c, c.id.as_deref())),
                html(&c.channel),
                action_cell(c)
            );
            for line in lines {
                // A line break in a name (values are quoted) could end the fence and let the
                // rest be read as Markdown or HTML.
                let text = line.text().replace(['\n', '\r'], " ");
                block.push_str(&format!("{} {text}\n", line.sign.as_str()));
            }
            block.push_str("```\n\n</details>\n\n");
            details.push(block);
        }
    }
    if !details.is_empty() {
        doc.fixed("#### Changes\n\n");
        for block in details {
            doc.push(PieceKind::Detail, block);
        }
    }
    doc.write(w)
}

/// Write an apply report as a comment: the outcome first, a table of the contacts that had calls
/// or an error and what happened to them, then what to do next. Contacts the time budget left
/// for the next run are counted, and get rows only with `list_left`. Cut to fit like [`plan()`].
pub fn report(report: &ApplyReport, w: &mut dyn io::Write, list_left: bool) -> io::Result<()> {
    let mut doc = Doc::default();
    doc.fixed(format!(
        "**contactctl apply:** {} — {}.\n\n",
        report_heading(report),
        Tally::of(report).sentence(report.requests_sent)
    ));
    let rows: Vec<String> = report
        .plan
        .contacts
        .iter()
        .zip(&report.outcomes)
        .filter(|(_, o)| o.outcome != Outcome::NoChange && (list_left || !is_left(o)))
        .map(|(c, o)| {
            let (result, detail) = match o.outcome {
                Outcome::NotRun if is_left(o) => (
                    "left for the next run",
                    format!(
                        "not started: time budget; {} planned",
                        plural(o.calls_planned, "call", "calls")
                    ),
                ),
                Outcome::Failed => (
                    "**failed**",
                    format!(
                        "{} ({} of {} calls done)",
                        escape(
                            &o.error
                                .as_ref()
                                .map_or_else(|| "failed".into(), ToString::to_string)
                        ),
                        o.calls_done,
                        o.calls_planned
                    ),
                ),
                Outcome::NotRun => (
                    "not run",
                    if report.interrupted {
                        "interrupted before it started".to_string()
                    } else {
                        format!("{} planned", plural(o.calls_planned, "call", "calls"))
                    },
                ),
                Outcome::PlanError => (
                    "**not planned**",
                    escape(&problems::contact_error(c).unwrap_or_else(|| "error".into())),
                ),
                Outcome::Done | Outcome::NoChange => (
                    match c.action {
                        Action::Create => "created",
                        Action::Orphan => "pruned",
                        _ => "updated",
                    },
                    changes_cell(c),
                ),
            };
            format!(
                "| {} | {} | {result} | {detail} |\n",
                code(&contact_name(c, o.id.as_deref())),
                escape(&c.channel)
            )
        })
        .collect();
    if !rows.is_empty() {
        doc.fixed("| contact | channel | result | detail |\n| --- | --- | --- | --- |\n");
        for row in rows {
            doc.push(PieceKind::Row, row);
        }
        doc.fixed("\n");
    }
    for hint in report_hints(report) {
        doc.fixed(format!(
            "{}\n",
            hint.replace("contactctl apply", "`contactctl apply`")
        ));
    }
    doc.write(w)
}

#[cfg(test)]
mod tests {
    use super::super::fixtures;
    use super::*;
    use crate::model::{DesiredContact, Identity, LiveContact, SourceLoc};
    use crate::model::{Found, LiveState};
    use crate::plan::PlanOptions;

    fn render_plan(p: &Plan) -> String {
        let mut out = Vec::new();
        plan(p, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn plan_markdown_snapshot() {
        insta::assert_snapshot!(render_plan(&fixtures::plan()));
    }

    #[test]
    fn long_notes_plan_markdown_snapshot() {
        insta::assert_snapshot!(render_plan(&fixtures::notes_plan()));
    }

    #[test]
    fn pruned_plan_markdown_snapshot() {
        insta::assert_snapshot!(render_plan(&fixtures::pruned_plan()));
    }

    #[test]
    fn scoped_plan_markdown_snapshot() {
        insta::assert_snapshot!(render_plan(&fixtures::scoped_plan()));
    }

    #[test]
    fn costly_plan_markdown_snapshot() {
        insta::assert_snapshot!(render_plan(&fixtures::costly_plan()));
    }

    #[test]
    fn modes_plan_markdown_snapshot() {
        let text = render_plan(&fixtures::modes_plan());
        insta::assert_snapshot!(text);
        assert!(
            !text.contains("| `email=bo@example.com (id 1002)` | unchanged"),
            "a contact whose only difference is kept is not a change:\n{text}"
        );
        assert!(
            text.contains("| `email=bo@example.com (id 1002)` | firstName | `Bob` | `Bo` |"),
            "{text}"
        );
        assert!(text.contains("fields: phone (protected)"), "{text}");
    }

    #[test]
    fn no_change_plan_markdown_snapshot() {
        insta::assert_snapshot!(render_plan(&fixtures::no_change_plan()));
    }

    #[test]
    fn report_markdown_with_a_failure_snapshot() {
        let mut out = Vec::new();
        report(&fixtures::failed_report(), &mut out, false).unwrap();
        insta::assert_snapshot!(String::from_utf8(out).unwrap());
    }

    #[test]
    fn report_markdown_of_a_run_stopped_by_its_time_budget_snapshot() {
        let mut out = Vec::new();
        report(&fixtures::left_report(), &mut out, false).unwrap();
        insta::assert_snapshot!(String::from_utf8(out).unwrap());
    }

    #[test]
    fn values_cannot_break_the_table_or_the_markup() {
        // a line break is shown escaped (`\n`, its backslash escaped for Markdown), as in text
        assert_eq!(
            escape("a|b *c* <b>@x\nd"),
            "a\\|b \\*c\\* \\<b\\>\\@x\\\\nd"
        );
        assert_eq!(code("a|b"), "`a\\|b`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`a"), "`` `a ``");
        assert_eq!(html("<b>&\""), "&lt;b&gt;&amp;&quot;");
    }

    /// `n` contacts on `web`, each updating three fields and a tag, planned for real.
    fn big_plan(n: usize) -> Plan {
        let mut config = fixtures::config();
        let mut live = LiveState::default();
        config.contacts = (0..n)
            .map(|i| {
                let email = format!("person{i:05}@example.com");
                live.contacts.push((
                    i,
                    Found::Present(LiveContact {
                        id: format!("{}", 100_000 + i),
                        fields: [
                            ("email".to_string(), Some(email.clone())),
                            ("firstName".to_string(), Some("Old".to_string())),
                            ("managed_by".to_string(), Some("git".to_string())),
                        ]
                        .into(),
                        tags: vec![],
                    }),
                ));
                DesiredContact {
                    channel: "web".into(),
                    identity: Identity::Key {
                        field: "email".into(),
                        value: email.clone(),
                    },
                    fields: [
                        ("email".to_string(), Some(email)),
                        ("firstName".to_string(), Some(format!("First {i}"))),
                        ("lastName".to_string(), Some(format!("Last | {i}"))),
                        ("vip".to_string(), Some("TRUE".to_string())),
                    ]
                    .into(),
                    tags: Some(["VIP".to_string()].into()),
                    source: SourceLoc::default(),
                }
            })
            .collect();
        crate::plan::plan(&config, live, PlanOptions::default())
    }

    #[test]
    fn a_line_break_in_a_tag_name_cannot_end_the_diff_fence() {
        let evil = "x\n```\n<img src=x onerror=alert(1)>";
        let mut config = fixtures::config();
        config.tags.insert(evil.to_string());
        config.contacts = vec![DesiredContact {
            channel: "web".into(),
            identity: Identity::Id("7".into()),
            fields: Default::default(),
            tags: Some([evil.to_string()].into()),
            source: SourceLoc::default(),
        }];
        let live = LiveState {
            contacts: vec![(
                0,
                Found::Present(LiveContact {
                    id: "7".into(),
                    fields: Default::default(),
                    tags: vec![],
                }),
            )],
            ..LiveState::default()
        };
        let text = render_plan(&crate::plan::plan(&config, live, PlanOptions::default()));
        assert!(text.contains("<details>"), "{text}");
        assert!(
            !text.lines().any(|l| l.starts_with("<img")),
            "the name stays inside the fence:\n{text}"
        );
        let fences = text.lines().filter(|l| l.starts_with("```")).count();
        assert_eq!(fences, 2, "one fence opened and closed:\n{text}");
    }

    #[test]
    fn the_cut_leaves_room_for_what_ci_adds() {
        // The first plan size that gets cut, and the one just below it.
        let n = (250..400)
            .find(|&n| render_plan(&big_plan(n)).contains("Cut to fit"))
            .unwrap();
        let cut = render_plan(&big_plan(n));
        assert!(cut.len() + CALLER_ROOM <= MAX_COMMENT_LEN);
        let whole = render_plan(&big_plan(n - 1));
        assert!(
            whole.len() + CALLER_ROOM <= MAX_COMMENT_LEN,
            "an uncut plan leaves the room too: {} bytes",
            whole.len()
        );
        assert!(
            whole.len() + CALLER_ROOM + 1_000 > MAX_COMMENT_LEN,
            "and is not cut much earlier than needed: {} bytes",
            whole.len()
        );
    }

    #[test]
    fn a_small_plan_is_not_cut() {
        let text = render_plan(&big_plan(20));
        assert!(!text.contains("Cut to fit"));
        assert_eq!(text.matches("<details>").count(), 20);
    }

    #[test]
    fn a_long_plan_loses_detail_blocks_from_the_end_first() {
        let full = big_plan(300);
        let text = render_plan(&full);
        assert!(
            text.len() + CALLER_ROOM <= MAX_COMMENT_LEN,
            "{} bytes",
            text.len()
        );
        // every row is kept, the first details are kept, the last are cut
        assert_eq!(text.matches("| update |").count(), 300);
        assert!(text.contains("<code>email=person00000@example.com (id 100000)</code>"));
        assert!(!text.contains("<code>email=person00299@example.com (id 100299)</code>"));
        let shown = text.matches("<details>").count();
        assert!(shown > 0 && shown < 300);
        assert!(text.contains(&format!(
            "{} of 300 change details and 0 of 300 table rows are not shown. Run `contactctl plan` for the full plan.",
            300 - shown
        )));
    }

    #[test]
    fn a_five_thousand_contact_plan_is_cut_to_fit_a_comment() {
        let text = render_plan(&big_plan(5_000));
        assert!(
            text.len() + CALLER_ROOM <= MAX_COMMENT_LEN,
            "{} bytes",
            text.len()
        );
        assert!(text.starts_with("**contactctl plan:** 0 to create, 5000 to update"));
        assert_eq!(text.matches("<details>").count(), 0);
        let rows = text.matches("| update |").count();
        assert!(rows > 100 && rows < 5_000, "{rows} rows");
        // rows are cut from the end
        assert!(text.contains("`email=person00000@example.com (id 100000)`"));
        assert!(!text.contains("person04999"));
        assert!(text.contains(&format!(
            "5000 of 5000 change details and {} of 5000 table rows are not shown.",
            5_000 - rows
        )));
        assert!(text.trim_end().ends_with("for the full plan."));
    }
}
