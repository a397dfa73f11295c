//! A plan saved by `plan --out` for `apply --plan`: the file, and whether it still holds.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use super::session::Session;
use crate::cli::Target;
use crate::plan::Plan;

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

pub fn save(path: &Path, session: &Session, target: &Target, plan: &Plan) -> anyhow::Result<()> {
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

/// The contacts whose fresh plan differs from the saved one (by identity), in words.
pub fn stale_contacts(saved: &Plan, fresh: &Plan) -> Vec<String> {
    let key = |c: &crate::plan::ContactPlan| (c.channel.clone(), c.identity.clone(), c.id.clone());
    let fresh_by_key: std::collections::HashMap<_, _> =
        fresh.contacts.iter().map(|c| (key(c), c)).collect();
    let saved_keys: std::collections::HashSet<_> = saved.contacts.iter().map(key).collect();
    let mut stale: Vec<String> = saved
        .contacts
        .iter()
        .filter(|c| fresh_by_key.get(&key(c)).is_none_or(|f| *f != *c))
        .map(|c| format!("{} on {}", c.identity, c.channel))
        .collect();
    stale.extend(
        fresh
            .contacts
            .iter()
            .filter(|c| !saved_keys.contains(&key(c)))
            .map(|c| format!("{} on {} (new)", c.identity, c.channel)),
    );
    stale
}
