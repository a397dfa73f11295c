//! Throughput of the sandbox on loopback: starts it in-process with 10,000 contacts and no
//! effective rate limit, drives a mix of gets, look-ups and updates over keep-alive connections
//! from concurrent workers, and prints requests/s and latency percentiles. The target is
//! 5,000 requests/s. Run with `cargo bench --bench sandbox`; `SANDBOX_BENCH_REQUESTS` and
//! `SANDBOX_BENCH_CONCURRENCY` override 50,000 and 64. Measures only; asserts nothing but that
//! every request succeeded.

#[path = "../tests/it/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use contactctl::api::wire::WireContact;
use contactctl::sandbox::{Faults, SandboxState};
use support::WEB_TOKEN;

const CONTACTS: usize = 10_000;
const TARGET: f64 = 5_000.0;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The harness's platform with `CONTACTS` contacts on `web` and no effective rate limit.
fn state() -> SandboxState {
    let contacts = (0..CONTACTS)
        .map(|i| WireContact {
            id: format!("{}", 1_000_000_000_000_000u64 + i as u64),
            custom_fields: [
                ("email", format!("user{i}@example.com")),
                ("firstName", format!("User {i}")),
                ("managed_by", "git".to_string()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), Some(v)))
            .collect(),
            tags: vec!["Blog Updates".into()],
            created_at: Some(1_575_618_542),
        })
        .collect();
    support::platform(contacts, Vec::new(), u32::MAX, Faults::default())
}

/// Request `i` of the mix: 7 in 10 gets, 2 look-ups by e-mail, 1 update.
async fn one(http: &reqwest::Client, base: &str, i: usize) -> reqwest::Result<u16> {
    let n = (i * 7919) % CONTACTS;
    let id = 1_000_000_000_000_000u64 + n as u64;
    let req = match i % 10 {
        0..=6 => http.get(format!("{base}/v1/contact/{id}")),
        7 | 8 => http.get(format!(
            "{base}/v1/contact/by_custom_field?name=email&value=user{n}%40example.com"
        )),
        _ => http
            .put(format!("{base}/v1/contact/{id}"))
            .header("Content-Type", "application/json")
            .body(format!(
                r#"{{"custom_fields":[{{"name":"firstName","value":"Bench {i}"}}]}}"#
            )),
    };
    let resp = req.bearer_auth(WEB_TOKEN).send().await?;
    let status = resp.status().as_u16();
    resp.bytes().await?;
    Ok(status)
}

/// Runs `total` requests from `workers` tasks; every latency, the failures, and the wall time.
async fn drive(
    http: &reqwest::Client,
    base: &str,
    total: usize,
    workers: usize,
) -> (Vec<Duration>, usize, Duration) {
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let tasks: Vec<_> = (0..workers)
        .map(|_| {
            let (http, base, next) = (http.clone(), base.to_string(), next.clone());
            tokio::spawn(async move {
                let mut lat = Vec::new();
                let mut failed = 0;
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= total {
                        break;
                    }
                    let t = Instant::now();
                    match one(&http, &base, i).await {
                        Ok(200) => lat.push(t.elapsed()),
                        _ => failed += 1,
                    }
                }
                (lat, failed)
            })
        })
        .collect();
    let mut all = Vec::with_capacity(total);
    let mut failed = 0;
    for t in tasks {
        let (lat, f) = t.await.expect("a bench worker panicked");
        all.extend(lat);
        failed += f;
    }
    (all, failed, start.elapsed())
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

async fn run() {
    let total = env_or("SANDBOX_BENCH_REQUESTS", 50_000);
    let workers = env_or("SANDBOX_BENCH_CONCURRENCY", 64);
    let sandbox = support::serve(state()).await;
    let base = sandbox.base_url();
    contactctl::api::install_tls_provider();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(workers)
        .build()
        .expect("building the client");

    // Warm-up: open the connections.
    drive(&http, &base, workers * 10, workers).await;

    let (mut lat, failed, wall) = drive(&http, &base, total, workers).await;
    lat.sort();
    let rps = total as f64 / wall.as_secs_f64();
    println!(
        "sandbox bench: {total} requests (70% get, 20% look-up, 10% update), {workers} concurrent, {CONTACTS} contacts"
    );
    println!(
        "  {rps:.0} requests/s in {:.2} s; {failed} failed",
        wall.as_secs_f64()
    );
    println!(
        "  latency p50 {:?}  p90 {:?}  p99 {:?}  max {:?}",
        pct(&lat, 0.50),
        pct(&lat, 0.90),
        pct(&lat, 0.99),
        pct(&lat, 1.0)
    );
    println!(
        "  target {TARGET:.0} requests/s: {}",
        if rps >= TARGET { "met" } else { "NOT met" }
    );
    let stats = sandbox.stats();
    println!(
        "  server counted {} API requests ({} rate-limited)",
        stats.total, stats.channels["web"].rate_limited
    );
    sandbox.shutdown().await;
    assert_eq!(failed, 0, "every request should succeed");
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("building the runtime");
    rt.block_on(run());
}
