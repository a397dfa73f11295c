//! The rate limit, end to end: the real client and the sandbox's own sliding-window limiter,
//! both on one virtual clock, so minutes of waiting run in a second. The tool never makes the
//! sandbox's limiter answer 429, on one channel or two, with or without injected faults.

use std::time::Duration;

use crate::support::reliability::*;
use crate::support::start_sandbox;
use contactctl::model::Config;
use contactctl::sandbox::{Faults, RandomFaults};

/// `n` contacts to create on `channel` (each: a look-up, then a create).
fn contacts(n: usize, channel: &str) -> String {
    (0..n)
        .map(|i| {
            format!(
                "  - channel: {channel}\n    fields: {{ email: {channel}{i}@rate.example, firstName: N{i} }}\n"
            )
        })
        .collect()
}

#[test]
fn a_run_of_more_calls_than_the_limit_never_meets_the_servers_limiter() {
    virtual_time(async {
        let sandbox = start_sandbox(vec![], vec![], 20, Faults::default()).await;
        let dir = tempfile::tempdir().unwrap();
        let yaml = format!(
            "{}contacts:\n{}",
            config_header(&sandbox.base_url(), 20, false),
            contacts(15, "web")
        );
        let (_, config) = load_config(dir.path(), &yaml);
        let limiters = limiters(&config);
        let t0 = tokio::time::Instant::now();
        let report = run_apply(&config, &sandbox, &limiters).await;
        let elapsed = t0.elapsed();
        assert!(report.succeeded(), "{:?}", report.outcomes);
        let stats = sandbox.stats();
        assert_eq!(
            stats.channels["web"].requests, 30,
            "15 look-ups, 15 creates"
        );
        assert_eq!(rate_limited(&stats), 0, "{stats:?}");
        // 30 calls at 20 a minute: the 21st waits for the first to leave the window
        assert!(elapsed >= Duration::from_secs(60), "{elapsed:?}");
        assert!(elapsed < Duration::from_secs(70), "{elapsed:?}");
        let c = check_platform(
            &config,
            &Default::default(),
            &sandbox.snapshot(),
            true,
            &|_| true,
        );
        assert!(c.problems.is_empty(), "{:?}", c.problems);
    });
}

/// The platform counts a call when it receives it, which may be anywhere between the send and
/// the answer. Calls that took long (here 900 ms each) followed by fast ones must still never
/// put more than the limit into one of the platform's windows.
#[test]
fn slow_answers_then_fast_ones_never_meet_the_servers_limiter() {
    virtual_time(async {
        let sandbox = start_sandbox(
            vec![],
            vec![],
            10,
            Faults {
                latency_ms: 900,
                ..Faults::default()
            },
        )
        .await;
        let dir = tempfile::tempdir().unwrap();
        let yaml = format!(
            "{}contacts:\n{}",
            config_header(&sandbox.base_url(), 10, false),
            contacts(5, "web")
        );
        let (_, config) = load_config(dir.path(), &yaml);
        let limiters = limiters(&config);
        // 10 calls, each answered 900 ms after it was sent
        assert!(run_apply(&config, &sandbox, &limiters).await.succeeded());
        sandbox.set_faults(Faults::default());
        // then 5 fast reads, in the same process (same limiter)
        let clients = clients(&config, &sandbox, &limiters, &client_options());
        let plan = read_and_plan(&config, &clients).await;
        assert!(!plan.has_changes());
        let stats = sandbox.stats();
        assert_eq!(stats.channels["web"].requests, 15);
        assert_eq!(rate_limited(&stats), 0, "{stats:?}");
    });
}

/// A config of `n` new contacts on each channel at `rate` calls a minute.
fn two_channel_config(dir: &std::path::Path, base_url: &str, rate: u32, n: usize) -> Config {
    let yaml = format!(
        "{}contacts:\n{}{}",
        config_header(base_url, rate, false),
        contacts(n, "web"),
        contacts(n, "viber")
    );
    load_config(dir, &yaml).1
}

#[test]
fn each_channel_keeps_its_own_limit_while_both_run_at_once() {
    virtual_time(async {
        let sandbox = start_sandbox(vec![], vec![], 12, Faults::default()).await;
        let dir = tempfile::tempdir().unwrap();
        let config = two_channel_config(dir.path(), &sandbox.base_url(), 12, 10);
        let limiters = limiters(&config);
        let t0 = tokio::time::Instant::now();
        let report = run_apply(&config, &sandbox, &limiters).await;
        assert!(report.succeeded(), "{:?}", report.outcomes);
        let stats = sandbox.stats();
        assert_eq!(stats.channels["web"].requests, 20);
        assert_eq!(stats.channels["viber"].requests, 20);
        assert_eq!(rate_limited(&stats), 0, "{stats:?}");
        // 20 calls a channel at 12 a minute: one wait of a window, in parallel, not two
        let elapsed = t0.elapsed();
        assert!(elapsed >= Duration::from_secs(60), "{elapsed:?}");
        assert!(elapsed < Duration::from_secs(120), "{elapsed:?}");
    });
}

/// Retries are calls too: under 500s, resets, injected 429s and slow answers, at 15 calls a
/// minute, the platform's limiter still never refuses one.
#[test]
fn retries_under_faults_stay_within_the_limit() {
    for seed in 0..6 {
        virtual_time(async {
            let faults = Faults {
                random: Some(RandomFaults {
                    seed,
                    p_500: 0.2,
                    p_reset: 0.1,
                    p_429: 0.2,
                    p_drop_create: 0.3,
                    p_slow: 0.1,
                    slow_ms: TIMEOUT.as_millis() as u64 + 500,
                }),
                retry_after_secs: Some(1),
                ..Faults::default()
            };
            let sandbox = start_sandbox(vec![], vec![], 15, faults).await;
            let dir = tempfile::tempdir().unwrap();
            let config = two_channel_config(dir.path(), &sandbox.base_url(), 15, 8);
            let limiters = limiters(&config);
            let first = run_apply(&config, &sandbox, &limiters).await;
            sandbox.set_faults(Faults::default());
            let second = run_apply(&config, &sandbox, &limiters).await;
            assert!(second.succeeded(), "seed {seed}: {:?}", second.outcomes);
            let stats = sandbox.stats();
            assert!(
                faults_injected(&stats) > 0,
                "seed {seed}: no fault was injected"
            );
            assert!(check_report(&first).is_empty(), "seed {seed}");
            assert_eq!(rate_limited(&stats), 0, "seed {seed}: {stats:?}");
            let c = check_platform(
                &config,
                &Default::default(),
                &sandbox.snapshot(),
                true,
                &|_| true,
            );
            assert!(c.problems.is_empty(), "seed {seed}: {:?}", c.problems);
        });
    }
}
