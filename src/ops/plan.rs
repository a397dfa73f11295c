//! The plan operation: read the live state of the targeted contacts, and plan them.

use super::session::Session;
use crate::plan::{Plan, PlanOptions, plan};
use crate::read::{ReadOptions, read_live};

/// Read live state for the session's contacts and plan them.
pub async fn make_plan(session: &Session, prune: bool) -> Plan {
    let live = read_live(
        &session.config,
        &session.clients,
        &session.selected,
        ReadOptions {
            orphans: session.orphans,
            ..ReadOptions::default()
        },
    )
    .await;
    plan(&session.config, live, PlanOptions { prune })
}
