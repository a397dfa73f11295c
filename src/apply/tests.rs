//! Engine tests against an in-memory `ContactsApi` with scripted faults.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::AtomicBool;

use super::*;
use crate::api::{ApiError, ContactsApi, LookupPage};
use crate::model::{Config, FieldWrite, Identity, LiveContact, Safety, SourceLoc};
use crate::plan::{Action, Call, ContactPlan, Plan, Summary};

/// What the fake does on the next call of a kind instead of succeeding.
#[derive(Clone)]
enum Fault {
    /// Fail with this error without doing anything.
    Fail(ApiError),
    /// Do the work, then report an unknown outcome (a lost response).
    LoseResponse,
}

#[derive(Default)]
struct Fake {
    contacts: Mutex<BTreeMap<String, LiveContact>>,
    next_id: Mutex<u64>,
    faults: Mutex<BTreeMap<&'static str, VecDeque<Fault>>>,
    calls: Mutex<Vec<String>>,
}

impl Fake {
    fn fault(&self, kind: &'static str, f: Fault) {
        self.faults
            .lock()
            .unwrap()
            .entry(kind)
            .or_default()
            .push_back(f);
    }

    fn take_fault(&self, kind: &'static str) -> Option<Fault> {
        self.calls.lock().unwrap().push(kind.to_string());
        self.faults.lock().unwrap().get_mut(kind)?.pop_front()
    }

    fn write(&self, id: &str, fields: &[FieldWrite]) {
        let mut c = self.contacts.lock().unwrap();
        let contact = c.entry(id.to_string()).or_insert_with(|| LiveContact {
            id: id.to_string(),
            ..Default::default()
        });
        for f in fields {
            contact
                .fields
                .insert(f.name.as_str(), Some(f.value.as_str().into()));
        }
    }

    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }

    fn count(&self) -> usize {
        self.contacts.lock().unwrap().len()
    }
}

impl ContactsApi for Fake {
    fn channel(&self) -> &str {
        "web"
    }

    async fn get(&self, id: &str) -> Result<Option<LiveContact>, ApiError> {
        if let Some(Fault::Fail(e)) = self.take_fault("get") {
            return Err(e);
        }
        Ok(self.contacts.lock().unwrap().get(id).cloned())
    }

    async fn lookup_page(
        &self,
        field: &str,
        value: &str,
        page: u64,
        _per_page: u64,
    ) -> Result<LookupPage, ApiError> {
        if let Some(Fault::Fail(e)) = self.take_fault("lookup") {
            return Err(e);
        }
        let contacts: Vec<LiveContact> = self
            .contacts
            .lock()
            .unwrap()
            .values()
            .filter(|c| c.value(field) == Some(value))
            .cloned()
            .collect();
        let total = contacts.len() as u64;
        Ok(LookupPage {
            contacts,
            page,
            last_page: 1,
            per_page: 10,
            total,
        })
    }

    async fn update(&self, id: &str, fields: &[FieldWrite]) -> Result<(), ApiError> {
        let fault = self.take_fault("update");
        if let Some(Fault::Fail(e)) = fault {
            return Err(e);
        }
        self.write(id, fields);
        Ok(())
    }

    async fn add_tags(&self, id: &str, tags: &[String]) -> Result<(), ApiError> {
        if let Some(Fault::Fail(e)) = self.take_fault("add_tags") {
            return Err(e);
        }
        let mut c = self.contacts.lock().unwrap();
        let contact = c.get_mut(id).ok_or(ApiError::Rejected {
            status: 404,
            message: "no such contact".into(),
        })?;
        for t in tags {
            if !contact.tags.contains(t) {
                contact.tags.push(t.clone());
            }
        }
        Ok(())
    }

    async fn remove_tags(&self, id: &str, tags: &[String]) -> Result<(), ApiError> {
        if let Some(Fault::Fail(e)) = self.take_fault("remove_tags") {
            return Err(e);
        }
        let mut c = self.contacts.lock().unwrap();
        if let Some(contact) = c.get_mut(id) {
            contact.tags.retain(|t| !tags.contains(t));
        }
        Ok(())
    }

    async fn create(&self, fields: &[FieldWrite]) -> Result<String, ApiError> {
        let fault = self.take_fault("create");
        if let Some(Fault::Fail(e)) = fault {
            return Err(e);
        }
        let id = {
            let mut n = self.next_id.lock().unwrap();
            *n += 1;
            format!("c{n}")
        };
        self.write(&id, fields);
        match fault {
            Some(Fault::LoseResponse) => Err(ApiError::Unknown {
                reason: "connection reset".into(),
            }),
            _ => Ok(id),
        }
    }
}

fn config() -> Config {
    Config {
        channels: BTreeMap::new(),
        fields: [("email".to_string(), crate::model::FieldType::Email)].into(),
        tags: BTreeSet::new(),
        default_channel: None,
        default_key: Some("email".into()),
        marker: None,
        safety: Safety::default(),
        contacts: vec![],
        hash: String::new(),
    }
}

fn fw(name: &str, value: &str) -> FieldWrite {
    FieldWrite {
        name: name.into(),
        value: value.into(),
    }
}

fn contact(email: &str, id: Option<&str>, action: Action, calls: Vec<Call>) -> ContactPlan {
    ContactPlan {
        channel: "web".into(),
        identity: Identity::Key {
            field: "email".into(),
            value: email.into(),
        },
        id: id.map(String::from),
        action,
        fields: vec![],
        tags_added: vec![],
        tags_removed: vec![],
        error: None,
        calls,
        marker_only: false,
        source: Some(SourceLoc::default()),
        live: None,
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

async fn run(plan: Plan, fake: Fake) -> (ApplyReport, Fake) {
    let clients: BTreeMap<String, Fake> = [("web".to_string(), fake)].into();
    let config = config();
    let report = apply(
        plan,
        &config,
        &clients,
        ApplyOptions::default(),
        &AtomicBool::new(false),
        &|_| {},
    )
    .await;
    let fake = clients.into_values().next().unwrap();
    (report, fake)
}

#[tokio::test(start_paused = true)]
async fn create_runs_follow_up_calls_against_the_new_id() {
    let (report, fake) = run(plan_of(vec![create_plan("a@x.com")]), Fake::default()).await;
    assert!(report.succeeded());
    assert_eq!(report.outcomes[0].id.as_deref(), Some("c1"));
    assert_eq!(report.outcomes[0].calls_done, 3);
    let c = fake.contacts.lock().unwrap()["c1"].clone();
    assert_eq!(c.value("firstName"), Some("Ana"));
    assert_eq!(c.tags, vec!["VIP"]);
}

#[tokio::test(start_paused = true)]
async fn lost_create_response_is_looked_up_not_recreated() {
    let fake = Fake::default();
    fake.fault("create", Fault::LoseResponse);
    let (report, fake) = run(plan_of(vec![create_plan("a@x.com")]), fake).await;
    assert!(report.succeeded(), "{:?}", report.outcomes);
    assert_eq!(fake.count(), 1, "no duplicate contact");
    assert_eq!(report.outcomes[0].id.as_deref(), Some("c1"));
    assert_eq!(
        fake.calls(),
        vec!["create", "lookup", "update", "add_tags"],
        "one create, one look-up to recover it, then the follow-ups"
    );
}

#[tokio::test(start_paused = true)]
async fn unknown_create_that_did_not_happen_is_retried_after_a_lookup() {
    let fake = Fake::default();
    fake.fault(
        "create",
        Fault::Fail(ApiError::Unknown {
            reason: "500".into(),
        }),
    );
    let (report, fake) = run(plan_of(vec![create_plan("a@x.com")]), fake).await;
    assert!(report.succeeded());
    assert_eq!(fake.count(), 1);
    assert_eq!(
        fake.calls(),
        vec!["create", "lookup", "create", "update", "add_tags"]
    );
}

#[tokio::test(start_paused = true)]
async fn create_whose_check_fails_is_reported_not_retried() {
    let fake = Fake::default();
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
    let why = report.outcomes[0].error.clone().unwrap();
    assert!(why.contains("run apply again"), "{why}");
}

#[tokio::test(start_paused = true)]
async fn one_failure_does_not_stop_the_others_and_is_reported_with_progress() {
    let fake = Fake::default();
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
            .as_deref()
            .unwrap()
            .contains("Field lastName is locked")
    );
    assert_eq!(report.outcomes[1].outcome, Outcome::Done);
    assert_eq!(report.failures().count(), 1);
    let tag_calls = fake.calls().iter().filter(|c| *c == "add_tags").count();
    assert_eq!(
        tag_calls, 1,
        "the failed contact's later calls are not made"
    );
}

#[tokio::test(start_paused = true)]
async fn partly_applied_contact_says_so() {
    let fake = Fake::default();
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
    assert!(o.error.as_deref().unwrap().contains("after 2 of 3 calls"));
}

#[tokio::test(start_paused = true)]
async fn refused_token_stops_the_channel() {
    let fake = Fake::default();
    let e = ApiError::Unauthorized {
        channel: "web".into(),
        token_env: "T".into(),
    };
    fake.fault("create", Fault::Fail(e));
    let contacts = (0..5).map(|i| create_plan(&format!("{i}@x.com"))).collect();
    let clients: BTreeMap<String, Fake> = [("web".to_string(), fake)].into();
    let report = apply(
        plan_of(contacts),
        &config(),
        &clients,
        ApplyOptions {
            concurrency: 1,
            ..ApplyOptions::default()
        },
        &AtomicBool::new(false),
        &|_| {},
    )
    .await;
    assert_eq!(report.outcomes[0].outcome, Outcome::Failed);
    assert!(
        report.outcomes[1..]
            .iter()
            .all(|o| o.outcome == Outcome::NotRun)
    );
    assert_eq!(clients["web"].calls(), vec!["create"]);
}

#[tokio::test(start_paused = true)]
async fn interrupted_run_starts_nothing_and_accounts_for_everything() {
    let clients: BTreeMap<String, Fake> = [("web".to_string(), Fake::default())].into();
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
    let clients: BTreeMap<String, Fake> = [("web".to_string(), Fake::default())].into();
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
    err.error = Some("email=d@x.com matches 2 contacts: 1, 2".into());
    let same = contact("e@x.com", Some("9"), Action::Unchanged, vec![]);
    let (report, fake) = run(plan_of(vec![err, same]), Fake::default()).await;
    assert_eq!(report.outcomes[0].outcome, Outcome::PlanError);
    assert_eq!(report.outcomes[1].outcome, Outcome::NoChange);
    assert!(fake.calls().is_empty());
    assert!(!report.succeeded(), "a plan error makes the run fail");
}
