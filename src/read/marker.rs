//! Reading in bulk with the marker (SPEC "Reading in bulk"): page through every contact that
//! carries the marker, and match the desired contacts to them by ID or normalised key value.

use std::collections::{BTreeSet, HashMap, HashSet};

use futures::stream::{self, StreamExt};

use crate::api::{ApiError, ContactsApi};
use crate::model::{self, Config, DesiredContact, Identity, LiveContact, Marker};

/// Every contact carrying the marker: page 1, then the remaining pages in waves of
/// `concurrency` pages read at once. Contacts the server returned without the marker's exact
/// value (a loose match) are dropped. A failed later page only makes the list shorter (those
/// contacts are then read one by one); a 401 or a failed first page is an error.
///
/// Paging stops after a wave that brought no contact not seen before (empty pages, or a server
/// that ignores `page`), whatever `last_page` claims: a server answering `last_page: 1000000000`
/// must not be read for ever.
pub(super) async fn page_marked<C: ContactsApi>(
    config: &Config,
    client: &C,
    marker: &Marker,
    per_page: u64,
    concurrency: usize,
) -> Result<Vec<LiveContact>, ApiError> {
    let ty = config.field_type(&marker.field);
    let wanted = model::normalize(ty, Some(&marker.value));
    let mut seen: HashSet<String> = HashSet::new();
    let mut marked = Vec::new();
    // Takes a page's contacts; how many it had that no earlier page had.
    let mut take = |contacts: Vec<LiveContact>| {
        let mut fresh = 0usize;
        for c in contacts {
            if !seen.insert(c.id.clone()) {
                continue;
            }
            fresh += 1;
            if model::normalize(ty, c.value(&marker.field)) == wanted {
                marked.push(c);
            }
        }
        fresh
    };
    let first = client
        .lookup_page(&marker.field, &marker.value, 1, per_page)
        .await?;
    let last = first.last_page;
    take(first.contacts);
    let wave_size = u64::try_from(concurrency.max(1)).unwrap_or(u64::MAX);
    let mut next = 2u64;
    while next <= last {
        let end = last.min(next.saturating_add(wave_size - 1));
        let wave: Vec<Result<_, ApiError>> = stream::iter(next..=end)
            .map(|p| client.lookup_page(&marker.field, &marker.value, p, per_page))
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
        let mut fresh = 0;
        for page in wave {
            match page {
                Ok(p) => fresh += take(p.contacts),
                Err(e) if e.stops_channel() => return Err(e),
                Err(_) => {}
            }
        }
        if fresh == 0 || end == u64::MAX {
            break;
        }
        next = end + 1;
    }
    Ok(marked)
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
