//! The gates of `contactctl apply` hold in the library's apply (`ops::apply::run`), which the
//! reliability suites and the calls bench run: a plan over the safety limit is refused there
//! after its reads, before any write; one under it is applied.

use std::path::Path;
use std::sync::atomic::AtomicBool;

use crate::support::reliability::*;
use crate::support::{start_sandbox, wire};
use contactctl::apply::ApplyReport;
use contactctl::ops;
use contactctl::plan::Warning;
use contactctl::sandbox::{CallCounts, Faults, SandboxHandle};

/// Calls a minute: high enough that nothing waits.
const RATE: u32 = 1_000;

/// 10 contacts on `web`, the first `renamed` of them with another first name than the
/// config's; the config (its safety limit: 30% of a channel's existing contacts) in `dir`;
/// what `contactctl apply --auto-approve` of it returns.
async fn apply_case(
    renamed: usize,
    dir: &Path,
) -> (SandboxHandle, Result<ApplyReport, ops::Error>) {
    let platform = (0..10)
        .map(|i| {
            let email = format!("g{i}@gate.example");
            let first = if i < renamed { "Old" } else { "Same" };
            wire(
                &format!("{}", 9_000 + i),
                &[("email", &email), ("firstName", first)],
                &[],
            )
        })
        .collect();
    let sandbox = start_sandbox(platform, vec![], RATE, Faults::default()).await;
    let contacts: String = (0..10)
        .map(|i| format!("  - fields: {{ email: g{i}@gate.example, firstName: Same }}\n"))
        .collect();
    let yaml = format!(
        "{}contacts:\n{contacts}",
        config_header(&sandbox.base_url(), RATE, false)
            .replace("max_change_percent: 100", "max_change_percent: 30")
    );
    let (_, config) = load_config(dir, &yaml);
    let clients = clients(&config, &sandbox, &limiters(&config), &client_options());
    let result = try_plan_and_apply(&config, &clients, &AtomicBool::new(false)).await;
    (sandbox, result)
}

fn writes(c: &CallCounts) -> u64 {
    c.create + c.update + c.add_tags + c.remove_tags
}

#[test]
fn the_library_apply_refuses_a_plan_over_the_safety_limit_before_any_write() {
    virtual_time(async {
        let dir = tempfile::tempdir().unwrap();
        let (sandbox, refused) = apply_case(4, dir.path()).await;
        match refused {
            Err(e @ ops::Error::Unsafe { .. }) => {
                assert_eq!(
                    e.to_string(),
                    "refusing to apply: more contacts would change than the safety limit \
                     allows; no call was made"
                );
                let ops::Error::Unsafe { warnings } = e else {
                    unreachable!()
                };
                assert_eq!(warnings.len(), 1, "{warnings:?}");
                assert!(
                    matches!(&warnings[0], Warning::TooManyChanges { channel, .. } if channel == "web"),
                    "{warnings:?}"
                );
            }
            other => panic!("expected the safety gate's refusal, got {other:?}"),
        }
        let calls = &sandbox.stats().channels["web"].calls;
        assert_eq!(calls.lookup, 10, "the plan was read");
        assert_eq!(writes(calls), 0, "nothing was written");
    });
}

#[test]
fn the_library_apply_applies_a_plan_under_the_safety_limit() {
    virtual_time(async {
        let dir = tempfile::tempdir().unwrap();
        let (sandbox, applied) = apply_case(2, dir.path()).await;
        let report = applied.expect("20% is under the limit");
        assert!(report.succeeded(), "{:?}", report.outcomes);
        assert_eq!(writes(&sandbox.stats().channels["web"].calls), 2);
    });
}
