//! Test fixtures shared by the renderers' snapshot tests: a small representative plan (a create,
//! an update with field and tag changes, an unchanged contact, an ambiguous key, an orphan, a
//! second channel) made by the real planner, and apply reports over it. Test-only.

use crate::apply::{ApplyReport, ContactFailure, ContactOutcome, NotRun, Outcome};
use crate::model::{Config, DesiredContact, Identity, Safety, SourceLoc};
use crate::model::{Found, LiveState};
use crate::plan::{self, Action, Plan, PlanOptions};
use crate::testing::{self, live_opt};

/// A desired contact declared at `contacts/team.yaml:LINE:5`.
fn desired(
    channel: &str,
    identity: Identity,
    fields: &[(&str, Option<&str>)],
    tags: Option<&[&str]>,
    line: usize,
) -> DesiredContact {
    let mut d = testing::desired(channel, identity, fields, tags);
    d.source = SourceLoc {
        file: "contacts/team.yaml".into(),
        line,
        col: 5,
    };
    d
}

fn email(v: &str) -> Identity {
    testing::key("email", v)
}

/// The SPEC example's config (fields, tags, marker), with contacts on `web` and `viber`.
pub(crate) fn config() -> Config {
    let mut config = testing::with_marker(testing::config());
    if let Some(viber) = config.channels.get_mut("viber") {
        viber.rate_limit = 100;
    }
    Config {
        // Low enough that the update on `web` (1 of its 2 existing contacts) trips it.
        safety: Safety {
            max_change_percent: 30.0,
            min_existing: 2,
            ..Safety::default()
        },
        contacts: vec![
            desired(
                "web",
                email("juan@example.com"),
                &[
                    ("email", Some("juan@example.com")),
                    ("firstName", Some("Juan")),
                    ("lastName", Some("Dar")),
                    ("vip", Some("TRUE")),
                ],
                Some(&["Blog Updates", "VIP"]),
                3,
            ),
            desired(
                "web",
                email("ana@example.com"),
                &[
                    ("email", Some("ana@example.com")),
                    ("firstName", Some("Anna")),
                    ("lastName", None),
                ],
                Some(&["VIP"]),
                7,
            ),
            desired(
                "web",
                email("carl@example.com"),
                &[
                    ("email", Some("carl@example.com")),
                    ("firstName", Some("Carl")),
                ],
                None,
                11,
            ),
            desired(
                "web",
                email("dup@example.com"),
                &[("email", Some("dup@example.com"))],
                None,
                14,
            ),
            desired(
                "viber",
                Identity::Id("tMNGhftyUPrB3r1lD+bT4g==".into()),
                &[("firstName", Some("Ana"))],
                Some(&["Platform Updates"]),
                17,
            ),
        ],
        ..config
    }
}

/// What the platform holds for [`config`]'s contacts, and one orphan.
pub(crate) fn live_state() -> LiveState {
    LiveState {
        contacts: vec![
            (0, Found::Absent),
            (
                1,
                Found::Present(live_opt(
                    "1001",
                    &[
                        ("email", Some("ana@example.com")),
                        ("firstName", Some("Ana")),
                        ("lastName", Some("Lopez")),
                        ("locale", Some("es_ES")),
                        ("managed_by", Some("git")),
                    ],
                    &["Blog Updates", "Customers"],
                )),
            ),
            (
                2,
                Found::Present(live_opt(
                    "1002",
                    &[
                        ("email", Some("CARL@example.com")),
                        ("firstName", Some("Carl")),
                        ("managed_by", Some("git")),
                    ],
                    &["VIP"],
                )),
            ),
            (
                3,
                Found::Ambiguous {
                    ids: vec!["2001".into(), "2002".into()],
                    total: 2,
                },
            ),
            (
                4,
                Found::Present(live_opt(
                    "tMNGhftyUPrB3r1lD+bT4g==",
                    &[("firstName", Some("Ana"))],
                    &[],
                )),
            ),
        ],
        orphans: vec![(
            "web".into(),
            live_opt(
                "3001",
                &[
                    ("email", Some("old@example.com")),
                    ("managed_by", Some("git")),
                ],
                &["VIP", "Customers"],
            ),
        )],
        // web: a page of marked contacts, then the two it did not find looked up; viber: a page,
        // then the get of the contact paging did not find
        reads: [("web".to_string(), 3), ("viber".to_string(), 2)].into(),
        orphans_unread: Default::default(),
    }
}

/// The representative plan, orphans kept.
pub(crate) fn plan() -> Plan {
    plan::plan(&config(), live_state(), PlanOptions::default())
}

/// The representative plan with `--prune`.
pub(crate) fn pruned_plan() -> Plan {
    let options = PlanOptions {
        prune: true,
        ..PlanOptions::default()
    };
    plan::plan(&config(), live_state(), options)
}

/// The representative plan as a change-scoped run would make it: the contacts above changed
/// since `origin/main`, 9,997 others not read; the orphan is a contact the change dropped.
pub(crate) fn scoped_plan() -> Plan {
    let options = PlanOptions {
        scope: Some(plan::RunScope {
            base: "origin/main".into(),
            skipped: [("web".to_string(), 9_990), ("viber".to_string(), 7)].into(),
        }),
        ..PlanOptions::default()
    };
    let mut live = live_state();
    live.reads = [("web".to_string(), 5), ("viber".to_string(), 1)].into();
    plan::plan(&config(), live, options)
}

/// A full run whose writes wait for many reads: the representative plan, read one by one out of
/// a repo of 1,000 contacts on `web`.
pub(crate) fn costly_plan() -> Plan {
    let mut live = live_state();
    live.reads = [("web".to_string(), 1_000), ("viber".to_string(), 2)].into();
    let options = PlanOptions {
        warnings: vec![plan::Warning::InvalidBase {
            flag: "--changed-since".into(),
            base: "origin/main".into(),
            problems: 1,
            first: Some("contacts.yaml:3:5: unknown field \"bogus\"".into()),
        }],
        ..PlanOptions::default()
    };
    plan::plan(&config(), live, options)
}

/// A plan in which nothing changes: only the unchanged contact.
pub(crate) fn no_change_plan() -> Plan {
    let mut live = live_state();
    live.contacts.retain(|(i, _)| *i == 2);
    live.orphans.clear();
    plan::plan(&config(), live, PlanOptions::default())
}

/// Every contact of `plan` done, creates given an ID.
pub(crate) fn successful_report(plan: Plan) -> ApplyReport {
    let outcomes: Vec<ContactOutcome> =
        plan.contacts
            .iter()
            .map(|c| ContactOutcome {
                outcome: match c.action {
                    Action::Error => Outcome::PlanError,
                    _ if c.calls.is_empty() => Outcome::NoChange,
                    _ => Outcome::Done,
                },
                id: c.id.clone().or_else(|| {
                    (c.action == Action::Create).then(|| "cus_112233344555".to_string())
                }),
                calls_done: c.calls.len(),
                calls_planned: c.calls.len(),
                error: None,
                not_run: None,
            })
            .collect();
    let requests_sent = outcomes.iter().map(|o| o.calls_done).sum();
    ApplyReport {
        plan,
        outcomes,
        requests_sent,
        interrupted: false,
    }
}

/// [`plan`] applied with the update of `ana@example.com` failing after its first call, and the
/// Viber contact not run.
pub(crate) fn failed_report() -> ApplyReport {
    let mut report = successful_report(plan());
    for (c, o) in report.plan.contacts.iter().zip(report.outcomes.iter_mut()) {
        if c.identity == email("ana@example.com") {
            o.outcome = Outcome::Failed;
            o.calls_done = 1;
            o.error = Some(ContactFailure::Call {
                error: "403: Contact is blocked".into(),
            });
        }
        if c.channel == "viber" {
            o.outcome = Outcome::NotRun;
            o.calls_done = 0;
            o.not_run = Some(NotRun::ChannelStopped);
        }
    }
    report.requests_sent = report.outcomes.iter().map(|o| o.calls_done).sum::<usize>() + 1;
    report
}

/// [`plan`] applied under a time budget that ran out after the first contact with calls: the
/// others with calls were left for the next run, untouched.
pub(crate) fn left_report() -> ApplyReport {
    let mut report = successful_report(plan());
    let mut first = true;
    for (c, o) in report.plan.contacts.iter().zip(report.outcomes.iter_mut()) {
        if o.outcome != Outcome::Done {
            continue;
        }
        if std::mem::take(&mut first) {
            continue;
        }
        o.outcome = Outcome::NotRun;
        o.id = c.id.clone();
        o.calls_done = 0;
        o.not_run = Some(NotRun::TimeBudget);
        o.error = Some(ContactFailure::TimeBudget);
    }
    report.requests_sent = report.outcomes.iter().map(|o| o.calls_done).sum::<usize>();
    report
}

/// A note of about 200 characters, as a contact carries it before `notes_plan`'s change.
pub(crate) const NOTE_BEFORE: &str = "Customer since 2019. Prefers e-mail over phone calls. \
    Asked about the premium plan at the March webinar; follow up after the summer. Do not call \
    before 10am. Speaks Spanish and English.";

/// [`NOTE_BEFORE`] with two words changed.
pub(crate) const NOTE_AFTER: &str = "Customer since 2019. Prefers e-mail over phone calls. \
    Asked about the enterprise plan at the March webinar; follow up after the summer. Do not \
    call before 9am. Speaks Spanish and English.";

/// Long text values changing: a note with two words changed beside a short field (a word diff
/// under the note's lines, none under the name's), a note rewritten from end to end (its lines
/// alone), and a note written on a new contact.
pub(crate) fn notes_plan() -> Plan {
    // `note` is a text field of the shared test config.
    let mut config = config();
    let rewritten_before = "Met at the Lisbon fair in 2023; interested in bulk pricing for \
                            the retail chain.";
    let rewritten_after = "Moved to the partner team: all questions go through their account \
                           manager now.";
    config.contacts = vec![
        desired(
            "web",
            email("ana@example.com"),
            &[
                ("email", Some("ana@example.com")),
                ("firstName", Some("Anna")),
                ("note", Some(NOTE_AFTER)),
            ],
            None,
            3,
        ),
        desired(
            "web",
            email("carl@example.com"),
            &[
                ("email", Some("carl@example.com")),
                ("note", Some(rewritten_after)),
            ],
            None,
            8,
        ),
        desired(
            "web",
            email("juan@example.com"),
            &[
                ("email", Some("juan@example.com")),
                ("note", Some(NOTE_AFTER)),
            ],
            None,
            12,
        ),
    ];
    let live = LiveState {
        contacts: vec![
            (
                0,
                Found::Present(live_opt(
                    "1001",
                    &[
                        ("email", Some("ana@example.com")),
                        ("firstName", Some("Ana")),
                        ("note", Some(NOTE_BEFORE)),
                        ("managed_by", Some("git")),
                    ],
                    &[],
                )),
            ),
            (
                1,
                Found::Present(live_opt(
                    "1002",
                    &[
                        ("email", Some("carl@example.com")),
                        ("note", Some(rewritten_before)),
                        ("managed_by", Some("git")),
                    ],
                    &[],
                )),
            ),
            (2, Found::Absent),
        ],
        orphans: vec![],
        reads: [("web".to_string(), 3)].into(),
        orphans_unread: Default::default(),
    };
    plan::plan(&config, live, PlanOptions::default())
}

/// Write modes and a protected field on `web`: `firstName` is `write: create`, `lastName`
/// `write: if_empty`, the tag `Blog Updates` `write: add`, `phone` protected. Ana's first name
/// is kept (and her empty last name filled, VIP added, Blog Updates staying); Bo's only
/// difference is kept (unchanged); Cy's protected phone changes; a new contact is created with
/// all three.
pub(crate) fn modes_plan() -> Plan {
    use crate::model::{TagWrite, WriteMode};
    let mut config = config();
    config.field_modes = [
        ("firstName".to_string(), WriteMode::Create),
        ("lastName".to_string(), WriteMode::IfEmpty),
    ]
    .into();
    config.tag_modes = [("Blog Updates".to_string(), TagWrite::Add)].into();
    config.safety.protected_fields = ["phone".to_string()].into();
    config.safety.min_existing = 10;
    config.contacts = vec![
        desired(
            "web",
            email("ana@example.com"),
            &[("firstName", Some("Ann")), ("lastName", Some("Lee"))],
            Some(&["VIP"]),
            3,
        ),
        desired(
            "web",
            email("bo@example.com"),
            &[("firstName", Some("Bo"))],
            None,
            6,
        ),
        desired(
            "web",
            email("cy@example.com"),
            &[("phone", Some("+34600111222"))],
            None,
            8,
        ),
        desired(
            "web",
            email("new@example.com"),
            &[
                ("firstName", Some("Nia")),
                ("lastName", Some("Ng")),
                ("phone", Some("+34600333444")),
            ],
            None,
            10,
        ),
    ];
    let marked = |id: &str, fields: &[(&str, &str)], tags: &[&str]| {
        let mut all: Vec<(&str, Option<&str>)> =
            fields.iter().map(|&(n, v)| (n, Some(v))).collect();
        all.push(("managed_by", Some("git")));
        Found::Present(live_opt(id, &all, tags))
    };
    let live = LiveState {
        contacts: vec![
            (
                0,
                marked(
                    "1001",
                    &[("email", "ana@example.com"), ("firstName", "Anne")],
                    &["Blog Updates"],
                ),
            ),
            (
                1,
                marked(
                    "1002",
                    &[("email", "bo@example.com"), ("firstName", "Bob")],
                    &[],
                ),
            ),
            (
                2,
                marked(
                    "1003",
                    &[("email", "cy@example.com"), ("phone", "+34600999999")],
                    &[],
                ),
            ),
            (3, Found::Absent),
        ],
        orphans: vec![],
        reads: [("web".to_string(), 1)].into(),
        orphans_unread: Default::default(),
    };
    plan::plan(&config, live, PlanOptions::default())
}
