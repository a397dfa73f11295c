//! API calls of `plan` and `apply` on generated repos of 1,000 and 10,000 contacts, with and
//! without the marker, against the fewest calls that could do the job — the figure that decides
//! how long a run takes at 100 calls a minute. Runs the library's operations (read and plan;
//! `ops::apply::run`, the sequence `contactctl apply --auto-approve` runs, its safety gate and
//! the saved plan's recheck included) over real HTTP against the test harness's sandbox started
//! in-process (platform page size 10, no effective rate limit: calls are counted, not waited
//! for), and prints a Markdown table.
//!
//! A second table: a pull request of 10 changed contacts (8 edited, 1 added, 1 dropped) to the
//! same repos, all applied: the reads of a full plan, of a plan scoped to the change
//! (`--base`/`--changed-since`), and of `apply --plan` of that scoped plan, beside the fewest
//! reads that can plan the change.
//!
//! Run with `cargo bench --bench calls`; `CALLS_BENCH_SIZES=1000,10000` overrides the sizes.
//! Measures only; it panics if a run fails or a count is off the expected minimum, since then
//! the table would be wrong.

#[path = "../tests/it/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use contactctl::api::wire::WireContact;
use contactctl::api::{ClientOptions, HttpClient};
use contactctl::model::Config;
use contactctl::ops::Targets;
use contactctl::ops::apply::{ApplyUi, Event, Rechecked, Source};
use contactctl::ops::plan::{read_and_plan, targets};
use contactctl::ops::saved::{FORMAT_VERSION, KIND, SavedPlan};
use contactctl::ops::scope::{Base, load_base};
use contactctl::plan::{Plan, PlanOptions};
use contactctl::read::ReadOptions;
use contactctl::sandbox::{CallCounts, Faults, SandboxHandle};
use support::reliability::{auto_approved, limiters};

/// The platform's page size (the vendor documents').
const PAGE: usize = 10;
/// The rate limit the "time at the limit" column assumes.
const RATE: usize = 100;

#[derive(Clone, Copy, PartialEq)]
enum Scenario {
    /// The platform holds none of the contacts: everything is created.
    FirstApply,
    /// The platform matches the repo.
    NoChange,
    /// 1% of the contacts were renamed on the platform.
    Drift,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::FirstApply => "first apply (all created)",
            Scenario::NoChange => "no change",
            Scenario::Drift => "1% drifted",
        }
    }
}

fn config_text(base_url: &str, n: usize, marker: bool) -> String {
    config_with(base_url, marker, (0..n).map(contact_yaml))
}

/// Contact `i` of the generated repos, as the config writes it.
fn contact_yaml(i: usize) -> String {
    format!(
        "  - fields: {{ email: user{i}@example.com, firstName: User{i}, customerid: {i} }}\n    tags: [VIP]\n"
    )
}

/// The config: the header, then `contacts` (YAML list items).
fn config_with(base_url: &str, marker: bool, contacts: impl Iterator<Item = String>) -> String {
    let mut s = format!(
        "version: 1\nchannels:\n  web:\n    base_url: {base_url}\n    token_env: CT_WEB_TOKEN\n    rate_limit: 1000000\nfields:\n  email: {{ type: email }}\n  firstName: {{ type: text }}\n  customerid: {{ type: number }}\ntags: [VIP, Blog Updates]\ndefaults:\n  channel: web\n  key: email\n"
    );
    if marker {
        s.push_str("  marker: { field: managed_by, value: git }\n");
    }
    s.push_str("safety: { max_change_percent: 100 }\ncontacts:\n");
    for c in contacts {
        s.push_str(&c);
    }
    s
}

fn platform(n: usize, marker: bool, scenario: Scenario) -> Vec<WireContact> {
    if scenario == Scenario::FirstApply {
        return Vec::new();
    }
    let drifted = if scenario == Scenario::Drift {
        n / 100
    } else {
        0
    };
    (0..n)
        .map(|i| {
            let mut fields = vec![
                ("email", format!("user{i}@example.com")),
                (
                    "firstName",
                    if i < drifted {
                        format!("Renamed{i}")
                    } else {
                        format!("User{i}")
                    },
                ),
                ("customerid", i.to_string()),
                ("locale", "en_GB".to_string()),
            ];
            if marker {
                fields.push(("managed_by", "git".to_string()));
            }
            WireContact {
                id: format!("{}", 1_000_000_000_000_000u64 + i as u64),
                custom_fields: fields
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), Some(v)))
                    .collect(),
                tags: vec!["VIP".into()],
                created_at: Some(1_700_000_000),
            }
        })
        .collect()
}

/// The fewest (reads, writes) that can plan and apply the scenario: without the marker every
/// contact must be looked up; with it, one page per 10 marked contacts, plus one look-up for each
/// contact paging cannot find (here: all of them on a first apply, after an empty first page).
/// Writes: a create and a tag call per new contact, one update per drifted one.
fn minimum(n: usize, marker: bool, scenario: Scenario) -> (usize, usize) {
    let reads = match (marker, scenario) {
        (false, _) => n,
        (true, Scenario::FirstApply) => 1 + n,
        (true, _) => n.div_ceil(PAGE),
    };
    let writes = match scenario {
        Scenario::FirstApply => 2 * n,
        Scenario::NoChange => 0,
        Scenario::Drift => n / 100,
    };
    (reads, writes)
}

fn reads(c: &CallCounts) -> u64 {
    c.lookup + c.get
}

fn writes(c: &CallCounts) -> u64 {
    c.create + c.update + c.add_tags + c.remove_tags
}

struct Row {
    n: usize,
    marker: bool,
    scenario: Scenario,
    plan_reads: u64,
    min_reads: usize,
    apply_writes: u64,
    planned_calls: usize,
    min_writes: usize,
    wall: Duration,
}

/// The harness's sandbox holding `contacts` on `web`, with the platform's page size of 10 and no
/// rate limit.
async fn start(contacts: Vec<WireContact>) -> SandboxHandle {
    let mut state = support::platform(contacts, Vec::new(), u32::MAX, Faults::default());
    state.channels.get_mut("web").expect("web").max_per_page = PAGE as u64;
    support::serve(state).await
}

/// The client of each channel of `config` (here: `web`), with the tool's own settings.
fn clients(config: &Config, sandbox: &SandboxHandle) -> BTreeMap<String, HttpClient> {
    let options = ClientOptions::default();
    support::reliability::clients(config, sandbox, &limiters(config), &options)
}

/// The bench's side of `ops::apply::run`: it asks nothing (as `--auto-approve`) and notes the
/// platform's call counts when the plan is known, so that the plan's reads and the writes are
/// told apart.
struct AtPlan<'a> {
    sandbox: &'a SandboxHandle,
    /// `web`'s calls when the plan was known.
    calls: CallCounts,
    /// The plan's calls.
    planned_calls: usize,
}

impl ApplyUi for AtPlan<'_> {
    type Error = Infallible;
    fn planned(&mut self, plan: &Plan, _: Option<Rechecked>) -> Result<(), Infallible> {
        assert_eq!(plan.summary.errors, 0, "plan has errors");
        self.calls = self.sandbox.stats().channels["web"].calls.clone();
        self.planned_calls = plan.summary.api_calls;
        Ok(())
    }
    fn confirm(&mut self, _: &Plan) -> Result<(), Infallible> {
        Ok(())
    }
    fn writing(&mut self, _: &Plan) {}
    fn event(&self, _: Event<'_>) {}
}

/// Apply the plan from `source` with the library's apply operation, as `contactctl apply
/// --auto-approve` does (its safety gate included); it must succeed. What the sandbox had
/// counted when the plan was known.
async fn apply_all<'a>(
    source: Source,
    config: &Config,
    clients: &BTreeMap<String, HttpClient>,
    sandbox: &'a SandboxHandle,
) -> AtPlan<'a> {
    let mut ui = AtPlan {
        sandbox,
        calls: CallCounts::default(),
        planned_calls: 0,
    };
    let interrupt = AtomicBool::new(false);
    match auto_approved(config, clients, source, &interrupt, &mut ui).await {
        Ok(applied) => assert!(applied.report.succeeded(), "apply failed"),
        Err(e) => panic!("apply refused: {e}"),
    }
    ui
}

/// Write `text` to `dir/name` and load it.
fn load(dir: &Path, name: &str, text: &str) -> (PathBuf, Config) {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("config written");
    let config = contactctl::config::load(&path).expect("generated config is valid");
    (path, config)
}

async fn run(n: usize, marker: bool, scenario: Scenario) -> Row {
    let sandbox = start(platform(n, marker, scenario)).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let (_, config) = load(
        dir.path(),
        "contactctl.yaml",
        &config_text(&sandbox.base_url(), n, marker),
    );
    let clients = clients(&config, &sandbox);

    let started = Instant::now();
    let at_plan = apply_all(
        Source::Fresh(Targets::all(&config)),
        &config,
        &clients,
        &sandbox,
    )
    .await;
    let (after_plan, planned_calls) = (at_plan.calls, at_plan.planned_calls);
    let wall = started.elapsed();
    let after_apply = sandbox.stats().channels["web"].calls.clone();
    let (min_reads, min_writes) = minimum(n, marker, scenario);
    Row {
        n,
        marker,
        scenario,
        plan_reads: reads(&after_plan),
        min_reads,
        apply_writes: writes(&after_apply) - writes(&after_plan),
        planned_calls,
        min_writes,
        wall,
    }
}

/// The pull request: of the repo's `n` contacts, the first 8 renamed, number 8 dropped, one
/// added (number `n`).
fn pull_request(n: usize) -> impl Iterator<Item = String> {
    (0..=n).filter(|i| *i != 8).map(|i| match i {
        i if i < 8 => contact_yaml(i).replace(&format!("User{i},"), &format!("Edited{i},")),
        i => contact_yaml(i),
    })
}

/// Reads of the pull request's plans (full, scoped, `apply --plan` of the scoped one) and the
/// fewest reads that can plan it, and the writes.
struct PrRow {
    n: usize,
    marker: bool,
    full: u64,
    scoped: u64,
    apply_plan: u64,
    min_scoped: u64,
    min_apply_plan: u64,
    writes: u64,
    skipped: usize,
}

async fn run_pull_request(n: usize, marker: bool) -> PrRow {
    let sandbox = start(platform(n, marker, Scenario::NoChange)).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let base_url = sandbox.base_url();
    let (base_path, _) = load(
        dir.path(),
        "base.yaml",
        &config_with(&base_url, marker, (0..n).map(contact_yaml)),
    );
    let (head_path, head) = load(
        dir.path(),
        "contactctl.yaml",
        &config_with(&base_url, marker, pull_request(n)),
    );
    let clients = clients(&head, &sandbox);
    let reads_now = || reads(&sandbox.stats().channels["web"].calls);

    // A full plan.
    let before = reads_now();
    let all = targets(&head, &[], &[], None).expect("targets");
    let full = read_and_plan(
        &head,
        &clients,
        &all,
        ReadOptions::default(),
        PlanOptions::default(),
        &|_| {},
    )
    .await;
    assert_eq!(full.summary.errors, 0);
    let full_reads = reads_now() - before;

    // The plan scoped to the change (`--base base.yaml`; `--changed-since` reads the same BASE
    // from git).
    let base = Base::Path(base_path);
    let loaded = load_base(&head_path, &base).expect("BASE loads");
    let scoped_targets = targets(&head, &[], &[], Some((&base, loaded))).expect("targets");
    let before = reads_now();
    let scoped = read_and_plan(
        &head,
        &clients,
        &scoped_targets,
        ReadOptions::default(),
        PlanOptions::default(),
        &|_| {},
    )
    .await;
    let scoped_reads = reads_now() - before;
    assert_eq!(scoped.summary.reads as u64, scoped_reads);
    assert_eq!(
        (scoped.summary.create, scoped.summary.update),
        (1, 8),
        "the change"
    );
    assert_eq!(
        (full.summary.create, full.summary.update),
        (1, 8),
        "the full plan finds the same change"
    );
    let planned = scoped.summary.api_calls as u64;
    let skipped = scoped.summary.skipped;

    // `apply --plan` of the scoped plan: one read per contact with calls, then the calls.
    let saved = SavedPlan {
        format_version: FORMAT_VERSION,
        kind: KIND.to_string(),
        config_hash: head.hash.clone(),
        channels: vec![],
        contacts: vec![],
        plan: scoped,
    };
    let before = reads_now();
    let source = Source::Saved {
        saved,
        path: head_path,
    };
    let at_plan = apply_all(source, &head, &clients, &sandbox).await;
    let apply_plan_reads = reads(&at_plan.calls) - before;
    let writes_before = writes(&at_plan.calls);
    let written = writes(&sandbox.stats().channels["web"].calls) - writes_before;
    assert_eq!(written, planned, "apply made other calls than planned");
    PrRow {
        n,
        marker,
        full: full_reads,
        scoped: scoped_reads,
        apply_plan: apply_plan_reads,
        // the 9 contacts of the change, and with a marker the dropped one (to find it marked)
        min_scoped: if marker { 10 } else { 9 },
        // the 9 contacts with calls
        min_apply_plan: 9,
        writes: written,
        skipped,
    }
}

/// `calls` at `RATE` a minute, sliding window: `RATE` at once, then a minute per `RATE` more.
fn at_rate(calls: u64) -> String {
    let minutes = calls.saturating_sub(1) / RATE as u64;
    match minutes {
        0 => "< 1 min".to_string(),
        m if m < 120 => format!("{m} min"),
        m => format!("{:.1} h", m as f64 / 60.0),
    }
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is not supported.
    let sizes: Vec<usize> = std::env::var("CALLS_BENCH_SIZES")
        .ok()
        .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1_000, 10_000]);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    println!(
        "| contacts | marker | scenario | plan reads | minimum reads | apply writes (= planned) | minimum writes | apply total (reads + writes) | at {RATE}/min | wall (sandbox) |"
    );
    println!("|---:|:---:|---|---:|---:|---:|---:|---:|---:|---:|");
    for &n in &sizes {
        for marker in [false, true] {
            for scenario in [Scenario::FirstApply, Scenario::NoChange, Scenario::Drift] {
                let r = rt.block_on(run(n, marker, scenario));
                assert_eq!(
                    r.apply_writes, r.planned_calls as u64,
                    "apply made other calls than planned"
                );
                let total = r.plan_reads + r.apply_writes;
                println!(
                    "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.2} s |",
                    r.n,
                    if r.marker { "yes" } else { "no" },
                    r.scenario.name(),
                    r.plan_reads,
                    r.min_reads,
                    r.apply_writes,
                    r.min_writes,
                    total,
                    at_rate(total),
                    r.wall.as_secs_f64()
                );
            }
        }
    }

    println!();
    println!(
        "| contacts | marker | pull request | full plan reads | scoped plan reads | apply --plan reads | minimum reads (scoped / apply --plan) | skipped | writes | scoped apply at {RATE}/min (reads + writes) | full apply at {RATE}/min |"
    );
    println!("|---:|:---:|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for &n in &sizes {
        for marker in [false, true] {
            let r = rt.block_on(run_pull_request(n, marker));
            assert_eq!(r.scoped, r.min_scoped, "the scoped plan is at the minimum");
            assert_eq!(
                r.apply_plan, r.min_apply_plan,
                "apply --plan is at the minimum"
            );
            println!(
                "| {} | {} | 10 contacts (8 edited, 1 added, 1 dropped) | {} | {} | {} | {} / {} | {} | {} | {} | {} |",
                r.n,
                if r.marker { "yes" } else { "no" },
                r.full,
                r.scoped,
                r.apply_plan,
                r.min_scoped,
                r.min_apply_plan,
                r.skipped,
                r.writes,
                at_rate(r.scoped + r.writes),
                at_rate(r.full + r.writes),
            );
        }
    }
}
