//! The sandbox's API over real HTTP: every documented limit and error, Viber IDs, pagination,
//! statefulness, and `--state` files. Owns nothing but these checks.

use std::io::Write;
use std::time::Duration;

use crate::support::http::{Api, enc, error_body, fields_body, tags_body, viber_path};
use crate::support::{serve, wire};
use contactctl::api::wire::WireContact;
use contactctl::sandbox::{ChannelState, SandboxError, SandboxState};
use reqwest::Method;
use serde_json::{Value, json};

const ID: &str = "1776025372480910";

/// A contact without tags, its creation time left to the sandbox.
fn contact(id: &str, fields: &[(&str, &str)]) -> WireContact {
    WireContact {
        created_at: None,
        ..wire(id, fields, &[])
    }
}

fn one_channel(ch: ChannelState) -> SandboxState {
    let mut s = SandboxState::default();
    s.channels.insert("c".into(), ch);
    s
}

async fn demo() -> (contactctl::sandbox::SandboxHandle, Api) {
    let s = serve(SandboxState::demo()).await;
    let api = Api::new(&s, "web");
    (s, api)
}

fn id_body(id: &str) -> Value {
    json!({"data": {"id": id}})
}

#[tokio::test]
async fn a_missing_or_unknown_token_gets_401_on_every_call() {
    let (_s, api) = demo().await;
    let calls: [(Method, String, Option<Value>); 6] = [
        (
            Method::GET,
            "/v1/contact/by_custom_field?name=firstName&value=Mahin".into(),
            None,
        ),
        (Method::GET, format!("/v1/contact/{ID}"), None),
        (
            Method::PUT,
            format!("/v1/contact/{ID}"),
            Some(fields_body(&[("firstName", "X")])),
        ),
        (
            Method::POST,
            format!("/v1/contact/{ID}/tags"),
            Some(tags_body(&["a"])),
        ),
        (
            Method::DELETE,
            format!("/v1/contact/{ID}/tags"),
            Some(tags_body(&["a"])),
        ),
        (
            Method::POST,
            "/v1/contact".into(),
            Some(fields_body(&[("firstName", "X")])),
        ),
    ];
    let wrong = api.with_token("sandbox-web-token-typo");
    let viber_token_on_web = api.with_token("sandbox-viber-token");
    for (m, path, body) in &calls {
        let r = wrong.call(m.clone(), path, body.as_ref()).await;
        assert_eq!(
            (r.status, r.body),
            (401, error_body("API Token is invalid.")),
            "{m} {path}"
        );
        let r = viber_token_on_web
            .call(m.clone(), path, body.as_ref())
            .await;
        assert_ne!(
            r.status, 401,
            "a valid token of another channel is accepted: {m} {path}"
        );
        // No header at all.
        let resp = api
            .http
            .request(m.clone(), format!("{}{path}", api.base))
            .send()
            .await
            .unwrap();
        assert_eq!(
            resp.status().as_u16(),
            401,
            "{m} {path} without Authorization"
        );
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body, error_body("API Token is invalid."));
    }
    // A 401 changed nothing.
    assert_eq!(
        api.get(&format!("/v1/contact/{ID}")).await.body["data"]["custom_fields"]["firstName"],
        "Mahin"
    );
}

#[tokio::test]
async fn a_wrong_method_on_a_known_path_gets_405_with_the_documented_body() {
    let (s, api) = demo().await;
    let wrong = [
        (Method::PATCH, format!("/v1/contact/{ID}")),
        (Method::DELETE, format!("/v1/contact/{ID}")),
        (Method::POST, format!("/v1/contact/{ID}")),
        (Method::GET, format!("/v1/contact/{ID}/tags")),
        (Method::PUT, format!("/v1/contact/{ID}/tags")),
        (Method::GET, "/v1/contact".into()),
        (Method::GET, "/v1/contact/".into()),
        (Method::POST, "/v1/contact/by_custom_field".into()),
    ];
    for (m, path) in wrong {
        let r = api.call(m.clone(), &path, Some(&tags_body(&["a"]))).await;
        assert_eq!(
            (r.status, r.body),
            (405, error_body("405 Method Not Allowed.")),
            "{m} {path}"
        );
    }
    assert_eq!(s.stats().channels["web"].calls.other, 8);
    assert_eq!(
        s.snapshot().channels["web"].contacts[0].tags.len(),
        2,
        "nothing changed"
    );
}

#[tokio::test]
async fn unknown_paths_and_unknown_contacts_get_404_in_the_error_shape() {
    let (_s, api) = demo().await;
    for path in [
        "/v2/contact/1",
        "/v1/contacts/1",
        "/v1/contact/1/tags/x",
        "/v1",
    ] {
        let r = api.get(path).await;
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(r.body["status"], "error");
        assert_eq!(r.body["data"], json!([]));
    }
    let missing = "999";
    let r = api.get(&format!("/v1/contact/{missing}")).await;
    assert_eq!((r.status, r.body), (404, error_body("Contact not found.")));
    let r = api.put_fields(missing, &[("firstName", "X")]).await;
    assert_eq!(r.status, 404);
    for m in [Method::POST, Method::DELETE] {
        let r = api
            .call(
                m,
                &format!("/v1/contact/{missing}/tags"),
                Some(&tags_body(&["a"])),
            )
            .await;
        assert_eq!((r.status, r.body), (404, error_body("Contact not found.")));
    }
}

#[tokio::test]
async fn more_than_30_fields_is_403_and_30_is_fine() {
    let (s, api) = demo().await;
    let names: Vec<String> = (0..31).map(|i| format!("f{i}")).collect();
    let fields: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "v")).collect();

    let r = api.put_fields(ID, &fields).await;
    assert_eq!(r.status, 403);
    assert_eq!(r.body["status"], "error");
    assert!(
        r.body["message"].as_str().unwrap().contains("30"),
        "{}",
        r.body
    );
    let r = api
        .call(Method::POST, "/v1/contact", Some(&fields_body(&fields)))
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(
        s.snapshot().channels["web"].contacts.len(),
        1,
        "no contact created"
    );
    assert!(
        !s.snapshot().channels["web"].contacts[0]
            .custom_fields
            .contains_key("f0")
    );

    assert_eq!(api.put_fields(ID, &fields[..30]).await.status, 200);
    let id = api.create(&fields[..30]).await;
    let snap = s.snapshot();
    assert_eq!(snap.channels["web"].contacts[1].id, id);
    assert_eq!(snap.channels["web"].contacts[1].custom_fields.len(), 30);
    assert_eq!(
        snap.channels["web"].contacts[0].custom_fields["f29"].as_deref(),
        Some("v")
    );
}

#[tokio::test]
async fn more_than_10_tags_or_none_is_403_and_10_is_fine() {
    let (s, api) = demo().await;
    let names: Vec<String> = (0..11).map(|i| format!("t{i}")).collect();
    let tags: Vec<&str> = names.iter().map(String::as_str).collect();
    let path = format!("/v1/contact/{ID}/tags");
    for m in [Method::POST, Method::DELETE] {
        for bad in [&tags[..], &[][..]] {
            let r = api.call(m.clone(), &path, Some(&tags_body(bad))).await;
            assert_eq!(r.status, 403, "{m} {} tags", bad.len());
            assert_eq!(r.body["status"], "error");
            assert!(r.body["message"].is_string());
        }
    }
    assert_eq!(
        s.snapshot().channels["web"].contacts[0].tags.len(),
        2,
        "unchanged"
    );
    assert_eq!(
        api.call(Method::POST, &path, Some(&tags_body(&tags[..10])))
            .await
            .status,
        200
    );
    assert_eq!(s.snapshot().channels["web"].contacts[0].tags.len(), 12);
    assert_eq!(
        api.call(Method::DELETE, &path, Some(&tags_body(&tags[..10])))
            .await
            .status,
        200
    );
    assert_eq!(
        s.snapshot().channels["web"].contacts[0].tags,
        ["Blog Updates", "Platform Updates"]
    );
}

#[tokio::test]
async fn tags_are_a_set_in_order_and_removing_an_absent_tag_is_fine() {
    let (s, api) = demo().await;
    let path = format!("/v1/contact/{ID}/tags");
    let r = api
        .call(
            Method::POST,
            &path,
            Some(&tags_body(&["VIP", "Blog Updates", "VIP"])),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        s.snapshot().channels["web"].contacts[0].tags,
        ["Blog Updates", "Platform Updates", "VIP"]
    );
    let r = api
        .call(
            Method::DELETE,
            &path,
            Some(&tags_body(&["never had it", "blog updates"])),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        s.snapshot().channels["web"].contacts[0].tags.len(),
        3,
        "tag names are exact strings"
    );
}

#[tokio::test]
async fn read_only_fields_are_refused_by_name_and_nothing_is_written() {
    let (s, api) = demo().await;
    for field in ["locale", "timezone", "gender"] {
        let r = api
            .put_fields(ID, &[("firstName", "Changed"), (field, "x")])
            .await;
        assert_eq!(r.status, 403, "{field}");
        let msg = r.body["message"].as_str().unwrap();
        assert!(msg.contains(field), "{msg}");
        let r = api
            .call(
                Method::POST,
                "/v1/contact",
                Some(&fields_body(&[("email", "a@b"), (field, "x")])),
            )
            .await;
        assert_eq!(r.status, 403, "create with {field}");
        assert!(r.body["message"].as_str().unwrap().contains(field));
    }
    let snap = s.snapshot();
    assert_eq!(snap.channels["web"].contacts.len(), 1);
    assert_eq!(
        snap.channels["web"].contacts[0].custom_fields["firstName"].as_deref(),
        Some("Mahin")
    );
}

#[tokio::test]
async fn malformed_bodies_are_403_with_a_message() {
    let (_s, api) = demo().await;
    let bad = [
        json!("not an object"),
        json!({"custom_fields": "x"}),
        json!({"fields": []}),
        json!({"custom_fields": [{"value": "no name"}]}),
        json!({"custom_fields": []}),
        json!([[{"name": "firstName", "value": "List"}]]),
    ];
    for body in &bad {
        let r = api
            .call(Method::PUT, &format!("/v1/contact/{ID}"), Some(body))
            .await;
        assert_eq!(r.status, 403, "{body}");
        assert_eq!(r.body["status"], "error");
        assert!(!r.body["message"].as_str().unwrap().is_empty());
        let r = api.call(Method::POST, "/v1/contact/", Some(body)).await;
        assert_eq!(r.status, 403, "create {body}");
    }
    let r = api
        .http
        .post(format!("{}/v1/contact/{ID}/tags", api.base))
        .bearer_auth(&api.token)
        .body("{\"tags\": [")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("Invalid request body")
    );
}

#[tokio::test]
async fn values_are_stored_as_text_and_empty_or_null_clears() {
    let (s, api) = demo().await;
    let body = json!({"custom_fields": [
        {"name": "customerid", "value": 42},
        {"name": "vip", "value": true},
        {"name": "phone", "value": ""},
        {"name": "email", "value": null},
    ]});
    let r = api
        .call(Method::PUT, &format!("/v1/contact/{ID}"), Some(&body))
        .await;
    assert_eq!((r.status, r.body), (200, id_body(ID)));
    let got = api.get(&format!("/v1/contact/{ID}")).await.body;
    let fields = &got["data"]["custom_fields"];
    assert_eq!(fields["customerid"], "42");
    assert_eq!(fields["vip"], "TRUE");
    assert!(
        fields.get("phone").is_none() && fields.get("email").is_none(),
        "{fields}"
    );
    assert_eq!(
        api.lookup("phone", "123123", "").await.body["meta"]["total"],
        0
    );
    assert_eq!(
        api.lookup("customerid", "42", "").await.body["meta"]["total"],
        1
    );
    let _ = s;
}

#[tokio::test]
async fn a_contact_without_fields_serialises_them_as_an_empty_php_array() {
    let (_s, api) = demo().await;
    let id = api.create(&[("email", "gone@example.com")]).await;
    assert_eq!(api.put_fields(&id, &[("email", "")]).await.status, 200);
    let got = api.get(&format!("/v1/contact/{id}")).await;
    assert_eq!(got.body["data"]["custom_fields"], json!([]));
    assert_eq!(got.body["data"]["tags"], json!([]));
    assert!(got.body["data"]["created_at"].is_i64());
}

#[tokio::test]
async fn create_works_with_and_without_the_trailing_slash_and_returns_fresh_ids() {
    let (s, api) = demo().await;
    let mut ids = vec![];
    for path in ["/v1/contact", "/v1/contact/"] {
        let r = api
            .call(
                Method::POST,
                path,
                Some(&fields_body(&[("email", &format!("n{path}@x"))])),
            )
            .await;
        assert_eq!(r.status, 200, "{path}");
        let id = r.body["data"]["id"].as_str().unwrap().to_string();
        assert_eq!(r.body, id_body(&id));
        assert!(
            id.len() == 16 && id.bytes().all(|b| b.is_ascii_digit()),
            "{id}"
        );
        ids.push(id);
    }
    assert_ne!(ids[0], ids[1]);
    let snap = s.snapshot();
    let got: Vec<&str> = snap.channels["web"]
        .contacts
        .iter()
        .map(|c| c.id.as_str())
        .collect();
    assert_eq!(got, [ID, &ids[0], &ids[1]], "creation order");
    assert_eq!(s.stats().channels["web"].creates_committed, 2);
    assert_eq!(s.stats().channels["web"].calls.create, 2);
}

#[tokio::test]
async fn a_put_is_seen_by_the_next_get_and_look_up() {
    let (s, api) = demo().await;
    assert_eq!(
        api.lookup("email", "juanej@example.com", "").await.body["meta"]["total"],
        1
    );
    let r = api
        .put_fields(ID, &[("email", "New@Example.com"), ("plan", "gold")])
        .await;
    assert_eq!((r.status, r.body), (200, id_body(ID)));
    let got = api.get(&format!("/v1/contact/{ID}")).await.body;
    assert_eq!(got["data"]["custom_fields"]["email"], "New@Example.com");
    assert_eq!(got["data"]["custom_fields"]["plan"], "gold");
    assert_eq!(
        got["data"]["custom_fields"]["firstName"], "Mahin",
        "other fields kept"
    );
    assert_eq!(
        api.lookup("email", "juanej@example.com", "").await.body["meta"]["total"],
        0
    );
    let page = api.lookup("email", " new@example.COM ", "").await.body;
    assert_eq!(
        page["meta"]["total"], 1,
        "case and surrounding spaces do not matter"
    );
    assert_eq!(page["data"][0]["id"], ID);
    assert_eq!(page["data"][0]["custom_fields"]["plan"], "gold");
    assert_eq!(
        s.snapshot().channels["web"].contacts[0].custom_fields["plan"].as_deref(),
        Some("gold")
    );
}

#[tokio::test]
async fn look_up_pages_25_matches_in_creation_order_10_at_a_time() {
    let mut ch = ChannelState::new("t");
    for i in 0..25 {
        ch.contacts
            .push(contact(&format!("{}", 1000 + i), &[("managed_by", "git")]));
        ch.contacts.push(contact(
            &format!("{}", 2000 + i),
            &[("managed_by", "other")],
        ));
    }
    let s = serve(one_channel(ch)).await;
    let api = Api::new(&s, "c");
    let path = format!("{}/v1/contact/by_custom_field", s.base_url());
    let link = |p: u64| Value::String(format!("{path}?page={p}"));

    let mut seen = vec![];
    for (page, count, prev, next) in [
        (1, 10, None, Some(2)),
        (2, 10, Some(1), Some(3)),
        (3, 5, Some(2), None),
    ] {
        let r = api
            .lookup("managed_by", "git", &format!("&page={page}"))
            .await;
        assert_eq!(r.status, 200);
        let b = r.body;
        let data = b["data"].as_array().unwrap();
        assert_eq!(data.len(), count, "page {page}");
        seen.extend(data.iter().map(|c| c["id"].as_str().unwrap().to_string()));
        let from = (page - 1) * 10 + 1;
        assert_eq!(
            b["meta"],
            json!({"current_page": page, "from": from, "last_page": 3, "path": path,
                   "per_page": 10, "to": from + count as u64 - 1, "total": 25})
        );
        assert_eq!(
            b["links"],
            json!({"first": link(1), "last": link(3),
                   "prev": prev.map(link), "next": next.map(link)})
        );
    }
    let want: Vec<String> = (0..25).map(|i| format!("{}", 1000 + i)).collect();
    assert_eq!(seen, want);

    // Past the end: an empty page, from/to null.
    let b = api.lookup("managed_by", "git", "&page=4").await.body;
    assert_eq!(b["data"], json!([]));
    assert_eq!(
        (b["meta"]["from"].clone(), b["meta"]["to"].clone()),
        (Value::Null, Value::Null)
    );
    assert_eq!(b["meta"]["total"], 25);
    assert_eq!(b["links"]["next"], Value::Null);

    // No match: one empty page.
    let b = api.lookup("managed_by", "nobody", "").await.body;
    assert_eq!(
        b["meta"],
        json!({"current_page": 1, "from": null, "last_page": 1, "path": path,
               "per_page": 10, "to": null, "total": 0})
    );
    assert_eq!(b["links"]["last"], link(1));
}

#[tokio::test]
async fn per_page_is_honoured_up_to_the_channels_maximum() {
    let mut ch = ChannelState::new("t");
    ch.max_per_page = 50;
    ch.contacts = (0..120)
        .map(|i| contact(&i.to_string(), &[("m", "x")]))
        .collect();
    let s = serve(one_channel(ch)).await;
    let api = Api::new(&s, "c");
    let meta = |b: &Value| {
        (
            b["data"].as_array().unwrap().len(),
            b["meta"]["per_page"].clone(),
            b["meta"]["last_page"].clone(),
        )
    };
    assert_eq!(
        meta(&api.lookup("m", "x", "&per_page=20").await.body),
        (20, json!(20), json!(6))
    );
    assert_eq!(
        meta(&api.lookup("m", "x", "&per_page=500").await.body),
        (50, json!(50), json!(3))
    );
    assert_eq!(
        meta(&api.lookup("m", "x", "").await.body),
        (10, json!(10), json!(12))
    );
    assert_eq!(
        meta(&api.lookup("m", "x", "&per_page=junk").await.body),
        (10, json!(10), json!(12))
    );

    // The platform's channels (max 10) ignore a larger per_page.
    let (_d, web) = demo().await;
    let b = web.lookup("lastName", "Dar", "&per_page=20").await.body;
    assert_eq!(b["meta"]["per_page"], 10);
}

#[tokio::test]
async fn look_up_without_name_or_value_is_403() {
    let (_s, api) = demo().await;
    for q in [
        "",
        "?value=Mahin",
        "?name=firstName",
        "?name=&value=Mahin",
        "?name=firstName&value=",
    ] {
        let r = api.get(&format!("/v1/contact/by_custom_field{q}")).await;
        assert_eq!(r.status, 403, "{q}");
        assert_eq!(r.body["status"], "error");
    }
}

#[tokio::test]
async fn look_up_values_are_percent_decoded_so_a_plus_must_travel_as_2b() {
    let (_s, api) = demo().await;
    api.create(&[("phone", "+34 600 000 000")]).await;
    assert_eq!(
        api.lookup("phone", "+34 600 000 000", "").await.body["meta"]["total"],
        1
    );
    let raw_plus = api
        .get("/v1/contact/by_custom_field?name=phone&value=+34%20600%20000%20000")
        .await;
    assert_eq!(
        raw_plus.body["meta"]["total"], 0,
        "a raw + is a space in a query string"
    );
}

#[tokio::test]
async fn the_rate_limit_answers_429_with_retry_after_and_counts_per_channel() {
    let mut state = SandboxState::demo();
    state.channels.get_mut("web").unwrap().rate_limit = 3;
    let s = serve(state).await;
    let web = Api::new(&s, "web");
    let viber = Api::new(&s, "viber");
    for _ in 0..3 {
        assert_eq!(web.get(&format!("/v1/contact/{ID}")).await.status, 200);
    }
    for call in 0..3 {
        let r = web.put_fields(ID, &[("firstName", "Nope")]).await;
        assert_eq!(
            (r.status, &r.body),
            (429, &error_body("Too many requests")),
            "call {call}"
        );
        let secs: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=60).contains(&secs), "{secs}");
    }
    assert_eq!(
        s.snapshot().channels["web"].contacts[0].custom_fields["firstName"].as_deref(),
        Some("Mahin"),
        "a refused call does nothing"
    );
    assert_eq!(
        viber.lookup("x", "y", "").await.status,
        200,
        "another channel's window"
    );
    let st = s.stats();
    assert_eq!(st.channels["web"].rate_limited, 3);
    assert_eq!(st.channels["web"].injected_429, 0);
    assert_eq!(st.channels["web"].requests, 6);
    assert_eq!(st.channels["viber"].rate_limited, 0);
}

#[tokio::test(start_paused = true)]
async fn the_rate_limit_window_slides_and_refused_calls_do_not_use_it() {
    let mut state = SandboxState::demo();
    state.channels.get_mut("web").unwrap().rate_limit = 2;
    let s = serve(state).await;
    let web = Api::new(&s, "web");
    let get = || web.get("/v1/contact/by_custom_field?name=lastName&value=Dar");
    assert_eq!(get().await.status, 200);
    tokio::time::advance(Duration::from_secs(30)).await;
    assert_eq!(get().await.status, 200);
    tokio::time::advance(Duration::from_secs(10)).await;
    let r = get().await;
    assert_eq!(r.status, 429);
    assert_eq!(
        r.headers["retry-after"], "20",
        "the first call leaves the window at 60 s"
    );
    tokio::time::advance(Duration::from_secs(20)).await;
    assert_eq!(get().await.status, 200, "at 60 s one slot is free");
    let r = get().await;
    assert_eq!(r.status, 429, "the 30 s call is still in the window");
    assert_eq!(r.headers["retry-after"], "30");
}

#[tokio::test]
async fn viber_channels_want_base64_ids_percent_encoded_in_paths() {
    let viber_id = "tMNGhftyUPrB3r1lD+bT4g==";
    let mut state = SandboxState::demo();
    state
        .channels
        .get_mut("viber")
        .unwrap()
        .contacts
        .push(WireContact {
            tags: vec!["Blog Updates".into()],
            ..contact(viber_id, &[("firstName", "Ana")])
        });
    // An ID whose Base64 holds `+`, `/` and `=`: only percent-encoding carries it in a path.
    let odd = "aa?+/>=";
    state
        .channels
        .get_mut("viber")
        .unwrap()
        .contacts
        .push(contact(odd, &[]));
    let s = serve(state).await;
    let api = Api::new(&s, "viber");
    let odd_path = viber_path(odd);
    assert_eq!(odd_path, "YWE%2FKy8%2BPQ%3D%3D");
    let r = api.put_fields(&odd_path, &[("firstName", "Odd")]).await;
    assert_eq!((r.status, r.body), (200, id_body(odd)));
    let r = api.get(&format!("/v1/contact/{odd_path}")).await;
    assert_eq!(r.body["data"]["custom_fields"]["firstName"], "Odd");

    let enc_id = viber_path(viber_id);

    let r = api.get(&format!("/v1/contact/{enc_id}")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["data"]["id"], viber_id, "bodies carry the raw ID");
    let r = api.put_fields(&enc_id, &[("firstName", "Ana María")]).await;
    assert_eq!((r.status, r.body), (200, id_body(viber_id)));
    let tags = format!("/v1/contact/{enc_id}/tags");
    assert_eq!(
        api.call(Method::POST, &tags, Some(&tags_body(&["VIP"])))
            .await
            .status,
        200
    );
    assert_eq!(
        api.call(Method::DELETE, &tags, Some(&tags_body(&["Blog Updates"])))
            .await
            .status,
        200
    );
    let c = &s.snapshot().channels["viber"].contacts[0];
    assert_eq!(c.custom_fields["firstName"].as_deref(), Some("Ana María"));
    assert_eq!(c.tags, ["VIP"]);

    // The raw ID, percent-encoded or not, is refused on every path call.
    let msg = error_body("Invalid contact ID: Viber contact IDs must be Base64-encoded");
    for raw in [enc(viber_id), viber_id.replace('+', "%2B")] {
        let r = api.put_fields(&raw, &[("firstName", "X")]).await;
        assert_eq!((r.status, &r.body), (403, &msg), "PUT {raw}");
        let r = api.get(&format!("/v1/contact/{raw}")).await;
        assert_eq!((r.status, &r.body), (403, &msg), "GET {raw}");
        for m in [Method::POST, Method::DELETE] {
            let r = api
                .call(
                    m,
                    &format!("/v1/contact/{raw}/tags"),
                    Some(&tags_body(&["x"])),
                )
                .await;
            assert_eq!((r.status, &r.body), (403, &msg));
        }
    }
    // Valid Base64 of an unknown ID is a plain 404.
    let r = api
        .get(&format!("/v1/contact/{}", viber_path("unknown")))
        .await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn viber_creates_make_ids_with_plus_slash_and_equals_that_round_trip() {
    let (s, _) = demo().await;
    let api = Api::new(&s, "viber");
    for i in 0..5 {
        let id = api.create(&[("email", &format!("v{i}@example.com"))]).await;
        assert!(
            id.contains('+') && id.contains('/') && id.ends_with("=="),
            "{id}"
        );
        let base64 = viber_path(&id);
        let r = api.get(&format!("/v1/contact/{base64}")).await;
        assert_eq!(r.body["data"]["id"], id.as_str());
        let r = api.put_fields(&base64, &[("firstName", "V")]).await;
        assert_eq!((r.status, r.body), (200, id_body(&id)));
        let page = api
            .lookup("email", &format!("v{i}@example.com"), "")
            .await
            .body;
        assert_eq!(page["data"][0]["id"], id.as_str());
    }
}

#[tokio::test]
async fn an_id_with_a_slash_stays_one_path_segment_when_percent_encoded() {
    let odd = "a/b+c=d";
    let mut state = SandboxState::demo();
    state
        .channels
        .get_mut("web")
        .unwrap()
        .contacts
        .push(contact(odd, &[("k", "v")]));
    let mut viber = state.channels["viber"].clone();
    viber.viber_encode_get = Some(false);
    viber.contacts.push(contact(odd, &[("k", "v")]));
    state.channels.insert("viber".into(), viber);
    let s = serve(state).await;

    let web = Api::new(&s, "web");
    let r = web.get(&format!("/v1/contact/{}", enc(odd))).await;
    assert_eq!((r.status, r.body["data"]["id"].clone()), (200, json!(odd)));
    assert_eq!(web.put_fields(&enc(odd), &[("k", "w")]).await.status, 200);
    let r = web.get("/v1/contact/a/b+c=d").await;
    assert_eq!(r.status, 404, "an unencoded / splits the path");

    // viber_encode_get: false: get takes the raw ID, updates still want Base64.
    let viber = Api::new(&s, "viber");
    let r = viber.get(&format!("/v1/contact/{}", enc(odd))).await;
    assert_eq!(r.status, 200);
    assert_eq!(viber.put_fields(&enc(odd), &[("k", "w")]).await.status, 403);
    assert_eq!(
        viber
            .put_fields(&viber_path(odd), &[("k", "w")])
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn state_files_load_from_yaml_and_json() {
    let yaml = r#"
channels:
  shop:
    token: shop-secret
    rate_limit: 200
    contacts:
      - id: 42
        custom_fields: { email: a@example.com, customerid: 7, vip: true }
        tags: [VIP]
  vb:
    viber: true
    viber_encode_get: false
faults:
  latency_ms: 0
"#;
    let mut f = tempfile::Builder::new().suffix(".yaml").tempfile().unwrap();
    f.write_all(yaml.as_bytes()).unwrap();
    let state = SandboxState::from_file(f.path()).unwrap();
    assert_eq!(state.channels["shop"].rate_limit, 200);
    assert_eq!(
        state.channels["vb"].token, "sandbox-vb-token",
        "default token"
    );
    assert!(state.channels["vb"].viber && !state.channels["vb"].encode_get());
    let c = &state.channels["shop"].contacts[0];
    assert_eq!(c.id, "42");
    assert_eq!(c.custom_fields["customerid"].as_deref(), Some("7"));

    let json_text = serde_json::to_string_pretty(&state).unwrap();
    let mut j = tempfile::Builder::new().suffix(".json").tempfile().unwrap();
    j.write_all(json_text.as_bytes()).unwrap();
    assert_eq!(
        SandboxState::from_file(j.path()).unwrap(),
        state,
        "JSON reads the same"
    );

    let s = serve(state).await;
    let api = Api::new(&s, "shop");
    assert_eq!(api.token, "shop-secret");
    let r = api.lookup("email", "A@example.com", "").await;
    assert_eq!(r.body["data"][0]["id"], "42");
    assert_eq!(r.body["data"][0]["tags"], json!(["VIP"]));
}

#[tokio::test]
async fn state_file_errors_name_the_file_and_the_reason() {
    let write = |text: &str| {
        let mut f = tempfile::Builder::new().suffix(".yaml").tempfile().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    };
    let e = SandboxState::from_file("/nonexistent/state.yaml").unwrap_err();
    assert!(matches!(e, SandboxError::Read { .. }), "{e:?}");
    assert!(
        e.to_string().starts_with("/nonexistent/state.yaml: "),
        "{e}"
    );

    for (text, kind, needle) in [
        ("channels: [", "parse", ""),
        ("channels:\n  web:\n    tokn: x\n", "parse", "tokn"),
        ("chanels: {}\n", "parse", "chanels"),
        ("channels:\n  web:\n    rate_limit: lots\n", "parse", ""),
        (
            "channels:\n  a: { token: same }\n  b: { token: same }\n",
            "invalid",
            "token",
        ),
        (
            "channels:\n  a: { rate_limit: 0 }\n",
            "invalid",
            "rate_limit",
        ),
        (
            "channels:\n  a:\n    contacts: [{id: '1'}, {id: 1}]\n",
            "invalid",
            "twice",
        ),
        (
            "faults: { random: { seed: 1, p_500: 2 } }\n",
            "invalid",
            "p_500",
        ),
    ] {
        let f = write(text);
        let e = SandboxState::from_file(f.path()).unwrap_err();
        let file = f.path().display().to_string();
        match (&e, kind) {
            (SandboxError::Parse { file: got, .. }, "parse")
            | (SandboxError::Invalid { file: got, .. }, "invalid") => assert_eq!(got, &file),
            _ => panic!("{text:?}: expected a {kind} error, got {e:?}"),
        }
        let msg = e.to_string();
        assert!(
            msg.starts_with(&format!("{file}: invalid sandbox state: ")),
            "{msg}"
        );
        assert!(msg.contains(needle), "{text:?}: {msg}");
    }
}

#[tokio::test]
async fn start_refuses_a_state_with_duplicate_tokens() {
    let mut state = SandboxState::demo();
    state.channels.get_mut("viber").unwrap().token = "sandbox-web-token".into();
    let e = contactctl::sandbox::start(state, "127.0.0.1:0".parse().unwrap())
        .await
        .err()
        .unwrap();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
}
