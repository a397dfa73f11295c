//! The planning algorithm: desired × live → per-contact changes and calls. (Being written.)

use super::{LiveState, Plan, PlanOptions};
use crate::model::Config;

/// Decide what apply must do so the platform matches `config` for the contacts in `live`.
pub fn plan(_config: &Config, _live: &LiveState, _options: PlanOptions) -> Plan {
    todo!("planner")
}
