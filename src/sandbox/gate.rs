//! The gate in front of the API: counts every API request (per channel, per call kind), then
//! injects the fault the knobs call for before routing reaches the API, so an injected fault does
//! nothing and uses no rate-limit slot. Slow answers are delayed after the call was served.

use std::sync::atomic::Ordering;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::faults::Injected;
use super::handlers::RandomDrop;
use super::reply::{Refusal, Reject, abort_connection};
use super::shared::{Shr, lock};
use super::stats::CallKind;

/// Counts every API request, then injects the fault the knobs call for, before routing
/// reaches the API (so an injected fault does nothing and uses no rate-limit slot).
pub(super) async fn gate(State(s): Shr, mut req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if !(path == "/api" || path.starts_with("/api/")) {
        return next.run(req).await;
    }
    s.total.fetch_add(1, Ordering::Relaxed);
    let kind = CallKind::classify(req.method(), path);
    let ch = s.channel_of(req.headers());
    let decision = lock(&s.faults).on_request();
    s.count(ch, |st| {
        st.requests += 1;
        st.calls.bump(kind);
    });
    if !decision.latency.is_zero() {
        tokio::time::sleep(decision.latency).await;
    }
    match decision.injected {
        Injected::Nothing => {}
        Injected::Reset => {
            s.count(ch, |st| st.injected_resets += 1);
            return abort_connection();
        }
        Injected::ServerError => {
            s.count(ch, |st| st.injected_500 += 1);
            return Reject::new(StatusCode::INTERNAL_SERVER_ERROR, Refusal::ServerError)
                .into_response();
        }
        Injected::Throttle(retry_after) => {
            s.count(ch, |st| st.injected_429 += 1);
            return Reject::too_many(retry_after).into_response();
        }
        Injected::Unauthorized => {
            s.count(ch, |st| st.injected_401 += 1);
            return Reject::new(StatusCode::UNAUTHORIZED, Refusal::Unauthorized).into_response();
        }
    }
    req.extensions_mut()
        .insert(RandomDrop(decision.random_drop_create));
    let response = next.run(req).await;
    if !decision.slow.is_zero() {
        // Served (a write has taken effect); only the answer is late.
        s.count(ch, |st| st.injected_slow += 1);
        tokio::time::sleep(decision.slow).await;
    }
    response
}
