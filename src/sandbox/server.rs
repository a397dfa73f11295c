//! The sandbox's HTTP side: the axum router of the six calls under `/api/v1/...`, the gate that
//! counts API requests and injects faults before they reach the API, the admin endpoints under
//! `/_sandbox/`, and the shared state behind them. Owns the wire behaviour (statuses, bodies,
//! error shapes, Viber IDs, the rate limit); the data rules live in `store`, the window in
//! `limiter`, the fault schedule in `faults`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Extension, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::time::Instant;

use crate::api::wire::{
    Data, FieldWrite, FieldsBody, IdOnly, Links, Meta, StatusBody, TagsBody, WireContact,
};
use crate::model::{DEFAULT_PAGE_SIZE, MAX_FIELDS_PER_CALL, MAX_TAGS_PER_CALL};

use super::faults::{FaultState, Injected};
use super::limiter::{Limiter, retry_after_secs};
use super::state::{ChannelState, Faults, SandboxState};
use super::stats::{CallKind, ChannelStats, Stats};
use super::store::Store;

/// The documents' 401 message.
pub(crate) const MSG_UNAUTHORIZED: &str = "API Token is invalid.";
/// The documents' 429 message.
pub(crate) const MSG_TOO_MANY: &str = "Too many requests";
/// The documents' 405 message.
pub(crate) const MSG_METHOD: &str = "405 Method Not Allowed.";
/// What a Viber channel says to an ID that is not Base64.
pub(crate) const MSG_VIBER_ID: &str =
    "Invalid contact ID: Viber contact IDs must be Base64-encoded";
/// What an unknown contact gets.
pub(crate) const MSG_NO_CONTACT: &str = "Contact not found.";
/// Fields the API refuses to write.
const READ_ONLY: [&str; 3] = ["locale", "timezone", "gender"];

/// State shared by every request.
pub(crate) struct Shared {
    addr: SocketAddr,
    channels: Vec<Channel>,
    by_token: HashMap<String, usize>,
    faults: Mutex<FaultState>,
    total: AtomicU64,
    no_channel: Mutex<ChannelStats>,
}

/// One served channel: fixed settings, and the mutable part behind a lock.
struct Channel {
    name: String,
    token: String,
    viber: bool,
    encode_get: bool,
    rate_limit: u32,
    max_per_page: u64,
    inner: Mutex<ChannelInner>,
}

struct ChannelInner {
    store: Store,
    limiter: Limiter,
    stats: ChannelStats,
    ids: fastrand::Rng,
}

/// Locks, going on after a panic elsewhere: every critical section leaves the data consistent.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A seed per channel name, so generated IDs do not depend on other channels' traffic.
fn name_seed(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl Shared {
    /// Checks `state` and builds the server's state for a server listening on `addr`.
    pub(crate) fn new(mut state: SandboxState, addr: SocketAddr) -> Result<Shared, String> {
        state.normalize()?;
        let mut channels = Vec::new();
        let mut by_token = HashMap::new();
        for (name, ch) in state.channels {
            by_token.insert(ch.token.clone(), channels.len());
            channels.push(Channel {
                encode_get: ch.encode_get(),
                inner: Mutex::new(ChannelInner {
                    store: Store::new(ch.contacts),
                    limiter: Limiter::new(ch.rate_limit),
                    stats: ChannelStats::default(),
                    ids: fastrand::Rng::with_seed(name_seed(&name)),
                }),
                name,
                token: ch.token,
                viber: ch.viber,
                rate_limit: ch.rate_limit,
                max_per_page: ch.max_per_page,
            });
        }
        Ok(Shared {
            addr,
            channels,
            by_token,
            faults: Mutex::new(FaultState::new(state.faults)),
            total: AtomicU64::new(0),
            no_channel: Mutex::new(ChannelStats::default()),
        })
    }

    /// The token of channel `name`.
    pub(crate) fn token(&self, name: &str) -> Option<String> {
        self.channels
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.token.clone())
    }

    /// The current channels, contacts and faults.
    pub(crate) fn snapshot(&self) -> SandboxState {
        let channels = self
            .channels
            .iter()
            .map(|c| {
                let contacts = lock(&c.inner).store.all();
                let state = ChannelState {
                    token: c.token.clone(),
                    viber: c.viber,
                    viber_encode_get: Some(c.encode_get),
                    rate_limit: c.rate_limit,
                    max_per_page: c.max_per_page,
                    contacts,
                };
                (c.name.clone(), state)
            })
            .collect();
        SandboxState {
            channels,
            faults: lock(&self.faults).faults().clone(),
        }
    }

    /// The counters.
    pub(crate) fn stats(&self) -> Stats {
        Stats {
            total: self.total.load(Ordering::Relaxed),
            channels: self
                .channels
                .iter()
                .map(|c| (c.name.clone(), lock(&c.inner).stats.clone()))
                .collect(),
            no_channel: lock(&self.no_channel).clone(),
        }
    }

    /// Replaces the faults and restarts their counters.
    pub(crate) fn set_faults(&self, faults: Faults) {
        *lock(&self.faults) = FaultState::new(faults);
    }

    fn channel_of(&self, headers: &HeaderMap) -> Option<&Channel> {
        let token = bearer(headers)?;
        self.by_token.get(token).map(|&i| &self.channels[i])
    }

    fn count(&self, ch: Option<&Channel>, f: impl FnOnce(&mut ChannelStats)) {
        match ch {
            Some(c) => f(&mut lock(&c.inner).stats),
            None => f(&mut lock(&self.no_channel)),
        }
    }

    /// The channel the request's token names, or the documented 401.
    fn authorize(&self, headers: &HeaderMap) -> Result<&Channel, Reject> {
        self.channel_of(headers)
            .ok_or_else(|| Reject::new(StatusCode::UNAUTHORIZED, MSG_UNAUTHORIZED))
    }

    /// The host the client addressed, for pagination links.
    fn host(&self, headers: &HeaderMap) -> String {
        headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map_or_else(|| self.addr.to_string(), str::to_string)
    }
}

/// The token of `Authorization: Bearer <token>`.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

impl Channel {
    /// Counts the call against the rate limit, or refuses it with the documented 429.
    fn admit(&self) -> Result<(), Reject> {
        let mut inner = lock(&self.inner);
        match inner.limiter.try_accept(Instant::now()) {
            Ok(()) => Ok(()),
            Err(wait) => {
                inner.stats.rate_limited += 1;
                Err(Reject::too_many(Some(retry_after_secs(wait))))
            }
        }
    }

    /// The raw contact ID of a path: percent-decoded by the router, then Base64-decoded when the
    /// channel wants Base64 for this call.
    fn contact_id(
        &self,
        path: Result<Path<String>, PathRejection>,
        base64: bool,
    ) -> Result<String, Reject> {
        let Ok(Path(raw)) = path else {
            return Err(Reject::forbidden(if base64 {
                MSG_VIBER_ID
            } else {
                "Invalid contact ID."
            }));
        };
        if !base64 {
            return Ok(raw);
        }
        STANDARD
            .decode(raw.as_bytes())
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .filter(|id| !id.is_empty())
            .ok_or_else(|| Reject::forbidden(MSG_VIBER_ID))
    }
}

impl ChannelInner {
    /// A fresh ID: 16 digits on web-like channels; on Viber channels the Base64 of 16 random
    /// bytes, re-drawn until it holds both `+` and `/` (it always ends in `==`), so every created
    /// contact exercises the client's encoding.
    fn new_id(&mut self, viber: bool) -> String {
        loop {
            let id = if viber {
                let bytes: Vec<u8> = (0..16).map(|_| self.ids.u8(..)).collect();
                let id = STANDARD.encode(bytes);
                if !(id.contains('+') && id.contains('/')) {
                    continue;
                }
                id
            } else {
                self.ids
                    .u64(1_000_000_000_000_000..10_000_000_000_000_000)
                    .to_string()
            };
            if !self.store.contains(&id) {
                return id;
            }
        }
    }
}

/// An error answer in the documented shape.
#[derive(Debug)]
pub(crate) struct Reject {
    status: StatusCode,
    message: String,
    retry_after: Option<u64>,
}

impl Reject {
    fn new(status: StatusCode, message: impl Into<String>) -> Reject {
        Reject {
            status,
            message: message.into(),
            retry_after: None,
        }
    }

    fn forbidden(message: impl Into<String>) -> Reject {
        Reject::new(StatusCode::FORBIDDEN, message)
    }

    fn too_many(retry_after: Option<u64>) -> Reject {
        Reject {
            retry_after,
            ..Reject::new(StatusCode::TOO_MANY_REQUESTS, MSG_TOO_MANY)
        }
    }
}

impl IntoResponse for Reject {
    fn into_response(self) -> Response {
        let mut resp = json(self.status, &StatusBody::error(self.message));
        if let Some(secs) = self.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

/// A JSON response.
fn json(status: StatusCode, body: &impl Serialize) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (status, [(header::CONTENT_TYPE, "application/json")], bytes).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

fn ok(body: &impl Serialize) -> Result<Response, Reject> {
    Ok(json(StatusCode::OK, body))
}

/// A response whose body fails before its first byte, so hyper closes the connection without
/// having written anything: the client sees a connection closed with no response.
fn abort_connection() -> Response {
    let stream = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "sandbox fault: connection closed without a response",
        ))
    });
    Response::new(Body::from_stream(stream))
}

/// A contact as the platform serialises it: an empty `custom_fields` is PHP's empty array, `[]`.
#[derive(Serialize)]
struct OutContact<'a> {
    id: &'a str,
    #[serde(serialize_with = "php_map")]
    custom_fields: &'a crate::model::Fields,
    tags: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    created_at: Option<i64>,
}

impl<'a> From<&'a WireContact> for OutContact<'a> {
    fn from(c: &'a WireContact) -> Self {
        OutContact {
            id: &c.id,
            custom_fields: &c.custom_fields,
            tags: &c.tags,
            created_at: c.created_at,
        }
    }
}

fn php_map<S: serde::Serializer>(map: &&crate::model::Fields, s: S) -> Result<S::Ok, S::Error> {
    if map.is_empty() {
        s.serialize_some(&[(); 0])
    } else {
        map.serialize(s)
    }
}

#[derive(Serialize)]
struct OutPage<'a> {
    data: Vec<OutContact<'a>>,
    links: Links,
    meta: Meta,
}

fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, Reject> {
    // Only an object: serde would also take a list as the fields in order.
    if body.trim_ascii_start().first() != Some(&b'{') {
        return Err(Reject::forbidden(
            "Invalid request body: expected a JSON object",
        ));
    }
    serde_json::from_slice(body)
        .map_err(|e| Reject::forbidden(format!("Invalid request body: {e}")))
}

fn check_fields(fields: &[FieldWrite]) -> Result<(), Reject> {
    if fields.is_empty() {
        return Err(Reject::forbidden("The custom_fields field is required."));
    }
    if fields.len() > MAX_FIELDS_PER_CALL {
        return Err(Reject::forbidden(format!(
            "Maximum {MAX_FIELDS_PER_CALL} custom fields per request ({} given).",
            fields.len()
        )));
    }
    for f in fields {
        if f.name.trim().is_empty() {
            return Err(Reject::forbidden("Every custom field needs a name."));
        }
        if READ_ONLY.contains(&f.name.as_str()) {
            return Err(Reject::forbidden(format!(
                "The field {} is read-only and cannot be updated.",
                f.name
            )));
        }
    }
    Ok(())
}

fn check_tags(tags: &[String]) -> Result<(), Reject> {
    if tags.is_empty() {
        return Err(Reject::forbidden("The tags field is required."));
    }
    if tags.len() > MAX_TAGS_PER_CALL {
        return Err(Reject::forbidden(format!(
            "Maximum {MAX_TAGS_PER_CALL} tags per request ({} given).",
            tags.len()
        )));
    }
    if tags.iter().any(|t| t.trim().is_empty()) {
        return Err(Reject::forbidden("Tag names must not be empty."));
    }
    Ok(())
}

type Shr = State<Arc<Shared>>;
type Reply = Result<Response, Reject>;

/// Call 1: `GET /v1/contact/by_custom_field?name=N&value=V[&page=P][&per_page=K]`.
async fn lookup(
    State(s): Shr,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Reply {
    let ch = s.authorize(&headers)?;
    ch.admit()?;
    let Query(params) = query.map_err(|e| Reject::forbidden(e.body_text()))?;
    // PHP keeps the last of repeated parameters.
    let param = |key: &str| {
        params
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let required = |key: &str| {
        param(key)
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| Reject::forbidden(format!("The {key} field is required.")))
    };
    let name = required("name")?;
    let value = required("value")?;
    let number = |key: &str| {
        param(key)
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|&n| n >= 1)
    };
    let page = number("page").unwrap_or(1);
    let per_page = number("per_page")
        .unwrap_or(DEFAULT_PAGE_SIZE as u64)
        .min(ch.max_per_page);
    let path = format!("http://{}/api/v1/contact/by_custom_field", s.host(&headers));
    let offset = (page - 1).saturating_mul(per_page);

    let mut inner = lock(&ch.inner);
    let (total, found) = inner.store.lookup(name, value, offset, per_page);
    let last_page = total.div_ceil(per_page).max(1);
    let shown = found.len() as u64;
    let page_url = |p: u64| format!("{path}?page={p}");
    let body = OutPage {
        data: found.into_iter().map(OutContact::from).collect(),
        links: Links {
            first: Some(page_url(1)),
            last: Some(page_url(last_page)),
            prev: (page > 1).then(|| page_url(page - 1)),
            next: (page < last_page).then(|| page_url(page + 1)),
        },
        meta: Meta {
            current_page: Some(page),
            from: (shown > 0).then_some(offset + 1),
            last_page: Some(last_page),
            path: Some(path.clone()),
            per_page: Some(per_page),
            to: (shown > 0).then_some(offset + shown),
            total: Some(total),
        },
    };
    ok(&body)
}

/// Call 2: `GET /v1/contact/{id}`.
async fn get_contact(
    State(s): Shr,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Reply {
    let ch = s.authorize(&headers)?;
    ch.admit()?;
    let id = ch.contact_id(path, ch.encode_get)?;
    let inner = lock(&ch.inner);
    let contact = inner
        .store
        .get(&id)
        .ok_or_else(|| Reject::new(StatusCode::NOT_FOUND, MSG_NO_CONTACT))?;
    ok(&Data {
        data: OutContact::from(contact),
    })
}

/// Call 3: `PUT /v1/contact/{id}`.
async fn update(
    State(s): Shr,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Reply {
    let ch = s.authorize(&headers)?;
    ch.admit()?;
    let id = ch.contact_id(path, ch.viber)?;
    let FieldsBody { custom_fields } = parse_body(&body)?;
    check_fields(&custom_fields)?;
    if !lock(&ch.inner).store.write_fields(&id, &custom_fields) {
        return Err(Reject::new(StatusCode::NOT_FOUND, MSG_NO_CONTACT));
    }
    ok(&Data {
        data: IdOnly { id },
    })
}

/// Calls 4 and 5: `POST` / `DELETE /v1/contact/{id}/tags`.
async fn tags(
    s: &Shared,
    headers: &HeaderMap,
    path: Result<Path<String>, PathRejection>,
    body: &[u8],
    add: bool,
) -> Reply {
    let ch = s.authorize(headers)?;
    ch.admit()?;
    let id = ch.contact_id(path, ch.viber)?;
    let TagsBody { tags } = parse_body(body)?;
    check_tags(&tags)?;
    let mut inner = lock(&ch.inner);
    let found = if add {
        inner.store.add_tags(&id, &tags)
    } else {
        inner.store.remove_tags(&id, &tags)
    };
    if !found {
        return Err(Reject::new(StatusCode::NOT_FOUND, MSG_NO_CONTACT));
    }
    ok(&StatusBody::success(if add {
        "Contact Tags have been added successfully."
    } else {
        "Contact Tags deleted successfully."
    }))
}

async fn add_tags(
    State(s): Shr,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Reply {
    tags(&s, &headers, path, &body, true).await
}

async fn remove_tags(
    State(s): Shr,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Reply {
    tags(&s, &headers, path, &body, false).await
}

/// The gate's random draw for "drop this create's response".
#[derive(Debug, Clone, Copy)]
struct RandomDrop(bool);

/// Call 6: `POST /v1/contact` (and `/v1/contact/`, as the documents write it).
async fn create(
    State(s): Shr,
    headers: HeaderMap,
    drop_draw: Option<Extension<RandomDrop>>,
    body: Bytes,
) -> Reply {
    let ch = s.authorize(&headers)?;
    ch.admit()?;
    let FieldsBody { custom_fields } = parse_body(&body)?;
    check_fields(&custom_fields)?;
    let created_at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_secs()).ok());
    let id = {
        let mut inner = lock(&ch.inner);
        let id = inner.new_id(ch.viber);
        let mut contact = WireContact {
            id: id.clone(),
            custom_fields: Default::default(),
            tags: vec![],
            created_at,
        };
        for f in custom_fields {
            if f.value.is_empty() {
                contact.custom_fields.remove(&f.name);
            } else {
                contact.custom_fields.insert(f.name, Some(f.value.into()));
            }
        }
        inner.store.insert(contact);
        inner.stats.creates_committed += 1;
        id
    };
    let random = drop_draw.is_some_and(|Extension(RandomDrop(d))| d);
    if lock(&s.faults).on_create_committed(random) {
        lock(&ch.inner).stats.create_responses_dropped += 1;
        return Ok(abort_connection());
    }
    ok(&Data {
        data: IdOnly { id },
    })
}

async fn method_not_allowed() -> Reject {
    Reject::new(StatusCode::METHOD_NOT_ALLOWED, MSG_METHOD)
}

async fn not_found() -> Reject {
    Reject::new(StatusCode::NOT_FOUND, "Not found.")
}

/// Counts every API request, then injects the fault the knobs call for, before routing
/// reaches the API (so an injected fault does nothing and uses no rate-limit slot).
async fn gate(State(s): Shr, mut req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if !(path == "/api" || path.starts_with("/api/")) {
        return next.run(req).await;
    }
    s.total.fetch_add(1, Ordering::Relaxed);
    let kind = CallKind::classify(req.method(), path);
    let ch = s.channel_of(req.headers());
    let decision = lock(&s.faults).on_request();
    s.count(ch, |st| {
        st.requests += 1;
        st.calls.bump(kind);
    });
    if !decision.latency.is_zero() {
        tokio::time::sleep(decision.latency).await;
    }
    match decision.injected {
        Injected::Nothing => {}
        Injected::Reset => {
            s.count(ch, |st| st.injected_resets += 1);
            return abort_connection();
        }
        Injected::ServerError => {
            s.count(ch, |st| st.injected_500 += 1);
            return Reject::new(StatusCode::INTERNAL_SERVER_ERROR, "Server Error").into_response();
        }
        Injected::Throttle(retry_after) => {
            s.count(ch, |st| st.injected_429 += 1);
            return Reject::too_many(retry_after).into_response();
        }
        Injected::Unauthorized => {
            s.count(ch, |st| st.injected_401 += 1);
            return Reject::new(StatusCode::UNAUTHORIZED, MSG_UNAUTHORIZED).into_response();
        }
    }
    req.extensions_mut()
        .insert(RandomDrop(decision.random_drop_create));
    let response = next.run(req).await;
    if !decision.slow.is_zero() {
        // Served (a write has taken effect); only the answer is late.
        s.count(ch, |st| st.injected_slow += 1);
        tokio::time::sleep(decision.slow).await;
    }
    response
}

async fn admin_state(State(s): Shr) -> Response {
    json(StatusCode::OK, &s.snapshot())
}

async fn admin_stats(State(s): Shr) -> Response {
    json(StatusCode::OK, &s.stats())
}

async fn admin_get_faults(State(s): Shr) -> Response {
    json(StatusCode::OK, lock(&s.faults).faults())
}

async fn admin_put_faults(State(s): Shr, body: Bytes) -> Response {
    // Only an object: serde would also take a list as the fields in order.
    let parsed = serde_json::from_slice::<serde_json::Value>(&body).and_then(|v| match v {
        serde_json::Value::Object(_) => serde_json::from_value::<Faults>(v),
        _ => Err(serde::de::Error::custom("expected a JSON object")),
    });
    let faults = match parsed {
        Ok(f) => f,
        Err(e) => {
            return json(
                StatusCode::BAD_REQUEST,
                &StatusBody::error(format!("Invalid faults: {e}")),
            );
        }
    };
    let mut check = SandboxState {
        faults,
        ..SandboxState::default()
    };
    if let Err(e) = check.normalize() {
        return json(StatusCode::BAD_REQUEST, &StatusBody::error(e));
    }
    s.set_faults(check.faults.clone());
    json(StatusCode::OK, &check.faults)
}

/// The whole app.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/api/v1/contact/by_custom_field", get(lookup))
        .route("/api/v1/contact/{id}", get(get_contact).put(update))
        .route(
            "/api/v1/contact/{id}/tags",
            post(add_tags).delete(remove_tags),
        )
        .route("/api/v1/contact", post(create))
        .route("/api/v1/contact/", post(create))
        .route("/_sandbox/state", get(admin_state))
        .route("/_sandbox/stats", get(admin_stats))
        .route(
            "/_sandbox/faults",
            get(admin_get_faults).put(admin_put_faults),
        )
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(shared.clone(), gate))
        .with_state(shared)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel(viber: bool) -> Channel {
        Channel {
            name: "c".into(),
            token: "t".into(),
            viber,
            encode_get: viber,
            rate_limit: 100,
            max_per_page: 10,
            inner: Mutex::new(ChannelInner {
                store: Store::default(),
                limiter: Limiter::new(100),
                stats: ChannelStats::default(),
                ids: fastrand::Rng::with_seed(7),
            }),
        }
    }

    #[test]
    fn viber_ids_are_base64_of_16_bytes_with_plus_slash_and_padding() {
        let ch = channel(true);
        let mut inner = lock(&ch.inner);
        for _ in 0..20 {
            let id = inner.new_id(true);
            assert_eq!(id.len(), 24);
            assert!(
                id.ends_with("==") && id.contains('+') && id.contains('/'),
                "{id}"
            );
            assert_eq!(STANDARD.decode(&id).unwrap().len(), 16);
        }
    }

    #[test]
    fn web_ids_are_16_digits() {
        let ch = channel(false);
        let id = lock(&ch.inner).new_id(false);
        assert_eq!(id.len(), 16);
        assert!(id.bytes().all(|b| b.is_ascii_digit()), "{id}");
    }

    #[test]
    fn viber_path_ids_must_be_base64_of_utf8() {
        let ch = channel(true);
        let p = |s: &str| Ok(Path(s.to_string()));
        assert_eq!(
            ch.contact_id(p("dE1OR2hmdHlVUHJCM3IxbEQrYlQ0Zz09"), true)
                .unwrap(),
            "tMNGhftyUPrB3r1lD+bT4g=="
        );
        for bad in ["tMNGhftyUPrB3r1lD+bT4g==", "not base64!", "", "/w=="] {
            let e = ch.contact_id(p(bad), true).unwrap_err();
            assert_eq!(e.status, StatusCode::FORBIDDEN, "{bad}");
            assert_eq!(e.message, MSG_VIBER_ID);
        }
        assert_eq!(ch.contact_id(p("raw+id"), false).unwrap(), "raw+id");
    }

    #[test]
    fn bearer_reads_the_token_of_the_authorization_header() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer(&h), None);
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer abc"),
        );
        assert_eq!(bearer(&h), Some("abc"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer(&h), None);
    }
}
