//! API calls of `plan` and `apply` on generated repos of 1,000 and 10,000 contacts, with and
//! without the marker, against the fewest calls that could do the job — the figure that decides
//! how long a run takes at 100 calls a minute. Runs the library's reader, planner and apply engine
//! over real HTTP against the sandbox started in-process (platform page size 10, no effective
//! rate limit: calls are counted, not waited for), and prints a Markdown table.
//!
//! Run with `cargo bench --bench calls`; `CALLS_BENCH_SIZES=1000,10000` overrides the sizes.
//! Measures only; it panics if a run fails or a count is off the expected minimum, since then
//! the table would be wrong.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use contactctl::api::wire::WireContact;
use contactctl::api::{ClientOptions, HttpClient, RateLimiter, Secret, http_client};
use contactctl::apply::{ApplyOptions, apply};
use contactctl::model::Config;
use contactctl::plan::{PlanOptions, plan};
use contactctl::read::{ReadOptions, read_live};
use contactctl::sandbox::{self, CallCounts, ChannelState, SandboxState};

/// The platform's page size (the vendor documents').
const PAGE: usize = 10;
/// The rate limit the "time at the limit" column assumes.
const RATE: usize = 100;
const TOKEN: &str = "bench-web-token";

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
    let mut s = format!(
        "version: 1\nchannels:\n  web:\n    base_url: {base_url}\n    token_env: BENCH_TOKEN\n    rate_limit: 1000000\nfields:\n  email: {{ type: email }}\n  firstName: {{ type: text }}\n  customerid: {{ type: number }}\ntags: [VIP, Blog Updates]\ndefaults:\n  channel: web\n  key: email\n"
    );
    if marker {
        s.push_str("  marker: { field: managed_by, value: git }\n");
    }
    s.push_str("safety: { max_change_percent: 100 }\ncontacts:\n");
    for i in 0..n {
        s.push_str(&format!(
            "  - fields: {{ email: user{i}@example.com, firstName: User{i}, customerid: {i} }}\n    tags: [VIP]\n"
        ));
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

async fn run(n: usize, marker: bool, scenario: Scenario) -> Row {
    let mut ch = ChannelState::new(TOKEN);
    ch.rate_limit = u32::MAX;
    ch.max_per_page = PAGE as u64;
    ch.contacts = platform(n, marker, scenario);
    let state = SandboxState {
        channels: BTreeMap::from([("web".to_string(), ch)]),
        ..SandboxState::default()
    };
    let sandbox = sandbox::start(state, SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .await
        .expect("sandbox starts");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("contactctl.yaml");
    std::fs::write(&path, config_text(&sandbox.base_url(), n, marker)).expect("config written");
    let config: Config = contactctl::config::load(&path).expect("generated config is valid");

    let http = http_client(Duration::from_secs(30)).expect("http client");
    let channel = config.channels["web"].clone();
    let client = HttpClient::new(
        &channel,
        Secret::new(TOKEN.to_string()),
        http,
        Arc::new(RateLimiter::new(channel.rate_limit)),
        ClientOptions::default(),
    );
    let clients = BTreeMap::from([("web".to_string(), client)]);
    let selected: Vec<usize> = (0..config.contacts.len()).collect();
    let options = ReadOptions {
        orphans: true,
        ..ReadOptions::default()
    };

    let started = Instant::now();
    let live = read_live(&config, &clients, &selected, options).await;
    let p = plan(&config, live, PlanOptions::default());
    assert_eq!(p.summary.errors, 0, "plan has errors");
    let after_plan = sandbox.stats().channels["web"].calls.clone();
    let planned_calls = p.summary.api_calls;
    let report = apply(
        p,
        &config,
        &clients,
        ApplyOptions::default(),
        &AtomicBool::new(false),
        &|_| {},
    )
    .await;
    assert!(report.succeeded(), "apply failed");
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
}
