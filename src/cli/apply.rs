//! `contactctl apply`: the arguments turned into an `ops::apply` request, the terminal's side of
//! the run (the plan printed, the confirmation prompt, the progress display, Ctrl-C), and the
//! report. The sequence itself is `ops::apply::run`'s.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use super::ApplyArgs;
use super::confirm::confirm;
use super::error::CommandError;
use super::output::{Exit, Output};
use super::plan::{note_sandbox, print_plan};
use super::progress::Progress;
use super::signals::on_interrupt;
use crate::api::CancelHandle;
use crate::apply::ApplyReport;
use crate::ops::report::{End, Report};
use crate::ops::{
    self,
    apply::{ApplyRequest, ApplyUi, Event, Rechecked, RunError},
};
use crate::plan::Plan;
use crate::render::{self, Format, plural};

pub async fn run(args: ApplyArgs, out: &Output) -> Result<Exit, CommandError> {
    out.no_csv("apply")?;
    let report = match &args.report {
        Some(file) => Report::create(file, &args.target.path)?,
        None => Report::none(),
    };
    let result = run_reported(args, out, &report).await;
    report.end(match &result {
        Ok(exit) => End::Finished { exit: *exit as i32 },
        Err(e) => End::Failed {
            refused: e.refused,
            message: &e.message,
        },
    })?;
    result
}

/// The run, its record written to `report` as it goes.
async fn run_reported(
    args: ApplyArgs,
    out: &Output,
    report: &Report,
) -> Result<Exit, CommandError> {
    // The time budget counts from the start, as a CI job's limit does.
    let started = tokio::time::Instant::now();
    let target = &args.target;
    let (mut session, source) = ops::apply::open(
        &target.path,
        args.plan.as_deref(),
        &target.channels,
        &target.contacts,
        target.base().as_ref(),
        &target.endpoint.to_ops(),
        out.log(),
    )
    .await?;
    session.read.max_pages = args.paging.max_pages;
    // One apply at a time per host and token on this machine: taken before the first read, held
    // through the confirmation to the last call (released when `_lock` drops, as the run ends).
    let deadline = args.max_duration.map(|budget| started + budget);
    let _lock = session
        .lock(args.lock_timeout, deadline, &|w| out.note(&waiting(w)))
        .await
        .map_err(ops::Error::from)?;
    report.start(&session.clients.keys().cloned().collect::<Vec<_>>());
    note_sandbox(&session, out);
    // One progress display for the whole run: the reads of its plan, then the writes.
    let progress = Progress::new(&session.clients, &session.config, "apply", out.verbose > 0);
    let interrupted = Arc::new(AtomicBool::new(false));
    let mut ui = Terminal {
        out,
        report,
        progress: &progress,
        interrupted: interrupted.clone(),
        cancel: session.cancel_handle(),
        reads_shown: false,
        writing: false,
    };
    let request = ApplyRequest {
        config: &session.config,
        clients: &session.clients,
        source,
        read: session.read,
        prune: args.prune,
        force: args.force,
        auto_approve: args.auto_approve,
        max_duration: args.max_duration,
        started,
        interrupt: interrupted.as_ref(),
    };
    let result = progress.drive(ops::apply::run(request, &mut ui)).await;
    if ui.writing || !ui.reads_shown {
        progress.finish();
    }
    let applied = match result {
        Ok(applied) => applied,
        Err(RunError::Ui(e)) => return Err(e),
        Err(RunError::Ops(e)) => {
            if let (ops::Error::Unsafe { warnings }, Format::Json) = (&e, out.format) {
                // The JSON plan was not printed: the warnings say what the refusal is about.
                for w in render::problems::warnings(warnings) {
                    out.note(&w);
                }
            }
            return Err(e.into());
        }
    };
    let report = applied.report;
    if !applied.had_changes {
        if out.format == Format::Json {
            print_report(&report, out)?;
        }
        return Ok(if report.plan.summary.errors > 0 {
            Exit::Error
        } else {
            Exit::Ok
        });
    }
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

/// The terminal's side of an apply: the plan on stdout, the prompt, the progress display, and
/// Ctrl-C once the writes start.
struct Terminal<'a, 'p> {
    out: &'a Output,
    /// The run's record (`--report`), or none.
    report: &'a Report,
    progress: &'a Progress<'p>,
    /// Raised by the first Ctrl-C, once the writes start.
    interrupted: Arc<AtomicBool>,
    cancel: Arc<CancelHandle>,
    /// The reads' display was closed and the plan shown.
    reads_shown: bool,
    /// The writes started.
    writing: bool,
}

impl ApplyUi for Terminal<'_, '_> {
    type Error = CommandError;

    fn planned(&mut self, plan: &Plan, rechecked: Option<Rechecked>) -> Result<(), CommandError> {
        self.progress.finish();
        self.reads_shown = true;
        self.report.plan(plan);
        if let Some(r) = rechecked {
            // The printed plan's cost line is the plan's own reads; say what this check spent.
            self.out.note(&format!(
                "The saved plan still holds: its {} with calls re-read in {}.",
                plural(r.contacts, "contact", "contacts"),
                plural(r.reads, "API call", "API calls")
            ));
        }
        // As Terraform: the plan comes first, and only changes need a yes. An up-to-date repo
        // applies (doing nothing) without a terminal; a plan saved with `plan --out` was the
        // reviewed one, so applying it asks nothing either.
        if self.out.format != Format::Json {
            print_plan(plan, self.out)?;
        }
        Ok(())
    }

    fn confirm(&mut self, plan: &Plan) -> Result<(), CommandError> {
        confirm(plan)
    }

    fn writing(&mut self, plan: &Plan) {
        self.writing = true;
        on_interrupt(self.interrupted.clone(), self.cancel.clone());
        self.progress.tracker().expect_writes(plan);
    }

    fn event(&self, event: Event<'_>) {
        match event {
            Event::Read(e) => self.progress.tracker().on_read(e),
            Event::Apply(e) => {
                self.progress.tracker().on_apply(e);
                self.report.on_apply(e);
            }
        }
    }
}

/// The one line a run waiting for another's lock says.
fn waiting(w: &ops::lock::Waiting) -> String {
    let holder = w
        .holder
        .map(|pid| format!(" (PID {pid})"))
        .unwrap_or_default();
    format!(
        "Waiting for another contactctl apply{holder} against {} to finish (lock {}).",
        w.host,
        w.path.display()
    )
}

fn print_report(report: &ApplyReport, out: &Output) -> Result<(), CommandError> {
    out.stdout(|w| render::report(out.format, report, w, out.color, out.verbose > 0))?;
    Ok(())
}
