//! A client seen through the reader: every call is passed on as is, and each read that ends is
//! counted and reported as a [`ReadEvent`], so that the reader's progress follows its calls
//! without the paging and look-up code knowing of it.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::ReadEvent;
use crate::api::{ApiError, ContactsApi, Forecast, LookupPage};
use crate::model::{FieldWrite, LiveContact};

/// `C`, counting and reporting the reads made through it.
pub(super) struct Counted<'a, C> {
    inner: &'a C,
    events: &'a (dyn Fn(ReadEvent) + Send + Sync),
    done: AtomicUsize,
}

impl<'a, C: ContactsApi> Counted<'a, C> {
    pub(super) fn new(inner: &'a C, events: &'a (dyn Fn(ReadEvent) + Send + Sync)) -> Self {
        Counted {
            inner,
            events,
            done: AtomicUsize::new(0),
        }
    }

    /// Reads ended so far.
    pub(super) fn done(&self) -> usize {
        self.done.load(Ordering::SeqCst)
    }

    /// Report the reads of the channel in all: those done and `more`.
    pub(super) fn planned(&self, more: usize) {
        (self.events)(ReadEvent::Planned {
            channel: self.inner.channel().to_string(),
            reads: self.done().saturating_add(more),
        });
    }

    fn ended(&self) {
        self.done.fetch_add(1, Ordering::SeqCst);
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
        let r = self.inner.lookup_page(field, value, page, per_page).await;
        self.ended();
        r
    }

    // The reader never writes; these pass on unchanged and are not counted as reads.
    async fn update(&self, id: &str, fields: &[FieldWrite]) -> Result<(), ApiError> {
        self.inner.update(id, fields).await
    }

    async fn add_tags(&self, id: &str, tags: &[String]) -> Result<(), ApiError> {
        self.inner.add_tags(id, tags).await
    }

    async fn remove_tags(&self, id: &str, tags: &[String]) -> Result<(), ApiError> {
        self.inner.remove_tags(id, tags).await
    }

    async fn create(&self, fields: &[FieldWrite]) -> Result<String, ApiError> {
        self.inner.create(fields).await
    }

    fn forecast(&self, calls: usize) -> Option<Forecast> {
        self.inner.forecast(calls)
    }
}
