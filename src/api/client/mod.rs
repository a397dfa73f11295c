//! The Contacts API over HTTP: [`HttpClient`] implements [`ContactsApi`] for one channel —
//! URLs and encoding, headers, the six calls and the meaning of their answers. It carries out
//! calls; it never decides which calls to make.
//!
//! The token goes into the `Authorization` header and nowhere else: not into errors, not into
//! logs. Text that comes back from the server is scrubbed of it before it is shown.
//!
//! Its parts: [`retry`] sends one call under the rate limiter and the retry policy, [`message`]
//! turns what the server said into a short, safe message, [`stats`] counts what was sent.

mod message;
mod retry;
mod stats;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use reqwest::Method;
use tokio::time::Instant;

use self::message::{Expected, Unexpected, masked, says_not_found};
pub use self::retry::MAX_RESPONSE_BYTES;
use self::retry::Reply;
pub use self::stats::{CallCounts, ClientStats};
use self::stats::{CallKind, Counters};
use super::cancel::Cancel;
use super::encode;
use super::limiter::RateLimiter;
use super::secret::Secret;
use super::wire::{Data, FieldsBody, IdOnly, Page, TagsBody, WireContact};
use super::{ApiError, ContactsApi, Forecast, LookupPage};
use crate::model::{self, FieldWrite, LiveContact};

/// A line of `-v` output: one per request, never the token.
pub type LogFn = Arc<dyn Fn(&str) + Send + Sync>;

/// Where the `-v` request log goes, and whether it shows contacts' look-up values in full.
#[derive(Clone)]
pub struct RequestLog {
    /// Receives one line per request.
    pub sink: LogFn,
    /// Show look-up values as they are (`-vv`) instead of masked.
    pub values: bool,
}

/// How persistent a client is, and how it can be stopped.
#[derive(Clone)]
pub struct ClientOptions {
    /// Retries after a 5xx, timeout, reset or unreadable body (idempotent calls only). Default 5.
    pub max_retries: u32,
    /// First backoff delay (doubled each retry, with jitter). Default 500 ms.
    pub backoff_base: Duration,
    /// Longest backoff delay. Default 30 s.
    pub backoff_max: Duration,
    /// Most time one call may spend waiting out 429s before it gives up. Default 10 minutes.
    pub max_429_wait: Duration,
    /// Once raised, no new request is started (waits in the limiter or a backoff end at once).
    pub cancel: Cancel,
    /// Receives one line per request: `METHOD path -> status (ms)`.
    pub log: Option<LogFn>,
    /// Retries after a refused connection or failed DNS look-up while the host has never
    /// answered (a wrong `base_url` should fail in seconds, not after a full backoff). Default 2.
    pub first_contact_retries: u32,
    /// Log look-up values as they are (`-vv`); otherwise they are masked, since they are
    /// contacts' key values (e-mails, phones). Default false.
    pub log_values: bool,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            max_retries: 5,
            backoff_base: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            max_429_wait: Duration::from_secs(600),
            cancel: Cancel::never(),
            log: None,
            first_contact_retries: 2,
            log_values: false,
        }
    }
}

impl std::fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientOptions")
            .field("max_retries", &self.max_retries)
            .field("backoff_base", &self.backoff_base)
            .field("backoff_max", &self.backoff_max)
            .field("max_429_wait", &self.max_429_wait)
            .field("cancel", &self.cancel)
            .field("log", &self.log.is_some())
            .field("first_contact_retries", &self.first_contact_retries)
            .field("log_values", &self.log_values)
            .finish()
    }
}

/// `base_url` as an error names what was tried: `http://127.0.0.1:8080/api`,
/// `https://app.example.chat:443/api` — the port spelled out even when it is the scheme's
/// default, any user info left out (it could be a credential).
fn shown_url(base_url: &str) -> String {
    match reqwest::Url::parse(base_url) {
        Ok(url) => {
            let host = url.host_str().unwrap_or("");
            let port = url
                .port_or_known_default()
                .map(|p| format!(":{p}"))
                .unwrap_or_default();
            let path = url.path().trim_end_matches('/');
            format!("{}://{host}{port}{path}", url.scheme())
        }
        Err(_) => base_url.trim_end_matches('/').to_string(),
    }
}

/// The `{contact_id}` path segment of `id` ([`encode::contact_segment`]), refused for an ID no
/// path can hold (empty, `.`, `..`): whatever let it through, no request leaves for the
/// endpoint it would collapse to.
fn contact_segment(id: &str, viber: bool) -> Result<String, ApiError> {
    if model::id_is_usable(id) {
        Ok(encode::contact_segment(id, viber))
    } else {
        Err(ApiError::UnusableId { id: id.to_string() })
    }
}

/// Make rustls's ring provider the process's TLS provider, which every `reqwest` client then
/// uses: reqwest is built without a provider of its own (see Cargo.toml). Call it before building
/// any `reqwest::Client` (without one, building it panics); calling it again changes nothing.
pub fn install_tls_provider() {
    // Err only when a provider is already installed, which is all this asks.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The one shared `reqwest` client: connection pooling, `timeout` per request (body included),
/// a shorter connect timeout, no redirects (a redirected PUT must not silently become a GET),
/// user agent `contactctl/<version>`.
pub fn http_client(timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
    install_tls_provider();
    reqwest::Client::builder()
        .user_agent(concat!("contactctl/", env!("CARGO_PKG_VERSION")))
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .pool_idle_timeout(Duration::from_secs(60))
        .redirect(reqwest::redirect::Policy::none())
        .build()
}

/// The Contacts API of one channel over HTTP.
pub struct HttpClient {
    channel: String,
    token_env: String,
    base_url: String,
    viber: bool,
    viber_encode_get: bool,
    token: Secret,
    http: reqwest::Client,
    limiter: Arc<RateLimiter>,
    options: ClientOptions,
    /// The API root as errors name it: scheme, host and port spelled out, no user info.
    shown_url: String,
    /// Set by a 401: the channel's token is refused, every later call fails without sending.
    stopped: AtomicBool,
    /// Set by the first answer of any kind: the host is reachable.
    reached: AtomicBool,
    /// Set when a call has waited out 429s through the whole retry schedule: every later
    /// attempt fails with it without sending (calls waiting out 429s too end at their next).
    throttled_out: OnceLock<ApiError>,
    /// Since when every answer has been a 429 (`None`: the last answer was not one).
    throttled_since: Mutex<Option<Instant>>,
    /// Wakes the calls waiting for a slot when the channel stops (`stopped`, `throttled_out`):
    /// they end unsent at once rather than when a slot frees, up to a minute later.
    stop: tokio::sync::Notify,
    counters: Counters,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("channel", &self.channel)
            .field("base_url", &self.base_url)
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    /// A client for `channel`, sending through `http` (share one across channels) and waiting on
    /// `limiter` (one per channel: share it between every client of the same channel).
    pub fn new(
        channel: &model::Channel,
        token: Secret,
        http: reqwest::Client,
        limiter: Arc<RateLimiter>,
        options: ClientOptions,
    ) -> HttpClient {
        HttpClient {
            channel: channel.name.clone(),
            token_env: channel.token_env.clone(),
            base_url: channel.base_url.trim_end_matches('/').to_string(),
            viber: channel.viber,
            viber_encode_get: channel.viber_encode_get,
            token,
            http,
            limiter,
            options,
            shown_url: shown_url(&channel.base_url),
            stopped: AtomicBool::new(false),
            reached: AtomicBool::new(false),
            throttled_out: OnceLock::new(),
            throttled_since: Mutex::new(None),
            stop: tokio::sync::Notify::new(),
            counters: Counters::default(),
        }
    }

    /// Counters of what this client has sent and met so far.
    pub fn stats(&self) -> ClientStats {
        self.counters.snapshot()
    }

    /// Whether a 401 has stopped this channel.
    pub fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }

    /// How long the channel has been answering nothing but 429 (the platform's rate limit),
    /// counted from the first 429 after the last other answer; `None` when it is not.
    pub fn throttled_for(&self) -> Option<Duration> {
        let since = *self
            .throttled_since
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        since.map(|at| at.elapsed())
    }

    /// Note what the last answer was: a 429 starts (or continues) a run of them, anything else
    /// ends it.
    fn note_throttled(&self, throttled: bool) {
        let mut since = self
            .throttled_since
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        match (throttled, *since) {
            (true, None) => *since = Some(Instant::now()),
            (false, Some(_)) => *since = None,
            _ => {}
        }
    }

    fn unauthorized(&self) -> ApiError {
        ApiError::Unauthorized {
            channel: self.channel.clone(),
            token_env: self.token_env.clone(),
        }
    }

    /// Calls 4 and 5: `POST` (add) or `DELETE` (remove) `{"tags": [...]}` on the contact's
    /// tags; the same path and body, only the method differs.
    async fn tags_call(
        &self,
        kind: CallKind,
        method: Method,
        id: &str,
        tags: &[String],
    ) -> Result<(), ApiError> {
        let path = format!("/v1/contact/{}/tags", contact_segment(id, self.viber)?);
        let body = Self::json_body(&TagsBody {
            tags: tags.to_vec(),
        })?;
        let reply = self.send(kind, method, &path, &path, Some(body)).await?;
        self.write_done(&reply)
    }

    fn log(&self, line: impl FnOnce() -> String) {
        if let Some(log) = &self.options.log {
            log(&line());
        }
    }

    /// Check the 2xx answer of a write whose body carries nothing we need.
    fn write_done(&self, reply: &Reply) -> Result<(), ApiError> {
        if !(200..300).contains(&reply.status) {
            return Err(self.rejected(reply));
        }
        if let Some(message) = self.error_in_success(reply) {
            return Err(ApiError::Rejected {
                status: reply.status,
                message,
            });
        }
        if reply.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        self.parse::<serde_json::Value>(Expected::Json, reply)
            .map(|_| ())
    }

    fn json_body<T: serde::Serialize>(body: &T) -> Result<Vec<u8>, ApiError> {
        serde_json::to_vec(body).map_err(|e| ApiError::Protocol {
            reason: Unexpected::Unencodable(e).to_string(),
        })
    }
}

impl ContactsApi for HttpClient {
    fn channel(&self) -> &str {
        &self.channel
    }

    async fn get(&self, id: &str) -> Result<Option<LiveContact>, ApiError> {
        let path = format!(
            "/v1/contact/{}",
            contact_segment(id, self.viber_encode_get)?
        );
        let reply = self
            .send(CallKind::Get, Method::GET, &path, &path, None)
            .await?;
        match reply.status {
            200..=299 => {
                if let Some(message) = self.error_in_success(&reply) {
                    return if says_not_found(&message) {
                        Ok(None)
                    } else {
                        Err(ApiError::Rejected {
                            status: reply.status,
                            message,
                        })
                    };
                }
                let data: Data<WireContact> = self.parse(Expected::Contact, &reply)?;
                Ok(Some(data.data.into()))
            }
            404 => Ok(None),
            403 if says_not_found(&self.error_message(403, &reply.body)) => Ok(None),
            _ => Err(self.rejected(&reply)),
        }
    }

    async fn lookup_page(
        &self,
        field: &str,
        value: &str,
        page: u64,
        per_page: u64,
    ) -> Result<LookupPage, ApiError> {
        let path = encode::lookup_path(field, value, page, per_page);
        // The value is a contact's key (an e-mail, a phone): the log shows it masked unless
        // asked for in full (`-vv`).
        let shown = if self.options.log_values {
            path.clone()
        } else {
            path.replacen(
                &format!("value={}", encode::strict(value)),
                &format!("value={}", masked(value)),
                1,
            )
        };
        let reply = self
            .send(CallKind::Lookup, Method::GET, &path, &shown, None)
            .await?;
        if !(200..300).contains(&reply.status) {
            return Err(self.rejected(&reply));
        }
        if let Some(message) = self.error_in_success(&reply) {
            return Err(ApiError::Rejected {
                status: reply.status,
                message,
            });
        }
        let p: Page = self.parse(Expected::Page, &reply)?;
        let count = u64::try_from(p.data.len()).unwrap_or(u64::MAX);
        let requested = if per_page > 0 {
            per_page
        } else {
            model::DEFAULT_PAGE_SIZE as u64
        };
        let page_size = p.meta.per_page.filter(|&n| n > 0);
        let last_page = match (p.meta.last_page, p.meta.total) {
            (Some(last), _) => last.max(1),
            // no `last_page`: from the total and the page size...
            (None, Some(total)) => total
                .div_ceil(page_size.unwrap_or(requested.min(count.max(1))))
                .max(1),
            // ...else a page that may be full (or a `next` link) says there may be more: the
            // readers go on until a page brings nothing new
            (None, None)
                if p.links.next.is_some()
                    || count
                        >= page_size.unwrap_or(requested.min(model::DEFAULT_PAGE_SIZE as u64)) =>
            {
                u64::MAX
            }
            (None, None) => page,
        };
        Ok(LookupPage {
            page: p.meta.current_page.unwrap_or(page),
            last_page,
            per_page: page_size.unwrap_or(requested),
            total: p.meta.total.unwrap_or(count),
            contacts: p.data.into_iter().map(LiveContact::from).collect(),
        })
    }

    async fn update(&self, id: &str, fields: &[FieldWrite]) -> Result<(), ApiError> {
        let path = format!("/v1/contact/{}", contact_segment(id, self.viber)?);
        let body = Self::json_body(&FieldsBody {
            custom_fields: fields.to_vec(),
        })?;
        let reply = self
            .send(CallKind::Update, Method::PUT, &path, &path, Some(body))
            .await?;
        self.write_done(&reply)
    }

    async fn add_tags(&self, id: &str, tags: &[String]) -> Result<(), ApiError> {
        self.tags_call(CallKind::AddTags, Method::POST, id, tags)
            .await
    }

    async fn remove_tags(&self, id: &str, tags: &[String]) -> Result<(), ApiError> {
        self.tags_call(CallKind::RemoveTags, Method::DELETE, id, tags)
            .await
    }

    async fn create(&self, fields: &[FieldWrite]) -> Result<String, ApiError> {
        let body = Self::json_body(&FieldsBody {
            custom_fields: fields.to_vec(),
        })?;
        let reply = self
            .send(
                CallKind::Create,
                Method::POST,
                "/v1/contact",
                "/v1/contact",
                Some(body),
            )
            .await?;
        if !(200..300).contains(&reply.status) {
            return Err(self.rejected(&reply));
        }
        if let Some(message) = self.error_in_success(&reply) {
            return Err(ApiError::Rejected {
                status: reply.status,
                message,
            });
        }
        let data: Data<IdOnly> = self.parse(Expected::NewId, &reply)?;
        if data.data.id.is_empty() {
            return Err(ApiError::Protocol {
                reason: Unexpected::EmptyNewId.to_string(),
            });
        }
        if !model::id_is_usable(&data.data.id) {
            return Err(ApiError::Protocol {
                reason: Unexpected::UnusableNewId(data.data.id).to_string(),
            });
        }
        Ok(data.data.id)
    }

    fn endpoint(&self) -> Option<&str> {
        Some(&self.shown_url)
    }

    fn throttled_for(&self) -> Option<Duration> {
        HttpClient::throttled_for(self)
    }

    fn forecast(&self, calls: usize) -> Option<Forecast> {
        Some(self.limiter.forecast(calls))
    }
}
