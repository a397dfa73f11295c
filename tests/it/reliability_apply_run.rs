//! The library's apply (`ops::apply::run`) takes its rate-limit groups' locks and writes the
//! run's record itself, as `contactctl apply` relies on: a held lock is waited for (the wait told
//! through the UI, once), bounded by the lock timeout or the time budget, and refused before any
//! read, the refusal in the record; a run that gets the lock is recorded from header to summary.

use std::sync::Mutex;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use crate::e2e_report::lines;
use crate::support::reliability::*;
use crate::support::start_sandbox;
use contactctl::api::Secret;
use contactctl::model::Config;
use contactctl::ops::apply::{Applied, ApplyRequest, ApplyUi, Event, Rechecked, RunError, Source};
use contactctl::ops::lock::{self, Bound, Group, LockError, Waiting};
use contactctl::ops::report::Report;
use contactctl::ops::{self, Targets};
use contactctl::plan::Plan;
use contactctl::sandbox::SandboxHandle;

/// The UI of these tests: it asks nothing and keeps the waits it was told of, and whether the
/// report was shown.
#[derive(Default)]
struct Heard {
    waits: Mutex<Vec<Waiting>>,
    finished: bool,
}

impl ApplyUi for Heard {
    type Error = std::convert::Infallible;
    fn planned(&mut self, _: &Plan, _: Option<Rechecked>) -> Result<(), Self::Error> {
        Ok(())
    }
    fn confirm(&mut self, _: &Plan) -> Result<(), Self::Error> {
        Ok(())
    }
    fn writing(&mut self, _: &Plan) {}
    fn event(&self, event: Event<'_>) {
        if let Event::Waiting(w) = event {
            self.waits.lock().unwrap().push(w.clone());
        }
    }
    fn finished(&mut self, _: &Applied) -> Result<(), Self::Error> {
        self.finished = true;
        Ok(())
    }
}

/// `web`'s lock group, as a session against `sandbox` makes it: its host and token.
fn web_group(sandbox: &SandboxHandle) -> Group {
    Group::new(
        &sandbox.base_url(),
        &Secret::new(sandbox.token("web").unwrap()),
    )
}

/// `ops::apply::run` of `config` as `contactctl apply --auto-approve --report FILE` runs it,
/// locking `groups`.
async fn apply(
    config: &Config,
    sandbox: &SandboxHandle,
    groups: &[Group],
    lock_timeout: Option<Duration>,
    max_duration: Option<Duration>,
    record: &std::path::Path,
    ui: &mut Heard,
) -> Result<Applied, ops::Error> {
    let clients = clients(config, sandbox, &limiters(config), &client_options());
    let report = Report::create(record, std::path::Path::new("contactctl.yaml")).unwrap();
    let request = ApplyRequest {
        config,
        clients: &clients,
        source: Source::Fresh(Targets::all(config)),
        read: Default::default(),
        prune: false,
        force: false,
        auto_approve: true,
        max_duration,
        started: tokio::time::Instant::now(),
        interrupt: &AtomicBool::new(false),
        lock_groups: groups,
        lock_timeout,
        report: &report,
    };
    match ops::apply::run(request, ui).await {
        Ok(applied) => Ok(applied),
        Err(RunError::Ops(e)) => Err(e),
        Err(RunError::Ui(never)) => match never {},
    }
}

#[test]
fn the_library_apply_waits_for_a_held_lock_refuses_at_its_bound_and_records_it() {
    virtual_time(async {
        let sandbox = start_sandbox(vec![], vec![], 1_000, Default::default()).await;
        let dir = tempfile::tempdir().unwrap();
        let yaml = format!(
            "{}contacts:\n  - fields: {{ email: l1@lock.example }}\n",
            config_header(&sandbox.base_url(), 1_000, false)
        );
        let (_, config) = load_config(dir.path(), &yaml);
        let record = dir.path().join("record.jsonl");
        let groups = [web_group(&sandbox)];
        // another run holds web's lock
        let held = lock::take(&groups, None, None, &|_| {}).await.unwrap();

        let mut ui = Heard::default();
        let timeout = Duration::from_secs(2);
        let e = apply(
            &config,
            &sandbox,
            &groups,
            Some(timeout),
            None,
            &record,
            &mut ui,
        )
        .await
        .unwrap_err();
        assert!(
            matches!(
                &e,
                ops::Error::Lock(LockError::TimedOut { bound, .. }) if *bound == Bound::LockTimeout(timeout)
            ),
            "{e:?}"
        );
        let waits = ui.waits.lock().unwrap().clone();
        assert_eq!(waits.len(), 1, "said once: {waits:?}");
        assert_eq!(waits[0].holder, Some(std::process::id()));
        let calls = &sandbox.stats().channels["web"].calls;
        assert_eq!(calls.lookup + calls.get + calls.create, 0, "nothing read");
        let l = lines(&record);
        assert_eq!(l.len(), 2, "{l:?}");
        assert_eq!(l[0]["type"], "header");
        assert_eq!(l[1]["status"], "refused");
        assert!(
            l[1]["error"]
                .as_str()
                .unwrap()
                .contains("after --lock-timeout 2s"),
            "{l:?}"
        );

        // the wait counts against the time budget
        let mut ui = Heard::default();
        let budget = Some(Duration::from_secs(1));
        let e = apply(&config, &sandbox, &groups, None, budget, &record, &mut ui)
            .await
            .unwrap_err();
        assert!(
            matches!(
                &e,
                ops::Error::Lock(LockError::TimedOut {
                    bound: Bound::TimeBudget,
                    ..
                })
            ),
            "{e:?}"
        );
        assert_eq!(lines(&record)[1]["status"], "refused");

        // released, the run goes through, recorded from header to summary
        drop(held);
        let mut ui = Heard::default();
        let timeout = Some(Duration::from_secs(1));
        let applied = apply(&config, &sandbox, &groups, timeout, None, &record, &mut ui)
            .await
            .unwrap();
        assert!(applied.succeeded() && ui.finished);
        assert!(ui.waits.lock().unwrap().is_empty());
        let l = lines(&record);
        let types: Vec<&str> = l.iter().map(|v| v["type"].as_str().unwrap()).collect();
        assert_eq!(types, ["header", "plan", "call", "contact", "summary"]);
        assert_eq!(l[0]["channels"], serde_json::json!(["viber", "web"]));
        assert_eq!(
            (&l[4]["status"], &l[4]["exit"]),
            (&"succeeded".into(), &0.into())
        );
    });
}
