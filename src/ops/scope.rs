//! Change-scoped runs (SPEC "Change-scoped runs"): BASE — another config (`--base`), or the
//! config's own path at a git ref (`--changed-since`, read through [`GitTree`]) — loaded and
//! reduced to fingerprints, and a run's targets narrowed to the contacts whose effective desired
//! state differs from BASE's. A BASE that is missing is an error; one that is not a valid config
//! makes a full run, with a warning that says why.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::Error;
use super::git::GitTree;
use super::targets::Targets;
use crate::config::{self, Diagnostic, FileSource, Fs};
use crate::model::Config;
use crate::plan::Warning;
use crate::plan::scope::{Fingerprints, scope};
use crate::read::Scoped;

/// BASE of a change-scoped run, as the user gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Base {
    /// `--base PATH`: another config, a file or a directory.
    Path(PathBuf),
    /// `--changed-since GITREF`: the config's own path as it was at GITREF.
    GitRef(String),
}

impl Base {
    /// How plans name it: the path, or the ref.
    pub fn name(&self) -> String {
        match self {
            Base::Path(p) => p.display().to_string(),
            Base::GitRef(r) => r.clone(),
        }
    }

    /// The flag that gave it.
    pub fn flag(&self) -> &'static str {
        match self {
            Base::Path(_) => "--base",
            Base::GitRef(_) => "--changed-since",
        }
    }
}

/// BASE, read.
#[derive(Debug)]
pub enum Loaded {
    /// A valid config, reduced to what a scope needs.
    Fingerprints(Fingerprints),
    /// Not a valid config: why, as a warning for the plan (the run reads everything).
    Invalid(Warning),
}

/// Read BASE for the config at `path`. Errors when BASE is not there (a missing `--base`, the
/// config's path absent at the ref), the ref is unknown, or `path` is not in a git repository;
/// a BASE with config problems is not an error but [`Loaded::Invalid`].
pub fn load_base(path: &Path, base: &Base) -> Result<Loaded, Error> {
    let (files, base_path): (Box<dyn FileSource>, &Path) = match base {
        Base::Path(p) => (Box::new(Fs), p.as_path()),
        Base::GitRef(reference) => (Box::new(GitTree::open(path, reference)?), path),
    };
    if let Err(e) = files.entry(base_path) {
        return Err(Error::BaseMissing {
            flag: base.flag(),
            base: base.name(),
            path: base_path.to_path_buf(),
            reason: e.to_string(),
        });
    }
    Ok(match config::load_from(files.as_ref(), base_path) {
        Ok(config) => Loaded::Fingerprints(Fingerprints::of(&config)),
        Err(diagnostics) => Loaded::Invalid(invalid_base(base, &diagnostics)),
    })
}

/// The warning for a BASE that is not a valid config.
fn invalid_base(base: &Base, diagnostics: &[Diagnostic]) -> Warning {
    Warning::InvalidBase {
        flag: base.flag().to_string(),
        base: base.name(),
        problems: diagnostics.len(),
        first: diagnostics.first().map(ToString::to_string),
    }
}

/// A change-scoped run's part of [`Targets`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopedTargets {
    /// BASE as the user named it.
    pub base: String,
    /// What the reader reads.
    pub read: Scoped,
    /// Per channel, targeted contacts not read because unchanged since BASE.
    pub skipped: BTreeMap<String, usize>,
}

/// Narrow `targets` (of `config`, selected by `--channel`/`--contact`) to the contacts changed
/// since BASE. The contacts BASE had and the config dropped are read only with a marker (nothing
/// else tells them apart from contacts the repo never managed), only on the channels targeted,
/// and not when `--contact` names contacts (as orphans are not looked for then).
pub fn narrow(config: &Config, targets: Targets, base: &Base, loaded: Loaded) -> Targets {
    let fingerprints = match loaded {
        Loaded::Fingerprints(f) => f,
        Loaded::Invalid(warning) => {
            let mut targets = targets;
            targets.warnings.push(warning);
            return targets;
        }
    };
    let changes = scope(&fingerprints, config);
    let mut skipped: BTreeMap<String, usize> = BTreeMap::new();
    let mut selected = Vec::new();
    for &i in &targets.selected {
        if changes.changed.binary_search(&i).is_ok() {
            selected.push(i);
        } else if let Some(c) = config.contacts.get(i) {
            *skipped.entry(c.channel.clone()).or_default() += 1;
        }
    }
    // With orphans looked for and a marker, `targets.channels` is every channel the run covers.
    let dropped: Vec<_> = if config.marker.is_some() && targets.orphans {
        changes
            .dropped
            .into_iter()
            .filter(|(channel, _)| targets.channels.contains(channel))
            .collect()
    } else {
        Vec::new()
    };
    let mut channels: Vec<String> = selected
        .iter()
        .filter_map(|&i| config.contacts.get(i).map(|c| c.channel.clone()))
        .chain(dropped.iter().map(|(channel, _)| channel.clone()))
        .collect();
    channels.sort();
    channels.dedup();
    // What paging can find: the contacts an apply of BASE marked — none when BASE had another
    // marker, or none; then every contact is as unmarked as a new one.
    let (unmarked, base_contacts) = if fingerprints.marker() == config.marker.as_ref() {
        (changes.added, fingerprints.per_channel().clone())
    } else {
        (selected.clone(), BTreeMap::new())
    };
    Targets {
        scope: Some(ScopedTargets {
            base: base.name(),
            read: Scoped {
                selected: selected.clone(),
                added: unmarked,
                dropped,
                base_contacts,
            },
            skipped,
        }),
        selected,
        orphans: false,
        channels,
        ..targets
    }
}
