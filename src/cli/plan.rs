//! `contactctl plan`: open a session, read and plan, render; optionally save the plan for
//! `apply --plan`.

use super::error::CommandError;
use super::output::{Exit, Output};
use super::progress::Progress;
use super::{Paging, PlanArgs, Target, shell_word};
use crate::ops;
use crate::plan::{Plan, PlanOptions};
use crate::read::ReadEvent;
use crate::render;

/// Render a plan in the chosen format to stdout.
pub fn print_plan(plan: &Plan, out: &Output) -> Result<(), CommandError> {
    out.stdout(|w| render::plan(out.format, plan, w, out.color))?;
    Ok(())
}

/// Read and plan `targets` through the session, the reads shown on the terminal by `progress`.
pub async fn plan_showing_progress(
    session: &ops::Session,
    targets: &ops::Targets,
    prune: bool,
    progress: &Progress<'_>,
) -> Plan {
    let on_read = |e: ReadEvent| progress.tracker().on_read(&e);
    let options = PlanOptions {
        prune,
        ..PlanOptions::default()
    };
    let plan = progress
        .drive(session.plan(targets, options, &on_read))
        .await;
    progress.finish();
    plan
}

/// Say, with `-v`, where the in-process sandbox serves.
pub fn note_sandbox(session: &ops::Session, out: &Output) {
    if let (true, Some(url)) = (out.verbose > 0, session.sandbox_url()) {
        let channels: Vec<&str> = session.clients.keys().map(String::as_str).collect();
        out.note(&format!(
            "sandbox: serving {} on {url}",
            channels.join(", ")
        ));
    }
}

/// The session a run on `target` opens: its config and targets, the endpoint flags, `--max-pages`
/// and the `-v` log.
pub fn opening<'a>(target: &'a Target, paging: &Paging, out: &Output) -> ops::plan::Opening<'a> {
    ops::plan::Opening {
        path: &target.path,
        channels: &target.channels,
        contacts: &target.contacts,
        base: target.base(),
        endpoint: target.endpoint.to_ops(),
        max_pages: paging.max_pages,
        log: out.log(),
    }
}

pub async fn run(args: PlanArgs, out: &Output) -> Result<Exit, CommandError> {
    out.no_csv("plan")?;
    if let Some(path) = &args.out {
        ops::saved::check_destination(path)?;
    }
    let target = &args.target;
    let (session, targets) = ops::plan::open(opening(target, &args.paging, out)).await?;
    note_sandbox(&session, out);
    let progress = Progress::new(&session.clients, &session.config, "plan", out.verbose > 0);
    let plan = plan_showing_progress(&session, &targets, args.prune, &progress).await;
    print_plan(&plan, out)?;
    if let Some(path) = &args.out {
        ops::saved::save(
            path,
            &session.config.hash,
            &target.channels,
            &target.contacts,
            &plan,
        )?;
        out.note(&format!(
            "Saved the plan to {}. Apply exactly it with: contactctl apply {} --plan {}{}",
            path.display(),
            shell_word(&target.path.display().to_string()),
            shell_word(&path.display().to_string()),
            target.endpoint.flags()
        ));
    }
    Ok(if plan.summary.errors > 0 || plan.is_incomplete() {
        Exit::Error
    } else if args.detailed_exitcode && plan.has_changes() {
        Exit::Changes
    } else {
        Exit::Ok
    })
}
