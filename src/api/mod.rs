//! The HTTP side of the tool: the Contacts API client (wire types, per-channel rate limiter,
//! retries, Viber ID encoding). It reports what the platform holds and carries out calls it is
//! given; it never decides what to read or what to change.

pub mod cancel;
pub mod client;
pub mod encode;
pub mod limiter;
pub mod secret;
pub mod wire;

use std::future::Future;

use crate::model::{FieldWrite, LiveContact};
pub use cancel::{Cancel, CancelHandle};
pub use client::{
    CallCounts, ClientOptions, ClientStats, HttpClient, LogFn, MAX_RESPONSE_BYTES, RequestLog,
    http_client, install_tls_provider,
};
pub use limiter::{Forecast, RateLimiter, in_flight_for};
pub use secret::{Secret, SecretError};

/// What went wrong with one API call, after the retry policy gave up. Never holds the token.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    /// 401: the channel's token was refused; the whole channel stops.
    #[error(
        "channel {channel}: the API refused the token in ${token_env} (401 API Token is invalid)"
    )]
    Unauthorized {
        /// Channel name.
        channel: String,
        /// The environment variable that held the token.
        token_env: String,
    },
    /// The host could not be reached at all (connection refused, DNS, TLS, connect timeout)
    /// after every retry: nothing was sent, and the rest of the channel would fail the same way,
    /// so it stops.
    #[error("channel {channel}: cannot reach {url}: {cause} ({})", attempts_text(*attempts))]
    Unreachable {
        /// Channel name.
        channel: String,
        /// What was tried: the channel's API root with scheme, host and port spelled out.
        url: String,
        /// What the last attempt met, in words (`connection refused`, `DNS lookup of x failed`).
        cause: String,
        /// Connection attempts made.
        attempts: u32,
    },
    /// 429 past the whole retry schedule (`ClientOptions::max_429_wait`): the platform keeps
    /// refusing the channel's calls over its rate limit, and every other call would wait as
    /// long for the same answer, so the whole channel stops.
    #[error(
        "channel {channel}: {url} still answers 429, the platform's rate limit ({message}), \
         after {} and {waited_secs} s of waiting, past the retry schedule ({schedule_secs} s): \
         the channel stops; run contactctl again later",
        attempts_text(*attempts)
    )]
    Throttled {
        /// Channel name.
        channel: String,
        /// The channel's API root with scheme, host and port spelled out.
        url: String,
        /// The API's message (an excerpt).
        message: String,
        /// Attempts the call made, each answered 429.
        attempts: u32,
        /// Seconds the call waited between them.
        waited_secs: u64,
        /// Seconds of 429s one call waits out at most.
        schedule_secs: u64,
    },
    /// 405: the tool called a method the API does not allow there — a bug in the tool.
    #[error("405 Method Not Allowed for {method} {path} (a bug in contactctl; please report it)")]
    MethodNotAllowed {
        /// HTTP method.
        method: String,
        /// Path, with the contact ID as sent.
        path: String,
    },
    /// 403 or another 4xx: the API refused this call; `message` is the API's reason.
    #[error("{status}: {message}")]
    Rejected {
        /// HTTP status.
        status: u16,
        /// The API's message (a list joined with `; `).
        message: String,
    },
    /// Timeout, reset or 5xx after every retry: the call may or may not have taken effect.
    #[error("outcome unknown: {reason}")]
    Unknown {
        /// What was seen last.
        reason: String,
    },
    /// A 2xx whose body is not what the API documents.
    #[error("unexpected response: {reason}")]
    Protocol {
        /// What was wrong with it.
        reason: String,
    },
    /// A response body larger than the most the tool reads (`client::MAX_RESPONSE_BYTES`): the
    /// server misbehaves. Not retried; reading stopped at the cap. The call may have taken effect.
    #[error(
        "channel {channel}: {url} sent a response larger than {limit_mib} MiB, the most contactctl \
         reads (its largest page, 1,000 contacts, is far smaller); it was not read"
    )]
    TooLarge {
        /// Channel name.
        channel: String,
        /// The channel's API root with scheme, host and port spelled out.
        url: String,
        /// The cap, in MiB.
        limit_mib: usize,
    },
    /// The platform's state contradicts the plan in a way only a person can resolve (e.g. a
    /// create's outcome was unknown and its key now matches several contacts).
    #[error("{message}")]
    Conflict {
        /// What was found, and what to do.
        message: String,
    },
    /// The contact ID cannot be a path segment (empty, `.` or `..`): nothing was sent, as the
    /// call would have gone to another endpoint.
    #[error("not sent: {}", crate::model::unusable_id_reason(id))]
    UnusableId {
        /// The ID.
        id: String,
    },
    /// The run was interrupted before this call was sent.
    #[error("interrupted before the call was sent")]
    Cancelled,
    /// The channel stopped (its token refused, or throttled out) before this call's first
    /// attempt: nothing of it was sent. Says what stopped the channel, in its words. (A retry
    /// the stop cuts short fails with the stop's own error: its earlier attempt was sent.)
    #[error(transparent)]
    NotSent(Box<ApiError>),
}

/// `1 attempt`, `3 attempts`.
fn attempts_text(n: u32) -> String {
    format!("{n} attempt{}", if n == 1 { "" } else { "s" })
}

impl ApiError {
    /// Whether the whole channel stops: its token was refused, its host cannot be reached, or
    /// it kept answering 429 past the whole retry schedule.
    pub fn stops_channel(&self) -> bool {
        match self {
            ApiError::NotSent(stopped) => stopped.stops_channel(),
            e => matches!(
                e,
                ApiError::Unauthorized { .. }
                    | ApiError::Unreachable { .. }
                    | ApiError::Throttled { .. }
            ),
        }
    }

    /// Whether the call might have taken effect on the platform.
    pub fn outcome_unknown(&self) -> bool {
        matches!(
            self,
            ApiError::Unknown { .. } | ApiError::Protocol { .. } | ApiError::TooLarge { .. }
        )
    }
}

/// One page of a look-up by custom field.
#[derive(Debug, Clone, PartialEq)]
pub struct LookupPage {
    /// Contacts on this page.
    pub contacts: Vec<LiveContact>,
    /// The page number this is (1-based).
    pub page: u64,
    /// The last page number (from `meta.last_page`; 1 when absent).
    pub last_page: u64,
    /// Page size the server actually used (`meta.per_page`).
    pub per_page: u64,
    /// Total matches (`meta.total`; the count on this page when absent).
    pub total: u64,
}

/// The six calls of the Contacts API, for one channel. Implemented over HTTP by the real client;
/// tests may implement it in memory. IDs are raw: encoding (Viber Base64, percent-encoding) is
/// the implementation's job. Every call goes through the channel's rate limiter and retry policy.
pub trait ContactsApi: Send + Sync {
    /// The channel this client talks to.
    fn channel(&self) -> &str;

    /// Call 2: the contact with this ID, or `None` when the API says it does not exist.
    fn get(&self, id: &str) -> impl Future<Output = Result<Option<LiveContact>, ApiError>> + Send;

    /// Call 1: one page (1-based) of the contacts whose `field` equals `value` (a wire string).
    /// `per_page` is a request; the page says what the server used.
    fn lookup_page(
        &self,
        field: &str,
        value: &str,
        page: u64,
        per_page: u64,
    ) -> impl Future<Output = Result<LookupPage, ApiError>> + Send;

    /// Call 3: write these fields (at most 30).
    fn update(
        &self,
        id: &str,
        fields: &[FieldWrite],
    ) -> impl Future<Output = Result<(), ApiError>> + Send;

    /// Call 4: add these tags (at most 10).
    fn add_tags(
        &self,
        id: &str,
        tags: &[String],
    ) -> impl Future<Output = Result<(), ApiError>> + Send;

    /// Call 5: remove these tags (at most 10).
    fn remove_tags(
        &self,
        id: &str,
        tags: &[String],
    ) -> impl Future<Output = Result<(), ApiError>> + Send;

    /// Call 6: create a contact with these fields (at most 30); returns its new ID. Never retried
    /// on an unknown outcome: the caller looks the contact up first.
    fn create(
        &self,
        fields: &[FieldWrite],
    ) -> impl Future<Output = Result<String, ApiError>> + Send;

    /// Where the calls go, as errors name it (scheme, host, port and path, no user info); `None`
    /// for a client that is not HTTP (an in-memory fake).
    fn endpoint(&self) -> Option<&str> {
        None
    }

    /// How long the channel has been answering nothing but 429 (waiting for the platform's
    /// rate limit), when it is; `None` otherwise, and for a client that cannot tell.
    fn throttled_for(&self) -> Option<std::time::Duration> {
        None
    }

    /// What the channel's rate limiter foresees for `calls` calls of this run that have not
    /// ended (those holding a slot now included): when the last of them could be sent, and how
    /// long a call takes. `None` for a client without a rate limiter (an in-memory fake): then
    /// nothing can be foreseen.
    fn forecast(&self, calls: usize) -> Option<Forecast> {
        let _ = calls;
        None
    }
}
