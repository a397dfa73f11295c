//! A saved plan verified, not trusted: the contacts it has calls for are planned again, by the
//! same planner, from the config and what a fresh read of each found, and must come out exactly
//! as the file has them (same contacts, same calls in the same order, same values). The figures
//! that decide the safety check are computed again from the verified contacts, never read from the
//! file. Pure, as the planner.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::planner::{assemble, channel_counts};
use super::{Action, ContactPlan, Plan, PlanOptions, plan};
use crate::model::{Config, Found, Identity, LiveContact, LiveState, normalize, same_value};

/// The first contact of a saved plan that is not what the config plans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// `identity on channel`, as the file names it.
    pub contact: String,
    /// How it differs.
    pub why: MismatchReason,
}

/// How a saved plan's contact differs from what the config plans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MismatchReason {
    #[error("the config plans no call for a contact not found")]
    OrphanNotFound,
    #[error("the config has no marker, so it prunes nothing")]
    NoMarker,
    #[error("the plan was not made with --prune")]
    NotPruned,
    #[error("it does not carry the marker")]
    Unmarked,
    #[error("it is a contact of the config, not an orphan")]
    InConfig,
    #[error("it is listed twice")]
    Twice,
    #[error("it is not a contact of the config")]
    NotInConfig,
    #[error("its ID is not the contact the config names")]
    OtherId,
    #[error("its calls are not the ones the config plans")]
    Calls,
    #[error("its changes are not the ones the config plans")]
    Changes,
}

/// `saved`, if each of its contacts with calls is exactly what [`plan`] makes of the config and
/// of what a fresh read found for it (`fresh`, aligned with those contacts, the read having shown
/// their managed part unchanged since the plan was saved). The plan returned keeps the file's
/// contacts (the verified ones are equal to them) with its totals, per-channel figures and safety
/// warnings computed again: the contacts of the config found on each channel, which are not read
/// again, are counted from the file but never more than the config has there.
pub fn verify(config: &Config, saved: Plan, fresh: Vec<Found>) -> Result<Plan, Mismatch> {
    let index: HashMap<(&str, &Identity), usize> = config
        .contacts
        .iter()
        .enumerate()
        .map(|(i, d)| ((d.channel.as_str(), &d.identity), i))
        .collect();
    let mut live = LiveState::default();
    let mut seen: HashSet<usize> = HashSet::new();
    let mut seen_orphans: HashSet<(&str, &str)> = HashSet::new();
    let planned: Vec<&ContactPlan> = saved
        .contacts
        .iter()
        .filter(|c| !c.calls.is_empty())
        .collect();
    for (c, found) in planned.iter().zip(fresh) {
        let differs = |why: MismatchReason| Mismatch {
            contact: format!("{} on {}", c.identity, c.channel),
            why,
        };
        if c.action == Action::Orphan {
            let Found::Present(contact) = found else {
                return Err(differs(MismatchReason::OrphanNotFound));
            };
            if let Some(why) = not_an_orphan(config, saved.prune, &c.channel, &contact) {
                return Err(differs(why));
            }
            if !seen_orphans.insert((c.channel.as_str(), c.id.as_deref().unwrap_or_default())) {
                return Err(differs(MismatchReason::Twice));
            }
            live.orphans.push((c.channel.clone(), contact));
            continue;
        }
        let Some(&i) = index.get(&(c.channel.as_str(), &c.identity)) else {
            return Err(differs(MismatchReason::NotInConfig));
        };
        if !seen.insert(i) {
            return Err(differs(MismatchReason::Twice));
        }
        if let Found::Present(contact) = &found
            && !names(config, &c.identity, contact)
        {
            return Err(differs(MismatchReason::OtherId));
        }
        live.contacts.push((i, found));
    }

    let options = PlanOptions {
        prune: saved.prune,
        ..PlanOptions::default()
    };
    let verified = plan(config, live, options).contacts;
    if let Some((c, v)) = planned.iter().zip(&verified).find(|(c, v)| !same(c, v)) {
        let why = if c.calls != v.calls {
            MismatchReason::Calls
        } else {
            MismatchReason::Changes
        };
        return Err(Mismatch {
            contact: format!("{} on {}", c.identity, c.channel),
            why,
        });
    }
    Ok(recount(config, saved))
}

/// Why a contact the file prunes is not an orphan the config prunes (`None`: it is one): the
/// plan was made with `--prune`, the contact carries the marker, and no contact of the config
/// on its channel names it.
fn not_an_orphan(
    config: &Config,
    prune: bool,
    channel: &str,
    contact: &LiveContact,
) -> Option<MismatchReason> {
    let Some(marker) = &config.marker else {
        return Some(MismatchReason::NoMarker);
    };
    if !prune {
        return Some(MismatchReason::NotPruned);
    }
    if !same_value(
        crate::model::FieldType::Text,
        Some(&marker.value),
        contact.value(&marker.field),
    ) {
        return Some(MismatchReason::Unmarked);
    }
    let named = config
        .contacts
        .iter()
        .any(|d| d.channel == channel && names(config, &d.identity, contact));
    named.then_some(MismatchReason::InConfig)
}

/// Whether `identity` names `contact`: its ID, or its key field's value (compared by type).
fn names(config: &Config, identity: &Identity, contact: &LiveContact) -> bool {
    match identity {
        Identity::Id(id) => contact.id == *id,
        Identity::Key { field, value } => {
            let ty = config.field_type(field);
            normalize(ty, Some(value))
                .is_some_and(|v| Some(v) == normalize(ty, contact.value(field)))
        }
    }
}

/// `saved` with its totals, per-channel figures and safety warnings computed again from its
/// contacts; the contacts of the config found on a channel (from the file, not read again) and
/// those a scoped run skipped together at most the config's contacts there.
fn recount(config: &Config, saved: Plan) -> Plan {
    let mut in_config: BTreeMap<&str, usize> = BTreeMap::new();
    for d in &config.contacts {
        *in_config.entry(d.channel.as_str()).or_default() += 1;
    }
    let reads: BTreeMap<String, usize> = saved
        .channels
        .iter()
        .map(|ch| (ch.channel.clone(), ch.reads))
        .collect();
    let skipped = saved
        .scope
        .as_ref()
        .map(|s| s.skipped.clone())
        .unwrap_or_default();
    let counts = channel_counts(config, &saved.contacts, &reads, &skipped)
        .into_iter()
        .map(|mut ch| {
            let most = in_config.get(ch.channel.as_str()).copied().unwrap_or(0);
            let found = ch.existing.saturating_sub(ch.pruned).min(most);
            ch.skipped = ch.skipped.min(most - found);
            ch.existing = found + ch.pruned;
            ch
        })
        .collect();
    // the run's own warnings are kept, but orphans the plan could not look for concern this
    // apply only when it prunes: it makes exactly the saved calls, and reads no orphan itself
    let options = PlanOptions {
        prune: saved.prune,
        scope: saved.scope,
        warnings: saved
            .warnings
            .into_iter()
            .filter(|w| !w.is_safety())
            .filter(|w| saved.prune || !matches!(w, super::Warning::OrphansUnread { .. }))
            .collect(),
    };
    assemble(config, saved.contacts, counts, options)
}

/// The saved contact is the one the config plans: everything but where the config wrote it
/// (`source` names the file as the path was given, `contactctl.yaml` or `/abs/contactctl.yaml`,
/// which the plan's hash of the config does not depend on).
fn same(saved: &ContactPlan, verified: &ContactPlan) -> bool {
    let ContactPlan {
        channel,
        identity,
        id,
        action,
        fields,
        kept,
        tags_added,
        tags_removed,
        error,
        calls,
        marker_only,
        source: _,
        live,
    } = saved;
    *channel == verified.channel
        && *identity == verified.identity
        && *id == verified.id
        && *action == verified.action
        && *fields == verified.fields
        && *kept == verified.kept
        && *tags_added == verified.tags_added
        && *tags_removed == verified.tags_removed
        && *error == verified.error
        && *calls == verified.calls
        && *marker_only == verified.marker_only
        && *live == verified.live
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FieldWrite;
    use crate::plan::Call;
    use crate::plan::Warning;
    use crate::testing::{config, desired, key, live, with_marker};

    /// A marker config with `a@x.com` (renamed), `b@x.com` (new) and `c@x.com` (unchanged) on
    /// web; the platform also holds the orphan 9. Its plan (with `prune`), and what a fresh read
    /// of each contact with calls finds.
    fn setup(prune: bool) -> (Config, Plan, Vec<Found>) {
        let mut cfg = with_marker(config());
        for (email, first) in [("a@x.com", "New"), ("b@x.com", "Bea"), ("c@x.com", "Cy")] {
            cfg.contacts.push(desired(
                "web",
                key("email", email),
                &[("firstName", Some(first))],
                None,
            ));
        }
        let a = live(
            "1",
            &[
                ("email", "a@x.com"),
                ("firstName", "Old"),
                ("managed_by", "git"),
            ],
            &[],
        );
        let c = live(
            "3",
            &[
                ("email", "c@x.com"),
                ("firstName", "Cy"),
                ("managed_by", "git"),
            ],
            &[],
        );
        let orphan = live(
            "9",
            &[("email", "o@x.com"), ("managed_by", "git")],
            &["VIP"],
        );
        let state = LiveState {
            contacts: vec![
                (0, Found::Present(a.clone())),
                (1, Found::Absent),
                (2, Found::Present(c)),
            ],
            orphans: vec![("web".into(), orphan.clone())],
            reads: [("web".to_string(), 3)].into(),
            orphans_unread: Default::default(),
        };
        let options = PlanOptions {
            prune,
            ..PlanOptions::default()
        };
        let p = plan(&cfg, state, options);
        let mut fresh = vec![Found::Present(a), Found::Absent];
        if prune {
            fresh.push(Found::Present(orphan));
        }
        (cfg, p, fresh)
    }

    fn refused(cfg: &Config, p: Plan, fresh: Vec<Found>) -> Mismatch {
        verify(cfg, p, fresh).expect_err("a plan the config does not make is refused")
    }

    #[test]
    fn an_untouched_plan_verifies_as_it_is() {
        for prune in [false, true] {
            let (cfg, p, fresh) = setup(prune);
            assert_eq!(verify(&cfg, p.clone(), fresh), Ok(p));
        }
    }

    #[test]
    fn a_plan_saved_with_the_config_path_spelt_otherwise_verifies() {
        // `plan /abs/contactctl.yaml --out p.json` then `apply contactctl.yaml --plan p.json`:
        // the same config, its places named another way
        let (cfg, mut p, fresh) = setup(false);
        for c in &mut p.contacts {
            if let Some(source) = &mut c.source {
                source.file = format!("/elsewhere/{}", source.file).into();
            }
        }
        assert!(p.contacts.iter().any(|c| c.source.is_some()));
        assert!(verify(&cfg, p, fresh).is_ok());
    }

    #[test]
    fn a_value_changed_everywhere_in_the_file_is_refused() {
        let (cfg, mut p, fresh) = setup(false);
        let a = &mut p.contacts[0];
        a.fields[0].after = Some("Evil".into());
        a.calls = vec![Call::Update {
            fields: vec![FieldWrite {
                name: "firstName".into(),
                value: "Evil".into(),
            }],
        }];
        let m = refused(&cfg, p, fresh);
        assert_eq!(
            m,
            Mismatch {
                contact: "email=a@x.com on web".into(),
                why: MismatchReason::Calls,
            }
        );
        assert_eq!(
            m.why.to_string(),
            "its calls are not the ones the config plans"
        );
    }

    #[test]
    fn a_call_added_to_an_unchanged_contact_or_an_unmanaged_field_or_tag_is_refused() {
        // a call on the unchanged contact: it is read again, and the config plans none
        let (cfg, mut p, mut fresh) = setup(false);
        p.contacts[2].calls.push(Call::AddTags {
            tags: vec!["VIP".into()],
        });
        fresh.push(Found::Present(live(
            "3",
            &[
                ("email", "c@x.com"),
                ("firstName", "Cy"),
                ("managed_by", "git"),
            ],
            &[],
        )));
        let m = refused(&cfg, p, fresh);
        assert_eq!(m.contact, "email=c@x.com on web");

        // an unmanaged field in a call, an unmanaged tag in a call
        let (cfg, p, fresh) = setup(false);
        let mut field = p.clone();
        if let Call::Update { fields } = &mut field.contacts[0].calls[0] {
            fields.push(FieldWrite {
                name: "locale".into(),
                value: "xx".into(),
            });
        }
        assert_eq!(
            refused(&cfg, field, fresh.clone()).contact,
            "email=a@x.com on web"
        );
        let mut tag = p;
        tag.contacts[1].calls.push(Call::AddTags {
            tags: vec!["Unmanaged".into()],
        });
        assert_eq!(refused(&cfg, tag, fresh).contact, "email=b@x.com on web");
    }

    #[test]
    fn an_entry_the_config_does_not_plan_is_refused() {
        // a contact the config does not have
        let (cfg, mut p, mut fresh) = setup(false);
        let mut extra = p.contacts[1].clone();
        extra.identity = key("email", "z@x.com");
        p.contacts.insert(2, extra);
        fresh.push(Found::Absent);
        assert_eq!(
            refused(&cfg, p, fresh).why.to_string(),
            "it is not a contact of the config"
        );
        // a contact listed twice
        let (cfg, mut p, mut fresh) = setup(false);
        p.contacts.insert(2, p.contacts[1].clone());
        fresh.push(Found::Absent);
        assert_eq!(
            refused(&cfg, p, fresh).why.to_string(),
            "it is listed twice"
        );
        // a planned ID that is another contact than the config's key names
        let (cfg, mut p, mut fresh) = setup(false);
        p.contacts[0].id = Some("3".into());
        fresh[0] = Found::Present(live("3", &[("email", "c@x.com")], &[]));
        assert_eq!(
            refused(&cfg, p, fresh).why.to_string(),
            "its ID is not the contact the config names"
        );
    }

    #[test]
    fn only_a_marked_orphan_of_a_prune_plan_is_pruned() {
        let orphan = |fields: &[(&str, &str)]| Found::Present(live("9", fields, &["VIP"]));
        let marked = [("email", "o@x.com"), ("managed_by", "git")];
        // calls on an orphan in a plan made without --prune
        let (cfg, p, mut fresh) = setup(false);
        let (_, pruned, _) = setup(true);
        let mut p2 = p.clone();
        p2.contacts[3] = pruned.contacts[3].clone();
        fresh.push(orphan(&marked));
        assert_eq!(
            refused(&cfg, p2, fresh.clone()).why.to_string(),
            "the plan was not made with --prune"
        );
        // an orphan without the marker, or one the config names
        let (cfg, p, mut fresh) = setup(true);
        fresh[2] = orphan(&[("email", "o@x.com")]);
        assert_eq!(
            refused(&cfg, p, fresh).why.to_string(),
            "it does not carry the marker"
        );
        let (cfg, p, mut fresh) = setup(true);
        fresh[2] = orphan(&[("email", "C@X.com"), ("managed_by", "git")]);
        assert_eq!(
            refused(&cfg, p, fresh).why.to_string(),
            "it is a contact of the config, not an orphan"
        );
        // the same orphan twice
        let (cfg, mut p, mut fresh) = setup(true);
        p.contacts.push(p.contacts[3].clone());
        fresh.push(orphan(&marked));
        assert_eq!(
            refused(&cfg, p, fresh).why.to_string(),
            "it is listed twice"
        );
    }

    #[test]
    fn the_safety_check_is_computed_again_with_existing_contacts_capped_by_the_config() {
        // 12 contacts on web, 5 renamed: unsafe
        let mut cfg = with_marker(config());
        let mut state = LiveState::default();
        let mut fresh = Vec::new();
        for i in 0..12 {
            let email = format!("c{i}@x.com");
            cfg.contacts.push(desired(
                "web",
                key("email", &email),
                &[("firstName", Some("New"))],
                None,
            ));
            let first = if i < 5 { "Old" } else { "New" };
            let l = live(
                &i.to_string(),
                &[
                    ("email", &email),
                    ("firstName", first),
                    ("managed_by", "git"),
                ],
                &[],
            );
            if i < 5 {
                fresh.push(Found::Present(l.clone()));
            }
            state.contacts.push((i, Found::Present(l)));
        }
        let p = plan(&cfg, state, PlanOptions::default());
        assert!(p.is_unsafe());
        // The file says the channel is safe, without the warning, and claims 100 more
        // unchanged contacts of its own making.
        let mut tampered = p.clone();
        tampered.channels[0].unsafe_change = false;
        tampered.channels[0].existing = 1000;
        let base = Warning::InvalidBase {
            flag: "--changed-since".into(),
            base: "origin/main".into(),
            problems: 2,
            first: None,
        };
        tampered.warnings = vec![base.clone()];
        let unchanged = tampered.contacts[11].clone();
        for i in 0..100 {
            let mut extra = unchanged.clone();
            extra.identity = key("email", &format!("fake{i}@x.com"));
            tampered.contacts.push(extra);
        }
        let verified = verify(&cfg, tampered.clone(), fresh.clone()).unwrap();
        assert!(verified.is_unsafe());
        assert_eq!(verified.channels[0].existing, 12, "capped by the config");
        // the run's own warnings are kept, the safety warnings are the check's
        assert_eq!(verified.warnings, [base.clone(), p.warnings[0].clone()]);

        // orphans the plan could not look for concern the apply of it only when it prunes
        let unread = Warning::OrphansUnread {
            channel: "web".into(),
            reason: "outcome unknown: 502".into(),
        };
        tampered.warnings = vec![base.clone(), unread.clone()];
        let verified = verify(&cfg, tampered.clone(), fresh.clone()).unwrap();
        assert!(!verified.is_incomplete(), "{:?}", verified.warnings);
        tampered.prune = true;
        let verified = verify(&cfg, tampered, fresh).unwrap();
        assert!(verified.is_incomplete());
        assert!(verified.warnings.contains(&unread));
    }
}
