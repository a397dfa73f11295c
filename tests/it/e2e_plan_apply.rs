//! End to end: the built binary plans and applies against the sandbox over real HTTP, and the
//! platform ends up equal to the config, with exactly the planned number of calls.

use crate::support::{Env, VIBER_TOKEN, WEB_TOKEN, show, wire};
use contactctl::sandbox::Faults;
use predicates::prelude::*;

const DEFAULTS: &str = "defaults:\n  channel: web\n  key: email\n";

fn s(out: &std::process::Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn plan_then_apply_makes_the_platform_match_with_exactly_the_planned_calls() {
    let env = Env::new(
        vec![wire(
            "100",
            &[
                ("email", "Ana@Example.com"),
                ("firstName", "Ana"),
                ("vip", "TRUE"),
                ("locale", "es"),
            ],
            &["Blog Updates", "Newsletter"],
        )],
        vec![wire(
            "tMNGhftyUPrB3r1lD+bT4g==",
            &[("firstName", "Old")],
            &[],
        )],
    );
    let config = env.config(&format!(
        "{DEFAULTS}contacts:\n  - fields: {{ email: ana@example.com, firstName: Anna, vip: true }}\n    tags: [VIP]\n  - fields: {{ email: new@example.com, firstName: New, phone: \"+34 600 111 222\", customerid: 7 }}\n    tags: [Blog Updates, Platform Updates]\n  - channel: viber\n    id: \"tMNGhftyUPrB3r1lD+bT4g==\"\n    fields: {{ firstName: Ana, vip: true }}\n    tags: [VIP]\n"
    ));

    let out = env
        .cmd()
        .args(["plan", "--format", "json", "--detailed-exitcode"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{:?}", s(&out));
    let plan = Env::json(&out);
    assert_eq!(plan["format_version"], 1);
    assert_eq!(plan["summary"]["create"], 1);
    assert_eq!(plan["summary"]["update"], 2);
    assert_eq!(plan["summary"]["errors"], 0);
    let planned_calls = plan["summary"]["api_calls"].as_u64().unwrap();
    // ana: PUT firstName + add VIP + remove Blog Updates; new: create + tags; viber: PUT + tags
    assert_eq!(planned_calls, 7);
    let ana = &plan["contacts"][0];
    assert_eq!(ana["identity"], "email=ana@example.com");
    assert_eq!(ana["id"], "100");
    assert_eq!(ana["action"], "update");
    assert_eq!(
        ana["fields"],
        serde_json::json!([{ "name": "firstName", "before": "Ana", "after": "Anna" }]),
        "vip TRUE = true and the e-mail's case are not changes"
    );
    assert_eq!(ana["tags_added"], serde_json::json!(["VIP"]));
    assert_eq!(ana["tags_removed"], serde_json::json!(["Blog Updates"]));
    let reads = env.stats().total;
    assert_eq!(reads, 3, "one read per contact");

    env.cmd()
        .args(["apply", "--auto-approve"])
        .arg(&config)
        .assert()
        .success()
        .stdout(predicate::str::contains("Apply complete"));
    assert_eq!(env.writes("web") + env.writes("viber"), planned_calls);
    assert_eq!(
        env.stats().total,
        reads + 3 + planned_calls,
        "apply re-reads once, then writes exactly the plan"
    );

    let web = env.contacts("web");
    let ana = &web["100"];
    assert_eq!(ana.custom_fields["firstName"].as_deref(), Some("Anna"));
    assert_eq!(
        ana.custom_fields["locale"].as_deref(),
        Some("es"),
        "unmanaged field untouched"
    );
    assert_eq!(ana.tags, vec!["Newsletter", "VIP"], "unmanaged tag kept");
    let new = env.find("web", "email", "new@example.com");
    assert_eq!(new.len(), 1);
    assert_eq!(new[0].custom_fields["customerid"].as_deref(), Some("7"));
    assert_eq!(
        new[0].custom_fields["phone"].as_deref(),
        Some("+34 600 111 222")
    );
    let viber = &env.contacts("viber")["tMNGhftyUPrB3r1lD+bT4g=="];
    assert_eq!(
        viber.custom_fields["vip"].as_deref(),
        Some("true"),
        "boolean_format: lower"
    );
    assert_eq!(viber.tags, vec!["VIP"]);

    // Converged: a second plan has nothing to do.
    env.plan_has_no_changes(&config)
        .stdout(predicate::str::contains("No changes"));
}

#[test]
fn plan_renders_the_examples_in_every_format() {
    let root = env!("CARGO_MANIFEST_DIR");
    for (format, needle) in [
        ("text", "Plan:"),
        ("markdown", "contactctl plan"),
        ("json", "\"format_version\": 1"),
    ] {
        for example in ["examples/contactctl.yaml", "examples/split"] {
            let out = assert_cmd::Command::cargo_bin("contactctl")
                .unwrap()
                .current_dir(root)
                .env("NO_COLOR", "1")
                .args([
                    "plan",
                    example,
                    "--sandbox",
                    "--sandbox-state",
                    "examples/sandbox/state.yaml",
                    "--format",
                    format,
                ])
                .output()
                .unwrap();
            let (stdout, stderr) = s(&out);
            assert_eq!(out.status.code(), Some(0), "{example} {format}: {stderr}");
            assert!(stdout.contains(needle), "{example} {format}:\n{stdout}");
            if format == "json" {
                let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
                assert!(v["summary"]["api_calls"].as_u64().unwrap() > 0);
            }
        }
    }
}

#[test]
fn a_key_matching_several_contacts_is_an_error_for_that_contact_only() {
    let env = Env::new(
        vec![
            wire("1", &[("email", "dup@example.com")], &[]),
            wire("2", &[("email", "dup@example.com")], &[]),
        ],
        vec![],
    );
    let config = env.config(&format!(
        "{DEFAULTS}contacts:\n  - fields: {{ email: dup@example.com, firstName: D }}\n  - fields: {{ email: ok@example.com, firstName: O }}\n"
    ));
    let out = env
        .cmd()
        .args(["plan", "--format", "json"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "an error contact fails the run");
    let plan = Env::json(&out);
    assert_eq!(plan["contacts"][0]["action"], "error");
    let err = plan["contacts"][0]["error"].as_str().unwrap();
    assert!(
        err.contains('1') && err.contains('2'),
        "names both IDs: {err}"
    );
    assert_eq!(plan["contacts"][1]["action"], "create");

    let out = env
        .cmd()
        .args(["apply", "--auto-approve"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        env.find("web", "email", "ok@example.com").len(),
        1,
        "the others are applied"
    );
    assert_eq!(
        env.find("web", "email", "dup@example.com").len(),
        2,
        "nothing created for the ambiguous one"
    );
    let (stdout, _) = s(&out);
    assert!(
        stdout.contains("dup@example.com"),
        "the failure is listed: {stdout}"
    );
}

#[test]
fn a_phone_key_with_plus_is_found_not_duplicated() {
    let env = Env::new(
        vec![wire(
            "5",
            &[("phone", "+34600111222"), ("firstName", "P")],
            &[],
        )],
        vec![],
    );
    let config = env.config(
        "defaults:\n  channel: web\n  key: phone\ncontacts:\n  - fields: { phone: \"+34600111222\", firstName: Pau }\n",
    );
    env.cmd()
        .args(["apply", "--auto-approve"])
        .arg(&config)
        .assert()
        .success();
    let all = env.contacts("web");
    assert_eq!(all.len(), 1, "found by phone, not created again");
    assert_eq!(all["5"].custom_fields["firstName"].as_deref(), Some("Pau"));
}

#[test]
fn detailed_exitcode_is_0_without_drift_and_2_with_it() {
    let env = Env::new(
        vec![wire(
            "9",
            &[("email", "a@x.com"), ("vip", "TRUE"), ("customerid", "7")],
            &["VIP"],
        )],
        vec![],
    );
    let same = env.config_named(
        "same.yaml",
        &format!("{DEFAULTS}contacts:\n  - fields: {{ email: A@X.com, vip: true, customerid: 7.0 }}\n    tags: [VIP]\n"),
    );
    env.plan_has_no_changes(&same);
    let drift = env.config_named(
        "drift.yaml",
        &format!("{DEFAULTS}contacts:\n  - fields: {{ email: a@x.com, vip: false }}\n"),
    );
    env.cmd()
        .args(["plan", "--detailed-exitcode"])
        .arg(&drift)
        .assert()
        .code(2);
    env.cmd().args(["plan"]).arg(&drift).assert().code(0);
}

#[test]
fn a_missing_token_variable_is_named_before_any_call() {
    let env = Env::new(vec![], vec![]);
    let config = env.config(&format!(
        "{DEFAULTS}contacts:\n  - fields: {{ email: a@x.com }}\n"
    ));
    env.cmd()
        .env_remove("CT_WEB_TOKEN")
        .arg("plan")
        .arg(&config)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("CT_WEB_TOKEN"));
    assert_eq!(env.stats().total, 0);
}

#[test]
fn a_refused_token_names_the_channel_and_variable_never_the_token() {
    let env = Env::new(vec![], vec![]);
    let config = env.config(&format!(
        "{DEFAULTS}contacts:\n  - fields: {{ email: a@x.com }}\n  - fields: {{ email: b@x.com }}\n"
    ));
    let out = env
        .cmd()
        .env("CT_WEB_TOKEN", "wrong-secret-token-123")
        .args(["-v", "apply", "--auto-approve"])
        .arg(&config)
        .output()
        .unwrap();
    let (stdout, stderr) = s(&out);
    assert_eq!(out.status.code(), Some(1));
    let all = format!("{stdout}{stderr}");
    assert!(all.contains("CT_WEB_TOKEN") && all.contains("web"), "{all}");
    for secret in ["wrong-secret-token-123", WEB_TOKEN, VIBER_TOKEN] {
        assert!(!all.contains(secret), "token leaked: {all}");
    }
}

#[test]
fn an_unreachable_host_is_a_clear_error() {
    let env = Env::new(vec![], vec![]);
    // a port nothing listens on: below the ephemeral range, so no other test's server can take
    // it meanwhile (a port freed by a listener could be, under parallel tests)
    let port = 1;
    let path = env.dir.path().join("down.yaml");
    std::fs::write(
        &path,
        format!("version: 1\nchannels:\n  web:\n    base_url: http://127.0.0.1:{port}/api\n    token_env: CT_WEB_TOKEN\nfields:\n  email: {{ type: email }}\ndefaults:\n  key: email\ncontacts:\n  - fields: {{ email: a@x.com }}\n"),
    )
    .unwrap();
    let out = env
        .cmd()
        .args(["plan", "--timeout", "2"])
        .arg(&path)
        .output()
        .unwrap();
    let (stdout, stderr) = s(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        format!("{stdout}{stderr}").contains("a@x.com"),
        "names the contact: {stdout}{stderr}"
    );
}

#[test]
fn plain_http_to_a_remote_host_is_refused_unless_allowed() {
    let env = Env::new(vec![], vec![]);
    let path = env.dir.path().join("insecure.yaml");
    std::fs::write(
        &path,
        "version: 1\nchannels:\n  web:\n    base_url: http://contacts.example.invalid/api\n    token_env: CT_WEB_TOKEN\nfields:\n  email: { type: email }\ndefaults:\n  key: email\ncontacts:\n  - fields: { email: a@x.com }\n",
    )
    .unwrap();
    env.cmd()
        .arg("plan")
        .arg(&path)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--allow-insecure"));
}

#[test]
fn saved_plan_applies_exactly_and_refuses_when_stale() {
    let env = Env::new(
        vec![wire("1", &[("email", "a@x.com"), ("firstName", "A")], &[])],
        vec![],
    );
    let config = env.config(&format!(
        "{DEFAULTS}contacts:\n  - fields: {{ email: a@x.com, firstName: Alpha }}\n"
    ));
    let saved = env.dir.path().join("plan.json");
    env.cmd()
        .args(["plan", "--out"])
        .arg(&saved)
        .arg(&config)
        .assert()
        .success();

    // Someone edits the contact by hand: the saved plan no longer holds.
    env.put_fields("1", &[("firstName", "Hand")]);
    let writes = env.writes("web");
    env.cmd()
        .args(["apply", "--force", "--auto-approve", "--plan"])
        .arg(&saved)
        .arg(&config)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("changed since the plan was saved"));
    assert_eq!(env.writes("web"), writes, "nothing written");
    assert_eq!(
        env.contacts("web")["1"].custom_fields["firstName"].as_deref(),
        Some("Hand")
    );

    // A fresh saved plan applies.
    env.cmd()
        .args(["plan", "--out"])
        .arg(&saved)
        .arg(&config)
        .assert()
        .success();
    env.cmd()
        .args(["apply", "--auto-approve", "--plan"])
        .arg(&saved)
        .arg(&config)
        .assert()
        .success();
    assert_eq!(
        env.contacts("web")["1"].custom_fields["firstName"].as_deref(),
        Some("Alpha")
    );
    // Applied twice: the second run says the plan is in already, not only "changed".
    let writes = env.writes("web");
    env.cmd()
        .args(["apply", "--auto-approve", "--plan"])
        .arg(&saved)
        .arg(&config)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "the platform is already as this saved plan would make it",
        ))
        .stderr(predicate::str::contains(
            "email=a@x.com on web (it is already as this plan would make it)",
        ))
        .stderr(predicate::str::contains(
            "hint: `contactctl plan` shows what",
        ));
    assert_eq!(env.writes("web"), writes, "nothing written");

    // A changed config makes it stale too.
    env.cmd()
        .args(["plan", "--out"])
        .arg(&saved)
        .arg(&config)
        .assert()
        .success();
    env.config(&format!(
        "{DEFAULTS}contacts:\n  - fields: {{ email: a@x.com, firstName: Beta }}\n"
    ));
    env.cmd()
        .args(["apply", "--auto-approve", "--plan"])
        .arg(&saved)
        .arg(&config)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("config"));
}

#[test]
fn safety_limit_refuses_without_force_and_makes_no_call() {
    let web: Vec<_> = (0..10)
        .map(|i| {
            wire(
                &format!("{i}"),
                &[("email", &format!("u{i}@x.com")), ("firstName", "Old")],
                &[],
            )
        })
        .collect();
    let env = Env::new(web, vec![]);
    // 4 of 10 existing change: 40% > 30%
    let contacts: String = (0..10)
        .map(|i| {
            let name = if i < 4 { "New" } else { "Old" };
            format!("  - fields: {{ email: u{i}@x.com, firstName: {name} }}\n")
        })
        .collect();
    let config = env.config(&format!("{DEFAULTS}contacts:\n{contacts}"));
    env.cmd()
        .arg("plan")
        .arg(&config)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("safety"));
    env.cmd()
        .args(["apply", "--auto-approve"])
        .arg(&config)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--force"));
    assert_eq!(env.writes("web"), 0, "no call made");
    env.cmd()
        .args(["apply", "--auto-approve", "--force"])
        .arg(&config)
        .assert()
        .success();
    assert_eq!(env.writes("web"), 4);
}

#[test]
fn narrowing_by_channel_and_contact_reads_only_those() {
    let env = Env::new(vec![], vec![]);
    let config = env.config(&format!(
        "{DEFAULTS}contacts:\n  - fields: {{ email: a@x.com }}\n  - fields: {{ email: b@x.com }}\n  - channel: viber\n    fields: {{ email: c@x.com }}\n"
    ));
    let out = env
        .cmd()
        .args(["plan", "--format", "json", "--contact", "email=b@x.com"])
        .arg(&config)
        .output()
        .unwrap();
    let plan = Env::json(&out);
    assert_eq!(plan["contacts"].as_array().unwrap().len(), 1);
    assert_eq!(plan["contacts"][0]["identity"], "email=b@x.com");
    let out = env
        .cmd()
        .args(["plan", "--format", "json", "--channel", "viber"])
        .arg(&config)
        .output()
        .unwrap();
    let plan = Env::json(&out);
    assert_eq!(plan["contacts"].as_array().unwrap().len(), 1);
    assert_eq!(plan["contacts"][0]["channel"], "viber");
    assert_eq!(env.stats().total, 2);
    env.cmd()
        .args(["plan", "--contact", "nobody@x.com"])
        .arg(&config)
        .assert()
        .code(1);
    env.cmd()
        .args(["plan", "--channel", "nope"])
        .arg(&config)
        .assert()
        .code(1);
}

#[test]
fn apply_without_a_terminal_or_auto_approve_refuses_changes_but_not_an_empty_plan() {
    let env = Env::new(vec![], vec![]);
    let config = env.config(&format!(
        "{DEFAULTS}contacts:\n  - fields: {{ email: a@x.com }}\n"
    ));
    env.cmd()
        .arg("apply")
        .arg(&config)
        .write_stdin("yes\n")
        .assert()
        .code(1)
        .stdout(predicate::str::contains("1 to create"))
        .stderr(predicate::str::contains("--auto-approve"));
    let calls = env.stats().channels["web"].calls.clone();
    assert_eq!(
        calls.create + calls.update + calls.add_tags,
        0,
        "nothing written"
    );
    assert!(env.contacts("web").is_empty());

    // Once the platform matches, there is nothing to confirm: exit 0 without a terminal.
    env.cmd()
        .args(["apply", "--auto-approve"])
        .arg(&config)
        .assert()
        .success();
    env.cmd()
        .arg("apply")
        .arg(&config)
        .assert()
        .success()
        .stdout(predicate::str::contains("No changes"));
}

#[test]
fn a_saved_plan_applies_without_confirmation_as_it_was_the_reviewed_one() {
    let env = Env::new(vec![], vec![]);
    let config = env.config(&format!(
        "{DEFAULTS}contacts:\n  - fields: {{ email: a@x.com }}\n"
    ));
    let saved = env.dir.path().join("reviewed.json");
    env.cmd()
        .args(["plan", "--out"])
        .arg(&saved)
        .arg(&config)
        .assert()
        .success();
    env.cmd()
        .args(["apply", "--plan"])
        .arg(&saved)
        .arg(&config)
        .assert()
        .success();
    assert_eq!(env.contacts("web").len(), 1);
}

#[test]
fn usage_errors_exit_1_not_2() {
    assert_cmd::Command::cargo_bin("contactctl")
        .unwrap()
        .args(["plan", "--no-such-flag"])
        .assert()
        .code(1);
}

const MARKED: &str =
    "defaults:\n  channel: web\n  key: email\n  marker: { field: managed_by, value: git }\n";

#[test]
fn orphans_that_could_not_be_looked_for_are_said_and_the_run_exits_1() {
    // a config that names no contact: both channels are paged for their orphans alone
    let marked = |id: &str| wire(id, &[("email", "left@x.com"), ("managed_by", "git")], &[]);
    let env = Env::new(vec![marked("1")], vec![marked("v1")]);
    let config = env.config(&format!("{MARKED}contacts: []\n"));
    env.set_faults(Faults {
        unauthorized_after: Some(0),
        ..Faults::default()
    });
    for prune in [false, true] {
        let mut cmd = env.cmd();
        cmd.args(["plan", "--format", "json", "--detailed-exitcode"]);
        if prune {
            cmd.arg("--prune");
        }
        let out = cmd.arg(&config).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", show(&out));
        let plan = Env::json(&out);
        let warnings: Vec<&str> = plan["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|w| w.as_str())
            .collect();
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        for (w, channel) in warnings.iter().zip(["viber", "web"]) {
            assert!(
                w.starts_with(&format!(
                    "channel {channel}: its orphans are unknown, the marked contacts could not be read (channel \
                     {channel}: the API refused the token"
                )),
                "{w}"
            );
        }
        assert_eq!(plan["summary"]["orphans"], 0);
    }
    let out = env
        .cmd()
        .args(["apply", "--auto-approve", "--prune"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        show(&out).contains("its orphans are unknown"),
        "{}",
        show(&out)
    );
    // the platform answers again: the orphans are found, and a plan without --prune only lists them
    env.set_faults(Faults::default());
    let out = env
        .cmd()
        .args(["plan", "--format", "json", "--detailed-exitcode"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(Env::json(&out)["summary"]["orphans"], 2);
}

#[test]
fn the_marker_reads_in_bulk_reports_orphans_and_prune_removes_them() {
    let mut web: Vec<_> = (0..25)
        .map(|i| {
            wire(
                &format!("{i}"),
                &[("email", &format!("u{i}@x.com")), ("managed_by", "git")],
                &["VIP"],
            )
        })
        .collect();
    // an unmarked contact of the config, and an unmarked stranger
    web.push(wire("100", &[("email", "unmarked@x.com")], &["VIP"]));
    web.push(wire("101", &[("email", "stranger@x.com")], &["VIP"]));
    let env = Env::new(web, vec![]);
    // u0..u22 stay in the config; u23 and u24 left it: orphans
    let contacts: String = (0..23)
        .map(|i| format!("  - fields: {{ email: u{i}@x.com }}\n    tags: [VIP]\n"))
        .chain(["  - fields: { email: unmarked@x.com }\n".to_string()])
        .collect();
    let config = env.config(&format!("{MARKED}contacts:\n{contacts}"));

    let out = env
        .cmd()
        .args(["plan", "--format", "json", "--detailed-exitcode"])
        .arg(&config)
        .output()
        .unwrap();
    let plan = Env::json(&out);
    assert_eq!(plan["summary"]["orphans"], 2);
    assert_eq!(plan["summary"]["unchanged"], 23);
    assert_eq!(
        plan["summary"]["update"], 1,
        "the unmarked contact gets the marker"
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "the marker write is a change; orphans alone are not"
    );
    let stats = env.stats();
    let calls = &stats.channels["web"].calls;
    assert_eq!(calls.get, 0);
    assert_eq!(
        calls.lookup,
        3 + 1,
        "3 marker pages of 10, then 1 single look-up"
    );

    // Marker-only updates do not trip the safety limit (1 of 24 anyway), and apply writes it.
    env.cmd()
        .args(["apply", "--auto-approve"])
        .arg(&config)
        .assert()
        .success();
    assert_eq!(
        env.contacts("web")["100"].custom_fields["managed_by"].as_deref(),
        Some("git")
    );
    // Orphans only: exit 0 under --detailed-exitcode.
    env.plan_has_no_changes(&config);
    // With --prune they are changes, and apply removes their managed tags and the marker.
    env.cmd()
        .args(["plan", "--detailed-exitcode", "--prune"])
        .arg(&config)
        .assert()
        .code(2);
    env.cmd()
        .args(["apply", "--auto-approve", "--prune"])
        .arg(&config)
        .assert()
        .success();
    let web = env.contacts("web");
    for id in ["23", "24"] {
        assert!(web[id].tags.is_empty(), "managed tags removed");
        assert_eq!(
            web[id].custom_fields.get("managed_by").cloned().flatten(),
            None
        );
        assert_eq!(
            web[id].custom_fields["email"].as_deref(),
            Some(&*format!("u{id}@x.com")),
            "the contact itself stays"
        );
    }
    assert_eq!(
        web["101"].tags,
        vec!["VIP"],
        "an unmarked stranger is never touched"
    );
    env.cmd()
        .args(["plan", "--detailed-exitcode", "--prune"])
        .arg(&config)
        .assert()
        .code(0);
}

#[test]
fn an_unseeded_sandbox_knows_the_contacts_the_examples_name_by_id() {
    let root = env!("CARGO_MANIFEST_DIR");
    for example in ["examples/contactctl.yaml", "examples/split"] {
        let out = assert_cmd::Command::cargo_bin("contactctl")
            .unwrap()
            .current_dir(root)
            .args(["plan", example, "--sandbox", "--format", "json"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{example}: {:?}", s(&out));
        let plan = Env::json(&out);
        assert_eq!(plan["summary"]["errors"], 0, "{example}");
        assert!(
            plan["summary"]["update"].as_u64().unwrap() >= 1,
            "{example}: ID contacts exist"
        );
    }
}
