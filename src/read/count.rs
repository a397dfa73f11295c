//! A client that counts the calls made through it: the reader reports how many reads each
//! channel cost (the plan's `reads`, what apply spends again before it writes), whatever
//! strategy it chose. Retries inside the client are not calls here.

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::api::{ApiError, ContactsApi, LookupPage};
use crate::model::{FieldWrite, LiveContact};

/// `inner`, counting every call.
pub(super) struct Counted<'a, C> {
    inner: &'a C,
    calls: AtomicUsize,
}

impl<'a, C: ContactsApi> Counted<'a, C> {
    pub(super) fn new(inner: &'a C) -> Self {
        Counted {
            inner,
            calls: AtomicUsize::new(0),
        }
    }

    /// Calls made so far.
    pub(super) fn calls(&self) -> usize {
        self.calls.load(Ordering::Relaxed)
    }

    fn count(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }
}

impl<C: ContactsApi> ContactsApi for Counted<'_, C> {
    fn channel(&self) -> &str {
        self.inner.channel()
    }

    async fn get(&self, id: &str) -> Result<Option<LiveContact>, ApiError> {
        self.count();
        self.inner.get(id).await
    }

    async fn lookup_page(
        &self,
        field: &str,
        value: &str,
        page: u64,
        per_page: u64,
    ) -> Result<LookupPage, ApiError> {
        self.count();
        self.inner.lookup_page(field, value, page, per_page).await
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
}
