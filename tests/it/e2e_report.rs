//! `apply --report FILE` (SPEC "In CI": every apply leaves a record), end to end through the
//! built binary against the sandbox: a run with a failed contact and contacts left by
//! `--max-duration` writes valid JSON Lines — a header first, every call the sandbox received
//! with its outcome, every contact finished or left, a summary last; a run refused by the safety
//! limit still leaves a header and a summary; a run killed with SIGKILL leaves every finished
//! line whole and the calls made before the kill recorded.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::e2e_long_runs::platform;
use crate::support::{Env, text};
use serde_json::Value;

const RATE: u32 = 60;

/// A config of `n` contacts (first name New, tag VIP) at [`RATE`] a minute; the first also
/// writes `locale`, which the platform refuses (403): that contact fails. `safety` is the
/// config's safety block.
fn config(env: &Env, n: usize, tagged: bool, safety: &str) -> PathBuf {
    let base = env.sandbox.base_url();
    let mut text = format!(
        "version: 1\nchannels:\n  web:\n    base_url: {base}\n    token_env: CT_WEB_TOKEN\n    rate_limit: {RATE}\nfields:\n  email: {{ type: email }}\n  firstName: {{ type: text }}\n  locale: {{ type: text }}\ntags: [VIP]\ndefaults: {{ channel: web, key: email }}\n{safety}contacts:\n  - fields: {{ email: u0@x.com, firstName: New, locale: es }}\n    tags: [VIP]\n"
    );
    let tags = if tagged { "\n    tags: [VIP]" } else { "" };
    for i in 1..n {
        text.push_str(&format!(
            "  - fields: {{ email: u{i}@x.com, firstName: New }}{tags}\n"
        ));
    }
    let path = env.dir.path().join("contactctl.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

/// The report's complete lines (ending in a newline), each parsed; panics on one that is not
/// JSON (the library's suites read their records with it too).
pub(crate) fn lines(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let complete = match text.rfind('\n') {
        Some(end) => &text[..=end],
        None => "",
    };
    complete
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn of_type<'a>(lines: &'a [Value], kind: &str) -> Vec<&'a Value> {
    lines.iter().filter(|l| l["type"] == kind).collect()
}

#[test]
fn a_report_records_every_call_a_failed_contact_and_the_contacts_left_by_the_budget() {
    let n = 30;
    let env = Env::with_rate(platform(n), vec![], RATE);
    let report = env.dir.path().join("report.jsonl");

    // Refused by the safety limit (every contact would change): a header, the plan, the refusal.
    let path = config(&env, n, true, "");
    let out = env
        .cmd()
        .args([
            "apply",
            path.to_str().unwrap(),
            "--auto-approve",
            "--report",
        ])
        .arg(&report)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let l = lines(&report);
    assert_eq!(l[0]["type"], "header");
    assert_eq!(l[0]["report_version"], 1);
    assert_eq!(l[0]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(l[0]["channels"], serde_json::json!(["web"]));
    assert_eq!(l[0]["git"], Value::Null, "not in a repository");
    assert_eq!(l[1]["type"], "plan");
    assert_eq!(l[1]["update"], n);
    let last = l.last().unwrap();
    assert_eq!(last["type"], "summary");
    assert_eq!(last["status"], "refused");
    assert_eq!(last["exit"], 1);
    assert!(last["error"].as_str().unwrap().contains("safety"), "{last}");
    assert_eq!(env.writes("web"), 0);
    assert!(of_type(&l, "call").is_empty());

    // 30 contacts of 2 calls after 30 reads, at 60 calls a minute, in a 20 s budget: the first
    // fails (403 on its update), about 14 are done, the rest left for the next run. (A fresh
    // sandbox: the refused run's reads are in the other's rate window.)
    let env = Env::with_rate(platform(n), vec![], RATE);
    env.git_init();
    let path = config(&env, n, true, "safety: { max_change_percent: 100 }\n");
    env.commit("contacts");
    let out = env
        .cmd()
        .args(["apply", path.to_str().unwrap(), "--auto-approve"])
        .args(["--max-duration", "20s", "--report"])
        .arg(&report)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let l = lines(&report);
    assert_eq!(l[0]["type"], "header");
    let head = env.git(&["rev-parse", "HEAD"]);
    assert_eq!(l[0]["git"]["commit"], head.as_str());
    assert_eq!(l[0]["git"]["uncommitted_changes"], false);
    assert!(l[0]["started_at"].as_str().unwrap().ends_with('Z'));

    let stats = env.stats();
    let web = &stats.channels["web"];
    assert_eq!(web.rate_limited, 0, "no retries: one request a call");
    let calls = of_type(&l, "call");
    assert_eq!(
        calls.len() as u64,
        web.calls.update + web.calls.add_tags,
        "every write the platform received, and no other"
    );
    let failed: Vec<_> = calls.iter().filter(|c| c["ok"] == false).collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["contact"], "email=u0@x.com");
    assert_eq!(failed[0]["kind"], "update");
    assert!(
        failed[0]["error"].as_str().unwrap().contains("read-only"),
        "{}",
        failed[0]
    );
    for c in &calls {
        assert!(c["at"].is_string() && c["elapsed_ms"].is_u64(), "{c}");
    }
    let contacts = of_type(&l, "contact");
    let outcome = |o: &str| contacts.iter().filter(|c| c["outcome"] == o).count();
    let left: Vec<_> = contacts
        .iter()
        .filter(|c| c["not_run"] == "time_budget")
        .collect();
    assert_eq!(outcome("failed"), 1);
    assert!(outcome("done") > 0 && !left.is_empty(), "{contacts:?}");
    assert_eq!(
        outcome("done") + 1 + left.len(),
        n,
        "every contact accounted for"
    );
    assert_eq!(web.calls.add_tags, outcome("done") as u64);
    let summary = l.last().unwrap();
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["status"], "stopped");
    assert_eq!(summary["exit"], 1);
    assert_eq!(summary["contacts"]["left_for_next_run"], left.len());
    assert_eq!(summary["contacts"]["failed"], 1);
    assert_eq!(summary["calls"]["failed"], 1);
    assert_eq!(summary["calls"]["ok"], calls.len() - 1);
}

#[test]
fn a_killed_apply_leaves_whole_lines_and_the_calls_made_before_the_kill() {
    // 40 contacts of one update each at 60 calls a minute: 40 reads and 20 updates go in the
    // first window, then the run waits for the next one; it is killed while it waits.
    let n = 40;
    let env = Env::with_rate(platform(n), vec![], RATE);
    let path = config(&env, n, false, "safety: { max_change_percent: 100 }\n");
    // u0's update fails (locale): still a call made
    let report = env.dir.path().join("report.jsonl");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_contactctl"))
        .args([
            "apply",
            path.to_str().unwrap(),
            "--auto-approve",
            "--report",
        ])
        .arg(&report)
        .env("CT_WEB_TOKEN", crate::support::WEB_TOKEN)
        .env("NO_COLOR", "1")
        .env_remove("CONTACTCTL_TIMEOUT")
        .current_dir(env.dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while of_type(&lines(&report), "call").len() < 20 {
        assert!(started.elapsed() < Duration::from_secs(45), "no progress");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    let status = std::process::Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    child.wait().unwrap();

    let l = lines(&report);
    assert_eq!(l[0]["type"], "header");
    assert_eq!(l[1]["type"], "plan");
    assert!(of_type(&l, "summary").is_empty(), "killed: no summary");
    let calls = of_type(&l, "call");
    let web = &env.stats().channels["web"];
    assert_eq!(
        calls.len() as u64,
        web.calls.update,
        "every call the platform answered before the kill is in the record"
    );
    assert!(web.calls.update < n as u64, "killed before the end");
    let done = of_type(&l, "contact")
        .iter()
        .filter(|c| c["outcome"] == "done")
        .count();
    assert_eq!(
        done,
        calls.len() - 1,
        "u0 failed; every other call finished its contact"
    );
}

#[test]
fn a_saved_plan_applied_leaves_its_record_too() {
    let env = Env::new(platform(2), vec![]);
    let path = config(&env, 2, true, "safety: { max_change_percent: 100 }\n");
    let saved = env.dir.path().join("plan.json");
    let report = env.dir.path().join("report.jsonl");
    env.cmd()
        .args(["plan", path.to_str().unwrap(), "--out"])
        .arg(&saved)
        .assert()
        .code(0);
    let out = env
        .cmd()
        .args(["apply", path.to_str().unwrap(), "--plan"])
        .arg(&saved)
        .arg("--report")
        .arg(&report)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "u0 fails: {}",
        text(&out.stderr)
    );
    let l = lines(&report);
    let kinds: Vec<&str> = l.iter().map(|x| x["type"].as_str().unwrap()).collect();
    assert_eq!(kinds.first(), Some(&"header"));
    assert_eq!(kinds[1], "plan");
    assert_eq!(kinds.last(), Some(&"summary"));
    let calls = of_type(&l, "call");
    assert_eq!(
        calls.len() as u64,
        env.writes("web"),
        "u0's update, u1's two"
    );
    assert_eq!(calls.len(), 3);
    assert_eq!(l.last().unwrap()["status"], "failed");
    assert_eq!(l.last().unwrap()["contacts"]["done"], 1);
}
