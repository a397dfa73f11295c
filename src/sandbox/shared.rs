//! The state every request of the running sandbox shares: the channels (settings, their
//! rate-limit window — their own or their limit group's — and behind a lock their store,
//! counters and ID generator), the fault schedule, and the requests counted before any channel
//! is known. Knows which channel a token names; knows nothing of routes or bodies.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::extract::Path;
use axum::extract::rejection::PathRejection;
use axum::http::{HeaderMap, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use tokio::time::Instant;

use super::faults::FaultState;
use super::limiter::{Limiter, retry_after_secs};
use super::reply::{MSG_VIBER_ID, Refusal, Reject};
use super::state::{ChannelState, Faults, SandboxState};
use super::stats::{ChannelStats, Stats};
use super::store::Store;

/// The state extractor of every handler.
pub(super) type Shr = axum::extract::State<std::sync::Arc<Shared>>;

/// State shared by every request.
pub(crate) struct Shared {
    addr: SocketAddr,
    pub(super) channels: Vec<Channel>,
    by_token: HashMap<String, usize>,
    pub(super) faults: Mutex<FaultState>,
    pub(super) total: AtomicU64,
    pub(super) no_channel: Mutex<ChannelStats>,
}

/// One served channel: fixed settings, and the mutable part behind a lock.
pub(super) struct Channel {
    pub(super) name: String,
    pub(super) token: String,
    pub(super) viber: bool,
    pub(super) encode_get: bool,
    pub(super) rate_limit: u32,
    pub(super) limit_group: Option<String>,
    pub(super) max_per_page: u64,
    /// The window the channel's calls count against: its own, or its limit group's.
    pub(super) limiter: Arc<Mutex<Limiter>>,
    pub(super) inner: Mutex<ChannelInner>,
}

pub(super) struct ChannelInner {
    pub(super) store: Store,
    pub(super) stats: ChannelStats,
    pub(super) ids: fastrand::Rng,
}

/// Locks, going on after a panic elsewhere: every critical section leaves the data consistent.
pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
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
        // one window per limit group, at the lowest limit among its channels
        let mut group_limits: HashMap<String, u32> = HashMap::new();
        for ch in state.channels.values() {
            if let Some(group) = &ch.limit_group {
                let limit = group_limits.entry(group.clone()).or_insert(u32::MAX);
                *limit = (*limit).min(ch.rate_limit);
            }
        }
        let group_limiters: HashMap<String, Arc<Mutex<Limiter>>> = group_limits
            .into_iter()
            .map(|(group, limit)| (group, Arc::new(Mutex::new(Limiter::new(limit)))))
            .collect();
        let mut channels = Vec::new();
        let mut by_token = HashMap::new();
        for (name, ch) in state.channels {
            by_token.insert(ch.token.clone(), channels.len());
            let limiter = match ch.limit_group.as_ref().and_then(|g| group_limiters.get(g)) {
                Some(shared) => shared.clone(),
                None => Arc::new(Mutex::new(Limiter::new(ch.rate_limit))),
            };
            channels.push(Channel {
                encode_get: ch.encode_get(),
                limiter,
                inner: Mutex::new(ChannelInner {
                    store: Store::new(ch.contacts),
                    stats: ChannelStats::default(),
                    ids: fastrand::Rng::with_seed(name_seed(&name)),
                }),
                name,
                token: ch.token,
                viber: ch.viber,
                rate_limit: ch.rate_limit,
                limit_group: ch.limit_group,
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
                    limit_group: c.limit_group.clone(),
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

    pub(super) fn channel_of(&self, headers: &HeaderMap) -> Option<&Channel> {
        let token = bearer(headers)?;
        self.by_token.get(token).map(|&i| &self.channels[i])
    }

    pub(super) fn count(&self, ch: Option<&Channel>, f: impl FnOnce(&mut ChannelStats)) {
        match ch {
            Some(c) => f(&mut lock(&c.inner).stats),
            None => f(&mut lock(&self.no_channel)),
        }
    }

    /// The channel the request's token names, or the documented 401.
    pub(super) fn authorize(&self, headers: &HeaderMap) -> Result<&Channel, Reject> {
        self.channel_of(headers)
            .ok_or_else(|| Reject::new(StatusCode::UNAUTHORIZED, Refusal::Unauthorized))
    }

    /// The host the client addressed, for pagination links.
    pub(super) fn host(&self, headers: &HeaderMap) -> String {
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
    pub(super) fn admit(&self) -> Result<(), Reject> {
        // (the window's lock first, then the channel's: nothing takes them the other way)
        let accepted = lock(&self.limiter).try_accept(Instant::now());
        match accepted {
            Ok(()) => Ok(()),
            Err(wait) => {
                lock(&self.inner).stats.rate_limited += 1;
                Err(Reject::too_many(Some(retry_after_secs(wait))))
            }
        }
    }

    /// The raw contact ID of a path: percent-decoded by the router, then Base64-decoded when the
    /// channel wants Base64 for this call.
    pub(super) fn contact_id(
        &self,
        path: Result<Path<String>, PathRejection>,
        base64: bool,
    ) -> Result<String, Reject> {
        let Ok(Path(raw)) = path else {
            return Err(Reject::forbidden(if base64 {
                MSG_VIBER_ID
            } else {
                Refusal::ContactId
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
    pub(super) fn new_id(&mut self, viber: bool) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    use axum::http::HeaderValue;

    use crate::model::DEFAULT_RATE_LIMIT;

    fn channel(viber: bool) -> Channel {
        Channel {
            name: "c".into(),
            token: "t".into(),
            viber,
            encode_get: viber,
            rate_limit: DEFAULT_RATE_LIMIT,
            limit_group: None,
            max_per_page: 10,
            limiter: Arc::new(Mutex::new(Limiter::new(DEFAULT_RATE_LIMIT))),
            inner: Mutex::new(ChannelInner {
                store: Store::default(),
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
    fn channels_of_one_limit_group_share_one_window_at_their_lowest_limit() {
        let mut state = SandboxState::default();
        for (name, limit, group) in [("a", 5, Some("g")), ("b", 3, Some("g")), ("c", 3, None)] {
            let mut ch = ChannelState::new("");
            ch.rate_limit = limit;
            ch.limit_group = group.map(str::to_string);
            state.channels.insert(name.into(), ch);
        }
        let shared = Shared::new(state, SocketAddr::from(([127, 0, 0, 1], 0))).unwrap();
        let [a, b, c] = [0, 1, 2].map(|i| &shared.channels[i]);
        assert_eq!((a.name.as_str(), b.name.as_str()), ("a", "b"));
        // 3 in the window, whichever channel makes them: the group's limit is b's
        assert!(a.admit().is_ok() && b.admit().is_ok() && a.admit().is_ok());
        assert!(a.admit().is_err(), "a's own limit of 5 does not count");
        assert!(b.admit().is_err());
        assert_eq!(lock(&a.inner).stats.rate_limited, 1);
        assert_eq!(lock(&b.inner).stats.rate_limited, 1);
        // a channel outside the group has its own window
        assert!(c.admit().is_ok() && c.admit().is_ok() && c.admit().is_ok());
        assert!(c.admit().is_err());
        // and the group survives a snapshot
        assert_eq!(
            shared.snapshot().channels["b"].limit_group.as_deref(),
            Some("g")
        );
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
