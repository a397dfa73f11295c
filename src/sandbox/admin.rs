//! The admin endpoints under `/_sandbox/`: the current state, the counters, and the fault knobs
//! (read and replaced at run time). Not part of the platform's API; never rate-limited or faulted.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::reply::{Refusal, Reject, json};
use super::shared::{Shr, lock};
use super::state::{Faults, SandboxState};

/// A faults body that is JSON but not an object.
#[derive(Debug, thiserror::Error)]
#[error("expected a JSON object")]
struct NotAnObject;

pub(super) async fn admin_state(State(s): Shr) -> Response {
    json(StatusCode::OK, &s.snapshot())
}

pub(super) async fn admin_stats(State(s): Shr) -> Response {
    json(StatusCode::OK, &s.stats())
}

pub(super) async fn admin_get_faults(State(s): Shr) -> Response {
    json(StatusCode::OK, lock(&s.faults).faults())
}

pub(super) async fn admin_put_faults(State(s): Shr, body: Bytes) -> Response {
    // Only an object: serde would also take a list as the fields in order.
    let parsed = serde_json::from_slice::<serde_json::Value>(&body).and_then(|v| match v {
        serde_json::Value::Object(_) => serde_json::from_value::<Faults>(v),
        _ => Err(serde::de::Error::custom(NotAnObject)),
    });
    let faults = match parsed {
        Ok(f) => f,
        Err(e) => return bad_request(Refusal::Faults(e.to_string())),
    };
    let mut check = SandboxState {
        faults,
        ..SandboxState::default()
    };
    if let Err(e) = check.normalize() {
        return bad_request(Refusal::State(e));
    }
    s.set_faults(check.faults.clone());
    json(StatusCode::OK, &check.faults)
}

/// A 400 in the documented error shape.
fn bad_request(why: Refusal) -> Response {
    Reject::new(StatusCode::BAD_REQUEST, why).into_response()
}
