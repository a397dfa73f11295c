//! Progress that tells the truth under the rate limiter: the real client, limiter and sandbox on
//! one virtual clock, a run of three windows (reads, then writes, each window's calls at once
//! and then a minute's wait), and the time left the progress tracker foresees compared, at every
//! step, with the time the run really took from there.

use std::sync::Mutex;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use crate::support::reliability::*;
use crate::support::{start_sandbox, wire};
use contactctl::api::wire::WireContact;
use contactctl::apply::{ApplyOptions, apply};
use contactctl::ops::progress::Tracker;
use contactctl::plan::{PlanOptions, estimated_seconds, plan};
use contactctl::read::{ReadOptions, read_live};
use contactctl::sandbox::Faults;
use tokio::time::Instant;

/// Calls a minute, on the sandbox and in the config.
const RATE: u32 = 20;
/// Contacts, each read once and then given a field update and a tag: 3 × RATE calls.
const N: usize = 20;

#[test]
fn the_time_left_is_within_a_tenth_of_the_truth_at_every_step_of_a_three_window_run() {
    let (samples, end) = virtual_time(async {
        let web: Vec<WireContact> = (0..N)
            .map(|i| {
                let email = format!("c{i}@x.com");
                wire(
                    &format!("{}", 100 + i),
                    &[("email", &email), ("firstName", "Old")],
                    &[],
                )
            })
            .collect();
        let sandbox = start_sandbox(web, vec![], RATE, Faults::default()).await;
        let mut yaml = config_header(&sandbox.base_url(), RATE, false);
        yaml.push_str("contacts:\n");
        for i in 0..N {
            yaml.push_str(&format!(
                "  - fields: {{ email: c{i}@x.com, firstName: New }}\n    tags: [T01]\n"
            ));
        }
        let dir = tempfile::tempdir().unwrap();
        let (_, config) = load_config(dir.path(), &yaml);

        // The plan, saved earlier by `plan --out` in a process of its own; by the time it is
        // applied the platform's window has passed.
        let saved = {
            let clients = clients(&config, &sandbox, &limiters(&config), &client_options());
            read_and_plan(&config, &clients).await
        };
        assert_eq!(saved.summary.api_calls, 2 * N);
        tokio::time::sleep(Duration::from_secs(61)).await;

        // `apply --plan`: the reads again, then the writes, the totals known from the start.
        let clients = clients(&config, &sandbox, &limiters(&config), &client_options());
        let tracker = Tracker::new(&clients, &config);
        tracker.expect_writes(&saved);
        let samples: Mutex<Vec<(Instant, Duration)>> = Mutex::new(Vec::new());
        let step = || {
            let left = tracker.time_left();
            samples.lock().unwrap().push((Instant::now(), left));
        };
        let all: Vec<usize> = (0..config.contacts.len()).collect();
        let run = async {
            let live = read_live(&config, &clients, &all, ReadOptions::default(), &|e| {
                tracker.on_read(&e);
                step();
            })
            .await;
            let fresh = plan(&config, live, PlanOptions::default());
            assert_eq!(fresh, saved, "the platform did not change");
            apply(
                fresh,
                &config,
                &clients,
                ApplyOptions::default(),
                &AtomicBool::new(false),
                &|e| {
                    tracker.on_apply(&e);
                    step();
                },
            )
            .await
        };
        let every_second = async {
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                step();
            }
        };
        let report = tokio::select! {
            report = run => report,
            () = every_second => unreachable!(),
        };
        let end = Instant::now();
        assert!(report.succeeded(), "{:?}", report.outcomes);
        assert_eq!(rate_limited(&sandbox.stats()), 0);
        (samples.into_inner().unwrap(), end)
    });

    let start = samples[0].0;
    let took = end - start;
    // three windows: the reads now, the writes a window and two windows later
    assert!(
        took >= Duration::from_secs(120) && took < Duration::from_secs(122),
        "{took:?}"
    );
    // at the start, the plan's own estimate for the same calls
    assert_eq!(
        samples[0].1,
        Duration::from_secs(estimated_seconds(3 * N, RATE))
    );
    let mut worst = (0.0f64, Duration::ZERO, Duration::ZERO);
    for &(at, foreseen) in &samples {
        let truth = end - at;
        let off = foreseen.abs_diff(truth);
        // within a tenth; in the last window's burst, where what is left is the calls' own
        // few milliseconds, within a second
        let allowed = (truth / 10).max(Duration::from_secs(1));
        assert!(
            off <= allowed,
            "at {:?}: foresaw {foreseen:?}, {truth:?} left",
            at - start
        );
        if truth > Duration::from_secs(10) {
            let ratio = off.as_secs_f64() / truth.as_secs_f64();
            if ratio > worst.0 {
                worst = (ratio, at - start, foreseen);
            }
        }
    }
    assert!(samples.len() > 120, "{} steps", samples.len());
    eprintln!(
        "{} steps over {took:?}; worst off by {:.2}% (at {:?}, foreseeing {:?})",
        samples.len(),
        worst.0 * 100.0,
        worst.1,
        worst.2
    );
}
