//! Throughput of the per-channel rate limiter against its limit: many calls wanted at once, sent
//! through the limiter to the sandbox (in-process, real HTTP), and the wall time compared with the
//! ideal of a sliding window (`limit` calls at once, the next `limit` when the first have left the
//! window: k windows of calls take k-1 windows, plus each window's call latency), plus the most
//! calls seen in any window.
//!
//! Quick mode (default): the limiter runs on a 2-second window instead of 60 s. Its arithmetic
//! only ever compares times with `window + margin`, so 300 calls at 120 per 2 s behave like 300
//! calls at 120 per minute, 30 times faster. The margin stays the production 100 ms: it absorbs
//! scheduling and network jitter, which does not shrink with the window. The sandbox is
//! unlimited here (its window is fixed at 60 s), so the window is checked on the times the calls
//! were let go (taken when each task resumes, so they include the scheduler's delay).
//!
//! Full mode (`LIMITER_BENCH_FULL=1`, about 2 minutes): the real 60-second limiter inside the real
//! client, against the sandbox enforcing the same limit with 429s: counts the 429s (the goal is
//! zero) and the wall time against the ideal.
//!
//! Run with `cargo bench --bench limiter`.

#[path = "../tests/it/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::Duration;

use contactctl::api::{ClientOptions, ContactsApi, HttpClient, RateLimiter, Secret, http_client};
use contactctl::model::{BooleanFormat, Channel};
use contactctl::sandbox::{Faults, SandboxHandle, sample_contact};
use support::WEB_TOKEN;
use tokio::time::Instant;

/// The harness's sandbox, `web` holding one contact and enforcing `rate_limit`.
async fn start(rate_limit: u32) -> SandboxHandle {
    support::start_sandbox(
        vec![sample_contact()],
        Vec::new(),
        rate_limit,
        Faults::default(),
    )
    .await
}

fn client(base_url: String, limiter: Arc<RateLimiter>) -> Arc<HttpClient> {
    let channel = Channel {
        name: "web".into(),
        base_url,
        token_env: "CT_WEB_TOKEN".into(),
        token_env_at: Default::default(),
        rate_limit: limiter.limit(),
        viber: false,
        viber_encode_get: false,
        boolean_format: BooleanFormat::Upper,
    };
    Arc::new(HttpClient::new(
        &channel,
        Secret::new(WEB_TOKEN.to_string()),
        http_client(Duration::from_secs(30)).expect("http client"),
        limiter,
        ClientOptions::default(),
    ))
}

/// The most of `times` (sorted) inside any half-open window of length `window`.
fn max_in_window(times: &[Duration], window: Duration) -> usize {
    let mut best = 0;
    let mut start = 0;
    for end in 0..times.len() {
        while times[end] - times[start] >= window {
            start += 1;
        }
        best = best.max(end - start + 1);
    }
    best
}

/// Ideal wall time of `calls` calls under `limit` per `window` (+ margin): k full windows of
/// calls take k-1 windows (a slot comes free a window after its call ended, so each window also
/// carries one call's latency, counted in `wall − ideal`).
fn ideal(calls: usize, limit: usize, window: Duration, margin: Duration) -> Duration {
    let waits = u32::try_from(calls.saturating_sub(1) / limit).unwrap_or(u32::MAX);
    (window + margin) * waits
}

/// Quick mode: `calls` gets wanted at once, each through `limiter`, then sent by a client
/// whose own limiter never waits.
async fn quick(limit: u32, calls: usize) {
    let window = Duration::from_secs(2);
    let margin = contactctl::api::limiter::DEFAULT_MARGIN;
    let sandbox = start(u32::MAX).await;
    let limiter = Arc::new(RateLimiter::with_window(limit, window, margin));
    let unlimited = Arc::new(RateLimiter::new(u32::MAX));
    let client = client(sandbox.base_url(), unlimited);
    let started = Instant::now();
    let tasks: Vec<_> = (0..calls)
        .map(|_| {
            let limiter = limiter.clone();
            let client = client.clone();
            tokio::spawn(async move {
                // the slot is held until the call has ended, as the client holds it
                let permit = limiter.acquire().await;
                let sent = started.elapsed();
                let found = client.get("1776025372480910").await;
                drop(permit);
                assert!(matches!(found, Ok(Some(_))), "{found:?}");
                sent
            })
        })
        .collect();
    let mut sent = Vec::with_capacity(calls);
    for t in tasks {
        sent.push(t.await.expect("task"));
    }
    let wall = started.elapsed();
    sent.sort();
    let best = ideal(calls, limit as usize, window, margin);
    let peak = max_in_window(&sent, window);
    println!(
        "| quick (2 s window) | {limit} / window | {calls} | {:.3} s | {:.3} s | {:.1} ms | {peak} (limit {limit}) | n/a (sandbox unlimited) |",
        wall.as_secs_f64(),
        best.as_secs_f64(),
        (wall.as_secs_f64() - best.as_secs_f64()) * 1000.0,
    );
    assert!(
        peak <= limit as usize,
        "the limiter let {peak} calls into one window"
    );
}

/// Full mode: the real client (its own 60 s limiter) against the sandbox enforcing the limit.
async fn full(limit: u32, calls: usize) {
    let sandbox = start(limit).await;
    let client = client(sandbox.base_url(), Arc::new(RateLimiter::new(limit)));
    let started = Instant::now();
    let tasks: Vec<_> = (0..calls)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move {
                let found = client.get("1776025372480910").await;
                assert!(matches!(found, Ok(Some(_))), "{found:?}");
                started.elapsed()
            })
        })
        .collect();
    let mut done = Vec::with_capacity(calls);
    for t in tasks {
        done.push(t.await.expect("task"));
    }
    let wall = started.elapsed();
    let best = ideal(
        calls,
        limit as usize,
        Duration::from_secs(60),
        contactctl::api::limiter::DEFAULT_MARGIN,
    );
    let stats = sandbox.stats();
    let web = &stats.channels["web"];
    let client_stats = client.stats();
    println!(
        "| full (60 s window) | {limit} / min | {calls} | {:.3} s | {:.3} s | {:.1} ms | n/a | {} (client saw {}) |",
        wall.as_secs_f64(),
        best.as_secs_f64(),
        (wall.as_secs_f64() - best.as_secs_f64()) * 1000.0,
        web.rate_limited,
        client_stats.throttled_429,
    );
    assert_eq!(web.requests as usize, calls, "every call sent once");
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    println!(
        "| mode | limit | calls | wall | ideal | wall − ideal | most calls in one window | 429s from the sandbox |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for (limit, calls) in [(120, 300), (100, 250), (10, 35)] {
        rt.block_on(quick(limit, calls));
    }
    if std::env::var_os("LIMITER_BENCH_FULL").is_some() {
        rt.block_on(full(120, 300));
    }
}
