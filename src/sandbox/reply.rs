//! What the sandbox answers, in the documented shapes: the API's refusals in the documents'
//! words ([`Refusal`]) and its successes' ([`Success`]), an error
//! answer (`{"status":"error","message":...,"data":[]}` with its status and `Retry-After`), a JSON
//! answer, a connection closed without an answer (a fault), a contact and a page of contacts as
//! the platform serialises them, and a request body read as the platform reads it.

use std::fmt;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::api::wire::{Links, Meta, StatusBody, WireContact};
use crate::model::{MAX_FIELDS_PER_CALL, MAX_TAGS_PER_CALL};

/// Why the API refuses a call, as its error body's `message` says it: each `#[error]` is the
/// exact text on the wire (the documents' where they give one).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Refusal {
    /// The documents' 401: no channel has the request's token.
    #[error("API Token is invalid.")]
    Unauthorized,
    /// The documents' 429: over the channel's rate limit.
    #[error("Too many requests")]
    TooMany,
    /// The documents' 405.
    #[error("405 Method Not Allowed.")]
    Method,
    /// A Viber channel's path ID that is not Base64.
    #[error("Invalid contact ID: Viber contact IDs must be Base64-encoded")]
    ViberId,
    /// A path ID the router could not read.
    #[error("Invalid contact ID.")]
    ContactId,
    /// An unknown contact.
    #[error("Contact not found.")]
    NoContact,
    /// A path no route serves.
    #[error("Not found.")]
    NoRoute,
    /// An injected 500.
    #[error("Server Error")]
    ServerError,
    /// A write without fields.
    #[error("The custom_fields field is required.")]
    NoFields,
    /// More fields than one call takes (this many).
    #[error("Maximum {max} custom fields per request ({0} given).", max = MAX_FIELDS_PER_CALL)]
    TooManyFields(usize),
    /// A field write without a name.
    #[error("Every custom field needs a name.")]
    UnnamedField,
    /// A write of a read-only field (its name).
    #[error("The field {0} is read-only and cannot be updated.")]
    ReadOnly(String),
    /// A tag call without tags.
    #[error("The tags field is required.")]
    NoTags,
    /// More tags than one call takes (this many).
    #[error("Maximum {max} tags per request ({0} given).", max = MAX_TAGS_PER_CALL)]
    TooManyTags(usize),
    /// A tag call naming an empty tag.
    #[error("Tag names must not be empty.")]
    EmptyTag,
    /// A look-up without this query parameter.
    #[error("The {0} field is required.")]
    Required(String),
    /// A query string the router could not read (axum's words).
    #[error("{0}")]
    Query(String),
    /// A request body that is not a JSON object.
    #[error("Invalid request body: expected a JSON object")]
    NotAnObject,
    /// A request body that does not parse (the parser's words).
    #[error("Invalid request body: {0}")]
    Body(String),
    /// An admin request's faults that do not parse (the parser's words).
    #[error("Invalid faults: {0}")]
    Faults(String),
    /// An admin request's faults that parse but make no sense (see
    /// `SandboxState::normalize`).
    #[error("{0}")]
    State(String),
}

/// What a Viber channel says to an ID that is not Base64.
pub(crate) const MSG_VIBER_ID: Refusal = Refusal::ViberId;

/// What a tag call that succeeded says, in the documents' words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Success {
    /// Call 4.
    TagsAdded,
    /// Call 5.
    TagsRemoved,
}

impl fmt::Display for Success {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Success::TagsAdded => "Contact Tags have been added successfully.",
            Success::TagsRemoved => "Contact Tags deleted successfully.",
        })
    }
}

/// The error of the connection a fault closes without an answer (the server's side only: the
/// client sees no answer).
#[derive(Debug, thiserror::Error)]
#[error("sandbox fault: connection closed without a response")]
struct ClosedByFault;

/// An error answer in the documented shape.
#[derive(Debug)]
pub(crate) struct Reject {
    pub(super) status: StatusCode,
    pub(super) message: Refusal,
    pub(super) retry_after: Option<u64>,
}

impl Reject {
    pub(super) fn new(status: StatusCode, message: Refusal) -> Reject {
        Reject {
            status,
            message,
            retry_after: None,
        }
    }

    pub(super) fn forbidden(message: Refusal) -> Reject {
        Reject::new(StatusCode::FORBIDDEN, message)
    }

    pub(super) fn too_many(retry_after: Option<u64>) -> Reject {
        Reject {
            retry_after,
            ..Reject::new(StatusCode::TOO_MANY_REQUESTS, Refusal::TooMany)
        }
    }
}

impl IntoResponse for Reject {
    fn into_response(self) -> Response {
        let mut resp = json(self.status, &StatusBody::error(self.message.to_string()));
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
            ClosedByFault,
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
        return Err(Reject::forbidden(Refusal::NotAnObject));
    }
    serde_json::from_slice(body).map_err(|e| Reject::forbidden(Refusal::Body(e.to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_refusal_and_success_says_its_wire_text() {
        for (said, text) in [
            (Refusal::Unauthorized, "API Token is invalid."),
            (Refusal::TooMany, "Too many requests"),
            (Refusal::Method, "405 Method Not Allowed."),
            (
                Refusal::ViberId,
                "Invalid contact ID: Viber contact IDs must be Base64-encoded",
            ),
            (Refusal::ContactId, "Invalid contact ID."),
            (Refusal::NoContact, "Contact not found."),
            (Refusal::NoRoute, "Not found."),
            (Refusal::ServerError, "Server Error"),
            (Refusal::NoFields, "The custom_fields field is required."),
            (
                Refusal::TooManyFields(31),
                "Maximum 30 custom fields per request (31 given).",
            ),
            (Refusal::UnnamedField, "Every custom field needs a name."),
            (
                Refusal::ReadOnly("locale".into()),
                "The field locale is read-only and cannot be updated.",
            ),
            (Refusal::NoTags, "The tags field is required."),
            (
                Refusal::TooManyTags(11),
                "Maximum 10 tags per request (11 given).",
            ),
            (Refusal::EmptyTag, "Tag names must not be empty."),
            (
                Refusal::Required("value".into()),
                "The value field is required.",
            ),
            (
                Refusal::NotAnObject,
                "Invalid request body: expected a JSON object",
            ),
            (Refusal::Body("EOF".into()), "Invalid request body: EOF"),
            (Refusal::Faults("EOF".into()), "Invalid faults: EOF"),
        ] {
            assert_eq!(said.to_string(), text);
        }
        assert_eq!(
            Success::TagsAdded.to_string(),
            "Contact Tags have been added successfully."
        );
        assert_eq!(
            Success::TagsRemoved.to_string(),
            "Contact Tags deleted successfully."
        );
    }
}
