//! Every curl example of both vendor documents (copied verbatim into `tests/sandbox_seeds/`),
//! replayed against the sandbox with a real HTTP client, changing only the host and the token,
//! and checked against the documented status and body. Also the documents' four error bodies.
//! Owns nothing but these checks.

use crate::support::serve;
use reqwest::Method;
use serde_json::Value;

use contactctl::sandbox::{SandboxHandle, SandboxState, sample_contact};

const DOCS: [(&str, &str); 2] = [
    (
        "000_fb70a2f5098819cb.txt",
        include_str!("../sandbox_seeds/000_fb70a2f5098819cb.txt"),
    ),
    (
        "001_78f2fdc6eb9111ee.txt",
        include_str!("../sandbox_seeds/001_78f2fdc6eb9111ee.txt"),
    ),
];

/// A curl command of a document.
#[derive(Debug, Clone)]
struct Curl {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: Option<String>,
}

/// A documented response: `(HTTP status → NNN)` and the JSON after it.
#[derive(Debug, Clone)]
struct Documented {
    at: usize,
    status: u16,
    body: Value,
}

/// Splits a shell command into words: single quotes are literal, `\`+newline is a space.
fn shell_words(cmd: &str) -> Vec<String> {
    let mut words = vec![];
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = cmd.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    cur.push(q);
                }
            }
            '\\' if chars.peek().is_some_and(|n| n.is_whitespace()) => {}
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    words
}

/// The curl commands of a document, with where each starts: a command runs on while a line
/// ends with `\` or a single quote is open.
fn curls(doc: &str) -> Vec<(usize, Curl)> {
    let mut found = vec![];
    let mut offset = 0;
    let lines: Vec<&str> = doc.split_inclusive('\n').collect();
    let mut i = 0;
    while i < lines.len() {
        let start = offset;
        if lines[i].trim_start().starts_with("curl ") {
            let mut cmd = String::new();
            loop {
                let line = lines[i];
                cmd.push_str(line);
                offset += line.len();
                i += 1;
                let open_quote = cmd.matches('\'').count() % 2 == 1;
                if i >= lines.len() || !(open_quote || line.trim_end().ends_with('\\')) {
                    break;
                }
            }
            let words = shell_words(&cmd);
            let mut curl = Curl {
                method: "GET".into(),
                url: String::new(),
                headers: vec![],
                body: None,
            };
            let mut w = words.iter().skip(1);
            while let Some(word) = w.next() {
                match word.as_str() {
                    "-X" => curl.method = w.next().unwrap().clone(),
                    "-H" => {
                        let (k, v) = w.next().unwrap().split_once(':').unwrap();
                        curl.headers.push((k.trim().into(), v.trim().into()));
                    }
                    "-d" => curl.body = Some(w.next().unwrap().clone()),
                    url => curl.url = url.into(),
                }
            }
            found.push((start, curl));
        } else {
            offset += lines[i].len();
            i += 1;
        }
    }
    found
}

/// The JSON object starting at the first `{` of `text`.
fn json_at(text: &str) -> Value {
    let start = text.find('{').unwrap();
    let mut depth = 0;
    for (i, c) in text[start..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return serde_json::from_str(&text[start..=start + i]).unwrap();
                }
            }
            _ => {}
        }
    }
    panic!("unbalanced JSON in the document")
}

/// Every `→ NNN` of a document with the JSON that follows it.
fn documented(doc: &str) -> Vec<Documented> {
    doc.match_indices('→')
        .map(|(at, arrow)| {
            let rest = &doc[at + arrow.len()..];
            let status = rest.trim_start()[..3].parse().unwrap();
            Documented {
                at,
                status,
                body: json_at(rest),
            }
        })
        .collect()
}

/// A document's six examples (each with the response documented after it) and its four error
/// bodies by status.
struct Doc {
    name: &'static str,
    examples: Vec<(Curl, Documented)>,
    errors: Vec<Documented>,
    /// The documents' own API root, e.g. `https://app.bony.chat/api`.
    root: String,
}

fn load(name: &'static str, text: &str) -> Doc {
    let cs = curls(text);
    let ds = documented(text);
    assert_eq!(cs.len(), 6, "{name}: six curl examples");
    assert_eq!(ds.len(), 10, "{name}: six responses and four error bodies");
    let examples: Vec<(Curl, Documented)> = cs
        .into_iter()
        .map(|(at, c)| {
            let d = ds.iter().find(|d| d.at > at).unwrap().clone();
            (c, d)
        })
        .collect();
    let errors = ds[6..].to_vec();
    let url = &examples[0].0.url;
    let root = url[..url.find("/api/").unwrap() + 4].to_string();
    Doc {
        name,
        examples,
        errors,
        root,
    }
}

/// Sends a document's curl with only the host and the token changed.
async fn replay(sandbox: &SandboxHandle, doc: &Doc, curl: &Curl, token: &str) -> (u16, Value) {
    let url = curl.url.replacen(&doc.root, &sandbox.base_url(), 1);
    assert_ne!(url, curl.url, "the example's host is the document's");
    let http = crate::support::http::client();
    let method = Method::from_bytes(curl.method.as_bytes()).unwrap();
    let mut req = http.request(method, url);
    for (k, v) in &curl.headers {
        let v = if v.starts_with("Bearer {") {
            format!("Bearer {token}")
        } else {
            v.clone()
        };
        req = req.header(k.as_str(), v);
    }
    if let Some(b) = &curl.body {
        req = req.body(b.clone());
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let body = resp.json().await.unwrap();
    (status, body)
}

/// The same JSON shape: same types, same object keys, same array lengths, all the way down.
fn assert_same_shape(doc: &Value, got: &Value, at: &str) {
    match (doc, got) {
        (Value::Object(a), Value::Object(b)) => {
            let ka: Vec<_> = a.keys().collect();
            let mut kb: Vec<_> = b.keys().collect();
            let mut ka_sorted = ka.clone();
            ka_sorted.sort();
            kb.sort();
            assert_eq!(ka_sorted, kb, "keys at {at}");
            for k in ka {
                assert_same_shape(&a[k], &b[k], &format!("{at}.{k}"));
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            assert_eq!(a.len(), b.len(), "length at {at}");
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                assert_same_shape(x, y, &format!("{at}[{i}]"));
            }
        }
        (a, b) => assert_eq!(
            std::mem::discriminant(a),
            std::mem::discriminant(b),
            "type at {at}: {a} vs {b}"
        ),
    }
}

fn example<'a>(doc: &'a Doc, method: &str, path_end: &str) -> &'a (Curl, Documented) {
    doc.examples
        .iter()
        .find(|(c, _)| c.method == method && c.url.split('?').next().unwrap().ends_with(path_end))
        .unwrap_or_else(|| panic!("{}: no {method} …{path_end} example", doc.name))
}

/// The value a document's update example writes to `field`.
fn written(curl: &Curl, field: &str) -> String {
    let body: Value = serde_json::from_str(curl.body.as_deref().unwrap()).unwrap();
    body["custom_fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == field)
        .unwrap()["value"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn every_curl_example_gets_the_documented_status_and_body() {
    let id = "1776025372480910";
    let email = sample_contact().custom_fields["email"].clone().unwrap();
    for (name, text) in DOCS {
        let doc = load(name, text);
        let sandbox = serve(SandboxState::demo()).await;
        let token = sandbox.token("web").unwrap();
        let base = sandbox.base_url();
        let doc_base = doc.root.replacen("https://", "http://", 1);

        // Every example is documented as a 200.
        for (c, d) in &doc.examples {
            assert_eq!(d.status, 200, "{name}: {} {}", c.method, c.url);
        }

        // 2. Get by ID: the documented contact (the e-mail is the demo's own).
        let (c, d) = example(&doc, "GET", &format!("/contact/{id}"));
        let (status, body) = replay(&sandbox, &doc, c, &token).await;
        let mut want = d.body.clone();
        want["data"]["custom_fields"]["email"] = Value::String(email.to_string());
        assert_eq!((status, &body), (200, &want), "{name}: get");

        // 3. Update: the documented `{"data":{"id":...}}`, holding the contact's ID.
        let (put, d) = example(&doc, "PUT", &format!("/contact/{id}"));
        let (status, body) = replay(&sandbox, &doc, put, &token).await;
        assert_eq!(status, 200, "{name}: update");
        assert_same_shape(&d.body, &body, "update");
        assert_eq!(body["data"]["id"], id);
        let first_name = written(put, "firstName");

        // 1. Look-up by the first name the update wrote (the document's own query): the
        // documented page, with the host's links, showing the updated contact.
        let (c, d) = example(&doc, "GET", "/contact/by_custom_field");
        assert!(
            c.url.contains(&crate::support::http::enc(&first_name)),
            "{name}: the look-up example queries the name the update example writes"
        );
        let (status, body) = replay(&sandbox, &doc, c, &token).await;
        let want: Value =
            serde_json::from_str(&d.body.to_string().replace(&doc_base, &base)).unwrap();
        let mut want = want;
        want["data"][0]["custom_fields"]["firstName"] = Value::String(first_name.clone());
        want["data"][0]["custom_fields"]["email"] = Value::String(email.to_string());
        assert_eq!((status, &body), (200, &want), "{name}: look-up");

        // 4. Add tags (the contact has them already: still a success, no duplicates).
        let (c, d) = example(&doc, "POST", &format!("/contact/{id}/tags"));
        let (status, body) = replay(&sandbox, &doc, c, &token).await;
        assert_eq!((status, &body), (200, &d.body), "{name}: add tags");
        let tags = |s: &SandboxHandle| s.snapshot().channels["web"].contacts[0].tags.clone();
        assert_eq!(tags(&sandbox), ["Blog Updates", "Platform Updates"]);

        // 5. Remove tags, a JSON body on DELETE.
        let (c, d) = example(&doc, "DELETE", &format!("/contact/{id}/tags"));
        let (status, body) = replay(&sandbox, &doc, c, &token).await;
        assert_eq!((status, &body), (200, &d.body), "{name}: remove tags");
        assert!(tags(&sandbox).is_empty(), "{name}: tags removed");

        // 6. Create, at the documents' `/v1/contact/` with its trailing slash.
        let (c, d) = example(&doc, "POST", "/contact/");
        let (status, body) = replay(&sandbox, &doc, c, &token).await;
        assert_eq!(status, 200, "{name}: create");
        assert_same_shape(&d.body, &body, "create");
        let new_id = body["data"]["id"].as_str().unwrap();
        assert_ne!(new_id, id);
        let snap = sandbox.snapshot();
        let created = &snap.channels["web"].contacts[1];
        assert_eq!(created.id, new_id);
        assert_eq!(
            created.custom_fields["phone"].as_deref(),
            Some("03244077087")
        );
        assert_eq!(
            created.custom_fields["firstName"].as_deref(),
            Some(first_name.as_str())
        );
        assert_eq!(created.custom_fields["lastName"].as_deref(), Some("Dar"));
    }
}

#[tokio::test]
async fn the_documented_error_bodies_come_back_verbatim() {
    for (name, text) in DOCS {
        let doc = load(name, text);
        let by_status = |s: u16| &doc.errors.iter().find(|d| d.status == s).unwrap().body;
        let sandbox = serve(SandboxState::demo()).await;
        let token = sandbox.token("web").unwrap();
        let (get, _) = example(&doc, "GET", "/contact/1776025372480910");

        // 401: a token no channel has.
        let (status, body) = replay(&sandbox, &doc, get, "not-a-sandbox-token").await;
        assert_eq!((status, &body), (401, by_status(401)), "{name}");

        // 405: a method the path does not take.
        let mut patch = get.clone();
        patch.method = "PATCH".into();
        let (status, body) = replay(&sandbox, &doc, &patch, &token).await;
        assert_eq!((status, &body), (405, by_status(405)), "{name}");

        // 403: eleven tags in one call; the message is the API's own.
        let (tag, _) = example(&doc, "POST", "/contact/1776025372480910/tags");
        let mut eleven = tag.clone();
        let tags: Vec<String> = (0..11).map(|i| format!("t{i}")).collect();
        eleven.body = Some(serde_json::json!({ "tags": tags }).to_string());
        let (status, body) = replay(&sandbox, &doc, &eleven, &token).await;
        assert_eq!(status, 403, "{name}");
        assert_same_shape(by_status(403), &body, "403");
        assert_eq!(body["status"], "error");

        // 429: the 101st call within a minute (the documents' 100 per minute). The 403 above
        // counted; the 405 was refused before it could, the 401 named no channel.
        for i in 2..=100 {
            let (status, _) = replay(&sandbox, &doc, get, &token).await;
            assert_eq!(status, 200, "{name}: call {i} of the minute");
        }
        let (status, body) = replay(&sandbox, &doc, get, &token).await;
        assert_eq!((status, &body), (429, by_status(429)), "{name}");
        assert_eq!(sandbox.stats().channels["web"].rate_limited, 1);
    }
}
