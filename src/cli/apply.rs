//! `contactctl apply`: the arguments turned into an `ops::apply` request, the terminal's side of
//! the run (the plan and the report printed, the confirmation prompt, the progress display, the
//! lock's wait said, Ctrl-C), and the exit code. The sequence itself, the lock and the `--report`
//! record included, is `ops::apply::run`'s.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use super::ApplyArgs;
use super::confirm::confirm;
use super::error::CommandError;
use super::output::{Exit, Output};
use super::plan::{note_sandbox, opening, print_plan};
use super::progress::Progress;
use super::signals::on_interrupt;
use crate::api::CancelHandle;
use crate::apply::ApplyReport;
use crate::ops::report::{Failure, Recordable};
use crate::ops::{
    self,
    apply::{Applied, ApplyRequest, ApplyUi, Event, Opened, Rechecked, RunError},
};
use crate::plan::Plan;
use crate::render::{self, Format, plural};

pub async fn run(args: ApplyArgs, out: &Output) -> Result<Exit, CommandError> {
    out.no_csv("apply")?;
    // The time budget counts from the start, as a CI job's limit does.
    let started = tokio::time::Instant::now();
    let target = &args.target;
    let Opened {
        session,
        source,
        report,
    } = ops::apply::open(
        opening(target, &args.paging, out),
        args.plan.as_deref(),
        args.report.as_deref(),
    )
    .await?;
    note_sandbox(&session, out);
    // One progress display for the whole run: the reads of its plan, then the writes.
    let progress = Progress::new(&session.clients, &session.config, "apply", out.verbose > 0);
    let interrupted = Arc::new(AtomicBool::new(false));
    let mut ui = Terminal {
        out,
        progress: &progress,
        interrupted: interrupted.clone(),
        cancel: session.cancel_handle(),
        showing: true,
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
        lock_groups: session.lock_groups(),
        lock_timeout: args.lock_timeout,
        report: &report,
    };
    let result = progress.drive(ops::apply::run(request, &mut ui)).await;
    ui.close_progress();
    match result {
        Ok(applied) if applied.succeeded() => Ok(Exit::Ok),
        Ok(_) => Ok(Exit::Error),
        Err(RunError::Ui(e)) => Err(e),
        Err(RunError::Ops(e)) => {
            if let (ops::Error::Unsafe { warnings }, Format::Json) = (&e, out.format) {
                // The JSON plan was not printed: the warnings say what the refusal is about.
                for w in render::problems::warnings(warnings) {
                    out.note(&w);
                }
            }
            Err(e.into())
        }
    }
}

/// The terminal's side of an apply: the plan on stdout, the prompt, the progress display, and
/// Ctrl-C once the writes start.
struct Terminal<'a, 'p> {
    out: &'a Output,
    progress: &'a Progress<'p>,
    /// Raised by the first Ctrl-C, once the writes start.
    interrupted: Arc<AtomicBool>,
    cancel: Arc<CancelHandle>,
    /// The progress display is up: the plan's reads until it is shown, then the writes.
    showing: bool,
}

impl Terminal<'_, '_> {
    /// The progress display off, before the plan, the report or an error is printed.
    fn close_progress(&mut self) {
        if self.showing {
            self.progress.finish();
            self.showing = false;
        }
    }
}

impl ApplyUi for Terminal<'_, '_> {
    type Error = CommandError;

    fn planned(&mut self, plan: &Plan, rechecked: Option<Rechecked>) -> Result<(), CommandError> {
        self.close_progress();
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
        self.showing = true;
        on_interrupt(self.interrupted.clone(), self.cancel.clone());
        self.progress.tracker().expect_writes(plan);
    }

    fn event(&self, event: Event<'_>) {
        match event {
            Event::Waiting(w) => self.out.note(&waiting(w)),
            Event::Read(e) => self.progress.tracker().on_read(e),
            Event::Apply(e) => self.progress.tracker().on_apply(e),
        }
    }

    fn finished(&mut self, applied: &Applied) -> Result<(), CommandError> {
        self.close_progress();
        let (out, report) = (self.out, &applied.report);
        if !applied.had_changes {
            if out.format == Format::Json {
                print_report(report, out)?;
            }
            return Ok(());
        }
        print_report(report, out)?;
        let left = report.left_for_next_run();
        if left > 0 && out.format == Format::Json {
            // the JSON report names them; say what to do where a person reads
            out.note(&format!(
                "{left} contact{} left for the next run (time budget): run contactctl apply again to continue.",
                if left == 1 { "" } else { "s" }
            ));
        }
        Ok(())
    }
}

impl Recordable for CommandError {
    fn failure(&self) -> Failure {
        Failure {
            refused: self.refused,
            message: self.message.clone(),
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
