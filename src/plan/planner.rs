//! The planning algorithm: desired × live → per-contact changes, the exact calls apply will make,
//! totals and the safety check. Pure (no IO, async or clock); it never reads the platform and
//! never renders anything.
//!
//! Call order, fixed so plans are reproducible and reviewable:
//! - **Update**: the changed fields the contact declares, in name order, then the marker; written
//!   in `Update` calls of at most [`MAX_FIELDS_PER_CALL`] (a cleared field is written as `""`),
//!   then `AddTags` calls, then `RemoveTags` calls, tags sorted, at most [`MAX_TAGS_PER_CALL`] each.
//! - **Create**: the key field first, then the marker (so the first call already makes the contact
//!   findable by the bulk read), then the `write: create` fields, then the other non-empty fields,
//!   each group in name order; the first [`MAX_FIELDS_PER_CALL`] go in the `Create` call, the rest
//!   in `Update` calls, then `AddTags`.
//! - **Pruned orphan**: `RemoveTags` first, then `Update` clearing the marker last, so an
//!   interrupted prune leaves the marker and the next plan finds the orphan again.
//!
//! Write modes (SPEC "Who owns a value"): on an existing contact a `create` field is never
//! written and an `if_empty` field only while the platform's value is empty; a platform value
//! they leave that differs from the repo's is `kept` (listed, no call, not a change). A tag with
//! `write: add` is never removed. A change of a protected field's non-empty value is marked.

use std::collections::{BTreeMap, BTreeSet};

use super::estimate::estimated_seconds;
use super::protect::{self, is_protected};
use super::{
    Action, Call, ChannelSummary, ContactError, ContactPlan, FieldChange, Kept, Plan, PlanOptions,
    Summary, Warning,
};
pub use crate::model::managed_part;
use crate::model::{
    CompactString, Config, DesiredContact, FieldType, FieldWrite, Found, Identity, LiveContact,
    LiveState, MAX_FIELDS_PER_CALL, MAX_TAGS_PER_CALL, TagWrite, WriteMode, same_value,
};

/// Decide what apply must do so the platform matches `config` for the contacts in `live`.
///
/// Contacts come out in the order of `live.contacts` (config order when the reader keeps it), then
/// the orphans sorted by channel and ID. An index in `live.contacts` that is not in
/// `config.contacts` is skipped: the reader and the planner disagree about the config, and there
/// is no desired contact to plan.
pub fn plan(config: &Config, live: LiveState, options: PlanOptions) -> Plan {
    // The live contacts move into the plan (each keeps its managed part for a saved plan's
    // staleness check) rather than being copied: at 100,000 contacts a copy is ~100 MB.
    let LiveState {
        contacts: found,
        mut orphans,
        reads,
        orphans_unread,
    } = live;
    let mut contacts: Vec<ContactPlan> = Vec::with_capacity(found.len() + orphans.len());
    contacts.extend(found.into_iter().filter_map(|(index, found)| {
        config
            .contacts
            .get(index)
            .map(|desired| plan_desired(config, desired, found))
    }));

    orphans.sort_by(|a, b| (&a.0, &a.1.id).cmp(&(&b.0, &b.1.id)));
    contacts.extend(
        orphans
            .into_iter()
            .map(|(channel, contact)| plan_orphan(config, &channel, contact, options.prune)),
    );

    let skipped = options
        .scope
        .as_ref()
        .map(|s| s.skipped.clone())
        .unwrap_or_default();
    let counts = channel_counts(config, &contacts, &reads, &skipped);
    let mut options = options;
    options.warnings.extend(
        orphans_unread
            .into_iter()
            .map(|(channel, reason)| Warning::OrphansUnread { channel, reason }),
    );
    assemble(config, contacts, counts, options)
}

/// The plan of `contacts`, whose per-channel counts are `counts`: each channel judged (time,
/// safety check), the totals, and the run's warnings followed by the safety warnings.
pub(super) fn assemble(
    config: &Config,
    contacts: Vec<ContactPlan>,
    counts: Vec<ChannelSummary>,
    options: PlanOptions,
) -> Plan {
    let channels: Vec<ChannelSummary> = counts.into_iter().map(|ch| judged(config, ch)).collect();
    let mut summary = summarize(&contacts);
    summary.reads = channels.iter().map(|c| c.reads).sum();
    summary.skipped = channels.iter().map(|c| c.skipped).sum();
    summary.estimated_seconds = estimated_run_seconds(config, &channels);
    let mut warnings = options.warnings;
    warnings.extend(
        channels
            .iter()
            .filter(|c| c.unsafe_change)
            .map(|c| safety_warning(config, c)),
    );
    warnings.extend(protect::warning(&contacts));
    Plan {
        contacts,
        summary,
        channels,
        warnings,
        prune: options.prune,
        scope: options.scope,
    }
}

/// A contact plan with nothing in it yet but who it is.
fn blank(desired: &DesiredContact, action: Action) -> ContactPlan {
    ContactPlan {
        channel: desired.channel.clone(),
        identity: desired.identity.clone(),
        id: None,
        action,
        fields: Vec::new(),
        kept: Vec::new(),
        tags_added: Vec::new(),
        tags_removed: Vec::new(),
        error: None,
        calls: Vec::new(),
        marker_only: false,
        source: Some(desired.source.clone()),
        live: None,
    }
}

fn plan_desired(config: &Config, desired: &DesiredContact, found: Found) -> ContactPlan {
    match found {
        Found::Present(live) => plan_present(config, desired, live),
        Found::Absent => plan_absent(config, desired),
        Found::Ambiguous { ids, total } => errored(desired, ContactError::Ambiguous { ids, total }),
        Found::Failed(failure) => errored(desired, ContactError::Read(failure)),
    }
}

fn errored(desired: &DesiredContact, error: ContactError) -> ContactPlan {
    ContactPlan {
        error: Some(error),
        ..blank(desired, Action::Error)
    }
}

/// The desired value with `""` folded to `None`, so "clear" has one spelling.
fn wanted(value: &Option<CompactString>) -> Option<&str> {
    value.as_deref().filter(|v| !v.is_empty())
}

/// The fields the desired contact declares, without the marker field (the marker wins: it is
/// written as if every contact declared it).
fn declared_fields<'a>(
    config: &'a Config,
    desired: &'a DesiredContact,
) -> impl Iterator<Item = (&'a str, Option<&'a str>)> + 'a {
    let marker_field = config.marker.as_ref().map(|m| m.field.as_str());
    desired
        .fields
        .iter()
        .filter(move |(name, _)| Some(name.as_str()) != marker_field)
        .map(|(name, value)| (name.as_str(), wanted(value)))
}

fn plan_present(config: &Config, desired: &DesiredContact, live: LiveContact) -> ContactPlan {
    let mut fields: Vec<FieldChange> = Vec::new();
    let mut kept: Vec<Kept> = Vec::new();
    for (name, want) in declared_fields(config, desired) {
        let have = live.value(name);
        if same_value(config.field_type(name), want, have) {
            continue;
        }
        match config.field_mode(name) {
            WriteMode::Sync => {}
            // The platform holds no value (and the repo one, or they would be the same): filled.
            WriteMode::IfEmpty if have.is_none() => {}
            WriteMode::Create | WriteMode::IfEmpty => {
                kept.push(Kept {
                    name: name.to_string(),
                    platform: have.map(str::to_string),
                    repo: want.map(str::to_string),
                });
                continue;
            }
        }
        fields.push(field_change(config, name, have, want));
    }

    let mut marker_written = false;
    if let Some(marker) = &config.marker {
        let current = live.value(&marker.field);
        if !same_value(FieldType::Text, Some(&marker.value), current) {
            marker_written = true;
            fields.push(field_change(
                config,
                &marker.field,
                current,
                Some(&marker.value),
            ));
        }
    }

    let (tags_added, tags_removed) = match &desired.tags {
        None => (Vec::new(), Vec::new()),
        Some(want) => {
            let have: BTreeSet<&String> = live.tags.iter().collect();
            let added = want.iter().filter(|t| !have.contains(t)).cloned().collect();
            let removed = have
                .into_iter()
                .filter(|t| {
                    config.tags.contains(*t)
                        && !want.contains(*t)
                        && config.tag_mode(t) == TagWrite::Sync
                })
                .cloned()
                .collect();
            (added, removed)
        }
    };

    let changed = !fields.is_empty() || !tags_added.is_empty() || !tags_removed.is_empty();
    let marker_only =
        marker_written && fields.len() == 1 && tags_added.is_empty() && tags_removed.is_empty();

    let mut calls = update_calls(&fields);
    calls.extend(tag_calls(&tags_added, |tags| Call::AddTags { tags }));
    calls.extend(tag_calls(&tags_removed, |tags| Call::RemoveTags { tags }));

    ContactPlan {
        id: Some(live.id.clone()),
        fields,
        kept,
        tags_added,
        tags_removed,
        calls,
        marker_only,
        live: Some(managed_part(config, live)),
        ..blank(
            desired,
            if changed {
                Action::Update
            } else {
                Action::Unchanged
            },
        )
    }
}

fn plan_absent(config: &Config, desired: &DesiredContact) -> ContactPlan {
    let (key_field, key_value) = match &desired.identity {
        Identity::Key { field, value } => (field, value),
        Identity::Id(id) => {
            return errored(desired, ContactError::NoSuchId { id: id.clone() });
        }
    };

    // Key first, then the marker, then the rest; a name already written is not written twice.
    let mut candidates: Vec<(&str, &str)> = vec![(key_field.as_str(), key_value.as_str())];
    if let Some(marker) = &config.marker {
        candidates.push((&marker.field, &marker.value));
    }
    // Nothing to clear on a new contact: cleared fields are skipped. The `write: create` fields
    // come first, so that they go in the create call itself whenever it has room.
    let mut rest: Vec<(&str, &str)> = declared_fields(config, desired)
        .filter_map(|(name, want)| want.map(|value| (name, value)))
        .collect();
    rest.sort_by_key(|(name, _)| config.field_mode(name) != WriteMode::Create);
    candidates.extend(rest);
    let mut seen = BTreeSet::new();
    let fields: Vec<FieldChange> = candidates
        .into_iter()
        .filter(|(name, _)| seen.insert(*name))
        .map(|(name, value)| FieldChange {
            name: name.to_string(),
            before: None,
            after: Some(value.to_string()),
            protected: false,
        })
        .collect();

    let writes = field_writes(&fields);
    let mut chunks = writes.chunks(MAX_FIELDS_PER_CALL);
    let mut calls: Vec<Call> = chunks
        .next()
        .map(|first| Call::Create {
            fields: first.to_vec(),
        })
        .into_iter()
        .collect();
    calls.extend(chunks.map(|rest| Call::Update {
        fields: rest.to_vec(),
    }));

    let tags_added: Vec<String> = desired
        .tags
        .iter()
        .flatten()
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    calls.extend(tag_calls(&tags_added, |tags| Call::AddTags { tags }));

    ContactPlan {
        fields,
        tags_added,
        calls,
        ..blank(desired, Action::Create)
    }
}

fn plan_orphan(config: &Config, channel: &str, live: LiveContact, prune: bool) -> ContactPlan {
    let identity = config
        .default_key
        .as_ref()
        .and_then(|key| {
            live.value(key).map(|value| Identity::Key {
                field: key.clone(),
                value: value.to_string(),
            })
        })
        .unwrap_or_else(|| Identity::Id(live.id.clone()));
    let managed = managed_part(config, live);

    let mut fields = Vec::new();
    let mut tags_removed = Vec::new();
    let mut calls = Vec::new();
    if prune {
        // A `write: add` tag is never removed, not even from an orphan.
        tags_removed = managed
            .tags
            .iter()
            .filter(|t| config.tag_mode(t) == TagWrite::Sync)
            .cloned()
            .collect();
        if let Some(marker) = &config.marker
            && let Some(current) = managed.value(&marker.field)
        {
            fields.push(field_change(config, &marker.field, Some(current), None));
        }
        calls.extend(tag_calls(&tags_removed, |tags| Call::RemoveTags { tags }));
        calls.extend(update_calls(&fields));
    }

    ContactPlan {
        channel: channel.to_string(),
        identity,
        id: Some(managed.id.clone()),
        action: Action::Orphan,
        fields,
        kept: Vec::new(),
        tags_added: Vec::new(),
        tags_removed,
        error: None,
        calls,
        marker_only: false,
        source: None,
        live: Some(managed),
    }
}

/// The change of `name` on an existing contact from `before` (the platform's value) to `after`,
/// marked protected when it is.
fn field_change(
    config: &Config,
    name: &str,
    before: Option<&str>,
    after: Option<&str>,
) -> FieldChange {
    FieldChange {
        name: name.to_string(),
        before: before.map(str::to_string),
        after: after.map(str::to_string),
        protected: is_protected(config, name, before, after),
    }
}

/// The wire form of field changes: a cleared field is written as `""`.
fn field_writes(fields: &[FieldChange]) -> Vec<FieldWrite> {
    fields
        .iter()
        .map(|f| FieldWrite {
            name: f.name.clone(),
            value: f.after.clone().unwrap_or_default(),
        })
        .collect()
}

fn update_calls(fields: &[FieldChange]) -> Vec<Call> {
    field_writes(fields)
        .chunks(MAX_FIELDS_PER_CALL)
        .map(|chunk| Call::Update {
            fields: chunk.to_vec(),
        })
        .collect()
}

fn tag_calls(tags: &[String], make: impl Fn(Vec<String>) -> Call) -> Vec<Call> {
    tags.chunks(MAX_TAGS_PER_CALL)
        .map(|chunk| make(chunk.to_vec()))
        .collect()
}

fn summarize(contacts: &[ContactPlan]) -> Summary {
    let mut s = Summary::default();
    for c in contacts {
        match c.action {
            Action::Create => s.create += 1,
            Action::Update => s.update += 1,
            Action::Unchanged => s.unchanged += 1,
            Action::Orphan => s.orphans += 1,
            Action::Error => s.errors += 1,
        }
        s.tags_added += c.tags_added.len();
        s.tags_removed += c.tags_removed.len();
        s.api_calls += c.calls.len();
        s.kept += c.kept.len();
    }
    s
}

/// Per channel: those with planned contacts, reads or skipped contacts, in name order; the
/// counts alone (see [`judged`]).
pub(super) fn channel_counts(
    config: &Config,
    contacts: &[ContactPlan],
    reads: &BTreeMap<String, usize>,
    skipped: &BTreeMap<String, usize>,
) -> Vec<ChannelSummary> {
    let mut by_channel: BTreeMap<&str, ChannelSummary> = BTreeMap::new();
    let names = contacts
        .iter()
        .map(|c| c.channel.as_str())
        .chain(
            reads
                .iter()
                .filter(|(_, n)| **n > 0)
                .map(|(c, _)| c.as_str()),
        )
        .chain(
            skipped
                .iter()
                .filter(|(_, n)| **n > 0)
                .map(|(c, _)| c.as_str()),
        );
    for name in names {
        by_channel.entry(name).or_insert_with(|| ChannelSummary {
            channel: name.to_string(),
            api_calls: 0,
            reads: reads.get(name).copied().unwrap_or(0),
            skipped: skipped.get(name).copied().unwrap_or(0),
            rate_limit: config.rate_limit(name),
            estimated_seconds: 0,
            existing: 0,
            pruned: 0,
            changing: 0,
            unsafe_change: false,
        });
    }
    for c in contacts {
        let Some(entry) = by_channel.get_mut(c.channel.as_str()) else {
            continue;
        };
        entry.api_calls += c.calls.len();
        match c.action {
            Action::Update => {
                entry.existing += 1;
                if !c.marker_only {
                    entry.changing += 1;
                }
            }
            Action::Unchanged => entry.existing += 1,
            // A pruned orphan is an existing managed contact, and it changes.
            Action::Orphan if !c.calls.is_empty() => {
                entry.existing += 1;
                entry.pruned += 1;
                entry.changing += 1;
            }
            Action::Orphan | Action::Create | Action::Error => {}
        }
    }
    by_channel.into_values().collect()
}

/// `ch` with its time at its rate limit and its safety check.
pub(super) fn judged(config: &Config, mut ch: ChannelSummary) -> ChannelSummary {
    ch.estimated_seconds = estimated_seconds(ch.reads + ch.api_calls, ch.rate_limit);
    // Contacts a scoped run skipped exist unchanged (BASE was applied): they count
    // toward the contacts a change is a share of, as in a full run.
    let existing = ch.existing + ch.skipped;
    ch.unsafe_change = prunes_a_lost_config(&ch)
        || existing >= config.safety.min_existing
            && (ch.changing as f64) * 100.0 > config.safety.max_change_percent * (existing as f64);
    ch
}

/// Seconds the whole run takes: channels go in parallel, except that channels on one host with
/// one token share that token's rate limit, the lowest any of the config's channels there sets
/// (as the session's limiters do), so their calls queue together.
fn estimated_run_seconds(config: &Config, channels: &[ChannelSummary]) -> u64 {
    config
        .limit_groups()
        .into_iter()
        .map(|group| {
            let calls: usize = channels
                .iter()
                .filter(|ch| group.channels.contains(&ch.channel))
                .map(|ch| ch.reads + ch.api_calls)
                .sum();
            estimated_seconds(calls, group.rate_limit)
        })
        .max()
        .unwrap_or(0)
}

/// The run prunes contacts on a channel where no contact of the config was found (none read
/// present, none skipped as presumed present): the config most likely lost its contacts file,
/// and every managed contact there would be pruned. Unsafe whatever the percentages.
fn prunes_a_lost_config(ch: &ChannelSummary) -> bool {
    ch.pruned > 0 && ch.existing == ch.pruned && ch.skipped == 0
}

fn safety_warning(config: &Config, ch: &ChannelSummary) -> Warning {
    if prunes_a_lost_config(ch) {
        return Warning::PrunesLostConfig {
            channel: ch.channel.clone(),
            pruned: ch.pruned,
        };
    }
    Warning::TooManyChanges {
        channel: ch.channel.clone(),
        changing: ch.changing,
        existing: ch.existing + ch.skipped,
        max_percent: config.safety.max_change_percent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ReadFailure, Safety};
    use crate::plan::RunScope;
    use crate::plan::protected_changes;
    use crate::testing::{self, config, live, live_opt, with_marker};

    // ---- builders (the shared ones are in crate::testing) ----------------------------------

    /// The plan's warnings in words, as every renderer says them.
    fn words(warnings: &[Warning]) -> Vec<String> {
        crate::render::problems::warnings(warnings)
    }

    /// Why a contact cannot be planned, in words, as every renderer says it.
    fn contact_error(c: &ContactPlan) -> Option<String> {
        crate::render::problems::contact_error(c)
    }

    fn key(email: &str) -> Identity {
        testing::key("email", email)
    }

    /// A desired contact on `web` keyed by email.
    fn desired(
        email: &str,
        fields: &[(&str, Option<&str>)],
        tags: Option<&[&str]>,
    ) -> DesiredContact {
        testing::desired("web", key(email), fields, tags)
    }

    /// Plan one desired contact against what was found.
    fn plan_one(config: &Config, d: DesiredContact, found: Found) -> ContactPlan {
        let mut config = config.clone();
        config.contacts = vec![d];
        let state = LiveState {
            contacts: vec![(0, found)],
            orphans: Vec::new(),
            ..Default::default()
        };
        let mut p = plan(&config, state, PlanOptions::default());
        assert_eq!(p.contacts.len(), 1);
        p.contacts.remove(0)
    }

    fn change(name: &str, before: Option<&str>, after: Option<&str>) -> FieldChange {
        FieldChange {
            name: name.into(),
            before: before.map(str::to_string),
            after: after.map(str::to_string),
            protected: false,
        }
    }

    fn writes(pairs: &[(&str, &str)]) -> Vec<FieldWrite> {
        pairs
            .iter()
            .map(|(n, v)| FieldWrite {
                name: n.to_string(),
                value: v.to_string(),
            })
            .collect()
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    // ---- field comparison -----------------------------------------------------------------

    #[test]
    fn field_comparison_follows_the_declared_type() {
        // (field, desired, live value, expected to differ)
        let cases: &[(&str, Option<&str>, Option<&str>, bool)] = &[
            ("customerid", Some("7"), Some("7"), false),
            ("customerid", Some("7"), Some("7.0"), false),
            ("customerid", Some("7"), Some("8"), true),
            ("vip", Some("true"), Some("TRUE"), false),
            ("vip", Some("TRUE"), Some("false"), true),
            (
                "email",
                Some("juan@example.com"),
                Some("JUAN@Example.com"),
                false,
            ),
            (
                "phone",
                Some("+34600111222"),
                Some("+34 600-111-222"),
                false,
            ),
            (
                "phone",
                Some("+34 (600) 111.222"),
                Some("+34600111222"),
                false,
            ),
            ("phone", Some("+34600111222"), Some("34600111222"), true),
            ("firstName", Some("Ana"), Some("ana"), true),
            ("firstName", Some("Ana"), Some("Ana"), false),
            ("firstName", Some("Ana"), None, true),
        ];
        for &(field, want, have, differs) in cases {
            let cfg = config();
            let d = desired("juan@example.com", &[(field, want)], None);
            let mut l = live_opt("1", &[("email", Some("juan@example.com"))], &[]);
            if field == "email" {
                l.fields.insert("email", have.map(Into::into));
            } else if let Some(h) = have {
                l.fields.insert(field, Some(h.into()));
            }
            let p = plan_one(&cfg, d, Found::Present(l));
            let changed: Vec<&str> = p.fields.iter().map(|f| f.name.as_str()).collect();
            if differs {
                assert_eq!(changed, [field], "{field}: {want:?} vs {have:?}");
                assert_eq!(p.action, Action::Update);
            } else {
                assert!(
                    changed.is_empty(),
                    "{field}: {want:?} vs {have:?} -> {changed:?}"
                );
                assert_eq!(p.action, Action::Unchanged);
                assert!(p.calls.is_empty());
            }
        }
    }

    #[test]
    fn missing_null_and_empty_live_values_are_all_empty() {
        // Desired: clear `lastName`. Live: missing, null, "" — never a change; "Dar" — a change.
        let cases: &[(Option<Option<&str>>, bool)] = &[
            (None, false),
            (Some(None), false),
            (Some(Some("")), false),
            (Some(Some("Dar")), true),
        ];
        for &(have, differs) in cases {
            let d = desired("a@x.com", &[("lastName", None)], None);
            let mut l = live_opt("1", &[("email", Some("a@x.com"))], &[]);
            if let Some(v) = have {
                l.fields.insert("lastName", v.map(Into::into));
            }
            let p = plan_one(&config(), d, Found::Present(l));
            assert_eq!(!p.fields.is_empty(), differs, "live lastName {have:?}");
        }
    }

    #[test]
    fn a_null_field_is_cleared_with_an_empty_string() {
        let d = desired("a@x.com", &[("lastName", None)], None);
        let l = live_opt(
            "1",
            &[("email", Some("a@x.com")), ("lastName", Some("Dar"))],
            &[],
        );
        let p = plan_one(&config(), d, Found::Present(l));
        assert_eq!(p.fields, [change("lastName", Some("Dar"), None)]);
        assert_eq!(
            p.calls,
            [Call::Update {
                fields: writes(&[("lastName", "")])
            }]
        );
    }

    #[test]
    fn before_is_the_value_as_the_api_holds_it() {
        let d = desired("a@x.com", &[("customerid", Some("8"))], None);
        let l = live_opt(
            "1",
            &[("email", Some("a@x.com")), ("customerid", Some("007"))],
            &[],
        );
        let p = plan_one(&config(), d, Found::Present(l));
        assert_eq!(p.fields, [change("customerid", Some("007"), Some("8"))]);
    }

    #[test]
    fn fields_the_contact_does_not_write_are_left_alone() {
        let d = desired("a@x.com", &[("firstName", Some("Ana"))], None);
        let l = live_opt(
            "1",
            &[
                ("email", Some("a@x.com")),
                ("firstName", Some("Ana")),
                ("lastName", Some("Anything")),
                ("locale", Some("en_GB")),
            ],
            &[],
        );
        let p = plan_one(&config(), d, Found::Present(l));
        assert_eq!(p.action, Action::Unchanged);
        assert!(p.fields.is_empty());
    }

    // ---- write modes -----------------------------------------------------------------------

    /// The platform's state of one field in the write-mode table.
    #[derive(Debug, Clone, Copy)]
    enum State {
        /// The contact does not exist: created.
        Absent,
        /// Exists, the field missing (or null, or "").
        Empty,
        /// Exists, holding the repo's value (in another spelling of the same value).
        Equal,
        /// Exists, holding another value.
        Different,
    }

    /// What the plan does with the field.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Does {
        /// Nothing: no call, not kept.
        Nothing,
        /// Writes it (in the create call, or an update).
        Writes,
        /// Leaves the platform's value and lists it as kept.
        Keeps,
    }

    /// `phone` (a phone field, so "equal" can be spelled otherwise) in `mode`, desired `want`,
    /// against the platform in `state`.
    fn plan_mode(mode: WriteMode, want: Option<&str>, state: State) -> ContactPlan {
        let mut cfg = config();
        if mode != WriteMode::Sync {
            cfg.field_modes.insert("phone".into(), mode);
        }
        let d = desired("a@x.com", &[("phone", want)], None);
        let have = match state {
            State::Absent => return plan_one(&cfg, d, Found::Absent),
            State::Empty => None,
            State::Equal => Some("+34 600 111 222"),
            State::Different => Some("+34600999999"),
        };
        let mut l = live_opt("1", &[("email", Some("a@x.com"))], &[]);
        l.fields.insert("phone", have.map(Into::into));
        plan_one(&cfg, d, Found::Present(l))
    }

    #[test]
    fn every_write_mode_against_every_platform_state() {
        use Does::*;
        use State::*;
        use WriteMode::*;
        let value = Some("+34600111222");
        // (mode, desired value, platform, what the plan does with the field)
        let cases: &[(WriteMode, Option<&str>, State, Does)] = &[
            (Sync, value, Absent, Writes),
            (Sync, value, Empty, Writes),
            (Sync, value, Equal, Nothing),
            (Sync, value, Different, Writes),
            (Sync, None, Absent, Nothing),
            (Sync, None, Empty, Nothing),
            (Sync, None, Different, Writes), // cleared
            (Create, value, Absent, Writes),
            (Create, value, Empty, Keeps),
            (Create, value, Equal, Nothing),
            (Create, value, Different, Keeps),
            (Create, None, Absent, Nothing),
            (Create, None, Empty, Nothing),
            (Create, None, Different, Keeps), // a null writes nothing
            (IfEmpty, value, Absent, Writes),
            (IfEmpty, value, Empty, Writes),
            (IfEmpty, value, Equal, Nothing),
            (IfEmpty, value, Different, Keeps),
            (IfEmpty, None, Absent, Nothing),
            (IfEmpty, None, Empty, Nothing),
            (IfEmpty, None, Different, Keeps), // a null writes nothing
        ];
        for &(mode, want, state, does) in cases {
            let what = format!("{mode:?} {want:?} on {state:?}");
            let p = plan_mode(mode, want, state);
            let written: Vec<&FieldWrite> = p
                .calls
                .iter()
                .flat_map(|c| match c {
                    Call::Create { fields } | Call::Update { fields } => fields.iter(),
                    _ => [].iter(),
                })
                .filter(|w| w.name == "phone")
                .collect();
            let kept: Vec<&str> = p.kept.iter().map(|k| k.name.as_str()).collect();
            match does {
                Writes => {
                    assert_eq!(written.len(), 1, "{what}");
                    assert_eq!(written[0].value, want.unwrap_or_default(), "{what}");
                    assert!(kept.is_empty(), "{what}");
                }
                Nothing | Keeps => {
                    assert!(written.is_empty(), "{what}: {:?}", p.calls);
                    assert!(!p.fields.iter().any(|f| f.name == "phone"), "{what}");
                    assert_eq!(
                        kept,
                        if does == Keeps { vec!["phone"] } else { vec![] },
                        "{what}"
                    );
                }
            }
            if !matches!(state, Absent) && does != Writes {
                assert_eq!(p.action, Action::Unchanged, "{what}: kept is not a change");
                assert!(p.calls.is_empty(), "{what}");
            }
        }
    }

    #[test]
    fn a_kept_value_names_the_platform_s_value_and_the_repo_s() {
        let p = plan_mode(WriteMode::IfEmpty, Some("+34600111222"), State::Different);
        assert_eq!(
            p.kept,
            [Kept {
                name: "phone".into(),
                platform: Some("+34600999999".into()),
                repo: Some("+34600111222".into()),
            }]
        );
        let p = plan_mode(WriteMode::Create, None, State::Different);
        assert_eq!(p.kept[0].repo, None);
        let p = plan_mode(WriteMode::Create, Some("+34600111222"), State::Empty);
        assert_eq!(p.kept[0].platform, None);
    }

    #[test]
    fn kept_values_are_counted_and_are_not_changes() {
        let mut cfg = config();
        cfg.field_modes
            .insert("firstName".into(), WriteMode::Create);
        cfg.field_modes
            .insert("lastName".into(), WriteMode::IfEmpty);
        cfg.contacts = vec![
            desired(
                "a@x.com",
                &[("firstName", Some("Ann")), ("lastName", Some("Lee"))],
                None,
            ),
            desired(
                "b@x.com",
                &[("firstName", Some("Bo")), ("vip", Some("TRUE"))],
                None,
            ),
        ];
        let state = LiveState {
            contacts: vec![
                (
                    0,
                    Found::Present(live(
                        "1",
                        &[
                            ("email", "a@x.com"),
                            ("firstName", "Anne"),
                            ("lastName", "Li"),
                        ],
                        &[],
                    )),
                ),
                (
                    1,
                    Found::Present(live(
                        "2",
                        &[("email", "b@x.com"), ("firstName", "Bob")],
                        &[],
                    )),
                ),
            ],
            ..Default::default()
        };
        let p = plan(&cfg, state, PlanOptions::default());
        assert_eq!(p.summary.kept, 3);
        assert_eq!((p.summary.unchanged, p.summary.update), (1, 1));
        assert_eq!(p.summary.api_calls, 1, "only b's vip");
        assert_eq!(
            p.contacts[1].calls,
            [Call::Update {
                fields: writes(&[("vip", "TRUE")])
            }]
        );
        assert!(p.has_changes());
        assert_eq!(
            p.channels[0].changing, 1,
            "a kept-only contact does not count for safety"
        );
    }

    #[test]
    fn a_create_puts_create_fields_in_the_create_call() {
        let mut cfg = config();
        let fields = many_fields(&mut cfg, 34);
        cfg.field_modes.insert("f33".into(), WriteMode::Create);
        let refs: Vec<(&str, Option<&str>)> = fields
            .iter()
            .map(|(n, v)| (n.as_str(), Some(v.as_str())))
            .collect();
        let p = plan_one(&cfg, desired("new@x.com", &refs, None), Found::Absent);
        let Call::Create { fields: first } = &p.calls[0] else {
            panic!("{:?}", p.calls)
        };
        assert_eq!(first[0].name, "email");
        assert_eq!(first[1].name, "f33", "the create field right after the key");
        assert!(
            matches!(&p.calls[1], Call::Update { fields } if fields.iter().all(|f| f.name != "f33"))
        );
    }

    #[test]
    fn an_add_tag_is_added_where_listed_and_never_removed() {
        let mut cfg = with_marker(config());
        cfg.tag_modes.insert("VIP".into(), TagWrite::Add);
        // (desired tags, live tags, added, removed)
        type Case<'a> = (
            Option<&'a [&'a str]>,
            &'a [&'a str],
            &'a [&'a str],
            &'a [&'a str],
        );
        let cases: &[Case] = &[
            (Some(&["VIP"]), &[], &["VIP"], &[]),
            (Some(&["VIP"]), &["VIP"], &[], &[]),
            (Some(&["Blog Updates"]), &["VIP"], &["Blog Updates"], &[]),
            (Some(&[]), &["VIP", "Blog Updates"], &[], &["Blog Updates"]),
            (None, &["VIP"], &[], &[]),
        ];
        for &(want, have, added, removed) in cases {
            let d = desired("a@x.com", &[], want);
            let l = live_opt(
                "1",
                &[("email", Some("a@x.com")), ("managed_by", Some("git"))],
                have,
            );
            let p = plan_one(&cfg, d, Found::Present(l));
            assert_eq!(p.tags_added, strings(added), "{want:?} vs {have:?}");
            assert_eq!(p.tags_removed, strings(removed), "{want:?} vs {have:?}");
        }
        // nor by --prune
        let state = LiveState {
            orphans: vec![(
                "web".into(),
                live_opt(
                    "9",
                    &[("managed_by", Some("git"))],
                    &["VIP", "Blog Updates"],
                ),
            )],
            ..Default::default()
        };
        let options = PlanOptions {
            prune: true,
            ..PlanOptions::default()
        };
        let p = plan(&cfg, state, options);
        assert_eq!(p.contacts[0].tags_removed, strings(&["Blog Updates"]));
        assert!(
            !p.contacts[0].calls.iter().any(
                |c| matches!(c, Call::RemoveTags { tags } if tags.contains(&"VIP".to_string()))
            )
        );
    }

    #[test]
    fn a_change_of_a_protected_non_empty_value_is_marked_and_warned() {
        let mut cfg = config();
        cfg.safety.protected_fields = ["phone".to_string()].into();
        // (desired, platform, protected)
        let cases: &[(Option<&str>, State, bool)] = &[
            (Some("+34600111222"), State::Different, true),
            (None, State::Different, true),               // a clear
            (Some("+34600111222"), State::Empty, false),  // filling an empty value
            (Some("+34600111222"), State::Absent, false), // a create
        ];
        for &(want, state, protected) in cases {
            let d = desired("a@x.com", &[("phone", want)], None);
            let found = match state {
                State::Absent => Found::Absent,
                State::Empty => Found::Present(live_opt("1", &[("email", Some("a@x.com"))], &[])),
                _ => Found::Present(live_opt(
                    "1",
                    &[("email", Some("a@x.com")), ("phone", Some("+34600999999"))],
                    &[],
                )),
            };
            let mut one = cfg.clone();
            one.contacts = vec![d];
            let p = plan(
                &one,
                LiveState {
                    contacts: vec![(0, found)],
                    ..Default::default()
                },
                PlanOptions::default(),
            );
            let c = &p.contacts[0];
            let phone = c.fields.iter().find(|f| f.name == "phone").unwrap();
            assert_eq!(phone.protected, protected, "{want:?} on {state:?}");
            let found: Vec<String> = protected_changes(&one, &p)
                .iter()
                .map(ToString::to_string)
                .collect();
            if protected {
                assert_eq!(found, ["phone of email=a@x.com on web"]);
                assert_eq!(
                    words(&p.warnings),
                    [
                        "protected fields (safety.protected_fields) would change on 1 contact: \
                      phone of email=a@x.com on web; apply refuses without --force"
                    ]
                );
            } else {
                assert!(found.is_empty() && p.warnings.is_empty(), "{found:?}");
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 300, ..Default::default() })]

        /// Whatever the modes, values and platform, a kept field is never written, and a field
        /// is written only if it is not kept.
        #[test]
        fn kept_values_never_make_a_call(
            modes in proptest::collection::vec(0u8..3, 3),
            wants in proptest::collection::vec(proptest::option::of(0u8..3), 3),
            haves in proptest::collection::vec(proptest::option::of(proptest::option::of(0u8..3)), 3),
            exists in proptest::bool::ANY,
        ) {
            let names = ["firstName", "lastName", "note"];
            let mut cfg = config();
            for (name, m) in names.iter().zip(&modes) {
                let mode = [WriteMode::Sync, WriteMode::Create, WriteMode::IfEmpty][*m as usize];
                if mode != WriteMode::Sync {
                    cfg.field_modes.insert(name.to_string(), mode);
                }
            }
            let values = ["", "Ann", "Bo"];
            let want: Vec<(&str, Option<&str>)> = names
                .iter()
                .zip(&wants)
                .map(|(n, w)| (*n, w.map(|i| values[i as usize])))
                .collect();
            let d = desired("a@x.com", &want, None);
            let found = if exists {
                let mut l = live_opt("1", &[("email", Some("a@x.com"))], &[]);
                for (n, h) in names.iter().zip(&haves) {
                    if let Some(h) = h {
                        l.fields.insert(*n, h.map(|i| values[i as usize].into()));
                    }
                }
                Found::Present(l)
            } else {
                Found::Absent
            };
            let p = plan_one(&cfg, d, found);
            let written: BTreeSet<&str> = p
                .calls
                .iter()
                .flat_map(|c| match c {
                    Call::Create { fields } | Call::Update { fields } => fields.iter(),
                    _ => [].iter(),
                })
                .map(|w| w.name.as_str())
                .collect();
            for k in &p.kept {
                proptest::prop_assert!(!written.contains(k.name.as_str()), "{k:?} written: {:?}", p.calls);
                proptest::prop_assert!(cfg.field_mode(&k.name) != WriteMode::Sync);
            }
            if exists {
                for f in &p.fields {
                    proptest::prop_assert!(
                        cfg.field_mode(&f.name) == WriteMode::Sync || f.before.is_none(),
                        "{f:?} written over a platform value"
                    );
                }
                proptest::prop_assert_eq!(p.calls.is_empty(), p.action == Action::Unchanged);
            } else {
                proptest::prop_assert!(p.kept.is_empty());
            }
        }
    }

    // ---- tags ---------------------------------------------------------------------------------

    #[test]
    fn tags_are_reconciled_only_within_the_managed_set() {
        // (desired tags, live tags, added, removed)
        type Case<'a> = (
            Option<&'a [&'a str]>,
            &'a [&'a str],
            &'a [&'a str],
            &'a [&'a str],
        );
        let cases: &[Case] = &[
            // no `tags:` key: tags left alone, even managed ones
            (None, &["VIP", "Blog Updates", "Other"], &[], &[]),
            // `tags: []`: every managed tag removed, the unmanaged one kept
            (
                Some(&[]),
                &["VIP", "Other", "Blog Updates"],
                &[],
                &["Blog Updates", "VIP"],
            ),
            // add the missing, remove the managed extra, keep the unmanaged
            (
                Some(&["VIP", "Platform Updates"]),
                &["Blog Updates", "VIP", "Other"],
                &["Platform Updates"],
                &["Blog Updates"],
            ),
            // exact string compare: "vip" is not "VIP" (and "vip" is unmanaged: kept)
            (Some(&["VIP"]), &["vip"], &["VIP"], &[]),
            // already right
            (Some(&["VIP"]), &["VIP", "Other"], &[], &[]),
        ];
        for &(want, have, added, removed) in cases {
            let d = desired("a@x.com", &[], want);
            let l = live_opt("1", &[("email", Some("a@x.com"))], have);
            let p = plan_one(&config(), d, Found::Present(l));
            assert_eq!(p.tags_added, strings(added), "{want:?} vs {have:?}");
            assert_eq!(p.tags_removed, strings(removed), "{want:?} vs {have:?}");
            let expected_action = if added.is_empty() && removed.is_empty() {
                Action::Unchanged
            } else {
                Action::Update
            };
            assert_eq!(p.action, expected_action);
            let mut expected_calls = Vec::new();
            if !added.is_empty() {
                expected_calls.push(Call::AddTags {
                    tags: strings(added),
                });
            }
            if !removed.is_empty() {
                expected_calls.push(Call::RemoveTags {
                    tags: strings(removed),
                });
            }
            assert_eq!(p.calls, expected_calls);
        }
    }

    fn many_tags(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("t{i:02}")).collect()
    }

    #[test]
    fn eleven_tags_take_two_calls_each_way() {
        let mut cfg = config();
        cfg.tags = many_tags(22).into_iter().collect();
        let all = many_tags(22);
        let (add, remove) = all.split_at(11);
        let add_refs: Vec<&str> = add.iter().map(String::as_str).collect();
        let remove_refs: Vec<&str> = remove.iter().map(String::as_str).collect();
        let d = desired("a@x.com", &[], Some(&add_refs));
        let l = live_opt("1", &[("email", Some("a@x.com"))], &remove_refs);
        let p = plan_one(&cfg, d, Found::Present(l));
        assert_eq!(
            p.calls,
            [
                Call::AddTags {
                    tags: add[..10].to_vec()
                },
                Call::AddTags {
                    tags: add[10..].to_vec()
                },
                Call::RemoveTags {
                    tags: remove[..10].to_vec()
                },
                Call::RemoveTags {
                    tags: remove[10..].to_vec()
                },
            ]
        );
    }

    // ---- batching -------------------------------------------------------------------------------

    fn many_fields(cfg: &mut Config, n: usize) -> Vec<(String, String)> {
        let fields: Vec<(String, String)> = (0..n)
            .map(|i| (format!("f{i:02}"), format!("v{i}")))
            .collect();
        for (name, _) in &fields {
            cfg.fields.insert(name.clone(), FieldType::Text);
        }
        fields
    }

    #[test]
    fn thirty_one_changed_fields_take_two_update_calls() {
        let mut cfg = config();
        let fields = many_fields(&mut cfg, 31);
        let refs: Vec<(&str, Option<&str>)> = fields
            .iter()
            .map(|(n, v)| (n.as_str(), Some(v.as_str())))
            .collect();
        let d = desired("a@x.com", &refs, None);
        let p = plan_one(
            &cfg,
            d,
            Found::Present(live_opt("1", &[("email", Some("a@x.com"))], &[])),
        );
        assert_eq!(p.calls.len(), 2);
        let sizes: Vec<usize> = p
            .calls
            .iter()
            .map(|c| match c {
                Call::Update { fields } => fields.len(),
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(sizes, [30, 1]);
        // name order
        let Call::Update { fields: last } = &p.calls[1] else {
            unreachable!()
        };
        assert_eq!(last[0].name, "f30");
    }

    #[test]
    fn thirty_fields_fit_one_update_call() {
        let mut cfg = config();
        let fields = many_fields(&mut cfg, 30);
        let refs: Vec<(&str, Option<&str>)> = fields
            .iter()
            .map(|(n, v)| (n.as_str(), Some(v.as_str())))
            .collect();
        let d = desired("a@x.com", &refs, None);
        let p = plan_one(
            &cfg,
            d,
            Found::Present(live_opt("1", &[("email", Some("a@x.com"))], &[])),
        );
        assert_eq!(p.calls.len(), 1);
    }

    #[test]
    fn a_thirty_five_field_create_is_a_create_of_thirty_then_an_update_of_five() {
        let mut cfg = config();
        // 34 fields plus the key field: 35 writes
        let fields = many_fields(&mut cfg, 34);
        let refs: Vec<(&str, Option<&str>)> = fields
            .iter()
            .map(|(n, v)| (n.as_str(), Some(v.as_str())))
            .collect();
        let d = desired("new@x.com", &refs, Some(&["VIP"]));
        let p = plan_one(&cfg, d, Found::Absent);
        assert_eq!(p.action, Action::Create);
        assert_eq!(p.fields.len(), 35);
        match &p.calls[..] {
            [
                Call::Create { fields: first },
                Call::Update { fields: rest },
                Call::AddTags { tags },
            ] => {
                assert_eq!(first.len(), 30);
                assert_eq!(rest.len(), 5);
                assert_eq!(first[0].name, "email");
                assert_eq!(tags, &strings(&["VIP"]));
            }
            other => panic!("unexpected calls {other:?}"),
        }
    }

    // ---- create ---------------------------------------------------------------------------------

    #[test]
    fn a_create_writes_the_key_first_and_skips_cleared_fields() {
        let d = desired(
            "new@x.com",
            &[
                ("customerid", Some("7")),
                ("firstName", Some("Juan")),
                ("lastName", None),
            ],
            Some(&["VIP", "Blog Updates"]),
        );
        let p = plan_one(&config(), d, Found::Absent);
        assert_eq!(p.action, Action::Create);
        assert_eq!(p.id, None);
        assert_eq!(
            p.fields,
            [
                change("email", None, Some("new@x.com")),
                change("customerid", None, Some("7")),
                change("firstName", None, Some("Juan")),
            ]
        );
        assert_eq!(p.tags_added, strings(&["Blog Updates", "VIP"]));
        assert_eq!(
            p.calls,
            [
                Call::Create {
                    fields: writes(&[
                        ("email", "new@x.com"),
                        ("customerid", "7"),
                        ("firstName", "Juan")
                    ])
                },
                Call::AddTags {
                    tags: strings(&["Blog Updates", "VIP"])
                },
            ]
        );
        assert_eq!(p.live, None);
        assert_eq!(p.source.as_ref().map(|s| s.line), Some(3));
    }

    #[test]
    fn a_create_writes_the_marker_right_after_the_key() {
        let d = desired("new@x.com", &[("firstName", Some("Juan"))], None);
        let p = plan_one(&with_marker(config()), d, Found::Absent);
        assert_eq!(
            p.calls,
            [Call::Create {
                fields: writes(&[
                    ("email", "new@x.com"),
                    ("managed_by", "git"),
                    ("firstName", "Juan")
                ])
            }]
        );
        assert!(!p.marker_only);
    }

    #[test]
    fn a_contact_known_by_id_that_is_absent_is_an_error_not_a_create() {
        let mut d = desired("a@x.com", &[], None);
        d.identity = Identity::Id("tMNGhftyUPrB3r1lD+bT4g==".into());
        let p = plan_one(&config(), d, Found::Absent);
        assert_eq!(p.action, Action::Error);
        assert!(p.calls.is_empty());
        assert_eq!(
            contact_error(&p).as_deref(),
            Some(
                "no contact with id tMNGhftyUPrB3r1lD+bT4g== on channel web (contacts are created \
                 by key, not by ID: give the contact a key field value instead)"
            )
        );
    }

    // ---- marker ---------------------------------------------------------------------------------

    #[test]
    fn the_marker_is_written_last_on_an_update_and_alone_it_is_marker_only() {
        let cfg = with_marker(config());
        // (live marker value, desired firstName, live firstName, fields changed, marker_only)
        let cases: &[(Option<&str>, &str, &[&str], bool)] = &[
            (None, "Ana", &["managed_by"], true),
            (Some("other"), "Ana", &["managed_by"], true),
            (Some("git"), "Ana", &[], false),
            (None, "Anna", &["firstName", "managed_by"], false),
            (Some("git"), "Anna", &["firstName"], false),
        ];
        for &(marker, first, changed, marker_only) in cases {
            let d = desired("a@x.com", &[("firstName", Some(first))], None);
            let mut l = live_opt(
                "1",
                &[("email", Some("a@x.com")), ("firstName", Some("Ana"))],
                &[],
            );
            if let Some(m) = marker {
                l.fields.insert("managed_by", Some(m.into()));
            }
            let p = plan_one(&cfg, d, Found::Present(l));
            let names: Vec<&str> = p.fields.iter().map(|f| f.name.as_str()).collect();
            assert_eq!(names, changed, "marker {marker:?}, firstName {first}");
            assert_eq!(
                p.marker_only, marker_only,
                "marker {marker:?}, firstName {first}"
            );
            let written: Vec<&str> = p
                .calls
                .iter()
                .flat_map(|c| match c {
                    Call::Update { fields } => fields.iter().map(|f| f.name.as_str()).collect(),
                    _ => Vec::new(),
                })
                .collect();
            assert_eq!(
                written, changed,
                "update calls write the changed fields, marker last"
            );
        }
    }

    #[test]
    fn a_marker_write_with_a_tag_change_is_not_marker_only() {
        let cfg = with_marker(config());
        let d = desired("a@x.com", &[], Some(&["VIP"]));
        let l = live_opt("1", &[("email", Some("a@x.com"))], &[]);
        let p = plan_one(&cfg, d, Found::Present(l));
        assert!(!p.marker_only);
        assert_eq!(p.action, Action::Update);
    }

    #[test]
    fn the_marker_overrides_a_declared_field_of_the_same_name() {
        let mut cfg = with_marker(config());
        cfg.fields.insert("managed_by".into(), FieldType::Text);
        let d = desired("a@x.com", &[("managed_by", Some("someone"))], None);
        let l = live_opt(
            "1",
            &[("email", Some("a@x.com")), ("managed_by", Some("git"))],
            &[],
        );
        let p = plan_one(&cfg, d, Found::Present(l));
        assert_eq!(p.action, Action::Unchanged);
    }

    // ---- errors ---------------------------------------------------------------------------------

    #[test]
    fn an_ambiguous_key_is_an_error_naming_the_ids() {
        let cases: &[(&[&str], u64, &str)] = &[
            (&["11", "12"], 2, "email=a@x.com matches 2 contacts: 11, 12"),
            (
                &["11", "12"],
                25,
                "email=a@x.com matches 25 contacts: 11, 12 and 23 more",
            ),
        ];
        for &(ids, total, message) in cases {
            let d = desired("a@x.com", &[("firstName", Some("Ana"))], Some(&["VIP"]));
            let p = plan_one(
                &config(),
                d,
                Found::Ambiguous {
                    ids: strings(ids),
                    total,
                },
            );
            assert_eq!(p.action, Action::Error);
            assert_eq!(contact_error(&p).as_deref(), Some(message));
            assert!(p.calls.is_empty() && p.fields.is_empty() && p.tags_added.is_empty());
        }
    }

    #[test]
    fn a_failed_read_is_an_error_with_its_message_and_others_plan_as_usual() {
        let mut cfg = config();
        cfg.contacts = vec![
            desired("a@x.com", &[], None),
            desired("b@x.com", &[("firstName", Some("B"))], None),
        ];
        let blocked = ReadFailure::Call {
            reason: "403: contact is blocked".into(),
        };
        let state = LiveState {
            contacts: vec![(0, Found::Failed(blocked.clone())), (1, Found::Absent)],
            orphans: Vec::new(),
            ..Default::default()
        };
        let p = plan(&cfg, state, PlanOptions::default());
        assert_eq!(p.contacts[0].action, Action::Error);
        assert_eq!(p.contacts[0].error, Some(ContactError::Read(blocked)));
        assert_eq!(
            contact_error(&p.contacts[0]).as_deref(),
            Some("reading it failed: 403: contact is blocked")
        );
        assert!(p.contacts[0].calls.is_empty());
        assert_eq!(p.contacts[1].action, Action::Create);
        assert_eq!(p.summary.errors, 1);
        assert_eq!(p.summary.create, 1);
        assert_eq!(p.summary.api_calls, 1);
    }

    #[test]
    fn an_index_outside_the_config_is_skipped() {
        let mut cfg = config();
        cfg.contacts = vec![desired("a@x.com", &[], None)];
        let state = LiveState {
            contacts: vec![(5, Found::Absent), (0, Found::Absent)],
            orphans: Vec::new(),
            ..Default::default()
        };
        let p = plan(&cfg, state, PlanOptions::default());
        assert_eq!(p.contacts.len(), 1);
    }

    // ---- orphans --------------------------------------------------------------------------------

    fn orphan_state() -> LiveState {
        LiveState {
            contacts: Vec::new(),
            orphans: vec![
                (
                    "web".into(),
                    live_opt(
                        "9",
                        &[("managed_by", Some("git"))],
                        &["Other", "VIP", "Blog Updates"],
                    ),
                ),
                (
                    "web".into(),
                    live_opt(
                        "2",
                        &[("email", Some("old@x.com")), ("managed_by", Some("git"))],
                        &["Other"],
                    ),
                ),
            ],
            ..Default::default()
        }
    }

    #[test]
    fn orphans_without_prune_are_listed_with_no_calls() {
        let cfg = with_marker(config());
        let p = plan(&cfg, orphan_state(), PlanOptions::default());
        // sorted by channel then ID; identity by key when it has one, else by ID
        assert_eq!(p.contacts[0].identity, key("old@x.com"));
        assert_eq!(p.contacts[1].identity, Identity::Id("9".into()));
        for c in &p.contacts {
            assert_eq!(c.action, Action::Orphan);
            assert!(c.calls.is_empty() && c.fields.is_empty() && c.tags_removed.is_empty());
            assert!(c.id.is_some() && c.source.is_none());
        }
        assert_eq!(p.summary.orphans, 2);
        assert!(!p.has_changes());
        assert_eq!(p.channels[0].changing, 0);
    }

    #[test]
    fn orphans_that_could_not_be_looked_for_are_a_warning_and_leave_the_plan_incomplete() {
        let cfg = with_marker(config());
        let live = || LiveState {
            orphans_unread: [("web".to_string(), "outcome unknown: 502".to_string())].into(),
            ..orphan_state()
        };
        let unread = Warning::OrphansUnread {
            channel: "web".into(),
            reason: "outcome unknown: 502".into(),
        };
        let listed = plan(&cfg, live(), PlanOptions::default());
        assert_eq!(listed.warnings, std::slice::from_ref(&unread));
        assert!(listed.is_incomplete(), "part of the live state is unknown");
        assert!(!listed.is_unsafe());
        let pruned = plan(
            &cfg,
            live(),
            PlanOptions {
                prune: true,
                ..PlanOptions::default()
            },
        );
        assert!(pruned.warnings.contains(&unread));
        assert!(pruned.is_incomplete());
        assert!(words(&pruned.warnings).contains(
            &"channel web: its orphans are unknown, the marked contacts could not be read (outcome unknown: \
              502)"
                .to_string()
        ));
        let read = plan(
            &cfg,
            orphan_state(),
            PlanOptions {
                prune: true,
                ..PlanOptions::default()
            },
        );
        assert!(!read.is_incomplete());
    }

    #[test]
    fn pruned_orphans_lose_their_managed_tags_then_the_marker() {
        let cfg = with_marker(config());
        let p = plan(
            &cfg,
            orphan_state(),
            PlanOptions {
                prune: true,
                ..PlanOptions::default()
            },
        );
        let nine = &p.contacts[1];
        assert_eq!(nine.tags_removed, strings(&["Blog Updates", "VIP"]));
        assert_eq!(nine.fields, [change("managed_by", Some("git"), None)]);
        assert_eq!(
            nine.calls,
            [
                Call::RemoveTags {
                    tags: strings(&["Blog Updates", "VIP"])
                },
                Call::Update {
                    fields: writes(&[("managed_by", "")])
                },
            ]
        );
        let two = &p.contacts[0];
        assert_eq!(
            two.calls,
            [Call::Update {
                fields: writes(&[("managed_by", "")])
            }]
        );
        assert_eq!(p.summary.api_calls, 3);
        assert_eq!(p.summary.tags_removed, 2);
        assert_eq!(p.channels[0].changing, 2);
        // pruned orphans are existing managed contacts (SPEC "Safety")
        assert_eq!(p.channels[0].existing, 2);
        assert_eq!(p.channels[0].pruned, 2);
        assert!(p.prune);
    }

    /// [`channel_state`] plus `orphans` marked contacts on web that are not in the config.
    fn with_orphans((cfg, mut state): (Config, LiveState), orphans: usize, prune: bool) -> Plan {
        for i in 0..orphans {
            let id = format!("o{i}");
            state.orphans.push((
                "web".into(),
                live_opt(&id, &[("managed_by", Some("git"))], &["VIP"]),
            ));
        }
        plan(
            &cfg,
            state,
            PlanOptions {
                prune,
                ..PlanOptions::default()
            },
        )
    }

    #[test]
    fn pruned_orphans_count_as_existing_contacts_that_change() {
        // 8 unchanged contacts alone are below min_existing; with 4 pruned orphans, 4 of 12
        // change: 33% is more than 30%
        let p = with_orphans(channel_state(8, 0, 0, Safety::default()), 4, true);
        let web = &p.channels[0];
        assert_eq!((web.existing, web.pruned, web.changing), (12, 4, 4));
        assert!(p.is_unsafe());
        assert_eq!(
            words(&p.warnings),
            [
                "channel web: 4 of 12 existing contacts (33.3%) would change, more than \
              safety.max_change_percent 30%; apply refuses without --force"
            ]
        );
        // 2 of 22: safe; orphans that are not pruned are neither existing nor changes
        let p = with_orphans(channel_state(20, 0, 0, Safety::default()), 2, true);
        assert!(!p.is_unsafe(), "{:?}", p.warnings);
        let p = with_orphans(channel_state(8, 0, 0, Safety::default()), 4, false);
        let web = &p.channels[0];
        assert_eq!((web.existing, web.pruned, web.changing), (8, 0, 0));
        assert!(!p.is_unsafe());
    }

    #[test]
    fn a_prune_where_no_contact_of_the_config_was_found_is_refused_whatever_the_share() {
        // a config that lost its contacts file: 20 marked contacts, all orphans
        let p = with_orphans(channel_state(0, 0, 0, Safety::default()), 20, true);
        assert!(p.is_unsafe());
        assert_eq!(
            words(&p.warnings),
            [
                "channel web: --prune would prune all 20 managed contacts and no contact of the \
                 config was found on the channel (did the config lose its contacts file?); apply \
                 refuses without --force"
            ]
        );
        // below min_existing and under any percentage, still refused
        let lenient = Safety {
            max_change_percent: 100.0,
            min_existing: 1000,
            ..Safety::default()
        };
        let p = with_orphans(channel_state(0, 0, 0, lenient.clone()), 1, true);
        assert!(p.is_unsafe());
        assert!(
            words(&p.warnings)[0].contains("would prune 1 contact and"),
            "{:?}",
            p.warnings
        );
        // one contact of the config found is enough for the percentages to decide
        let p = with_orphans(channel_state(1, 0, 0, lenient.clone()), 1, true);
        assert!(!p.is_unsafe(), "{:?}", p.warnings);
        // a scoped run's skipped contacts are presumed found
        let (cfg, state) = channel_state(0, 0, 0, lenient);
        let mut state = state;
        state.orphans.push((
            "web".into(),
            live_opt("o", &[("managed_by", Some("git"))], &[]),
        ));
        let p = plan(
            &cfg,
            state,
            PlanOptions {
                prune: true,
                scope: Some(RunScope {
                    base: "origin/main".into(),
                    skipped: [("web".to_string(), 3)].into(),
                }),
                ..PlanOptions::default()
            },
        );
        assert!(!p.is_unsafe(), "{:?}", p.warnings);
    }

    #[test]
    fn an_orphan_without_a_default_key_is_named_by_id() {
        let mut cfg = with_marker(config());
        cfg.default_key = None;
        let p = plan(&cfg, orphan_state(), PlanOptions::default());
        assert_eq!(p.contacts[0].identity, Identity::Id("2".into()));
    }

    // ---- live snapshot --------------------------------------------------------------------------

    #[test]
    fn the_plan_keeps_only_the_managed_part_of_the_live_contact() {
        let cfg = with_marker(config());
        let d = desired("a@x.com", &[], None);
        let l = live_opt(
            "1",
            &[
                ("email", Some("a@x.com")),
                ("lastName", Some("")),
                ("phone", None),
                ("locale", Some("en_GB")),
                ("managed_by", Some("git")),
            ],
            &["VIP", "Other", "Blog Updates"],
        );
        let p = plan_one(&cfg, d, Found::Present(l));
        assert_eq!(
            p.live,
            Some(live_opt(
                "1",
                &[("email", Some("a@x.com")), ("managed_by", Some("git"))],
                &["Blog Updates", "VIP"],
            ))
        );
    }

    // ---- summary, channels, safety ------------------------------------------------------------

    /// `existing` contacts on `web`, the first `changing` of which get a new first name, the
    /// next `marker_only` of which only lack the marker.
    fn channel_plan(existing: usize, changing: usize, marker_only: usize, safety: Safety) -> Plan {
        let (cfg, state) = channel_state(existing, changing, marker_only, safety);
        plan(&cfg, state, PlanOptions::default())
    }

    /// `existing` contacts on web, the first `changing` renamed, the next `marker_only` lacking
    /// only the marker.
    fn channel_state(
        existing: usize,
        changing: usize,
        marker_only: usize,
        safety: Safety,
    ) -> (Config, LiveState) {
        let mut cfg = with_marker(config());
        cfg.safety = safety;
        let mut state = LiveState::default();
        for i in 0..existing {
            let email = format!("c{i}@x.com");
            cfg.contacts
                .push(desired(&email, &[("firstName", Some("New"))], None));
            let first = if i < changing { "Old" } else { "New" };
            let mut l = live_opt(
                &i.to_string(),
                &[("email", Some(&email)), ("firstName", Some(first))],
                &[],
            );
            if i < changing || i >= changing + marker_only {
                l.fields.insert("managed_by", Some("git".into()));
            }
            state.contacts.push((i, Found::Present(l)));
        }
        (cfg, state)
    }

    #[test]
    fn channels_sharing_a_token_share_its_rate_limit_in_the_time() {
        let (mut cfg, mut state) = channel_state(12, 12, 0, Safety::default());
        state.reads = [("web".to_string(), 250), ("viber".to_string(), 150)].into();
        // Own tokens: in parallel, the run takes web's 262 calls at 100 a minute; viber's 150
        // at 200 go at once.
        let p = plan(&cfg, state.clone(), PlanOptions::default());
        let secs: Vec<u64> = p.channels.iter().map(|c| c.estimated_seconds).collect();
        assert_eq!(secs, [0, 120], "viber, web");
        assert_eq!(p.summary.estimated_seconds, 120);
        // One host, one token: 412 calls queue at the lower limit, 100 a minute.
        let web_token = cfg.channels["web"].token_env.clone();
        cfg.channels.get_mut("viber").unwrap().token_env = web_token;
        let p = plan(&cfg, state.clone(), PlanOptions::default());
        assert_eq!(p.summary.estimated_seconds, 240);
        // The same token on another host is another limit.
        cfg.channels.get_mut("viber").unwrap().base_url = "https://other.example/api".into();
        let p = plan(&cfg, state.clone(), PlanOptions::default());
        assert_eq!(p.summary.estimated_seconds, 120);
        // A channel of the config with no contact in the plan still sets the token's limit:
        // web's 262 calls at 50 a minute.
        let slow = crate::model::Channel {
            name: "slow".into(),
            rate_limit: 50,
            ..cfg.channels["web"].clone()
        };
        cfg.channels.insert("slow".into(), slow);
        let p = plan(&cfg, state, PlanOptions::default());
        assert_eq!(p.summary.estimated_seconds, 300);
    }

    #[test]
    fn a_scoped_run_counts_its_skipped_contacts_as_existing_and_its_reads_in_the_time() {
        // 12 contacts read, all changing: a full run of these alone would be refused.
        let (cfg, mut state) = channel_state(12, 12, 0, Safety::default());
        state.reads = [("web".to_string(), 250)].into();
        let full = plan(&cfg, state.clone(), PlanOptions::default());
        assert!(full.is_unsafe());
        // ...but they are 12 of 112: the 100 a scoped run skipped exist, unchanged.
        let scope = RunScope {
            base: "origin/main".into(),
            skipped: [("web".to_string(), 100), ("viber".to_string(), 3)].into(),
        };
        let base_warning = Warning::InvalidBase {
            flag: "--changed-since".into(),
            base: "origin/main".into(),
            problems: 1,
            first: None,
        };
        let options = PlanOptions {
            scope: Some(scope.clone()),
            warnings: vec![base_warning.clone()],
            ..PlanOptions::default()
        };
        let p = plan(&cfg, state, options);
        assert!(!p.is_unsafe());
        assert_eq!(p.warnings, [base_warning], "the run's warnings first");
        assert_eq!(p.scope, Some(scope));
        let web = &p.channels[1];
        assert_eq!(
            (web.channel.as_str(), web.reads, web.skipped, web.api_calls),
            ("web", 250, 100, 12)
        );
        // 262 calls at 100 a minute: two windows after the first
        assert_eq!(web.estimated_seconds, 120);
        let viber = &p.channels[0];
        assert_eq!(
            (
                viber.channel.as_str(),
                viber.skipped,
                viber.estimated_seconds
            ),
            ("viber", 3, 0),
            "a channel with skipped contacts only is counted"
        );
        assert_eq!(
            (
                p.summary.reads,
                p.summary.skipped,
                p.summary.estimated_seconds
            ),
            (250, 103, 120)
        );

        let (cfg, state) = channel_state(12, 12, 0, Safety::default());
        let options = PlanOptions {
            scope: Some(RunScope {
                base: "origin/main".into(),
                skipped: [("web".to_string(), 10)].into(),
            }),
            ..PlanOptions::default()
        };
        let p = plan(&cfg, state, options);
        assert_eq!(
            words(&p.warnings),
            [
                "channel web: 12 of 22 existing contacts (54.5%) would change, more than \
              safety.max_change_percent 30%; apply refuses without --force"
            ],
            "a big change is refused in a scoped run too"
        );
    }

    #[test]
    fn safety_refuses_strictly_more_than_the_percentage_of_enough_existing_contacts() {
        let default = Safety::default;
        // (existing, changing, marker-only, safety, unsafe)
        let cases: &[(usize, usize, usize, Safety, bool)] = &[
            (10, 3, 0, default(), false), // exactly 30%: safe
            (10, 4, 0, default(), true),  // 40%: unsafe
            (12, 5, 0, default(), true),  // 41.7%
            (9, 9, 0, default(), false),  // below min_existing: never unsafe
            (10, 3, 7, default(), false), // marker-only updates do not count
            (20, 6, 0, default(), false), // 30% again
            (20, 7, 0, default(), true),  // 35%
            (
                4,
                1,
                0,
                Safety {
                    max_change_percent: 25.0,
                    min_existing: 4,
                    ..Safety::default()
                },
                false,
            ),
            (
                4,
                2,
                0,
                Safety {
                    max_change_percent: 25.0,
                    min_existing: 4,
                    ..Safety::default()
                },
                true,
            ),
        ];
        for (existing, changing, marker_only, safety, is_unsafe) in cases.iter().cloned() {
            let p = channel_plan(existing, changing, marker_only, safety);
            let web = &p.channels[0];
            assert_eq!(web.existing, existing);
            assert_eq!(web.changing, changing);
            assert_eq!(
                web.unsafe_change, is_unsafe,
                "{existing}/{changing}/{marker_only}"
            );
            assert_eq!(p.is_unsafe(), is_unsafe);
            assert_eq!(p.warnings.len(), usize::from(is_unsafe));
        }
    }

    #[test]
    fn the_safety_warning_says_how_many_and_what_to_do() {
        let p = channel_plan(12, 5, 0, Safety::default());
        assert_eq!(
            words(&p.warnings),
            [
                "channel web: 5 of 12 existing contacts (41.7%) would change, more than \
              safety.max_change_percent 30%; apply refuses without --force"
            ]
        );
    }

    #[test]
    fn summary_and_channels_count_every_contact_and_call() {
        let mut cfg = with_marker(config());
        let mut viber_contact = desired("v@x.com", &[("firstName", Some("V"))], Some(&["VIP"]));
        viber_contact.channel = "viber".into();
        cfg.contacts = vec![
            desired(
                "new@x.com",
                &[("firstName", Some("N"))],
                Some(&["VIP", "Blog Updates"]),
            ),
            desired("upd@x.com", &[("firstName", Some("U"))], Some(&[])),
            desired("same@x.com", &[], None),
            desired("amb@x.com", &[], None),
            viber_contact,
        ];
        let state = LiveState {
            contacts: vec![
                (0, Found::Absent),
                (
                    1,
                    Found::Present(live_opt(
                        "1",
                        &[("email", Some("upd@x.com")), ("managed_by", Some("git"))],
                        &["VIP"],
                    )),
                ),
                (
                    2,
                    Found::Present(live_opt(
                        "2",
                        &[("email", Some("same@x.com")), ("managed_by", Some("git"))],
                        &[],
                    )),
                ),
                (
                    3,
                    Found::Ambiguous {
                        ids: strings(&["3", "4"]),
                        total: 2,
                    },
                ),
                (4, Found::Absent),
            ],
            orphans: vec![(
                "web".into(),
                live_opt("99", &[("managed_by", Some("git"))], &["VIP"]),
            )],
            reads: [("web".to_string(), 4), ("viber".to_string(), 1)].into(),
            orphans_unread: Default::default(),
        };
        let p = plan(
            &cfg,
            state,
            PlanOptions {
                prune: true,
                ..PlanOptions::default()
            },
        );
        assert_eq!(
            p.summary,
            Summary {
                create: 2,
                update: 1,
                unchanged: 1,
                orphans: 1,
                tags_added: 3,
                tags_removed: 2,
                errors: 1,
                // create+tags, update+remove-tags, create+tags (viber), remove-tags+update (orphan)
                api_calls: 8,
                reads: 5,
                skipped: 0,
                // the longest channel: web, 4 reads and 6 writes at 100 a minute
                estimated_seconds: 0,
                kept: 0,
            }
        );
        let viber = &p.channels[0];
        assert_eq!(
            (viber.channel.as_str(), viber.api_calls, viber.rate_limit),
            ("viber", 2, 200)
        );
        let web = &p.channels[1];
        assert_eq!(
            (web.channel.as_str(), web.api_calls, web.rate_limit),
            ("web", 6, 100)
        );
        // existing: the update, the unchanged contact and the pruned orphan
        assert_eq!((web.existing, web.pruned, web.changing), (3, 1, 2));
        assert!(p.has_changes());
        let actions: Vec<Action> = p.contacts.iter().map(|c| c.action).collect();
        assert_eq!(
            actions,
            [
                Action::Create,
                Action::Update,
                Action::Unchanged,
                Action::Error,
                Action::Create,
                Action::Orphan
            ]
        );
    }

    #[test]
    fn an_empty_live_state_plans_nothing() {
        let p = plan(&config(), LiveState::default(), PlanOptions::default());
        assert!(p.contacts.is_empty() && p.channels.is_empty() && p.warnings.is_empty());
        assert_eq!(p.summary, Summary::default());
        assert!(!p.has_changes());
    }
}
