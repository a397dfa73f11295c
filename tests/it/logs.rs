//! What a CI log shows: `-v` logs every request without contacts' personal data (their key and
//! field values are masked; `-vv` shows them and says so once), and a channel whose host cannot
//! be reached is named with the URL it tried, quickly.

use std::time::Duration;

use crate::support::{Env, WEB_TOKEN, wire};
use predicates::prelude::*;

/// Key and field values of the contacts below: none may reach stderr under `-v`.
const VALUES: [&str; 6] = [
    "ana.lopez@example.com",
    "ana.lopez%40example.com",
    "+34 600 111 223",
    "%2B34%20600%20111%20223",
    "Lopezmartinez",
    "bruno.diaz@example.com",
];

fn env_with_contacts() -> (Env, std::path::PathBuf) {
    let env = Env::new(
        vec![wire(
            "1001",
            &[("email", "ana.lopez@example.com"), ("lastName", "Old")],
            &[],
        )],
        vec![],
    );
    let config = env.config(
        "defaults: { channel: web, key: email }\ncontacts:\n  - fields: { email: ana.lopez@example.com, lastName: Lopezmartinez }\n  - fields: { email: bruno.diaz@example.com }\n  - key: phone\n    fields: { phone: \"+34 600 111 223\" }\n",
    );
    (env, config)
}

fn stderr_of(env: &Env, args: &[&str], config: &std::path::Path) -> String {
    let out = env
        .cmd()
        .args(args)
        .arg(config)
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn dash_v_logs_every_request_but_no_key_value_field_value_or_token() {
    let (env, config) = env_with_contacts();
    for args in [&["plan", "-v"][..], &["apply", "--auto-approve", "-v"]] {
        let err = stderr_of(&env, args, &config);
        assert!(
            err.contains("GET /v1/contact/by_custom_field?name=email&value=a***@example.com"),
            "{args:?}: the look-up is logged, its value masked:\n{err}"
        );
        assert!(
            err.contains("value=+34 6** *** *23"),
            "{args:?}: a phone keeps its shape:\n{err}"
        );
        for v in VALUES.iter().chain([&WEB_TOKEN]) {
            assert!(!err.contains(v), "{args:?}: {v:?} in stderr:\n{err}");
        }
        assert!(!err.contains("-vv"), "{err}");
    }
    assert!(env.writes("web") > 0, "the apply made its calls");
}

#[test]
fn dash_vv_shows_the_values_and_says_so_once() {
    let (env, config) = env_with_contacts();
    let err = stderr_of(&env, &["plan", "-vv"], &config);
    assert!(
        err.contains("value=ana.lopez%40example.com"),
        "the value as sent:\n{err}"
    );
    assert!(err.contains("value=%2B34%20600%20111%20223"), "{err}");
    assert_eq!(
        err.matches("in full").count(),
        1,
        "said once, before the log:\n{err}"
    );
    assert!(!err.contains(WEB_TOKEN), "never the token:\n{err}");
}

#[test]
fn a_dead_port_names_the_channel_and_the_url_it_tried() {
    let env = Env::new(vec![], vec![]);
    // nothing listens on port 1, and no test's server can take it (below the ephemeral range)
    let port = 1;
    let path = env.dir.path().join("dead.yaml");
    std::fs::write(
        &path,
        format!(
            "version: 1\nchannels:\n  web:\n    base_url: http://127.0.0.1:{port}/api\n    token_env: CT_WEB_TOKEN\nfields:\n  email: {{ type: email }}\ndefaults: {{ channel: web, key: email }}\ncontacts:\n  - fields: {{ email: a@example.com }}\n  - fields: {{ email: b@example.com }}\n"
        ),
    )
    .unwrap();
    env.cmd()
        .arg("plan")
        .arg(&path)
        // a safety net for a hung run, not a timing assertion (the run takes ~2 s)
        .timeout(Duration::from_secs(60))
        .assert()
        .code(1)
        .stdout(predicate::str::contains(format!(
            "channel web: cannot reach http://127.0.0.1:{port}/api: connection refused (3 attempts)"
        )));
}
