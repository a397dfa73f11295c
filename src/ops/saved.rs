//! A plan saved by `plan --out` for `apply --plan`: the file (its format, writing and reading
//! it, refusing a file of another kind or version), and whether the plan still holds — the config
//! unchanged, and every planned contact as it was on the platform.

use std::collections::BTreeSet;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Error;
use crate::model::{Config, Found, Identity, LiveContact, ReadFailure, normalize};
use crate::plan::{Action, Call, ContactPlan, Plan, managed_part};

/// Version of the saved-plan file format this build writes and reads. 2: a contact's `error`
/// and the plan's `warnings` are typed (`plan::ContactError`, `plan::Warning`), no longer words.
pub const FORMAT_VERSION: u32 = 2;
/// The `kind` of a saved-plan file, so that another JSON file is recognised as not a plan.
pub const KIND: &str = "contactctl-plan";

/// Why a saved plan cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum SavedPlanError {
    /// The file could not be read.
    #[error("reading {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS's reason.
        source: std::io::Error,
    },
    /// The file is not a plan saved by `contactctl plan --out`.
    #[error("{} is not a plan saved by `contactctl plan --out` ({reason})", path.display())]
    NotAPlan {
        /// The file.
        path: PathBuf,
        /// What it is instead.
        reason: NotAPlan,
    },
    /// The file is a saved plan of an older format version: an older contactctl made it.
    #[error("{} was made by an older contactctl: plan again (it is a plan of format version {found}; this contactctl reads version {FORMAT_VERSION})", path.display())]
    Older {
        /// The file.
        path: PathBuf,
        /// Its `format_version`.
        found: u64,
    },
    /// The file is a saved plan of a newer format version.
    #[error("{} is a plan of format version {found}; this contactctl reads version {FORMAT_VERSION}", path.display())]
    Version {
        /// The file.
        path: PathBuf,
        /// Its `format_version`.
        found: u64,
    },
}

/// Why a file is not a saved plan.
#[derive(Debug, thiserror::Error)]
pub enum NotAPlan {
    /// It is not JSON, or not an object.
    #[error("not a JSON object: {0}")]
    NotJson(serde_json::Error),
    /// Its `kind` is another.
    #[error("its kind is {0:?}")]
    OtherKind(String),
    /// It has no `kind`.
    #[error("it has no \"kind\"")]
    NoKind,
    /// It has no `format_version`.
    #[error("it has no \"format_version\"")]
    NoVersion,
    /// It is a plan of this version that does not parse.
    #[error("it is damaged: {0}")]
    Damaged(serde_json::Error),
}

/// A plan saved by `plan --out`, with what is needed to tell whether it went stale.
#[derive(Debug, Serialize, Deserialize)]
pub struct SavedPlan {
    /// File format version.
    pub format_version: u32,
    /// Always [`KIND`].
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

/// Whether a plan can be saved at `path`: its directory exists. Checked before any read, so that a
/// mistyped `--out` costs no call (the reads of a large repo are many); [`save`] still reports
/// what else may go wrong at the end.
pub fn check_destination(path: &Path) -> Result<(), Error> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::read_dir(dir)
        .map(|_| ())
        .map_err(|e| Error::io("writing", path, e))
}

/// Write `plan` (made from a config whose hash is `config_hash`, narrowed by `channels` and
/// `contacts`) to `path`.
pub fn save(
    path: &Path,
    config_hash: &str,
    channels: &[String],
    contacts: &[String],
    plan: &Plan,
) -> Result<(), Error> {
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
        format_version: FORMAT_VERSION,
        kind: KIND,
        config_hash,
        channels,
        contacts,
        plan,
    };
    let write = || -> std::io::Result<()> {
        let file = std::fs::File::create(path)?;
        let mut w = std::io::BufWriter::new(file);
        serde_json::to_writer_pretty(&mut w, &saved)?;
        w.write_all(b"\n")?;
        w.flush()
    };
    write().map_err(|e| Error::io("writing", path, e))
}

/// Read a plan saved by `plan --out`: refuses a file that is not one, or is of another format
/// version, saying which.
pub fn load(path: &Path) -> Result<SavedPlan, SavedPlanError> {
    /// What identifies a saved plan, read before the rest so that the refusal says why.
    #[derive(Deserialize)]
    struct Header {
        kind: Option<String>,
        format_version: Option<u64>,
    }
    let text = std::fs::read_to_string(path).map_err(|source| SavedPlanError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let not_a_plan = |reason: NotAPlan| SavedPlanError::NotAPlan {
        path: path.to_path_buf(),
        reason,
    };
    let header: Header =
        serde_json::from_str(&text).map_err(|e| not_a_plan(NotAPlan::NotJson(e)))?;
    if header.kind.as_deref() != Some(KIND) {
        return Err(not_a_plan(match header.kind {
            Some(kind) => NotAPlan::OtherKind(kind),
            None => NotAPlan::NoKind,
        }));
    }
    match header.format_version {
        Some(v) if v == u64::from(FORMAT_VERSION) => {}
        Some(found) if found < u64::from(FORMAT_VERSION) => {
            return Err(SavedPlanError::Older {
                path: path.to_path_buf(),
                found,
            });
        }
        Some(found) => {
            return Err(SavedPlanError::Version {
                path: path.to_path_buf(),
                found,
            });
        }
        None => return Err(not_a_plan(NotAPlan::NoVersion)),
    }
    serde_json::from_str(&text).map_err(|e| not_a_plan(NotAPlan::Damaged(e)))
}

/// A planned contact that no longer holds; it words itself `identity on channel (why)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stale {
    /// The contact's identity.
    pub identity: Identity,
    /// Its channel.
    pub channel: String,
    /// How it differs from what the plan was made against.
    pub why: StaleReason,
}

impl Stale {
    /// It is already as the plan's calls would make it: the plan (or the same change) was
    /// applied since it was saved.
    pub fn applied(&self) -> bool {
        self.why == StaleReason::Applied
    }
}

impl fmt::Display for Stale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} on {} ({})", self.identity, self.channel, self.why)
    }
}

/// Why a planned contact no longer holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StaleReason {
    /// It is already as the plan would make it.
    Applied,
    /// A contact to create exists now.
    ExistsNow,
    /// Its managed fields or tags changed.
    Changed,
    /// It no longer exists.
    Gone,
    /// Its key matches this many contacts.
    Ambiguous {
        /// The matches.
        total: u64,
    },
    /// It could not be read again.
    Unreadable(ReadFailure),
}

impl fmt::Display for StaleReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StaleReason::Applied => f.write_str("it is already as this plan would make it"),
            StaleReason::ExistsNow => f.write_str("it exists now"),
            StaleReason::Changed => f.write_str("its fields or tags changed"),
            StaleReason::Gone => f.write_str("it no longer exists"),
            StaleReason::Ambiguous { total } => write!(f, "its key matches {total} contacts"),
            StaleReason::Unreadable(failure) => write!(f, "it could not be read: {failure}"),
        }
    }
}

/// The planned contacts (those with calls) that no longer hold. `fresh` is what a read of each
/// found now, aligned with `planned`: a contact to create must still be absent; any other must
/// exist with the managed part (declared fields, the marker, managed tags) it was planned
/// against. One that is already as the plan would make it says so.
pub fn stale_contacts(config: &Config, planned: &[&ContactPlan], fresh: &[Found]) -> Vec<Stale> {
    planned
        .iter()
        .zip(fresh)
        .filter_map(|(c, found)| {
            let why = match (c.action, found) {
                (Action::Create, Found::Absent) => return None,
                (action, Found::Present(live)) => {
                    let live = managed_part(config, live.clone());
                    if action != Action::Create && c.live.as_ref() == Some(&live) {
                        return None;
                    }
                    let applied = as_planned(config, c, &live);
                    match (applied, action) {
                        (true, _) => StaleReason::Applied,
                        (false, Action::Create) => StaleReason::ExistsNow,
                        (false, _) => StaleReason::Changed,
                    }
                }
                (Action::Create, Found::Ambiguous { .. }) => StaleReason::ExistsNow,
                (_, Found::Absent) => StaleReason::Gone,
                (_, Found::Ambiguous { total, .. }) => StaleReason::Ambiguous { total: *total },
                (_, Found::Failed(failure)) => StaleReason::Unreadable(failure.clone()),
            };
            Some(Stale {
                identity: c.identity.clone(),
                channel: c.channel.clone(),
                why,
            })
        })
        .collect()
}

/// Whether the managed part `live` is exactly what `c`'s calls make of the managed part it was
/// planned against (nothing, for a create): every managed field as written (compared by type),
/// the managed tags as added and removed, and nothing else managed changed.
fn as_planned(config: &Config, c: &ContactPlan, live: &LiveContact) -> bool {
    let mut want = c.live.clone().unwrap_or_default();
    for call in &c.calls {
        match call {
            Call::Create { fields } | Call::Update { fields } => {
                for w in fields {
                    want.fields
                        .insert(w.name.as_str(), Some(w.value.as_str().into()));
                }
            }
            Call::AddTags { tags } => want.tags.extend(tags.iter().cloned()),
            Call::RemoveTags { tags } => want.tags.retain(|t| !tags.contains(t)),
        }
    }
    let want = managed_part(config, want);
    let names: BTreeSet<&str> = want
        .fields
        .keys()
        .chain(live.fields.keys())
        .map(|n| n.as_str())
        .collect();
    want.tags == live.tags
        && names.into_iter().all(|name| {
            let ty = config.field_type(name);
            normalize(ty, want.value(name)) == normalize(ty, live.value(name))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{FieldWrite, LiveContact, ReadFailure};
    use crate::plan::{Call, ContactError, ProtectedContact, Warning};
    use crate::testing::{self, config, key};

    fn contact(action: Action, id: Option<&str>, live: Option<LiveContact>) -> ContactPlan {
        let calls = vec![Call::AddTags {
            tags: vec!["Blog Updates".into()],
        }];
        ContactPlan {
            id: id.map(Into::into),
            live,
            ..testing::contact_plan("a@x.example", action, calls)
        }
    }

    /// Contact 1 on the platform: this first name, an unmanaged field, these tags.
    fn live(first: &str, tags: &[&str]) -> LiveContact {
        testing::live("1", &[("firstName", first), ("locale", "es")], tags)
    }

    #[test]
    fn a_planned_contact_holds_while_its_managed_part_is_as_it_was() {
        let config = config();
        let snapshot = managed_part(&config, live("Ana", &["VIP"]));
        let update = contact(Action::Update, Some("1"), Some(snapshot));
        let create = contact(Action::Create, None, None);
        let cases: Vec<(&ContactPlan, Found, Option<&str>)> = vec![
            (&create, Found::Absent, None),
            (
                &create,
                Found::Present(live("Ana", &[])),
                Some("it exists now"),
            ),
            (
                &create,
                Found::Ambiguous {
                    ids: vec!["1".into(), "2".into()],
                    total: 2,
                },
                Some("it exists now"),
            ),
            // unmanaged fields and tags may change
            (
                &update,
                Found::Present(testing::live(
                    "1",
                    &[("firstName", "Ana"), ("locale", "en")],
                    &["VIP", "Newsletter"],
                )),
                None,
            ),
            (
                &update,
                Found::Present(live("Anna", &["VIP"])),
                Some("its fields or tags changed"),
            ),
            (
                &update,
                Found::Present(live("Ana", &[])),
                Some("its fields or tags changed"),
            ),
            // the plan's calls were made since: it says so rather than only "changed"
            (
                &update,
                Found::Present(live("Ana", &["VIP", "Blog Updates"])),
                Some("it is already as this plan would make it"),
            ),
            (
                &create,
                Found::Present(testing::live("1", &[("locale", "es")], &["Blog Updates"])),
                Some("it is already as this plan would make it"),
            ),
            // as the calls would make it, and more: a managed field the calls do not write
            (
                &update,
                Found::Present(live("Anna", &["VIP", "Blog Updates"])),
                Some("its fields or tags changed"),
            ),
            (
                &create,
                Found::Present(live("Ana", &["Blog Updates"])),
                Some("it exists now"),
            ),
            (&update, Found::Absent, Some("it no longer exists")),
            (
                &update,
                Found::Failed(crate::model::ReadFailure::Call {
                    reason: "500: boom".into(),
                }),
                Some("it could not be read: reading it failed: 500: boom"),
            ),
        ];
        for (planned, found, why) in cases {
            let what = format!("{:?} found {found:?}", planned.action);
            let stale = stale_contacts(&config, &[planned], &[found]);
            let stale: Vec<(String, bool)> =
                stale.iter().map(|s| (s.to_string(), s.applied())).collect();
            let expected: Vec<(String, bool)> = why
                .map(|w| {
                    (
                        format!("email=a@x.example on web ({w})"),
                        w.starts_with("it is already"),
                    )
                })
                .into_iter()
                .collect();
            assert_eq!(stale, expected, "{what}");
        }
    }

    #[test]
    fn a_contact_is_as_planned_when_every_call_s_effect_and_nothing_else_is_there() {
        let config = testing::with_marker(config());
        let snapshot = managed_part(&config, live("Ana", &["VIP"]));
        let mut plan = contact(Action::Update, Some("1"), Some(snapshot));
        plan.calls = vec![
            Call::Update {
                fields: vec![
                    FieldWrite {
                        name: "firstName".into(),
                        value: "Bea".into(),
                    },
                    FieldWrite {
                        name: "managed_by".into(),
                        value: "git".into(),
                    },
                    FieldWrite {
                        name: "vip".into(),
                        value: "TRUE".into(),
                    },
                ],
            },
            Call::RemoveTags {
                tags: vec!["VIP".into()],
            },
        ];
        let now = |fields: &[(&str, &str)], tags: &[&str]| {
            managed_part(&config, testing::live("1", fields, tags))
        };
        let done = [("firstName", "Bea"), ("managed_by", "git"), ("vip", "true")];
        // booleans compare by value, unmanaged data is free
        assert!(as_planned(&config, &plan, &now(&done, &["Newsletter"])));
        // a tag the plan removes is still there; the marker is missing; a managed field more
        assert!(!as_planned(&config, &plan, &now(&done, &["VIP"])));
        assert!(!as_planned(
            &config,
            &plan,
            &now(&[("firstName", "Bea"), ("vip", "TRUE")], &[])
        ));
        let more = [done.as_slice(), &[("lastName", "Cruz")]].concat();
        assert!(!as_planned(&config, &plan, &now(&more, &[])));
        // a field the plan clears ("") is empty
        plan.calls = vec![Call::Update {
            fields: vec![FieldWrite {
                name: "firstName".into(),
                value: String::new(),
            }],
        }];
        assert!(as_planned(&config, &plan, &now(&[], &["VIP"])));
        assert!(!as_planned(
            &config,
            &plan,
            &now(&[("firstName", "Ana")], &["VIP"])
        ));
    }

    fn plan_with(contacts: Vec<ContactPlan>, warnings: Vec<Warning>) -> Plan {
        Plan {
            contacts,
            summary: Default::default(),
            channels: vec![],
            warnings,
            prune: false,
            scope: None,
        }
    }

    #[test]
    fn a_saved_plan_keeps_its_contacts_errors_and_its_warnings_typed() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("plan.json");
        let mut failed = contact(Action::Error, None, None);
        failed.calls.clear();
        failed.error = Some(ContactError::Read(ReadFailure::ChannelStopped {
            reason: "channel web: the token was refused".into(),
        }));
        let mut ambiguous = failed.clone();
        ambiguous.error = Some(ContactError::Ambiguous {
            ids: vec!["1".into(), "2".into()],
            total: 3,
        });
        let warnings = vec![
            Warning::InvalidBase {
                flag: "--base".into(),
                base: "old/".into(),
                problems: 2,
                first: Some("old/contactctl.yaml:1:1: bad".into()),
            },
            Warning::TooManyChanges {
                channel: "web".into(),
                changing: 5,
                existing: 12,
                max_percent: 30.0,
            },
            Warning::PrunesLostConfig {
                channel: "web".into(),
                pruned: 4,
            },
            Warning::ProtectedFields {
                named: vec![ProtectedContact {
                    channel: "web".into(),
                    identity: key("email", "a@x.example"),
                    fields: vec!["phone".into()],
                }],
                total: 1,
            },
        ];
        let plan = plan_with(vec![failed, ambiguous], warnings);
        save(&file, "hash", &[], &[], &plan).unwrap();
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.contains("\"format_version\": 2"), "{text}");
        let loaded = load(&file).unwrap();
        assert_eq!(loaded.plan, plan);
    }

    #[test]
    fn a_plan_of_an_older_format_is_refused_saying_to_plan_again() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("old.json");
        // what contactctl wrote at format version 1: the errors and warnings as words
        let old = serde_json::json!({
            "format_version": 1, "kind": KIND, "config_hash": "h", "channels": [], "contacts": [],
            "plan": { "contacts": [], "summary": {}, "channels": [], "prune": false,
                      "warnings": ["channel web: 5 of 12 existing contacts would change"] },
        });
        std::fs::write(&file, old.to_string()).unwrap();
        let e = load(&file).unwrap_err();
        assert!(matches!(e, SavedPlanError::Older { found: 1, .. }), "{e:?}");
        assert_eq!(
            e.to_string(),
            format!(
                "{} was made by an older contactctl: plan again (it is a plan of format version \
                 1; this contactctl reads version 2)",
                file.display()
            )
        );
        // a newer one is not "older"
        let mut newer = old;
        newer["format_version"] = 3.into();
        std::fs::write(&file, newer.to_string()).unwrap();
        let e = load(&file).unwrap_err();
        assert!(
            matches!(e, SavedPlanError::Version { found: 3, .. }),
            "{e:?}"
        );
    }
}
