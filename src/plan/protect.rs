//! Protected fields (`safety.protected_fields`, SPEC "Who owns a value: write modes"): which
//! changes of a plan touch them, and the warning a plan carries about them. Pure: a plan and the
//! config in, the protected changes out. The planner marks them on each field change; the apply
//! gate asks [`protected_changes`], which reads them again from the calls and the live snapshot
//! the plan carries rather than from the marks, so a saved plan is judged by what it would do.

use std::fmt;

use super::{Call, ContactPlan, Plan, ProtectedContact, Warning};
use crate::model::{Config, Identity, same_value};

/// Contacts named in the plan's warning before "and N more".
const NAMED_IN_WARNING: usize = 10;

/// One protected field a plan would change on one existing contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtectedChange {
    /// Channel name.
    pub channel: String,
    /// The contact as the plan names it.
    pub identity: Identity,
    /// Its platform ID.
    pub id: Option<String>,
    /// The protected field.
    pub field: String,
}

impl fmt::Display for ProtectedChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} of {} on {}", self.field, self.identity, self.channel)
    }
}

/// Whether writing `after` over `before` (the platform's value, `None` when empty) to `field`
/// of an existing contact is a protected change: the field is protected, the platform holds a
/// value, and the new value differs from it (a clear included). Filling an empty value is not.
pub(crate) fn is_protected(
    config: &Config,
    field: &str,
    before: Option<&str>,
    after: Option<&str>,
) -> bool {
    config.safety.protected_fields.contains(field)
        && before.is_some_and(|b| !b.is_empty())
        && !same_value(config.field_type(field), before, after)
}

/// The protected changes `plan` would make, in plan order: every field an update call writes on
/// a contact that exists (per the live snapshot the plan was made against) whose change
/// [`is_protected`]. Creates are never protected.
pub fn protected_changes(config: &Config, plan: &Plan) -> Vec<ProtectedChange> {
    let mut out = Vec::new();
    if config.safety.protected_fields.is_empty() {
        return out;
    }
    for c in &plan.contacts {
        let Some(live) = &c.live else { continue };
        let mut fields: Vec<&str> = Vec::new();
        for call in &c.calls {
            let Call::Update { fields: writes } = call else {
                continue;
            };
            for w in writes {
                let after = Some(w.value.as_str()).filter(|v| !v.is_empty());
                if is_protected(config, &w.name, live.value(&w.name), after)
                    && !fields.contains(&w.name.as_str())
                {
                    fields.push(&w.name);
                }
            }
        }
        out.extend(fields.into_iter().map(|field| ProtectedChange {
            channel: c.channel.clone(),
            identity: c.identity.clone(),
            id: c.id.clone(),
            field: field.to_string(),
        }));
    }
    out
}

/// The plan's warning about its protected changes (as the planner marked them), if any: the
/// first [`NAMED_IN_WARNING`] contacts with their protected fields, and how many in all.
pub(crate) fn warning(contacts: &[ContactPlan]) -> Option<Warning> {
    let mut named = Vec::new();
    let mut total = 0;
    for c in contacts {
        let fields: Vec<String> = c
            .fields
            .iter()
            .filter(|f| f.protected)
            .map(|f| f.name.clone())
            .collect();
        if fields.is_empty() {
            continue;
        }
        total += 1;
        if named.len() < NAMED_IN_WARNING {
            named.push(ProtectedContact {
                channel: c.channel.clone(),
                identity: c.identity.clone(),
                fields,
            });
        }
    }
    (total > 0).then_some(Warning::ProtectedFields { named, total })
}
