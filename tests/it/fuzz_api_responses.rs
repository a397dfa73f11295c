//! Whatever a server answers, the client ends each of the six calls in a value or a clear
//! error: never a panic, a hang, or a message that is empty, runs over several lines, carries
//! terminal escapes, or is the size of the body. A raw TCP server on 127.0.0.1 answers every
//! request with bytes from the strategies below: truncated JSON, wrong types, HTML error pages,
//! empty bodies, `message` as a list or an object, bodies cut short of their Content-Length,
//! invalid UTF-8, odd statuses and `Retry-After` values.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use contactctl::api::{
    ApiError, ClientOptions, ContactsApi, HttpClient, RateLimiter, Secret, http_client,
};
use contactctl::model::{BooleanFormat, Channel, FieldWrite};
use proptest::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const TOKEN: &str = "fuzz-token-3e8a51c0d2";

/// One canned answer: raw bytes written after the request is read, then the connection closes.
type Canned = Arc<Mutex<Vec<u8>>>;

/// A server answering every request with the current canned bytes; its base URL.
async fn serve(canned: Canned) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut tcp, _)) = listener.accept().await else {
                return;
            };
            let canned = canned.clone();
            tokio::spawn(async move {
                // read the head, then as much body as Content-Length says
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let head_end = loop {
                    match tcp.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                };
                let head = String::from_utf8_lossy(&buf[..head_end]).to_lowercase();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                while buf.len() < head_end + len {
                    match tcp.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let answer = canned.lock().unwrap().clone();
                let _ = tcp.write_all(&answer).await;
                let _ = tcp.shutdown().await;
            });
        }
    });
    format!("http://{addr}/api")
}

fn client(base_url: String) -> HttpClient {
    let channel = Channel {
        name: "web".into(),
        base_url,
        token_env: "FUZZ_TOKEN".into(),
        token_env_at: Default::default(),
        rate_limit: 1_000_000,
        viber: false,
        viber_encode_get: false,
        boolean_format: BooleanFormat::Upper,
    };
    HttpClient::new(
        &channel,
        Secret::new(TOKEN),
        http_client(Duration::from_secs(5)).unwrap(),
        Arc::new(RateLimiter::new(1_000_000)),
        ClientOptions {
            max_retries: 1,
            backoff_base: Duration::from_millis(1),
            backoff_max: Duration::from_millis(2),
            max_429_wait: Duration::from_millis(20),
            ..ClientOptions::default()
        },
    )
}

/// Why `e` is not a clear error, if it is not.
fn unclear(e: &ApiError) -> Option<String> {
    let msg = e.to_string();
    if msg.trim().is_empty() {
        return Some("empty message".into());
    }
    if msg.chars().count() > 400 {
        return Some(format!("{} characters long", msg.chars().count()));
    }
    if msg.chars().any(char::is_control) {
        return Some(format!("control characters in {msg:?}"));
    }
    if msg.contains(TOKEN) {
        return Some(format!("the token in {msg:?}"));
    }
    None
}

/// Run all six calls; the problems found.
async fn all_calls(c: &HttpClient) -> Vec<String> {
    let fw = [FieldWrite {
        name: "email".into(),
        value: "a@b.c".into(),
    }];
    let tags = ["T".to_string()];
    let results: Vec<(&str, Result<String, ApiError>)> = vec![
        ("get", c.get("1").await.map(|v| format!("{v:?}"))),
        (
            "lookup",
            c.lookup_page("email", "a@b.c", 1, 0)
                .await
                .map(|v| format!("{v:?}")),
        ),
        ("update", c.update("1", &fw).await.map(|()| String::new())),
        (
            "add_tags",
            c.add_tags("1", &tags).await.map(|()| String::new()),
        ),
        (
            "remove_tags",
            c.remove_tags("1", &tags).await.map(|()| String::new()),
        ),
        ("create", c.create(&fw).await),
    ];
    results
        .into_iter()
        .filter_map(|(call, r)| match r {
            Ok(v) if v.contains(TOKEN) => Some(format!("{call}: the token in {v}")),
            Ok(_) => None,
            Err(e) => unclear(&e).map(|why| format!("{call}: {why}")),
        })
        .collect()
}

/// A JSON body of one of the API's shapes, or near it.
fn json_body() -> impl Strategy<Value = String> {
    let id = prop::sample::select(vec![
        r#""1776025372480910""#,
        "1776025372480910",
        "null",
        "true",
        "{}",
        "[]",
        r#""""#,
        "1e999",
        "-1",
    ]);
    let value = prop::sample::select(vec![
        r#""x""#,
        "7",
        "null",
        "true",
        "[1,2]",
        r#"{"a":1}"#,
        "1.5e300",
    ]);
    let message = prop::sample::select(vec![
        r#""Contact not found.""#.to_string(),
        r#"["The email field is required.", "The name field is required."]"#.to_string(),
        r#"{"email": ["taken"]}"#.to_string(),
        "42".to_string(),
        "null".to_string(),
        r#""line one\nline two\r\n\t\u001b[31mred\u001b[0m""#.to_string(),
        format!("\"{}\"", "very long message ".repeat(2000)),
        format!("[\"{}\", \"b\"]", "x".repeat(5000)),
        format!(r#""echo: Bearer {TOKEN}""#),
    ]);
    let number = prop::sample::select(vec![
        "1",
        "0",
        "-3",
        "2",
        "18446744073709551615",
        "1e3",
        r#""2""#,
        "null",
    ]);
    prop_oneof![
        2 => (id.clone(), value.clone()).prop_map(|(id, v)| format!(
            r#"{{"data":{{"id":{id},"custom_fields":{{"email":{v},"f":{v}}},"tags":["A",{v}]}}}}"#
        )),
        1 => id.clone().prop_map(|id| format!(r#"{{"data":{{"id":{id}}}}}"#)),
        2 => (id, number.clone(), number.clone(), number).prop_map(|(id, cur, last, total)| format!(
            r#"{{"data":[{{"id":{id},"custom_fields":[],"tags":null}}],"links":{{}},"meta":{{"current_page":{cur},"last_page":{last},"total":{total},"per_page":{cur}}}}}"#
        )),
        1 => value.prop_map(|v| format!(r#"{{"data":{v}}}"#)),
        4 => (prop::sample::select(vec!["error", "success", "ERROR", "weird"]), message.clone())
            .prop_map(|(status, m)| format!(r#"{{"status":"{status}","message":{m},"data":[]}}"#)),
        2 => message.prop_map(|m| format!(r#"{{"message":{m}}}"#)),
        1 => Just(r#"{"error":"Unauthenticated."}"#.to_string()),
        1 => Just("[]".to_string()),
        1 => Just("null".to_string()),
        1 => Just("\"just a string\"".to_string()),
        1 => Just(format!("{}1{}", "[".repeat(5000), "]".repeat(5000))),
    ]
}

/// A body: JSON (maybe cut short), HTML, text, nothing, or bytes.
fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => json_body().prop_map(String::into_bytes),
        3 => (json_body(), any::<prop::sample::Index>()).prop_map(|(b, at)| {
            let bytes = b.into_bytes();
            let cut = at.index(bytes.len().max(1));
            bytes[..cut].to_vec()
        }),
        1 => Just(b"<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1><p>nginx</p></body></html>".to_vec()),
        1 => Just(format!("<html><body>{}</body></html>", "<div>deep</div>".repeat(20_000)).into_bytes()),
        1 => Just(Vec::new()),
        1 => Just(b"   \n  ".to_vec()),
        1 => prop::collection::vec(any::<u8>(), 0..300),
        1 => Just(b"\xff\xfe{\"data\":\xc3\x28}".to_vec()),
    ]
}

/// A whole HTTP response: status, headers, body, and whether the body is cut short of its
/// Content-Length.
fn response() -> impl Strategy<Value = Vec<u8>> {
    let status = prop::sample::select(vec![
        200u16, 200, 200, 201, 204, 202, 301, 302, 304, 400, 401, 403, 403, 404, 405, 409, 418,
        422, 429, 500, 502, 503, 504, 520,
    ]);
    let content_type = prop::sample::select(vec![
        Some("application/json"),
        Some("text/html; charset=utf-8"),
        Some("text/plain"),
        None,
    ]);
    let retry_after = prop::sample::select(vec![
        None,
        Some("0"),
        Some("1"),
        Some("-1"),
        Some("soon"),
        Some("99999999999999999999"),
        Some("1e308"),
        Some("NaN"),
        Some("Wed, 21 Oct 2015 07:28:00 GMT"),
        Some("Fri, 31 Dec 9999 23:59:59 GMT"),
    ]);
    let location = prop::sample::select(vec![
        None,
        Some("https://elsewhere.example/api"),
        Some("\u{1b}[2J"),
    ]);
    let framing = prop::sample::select(vec!["exact", "short", "close", "chunked", "bad-chunked"]);
    (status, content_type, retry_after, location, framing, body()).prop_map(
        |(status, ct, ra, loc, framing, body)| {
            let mut head = format!("HTTP/1.1 {status} Whatever\r\n");
            if let Some(ct) = ct {
                head.push_str(&format!("Content-Type: {ct}\r\n"));
            }
            if let Some(ra) = ra {
                head.push_str(&format!("Retry-After: {ra}\r\n"));
            }
            if let Some(loc) = loc {
                head.push_str(&format!("Location: {loc}\r\n"));
            }
            head.push_str("Connection: close\r\n");
            let mut out;
            match framing {
                "exact" => {
                    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
                    out = head.into_bytes();
                    out.extend_from_slice(&body);
                }
                "short" => {
                    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len() + 100));
                    out = head.into_bytes();
                    out.extend_from_slice(&body);
                }
                "close" => {
                    head.push_str("\r\n");
                    out = head.into_bytes();
                    out.extend_from_slice(&body);
                }
                "chunked" => {
                    head.push_str("Transfer-Encoding: chunked\r\n\r\n");
                    out = head.into_bytes();
                    out.extend_from_slice(format!("{:x}\r\n", body.len()).as_bytes());
                    out.extend_from_slice(&body);
                    out.extend_from_slice(b"\r\n0\r\n\r\n");
                }
                _ => {
                    head.push_str("Transfer-Encoding: chunked\r\n\r\nzz\r\n");
                    out = head.into_bytes();
                    out.extend_from_slice(&body);
                }
            }
            out
        },
    )
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn any_answer_ends_every_call_in_a_value_or_a_clear_error(answer in response()) {
        let rt = runtime();
        let problems = rt.block_on(async {
            let canned: Canned = Arc::new(Mutex::new(answer.clone()));
            let c = client(serve(canned).await);
            tokio::time::timeout(Duration::from_secs(60), all_calls(&c))
                .await
                .unwrap_or_else(|_| vec!["a call hung".into()])
        });
        prop_assert!(
            problems.is_empty(),
            "answer {:?}:\n{}",
            String::from_utf8_lossy(&answer[..answer.len().min(600)]),
            problems.join("\n")
        );
    }
}

/// Any text, as the API might put it in `message`: arbitrary Unicode (control characters
/// included), line breaks and terminal escapes, or a lot of it.
fn message_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-z \\n\\r\\t\u{1b}\\[0-9;m]{0,80}",
        (any::<String>(), 50usize..3000).prop_map(|(s, n)| s.repeat(n)),
    ]
}

/// An error answer in the documented shape, whatever its message says.
fn error_answer() -> impl Strategy<Value = Vec<u8>> {
    let status = prop::sample::select(vec![200u16, 400, 403, 404, 409, 422, 429, 500, 503]);
    let message = prop_oneof![
        message_text().prop_map(|m| serde_json::json!(m)),
        prop::collection::vec(message_text(), 0..4).prop_map(|m| serde_json::json!(m)),
        message_text().prop_map(|m| serde_json::json!({ "field": [m] })),
    ];
    (status, message).prop_map(|(status, message)| {
        let body = serde_json::json!({"status": "error", "message": message, "data": []})
            .to_string();
        format!(
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 150, ..ProptestConfig::default() })]

    #[test]
    fn whatever_the_api_says_its_message_is_shown_on_one_clean_short_line(answer in error_answer()) {
        let rt = runtime();
        let problems = rt.block_on(async {
            let canned: Canned = Arc::new(Mutex::new(answer.clone()));
            all_calls(&client(serve(canned).await)).await
        });
        prop_assert!(
            problems.is_empty(),
            "answer {:?}:\n{}",
            String::from_utf8_lossy(&answer[..answer.len().min(600)]),
            problems.join("\n")
        );
    }
}

/// A garbage answer (not a protocol-level error: garbage bytes where the status line goes).
#[test]
fn a_server_that_speaks_no_http_is_a_clear_error() {
    let rt = runtime();
    for answer in [
        b"".to_vec(),
        b"garbage\r\n\r\n".to_vec(),
        b"HTTP/1.1 abc Nope\r\n\r\n".to_vec(),
        b"SSH-2.0-OpenSSH_9.6\r\n".to_vec(),
        vec![0u8; 10_000],
    ] {
        let problems = rt.block_on(async {
            let canned: Canned = Arc::new(Mutex::new(answer.clone()));
            all_calls(&client(serve(canned).await)).await
        });
        assert!(problems.is_empty(), "{answer:?}: {problems:?}");
    }
}

/// A server whose pagination claims a billion pages of nothing: the reader stops at the first
/// empty page instead of asking for every one of them.
#[test]
fn a_page_count_out_of_all_proportion_is_not_followed() {
    let rt = runtime();
    let body = r#"{"data":[],"links":{},"meta":{"current_page":1,"last_page":1000000000,"per_page":10,"total":10000000000}}"#;
    let answer = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes();
    rt.block_on(async {
        let canned: Canned = Arc::new(Mutex::new(answer));
        let base = serve(canned).await;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.yaml");
        std::fs::write(
            &path,
            format!("version: 1\nchannels:\n  web:\n    base_url: {base}\n    token_env: T\n    rate_limit: 1000000\nfields:\n  email: {{ type: email }}\ndefaults:\n  key: email\n  marker: {{ field: managed_by, value: git }}\ncontacts:\n  - fields: {{ email: a@b.c }}\n"),
        )
        .unwrap();
        let config = contactctl::config::load(&path).unwrap();
        let c = client(base);
        let clients = [("web".to_string(), c)].into();
        let live = tokio::time::timeout(
            Duration::from_secs(60),
            contactctl::read::read_live(&config, &clients, &[0], Default::default(), &|_| {}),
        )
        .await
        .expect("the reader followed the page count");
        assert_eq!(live.contacts.len(), 1);
        let requests = clients["web"].stats().requests;
        // page 1, one wave of the pages after it read at once (as many as the channel's limit
        // keeps in flight), then the contact's own look-up (two empty pages)
        let wave = contactctl::api::in_flight_for(1_000_000) as u64;
        assert!(
            requests <= 1 + wave + 2,
            "{requests} requests for empty pages"
        );
    });
}
