//! What a client has sent so far: requests per call kind, 429s met, retries. Counted with
//! atomics, read as a snapshot.

use std::sync::atomic::{AtomicU64, Ordering};

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

/// Which API call a request makes, for the per-call counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CallKind {
    Get,
    Lookup,
    Update,
    AddTags,
    RemoveTags,
    Create,
}

#[derive(Debug, Default)]
pub(super) struct Counters {
    pub(super) requests: AtomicU64,
    pub(super) by_kind: [AtomicU64; 6],
    pub(super) throttled_429: AtomicU64,
    pub(super) retries: AtomicU64,
}

impl Counters {
    /// A snapshot of the counters.
    pub(super) fn snapshot(&self) -> ClientStats {
        let k = |i: usize| self.by_kind[i].load(Ordering::Relaxed);
        ClientStats {
            requests: self.requests.load(Ordering::Relaxed),
            by_kind: CallCounts {
                get: k(CallKind::Get as usize),
                lookup: k(CallKind::Lookup as usize),
                update: k(CallKind::Update as usize),
                add_tags: k(CallKind::AddTags as usize),
                remove_tags: k(CallKind::RemoveTags as usize),
                create: k(CallKind::Create as usize),
            },
            throttled_429: self.throttled_429.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
        }
    }
}
