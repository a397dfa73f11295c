//! The one pager: every contact a look-up by custom field returns, page by page — page 1, then
//! the rest in waves of pages read at once — with one set of stop rules. Marker paging and
//! `import` both read through it.
//!
//! The stop rules (issue #21): paging ends at the last page the *first* page announces (later
//! pages cannot extend it), at an empty page, and at a page that brings no contact not seen
//! before (a server that ignores `page`), whatever `last_page` claims. And whatever a server
//! announces, one read takes at most [`PageLimit`] pages: a server that invents new contacts on
//! every page (a huge `last_page`, or `links.next` pointing at the page itself) is stopped there
//! with [`PageError::TooManyPages`], which names the host and the count and says how to raise the
//! ceiling (`--max-pages`).

use std::collections::HashSet;

use futures::stream::{self, StreamExt};

use crate::api::{ApiError, ContactsApi, LookupPage};
use crate::model::{Config, LiveContact};

/// Pages one read may take whatever a server announces, before the one page per contact of the
/// channel in the config that [`PageLimit::for_channel`] adds.
pub const BASE_MAX_PAGES: u64 = 1_000;

/// The most pages one read takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageLimit {
    /// The default: [`BASE_MAX_PAGES`] plus one page per contact of the channel in the config
    /// (a channel's marked contacts are the config's plus its orphans, so an honest server
    /// never needs more unless it holds many orphans).
    Default {
        /// Contacts of the channel in the config.
        contacts: usize,
    },
    /// Set with `--max-pages N`.
    Set(u64),
}

impl PageLimit {
    /// The limit of a read on `channel` of `config`: `max_pages` when given (`--max-pages`),
    /// else the default.
    pub fn for_channel(config: &Config, channel: &str, max_pages: Option<u64>) -> PageLimit {
        match max_pages {
            Some(n) => PageLimit::Set(n.max(1)),
            None => PageLimit::Default {
                contacts: config
                    .contacts
                    .iter()
                    .filter(|c| c.channel == channel)
                    .count(),
            },
        }
    }

    /// The most pages.
    pub fn pages(self) -> u64 {
        match self {
            PageLimit::Default { contacts } => {
                BASE_MAX_PAGES.saturating_add(u64::try_from(contacts).unwrap_or(u64::MAX))
            }
            PageLimit::Set(n) => n,
        }
    }
}

impl std::fmt::Display for PageLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PageLimit::Default { contacts } => write!(
                f,
                "{BASE_MAX_PAGES} + one per contact of the channel in the config ({contacts})"
            ),
            PageLimit::Set(n) => write!(f, "--max-pages {n}"),
        }
    }
}

/// Why a paged read failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PageError {
    /// A page could not be read (the first, a later one when that fails the read, or any with a
    /// 401 or an unreachable host).
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The server still announced more pages of contacts never seen before when the read had
    /// taken the most pages it may.
    #[error(
        "channel {channel}: stopped paging {} after {pages} pages, the most one read takes \
         ({limit}), while the server still announced more pages of contacts never seen before; \
         if the channel really holds that many, raise the ceiling with --max-pages N",
        url.as_deref().unwrap_or("the channel's host")
    )]
    TooManyPages {
        /// Channel name.
        channel: String,
        /// The channel's API root, as the client names it (`None`: the client names none).
        url: Option<String>,
        /// Pages read.
        pages: u64,
        /// The limit that stopped it.
        limit: PageLimit,
    },
}

impl PageError {
    /// Whether the rest of the channel's reads should stop too: a refused token or an
    /// unreachable host, or a server paging without end (falling back to other reads would
    /// hide it).
    pub fn stops_channel(&self) -> bool {
        match self {
            PageError::Api(e) => e.stops_channel(),
            PageError::TooManyPages { .. } => true,
        }
    }
}

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
    /// The most pages to read.
    pub limit: PageLimit,
}

/// Every contact the look-up of `field`=`value` returns, each once (by ID), in page order,
/// keeping those `keep` accepts. `first` sees page 1 before the rest is read (its `total` and
/// `last_page` tell how long the read will be). Stops as the module says.
pub async fn page_all<C: ContactsApi>(
    client: &C,
    field: &str,
    value: &str,
    options: PageOptions,
    first: impl FnOnce(&LookupPage),
    mut keep: impl FnMut(&LiveContact) -> bool,
) -> Result<Vec<LiveContact>, PageError> {
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
    let ceiling = options.limit.pages().max(1);
    // Pages in flight at once: as many as the channel keeps calls in flight, but no more than
    // MAX_CONTACTS_IN_FLIGHT contacts' worth (64 pages of the platform's 10, 8 of 1,000).
    let per_page = usize::try_from(page1.per_page.max(1)).unwrap_or(usize::MAX);
    let concurrency = concurrency.min((MAX_CONTACTS_IN_FLIGHT / per_page).max(1));
    if take(page1.contacts) == 0 {
        return Ok(kept);
    }
    let wave_size = u64::try_from(concurrency).unwrap_or(u64::MAX);
    let mut next = 2u64;
    while next <= last {
        if next > ceiling {
            return Err(PageError::TooManyPages {
                channel: client.channel().to_string(),
                url: client.endpoint().map(str::to_string),
                pages: ceiling,
                limit: options.limit,
            });
        }
        let end = last.min(ceiling).min(next.saturating_add(wave_size - 1));
        let wave: Vec<Result<LookupPage, ApiError>> = stream::iter(next..=end)
            .map(|p| client.lookup_page(field, value, p, options.per_page))
            .buffered(concurrency)
            .collect()
            .await;
        for page in wave {
            match page {
                // an empty page, or one of contacts all seen before, ends the read (the pages
                // after it in the wave are not taken)
                Ok(p) => {
                    if take(p.contacts) == 0 {
                        return Ok(kept);
                    }
                }
                Err(e) if e.stops_channel() || options.failed_page == FailedPage::Fail => {
                    return Err(e.into());
                }
                Err(_) => {}
            }
        }
        if end == u64::MAX {
            break;
        }
        next = end + 1;
    }
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use std::ops::Range;
    use std::sync::atomic::Ordering;

    use super::*;
    use crate::testing::fake::{FakeApi, Scripted};
    use crate::testing::live;

    /// Page `page` announcing `last` pages, holding contacts `ids`.
    fn page(page: u64, last: u64, ids: Range<u64>) -> LookupPage {
        LookupPage {
            contacts: ids.map(|i| live(&format!("{i}"), &[], &[])).collect(),
            page,
            last_page: last,
            per_page: 10,
            total: last.saturating_mul(10),
        }
    }

    /// Page `p` of fresh contacts (10 of them).
    fn fresh(p: u64) -> Range<u64> {
        p * 10..p * 10 + 10
    }

    fn options(concurrency: usize, limit: PageLimit) -> PageOptions {
        PageOptions {
            per_page: 10,
            concurrency,
            failed_page: FailedPage::Fail,
            limit,
        }
    }

    const ROOMY: PageLimit = PageLimit::Set(1_000_000);

    async fn read<C: ContactsApi>(c: &C, o: PageOptions) -> Result<Vec<LiveContact>, PageError> {
        page_all(c, "managed_by", "git", o, |_| {}, |_| true).await
    }

    #[tokio::test]
    async fn paging_stops_at_the_count_the_first_page_announced_whatever_later_pages_say() {
        // page 1 says 3 pages; every later page says a million, with contacts never seen
        let server = Scripted::new(|p| page(p, if p == 1 { 3 } else { 1_000_000 }, fresh(p)));
        for concurrency in [1, 2, 8] {
            server.calls.store(0, Ordering::SeqCst);
            let got = read(&server, options(concurrency, ROOMY)).await.unwrap();
            assert_eq!(server.calls(), 3, "concurrency {concurrency}");
            assert_eq!(got.len(), 30);
        }
    }

    #[tokio::test]
    async fn paging_stops_at_an_empty_page() {
        // 100 pages announced; page 4 is empty, pages after it hold contacts again
        let server = Scripted::new(|p| page(p, 100, if p == 4 { 0..0 } else { fresh(p) }));
        let got = read(&server, options(1, ROOMY)).await.unwrap();
        assert_eq!(server.calls(), 4);
        assert_eq!(got.len(), 30, "pages 1 to 3");
        // read in waves of 3 (2-4, 5-7): the wave holding the empty page is read whole, and
        // nothing after the empty page is taken
        server.calls.store(0, Ordering::SeqCst);
        let got = read(&server, options(3, ROOMY)).await.unwrap();
        assert_eq!(server.calls(), 4);
        assert_eq!(got.len(), 30);
        server.calls.store(0, Ordering::SeqCst);
        let got = read(&server, options(4, ROOMY)).await.unwrap();
        assert_eq!(server.calls(), 5, "page 1, then the wave 2-5");
        assert_eq!(
            got.len(),
            30,
            "page 5 comes after the empty page: not taken"
        );
    }

    #[tokio::test]
    async fn paging_stops_at_a_page_that_brings_no_contact_not_seen_before() {
        // page 3 repeats page 2 (a server that ignores `page` past 2); page 4 would be new
        let server = Scripted::new(|p| page(p, 100, fresh(if p == 3 { 2 } else { p })));
        let got = read(&server, options(1, ROOMY)).await.unwrap();
        assert_eq!(server.calls(), 3);
        assert_eq!(got.len(), 20);
        // a page of which only some contacts are new goes on
        let server = Scripted::new(|p| page(p, 4, p * 5..p * 5 + 10));
        let got = read(&server, options(1, ROOMY)).await.unwrap();
        assert_eq!(server.calls(), 4);
        assert_eq!(got.len(), 25);
    }

    #[tokio::test]
    async fn a_server_inventing_contacts_is_stopped_at_the_limit_with_an_error_naming_it() {
        for (claimed, concurrency) in [(None, 1), (None, 3), (Some(1_000_000_000), 8)] {
            // `links.next` to itself (no end announced), or a huge `last_page`
            let fake = FakeApi::new("web", Vec::new()).inventing(10);
            let fake = match claimed {
                Some(n) => fake.claiming_pages(n),
                None => fake,
            };
            let e = read(&fake, options(concurrency, PageLimit::Set(7)))
                .await
                .unwrap_err();
            assert_eq!(fake.count("lookup"), 7, "{claimed:?} {concurrency}");
            assert!(
                matches!(
                    &e,
                    PageError::TooManyPages {
                        pages: 7,
                        limit: PageLimit::Set(7),
                        ..
                    }
                ),
                "{e:?}"
            );
            assert!(e.stops_channel());
            let shown = e.to_string();
            assert!(shown.starts_with("channel web: stopped paging "), "{shown}");
            assert!(shown.contains("after 7 pages"), "{shown}");
            assert!(shown.contains("(--max-pages 7)"), "{shown}");
            assert!(
                shown.contains("raise the ceiling with --max-pages N"),
                "{shown}"
            );
        }
        // the default: 1,000 pages plus one per contact of the channel in the config
        let config = crate::testing::config();
        let on_web = config
            .contacts
            .iter()
            .filter(|c| c.channel == "web")
            .count();
        let limit = PageLimit::for_channel(&config, "web", None);
        assert_eq!(limit, PageLimit::Default { contacts: on_web });
        let fake = FakeApi::new("web", Vec::new()).inventing(10);
        let e = read(&fake, options(64, limit)).await.unwrap_err();
        assert_eq!(fake.count("lookup"), 1_000 + on_web);
        assert!(
            e.to_string().contains(&format!(
                "(1000 + one per contact of the channel in the config ({on_web}))"
            )),
            "{e}"
        );
        assert_eq!(
            PageLimit::for_channel(&config, "web", Some(5)),
            PageLimit::Set(5)
        );
    }

    #[tokio::test]
    async fn an_honest_server_announcing_exactly_the_limit_is_read_whole() {
        let server = Scripted::new(|p| page(p, 7, fresh(p)));
        let got = read(&server, options(3, PageLimit::Set(7))).await.unwrap();
        assert_eq!(server.calls(), 7);
        assert_eq!(got.len(), 70);
    }
}
