//! The admin endpoints under `/_sandbox/`: the current state, the counters, and the fault knobs
//! (read and replaced at run time). Not part of the platform's API; never rate-limited or faulted.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::reply::json;
use super::shared::{Shr, lock};
use super::state::{Faults, SandboxState};
use crate::api::wire::StatusBody;

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
        _ => Err(serde::de::Error::custom("expected a JSON object")),
    });
    let faults = match parsed {
        Ok(f) => f,
        Err(e) => {
            return json(
                StatusCode::BAD_REQUEST,
                &StatusBody::error(format!("Invalid faults: {e}")),
            );
        }
    };
    let mut check = SandboxState {
        faults,
        ..SandboxState::default()
    };
    if let Err(e) = check.normalize() {
        return json(StatusCode::BAD_REQUEST, &StatusBody::error(e));
    }
    s.set_faults(check.faults.clone());
    json(StatusCode::OK, &check.faults)
}
