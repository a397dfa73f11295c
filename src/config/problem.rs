//! The problems the loader reports, typed, and their words: each stage builds a value here (the
//! key, the value, the place it names) and `Diags` words it once, into a diagnostic's message.
//! Grouped by where they are found: reading the files, YAML and merging, the schema, the
//! semantic checks, the CSV sources.
//!
//! Holds no rules about the config: only what each problem says.

use std::fmt;
use std::sync::Arc;

use compact_str::CompactString;
use serde_json::Value;

use crate::model::{
    FieldType, Identity, SourceLoc, TagWrite, ValueError, WriteMode, unusable_id_reason,
};

use super::MAX_FILE_BYTES;
use super::yaml::{MAX_DEPTH, MAX_NODES, MAX_TEXT_BYTES};

/// One problem found while loading, of any stage.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Problem {
    #[error(transparent)]
    File(#[from] FileProblem),
    #[error(transparent)]
    Yaml(#[from] YamlProblem),
    #[error(transparent)]
    Schema(#[from] SchemaProblem),
    #[error(transparent)]
    Check(#[from] CheckProblem),
    #[error(transparent)]
    Sheet(#[from] SheetProblem),
}

/// `MAX_FILE_BYTES` in MiB, as messages say it.
const MAX_FILE_MIB: u64 = MAX_FILE_BYTES / (1024 * 1024);

/// A config file (or directory) that cannot be read, or whose text is no config.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FileProblem {
    #[error("cannot read the config: {0}")]
    CannotReadConfig(std::io::Error),
    #[error("cannot read the directory: {0}")]
    CannotReadDir(std::io::Error),
    #[error("the directory has no *.yaml or *.yml files")]
    NoYamlFiles,
    #[error("cannot read the file: {0}")]
    CannotReadFile(std::io::Error),
    #[error("the file is a symbolic link to nothing (its target does not exist)")]
    DanglingLink,
    #[error(
        "the file is a symbolic link out of the config directory: a config file must be inside it"
    )]
    LinkOutOfDir,
    #[error("the file is too large (more than {MAX_FILE_MIB} MiB)")]
    TooLarge,
    #[error(
        "not a regular file (a FIFO, a device or a socket): a config file must be a regular file"
    )]
    NotRegular,
    #[error("the file is not UTF-8 text (byte 0x{byte:02X} at offset {offset})")]
    NotUtf8 { byte: u8, offset: usize },
    #[error(
        "the file is empty: expected a mapping of sections (version, channels, fields, tags, \
         defaults, safety, contacts, sources)"
    )]
    Empty,
    #[error(
        "expected a mapping of sections (version, channels, fields, tags, defaults, safety, \
         contacts, sources), found {0}"
    )]
    NotAMapping(&'static str),
}

/// A YAML text that does not parse, a key that cannot be one, or files that do not merge.
#[derive(Debug, thiserror::Error)]
pub(crate) enum YamlProblem {
    #[error("invalid YAML: {0}")]
    Invalid(Stopped),
    #[error("merge keys (<<) are not YAML 1.2: write the keys out")]
    MergeKey,
    #[error("a key must be text, not null")]
    NullKey,
    #[error("a key must be text, not a list or mapping")]
    CollectionKey,
    #[error("duplicate key {key:?} (also defined at {first})")]
    DuplicateKey {
        key: CompactString,
        first: SourceLoc,
    },
    /// A key of a merged section (`channels.web`) written in two files.
    #[error("duplicate key \"{section}.{key}\" (also defined at {first})")]
    DuplicateSectionKey {
        section: CompactString,
        key: CompactString,
        first: SourceLoc,
    },
    /// A section that does not merge written in two files.
    #[error("duplicate key \"{section}\" (also defined at {first})")]
    DuplicateSection {
        section: CompactString,
        first: SourceLoc,
    },
    #[error("version {again} disagrees with version {first} at {at}")]
    VersionDisagrees {
        again: Value,
        first: Value,
        at: SourceLoc,
    },
}

/// Why the YAML parser stopped.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Stopped {
    /// The parser's own words.
    #[error("{0}")]
    Parser(String),
    /// The parser's words for a key too long to be one.
    #[error("{0} (a key is at most 1024 characters, on one line)")]
    LongKey(String),
    #[error("nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
    #[error("unexpected end of the file")]
    EndOfFile,
    #[error("a config file holds one YAML document, this is a second")]
    SecondDocument,
    #[error(
        "the document is too large: more than {MAX_NODES} values (aliases counted each time they \
         are used)"
    )]
    TooManyValues,
    #[error(
        "the document is too large: more than {} MiB of text (aliases counted each time they are \
         used)",
        MAX_TEXT_BYTES >> 20
    )]
    TooMuchText,
    #[error("this alias refers to a value that contains it")]
    SelfAlias,
    #[error("unknown alias")]
    UnknownAlias,
    #[error("unexpected YAML event")]
    UnexpectedEvent,
    /// The tag, as written.
    #[error("unsupported tag {0}")]
    UnsupportedTag(String),
    #[error("{value:?} is not a valid {tag}")]
    NotValidAsTagged { value: String, tag: String },
}

/// What the schema refuses: each of the validator's errors, with the data its words need.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SchemaProblem {
    #[error("internal error: the config schema does not compile: {0}")]
    DoesNotCompile(&'static str),
    #[error(
        "tokens are never written in the config: set token_env to the name of the environment \
         variable that holds it"
    )]
    TokenWritten,
    #[error("unknown key {key:?}{choices}")]
    UnknownKey { key: String, choices: KeyChoices },
    #[error("missing key {0:?}")]
    MissingKey(String),
    #[error("{under}expected {expected}, found {found}")]
    WrongType {
        under: Under,
        expected: Alternatives,
        found: Found,
    },
    #[error("unsupported version {found}: this contactctl reads version {expected}")]
    UnsupportedVersion { found: Value, expected: Value },
    #[error("{under}expected {expected}, found {found}")]
    NotConstant {
        under: Under,
        expected: Value,
        found: Value,
    },
    #[error("{under}{found} is not one of: {}", .options.join(", "))]
    NotOneOf {
        under: Under,
        found: Value,
        options: Vec<String>,
    },
    #[error("{under}{found} is less than the minimum, {limit}")]
    BelowMinimum {
        under: Under,
        found: Value,
        limit: Value,
    },
    #[error("{under}{found} is more than the maximum, {limit}")]
    AboveMaximum {
        under: Under,
        found: Value,
        limit: Value,
    },
    #[error("{0}must not be empty")]
    Empty(Under),
    /// The value is not repeated: it may be the token itself, pasted in by mistake.
    #[error(
        "token_env is not an environment variable name (letters, digits and _, not starting with \
         a digit) and looks like a token itself: put it in an environment variable and write \
         that variable's name here"
    )]
    TokenEnvLooksLikeToken,
    /// The URL is not repeated: its user info may be a password.
    #[error(
        "base_url holds user info (user:password@): the API takes the channel's token from \
         token_env as a bearer token, and nothing else; remove it"
    )]
    BaseUrlUserInfo,
    #[error(
        "base_url {0:?} holds a query string or a fragment: calls add their own path and query to \
         it; remove what follows ? or #"
    )]
    BaseUrlQuery(String),
    #[error("{0:?} is not an http:// or https:// URL")]
    NotHttpUrl(String),
    /// The validator's own words, for an error none of the above is.
    #[error("{0}")]
    Other(String),
}

/// The key a value is written under, which its message names first (`rate_limit: `); nothing
/// for the root.
#[derive(Debug, Clone, Default)]
pub(crate) struct Under(pub String);

impl fmt::Display for Under {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            Ok(())
        } else {
            write!(f, "{}: ", self.0)
        }
    }
}

/// The keys allowed where an unknown key is written, and the one it was most likely meant to be.
#[derive(Debug, Clone, Default)]
pub(crate) struct KeyChoices {
    pub guess: Option<String>,
    /// Empty when the schema names none: the message then says only that the key is unknown.
    pub allowed: Vec<String>,
}

impl fmt::Display for KeyChoices {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.allowed.is_empty() {
            return Ok(());
        }
        f.write_str(" (")?;
        if let Some(guess) = &self.guess {
            write!(f, "did you mean {guess:?}? ")?;
        }
        write!(f, "expected one of: {})", self.allowed.join(", "))
    }
}

/// A JSON type in YAML terms, in the order lists of alternatives name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum JsonType {
    Text,
    WholeNumber,
    Number,
    Boolean,
    List,
    Mapping,
    Null,
    /// A type the schema names that none of the above is.
    Other,
}

impl fmt::Display for JsonType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            JsonType::Text => "text",
            JsonType::WholeNumber => "a whole number",
            JsonType::Number => "a number",
            JsonType::Boolean => "true/false",
            JsonType::List => "a list",
            JsonType::Mapping => "a mapping",
            JsonType::Null => "null",
            JsonType::Other => "another type",
        })
    }
}

/// The types a value may have, as `a, b or c`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Alternatives(pub Vec<JsonType>);

impl fmt::Display for Alternatives {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.as_slice() {
            [] => Ok(()),
            [one] => write!(f, "{one}"),
            [init @ .., last] => {
                let init: Vec<String> = init.iter().map(ToString::to_string).collect();
                write!(f, "{} or {last}", init.join(", "))
            }
        }
    }
}

/// The type of a value found where another was expected (a boolean is "a boolean" here, where
/// an expected one is "true/false").
#[derive(Debug, Clone, Copy)]
pub(crate) struct Found(pub JsonType);

impl fmt::Display for Found {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            JsonType::Boolean => f.write_str("a boolean"),
            other => write!(f, "{other}"),
        }
    }
}

/// A rule the schema cannot express, broken: an undeclared name, a missing channel or identity, a
/// value that does not fit its field, a duplicate.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CheckProblem {
    #[error("unknown channel {channel:?} (channels: {channels})")]
    UnknownChannel {
        channel: String,
        channels: ChannelNames,
    },
    #[error("{0} has no channel: no channels are defined")]
    NoChannelDefined(Item),
    #[error("{what} has no channel: set channel: or defaults.channel (channels: {channels})")]
    NoChannel { what: Item, channels: ChannelNames },
    #[error("key field {0:?} is not declared in fields")]
    KeyNotDeclared(String),
    #[error("field {0:?} is not declared in fields")]
    FieldNotDeclared(String),
    #[error("protected field {0:?} is not declared in fields")]
    ProtectedNotDeclared(String),
    #[error("tag {0:?} is not declared in tags")]
    TagNotDeclared(String),
    #[error("marker field {field:?} is {}: {why}", .ty.as_str())]
    MarkerMismatch {
        field: String,
        ty: FieldType,
        why: ValueError,
    },
    #[error("field {field:?} is {}: {why}", .ty.as_str())]
    TypeMismatch {
        field: String,
        ty: FieldType,
        why: Mismatch,
    },
    /// A key or marker field whose write mode is not `sync`.
    #[error(
        "field {field:?} is {role}, so it must be write: sync, not {}: a look-up by a value \
         changed on the platform would miss the contact and create it twice",
        .mode.as_str()
    )]
    NotSync {
        field: String,
        mode: WriteMode,
        role: LookUpRole,
    },
    /// A contact or a sheet that writes the marker field.
    #[error(
        "field {0:?} is the marker (defaults.marker): contactctl writes it, a contact must not \
         set it"
    )]
    MarkerWritten(String),
    #[error(
        "{0} holds a control character: names and tags are shown in plans, where a line break or \
         a NUL could fake or hide a line"
    )]
    ControlCharacter(Named),
    #[error("duplicate tag {tag:?} (also listed at {first})")]
    DuplicateTag { tag: String, first: SourceLoc },
    #[error("tag {tag:?} is write: {} here and write: {} at {first_at}", .mode.as_str(), .first_mode.as_str())]
    TagWriteDisagrees {
        tag: String,
        mode: TagWrite,
        first_mode: TagWrite,
        first_at: SourceLoc,
    },
    #[error("duplicate contact {identity} on channel {channel} (first defined at {first})")]
    DuplicateContact {
        identity: Identity,
        channel: String,
        first: SourceLoc,
    },
    #[error("contact has no identity: set id, or a value for its key field {0:?}")]
    NoKeyValue(String),
    #[error("contact has no identity: set id, or a key field (key: or defaults.key) and its value")]
    NoIdentity,
    /// An `id:` no call can use.
    #[error("id: {}", unusable_id_reason(.0))]
    UnusableId(String),
    /// A section the schema passed that still does not deserialize.
    #[error("invalid value: {0}")]
    InvalidValue(serde_json::Error),
}

/// What needs a channel.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Item {
    Contact,
    Source,
}

impl fmt::Display for Item {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Item::Contact => "contact",
            Item::Source => "source",
        })
    }
}

/// The channels a config defines, as messages list them.
#[derive(Debug, Clone, Default)]
pub(crate) struct ChannelNames(pub Vec<String>);

impl fmt::Display for ChannelNames {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("none defined")
        } else {
            f.write_str(&self.0.join(", "))
        }
    }
}

/// Why a field finds contacts, so its value must not change on the platform.
#[derive(Debug, Clone, Copy)]
pub(crate) enum LookUpRole {
    /// `defaults.key`.
    DefaultKey,
    /// `defaults.marker`.
    Marker,
    /// The `key:` of a contact or a source.
    Key,
}

impl fmt::Display for LookUpRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LookUpRole::DefaultKey => "the key field (defaults.key)",
            LookUpRole::Marker => "the marker field (defaults.marker)",
            LookUpRole::Key => "a key field",
        })
    }
}

/// A name that holds a control character, quoted as Rust escapes it.
#[derive(Debug, Clone)]
pub(crate) enum Named {
    Tag(String),
    FieldName(String),
}

impl fmt::Display for Named {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Named::Tag(tag) => write!(f, "tag {tag:?}"),
            Named::FieldName(name) => write!(f, "field name {name:?}"),
        }
    }
}

/// Why a written value does not fit its field's type.
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum Mismatch {
    #[error(transparent)]
    Value(#[from] ValueError),
    /// A boolean spelt as YAML 1.1 spells one (`yes`, `on`), which YAML 1.2 reads as text.
    #[error(
        "{0:?} is not a boolean (YAML 1.2 reads yes, no, on and off as text): write true or false"
    )]
    Yaml11Boolean(String),
}

/// A CSV source that cannot be read, or a sheet whose header or rows are wrong.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SheetProblem {
    #[error(
        "source has no key field: set key: or defaults.key (each row is looked up by its value)"
    )]
    NoKeyField,
    #[error("{0:?} is an absolute path: write the CSV file's path relative to this YAML file")]
    AbsolutePath(String),
    #[error("cannot read the CSV file {name}: {error}")]
    CannotRead { name: String, error: std::io::Error },
    #[error(
        "{0} is outside the directory of this YAML file: a CSV file must be in that directory or \
         below it"
    )]
    Outside(String),
    #[error("{0} is not a file")]
    NotAFile(String),
    #[error("{0} is too large (more than {MAX_FILE_MIB} MiB)")]
    TooLarge(String),
    #[error(
        "the file is not UTF-8 text (byte 0x{byte:02X} at offset {offset}): save it as \"CSV \
         UTF-8\""
    )]
    NotUtf8 { byte: u8, offset: usize },
    #[error("the file is empty: expected a header row naming the columns")]
    Empty,
    #[error("invalid CSV: {0}")]
    Invalid(csv::Error),
    #[error(
        "this cell opens a quote (\") that is never closed: the {0} lines to the end of the file \
         went into it"
    )]
    UnclosedQuote(usize),
    /// A header named twice; the column (1-based) of the first.
    #[error("column {column:?} appears twice in the header (also column {first})")]
    ColumnTwice { column: String, first: usize },
    /// A column named after a field that `columns:` maps to another column (`read`).
    #[error(
        "column {column:?} is not read: field {column:?} reads column {read:?} (columns:); list \
         it under ignore_columns to skip it"
    )]
    Remapped { column: String, read: String },
    /// A column (1-based) with an empty header.
    #[error("column {0} has no name in the header: name it after a field, or remove it")]
    UnnamedColumn(usize),
    #[error(
        "unknown column {0:?}: not a declared field, a column named in columns:, or the \
         tags_column (list it under ignore_columns to skip it)"
    )]
    UnknownColumn(String),
    #[error("column {column:?} (columns.{field}) is not in the header of {file}")]
    MappedColumnMissing {
        column: String,
        field: String,
        file: Arc<str>,
    },
    #[error("tags_column {column:?} is not in the header of {file}")]
    TagsColumnMissing { column: String, file: Arc<str> },
    #[error(
        "key field {key:?} has no column in {file}: add a column {key:?}, or map one under columns:"
    )]
    KeyColumnMissing { key: String, file: Arc<str> },
    #[error("{0}")]
    Ragged(Ragged),
    #[error("row has no identity: its key field {key:?} (column {column:?}) is empty")]
    NoIdentity { key: String, column: String },
}

/// A row whose cells are not as many as the header's columns.
#[derive(Debug, Clone)]
pub(crate) struct Ragged {
    /// How many cells the row has.
    pub cells: usize,
    /// How many columns the header names.
    pub columns: usize,
    /// The columns the row has no cell for (none when it has too many cells).
    pub missing: Vec<String>,
}

impl fmt::Display for Ragged {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (n, h) = (self.cells, self.columns);
        let cells = if n == 1 { "cell" } else { "cells" };
        let columns = if h == 1 { "column" } else { "columns" };
        write!(
            f,
            "the row has {n} {cells}, but the header names {h} {columns}"
        )?;
        if !self.missing.is_empty() {
            let missing: Vec<String> = self.missing.iter().map(|c| format!("{c:?}")).collect();
            write!(f, ": no cell for {}", missing.join(", "))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The words composed from data that no fixture shows: an empty channel list, a config
    /// without channels, a value of the wrong type, an unknown key where the schema names no
    /// allowed key, a row with one cell too many, a file too large.
    #[test]
    fn words_composed_from_data_read_as_before() {
        let said = |p: Problem| p.to_string();
        assert_eq!(
            said(
                CheckProblem::UnknownChannel {
                    channel: "web".into(),
                    channels: ChannelNames::default(),
                }
                .into()
            ),
            "unknown channel \"web\" (channels: none defined)"
        );
        assert_eq!(
            said(CheckProblem::NoChannelDefined(Item::Source).into()),
            "source has no channel: no channels are defined"
        );
        assert_eq!(
            said(
                SchemaProblem::WrongType {
                    under: Under("rate_limit".into()),
                    expected: Alternatives(vec![
                        JsonType::Text,
                        JsonType::WholeNumber,
                        JsonType::Other
                    ]),
                    found: Found(JsonType::Boolean),
                }
                .into()
            ),
            "rate_limit: expected text, a whole number or another type, found a boolean"
        );
        assert_eq!(
            said(
                SchemaProblem::UnknownKey {
                    key: "x".into(),
                    choices: KeyChoices::default(),
                }
                .into()
            ),
            "unknown key \"x\""
        );
        let ragged = Ragged {
            cells: 2,
            columns: 1,
            missing: Vec::new(),
        };
        assert_eq!(
            said(SheetProblem::Ragged(ragged).into()),
            "the row has 2 cells, but the header names 1 column"
        );
        assert_eq!(
            said(FileProblem::TooLarge.into()),
            "the file is too large (more than 64 MiB)"
        );
    }
}
