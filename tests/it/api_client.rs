//! The HTTP client against a real local HTTP server (httpmock): URLs and encoding, headers,
//! status mapping, the retry policy (what is retried, what never is), cancellation, and that the
//! token never shows in an error or a log line.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use contactctl::api::{
    ApiError, Cancel, ClientOptions, ContactsApi, HttpClient, RateLimiter, Secret, http_client,
};
use contactctl::model::{BooleanFormat, Channel, FieldWrite};
use httpmock::prelude::*;
use serde_json::json;

const TOKEN: &str = "tok-SECRET-4711";

fn channel(base_url: String, viber: bool) -> Channel {
    Channel {
        name: "web".into(),
        base_url,
        token_env: "CONTACTS_WEB_TOKEN".into(),
        token_env_at: Default::default(),
        rate_limit: 1000,
        viber,
        viber_encode_get: viber,
        boolean_format: BooleanFormat::Upper,
    }
}

/// Tiny backoffs so retries take milliseconds.
fn fast() -> ClientOptions {
    ClientOptions {
        max_retries: 2,
        backoff_base: Duration::from_millis(1),
        backoff_max: Duration::from_millis(5),
        max_429_wait: Duration::from_secs(5),
        ..ClientOptions::default()
    }
}

fn client_with(server: &MockServer, viber: bool, options: ClientOptions) -> HttpClient {
    HttpClient::new(
        &channel(server.url("/api"), viber),
        Secret::new(TOKEN),
        http_client(Duration::from_secs(5)).unwrap(),
        Arc::new(RateLimiter::new(1000)),
        options,
    )
}

fn client(server: &MockServer) -> HttpClient {
    client_with(server, false, fast())
}

fn path_and_query(req: &HttpMockRequest) -> String {
    req.uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default()
}

fn contact_body(id: &str) -> serde_json::Value {
    json!({"data": {"id": id, "custom_fields": {"email": "a@x.com"}, "tags": ["VIP"]}})
}

fn error_body(message: &str) -> serde_json::Value {
    json!({"status": "error", "message": message, "data": []})
}

fn assert_no_token(e: &ApiError) {
    let shown = format!("{e} {e:?}");
    assert!(!shown.contains(TOKEN), "token leaked: {shown}");
}

#[tokio::test]
async fn viber_ids_travel_base64_then_percent_encoded() {
    let server = MockServer::start_async().await;
    // Base64 of "~~~?" is "fn5+Pw==", of "ϿϿ>" is "z7/Pvz4="
    let update = server
        .mock_async(|when, then| {
            when.method(PUT)
                .is_true(|r| path_and_query(r) == "/api/v1/contact/fn5%2BPw%3D%3D");
            then.status(200).json_body(json!({"data": {"id": "~~~?"}}));
        })
        .await;
    let tags = server
        .mock_async(|when, then| {
            when.method(POST)
                .is_true(|r| path_and_query(r) == "/api/v1/contact/z7%2FPvz4%3D/tags");
            then.status(200)
                .json_body(json!({"status": "success", "message": "ok", "data": []}));
        })
        .await;
    let get = server
        .mock_async(|when, then| {
            when.method(GET)
                .is_true(|r| path_and_query(r) == "/api/v1/contact/fn5%2BPw%3D%3D");
            then.status(200).json_body(contact_body("~~~?"));
        })
        .await;
    let c = client_with(&server, true, fast());
    c.update("~~~?", &[]).await.unwrap();
    c.add_tags("ϿϿ>", &["VIP".into()]).await.unwrap();
    assert_eq!(c.get("~~~?").await.unwrap().unwrap().id, "~~~?");
    update.assert_calls_async(1).await;
    tags.assert_calls_async(1).await;
    get.assert_calls_async(1).await;
}

#[tokio::test]
async fn raw_ids_are_percent_encoded_on_other_channels() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(GET)
                .is_true(|r| path_and_query(r) == "/api/v1/contact/tMNGhftyUPrB3r1lD%2BbT4g%3D%3D");
            then.status(200)
                .json_body(contact_body("tMNGhftyUPrB3r1lD+bT4g=="));
        })
        .await;
    let found = client(&server)
        .get("tMNGhftyUPrB3r1lD+bT4g==")
        .await
        .unwrap();
    assert_eq!(found.unwrap().tags, vec!["VIP".to_string()]);
    m.assert_calls_async(1).await;
}

#[tokio::test]
async fn lookups_encode_plus_and_space_and_carry_the_page() {
    let server = MockServer::start_async().await;
    let page2 = server
        .mock_async(|when, then| {
            when.method(GET).is_true(|r| {
                path_and_query(r)
                    == "/api/v1/contact/by_custom_field?name=phone&value=%2B34%20600%20111&page=2"
            });
            then.status(200).json_body(json!({
                "data": [{"id": 5, "custom_fields": {"phone": "+34 600 111"}, "tags": []}],
                "links": {"next": "https://elsewhere.example/never-followed"},
                "meta": {"current_page": 2, "last_page": 3, "per_page": 10, "total": 21}
            }));
        })
        .await;
    let sized = server
        .mock_async(|when, then| {
            when.method(GET).is_true(|r| {
                path_and_query(r)
                    == "/api/v1/contact/by_custom_field?name=managed_by&value=git&page=1&per_page=100"
            });
            then.status(200).json_body(json!({"data": []}));
        })
        .await;
    let c = client(&server);
    let p = c.lookup_page("phone", "+34 600 111", 2, 0).await.unwrap();
    assert_eq!((p.page, p.last_page, p.per_page, p.total), (2, 3, 10, 21));
    assert_eq!(p.contacts[0].id, "5");
    let p = c.lookup_page("managed_by", "git", 1, 100).await.unwrap();
    assert_eq!((p.page, p.last_page, p.per_page, p.total), (1, 1, 100, 0));
    page2.assert_calls_async(1).await;
    sized.assert_calls_async(1).await;
}

/// `meta` as an independent server may send it: numbers as strings, `last_page` missing, or no
/// `meta` at all. The page count must then come from what is there, never default to "one page"
/// while more may follow (a marked channel's orphans on page 3 would go unreported).
#[tokio::test]
async fn page_counts_survive_string_numbers_and_missing_meta() {
    let server = MockServer::start_async().await;
    let answer = |value: &'static str, body: serde_json::Value| {
        let server = &server;
        async move {
            server
                .mock_async(move |when, then| {
                    when.method(GET).query_param("value", value);
                    then.status(200).json_body(body);
                })
                .await
        }
    };
    let row = |id: &str| contact_body(id)["data"].clone();
    let ten: Vec<serde_json::Value> = (0..10).map(|i| row(&i.to_string())).collect();
    answer(
        "strings",
        json!({"data": [row("1")],
               "meta": {"current_page": "1", "last_page": "3", "per_page": "10", "total": "25"}}),
    )
    .await;
    answer(
        "no-last-page",
        json!({"data": ten.clone(), "meta": {"per_page": 10, "total": 25}}),
    )
    .await;
    answer("no-meta-full", json!({"data": ten.clone()})).await;
    answer(
        "no-meta-next",
        json!({"data": [row("1")], "links": {"next": "x?page=2"}}),
    )
    .await;
    answer("no-meta-short", json!({"data": [row("1")]})).await;
    let c = client(&server);
    let pages = |p: contactctl::api::LookupPage| (p.page, p.last_page, p.per_page, p.total);
    let get = |v: &'static str| c.lookup_page("f", v, 1, 0);
    assert_eq!(pages(get("strings").await.unwrap()), (1, 3, 10, 25));
    assert_eq!(pages(get("no-last-page").await.unwrap()), (1, 3, 10, 25));
    assert_eq!(
        get("no-meta-full").await.unwrap().last_page,
        u64::MAX,
        "a full page without meta may be followed by more"
    );
    assert_eq!(get("no-meta-next").await.unwrap().last_page, u64::MAX);
    assert_eq!(pages(get("no-meta-short").await.unwrap()), (1, 1, 10, 1));
}

#[tokio::test]
async fn any_lookup_value_reaches_the_server_unchanged() {
    let server = MockServer::start_async().await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = Arc::clone(&seen);
    server
        .mock_async(move |when, then| {
            when.method(GET).is_true(move |r| {
                let v = r
                    .query_params()
                    .into_iter()
                    .find(|(k, _)| k == "value")
                    .map(|(_, v)| v);
                seen2.lock().unwrap().push(v.unwrap_or_default());
                true
            });
            then.status(200).json_body(json!({"data": []}));
        })
        .await;
    let values = [
        "+34 600-111.222",
        "a+b@x.com",
        "50% & more = #1?",
        "ñandú/ü€",
        "x;y,z:'\"<>",
        "tMNGhftyUPrB3r1lD+bT4g==",
    ];
    let c = client(&server);
    for v in values {
        c.lookup_page("f", v, 1, 0).await.unwrap();
    }
    assert_eq!(*seen.lock().unwrap(), values.map(String::from).to_vec());
}

#[tokio::test]
async fn every_request_carries_the_bearer_token_and_json_headers() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.header("authorization", format!("Bearer {TOKEN}"))
                .header("content-type", "application/json")
                .header("accept", "application/json")
                .header_matches("user-agent", "^contactctl/");
            then.status(200).json_body(contact_body("1"));
        })
        .await;
    assert!(client(&server).get("1").await.unwrap().is_some());
    m.assert_calls_async(1).await;
}

#[tokio::test]
async fn remove_tags_sends_its_tags_in_a_delete_body() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(DELETE)
                .path("/api/v1/contact/1/tags")
                .json_body(json!({"tags": ["VIP", "Blog Updates"]}));
            then.status(200).json_body(json!({"status": "success", "message": "Contact Tags deleted successfully.", "data": []}));
        })
        .await;
    client(&server)
        .remove_tags("1", &["VIP".into(), "Blog Updates".into()])
        .await
        .unwrap();
    m.assert_calls_async(1).await;
}

#[tokio::test]
async fn create_and_update_send_custom_fields_and_create_returns_the_id() {
    let server = MockServer::start_async().await;
    let create = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/api/v1/contact")
                .json_body(json!({"custom_fields": [{"name": "email", "value": "a@x.com"}]}));
            then.status(200)
                .json_body(json!({"data": {"id": "cus_112233344555"}}));
        })
        .await;
    let fields = [FieldWrite {
        name: "email".into(),
        value: "a@x.com".into(),
    }];
    let c = client(&server);
    assert_eq!(c.create(&fields).await.unwrap(), "cus_112233344555");
    create.assert_calls_async(1).await;
    assert_eq!(c.stats().by_kind.create, 1);
    assert_eq!(c.stats().requests, 1);
}

#[tokio::test]
async fn a_401_stops_the_channel_and_later_calls_send_nothing() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.path_prefix("/api/");
            then.status(401)
                .json_body(error_body("API Token is invalid."));
        })
        .await;
    let c = client(&server);
    let first = c.get("1").await.unwrap_err();
    assert_eq!(
        first,
        ApiError::Unauthorized {
            channel: "web".into(),
            token_env: "CONTACTS_WEB_TOKEN".into()
        }
    );
    assert!(first.to_string().contains("$CONTACTS_WEB_TOKEN"));
    assert_no_token(&first);
    // later calls are refused unsent, saying what stopped the channel in its words
    let unsent = ApiError::NotSent(Box::new(first.clone()));
    assert_eq!(c.update("1", &[]).await.unwrap_err(), unsent);
    assert_eq!(c.create(&[]).await.unwrap_err(), unsent);
    assert_eq!(unsent.to_string(), first.to_string());
    assert!(unsent.stops_channel() && !unsent.outcome_unknown());
    assert!(c.is_stopped());
    m.assert_calls_async(1).await;
}

#[tokio::test]
async fn a_call_waiting_for_its_slot_ends_unsent_when_a_401_stops_the_channel() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.path_prefix("/api/");
            then.status(401)
                .json_body(error_body("API Token is invalid."))
                .delay(Duration::from_millis(300));
        })
        .await;
    // one call a minute: the second call waits for the first one's slot, a minute away
    let c = HttpClient::new(
        &channel(server.url("/api"), false),
        Secret::new(TOKEN),
        http_client(Duration::from_secs(5)).unwrap(),
        Arc::new(RateLimiter::new(1)),
        fast(),
    );
    let started = std::time::Instant::now();
    let (first, second) = tokio::join!(c.get("1"), async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        c.get("2").await
    });
    let first = first.unwrap_err();
    assert!(matches!(first, ApiError::Unauthorized { .. }), "{first:?}");
    assert_eq!(second.unwrap_err(), ApiError::NotSent(Box::new(first)));
    // woken by the stop, not by its slot: that frees a minute after the first call
    assert!(started.elapsed() < Duration::from_secs(30));
    m.assert_calls_async(1).await;
}

#[tokio::test]
async fn a_retry_cut_short_by_a_401_fails_with_it_as_sent_not_as_never_sent() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(PUT).path("/api/v1/contact/1");
            then.status(500)
                .json_body(error_body("Server Error"))
                .delay(Duration::from_millis(300));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.path("/api/v1/contact/2");
            then.status(401)
                .json_body(error_body("API Token is invalid."));
        })
        .await;
    let c = client(&server);
    let (update, get) = tokio::join!(c.update("1", &[]), async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        c.get("2").await
    });
    let stopped = get.unwrap_err();
    assert!(
        matches!(stopped, ApiError::Unauthorized { .. }),
        "{stopped:?}"
    );
    // its first attempt was sent (and answered 500): the update is not "not sent"
    assert_eq!(update.unwrap_err(), stopped);
}

#[tokio::test]
async fn get_reads_404_and_a_403_saying_not_exist_as_absent() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.path("/api/v1/contact/gone");
            then.status(404).json_body(error_body("Not Found"));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.path("/api/v1/contact/nope");
            then.status(403)
                .json_body(error_body("Contact does not exist."));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.path("/api/v1/contact/nada");
            then.status(403)
                .json_body(error_body("El contacto NO EXISTE"));
        })
        .await;
    let c = client(&server);
    assert_eq!(c.get("gone").await.unwrap(), None);
    assert_eq!(c.get("nope").await.unwrap(), None);
    assert_eq!(c.get("nada").await.unwrap(), None);
}

#[tokio::test]
async fn other_403s_are_rejections_carrying_the_api_message() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET);
            then.status(403)
                .json_body(error_body("You cannot access this contact."));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(PUT);
            then.status(422).json_body(json!({
                "status": "error",
                "message": ["The email must be valid.", "Too many fields."],
                "data": []
            }));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(POST);
            then.status(403)
                .header("content-type", "text/html")
                .body("<html><head><title>403 Forbidden</title></head><body><h1>Forbidden</h1>\n<p>nginx</p></body></html>");
        })
        .await;
    let c = client(&server);
    assert_eq!(
        c.get("1").await.unwrap_err(),
        ApiError::Rejected {
            status: 403,
            message: "You cannot access this contact.".into()
        }
    );
    assert_eq!(
        c.update("1", &[]).await.unwrap_err(),
        ApiError::Rejected {
            status: 422,
            message: "The email must be valid.; Too many fields.".into()
        }
    );
    assert_eq!(
        c.add_tags("1", &[]).await.unwrap_err(),
        ApiError::Rejected {
            status: 403,
            message: "403 Forbidden Forbidden nginx".into()
        }
    );
}

#[tokio::test]
async fn a_5xx_html_page_is_retried_then_reported_as_an_unknown_outcome() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(GET);
            then.status(502)
                .header("content-type", "text/html")
                .body("<html>\n<head><title>502 Bad Gateway</title></head>\n<body><center><h1>502 Bad Gateway</h1></center></body></html>");
        })
        .await;
    let c = client(&server);
    let e = c.get("1").await.unwrap_err();
    assert_eq!(
        e,
        ApiError::Unknown {
            reason: "502: 502 Bad Gateway 502 Bad Gateway (after 3 attempts)".into()
        }
    );
    m.assert_calls_async(3).await;
    assert_eq!(c.stats().retries, 2);
}

#[tokio::test]
async fn a_405_is_reported_as_a_bug_with_method_and_path() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(DELETE);
            then.status(405)
                .json_body(error_body("405 Method Not Allowed."));
        })
        .await;
    let e = client(&server).remove_tags("a/b", &[]).await.unwrap_err();
    assert_eq!(
        e,
        ApiError::MethodNotAllowed {
            method: "DELETE".into(),
            path: "/v1/contact/a%2Fb/tags".into()
        }
    );
}

#[tokio::test]
async fn a_429_with_retry_after_is_waited_out_and_counted() {
    let server = MockServer::start_async().await;
    let throttled = server
        .mock_async(|when, then| {
            when.method(GET);
            then.status(429)
                .header("retry-after", "1")
                .json_body(error_body("Too many requests"))
                .up_to_n_times(1);
        })
        .await;
    let ok = server
        .mock_async(|when, then| {
            when.method(GET);
            then.status(200).json_body(contact_body("1"));
        })
        .await;
    let c = client(&server);
    assert!(c.get("1").await.unwrap().is_some());
    throttled.assert_calls_async(1).await;
    ok.assert_calls_async(1).await;
    let s = c.stats();
    assert_eq!((s.requests, s.throttled_429, s.retries), (2, 1, 1));
}

#[tokio::test]
async fn a_429_asking_for_more_than_the_allowed_wait_stops_the_channel_at_once() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(429)
                .header("retry-after", "3600")
                .json_body(error_body("Too many requests"));
        })
        .await;
    let c = client(&server);
    let e = c.get("1").await.unwrap_err();
    assert!(
        matches!(&e, ApiError::Throttled { message, attempts: 1, waited_secs: 0, schedule_secs: 5, .. } if message.starts_with("Too many requests")),
        "{e:?}"
    );
    assert!(e.stops_channel());
    m.assert_calls_async(1).await;
    // every later call of the channel fails with it, sending nothing
    assert_eq!(
        c.get("2").await.unwrap_err(),
        ApiError::NotSent(Box::new(e.clone()))
    );
    m.assert_calls_async(1).await;
}

#[tokio::test]
async fn a_server_that_keeps_throttling_is_given_up_on_after_the_allowed_wait() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(429)
                .header("retry-after", "0")
                .json_body(error_body("Too many requests"));
        })
        .await;
    let c = client_with(
        &server,
        false,
        ClientOptions {
            backoff_base: Duration::from_millis(10),
            backoff_max: Duration::from_millis(10),
            max_429_wait: Duration::from_millis(100),
            ..fast()
        },
    );
    let e = c.update("1", &[]).await.unwrap_err();
    assert!(matches!(e, ApiError::Throttled { .. }), "{e:?}");
    assert!(e.to_string().contains(&server.url("/api")), "{e}");
    // at most 100 ms of waits of at least 10 ms each
    let calls = m.calls_async().await;
    assert!((2..=11).contains(&calls), "{calls} calls");
    assert_eq!(c.stats().throttled_429, calls as u64);
}

#[tokio::test]
async fn an_update_is_retried_after_a_500() {
    let server = MockServer::start_async().await;
    let failing = server
        .mock_async(|when, then| {
            when.method(PUT);
            then.status(500)
                .json_body(error_body("Server Error"))
                .up_to_n_times(1);
        })
        .await;
    let ok = server
        .mock_async(|when, then| {
            when.method(PUT);
            then.status(200).json_body(json!({"data": {"id": "1"}}));
        })
        .await;
    let c = client(&server);
    c.update("1", &[]).await.unwrap();
    failing.assert_calls_async(1).await;
    ok.assert_calls_async(1).await;
    assert_eq!(c.stats().retries, 1);
}

#[tokio::test]
async fn a_create_is_never_retried_after_a_500() {
    let server = MockServer::start_async().await;
    let failing = server
        .mock_async(|when, then| {
            when.method(POST);
            then.status(500)
                .json_body(error_body("Server Error"))
                .up_to_n_times(1);
        })
        .await;
    let ok = server
        .mock_async(|when, then| {
            when.method(POST);
            then.status(200).json_body(json!({"data": {"id": "dup"}}));
        })
        .await;
    let c = client(&server);
    let e = c.create(&[]).await.unwrap_err();
    assert_eq!(
        e,
        ApiError::Unknown {
            reason: "500: Server Error".into()
        }
    );
    assert!(e.outcome_unknown());
    failing.assert_calls_async(1).await;
    ok.assert_calls_async(0).await;
}

#[tokio::test]
async fn a_create_refused_with_429_is_retried() {
    let server = MockServer::start_async().await;
    let throttled = server
        .mock_async(|when, then| {
            when.method(POST);
            then.status(429)
                .json_body(error_body("Too many requests"))
                .up_to_n_times(1);
        })
        .await;
    let ok = server
        .mock_async(|when, then| {
            when.method(POST);
            then.status(200).json_body(json!({"data": {"id": "new"}}));
        })
        .await;
    let c = client(&server);
    assert_eq!(c.create(&[]).await.unwrap(), "new");
    throttled.assert_calls_async(1).await;
    ok.assert_calls_async(1).await;
    assert_eq!(c.stats().throttled_429, 1);
    assert_eq!(c.stats().by_kind.create, 2);
}

#[tokio::test]
async fn a_timeout_is_an_unknown_outcome_and_a_create_is_not_resent() {
    let server = MockServer::start_async().await;
    let slow = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(200)
                .json_body(json!({"data": {"id": "late"}}))
                .delay(Duration::from_secs(2));
        })
        .await;
    let c = HttpClient::new(
        &channel(server.url("/api"), false),
        Secret::new(TOKEN),
        http_client(Duration::from_millis(300)).unwrap(),
        Arc::new(RateLimiter::new(1000)),
        ClientOptions {
            max_retries: 1,
            ..fast()
        },
    );
    let e = c.create(&[]).await.unwrap_err();
    assert_eq!(
        e,
        ApiError::Unknown {
            reason: "timed out".into()
        }
    );
    assert_eq!(c.stats().requests, 1);
    let e = c.update("1", &[]).await.unwrap_err();
    assert_eq!(
        e,
        ApiError::Unknown {
            reason: "timed out (after 2 attempts)".into()
        }
    );
    slow.assert_calls_async(3).await;
}

#[tokio::test]
async fn a_create_that_could_not_connect_is_retried_because_nothing_was_sent() {
    // connecting is refused
    let port = dead_port();
    let c = HttpClient::new(
        &channel(format!("http://127.0.0.1:{port}/api"), false),
        Secret::new(TOKEN),
        http_client(Duration::from_secs(2)).unwrap(),
        Arc::new(RateLimiter::new(1000)),
        fast(),
    );
    let e = c.create(&[]).await.unwrap_err();
    assert_eq!(
        e,
        ApiError::Unreachable {
            channel: "web".into(),
            url: format!("http://127.0.0.1:{port}/api"),
            cause: "connection refused".into(),
            attempts: 3,
        }
    );
    assert_eq!(
        e.to_string(),
        format!(
            "channel web: cannot reach http://127.0.0.1:{port}/api: connection refused (3 attempts)"
        )
    );
    assert!(!e.outcome_unknown(), "nothing reached the server");
    assert!(e.stops_channel());
    assert_eq!(c.stats().requests, 3);
    assert_no_token(&e);
}

/// A port nothing listens on: 1, below the ephemeral range, so no other test's server can take
/// it meanwhile (a port a listener just freed could be, under parallel tests).
fn dead_port() -> u16 {
    1
}

#[tokio::test(start_paused = true)]
async fn a_host_that_never_answered_is_given_up_on_after_a_few_quick_attempts() {
    let port = dead_port();
    let options = ClientOptions {
        max_retries: 5,
        first_contact_retries: 2,
        ..ClientOptions::default()
    };
    let c = HttpClient::new(
        &channel(format!("http://127.0.0.1:{port}/api"), false),
        Secret::new(TOKEN),
        http_client(Duration::from_secs(2)).unwrap(),
        Arc::new(RateLimiter::new(1000)),
        options,
    );
    let started = tokio::time::Instant::now();
    let e = c.get("1").await.unwrap_err();
    assert!(
        matches!(&e, ApiError::Unreachable { attempts: 3, cause, .. } if cause == "connection refused"),
        "{e:?}"
    );
    assert_eq!(c.stats().requests, 3, "first contact: 2 retries, not 5");
    // backoff 0.5 s then 1 s (capped at 1 s while the host has never answered), with jitter
    assert!(
        started.elapsed() <= Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_host_that_answered_before_gets_every_retry_when_it_refuses() {
    // a server that answers once, then goes away: the port refuses from then on
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = [0u8; 4096];
        let _ = s.read(&mut buf);
        let body = r#"{"data":{"id":"1","custom_fields":{},"tags":[]}}"#;
        let _ = write!(
            s,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
    });
    let c = HttpClient::new(
        &channel(format!("http://127.0.0.1:{port}/api"), false),
        Secret::new(TOKEN),
        http_client(Duration::from_secs(2)).unwrap(),
        Arc::new(RateLimiter::new(1000)),
        ClientOptions {
            max_retries: 4,
            first_contact_retries: 1,
            ..fast()
        },
    );
    assert!(c.get("1").await.unwrap().is_some());
    server.join().unwrap();
    let e = c.get("1").await.unwrap_err();
    assert!(
        matches!(&e, ApiError::Unreachable { attempts: 5, .. }),
        "a reached host gets the full 4 retries: {e:?}"
    );
    assert_eq!(c.stats().requests, 1 + 5);
}

#[tokio::test]
async fn a_malformed_success_body_is_a_protocol_error() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET);
            then.status(200).body("<html>welcome</html>");
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(POST);
            then.status(201)
                .json_body(json!({"data": {"name": "no id"}}));
        })
        .await;
    let c = client(&server);
    let e = c.get("1").await.unwrap_err();
    assert!(matches!(e, ApiError::Protocol { .. }), "{e:?}");
    let e = c.create(&[]).await.unwrap_err();
    assert!(matches!(e, ApiError::Protocol { .. }), "{e:?}");
    assert!(e.outcome_unknown());
    let e = c.lookup_page("f", "v", 1, 0).await.unwrap_err();
    assert!(matches!(e, ApiError::Protocol { .. }), "{e:?}");
}

#[tokio::test]
async fn the_token_never_shows_in_errors_or_log_lines_even_when_echoed() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET);
            then.status(403)
                .json_body(error_body(&format!("token {TOKEN} may not read this")));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(PUT);
            then.status(500)
                .body(format!("<p>Authorization: Bearer {TOKEN}</p>"));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(POST);
            then.status(200)
                .json_body(json!({"data": {"id": {"t": TOKEN}}}));
        })
        .await;
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = Arc::clone(&lines);
    let c = client_with(
        &server,
        false,
        ClientOptions {
            log: Some(Arc::new(move |l: &str| {
                sink.lock().unwrap().push(l.to_string())
            })),
            ..fast()
        },
    );
    let errors = [
        c.get("1").await.unwrap_err(),
        c.update("1", &[]).await.unwrap_err(),
        c.create(&[]).await.unwrap_err(),
    ];
    assert_eq!(
        errors[0],
        ApiError::Rejected {
            status: 403,
            message: "token *** may not read this".into()
        }
    );
    for e in &errors {
        assert_no_token(e);
    }
    let lines = lines.lock().unwrap();
    assert_eq!(lines.len(), 5, "{lines:?}");
    assert!(
        lines[0].starts_with("GET /v1/contact/1 -> 403 ("),
        "{lines:?}"
    );
    assert!(lines.iter().all(|l| !l.contains(TOKEN)));
    assert!(!format!("{c:?}").contains(TOKEN));
}

#[tokio::test]
async fn a_cancelled_client_starts_no_request() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(200).json_body(contact_body("1"));
        })
        .await;
    let (handle, cancel) = Cancel::new();
    let c = client_with(&server, false, ClientOptions { cancel, ..fast() });
    handle.cancel();
    assert_eq!(c.get("1").await.unwrap_err(), ApiError::Cancelled);
    m.assert_calls_async(0).await;
}

#[tokio::test]
async fn cancelling_ends_a_backoff_without_sending_again() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(503).json_body(error_body("down"));
        })
        .await;
    let (handle, cancel) = Cancel::new();
    let c = client_with(
        &server,
        false,
        ClientOptions {
            cancel,
            backoff_base: Duration::from_secs(600),
            backoff_max: Duration::from_secs(600),
            ..fast()
        },
    );
    let call = c.update("1", &[]);
    let cancel_soon = async {
        // once the first attempt has been answered, the client is in its 10-minute backoff
        while m.calls_async().await == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        handle.cancel();
    };
    let (result, ()) = tokio::join!(call, cancel_soon);
    assert_eq!(result.unwrap_err(), ApiError::Cancelled);
    m.assert_calls_async(1).await;
}

#[tokio::test]
async fn a_cancel_ends_a_wait_in_the_rate_limiter() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(200).json_body(contact_body("1"));
        })
        .await;
    let (handle, cancel) = Cancel::new();
    let c = HttpClient::new(
        &channel(server.url("/api"), false),
        Secret::new(TOKEN),
        http_client(Duration::from_secs(5)).unwrap(),
        Arc::new(RateLimiter::new(1)),
        ClientOptions { cancel, ..fast() },
    );
    c.get("1").await.unwrap();
    // the second call would wait a minute for its slot
    let second = c.get("1");
    let cancel_soon = async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        handle.cancel();
    };
    let (result, ()) = tokio::join!(second, cancel_soon);
    assert_eq!(result.unwrap_err(), ApiError::Cancelled);
    m.assert_calls_async(1).await;
}

#[tokio::test]
async fn an_id_that_is_no_path_segment_is_refused_before_any_request() {
    let server = MockServer::start_async().await;
    let any = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(200).json_body(contact_body("1"));
        })
        .await;
    for viber in [false, true] {
        let c = client_with(&server, viber, fast());
        for id in ["", ".", ".."] {
            let unusable = ApiError::UnusableId { id: id.into() };
            assert_eq!(c.get(id).await, Err(unusable.clone()), "{id:?}");
            let write = [FieldWrite {
                name: "firstName".into(),
                value: "Ana".into(),
            }];
            assert_eq!(c.update(id, &write).await, Err(unusable.clone()));
            let tags = ["VIP".to_string()];
            assert_eq!(c.add_tags(id, &tags).await, Err(unusable.clone()));
            assert_eq!(c.remove_tags(id, &tags).await, Err(unusable));
        }
        assert_eq!(c.stats().requests, 0);
    }
    any.assert_calls_async(0).await;
}

#[tokio::test]
async fn a_created_contact_whose_id_is_no_path_segment_is_a_protocol_error() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/api/v1/contact");
            then.status(200).json_body(json!({"data": {"id": ".."}}));
        })
        .await;
    let e = client(&server)
        .create(&[FieldWrite {
            name: "email".into(),
            value: "a@x.com".into(),
        }])
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("the new contact's ID cannot be used"),
        "{e}"
    );
}
