//! The reader: turns the desired contacts of a config into the live state `plan` needs, through
//! any [`ContactsApi`], spending as few calls as it can (SPEC "Reading in bulk"): with a marker,
//! page through the marked contacts and read one by one only those paging did not find; without
//! one, one read per contact. It reports what it found; it never decides what to change. It
//! knows its strategy, so it says before its first read how many reads each channel will take,
//! revises that as paging tells more, and reports each read as it ends ([`ReadEvent`]), for
//! progress displays. A contact it finds is kept as its managed part only
//! (`model::managed_part`: the declared fields, the marker, the managed tags), which is all
//! planning looks at: at 100,000 contacts the rest is tens of megabytes.

mod count;
mod marker;
mod one;
pub mod pager;

pub use one::{read_all, read_one};

use count::{Counted, Events};
use marker::{carries_marker, page_and_match};

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;

use futures::stream::{self, StreamExt};

use crate::api::{ContactsApi, in_flight_for};
use crate::model::{
    Config, DEFAULT_PAGE_SIZE, DesiredContact, Found, Identity, LiveContact, LiveState, Marker,
    ReadFailure, id_is_usable, managed_part,
};

/// What the reader reports while it reads, for progress displays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadEvent {
    /// The reads a channel takes in all, as now known: sent before its first read, when paging
    /// tells how many pages there are, when paging is done (how many contacts are left to read
    /// one by one), and at the end (exact).
    Planned {
        /// Channel name.
        channel: String,
        /// Reads in all, those done included.
        reads: usize,
    },
    /// One read call ended (successfully or not).
    CallDone {
        /// Channel name.
        channel: String,
    },
}

/// The fewest reads [`read_live`] can make for `selected` (indices into `config.contacts`), per
/// channel, before any is made: one per contact without a marker; with one, a page (the
/// contacts paging does not find are read one by one after, which only paging tells).
pub fn fewest_reads(config: &Config, selected: &[usize]) -> BTreeMap<String, usize> {
    let mut contacts: BTreeMap<String, usize> = BTreeMap::new();
    for c in selected.iter().filter_map(|&i| config.contacts.get(i)) {
        *contacts.entry(c.channel.clone()).or_default() += 1;
    }
    if config.marker.is_some() {
        contacts.values_mut().for_each(|n| *n = 1);
    }
    contacts
}

/// How the reader reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadOptions {
    /// Reads in flight at once per channel; `None` (the default): as many as the channel's rate
    /// limit keeps busy ([`in_flight_for`]).
    pub concurrency: Option<usize>,
    /// Page size requested when paging through the marker (the server may use another; a
    /// bigger page costs nothing and saves calls where the server allows it). Default 1000.
    pub per_page: u64,
    /// Report orphans: marked contacts no desired contact matched. Only meaningful when every
    /// contact of the channel is being read. Default false.
    pub orphans: bool,
    /// The most pages one paged read takes (`--max-pages`); `None` (the default): 1,000 plus
    /// one per contact of the channel in the config ([`pager::PageLimit`]).
    pub max_pages: Option<u64>,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            concurrency: None,
            per_page: 1000,
            orphans: false,
            max_pages: None,
        }
    }
}

/// Read the live state of the contacts `selected` (indices into `config.contacts`), each through
/// the client of its channel. Channels are read concurrently, each with at most
/// `options.concurrency` reads in flight. The result lists the selected contacts in the order
/// given (indices outside the config are left out); orphans sorted by channel, then ID. `events`
/// hear the reads as they go.
pub async fn read_live<C: ContactsApi>(
    config: &Config,
    clients: &BTreeMap<String, C>,
    selected: &[usize],
    options: ReadOptions,
    events: &(dyn Fn(ReadEvent) + Send + Sync),
) -> LiveState {
    let orphans = if options.orphans {
        Orphans::All
    } else {
        Orphans::None
    };
    let mut work = group(config, selected, |_| Work {
        page: config.marker.is_some(),
        orphans,
        expected: 0,
    });
    if matches!(orphans, Orphans::All) && config.marker.is_some() {
        // Every marked contact of a channel the config names no contact on is an orphan: its
        // marker is paged too (the caller gives a client for each channel the run covers).
        for channel in clients.keys() {
            work.entry(channel.as_str()).or_insert_with(|| {
                (
                    Vec::new(),
                    Work {
                        page: true,
                        orphans,
                        expected: 0,
                    },
                )
            });
        }
    }
    for (items, w) in work.values_mut() {
        // the marker's pages at the platform's documented page, or one read per contact
        w.expected = if w.page {
            items.len().div_ceil(DEFAULT_PAGE_SIZE).max(1)
        } else {
            items.len()
        };
    }
    read_groups(config, clients, selected, work, options, events).await
}

/// Read a change-scoped run's live state (see [`Scoped`]): the contacts changed since BASE and,
/// with a marker, the contacts BASE had and the config dropped, reported as orphans when they
/// carry the marker (and no read contact is them). Per channel, with a marker, it pages the
/// marker or reads one by one, whichever [`Scoped::pages`] estimates to cost fewer calls; the
/// orphans it reports are the same either way. `events` hear the reads as they go.
pub async fn read_scoped<C: ContactsApi>(
    config: &Config,
    clients: &BTreeMap<String, C>,
    scoped: &Scoped,
    options: ReadOptions,
    events: &(dyn Fn(ReadEvent) + Send + Sync),
) -> LiveState {
    let dropped: BTreeMap<&str, Vec<&Identity>> =
        match config.marker {
            Some(_) => scoped.dropped.iter().fold(
                BTreeMap::new(),
                |mut by_channel, (channel, identity)| {
                    by_channel
                        .entry(channel.as_str())
                        .or_insert_with(Vec::new)
                        .push(identity);
                    by_channel
                },
            ),
            // Without a marker nothing tells a dropped contact apart from one never managed.
            None => BTreeMap::new(),
        };
    let mut work = group(config, &scoped.selected, |_| Work {
        page: false,
        orphans: Orphans::None,
        expected: 0,
    });
    for channel in dropped.keys() {
        work.entry(channel).or_insert_with(|| {
            (
                Vec::new(),
                Work {
                    page: false,
                    orphans: Orphans::None,
                    expected: 0,
                },
            )
        });
    }
    for (channel, (items, w)) in work.iter_mut() {
        let gone = dropped.get(channel).map_or(&[][..], Vec::as_slice);
        if !gone.is_empty() {
            w.orphans = Orphans::Dropped(gone);
        }
        let added = items
            .iter()
            .filter(|(pos, _)| scoped.added.binary_search(&scoped.selected[*pos]).is_ok())
            .count();
        let one_by_one = items.len() + gone.len();
        let paging = scoped.pages(channel) + added;
        w.page = config.marker.is_some() && paging < one_by_one;
        w.expected = if w.page { paging } else { one_by_one };
    }
    read_groups(config, clients, &scoped.selected, work, options, events).await
}

/// What a change-scoped run reads: [`read_scoped`]'s input, from `plan::scope`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scoped {
    /// Indices into `config.contacts` changed since BASE, in the order to report them.
    pub selected: Vec<usize>,
    /// Of those, the ones an apply of BASE did not mark (ascending): those BASE did not have, or
    /// all of them when BASE had another marker. Paging cannot find them.
    pub added: Vec<usize>,
    /// Contacts BASE had and the config dropped: (channel, identity as BASE wrote it).
    pub dropped: Vec<(String, Identity)>,
    /// BASE's contacts per channel that an apply of BASE marked (none when BASE had another
    /// marker).
    pub base_contacts: BTreeMap<String, usize>,
}

impl Scoped {
    /// The calls paging the marker on `channel` is estimated to cost, without a call: the run
    /// trusts that BASE was applied, so every contact BASE has on the channel carries the
    /// marker, and the platform's documented page holds [`DEFAULT_PAGE_SIZE`] contacts (a server
    /// that serves bigger pages makes paging cheaper than this; one that also holds orphans,
    /// dearer). Paging is chosen when these pages plus a look-up of each added contact (which
    /// paging cannot find) cost fewer calls than reading each changed and dropped contact once.
    pub fn pages(&self, channel: &str) -> usize {
        self.base_contacts
            .get(channel)
            .copied()
            .unwrap_or(0)
            .div_ceil(DEFAULT_PAGE_SIZE)
            .max(1)
    }
}

/// Which orphans a channel's read reports.
#[derive(Debug, Clone, Copy)]
enum Orphans<'a> {
    /// None.
    None,
    /// Every marked contact no selected contact matched (a full run).
    All,
    /// The marked contacts these identities, dropped from the config, name (a scoped run).
    Dropped(&'a [&'a Identity]),
}

/// How a channel is read.
#[derive(Debug, Clone, Copy)]
struct Work<'a> {
    /// Page the marker first (only with a marker set).
    page: bool,
    orphans: Orphans<'a>,
    /// The reads it is expected to take, before any is made.
    expected: usize,
}

/// Per channel, the selected contacts (position in `selected`, contact) and how to read them.
type Groups<'a> = BTreeMap<&'a str, (Vec<(usize, &'a DesiredContact)>, Work<'a>)>;

fn group<'a>(
    config: &'a Config,
    selected: &[usize],
    work: impl Fn(&str) -> Work<'a>,
) -> Groups<'a> {
    let mut groups: Groups<'a> = BTreeMap::new();
    for (pos, &idx) in selected.iter().enumerate() {
        if let Some(c) = config.contacts.get(idx) {
            groups
                .entry(c.channel.as_str())
                .or_insert_with(|| (Vec::new(), work(&c.channel)))
                .0
                .push((pos, c));
        }
    }
    groups
}

/// Read every group through its channel's client; `selected` is what the groups' positions
/// point into.
async fn read_groups<C: ContactsApi>(
    config: &Config,
    clients: &BTreeMap<String, C>,
    selected: &[usize],
    groups: Groups<'_>,
    options: ReadOptions,
    events: Events<'_>,
) -> LiveState {
    let channels = groups
        .into_iter()
        .map(|(channel, (items, work))| async move {
            match clients.get(channel) {
                Some(client) => {
                    let counted = Counted::new(client, events);
                    counted.planned(work.expected);
                    let read = read_channel(config, &counted, &items, work, options).await;
                    counted.planned(0);
                    (channel, read, counted.calls())
                }
                None => {
                    let failure = ReadFailure::NoClient {
                        channel: channel.to_string(),
                    };
                    let found = items
                        .iter()
                        .map(|&(pos, _)| (pos, Found::Failed(failure.clone())))
                        .collect();
                    let read = ChannelRead {
                        found,
                        orphans: Vec::new(),
                        orphans_unread: None,
                    };
                    (channel, read, 0)
                }
            }
        });
    let mut results: Vec<Option<Found>> = vec![None; selected.len()];
    let mut orphans = Vec::new();
    let mut reads = BTreeMap::new();
    let mut orphans_unread = BTreeMap::new();
    for (channel, read, calls) in futures::future::join_all(channels).await {
        for (pos, f) in read.found {
            if let Some(slot) = results.get_mut(pos) {
                *slot = Some(f);
            }
        }
        orphans.extend(read.orphans);
        if let Some(reason) = read.orphans_unread {
            orphans_unread.insert(channel.to_string(), reason);
        }
        reads.insert(channel.to_string(), calls);
    }
    orphans.sort_by(|a: &(String, LiveContact), b| (&a.0, &a.1.id).cmp(&(&b.0, &b.1.id)));
    LiveState {
        contacts: selected
            .iter()
            .zip(results)
            .filter_map(|(&idx, f)| f.map(|f| (idx, f)))
            .collect(),
        orphans,
        reads,
        orphans_unread,
    }
}

/// What one channel's read found: its selected contacts (by position in `selected`), its
/// orphans, and, when paging failed, why its orphans are unknown.
struct ChannelRead {
    found: Vec<(usize, Found)>,
    orphans: Vec<(String, LiveContact)>,
    orphans_unread: Option<String>,
}

/// Read the selected contacts of one channel as `work` says. Returns (position in `selected`,
/// found) and the channel's orphans.
async fn read_channel<C: ContactsApi>(
    config: &Config,
    client: &Counted<'_, C>,
    items: &[(usize, &DesiredContact)],
    work: Work<'_>,
    options: ReadOptions,
) -> ChannelRead {
    let concurrency = in_flight(config, client.channel(), options);
    let mut found: Vec<(usize, Found)> = Vec::new();
    let mut single: Vec<(usize, &DesiredContact)> = items.to_vec();
    let mut orphans: Vec<LiveContact> = Vec::new();
    let mut paged = false;
    let mut orphans_unread = None;

    if let (true, Some(marker)) = (work.page, &config.marker) {
        let paging = page_and_match(config, client, marker, items, work.orphans, options);
        match paging.await {
            Err(e) if e.stops_channel() => {
                let failure = ReadFailure::ChannelStopped {
                    reason: e.to_string(),
                };
                let failed = items
                    .iter()
                    .map(|&(pos, _)| (pos, Found::Failed(failure.clone())));
                return ChannelRead {
                    found: failed.collect(),
                    orphans: Vec::new(),
                    orphans_unread: (!matches!(work.orphans, Orphans::None)).then(|| e.to_string()),
                };
            }
            // paging failed: every contact is read one by one instead; all orphans are unknown
            // (those of dropped contacts are read one by one below)
            Err(e) => {
                orphans_unread = matches!(work.orphans, Orphans::All).then(|| e.to_string());
            }
            Ok(matched) => {
                paged = true;
                (found, single, orphans) = (matched.found, matched.single, matched.orphans);
            }
        }
    }

    // Paging is done: what is left is one read per contact it did not find.
    if paged {
        client.planned(single.len());
    }

    let (singles, stopped) = read_each(
        config,
        client,
        single.iter().map(|&(pos, c)| (pos, &c.identity)),
        concurrency,
    )
    .await;

    // Dropped contacts paging did not cover are read one by one; those carrying the marker are
    // the orphans, as paging would have found them.
    if let (Orphans::Dropped(gone), Some(marker), false) = (work.orphans, &config.marker, paged) {
        if stopped {
            // the channel stopped before its dropped contacts could be read: why, as the
            // contacts' failures say it
            orphans_unread = singles.iter().find_map(|(_, f)| match f {
                Found::Failed(why @ ReadFailure::ChannelStopped { .. }) => Some(why.to_string()),
                _ => None,
            });
        } else {
            (orphans, orphans_unread) =
                read_dropped(config, client, marker, gone, concurrency).await;
        }
    }

    // a marked contact a one-by-one read found is not an orphan (paging can shift under writes)
    let found_singly: HashSet<&str> = singles
        .iter()
        .filter_map(|(_, f)| match f {
            Found::Present(c) => Some(c.id.as_str()),
            _ => None,
        })
        .collect();
    orphans.retain(|o| !found_singly.contains(o.id.as_str()));
    let channel = client.channel().to_string();
    let orphans = orphans.into_iter().map(|o| (channel.clone(), o)).collect();
    found.extend(singles);
    ChannelRead {
        found,
        orphans,
        orphans_unread,
    }
}

/// Read each identity one by one ([`read_one`]), `concurrency` at a time: (position, found) in
/// no particular order, and whether the channel stopped. The first 401 (or an unreachable host)
/// stops the channel: reads not yet started report it without a call.
async fn read_each<'a, C: ContactsApi>(
    config: &Config,
    client: &C,
    items: impl Iterator<Item = (usize, &'a Identity)>,
    concurrency: usize,
) -> (Vec<(usize, Found)>, bool) {
    let stopped: Mutex<Option<ReadFailure>> = Mutex::new(None);
    let stopped = &stopped;
    let found: Vec<(usize, Found)> = stream::iter(items)
        .map(|(pos, identity)| async move {
            let stop = stopped.lock().unwrap_or_else(|e| e.into_inner()).clone();
            if let Some(failure) = stop {
                return (pos, Found::Failed(failure));
            }
            match read_one(client, config, identity).await {
                Ok(Found::Present(live)) => (pos, present(config, live)),
                Ok(f) => (pos, f),
                Err(e) if e.stops_channel() => {
                    let failure = ReadFailure::ChannelStopped {
                        reason: e.to_string(),
                    };
                    *stopped.lock().unwrap_or_else(|e| e.into_inner()) = Some(failure.clone());
                    (pos, Found::Failed(failure))
                }
                Err(e) => (
                    pos,
                    Found::Failed(ReadFailure::Call {
                        reason: e.to_string(),
                    }),
                ),
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let stopped = stopped.lock().unwrap_or_else(|e| e.into_inner()).is_some();
    (found, stopped)
}

/// Read each of `contacts` (channel, identity) once, one by one, through its channel's client:
/// what `apply --plan` reads to tell whether a saved plan still holds (an ID it knows is read
/// with a get, a contact to create is looked up by its key). Channels are read concurrently.
/// The result is aligned with `contacts`; `events` hear the reads as they go.
pub async fn read_identities<C: ContactsApi>(
    config: &Config,
    clients: &BTreeMap<String, C>,
    contacts: &[(String, Identity)],
    options: ReadOptions,
    events: &(dyn Fn(ReadEvent) + Send + Sync),
) -> Vec<Found> {
    let mut groups: BTreeMap<&str, Vec<(usize, &Identity)>> = BTreeMap::new();
    for (pos, (channel, identity)) in contacts.iter().enumerate() {
        groups.entry(channel).or_default().push((pos, identity));
    }
    let channels = groups.into_iter().map(|(channel, items)| async move {
        match clients.get(channel) {
            Some(client) => {
                let counted = Counted::new(client, events);
                counted.planned(items.len());
                let concurrency = in_flight(config, channel, options);
                let found = read_each(config, &counted, items.into_iter(), concurrency)
                    .await
                    .0;
                counted.planned(0);
                found
            }
            None => items
                .into_iter()
                .map(|(pos, _)| {
                    (
                        pos,
                        Found::Failed(ReadFailure::NoClient {
                            channel: channel.to_string(),
                        }),
                    )
                })
                .collect(),
        }
    });
    let mut results = vec![Found::Absent; contacts.len()];
    for (pos, found) in futures::future::join_all(channels)
        .await
        .into_iter()
        .flatten()
    {
        if let Some(slot) = results.get_mut(pos) {
            *slot = found;
        }
    }
    results
}

/// A contact found: its managed part, or an error naming its ID when no call could address it
/// (empty, `.`, `..`: as a path segment it would reach another endpoint).
fn present(config: &Config, live: LiveContact) -> Found {
    if id_is_usable(&live.id) {
        Found::Present(managed_part(config, live))
    } else {
        Found::Failed(ReadFailure::UnusableId { id: live.id })
    }
}

/// Reads in flight at once on `channel`: as `options` say, else as many as its rate limit keeps
/// busy.
fn in_flight(config: &Config, channel: &str, options: ReadOptions) -> usize {
    options
        .concurrency
        .unwrap_or_else(|| in_flight_for(config.rate_limit(channel)))
        .max(1)
}

/// The marked contacts that `gone` (identities dropped from the config) name, each read one by
/// one, and the first failed read's error: a failed read leaves its orphans unknown, as a failed
/// page does.
async fn read_dropped<C: ContactsApi>(
    config: &Config,
    client: &C,
    marker: &Marker,
    gone: &[&Identity],
    concurrency: usize,
) -> (Vec<LiveContact>, Option<String>) {
    let found: Vec<Result<Vec<LiveContact>, crate::api::ApiError>> = stream::iter(gone)
        .map(|identity| read_all(client, config, identity))
        // in order, so the failure said is the same from run to run
        .buffered(concurrency)
        .collect()
        .await;
    let mut seen = HashSet::new();
    let mut failed = None;
    let mut orphans = Vec::new();
    for read in found {
        match read {
            Ok(contacts) => orphans.extend(
                contacts
                    .into_iter()
                    .filter(|c| carries_marker(config, marker, c))
                    .filter(|c| seen.insert(c.id.clone())),
            ),
            Err(e) => {
                failed.get_or_insert_with(|| e.to_string());
            }
        }
    }
    (orphans, failed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{ApiError, ContactsApi};
    use crate::model::Identity;
    use crate::testing::fake::{FakeApi, Fault};
    use crate::testing::{self, key, live};

    fn marked(id: &str, email: &str) -> LiveContact {
        live(id, &[("email", email), ("managed_by", "git")], &[])
    }

    fn desired(channel: &str, identity: Identity) -> DesiredContact {
        testing::desired(channel, identity, &[], None)
    }

    fn config(contacts: Vec<DesiredContact>, marker: bool) -> Config {
        let mut config = testing::config();
        config.contacts = contacts;
        if marker {
            testing::with_marker(config)
        } else {
            config
        }
    }

    fn opts(per_page: u64, orphans: bool) -> ReadOptions {
        ReadOptions {
            concurrency: Some(4),
            per_page,
            orphans,
            max_pages: None,
        }
    }

    async fn read(
        config: &Config,
        fakes: Vec<FakeApi>,
        selected: &[usize],
        o: ReadOptions,
    ) -> (LiveState, BTreeMap<String, FakeApi>) {
        let clients: BTreeMap<String, FakeApi> = fakes
            .into_iter()
            .map(|f| (f.channel().to_string(), f))
            .collect();
        let state = read_live(config, &clients, selected, o, &|_| {}).await;
        (state, clients)
    }

    fn ids(state: &LiveState) -> Vec<(usize, String)> {
        state
            .contacts
            .iter()
            .map(|(i, f)| {
                let what = match f {
                    Found::Present(c) => format!("present {}", c.id),
                    Found::Absent => "absent".into(),
                    Found::Ambiguous { ids, total } => format!("ambiguous {ids:?} of {total}"),
                    Found::Failed(m) => format!("failed: {m}"),
                };
                (*i, what)
            })
            .collect()
    }

    #[tokio::test]
    async fn without_a_marker_each_contact_costs_one_read_and_results_follow_selected_order() {
        let cfg = config(
            vec![
                desired("web", key("email", "a@x.com")),
                desired("web", Identity::Id("2".into())),
                desired("web", key("email", "missing@x.com")),
                desired("web", Identity::Id("404".into())),
            ],
            false,
        );
        let fake = FakeApi::new("web", vec![marked("1", "a@x.com"), live("2", &[], &[])]);
        let (state, fakes) = read(&cfg, vec![fake], &[3, 0, 2, 1], opts(100, false)).await;
        assert_eq!(
            ids(&state),
            vec![
                (3, "absent".into()),
                (0, "present 1".into()),
                (2, "absent".into()),
                (1, "present 2".into()),
            ]
        );
        assert_eq!(fakes["web"].reads(), 4);
        assert_eq!(state.reads, BTreeMap::from([("web".to_string(), 4)]));
        assert!(state.orphans.is_empty());
    }

    #[tokio::test]
    async fn the_reader_says_how_many_reads_it_takes_and_reports_each() {
        // 25 marked contacts (3 pages of 10), and 2 more desired that are not marked
        let mut contacts: Vec<LiveContact> = (0..25)
            .map(|i| marked(&format!("{i}"), &format!("u{i}@x.com")))
            .collect();
        contacts.push(live("p1", &[("email", "plain1@x.com")], &[]));
        let mut desired_contacts: Vec<DesiredContact> = (0..25)
            .map(|i| desired("web", key("email", &format!("u{i}@x.com"))))
            .collect();
        desired_contacts.push(desired("web", key("email", "plain1@x.com")));
        desired_contacts.push(desired("web", key("email", "new@x.com")));
        let selected: Vec<usize> = (0..27).collect();
        for marker in [true, false] {
            let cfg = config(desired_contacts.clone(), marker);
            let seen = Mutex::new(Vec::new());
            let clients: BTreeMap<String, FakeApi> =
                [("web".to_string(), FakeApi::new("web", contacts.clone()))].into();
            let state = read_live(&cfg, &clients, &selected, opts(10, marker), &|e| {
                seen.lock().unwrap().push(e);
            })
            .await;
            let seen = seen.into_inner().unwrap();
            let done = seen
                .iter()
                .filter(|e| matches!(e, ReadEvent::CallDone { channel } if channel == "web"))
                .count();
            let totals: Vec<usize> = seen
                .iter()
                .filter_map(|e| match e {
                    ReadEvent::Planned { reads, .. } => Some(*reads),
                    ReadEvent::CallDone { .. } => None,
                })
                .collect();
            assert_eq!(done, clients["web"].reads(), "marker: {marker}");
            assert_eq!(done, state.reads["web"]);
            if marker {
                // before any read: 3 pages of the platform's 10; page 1 says 3 pages and 25
                // marked (so 2 to read one by one); paging done says 2 are left; the end, 5
                assert_eq!(fewest_reads(&cfg, &selected)["web"], 1);
                assert_eq!(totals, vec![3, 5, 5, 5]);
                assert_eq!(done, 5);
            } else {
                assert_eq!(fewest_reads(&cfg, &selected)["web"], 27);
                assert_eq!(totals, vec![27, 27]);
                assert_eq!(done, 27);
            }
            // what was found is kept as its managed part: the marker field only with a marker
            let kept = state.contacts.iter().find_map(|(_, f)| match f {
                Found::Present(c) if c.id == "0" => Some(c.clone()),
                _ => None,
            });
            let kept = kept.unwrap();
            assert_eq!(kept.value("managed_by").is_some(), marker, "{kept:?}");
        }
    }

    #[tokio::test]
    async fn with_a_marker_marked_contacts_cost_one_read_per_page() {
        let n = 25;
        let contacts: Vec<LiveContact> = (0..n)
            .map(|i| marked(&format!("{i}"), &format!("u{i}@x.com")))
            .collect();
        let desired_contacts = (0..n)
            .map(|i| desired("web", key("email", &format!("U{i}@x.com"))))
            .collect();
        let cfg = config(desired_contacts, true);
        let selected: Vec<usize> = (0..n).collect();
        let (state, fakes) = read(
            &cfg,
            vec![FakeApi::new("web", contacts)],
            &selected,
            opts(10, true),
        )
        .await;
        assert_eq!(fakes["web"].count("lookup"), 3, "ceil(25/10) pages");
        assert_eq!(fakes["web"].count("get"), 0);
        assert_eq!(state.reads["web"], 3, "the live state counts the calls");
        for (i, (idx, found)) in state.contacts.iter().enumerate() {
            assert_eq!(*idx, i);
            assert!(
                matches!(found, Found::Present(c) if c.id == format!("{i}")),
                "{found:?}"
            );
        }
        assert!(state.orphans.is_empty());
    }

    #[tokio::test]
    async fn paging_stops_when_pages_bring_nothing_new_whatever_the_page_count_claims() {
        let contacts: Vec<LiveContact> = (0..5)
            .map(|i| marked(&format!("{i}"), &format!("u{i}@x.com")))
            .collect();
        let cfg = config(
            (0..5)
                .map(|i| desired("web", key("email", &format!("u{i}@x.com"))))
                .collect(),
            true,
        );
        for ignore_page in [false, true] {
            // a billion pages claimed: empty after the first, or the first again and again
            let fake = FakeApi::new("web", contacts.clone()).claiming_pages(1_000_000_000);
            let fake = if ignore_page {
                fake.ignoring_page()
            } else {
                fake
            };
            let (state, fakes) = read(&cfg, vec![fake], &[0, 1, 2, 3, 4], opts(10, true)).await;
            let lookups = fakes["web"].count("lookup");
            assert_eq!(
                lookups,
                1 + 4,
                "page 1, then one wave of 4 that brought nothing new"
            );
            assert!(
                state
                    .contacts
                    .iter()
                    .all(|(_, f)| matches!(f, Found::Present(_))),
                "{state:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_server_paging_without_end_fails_the_channel_at_its_page_limit() {
        let cfg = config(
            vec![
                desired("web", key("email", "a@x.com")),
                desired("web", key("email", "b@x.com")),
                desired("viber", Identity::Id("v1".into())),
            ],
            true,
        );
        for (max_pages, lookups) in [(None, 1_000 + 2), (Some(3), 3)] {
            let web = FakeApi::new("web", Vec::new()).inventing(10);
            let viber = FakeApi::new("viber", vec![marked("v1", "v@x.com")]);
            let o = ReadOptions {
                max_pages,
                ..opts(10, true)
            };
            let (state, fakes) = read(&cfg, vec![web, viber], &[0, 1, 2], o).await;
            // 1,000 pages plus one per contact of web in the config, or --max-pages
            assert_eq!(fakes["web"].count("lookup"), lookups, "{max_pages:?}");
            assert_eq!(
                fakes["web"].count("get"),
                0,
                "no reading one by one instead"
            );
            let found = ids(&state);
            for (i, what) in &found[..2] {
                assert!(
                    what.starts_with("failed: channel web: stopped paging")
                        && what.contains(&format!("after {lookups} pages"))
                        && what.contains("--max-pages N"),
                    "{i}: {what}"
                );
            }
            assert_eq!(found[2], (2, "present v1".to_string()), "viber carries on");
            assert!(
                state.orphans.is_empty(),
                "no orphans from a read that did not end"
            );
        }
    }

    #[tokio::test]
    async fn unmarked_contacts_are_read_one_by_one_and_unmatched_marked_ones_are_orphans() {
        let cfg = config(
            vec![
                desired("web", key("email", "a@x.com")),
                desired("web", key("email", "plain@x.com")),
                desired("web", Identity::Id("idonly".into())),
            ],
            true,
        );
        let fake = FakeApi::new(
            "web",
            vec![
                marked("1", "a@x.com"),
                live("2", &[("email", "plain@x.com")], &[]),
                live("idonly", &[("firstName", "Ana")], &[]),
                marked("9", "gone@x.com"),
                marked("5", "old@x.com"),
            ],
        );
        let (state, fakes) = read(&cfg, vec![fake], &[0, 1, 2], opts(100, true)).await;
        assert_eq!(
            ids(&state),
            vec![
                (0, "present 1".into()),
                (1, "present 2".into()),
                (2, "present idonly".into()),
            ]
        );
        // one page, then one look-up and one get for the two unmarked contacts
        assert_eq!(fakes["web"].count("lookup"), 2);
        assert_eq!(fakes["web"].count("get"), 1);
        let orphans: Vec<(&str, &str)> = state
            .orphans
            .iter()
            .map(|(ch, c)| (ch.as_str(), c.id.as_str()))
            .collect();
        assert_eq!(orphans, vec![("web", "5"), ("web", "9")]);
    }

    #[tokio::test]
    async fn a_marked_contact_matched_several_ways_is_found_by_each() {
        // contact 1 is named by ID twice and by a key it shares with contact 2; moving contacts
        // out of the page must leave each of them to its last use
        let cfg = config(
            vec![
                desired("web", Identity::Id("1".into())),
                desired("web", Identity::Id("2".into())),
                desired("web", key("email", "dup@x.com")),
                desired("web", Identity::Id("1".into())),
            ],
            true,
        );
        let fake = FakeApi::new(
            "web",
            vec![marked("1", "dup@x.com"), marked("2", "DUP@x.com")],
        );
        let (state, fakes) = read(&cfg, vec![fake], &[0, 1, 2, 3], opts(100, true)).await;
        assert_eq!(
            ids(&state),
            vec![
                (0, "present 1".into()),
                (1, "present 2".into()),
                (2, r#"ambiguous ["1", "2"] of 2"#.into()),
                (3, "present 1".into()),
            ]
        );
        assert_eq!(fakes["web"].reads(), 1, "one page, nothing read one by one");
        assert!(state.orphans.is_empty());
    }

    #[tokio::test]
    async fn orphans_are_not_reported_unless_asked() {
        let cfg = config(vec![desired("web", key("email", "a@x.com"))], true);
        let fake = FakeApi::new(
            "web",
            vec![marked("1", "a@x.com"), marked("9", "gone@x.com")],
        );
        let (state, _) = read(&cfg, vec![fake], &[0], opts(100, false)).await;
        assert!(state.orphans.is_empty());
    }

    #[tokio::test]
    async fn a_channel_the_config_names_no_contact_on_is_paged_for_its_orphans() {
        let cfg = config(vec![desired("web", key("email", "a@x.com"))], true);
        let web = FakeApi::new("web", vec![marked("1", "a@x.com")]);
        let viber = FakeApi::new(
            "viber",
            vec![
                marked("v1", "left@x.com"),
                live("v2", &[("email", "mine@x.com")], &[]),
            ],
        );
        let (state, fakes) = read(&cfg, vec![web, viber], &[0], opts(100, true)).await;
        let orphans: Vec<(&str, &str)> = state
            .orphans
            .iter()
            .map(|(ch, c)| (ch.as_str(), c.id.as_str()))
            .collect();
        assert_eq!(
            orphans,
            vec![("viber", "v1")],
            "the unmarked contact is not ours"
        );
        assert_eq!(fakes["viber"].reads(), 1, "one page of the marker");
        assert_eq!(state.reads["viber"], 1);
        // without orphans asked for, the channel is not read at all
        let (_, fakes) = read(
            &cfg,
            vec![
                FakeApi::new("web", vec![marked("1", "a@x.com")]),
                FakeApi::new("viber", vec![marked("v1", "left@x.com")]),
            ],
            &[0],
            opts(100, false),
        )
        .await;
        assert_eq!(fakes["viber"].reads(), 0);
    }

    #[tokio::test]
    async fn a_failed_marker_page_leaves_the_orphans_unknown_and_says_why() {
        let cfg = config(vec![desired("web", key("email", "a@x.com"))], true);
        let unknown = ApiError::Unknown {
            reason: "GET /contacts/by_custom_field -> 502".into(),
        };
        // web: paging fails, its contact is read one by one; viber: only orphans were asked of
        // it, and its one page fails too
        let web = FakeApi::new("web", vec![marked("1", "a@x.com"), marked("9", "z@x.com")]);
        web.fault("lookup", Fault::Fail(unknown.clone()));
        let viber = FakeApi::new("viber", vec![marked("v1", "left@x.com")]);
        viber.fault("lookup", Fault::Fail(unknown.clone()));
        let (state, _) = read(&cfg, vec![web, viber], &[0], opts(100, true)).await;
        assert_eq!(ids(&state), vec![(0, "present 1".into())]);
        assert!(state.orphans.is_empty());
        let why = unknown.to_string();
        assert_eq!(
            state.orphans_unread,
            [("viber".to_string(), why.clone()), ("web".to_string(), why)].into()
        );
        // orphans not asked for: nothing is unknown
        let web = FakeApi::new("web", vec![marked("1", "a@x.com")]);
        web.fault("lookup", Fault::Fail(unknown));
        let (state, _) = read(&cfg, vec![web], &[0], opts(100, false)).await;
        assert!(state.orphans_unread.is_empty());
    }

    #[tokio::test]
    async fn a_key_matching_several_contacts_is_ambiguous_with_or_without_marker() {
        for with_marker in [false, true] {
            let cfg = config(vec![desired("web", key("email", "dup@x.com"))], with_marker);
            let fake = FakeApi::new(
                "web",
                vec![marked("1", "dup@x.com"), marked("2", "dup@x.com")],
            );
            let (state, _) = read(&cfg, vec![fake], &[0], opts(100, true)).await;
            assert_eq!(
                ids(&state),
                vec![(0, r#"ambiguous ["1", "2"] of 2"#.into())],
                "marker: {with_marker}"
            );
            assert!(
                state.orphans.is_empty(),
                "ambiguous matches are not orphans"
            );
        }
    }

    #[tokio::test]
    async fn a_phone_written_with_spaces_is_also_looked_up_in_its_normalised_form() {
        let cfg = config(
            vec![
                desired("web", key("phone", "+34 600 111 222")),
                desired("web", key("phone", "+34600999999")),
            ],
            false,
        );
        let fake = FakeApi::new("web", vec![live("7", &[("phone", "+34600111222")], &[])]);
        let (state, fakes) = read(&cfg, vec![fake], &[0, 1], opts(100, false)).await;
        assert_eq!(
            ids(&state),
            vec![(0, "present 7".into()), (1, "absent".into())]
        );
        // two look-ups for the first (written form, then normalised), one for the second
        assert_eq!(fakes["web"].count("lookup"), 3);
        let log = fakes["web"].looked_up();
        assert!(
            log.contains(&"+34 600 111 222".to_string())
                && log.contains(&"+34600111222".to_string())
        );
    }

    #[tokio::test]
    async fn a_loose_server_match_on_a_text_key_is_not_taken_for_the_contact() {
        let cfg = config(vec![desired("web", key("firstName", "Ana"))], false);
        let fake = FakeApi::new("web", vec![live("1", &[("firstName", "ana")], &[])]).loose();
        let (state, _) = read(&cfg, vec![fake], &[0], opts(100, false)).await;
        assert_eq!(ids(&state), vec![(0, "absent".into())]);
    }

    #[tokio::test]
    async fn a_loose_server_s_later_pages_are_read_to_find_the_exact_match() {
        let mut contacts: Vec<LiveContact> = (0..11)
            .map(|i| live(&format!("{i}"), &[("firstName", "ana")], &[]))
            .collect();
        contacts.push(live("exact", &[("firstName", "Ana")], &[]));
        let cfg = config(vec![desired("web", key("firstName", "Ana"))], false);
        let fake = FakeApi::new("web", contacts).loose();
        let (state, fakes) = read(&cfg, vec![fake], &[0], opts(100, false)).await;
        assert_eq!(ids(&state), vec![(0, "present exact".into())]);
        assert_eq!(fakes["web"].count("lookup"), 2);
    }

    #[tokio::test]
    async fn a_401_stops_reading_its_channel_only() {
        let unauthorized = ApiError::Unauthorized {
            channel: "web".into(),
            token_env: "WEB_TOKEN".into(),
        };
        let cfg = config(
            vec![
                desired("web", Identity::Id("1".into())),
                desired("web", Identity::Id("2".into())),
                desired("web", Identity::Id("3".into())),
                desired("viber", Identity::Id("1".into())),
            ],
            false,
        );
        let web = FakeApi::new("web", vec![live("1", &[], &[])]).failing_all(unauthorized.clone());
        let viber = FakeApi::new("viber", vec![live("1", &[], &[])]);
        let mut o = opts(100, false);
        o.concurrency = Some(1);
        let (state, fakes) = read(&cfg, vec![web, viber], &[0, 1, 2, 3], o).await;
        assert_eq!(fakes["web"].reads(), 1, "reads after the 401 are not sent");
        let msg = format!("failed: {unauthorized}");
        assert_eq!(
            ids(&state),
            vec![
                (0, msg.clone()),
                (1, msg.clone()),
                (2, msg),
                (3, "present 1".into())
            ]
        );
    }

    #[tokio::test]
    async fn a_401_while_paging_fails_every_contact_of_the_channel() {
        let cfg = config(vec![desired("web", key("email", "a@x.com"))], true);
        let web =
            FakeApi::new("web", vec![marked("1", "a@x.com")]).failing_all(ApiError::Unauthorized {
                channel: "web".into(),
                token_env: "WEB_TOKEN".into(),
            });
        let (state, fakes) = read(&cfg, vec![web], &[0], opts(100, true)).await;
        assert_eq!(fakes["web"].reads(), 1);
        assert!(
            matches!(&state.contacts[0].1, Found::Failed(f @ ReadFailure::ChannelStopped { .. }) if f.to_string().contains("WEB_TOKEN"))
        );
    }

    #[tokio::test]
    async fn another_error_fails_only_its_contact() {
        let cfg = config(
            vec![
                desired("web", key("email", "a@x.com")),
                desired("web", key("email", "b@x.com")),
            ],
            false,
        );
        let web = FakeApi::new("web", vec![marked("1", "a@x.com"), marked("2", "b@x.com")])
            .failing_on(
                "a@x.com",
                ApiError::Rejected {
                    status: 403,
                    message: "Forbidden contact".into(),
                },
            );
        let (state, _) = read(&cfg, vec![web], &[0, 1], opts(100, false)).await;
        assert_eq!(
            ids(&state),
            vec![
                (
                    0,
                    "failed: reading it failed: 403: Forbidden contact".into()
                ),
                (1, "present 2".into())
            ]
        );
    }

    #[tokio::test]
    async fn a_failed_marker_page_falls_back_to_reading_one_by_one() {
        let cfg = config(vec![desired("web", key("email", "a@x.com"))], true);
        let web = FakeApi::new("web", vec![marked("1", "a@x.com"), marked("9", "z@x.com")])
            .failing_on(
                "git",
                ApiError::Unknown {
                    reason: "timed out".into(),
                },
            );
        let (state, _) = read(&cfg, vec![web], &[0], opts(100, true)).await;
        assert_eq!(ids(&state), vec![(0, "present 1".into())]);
        assert!(
            state.orphans.is_empty(),
            "orphans are unknown without the pages"
        );
    }

    #[tokio::test]
    async fn a_contact_whose_channel_has_no_client_fails() {
        let cfg = config(vec![desired("viber", Identity::Id("1".into()))], false);
        let (state, _) = read(
            &cfg,
            vec![FakeApi::new("web", vec![])],
            &[0, 7],
            opts(100, false),
        )
        .await;
        assert_eq!(
            ids(&state),
            vec![(0, "failed: no API client for channel viber".into())]
        );
    }

    // ---- change-scoped reads ----------------------------------------------------------------

    /// A repo of `n` contacts on web, all applied (marked) on the platform, plus an orphan left
    /// from long ago; the change: u0 edited, u1 replaced by its ID, new@ added, u2 and u3
    /// dropped (u3 by its ID).
    fn scoped_case(n: usize) -> (Config, Vec<LiveContact>, Scoped) {
        let mut platform: Vec<LiveContact> = (0..n)
            .map(|i| marked(&format!("{i}"), &format!("u{i}@x.com")))
            .collect();
        platform.push(marked("old", "old@x.com"));
        let mut contacts = vec![
            desired("web", key("email", "u0@x.com")),
            desired("web", Identity::Id("1".into())),
            desired("web", key("email", "new@x.com")),
        ];
        contacts.extend((4..n).map(|i| desired("web", key("email", &format!("u{i}@x.com")))));
        let scoped = Scoped {
            selected: vec![0, 1, 2],
            added: vec![1, 2],
            dropped: vec![
                ("web".into(), key("email", "u1@x.com")),
                ("web".into(), key("email", "u2@x.com")),
                ("web".into(), Identity::Id("3".into())),
            ],
            base_contacts: [("web".to_string(), n)].into(),
        };
        (config(contacts, true), platform, scoped)
    }

    async fn scoped_read(
        cfg: &Config,
        platform: Vec<LiveContact>,
        scoped: &Scoped,
    ) -> (LiveState, usize) {
        let clients = BTreeMap::from([("web".to_string(), FakeApi::new("web", platform))]);
        let state = read_scoped(cfg, &clients, scoped, opts(10, false), &|_| {}).await;
        let reads = clients["web"].reads();
        assert_eq!(
            state.reads["web"], reads,
            "the live state counts every call"
        );
        (state, reads)
    }

    fn orphan_ids(state: &LiveState) -> Vec<&str> {
        state.orphans.iter().map(|(_, c)| c.id.as_str()).collect()
    }

    #[tokio::test]
    async fn a_small_change_in_a_big_repo_is_read_one_by_one_a_big_one_pages_and_both_find_the_same()
     {
        // 300 contacts: paging would cost 30 pages (plus 2 look-ups of the added), one by one
        // 3 changed + 3 dropped. 12 contacts: 2 pages of the 13 marked, then new@ (not marked)
        // looked up, against 6 one by one.
        for (n, pages, expected_reads) in [(300, 30, 6), (12, 2, 3)] {
            let (cfg, platform, scoped) = scoped_case(n);
            assert_eq!(scoped.pages("web"), pages);
            let (state, reads) = scoped_read(&cfg, platform, &scoped).await;
            assert_eq!(reads, expected_reads, "{n} contacts");
            assert_eq!(
                ids(&state),
                vec![
                    (0, "present 0".into()),
                    (1, "present 1".into()),
                    (2, "absent".into())
                ],
                "{n} contacts"
            );
            // u1 is the contact now named by its ID: not an orphan; the old orphan is not this
            // change's business
            assert_eq!(orphan_ids(&state), ["2", "3"], "{n} contacts");
        }
    }

    #[tokio::test]
    async fn the_break_even_between_paging_and_one_by_one_follows_the_estimate() {
        for (n, expected) in [(50, 6), (60, 6), (40, 6)] {
            // 50: 5 pages + 2 added = 7 > 6 one by one; 40: 4 + 2 = 6, not fewer: one by one
            let (cfg, platform, scoped) = scoped_case(n);
            let (_, reads) = scoped_read(&cfg, platform, &scoped).await;
            assert_eq!(reads, expected, "{n} contacts");
        }
        // 30: 3 pages + 2 = 5 < 6: paging (31 marked contacts: 4 pages, then 1 look-up)
        let (cfg, platform, scoped) = scoped_case(30);
        let (_, reads) = scoped_read(&cfg, platform, &scoped).await;
        assert_eq!(reads, 5);
    }

    #[tokio::test]
    async fn without_a_marker_dropped_contacts_are_not_read() {
        let (mut cfg, platform, scoped) = scoped_case(300);
        cfg.marker = None;
        let (state, reads) = scoped_read(&cfg, platform, &scoped).await;
        assert_eq!(reads, 3, "the changed contacts only");
        assert!(state.orphans.is_empty());
    }

    #[tokio::test]
    async fn a_dropped_contact_without_the_marker_is_no_orphan() {
        let (cfg, mut platform, scoped) = scoped_case(300);
        platform[2].fields.remove("managed_by");
        let (state, _) = scoped_read(&cfg, platform, &scoped).await;
        assert_eq!(orphan_ids(&state), ["3"]);
    }

    #[tokio::test]
    async fn a_dropped_contact_that_could_not_be_read_leaves_the_orphans_unknown() {
        let (cfg, platform, scoped) = scoped_case(300);
        let refused = ApiError::Rejected {
            status: 403,
            message: "Forbidden".into(),
        };
        let web = FakeApi::new("web", platform).failing_on("u2@x.com", refused.clone());
        let clients = BTreeMap::from([("web".to_string(), web)]);
        let state = read_scoped(&cfg, &clients, &scoped, opts(10, false), &|_| {}).await;
        assert_eq!(orphan_ids(&state), ["3"], "the others are still found");
        assert_eq!(
            state.orphans_unread,
            [("web".to_string(), refused.to_string())].into()
        );
        // the channel stops (a refused token) before its dropped contacts are read
        let (cfg, platform, scoped) = scoped_case(300);
        let unauthorized = ApiError::Unauthorized {
            channel: "web".into(),
            token_env: "WEB_TOKEN".into(),
        };
        let web = FakeApi::new("web", platform).failing_all(unauthorized.clone());
        let clients = BTreeMap::from([("web".to_string(), web)]);
        let state = read_scoped(&cfg, &clients, &scoped, opts(10, false), &|_| {}).await;
        assert!(state.orphans.is_empty());
        assert_eq!(
            state.orphans_unread,
            [("web".to_string(), unauthorized.to_string())].into()
        );
    }

    #[tokio::test]
    async fn a_scoped_run_with_only_dropped_contacts_reads_their_channel() {
        let (cfg, platform, mut scoped) = scoped_case(300);
        scoped.selected.clear();
        scoped.added.clear();
        let (state, reads) = scoped_read(&cfg, platform, &scoped).await;
        assert_eq!(reads, 3);
        assert!(state.contacts.is_empty());
        assert_eq!(orphan_ids(&state), ["1", "2", "3"]);
    }
}
