//! The words of the problems a plan carries typed: why a contact cannot be planned
//! ([`ContactError`], a read failure included) and the plan's warnings ([`Warning`]). The planner,
//! the reader and the operations build no sentence; the text, Markdown and JSON renderers, the
//! apply report and the command line all say these through the functions here, so a problem
//! reads the same everywhere. A read failure is an error and says itself (`ReadFailure`'s
//! `#[error]`).

use crate::plan::{ContactError, ContactPlan, ProtectedContact, Warning};
use crate::render::plural;

/// How every safety warning ends.
const REFUSES: &str = "apply refuses without --force";

/// Why `c` cannot be planned, in words (`None` when it can):
/// `email=a@x.com matches 3 contacts: 1, 2 and 1 more`.
pub(crate) fn contact_error(c: &ContactPlan) -> Option<String> {
    let error = c.error.as_ref()?;
    Some(match error {
        ContactError::Ambiguous { ids, total } => {
            let shown = u64::try_from(ids.len()).unwrap_or(u64::MAX);
            let more = if *total > shown {
                format!(" and {} more", total - shown)
            } else {
                String::new()
            };
            format!(
                "{} matches {total} contacts: {}{more}",
                c.identity,
                ids.join(", ")
            )
        }
        ContactError::Read(failure) => failure.to_string(),
        ContactError::NoSuchId { id } => format!(
            "no contact with id {id} on channel {} (contacts are created by key, not by ID: give \
             the contact a key field value instead)",
            c.channel
        ),
    })
}

/// A plan's warning, in words: `channel web: 5 of 10 existing contacts (50.0%) would change,
/// more than safety.max_change_percent 30%; apply refuses without --force`.
pub(crate) fn warning(w: &Warning) -> String {
    match w {
        Warning::InvalidBase {
            flag,
            base,
            problems,
            first,
        } => {
            let first = first
                .as_ref()
                .map(|d| format!(", first: {d}"))
                .unwrap_or_default();
            format!(
                "{flag} {base}: the config there is not valid ({}{first}), so every contact was \
                 read (a full run)",
                plural(*problems, "problem", "problems")
            )
        }
        Warning::TooManyChanges {
            channel,
            changing,
            existing,
            max_percent,
        } => {
            let share = if *existing > 0 {
                format!(" ({:.1}%)", *changing as f64 * 100.0 / *existing as f64)
            } else {
                String::new()
            };
            format!(
                "channel {channel}: {changing} of {existing} existing contacts{share} would \
                 change, more than safety.max_change_percent {max_percent}%; {REFUSES}"
            )
        }
        Warning::PrunesLostConfig { channel, pruned } => format!(
            "channel {channel}: --prune would prune {} and no contact of the config was found on \
             the channel (did the config lose its contacts file?); {REFUSES}",
            if *pruned == 1 {
                "1 contact".to_string()
            } else {
                format!("all {pruned} managed contacts")
            }
        ),
        Warning::OrphansUnread { channel, reason } => format!(
            "channel {channel}: its orphans are unknown, the marked contacts could not be read ({reason})"
        ),
        Warning::ProtectedFields { named, total } => {
            let mut list = named
                .iter()
                .map(protected_contact)
                .collect::<Vec<_>>()
                .join("; ");
            if *total > named.len() {
                list.push_str(&format!(" and {} more", total - named.len()));
            }
            format!(
                "protected fields (safety.protected_fields) would change on {}: {list}; \
                 {REFUSES}",
                plural(*total, "contact", "contacts")
            )
        }
    }
}

/// `email, phone of email=a@x.com on web`.
fn protected_contact(c: &ProtectedContact) -> String {
    format!("{} of {} on {}", c.fields.join(", "), c.identity, c.channel)
}

/// Every warning of a list, in words, in order.
pub(crate) fn warnings(ws: &[Warning]) -> Vec<String> {
    ws.iter().map(warning).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Identity, ReadFailure};
    use crate::plan::Action;

    fn errored(error: ContactError) -> ContactPlan {
        ContactPlan {
            channel: "web".into(),
            identity: Identity::Key {
                field: "email".into(),
                value: "a@x.com".into(),
            },
            id: None,
            action: Action::Error,
            fields: vec![],
            kept: vec![],
            tags_added: vec![],
            tags_removed: vec![],
            error: Some(error),
            calls: vec![],
            marker_only: false,
            source: None,
            live: None,
        }
    }

    fn said(error: ContactError) -> String {
        contact_error(&errored(error)).unwrap()
    }

    #[test]
    fn a_contact_without_an_error_has_no_words() {
        let mut c = errored(ContactError::NoSuchId { id: "1".into() });
        c.error = None;
        assert_eq!(contact_error(&c), None);
    }

    #[test]
    fn an_ambiguous_key_names_the_ids_seen_and_counts_the_rest() {
        let ids = vec!["1".to_string(), "2".to_string()];
        assert_eq!(
            said(ContactError::Ambiguous {
                ids: ids.clone(),
                total: 2
            }),
            "email=a@x.com matches 2 contacts: 1, 2"
        );
        assert_eq!(
            said(ContactError::Ambiguous { ids, total: 5 }),
            "email=a@x.com matches 5 contacts: 1, 2 and 3 more"
        );
    }

    #[test]
    fn a_contact_by_an_id_the_channel_lacks_says_contacts_are_created_by_key() {
        assert_eq!(
            said(ContactError::NoSuchId {
                id: "tMNG+g==".into()
            }),
            "no contact with id tMNG+g== on channel web (contacts are created by key, not by ID: \
             give the contact a key field value instead)"
        );
    }

    #[test]
    fn each_read_failure_says_why_in_its_own_words() {
        let cases = [
            (
                ReadFailure::NoClient {
                    channel: "viber".into(),
                },
                "no API client for channel viber",
            ),
            (
                ReadFailure::ChannelStopped {
                    reason: "channel web: the token in WEB_TOKEN was refused (401)".into(),
                },
                "channel web: the token in WEB_TOKEN was refused (401)",
            ),
            (
                ReadFailure::Call {
                    reason: "403: Forbidden contact".into(),
                },
                "reading it failed: 403: Forbidden contact",
            ),
            (
                ReadFailure::UnusableId { id: "..".into() },
                "the platform holds it under an ID no call can use: the ID \"..\" would address \
                 another endpoint of the API as a path segment",
            ),
            (
                ReadFailure::UnusableId { id: "".into() },
                "the platform holds it under an ID no call can use: an empty ID would address \
                 another endpoint of the API as a path segment",
            ),
            (
                ReadFailure::NoKeyValue {
                    field: "phone".into(),
                },
                "the key field phone has no value to look up",
            ),
            (
                ReadFailure::TooManyToCheck {
                    field: "email".into(),
                    query: "a@x.com".into(),
                    returned: 5000,
                },
                "the look-up of email=a@x.com returned 5000 contacts, too many to check which \
                 hold exactly that value",
            ),
        ];
        for (failure, words) in cases {
            assert_eq!(said(ContactError::Read(failure)), words);
        }
    }

    #[test]
    fn a_base_that_is_not_a_valid_config_says_so_and_that_the_run_was_full() {
        let base = |problems, first: Option<&str>| Warning::InvalidBase {
            flag: "--changed-since".into(),
            base: "origin/main".into(),
            problems,
            first: first.map(String::from),
        };
        assert_eq!(
            warning(&base(1, Some("contacts.yaml:3:5: unknown field \"bogus\""))),
            "--changed-since origin/main: the config there is not valid (1 problem, first: \
             contacts.yaml:3:5: unknown field \"bogus\"), so every contact was read (a full run)"
        );
        assert_eq!(
            warning(&base(2, None)),
            "--changed-since origin/main: the config there is not valid (2 problems), so every \
             contact was read (a full run)"
        );
    }

    #[test]
    fn the_safety_warnings_give_their_numbers_and_say_apply_refuses() {
        let too_many = |existing| Warning::TooManyChanges {
            channel: "web".into(),
            changing: 5,
            existing,
            max_percent: 30.0,
        };
        assert_eq!(
            warning(&too_many(12)),
            "channel web: 5 of 12 existing contacts (41.7%) would change, more than \
             safety.max_change_percent 30%; apply refuses without --force"
        );
        assert_eq!(
            warning(&too_many(0)),
            "channel web: 5 of 0 existing contacts would change, more than \
             safety.max_change_percent 30%; apply refuses without --force"
        );
        let lost = |pruned| Warning::PrunesLostConfig {
            channel: "web".into(),
            pruned,
        };
        assert_eq!(
            warning(&lost(1)),
            "channel web: --prune would prune 1 contact and no contact of the config was found \
             on the channel (did the config lose its contacts file?); apply refuses without --force"
        );
        assert!(warning(&lost(20)).contains("would prune all 20 managed contacts and"));
    }

    #[test]
    fn the_protected_fields_warning_names_the_first_contacts_and_counts_the_rest() {
        let contact = |i: usize| ProtectedContact {
            channel: "web".into(),
            identity: Identity::Key {
                field: "email".into(),
                value: format!("c{i}@x.com"),
            },
            fields: if i == 0 {
                vec!["email".into(), "phone".into()]
            } else {
                vec!["phone".into()]
            },
        };
        assert_eq!(
            warning(&Warning::ProtectedFields {
                named: vec![contact(0)],
                total: 1
            }),
            "protected fields (safety.protected_fields) would change on 1 contact: email, phone \
             of email=c0@x.com on web; apply refuses without --force"
        );
        let many = warning(&Warning::ProtectedFields {
            named: (0..10).map(contact).collect(),
            total: 12,
        });
        assert!(
            many.starts_with(
                "protected fields (safety.protected_fields) would change on 12 contacts: "
            ),
            "{many}"
        );
        assert!(
            many.ends_with(
                "phone of email=c9@x.com on web and 2 more; apply refuses without --force"
            ),
            "{many}"
        );
    }
}
