//! JSON output: SPEC's plan object (`format_version`, `summary`, `contacts`, plus `warnings`), and
//! the same object for an apply report with each contact's result and an `applied` block. Built
//! from serialize-only types private to this file, so the output shape is fixed here and nowhere
//! else (changing a plan type cannot change it by accident). Decides nothing.

use std::borrow::Cow;
use std::io;

use serde::Serialize;

use super::{action_name, problems};
use crate::apply::{ApplyReport, ContactOutcome, NotRun, Outcome};
use crate::model::FieldWrite;
use crate::plan::{Call, ContactPlan, Plan, Summary};

/// The `format_version` written; bump it on any incompatible change of the shape.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Serialize)]
struct JsonPlan<'a> {
    format_version: u32,
    summary: JsonSummary,
    contacts: Vec<JsonContact<'a>>,
    warnings: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    applied: Option<JsonApplied>,
}

/// SPEC's `summary`, key for key and in its order.
#[derive(Serialize)]
struct JsonSummary {
    create: usize,
    update: usize,
    unchanged: usize,
    orphans: usize,
    tags_added: usize,
    tags_removed: usize,
    errors: usize,
    api_calls: usize,
    reads: usize,
    skipped: usize,
    estimated_seconds: u64,
    /// Platform values kept by write modes (no call).
    kept: usize,
}

impl From<&Summary> for JsonSummary {
    fn from(s: &Summary) -> Self {
        JsonSummary {
            create: s.create,
            update: s.update,
            unchanged: s.unchanged,
            orphans: s.orphans,
            tags_added: s.tags_added,
            tags_removed: s.tags_removed,
            errors: s.errors,
            api_calls: s.api_calls,
            reads: s.reads,
            skipped: s.skipped,
            estimated_seconds: s.estimated_seconds,
            kept: s.kept,
        }
    }
}

#[derive(Serialize)]
struct JsonContact<'a> {
    channel: &'a str,
    identity: String,
    id: Option<&'a str>,
    action: &'static str,
    fields: Vec<JsonField<'a>>,
    /// Platform values that stay (write modes): beside `fields`, never in it, so that `fields`
    /// stays the drift.
    kept: Vec<JsonKept<'a>>,
    tags_added: &'a [String],
    tags_removed: &'a [String],
    /// Why the contact could not be planned or, in a report, why it failed.
    error: Option<Cow<'a, str>>,
    /// The exact calls apply makes for it, in order: what is reviewed is what runs.
    calls: Vec<JsonCall<'a>>,
    #[serde(flatten)]
    result: Option<JsonResult>,
}

/// One API call: its kind (`call`) and the fields or tags it sends, as the saved plan has it.
#[derive(Serialize)]
#[serde(tag = "call", rename_all = "snake_case")]
enum JsonCall<'a> {
    Create { fields: Vec<JsonWrite<'a>> },
    Update { fields: Vec<JsonWrite<'a>> },
    AddTags { tags: &'a [String] },
    RemoveTags { tags: &'a [String] },
}

/// One field a call writes (`""` clears it).
#[derive(Serialize)]
struct JsonWrite<'a> {
    name: &'a str,
    value: &'a str,
}

impl<'a> From<&'a Call> for JsonCall<'a> {
    fn from(call: &'a Call) -> Self {
        let writes = |fields: &'a [FieldWrite]| {
            fields
                .iter()
                .map(|f| JsonWrite {
                    name: &f.name,
                    value: &f.value,
                })
                .collect()
        };
        match call {
            Call::Create { fields } => JsonCall::Create {
                fields: writes(fields),
            },
            Call::Update { fields } => JsonCall::Update {
                fields: writes(fields),
            },
            Call::AddTags { tags } => JsonCall::AddTags { tags },
            Call::RemoveTags { tags } => JsonCall::RemoveTags { tags },
        }
    }
}

#[derive(Serialize)]
struct JsonField<'a> {
    name: &'a str,
    before: Option<&'a str>,
    after: Option<&'a str>,
    /// Present (`true`) on a change of a protected field only.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    protected: bool,
}

#[derive(Serialize)]
struct JsonKept<'a> {
    name: &'a str,
    platform: Option<&'a str>,
    repo: Option<&'a str>,
}

/// A contact's apply result (reports only).
#[derive(Serialize)]
struct JsonResult {
    result: &'static str,
    calls_done: usize,
    calls_planned: usize,
    /// Why a contact was not run: `interrupted`, `channel_stopped`, `time_budget` (left for the
    /// next run).
    #[serde(skip_serializing_if = "Option::is_none")]
    not_run: Option<&'static str>,
}

#[derive(Serialize)]
struct JsonApplied {
    requests_sent: usize,
    failed: usize,
    not_run: usize,
    interrupted: bool,
    /// Of `not_run`, the contacts the time budget left for the next run.
    left_for_next_run: usize,
}

fn contact<'a>(c: &'a ContactPlan, outcome: Option<&'a ContactOutcome>) -> JsonContact<'a> {
    JsonContact {
        channel: &c.channel,
        identity: c.identity.display(),
        id: outcome.and_then(|o| o.id.as_deref()).or(c.id.as_deref()),
        action: action_name(c.action),
        fields: c
            .fields
            .iter()
            .map(|f| JsonField {
                name: &f.name,
                before: f.before.as_deref(),
                after: f.after.as_deref(),
                protected: f.protected,
            })
            .collect(),
        kept: c
            .kept
            .iter()
            .map(|k| JsonKept {
                name: &k.name,
                platform: k.platform.as_deref(),
                repo: k.repo.as_deref(),
            })
            .collect(),
        tags_added: &c.tags_added,
        tags_removed: &c.tags_removed,
        error: problems::contact_error(c)
            .map(Cow::Owned)
            .or(outcome.and_then(|o| o.error.as_ref().map(|e| Cow::Owned(e.to_string())))),
        calls: c.calls.iter().map(JsonCall::from).collect(),
        result: outcome.map(|o| JsonResult {
            result: result_name(o.outcome),
            calls_done: o.calls_done,
            calls_planned: o.calls_planned,
            not_run: o.not_run.map(not_run_name),
        }),
    }
}

/// The word for an apply outcome in `result`.
fn result_name(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Done => "done",
        Outcome::NoChange => "no_change",
        Outcome::Failed => "failed",
        Outcome::NotRun => "not_run",
        Outcome::PlanError => "plan_error",
    }
}

/// The word for why a contact was not run, in `not_run`.
fn not_run_name(reason: NotRun) -> &'static str {
    match reason {
        NotRun::Interrupted => "interrupted",
        NotRun::ChannelStopped => "channel_stopped",
        NotRun::TimeBudget => "time_budget",
    }
}

fn write(w: &mut dyn io::Write, value: &JsonPlan<'_>) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, value)?;
    writeln!(w)
}

/// Write SPEC's plan object (every contact, unchanged ones too) and a newline.
pub fn plan(plan: &Plan, w: &mut dyn io::Write) -> io::Result<()> {
    write(
        w,
        &JsonPlan {
            format_version: FORMAT_VERSION,
            summary: (&plan.summary).into(),
            contacts: plan.contacts.iter().map(|c| contact(c, None)).collect(),
            warnings: problems::warnings(&plan.warnings),
            applied: None,
        },
    )
}

/// Write the plan object of the applied plan with each contact's `result` (`done`, `no_change`,
/// `failed`, `not_run`, `plan_error`), `calls_done` and `calls_planned` (the apply error in
/// `error`, a created contact's new ID in `id`), and a top-level `applied` object.
pub fn report(report: &ApplyReport, w: &mut dyn io::Write) -> io::Result<()> {
    let count = |wanted: Outcome| {
        report
            .outcomes
            .iter()
            .filter(|o| o.outcome == wanted)
            .count()
    };
    write(
        w,
        &JsonPlan {
            format_version: FORMAT_VERSION,
            summary: (&report.plan.summary).into(),
            contacts: report
                .plan
                .contacts
                .iter()
                .enumerate()
                .map(|(i, c)| contact(c, report.outcomes.get(i)))
                .collect(),
            warnings: problems::warnings(&report.plan.warnings),
            applied: Some(JsonApplied {
                requests_sent: report.requests_sent,
                failed: count(Outcome::Failed),
                not_run: count(Outcome::NotRun),
                interrupted: report.interrupted,
                left_for_next_run: report.left_for_next_run(),
            }),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::super::fixtures;
    use super::*;

    fn render_plan(p: &Plan) -> String {
        let mut out = Vec::new();
        plan(p, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn plan_json_snapshot() {
        insta::assert_snapshot!(render_plan(&fixtures::plan()));
    }

    #[test]
    fn plan_json_has_specs_keys_in_specs_order() {
        let text = render_plan(&fixtures::plan());
        assert!(text.ends_with("}\n"));
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let keys = |v: &serde_json::Value| -> Vec<String> {
            v.as_object().unwrap().keys().cloned().collect()
        };
        assert_eq!(
            keys(&v),
            ["format_version", "summary", "contacts", "warnings"]
        );
        assert_eq!(
            keys(&v["summary"]),
            [
                "create",
                "update",
                "unchanged",
                "orphans",
                "tags_added",
                "tags_removed",
                "errors",
                "api_calls",
                "reads",
                "skipped",
                "estimated_seconds",
                "kept"
            ]
        );
        assert_eq!(
            keys(&v["contacts"][0]),
            [
                "channel",
                "identity",
                "id",
                "action",
                "fields",
                "kept",
                "tags_added",
                "tags_removed",
                "error",
                "calls"
            ]
        );
        assert_eq!(
            keys(&v["contacts"][0]["fields"][0]),
            ["name", "before", "after"]
        );
        // every contact is listed, unchanged ones too
        assert_eq!(v["contacts"].as_array().unwrap().len(), 6);
    }

    #[test]
    fn report_json_of_a_run_stopped_by_its_time_budget_names_every_contact_left() {
        let mut out = Vec::new();
        report(&fixtures::left_report(), &mut out).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let left: Vec<&serde_json::Value> = v["contacts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["not_run"] == "time_budget")
            .collect();
        assert_eq!(v["applied"]["left_for_next_run"], left.len());
        assert!(!left.is_empty());
        assert!(
            left.iter()
                .all(|c| c["result"] == "not_run" && c["calls_done"] == 0)
        );
    }

    #[test]
    fn a_scoped_plan_counts_its_reads_skipped_contacts_and_time() {
        let v: serde_json::Value =
            serde_json::from_str(&render_plan(&fixtures::scoped_plan())).unwrap();
        assert_eq!(
            v["summary"],
            serde_json::json!({
                "create": 1, "update": 2, "unchanged": 1, "orphans": 1, "tags_added": 4,
                "tags_removed": 1, "errors": 1, "api_calls": 7, "reads": 6, "skipped": 9997,
                "estimated_seconds": 0, "kept": 0
            })
        );
        let v: serde_json::Value =
            serde_json::from_str(&render_plan(&fixtures::costly_plan())).unwrap();
        assert_eq!(v["summary"]["reads"], 1002);
        assert_eq!(v["summary"]["skipped"], 0);
        // web: 1,000 reads and 5 writes at 100 a minute: ten windows after the first
        assert_eq!(v["summary"]["estimated_seconds"], 600);
        assert!(
            v["warnings"][0]
                .as_str()
                .unwrap()
                .contains("so every contact was read"),
            "{v}"
        );
    }

    #[test]
    fn kept_values_sit_beside_the_field_changes_and_protected_changes_are_marked() {
        let text = render_plan(&fixtures::modes_plan());
        insta::assert_snapshot!(text);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["format_version"], 1);
        assert_eq!(v["summary"]["kept"], 2);
        let ana = &v["contacts"][0];
        assert_eq!(
            ana["kept"],
            serde_json::json!([{"name": "firstName", "platform": "Anne", "repo": "Ann"}])
        );
        assert!(
            ana["fields"]
                .as_array()
                .unwrap()
                .iter()
                .all(|f| f["name"] != "firstName"),
            "a kept value is never in fields: {ana}"
        );
        let protected: Vec<&serde_json::Value> = v["contacts"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|c| c["fields"].as_array().unwrap())
            .filter(|f| f.get("protected").is_some())
            .collect();
        assert_eq!(
            protected,
            [
                &serde_json::json!({"name": "phone", "before": "+34600999999", "after": "+34600111222", "protected": true})
            ]
        );
    }

    #[test]
    fn report_json_snapshot() {
        let mut out = Vec::new();
        report(&fixtures::failed_report(), &mut out).unwrap();
        insta::assert_snapshot!(String::from_utf8(out).unwrap());
    }
}
