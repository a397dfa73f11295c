//! Renderers: one plan (or apply report) to text ([`text`]), Markdown ([`markdown`]) or JSON
//! ([`json`]), and the verdict of `validate` ([`validate()`]), written to a writer. The one format
//! dispatch is here ([`plan()`], [`report()`], [`validate()`]). They decide nothing: every figure comes from the plan or the
//! report. What the formats share is in `words.rs` (the wording of the summary, counts,
//! durations, the report's lines) and `diff.rs` (the diff of a contact's managed state); this file
//! keeps the module list and the dispatch. None of it prints, reads the environment or decides
//! colour.

pub mod adopt;
mod controls;
mod diff;
pub mod json;
pub mod markdown;
pub(crate) mod problems;
pub mod text;
mod validate;
mod words;

pub use validate::validate;
pub use words::human_duration;

pub(crate) use controls::escape_controls;
pub(crate) use diff::{Mark, Sign, diff_lines};
pub(crate) use words::{
    Tally, action_name, by_channel, calls_per_channel, contact_name, cost, is_left, is_listed,
    is_shown, kept_line, no_changes_sentence, plural, report_heading, report_hints, report_problem,
    skipped_sentence, summary_sentence, writes_after_reads,
};

#[cfg(test)]
mod fixtures;

use std::io;

use crate::apply::ApplyReport;
use crate::plan::Plan;

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
