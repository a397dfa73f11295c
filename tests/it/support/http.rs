//! The sandbox as any client sees it, for the sandbox's own suites: raw calls over a real HTTP
//! client (reqwest) with the bodies, encodings and error shape of the API reference. Start the
//! sandbox with [`super::serve`].
#![allow(dead_code)]

use contactctl::sandbox::SandboxHandle;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::Value;

/// A client that keeps no idle connections and has no timeouts, so it sets no timers: tests
/// with tokio's paused clock then see time move only when the sandbox (or the test) sleeps.
pub fn client() -> reqwest::Client {
    contactctl::api::install_tls_provider();
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

/// One channel of a running sandbox, addressed as a client would.
#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub token: String,
    pub http: reqwest::Client,
}

/// What came back.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Api {
    /// Channel `channel` of `sandbox`.
    pub fn new(sandbox: &SandboxHandle, channel: &str) -> Api {
        Api {
            base: sandbox.base_url(),
            token: sandbox.token(channel).unwrap(),
            http: client(),
        }
    }

    /// The same channel with another token.
    pub fn with_token(&self, token: &str) -> Api {
        Api {
            token: token.into(),
            ..self.clone()
        }
    }

    /// `method {base}{path}` with the bearer token and an optional JSON body; fails only when
    /// no response came back.
    pub async fn try_call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> reqwest::Result<Reply> {
        let mut req = self
            .http
            .request(method, format!("{}{}", self.base, path))
            .header("Authorization", format!("Bearer {}", self.token))
            .header("Content-Type", "application/json");
        if let Some(b) = body {
            req = req.body(b.to_string());
        }
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await?;
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    /// Like `try_call`, for calls that must get a response.
    pub async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Reply {
        self.try_call(method, path, body).await.unwrap()
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.call(Method::GET, path, None).await
    }

    /// `PUT /v1/contact/{id}` (id as given: encode it first where needed).
    pub async fn put_fields(&self, id: &str, fields: &[(&str, &str)]) -> Reply {
        self.call(
            Method::PUT,
            &format!("/v1/contact/{id}"),
            Some(&fields_body(fields)),
        )
        .await
    }

    /// `POST /v1/contact`; the new ID.
    pub async fn create(&self, fields: &[(&str, &str)]) -> String {
        let r = self
            .call(Method::POST, "/v1/contact", Some(&fields_body(fields)))
            .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        r.body["data"]["id"].as_str().unwrap().to_string()
    }

    /// `GET /v1/contact/by_custom_field?name=..&value=..` plus `extra` query text.
    pub async fn lookup(&self, name: &str, value: &str, extra: &str) -> Reply {
        self.get(&format!(
            "/v1/contact/by_custom_field?name={}&value={}{extra}",
            enc(name),
            enc(value)
        ))
        .await
    }
}

/// `{"custom_fields":[{"name":..,"value":..}..]}`.
pub fn fields_body(fields: &[(&str, &str)]) -> Value {
    let list: Vec<Value> = fields
        .iter()
        .map(|(n, v)| serde_json::json!({"name": n, "value": v}))
        .collect();
    serde_json::json!({ "custom_fields": list })
}

/// `{"tags":[..]}`.
pub fn tags_body(tags: &[&str]) -> Value {
    serde_json::json!({ "tags": tags })
}

/// Percent-encodes every byte but letters and digits.
pub fn enc(s: &str) -> String {
    utf8_percent_encode(s, NON_ALPHANUMERIC).to_string()
}

/// A Viber path ID: Base64 of the ID, then percent-encoded.
pub fn viber_path(id: &str) -> String {
    use base64::Engine;
    enc(&base64::engine::general_purpose::STANDARD.encode(id))
}

/// The documented error body.
pub fn error_body(message: &str) -> Value {
    serde_json::json!({"status": "error", "message": message, "data": []})
}
