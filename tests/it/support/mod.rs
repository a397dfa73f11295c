//! The one end-to-end harness of the integration tests and benches: the two-channel sandbox
//! (`web`, and Viber `viber`) started in the test process on 127.0.0.1:0 with the tokens below,
//! live-contact builders, configs written to a temp dir pointing at it, the built `contactctl`
//! binary run against them, and git in that directory. Beside it: [`http`], a raw HTTP client
//! of the sandbox for the sandbox's own suites, [`reliability`], the virtual clock, the
//! library's pipeline under it and the platform checks of the reliability suites, and
//! [`hostile`], a bounded misbehaving server (huge bodies, endless pages, self-links, 429 for
//! ever) for the hardening suite, whose behaviour each test sets. Benches include
//! it with `#[path = "../tests/it/support/mod.rs"] mod support;`. Test support only; nothing here is
//! under test.
#![allow(dead_code)]

pub mod hostile;
pub mod http;
pub mod reliability;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use contactctl::api::wire::WireContact;
use contactctl::sandbox::{self, ChannelState, Faults, SandboxHandle, SandboxState, Stats};

/// Tokens of the sandbox's channels: distinctive, so a leak is found by a plain search. Configs
/// written here read them from `CT_WEB_TOKEN` and `CT_VIBER_TOKEN`.
pub const WEB_TOKEN: &str = "e2e-web-token-5f2a9c";
pub const VIBER_TOKEN: &str = "e2e-viber-token-71be04";

/// A sandbox serving `state` on a free loopback port.
pub async fn serve(state: SandboxState) -> SandboxHandle {
    sandbox::start(state, SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap()
}

/// The platform every suite starts from: channels `web` and Viber `viber` holding these contacts,
/// with the tokens above, rate limit `rate` each, and `faults`.
pub fn platform(
    web: Vec<WireContact>,
    viber: Vec<WireContact>,
    rate: u32,
    faults: Faults,
) -> SandboxState {
    let mut w = ChannelState::new(WEB_TOKEN);
    w.rate_limit = rate;
    w.contacts = web;
    let mut v = ChannelState::new(VIBER_TOKEN);
    v.viber = true;
    v.rate_limit = rate;
    v.contacts = viber;
    SandboxState {
        channels: [("web".to_string(), w), ("viber".to_string(), v)].into(),
        faults,
    }
}

/// [`platform`], served on a free loopback port.
pub async fn start_sandbox(
    web: Vec<WireContact>,
    viber: Vec<WireContact>,
    rate: u32,
    faults: Faults,
) -> SandboxHandle {
    serve(platform(web, viber, rate, faults)).await
}

/// A running sandbox plus a scratch directory.
pub struct Env {
    pub rt: tokio::runtime::Runtime,
    pub sandbox: SandboxHandle,
    pub dir: tempfile::TempDir,
}

/// A contact for a sandbox state: `fields` as (name, value) pairs.
pub fn wire(id: &str, fields: &[(&str, &str)], tags: &[&str]) -> WireContact {
    WireContact {
        id: id.to_string(),
        custom_fields: fields
            .iter()
            .map(|(k, v)| (k.to_string(), Some(v.to_string())))
            .collect(),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        created_at: Some(1_700_000_000),
    }
}

impl Env {
    /// Sandbox with channels `web` and Viber `viber` (rate limit `rate`), seeded with contacts.
    pub fn new(web: Vec<WireContact>, viber: Vec<WireContact>) -> Env {
        Env::with_rate(web, viber, 10_000)
    }

    pub fn with_rate(web: Vec<WireContact>, viber: Vec<WireContact>, rate: u32) -> Env {
        Env::with_state(platform(web, viber, rate, Faults::default()))
    }

    /// A sandbox serving `state` (start from [`platform`]: the configs written here name its
    /// channels and tokens).
    pub fn with_state(state: SandboxState) -> Env {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let sandbox = rt.block_on(serve(state));
        Env {
            rt,
            sandbox,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// Write `contactctl.yaml`: the standard channels/fields/tags header (channels pointing at
    /// the sandbox) followed by `rest` (defaults, safety, contacts...).
    pub fn config(&self, rest: &str) -> PathBuf {
        self.config_named("contactctl.yaml", rest)
    }

    pub fn config_named(&self, name: &str, rest: &str) -> PathBuf {
        let base = self.sandbox.base_url();
        let text = format!(
            "version: 1\nchannels:\n  web:\n    base_url: {base}\n    token_env: CT_WEB_TOKEN\n  viber:\n    base_url: {base}\n    token_env: CT_VIBER_TOKEN\n    viber: true\n    boolean_format: lower\nfields:\n  email: {{ type: email }}\n  firstName: {{ type: text }}\n  lastName: {{ type: text }}\n  phone: {{ type: phone }}\n  vip: {{ type: boolean }}\n  customerid: {{ type: number }}\ntags: [Blog Updates, Platform Updates, VIP]\n{rest}"
        );
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Write `text` to `name` in the scratch directory (its directories made as needed); the
    /// path.
    pub fn write_file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(&path, text).unwrap();
        path
    }

    /// The binary, with both tokens in the environment and colour off.
    pub fn cmd(&self) -> assert_cmd::Command {
        let mut cmd = assert_cmd::Command::cargo_bin("contactctl").unwrap();
        cmd.env("CT_WEB_TOKEN", WEB_TOKEN)
            .env("CT_VIBER_TOKEN", VIBER_TOKEN)
            .env("NO_COLOR", "1")
            .env_remove("CONTACTCTL_TIMEOUT")
            .current_dir(self.dir.path());
        cmd
    }

    /// `contactctl plan --detailed-exitcode CONFIG` exits 0: the platform matches the config.
    /// The assertion, for more checks of the output.
    pub fn plan_has_no_changes(
        &self,
        config: impl AsRef<std::ffi::OsStr>,
    ) -> assert_cmd::assert::Assert {
        self.cmd()
            .args(["plan", "--detailed-exitcode"])
            .arg(config)
            .assert()
            .code(0)
    }

    /// Live contacts of a channel, by ID.
    pub fn contacts(&self, channel: &str) -> BTreeMap<String, WireContact> {
        self.sandbox.snapshot().channels[channel]
            .contacts
            .iter()
            .map(|c| (c.id.clone(), c.clone()))
            .collect()
    }

    /// Live contacts of a channel whose `field` equals `value`.
    pub fn find(&self, channel: &str, field: &str, value: &str) -> Vec<WireContact> {
        self.contacts(channel)
            .into_values()
            .filter(|c| c.custom_fields.get(field).cloned().flatten().as_deref() == Some(value))
            .collect()
    }

    pub fn stats(&self) -> Stats {
        self.sandbox.stats()
    }

    pub fn set_faults(&self, faults: Faults) {
        self.sandbox.set_faults(faults);
    }

    /// Write calls (create, update, tags) the sandbox received on a channel.
    pub fn writes(&self, channel: &str) -> u64 {
        let s = self.stats();
        let Some(c) = s.channels.get(channel) else {
            return 0;
        };
        c.calls.create + c.calls.update + c.calls.add_tags + c.calls.remove_tags
    }

    /// Edit a web contact by hand, as a person in the platform's UI would.
    pub fn put_fields(&self, id: &str, fields: &[(&str, &str)]) {
        let url = format!("{}/v1/contact/{id}", self.sandbox.base_url());
        let body = serde_json::json!({
            "custom_fields": fields.iter().map(|(n, v)| serde_json::json!({"name": n, "value": v})).collect::<Vec<_>>()
        });
        let status = self.rt.block_on(async {
            crate::support::http::client()
                .put(url)
                .bearer_auth(WEB_TOKEN)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
        });
        assert!(status.is_success(), "{status}");
    }

    /// Parse stdout of a `--format json` run.
    pub fn json(out: &std::process::Output) -> serde_json::Value {
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        })
    }
}

// ---- change-scoped runs: a git repository in the scratch directory, read calls -------------

impl Env {
    /// Run `git args` in the scratch directory; its stdout. Panics when git fails.
    pub fn git(&self, args: &[&str]) -> String {
        git_in(self.dir.path(), args)
    }

    /// Make the scratch directory a git repository (no commit yet).
    pub fn git_init(&self) {
        self.git(&["init", "-q", "-b", "main"]);
        self.git(&["config", "user.email", "e2e@example.com"]);
        self.git(&["config", "user.name", "e2e"]);
        self.git(&["config", "commit.gpgsign", "false"]);
    }

    /// Commit everything in the scratch directory; the commit's ID.
    pub fn commit(&self, message: &str) -> String {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
        self.git(&["rev-parse", "HEAD"])
    }

    /// Read calls (look-ups and gets) the sandbox received on a channel.
    pub fn reads(&self, channel: &str) -> u64 {
        let s = self.stats();
        s.channels
            .get(channel)
            .map_or(0, |c| c.calls.lookup + c.calls.get)
    }
}

/// Bytes as text, for asserting on a run's output.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A run's exit code, stdout and stderr, for an assertion's message.
pub fn show(out: &std::process::Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    )
}

/// Run `git args` in `dir`, with no global or system config; its stdout. Panics when git fails.
pub fn git_in(dir: &std::path::Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}
