//! Which contacts a run works on: all of the config, or those of some channels and matching some
//! identities (`--channel`, `--contact`); and which channels it must call for them. The one place
//! that checks a `--channel` name.

use super::Error;
use super::scope::ScopedTargets;
use crate::model::{Config, Identity, normalize};

/// What a run works on.
#[derive(Debug, Clone, PartialEq)]
pub struct Targets {
    /// Indices into `config.contacts` to read and plan, in config order.
    pub selected: Vec<usize>,
    /// Look for orphans (marked contacts the config no longer names): only when whole channels
    /// are planned, not single contacts.
    pub orphans: bool,
    /// The channels to call: those with selected contacts, and with orphans looked for (and a
    /// marker), every channel the run covers. Name order.
    pub channels: Vec<String>,
    /// A change-scoped run: `selected` holds only the contacts changed since BASE, and this
    /// what else it reads and skips (`None`: a full run).
    pub scope: Option<ScopedTargets>,
    /// Warnings about the run, for the plan (a BASE that could not be used).
    pub warnings: Vec<crate::plan::Warning>,
}

impl Targets {
    /// Every contact of the config, orphans included.
    pub fn all(config: &Config) -> Targets {
        select(config, &[], &[]).unwrap_or_else(|_| Targets {
            selected: Vec::new(),
            orphans: false,
            channels: Vec::new(),
            scope: None,
            warnings: Vec::new(),
        })
    }
}

/// Fail unless `name` is a channel of `config`.
pub fn check_channel(config: &Config, name: &str) -> Result<(), Error> {
    if config.channels.contains_key(name) {
        Ok(())
    } else {
        Err(Error::UnknownChannel {
            name: name.to_string(),
            known: config.channels.keys().cloned().collect(),
        })
    }
}

/// The contacts to plan: all, or those of `channels` and matching one of `contacts` (each
/// `field=value`, `id=ID`, or a bare key value or ID). Every name given must match something.
pub fn select(config: &Config, channels: &[String], contacts: &[String]) -> Result<Targets, Error> {
    for ch in channels {
        check_channel(config, ch)?;
    }
    let mut used = vec![false; contacts.len()];
    let selected: Vec<usize> = config
        .contacts
        .iter()
        .enumerate()
        .filter(|(_, c)| channels.is_empty() || channels.contains(&c.channel))
        .filter(|(_, c)| {
            if contacts.is_empty() {
                return true;
            }
            let mut hit = false;
            for (i, want) in contacts.iter().enumerate() {
                if identity_matches(config, &c.identity, want) {
                    used[i] = true;
                    hit = true;
                }
            }
            hit
        })
        .map(|(i, _)| i)
        .collect();
    if let Some(i) = used.iter().position(|u| !u) {
        return Err(Error::UnknownContact(contacts[i].clone()));
    }
    let orphans = contacts.is_empty();
    let channels = config
        .channels
        .keys()
        .filter(|c| channels.is_empty() || channels.contains(c))
        .filter(|c| {
            (orphans && config.marker.is_some())
                || selected.iter().any(|&i| &config.contacts[i].channel == *c)
        })
        .cloned()
        .collect();
    Ok(Targets {
        selected,
        orphans,
        channels,
        scope: None,
        warnings: Vec::new(),
    })
}

/// Whether `want` (`field=value`, `id=ID`, or a bare value) names `identity`.
fn identity_matches(config: &Config, identity: &Identity, want: &str) -> bool {
    match identity {
        Identity::Id(id) => want == id || want.strip_prefix("id=") == Some(id.as_str()),
        Identity::Key { field, value } => {
            let ty = config.field_type(field);
            let wanted = match want.split_once('=') {
                Some((f, v)) if f == field => v,
                Some((f, _)) if config.fields.contains_key(f) || f == "id" => return false,
                _ => want,
            };
            normalize(ty, Some(wanted)) == normalize(ty, Some(value))
        }
    }
}
