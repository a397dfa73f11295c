//! The rules the schema cannot express, checked on the merged config after the schema passed
//! (or where it passed): fields and tags must be declared, values must fit their field's type,
//! every contact needs a channel and an identity, and no two contacts share one. Then the
//! `model::Config` is built, with values turned into the strings the API holds.
//!
//! Reads the raw types (serde) for meaning and the positioned tree for positions and for the
//! exact text of numbers. Never reports what the schema already reported. The rules a contact is
//! checked against (`Rules`, `Identities`, `wire_value`) are shared with `sheet`, which turns the
//! rows of CSV sources into contacts the same way.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use compact_str::CompactString;
use serde::Deserialize;
use serde_json::Value;

use crate::model::{
    BooleanFormat, Channel, Config, DesiredContact, FieldType, Fields, Identity, Marker, Safety,
    TagWrite, ValueError, WriteMode, id_is_usable, normalize, value_error,
};

use super::ConfigHash;
use super::diag::{Diags, Pos};
use super::problem::{
    ChannelNames, CheckProblem, Item, LookUpRole, Mismatch, Named, SchemaProblem,
};
use super::raw::{
    FieldValue, IdValue, RawChannel, RawContact, RawDefaults, RawField, RawSafety, RawSource,
};
use super::schema::SchemaReport;
use super::sheet;
use super::source::FileSource;
use super::yaml::{Node, NodeKind};

/// Check `root` (whose JSON form is `value`) and build the config, reading the CSV files its
/// sources name (into `hash` too). `None` when a problem was found here; the caller also returns
/// no config when earlier stages found one. The contacts of `value` are consumed one by one
/// (freed as the model grows, to keep the peak down).
pub(crate) fn check(
    root: &Node,
    value: &mut Value,
    report: &SchemaReport,
    diags: &mut Diags,
    hash: &mut ConfigHash,
    files: &dyn FileSource,
) -> Option<Config> {
    let before = diags.len();
    let mut cx = Checker {
        root,
        report,
        diags,
    };
    // Required of the merged config, not of each file (see `RawConfig`).
    for key in ["version", "channels"] {
        if value.get(key).is_none() && !report.may_be_misspelt(value, key) {
            cx.diags
                .push(root.pos, SchemaProblem::MissingKey(key.to_string()));
        }
    }
    let known = Known::of(report, value);

    let channels = cx.channels(value);
    let (fields, field_modes) = cx.fields(value);
    let (tags, tag_modes) = cx.tags();
    let defaults = cx.section::<RawDefaults>(value, "defaults");
    let safety = cx.section::<RawSafety>(value, "safety");

    // defaults: when they may be misspelt (`defualts`), contacts are not told they lack a
    // channel or an identity the defaults would have given them; nor when the channels may be
    // (`chanels`), that they lack a channel.
    let defaults_ok = defaults.is_some() && known.defaults;
    let defaults = defaults.unwrap_or_default();
    let names = channel_list(&channels);
    let mut default_channel_ok = defaults_ok && known.channels;
    if let Some(ch) = &defaults.channel
        && !channels.contains_key(ch)
    {
        default_channel_ok = false;
        if known.channels {
            let pos = cx.pos(&["defaults", "channel"]);
            cx.diags.push(
                pos,
                CheckProblem::UnknownChannel {
                    channel: ch.clone(),
                    channels: names.clone(),
                },
            );
        }
    }
    let mut default_key_ok = defaults_ok;
    if let Some(key) = &defaults.key
        && !fields.contains_key(key)
    {
        default_key_ok = false;
        if known.fields {
            let pos = cx.pos(&["defaults", "key"]);
            cx.diags
                .push(pos, CheckProblem::KeyNotDeclared(key.clone()));
        }
    }
    let default_channel = match &defaults.channel {
        Some(ch) => Some(ch.clone()),
        None if channels.len() == 1 => channels.keys().next().cloned(),
        None => None,
    };
    // The marker need not be declared; when it is, its value must fit the declared type.
    if let Some(m) = &defaults.marker
        && let Some(Some(ty)) = fields.get(&m.field)
        && let Some(why) = value_error(*ty, &m.value)
    {
        let pos = cx.pos(&["defaults", "marker", "value"]);
        cx.diags.push(
            pos,
            CheckProblem::MarkerMismatch {
                field: m.field.clone(),
                ty: *ty,
                why,
            },
        );
    }
    let marker_field = defaults.marker.as_ref().map(|m| m.field.as_str());
    // The key and the marker find contacts: a value people may change there would lose them.
    for (field, role) in [
        (defaults.key.as_deref(), LookUpRole::DefaultKey),
        (marker_field, LookUpRole::Marker),
    ] {
        if let Some(field) = field
            && let Some((mode, pos)) = field_modes.get(field)
        {
            cx.diags.push(*pos, not_sync(field, *mode, role));
        }
    }
    let protected = cx.protected_fields(safety.as_ref(), &fields, known);

    let rules = Rules {
        channels: &channels,
        fields: &fields,
        tags: &tags,
        default_channel: default_channel.as_deref(),
        default_channel_ok,
        default_key: defaults.key.as_deref(),
        default_key_ok,
        marker_field,
        channel_names: &names,
        field_modes: &field_modes,
        known,
    };
    let mut identities = Identities::default();
    let mut contacts = cx.contacts(value, &rules, &mut identities);
    cx.sources(value, &rules, &mut identities, hash, files, &mut contacts);

    if cx.diags.len() > before {
        return None;
    }
    let channels = channels
        .into_iter()
        .map(|(name, raw)| {
            let raw = raw?;
            let token_env_at = cx.diags.loc(cx.pos(&["channels", &name, "token_env"]));
            let channel = Channel {
                base_url: raw.base_url.trim_end_matches('/').to_string(),
                token_env: raw.token_env,
                token_env_at,
                rate_limit: raw.rate_limit,
                viber: raw.viber,
                viber_encode_get: raw.viber_encode_get.unwrap_or(raw.viber),
                boolean_format: raw.boolean_format,
                name: name.clone(),
            };
            Some((name, channel))
        })
        .collect::<Option<BTreeMap<_, _>>>()?;
    let fields = fields
        .into_iter()
        .map(|(name, ty)| Some((name, ty?)))
        .collect::<Option<BTreeMap<_, _>>>()?;
    let safety = safety.unwrap_or_default();
    Some(Config {
        channels,
        fields,
        field_modes: field_modes
            .into_iter()
            .map(|(name, (mode, _))| (name, mode))
            .collect(),
        tags: tags.into_keys().collect(),
        tag_modes: tag_modes
            .into_iter()
            .filter(|(_, (mode, _))| *mode != TagWrite::Sync)
            .map(|(name, (mode, _))| (name, mode))
            .collect(),
        default_channel,
        default_key: defaults.key,
        marker: defaults.marker.map(|m| Marker {
            field: m.field,
            value: m.value,
        }),
        safety: Safety {
            max_change_percent: safety.max_change_percent,
            min_existing: safety.min_existing as usize,
            protected_fields: protected,
        },
        contacts,
        hash: String::new(),
    })
}

/// What a contact (from YAML or from a CSV row) is checked against.
pub(super) struct Rules<'a> {
    channels: &'a BTreeMap<String, Option<RawChannel>>,
    /// Declared fields; `None` for one whose type is invalid (already reported).
    pub fields: &'a BTreeMap<String, Option<FieldType>>,
    /// Declared tags.
    pub tags: &'a BTreeMap<String, Pos>,
    default_channel: Option<&'a str>,
    /// `defaults.channel` is absent or names a channel, and neither the defaults nor the channels
    /// may be misspelt (so a missing channel is the contact's fault, not a consequence of a
    /// problem already reported).
    default_channel_ok: bool,
    default_key: Option<&'a str>,
    default_key_ok: bool,
    /// `defaults.marker.field`: contactctl writes it, no contact may.
    pub marker_field: Option<&'a str>,
    channel_names: &'a ChannelNames,
    /// The fields whose write mode is not `sync`, with where the mode is written.
    field_modes: &'a BTreeMap<String, (WriteMode, Pos)>,
    /// The sections that are not misspelt.
    known: Known,
}

/// The top-level sections that are known: present, or absent with no unknown top-level key that
/// may be them misspelt (`SchemaReport::may_be_misspelt`). An undeclared channel, field or tag is
/// not reported when its section is not known: the misspelt key is, once.
#[derive(Debug, Clone, Copy)]
struct Known {
    channels: bool,
    fields: bool,
    tags: bool,
    defaults: bool,
}

impl Known {
    fn of(report: &SchemaReport, value: &Value) -> Known {
        let known = |section| !report.may_be_misspelt(value, section);
        Known {
            channels: known("channels"),
            fields: known("fields"),
            tags: known("tags"),
            defaults: known("defaults"),
        }
    }
}

impl Rules<'_> {
    /// The channel of a contact or source (`what`) at `item`: the one it names (`given`, written
    /// at `given_pos`), else the default. A problem is reported, and `None` returned, when there
    /// is none; `None` without a report when the default is invalid (already reported).
    pub fn channel(
        &self,
        given: Option<&str>,
        given_pos: Pos,
        item: Pos,
        what: Item,
        diags: &mut Diags,
    ) -> Option<String> {
        match (given, self.default_channel) {
            (Some(ch), _) => {
                if self.channels.contains_key(ch) {
                    Some(ch.to_string())
                } else {
                    if self.known.channels {
                        diags.push(
                            given_pos,
                            CheckProblem::UnknownChannel {
                                channel: ch.to_string(),
                                channels: self.channel_names.clone(),
                            },
                        );
                    }
                    None
                }
            }
            (None, Some(ch)) => self.default_channel_ok.then(|| ch.to_string()),
            (None, None) => {
                if self.default_channel_ok {
                    let problem = if self.channels.is_empty() {
                        CheckProblem::NoChannelDefined(what)
                    } else {
                        CheckProblem::NoChannel {
                            what,
                            channels: self.channel_names.clone(),
                        }
                    };
                    diags.push(item, problem);
                }
                None
            }
        }
    }

    /// How `channel` writes booleans (`upper` when unknown: its problem is reported already).
    pub fn boolean_format(&self, channel: Option<&str>) -> BooleanFormat {
        channel
            .and_then(|c| self.channels.get(c))
            .and_then(Option::as_ref)
            .map_or(BooleanFormat::Upper, |c| c.boolean_format)
    }

    /// The key field of a contact or source that names `given` (at `given_pos`), else
    /// `defaults.key`. An undeclared one is reported.
    pub fn key_field<'k>(
        &'k self,
        given: Option<&'k str>,
        given_pos: Pos,
        diags: &mut Diags,
    ) -> KeyField<'k> {
        match given {
            Some(k) if !self.fields.contains_key(k) => {
                if self.known.fields {
                    diags.push(given_pos, CheckProblem::KeyNotDeclared(k.to_string()));
                }
                KeyField::Reported
            }
            Some(k) => {
                if let Some((mode, _)) = self.field_modes.get(k) {
                    diags.push(given_pos, not_sync(k, *mode, LookUpRole::Key));
                }
                KeyField::Field(k)
            }
            None if !self.default_key_ok => KeyField::Reported,
            None => self.default_key.map_or(KeyField::Missing, KeyField::Field),
        }
    }

    /// Check a written list of tags (`list`; its items' positions are those of `node`'s items,
    /// else `fallback`): each one declared, none twice. The set of them.
    pub fn tag_list(
        &self,
        list: &[String],
        node: Option<&Node>,
        fallback: Pos,
        diags: &mut Diags,
    ) -> BTreeSet<String> {
        let mut set = BTreeSet::new();
        let mut first_at: HashMap<&str, Pos> = HashMap::new();
        for (j, tag) in list.iter().enumerate() {
            let pos = node.and_then(|t| t.item(j)).map_or(fallback, |n| n.pos);
            if let Some(first) = first_at.get(tag.as_str()) {
                let first = diags.loc(*first);
                diags.push(
                    pos,
                    CheckProblem::DuplicateTag {
                        tag: tag.clone(),
                        first,
                    },
                );
                continue;
            }
            first_at.insert(tag, pos);
            self.check_tag(tag, pos, diags);
            set.insert(tag.clone());
        }
        set
    }

    /// The type of the declared field `name` (`None` inside when it is invalid, reported
    /// already); `None` when it is not declared, reported at `pos` unless the fields may be
    /// misspelt.
    pub fn declared_field(
        &self,
        name: &str,
        pos: Pos,
        diags: &mut Diags,
    ) -> Option<Option<FieldType>> {
        let ty = self.fields.get(name).copied();
        if ty.is_none() && self.known.fields {
            diags.push(pos, CheckProblem::FieldNotDeclared(name.to_string()));
        }
        ty
    }

    /// Whether an unknown column of a sheet is reported: not when the fields may be misspelt,
    /// as then no column is a declared field.
    pub fn fields_known(&self) -> bool {
        self.known.fields
    }

    /// Report a written tag at `pos` that holds a control character, or that is not declared
    /// (unless the tags may be misspelt).
    pub fn check_tag(&self, tag: &str, pos: Pos, diags: &mut Diags) {
        if tag.chars().any(char::is_control) {
            diags.push(
                pos,
                CheckProblem::ControlCharacter(Named::Tag(tag.to_string())),
            );
        } else if !self.tags.contains_key(tag) && self.known.tags {
            diags.push(pos, CheckProblem::TagNotDeclared(tag.to_string()));
        }
    }
}

/// The problem of a field value that does not fit the field's type.
pub(super) fn type_mismatch(name: &str, ty: FieldType, why: impl Into<Mismatch>) -> CheckProblem {
    CheckProblem::TypeMismatch {
        field: name.to_string(),
        ty,
        why: why.into(),
    }
}

/// The problem of a key or marker field (`role`) whose write mode is not `sync`.
fn not_sync(field: &str, mode: WriteMode, role: LookUpRole) -> CheckProblem {
    CheckProblem::NotSync {
        field: field.to_string(),
        mode,
        role,
    }
}

/// `text`, written for a field of type `ty`, as the string the API holds: checked (`Err` says
/// why it does not fit), and a boolean in the spelling of the contact's channel (`format`).
pub(super) fn wire_value(
    ty: FieldType,
    text: &str,
    format: BooleanFormat,
) -> Result<CompactString, ValueError> {
    if let Some(why) = value_error(ty, text) {
        return Err(why);
    }
    Ok(if ty == FieldType::Boolean {
        // "true", "TRUE", "True": the channel's spelling.
        format.write(text.eq_ignore_ascii_case("true")).into()
    } else {
        text.into()
    })
}

/// The key field a contact is looked up by.
pub(super) enum KeyField<'a> {
    /// This declared field.
    Field(&'a str),
    /// None: neither `key:` nor `defaults.key`.
    Missing,
    /// Unknown, because of a problem already reported (undeclared, or invalid defaults).
    Reported,
}

/// A contact's identity as compared for duplicates: IDs exactly, key values normalised.
#[derive(PartialEq, Eq, Hash)]
enum IdentityKey {
    Id(String),
    Key(String, Option<String>),
}

/// The identities of the contacts checked so far, YAML and CSV alike (one identity space), with
/// where each was first defined.
#[derive(Default)]
pub(super) struct Identities {
    seen: HashMap<(String, IdentityKey), Pos>,
}

impl Identities {
    /// Room for `n` more contacts.
    pub fn reserve(&mut self, n: usize) {
        self.seen.reserve(n);
    }

    /// Record the contact at `pos`. A contact whose identity was already seen on `channel` is
    /// reported at `pos`, naming the first place; `false` then.
    pub fn claim(
        &mut self,
        channel: &str,
        identity: &Identity,
        pos: Pos,
        rules: &Rules<'_>,
        diags: &mut Diags,
    ) -> bool {
        let key = match identity {
            Identity::Id(id) => IdentityKey::Id(id.clone()),
            Identity::Key { field, value } => {
                let ty = rules
                    .fields
                    .get(field)
                    .copied()
                    .flatten()
                    .unwrap_or(FieldType::Text);
                IdentityKey::Key(field.clone(), normalize(ty, Some(value)))
            }
        };
        match self.seen.entry((channel.to_string(), key)) {
            std::collections::hash_map::Entry::Occupied(first) => {
                let first = diags.loc(*first.get());
                diags.push(
                    pos,
                    CheckProblem::DuplicateContact {
                        identity: identity.clone(),
                        channel: channel.to_string(),
                        first,
                    },
                );
                false
            }
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(pos);
                true
            }
        }
    }
}

struct Checker<'a> {
    root: &'a Node,
    report: &'a SchemaReport,
    diags: &'a mut Diags,
}

impl Checker<'_> {
    /// Position of the node at `path` (keys from the root), or of the deepest one that exists.
    fn pos(&self, path: &[&str]) -> Pos {
        let mut node = self.root;
        for key in path {
            match node.get(key) {
                Some(n) => node = n,
                None => break,
            }
        }
        node.pos
    }

    /// Deserialize `v` as `T`. A failure the schema did not already report is reported here
    /// (the raw types and the schema come from the same definitions, so this should not
    /// happen; if it does, it must still not pass silently).
    fn deser<T: for<'de> Deserialize<'de>>(
        &mut self,
        v: &Value,
        pointer: impl FnOnce() -> String,
        pos: Pos,
    ) -> Option<T> {
        match T::deserialize(v) {
            Ok(t) => Some(t),
            Err(e) => {
                if !self.report.flagged(&pointer()) {
                    self.diags.push(pos, CheckProblem::InvalidValue(e));
                }
                None
            }
        }
    }

    /// A whole top-level section, or its default when absent.
    fn section<T: for<'de> Deserialize<'de> + Default>(
        &mut self,
        value: &Value,
        name: &str,
    ) -> Option<T> {
        match value.get(name) {
            None => Some(T::default()),
            Some(v) => {
                let pos = self.pos(&[name]);
                self.deser(v, || format!("/{name}"), pos)
            }
        }
    }

    /// Channels by name; `None` for one whose settings are invalid (already reported). Its name
    /// is still known, so contacts naming it are not reported again.
    fn channels(&mut self, value: &Value) -> BTreeMap<String, Option<RawChannel>> {
        let mut out = BTreeMap::new();
        if let Some(Value::Object(map)) = value.get("channels") {
            for (name, v) in map {
                let pos = self.pos(&["channels", name]);
                let raw = self.deser(v, || format!("/channels/{}", escape(name)), pos);
                out.insert(name.clone(), raw);
            }
        }
        out
    }

    /// Declared fields by name, `None` for one whose type is invalid (already reported); and
    /// the write modes that are not `sync`, each with where it is written.
    #[allow(clippy::type_complexity)]
    fn fields(
        &mut self,
        value: &Value,
    ) -> (
        BTreeMap<String, Option<FieldType>>,
        BTreeMap<String, (WriteMode, Pos)>,
    ) {
        let mut out = BTreeMap::new();
        let mut modes = BTreeMap::new();
        if let Some(Value::Object(map)) = value.get("fields") {
            for (name, v) in map {
                if name.chars().any(char::is_control) {
                    let key = self.root.get("fields").and_then(|f| f.entry(name));
                    let at = key.map_or(self.pos(&["fields"]), |e| e.key_pos);
                    self.diags.push(
                        at,
                        CheckProblem::ControlCharacter(Named::FieldName(name.clone())),
                    );
                }
                let pos = self.pos(&["fields", name]);
                let raw: Option<RawField> =
                    self.deser(v, || format!("/fields/{}", escape(name)), pos);
                if let Some(f) = &raw
                    && f.write != WriteMode::Sync
                {
                    modes.insert(
                        name.clone(),
                        (f.write, self.pos(&["fields", name, "write"])),
                    );
                }
                out.insert(name.clone(), raw.map(|f| f.ty));
            }
        }
        (out, modes)
    }

    /// `safety.protected_fields`, each of which must be a declared field.
    fn protected_fields(
        &mut self,
        safety: Option<&RawSafety>,
        fields: &BTreeMap<String, Option<FieldType>>,
        known: Known,
    ) -> BTreeSet<String> {
        let Some(safety) = safety else {
            return BTreeSet::new();
        };
        let list = self
            .root
            .get("safety")
            .and_then(|s| s.get("protected_fields"));
        for (i, name) in safety.protected_fields.iter().enumerate() {
            if !fields.contains_key(name) && known.fields {
                let pos = list
                    .and_then(|l| l.item(i))
                    .map_or(self.root.pos, |n| n.pos);
                self.diags
                    .push(pos, CheckProblem::ProtectedNotDeclared(name.clone()));
            }
        }
        safety.protected_fields.iter().cloned().collect()
    }

    /// Declared tags, each with where it is declared first; and each tag's write mode, with
    /// where it is declared (a name alone is `sync`). A tag listed twice in one file is reported
    /// (a slip); the same tag in two files of a directory is not: the `tags` lists are
    /// concatenated, and two teams' files may well both declare a tag they share, as long as
    /// they agree on its write mode.
    #[allow(clippy::type_complexity)]
    fn tags(&mut self) -> (BTreeMap<String, Pos>, BTreeMap<String, (TagWrite, Pos)>) {
        let mut out: BTreeMap<String, Pos> = BTreeMap::new();
        let mut modes: BTreeMap<String, (TagWrite, Pos)> = BTreeMap::new();
        if let Some(Node {
            kind: NodeKind::Seq(items),
            ..
        }) = self.root.get("tags")
        {
            for item in items {
                let (tag, mode) = match &item.kind {
                    NodeKind::Str(tag) => (tag, TagWrite::Sync),
                    NodeKind::Map(_) => {
                        match (item.get("name").map(|n| &n.kind), item.get("write")) {
                            (Some(NodeKind::Str(tag)), None) => (tag, TagWrite::Sync),
                            (Some(NodeKind::Str(tag)), Some(w)) => match &w.kind {
                                NodeKind::Str(w) if w == "sync" => (tag, TagWrite::Sync),
                                NodeKind::Str(w) if w == "add" => (tag, TagWrite::Add),
                                // a bad mode is the schema's to report; the tag is still declared
                                _ => (tag, TagWrite::Sync),
                            },
                            _ => continue, // reported by the schema
                        }
                    }
                    _ => continue,
                };
                if tag.chars().any(char::is_control) {
                    self.diags.push(
                        item.pos,
                        CheckProblem::ControlCharacter(Named::Tag(tag.to_string())),
                    );
                }
                if let Some(first) = out.get(tag.as_str()) {
                    if let Some((first_mode, first_at)) = modes.get(tag.as_str())
                        && *first_mode != mode
                    {
                        let first_at = self.diags.loc(*first_at);
                        self.diags.push(
                            item.pos,
                            CheckProblem::TagWriteDisagrees {
                                tag: tag.to_string(),
                                mode,
                                first_mode: *first_mode,
                                first_at,
                            },
                        );
                        continue;
                    }
                    if first.file != item.pos.file {
                        continue;
                    }
                    let first = self.diags.loc(*first);
                    self.diags.push(
                        item.pos,
                        CheckProblem::DuplicateTag {
                            tag: tag.to_string(),
                            first,
                        },
                    );
                } else {
                    out.insert(tag.to_string(), item.pos);
                    modes.insert(tag.to_string(), (mode, item.pos));
                }
            }
        }
        (out, modes)
    }

    fn contacts(
        &mut self,
        value: &mut Value,
        rules: &Rules<'_>,
        identities: &mut Identities,
    ) -> Vec<DesiredContact> {
        let (
            Some(Value::Array(values)),
            Some(Node {
                kind: NodeKind::Seq(nodes),
                ..
            }),
        ) = (value.get_mut("contacts"), self.root.get("contacts"))
        else {
            return Vec::new();
        };
        let values = std::mem::take(values);
        let mut out = Vec::with_capacity(values.len());
        identities.reserve(values.len());
        for (i, (v, node)) in values.into_iter().zip(nodes).enumerate() {
            if self.report.contacts.contains(&i) {
                continue;
            }
            let Some(raw) = self.deser::<RawContact>(&v, || format!("/contacts/{i}"), node.pos)
            else {
                continue;
            };
            if let Some(c) = self.contact(raw, node, rules, identities) {
                out.push(c);
            }
        }
        out
    }

    /// Read the CSV sources, each row checked like a contact; their contacts go to `out`.
    fn sources(
        &mut self,
        value: &Value,
        rules: &Rules<'_>,
        identities: &mut Identities,
        hash: &mut ConfigHash,
        files: &dyn FileSource,
        out: &mut Vec<DesiredContact>,
    ) {
        let (
            Some(Value::Array(values)),
            Some(Node {
                kind: NodeKind::Seq(nodes),
                ..
            }),
        ) = (value.get("sources"), self.root.get("sources"))
        else {
            return;
        };
        for (i, (v, node)) in values.iter().zip(nodes).enumerate() {
            let pointer = format!("/sources/{i}");
            if self.report.flagged(&pointer) {
                continue;
            }
            let Some(raw) = self.deser::<RawSource>(v, || pointer, node.pos) else {
                continue;
            };
            let mut files = sheet::Files {
                source: files,
                hash: &mut *hash,
            };
            sheet::read(&raw, node, rules, identities, self.diags, &mut files, out);
        }
    }

    /// Check one contact; the desired contact when it is fine so far.
    fn contact(
        &mut self,
        raw: RawContact,
        node: &Node,
        rules: &Rules<'_>,
        identities: &mut Identities,
    ) -> Option<DesiredContact> {
        let before = self.diags.len();
        let channel = rules.channel(
            raw.channel.as_deref(),
            node.pos_of("channel"),
            node.pos,
            Item::Contact,
            self.diags,
        );
        let format = rules.boolean_format(channel.as_deref());
        let fields = self.contact_fields(raw.fields.unwrap_or_default(), node, rules, format);
        let tags = raw
            .tags
            .map(|list| rules.tag_list(&list, node.get("tags"), node.pos, self.diags));
        let identity = self.identity(raw.id.as_ref(), raw.key.as_deref(), node, rules, &fields);

        let (Some(channel), Some(identity)) = (channel, identity) else {
            return None;
        };
        identities.claim(&channel, &identity, node.pos, rules, self.diags);
        if self.diags.len() > before {
            return None;
        }
        Some(DesiredContact {
            channel,
            identity,
            fields: fields.fields,
            tags,
            source: self.diags.loc(node.pos),
        })
    }

    /// A contact's `fields:`, each declared (and not the marker) and its value fitting the
    /// field's type, as the string the API holds; what is wrong is reported at the field.
    fn contact_fields(
        &mut self,
        written: BTreeMap<String, FieldValue>,
        node: &Node,
        rules: &Rules<'_>,
        format: BooleanFormat,
    ) -> ContactFields {
        let fields_node = node.get("fields");
        let mut out = ContactFields {
            fields: Fields::new(),
            bad: Vec::new(),
        };
        for (name, value) in written {
            let entry = fields_node.and_then(|f| f.entry(&name));
            let key_pos = entry.map_or(node.pos, |e| e.key_pos);
            if Some(name.as_str()) == rules.marker_field {
                self.diags
                    .push(key_pos, CheckProblem::MarkerWritten(name.clone()));
                continue;
            }
            let Some(ty) = rules.declared_field(&name, key_pos, self.diags) else {
                out.bad.push(name);
                continue;
            };
            let text = written_text(value, ty, entry.map(|e| &e.value), format);
            let text = match (text, ty) {
                (Some(t), Some(ty)) => match wire_value(ty, &t, format) {
                    Err(why) => {
                        let value_pos = entry.map_or(node.pos, |e| e.value.pos);
                        let why = mismatch_reason(ty, &t, why);
                        self.diags.push(value_pos, type_mismatch(&name, ty, why));
                        out.bad.push(name.clone());
                        None
                    }
                    Ok(v) => Some(v),
                },
                (t, _) => t.map(Into::into),
            };
            out.fields.insert(name, text);
        }
        out.fields.shrink_to_fit();
        out
    }

    /// The contact's identity: its `id`, else the value of its key field (`key`, else
    /// `defaults.key`). `None` when it has none: reported, unless what it lacks is reported
    /// already (the key field, or its value).
    fn identity(
        &mut self,
        id: Option<&IdValue>,
        key: Option<&str>,
        node: &Node,
        rules: &Rules<'_>,
        fields: &ContactFields,
    ) -> Option<Identity> {
        // The key field is checked even beside an id: a wrong `key:` is wrong either way.
        let key_field = rules.key_field(key, node.pos_of("key"), self.diags);
        if let Some(id) = id {
            return Some(self.id(id, node));
        }
        let problem = match key_field {
            KeyField::Field(field) => match fields.fields.get(field).cloned().flatten() {
                Some(value) => {
                    return Some(Identity::Key {
                        field: field.to_string(),
                        value: value.to_string(),
                    });
                }
                None if fields.bad.iter().any(|f| f == field) => return None,
                None => CheckProblem::NoKeyValue(field.to_string()),
            },
            KeyField::Reported => return None,
            KeyField::Missing => CheckProblem::NoIdentity,
        };
        self.diags.push(node.pos, problem);
        None
    }

    /// The identity of a contact's `id:`, as written (a number's own digits); an ID the API
    /// cannot be asked about is reported.
    fn id(&mut self, id: &IdValue, node: &Node) -> Identity {
        let id = match node.get("id").map(|n| &n.kind) {
            Some(NodeKind::Number { text, .. }) => text.to_string(),
            _ => id.0.clone(),
        };
        if !id_is_usable(&id) {
            self.diags
                .push(node.pos_of("id"), CheckProblem::UnusableId(id.clone()));
        }
        Identity::Id(id)
    }
}

/// A contact's fields, checked.
struct ContactFields {
    fields: Fields,
    /// The fields whose name or value is reported already, so a missing identity is not
    /// reported again.
    bad: Vec<String>,
}

/// The text of a field's written `value` before its type (`ty`, `None` when invalid) is checked,
/// `None` when it is empty or null: a YAML boolean in the channel's spelling (`format`) when the
/// field is a boolean, a number as it is written in `written` (its node), not as a float reads.
fn written_text(
    value: FieldValue,
    ty: Option<FieldType>,
    written: Option<&Node>,
    format: BooleanFormat,
) -> Option<String> {
    match value {
        FieldValue::Null => None,
        FieldValue::Text(s) if s.is_empty() => None,
        FieldValue::Text(s) => Some(s),
        FieldValue::Bool(b) if ty == Some(FieldType::Boolean) => Some(format.write(b).to_string()),
        FieldValue::Bool(b) => Some(b.to_string()),
        FieldValue::Number(n) => Some(match written.map(|n| &n.kind) {
            Some(NodeKind::Number { text, .. }) => text.to_string(),
            _ => n.to_string(),
        }),
    }
}

/// Why `text` does not fit a field of type `ty`: `why`, or for a boolean spelt as YAML 1.1 spells
/// one (`yes`, `on`, ...), that YAML 1.2 reads it as text.
fn mismatch_reason(ty: FieldType, text: &str, why: ValueError) -> Mismatch {
    let yaml_1_1 = matches!(
        text.to_ascii_lowercase().as_str(),
        "yes" | "no" | "on" | "off" | "y" | "n"
    );
    if ty == FieldType::Boolean && yaml_1_1 {
        Mismatch::Yaml11Boolean(text.to_string())
    } else {
        Mismatch::Value(why)
    }
}

/// The names of the channels, for messages.
fn channel_list(channels: &BTreeMap<String, Option<RawChannel>>) -> ChannelNames {
    ChannelNames(channels.keys().cloned().collect())
}

/// A key as a JSON Pointer segment (RFC 6901), to compare with the schema's instance paths.
fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}
