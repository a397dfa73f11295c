//! Change scope: which contacts of a config (HEAD) have another **effective desired state** than
//! in a config it is compared with (BASE), and which contacts of BASE HEAD no longer has (SPEC
//! "Change-scoped runs"). Pure: configs in, indices and identities out.
//!
//! A contact's effective desired state is everything that decides its calls, and nothing else:
//! - its channel, and that channel's `base_url`, `token_env`, `viber`, `viber_encode_get` and
//!   `boolean_format` (`rate_limit` decides when calls go, not which);
//! - its identity: the ID, or the key field and its value normalised by the key's declared type
//!   (the map key below, so a contact is matched across the two configs by it);
//! - each field it writes: name, declared type, write mode (`sync`, `create`, `if_empty`: it
//!   decides whether a difference is written or kept) and value normalised by that type (`"7"` =
//!   `7.0` on a number; a type change changes how the field compares, so it is a change); a
//!   cleared field differs from an unwritten one;
//! - the marker (field, value, and the marker field's declared type, which decides how paging
//!   matches it), for every contact: apply writes it to each;
//! - its tags and, only when it has a `tags:` key, the managed tag list with each tag's write
//!   mode (which decide what is removed: switching a tag to `add` changes the calls of contacts
//!   that do not list it); a contact without `tags:` leaves tags alone whatever the list says.
//!
//! `safety.protected_fields` is not part of it, as the safety limits are not: it changes no call,
//! only whether `apply` may make the calls it plans. A scoped run trusts that BASE was applied,
//! so a contact out of scope has no change, protected or not, to refuse; the contacts in scope
//! are checked against the current list.
//!
//! `defaults` act only through what they resolve (a contact's channel and key), so they need no
//! entry of their own. Where a contact is written (file, position, order) is not part of it.
//!
//! Memory: BASE is reduced to [`Fingerprints`] — per contact its normalised identity, the
//! identity as written (to read a dropped contact), and a 128-bit digest (SHA-256, truncated) of
//! the rest — so the BASE config can be freed before HEAD is loaded. Two contacts with the same
//! identity are only ever compared with each other, so a digest collision (2^-128) is the only
//! way a change could pass unseen.

use std::collections::{BTreeMap, HashMap};

use compact_str::CompactString;
use sha2::{Digest, Sha256};

use crate::model::{Config, DesiredContact, Identity, Marker, normalize};

/// A digest of a contact's effective desired state, identity apart.
type StateDigest = [u8; 16];

/// A contact's identity as it compares: channel, and ID or key field with its normalised value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    channel: CompactString,
    /// `None` for an ID.
    field: Option<CompactString>,
    value: CompactString,
}

/// One contact of BASE.
#[derive(Debug, Clone)]
struct Entry {
    digest: StateDigest,
    /// Position in BASE, so dropped contacts come out in BASE's order.
    order: u32,
    /// The identity as BASE writes it (a look-up must use the spelling the platform holds).
    identity: Identity,
}

/// BASE, reduced to what a scope needs: each contact's identity and state digest.
#[derive(Debug, Clone, Default)]
pub struct Fingerprints {
    by_key: HashMap<Key, Entry>,
    per_channel: BTreeMap<String, usize>,
    marker: Option<Marker>,
    /// Contacts of BASE (as many as `by_key` holds in a valid config, where identities differ).
    total: usize,
}

impl Fingerprints {
    /// The fingerprints of every contact of `config`.
    pub fn of(config: &Config) -> Fingerprints {
        let shared = Shared::of(config);
        let mut by_key = HashMap::with_capacity(config.contacts.len());
        let mut per_channel: BTreeMap<String, usize> = BTreeMap::new();
        for (i, c) in config.contacts.iter().enumerate() {
            *per_channel.entry(c.channel.clone()).or_default() += 1;
            by_key.insert(
                key(config, c),
                Entry {
                    digest: shared.digest(config, c),
                    order: u32::try_from(i).unwrap_or(u32::MAX),
                    identity: c.identity.clone(),
                },
            );
        }
        Fingerprints {
            by_key,
            per_channel,
            marker: config.marker.clone(),
            total: config.contacts.len(),
        }
    }

    /// Contacts per channel.
    pub fn per_channel(&self) -> &BTreeMap<String, usize> {
        &self.per_channel
    }

    /// The marker (an apply of this config wrote it to every contact).
    pub fn marker(&self) -> Option<&Marker> {
        self.marker.as_ref()
    }

    /// Number of contacts.
    pub fn len(&self) -> usize {
        self.total
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }
}

/// What differs between BASE and HEAD.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scope {
    /// Indices into HEAD's contacts whose effective desired state differs from BASE's, or whose
    /// identity BASE does not have; ascending.
    pub changed: Vec<usize>,
    /// Of `changed`, the contacts whose identity BASE does not have (not written by an apply of
    /// BASE, so not marked either); ascending.
    pub added: Vec<usize>,
    /// Contacts of BASE whose identity HEAD does not have: (channel, identity as BASE writes it),
    /// in BASE's order.
    pub dropped: Vec<(String, Identity)>,
}

/// Compare HEAD with BASE (as [`Fingerprints`]).
pub fn scope(base: &Fingerprints, head: &Config) -> Scope {
    let shared = Shared::of(head);
    let mut seen = vec![false; base.total];
    let mut out = Scope::default();
    for (i, c) in head.contacts.iter().enumerate() {
        match base.by_key.get(&key(head, c)) {
            Some(entry) => {
                if let Some(s) = seen.get_mut(entry.order as usize) {
                    *s = true;
                }
                if entry.digest != shared.digest(head, c) {
                    out.changed.push(i);
                }
            }
            None => {
                out.changed.push(i);
                out.added.push(i);
            }
        }
    }
    let mut dropped: Vec<(&Key, &Entry)> = base
        .by_key
        .iter()
        .filter(|(_, e)| !seen.get(e.order as usize).copied().unwrap_or(false))
        .collect();
    dropped.sort_by_key(|(_, e)| e.order);
    out.dropped = dropped
        .into_iter()
        .map(|(k, e)| (k.channel.to_string(), e.identity.clone()))
        .collect();
    out
}

/// [`scope`] of two loaded configs.
pub fn scope_of(base: &Config, head: &Config) -> Scope {
    scope(&Fingerprints::of(base), head)
}

fn key(config: &Config, c: &DesiredContact) -> Key {
    let (field, value) = match &c.identity {
        Identity::Id(id) => (None, CompactString::from(id.as_str())),
        Identity::Key { field, value } => {
            let ty = config.field_type(field);
            let norm = normalize(ty, Some(value)).unwrap_or_default();
            (Some(CompactString::from(field.as_str())), norm.into())
        }
    };
    Key {
        channel: c.channel.as_str().into(),
        field,
        value,
    }
}

/// The parts of a config many contacts share, digested once.
struct Shared {
    /// Per channel name, its settings that decide calls.
    channels: HashMap<String, Sha256>,
    /// The marker, and the marker field's declared type.
    marker: Vec<u8>,
    /// The managed tag list.
    tags: Vec<u8>,
}

impl Shared {
    fn of(config: &Config) -> Shared {
        let channels = config
            .channels
            .iter()
            .map(|(name, ch)| {
                let mut h = Sha256::new();
                for part in [
                    name.as_str(),
                    &ch.base_url,
                    &ch.token_env,
                    bool_str(ch.viber),
                    bool_str(ch.viber_encode_get),
                    ch.boolean_format.write(true),
                ] {
                    put(&mut h, part);
                }
                (name.clone(), h)
            })
            .collect();
        let mut marker = Vec::new();
        if let Some(m) = &config.marker {
            let ty = config
                .fields
                .get(&m.field)
                .map_or("undeclared", |t| t.as_str());
            for part in [m.field.as_str(), &m.value, ty] {
                push(&mut marker, part);
            }
        }
        let mut tags = Vec::new();
        for t in &config.tags {
            push(&mut tags, t);
            push(&mut tags, config.tag_mode(t).as_str());
        }
        Shared {
            channels,
            marker,
            tags,
        }
    }

    fn digest(&self, config: &Config, c: &DesiredContact) -> StateDigest {
        let mut h = match self.channels.get(&c.channel) {
            Some(ch) => ch.clone(),
            None => {
                let mut h = Sha256::new();
                put(&mut h, &c.channel);
                h
            }
        };
        put(&mut h, "marker");
        h.update(&self.marker);
        put(&mut h, "fields");
        for (name, value) in c.fields.iter() {
            let ty = config.field_type(name);
            put(&mut h, name);
            put(&mut h, ty.as_str());
            put(&mut h, config.field_mode(name).as_str());
            match normalize(ty, value.as_deref()) {
                Some(v) => put(&mut h, &v),
                None => h.update([0xff]),
            }
        }
        match &c.tags {
            None => put(&mut h, "tags:none"),
            Some(tags) => {
                put(&mut h, "tags");
                for t in tags {
                    put(&mut h, t);
                }
                put(&mut h, "managed");
                h.update(&self.tags);
            }
        }
        let full = h.finalize();
        let mut out = [0u8; 16];
        out.copy_from_slice(&full[..16]);
        out
    }
}

fn bool_str(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

/// Length-prefixed, so that no two sequences of parts encode alike.
fn put(h: &mut Sha256, part: &str) {
    h.update((part.len() as u64).to_le_bytes());
    h.update(part.as_bytes());
}

fn push(buf: &mut Vec<u8>, part: &str) {
    buf.extend_from_slice(&(part.len() as u64).to_le_bytes());
    buf.extend_from_slice(part.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{BooleanFormat, FieldType, SourceLoc, TagWrite, WriteMode};
    use crate::testing::{self, key};

    fn email(v: &str) -> Identity {
        key("email", v)
    }

    fn contact(
        channel: &str,
        identity: Identity,
        fields: &[(&str, Option<&str>)],
        tags: Option<&[&str]>,
    ) -> DesiredContact {
        testing::desired(channel, identity, fields, tags)
    }

    /// BASE: ana (web, tags), bo (web, no tags), a Viber contact by ID (tags: []), cy (web);
    /// `city` declared too.
    fn base() -> Config {
        let mut config = testing::config();
        config.fields.insert("city".into(), FieldType::Text);
        config.contacts = vec![
            contact(
                "web",
                email("ana@x.example"),
                &[("firstName", Some("Ana")), ("customerid", Some("7"))],
                Some(&["VIP"]),
            ),
            contact(
                "web",
                email("bo@x.example"),
                &[
                    ("firstName", Some("Bo")),
                    ("phone", Some("+34 600 111 222")),
                ],
                None,
            ),
            contact(
                "viber",
                Identity::Id("v1+/=".into()),
                &[("firstName", Some("Vi")), ("city", None)],
                Some(&[]),
            ),
            contact("web", email("cy@x.example"), &[("vip", Some("TRUE"))], None),
        ];
        config
    }

    /// What HEAD does to BASE, then the expected changed and added indices and dropped
    /// contacts (as `channel identity`).
    type Case = (
        &'static str,
        fn(&mut Config),
        Vec<usize>,
        Vec<usize>,
        Vec<&'static str>,
    );

    fn cases() -> Vec<Case> {
        fn set(c: &mut Config, i: usize, field: &str, value: Option<&str>) {
            c.contacts[i].fields.insert(field, value.map(Into::into));
        }
        vec![
            // ---- not a change ----
            ("nothing", |_| {}, vec![], vec![], vec![]),
            (
                "contacts reordered",
                |c| c.contacts.swap(0, 3),
                vec![],
                vec![],
                vec![],
            ),
            (
                "a contact moved to another file",
                |c| {
                    c.contacts[1].source = SourceLoc {
                        file: "more/people.yaml".into(),
                        line: 40,
                        col: 3,
                    }
                },
                vec![],
                vec![],
                vec![],
            ),
            (
                "a number written as 7.0",
                |c| set(c, 0, "customerid", Some("7.0")),
                vec![],
                vec![],
                vec![],
            ),
            (
                "a number written as 07",
                |c| set(c, 0, "customerid", Some("07")),
                vec![],
                vec![],
                vec![],
            ),
            (
                "a boolean written lower-case",
                |c| set(c, 3, "vip", Some("true")),
                vec![],
                vec![],
                vec![],
            ),
            (
                "a phone written without spaces",
                |c| set(c, 1, "phone", Some("+34600111222")),
                vec![],
                vec![],
                vec![],
            ),
            (
                "an e-mail key in another case",
                |c| {
                    c.contacts[0].identity = email("Ana@X.example");
                    set(c, 0, "email", Some("Ana@X.example"));
                },
                vec![],
                vec![],
                vec![],
            ),
            (
                "a rate limit",
                |c| c.channels.get_mut("web").unwrap().rate_limit = 7,
                vec![],
                vec![],
                vec![],
            ),
            (
                "the safety limits",
                |c| c.safety.max_change_percent = 100.0,
                vec![],
                vec![],
                vec![],
            ),
            (
                "protected fields: they change no call",
                |c| c.safety.protected_fields = ["firstName".to_string()].into(),
                vec![],
                vec![],
                vec![],
            ),
            (
                "the write mode of a field no contact writes",
                |c| {
                    c.field_modes.insert("note".into(), WriteMode::Create);
                },
                vec![],
                vec![],
                vec![],
            ),
            (
                "a field declared that no contact writes",
                |c| {
                    c.fields.insert("nickname".into(), FieldType::Text);
                },
                vec![],
                vec![],
                vec![],
            ),
            (
                "the type of a field no contact writes",
                |c| {
                    c.fields.insert("note".into(), FieldType::Url);
                },
                vec![],
                vec![],
                vec![],
            ),
            (
                "a cleared field written as \"\" instead of null",
                |c| set(c, 2, "city", Some("")),
                vec![],
                vec![],
                vec![],
            ),
            (
                "the default channel, for contacts that name theirs",
                |c| c.default_channel = Some("viber".into()),
                vec![],
                vec![],
                vec![],
            ),
            // ---- a change ----
            (
                "a field value edited",
                |c| set(c, 1, "firstName", Some("Bob")),
                vec![1],
                vec![],
                vec![],
            ),
            (
                "a field cleared",
                |c| set(c, 1, "firstName", None),
                vec![1],
                vec![],
                vec![],
            ),
            (
                "a field written that was not",
                |c| set(c, 3, "firstName", Some("Cy")),
                vec![3],
                vec![],
                vec![],
            ),
            (
                "a field no longer written",
                |c| {
                    c.contacts[1].fields.remove("phone");
                },
                vec![1],
                vec![],
                vec![],
            ),
            (
                "a tag added to a contact",
                |c| {
                    c.contacts[0]
                        .tags
                        .as_mut()
                        .unwrap()
                        .insert("Blog Updates".into());
                },
                vec![0],
                vec![],
                vec![],
            ),
            (
                "tags: [] on a contact that left its tags alone",
                |c| c.contacts[1].tags = Some(Default::default()),
                vec![1],
                vec![],
                vec![],
            ),
            (
                "a tag added to the managed list: contacts with tags: only",
                |c| {
                    c.tags.insert("Newsletter".into());
                },
                vec![0, 2],
                vec![],
                vec![],
            ),
            (
                "a field's write mode: the contacts that set it, a null too",
                |c| {
                    c.fields.insert("city".into(), FieldType::Text);
                    c.field_modes.insert("city".into(), WriteMode::IfEmpty);
                },
                vec![2],
                vec![],
                vec![],
            ),
            (
                "a tag's write mode: every contact with tags:, listing it or not",
                |c| {
                    c.tag_modes.insert("Blog Updates".into(), TagWrite::Add);
                },
                vec![0, 2],
                vec![],
                vec![],
            ),
            (
                "the type of a field a contact writes",
                |c| {
                    c.fields.insert("vip".into(), FieldType::Text);
                },
                vec![3],
                vec![],
                vec![],
            ),
            (
                "a marker set: every contact",
                |c| {
                    c.marker = Some(Marker {
                        field: "managed_by".into(),
                        value: "git".into(),
                    })
                },
                vec![0, 1, 2, 3],
                vec![],
                vec![],
            ),
            (
                "a channel's base_url",
                |c| c.channels.get_mut("viber").unwrap().base_url = "https://b.example/api".into(),
                vec![2],
                vec![],
                vec![],
            ),
            (
                "a channel's token_env",
                |c| c.channels.get_mut("web").unwrap().token_env = "OTHER".into(),
                vec![0, 1, 3],
                vec![],
                vec![],
            ),
            (
                "a channel's viber",
                |c| c.channels.get_mut("web").unwrap().viber = true,
                vec![0, 1, 3],
                vec![],
                vec![],
            ),
            (
                "a channel's viber_encode_get",
                |c| c.channels.get_mut("viber").unwrap().viber_encode_get = false,
                vec![2],
                vec![],
                vec![],
            ),
            (
                "a channel's boolean_format",
                |c| c.channels.get_mut("web").unwrap().boolean_format = BooleanFormat::Lower,
                vec![0, 1, 3],
                vec![],
                vec![],
            ),
            (
                "a key value edited: the old identity leaves, the new one is in",
                |c| {
                    c.contacts[1].identity = email("bob@x.example");
                    set(c, 1, "email", Some("bob@x.example"));
                },
                vec![1],
                vec![1],
                vec!["web email=bo@x.example"],
            ),
            (
                "a contact dropped",
                |c| {
                    c.contacts.remove(3);
                },
                vec![],
                vec![],
                vec!["web email=cy@x.example"],
            ),
            (
                "a contact added",
                |c| {
                    let new = contact("web", email("di@x.example"), &[], None);
                    c.contacts.push(new);
                },
                vec![4],
                vec![4],
                vec![],
            ),
            (
                "a contact moved to another channel",
                |c| c.contacts[1].channel = "viber".into(),
                vec![1],
                vec![1],
                vec!["web email=bo@x.example"],
            ),
            (
                "the key field's type: its values compare otherwise",
                |c| {
                    c.fields.insert("email".into(), FieldType::Text);
                    c.contacts[0].identity = email("Ana@x.example");
                    set(c, 0, "email", Some("Ana@x.example"));
                },
                vec![0, 1, 3],
                vec![0],
                vec!["web email=ana@x.example"],
            ),
        ]
    }

    #[test]
    fn only_a_change_of_the_effective_desired_state_is_in_scope() {
        let base = base();
        let fingerprints = Fingerprints::of(&base);
        assert_eq!(fingerprints.len(), 4);
        assert_eq!(fingerprints.marker(), None);
        assert_eq!(
            fingerprints.per_channel(),
            &BTreeMap::from([("viber".to_string(), 1), ("web".to_string(), 3)])
        );
        for (what, edit, changed, added, dropped) in cases() {
            let mut head = base.clone();
            edit(&mut head);
            let s = scope(&fingerprints, &head);
            let dropped_names: Vec<String> = s
                .dropped
                .iter()
                .map(|(ch, id)| format!("{ch} {id}"))
                .collect();
            assert_eq!(
                (s.changed, s.added, dropped_names),
                (
                    changed,
                    added,
                    dropped.iter().map(|d| d.to_string()).collect()
                ),
                "{what}"
            );
        }
    }

    #[test]
    fn the_scope_is_symmetric_in_what_it_finds() {
        // Going back from HEAD to BASE finds the same contacts changed, with added and dropped
        // swapped.
        let base = base();
        let mut head = base.clone();
        head.contacts.remove(3);
        head.contacts[1].identity = email("bob@x.example");
        head.contacts[1]
            .fields
            .insert("email", Some("bob@x.example".into()));
        let forward = scope_of(&base, &head);
        let back = scope_of(&head, &base);
        assert_eq!(forward.dropped.len(), 2);
        assert_eq!(back.added, vec![1, 3]);
        assert_eq!(
            back.dropped,
            vec![("web".to_string(), email("bob@x.example"))]
        );
    }

    #[test]
    fn dropped_contacts_keep_their_identity_as_written() {
        let base = base();
        let mut moved = base.clone();
        moved.contacts[0].identity = email("Ana@X.Example");
        moved.contacts[0]
            .fields
            .insert("email", Some("Ana@X.Example".into()));
        let mut head = moved.clone();
        head.contacts.remove(0);
        let s = scope_of(&moved, &head);
        assert_eq!(s.dropped, vec![("web".to_string(), email("Ana@X.Example"))]);
    }
}
