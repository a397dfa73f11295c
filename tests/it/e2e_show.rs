//! `contactctl show FILE` (SPEC "Commands"): a plan saved with `plan --out` printed again, in any
//! format, byte for byte as `plan` printed it in that format, from the file alone — no config,
//! no token, no API call; a file that is not a plan, or of another format version, refused.

use std::path::{Path, PathBuf};

use crate::support::{Env, wire};

/// A platform and a config whose plan has a bit of everything: a create, an update with a long
/// note, a tag removed, an unchanged contact, an orphan, and a contact that cannot be planned
/// (its key matches two contacts).
fn setup() -> (Env, PathBuf) {
    let marked = |id: &str, email: &str, name: &str, tags: &[&str]| {
        wire(
            id,
            &[("email", email), ("firstName", name), ("managed_by", "git")],
            tags,
        )
    };
    let env = Env::new(
        vec![
            marked("1", "juan@example.com", "Juanito", &["VIP", "Blog Updates"]),
            marked("2", "same@example.com", "Same", &["VIP"]),
            marked("3", "gone@example.com", "Gone", &["VIP"]),
            marked("4", "dup@example.com", "Dup", &[]),
            marked("5", "DUP@example.com", "Dup", &[]),
        ],
        vec![],
    );
    let config = env.config(
        "defaults: { channel: web, key: email, marker: { field: managed_by, value: git } }\nsafety: { max_change_percent: 100 }\ncontacts:\n  - fields: { email: juan@example.com, firstName: Juan }\n    tags: [VIP]\n  - fields: { email: same@example.com, firstName: Same }\n    tags: [VIP]\n  - fields: { email: new@example.com, firstName: \"Ana <b>|*\" }\n    tags: [Platform Updates]\n  - fields: { email: dup@example.com }\n",
    );
    (env, config)
}

/// `plan --out FILE` in `format`, its stdout.
fn plan_out(env: &Env, config: &Path, file: &Path, format: &str) -> Vec<u8> {
    let out = env
        .cmd()
        .args(["plan", "--format", format, "--out"])
        .arg(file)
        .arg(config)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "the plan has an error contact: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// `show FILE` in `format`, run elsewhere: no config beside it, no token in the environment.
fn show(file: &Path, format: &str) -> std::process::Output {
    let elsewhere = tempfile::tempdir().unwrap();
    assert_cmd::Command::cargo_bin("contactctl")
        .unwrap()
        .env_remove("CT_WEB_TOKEN")
        .env_remove("CT_VIBER_TOKEN")
        .env("NO_COLOR", "1")
        .current_dir(elsewhere.path())
        .args(["show", "--format", format])
        .arg(file)
        .output()
        .unwrap()
}

#[test]
fn show_prints_a_saved_plan_exactly_as_plan_printed_it_in_every_format_without_a_call() {
    let (env, config) = setup();
    for format in ["json", "markdown", "text"] {
        let file = env.dir.path().join(format!("plan-{format}.json"));
        let printed = plan_out(&env, &config, &file, format);
        let calls = env.stats().total;
        let out = show(&file, format);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&printed),
            "{format}"
        );
        assert!(
            out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(env.stats().total, calls, "show called the API");
    }
    // and one file shows in any format: the JSON plan's file as Markdown
    let markdown = show(&env.dir.path().join("plan-json.json"), "markdown");
    let file = env.dir.path().join("plan-markdown.json");
    assert_eq!(markdown.stdout, show(&file, "markdown").stdout);
    let text = String::from_utf8(markdown.stdout).unwrap();
    assert!(
        text.starts_with("**contactctl plan:** 1 to create, 1 to update, 1 unchanged, 1 orphan"),
        "{text}"
    );
}

#[test]
fn show_refuses_a_file_that_is_not_a_plan_or_of_another_version() {
    let (env, config) = setup();
    let file = env.dir.path().join("plan.json");
    plan_out(&env, &config, &file, "json");
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(saved["format_version"], 2);
    assert_eq!(saved["kind"], "contactctl-plan");

    let mut newer = saved.clone();
    newer["format_version"] = 3.into();
    let newer_file = env.dir.path().join("newer.json");
    std::fs::write(&newer_file, newer.to_string()).unwrap();
    // the JSON a plan prints is not the saved file
    let printed = env.dir.path().join("printed.json");
    std::fs::write(&printed, plan_out(&env, &config, &file, "json")).unwrap();

    for (file, says) in [
        (
            newer_file,
            "is a plan of format version 3; this contactctl reads version 2".to_string(),
        ),
        (
            printed,
            "is not a plan saved by `contactctl plan --out` (it has no \"kind\")".to_string(),
        ),
        (
            config.clone(),
            "is not a plan saved by `contactctl plan --out` (not a JSON object".to_string(),
        ),
        (
            env.dir.path().join("missing.json"),
            "missing.json: No such file".to_string(),
        ),
    ] {
        let out = show(&file, "text");
        assert_eq!(out.status.code(), Some(1), "{file:?}");
        assert!(out.stdout.is_empty());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(&says), "{file:?}: {stderr}");
    }
}

#[test]
fn a_plan_saved_by_an_older_contactctl_is_refused_without_a_call() {
    let (env, config) = setup();
    let file = env.dir.path().join("plan.json");
    plan_out(&env, &config, &file, "json");
    // format version 1 held a contact's error and the warnings as words: this build cannot
    // read them back, so it asks for a new plan rather than guess
    let mut saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    saved["format_version"] = 1.into();
    saved["plan"]["warnings"] =
        serde_json::json!(["channel web: 4 of 4 existing contacts would change"]);
    std::fs::write(&file, saved.to_string()).unwrap();
    let before = env.stats().total;

    let apply = env
        .cmd()
        .args(["apply", "--auto-approve", "--plan"])
        .arg(&file)
        .arg(&config)
        .output()
        .unwrap();
    let show = show(&file, "text");
    for out in [apply, show] {
        assert_eq!(out.status.code(), Some(1));
        assert!(out.stdout.is_empty());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!(
                "error: {} was made by an older contactctl: plan again (it is a plan of format \
                 version 1; this contactctl reads version 2)",
                file.display()
            )),
            "{stderr}"
        );
        assert!(
            stderr.contains("hint: make and review a new plan: contactctl plan --out FILE"),
            "{stderr}"
        );
    }
    assert_eq!(env.stats().total, before, "no API call");
}

#[test]
fn a_plan_out_into_a_directory_that_does_not_exist_fails_before_any_read() {
    let (env, config) = setup();
    let file = env.dir.path().join("no-such-dir").join("plan.json");
    let out = env
        .cmd()
        .args(["plan", "--out"])
        .arg(&file)
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no-such-dir"), "names the path: {stderr}");
    assert_eq!(env.stats().total, 0, "no call: {stderr}");
}
