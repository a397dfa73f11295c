//! The problems the loader reports, typed, and their words: each stage builds a value here (the
//! key, the value, the place it names) and `Diags` words it once, into a diagnostic's message.
//! Grouped by where they are found: reading the files, YAML and merging, the schema, the
//! semantic checks, the CSV sources.
//!
//! Holds no rules about the config: only what each problem says.

use compact_str::CompactString;
use serde_json::Value;

use crate::model::SourceLoc;

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
    Worded(#[from] Worded),
}

impl From<String> for Problem {
    fn from(words: String) -> Problem {
        Problem::Worded(Worded(words))
    }
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

/// A problem not yet typed: its words as its stage wrote them. Gone once every stage builds its
/// own problems.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Worded(pub String);
