//! A config as it was at a git commit, for `--changed-since`: the files under the config's
//! directory at that commit, read with the `git` command line (`rev-parse`, one `ls-tree` for
//! the listing, one `cat-file --batch` process for the contents), served to the config loader
//! as a [`FileSource`]. Nothing is checked out and the working tree is not touched; no git
//! library is linked.
//!
//! Paths: the loader asks for the config path as the user gave it, joined with file names and
//! with the relative paths of CSV sheets. Each is taken relative to the directory that holds the
//! config, resolved lexically (`..` folded; a path that climbs out of the repository is not
//! there) and looked up at the commit. Symbolic links are not followed (git stores them as
//! blobs holding their target): they are neither files nor directories here.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Component, Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::Mutex;

use super::Error;
use crate::config::{Entry, FileSource};

/// One file of the listing.
#[derive(Debug, Clone)]
struct Blob {
    oid: String,
    len: u64,
    /// A regular file (not a symbolic link or a submodule).
    regular: bool,
}

/// The files under the config's directory in a repository, at one commit.
pub struct GitTree {
    /// The config's path as the user gave it.
    given: PathBuf,
    /// Its parent, as given (may be empty): a config file's sheets are named from there.
    given_parent: PathBuf,
    /// The config's path relative to the repository's top.
    repo_config: PathBuf,
    /// Files at the commit under the config's directory, by path relative to the top.
    files: BTreeMap<PathBuf, Blob>,
    /// Directories at the commit under (and including) the config's directory.
    dirs: BTreeSet<PathBuf>,
    batch: Mutex<Option<Batch>>,
    top: PathBuf,
}

impl GitTree {
    /// The config at `config` (a file or a directory, as the user named it, present in the
    /// working tree) as it was at `reference`, in the repository that holds it. Errors: not in a
    /// repository, an unknown reference (saying whether the clone is shallow), git missing or
    /// failing. Whether the config existed at the commit is the caller's question
    /// ([`FileSource::entry`]).
    pub fn open(config: &Path, reference: &str) -> Result<GitTree, Error> {
        let given_parent = config.parent().map(Path::to_path_buf).unwrap_or_default();
        let is_dir = config.is_dir();
        let dir = match (is_dir, given_parent.as_os_str().is_empty()) {
            (true, _) => config.to_path_buf(),
            (false, true) => PathBuf::from("."),
            (false, false) => given_parent.clone(),
        };
        let top = git(&dir, &["rev-parse", "--show-toplevel"]).map_err(|e| match e {
            GitError::Spawn(e) => Error::Git {
                action: GitAction::Running,
                reason: e.to_string(),
            },
            failed => Error::NotAGitRepository {
                path: config.to_path_buf(),
                reason: failed.to_string(),
            },
        })?;
        let top = PathBuf::from(String::from_utf8_lossy(&top).trim_end_matches('\n'));
        let top = top.canonicalize().unwrap_or(top);

        if reference.starts_with('-') || reference.is_empty() {
            return Err(unknown_ref(&top, reference));
        }
        let commit = git(
            &top,
            &[
                "rev-parse",
                "--verify",
                "--quiet",
                &format!("{reference}^{{commit}}"),
            ],
        )
        .map_err(|_| unknown_ref(&top, reference))?;
        let commit = String::from_utf8_lossy(&commit).trim().to_string();

        // Where the config is in the repository, found through the working tree.
        let abs_dir = std::fs::canonicalize(&dir).map_err(|e| Error::io("reading", &dir, e))?;
        let repo_dir = abs_dir
            .strip_prefix(&top)
            .map(Path::to_path_buf)
            .map_err(|_| Error::NotAGitRepository {
                path: config.to_path_buf(),
                reason: GitError::Outside(top.clone()).to_string(),
            })?;
        let repo_config = match (is_dir, config.file_name()) {
            (false, Some(name)) => repo_dir.join(name),
            _ => repo_dir.clone(),
        };

        let dir_arg = repo_dir.to_string_lossy().into_owned();
        let mut args = vec!["ls-tree", "-r", "-t", "-l", "-z", commit.as_str()];
        if !dir_arg.is_empty() {
            args.extend(["--", dir_arg.as_str()]);
        }
        let listing = git(&top, &args).map_err(|e| Error::Git {
            action: GitAction::Listing(reference.to_string()),
            reason: e.to_string(),
        })?;
        let (files, mut dirs) = parse_listing(&listing);
        dirs.insert(PathBuf::new());
        if !dirs.contains(&repo_dir) && files.keys().any(|f| f.starts_with(&repo_dir)) {
            dirs.insert(repo_dir);
        }
        Ok(GitTree {
            given: config.to_path_buf(),
            given_parent,
            repo_config,
            files,
            dirs,
            batch: Mutex::new(None),
            top,
        })
    }

    /// `path` (as the loader names it: the config's path, joined with names) relative to the
    /// repository's top, or `None` when it is named otherwise or climbs out of the repository.
    fn locate(&self, path: &Path) -> Option<PathBuf> {
        let joined = match path.strip_prefix(&self.given) {
            Ok(rest) => self.repo_config.join(rest),
            // a config file's sheets, named from its directory
            Err(_) => self
                .repo_config
                .parent()?
                .join(path.strip_prefix(&self.given_parent).ok()?),
        };
        let mut out = PathBuf::new();
        for c in joined.components() {
            match c {
                Component::CurDir => {}
                Component::ParentDir => {
                    if !out.pop() {
                        return None;
                    }
                }
                Component::Normal(part) => out.push(part),
                Component::RootDir | Component::Prefix(_) => return None,
            }
        }
        Some(out)
    }

    fn not_found(path: &Path) -> io::Error {
        io::Error::new(
            io::ErrorKind::NotFound,
            BatchError::NotInCommit(path.to_path_buf()),
        )
    }
}

impl FileSource for GitTree {
    fn entry(&self, path: &Path) -> io::Result<Entry> {
        let at = self.locate(path).ok_or_else(|| Self::not_found(path))?;
        if self.dirs.contains(&at) {
            return Ok(Entry::Dir);
        }
        match self.files.get(&at) {
            Some(blob) if blob.regular => Ok(Entry::File { len: blob.len }),
            Some(_) => Ok(Entry::Other),
            None => Err(Self::not_found(path)),
        }
    }

    fn files_in(&self, dir: &Path) -> io::Result<Vec<PathBuf>> {
        let at = self.locate(dir).ok_or_else(|| Self::not_found(dir))?;
        if !self.dirs.contains(&at) {
            return Err(Self::not_found(dir));
        }
        Ok(self
            .files
            .iter()
            .filter(|(p, blob)| blob.regular && p.parent() == Some(at.as_path()))
            .filter_map(|(p, _)| p.file_name().map(|name| dir.join(name)))
            .collect())
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        let at = self.locate(path).ok_or_else(|| Self::not_found(path))?;
        let blob = self.files.get(&at).ok_or_else(|| Self::not_found(path))?;
        let mut batch = self.batch.lock().unwrap_or_else(|e| e.into_inner());
        if batch.is_none() {
            *batch = Some(Batch::start(&self.top)?);
        }
        match batch.as_mut() {
            Some(b) => b.read(&blob.oid),
            None => Err(io::Error::other(BatchError::NotStarted)),
        }
    }

    fn resolve(&self, path: &Path) -> io::Result<PathBuf> {
        self.locate(path).ok_or_else(|| Self::not_found(path))
    }
}

/// `git ls-tree -r -t -l -z` output: files (with their object and size) and directories.
fn parse_listing(listing: &[u8]) -> (BTreeMap<PathBuf, Blob>, BTreeSet<PathBuf>) {
    let mut files = BTreeMap::new();
    let mut dirs = BTreeSet::new();
    for record in listing.split(|b| *b == 0).filter(|r| !r.is_empty()) {
        let text = String::from_utf8_lossy(record);
        let Some((meta, name)) = text.split_once('\t') else {
            continue;
        };
        let mut parts = meta.split_whitespace();
        let (Some(mode), Some(kind), Some(oid), Some(size)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let path = PathBuf::from(name);
        match kind {
            "tree" => {
                dirs.insert(path);
            }
            "blob" => {
                files.insert(
                    path,
                    Blob {
                        oid: oid.to_string(),
                        len: size.parse().unwrap_or(0),
                        regular: mode == "100644" || mode == "100755",
                    },
                );
            }
            // submodules ("commit") are neither files nor directories here
            _ => {}
        }
    }
    (files, dirs)
}

/// A `git cat-file --batch` process: one object per request, no process per file.
struct Batch {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Batch {
    fn start(top: &Path) -> io::Result<Batch> {
        let mut child = Command::new("git")
            .arg("-C")
            .arg(top)
            .args(["cat-file", "--batch"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            return Err(io::Error::other(BatchError::NoPipes));
        };
        Ok(Batch {
            child,
            stdin,
            stdout: BufReader::new(stdout),
        })
    }

    /// The bytes of object `oid`: the request, then `<oid> <type> <size>\n`, the bytes and `\n`.
    fn read(&mut self, oid: &str) -> io::Result<Vec<u8>> {
        writeln!(self.stdin, "{oid}")?;
        self.stdin.flush()?;
        let mut header = String::new();
        self.stdout.read_line(&mut header)?;
        let size: usize = header
            .split_whitespace()
            .nth(2)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| io::Error::other(BatchError::Answered(header.clone())))?;
        let mut bytes = vec![0; size];
        self.stdout.read_exact(&mut bytes)?;
        let mut newline = [0u8; 1];
        self.stdout.read_exact(&mut newline)?;
        Ok(bytes)
    }
}

impl Drop for Batch {
    fn drop(&mut self) {
        // closing stdin ends it; wait so that no zombie is left
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What was being done when a git command failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GitAction {
    /// Starting git at all.
    Running,
    /// Listing the files at a reference.
    Listing(String),
}

impl std::fmt::Display for GitAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GitAction::Running => f.write_str("running git"),
            GitAction::Listing(reference) => write!(f, "listing the files at {reference}"),
        }
    }
}

/// How a git command failed.
enum GitError {
    /// git could not be run.
    Spawn(io::Error),
    /// It ran and failed: what it said.
    Failed(String),
    /// It ran, failed and said nothing: the command and its exit status.
    Exited(String, ExitStatus),
    /// The config's directory is not under the repository's top (a link out of it).
    Outside(PathBuf),
}

impl std::fmt::Display for GitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GitError::Spawn(e) => write!(f, "cannot run git: {e}"),
            GitError::Failed(reason) => f.write_str(reason),
            GitError::Exited(args, status) => write!(f, "git {args} exited with {status}"),
            GitError::Outside(top) => {
                write!(f, "it is not under the repository at {}", top.display())
            }
        }
    }
}

/// Why reading a file of the commit failed (carried in an `io::Error`).
#[derive(Debug, thiserror::Error)]
enum BatchError {
    #[error("{} is not in the commit", .0.display())]
    NotInCommit(PathBuf),
    #[error("git cat-file did not start")]
    NotStarted,
    #[error("git cat-file has no pipes")]
    NoPipes,
    #[error("git cat-file answered {0:?}")]
    Answered(String),
}

/// Run `git -C dir args`; its stdout, or what it said on stderr.
fn git(dir: &Path, args: &[&str]) -> Result<Vec<u8>, GitError> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(GitError::Spawn)?;
    if out.status.success() {
        Ok(out.stdout)
    } else {
        let said = String::from_utf8_lossy(&out.stderr).trim().to_string();
        Err(if said.is_empty() {
            GitError::Exited(args.join(" "), out.status)
        } else {
            GitError::Failed(said)
        })
    }
}

/// The error for a reference the repository at `top` does not have.
fn unknown_ref(top: &Path, reference: &str) -> Error {
    let shallow = git(top, &["rev-parse", "--is-shallow-repository"])
        .is_ok_and(|out| out.starts_with(b"true"));
    Error::UnknownRef {
        reference: reference.to_string(),
        repo: top.to_path_buf(),
        shallow,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git_in(dir: &Path, args: &[&str]) -> String {
        let out = Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    #[test]
    fn the_tree_at_a_commit_is_served_as_the_loader_names_it() {
        let repo = tempfile::tempdir().unwrap();
        let r = repo.path();
        git_in(r, &["init", "-q", "-b", "main"]);
        std::fs::create_dir_all(r.join("contacts/lists")).unwrap();
        std::fs::write(r.join("contacts/a.yaml"), "version: 1\n").unwrap();
        std::fs::write(r.join("contacts/lists/s.csv"), "email\n").unwrap();
        std::fs::write(r.join("secret.txt"), "outside").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink("../secret.txt", r.join("contacts/link.yaml")).unwrap();
        git_in(r, &["add", "-A"]);
        git_in(
            r,
            &[
                "-c",
                "user.email=t@x",
                "-c",
                "user.name=t",
                "commit",
                "-q",
                "-m",
                "one",
            ],
        );
        // the working tree moves on: the commit is what is read
        std::fs::write(r.join("contacts/a.yaml"), "version: 2\n").unwrap();
        std::fs::write(r.join("contacts/b.yaml"), "new\n").unwrap();

        let config = r.join("contacts");
        let tree = GitTree::open(&config, "HEAD").unwrap();
        assert_eq!(tree.entry(&config).unwrap(), Entry::Dir);
        let mut files = tree.files_in(&config).unwrap();
        files.sort();
        assert_eq!(
            files,
            [config.join("a.yaml")],
            "b.yaml is not in the commit; a link is no file"
        );
        assert_eq!(tree.read(&config.join("a.yaml")).unwrap(), b"version: 1\n");
        assert_eq!(
            tree.read(&config.join("lists/s.csv")).unwrap(),
            b"email\n",
            "one cat-file process serves every read"
        );
        assert_eq!(tree.entry(&config.join("link.yaml")).unwrap(), Entry::Other);
        assert_eq!(
            tree.entry(&config.join("b.yaml")).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
        // outside the config's directory, or the repository: not there
        assert!(tree.entry(&config.join("../secret.txt")).is_err());
        assert!(tree.resolve(&config.join("../../x")).is_err());
        assert_eq!(
            tree.resolve(&config.join("lists/../a.yaml")).unwrap(),
            PathBuf::from("contacts/a.yaml")
        );

        // a config file's sheets are named from its directory
        let file = r.join("contacts/a.yaml");
        let tree = GitTree::open(&file, "HEAD").unwrap();
        assert_eq!(tree.entry(&file).unwrap(), Entry::File { len: 11 });
        assert_eq!(
            tree.read(&r.join("contacts/lists/s.csv")).unwrap(),
            b"email\n"
        );

        assert!(matches!(
            GitTree::open(&config, "no-such-ref"),
            Err(Error::UnknownRef { shallow: false, .. })
        ));
    }
}
