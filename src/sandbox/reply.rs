//! What the sandbox answers, in the documented shapes: the documents' error messages, an error
//! answer (`{"status":"error","message":...,"data":[]}` with its status and `Retry-After`), a JSON
//! answer, a connection closed without an answer (a fault), a contact and a page of contacts as
//! the platform serialises them, and a request body read as the platform reads it.

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::api::wire::{Links, Meta, StatusBody, WireContact};

/// The documents' 401 message.
pub(crate) const MSG_UNAUTHORIZED: &str = "API Token is invalid.";
/// The documents' 429 message.
pub(crate) const MSG_TOO_MANY: &str = "Too many requests";
/// The documents' 405 message.
pub(crate) const MSG_METHOD: &str = "405 Method Not Allowed.";
/// What a Viber channel says to an ID that is not Base64.
pub(crate) const MSG_VIBER_ID: &str =
    "Invalid contact ID: Viber contact IDs must be Base64-encoded";
/// What an unknown contact gets.
pub(crate) const MSG_NO_CONTACT: &str = "Contact not found.";
/// An error answer in the documented shape.
#[derive(Debug)]
pub(crate) struct Reject {
    pub(super) status: StatusCode,
    pub(super) message: String,
    pub(super) retry_after: Option<u64>,
}

impl Reject {
    pub(super) fn new(status: StatusCode, message: impl Into<String>) -> Reject {
        Reject {
            status,
            message: message.into(),
            retry_after: None,
        }
    }

    pub(super) fn forbidden(message: impl Into<String>) -> Reject {
        Reject::new(StatusCode::FORBIDDEN, message)
    }

    pub(super) fn too_many(retry_after: Option<u64>) -> Reject {
        Reject {
            retry_after,
            ..Reject::new(StatusCode::TOO_MANY_REQUESTS, MSG_TOO_MANY)
        }
    }
}

impl IntoResponse for Reject {
    fn into_response(self) -> Response {
        let mut resp = json(self.status, &StatusBody::error(self.message));
        if let Some(secs) = self.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

/// A JSON response.
pub(super) fn json(status: StatusCode, body: &impl Serialize) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (status, [(header::CONTENT_TYPE, "application/json")], bytes).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

pub(super) fn ok(body: &impl Serialize) -> Result<Response, Reject> {
    Ok(json(StatusCode::OK, body))
}

/// A response whose body fails before its first byte, so hyper closes the connection without
/// having written anything: the client sees a connection closed with no response.
pub(super) fn abort_connection() -> Response {
    let stream = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "sandbox fault: connection closed without a response",
        ))
    });
    Response::new(Body::from_stream(stream))
}

/// A contact as the platform serialises it: an empty `custom_fields` is PHP's empty array, `[]`.
#[derive(Serialize)]
pub(super) struct OutContact<'a> {
    pub(super) id: &'a str,
    #[serde(serialize_with = "php_map")]
    pub(super) custom_fields: &'a crate::model::Fields,
    pub(super) tags: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) created_at: Option<i64>,
}

impl<'a> From<&'a WireContact> for OutContact<'a> {
    fn from(c: &'a WireContact) -> Self {
        OutContact {
            id: &c.id,
            custom_fields: &c.custom_fields,
            tags: &c.tags,
            created_at: c.created_at,
        }
    }
}

pub(super) fn php_map<S: serde::Serializer>(
    map: &&crate::model::Fields,
    s: S,
) -> Result<S::Ok, S::Error> {
    if map.is_empty() {
        s.serialize_some(&[(); 0])
    } else {
        map.serialize(s)
    }
}

#[derive(Serialize)]
pub(super) struct OutPage<'a> {
    pub(super) data: Vec<OutContact<'a>>,
    pub(super) links: Links,
    pub(super) meta: Meta,
}

pub(super) fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, Reject> {
    // Only an object: serde would also take a list as the fields in order.
    if body.trim_ascii_start().first() != Some(&b'{') {
        return Err(Reject::forbidden(
            "Invalid request body: expected a JSON object",
        ));
    }
    serde_json::from_slice(body)
        .map_err(|e| Reject::forbidden(format!("Invalid request body: {e}")))
}
