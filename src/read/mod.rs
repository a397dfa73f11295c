//! The reader: turns the desired contacts of a config into the live state `plan` needs, through
//! any [`ContactsApi`], spending as few calls as it can (SPEC "Reading in bulk"): with a marker,
//! page through the marked contacts and read one by one only those paging did not find; without
//! one, one read per contact. It reports what it found; it never decides what to change.

mod marker;
mod one;
pub mod pager;

pub use one::read_one;

use marker::{MarkedIndex, page_marked};

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;

use futures::stream::{self, StreamExt};

use crate::api::ContactsApi;
use crate::model::{Config, DesiredContact, Found, LiveContact, LiveState};

/// How the reader reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadOptions {
    /// Reads in flight at once per channel. Default 8.
    pub concurrency: usize,
    /// Page size requested when paging through the marker (the server may use another; a
    /// bigger page costs nothing and saves calls where the server allows it). Default 1000.
    pub per_page: u64,
    /// Report orphans: marked contacts no desired contact matched. Only meaningful when every
    /// contact of the channel is being read. Default false.
    pub orphans: bool,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            concurrency: 8,
            per_page: 1000,
            orphans: false,
        }
    }
}

/// Read the live state of the contacts `selected` (indices into `config.contacts`), each through
/// the client of its channel. Channels are read concurrently, each with at most
/// `options.concurrency` reads in flight. The result lists the selected contacts in the order
/// given (indices outside the config are left out); orphans sorted by channel, then ID.
pub async fn read_live<C: ContactsApi>(
    config: &Config,
    clients: &BTreeMap<String, C>,
    selected: &[usize],
    options: ReadOptions,
) -> LiveState {
    let mut groups: BTreeMap<&str, Vec<(usize, &DesiredContact)>> = BTreeMap::new();
    for (pos, &idx) in selected.iter().enumerate() {
        if let Some(c) = config.contacts.get(idx) {
            groups.entry(c.channel.as_str()).or_default().push((pos, c));
        }
    }
    let channels = groups.into_iter().map(|(channel, items)| async move {
        match clients.get(channel) {
            Some(client) => read_channel(config, client, &items, options).await,
            None => {
                let msg = format!("no API client for channel {channel}");
                let found = items
                    .iter()
                    .map(|&(pos, _)| (pos, Found::Failed(msg.clone())))
                    .collect();
                (found, Vec::new())
            }
        }
    });
    let mut results: Vec<Option<Found>> = vec![None; selected.len()];
    let mut orphans = Vec::new();
    for (found, channel_orphans) in futures::future::join_all(channels).await {
        for (pos, f) in found {
            if let Some(slot) = results.get_mut(pos) {
                *slot = Some(f);
            }
        }
        orphans.extend(channel_orphans);
    }
    orphans.sort_by(|a: &(String, LiveContact), b| (&a.0, &a.1.id).cmp(&(&b.0, &b.1.id)));
    LiveState {
        contacts: selected
            .iter()
            .zip(results)
            .filter_map(|(&idx, f)| f.map(|f| (idx, f)))
            .collect(),
        orphans,
    }
}

/// Read the selected contacts of one channel. Returns (position in `selected`, found) and the
/// channel's orphans.
async fn read_channel<C: ContactsApi>(
    config: &Config,
    client: &C,
    items: &[(usize, &DesiredContact)],
    options: ReadOptions,
) -> (Vec<(usize, Found)>, Vec<(String, LiveContact)>) {
    let concurrency = options.concurrency.max(1);
    let mut found: Vec<(usize, Found)> = Vec::new();
    let mut single: Vec<(usize, &DesiredContact)> = items.to_vec();
    let mut orphans: Vec<LiveContact> = Vec::new();

    if let Some(marker) = &config.marker {
        match page_marked(config, client, marker, options.per_page, concurrency).await {
            Err(e) if e.stops_channel() => {
                let msg = e.to_string();
                let failed = items
                    .iter()
                    .map(|&(pos, _)| (pos, Found::Failed(msg.clone())));
                return (failed.collect(), Vec::new());
            }
            // paging failed: every contact is read one by one instead, and orphans are unknown
            Err(_) => {}
            Ok(marked) => {
                let index = MarkedIndex::new(config, &marked, items);
                // Which marked contacts each desired contact matched (indices into `marked`);
                // contacts are then moved out of `marked`, not cloned: on a big channel the
                // copies would double the memory the reader holds.
                let mut hits: Vec<(usize, std::ops::Range<usize>)> = Vec::new();
                let mut hit_buf: Vec<usize> = Vec::with_capacity(items.len());
                let mut uses = vec![0usize; marked.len()];
                single.clear();
                for (k, &(pos, c)) in items.iter().enumerate() {
                    match index.find(config, &c.identity) {
                        Some(h) if !h.is_empty() => {
                            for &i in h {
                                uses[i] += 1;
                            }
                            let start = hit_buf.len();
                            hit_buf.extend_from_slice(h);
                            hits.push((k, start..hit_buf.len()));
                        }
                        _ => single.push((pos, c)),
                    }
                }
                drop(index);
                let mut matched = vec![false; marked.len()];
                let mut marked: Vec<Option<LiveContact>> = marked.into_iter().map(Some).collect();
                for (k, range) in hits {
                    let (pos, c) = items[k];
                    let h = &hit_buf[range];
                    for &i in h {
                        matched[i] = true;
                    }
                    if let [i] = *h {
                        uses[i] -= 1;
                        let live = if uses[i] == 0 {
                            marked[i].take()
                        } else {
                            marked[i].clone()
                        };
                        match live {
                            Some(live) => found.push((pos, Found::Present(live))),
                            // cannot happen (a contact leaves with its last use); reading it
                            // again is the safe answer if it ever does
                            None => single.push((pos, c)),
                        }
                    } else {
                        // a contact is only moved out by its last use, so every one is here
                        let ids = h
                            .iter()
                            .filter_map(|&i| {
                                uses[i] -= 1;
                                marked[i].as_ref().map(|c| c.id.clone())
                            })
                            .collect();
                        found.push((
                            pos,
                            Found::Ambiguous {
                                ids,
                                total: h.len() as u64,
                            },
                        ));
                    }
                }
                if options.orphans {
                    orphans = marked
                        .into_iter()
                        .zip(matched)
                        .filter(|(_, m)| !m)
                        .filter_map(|(c, _)| c)
                        .collect();
                }
            }
        }
    }

    // The first 401 (or an unreachable host) stops the channel: reads not yet started report it without a call.
    let stopped: Mutex<Option<String>> = Mutex::new(None);
    let stopped = &stopped;
    let singles: Vec<(usize, Found)> = stream::iter(single)
        .map(|(pos, c)| async move {
            let stop = stopped.lock().unwrap_or_else(|e| e.into_inner()).clone();
            if let Some(msg) = stop {
                return (pos, Found::Failed(msg));
            }
            match read_one(client, config, &c.identity).await {
                Ok(f) => (pos, f),
                Err(e) if e.stops_channel() => {
                    let msg = e.to_string();
                    *stopped.lock().unwrap_or_else(|e| e.into_inner()) = Some(msg.clone());
                    (pos, Found::Failed(msg))
                }
                Err(e) => (pos, Found::Failed(format!("reading it failed: {e}"))),
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;

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
    (found, orphans)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{ApiError, ContactsApi};
    use crate::model::Identity;
    use crate::testing::fake::FakeApi;
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
            concurrency: 4,
            per_page,
            orphans,
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
        let state = read_live(config, &clients, selected, o).await;
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
        assert!(state.orphans.is_empty());
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
        o.concurrency = 1;
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
        assert!(matches!(&state.contacts[0].1, Found::Failed(m) if m.contains("WEB_TOKEN")));
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
}
