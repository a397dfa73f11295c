//! Reading one contact by its identity, one call (or a few pages of a key look-up) at a time: by
//! ID with `get`, by key with a look-up filtered by normalised equality. Used for contacts the
//! marker paging did not find, for the contacts a change-scoped run reads one by one (dropped
//! ones included), and by apply to find a contact whose create had an unknown outcome.

use crate::api::{ApiError, ContactsApi};
use crate::model::{self, Config, FieldType, Found, Identity, LiveContact, ReadFailure};

/// Pages a key look-up reads, at most, to tell exact matches from a loosely matching server's
/// near misses (only ever needed when the server matches loosely and page 1 is full of misses).
const MAX_KEY_PAGES: u64 = 10;

/// Read one contact by its identity, one by one (no marker): by ID with `get`; by key with a
/// look-up, keeping only contacts whose key equals the value after normalisation, and looking up
/// the normalised form too when the written one finds nothing. Apply uses this to find a
/// contact whose create had an unknown outcome.
pub async fn read_one<C: ContactsApi>(
    client: &C,
    config: &Config,
    identity: &Identity,
) -> Result<Found, ApiError> {
    match identity {
        Identity::Id(id) => Ok(match client.get(id).await? {
            Some(c) => Found::Present(c),
            None => Found::Absent,
        }),
        Identity::Key { field, value } => {
            Ok(match read_key(client, config, field, value).await? {
                None => Found::Failed(ReadFailure::NoKeyValue {
                    field: field.clone(),
                }),
                Some(m) => m.found(field),
            })
        }
    }
}

/// Every contact an identity names, read one by one as [`read_one`] reads it: the contact of an
/// ID, or the contacts whose key normalises to the value (possibly not all of them, when a
/// loosely matching server returned too many to check). A change-scoped run reads the contacts
/// the config dropped so, to find those that carry the marker.
pub async fn read_all<C: ContactsApi>(
    client: &C,
    config: &Config,
    identity: &Identity,
) -> Result<Vec<LiveContact>, ApiError> {
    match identity {
        Identity::Id(id) => Ok(client.get(id).await?.into_iter().collect()),
        Identity::Key { field, value } => Ok(read_key(client, config, field, value)
            .await?
            .map(|m| m.exact)
            .unwrap_or_default()),
    }
}

/// The key look-up of `field`=`value`, as written and then, when that finds nothing, in its
/// normalised form; `None` when the value normalises to nothing.
async fn read_key<C: ContactsApi>(
    client: &C,
    config: &Config,
    field: &str,
    value: &str,
) -> Result<Option<Matches>, ApiError> {
    let ty = config.field_type(field);
    let Some(wanted) = model::normalize(ty, Some(value)) else {
        return Ok(None);
    };
    let found = lookup_key(client, field, ty, value, &wanted).await?;
    if found.is_empty() && wanted != *value {
        // someone may have stored the value in its plain form: finding it here is
        // what keeps apply from creating a duplicate
        return Ok(Some(lookup_key(client, field, ty, &wanted, &wanted).await?));
    }
    Ok(Some(found))
}

/// What a key look-up found: the contacts whose key equals the value after normalisation.
struct Matches {
    query: String,
    exact: Vec<LiveContact>,
    /// Every page that could change the answer was read.
    complete: bool,
    /// What the server said it matched.
    server_total: u64,
    /// Contacts it returned whose key is another value.
    loose: u64,
}

impl Matches {
    /// Nothing found, and nothing left unread that could be it.
    fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.complete
    }

    fn found(mut self, field: &str) -> Found {
        let n = self.exact.len() as u64;
        match self.exact.len() {
            0 | 1 if !self.complete => Found::Failed(ReadFailure::TooManyToCheck {
                field: field.to_string(),
                query: self.query,
                returned: self.server_total,
            }),
            0 => Found::Absent,
            1 => Found::Present(self.exact.remove(0)),
            _ => Found::Ambiguous {
                ids: self.exact.into_iter().map(|c| c.id).collect(),
                total: if self.complete {
                    n
                } else {
                    self.server_total.saturating_sub(self.loose).max(n)
                },
            },
        }
    }
}

/// Look `query` up in `field` and keep the contacts whose value normalises to `wanted`.
async fn lookup_key<C: ContactsApi>(
    client: &C,
    field: &str,
    ty: FieldType,
    query: &str,
    wanted: &str,
) -> Result<Matches, ApiError> {
    let is_match =
        |c: &LiveContact| model::normalize(ty, c.value(field)).as_deref() == Some(wanted);
    let first = client.lookup_page(field, query, 1, 0).await?;
    let server_total = first.total;
    let last_page = first.last_page;
    let mut exact: Vec<LiveContact> = Vec::new();
    let mut loose = 0u64;
    let mut take = |page: Vec<LiveContact>, exact: &mut Vec<LiveContact>| {
        for c in page {
            if is_match(&c) {
                if !exact.iter().any(|e| e.id == c.id) {
                    exact.push(c);
                }
            } else {
                loose += 1;
            }
        }
    };
    take(first.contacts, &mut exact);
    let mut page = 1;
    let mut complete = last_page <= 1;
    // Further pages only matter while they could change the answer (fewer than two exact
    // matches so far); a server that matches exactly never gets here with more than one page
    // and fewer than two matches.
    while !complete && exact.len() < 2 && page < MAX_KEY_PAGES {
        page += 1;
        let p = client.lookup_page(field, query, page, 0).await?;
        let empty = p.contacts.is_empty();
        take(p.contacts, &mut exact);
        complete = empty || page >= last_page;
    }
    Ok(Matches {
        query: query.to_string(),
        exact,
        complete,
        server_total,
        loose,
    })
}
