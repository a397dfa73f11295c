//! The six calls of the Contacts API under `/api/v1/...`: each authorises the token, counts the
//! call against the channel's rate limit, reads its path and body as the platform does, checks
//! the API's limits (30 fields, 10 tags, read-only fields) and acts on the channel's store.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::reply::{
    OutContact, OutPage, Refusal, Reject, Success, abort_connection, ok, parse_body,
};
use super::shared::{Shared, Shr, lock};
use crate::api::wire::{Data, FieldsBody, IdOnly, Links, Meta, StatusBody, TagsBody, WireContact};
use crate::model::{DEFAULT_PAGE_SIZE, FieldWrite, MAX_FIELDS_PER_CALL, MAX_TAGS_PER_CALL};

/// Fields the API refuses to write.
pub(super) const READ_ONLY: [&str; 3] = ["locale", "timezone", "gender"];

pub(super) fn check_fields(fields: &[FieldWrite]) -> Result<(), Reject> {
    if fields.is_empty() {
        return Err(Reject::forbidden(Refusal::NoFields));
    }
    if fields.len() > MAX_FIELDS_PER_CALL {
        return Err(Reject::forbidden(Refusal::TooManyFields(fields.len())));
    }
    for f in fields {
        if f.name.trim().is_empty() {
            return Err(Reject::forbidden(Refusal::UnnamedField));
        }
        if READ_ONLY.contains(&f.name.as_str()) {
            return Err(Reject::forbidden(Refusal::ReadOnly(f.name.clone())));
        }
    }
    Ok(())
}

pub(super) fn check_tags(tags: &[String]) -> Result<(), Reject> {
    if tags.is_empty() {
        return Err(Reject::forbidden(Refusal::NoTags));
    }
    if tags.len() > MAX_TAGS_PER_CALL {
        return Err(Reject::forbidden(Refusal::TooManyTags(tags.len())));
    }
    if tags.iter().any(|t| t.trim().is_empty()) {
        return Err(Reject::forbidden(Refusal::EmptyTag));
    }
    Ok(())
}

pub(super) type Reply = Result<Response, Reject>;

/// Call 1: `GET /v1/contact/by_custom_field?name=N&value=V[&page=P][&per_page=K]`.
pub(super) async fn lookup(
    State(s): Shr,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Reply {
    let ch = s.authorize(&headers)?;
    ch.admit()?;
    let Query(params) = query.map_err(|e| Reject::forbidden(Refusal::Query(e.body_text())))?;
    // PHP keeps the last of repeated parameters.
    let param = |key: &str| {
        params
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let required = |key: &str| {
        param(key)
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| Reject::forbidden(Refusal::Required(key.to_string())))
    };
    let name = required("name")?;
    let value = required("value")?;
    let number = |key: &str| {
        param(key)
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|&n| n >= 1)
    };
    let page = number("page").unwrap_or(1);
    let per_page = number("per_page")
        .unwrap_or(DEFAULT_PAGE_SIZE as u64)
        .min(ch.max_per_page);
    let path = format!("http://{}/api/v1/contact/by_custom_field", s.host(&headers));
    let offset = (page - 1).saturating_mul(per_page);

    let mut inner = lock(&ch.inner);
    let (total, found) = inner.store.lookup(name, value, offset, per_page);
    let last_page = total.div_ceil(per_page).max(1);
    let shown = found.len() as u64;
    let page_url = |p: u64| format!("{path}?page={p}");
    let body = OutPage {
        data: found.into_iter().map(OutContact::from).collect(),
        links: Links {
            first: Some(page_url(1)),
            last: Some(page_url(last_page)),
            prev: (page > 1).then(|| page_url(page - 1)),
            next: (page < last_page).then(|| page_url(page + 1)),
        },
        meta: Meta {
            current_page: Some(page),
            from: (shown > 0).then_some(offset + 1),
            last_page: Some(last_page),
            path: Some(path.clone()),
            per_page: Some(per_page),
            to: (shown > 0).then_some(offset + shown),
            total: Some(total),
        },
    };
    ok(&body)
}

/// Call 2: `GET /v1/contact/{id}`.
pub(super) async fn get_contact(
    State(s): Shr,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Reply {
    let ch = s.authorize(&headers)?;
    ch.admit()?;
    let id = ch.contact_id(path, ch.encode_get)?;
    let inner = lock(&ch.inner);
    let contact = inner
        .store
        .get(&id)
        .ok_or_else(|| Reject::new(StatusCode::NOT_FOUND, Refusal::NoContact))?;
    ok(&Data {
        data: OutContact::from(contact),
    })
}

/// Call 3: `PUT /v1/contact/{id}`.
pub(super) async fn update(
    State(s): Shr,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Reply {
    let ch = s.authorize(&headers)?;
    ch.admit()?;
    let id = ch.contact_id(path, ch.viber)?;
    let FieldsBody { custom_fields } = parse_body(&body)?;
    check_fields(&custom_fields)?;
    if !lock(&ch.inner).store.write_fields(&id, &custom_fields) {
        return Err(Reject::new(StatusCode::NOT_FOUND, Refusal::NoContact));
    }
    ok(&Data {
        data: IdOnly { id },
    })
}

/// Calls 4 and 5: `POST` / `DELETE /v1/contact/{id}/tags`.
pub(super) async fn tags(
    s: &Shared,
    headers: &HeaderMap,
    path: Result<Path<String>, PathRejection>,
    body: &[u8],
    add: bool,
) -> Reply {
    let ch = s.authorize(headers)?;
    ch.admit()?;
    let id = ch.contact_id(path, ch.viber)?;
    let TagsBody { tags } = parse_body(body)?;
    check_tags(&tags)?;
    let mut inner = lock(&ch.inner);
    let found = if add {
        inner.store.add_tags(&id, &tags)
    } else {
        inner.store.remove_tags(&id, &tags)
    };
    if !found {
        return Err(Reject::new(StatusCode::NOT_FOUND, Refusal::NoContact));
    }
    let done = if add {
        Success::TagsAdded
    } else {
        Success::TagsRemoved
    };
    ok(&StatusBody::success(done.to_string()))
}

pub(super) async fn add_tags(
    State(s): Shr,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Reply {
    tags(&s, &headers, path, &body, true).await
}

pub(super) async fn remove_tags(
    State(s): Shr,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Reply {
    tags(&s, &headers, path, &body, false).await
}

/// The gate's random draw for "drop this create's response".
#[derive(Debug, Clone, Copy)]
pub(super) struct RandomDrop(pub(super) bool);

/// Call 6: `POST /v1/contact` (and `/v1/contact/`, as the documents write it).
pub(super) async fn create(
    State(s): Shr,
    headers: HeaderMap,
    drop_draw: Option<Extension<RandomDrop>>,
    body: Bytes,
) -> Reply {
    let ch = s.authorize(&headers)?;
    ch.admit()?;
    let FieldsBody { custom_fields } = parse_body(&body)?;
    check_fields(&custom_fields)?;
    let created_at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_secs()).ok());
    let id = {
        let mut inner = lock(&ch.inner);
        let id = inner.new_id(ch.viber);
        let mut contact = WireContact {
            id: id.clone(),
            custom_fields: Default::default(),
            tags: vec![],
            created_at,
        };
        for f in custom_fields {
            if f.value.is_empty() {
                contact.custom_fields.remove(&f.name);
            } else {
                contact.custom_fields.insert(f.name, Some(f.value.into()));
            }
        }
        inner.store.insert(contact);
        inner.stats.creates_committed += 1;
        id
    };
    let random = drop_draw.is_some_and(|Extension(RandomDrop(d))| d);
    if lock(&s.faults).on_create_committed(random) {
        lock(&ch.inner).stats.create_responses_dropped += 1;
        return Ok(abort_connection());
    }
    ok(&Data {
        data: IdOnly { id },
    })
}
