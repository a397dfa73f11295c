//! Ctrl-C in the middle of `apply`: the binary, spawned against a slow sandbox, gets SIGINT
//! once a contact is finished. It starts no new call, lets the calls in flight finish, exits
//! 1 with a report that says it was interrupted and names exactly the contacts it left
//! unfinished; the next apply finishes the job with no duplicate. SIGTERM (a cancelled CI job)
//! does the same; a second interrupt stops at once.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::reliability::{check_platform, unconverged};
use crate::support::{Env, VIBER_TOKEN, WEB_TOKEN};
use contactctl::sandbox::Faults;

const CONTACTS: usize = 200;

/// 200 contacts to create, each with a tag (a create and a tag call each), on a sandbox that
/// takes 300 ms per call: the apply takes seconds, at the 64 contacts at a time its rate limit
/// keeps in flight, so an interrupt after the first contact leaves most of them.
fn slow_scenario() -> (Env, PathBuf) {
    let env = Env::new(vec![], vec![]);
    // The default 100 calls a minute would make the runs wait out a window, and the partly
    // created contacts an interrupt leaves would trip the safety limit: neither is the point.
    let mut yaml = format!(
        "version: 1\nchannels:\n  web:\n    base_url: {}\n    token_env: CT_WEB_TOKEN\n    rate_limit: 10000\nfields:\n  email: {{ type: email }}\n  firstName: {{ type: text }}\ntags: [VIP]\ndefaults:\n  key: email\nsafety:\n  max_change_percent: 100\ncontacts:\n",
        env.sandbox.base_url()
    );
    for i in 0..CONTACTS {
        yaml.push_str(&format!(
            "  - fields: {{ email: c{i}@example.com, firstName: C{i} }}\n    tags: [VIP]\n"
        ));
    }
    let path = env.dir.path().join("contactctl.yaml");
    std::fs::write(&path, yaml).unwrap();
    env.set_faults(Faults {
        latency_ms: 300,
        ..Faults::default()
    });
    (env, path)
}

/// Spawn `apply --auto-approve` with `args`, output piped.
fn spawn_apply(env: &Env, path: &PathBuf, args: &[&str]) -> Child {
    Command::new(assert_cmd::cargo::cargo_bin("contactctl"))
        .args(["apply", "--auto-approve"])
        .args(args)
        .arg(path)
        .env("CT_WEB_TOKEN", WEB_TOKEN)
        .env("CT_VIBER_TOKEN", VIBER_TOKEN)
        .env("NO_COLOR", "1")
        .env_remove("CONTACTCTL_TIMEOUT")
        .current_dir(env.dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// `kill <sig> <pid>` (the crate has no libc binding).
fn signal(pid: u32, sig: &str) {
    let status = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Spawn `apply --auto-approve` with `args`, send `sig` once a contact is finished (created and
/// tagged), and return its output.
fn interrupted_apply(env: &Env, path: &PathBuf, args: &[&str], sig: &str) -> Output {
    let child = spawn_apply(env, path, args);
    let start = Instant::now();
    let finished = || {
        env.sandbox.snapshot().channels["web"]
            .contacts
            .iter()
            .any(|c| c.tags.iter().any(|t| t == "VIP"))
    };
    while !finished() {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "apply never finished a contact"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    signal(child.id(), sig);
    child.wait_with_output().unwrap()
}

/// After the interrupt: the second apply finishes, a plan is empty, nothing duplicated.
fn finish(env: &Env, path: &PathBuf) {
    env.set_faults(Faults::default());
    env.cmd()
        .args(["apply", "--auto-approve"])
        .arg(path)
        .assert()
        .code(0);
    env.plan_has_no_changes(path);
    let config = contactctl::config::load(path).unwrap();
    let c = check_platform(
        &config,
        &Default::default(),
        &env.sandbox.snapshot(),
        true,
        &|_| true,
    );
    assert!(c.problems.is_empty(), "{:?}", c.problems);
    assert_eq!(c.duplicates, 0);
    assert_eq!(
        env.sandbox.snapshot().channels["web"].contacts.len(),
        CONTACTS
    );
}

#[test]
fn ctrl_c_mid_apply_reports_what_was_left_and_the_next_apply_finishes() {
    let (env, path) = slow_scenario();
    let out = interrupted_apply(&env, &path, &[], "-INT");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("Interrupted: no new calls are started"),
        "{stderr}"
    );
    let (_, list) = stdout
        .split_once("Apply interrupted:")
        .unwrap_or_else(|| panic!("{stdout}"));
    let listed: BTreeSet<String> = list
        .lines()
        .filter_map(|l| l.strip_prefix("  "))
        .filter_map(|l| l.split_once(": ").map(|(who, _)| who.to_string()))
        .collect();
    let config = contactctl::config::load(&path).unwrap();
    let left = unconverged(&config, &Default::default(), &env.sandbox.snapshot());
    assert!(!left.is_empty() && left.len() < CONTACTS, "{left:?}");
    assert_eq!(listed, left, "{stdout}");
    assert!(stdout.contains("not run (interrupted)"), "{stdout}");
    assert!(
        stdout.contains("Run contactctl apply again to finish."),
        "{stdout}"
    );
    // nothing was sent after the process ended
    let sent = env.stats().total;
    std::thread::sleep(Duration::from_millis(700));
    assert_eq!(env.stats().total, sent);
    finish(&env, &path);
}

#[test]
fn ctrl_c_mid_apply_with_json_marks_the_report_interrupted() {
    let (env, path) = slow_scenario();
    let out = interrupted_apply(&env, &path, &["--format", "json"], "-INT");
    assert_eq!(out.status.code(), Some(1));
    let report = Env::json(&out);
    assert_eq!(report["applied"]["interrupted"], true, "{report}");
    let contacts = report["contacts"].as_array().unwrap();
    let by_result = |r: &str| contacts.iter().filter(|c| c["result"] == r).count();
    assert!(by_result("done") >= 1, "{report}");
    assert!(by_result("not_run") > 0, "{report}");
    assert_eq!(
        report["applied"]["not_run"].as_u64(),
        Some(by_result("not_run") as u64)
    );
    assert_eq!(
        by_result("done") + by_result("failed") + by_result("not_run"),
        CONTACTS
    );
    finish(&env, &path);
}

#[test]
fn sigterm_mid_apply_is_an_interrupt_too() {
    let (env, path) = slow_scenario();
    let out = interrupted_apply(&env, &path, &["--format", "json"], "-TERM");
    assert_eq!(out.status.code(), Some(1));
    let report = Env::json(&out);
    assert_eq!(report["applied"]["interrupted"], true, "{report}");
    finish(&env, &path);
}

#[test]
fn a_second_ctrl_c_stops_at_once_without_waiting_for_calls_in_flight() {
    let (env, path) = slow_scenario();
    let child = spawn_apply(&env, &path, &[]);
    let start = Instant::now();
    while env.stats().channels["web"].calls.create < 1 {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "apply never started creating"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // from now on calls take 5 s: a second Ctrl-C must not wait for those in flight
    env.set_faults(Faults {
        latency_ms: 5_000,
        ..Faults::default()
    });
    std::thread::sleep(Duration::from_millis(500));
    signal(child.id(), "-INT");
    std::thread::sleep(Duration::from_millis(200));
    signal(child.id(), "-INT");
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("Interrupted again: stopping now"),
        "{stderr}"
    );
    assert!(
        !stdout.contains("Apply interrupted"),
        "it stopped before the calls in flight ended, so there is no report: {stdout}"
    );
    finish(&env, &path);
}
