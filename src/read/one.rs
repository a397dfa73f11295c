//! Reading one contact by its identity, one call (or a few pages of a key look-up) at a time: by
//! ID with `get`, by key with a look-up filtered by normalised equality. Used for contacts the
//! marker paging did not find, and by apply to find a contact whose create had an unknown outcome.

use crate::api::{ApiError, ContactsApi};
use crate::model::{self, Config, FieldType, Found, Identity, LiveContact};

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
            let ty = config.field_type(field);
            let Some(wanted) = model::normalize(ty, Some(value)) else {
                return Ok(Found::Failed(format!(
                    "the key field {field} has no value to look up"
                )));
            };
            let found = lookup_key(client, field, ty, value, &wanted).await?;
            if found == Found::Absent && wanted != *value {
                // someone may have stored the value in its plain form: finding it here is
                // what keeps apply from creating a duplicate
                return lookup_key(client, field, ty, &wanted, &wanted).await;
            }
            Ok(found)
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
) -> Result<Found, ApiError> {
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
    let n = exact.len() as u64;
    Ok(match exact.len() {
        0 | 1 if !complete => Found::Failed(format!(
            "the look-up of {field}={query} returned {server_total} contacts, too many to check \
             which hold exactly that value"
        )),
        0 => Found::Absent,
        1 => Found::Present(exact.remove(0)),
        _ => Found::Ambiguous {
            ids: exact.into_iter().map(|c| c.id).collect(),
            total: if complete {
                n
            } else {
                server_total.saturating_sub(loose).max(n)
            },
        },
    })
}
