//! What a hostile server can do to a run, and where the tool stops it (issue #21): a response
//! larger than the cap, paging that never ends, a 429 that never ends. Each against the bounded
//! hostile server of `support::hostile`, in process through the real HTTP client, and through the
//! built binary where the user sees it.

use std::sync::Arc;
use std::time::Duration;

use contactctl::api::{
    ApiError, ClientOptions, ContactsApi, HttpClient, MAX_RESPONSE_BYTES, RateLimiter, Secret,
    http_client,
};
use contactctl::model::{BooleanFormat, Channel};

use crate::support::hostile::{Background, Behaviour, Hostile};
use crate::support::{show, text};

const GIB: u64 = 1 << 30;
/// What loopback socket buffers may hold beyond what the client read before it hung up.
const SLACK: u64 = 32 << 20;

fn channel(base_url: String) -> Channel {
    Channel {
        name: "web".into(),
        base_url,
        token_env: "CT_WEB_TOKEN".into(),
        rate_limit: 1000,
        viber: false,
        viber_encode_get: false,
        boolean_format: BooleanFormat::Upper,
    }
}

fn client(server: &Hostile, options: ClientOptions) -> HttpClient {
    HttpClient::new(
        &channel(server.base_url()),
        Secret::new("hostile-token"),
        http_client(Duration::from_secs(30)).unwrap(),
        Arc::new(RateLimiter::new(1000)),
        options,
    )
}

/// A config with channel `web` at `base_url`, a marker, and `contacts` contacts on it.
fn config(dir: &std::path::Path, base_url: &str, contacts: usize) -> std::path::PathBuf {
    let mut yaml = format!(
        "version: 1\nchannels:\n  web:\n    base_url: {base_url}\n    token_env: CT_WEB_TOKEN\n    rate_limit: 100000\nfields:\n  email: {{ type: email }}\ndefaults:\n  channel: web\n  key: email\n  marker: {{ field: managed_by, value: git }}\ncontacts:\n"
    );
    for i in 0..contacts {
        yaml.push_str(&format!("  - fields: {{ email: u{i}@example.com }}\n"));
    }
    if contacts == 0 {
        yaml.push_str("  []\n");
    }
    let path = dir.join("contactctl.yaml");
    std::fs::write(&path, yaml).unwrap();
    path
}

fn cmd(dir: &std::path::Path) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("contactctl").unwrap();
    cmd.env("CT_WEB_TOKEN", "hostile-token")
        .env("NO_COLOR", "1")
        .env_remove("CONTACTCTL_TIMEOUT")
        .current_dir(dir);
    cmd
}

// ---- bounded responses ------------------------------------------------------------------------

#[tokio::test]
async fn a_gigabyte_body_is_refused_at_the_cap_naming_the_host_without_reading_it_all() {
    for declared in [false, true] {
        let server = Hostile::start(Behaviour::HugeBody {
            bytes: GIB,
            declared,
        })
        .await;
        let c = client(&server, ClientOptions::default());
        let e = c
            .lookup_page("managed_by", "git", 1, 1000)
            .await
            .unwrap_err();
        assert!(
            matches!(&e, ApiError::TooLarge { url, limit_mib: 16, .. } if *url == server.base_url()),
            "{e:?}"
        );
        let shown = e.to_string();
        assert!(shown.contains(&server.base_url()), "{shown}");
        assert!(shown.contains("larger than 16 MiB"), "{shown}");
        // not retried: one request, and the body was left unread past the cap
        assert_eq!(server.requests(), 1);
        assert_eq!(c.stats().requests, 1);
        let sent = server.bytes_sent();
        if declared {
            // refused on its Content-Length: next to nothing was read
            assert!(sent < SLACK, "declared: {sent} bytes handed out");
        } else {
            assert!(
                sent >= MAX_RESPONSE_BYTES as u64 && sent < MAX_RESPONSE_BYTES as u64 + SLACK,
                "chunked: {sent} bytes handed out"
            );
        }
    }
}

#[tokio::test]
async fn a_body_just_under_the_cap_is_read() {
    let server = Hostile::start(Behaviour::HugeBody {
        bytes: MAX_RESPONSE_BYTES as u64,
        declared: false,
    })
    .await;
    let c = client(&server, ClientOptions::default());
    // read whole (it is not a page, so it does not parse): not refused for its size
    let e = c
        .lookup_page("managed_by", "git", 1, 1000)
        .await
        .unwrap_err();
    assert!(matches!(e, ApiError::Protocol { .. }), "{e:?}");
    assert_eq!(server.bytes_sent(), MAX_RESPONSE_BYTES as u64);
}

#[test]
fn import_from_a_server_sending_a_gigabyte_fails_naming_the_host() {
    let server = Background::start(Behaviour::HugeBody {
        bytes: GIB,
        declared: false,
    });
    let dir = tempfile::tempdir().unwrap();
    let path = config(dir.path(), &server.base_url(), 0);
    let out = cmd(dir.path())
        .arg("import")
        .arg(&path)
        .args(["--channel", "web", "--field", "segment=x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let err = text(&out.stderr);
    assert!(err.contains(&server.base_url()), "{}", show(&out));
    assert!(err.contains("larger than 16 MiB"), "{}", show(&out));
    assert_eq!(server.requests(), 1);
    assert!(server.bytes_sent() < MAX_RESPONSE_BYTES as u64 + SLACK);
}

// ---- bounded paging ---------------------------------------------------------------------------

/// Run `contactctl ARGS CONFIG` against `server`; the output, with stdout and stderr together.
fn run(server: &Hostile, contacts: usize, args: &[&str]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = config(dir.path(), &server.base_url(), contacts);
    let out = cmd(dir.path()).args(args).arg(&path).output().unwrap();
    (out.status.code(), show(&out))
}

#[test]
fn a_plan_stops_paging_a_huge_last_page_at_1000_pages_plus_one_per_contact() {
    let server = Background::start(Behaviour::EndlessPages {
        per_page: 10,
        last_page: Some(1_000_000_000),
    });
    let (code, out) = run(&server, 3, &["plan"]);
    assert_eq!(code, Some(1), "{out}");
    // exactly the ceiling, and nothing read one by one after it
    assert_eq!(server.lookups(), 1_003, "{out}");
    assert_eq!(server.requests(), 1_003, "{out}");
    assert!(
        out.contains(&format!(
            "channel web: stopped paging {}",
            server.base_url()
        )),
        "{out}"
    );
    assert!(out.contains("after 1003 pages"), "{out}");
    assert!(
        out.contains("raise the ceiling with --max-pages N"),
        "{out}"
    );

    // --max-pages sets the ceiling (here lower, to keep the test short)
    let (code, out) = run(&server, 3, &["plan", "--max-pages", "20"]);
    assert_eq!(code, Some(1), "{out}");
    assert_eq!(server.lookups(), 1_003 + 20, "{out}");
    assert!(
        out.contains("after 20 pages, the most one read takes (--max-pages 20)"),
        "{out}"
    );
}

#[test]
fn a_page_whose_next_link_is_itself_is_followed_only_to_the_ceiling_by_plan_and_apply() {
    let server = Background::start(Behaviour::EndlessPages {
        per_page: 10,
        last_page: None,
    });
    let (code, out) = run(&server, 2, &["plan", "--max-pages", "5"]);
    assert_eq!(code, Some(1), "{out}");
    assert_eq!(server.requests(), 5, "{out}");
    assert!(out.contains("after 5 pages"), "{out}");
    let (code, out) = run(&server, 2, &["apply", "--auto-approve", "--max-pages", "7"]);
    assert_eq!(code, Some(1), "{out}");
    assert_eq!(
        server.requests(),
        5 + 7,
        "no write after a read that did not end: {out}"
    );
    assert!(out.contains("after 7 pages"), "{out}");
}

#[test]
fn an_import_by_field_stops_at_its_ceiling_naming_the_host() {
    let server = Background::start(Behaviour::EndlessPages {
        per_page: 10,
        last_page: None,
    });
    let args = ["import", "--channel", "web", "--field", "segment=x"];
    // no contact of web in the config: 1,000 pages
    let (code, out) = run(&server, 0, &args);
    assert_eq!(code, Some(1), "{out}");
    assert_eq!(server.requests(), 1_000, "{out}");
    assert!(
        out.contains("looking up segment=x: channel web: stopped paging"),
        "{out}"
    );
    assert!(out.contains(&server.base_url()), "{out}");
    assert!(out.contains("after 1000 pages"), "{out}");
    let mut raised = args.to_vec();
    raised.extend(["--max-pages", "1200"]);
    let (code, out) = run(&server, 0, &raised);
    assert_eq!(code, Some(1), "{out}");
    assert_eq!(server.requests(), 1_000 + 1_200, "{out}");
}
