//! Positions and the list of problems found while loading: a compact `Pos` (file index, line,
//! column) inside the loader, turned into `file:line:col` diagnostics once at the end. YAML files
//! and the CSV files they name share one file list, so their problems sort and print together.
//!
//! Holds no rules about the config; what each problem says is in `problem.rs`, rendering with
//! source excerpts in `render.rs`.

use std::sync::Arc;

use crate::model::SourceLoc;

use super::problem::Problem;
use super::{Diagnostic, FileKind};

/// A 1-based position in one of the loaded files (by index into the file list).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Pos {
    /// Index of the file in load order.
    pub file: u32,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub col: u32,
}

impl Pos {
    /// Line 1, column 1 of `file`: where problems without a better place are reported.
    pub fn start(file: u32) -> Pos {
        Pos {
            file,
            line: 1,
            col: 1,
        }
    }
}

/// The problems found so far, and the names of the files positions refer to.
#[derive(Debug, Default)]
pub(crate) struct Diags {
    names: Vec<(Arc<str>, FileKind)>,
    items: Vec<(Pos, Problem)>,
    /// Positions whose excerpt must not be shown: the text there may be a secret.
    hidden: Vec<Pos>,
}

impl Diags {
    /// An empty list for the YAML files `names` (in load order).
    pub fn new(names: Vec<String>) -> Diags {
        Diags {
            names: names
                .into_iter()
                .map(|n| (n.into(), FileKind::Yaml))
                .collect(),
            items: Vec::new(),
            hidden: Vec::new(),
        }
    }

    /// Add a file read later (a CSV file named by the config); its index for positions.
    pub fn add_file(&mut self, name: String, kind: FileKind) -> u32 {
        self.names.push((name.into(), kind));
        u32::try_from(self.names.len() - 1).unwrap_or(u32::MAX)
    }

    /// The name of `file` as shown in messages.
    pub fn name(&self, file: u32) -> &str {
        self.names.get(file as usize).map_or("", |(n, _)| n)
    }

    /// The name of `file`, shared: what positions in it hold.
    pub fn shared_name(&self, file: u32) -> Arc<str> {
        self.names
            .get(file as usize)
            .map_or_else(|| Arc::from(""), |(n, _)| Arc::clone(n))
    }

    /// Where `pos` is, for a message that names another place.
    pub fn loc(&self, pos: Pos) -> SourceLoc {
        SourceLoc {
            file: self.shared_name(pos.file),
            line: pos.line as usize,
            col: pos.col as usize,
        }
    }

    /// Record a problem at `pos`.
    pub fn push(&mut self, pos: Pos, problem: impl Into<Problem>) {
        self.items.push((pos, problem.into()));
    }

    /// Record a problem at `pos` whose excerpt is never shown: what is written there may be a
    /// secret (a token pasted as `token_env`), and a terminal or `CLICOLOR_FORCE=1` CI log would
    /// show the line.
    pub fn push_secret(&mut self, pos: Pos, problem: impl Into<Problem>) {
        self.hidden.push(pos);
        self.push(pos, problem);
    }

    /// How many problems so far.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// No problem found.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The problems as diagnostics, worded, sorted by file and position, each reported once.
    pub fn into_diagnostics(self) -> Vec<Diagnostic> {
        let mut out: Vec<Diagnostic> = self
            .items
            .iter()
            .map(|(pos, problem)| Diagnostic {
                loc: self.loc(*pos),
                message: problem.to_string(),
                kind: if self.hidden.contains(pos) {
                    FileKind::Unread
                } else {
                    self.names
                        .get(pos.file as usize)
                        .map_or(FileKind::Yaml, |(_, k)| *k)
                },
            })
            .collect();
        out.sort();
        out.dedup();
        out
    }
}
