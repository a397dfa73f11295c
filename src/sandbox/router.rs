//! The sandbox's routes: the six calls under `/api/v1/...` (with and without the trailing `/`
//! the documents write on create), the admin endpoints, the documented 405 and a 404 for the
//! rest, all behind the gate.

use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use axum::middleware;
use axum::routing::{get, post};

use super::admin::{admin_get_faults, admin_put_faults, admin_state, admin_stats};
use super::gate::gate;
use super::handlers::{add_tags, create, get_contact, lookup, remove_tags, update};
use super::reply::{Refusal, Reject};
use super::shared::Shared;

pub(super) async fn method_not_allowed() -> Reject {
    Reject::new(StatusCode::METHOD_NOT_ALLOWED, Refusal::Method)
}

pub(super) async fn not_found() -> Reject {
    Reject::new(StatusCode::NOT_FOUND, Refusal::NoRoute)
}

/// The whole app.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/api/v1/contact/by_custom_field", get(lookup))
        .route("/api/v1/contact/{id}", get(get_contact).put(update))
        .route(
            "/api/v1/contact/{id}/tags",
            post(add_tags).delete(remove_tags),
        )
        .route("/api/v1/contact", post(create))
        .route("/api/v1/contact/", post(create))
        .route("/_sandbox/state", get(admin_state))
        .route("/_sandbox/stats", get(admin_stats))
        .route(
            "/_sandbox/faults",
            get(admin_get_faults).put(admin_put_faults),
        )
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(shared.clone(), gate))
        .with_state(shared)
}
