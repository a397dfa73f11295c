//! Reading in bulk with the marker (SPEC "Reading in bulk"): page through every contact that
//! carries the marker, and match the desired contacts to them by ID or normalised key value.

use std::collections::{BTreeSet, HashMap, HashSet};

use super::count::Counted;
use super::pager::{FailedPage, PageError, PageLimit, PageOptions, page_all};
use super::{Orphans, ReadOptions, in_flight, present};
use crate::api::{ContactsApi, LookupPage};
use crate::model::{self, Config, DesiredContact, Found, Identity, LiveContact, Marker};

/// Page the marker on `client`'s channel and match the selected contacts of the channel
/// (`items`: position in `selected`, contact) to what it found ([`match_marked`]). Page 1 tells
/// how many pages there are: the reads the channel takes are announced again then. An error is
/// the pager's: a channel that must stop, or paging that failed (every contact is then read one
/// by one, and orphans are unknown).
pub(super) async fn page_and_match<'a, C: ContactsApi>(
    config: &Config,
    client: &Counted<'_, C>,
    marker: &Marker,
    items: &[(usize, &'a DesiredContact)],
    orphans: Orphans<'_>,
    options: ReadOptions,
) -> Result<Matched<'a>, PageError> {
    let concurrency = in_flight(config, client.channel(), options);
    // Page 1 tells how many pages there are; the contacts paging will not find are guessed
    // from its total until paging is done.
    let limit = PageLimit::for_channel(config, client.channel(), options.max_pages);
    let first = |page: &LookupPage| {
        let pages = if page.last_page == u64::MAX {
            page.total.div_ceil(page.per_page.max(1))
        } else {
            page.last_page
        };
        // whatever the server announces, the read stops at its limit
        let pages = pages.min(limit.pages());
        let pages = usize::try_from(pages).unwrap_or(usize::MAX);
        let unmarked = items
            .len()
            .saturating_sub(usize::try_from(page.total).unwrap_or(usize::MAX));
        client.planned(
            pages
                .saturating_add(unmarked)
                .saturating_sub(client.calls()),
        );
    };
    let marked = page_marked(
        config,
        client,
        marker,
        options.per_page,
        concurrency,
        limit,
        first,
    )
    .await?;
    Ok(match_marked(config, marked, items, orphans))
}

/// Every contact carrying the marker, through the pager: contacts the server returned without
/// the marker's exact value (a loose match) are dropped. A failed later page only makes the list
/// shorter (those contacts are then read one by one); a 401, a failed first page or more pages
/// than `limit` is an error.
async fn page_marked<C: ContactsApi>(
    config: &Config,
    client: &C,
    marker: &Marker,
    per_page: u64,
    concurrency: usize,
    limit: PageLimit,
    first: impl FnOnce(&LookupPage),
) -> Result<Vec<LiveContact>, PageError> {
    let options = PageOptions {
        per_page,
        concurrency,
        failed_page: FailedPage::Skip,
        limit,
    };
    page_all(client, &marker.field, &marker.value, options, first, |c| {
        carries_marker(config, marker, c)
    })
    .await
}

/// Whether `c` holds the marker's value (normalised by the marker field's declared type).
pub(super) fn carries_marker(config: &Config, marker: &Marker, c: &LiveContact) -> bool {
    let ty = config.field_type(&marker.field);
    let held = model::normalize(ty, c.value(&marker.field));
    held.is_some() && held == model::normalize(ty, Some(&marker.value))
}

/// Identities (those a change dropped from the config), to tell which live contacts they name:
/// by ID, or by a key field's normalised value.
pub(super) struct Named<'a> {
    ids: HashSet<&'a str>,
    keys: HashMap<&'a str, HashSet<String>>,
}

impl<'a> Named<'a> {
    pub(super) fn new(config: &Config, identities: &[&'a Identity]) -> Named<'a> {
        let mut named = Named {
            ids: HashSet::new(),
            keys: HashMap::new(),
        };
        for identity in identities {
            match identity {
                Identity::Id(id) => {
                    named.ids.insert(id.as_str());
                }
                Identity::Key { field, value } => {
                    if let Some(v) = model::normalize(config.field_type(field), Some(value)) {
                        named.keys.entry(field.as_str()).or_default().insert(v);
                    }
                }
            }
        }
        named
    }

    /// Whether one of the identities names `c`.
    pub(super) fn names(&self, config: &Config, c: &LiveContact) -> bool {
        self.ids.contains(c.id.as_str())
            || self.keys.iter().any(|(field, values)| {
                model::normalize(config.field_type(field), c.value(field))
                    .is_some_and(|v| values.contains(&v))
            })
    }
}

/// Positions in the marked contacts, by ID and by normalised value of each key field the
/// selected contacts use.
pub(super) struct MarkedIndex<'a> {
    by_id: HashMap<&'a str, [usize; 1]>,
    by_key: HashMap<&'a str, HashMap<String, Vec<usize>>>,
}

impl<'a> MarkedIndex<'a> {
    pub(super) fn new(
        config: &Config,
        marked: &'a [LiveContact],
        items: &[(usize, &'a DesiredContact)],
    ) -> MarkedIndex<'a> {
        let key_fields: BTreeSet<&'a str> = items
            .iter()
            .filter_map(|(_, c)| match &c.identity {
                Identity::Key { field, .. } => Some(field.as_str()),
                Identity::Id(_) => None,
            })
            .collect();
        let mut by_key: HashMap<&str, HashMap<String, Vec<usize>>> = HashMap::new();
        for &field in &key_fields {
            let ty = config.field_type(field);
            let values = by_key.entry(field).or_default();
            for (i, c) in marked.iter().enumerate() {
                if let Some(v) = model::normalize(ty, c.value(field)) {
                    values.entry(v).or_default().push(i);
                }
            }
        }
        MarkedIndex {
            by_id: marked
                .iter()
                .enumerate()
                .map(|(i, c)| (c.id.as_str(), [i]))
                .collect(),
            by_key,
        }
    }

    /// The positions of the marked contacts a desired identity matches (`None`: none).
    pub(super) fn find(&self, config: &Config, identity: &Identity) -> Option<&[usize]> {
        match identity {
            Identity::Id(id) => self.by_id.get(id.as_str()).map(|i| i.as_slice()),
            Identity::Key { field, value } => {
                let wanted = model::normalize(config.field_type(field), Some(value))?;
                self.by_key
                    .get(field.as_str())?
                    .get(&wanted)
                    .map(Vec::as_slice)
            }
        }
    }
}

/// What [`match_marked`] found.
pub(super) struct Matched<'a> {
    /// (position in `selected`, found) for each contact matched.
    pub(super) found: Vec<(usize, Found)>,
    /// The contacts paging did not find, to read one by one.
    pub(super) single: Vec<(usize, &'a DesiredContact)>,
    /// The channel's orphans.
    pub(super) orphans: Vec<LiveContact>,
}

/// Match the selected contacts of a channel (`items`: position in `selected`, contact) to the
/// `marked` contacts paging found: (position, found) for each contact matched, the contacts
/// paging did not find (to read one by one), and the channel's orphans as `orphans` asks.
fn match_marked<'a>(
    config: &Config,
    marked: Vec<LiveContact>,
    items: &[(usize, &'a DesiredContact)],
    orphans: Orphans<'_>,
) -> Matched<'a> {
    let index = MarkedIndex::new(config, &marked, items);
    // Which marked contacts each desired contact matched (indices into `marked`);
    // contacts are then moved out of `marked`, not cloned: on a big channel the
    // copies would double the memory the reader holds.
    let mut hits: Vec<(usize, std::ops::Range<usize>)> = Vec::new();
    let mut hit_buf: Vec<usize> = Vec::with_capacity(items.len());
    let mut uses = vec![0usize; marked.len()];
    let mut found: Vec<(usize, Found)> = Vec::new();
    let mut single: Vec<(usize, &DesiredContact)> = Vec::new();
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
                Some(live) => {
                    found.push((pos, present(config, live)));
                }
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
    let unmatched = marked
        .into_iter()
        .zip(matched)
        .filter(|(_, m)| !m)
        .filter_map(|(c, _)| c);
    let orphans = match orphans {
        Orphans::None => Vec::new(),
        Orphans::All => unmatched.collect(),
        Orphans::Dropped(gone) => {
            let named = Named::new(config, gone);
            unmatched.filter(|c| named.names(config, c)).collect()
        }
    };
    Matched {
        found,
        single,
        orphans,
    }
}
