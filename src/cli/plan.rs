//! `contactctl plan`: read, diff, render; optionally save the plan for `apply --plan`.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use super::common::{Exit, Output, Session, prepare};
use super::{Format, PlanArgs, Target};
use crate::plan::{Plan, PlanOptions, plan};
use crate::read::{ReadOptions, read_live};
use crate::render;

/// Version of the saved-plan file format.
const SAVED_PLAN_VERSION: u32 = 1;

/// A plan saved by `plan --out`, with what is needed to tell whether it went stale.
#[derive(Debug, Serialize, Deserialize)]
pub struct SavedPlan {
    /// File format version.
    pub format_version: u32,
    /// Always `contactctl-plan`, so a wrong file is recognised.
    pub kind: String,
    /// Hash of the config files the plan was made from.
    pub config_hash: String,
    /// `--channel` values used.
    pub channels: Vec<String>,
    /// `--contact` values used.
    pub contacts: Vec<String>,
    /// The plan, each contact with the live state it was planned against.
    pub plan: Plan,
}

/// Read live state for the session's contacts and plan them.
pub async fn make_plan(session: &Session, prune: bool) -> Plan {
    let live = read_live(
        &session.config,
        &session.clients,
        &session.selected,
        ReadOptions {
            orphans: session.orphans,
            ..ReadOptions::default()
        },
    )
    .await;
    plan(&session.config, live, PlanOptions { prune })
}

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

fn save(path: &Path, session: &Session, target: &Target, plan: &Plan) -> anyhow::Result<()> {
    /// [`SavedPlan`] by reference: a plan of 100,000 contacts is not copied to be written, and
    /// is streamed to the file rather than built as one string first.
    #[derive(Serialize)]
    struct SavedPlanRef<'a> {
        format_version: u32,
        kind: &'a str,
        config_hash: &'a str,
        channels: &'a [String],
        contacts: &'a [String],
        plan: &'a Plan,
    }
    let saved = SavedPlanRef {
        format_version: SAVED_PLAN_VERSION,
        kind: "contactctl-plan",
        config_hash: &session.config.hash,
        channels: &target.channels,
        contacts: &target.contacts,
        plan,
    };
    let write = || -> anyhow::Result<()> {
        let file = std::fs::File::create(path)?;
        let mut w = std::io::BufWriter::new(file);
        serde_json::to_writer_pretty(&mut w, &saved).context("serialising the plan")?;
        w.write_all(b"\n")?;
        w.flush()?;
        Ok(())
    };
    write().with_context(|| format!("writing {}", path.display()))
}

/// Read a plan saved by `plan --out`.
pub fn load_saved(path: &Path) -> anyhow::Result<SavedPlan> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let saved: SavedPlan = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a plan saved by `contactctl plan --out`",
            path.display()
        )
    })?;
    if saved.kind != "contactctl-plan" || saved.format_version != SAVED_PLAN_VERSION {
        anyhow::bail!(
            "{} is not a plan saved by this version of contactctl (format {})",
            path.display(),
            saved.format_version
        );
    }
    Ok(saved)
}
