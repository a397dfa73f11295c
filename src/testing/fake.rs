//! [`FakeApi`]: one channel of the Contacts API in memory, for the reader's and the apply engine's
//! unit tests. Look-ups match exactly (or case-insensitively, like a loose server) and page
//! honestly; creates hand out IDs `c1`, `c2`...; every call is logged by kind; faults can be
//! scripted per call kind (fail, or act and lose the answer), for every call, or for calls about
//! one ID or look-up value; a broken server's paging (a claimed page count, `page` ignored)
//! can be simulated; and calls can be paced by a real rate limiter, which the fake then
//! foresees with, and a channel answering 429 for a while can be told. [`Scripted`]: a server
//! whose look-up pages are a function of the page asked (the pager's tests); nothing else.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::api::limiter::Permit;
use crate::api::{ApiError, ContactsApi, Forecast, LookupPage, RateLimiter};
use crate::model::{FieldWrite, LiveContact};

/// What the fake does on the next call of a kind instead of succeeding.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Fail with this error without doing anything.
    Fail(ApiError),
    /// Do the work, then report an unknown outcome (a lost response).
    LoseResponse,
}

/// One channel in memory. Call kinds, as logged: `get`, `lookup`, `update`, `add_tags`,
/// `remove_tags`, `create`.
#[derive(Debug)]
pub struct FakeApi {
    name: String,
    /// Contacts in creation order.
    contacts: Mutex<Vec<LiveContact>>,
    next_id: Mutex<u64>,
    loose: bool,
    claimed_pages: Option<u64>,
    ignore_page: bool,
    /// Look-ups serve this many contacts never served before on every page.
    inventing: Option<u64>,
    invented: Mutex<u64>,
    fail_all: Option<ApiError>,
    fail_on: Option<(String, ApiError)>,
    faults: Mutex<BTreeMap<&'static str, VecDeque<Fault>>>,
    /// Every call: its kind, and the ID or look-up value it was about.
    calls: Mutex<Vec<(&'static str, String)>>,
    /// Paces every call, and answers `forecast`.
    limiter: Option<RateLimiter>,
    /// What `throttled_for` answers.
    throttled: Option<Duration>,
}

impl FakeApi {
    /// Channel `name` holding `contacts`.
    pub fn new(name: &str, contacts: Vec<LiveContact>) -> FakeApi {
        FakeApi {
            name: name.to_string(),
            contacts: Mutex::new(contacts),
            next_id: Mutex::new(0),
            loose: false,
            claimed_pages: None,
            ignore_page: false,
            inventing: None,
            invented: Mutex::new(0),
            fail_all: None,
            fail_on: None,
            faults: Mutex::new(BTreeMap::new()),
            calls: Mutex::new(Vec::new()),
            limiter: None,
            throttled: None,
        }
    }

    /// The channel says it has been answering nothing but 429 for `time`.
    pub fn throttled_for(mut self, time: Duration) -> FakeApi {
        self.throttled = Some(time);
        self
    }

    /// Every call first waits for a slot of `limiter` and holds it until it ends, as the HTTP
    /// client does; `forecast` answers from it.
    pub fn paced_by(mut self, limiter: RateLimiter) -> FakeApi {
        self.limiter = Some(limiter);
        self
    }

    /// A slot of the limiter, when the fake has one.
    async fn slot(&self) -> Option<Permit<'_>> {
        match &self.limiter {
            Some(l) => Some(l.acquire().await),
            None => None,
        }
    }

    /// Look-ups match case-insensitively (a loose server).
    pub fn loose(mut self) -> FakeApi {
        self.loose = true;
        self
    }

    /// Look-up pages claim `pages` pages, whatever there are (a broken server).
    pub fn claiming_pages(mut self, pages: u64) -> FakeApi {
        self.claimed_pages = Some(pages);
        self
    }

    /// Look-ups serve page 1 whatever page is asked (a broken server).
    pub fn ignoring_page(mut self) -> FakeApi {
        self.ignore_page = true;
        self
    }

    /// Look-ups serve `per_page` contacts never served before on every page, each holding the
    /// looked-up value, and claim the pages `claiming_pages` says, else no end (a hostile
    /// server).
    pub fn inventing(mut self, per_page: u64) -> FakeApi {
        self.inventing = Some(per_page);
        self
    }

    /// Every call fails with `e`.
    pub fn failing_all(mut self, e: ApiError) -> FakeApi {
        self.fail_all = Some(e);
        self
    }

    /// Calls about this ID (get, writes) or look-up value fail with `e`.
    pub fn failing_on(mut self, about: &str, e: ApiError) -> FakeApi {
        self.fail_on = Some((about.to_string(), e));
        self
    }

    /// The next call of `kind` meets `fault` (faults of a kind are met in the order given).
    pub fn fault(&self, kind: &'static str, fault: Fault) {
        lock(&self.faults).entry(kind).or_default().push_back(fault);
    }

    /// The calls made so far, by kind, in order.
    pub fn calls(&self) -> Vec<&'static str> {
        lock(&self.calls).iter().map(|(k, _)| *k).collect()
    }

    /// Calls of `kind` made so far.
    pub fn count(&self, kind: &str) -> usize {
        lock(&self.calls).iter().filter(|(k, _)| *k == kind).count()
    }

    /// The values looked up so far, in order.
    pub fn looked_up(&self) -> Vec<String> {
        lock(&self.calls)
            .iter()
            .filter(|(k, _)| *k == "lookup")
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Reads (gets and look-up pages) made so far.
    pub fn reads(&self) -> usize {
        self.count("get") + self.count("lookup")
    }

    /// The contacts it holds now, in creation order.
    pub fn contacts(&self) -> Vec<LiveContact> {
        lock(&self.contacts).clone()
    }

    /// The contact with this ID.
    pub fn contact(&self, id: &str) -> Option<LiveContact> {
        lock(&self.contacts).iter().find(|c| c.id == id).cloned()
    }

    /// Logs the call, then says whether it fails: a scripted fault of its kind first, then the
    /// standing failures.
    fn enter(&self, kind: &'static str, about: &str) -> Result<Option<Fault>, ApiError> {
        lock(&self.calls).push((kind, about.to_string()));
        if let Some(e) = &self.fail_all {
            return Err(e.clone());
        }
        if let Some((v, e)) = &self.fail_on
            && v == about
        {
            return Err(e.clone());
        }
        match lock(&self.faults)
            .get_mut(kind)
            .and_then(VecDeque::pop_front)
        {
            Some(Fault::Fail(e)) => Err(e),
            other => Ok(other),
        }
    }

    /// Write `fields` on contact `id` (created when missing); `""` clears a field.
    pub fn write(&self, id: &str, fields: &[FieldWrite]) {
        let mut contacts = lock(&self.contacts);
        let i = match contacts.iter().position(|c| c.id == id) {
            Some(i) => i,
            None => {
                contacts.push(LiveContact {
                    id: id.to_string(),
                    ..LiveContact::default()
                });
                contacts.len() - 1
            }
        };
        for f in fields {
            if f.value.is_empty() {
                contacts[i].fields.remove(&f.name);
            } else {
                contacts[i]
                    .fields
                    .insert(f.name.as_str(), Some(f.value.as_str().into()));
            }
        }
    }

    fn not_found() -> ApiError {
        ApiError::Rejected {
            status: 404,
            message: "no such contact".into(),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl ContactsApi for FakeApi {
    fn channel(&self) -> &str {
        &self.name
    }

    async fn get(&self, id: &str) -> Result<Option<LiveContact>, ApiError> {
        let _slot = self.slot().await;
        self.enter("get", id)?;
        Ok(self.contact(id))
    }

    async fn lookup_page(
        &self,
        field: &str,
        value: &str,
        page: u64,
        per_page: u64,
    ) -> Result<LookupPage, ApiError> {
        let _slot = self.slot().await;
        self.enter("lookup", value)?;
        let size = if per_page == 0 { 10 } else { per_page };
        if let Some(n) = self.inventing {
            let mut next = lock(&self.invented);
            let contacts = (0..n)
                .map(|_| {
                    *next += 1;
                    crate::testing::live(&format!("inv{next}"), &[(field, value)], &[])
                })
                .collect();
            return Ok(LookupPage {
                contacts,
                page,
                last_page: self.claimed_pages.unwrap_or(u64::MAX),
                per_page: n,
                total: self.claimed_pages.unwrap_or(u64::MAX).saturating_mul(n),
            });
        }
        let page = if self.ignore_page { 1 } else { page };
        let contacts = lock(&self.contacts);
        let all: Vec<&LiveContact> = contacts
            .iter()
            .filter(|c| match c.value(field) {
                Some(v) if self.loose => v.eq_ignore_ascii_case(value),
                Some(v) => v == value,
                None => false,
            })
            .collect();
        let total = all.len() as u64;
        let start = usize::try_from((page - 1) * size).unwrap_or(usize::MAX);
        Ok(LookupPage {
            contacts: all
                .into_iter()
                .skip(start)
                .take(usize::try_from(size).unwrap_or(usize::MAX))
                .cloned()
                .collect(),
            page,
            last_page: self
                .claimed_pages
                .unwrap_or_else(|| total.div_ceil(size).max(1)),
            per_page: size,
            total,
        })
    }

    async fn update(&self, id: &str, fields: &[FieldWrite]) -> Result<(), ApiError> {
        let _slot = self.slot().await;
        self.enter("update", id)?;
        if self.contact(id).is_none() {
            return Err(Self::not_found());
        }
        self.write(id, fields);
        Ok(())
    }

    async fn add_tags(&self, id: &str, tags: &[String]) -> Result<(), ApiError> {
        let _slot = self.slot().await;
        self.enter("add_tags", id)?;
        let mut contacts = lock(&self.contacts);
        let contact = contacts
            .iter_mut()
            .find(|c| c.id == id)
            .ok_or_else(Self::not_found)?;
        for t in tags {
            if !contact.tags.contains(t) {
                contact.tags.push(t.clone());
            }
        }
        Ok(())
    }

    async fn remove_tags(&self, id: &str, tags: &[String]) -> Result<(), ApiError> {
        let _slot = self.slot().await;
        self.enter("remove_tags", id)?;
        if let Some(contact) = lock(&self.contacts).iter_mut().find(|c| c.id == id) {
            contact.tags.retain(|t| !tags.contains(t));
        }
        Ok(())
    }

    async fn create(&self, fields: &[FieldWrite]) -> Result<String, ApiError> {
        let _slot = self.slot().await;
        let fault = self.enter("create", "")?;
        let id = {
            let mut n = lock(&self.next_id);
            *n += 1;
            format!("c{n}")
        };
        self.write(&id, fields);
        match fault {
            Some(Fault::LoseResponse) => Err(ApiError::Unknown {
                reason: "connection reset".into(),
            }),
            _ => Ok(id),
        }
    }

    fn forecast(&self, calls: usize) -> Option<Forecast> {
        self.limiter.as_ref().map(|l| l.forecast(calls))
    }

    fn throttled_for(&self) -> Option<Duration> {
        self.throttled
    }
}

/// A server (channel `web`) whose every look-up page is `pages(page)`, whatever is looked up;
/// counts the look-ups. Any other call is a test's mistake: it panics.
pub struct Scripted<F> {
    pages: F,
    /// The look-ups made (a test may set it back to 0).
    pub calls: AtomicU64,
}

impl<F: Fn(u64) -> LookupPage + Send + Sync> Scripted<F> {
    /// The server of `pages`.
    pub fn new(pages: F) -> Self {
        Scripted {
            pages,
            calls: AtomicU64::new(0),
        }
    }

    /// The look-ups made so far.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }
}

impl<F: Fn(u64) -> LookupPage + Send + Sync> ContactsApi for Scripted<F> {
    fn channel(&self) -> &str {
        "web"
    }
    async fn get(&self, _: &str) -> Result<Option<LiveContact>, ApiError> {
        unreachable!("Scripted serves look-ups only")
    }
    async fn lookup_page(
        &self,
        _: &str,
        _: &str,
        page: u64,
        _: u64,
    ) -> Result<LookupPage, ApiError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Ok((self.pages)(page))
    }
    async fn update(&self, _: &str, _: &[FieldWrite]) -> Result<(), ApiError> {
        unreachable!("Scripted serves look-ups only")
    }
    async fn add_tags(&self, _: &str, _: &[String]) -> Result<(), ApiError> {
        unreachable!("Scripted serves look-ups only")
    }
    async fn remove_tags(&self, _: &str, _: &[String]) -> Result<(), ApiError> {
        unreachable!("Scripted serves look-ups only")
    }
    async fn create(&self, _: &[FieldWrite]) -> Result<String, ApiError> {
        unreachable!("Scripted serves look-ups only")
    }
}
