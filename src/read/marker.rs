//! Reading in bulk with the marker (SPEC "Reading in bulk"): page through every contact that
//! carries the marker, and match the desired contacts to them by ID or normalised key value.

use std::collections::{BTreeSet, HashMap, HashSet};

use super::pager::{FailedPage, PageError, PageLimit, PageOptions, page_all};

use crate::api::ContactsApi;
use crate::model::{self, Config, DesiredContact, Identity, LiveContact, Marker};

/// Every contact carrying the marker, through the pager: contacts the server returned without
/// the marker's exact value (a loose match) are dropped. A failed later page only makes the list
/// shorter (those contacts are then read one by one); a 401, a failed first page or more pages
/// than `limit` is an error.
pub(super) async fn page_marked<C: ContactsApi>(
    config: &Config,
    client: &C,
    marker: &Marker,
    per_page: u64,
    concurrency: usize,
    limit: PageLimit,
    first: impl FnOnce(&crate::api::LookupPage),
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
