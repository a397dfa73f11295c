//! End to end, the data-safety guards of issue #21 through the built binary against the sandbox:
//! a prune of a config that lost its contacts is refused, a tampered saved plan is refused, and
//! two applies at once create each contact once. Every refusal is checked to have made no write.

use crate::support::{Env, VIBER_TOKEN, WEB_TOKEN, show, text, wire};

const MARKED: &str =
    "defaults:\n  channel: web\n  key: email\n  marker: { field: managed_by, value: git }\n";

/// 20 marked contacts on web, each with the managed tag VIP.
fn marked_contacts() -> Vec<contactctl::api::wire::WireContact> {
    (0..20)
        .map(|i| {
            wire(
                &format!("{i}"),
                &[("email", &format!("u{i}@x.com")), ("managed_by", "git")],
                &["VIP"],
            )
        })
        .collect()
}

#[test]
fn a_prune_of_a_config_that_lost_its_contacts_file_is_refused_without_force() {
    let env = Env::new(marked_contacts(), vec![]);
    std::fs::create_dir_all(env.dir.path().join("repo")).unwrap();
    env.config_named("repo/main.yaml", MARKED);
    let contacts: String = (0..20)
        .map(|i| format!("  - fields: {{ email: u{i}@x.com }}\n    tags: [VIP]\n"))
        .collect();
    let contacts_file = env.dir.path().join("repo/contacts.yaml");
    std::fs::write(&contacts_file, format!("contacts:\n{contacts}")).unwrap();
    env.cmd()
        .args(["plan", "--detailed-exitcode", "--prune", "repo"])
        .assert()
        .code(0);

    // The contacts file is gone: every marked contact is an orphan.
    std::fs::remove_file(&contacts_file).unwrap();
    let out = env
        .cmd()
        .args(["apply", "--prune", "--auto-approve", "repo"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    // the plan's warning says how many and why; the error, that nothing was done
    assert!(
        text(&out.stdout).contains(
            "Warning: channel web: --prune would prune all 20 managed contacts and no contact of \
             the config was found on the channel (did the config lose its contacts file?)"
        ),
        "{}",
        show(&out)
    );
    assert!(
        text(&out.stderr).contains(
            "refusing to apply: --prune would prune contacts on a channel where no contact of the \
             config was found; no call was made"
        ),
        "{}",
        show(&out)
    );
    assert_eq!(env.writes("web"), 0, "no call: {}", show(&out));
    assert!(env.contacts("web").values().all(|c| c.tags == ["VIP"]));

    // --force is the way to say it is meant.
    env.cmd()
        .args(["apply", "--prune", "--auto-approve", "--force", "repo"])
        .assert()
        .success();
    let web = env.contacts("web");
    assert!(web.values().all(|c| {
        c.tags.is_empty()
            && c.custom_fields
                .get("managed_by")
                .cloned()
                .flatten()
                .is_none()
    }));
}

const DEFAULTS: &str = "defaults:\n  channel: web\n  key: email\n";

/// `edit` applied to the saved plan's JSON, written beside it as `name`.
fn tampered(
    saved: &std::path::Path,
    name: &str,
    edit: impl FnOnce(&mut serde_json::Value),
) -> std::path::PathBuf {
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(saved).unwrap()).unwrap();
    edit(&mut v);
    let path = saved.with_file_name(name);
    std::fs::write(&path, serde_json::to_string_pretty(&v).unwrap()).unwrap();
    path
}

/// The saved plan's contact entry whose identity shows `email`.
fn entry<'a>(v: &'a mut serde_json::Value, email: &str) -> &'a mut serde_json::Value {
    v["plan"]["contacts"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|c| c["identity"].to_string().contains(email))
        .unwrap()
}

#[test]
fn a_tampered_saved_plan_is_refused_with_no_call_and_an_untouched_one_applies() {
    let env = Env::new(
        vec![
            wire("1", &[("email", "a@x.com"), ("firstName", "A")], &[]),
            wire("2", &[("email", "c@x.com"), ("firstName", "Cy")], &[]),
        ],
        vec![],
    );
    let config = env.config(&format!(
        "{DEFAULTS}contacts:\n  - fields: {{ email: a@x.com, firstName: Alpha }}\n  - fields: {{ email: b@x.com, firstName: Bea }}\n  - fields: {{ email: c@x.com, firstName: Cy }}\n"
    ));
    let saved = env.dir.path().join("plan.json");
    let out = env
        .cmd()
        .args(["plan", "--format", "json", "--out"])
        .arg(&saved)
        .arg(&config)
        .output()
        .unwrap();
    // the reviewed JSON carries the exact calls, as does `show` of the saved file
    let reviewed = Env::json(&out);
    assert_eq!(
        reviewed["contacts"][0]["calls"],
        serde_json::json!([{"call": "update", "fields": [{"name": "firstName", "value": "Alpha"}]}]),
        "{}",
        show(&out)
    );
    let shown = env
        .cmd()
        .args(["show", "--format", "json"])
        .arg(&saved)
        .output()
        .unwrap();
    assert_eq!(Env::json(&shown)["contacts"], reviewed["contacts"]);

    let text_of_saved = std::fs::read_to_string(&saved).unwrap();
    let everywhere = saved.with_file_name("everywhere.json");
    std::fs::write(&everywhere, text_of_saved.replace("Alpha", "Evil")).unwrap();
    let cases = [
        (
            "a value changed everywhere it appears",
            everywhere,
            "email=a@x.com on web",
        ),
        (
            "a call added to the unchanged contact",
            tampered(&saved, "added.json", |v| {
                entry(v, "c@x.com")["calls"] =
                    serde_json::json!([{"call": "add_tags", "tags": ["VIP"]}]);
            }),
            "email=c@x.com on web",
        ),
        (
            "an unmanaged field",
            tampered(&saved, "unmanaged.json", |v| {
                entry(v, "a@x.com")["calls"][0]["fields"]
                    .as_array_mut()
                    .unwrap()
                    .push(serde_json::json!({"name": "locale", "value": "xx"}));
            }),
            "email=a@x.com on web",
        ),
        (
            "an unmanaged tag",
            tampered(&saved, "tag.json", |v| {
                entry(v, "b@x.com")["calls"]
                    .as_array_mut()
                    .unwrap()
                    .push(serde_json::json!({"call": "add_tags", "tags": ["Owned"]}));
            }),
            "email=b@x.com on web",
        ),
        (
            "an extra contact entry",
            tampered(&saved, "extra.json", |v| {
                let extra: serde_json::Value = serde_json::from_str(
                    &entry(v, "b@x.com")
                        .to_string()
                        .replace("b@x.com", "z@x.com"),
                )
                .unwrap();
                v["plan"]["contacts"]
                    .as_array_mut()
                    .unwrap()
                    .insert(2, extra);
            }),
            "email=z@x.com on web",
        ),
    ];
    for (what, file, contact) in cases {
        let out = env
            .cmd()
            .args(["apply", "--auto-approve", "--force", "--plan"])
            .arg(&file)
            .arg(&config)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{what}: {}", show(&out));
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains("the saved plan does not match what the config at")
                && stderr.contains(contact),
            "{what}: {}",
            show(&out)
        );
        assert_eq!(env.writes("web"), 0, "{what}: no call");
    }

    // The file as saved applies as before.
    env.cmd()
        .args(["apply", "--auto-approve", "--plan"])
        .arg(&saved)
        .arg(&config)
        .assert()
        .success();
    assert_eq!(env.writes("web"), 2, "one update, one create");
    assert_eq!(env.find("web", "firstName", "Alpha").len(), 1);
    assert_eq!(env.find("web", "email", "b@x.com").len(), 1);
    env.plan_has_no_changes(&config);
}

/// A config of `n` new contacts on web (none on the platform yet), at the sandbox's rate limit.
fn new_contacts(env: &Env, n: usize) -> std::path::PathBuf {
    let contacts: String = (0..n)
        .map(|i| format!("  - fields: {{ email: n{i}@x.com, firstName: N{i} }}\n"))
        .collect();
    let path = env.config(&format!("{DEFAULTS}contacts:\n{contacts}"));
    let text = std::fs::read_to_string(&path).unwrap().replacen(
        "token_env: CT_WEB_TOKEN\n",
        "token_env: CT_WEB_TOKEN\n    rate_limit: 10000\n",
        1,
    );
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn two_applies_started_together_create_each_contact_once() {
    let env = Env::new(vec![], vec![]);
    let config = new_contacts(&env, 200);
    let locks = tempfile::tempdir().unwrap();
    let spawn = || {
        std::process::Command::new(assert_cmd::cargo::cargo_bin("contactctl"))
            .args(["apply", "--auto-approve"])
            .arg(&config)
            .env("CT_WEB_TOKEN", WEB_TOKEN)
            .env("CT_VIBER_TOKEN", VIBER_TOKEN)
            .env("NO_COLOR", "1")
            .env_remove("CONTACTCTL_TIMEOUT")
            .env("XDG_RUNTIME_DIR", locks.path())
            .current_dir(env.dir.path())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (first, second) = (spawn(), spawn());
    for run in [first, second] {
        let out = run.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    }
    let web = env.contacts("web");
    assert_eq!(web.len(), 200, "each contact once");
    for i in 0..200 {
        assert_eq!(env.find("web", "email", &format!("n{i}@x.com")).len(), 1);
    }
    assert_eq!(env.stats().channels["web"].calls.create, 200);
    env.plan_has_no_changes(&config);
}

#[test]
fn an_apply_waits_for_the_lock_names_its_holder_and_gives_up_at_lock_timeout() {
    use contactctl::ops::lock::{Group, acquire};
    let env = Env::new(vec![], vec![]);
    let config = new_contacts(&env, 3);
    let locks = tempfile::tempdir().unwrap();
    // This process holds the web token's lock, as a running apply would.
    let web = Group::new(
        &env.sandbox.base_url(),
        &contactctl::api::Secret::new(WEB_TOKEN),
    );
    let held = env
        .rt
        .block_on(acquire(locks.path(), &[web], None, &|_| {}))
        .unwrap();
    let apply = |extra: &[&str]| {
        env.cmd()
            .args(["apply", "--auto-approve"])
            .args(extra)
            .arg(&config)
            .env("XDG_RUNTIME_DIR", locks.path())
            .output()
            .unwrap()
    };
    let started = std::time::Instant::now();
    let out = apply(&["--lock-timeout", "1s"]);
    assert!(started.elapsed() >= std::time::Duration::from_secs(1));
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let stderr = text(&out.stderr);
    let waiting = format!(
        "Waiting for another contactctl apply (PID {}) against 127.0.0.1:",
        std::process::id()
    );
    assert_eq!(stderr.matches(&waiting).count(), 1, "said once: {stderr}");
    assert!(
        stderr.contains("after --lock-timeout 1s; nothing was read or written"),
        "{stderr}"
    );
    let calls = &env.stats().channels["web"].calls;
    assert_eq!(
        calls.lookup + calls.get + calls.create,
        0,
        "no read, no write"
    );

    // The wait counts against --max-duration too.
    let out = apply(&["--max-duration", "1s"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        text(&out.stderr).contains("the time budget (--max-duration) ran out waiting"),
        "{}",
        show(&out)
    );

    // Released, the next apply runs.
    drop(held);
    let out = apply(&["--lock-timeout", "1s"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(env.contacts("web").len(), 3);
}
