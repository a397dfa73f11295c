//! Config loading: YAML files → positioned tree → merge → JSON Schema → semantic checks (and the
//! CSV files that `sources:` name) → `model::Config`. Every problem is reported (not just the
//! first) as `file:line:col: message`. No network, no environment: token variables are named
//! here, read elsewhere.
//!
//! Stages, one module each: `yaml` (parse, positions, duplicate keys), `merge` (directory
//! configs), `schema` (the generated JSON Schema and its errors), `check` (rules the schema cannot
//! express, and building the model), `sheet` (CSV sources, rows checked by `check`'s rules),
//! `render` (diagnostics with source excerpts); `problem` types every problem they report and
//! words it.

mod check;
mod diag;
mod merge;
mod problem;
mod raw;
mod render;
mod schema;
mod sheet;
mod source;
mod yaml;

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::model::{Config, SourceLoc};

use self::diag::{Diags, Pos};
use self::problem::FileProblem;

pub use self::render::render_diagnostics;

pub(crate) use self::sheet::{CsvRecord, csv_records};
pub use self::source::{Entry, FileSource, Fs};
pub(crate) use self::yaml::{At, Node, NodeKind, Style};

/// Largest config file read, in bytes. A contact takes ~100 bytes, so this is hundreds of
/// thousands of contacts; anything bigger is a mistake (or an attack), not a config.
const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// One problem found in the config, with where it is.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, thiserror::Error)]
#[error("{loc}: {message}")]
pub struct Diagnostic {
    /// Where (file, 1-based line and column).
    pub loc: SourceLoc,
    /// What is wrong, as one sentence.
    pub message: String,
    /// The kind of file `loc` is in, which says what its column counts.
    pub kind: FileKind,
}

/// The kinds of file a config is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FileKind {
    /// A YAML config file: a column counts characters.
    Yaml,
    /// A CSV file named by `sources:`: a line is where a row's record starts, a column is the
    /// 1-based index of a cell in its row.
    Csv,
    /// A file that was refused unread (a link out of the config directory, a FIFO, a device),
    /// or a position whose text may be a secret (a token pasted as `token_env`): no excerpt of
    /// it is ever shown, as its content may be anything (`/proc/self/environ`).
    Unread,
}

/// Load and check the config at `path` (a file, or a directory whose `*.yaml`/`*.yml` files are
/// merged; not recursive; read in name order; names starting with `.` are skipped).
///
/// Returns every problem found, sorted by file and position. File names in diagnostics are
/// `path` as given (joined with the file name for a directory).
pub fn load(path: &Path) -> Result<Config, Vec<Diagnostic>> {
    load_from(&Fs, path)
}

/// [`load`] from `files` instead of the file system: the YAML files and the CSV files of
/// `sources:` are all read through it (a change-scoped run reads BASE from a git commit so).
pub fn load_from(files: &dyn FileSource, path: &Path) -> Result<Config, Vec<Diagnostic>> {
    let sources = read_sources(files, path)?;
    let mut diags = Diags::new(sources.iter().map(|s| s.name.clone()).collect());

    // Parse every file; a file that does not parse stops the load after all files are parsed,
    // since merging and checking the rest would report problems that are not there.
    let mut docs = Vec::with_capacity(sources.len());
    let mut unusable = false;
    for (i, source) in sources.iter().enumerate() {
        let file = u32::try_from(i).unwrap_or(u32::MAX);
        match parse_file(file, &source.bytes, &mut diags) {
            Some(doc) => docs.push(doc),
            None => unusable = true,
        }
    }
    if unusable {
        return Err(diags.into_diagnostics());
    }
    // The parsed trees own their text: the bytes are needed only for the hash. Freeing them
    // now lowers the peak, when the tree, its JSON form and the model coexist.
    let mut config_hash = ConfigHash::default();
    for s in &sources {
        config_hash.add(&s.file_name, &s.bytes);
    }
    drop(sources);

    let Some(root) = merge::merge(docs, &mut diags) else {
        return Err(diags.into_diagnostics());
    };
    let mut value = root.to_json();
    let report = schema::check(&value, &root, &mut diags);
    let config = check::check(
        &root,
        &mut value,
        &report,
        &mut diags,
        &mut config_hash,
        files,
    );
    match config {
        Some(mut config) if diags.is_empty() => {
            config.hash = config_hash.finish();
            Ok(config)
        }
        _ => Err(diags.into_diagnostics()),
    }
}

/// Parse one YAML text exactly as the loader parses a config file (YAML 1.2 core schema, the
/// same positions and byte spans): what `adopt` edits by, and how it checks an edit reads back as
/// meant. `Err` holds the problems, as `line:col: message`.
pub(crate) fn parse_yaml(text: &str) -> Result<Node, Vec<String>> {
    let mut diags = Diags::new(vec![String::new()]);
    match yaml::parse(0, text, &mut diags) {
        Some(node) if diags.is_empty() => Ok(node),
        _ => Err(diags
            .into_diagnostics()
            .iter()
            .map(|d| format!("{}:{}: {}", d.loc.line, d.loc.col, d.message))
            .collect()),
    }
}

/// The JSON Schema of the config, pretty-printed with a trailing newline.
pub fn schema_json() -> String {
    schema::schema_json()
}

/// One config file, read.
struct Source {
    /// As shown in diagnostics.
    name: String,
    /// Its name alone, for the hash (so the hash does not depend on where the repo is).
    file_name: String,
    bytes: Vec<u8>,
}

fn problem(name: &Path, problem: FileProblem) -> Vec<Diagnostic> {
    vec![Diagnostic {
        loc: SourceLoc {
            file: name.display().to_string().into(),
            line: 1,
            col: 1,
        },
        message: problem.to_string(),
        kind: FileKind::Unread,
    }]
}

/// Why the config file `file` (of the directory `dir`, when the config is one) is not read,
/// if it must not be: a symbolic link out of the directory, a link that leads nowhere or in a
/// loop, anything but a regular file (a FIFO would block the read, a device never end), or a
/// file too large. The file's content is never part of the answer.
fn refused(files: &dyn FileSource, dir: Option<&Path>, file: &Path) -> Option<FileProblem> {
    let entry = match files.entry(file) {
        Ok(entry) => entry,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Some(FileProblem::DanglingLink);
        }
        Err(e) => return Some(FileProblem::CannotReadFile(e)),
    };
    if let Some(dir) = dir
        && source::inside(files, dir, file) != Some(true)
    {
        return Some(FileProblem::LinkOutOfDir);
    }
    match entry {
        Entry::File { len } if len > MAX_FILE_BYTES => Some(FileProblem::TooLarge),
        Entry::File { .. } => None,
        Entry::Dir | Entry::Other => Some(FileProblem::NotRegular),
    }
}

/// Read the file at `path`, or the config files of the directory at `path`, from `files`.
fn read_sources(files: &dyn FileSource, path: &Path) -> Result<Vec<Source>, Vec<Diagnostic>> {
    let entry = files
        .entry(path)
        .map_err(|e| problem(path, FileProblem::CannotReadConfig(e)))?;
    let dir = (entry == Entry::Dir).then_some(path);
    let paths: Vec<PathBuf> = if entry == Entry::Dir {
        let mut paths: Vec<PathBuf> = files
            .files_in(path)
            .map_err(|e| problem(path, FileProblem::CannotReadDir(e)))?
            .into_iter()
            .filter(|p| {
                let name = p
                    .file_name()
                    .map(|n| n.to_string_lossy())
                    .unwrap_or_default();
                !name.starts_with('.') && (name.ends_with(".yaml") || name.ends_with(".yml"))
            })
            .collect();
        paths.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
        if paths.is_empty() {
            return Err(problem(path, FileProblem::NoYamlFiles));
        }
        paths
    } else {
        vec![path.to_path_buf()]
    };
    let mut sources = Vec::with_capacity(paths.len());
    let mut problems = Vec::new();
    for file in paths {
        let bytes = match refused(files, dir, &file) {
            Some(why) => Err(why),
            None => files.read(&file).map_err(FileProblem::CannotReadFile),
        };
        match bytes {
            Ok(bytes) => sources.push(Source {
                name: file.display().to_string(),
                file_name: file
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                bytes,
            }),
            Err(why) => problems.extend(problem(&file, why)),
        }
    }
    if problems.is_empty() {
        Ok(sources)
    } else {
        Err(problems)
    }
}

/// Parse one file into its document (a mapping), reporting why when it gives none.
fn parse_file(file: u32, bytes: &[u8], diags: &mut Diags) -> Option<Node> {
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let at = e.valid_up_to();
            diags.push(
                byte_pos(file, bytes, at),
                FileProblem::NotUtf8 {
                    byte: bytes.get(at).copied().unwrap_or(0),
                    offset: at,
                },
            );
            return None;
        }
    };
    let doc = yaml::parse(file, text, diags)?;
    match doc.kind {
        NodeKind::Map(_) => Some(doc),
        NodeKind::Null => {
            diags.push(Pos::start(file), FileProblem::Empty);
            None
        }
        _ => {
            diags.push(doc.pos, FileProblem::NotAMapping(doc.kind_name()));
            None
        }
    }
}

/// The line and column of byte `at`, all of `bytes[..at]` being UTF-8.
fn byte_pos(file: u32, bytes: &[u8], at: usize) -> Pos {
    let before = bytes.get(..at).unwrap_or(bytes);
    let line_start = before
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let col = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    Pos {
        file,
        line: u32::try_from(line).unwrap_or(u32::MAX),
        col: u32::try_from(col).unwrap_or(u32::MAX),
    }
}

/// The config's hash (`Config::hash`, which tells a saved plan is stale): SHA-256 over the name
/// and bytes of every file read, YAML files in load order, then the CSV files of `sources:` in
/// their order, so editing a sheet changes it too.
#[derive(Default)]
pub(crate) struct ConfigHash(Sha256);

impl ConfigHash {
    /// Add a file: its name as written (not where the repo is) and its bytes.
    pub fn add(&mut self, name: &str, bytes: &[u8]) {
        let h = &mut self.0;
        h.update((name.len() as u64).to_le_bytes());
        h.update(name.as_bytes());
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    }

    /// The hash, in hex.
    fn finish(self) -> String {
        self.0
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Files held in memory: a directory exists where some file is below it; paths are resolved
    /// lexically.
    struct Mem(std::collections::BTreeMap<PathBuf, Vec<u8>>);

    impl Mem {
        fn normal(path: &Path) -> PathBuf {
            let mut out = PathBuf::new();
            for c in path.components() {
                match c {
                    std::path::Component::ParentDir => {
                        out.pop();
                    }
                    std::path::Component::CurDir => {}
                    c => out.push(c),
                }
            }
            out
        }
    }

    impl FileSource for Mem {
        fn entry(&self, path: &Path) -> std::io::Result<Entry> {
            let path = Mem::normal(path);
            if let Some(bytes) = self.0.get(&path) {
                return Ok(Entry::File {
                    len: bytes.len() as u64,
                });
            }
            if self.0.keys().any(|k| k.starts_with(&path)) {
                return Ok(Entry::Dir);
            }
            Err(std::io::ErrorKind::NotFound.into())
        }
        fn files_in(&self, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
            let norm = Mem::normal(dir);
            Ok(self
                .0
                .keys()
                .filter(|k| k.parent() == Some(norm.as_path()))
                .filter_map(|k| k.file_name().map(|n| dir.join(n)))
                .collect())
        }
        fn read(&self, path: &Path) -> std::io::Result<Vec<u8>> {
            self.0
                .get(&Mem::normal(path))
                .cloned()
                .ok_or_else(|| std::io::ErrorKind::NotFound.into())
        }
        fn resolve(&self, path: &Path) -> std::io::Result<PathBuf> {
            Ok(Mem::normal(path))
        }
    }

    #[test]
    fn a_config_loads_the_same_from_any_file_source() {
        let files: Vec<(&str, &str)> = vec![
            (
                "repo/contacts/a.yaml",
                "version: 1\nchannels:\n  web: { base_url: https://x.example/api, token_env: T }\nfields:\n  email: { type: email }\n  n: { type: number }\ndefaults: { channel: web, key: email }\nsources:\n  - csv: lists/s.csv\n",
            ),
            (
                "repo/contacts/b.yml",
                "contacts:\n  - fields: { email: a@x.example, n: \"7\" }\n",
            ),
            ("repo/contacts/notes.txt", "not a config"),
            ("repo/contacts/lists/s.csv", "email,n\nb@x.example,8\n"),
        ];
        let dir = tempfile::tempdir().unwrap();
        let mut mem = std::collections::BTreeMap::new();
        for (name, text) in &files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, text).unwrap();
            mem.insert(PathBuf::from(name), text.as_bytes().to_vec());
        }
        let from_fs = load(&dir.path().join("repo/contacts")).unwrap();
        let from_mem = load_from(&Mem(mem), Path::new("repo/contacts")).unwrap();
        assert_eq!(from_mem.contacts.len(), 2);
        assert_eq!(
            from_mem.hash, from_fs.hash,
            "the hash is of names and bytes only"
        );
        let strip = |c: &Config| -> Vec<_> {
            c.contacts
                .iter()
                .map(|d| (d.identity.clone(), d.fields.clone()))
                .collect()
        };
        assert_eq!(strip(&from_mem), strip(&from_fs));

        let missing = load_from(&Mem(Default::default()), Path::new("repo/contacts"));
        assert!(
            missing.unwrap_err()[0]
                .message
                .starts_with("cannot read the config")
        );
    }

    #[test]
    fn byte_positions_count_lines_and_characters() {
        let p = byte_pos(0, "ab\ncé d".as_bytes(), 7);
        assert_eq!((p.line, p.col), (2, 4));
        assert_eq!(byte_pos(0, b"", 0), Pos::start(0));
    }
}
