//! `contactctl apply`: the plan (fresh, or a saved plan proven to still hold), the safety gate,
//! confirmation, then the calls with progress and Ctrl-C handling, and the report.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use super::ApplyArgs;
use super::confirm::confirm;
use super::error::CommandError;
use super::output::{Exit, Output};
use super::plan::{note_sandbox, print_plan, read_and_plan};
use super::progress::Progress;
use super::signals::on_interrupt;
use crate::apply::{ApplyEvent, ApplyReport};
use crate::ops;
use crate::read::ReadEvent;
use crate::render::{self, Format, plural};

/// Where the plan comes from: a saved plan to check, or the targets to read and plan.
enum Source {
    Saved(ops::saved::SavedPlan),
    Fresh(ops::Targets),
}

pub async fn run(args: ApplyArgs, out: &Output) -> Result<Exit, CommandError> {
    out.no_csv("apply")?;
    // The time budget counts from the start, as a CI job's limit does.
    let deadline = args
        .max_duration
        .map(|budget| tokio::time::Instant::now() + budget);
    let target = &args.target;
    let endpoint = target.endpoint.to_ops();
    let reviewed = args.plan.is_some();
    let (session, source) = match &args.plan {
        Some(file) => {
            let saved = ops::saved::load(file).map_err(ops::Error::from)?;
            let session = ops::apply::open_saved(
                &target.path,
                &saved,
                &target.channels,
                &target.contacts,
                &endpoint,
                out.log(),
            )
            .await?;
            (session, Source::Saved(saved))
        }
        None => {
            let (session, targets) = ops::plan::open_scoped(
                &target.path,
                &target.channels,
                &target.contacts,
                target.base().as_ref(),
                &endpoint,
                out.log(),
            )
            .await?;
            (session, Source::Fresh(targets))
        }
    };
    note_sandbox(&session, out);
    // One progress display for the whole run: the reads of its plan, then the writes.
    let progress = Progress::new(&session.clients, &session.config, "apply", out.verbose > 0);
    let on_read = |e: ReadEvent| progress.tracker().on_read(&e);
    let plan = match source {
        Source::Saved(saved) => {
            let before = session.requests_sent();
            let checked = progress
                .drive(session.recheck(&target.path, saved, &on_read))
                .await;
            progress.finish();
            let checked = checked?;
            // The printed plan's cost line is the plan's own reads; say what this check spent.
            let reads = usize::try_from(session.requests_sent() - before).unwrap_or(usize::MAX);
            let with_calls = checked
                .contacts
                .iter()
                .filter(|c| !c.calls.is_empty())
                .count();
            out.note(&format!(
                "The saved plan still holds: its {} with calls re-read in {}.",
                plural(with_calls, "contact", "contacts"),
                plural(reads, "API call", "API calls")
            ));
            checked
        }
        Source::Fresh(targets) => {
            if let Some(budget) = args.max_duration {
                ops::apply::check_read_budget(&session.config, &targets, budget)?;
            }
            read_and_plan(&session, &targets, args.prune, &progress).await
        }
    };

    // As Terraform: the plan comes first, and only changes need a yes. An up-to-date repo applies
    // (doing nothing) without a terminal; a plan saved with `plan --out` was the reviewed one,
    // so applying it asks nothing either.
    if out.format != Format::Json {
        print_plan(&plan, out)?;
    }
    if !plan.has_changes() {
        if out.format == Format::Json {
            let report = session
                .apply(plan.clone(), None, &AtomicBool::new(false), &|_| {})
                .await;
            print_report(&report, out)?;
        }
        return Ok(if plan.summary.errors > 0 {
            Exit::Error
        } else {
            Exit::Ok
        });
    }
    if let Err(e) = ops::apply::check_safety(&plan, args.force) {
        if out.format == Format::Json {
            // The JSON plan was not printed: the warnings say what the refusal is about.
            for w in &plan.warnings {
                out.note(w);
            }
        }
        return Err(e.into());
    }
    ops::apply::check_protected(&session.config, &plan, args.force)?;
    if !args.auto_approve && !reviewed {
        confirm(&plan)?;
    }

    let interrupted = Arc::new(AtomicBool::new(false));
    on_interrupt(interrupted.clone(), session.cancel_handle());
    progress.tracker().expect_writes(&plan);
    let on_apply = |e: ApplyEvent| progress.tracker().on_apply(&e);
    let report = progress
        .drive(session.apply(plan, deadline, interrupted.as_ref(), &on_apply))
        .await;
    progress.finish();
    print_report(&report, out)?;
    let left = report.left_for_next_run();
    if left > 0 && out.format == Format::Json {
        // the JSON report names them; say what to do where a person reads
        out.note(&format!(
            "{left} contact{} left for the next run (time budget): run contactctl apply again to continue.",
            if left == 1 { "" } else { "s" }
        ));
    }
    Ok(if report.succeeded() {
        Exit::Ok
    } else {
        Exit::Error
    })
}

fn print_report(report: &ApplyReport, out: &Output) -> Result<(), CommandError> {
    out.stdout(|w| render::report(out.format, report, w, out.color, out.verbose > 0))?;
    Ok(())
}
