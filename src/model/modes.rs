//! Who has the last word on a value (SPEC "Who owns a value: write modes"): a field's
//! [`WriteMode`] and a managed tag's [`TagWrite`]. Pure data; the planner decides what they mean
//! for calls, the config loader where they may be set.

use serde::{Deserialize, Serialize};

/// When a declared field is written to the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WriteMode {
    /// The platform follows the repo: every difference is written (the default).
    #[default]
    Sync,
    /// Written when contactctl creates the contact, never after.
    Create,
    /// Written only while the platform holds no value (missing, `null` or `""`).
    IfEmpty,
}

impl WriteMode {
    /// The name used in the config and in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            WriteMode::Sync => "sync",
            WriteMode::Create => "create",
            WriteMode::IfEmpty => "if_empty",
        }
    }
}

/// How a managed tag is reconciled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TagWrite {
    /// Added where a contact lists it, removed where its `tags:` does not (the default).
    #[default]
    Sync,
    /// Added where a contact lists it, never removed.
    Add,
}

impl TagWrite {
    /// The name used in the config and in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            TagWrite::Sync => "sync",
            TagWrite::Add => "add",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_are_spelled_as_the_config_writes_them() {
        for mode in [WriteMode::Sync, WriteMode::Create, WriteMode::IfEmpty] {
            let json = serde_json::to_string(&mode).unwrap();
            assert_eq!(json, format!("\"{}\"", mode.as_str()));
            assert_eq!(serde_json::from_str::<WriteMode>(&json).unwrap(), mode);
        }
        for mode in [TagWrite::Sync, TagWrite::Add] {
            let json = serde_json::to_string(&mode).unwrap();
            assert_eq!(json, format!("\"{}\"", mode.as_str()));
        }
        assert_eq!(WriteMode::default(), WriteMode::Sync);
        assert_eq!(TagWrite::default(), TagWrite::Sync);
    }
}
