//! End to end: write modes and protected fields (SPEC "Who owns a value: write modes"), through
//! the built binary against the sandbox: a `create` field changed on the platform is kept
//! (shown, no call, no drift), an `if_empty` field is filled when empty and kept when not, a
//! null writes nothing, an `add` tag is added where listed and never removed; the summary's
//! `kept` and `api_calls` are exact. A protected field's change is refused without `--force`.
//! A change of a mode alone puts exactly the contacts it affects in a change-scoped run's scope.

use std::path::PathBuf;

use crate::support::{Env, show, text, wire};
use serde_json::Value;

/// The config's head: `web` on the sandbox; `firstName` is `write: create`, `nickname`
/// `write: if_empty`, `phone` protected; the tag `Onboarded` is `write: add`.
fn head(env: &Env, nickname_mode: &str, onboarded: &str) -> String {
    let base = env.sandbox.base_url();
    format!(
        "version: 1\nchannels:\n  web: {{ base_url: {base}, token_env: CT_WEB_TOKEN }}\nfields:\n  email: {{ type: email }}\n  firstName: {{ type: text, write: create }}\n  nickname: {{ type: text, write: {nickname_mode} }}\n  phone: {{ type: phone }}\ntags:\n  - VIP\n  - {onboarded}\ndefaults: {{ channel: web, key: email }}\nsafety: {{ max_change_percent: 100, protected_fields: [phone] }}\n"
    )
}

fn write(env: &Env, name: &str, text: &str) -> PathBuf {
    env.write_file(name, text)
}

/// `plan CONFIG --format json ARGS`: the exit code and the plan.
fn plan(env: &Env, config: &PathBuf, args: &[&str]) -> (Option<i32>, Value) {
    let out = env
        .cmd()
        .arg("plan")
        .arg(config)
        .args(["--format", "json"])
        .args(args)
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(1), "{}", show(&out));
    (out.status.code(), Env::json(&out))
}

fn contact<'a>(plan: &'a Value, email: &str) -> &'a Value {
    plan["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["identity"] == format!("email={email}"))
        .unwrap_or_else(|| panic!("no {email} in {plan:#}"))
}

fn field(env: &Env, id: &str, name: &str) -> Option<String> {
    env.contacts("web")[id]
        .custom_fields
        .get(name)
        .cloned()
        .flatten()
        .map(|v| v.to_string())
}

fn tags(env: &Env, id: &str) -> Vec<String> {
    let mut t = env.contacts("web")[id].tags.clone();
    t.sort();
    t
}

const CONTACTS: &str = "contacts:
  - fields: { email: ana@x.example, firstName: Ann, nickname: Annie }
    tags: [VIP]
  - fields: { email: bo@x.example, firstName: Bo, nickname: Rob }
    tags: []
  - fields: { email: cy@x.example, nickname: null }
    tags: [Onboarded]
  - fields: { email: dee@x.example, firstName: Dee, nickname: Dee-Dee }
    tags: [Onboarded]
";

fn platform() -> Env {
    Env::new(
        vec![
            // an agent corrected Ann's name; her nickname is empty
            wire(
                "1001",
                &[
                    ("email", "ana@x.example"),
                    ("firstName", "Anne"),
                    ("nickname", ""),
                ],
                &["Onboarded"],
            ),
            wire(
                "1002",
                &[
                    ("email", "bo@x.example"),
                    ("firstName", "Bo"),
                    ("nickname", "Bobby"),
                ],
                &["Onboarded", "VIP"],
            ),
            wire(
                "1003",
                &[("email", "cy@x.example"), ("nickname", "Cee")],
                &[],
            ),
        ],
        vec![],
    )
}

#[test]
fn kept_values_make_no_call_and_no_drift_and_add_tags_stay() {
    let env = platform();
    let config = write(
        &env,
        "contactctl.yaml",
        &(head(&env, "if_empty", "{ name: Onboarded, write: add }") + CONTACTS),
    );

    let (code, p) = plan(&env, &config, &["--detailed-exitcode"]);
    assert_eq!(code, Some(2), "{p:#}");
    // ana: nickname filled + VIP added; bo: VIP removed (Onboarded stays); cy: Onboarded added;
    // dee: created with its create and if_empty fields in the create call, then its tag
    assert_eq!(p["summary"]["api_calls"], 6, "{p:#}");
    assert_eq!(p["summary"]["kept"], 3, "{p:#}");
    assert_eq!(
        (
            &p["summary"]["create"],
            &p["summary"]["update"],
            &p["summary"]["unchanged"]
        ),
        (&Value::from(1), &Value::from(3), &Value::from(0))
    );
    let ana = contact(&p, "ana@x.example");
    assert_eq!(
        ana["kept"],
        serde_json::json!([{"name": "firstName", "platform": "Anne", "repo": "Ann"}])
    );
    assert_eq!(
        ana["fields"],
        serde_json::json!([{"name": "nickname", "before": null, "after": "Annie"}])
    );
    let bo = contact(&p, "bo@x.example");
    assert_eq!(
        bo["kept"],
        serde_json::json!([{"name": "nickname", "platform": "Bobby", "repo": "Rob"}])
    );
    assert_eq!(
        bo["tags_removed"],
        serde_json::json!(["VIP"]),
        "Onboarded is add: it stays"
    );
    let cy = contact(&p, "cy@x.example");
    assert_eq!(
        cy["fields"],
        serde_json::json!([]),
        "a null if_empty writes nothing"
    );
    assert_eq!(
        cy["kept"],
        serde_json::json!([{"name": "nickname", "platform": "Cee", "repo": null}])
    );

    // text shows the kept values under their contacts
    let out = env.cmd().arg("plan").arg(&config).output().unwrap();
    let t = text(&out.stdout);
    assert!(
        t.contains("      = firstName: \"Anne\" (kept; the repo has \"Ann\")"),
        "{t}"
    );
    assert!(t.contains("3 values kept on the platform"), "{t}");

    let before = env.writes("web");
    env.cmd()
        .args(["apply", "--auto-approve"])
        .arg(&config)
        .assert()
        .code(0);
    assert_eq!(env.writes("web") - before, 6, "exactly the planned calls");
    assert_eq!(
        field(&env, "1001", "firstName").as_deref(),
        Some("Anne"),
        "kept"
    );
    assert_eq!(
        field(&env, "1001", "nickname").as_deref(),
        Some("Annie"),
        "filled"
    );
    assert_eq!(
        tags(&env, "1001"),
        ["Onboarded", "VIP"],
        "add tag not listed stays"
    );
    assert_eq!(
        field(&env, "1002", "nickname").as_deref(),
        Some("Bobby"),
        "kept"
    );
    assert_eq!(
        tags(&env, "1002"),
        ["Onboarded"],
        "add tag stays with tags: []"
    );
    assert_eq!(
        field(&env, "1003", "nickname").as_deref(),
        Some("Cee"),
        "null wrote nothing"
    );
    assert_eq!(
        tags(&env, "1003"),
        ["Onboarded"],
        "add tag added where listed"
    );
    let dee = env.find("web", "email", "dee@x.example");
    assert_eq!(dee.len(), 1);
    assert_eq!(
        dee[0]
            .custom_fields
            .get("firstName")
            .cloned()
            .flatten()
            .as_deref(),
        Some("Dee"),
        "a create field goes in the create call"
    );

    // no drift after apply: the kept values are shown, not changes
    let (code, p) = plan(&env, &config, &["--detailed-exitcode"]);
    assert_eq!(code, Some(0), "{p:#}");
    assert_eq!(p["summary"]["api_calls"], 0);
    assert_eq!(p["summary"]["kept"], 3);
    assert_eq!(p["summary"]["unchanged"], 4);

    // an agent corrects the created contact's first name: kept, still no drift
    env.put_fields(&dee[0].id, &[("firstName", "Deedee")]);
    let (code, p) = plan(
        &env,
        &config,
        &["--detailed-exitcode", "--out", "saved.json"],
    );
    assert_eq!(code, Some(0), "{p:#}");
    assert_eq!(p["summary"]["kept"], 4);
    assert_eq!(
        contact(&p, "dee@x.example")["kept"],
        serde_json::json!([{"name": "firstName", "platform": "Deedee", "repo": "Dee"}])
    );
    // the saved plan carries the kept values; show prints them
    let out = env.cmd().args(["show", "saved.json"]).output().unwrap();
    assert!(
        text(&out.stdout).contains("= firstName: \"Deedee\" (kept; the repo has \"Dee\")"),
        "{}",
        show(&out)
    );
    let out = env
        .cmd()
        .args(["show", "saved.json", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(Env::json(&out)["summary"]["kept"], 4);
}

/// Ana with a phone (a protected field), Bo without one.
fn protected_platform() -> Env {
    Env::new(
        vec![
            wire(
                "1001",
                &[("email", "ana@x.example"), ("phone", "+34600111222")],
                &[],
            ),
            wire("1002", &[("email", "bo@x.example")], &[]),
        ],
        vec![],
    )
}

#[test]
fn a_protected_field_s_change_needs_force_and_a_create_or_a_fill_does_not() {
    let env = protected_platform();
    let head = head(&env, "if_empty", "Onboarded");
    // filling an empty protected value and creating a contact with one: no --force needed
    let config = write(
        &env,
        "contactctl.yaml",
        &(head.clone()
            + "contacts:\n  - fields: { email: bo@x.example, phone: \"+34600222333\" }\n  - fields: { email: new@x.example, phone: \"+34600444555\" }\n"),
    );
    env.cmd()
        .args(["apply", "--auto-approve"])
        .arg(&config)
        .assert()
        .code(0);
    assert_eq!(
        field(&env, "1002", "phone").as_deref(),
        Some("+34600222333")
    );
    assert_eq!(env.find("web", "phone", "+34600444555").len(), 1);

    // changing a non-empty protected value: marked, and refused with exit 1 and no call
    let config = write(
        &env,
        "contactctl.yaml",
        &(head + "contacts:\n  - fields: { email: ana@x.example, phone: \"+34600999999\" }\n"),
    );
    let (_, p) = plan(&env, &config, &["--out", "saved.json"]);
    assert_eq!(
        contact(&p, "ana@x.example")["fields"],
        serde_json::json!([{"name": "phone", "before": "+34600111222", "after": "+34600999999", "protected": true}])
    );
    let writes = env.writes("web");
    for args in [
        vec!["apply", "--auto-approve", "contactctl.yaml"],
        vec!["apply", "contactctl.yaml", "--plan", "saved.json"],
    ] {
        let out = env.cmd().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", show(&out));
        assert!(
            text(&out.stderr).contains("phone of email=ana@x.example on web"),
            "names the contact and the field: {}",
            show(&out)
        );
        assert_eq!(env.writes("web"), writes, "{args:?}: no call");
    }
    assert_eq!(
        field(&env, "1001", "phone").as_deref(),
        Some("+34600111222")
    );

    env.cmd()
        .args(["apply", "--auto-approve", "--force"])
        .arg(&config)
        .assert()
        .code(0);
    assert_eq!(env.writes("web") - writes, 1);
    assert_eq!(
        field(&env, "1001", "phone").as_deref(),
        Some("+34600999999")
    );
}

/// Contact `i`: every second sets `nickname` (every fourth to null), every third has a `tags:`
/// key.
fn scoped_contact(i: usize) -> String {
    let mut s = format!("  - fields: {{ email: u{i}@x.example");
    if i.is_multiple_of(4) {
        s.push_str(", nickname: null");
    } else if i.is_multiple_of(2) {
        s.push_str(&format!(", nickname: N{i}"));
    }
    s.push_str(" }\n");
    if i.is_multiple_of(3) {
        s.push_str("    tags: [VIP]\n");
    }
    s
}

#[test]
fn a_mode_change_alone_scopes_exactly_the_contacts_it_affects() {
    let n = 12;
    let env = Env::new(
        (0..n)
            .map(|i| {
                let email = format!("u{i}@x.example");
                let nick = format!("N{i}");
                let mut fields = vec![("email", email.as_str())];
                if i % 2 == 0 && i % 4 != 0 {
                    fields.push(("nickname", nick.as_str()));
                }
                let tags: &[&str] = if i % 3 == 0 { &["VIP"] } else { &[] };
                wire(&(1000 + i).to_string(), &fields, tags)
            })
            .collect(),
        vec![],
    );
    env.git_init();
    let contacts: String = (0..n).map(scoped_contact).collect();
    let body = |mode: &str, tag: &str| head(&env, mode, tag) + "contacts:\n" + &contacts;
    write(&env, "contactctl.yaml", &body("sync", "Onboarded"));
    let config = env.dir.path().join("contactctl.yaml");
    let (code, _) = plan(&env, &config, &["--detailed-exitcode"]);
    assert_eq!(code, Some(0), "the platform is as applied");
    env.commit("applied");

    // only nickname's mode: the 6 contacts that set it (null included), one read each
    write(&env, "contactctl.yaml", &body("if_empty", "Onboarded"));
    let reads = env.reads("web");
    let (_, p) = plan(&env, &config, &["--changed-since", "HEAD"]);
    assert_eq!(env.reads("web") - reads, 6, "{p:#}");
    assert_eq!(p["summary"]["skipped"], 6);
    let mut read: Vec<String> = p["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["identity"].as_str().unwrap().to_string())
        .collect();
    read.sort();
    let mut expected: Vec<String> = (0..n)
        .filter(|i| i % 2 == 0)
        .map(|i| format!("email=u{i}@x.example"))
        .collect();
    expected.sort();
    assert_eq!(read, expected);
    env.commit("nickname if_empty");

    // only a tag's mode: the 4 contacts with a tags: key, listing it or not
    write(
        &env,
        "contactctl.yaml",
        &body("if_empty", "{ name: Onboarded, write: add }"),
    );
    let reads = env.reads("web");
    let (_, p) = plan(&env, &config, &["--changed-since", "HEAD"]);
    assert_eq!(env.reads("web") - reads, 4, "{p:#}");
    assert_eq!(p["summary"]["skipped"], 8);
    assert!(
        p["contacts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| ["u0@", "u3@", "u6@", "u9@"]
                .iter()
                .any(|e| c["identity"].as_str().unwrap().contains(e))),
        "{p:#}"
    );
}

#[test]
fn a_plan_right_after_import_shows_no_change_with_modes_set() {
    let env = platform();
    std::fs::create_dir_all(env.dir.path().join("repo")).unwrap();
    write(
        &env,
        "repo/00-base.yaml",
        &head(&env, "if_empty", "{ name: Onboarded, write: add }"),
    );
    let out = env
        .cmd()
        .args([
            "import",
            "--channel",
            "web",
            "--id",
            "1001",
            "--id",
            "1002",
            "--id",
            "1003",
            "--out",
            "repo/50-imported.yaml",
            "repo",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let (code, p) = plan(&env, &env.dir.path().join("repo"), &["--detailed-exitcode"]);
    assert_eq!(code, Some(0), "{p:#}");
    assert_eq!(p["summary"]["unchanged"], 3);
    assert_eq!(p["summary"]["kept"], 0);
    assert_eq!(p["summary"]["api_calls"], 0);
}

#[test]
fn a_saved_plan_with_a_protected_change_is_refused_before_any_call_and_with_force_applies() {
    let env = protected_platform();
    let config = write(
        &env,
        "contactctl.yaml",
        &(head(&env, "if_empty", "Onboarded")
            + "contacts:\n  - fields: { email: ana@x.example, phone: \"+34600999999\" }\n  - fields: { email: bo@x.example, phone: \"+34600222333\" }\n"),
    );
    plan(&env, &config, &["--out", "saved.json"]);
    let before = env.stats().total;
    let out = env
        .cmd()
        .args(["apply", "contactctl.yaml", "--plan", "saved.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        text(&out.stderr).contains("phone of email=ana@x.example on web"),
        "{}",
        show(&out)
    );
    assert_eq!(
        env.stats().total,
        before,
        "the saved plan says what is protected: no read, no write"
    );

    // with --force it is rechecked (one read per planned contact) and applied
    env.cmd()
        .args([
            "apply",
            "contactctl.yaml",
            "--plan",
            "saved.json",
            "--force",
        ])
        .assert()
        .code(0);
    assert_eq!(env.stats().total - before, 2 + 2, "2 reads, 2 writes");
    assert_eq!(
        field(&env, "1001", "phone").as_deref(),
        Some("+34600999999")
    );
}
