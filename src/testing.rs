//! Builders the unit tests share: a config like SPEC's example, channels, desired and live
//! contacts. Test support only (compiled for `cargo test`); nothing here is under test. The
//! in-memory `ContactsApi` the read and apply tests use is [`fake`].

use std::collections::BTreeSet;

use crate::model::{
    BooleanFormat, Channel, Config, DesiredContact, FieldType, Fields, Identity, LiveContact,
    Marker, Safety, SourceLoc,
};

use crate::plan::{Action, Call, ContactPlan};

pub mod fake;

/// A channel named `name`: `http://127.0.0.1:1/api`, token in `{NAME}_TOKEN`, 100 calls a
/// minute, `TRUE`/`FALSE`, not Viber.
pub fn channel(name: &str) -> Channel {
    Channel {
        name: name.to_string(),
        base_url: "http://127.0.0.1:1/api".into(),
        token_env: format!("{}_TOKEN", name.to_uppercase()),
        token_env_at: Default::default(),
        rate_limit: 100,
        viber: false,
        viber_encode_get: false,
        boolean_format: BooleanFormat::Upper,
    }
}

/// A config with SPEC's example settings and no contacts: channels `web` (100 a minute) and
/// Viber `viber` (200 a minute, `true`/`false`); fields `firstName`, `lastName`, `note` (text),
/// `email`, `phone`, `vip` (boolean), `customerid` (number); tags `Blog Updates`, `Platform
/// Updates`, `VIP`; default channel `web`, key `email`; no marker; default safety.
pub fn config() -> Config {
    let viber = Channel {
        rate_limit: 200,
        viber: true,
        viber_encode_get: true,
        boolean_format: BooleanFormat::Lower,
        ..channel("viber")
    };
    Config {
        channels: [
            ("web".to_string(), channel("web")),
            ("viber".to_string(), viber),
        ]
        .into(),
        fields: [
            ("firstName", FieldType::Text),
            ("lastName", FieldType::Text),
            ("note", FieldType::Text),
            ("email", FieldType::Email),
            ("phone", FieldType::Phone),
            ("vip", FieldType::Boolean),
            ("customerid", FieldType::Number),
        ]
        .into_iter()
        .map(|(n, t)| (n.to_string(), t))
        .collect(),
        field_modes: Default::default(),
        tags: ["Blog Updates", "Platform Updates", "VIP"]
            .map(String::from)
            .into(),
        tag_modes: Default::default(),
        default_channel: Some("web".into()),
        default_key: Some("email".into()),
        marker: None,
        safety: Safety::default(),
        contacts: Vec::new(),
        hash: "0".repeat(64),
    }
}

/// `config` with the marker `managed_by=git`.
pub fn with_marker(mut config: Config) -> Config {
    config.marker = Some(Marker {
        field: "managed_by".into(),
        value: "git".into(),
    });
    config
}

/// The identity `field=value`.
pub fn key(field: &str, value: &str) -> Identity {
    Identity::Key {
        field: field.into(),
        value: value.into(),
    }
}

/// The plan of a contact of channel `web` found by `email`: `action` by `calls`, and nothing
/// else (no ID, no changes, no error, no source, no live state).
pub fn contact_plan(email: &str, action: Action, calls: Vec<Call>) -> ContactPlan {
    ContactPlan {
        channel: "web".into(),
        identity: key("email", email),
        id: None,
        action,
        fields: vec![],
        kept: vec![],
        tags_added: vec![],
        tags_removed: vec![],
        error: None,
        calls,
        marker_only: false,
        source: None,
        live: None,
    }
}

/// A desired contact on `channel` found by `identity`, holding `fields` (`None`: clear it; a
/// key identity's field is added as the config loader adds it) and `tags` (`None`: leave its
/// tags alone).
pub fn desired(
    channel: &str,
    identity: Identity,
    fields: &[(&str, Option<&str>)],
    tags: Option<&[&str]>,
) -> DesiredContact {
    let mut map: Fields = fields.iter().copied().collect();
    if let Identity::Key { field, value } = &identity {
        map.insert(field.as_str(), Some(value.as_str().into()));
    }
    DesiredContact {
        channel: channel.into(),
        identity,
        fields: map,
        tags: tags.map(|t| t.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>()),
        source: SourceLoc {
            file: "contacts.yaml".into(),
            line: 3,
            col: 5,
        },
    }
}

/// A live contact with these field values and tags.
pub fn live(id: &str, fields: &[(&str, &str)], tags: &[&str]) -> LiveContact {
    let fields: Vec<(&str, Option<&str>)> = fields.iter().map(|&(k, v)| (k, Some(v))).collect();
    live_opt(id, &fields, tags)
}

/// A live contact with these field values (`None`: an explicit `null`) and tags.
pub fn live_opt(id: &str, fields: &[(&str, Option<&str>)], tags: &[&str]) -> LiveContact {
    LiveContact {
        id: id.into(),
        fields: fields
            .iter()
            .map(|&(k, v)| (k.to_string(), v.map(str::to_string)))
            .collect(),
        tags: tags.iter().map(|t| t.to_string()).collect(),
    }
}
