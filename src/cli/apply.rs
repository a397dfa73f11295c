//! `contactctl apply`: the plan (fresh, or a saved plan proven to still hold), the safety gate,
//! confirmation, then the calls with progress and Ctrl-C handling, and the report.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use super::ApplyArgs;
use super::confirm::confirm;
use super::error::CommandError;
use super::output::{Exit, Output};
use super::plan::{note_sandbox, print_plan};
use super::progress::Progress;
use super::signals::on_interrupt;
use crate::apply::{ApplyEvent, ApplyReport};
use crate::ops;
use crate::plan::PlanOptions;
use crate::render::{self, Format};

pub async fn run(args: ApplyArgs, out: &Output) -> Result<Exit, CommandError> {
    out.no_csv("apply")?;
    // As Terraform: the plan comes first, and only changes need a yes. An up-to-date repo applies
    // (doing nothing) without a terminal; a plan saved with `plan --out` was the reviewed one,
    // so applying it asks nothing either.
    let target = &args.target;
    let endpoint = target.endpoint.to_ops();
    let reviewed = args.plan.is_some();
    let (session, plan) = match &args.plan {
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
            note_sandbox(&session, out);
            let plan = session.recheck(&target.path, saved).await?;
            (session, plan)
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
            note_sandbox(&session, out);
            let plan = session
                .plan(
                    &targets,
                    PlanOptions {
                        prune: args.prune,
                        ..PlanOptions::default()
                    },
                )
                .await;
            (session, plan)
        }
    };

    if out.format != Format::Json {
        print_plan(&plan, out)?;
    }
    if !plan.has_changes() {
        if out.format == Format::Json {
            let report = session
                .apply(plan.clone(), &AtomicBool::new(false), &|_| {})
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
    if !args.auto_approve && !reviewed {
        confirm(&plan, out)?;
    }

    let interrupted = Arc::new(AtomicBool::new(false));
    on_interrupt(interrupted.clone(), session.cancel_handle());
    let progress = Progress::new(plan.summary.api_calls as u64);
    let report = session
        .apply(plan, interrupted.as_ref(), &|e| {
            if let ApplyEvent::CallDone { .. } = e {
                progress.inc();
            }
        })
        .await;
    progress.finish();
    print_report(&report, out)?;
    Ok(if report.succeeded() {
        Exit::Ok
    } else {
        Exit::Error
    })
}

fn print_report(report: &ApplyReport, out: &Output) -> Result<(), CommandError> {
    out.stdout(|w| render::report(out.format, report, w, out.color))?;
    Ok(())
}
