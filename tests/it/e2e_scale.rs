//! End-to-end call counting (SPEC "Reading in bulk"): a marked repo of N contacts is planned in
//! ceil(N / page size) look-ups at the page size the server actually serves, an unmarked one in N
//! reads, and apply makes exactly the calls the plan announced. Counts come from the sandbox,
//! which sees every request the built binary sends.

use crate::support::{Env, wire};
use contactctl::api::wire::WireContact;
use contactctl::sandbox::{CallCounts, Faults};

const N: usize = 200;

/// A sandbox whose `web` channel serves at most `max_per_page` contacts per look-up page.
fn env_with_page(web: Vec<WireContact>, max_per_page: u64) -> Env {
    let mut state = crate::support::platform(web, Vec::new(), 100_000, Faults::default());
    state.channels.get_mut("web").unwrap().max_per_page = max_per_page;
    Env::with_state(state)
}

/// N contacts on the platform, marked unless `unmarked(i)`.
fn platform(unmarked: impl Fn(usize) -> bool) -> Vec<WireContact> {
    (0..N)
        .map(|i| {
            let email = format!("u{i}@x.com");
            let mut fields = vec![("email", email.as_str()), ("firstName", "Old")];
            if !unmarked(i) {
                fields.push(("managed_by", "git"));
            }
            wire(&format!("{}", 5_000 + i), &fields, &["VIP"])
        })
        .collect()
}

/// The config's contacts: every one of the N, and the first `drift` renamed.
fn contacts(drift: usize) -> String {
    (0..N)
        .map(|i| {
            let name = if i < drift { "New" } else { "Old" };
            format!("  - fields: {{ email: u{i}@x.com, firstName: {name} }}\n    tags: [VIP]\n")
        })
        .collect()
}

/// Write `contactctl.yaml` for `env` with a rate limit high enough that the client's limiter
/// never waits (the calls are counted here, not timed), and `rest` after the header.
fn config(env: &Env, rest: &str) -> std::path::PathBuf {
    let base = env.sandbox.base_url();
    let text = format!(
        "version: 1\nchannels:\n  web:\n    base_url: {base}\n    token_env: CT_WEB_TOKEN\n    rate_limit: 100000\nfields:\n  email: {{ type: email }}\n  firstName: {{ type: text }}\ntags: [VIP]\n{rest}"
    );
    let path = env.dir.path().join("contactctl.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

const MARKED: &str =
    "defaults:\n  channel: web\n  key: email\n  marker: { field: managed_by, value: git }\n";
const UNMARKED: &str = "defaults:\n  channel: web\n  key: email\n";
/// Drift small enough to pass the safety check (30% of N).
const DRIFT: usize = 20;

fn calls(env: &Env) -> CallCounts {
    env.stats().channels["web"].calls.clone()
}

fn writes(c: &CallCounts) -> u64 {
    c.create + c.update + c.add_tags + c.remove_tags
}

fn minus(a: &CallCounts, b: &CallCounts) -> CallCounts {
    CallCounts {
        lookup: a.lookup - b.lookup,
        get: a.get - b.get,
        update: a.update - b.update,
        add_tags: a.add_tags - b.add_tags,
        remove_tags: a.remove_tags - b.remove_tags,
        create: a.create - b.create,
        other: a.other - b.other,
    }
}

/// Plan (JSON) and apply `config`; returns the plan's reads, its `api_calls`, and apply's calls.
fn plan_and_apply(env: &Env, config: &std::path::Path) -> (CallCounts, u64, CallCounts) {
    let before = calls(env);
    let out = env
        .cmd()
        .args(["plan", "--format", "json"])
        .arg(config)
        .output()
        .unwrap();
    let plan = Env::json(&out);
    assert_eq!(plan["summary"]["errors"], 0, "{plan:#}");
    let planned = calls(env);
    let api_calls = plan["summary"]["api_calls"].as_u64().unwrap();
    env.cmd()
        .args(["apply", "--auto-approve"])
        .arg(config)
        .assert()
        .success();
    let applied = calls(env);
    (
        minus(&planned, &before),
        api_calls,
        minus(&applied, &planned),
    )
}

#[test]
fn a_marked_repo_is_planned_in_one_look_up_per_page_of_the_server_s_size() {
    for (max_per_page, pages) in [(10u64, N.div_ceil(10)), (100, N.div_ceil(100))] {
        let env = env_with_page(platform(|_| false), max_per_page);
        let config = config(&env, &format!("{MARKED}contacts:\n{}", contacts(DRIFT)));
        let (plan_reads, api_calls, apply) = plan_and_apply(&env, &config);
        assert_eq!(
            (plan_reads.lookup, plan_reads.get, writes(&plan_reads)),
            (pages as u64, 0, 0),
            "page size {max_per_page}: plan reads"
        );
        assert_eq!(api_calls, DRIFT as u64, "one update per renamed contact");
        // apply plans again (the same reads), then makes exactly the announced calls
        assert_eq!(
            (apply.lookup, apply.get, writes(&apply)),
            (pages as u64, 0, api_calls),
            "page size {max_per_page}: apply calls"
        );
        assert_eq!(apply.update, api_calls);
    }
}

#[test]
fn only_what_paging_did_not_find_is_read_one_by_one() {
    // every 20th contact lacks the marker: 10 of 200
    let unmarked = |i: usize| i.is_multiple_of(20);
    let env = env_with_page(platform(unmarked), 10);
    let config = config(&env, &format!("{MARKED}contacts:\n{}", contacts(0)));
    let (plan_reads, api_calls, apply) = plan_and_apply(&env, &config);
    let marked = N - N / 20;
    assert_eq!(
        (plan_reads.lookup, plan_reads.get),
        ((marked.div_ceil(10) + N / 20) as u64, 0),
        "19 pages of marked contacts, then 10 single look-ups"
    );
    assert_eq!(api_calls, (N / 20) as u64, "a marker-only update each");
    assert_eq!(writes(&apply), api_calls);
    // now every contact is marked: the next plan pages only
    let before = calls(&env);
    env.plan_has_no_changes(&config);
    let reads = minus(&calls(&env), &before);
    assert_eq!((reads.lookup, reads.get), (N.div_ceil(10) as u64, 0));
}

#[test]
fn without_the_marker_every_contact_costs_one_read() {
    let env = env_with_page(platform(|_| true), 100);
    let config = config(&env, &format!("{UNMARKED}contacts:\n{}", contacts(DRIFT)));
    let (plan_reads, api_calls, apply) = plan_and_apply(&env, &config);
    assert_eq!(
        (plan_reads.lookup, plan_reads.get, writes(&plan_reads)),
        (N as u64, 0, 0)
    );
    assert_eq!(api_calls, DRIFT as u64);
    assert_eq!(
        (apply.lookup, writes(&apply)),
        (N as u64, api_calls),
        "apply: the same reads, then exactly the planned calls"
    );
}
