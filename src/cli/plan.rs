//! `contactctl plan`: read, diff, render; optionally save the plan for `apply --plan`.

use super::common::{Exit, Output};
use super::{Format, PlanArgs};
use crate::ops::plan::make_plan;
use crate::ops::saved::save;
use crate::ops::session::prepare;
use crate::plan::Plan;
use crate::render;

/// Render a plan in the chosen format to stdout.
pub fn print_plan(plan: &Plan, out: &Output) -> anyhow::Result<()> {
    out.stdout(|w| match out.format {
        Format::Text => render::text::plan(plan, w, out.color),
        Format::Markdown => render::markdown::plan(plan, w),
        Format::Json => render::json::plan(plan, w),
    })
}

pub async fn run(args: PlanArgs, out: &Output) -> anyhow::Result<Exit> {
    let session = prepare(&args.target, out).await?;
    let plan = make_plan(&session, args.prune).await;
    print_plan(&plan, out)?;
    if let Some(path) = &args.out {
        save(path, &session, &args.target, &plan)?;
        out.note(&format!(
            "Saved the plan to {}. Apply exactly it with: contactctl apply {} --plan {}",
            path.display(),
            args.target.path.display(),
            path.display()
        ));
    }
    Ok(if plan.summary.errors > 0 {
        Exit::Error
    } else if args.detailed_exitcode && plan.has_changes() {
        Exit::Changes
    } else {
        Exit::Ok
    })
}
