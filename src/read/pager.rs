//! The one pager: every contact a look-up by custom field returns, page by page — page 1, then
//! the rest in waves of pages read at once — with one stop rule. Marker paging and `import`
//! both read through it.
//!
//! The stop rule: paging ends at the last page `meta` announces, or after a wave that brought no
//! contact not seen before (empty pages, or a server that ignores `page`), whatever `last_page`
//! claims — a server answering `last_page: 1000000000` must not be read for ever.

use std::collections::HashSet;

use futures::stream::{self, StreamExt};

use crate::api::{ApiError, ContactsApi, LookupPage};
use crate::model::LiveContact;

/// Contacts a wave of pages may bring at once: the pages' bodies and their contacts are all in
/// memory until the wave is taken in.
const MAX_CONTACTS_IN_FLIGHT: usize = 8_000;

/// What to do when a page after the first fails (a 401 or an unreachable host always fails the
/// whole read, as does a failed first page).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailedPage {
    /// Go on without it: the list is only shorter (the caller reads what it lacks otherwise).
    Skip,
    /// Fail the read: a partial list would look complete.
    Fail,
}

/// How to page.
#[derive(Debug, Clone, Copy)]
pub struct PageOptions {
    /// Page size asked for; the server may use another (what `meta` says is followed).
    pub per_page: u64,
    /// Pages read at once, per wave.
    pub concurrency: usize,
    /// What a failed later page does.
    pub failed_page: FailedPage,
}

/// Every contact the look-up of `field`=`value` returns, each once (by ID), in page order,
/// keeping those `keep` accepts. `first` sees page 1 before the rest is read (its `total` and
/// `last_page` tell how long the read will be).
pub async fn page_all<C: ContactsApi>(
    client: &C,
    field: &str,
    value: &str,
    options: PageOptions,
    first: impl FnOnce(&LookupPage),
    mut keep: impl FnMut(&LiveContact) -> bool,
) -> Result<Vec<LiveContact>, ApiError> {
    let concurrency = options.concurrency.max(1);
    let mut seen: HashSet<String> = HashSet::new();
    let mut kept = Vec::new();
    // Takes a page's contacts; how many it had that no earlier page had.
    let mut take = |contacts: Vec<LiveContact>| {
        let mut fresh = 0usize;
        for c in contacts {
            if !seen.insert(c.id.clone()) {
                continue;
            }
            fresh += 1;
            if keep(&c) {
                kept.push(c);
            }
        }
        fresh
    };
    let page1 = client
        .lookup_page(field, value, 1, options.per_page)
        .await?;
    first(&page1);
    let last = page1.last_page;
    // Pages in flight at once: as many as the channel keeps calls in flight, but no more than
    // MAX_CONTACTS_IN_FLIGHT contacts' worth (64 pages of the platform's 10, 8 of 1,000).
    let per_page = usize::try_from(page1.per_page.max(1)).unwrap_or(usize::MAX);
    let concurrency = concurrency.min((MAX_CONTACTS_IN_FLIGHT / per_page).max(1));
    take(page1.contacts);
    let wave_size = u64::try_from(concurrency).unwrap_or(u64::MAX);
    let mut next = 2u64;
    while next <= last {
        let end = last.min(next.saturating_add(wave_size - 1));
        let wave: Vec<Result<LookupPage, ApiError>> = stream::iter(next..=end)
            .map(|p| client.lookup_page(field, value, p, options.per_page))
            .buffered(concurrency)
            .collect()
            .await;
        let mut fresh = 0;
        for page in wave {
            match page {
                Ok(p) => fresh += take(p.contacts),
                Err(e) if e.stops_channel() || options.failed_page == FailedPage::Fail => {
                    return Err(e);
                }
                Err(_) => {}
            }
        }
        if fresh == 0 || end == u64::MAX {
            break;
        }
        next = end + 1;
    }
    Ok(kept)
}
