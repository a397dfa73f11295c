//! The sandbox's fault knobs, stats, admin endpoints and shutdown, over real HTTP: each knob does
//! what it says and nothing more (a faulted call changes nothing, a dropped create IS created).
//! Owns nothing but these checks.

use std::time::Duration;

use crate::support::http::{Api, error_body, fields_body, tags_body};
use crate::support::serve;
use contactctl::sandbox::{Faults, RandomFaults, SandboxHandle, SandboxState, Stats};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ID: &str = "1776025372480910";

async fn with_faults(faults: Faults) -> (SandboxHandle, Api) {
    let s = serve(SandboxState {
        faults,
        ..SandboxState::demo()
    })
    .await;
    let api = Api::new(&s, "web");
    (s, api)
}

fn first_name(s: &SandboxHandle) -> Option<String> {
    s.snapshot().channels["web"].contacts[0].custom_fields["firstName"]
        .as_ref()
        .map(ToString::to_string)
}

/// Sends one raw HTTP/1.1 request and reads until the server closes: every byte it sent.
async fn raw_exchange(s: &SandboxHandle, request: &str) -> Vec<u8> {
    let mut tcp = tokio::net::TcpStream::connect(s.addr()).await.unwrap();
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut got = vec![];
    // A reset instead of a close is also "no response".
    let _ = tcp.read_to_end(&mut got).await;
    got
}

fn raw_request(method: &str, path: &str, body: &str) -> String {
    format!(
        "{method} /api{path} HTTP/1.1\r\nHost: sandbox\r\nAuthorization: Bearer sandbox-web-token\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

#[tokio::test]
async fn fail_every_answers_500_and_does_nothing() {
    let (s, api) = with_faults(Faults {
        fail_every: Some(3),
        ..Faults::default()
    })
    .await;
    assert_eq!(api.get(&format!("/v1/contact/{ID}")).await.status, 200);
    assert_eq!(api.get(&format!("/v1/contact/{ID}")).await.status, 200);
    let r = api.put_fields(ID, &[("firstName", "Lost")]).await;
    assert_eq!(r.status, 500);
    assert_eq!(r.body, error_body("Server Error"));
    assert_eq!(
        first_name(&s).as_deref(),
        Some("Mahin"),
        "the 500 changed nothing"
    );
    assert_eq!(
        api.put_fields(ID, &[("firstName", "Kept")]).await.status,
        200
    );
    assert_eq!(first_name(&s).as_deref(), Some("Kept"));
    let st = s.stats().channels["web"].clone();
    assert_eq!((st.injected_500, st.requests, st.calls.update), (1, 4, 2));
}

#[tokio::test]
async fn reset_every_closes_the_connection_without_a_response_and_does_nothing() {
    let (s, api) = with_faults(Faults {
        reset_every: Some(2),
        ..Faults::default()
    })
    .await;
    assert_eq!(api.get(&format!("/v1/contact/{ID}")).await.status, 200);
    let err = api
        .try_call(
            Method::PUT,
            &format!("/v1/contact/{ID}"),
            Some(&fields_body(&[("firstName", "Lost")])),
        )
        .await
        .unwrap_err();
    assert!(err.status().is_none(), "no status came back: {err}");
    assert_eq!(first_name(&s).as_deref(), Some("Mahin"));
    assert_eq!(
        api.get(&format!("/v1/contact/{ID}")).await.status,
        200,
        "request 3 is served"
    );
    // Request 4, on a raw socket: not one byte comes back.
    let got = raw_exchange(&s, &raw_request("GET", &format!("/v1/contact/{ID}"), "")).await;
    assert!(got.is_empty(), "{}", String::from_utf8_lossy(&got));
    assert_eq!(s.stats().channels["web"].injected_resets, 2);
}

#[tokio::test]
async fn a_dropped_create_response_is_an_error_but_the_contact_is_created() {
    let (s, api) = with_faults(Faults {
        drop_create_response_every: Some(2),
        ..Faults::default()
    })
    .await;
    let first = api.create(&[("email", "one@example.com")]).await;
    let err = api
        .try_call(
            Method::POST,
            "/v1/contact/",
            Some(&fields_body(&[("email", "two@example.com")])),
        )
        .await
        .unwrap_err();
    assert!(err.status().is_none(), "an error, not a status: {err}");
    // The lost create happened: a look-up finds it.
    let page = api.lookup("email", "two@example.com", "").await.body;
    assert_eq!(page["meta"]["total"], 1);
    let second = page["data"][0]["id"].as_str().unwrap();
    assert_ne!(second, first);
    assert_eq!(s.snapshot().channels["web"].contacts.len(), 3);

    // Create 4 (3 is answered) on a raw socket: committed, and not one byte back.
    api.create(&[("email", "three@example.com")]).await;
    let body = fields_body(&[("email", "four@example.com")]).to_string();
    let got = raw_exchange(&s, &raw_request("POST", "/v1/contact", &body)).await;
    assert!(got.is_empty(), "{}", String::from_utf8_lossy(&got));
    assert_eq!(
        api.lookup("email", "four@example.com", "").await.body["meta"]["total"],
        1
    );

    let st = s.stats().channels["web"].clone();
    assert_eq!((st.creates_committed, st.create_responses_dropped), (4, 2));
    assert_eq!(st.injected_resets, 0, "dropped creates are counted apart");
}

#[tokio::test]
async fn throttle_every_answers_429_with_the_configured_retry_after_and_does_nothing() {
    let (s, api) = with_faults(Faults {
        throttle_every: Some(2),
        retry_after_secs: Some(7),
        ..Faults::default()
    })
    .await;
    assert_eq!(
        api.put_fields(ID, &[("firstName", "One")]).await.status,
        200
    );
    let r = api.put_fields(ID, &[("firstName", "Two")]).await;
    assert_eq!((r.status, &r.body), (429, &error_body("Too many requests")));
    assert_eq!(r.headers["retry-after"], "7");
    assert_eq!(first_name(&s).as_deref(), Some("One"));

    s.set_faults(Faults {
        throttle_every: Some(1),
        ..Faults::default()
    });
    let r = api.get(&format!("/v1/contact/{ID}")).await;
    assert_eq!(r.status, 429);
    assert!(
        r.headers.get("retry-after").is_none(),
        "no Retry-After unless configured"
    );

    let st = s.stats().channels["web"].clone();
    assert_eq!(
        (st.injected_429, st.rate_limited),
        (2, 0),
        "injected, not from the limiter"
    );
}

#[tokio::test]
async fn injected_faults_use_no_rate_limit_slot() {
    let mut state = SandboxState::demo();
    state.channels.get_mut("web").unwrap().rate_limit = 2;
    state.faults.fail_every = Some(2);
    let s = serve(state).await;
    let api = Api::new(&s, "web");
    let statuses: Vec<u16> = {
        let mut v = vec![];
        for _ in 0..5 {
            v.push(api.get(&format!("/v1/contact/{ID}")).await.status);
        }
        v
    };
    // 1 ok, 2 injected 500, 3 ok (second slot), 4 injected 500, 5 refused by the limiter.
    assert_eq!(statuses, [200, 500, 200, 500, 429]);
    let st = s.stats().channels["web"].clone();
    assert_eq!((st.injected_500, st.rate_limited), (2, 1));
}

#[tokio::test(start_paused = true)]
async fn latency_delays_every_api_response() {
    let (s, api) = with_faults(Faults {
        latency_ms: 5_000,
        ..Faults::default()
    })
    .await;
    let t0 = tokio::time::Instant::now();
    assert_eq!(api.get(&format!("/v1/contact/{ID}")).await.status, 200);
    assert!(t0.elapsed() >= Duration::from_secs(5), "{:?}", t0.elapsed());
    let t1 = tokio::time::Instant::now();
    let r = api.get("/v1/nothing-here").await;
    assert_eq!(r.status, 404);
    assert!(
        t1.elapsed() >= Duration::from_secs(5),
        "errors are delayed too"
    );

    // Control: without latency the (paused) clock does not move.
    s.set_faults(Faults::default());
    let t2 = tokio::time::Instant::now();
    assert_eq!(api.get(&format!("/v1/contact/{ID}")).await.status, 200);
    assert!(t2.elapsed() < Duration::from_secs(5), "{:?}", t2.elapsed());
}

#[tokio::test]
async fn unauthorized_after_revokes_the_token_mid_run() {
    let (s, api) = with_faults(Faults {
        unauthorized_after: Some(2),
        ..Faults::default()
    })
    .await;
    assert_eq!(api.get(&format!("/v1/contact/{ID}")).await.status, 200);
    assert_eq!(
        api.put_fields(ID, &[("firstName", "Before")]).await.status,
        200
    );
    for _ in 0..3 {
        let r = api.put_fields(ID, &[("firstName", "After")]).await;
        assert_eq!(
            (r.status, &r.body),
            (401, &error_body("API Token is invalid."))
        );
    }
    assert_eq!(first_name(&s).as_deref(), Some("Before"));
    assert_eq!(s.stats().channels["web"].injected_401, 3);
}

/// The outcome of `n` sequential calls: a status, or 0 for no response.
async fn outcomes(seed: u64, n: usize) -> (Vec<u16>, Stats) {
    let (s, api) = with_faults(Faults {
        random: Some(RandomFaults {
            seed,
            p_500: 0.15,
            p_reset: 0.1,
            p_drop_create: 0.3,
            p_429: 0.15,
            ..RandomFaults::default()
        }),
        ..Faults::default()
    })
    .await;
    let mut got = vec![];
    for i in 0..n {
        let r = if i % 2 == 0 {
            api.try_call(
                Method::POST,
                "/v1/contact",
                Some(&fields_body(&[("n", &i.to_string())])),
            )
            .await
        } else {
            api.try_call(Method::GET, &format!("/v1/contact/{ID}"), None)
                .await
        };
        got.push(r.map_or(0, |r| r.status));
    }
    (got, s.stats())
}

#[tokio::test]
async fn random_faults_are_the_same_for_the_same_seed_and_order() {
    let (a, stats_a) = outcomes(42, 80).await;
    let (b, stats_b) = outcomes(42, 80).await;
    assert_eq!(a, b);
    assert_eq!(stats_a, stats_b);
    for status in [0, 200, 429, 500] {
        assert!(a.contains(&status), "{status} occurs: {a:?}");
    }
    let web = &stats_a.channels["web"];
    assert!(web.create_responses_dropped > 0);
    assert_eq!(
        a.iter().filter(|&&s| s == 0).count() as u64,
        web.injected_resets + web.create_responses_dropped
    );
    let (c, _) = outcomes(43, 80).await;
    assert_ne!(a, c, "another seed, another sequence");
}

#[tokio::test]
async fn admin_endpoints_show_state_and_stats_and_set_faults() {
    let (s, api) = with_faults(Faults::default()).await;
    let admin = |path: &str| format!("http://{}/_sandbox/{path}", s.addr());
    let http = crate::support::http::client();
    api.create(&[("email", "admin@example.com")]).await;
    api.call(
        Method::POST,
        &format!("/v1/contact/{ID}/tags"),
        Some(&tags_body(&["VIP"])),
    )
    .await;

    let state: SandboxState = http
        .get(admin("state"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state, s.snapshot());
    assert_eq!(state.channels["web"].contacts.len(), 2);
    assert_eq!(
        state.channels["web"].contacts[0]
            .tags
            .last()
            .map(String::as_str),
        Some("VIP")
    );

    let stats: Stats = http
        .get(admin("stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats, s.stats());
    assert_eq!(stats.total, 2, "admin requests are not API requests");
    assert_eq!(
        (
            stats.channels["web"].calls.create,
            stats.channels["web"].calls.add_tags
        ),
        (1, 1)
    );

    let r = http
        .put(admin("faults"))
        .json(&json!({"fail_every": 1, "retry_after_secs": 3}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(api.get(&format!("/v1/contact/{ID}")).await.status, 500);
    assert_eq!(s.snapshot().faults.fail_every, Some(1));
    let shown: Value = http
        .get(admin("faults"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(shown, json!({"fail_every": 1, "retry_after_secs": 3}));

    for bad in [
        json!({"fail_evry": 1}),
        json!({"random": {"p_500": 3.0}}),
        json!([1]),
    ] {
        let r = http.put(admin("faults")).json(&bad).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 400, "{bad}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["status"], "error");
    }
    assert_eq!(
        s.snapshot().faults.fail_every,
        Some(1),
        "a refused update changes nothing"
    );

    let r = http
        .put(admin("faults"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        api.get(&format!("/v1/contact/{ID}")).await.status,
        200,
        "faults cleared"
    );
    let r = http.post(admin("stats")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 405);
}

#[tokio::test]
async fn set_faults_restarts_the_counters() {
    let (s, api) = with_faults(Faults {
        fail_every: Some(3),
        ..Faults::default()
    })
    .await;
    for _ in 0..2 {
        assert_eq!(api.get(&format!("/v1/contact/{ID}")).await.status, 200);
    }
    s.set_faults(Faults {
        fail_every: Some(3),
        ..Faults::default()
    });
    let mut got = vec![];
    for _ in 0..3 {
        got.push(api.get(&format!("/v1/contact/{ID}")).await.status);
    }
    assert_eq!(got, [200, 200, 500]);
    assert_eq!(s.stats().total, 5, "the total is never reset");
}

#[tokio::test]
async fn shutdown_stops_the_server() {
    let (s, api) = with_faults(Faults::default()).await;
    assert_eq!(api.get(&format!("/v1/contact/{ID}")).await.status, 200);
    let addr = s.addr();
    s.shutdown().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}
