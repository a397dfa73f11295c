//! For the reliability suites (`tests/it/reliability_*.rs`): a virtual clock under which the
//! real HTTP client and the in-process sandbox talk over loopback, generated configs, clients
//! built for that clock, the library's apply (`ops::apply::run`: the command's sequence, its
//! gates included) and read → plan run in-process through them, and the checks every suite
//! makes: platform equals config, no duplicates, unmanaged data untouched, honest reports.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use contactctl::api::wire::WireContact;
use contactctl::api::{ClientOptions, HttpClient, RateLimiter, Secret, http_client};
use contactctl::apply::{ApplyReport, Interrupt, Outcome};
use contactctl::model::{Config, DesiredContact, Identity, LiveContact, normalize};
use contactctl::ops::apply::{Applied, ApplyRequest, ApplyUi, Event, Rechecked, RunError, Source};
use contactctl::ops::report::Report;
use contactctl::ops::{self, Targets};
use contactctl::plan::{Action, Plan, PlanOptions};
use contactctl::read::ReadOptions;
use contactctl::sandbox::{SandboxHandle, SandboxState, Stats};

/// Managed tags of every generated config (12: more than one tag call's 10).
pub const TAGS: [&str; 12] = [
    "T01", "T02", "T03", "T04", "T05", "T06", "T07", "T08", "T09", "T10", "T11", "T12",
];
/// Tags and fields the configs never manage: they must survive every run untouched.
pub const UNMANAGED_TAGS: [&str; 2] = ["Newsletter", "zz-crm"];
pub const UNMANAGED_FIELDS: [&str; 2] = ["locale", "crm_id"];
/// Extra text fields declared so that some contacts carry more than 30 fields.
pub const BULK_FIELDS: usize = 32;

/// How far the virtual clock moves every few scheduler turns.
pub const TICK: Duration = Duration::from_millis(5);

/// Run `f` on a one-thread runtime whose clock is virtual and moves [`TICK`] every few scheduler
/// turns. Loopback IO is polled on every turn, so a request reaches the sandbox (in the same
/// runtime) within a tick or two, while waits of seconds or minutes (backoffs,
/// `Retry-After`, the rate limiter's window, timeouts, sandbox latency) cost a few real
/// milliseconds each.
///
/// Why not plain `start_paused`: its auto-advance jumps to the next timer whenever no task is
/// ready, even while a response is on its way over loopback, so a request could "arrive"
/// seconds late and spurious timeouts would fire. A task that always yields keeps the runtime
/// from ever being idle, so only this ticker moves the clock.
pub fn virtual_time<F: Future>(f: F) -> F::Output {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let ticker = tokio::spawn(async {
            loop {
                for _ in 0..3 {
                    tokio::task::yield_now().await;
                }
                tokio::time::advance(TICK).await;
            }
        });
        let out = f.await;
        ticker.abort();
        out
    })
}

/// The YAML header every generated config shares: both channels at `base_url`, the fields
/// (`email`, `firstName`, `phone`, `vip`, `customerid`, `city`, `b01`..`b32`), the 12 tags, and
/// a safety limit that never refuses (the suites test apply, not the safety check).
pub fn config_header(base_url: &str, rate: u32, marker: bool) -> String {
    let mut s = format!(
        "version: 1\nchannels:\n  web:\n    base_url: {base_url}\n    token_env: CT_WEB_TOKEN\n    rate_limit: {rate}\n  viber:\n    base_url: {base_url}\n    token_env: CT_VIBER_TOKEN\n    rate_limit: {rate}\n    viber: true\n    boolean_format: lower\nfields:\n  email: {{ type: email }}\n  firstName: {{ type: text }}\n  phone: {{ type: phone }}\n  vip: {{ type: boolean }}\n  customerid: {{ type: number }}\n  city: {{ type: text }}\n"
    );
    for i in 1..=BULK_FIELDS {
        s.push_str(&format!("  b{i:02}: {{ type: text }}\n"));
    }
    s.push_str(&format!("tags: [{}]\n", TAGS.join(", ")));
    s.push_str("defaults:\n  channel: web\n  key: email\n");
    if marker {
        s.push_str("  marker: { field: managed_by, value: git }\n");
    }
    s.push_str("safety:\n  max_change_percent: 100\n  min_existing: 1\n");
    s
}

/// Write `yaml` to `dir/contactctl.yaml` and load it (it must be valid).
pub fn load_config(dir: &std::path::Path, yaml: &str) -> (PathBuf, Config) {
    let path = dir.join("contactctl.yaml");
    std::fs::write(&path, yaml).unwrap();
    match contactctl::config::load(&path) {
        Ok(c) => (path, c),
        Err(d) => panic!("generated config is invalid: {d:?}\n{yaml}"),
    }
}

/// Client settings for the virtual clock: realistic retry policy, short real cost.
pub fn client_options() -> ClientOptions {
    ClientOptions {
        max_retries: 5,
        backoff_base: Duration::from_millis(50),
        backoff_max: Duration::from_secs(2),
        max_429_wait: Duration::from_secs(600),
        ..ClientOptions::default()
    }
}

/// HTTP timeout (virtual) of the suites' clients; `Faults.random.slow_ms` above it is a timeout.
pub const TIMEOUT: Duration = Duration::from_secs(2);

/// One rate limiter per channel, shared by every client of a schedule (as one process would).
pub fn limiters(config: &Config) -> BTreeMap<String, Arc<RateLimiter>> {
    config
        .channels
        .values()
        .map(|c| (c.name.clone(), Arc::new(RateLimiter::new(c.rate_limit))))
        .collect()
}

/// A client per channel of `config`, with the sandbox's tokens.
pub fn clients(
    config: &Config,
    sandbox: &SandboxHandle,
    limiters: &BTreeMap<String, Arc<RateLimiter>>,
    options: &ClientOptions,
) -> BTreeMap<String, HttpClient> {
    let http = http_client(TIMEOUT).unwrap();
    config
        .channels
        .values()
        .map(|ch| {
            let token = Secret::new(sandbox.token(&ch.name).unwrap());
            let mut options = options.clone();
            if std::env::var_os("REL_LOG").is_some() {
                // Debugging a seed: every request with its virtual end time and channel.
                let name = ch.name.clone();
                options.log = Some(Arc::new(move |line: &str| {
                    println!("{:?} {name} {line}", tokio::time::Instant::now());
                }));
            }
            let client =
                HttpClient::new(ch, token, http.clone(), limiters[&ch.name].clone(), options);
            (ch.name.clone(), client)
        })
        .collect()
}

/// What `contactctl plan` does: read every contact (and orphans when there is a marker), plan.
pub async fn read_and_plan(config: &Config, clients: &BTreeMap<String, HttpClient>) -> Plan {
    ops::plan::read_and_plan(
        config,
        clients,
        &Targets::all(config),
        ReadOptions::default(),
        PlanOptions::default(),
        &|_| {},
    )
    .await
}

/// The side of `ops::apply::run` a test takes: it shows nothing and asks nothing (as
/// `--auto-approve`); events are dropped.
pub struct Unattended;

impl ApplyUi for Unattended {
    type Error = Infallible;
    fn planned(&mut self, _: &Plan, _: Option<Rechecked>) -> Result<(), Infallible> {
        Ok(())
    }
    fn confirm(&mut self, _: &Plan) -> Result<(), Infallible> {
        Ok(())
    }
    fn writing(&mut self, _: &Plan) {}
    fn event(&self, _: Event<'_>) {}
}

/// What `contactctl apply --auto-approve` runs, the library's `ops::apply::run` with its gates:
/// read, plan, the safety gate, apply; `requests_sent` counts the plan's reads too.
pub async fn try_plan_and_apply(
    config: &Config,
    clients: &BTreeMap<String, HttpClient>,
    interrupt: &dyn Interrupt,
) -> Result<ApplyReport, ops::Error> {
    let before = ops::session::requests_sent(clients);
    let source = Source::Fresh(Targets::all(config));
    let mut report = auto_approved(config, clients, source, interrupt, &mut Unattended)
        .await?
        .report;
    report.requests_sent = usize::try_from(ops::session::requests_sent(clients) - before).unwrap();
    Ok(report)
}

/// `ops::apply::run` as `contactctl apply --auto-approve` calls it (no time budget, no
/// `--force`): the plan from `source`, shown to `ui`, which never fails.
pub async fn auto_approved<U: ApplyUi<Error = Infallible>>(
    config: &Config,
    clients: &BTreeMap<String, HttpClient>,
    source: Source,
    interrupt: &dyn Interrupt,
    ui: &mut U,
) -> Result<Applied, ops::Error> {
    let request = ApplyRequest {
        config,
        clients,
        source,
        read: Default::default(),
        prune: false,
        force: false,
        auto_approve: true,
        max_duration: None,
        started: tokio::time::Instant::now(),
        interrupt,
        // as under --sandbox: each test's simulator is its own, nothing to lock
        lock_groups: &[],
        lock_timeout: None,
        report: &Report::none(),
    };
    match ops::apply::run(request, ui).await {
        Ok(applied) => Ok(applied),
        Err(RunError::Ops(e)) => Err(e),
        Err(RunError::Ui(never)) => match never {},
    }
}

/// [`try_plan_and_apply`] of a config whose safety limit lets the plan through.
pub async fn plan_and_apply(
    config: &Config,
    clients: &BTreeMap<String, HttpClient>,
    interrupt: &dyn Interrupt,
) -> ApplyReport {
    match try_plan_and_apply(config, clients, interrupt).await {
        Ok(report) => report,
        Err(e) => panic!("apply refused: {e}"),
    }
}

/// `plan_and_apply` with fresh clients (a new process) and no interrupt.
pub async fn run_apply(
    config: &Config,
    sandbox: &SandboxHandle,
    limiters: &BTreeMap<String, Arc<RateLimiter>>,
) -> ApplyReport {
    run_apply_with(config, sandbox, limiters, &client_options()).await
}

/// `run_apply` with these client options.
pub async fn run_apply_with(
    config: &Config,
    sandbox: &SandboxHandle,
    limiters: &BTreeMap<String, Arc<RateLimiter>>,
    options: &ClientOptions,
) -> ApplyReport {
    let clients = clients(config, sandbox, limiters, options);
    plan_and_apply(config, &clients, &AtomicBool::new(false)).await
}

/// Faults injected so far, every kind summed over channels (the rate limiter's own 429s apart).
pub fn faults_injected(stats: &Stats) -> u64 {
    stats
        .channels
        .values()
        .chain(std::iter::once(&stats.no_channel))
        .map(|c| {
            c.injected_429
                + c.injected_500
                + c.injected_resets
                + c.injected_401
                + c.injected_slow
                + c.create_responses_dropped
        })
        .sum()
}

/// 429s the sandbox's rate limiter sent (the tool went over the limit), over channels.
pub fn rate_limited(stats: &Stats) -> u64 {
    stats.channels.values().map(|c| c.rate_limited).sum()
}

fn live(w: &WireContact) -> LiveContact {
    w.clone().into()
}

/// Whether live contact `w` has the identity `identity` (IDs exactly, keys after normalising).
pub fn has_identity(config: &Config, identity: &Identity, w: &WireContact) -> bool {
    match identity {
        Identity::Id(id) => w.id == *id,
        Identity::Key { field, value } => {
            let ty = config.field_type(field);
            let want = normalize(ty, Some(value));
            want.is_some() && normalize(ty, live(w).value(field)) == want
        }
    }
}

/// What a check found.
#[derive(Debug, Default)]
pub struct Checked {
    /// Desired contacts compared with the platform.
    pub contacts: usize,
    /// Desired contacts held by more than one live contact.
    pub duplicates: usize,
    /// Everything that is not as it should be, in words.
    pub problems: Vec<String>,
}

/// The live contacts of `channel` in `state`.
fn channel_contacts<'a>(state: &'a SandboxState, channel: &str) -> &'a [WireContact] {
    state
        .channels
        .get(channel)
        .map_or(&[][..], |c| c.contacts.as_slice())
}

/// Compare one desired contact with the live one holding its identity; `seed` is the contact as
/// it was before any run (`None`: it did not exist).
fn compare(
    config: &Config,
    d: &DesiredContact,
    w: &WireContact,
    seed: Option<&WireContact>,
) -> Vec<String> {
    let l = live(w);
    let who = format!("{} on {}", d.identity, d.channel);
    let mut problems = Vec::new();
    for (name, want) in &d.fields {
        let ty = config.field_type(name);
        if normalize(ty, l.value(name)) != normalize(ty, want.as_deref()) {
            problems.push(format!(
                "{who}: field {name} is {:?}, config says {want:?}",
                l.value(name)
            ));
        }
    }
    if let Some(m) = &config.marker
        && l.value(&m.field) != Some(m.value.as_str())
    {
        problems.push(format!("{who}: marker missing: {:?}", l.value(&m.field)));
    }
    let managed: BTreeSet<String> = w
        .tags
        .iter()
        .filter(|t| config.tags.contains(*t))
        .cloned()
        .collect();
    let seed_l = seed.map(live);
    match &d.tags {
        Some(want) if managed != *want => {
            problems.push(format!(
                "{who}: managed tags {managed:?}, config says {want:?}"
            ));
        }
        None => {
            let before: BTreeSet<String> = seed
                .map(|s| {
                    s.tags
                        .iter()
                        .filter(|t| config.tags.contains(*t))
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            if managed != before {
                problems.push(format!(
                    "{who}: has no tags: key, yet its managed tags went from {before:?} to {managed:?}"
                ));
            }
        }
        _ => {}
    }
    // Unmanaged tags and fields, and managed fields the contact does not write: untouched.
    let unmanaged = |c: &WireContact| -> Vec<String> {
        let mut t: Vec<String> = c
            .tags
            .iter()
            .filter(|t| !config.tags.contains(*t))
            .cloned()
            .collect();
        t.sort();
        t
    };
    let before_tags = seed.map(unmanaged).unwrap_or_default();
    if unmanaged(w) != before_tags {
        problems.push(format!(
            "{who}: unmanaged tags went from {before_tags:?} to {:?}",
            unmanaged(w)
        ));
    }
    let marker = config.marker.as_ref().map(|m| m.field.as_str());
    let untouched = |name: &str| !d.fields.contains_key(name) && Some(name) != marker;
    let names: BTreeSet<&str> = l
        .fields
        .keys()
        .map(|k| k.as_str())
        .chain(
            seed_l
                .iter()
                .flat_map(|s| s.fields.keys().map(|k| k.as_str())),
        )
        .filter(|n| untouched(n))
        .collect();
    for name in names {
        let before = seed_l.as_ref().and_then(|s| s.value(name));
        if l.value(name) != before {
            problems.push(format!(
                "{who}: field {name} is not the config's, yet went from {before:?} to {:?}",
                l.value(name)
            ));
        }
    }
    problems
}

/// The desired contacts (as `identity on channel`) that `now` does not hold exactly once and as
/// the config says.
pub fn unconverged(config: &Config, seed: &SandboxState, now: &SandboxState) -> BTreeSet<String> {
    config
        .contacts
        .iter()
        .filter(|d| {
            let holders: Vec<&WireContact> = channel_contacts(now, &d.channel)
                .iter()
                .filter(|w| has_identity(config, &d.identity, w))
                .collect();
            match holders.as_slice() {
                [one] => {
                    let seed_w = channel_contacts(seed, &d.channel)
                        .iter()
                        .find(|s| s.id == one.id);
                    !compare(config, d, one, seed_w).is_empty()
                }
                _ => true,
            }
        })
        .map(|d| format!("{} on {}", d.identity, d.channel))
        .collect()
}

/// Check the platform `now` against the config, given the state `seed` it started from:
/// every desired contact held by exactly one live contact (`require_all`; else at most one) and,
/// where `done` says so (by config index), equal to the config; every live contact the config
/// does not name exactly as it was; no contact created but the config's.
pub fn check_platform(
    config: &Config,
    seed: &SandboxState,
    now: &SandboxState,
    require_all: bool,
    done: &dyn Fn(usize) -> bool,
) -> Checked {
    let mut out = Checked::default();
    let mut claimed: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (i, d) in config.contacts.iter().enumerate() {
        let holders: Vec<&WireContact> = channel_contacts(now, &d.channel)
            .iter()
            .filter(|w| has_identity(config, &d.identity, w))
            .collect();
        out.contacts += 1;
        claimed
            .entry(d.channel.as_str())
            .or_default()
            .extend(holders.iter().map(|w| w.id.as_str()));
        match holders.len() {
            0 if require_all || done(i) => out.problems.push(format!(
                "{} on {}: not on the platform",
                d.identity, d.channel
            )),
            0 => {}
            1 => {
                if require_all || done(i) {
                    let seed_w = channel_contacts(seed, &d.channel)
                        .iter()
                        .find(|s| s.id == holders[0].id);
                    out.problems.extend(compare(config, d, holders[0], seed_w));
                }
            }
            n => {
                out.duplicates += 1;
                out.problems.push(format!(
                    "{} on {}: DUPLICATED, {n} contacts: {:?}",
                    d.identity,
                    d.channel,
                    holders.iter().map(|w| &w.id).collect::<Vec<_>>()
                ));
            }
        }
    }
    for (name, ch) in &now.channels {
        let seeded = channel_contacts(seed, name);
        for w in &ch.contacts {
            if claimed
                .get(name.as_str())
                .is_some_and(|c| c.contains(w.id.as_str()))
            {
                continue;
            }
            match seeded.iter().find(|s| s.id == w.id) {
                None => out.problems.push(format!(
                    "{name}: contact {} was created but the config names no such contact: {:?}",
                    w.id, w.custom_fields
                )),
                Some(s) if live(s) != live(w) => out.problems.push(format!(
                    "{name}: contact {} is not the config's, yet changed: {s:?} -> {w:?}",
                    w.id
                )),
                Some(_) => {}
            }
        }
    }
    out
}

/// Check an apply report for what it claims: one outcome per planned contact; a plan error only
/// for a contact planned as an error; an error message on every failure; `failures()` lists
/// exactly the failed and not-run contacts; `succeeded()` only when every contact is done or
/// needed nothing. Returns the problems.
pub fn check_report(report: &ApplyReport) -> Vec<String> {
    let mut problems = Vec::new();
    if report.outcomes.len() != report.plan.contacts.len() {
        problems.push(format!(
            "{} outcomes for {} planned contacts",
            report.outcomes.len(),
            report.plan.contacts.len()
        ));
    }
    let mut failed = 0;
    for (c, o) in report.plan.contacts.iter().zip(&report.outcomes) {
        let who = format!("{} on {}", c.identity, c.channel);
        if (o.outcome == Outcome::PlanError) != (c.action == Action::Error) {
            problems.push(format!(
                "{who}: outcome {:?} for action {:?}",
                o.outcome, c.action
            ));
        }
        if c.action == Action::Error && c.error.is_none() {
            problems.push(format!("{who}: planned as an error without a reason"));
        }
        match o.outcome {
            Outcome::Failed | Outcome::NotRun => {
                failed += 1;
                if o.error.is_none() {
                    problems.push(format!("{who}: {:?} without a reason", o.outcome));
                }
            }
            Outcome::Done if o.calls_done != c.calls.len() => problems.push(format!(
                "{who}: done after {} of {} calls",
                o.calls_done,
                c.calls.len()
            )),
            Outcome::NoChange if !c.calls.is_empty() => {
                problems.push(format!(
                    "{who}: no change yet {} calls planned",
                    c.calls.len()
                ));
            }
            _ => {}
        }
    }
    if report.failures().count() != failed {
        problems.push("failures() does not list every failed contact".to_string());
    }
    let all_ok = report
        .outcomes
        .iter()
        .all(|o| matches!(o.outcome, Outcome::Done | Outcome::NoChange));
    // a run also fails when some channel's orphans could not be looked for
    let complete = !report.plan.is_incomplete();
    if report.succeeded() != (all_ok && !report.interrupted && complete) {
        problems.push(format!(
            "succeeded() is {} but outcomes say {all_ok} (orphans all looked for: {complete})",
            report.succeeded()
        ));
    }
    problems
}

/// The config indices of the contacts an apply reports done or unchanged.
pub fn done_indices(config: &Config, report: &ApplyReport) -> BTreeSet<usize> {
    report
        .plan
        .contacts
        .iter()
        .zip(&report.outcomes)
        .filter(|(_, o)| matches!(o.outcome, Outcome::Done | Outcome::NoChange))
        .filter_map(|(c, _)| {
            config
                .contacts
                .iter()
                .position(|d| d.channel == c.channel && d.identity == c.identity)
        })
        .collect()
}
