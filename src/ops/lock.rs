//! One apply at a time per rate-limit group on a machine: an advisory lock (std's `File::lock`
//! family) on one file per group — a host and a token, as the session's limiters group channels —
//! named by the host and a digest of both, in `$XDG_RUNTIME_DIR` or else the temp dir. All groups
//! are taken in a fixed (sorted) order before the first read, and held (the [`Held`] value)
//! through the confirmation to the last call. A second run waits, told once which PID holds the
//! lock (the holder writes its PID into the file), until the lock is free, `--lock-timeout`, or the
//! end of the time budget. The operating system releases a lock when its process ends, however it
//! ends. What it does not cover: two machines (the platform offers no lock; in CI, a concurrency
//! group). Under `--sandbox` there is nothing to lock: each process has its own simulator.

use std::ffi::OsString;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::time::Instant;

use super::Session;
use crate::api::Secret;

/// How often a waiting run tries the lock again.
const POLL: Duration = Duration::from_millis(100);

/// One rate-limit group: the host a token's calls go to, and that token.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Group {
    /// `host:port`, as the client reaches it.
    pub host: String,
    /// Hex digest of the host and the token (never the token itself).
    digest: String,
}

impl Group {
    /// The group of a channel at `base_url` (an API root) called with `token`.
    pub fn new(base_url: &str, token: &Secret) -> Group {
        let host = match reqwest::Url::parse(base_url) {
            Ok(url) => match (url.host_str(), url.port_or_known_default()) {
                (Some(host), Some(port)) => format!("{host}:{port}"),
                (Some(host), None) => host.to_string(),
                (None, _) => base_url.to_string(),
            },
            Err(_) => base_url.to_string(),
        };
        let mut hash = Sha256::new();
        hash.update(host.as_bytes());
        hash.update([0]);
        hash.update(token.expose().as_bytes());
        let digest = hash
            .finalize()
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect();
        Group { host, digest }
    }

    /// The lock file's name: the host (for people; cut, and other characters than letters,
    /// digits, `.` and `-` made `_`) and the digest (which decides).
    pub fn file_name(&self) -> String {
        let host: String = self
            .host
            .chars()
            .take(64)
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        format!("contactctl-apply-{host}-{}.lock", self.digest)
    }
}

/// Where the lock files are: `$XDG_RUNTIME_DIR` (`xdg_runtime_dir`) when it names a directory
/// by an absolute path, else the temp dir.
pub fn lock_dir(xdg_runtime_dir: Option<OsString>) -> PathBuf {
    xdg_runtime_dir
        .map(PathBuf::from)
        .filter(|d| d.is_absolute() && d.is_dir())
        .unwrap_or_else(std::env::temp_dir)
}

/// Another run holds a lock this one waits for (said once, before the first wait).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    /// The host of the group.
    pub host: String,
    /// The holder's PID, as it wrote it in the file.
    pub holder: Option<u32>,
    /// The lock file.
    pub path: PathBuf,
}

/// What bounds a wait for the lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// `--lock-timeout`.
    LockTimeout(Duration),
    /// `--max-duration`, the run's time budget.
    TimeBudget,
}

/// Why the locks could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// The lock file cannot be opened or locked.
    #[error("locking {}: {source}", path.display())]
    File {
        /// The lock file.
        path: PathBuf,
        /// The OS's reason.
        source: std::io::Error,
    },
    /// The lock was still held when the wait had to end.
    #[error(
        "another contactctl apply against {host}{} still holds its lock ({}) {}; nothing was read or written",
        holder.map(|p| format!(" (PID {p})")).unwrap_or_default(),
        path.display(),
        match bound {
            Bound::LockTimeout(d) => format!("after --lock-timeout {}", crate::render::human_duration(d.as_secs()).trim_start_matches('~')),
            Bound::TimeBudget => "and the time budget (--max-duration) ran out waiting".to_string(),
        }
    )]
    TimedOut {
        /// The host of the group.
        host: String,
        /// The holder's PID, when it could be read.
        holder: Option<u32>,
        /// The lock file.
        path: PathBuf,
        /// What ended the wait.
        bound: Bound,
    },
}

/// The locks a run holds: released when this is dropped (or the process ends).
#[derive(Debug)]
pub struct Held {
    files: Vec<File>,
}

impl Held {
    /// How many groups are locked.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether nothing is locked (a sandbox run).
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

/// Take the lock of each of `groups` in `dir`, in sorted order (so two runs never each hold one
/// the other waits for), waiting as long as another process holds one: `on_wait` hears the first
/// wait, once; `until` (and which bound it is) ends the wait with [`LockError::TimedOut`].
pub async fn acquire(
    dir: &Path,
    groups: &[Group],
    until: Option<(Instant, Bound)>,
    on_wait: &(dyn Fn(&Waiting) + Send + Sync),
) -> Result<Held, LockError> {
    let mut groups = groups.to_vec();
    groups.sort();
    groups.dedup();
    let mut told = false;
    let mut files = Vec::with_capacity(groups.len());
    for group in groups {
        let path = dir.join(group.file_name());
        let failed = |source| LockError::File {
            path: path.clone(),
            source,
        };
        let mut file = open(&path).map_err(failed)?;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::Error(e)) => return Err(failed(e)),
                Err(TryLockError::WouldBlock) => {}
            }
            let holder = read_pid(&mut file);
            if !told {
                told = true;
                on_wait(&Waiting {
                    host: group.host.clone(),
                    holder,
                    path: path.clone(),
                });
            }
            let mut next = Instant::now() + POLL;
            if let Some((end, bound)) = until {
                if Instant::now() >= end {
                    return Err(LockError::TimedOut {
                        host: group.host,
                        holder,
                        path,
                        bound,
                    });
                }
                next = next.min(end);
            }
            tokio::time::sleep_until(next).await;
        }
        // The PID only tells a waiting run who to wait for: failing to write it is no reason to
        // stop.
        let _ = write_pid(&mut file);
        files.push(file);
    }
    Ok(Held { files })
}

/// Open (creating it, readable by its owner only) a lock file without truncating it: the holder's
/// PID is in it.
fn open(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

fn read_pid(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.take(32).read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

fn write_pid(file: &mut File) -> std::io::Result<()> {
    file.set_len(0)?;
    file.seek(SeekFrom::Start(0))?;
    writeln!(file, "{}", std::process::id())?;
    file.flush()
}

/// Take the locks of `groups` (a session's [`Session::lock_groups`]: none against the sandbox)
/// before a run's first read; hold the value returned to its last call. The wait ends at
/// `timeout` (`--lock-timeout`) or `deadline` (the time budget), whichever comes first.
pub async fn take(
    groups: &[Group],
    timeout: Option<Duration>,
    deadline: Option<Instant>,
    on_wait: &(dyn Fn(&Waiting) + Send + Sync),
) -> Result<Held, LockError> {
    let by_timeout = timeout.map(|t| (Instant::now() + t, Bound::LockTimeout(t)));
    let by_budget = deadline.map(|d| (d, Bound::TimeBudget));
    let until = match (by_timeout, by_budget) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
        (a, b) => a.or(b),
    };
    let dir = lock_dir(std::env::var_os("XDG_RUNTIME_DIR"));
    acquire(&dir, groups, until, on_wait).await
}

impl Session {
    /// The rate-limit groups an apply through this session locks: none against the sandbox.
    pub fn lock_groups(&self) -> &[Group] {
        &self.lock_groups
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    fn group(url: &str, token: &str) -> Group {
        Group::new(url, &Secret::new(token))
    }

    /// Every wait `acquire` reported.
    fn heard() -> (
        std::sync::Arc<Mutex<Vec<Waiting>>>,
        impl Fn(&Waiting) + Send + Sync,
    ) {
        let log = std::sync::Arc::new(Mutex::new(Vec::new()));
        let sink = log.clone();
        (log, move |w: &Waiting| sink.lock().unwrap().push(w.clone()))
    }

    #[test]
    fn a_group_is_its_host_and_token_and_its_file_name_holds_no_token() {
        let a = group("https://app.example.chat/api", "secret-token-1");
        assert_eq!(a.host, "app.example.chat:443");
        assert_eq!(a, group("https://app.example.chat/other", "secret-token-1"));
        assert_ne!(a, group("https://app.example.chat/api", "secret-token-2"));
        assert_ne!(
            a,
            group("https://app.example.chat:8443/api", "secret-token-1")
        );
        let name = a.file_name();
        assert!(
            name.starts_with("contactctl-apply-app.example.chat_443-"),
            "{name}"
        );
        assert!(
            name.ends_with(".lock") && !name.contains("secret"),
            "{name}"
        );
        let v6 = group("http://[::1]:8080/api", "t").file_name();
        assert!(!v6.contains(['/', '[', ']', ':']), "{v6}");
        let long = group(&format!("https://{}.example/api", "x".repeat(200)), "t");
        assert!(long.file_name().len() < 120);
    }

    #[test]
    fn the_lock_dir_is_the_runtime_dir_when_it_is_one_else_the_temp_dir() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(lock_dir(Some(dir.path().into())), dir.path());
        let temp = std::env::temp_dir();
        assert_eq!(lock_dir(None), temp);
        assert_eq!(lock_dir(Some("relative/dir".into())), temp);
        assert_eq!(lock_dir(Some(dir.path().join("missing").into())), temp);
    }

    #[tokio::test]
    async fn a_second_holder_waits_names_the_first_once_and_gives_up_at_its_bound() {
        let dir = tempfile::tempdir().unwrap();
        let groups = [
            group("https://a.example/api", "t1"),
            group("https://b.example/api", "t2"),
        ];
        let first = acquire(dir.path(), &groups, None, &|_| {}).await.unwrap();
        assert_eq!(first.len(), 2);
        let (log, on_wait) = heard();
        let bound = Bound::LockTimeout(Duration::from_millis(300));
        let started = std::time::Instant::now();
        let e = acquire(
            dir.path(),
            &groups[1..],
            Some((Instant::now() + Duration::from_millis(300), bound)),
            &on_wait,
        )
        .await
        .unwrap_err();
        assert!(started.elapsed() >= Duration::from_millis(300));
        let path = dir.path().join(groups[1].file_name());
        let me = Some(std::process::id());
        assert_eq!(
            *log.lock().unwrap(),
            [Waiting {
                host: "b.example:443".into(),
                holder: me,
                path: path.clone()
            }],
            "said once, naming the holder's PID"
        );
        match &e {
            LockError::TimedOut {
                holder, bound: b, ..
            } => {
                assert_eq!((*holder, *b), (me, bound));
            }
            other => panic!("{other:?}"),
        }
        let text = e.to_string();
        assert!(
            text.contains("another contactctl apply against b.example:443 (PID")
                && text.contains("nothing was read or written"),
            "{text}"
        );
        // released when dropped
        drop(first);
        let again = acquire(dir.path(), &groups, Some((Instant::now(), bound)), &|_| {}).await;
        assert_eq!(again.unwrap().len(), 2);
    }

    #[tokio::test]
    async fn a_wait_without_bound_ends_when_the_holder_lets_go_and_other_groups_never_wait() {
        let dir = tempfile::tempdir().unwrap();
        let a = group("https://a.example/api", "t");
        let b = group("https://b.example/api", "t");
        let held = acquire(dir.path(), std::slice::from_ref(&a), None, &|_| {})
            .await
            .unwrap();
        // another group is free at once
        let (log, on_wait) = heard();
        let other = acquire(dir.path(), std::slice::from_ref(&b), None, &on_wait)
            .await
            .unwrap();
        assert!(log.lock().unwrap().is_empty());
        drop(other);
        // the same group: waits until released, groups in any order and repeated
        let release = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(250)).await;
            drop(held);
        });
        let (log, on_wait) = heard();
        let both = acquire(dir.path(), &[b.clone(), a.clone(), b], None, &on_wait)
            .await
            .unwrap();
        release.await.unwrap();
        assert_eq!(both.len(), 2);
        assert_eq!(log.lock().unwrap().len(), 1, "told once, however long");
        // the new holder wrote its PID
        let pid = std::fs::read_to_string(dir.path().join(a.file_name())).unwrap();
        assert_eq!(pid.trim(), std::process::id().to_string());
    }
}
