//! Engine tests against an in-memory `ContactsApi` with scripted faults.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::AtomicBool;

use super::NotRun;
use super::*;
use crate::api::{ApiError, RateLimiter};
use crate::model::{Config, FieldWrite, SourceLoc};
use crate::plan::{Action, Call, ContactPlan, Plan, Summary};
use crate::testing;
use crate::testing::fake::{FakeApi, Fault};

fn config() -> Config {
    testing::config()
}

fn fw(name: &str, value: &str) -> FieldWrite {
    FieldWrite {
        name: name.into(),
        value: value.into(),
    }
}

fn contact(email: &str, id: Option<&str>, action: Action, calls: Vec<Call>) -> ContactPlan {
    ContactPlan {
        id: id.map(String::from),
        source: Some(SourceLoc::default()),
        ..crate::testing::contact_plan(email, action, calls)
    }
}

fn create_plan(email: &str) -> ContactPlan {
    contact(
        email,
        None,
        Action::Create,
        vec![
            Call::Create {
                fields: vec![fw("email", email)],
            },
            Call::Update {
                fields: vec![fw("firstName", "Ana")],
            },
            Call::AddTags {
                tags: vec!["VIP".into()],
            },
        ],
    )
}

fn plan_of(contacts: Vec<ContactPlan>) -> Plan {
    Plan {
        summary: Summary {
            api_calls: contacts.iter().map(|c| c.calls.len()).sum(),
            ..Default::default()
        },
        contacts,
        channels: vec![],
        warnings: vec![],
        prune: false,
        scope: None,
    }
}

async fn run(plan: Plan, fake: FakeApi) -> (ApplyReport, FakeApi) {
    run_with(plan, fake, ApplyOptions::default()).await
}

async fn run_with(plan: Plan, fake: FakeApi, options: ApplyOptions) -> (ApplyReport, FakeApi) {
    let clients: BTreeMap<String, FakeApi> = [("web".to_string(), fake)].into();
    let config = config();
    let report = apply(
        plan,
        &config,
        &clients,
        options,
        &AtomicBool::new(false),
        &|_| {},
    )
    .await;
    let fake = clients.into_values().next().unwrap();
    (report, fake)
}

#[tokio::test(start_paused = true)]
async fn create_runs_follow_up_calls_against_the_new_id() {
    let (report, fake) = run(
        plan_of(vec![create_plan("a@x.com")]),
        FakeApi::new("web", vec![]),
    )
    .await;
    assert!(report.succeeded());
    assert_eq!(report.outcomes[0].id.as_deref(), Some("c1"));
    assert_eq!(report.outcomes[0].calls_done, 3);
    let c = fake.contact("c1").unwrap();
    assert_eq!(c.value("firstName"), Some("Ana"));
    assert_eq!(c.tags, vec!["VIP"]);
}

#[tokio::test(start_paused = true)]
async fn lost_create_response_is_looked_up_not_recreated() {
    let fake = FakeApi::new("web", vec![]);
    fake.fault("create", Fault::LoseResponse);
    let (report, fake) = run(plan_of(vec![create_plan("a@x.com")]), fake).await;
    assert!(report.succeeded(), "{:?}", report.outcomes);
    assert_eq!(fake.contacts().len(), 1, "no duplicate contact");
    assert_eq!(report.outcomes[0].id.as_deref(), Some("c1"));
    assert_eq!(
        fake.calls(),
        vec!["create", "lookup", "update", "add_tags"],
        "one create, one look-up to recover it, then the follow-ups"
    );
}

#[tokio::test(start_paused = true)]
async fn unknown_create_that_did_not_happen_is_retried_after_a_lookup() {
    let fake = FakeApi::new("web", vec![]);
    fake.fault(
        "create",
        Fault::Fail(ApiError::Unknown {
            reason: "500".into(),
        }),
    );
    let (report, fake) = run(plan_of(vec![create_plan("a@x.com")]), fake).await;
    assert!(report.succeeded());
    assert_eq!(fake.contacts().len(), 1);
    assert_eq!(
        fake.calls(),
        vec!["create", "lookup", "create", "update", "add_tags"]
    );
}

#[tokio::test(start_paused = true)]
async fn create_whose_check_fails_is_reported_not_retried() {
    let fake = FakeApi::new("web", vec![]);
    fake.fault("create", Fault::LoseResponse);
    fake.fault(
        "lookup",
        Fault::Fail(ApiError::Unknown {
            reason: "timeout".into(),
        }),
    );
    let (report, fake) = run(plan_of(vec![create_plan("a@x.com")]), fake).await;
    assert_eq!(report.outcomes[0].outcome, Outcome::Failed);
    assert_eq!(fake.calls(), vec!["create", "lookup"]);
    let why = report.outcomes[0].error.clone().unwrap().to_string();
    assert!(why.contains("run apply again"), "{why}");
}

#[tokio::test(start_paused = true)]
async fn one_failure_does_not_stop_the_others_and_is_reported_with_progress() {
    let fake = FakeApi::new("web", vec![]);
    fake.write("7", &[fw("email", "b@x.com")]);
    fake.fault(
        "update",
        Fault::Fail(ApiError::Rejected {
            status: 403,
            message: "Field lastName is locked".into(),
        }),
    );
    let update = contact(
        "b@x.com",
        Some("7"),
        Action::Update,
        vec![
            Call::Update {
                fields: vec![fw("lastName", "Dar")],
            },
            Call::AddTags {
                tags: vec!["VIP".into()],
            },
        ],
    );
    let (report, fake) = run(plan_of(vec![update, create_plan("a@x.com")]), fake).await;
    assert!(!report.succeeded());
    assert_eq!(report.outcomes[0].outcome, Outcome::Failed);
    assert_eq!(report.outcomes[0].calls_done, 0);
    assert!(
        report.outcomes[0]
            .error
            .as_ref()
            .unwrap()
            .to_string()
            .contains("Field lastName is locked")
    );
    assert_eq!(report.outcomes[1].outcome, Outcome::Done);
    assert_eq!(report.failures().count(), 1);
    let tag_calls = fake.count("add_tags");
    assert_eq!(
        tag_calls, 1,
        "the failed contact's later calls are not made"
    );
}

#[tokio::test(start_paused = true)]
async fn partly_applied_contact_says_so() {
    let fake = FakeApi::new("web", vec![]);
    fake.fault(
        "add_tags",
        Fault::Fail(ApiError::Rejected {
            status: 403,
            message: "nope".into(),
        }),
    );
    let (report, _) = run(plan_of(vec![create_plan("a@x.com")]), fake).await;
    let o = &report.outcomes[0];
    assert_eq!(o.outcome, Outcome::Failed);
    assert_eq!(o.calls_done, 2);
    assert_eq!(o.id.as_deref(), Some("c1"), "the new ID is reported");
    let why = o.error.as_ref().unwrap();
    assert!(
        matches!(
            why,
            ContactFailure::Partly {
                done: 2,
                total: 3,
                ..
            }
        ),
        "{why:?}"
    );
    assert!(why.to_string().contains("after 2 of 3 calls"));
}

#[tokio::test(start_paused = true)]
async fn a_refused_token_or_a_429_past_the_whole_schedule_stops_the_channel() {
    let refused = ApiError::Unauthorized {
        channel: "web".into(),
        token_env: "T".into(),
    };
    let throttled = ApiError::Throttled {
        channel: "web".into(),
        url: "http://127.0.0.1:1/api".into(),
        message: "Too Many Attempts.".into(),
        attempts: 11,
        waited_secs: 600,
        schedule_secs: 600,
    };
    for e in [refused, throttled] {
        let fake = FakeApi::new("web", vec![]);
        fake.fault("create", Fault::Fail(e.clone()));
        let contacts = (0..5).map(|i| create_plan(&format!("{i}@x.com"))).collect();
        let one_at_a_time = ApplyOptions {
            concurrency: Some(1),
            ..ApplyOptions::default()
        };
        let (report, fake) = run_with(plan_of(contacts), fake, one_at_a_time).await;
        assert_eq!(report.outcomes[0].outcome, Outcome::Failed);
        assert_eq!(
            report.outcomes[0].error,
            Some(ContactFailure::Call {
                error: e.to_string()
            })
        );
        assert!(
            report.outcomes[1..]
                .iter()
                .all(|o| o.outcome == Outcome::NotRun && o.not_run == Some(NotRun::ChannelStopped)),
            "{e:?}"
        );
        assert_eq!(fake.calls(), vec!["create"]);
    }
}

#[tokio::test(start_paused = true)]
async fn a_contact_whose_first_call_was_not_sent_because_the_channel_stopped_did_not_run() {
    // another contact's 401 stopped the channel while this one waited for its slot: the client
    // refuses the call unsent
    let refused = ApiError::Unauthorized {
        channel: "web".into(),
        token_env: "T".into(),
    };
    let fake = FakeApi::new("web", vec![]);
    fake.fault(
        "create",
        Fault::Fail(ApiError::NotSent(Box::new(refused.clone()))),
    );
    let clients: BTreeMap<String, FakeApi> = [("web".to_string(), fake)].into();
    let calls = Mutex::new(0usize);
    let report = apply(
        plan_of(vec![create_plan("a@x.com"), create_plan("b@x.com")]),
        &config(),
        &clients,
        ApplyOptions {
            concurrency: Some(1),
            ..ApplyOptions::default()
        },
        &AtomicBool::new(false),
        &|e| {
            if matches!(e, ApplyEvent::CallDone { .. }) {
                *calls.lock().unwrap() += 1;
            }
        },
    )
    .await;
    for o in &report.outcomes {
        assert_eq!(o.outcome, Outcome::NotRun, "{o:?}");
        assert_eq!(o.not_run, Some(NotRun::ChannelStopped));
    }
    assert_eq!(
        report.outcomes[0].error,
        Some(ContactFailure::ChannelStopped {
            channel: "web".into()
        })
    );
    assert_eq!(
        *calls.lock().unwrap(),
        0,
        "no call was made, none is reported"
    );
    assert_eq!(
        refused.to_string(),
        ApiError::NotSent(Box::new(refused.clone())).to_string()
    );
    assert!(ApiError::NotSent(Box::new(refused)).stops_channel());
}

#[tokio::test(start_paused = true)]
async fn a_create_whose_retry_the_stop_cut_short_failed_as_sent() {
    let refused = ApiError::Unauthorized {
        channel: "web".into(),
        token_env: "T".into(),
    };
    let fake = FakeApi::new("web", vec![]);
    // the first attempt's outcome is unknown (and the check finds nothing); the channel has
    // stopped before the second
    fake.fault(
        "create",
        Fault::Fail(ApiError::Unknown {
            reason: "timed out".into(),
        }),
    );
    fake.fault(
        "create",
        Fault::Fail(ApiError::NotSent(Box::new(refused.clone()))),
    );
    let (report, _) = run(plan_of(vec![create_plan("a@x.com")]), fake).await;
    assert_eq!(report.outcomes[0].outcome, Outcome::Failed);
    assert_eq!(
        report.outcomes[0].error,
        Some(ContactFailure::Call {
            error: refused.to_string()
        })
    );
}

#[tokio::test(start_paused = true)]
async fn interrupted_run_starts_nothing_and_accounts_for_everything() {
    let clients: BTreeMap<String, FakeApi> =
        [("web".to_string(), FakeApi::new("web", vec![]))].into();
    let report = apply(
        plan_of(vec![create_plan("a@x.com"), create_plan("b@x.com")]),
        &config(),
        &clients,
        ApplyOptions::default(),
        &AtomicBool::new(true),
        &|_| {},
    )
    .await;
    assert!(report.interrupted);
    assert!(report.outcomes.iter().all(|o| o.outcome == Outcome::NotRun));
    assert!(clients["web"].calls().is_empty());
}

#[tokio::test(start_paused = true)]
async fn events_count_every_call() {
    let seen = Mutex::new(0usize);
    let clients: BTreeMap<String, FakeApi> =
        [("web".to_string(), FakeApi::new("web", vec![]))].into();
    let report = apply(
        plan_of(vec![create_plan("a@x.com"), create_plan("b@x.com")]),
        &config(),
        &clients,
        ApplyOptions::default(),
        &AtomicBool::new(false),
        &|e| {
            if let ApplyEvent::CallDone { ok: true, .. } = e {
                *seen.lock().unwrap() += 1;
            }
        },
    )
    .await;
    assert_eq!(*seen.lock().unwrap(), report.plan.summary.api_calls);
}

#[tokio::test(start_paused = true)]
async fn plan_errors_and_no_change_contacts_make_no_calls() {
    let mut err = contact("d@x.com", None, Action::Error, vec![]);
    err.error = Some(crate::plan::ContactError::Ambiguous {
        ids: vec!["1".into(), "2".into()],
        total: 2,
    });
    let same = contact("e@x.com", Some("9"), Action::Unchanged, vec![]);
    let (report, fake) = run(plan_of(vec![err, same]), FakeApi::new("web", vec![])).await;
    assert_eq!(report.outcomes[0].outcome, Outcome::PlanError);
    assert_eq!(report.outcomes[1].outcome, Outcome::NoChange);
    assert!(fake.calls().is_empty());
    assert!(!report.succeeded(), "a plan error makes the run fail");
}

/// `n` existing contacts, each planned as a field update and a tag (two calls).
fn updates(n: usize) -> (Plan, FakeApi) {
    let fake = FakeApi::new("web", vec![]);
    let contacts = (0..n)
        .map(|i| {
            let id = format!("{i}");
            fake.write(&id, &[fw("email", &format!("{i}@x.com"))]);
            contact(
                &format!("{i}@x.com"),
                Some(&id),
                Action::Update,
                vec![
                    Call::Update {
                        fields: vec![fw("firstName", "New")],
                    },
                    Call::AddTags {
                        tags: vec!["VIP".into()],
                    },
                ],
            )
        })
        .collect();
    (plan_of(contacts), fake)
}

#[tokio::test(start_paused = true)]
async fn a_time_budget_starts_only_contacts_whose_calls_the_limiter_foresees_ending_in_time() {
    // 4 calls a minute, 6 contacts of 2 calls: 2 contacts now, 2 a window later, 2 two windows
    // later (the third window starts at 120.2 s: the limiter's margin after each)
    for (budget_secs, done) in [(30, 2), (100, 4), (119, 4), (121, 6)] {
        let (plan, fake) = updates(6);
        let fake = fake.paced_by(RateLimiter::new(4));
        let start = tokio::time::Instant::now();
        let options = ApplyOptions {
            deadline: Some(start + std::time::Duration::from_secs(budget_secs)),
            ..ApplyOptions::default()
        };
        let (report, fake) = run_with(plan, fake, options).await;
        let took = start.elapsed();
        let outcomes: Vec<Outcome> = report.outcomes.iter().map(|o| o.outcome).collect();
        let mut expected = vec![Outcome::Done; done];
        expected.resize(6, Outcome::NotRun);
        assert_eq!(outcomes, expected, "budget {budget_secs} s");
        assert!(
            report.outcomes[done..]
                .iter()
                .all(|o| o.not_run == Some(NotRun::TimeBudget) && o.calls_done == 0),
            "{:?}",
            report.outcomes
        );
        assert_eq!(report.left_for_next_run(), 6 - done);
        assert_eq!(report.succeeded(), done == 6);
        // the contacts left were not touched; those done got both their calls
        assert_eq!(fake.calls().len(), 2 * done);
        for c in fake.contacts() {
            let i: usize = c.id.parse().unwrap();
            let touched = c.value("firstName") == Some("New");
            assert_eq!(touched, c.tags == vec!["VIP"], "contact {i} half done");
            assert_eq!(touched, i < done, "contact {i}");
        }
        // the run waited for the windows its contacts needed, and ended by the deadline
        let windows = u32::try_from(done / 2 - 1).unwrap();
        assert!(
            took >= (crate::api::limiter::WINDOW + crate::api::limiter::DEFAULT_MARGIN) * windows,
            "{took:?}"
        );
        assert!(
            took <= std::time::Duration::from_secs(budget_secs),
            "{took:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn without_a_forecast_the_budget_stops_only_at_the_deadline() {
    let (plan, fake) = updates(2);
    let options = ApplyOptions {
        deadline: Some(tokio::time::Instant::now()),
        ..ApplyOptions::default()
    };
    let (report, fake) = run_with(plan, fake, options).await;
    assert_eq!(report.left_for_next_run(), 2);
    assert!(fake.calls().is_empty());
}

#[test]
fn each_contact_failure_says_why_in_its_own_words() {
    let cases = [
        (
            ContactFailure::Call {
                error: "403: Contact is blocked".into(),
            },
            "403: Contact is blocked",
        ),
        (
            ContactFailure::Partly {
                error: "500: boom".into(),
                done: 2,
                total: 3,
            },
            "500: boom (after 2 of 3 calls succeeded: the contact is partly applied; run apply \
             again to finish it)",
        ),
        (
            ContactFailure::NoClient {
                channel: "viber".into(),
            },
            "no client for channel viber",
        ),
        (
            ContactFailure::Interrupted,
            "not started: the run was interrupted",
        ),
        (
            ContactFailure::ChannelStopped {
                channel: "web".into(),
            },
            "not started: channel web stopped (its token was refused, its host cannot be reached, \
             or it kept answering 429)",
        ),
        (
            ContactFailure::TimeBudget,
            "not started: its calls could not have finished within the time budget; the next \
             apply continues with it",
        ),
        (ContactFailure::NotStarted, "not started"),
    ];
    for (failure, words) in cases {
        assert_eq!(failure.to_string(), words);
    }
}
