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
        token_env_at: Default::default(),
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

// ---- a 429 that never ends --------------------------------------------------------------------

/// `web` at the hostile server, Viber `viber` at the sandbox; `n` contacts on web by e-mail, and
/// on viber the sandbox's contact `v1` by ID.
fn two_hosts(dir: &std::path::Path, web: &str, viber: &str, n: usize) -> std::path::PathBuf {
    let mut yaml = format!(
        "version: 1\nchannels:\n  web:\n    base_url: {web}\n    token_env: CT_WEB_TOKEN\n  viber:\n    base_url: {viber}\n    token_env: CT_VIBER_TOKEN\n    viber: true\nfields:\n  email: {{ type: email }}\n  firstName: {{ type: text }}\ndefaults:\n  channel: web\n  key: email\ncontacts:\n  - {{ channel: viber, id: v1, fields: {{ firstName: Vera }} }}\n"
    );
    for i in 0..n {
        yaml.push_str(&format!("  - fields: {{ email: u{i}@example.com }}\n"));
    }
    let path = dir.join("contactctl.yaml");
    std::fs::write(&path, yaml).unwrap();
    path
}

#[test]
fn a_channel_answering_429_for_ever_stops_after_one_retry_schedule_and_the_others_carry_on() {
    use contactctl::ops::progress::Tracker;
    use contactctl::read::{ReadOptions, read_live};
    use std::collections::BTreeMap;

    crate::support::reliability::virtual_time(async {
        // Retry-After 60 s is above every backoff (at most 30 s): each wait is exactly 60 s, so
        // the 10-minute schedule is 10 waits, 11 attempts
        let hostile = Hostile::start(Behaviour::Throttle { retry_after: 60 }).await;
        let sandbox = crate::support::start_sandbox(
            vec![],
            vec![crate::support::wire("v1", &[("firstName", "Vera")], &[])],
            1000,
            Default::default(),
        )
        .await;
        let dir = tempfile::tempdir().unwrap();
        let path = two_hosts(dir.path(), &hostile.base_url(), &sandbox.base_url(), 5);
        let config = contactctl::config::load(&path).unwrap();
        let http = http_client(Duration::from_secs(30)).unwrap();
        let clients: BTreeMap<String, HttpClient> = config
            .channels
            .values()
            .map(|ch| {
                let token = sandbox.token(&ch.name).unwrap_or_else(|| "t".into());
                let limiter = Arc::new(RateLimiter::new(ch.rate_limit));
                let options = ClientOptions::default();
                let c = HttpClient::new(ch, Secret::new(token), http.clone(), limiter, options);
                (ch.name.clone(), c)
            })
            .collect();
        assert_eq!(
            ClientOptions::default().max_429_wait,
            Duration::from_secs(600)
        );

        let tracker = Tracker::new(&clients, &config);
        let selected: Vec<usize> = (0..config.contacts.len()).collect();
        let options = ReadOptions {
            concurrency: Some(1),
            ..ReadOptions::default()
        };
        let events = |e| tracker.on_read(&e);
        let read = read_live(&config, &clients, &selected, options, &events);
        // while it waits, progress says so, and since when (the virtual clock)
        let probe = async {
            tokio::time::sleep(Duration::from_secs(300)).await;
            tracker.snapshot()
        };
        let (state, during) = tokio::join!(read, probe);
        let web = during.iter().find(|c| c.channel == "web").unwrap();
        let waited = web
            .throttled
            .expect("web is waiting for the platform's limit");
        assert!(
            waited >= Duration::from_secs(240) && waited <= Duration::from_secs(300),
            "{waited:?}"
        );
        let viber = during.iter().find(|c| c.channel == "viber").unwrap();
        assert_eq!(viber.throttled, None);

        // one schedule for the whole channel: 11 attempts, then no other contact sends a call
        assert_eq!(hostile.requests(), 11);
        assert_eq!(clients["web"].stats().throttled_429, 11);
        let failures: Vec<String> = state
            .contacts
            .iter()
            .filter_map(|(i, f)| match f {
                contactctl::model::Found::Failed(
                    m @ contactctl::model::ReadFailure::ChannelStopped { .. },
                ) if config.contacts[*i].channel == "web" => Some(m.to_string()),
                _ => None,
            })
            .collect();
        assert_eq!(failures.len(), 5, "{state:?}");
        let expected = format!(
            "channel web: {} still answers 429, the platform's rate limit (Too Many Attempts.), after 11 attempts and 600 s of waiting, past the retry schedule (600 s): the channel stops; run contactctl again later",
            hostile.base_url()
        );
        assert!(failures.iter().all(|m| *m == expected), "{failures:?}");
        // the other channel carried on
        assert!(
            state
                .contacts
                .iter()
                .any(|(i, f)| config.contacts[*i].channel == "viber"
                    && matches!(f, contactctl::model::Found::Present(c) if c.id == "v1")),
            "{state:?}"
        );
    });
}

#[test]
fn plan_and_apply_group_the_throttled_channel_s_error_and_carry_on_with_the_others() {
    // asked to wait an hour: past the whole schedule at the first answer
    let server = Background::start(Behaviour::Throttle { retry_after: 3600 });
    let env = crate::support::Env::new(
        vec![],
        vec![crate::support::wire("v1", &[("firstName", "Old")], &[])],
    );
    let path = two_hosts(
        env.dir.path(),
        &server.base_url(),
        &env.sandbox.base_url(),
        12,
    );
    let out = env.cmd().arg("plan").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("12 contacts could not be planned:"),
        "{}",
        show(&out)
    );
    assert_eq!(
        stdout
            .matches("still answers 429, the platform's rate limit")
            .count(),
        1,
        "one grouped error: {}",
        show(&out)
    );
    assert!(stdout.contains(&server.base_url()), "{}", show(&out));
    assert!(
        stdout.contains("~ id=v1"),
        "viber is planned: {}",
        show(&out)
    );
    // one attempt each for the reads already in flight when the first answer came (at most
    // 8 at once on a channel of 100 a minute), none after it, none retried
    let first = server.requests();
    assert!((1..=8).contains(&first), "{first} requests: {}", show(&out));

    let out = env
        .cmd()
        .args(["apply", "--auto-approve"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let again = server.requests() - first;
    assert!((1..=8).contains(&again), "{again} requests: {}", show(&out));
    assert_eq!(
        env.contacts("viber")["v1"].custom_fields["firstName"].as_deref(),
        Some("Vera")
    );
}
