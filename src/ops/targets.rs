//! Which contacts a run works on: all of the config, or those of some channels and matching some
//! identities (`--channel`, `--contact`).

use anyhow::bail;

use crate::model::{Config, Identity, normalize};

/// The contacts to plan: all, or those of `channels` and matching one of `contacts`.
pub fn select(
    config: &Config,
    channels: &[String],
    contacts: &[String],
) -> anyhow::Result<Vec<usize>> {
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
        bail!(
            "--contact {}: no contact in the config has that identity",
            contacts[i]
        );
    }
    Ok(selected)
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
