//! What the sandbox counts, for tests and for `GET /_sandbox/stats`: requests per channel and per
//! call kind, and every 429, 500, reset and dropped response it sent, split by cause. Data only.

use std::collections::BTreeMap;

use axum::http::Method;
use serde::{Deserialize, Serialize};

/// Counters of the whole server.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Stats {
    /// API requests received (under `/api`), whatever their fate.
    pub total: u64,
    /// Per channel, by name.
    pub channels: BTreeMap<String, ChannelStats>,
    /// Requests whose token named no channel (missing or unknown).
    pub no_channel: ChannelStats,
}

/// Counters of one channel (or of requests with no valid token).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ChannelStats {
    /// API requests received with this channel's token.
    pub requests: u64,
    /// The same, by the call their method and path name (faulted ones included).
    pub calls: CallCounts,
    /// 429s sent by the rate limiter.
    pub rate_limited: u64,
    /// 429s injected by a fault knob.
    pub injected_429: u64,
    /// 500s injected by a fault knob.
    pub injected_500: u64,
    /// Connections closed without a response by a fault knob (not counting dropped creates).
    pub injected_resets: u64,
    /// 401s injected by `unauthorized_after`.
    pub injected_401: u64,
    /// Responses held back by `random.p_slow` after the request was served.
    #[serde(default)]
    pub injected_slow: u64,
    /// Contacts created.
    pub creates_committed: u64,
    /// Creates committed whose response was then dropped.
    pub create_responses_dropped: u64,
}

/// Requests by call kind.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CallCounts {
    /// Call 1, look-up by custom field.
    pub lookup: u64,
    /// Call 2, get by ID.
    pub get: u64,
    /// Call 3, update by ID.
    pub update: u64,
    /// Call 4, add tags.
    pub add_tags: u64,
    /// Call 5, remove tags.
    pub remove_tags: u64,
    /// Call 6, create.
    pub create: u64,
    /// Anything else (unknown paths, wrong methods).
    pub other: u64,
}

/// The six calls, named from method and path before routing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallKind {
    Lookup,
    Get,
    Update,
    AddTags,
    RemoveTags,
    Create,
    Other,
}

impl CallKind {
    /// The call a request is, from its method and raw path.
    pub(crate) fn classify(method: &Method, path: &str) -> CallKind {
        let Some(rest) = path.strip_prefix("/api/v1/contact") else {
            return CallKind::Other;
        };
        let segments: Vec<&str> = rest.split('/').collect();
        match (method.as_str(), segments.as_slice()) {
            ("POST", [""] | ["", ""]) => CallKind::Create,
            ("GET", ["", "by_custom_field"]) => CallKind::Lookup,
            ("GET", ["", id]) if !id.is_empty() => CallKind::Get,
            ("PUT", ["", id]) if !id.is_empty() => CallKind::Update,
            ("POST", ["", id, "tags"]) if !id.is_empty() => CallKind::AddTags,
            ("DELETE", ["", id, "tags"]) if !id.is_empty() => CallKind::RemoveTags,
            _ => CallKind::Other,
        }
    }
}

impl CallCounts {
    /// Counts one request of this kind.
    pub(crate) fn bump(&mut self, kind: CallKind) {
        let c = match kind {
            CallKind::Lookup => &mut self.lookup,
            CallKind::Get => &mut self.get,
            CallKind::Update => &mut self.update,
            CallKind::AddTags => &mut self.add_tags,
            CallKind::RemoveTags => &mut self.remove_tags,
            CallKind::Create => &mut self.create,
            CallKind::Other => &mut self.other,
        };
        *c += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_the_six_calls_and_nothing_else() {
        let c = |m: Method, p: &str| CallKind::classify(&m, p);
        assert_eq!(
            c(Method::GET, "/api/v1/contact/by_custom_field"),
            CallKind::Lookup
        );
        assert_eq!(c(Method::GET, "/api/v1/contact/12"), CallKind::Get);
        assert_eq!(c(Method::PUT, "/api/v1/contact/a%2Fb"), CallKind::Update);
        assert_eq!(
            c(Method::POST, "/api/v1/contact/12/tags"),
            CallKind::AddTags
        );
        assert_eq!(
            c(Method::DELETE, "/api/v1/contact/12/tags"),
            CallKind::RemoveTags
        );
        assert_eq!(c(Method::POST, "/api/v1/contact"), CallKind::Create);
        assert_eq!(c(Method::POST, "/api/v1/contact/"), CallKind::Create);
        assert_eq!(c(Method::GET, "/api/v1/contact/"), CallKind::Other);
        assert_eq!(c(Method::PATCH, "/api/v1/contact/12"), CallKind::Other);
        assert_eq!(c(Method::GET, "/api/v1/contacts/12"), CallKind::Other);
        assert_eq!(c(Method::GET, "/api/v2/contact/12"), CallKind::Other);
    }
}
