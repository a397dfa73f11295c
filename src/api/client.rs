//! The Contacts API over HTTP: [`HttpClient`] implements [`ContactsApi`] for one channel —
//! URLs and encoding, headers, the channel's rate limiter before every attempt, the retry policy
//! (429 waited out; 5xx, timeouts and resets retried for idempotent calls only), and the mapping
//! of statuses to [`ApiError`]. It carries out calls; it never decides which calls to make.
//!
//! The token goes into the `Authorization` header and nowhere else: not into errors, not into
//! logs. Text that comes back from the server is scrubbed of it before it is shown.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use backon::{BackoffBuilder, ExponentialBuilder};
use reqwest::Method;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, LOCATION, RETRY_AFTER};
use serde::de::DeserializeOwned;
use tokio::time::Instant;

use super::cancel::Cancel;
use super::encode;
use super::limiter::{Permit, RateLimiter};
use super::secret::Secret;
use super::wire::{Data, FieldsBody, IdOnly, Page, StatusBody, TagsBody, WireContact};
use super::{ApiError, ContactsApi, LookupPage};
use crate::model::{self, FieldWrite, LiveContact};

/// A line of `-v` output: one per request, never the token.
pub type LogFn = Arc<dyn Fn(&str) + Send + Sync>;

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
            .finish()
    }
}

/// Requests sent, per call kind (every attempt counts, retries included).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CallCounts {
    /// Get by ID (call 2).
    pub get: u64,
    /// Look-up page by custom field (call 1).
    pub lookup: u64,
    /// Update (call 3).
    pub update: u64,
    /// Add tags (call 4).
    pub add_tags: u64,
    /// Remove tags (call 5).
    pub remove_tags: u64,
    /// Create (call 6).
    pub create: u64,
}

/// What a client has done so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClientStats {
    /// HTTP requests sent (every attempt).
    pub requests: u64,
    /// The same, per call kind.
    pub by_kind: CallCounts,
    /// 429 responses received.
    pub throttled_429: u64,
    /// Requests that repeated an earlier attempt of the same call (after a 429, 5xx or
    /// transport error).
    pub retries: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Get,
    Lookup,
    Update,
    AddTags,
    RemoveTags,
    Create,
}

#[derive(Debug, Default)]
struct Counters {
    requests: AtomicU64,
    by_kind: [AtomicU64; 6],
    throttled_429: AtomicU64,
    retries: AtomicU64,
}

/// A response the retry policy let through: a 2xx, or a 4xx for the call to interpret.
struct Reply {
    status: u16,
    body: Vec<u8>,
}

/// The one shared `reqwest` client: connection pooling, `timeout` per request (body included),
/// a shorter connect timeout, no redirects (a redirected PUT must not silently become a GET),
/// user agent `contactctl/<version>`.
pub fn http_client(timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
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
    /// Set by a 401: the channel's token is refused, every later call fails without sending.
    stopped: AtomicBool,
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
            stopped: AtomicBool::new(false),
            counters: Counters::default(),
        }
    }

    /// Counters of what this client has sent and met so far.
    pub fn stats(&self) -> ClientStats {
        let c = &self.counters;
        let k = |i: usize| c.by_kind[i].load(Ordering::Relaxed);
        ClientStats {
            requests: c.requests.load(Ordering::Relaxed),
            by_kind: CallCounts {
                get: k(Kind::Get as usize),
                lookup: k(Kind::Lookup as usize),
                update: k(Kind::Update as usize),
                add_tags: k(Kind::AddTags as usize),
                remove_tags: k(Kind::RemoveTags as usize),
                create: k(Kind::Create as usize),
            },
            throttled_429: c.throttled_429.load(Ordering::Relaxed),
            retries: c.retries.load(Ordering::Relaxed),
        }
    }

    /// Whether a 401 has stopped this channel.
    pub fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }

    fn unauthorized(&self) -> ApiError {
        ApiError::Unauthorized {
            channel: self.channel.clone(),
            token_env: self.token_env.clone(),
        }
    }

    /// Text from the server, safe to show: the token (should a server echo it) replaced, and
    /// folded onto one line of at most [`MAX_SHOWN`] characters (see [`one_line`]).
    fn scrub(&self, text: &str) -> String {
        let token = self.token.expose();
        // A token of a few characters would match inside ordinary words and mangle the
        // message while hiding nothing worth hiding; real tokens are long.
        if token.len() < MIN_SCRUBBED_TOKEN_LEN {
            one_line(text, MAX_SHOWN)
        } else {
            one_line(&text.replace(token, "***"), MAX_SHOWN)
        }
    }

    /// Calls 4 and 5: `POST` (add) or `DELETE` (remove) `{"tags": [...]}` on the contact's
    /// tags; the same path and body, only the method differs.
    async fn tags_call(
        &self,
        kind: Kind,
        method: Method,
        id: &str,
        tags: &[String],
    ) -> Result<(), ApiError> {
        let path = format!(
            "/v1/contact/{}/tags",
            encode::contact_segment(id, self.viber)
        );
        let body = Self::json_body(&TagsBody {
            tags: tags.to_vec(),
        })?;
        let reply = self.send(kind, method, &path, Some(body)).await?;
        self.write_done(&reply)
    }

    fn log(&self, line: impl FnOnce() -> String) {
        if let Some(log) = &self.options.log {
            log(&line());
        }
    }

    /// Cleared to start one request: the channel is not stopped, the run not cancelled, and the
    /// limiter has given a slot, held until the returned permit is dropped when the call ends.
    async fn ready(&self) -> Result<Permit<'_>, ApiError> {
        if self.is_stopped() {
            return Err(self.unauthorized());
        }
        let cancel = &self.options.cancel;
        if cancel.is_cancelled() {
            return Err(ApiError::Cancelled);
        }
        let permit = tokio::select! {
            biased;
            () = cancel.cancelled() => return Err(ApiError::Cancelled),
            permit = self.limiter.acquire() => permit,
        };
        // a 401 or a cancel may have come in while this call waited for its slot
        if self.is_stopped() {
            return Err(self.unauthorized());
        }
        if cancel.is_cancelled() {
            return Err(ApiError::Cancelled);
        }
        Ok(permit)
    }

    /// Sleep `d` before the next attempt, unless the run is cancelled first.
    async fn pause(&self, d: Duration) -> Result<(), ApiError> {
        let cancel = &self.options.cancel;
        tokio::select! {
            biased;
            () = cancel.cancelled() => Err(ApiError::Cancelled),
            () = tokio::time::sleep(d) => Ok(()),
        }
    }

    fn backoff(&self) -> impl Iterator<Item = Duration> + use<> {
        let max = self.options.backoff_max;
        ExponentialBuilder::new()
            .with_min_delay(self.options.backoff_base)
            .with_max_delay(max)
            .with_jitter()
            .without_max_times()
            .build()
            .map(move |d| d.min(max))
    }

    /// Send one call under the retry policy. Returns 2xx and the 4xx the caller interprets
    /// (not 401, 405 or 429); everything else becomes an error here.
    async fn send(
        &self,
        kind: Kind,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<Reply, ApiError> {
        let url = format!("{}{}", self.base_url, path);
        // A create is only repeated when the server cannot have acted on it: a 429 refused it,
        // or the connection was never made. Anything else is the caller's to look up first.
        let idempotent = kind != Kind::Create;
        let mut error_delays = self.backoff();
        let mut throttle_delays = self.backoff();
        let mut errors_retried = 0u32;
        let mut waited_429 = Duration::ZERO;
        let mut first = true;
        loop {
            let permit = self.ready().await?;
            let c = &self.counters;
            c.requests.fetch_add(1, Ordering::Relaxed);
            c.by_kind[kind as usize].fetch_add(1, Ordering::Relaxed);
            if !first {
                c.retries.fetch_add(1, Ordering::Relaxed);
            }
            first = false;

            let started = Instant::now();
            let mut req = self
                .http
                .request(method.clone(), &url)
                .bearer_auth(self.token.expose())
                .header(CONTENT_TYPE, "application/json")
                .header(ACCEPT, "application/json");
            if let Some(b) = &body {
                req = req.body(b.clone());
            }
            let result = match req.send().await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let headers = resp.headers().clone();
                    match resp.bytes().await {
                        Ok(b) => Ok((status, headers, b.to_vec())),
                        // the status alone says what happened, unless it claims success
                        Err(_) if !(200..300).contains(&status) => {
                            Ok((status, headers, Vec::new()))
                        }
                        Err(e) => Err(e),
                    }
                }
                Err(e) => Err(e),
            };
            // The call has ended (the server counted it, if at all, by now): its rate-limit
            // slot comes free a window from here, not from the send.
            drop(permit);
            let ms = started.elapsed().as_millis();

            let (status, headers, bytes) = match result {
                Ok(r) => r,
                Err(e) => {
                    let what = describe_transport(&e);
                    self.log(|| format!("{method} {path} -> {what} ({ms} ms)"));
                    if (idempotent || e.is_connect()) && errors_retried < self.options.max_retries {
                        errors_retried += 1;
                        let d = error_delays.next().unwrap_or(self.options.backoff_max);
                        self.pause(d).await?;
                        continue;
                    }
                    let reason = self.scrub(&attempts_note(what, errors_retried));
                    if e.is_connect() {
                        return Err(ApiError::Unreachable {
                            channel: self.channel().to_string(),
                            reason,
                        });
                    }
                    return Err(ApiError::Unknown { reason });
                }
            };
            self.log(|| format!("{method} {path} -> {status} ({ms} ms)"));

            match status {
                200..=299 => {
                    return Ok(Reply {
                        status,
                        body: bytes,
                    });
                }
                401 => {
                    self.stopped.store(true, Ordering::SeqCst);
                    return Err(self.unauthorized());
                }
                405 => {
                    return Err(ApiError::MethodNotAllowed {
                        method: method.to_string(),
                        path: path.to_string(),
                    });
                }
                429 => {
                    c.throttled_429.fetch_add(1, Ordering::Relaxed);
                    // Retry-After is honoured, but as a floor under the growing backoff: a
                    // server that keeps answering `Retry-After: 0` must not be hammered.
                    let backoff = throttle_delays.next().unwrap_or(self.options.backoff_max);
                    let wait = retry_after(&headers).map_or(backoff, |r| r.max(backoff));
                    if waited_429 + wait > self.options.max_429_wait {
                        let msg = self.error_message(429, &bytes);
                        return Err(ApiError::Rejected {
                            status: 429,
                            message: format!(
                                "{msg} (still refused after waiting {} s)",
                                waited_429.as_secs()
                            ),
                        });
                    }
                    waited_429 += wait;
                    self.pause(wait).await?;
                }
                500..=599 => {
                    if idempotent && errors_retried < self.options.max_retries {
                        errors_retried += 1;
                        let backoff = error_delays.next().unwrap_or(self.options.backoff_max);
                        let d = retry_after(&headers)
                            .map_or(backoff, |r| r.min(self.options.backoff_max));
                        self.pause(d).await?;
                        continue;
                    }
                    let msg = self.error_message(status, &bytes);
                    return Err(ApiError::Unknown {
                        reason: attempts_note(format!("{status}: {msg}"), errors_retried),
                    });
                }
                300..=399 => {
                    let to = headers
                        .get(LOCATION)
                        .and_then(|v| v.to_str().ok())
                        .map(|l| format!(" to {}", self.scrub(&excerpt(l))))
                        .unwrap_or_default();
                    return Err(ApiError::Rejected {
                        status,
                        message: format!("unexpected redirect{to} (check the channel's base_url)"),
                    });
                }
                _ => {
                    return Ok(Reply {
                        status,
                        body: bytes,
                    });
                }
            }
        }
    }

    /// The API's message in an error body: `message` (a string or a list) of a JSON body, else a
    /// short clean excerpt of whatever came (an HTML error page), else the status's reason.
    fn error_message(&self, status: u16, body: &[u8]) -> String {
        let raw = if let Ok(b) = serde_json::from_slice::<StatusBody>(body) {
            b.message.text()
        } else if let Some(m) = serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .as_ref()
            .and_then(|v| v.get("message").or_else(|| v.get("error")))
            .and_then(json_message)
        {
            m
        } else {
            excerpt(&String::from_utf8_lossy(body))
        };
        let text = self.scrub(&raw);
        if text.is_empty() {
            reqwest::StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("no message")
                .to_string()
        } else {
            text
        }
    }

    fn rejected(&self, reply: &Reply) -> ApiError {
        ApiError::Rejected {
            status: reply.status,
            message: self.error_message(reply.status, &reply.body),
        }
    }

    /// A 2xx whose body is `{"status":"error",...}` is a refusal, whatever its status says.
    fn error_in_success(&self, reply: &Reply) -> Option<String> {
        let b = serde_json::from_slice::<StatusBody>(&reply.body).ok()?;
        b.status.eq_ignore_ascii_case("error").then(|| {
            let m = self.scrub(&b.message.text());
            if m.is_empty() {
                "the API answered \"error\" without a message".to_string()
            } else {
                m
            }
        })
    }

    fn parse<T: DeserializeOwned>(&self, what: &str, reply: &Reply) -> Result<T, ApiError> {
        serde_json::from_slice(&reply.body).map_err(|e| ApiError::Protocol {
            reason: self.scrub(&format!("{} response is not {what} ({e})", reply.status)),
        })
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
        self.parse::<serde_json::Value>("JSON", reply).map(|_| ())
    }

    fn json_body<T: serde::Serialize>(body: &T) -> Result<Vec<u8>, ApiError> {
        serde_json::to_vec(body).map_err(|e| ApiError::Protocol {
            reason: format!("could not encode the request body: {e}"),
        })
    }
}

/// The text of a JSON `message`: a string, or a list of strings joined with `; `.
fn json_message(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Array(items) => Some(
            items
                .iter()
                .map(|i| match i {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join("; "),
        ),
        _ => None,
    }
}

/// Whether a 403's message says the contact does not exist (English or Spanish vendors).
fn says_not_found(message: &str) -> bool {
    let m = message.to_lowercase();
    [
        "not exist",
        "n't exist",
        "not found",
        "no existe",
        "no encontrad",
        "no se encontr",
    ]
    .iter()
    .any(|p| m.contains(p))
}

/// Most characters of server text shown in one error message.
const MAX_SHOWN: usize = 300;

/// `text` on one line: every run of whitespace and control characters (line breaks, tabs,
/// terminal escapes' ESC) becomes one space, ends trimmed, cut to `max` characters with `…`. A
/// server's message must not break a report's layout, write escapes to the terminal, or be the
/// size of its body.
fn one_line(text: &str, max: usize) -> String {
    let mut out = String::new();
    let mut count = 0;
    let mut gap = false;
    for c in text.chars() {
        if c.is_whitespace() || c.is_control() {
            gap = !out.is_empty();
            continue;
        }
        if count + usize::from(gap) >= max {
            out.push('…');
            return out;
        }
        if gap {
            out.push(' ');
            count += 1;
            gap = false;
        }
        out.push(c);
        count += 1;
    }
    out
}

/// At most ~160 characters of `text` on one line: tags dropped, whitespace collapsed, control
/// characters removed — what is left of an HTML error page is usually its title and heading.
fn excerpt(text: &str) -> String {
    const MAX: usize = 160;
    let mut out = String::new();
    let mut in_tag = false;
    let mut space = false;
    for ch in text.chars() {
        match ch {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                space = true;
            }
            _ if in_tag => {}
            c if c.is_whitespace() => space = true,
            c if c.is_control() => {}
            c => {
                if space && !out.is_empty() {
                    out.push(' ');
                }
                space = false;
                out.push(c);
            }
        }
        if out.chars().count() > MAX {
            break;
        }
    }
    if out.chars().count() > MAX {
        let cut: String = out.chars().take(MAX).collect();
        format!("{cut}…")
    } else {
        out
    }
}

fn attempts_note(reason: String, retried: u32) -> String {
    if retried == 0 {
        reason
    } else {
        format!("{reason} (after {} attempts)", retried + 1)
    }
}

/// What went wrong on the wire, without the URL (the caller names method and path).
fn describe_transport(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "timed out".to_string();
    }
    let kind = if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "reading the response failed"
    } else {
        "connection error"
    };
    // the innermost cause says the most (`connection refused`, `connection reset`, ...)
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    let detail = cause.to_string();
    if detail.is_empty() || std::ptr::addr_eq(cause, e as &dyn std::error::Error) {
        kind.to_string()
    } else {
        format!("{kind}: {detail}")
    }
}

/// `Retry-After` as a delay: whole (or fractional) seconds, or an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<f64>() {
        return Duration::try_from_secs_f64(secs).ok();
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(at.duration_since(SystemTime::now()).unwrap_or_default())
}

/// Tokens shorter than this are not searched for in server text (see `scrub`).
const MIN_SCRUBBED_TOKEN_LEN: usize = 6;

impl ContactsApi for HttpClient {
    fn channel(&self) -> &str {
        &self.channel
    }

    async fn get(&self, id: &str) -> Result<Option<LiveContact>, ApiError> {
        let path = format!(
            "/v1/contact/{}",
            encode::contact_segment(id, self.viber_encode_get)
        );
        let reply = self.send(Kind::Get, Method::GET, &path, None).await?;
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
                let data: Data<WireContact> = self.parse("a contact", &reply)?;
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
        let reply = self.send(Kind::Lookup, Method::GET, &path, None).await?;
        if !(200..300).contains(&reply.status) {
            return Err(self.rejected(&reply));
        }
        if let Some(message) = self.error_in_success(&reply) {
            return Err(ApiError::Rejected {
                status: reply.status,
                message,
            });
        }
        let p: Page = self.parse("a page of contacts", &reply)?;
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
        let path = format!("/v1/contact/{}", encode::contact_segment(id, self.viber));
        let body = Self::json_body(&FieldsBody {
            custom_fields: fields.to_vec(),
        })?;
        let reply = self
            .send(Kind::Update, Method::PUT, &path, Some(body))
            .await?;
        self.write_done(&reply)
    }

    async fn add_tags(&self, id: &str, tags: &[String]) -> Result<(), ApiError> {
        self.tags_call(Kind::AddTags, Method::POST, id, tags).await
    }

    async fn remove_tags(&self, id: &str, tags: &[String]) -> Result<(), ApiError> {
        self.tags_call(Kind::RemoveTags, Method::DELETE, id, tags)
            .await
    }

    async fn create(&self, fields: &[FieldWrite]) -> Result<String, ApiError> {
        let body = Self::json_body(&FieldsBody {
            custom_fields: fields.to_vec(),
        })?;
        let reply = self
            .send(Kind::Create, Method::POST, "/v1/contact", Some(body))
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
        let data: Data<IdOnly> = self.parse("the new contact's ID", &reply)?;
        if data.data.id.is_empty() {
            return Err(ApiError::Protocol {
                reason: "the new contact's ID is empty".into(),
            });
        }
        Ok(data.data.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_messages_are_recognised_in_english_and_spanish() {
        for m in [
            "Contact does not exist",
            "contact doesn't exist.",
            "Contact NOT FOUND",
            "El contacto no existe",
            "Contacto no encontrado",
            "No se encontró el contacto",
        ] {
            assert!(says_not_found(m), "{m}");
        }
        for m in ["Forbidden", "You cannot edit this contact", "API limit"] {
            assert!(!says_not_found(m), "{m}");
        }
    }

    #[test]
    fn server_text_is_shown_on_one_short_line_without_escapes() {
        assert_eq!(one_line("  a\n\tb\r\n\u{1b}[31mc  ", 100), "a b [31mc");
        assert_eq!(one_line("\t\n ", 100), "");
        assert_eq!(one_line("abcdef", 3), "abc…");
        assert_eq!(one_line("ab cd", 3), "ab…");
        assert_eq!(one_line("abc", 3), "abc");
        let long = one_line(&"wörd ".repeat(1000), MAX_SHOWN);
        assert!(
            long.chars().count() <= MAX_SHOWN + 1 && long.ends_with('…'),
            "{long}"
        );
    }

    #[test]
    fn excerpt_of_an_html_page_is_its_text_on_one_line() {
        let html = "<html><head><title>502 Bad Gateway</title></head>\n<body>\n<h1>Bad   Gateway</h1>\r\n</body></html>";
        assert_eq!(excerpt(html), "502 Bad Gateway Bad Gateway");
        let long = "x".repeat(500);
        assert_eq!(excerpt(&long).chars().count(), 161);
    }

    #[test]
    fn retry_after_takes_seconds_or_a_date() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        h.insert(RETRY_AFTER, "0.5".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_millis(500)));
        let soon = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(120));
        h.insert(RETRY_AFTER, soon.parse().unwrap());
        let d = retry_after(&h).unwrap();
        assert!(
            d > Duration::from_secs(100) && d <= Duration::from_secs(120),
            "{d:?}"
        );
        h.insert(
            RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
        h.insert(RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&h), None);
        h.insert(RETRY_AFTER, "-1".parse().unwrap());
        assert_eq!(retry_after(&h), None);
    }
}
