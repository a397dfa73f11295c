//! Tokens never leave the `Authorization` header: every command, run with `-v` against the
//! sandbox (successes, a refused token, a token revoked mid-run, a safety refusal, saved plans,
//! `--sandbox` with a state file, the `sandbox` command itself), keeps every token out of stdout,
//! stderr and every file it writes; `Debug` of every type that holds a token shows `***`; and
//! plain http to another machine is refused, however the URL is spelled.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use crate::support::{Env, VIBER_TOKEN, WEB_TOKEN, wire};
use contactctl::api::{ClientOptions, HttpClient, RateLimiter, Secret, http_client};
use contactctl::sandbox::{ChannelState, Faults, SandboxState};
use predicates::prelude::*;

/// A token the platform refuses: it must not be printed either.
const WRONG_TOKEN: &str = "wrong-tok-e91c07d3aa";
/// A token written in a `--sandbox-state` / `--state` file.
const STATE_TOKEN: &str = "state-file-tok-6b2d90";

/// Every token of these tests, and the in-process sandbox's.
fn tokens() -> Vec<String> {
    [
        WEB_TOKEN,
        VIBER_TOKEN,
        WRONG_TOKEN,
        STATE_TOKEN,
        "sandbox-web-token",
        "sandbox-viber-token",
    ]
    .map(String::from)
    .to_vec()
}

/// Every 10-character piece of every token that appears in `text` (a cut-off token is a leak
/// too), with where it was seen.
fn leaks(text: &str, where_: &str) -> Vec<String> {
    let mut found = Vec::new();
    for token in tokens() {
        let chars: Vec<char> = token.chars().collect();
        for w in chars.windows(10) {
            let piece: String = w.iter().collect();
            if text.contains(&piece) {
                found.push(format!("{where_}: {piece:?} of a token"));
                break;
            }
        }
    }
    if text.contains("Bearer ") {
        found.push(format!("{where_}: an Authorization header"));
    }
    found
}

/// What the sweep saw.
#[derive(Default)]
struct Sweep {
    outputs: usize,
    files: usize,
    leaks: Vec<String>,
}

impl Sweep {
    fn output(&mut self, what: &str, out: &std::process::Output) {
        self.outputs += 2;
        self.leaks.extend(leaks(
            &String::from_utf8_lossy(&out.stdout),
            &format!("{what} stdout"),
        ));
        self.leaks.extend(leaks(
            &String::from_utf8_lossy(&out.stderr),
            &format!("{what} stderr"),
        ));
    }

    fn files(&mut self, dir: &Path) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                self.files += 1;
                let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
                self.leaks.extend(leaks(&text, &path.display().to_string()));
            }
        }
    }
}

fn run(env: &Env, sweep: &mut Sweep, args: &[&str], config: &Path, code: i32) {
    let mut cmd = env.cmd();
    cmd.arg("-v").args(args).arg(config);
    let out = cmd.output().unwrap();
    let what = format!("contactctl -v {}", args.join(" "));
    assert_eq!(
        out.status.code(),
        Some(code),
        "{what}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    sweep.output(&what, &out);
}

#[test]
fn every_command_with_v_keeps_every_token_out_of_output_and_files() {
    let env = Env::new(
        vec![wire(
            "100",
            &[("email", "ana@example.com"), ("firstName", "Ana")],
            &["Newsletter"],
        )],
        vec![wire(
            "tMNGhftyUPrB3r1lD+bT4g==",
            &[("firstName", "Old")],
            &[],
        )],
    );
    let config = env.config(
        "defaults:\n  channel: web\n  key: email\nsafety:\n  max_change_percent: 100\ncontacts:\n  - fields: { email: ana@example.com, firstName: Anna }\n    tags: [VIP]\n  - fields: { email: new@example.com, firstName: New }\n  - channel: viber\n    id: \"tMNGhftyUPrB3r1lD+bT4g==\"\n    fields: { firstName: Ana }\n",
    );
    let mut sweep = Sweep::default();
    let dir = env.dir.path().to_path_buf();
    let p = |name: &str| dir.join(name).display().to_string();

    run(&env, &mut sweep, &["validate"], &config, 0);
    let schema = env.cmd().args(["-v", "schema"]).output().unwrap();
    sweep.output("schema", &schema);
    for format in ["text", "markdown", "json"] {
        let out = p(&format!("plan-{format}.json"));
        run(
            &env,
            &mut sweep,
            &[
                "plan",
                "--format",
                format,
                "--out",
                &out,
                "--detailed-exitcode",
            ],
            &config,
            2,
        );
    }
    let saved = p("plan-json.json");
    run(
        &env,
        &mut sweep,
        &["apply", "--auto-approve", "--plan", &saved],
        &config,
        0,
    );
    // someone edits a contact by hand; each format of apply puts it back
    for format in ["markdown", "json", "text"] {
        env.put_fields("100", &[("firstName", "Hand")]);
        run(
            &env,
            &mut sweep,
            &["apply", "--auto-approve", "--format", format],
            &config,
            0,
        );
    }
    // a token revoked mid-run: the report names the variable
    env.put_fields("100", &[("firstName", "Hand")]);
    env.set_faults(Faults {
        unauthorized_after: Some(2),
        ..Faults::default()
    });
    for format in ["text", "json"] {
        run(
            &env,
            &mut sweep,
            &["apply", "--auto-approve", "--format", format],
            &config,
            1,
        );
    }
    env.set_faults(Faults::default());
    // a token the platform refuses
    let out = env
        .cmd()
        .env("CT_WEB_TOKEN", format!("  {WRONG_TOKEN}\n"))
        .args(["-v", "apply", "--auto-approve"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("$CT_WEB_TOKEN"));
    sweep.output("apply with a refused token", &out);
    // the safety limit refuses (no call made)
    let strict = env.config_named(
        "strict.yaml",
        "defaults:\n  channel: web\n  key: email\nsafety:\n  max_change_percent: 0\n  min_existing: 1\ncontacts:\n  - fields: { email: ana@example.com, firstName: Strict }\n",
    );
    run(&env, &mut sweep, &["apply", "--auto-approve"], &strict, 1);
    // --sandbox, seeded from a state file that names a token
    // (in a directory of its own: it is an input, and the only file allowed to hold a token)
    let inputs = tempfile::tempdir().unwrap();
    let state = inputs.path().join("state.yaml");
    std::fs::write(
        &state,
        format!("channels:\n  web:\n    token: {STATE_TOKEN}\n    contacts:\n      - id: \"7\"\n        custom_fields: {{ email: ana@example.com }}\n  viber:\n    contacts:\n      - id: \"tMNGhftyUPrB3r1lD+bT4g==\"\n        custom_fields: {{ firstName: Old }}\n"),
    )
    .unwrap();
    let state_arg = state.display().to_string();
    for args in [
        vec![
            "plan",
            "--sandbox",
            "--sandbox-state",
            &state_arg,
            "--format",
            "json",
        ],
        vec![
            "apply",
            "--sandbox",
            "--sandbox-state",
            &state_arg,
            "--auto-approve",
        ],
    ] {
        run(&env, &mut sweep, &args, &config, 0);
    }
    sweep.files(&dir);

    println!(
        "FIGURES secrets outputs_checked={} files_checked={} tokens_leaked={}",
        sweep.outputs,
        sweep.files,
        sweep.leaks.len()
    );
    assert!(sweep.files >= 5, "the saved plans were checked");
    assert!(sweep.leaks.is_empty(), "{:#?}", sweep.leaks);
}

/// Start `contactctl -v sandbox --port 0 ARGS`, read its banner, stop it with Ctrl-C; everything
/// it wrote.
fn sandbox_banner(args: &[&str]) -> std::process::Output {
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("contactctl"))
        .args(["-v", "sandbox", "--port", "0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut banner = String::new();
    while !banner.contains("Press Ctrl-C") {
        let mut line = String::new();
        if stdout.read_line(&mut line).unwrap() == 0 {
            break;
        }
        banner.push_str(&line);
    }
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    stdout.read_to_string(&mut banner).unwrap();
    let mut out = child.wait_with_output().unwrap();
    out.stdout = banner.into_bytes();
    out
}

#[test]
fn the_sandbox_command_names_its_tokens_but_never_prints_them() {
    let mut sweep = Sweep::default();
    let out = sandbox_banner(&[]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        stdout.contains("serving the Contacts API at http://127.0.0.1:"),
        "{stdout}"
    );
    sweep.output("sandbox", &out);

    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.yaml");
    std::fs::write(
        &state,
        format!("channels:\n  web:\n    token: {STATE_TOKEN}\n"),
    )
    .unwrap();
    let out = sandbox_banner(&["--state", &state.display().to_string()]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(stdout.contains("Tokens: as set in"), "{stdout}");
    sweep.output("sandbox --state", &out);
    assert!(sweep.leaks.is_empty(), "{:#?}", sweep.leaks);
}

#[test]
fn debug_of_every_type_holding_a_token_shows_stars() {
    let secret = Secret::new(WEB_TOKEN);
    let config = contactctl::model::Channel {
        name: "web".into(),
        base_url: "https://x.example/api".into(),
        token_env: "CT_WEB_TOKEN".into(),
        token_env_at: Default::default(),
        rate_limit: 100,
        viber: false,
        viber_encode_get: false,
        boolean_format: Default::default(),
    };
    let client = HttpClient::new(
        &config,
        secret.clone(),
        http_client(Duration::from_secs(1)).unwrap(),
        Arc::new(RateLimiter::new(1)),
        ClientOptions::default(),
    );
    let mut state = SandboxState::demo();
    state
        .channels
        .insert("mine".into(), ChannelState::new(STATE_TOKEN));
    let shown = [
        format!("{secret:?} {secret:#?} {secret}"),
        format!("{client:?} {client:#?}"),
        format!("{:?}", ClientOptions::default()),
        format!("{state:?} {state:#?}"),
        format!("{:?}", state.channels["mine"]),
        format!("{config:?}"),
    ];
    for text in &shown {
        assert!(leaks(text, "Debug").is_empty(), "{text}");
    }
    assert!(shown[0].starts_with("*** "));
    assert!(shown[1].contains("***"), "{}", shown[1]);
    assert!(shown[3].contains("token: \"***\""), "{}", shown[3]);
    assert!(
        shown[4].contains("rate_limit: 100"),
        "the rest is still shown: {}",
        shown[4]
    );
}

fn remote_config(dir: &Path, base_url: &str) -> PathBuf {
    let path = dir.join("insecure.yaml");
    std::fs::write(
        &path,
        format!("version: 1\nchannels:\n  web:\n    base_url: {base_url:?}\n    token_env: CT_WEB_TOKEN\nfields:\n  email: {{ type: email }}\ndefaults:\n  key: email\ncontacts:\n  - fields: {{ email: a@x.com }}\n"),
    )
    .unwrap();
    path
}

#[test]
fn plain_http_to_another_machine_is_refused_however_the_url_is_spelled() {
    let env = Env::new(vec![], vec![]);
    // user info and fragments are refused by validate before any transport check
    for (url, says) in [
        (
            "http://contacts.example.invalid\\@127.0.0.1/api",
            "base_url holds user info",
        ),
        (
            "http://contacts.example.invalid#@127.0.0.1/api",
            "holds a query string or a fragment",
        ),
        (
            "http://127.0.0.1:80@contacts.example.invalid/api",
            "base_url holds user info",
        ),
    ] {
        let config = remote_config(env.dir.path(), url);
        env.cmd()
            .args(["plan", "--timeout", "2"])
            .arg(&config)
            .assert()
            .code(1)
            .stderr(predicate::str::contains(says));
    }
    for url in [
        "http://contacts.example.invalid/api",
        "HTTP://contacts.example.invalid/api",
    ] {
        let config = remote_config(env.dir.path(), url);
        for command in [&["plan"][..], &["apply", "--auto-approve"]] {
            env.cmd()
                .args(command)
                .args(["--timeout", "2"])
                .arg(&config)
                .assert()
                .code(1)
                .stderr(predicate::str::contains(
                    "is plain http, which would send the token in clear",
                ))
                .stderr(predicate::str::contains(
                    "hint: use https, or pass --allow-insecure",
                ));
        }
    }
    assert_eq!(env.stats().total, 0);
    // --allow-insecure lets it through to the network (here: a host that does not exist)
    let config = remote_config(env.dir.path(), "http://contacts.example.invalid/api");
    env.cmd()
        .args(["plan", "--allow-insecure", "--timeout", "2"])
        .arg(&config)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("plain http").not());
    // loopback is this machine: allowed without the flag (the sandbox itself is plain http)
    let local = SocketAddr::from(([127, 0, 0, 1], env.sandbox.addr().port()));
    let config = remote_config(env.dir.path(), &format!("HTTP://{local}/api"));
    env.cmd().arg("plan").arg(&config).assert().code(0);
}

#[test]
fn an_unset_token_variable_is_named_only_when_it_looks_like_one() {
    let env = Env::new(vec![], vec![]);
    // a name of the allowed shape, but lower case: a pasted token, perhaps
    let pasted = "sk_live_4f9a8b7c6d5e";
    let path = env.dir.path().join("pasted.yaml");
    std::fs::write(
        &path,
        format!("version: 1\nchannels:\n  web:\n    base_url: https://x.example/api\n    token_env: {pasted}\n  viber:\n    base_url: https://x.example/api\n    token_env: CT_UNSET_VIBER_TOKEN\nfields:\n  email: {{ type: email }}\ndefaults:\n  key: email\ncontacts:\n  - fields: {{ email: a@x.com }}\n    channel: web\n  - fields: {{ email: b@x.com }}\n    channel: viber\n"),
    )
    .unwrap();
    let out = env.cmd().args(["plan"]).arg(&path).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains(pasted), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "named by token_env at {}:5:16 (channel web)",
            path.display()
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("CT_UNSET_VIBER_TOKEN (channel viber)"),
        "{stderr}"
    );
}
