//! Long runs (SPEC "Long runs"), end to end through the built binary against the sandbox: a time
//! budget (`apply --max-duration`) starts only the contacts whose calls can finish in time at the
//! channel's rate limit, leaves the rest untouched for the next run, and says how many; the next
//! apply finishes the job without repeating a call. A budget that cannot hold even the reads is
//! refused before any call.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::support::{Env, text, wire};
use contactctl::api::wire::WireContact;

/// The sandbox's and the config's rate limit, calls a minute.
const RATE: u32 = 60;

/// `n` contacts on the platform, each needing a field update and a tag.
pub(crate) fn platform(n: usize) -> Vec<WireContact> {
    (0..n)
        .map(|i| {
            let email = format!("u{i}@x.com");
            wire(
                &format!("{}", 7_000 + i),
                &[("email", &email), ("firstName", "Old")],
                &[],
            )
        })
        .collect()
}

/// A config of `n` contacts (no marker: one read each) on channel web at [`RATE`] a minute.
fn config(env: &Env, n: usize) -> PathBuf {
    let base = env.sandbox.base_url();
    let mut text = format!(
        "version: 1\nchannels:\n  web:\n    base_url: {base}\n    token_env: CT_WEB_TOKEN\n    rate_limit: {RATE}\nfields:\n  email: {{ type: email }}\n  firstName: {{ type: text }}\ntags: [VIP]\ndefaults: {{ channel: web, key: email }}\nsafety: {{ max_change_percent: 100 }}\ncontacts:\n"
    );
    for i in 0..n {
        text.push_str(&format!(
            "  - fields: {{ email: u{i}@x.com, firstName: New }}\n    tags: [VIP]\n"
        ));
    }
    let path = env.dir.path().join("contactctl.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Contacts of web done (new name and tag) and untouched (old name, no tag); panics on a
/// contact half done.
fn done_and_untouched(env: &Env) -> (Vec<String>, Vec<String>) {
    let (mut done, mut untouched) = (Vec::new(), Vec::new());
    for c in env.contacts("web").into_values() {
        let email = c.custom_fields["email"].clone().unwrap().to_string();
        let renamed = c.custom_fields["firstName"].as_deref() == Some("New");
        let tagged = c.tags == ["VIP"];
        assert_eq!(renamed, tagged, "{email} is half done: {c:?}");
        if renamed {
            done.push(email);
        } else {
            untouched.push(email);
        }
    }
    (done, untouched)
}

#[test]
fn a_time_budget_leaves_whole_contacts_for_the_next_apply_which_repeats_no_call() {
    // 30 contacts of 2 calls after 30 reads, at 60 calls a minute: the reads and 15 contacts fit
    // the first window, the rest would start a minute later, after a 20 s budget
    let n = 30;
    let env = Env::with_rate(platform(n), vec![], RATE);
    let path = config(&env, n);
    let started = Instant::now();
    let out = env
        .cmd()
        .args(["apply", path.to_str().unwrap(), "--auto-approve"])
        .args(["--max-duration", "20s", "-v"])
        .output()
        .unwrap();
    let took = started.elapsed();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(took < Duration::from_secs(40), "took {took:?}");

    let (done, untouched) = done_and_untouched(&env);
    let left = untouched.len();
    assert!(
        !done.is_empty() && left > 0,
        "done {done:?}, left {untouched:?}"
    );
    // the number left, that the next apply continues, and (with -v) which
    assert!(
        stdout.contains(&format!("{left} contacts were left for the next run")),
        "{stdout}"
    );
    assert!(
        stdout.contains("Run contactctl apply again to continue"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("{left} left for the next run;")),
        "{stdout}"
    );
    for email in &untouched {
        assert!(
            stdout.contains(&format!("- email={email} (id ")),
            "{email} not listed as left:\n{stdout}"
        );
    }
    // exactly the reads and the calls of the contacts done, within the platform's limit
    let stats = env.stats();
    let web = &stats.channels["web"];
    assert_eq!(web.calls.lookup, n as u64);
    assert_eq!(web.calls.update, done.len() as u64);
    assert_eq!(web.calls.add_tags, done.len() as u64);
    assert_eq!(web.calls.create + web.calls.get + web.calls.remove_tags, 0);
    assert_eq!(web.rate_limited, 0);

    // The next apply, in the next CI job: the platform as this one left it, its rate window
    // passed (a fresh sandbox holding the same contacts).
    let state = env.sandbox.snapshot();
    let next = Env::with_rate(state.channels["web"].contacts.clone(), vec![], RATE);
    let path = config(&next, n);
    let out = next
        .cmd()
        .args(["apply", path.to_str().unwrap(), "--auto-approve"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let (done_now, untouched_now) = done_and_untouched(&next);
    assert_eq!((done_now.len(), untouched_now.len()), (n, 0));
    let web = &next.stats().channels["web"];
    // the same reads again, and only the calls of the contacts left: none repeated
    assert_eq!(web.calls.lookup, n as u64);
    assert_eq!(web.calls.update, left as u64);
    assert_eq!(web.calls.add_tags, left as u64);
    assert_eq!(web.calls.create + web.calls.get + web.calls.remove_tags, 0);
}

#[test]
fn a_budget_that_cannot_hold_the_reads_is_refused_before_any_call() {
    // 100 contacts without a marker: 100 reads, a minute at 60 a minute
    let env = Env::with_rate(platform(100), vec![], RATE);
    let path = config(&env, 100);
    let out = env
        .cmd()
        .args(["apply", path.to_str().unwrap(), "--auto-approve"])
        .args(["--max-duration", "30s"])
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("error: --max-duration ~30s cannot hold the reads alone: channel web needs at least 100 reads before its first write, ~1m at 60/min; nothing was read or written"),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint: with defaults.marker set"),
        "{stderr}"
    );
    assert_eq!(env.stats().total, 0);
}

#[test]
fn a_duration_without_a_unit_is_a_usage_error() {
    let env = Env::new(vec![], vec![]);
    let path = config(&env, 1);
    let out = env
        .cmd()
        .args(["apply", path.to_str().unwrap(), "--max-duration", "90"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("has no unit: say 90s, 90m or 90h"));
    assert_eq!(env.stats().total, 0);
}

#[test]
fn a_duration_the_clock_cannot_hold_is_a_usage_error_not_a_panic() {
    let env = Env::new(vec![], vec![]);
    let path = config(&env, 1);
    let out = env
        .cmd()
        .args([
            "apply",
            path.to_str().unwrap(),
            "--max-duration",
            "18446744073709551615s",
        ])
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("is too long a duration (at most 8784h"),
        "{stderr}"
    );
    assert_eq!(env.stats().total, 0);
}
