//! A client that counts the calls made through it: the reader reports how many reads each
//! channel cost (the plan's `reads`, what apply spends again before it writes), whatever
//! strategy it chose, and reports each read as it ends and the reads it foresees
//! ([`ReadEvent`]), for progress displays, without the paging and look-up code knowing of it.
//! Retries inside the client are not calls here.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::ReadEvent;
use crate::api::{ApiError, ContactsApi, Forecast, LookupPage};
use crate::model::{FieldWrite, LiveContact};

/// Hears a reader's events.
pub(super) type Events<'a> = &'a (dyn Fn(ReadEvent) + Send + Sync);

/// `inner`, counting every call and reporting each read that ends.
pub(super) struct Counted<'a, C> {
    inner: &'a C,
    calls: AtomicUsize,
    events: Events<'a>,
}

impl<'a, C: ContactsApi> Counted<'a, C> {
    pub(super) fn new(inner: &'a C, events: Events<'a>) -> Self {
        Counted {
            inner,
            calls: AtomicUsize::new(0),
            events,
        }
    }

    /// Calls made so far.
    pub(super) fn calls(&self) -> usize {
        self.calls.load(Ordering::Relaxed)
    }

    /// Report the reads of the channel in all, as now known: those made and `more`.
    pub(super) fn planned(&self, more: usize) {
        (self.events)(ReadEvent::Planned {
            channel: self.inner.channel().to_string(),
            reads: self.calls().saturating_add(more),
        });
    }

    fn count(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }

    /// A read ended.
    fn ended(&self) {
        (self.events)(ReadEvent::CallDone {
            channel: self.inner.channel().to_string(),
        });
    }
}

impl<C: ContactsApi> ContactsApi for Counted<'_, C> {
    fn channel(&self) -> &str {
        self.inner.channel()
    }

    async fn get(&self, id: &str) -> Result<Option<LiveContact>, ApiError> {
        self.count();
        let r = self.inner.get(id).await;
        self.ended();
        r
    }

    async fn lookup_page(
        &self,
        field: &str,
        value: &str,
        page: u64,
        per_page: u64,
    ) -> Result<LookupPage, ApiError> {
        self.count();
        let r = self.inner.lookup_page(field, value, page, per_page).await;
        self.ended();
        r
    }

    async fn update(&self, id: &str, fields: &[FieldWrite]) -> Result<(), ApiError> {
        self.count();
        self.inner.update(id, fields).await
    }

    async fn add_tags(&self, id: &str, tags: &[String]) -> Result<(), ApiError> {
        self.count();
        self.inner.add_tags(id, tags).await
    }

    async fn remove_tags(&self, id: &str, tags: &[String]) -> Result<(), ApiError> {
        self.count();
        self.inner.remove_tags(id, tags).await
    }

    async fn create(&self, fields: &[FieldWrite]) -> Result<String, ApiError> {
        self.count();
        self.inner.create(fields).await
    }

    fn endpoint(&self) -> Option<&str> {
        self.inner.endpoint()
    }

    fn throttled_for(&self) -> Option<std::time::Duration> {
        self.inner.throttled_for()
    }

    fn forecast(&self, calls: usize) -> Option<Forecast> {
        self.inner.forecast(calls)
    }
}
