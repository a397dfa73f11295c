//! A plan's `estimated_seconds` against the time the apply that follows takes, on the virtual
//! clock (minutes cost milliseconds; no timed assertion on the real clock): the real client and
//! rate limiter, the planner and the apply engine, against the sandbox enforcing the same limit.
//! The real-clock measurement of the same case is `bench/estimate.sh`.

use std::time::Duration;

use crate::support::reliability::*;
use crate::support::{start_sandbox, wire};
use contactctl::ops::plan::read_and_plan;
use contactctl::ops::targets::Targets;
use contactctl::plan::PlanOptions;
use contactctl::sandbox::Faults;

/// Rate limit of the channel, calls a minute.
const RATE: u32 = 40;

/// `n` contacts on the platform, each as the config wants it but for the first `renamed`.
fn case(n: usize, renamed: usize) -> (Vec<contactctl::api::wire::WireContact>, String) {
    let platform = (0..n)
        .map(|i| {
            let email = format!("e{i}@estimate.example");
            let first = if i < renamed { "Old" } else { "Same" };
            wire(
                &format!("{}", 7_000 + i),
                &[("email", &email), ("firstName", first)],
                &[],
            )
        })
        .collect();
    let contacts: String = (0..n)
        .map(|i| format!("  - fields: {{ email: e{i}@estimate.example, firstName: Same }}\n"))
        .collect();
    (platform, contacts)
}

#[test]
fn the_estimate_is_within_15_seconds_of_the_apply_at_40_a_minute_with_40_reads_and_12_writes() {
    virtual_time(async {
        let (platform, contacts) = case(40, 12);
        let sandbox = start_sandbox(platform, vec![], RATE, Faults::default()).await;
        let dir = tempfile::tempdir().unwrap();
        let yaml = format!(
            "{}contacts:\n{contacts}",
            config_header(&sandbox.base_url(), RATE, false)
        );
        let (_, config) = load_config(dir.path(), &yaml);
        let targets = Targets::all(&config);

        // The plan (in CI, on the pull request).
        let clients = clients(&config, &sandbox, &limiters(&config), &client_options());
        let plan = read_and_plan(&config, &clients, &targets, PlanOptions::default()).await;
        assert_eq!(
            (plan.summary.reads, plan.summary.api_calls),
            (40, 12),
            "40 look-ups, 12 updates"
        );
        // 52 calls at 40 a minute: 40 at once, the next 12 a window later
        assert_eq!(plan.summary.estimated_seconds, 60);

        // The apply, later (after the merge), in a new process: it plans again, then writes.
        tokio::time::sleep(Duration::from_secs(61)).await;
        let t0 = tokio::time::Instant::now();
        let report = run_apply(&config, &sandbox, &limiters(&config)).await;
        let took = t0.elapsed();
        assert!(report.succeeded(), "{:?}", report.outcomes);
        assert_eq!(report.requests_sent, 52);
        assert_eq!(rate_limited(&sandbox.stats()), 0);
        let estimate = Duration::from_secs(plan.summary.estimated_seconds);
        let off = took.abs_diff(estimate);
        assert!(
            off <= Duration::from_secs(15),
            "estimated {estimate:?}, took {took:?}"
        );
        println!("FIGURES estimate {estimate:?}, apply took {took:?} (virtual)");
    });
}
