//! A plan's `estimated_seconds` against the time the apply that follows takes, on the virtual
//! clock (minutes cost milliseconds; no timed assertion on the real clock): the real client and
//! rate limiter, the planner and the apply engine, against the sandbox enforcing the same limit
//! (under `--sandbox` too, where channels sharing a token share the sandbox's window).
//! The real-clock measurement of the same case is `bench/estimate.sh`.

use std::convert::Infallible;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use crate::support::reliability::*;
use crate::support::{start_sandbox, wire};
use contactctl::ops;
use contactctl::ops::apply::{ApplyUi, Event, Rechecked, Source};
use contactctl::ops::plan::read_and_plan;
use contactctl::ops::targets::Targets;
use contactctl::plan::{Plan, PlanOptions};
use contactctl::read::ReadOptions;
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
        let plan = read_and_plan(
            &config,
            &clients,
            &targets,
            ReadOptions::default(),
            PlanOptions::default(),
            &|_| {},
        )
        .await;
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

/// The side of `ops::apply::run` this suite takes: it asks nothing and keeps the plan's estimate.
#[derive(Default)]
struct KeepsEstimate(u64);

impl ApplyUi for KeepsEstimate {
    type Error = Infallible;
    fn planned(&mut self, plan: &Plan, _: Option<Rechecked>) -> Result<(), Infallible> {
        self.0 = plan.summary.estimated_seconds;
        Ok(())
    }
    fn confirm(&mut self, _: &Plan) -> Result<(), Infallible> {
        Ok(())
    }
    fn writing(&mut self, _: &Plan) {}
    fn event(&self, _: Event<'_>) {}
}

#[test]
fn under_sandbox_two_channels_sharing_a_token_take_the_time_the_estimate_says_without_a_429() {
    virtual_time(async {
        // `web` and `wa`: one host, one token, 10 calls a minute each; 12 new contacts on each.
        // Their 24 look-ups and 24 creates queue in one window of 10: 240 s. Had the sandbox
        // (and the session) kept a window per channel, the run would take half the estimate.
        let mut yaml = String::from(
            "version: 1\nchannels:\n  web: { base_url: https://api.example/api, token_env: SHARED_TOKEN, rate_limit: 10 }\n  wa: { base_url: https://api.example/api, token_env: SHARED_TOKEN, rate_limit: 10 }\nfields: { email: { type: email } }\ndefaults: { key: email }\nsafety: { max_change_percent: 100 }\ncontacts:\n",
        );
        for channel in ["web", "wa"] {
            for i in 0..12 {
                yaml.push_str(&format!(
                    "  - {{ channel: {channel}, fields: {{ email: s{i}@{channel}.example }} }}\n"
                ));
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let (_, config) = load_config(dir.path(), &yaml);
        let endpoint = ops::Endpoint {
            sandbox: true,
            ..ops::Endpoint::default()
        };
        let channels: Vec<String> = config.channels.keys().cloned().collect();
        let session = ops::connect(config, &channels, &endpoint, None)
            .await
            .unwrap();
        let mut ui = KeepsEstimate::default();
        let t0 = tokio::time::Instant::now();
        let source = Source::Fresh(Targets::all(&session.config));
        let (config, clients) = (&session.config, &session.clients);
        let applied = auto_approved(config, clients, source, &AtomicBool::new(false), &mut ui)
            .await
            .unwrap();
        let took = t0.elapsed();
        assert!(applied.report.succeeded(), "{:?}", applied.report.outcomes);
        assert_eq!(ui.0, 240, "48 calls in one window of 10 a minute");
        let throttled: u64 = session
            .clients
            .values()
            .map(|c| c.stats().throttled_429)
            .sum();
        assert_eq!(throttled, 0, "the sandbox never had to refuse a call");
        let estimate = Duration::from_secs(ui.0);
        assert!(
            took.abs_diff(estimate) <= Duration::from_secs(15),
            "estimated {estimate:?}, took {took:?}"
        );
    });
}
