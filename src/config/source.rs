//! Where the loader reads config files from: the working tree ([`Fs`], the default), or anything
//! else that can answer the four questions of [`FileSource`] — `ops` reads a change-scoped run's
//! BASE from a git commit through it, without checking the commit out. The loader asks for the
//! config path itself, the YAML files of a directory, and the CSV files `sources:` names; it never
//! touches `std::fs` except through this trait.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// What is at a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    /// A regular file (symbolic links followed), `len` bytes long.
    File {
        /// Size in bytes.
        len: u64,
    },
    /// A directory.
    Dir,
    /// Something else (a device, a pipe, a symbolic link that is not followed).
    Other,
}

/// A tree of files the config can be loaded from. Paths are as the loader builds them: the
/// config's path as the user gave it, joined with file names.
pub trait FileSource {
    /// What is at `path`; an error of kind `NotFound` when nothing is.
    fn entry(&self, path: &Path) -> io::Result<Entry>;
    /// The entries directly in the directory `dir` that are not directories (regular files,
    /// and what the loader must refuse rather than skip: symbolic links that lead nowhere or in
    /// a loop, FIFOs, devices), as `dir` joined with each name, in no particular order.
    fn files_in(&self, dir: &Path) -> io::Result<Vec<PathBuf>>;
    /// The bytes of the file at `path`.
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
    /// `path` with `.`, `..` and symbolic links resolved, to tell whether one path is inside a
    /// directory (compare two resolved paths of the same source only).
    fn resolve(&self, path: &Path) -> io::Result<PathBuf>;
}

/// The file system: the working tree.
#[derive(Debug, Clone, Copy, Default)]
pub struct Fs;

impl FileSource for Fs {
    fn entry(&self, path: &Path) -> io::Result<Entry> {
        let meta = fs::metadata(path)?;
        Ok(if meta.is_dir() {
            Entry::Dir
        } else if meta.is_file() {
            Entry::File { len: meta.len() }
        } else {
            Entry::Other
        })
    }

    fn files_in(&self, dir: &Path) -> io::Result<Vec<PathBuf>> {
        Ok(fs::read_dir(dir)?
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            // `is_dir` follows links: a link to a directory is skipped as a directory is
            .filter(|p| !p.is_dir())
            .collect())
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        fs::read(path)
    }

    fn resolve(&self, path: &Path) -> io::Result<PathBuf> {
        let path = if path.as_os_str().is_empty() {
            Path::new(".")
        } else {
            path
        };
        fs::canonicalize(path)
    }
}

/// Whether `path` is inside the directory `dir` once both are resolved (symbolic links
/// followed); `None` when either cannot be resolved (a dangling link, a loop).
pub(crate) fn inside(files: &dyn FileSource, dir: &Path, path: &Path) -> Option<bool> {
    let dir = files.resolve(dir).ok()?;
    Some(files.resolve(path).ok()?.starts_with(dir))
}
