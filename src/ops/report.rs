//! `apply --report FILE`: the run's record, written as it goes (JSON Lines, one object a line,
//! each line one `write` of the whole line, so a run that is killed leaves every finished line
//! whole): a `header` (report version, tool version, config, its git commit and whether the tree
//! had uncommitted changes there, start time, channels), the `plan`'s counts, a `call` line for
//! each call the engine made and a `contact` line for each contact it finished or left, then a
//! `summary` (exit code, counts, the error when the run failed or was refused). Fed by the apply
//! engine's events ([`ApplyEvent`]); the shape is documented in README ("The apply report").

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use super::Error;
use crate::apply::{ApplyEvent, NotRun, Outcome};
use crate::plan::{Action, Call, Plan};
use crate::render::problems;

/// The version of the report's shape; raised when a field changes meaning or goes away (new
/// fields may be added within a version).
pub const REPORT_VERSION: u32 = 1;

/// A report being written, or none (no `--report`): every method is then a no-op.
pub struct Report {
    inner: Option<Mutex<Inner>>,
}

struct Inner {
    file: File,
    path: PathBuf,
    config: PathBuf,
    started: Instant,
    started_at: SystemTime,
    header_written: bool,
    /// Per plan contact: its channel, identity and call kinds (for the call lines).
    contacts: Vec<(String, String, Vec<&'static str>)>,
    counts: Counts,
    /// The first write that failed: the record is incomplete, the summary cannot say so, so the
    /// command says it.
    write_error: Option<std::io::Error>,
}

#[derive(Default)]
struct Counts {
    calls_ok: usize,
    calls_failed: usize,
    done: usize,
    failed: usize,
    plan_errors: usize,
    left_for_next_run: usize,
    interrupted: usize,
    channel_stopped: usize,
}

/// How a run ended, for the summary.
pub enum End {
    /// It ran to its end; `exit` is its exit code.
    Finished { exit: i32 },
    /// It stopped with an error before or while applying.
    Failed(Failure),
}

/// What the summary says of a run that stopped with an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The tool refused (the safety limit, a stale plan, a held lock, no confirmation) rather
    /// than failed.
    pub refused: bool,
    /// The error, as the command says it.
    pub message: String,
}

/// An error a run can stop with, as its record says it.
pub trait Recordable {
    /// The summary's `refused` and `error`.
    fn failure(&self) -> Failure;
}

impl Recordable for std::convert::Infallible {
    fn failure(&self) -> Failure {
        match *self {}
    }
}

impl Recordable for Error {
    fn failure(&self) -> Failure {
        Failure {
            refused: self.refused(),
            message: self.to_string(),
        }
    }
}

impl Report {
    /// No report.
    pub fn none() -> Report {
        Report { inner: None }
    }

    /// A report to `path` (created, or emptied) for a run of the config at `config`; nothing is
    /// written until the run says its channels (or ends).
    pub fn create(path: &Path, config: &Path) -> Result<Report, Error> {
        let file = File::create(path).map_err(|e| Error::io("writing", path, e))?;
        Ok(Report {
            inner: Some(Mutex::new(Inner {
                file,
                path: path.to_path_buf(),
                config: config.to_path_buf(),
                started: Instant::now(),
                started_at: SystemTime::now(),
                header_written: false,
                contacts: Vec::new(),
                counts: Counts::default(),
                write_error: None,
            })),
        })
    }

    fn lock(&self) -> Option<MutexGuard<'_, Inner>> {
        self.inner
            .as_ref()
            .map(|m| m.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// The run's channels are known (its session is open): the header.
    pub fn start(&self, channels: &[String]) {
        if let Some(mut inner) = self.lock() {
            inner.header(channels);
        }
    }

    /// The plan the run applies: its counts, and a line for each contact that cannot be planned.
    pub fn plan(&self, plan: &Plan) {
        let Some(mut inner) = self.lock() else {
            return;
        };
        inner.header(&[]);
        inner.contacts = plan
            .contacts
            .iter()
            .map(|c| {
                let kinds = c.calls.iter().map(call_kind).collect();
                (c.channel.clone(), c.identity.to_string(), kinds)
            })
            .collect();
        let s = &plan.summary;
        let line = json!({
            "type": "plan",
            "at": inner.now(),
            "elapsed_ms": inner.elapsed_ms(),
            "create": s.create, "update": s.update, "unchanged": s.unchanged,
            "orphans": s.orphans, "errors": s.errors, "skipped": s.skipped,
            "calls": s.api_calls,
            "warnings": problems::warnings(&plan.warnings),
        });
        inner.write(&line);
        for (index, c) in plan.contacts.iter().enumerate() {
            if c.action == Action::Error {
                inner.counts.plan_errors += 1;
                let line = json!({
                    "type": "contact", "at": inner.now(), "elapsed_ms": inner.elapsed_ms(),
                    "index": index, "channel": c.channel, "contact": c.identity.to_string(),
                    "id": c.id, "action": c.action, "outcome": Outcome::PlanError,
                    "not_run": null, "calls_done": 0, "calls_planned": 0,
                    "error": problems::contact_error(c),
                });
                inner.write(&line);
            }
        }
    }

    /// What the engine says: a call or a contact ended.
    pub fn on_apply(&self, event: &ApplyEvent) {
        let Some(mut inner) = self.lock() else {
            return;
        };
        let (at, elapsed_ms) = (inner.now(), inner.elapsed_ms());
        let line = match event {
            ApplyEvent::CallDone {
                channel,
                ok,
                index,
                call,
                error,
            } => {
                if *ok {
                    inner.counts.calls_ok += 1;
                } else {
                    inner.counts.calls_failed += 1;
                }
                let (contact, kind) = inner
                    .contacts
                    .get(*index)
                    .map(|(_, id, kinds)| (id.clone(), kinds.get(*call).copied()))
                    .unwrap_or_default();
                json!({
                    "type": "call", "at": at, "elapsed_ms": elapsed_ms,
                    "index": index, "channel": channel, "contact": contact,
                    "call": call, "kind": kind, "ok": ok, "error": error,
                })
            }
            ApplyEvent::ContactDone {
                index,
                channel,
                outcome,
            } => {
                let c = &mut inner.counts;
                match (outcome.outcome, outcome.not_run) {
                    (Outcome::Done, _) => c.done += 1,
                    (Outcome::Failed, _) => c.failed += 1,
                    (Outcome::NotRun, Some(NotRun::TimeBudget)) => c.left_for_next_run += 1,
                    (Outcome::NotRun, Some(NotRun::ChannelStopped)) => c.channel_stopped += 1,
                    (Outcome::NotRun, _) => c.interrupted += 1,
                    (Outcome::NoChange | Outcome::PlanError, _) => {}
                }
                let contact = inner.contacts.get(*index).map(|(_, id, _)| id.clone());
                json!({
                    "type": "contact", "at": at, "elapsed_ms": elapsed_ms,
                    "index": index, "channel": channel, "contact": contact,
                    "id": outcome.id, "outcome": outcome.outcome, "not_run": outcome.not_run,
                    "calls_done": outcome.calls_done, "calls_planned": outcome.calls_planned,
                    "error": outcome.error.as_ref().map(ToString::to_string),
                })
            }
        };
        inner.write(&line);
    }

    /// The run ended: the summary, the last line. Errors: a line of the report could not be
    /// written (the record is incomplete).
    pub fn end(&self, end: End) -> Result<(), Error> {
        let Some(mut inner) = self.lock() else {
            return Ok(());
        };
        inner.header(&[]);
        let (status, exit, error) = match end {
            End::Finished { exit } => {
                let c = &inner.counts;
                let status = if c.left_for_next_run > 0 {
                    "stopped"
                } else if exit == 0 {
                    "succeeded"
                } else {
                    "failed"
                };
                (status, exit, None)
            }
            End::Failed(Failure { refused, message }) => {
                let status = if refused { "refused" } else { "error" };
                (status, 1, Some(message))
            }
        };
        let c = &inner.counts;
        let line = json!({
            "type": "summary", "at": inner.now(), "elapsed_ms": inner.elapsed_ms(),
            "status": status, "exit": exit, "error": error,
            "calls": { "ok": c.calls_ok, "failed": c.calls_failed },
            "contacts": {
                "done": c.done, "failed": c.failed, "plan_errors": c.plan_errors,
                "left_for_next_run": c.left_for_next_run, "interrupted": c.interrupted,
                "channel_stopped": c.channel_stopped,
            },
        });
        inner.write(&line);
        match inner.write_error.take() {
            Some(e) => Err(Error::io("writing", inner.path.clone(), e)),
            None => Ok(()),
        }
    }
}

impl Inner {
    fn now(&self) -> String {
        rfc3339(SystemTime::now())
    }

    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn header(&mut self, channels: &[String]) {
        if self.header_written {
            return;
        }
        self.header_written = true;
        let git = git_state(&self.config);
        let line = json!({
            "type": "header",
            "report_version": REPORT_VERSION,
            "tool": "contactctl",
            "version": env!("CARGO_PKG_VERSION"),
            "config": self.config.display().to_string(),
            "git": git,
            "started_at": rfc3339(self.started_at),
            "channels": channels,
        });
        self.write(&line);
    }

    /// One line, in one write, so a killed run leaves only whole lines.
    fn write(&mut self, line: &Value) {
        if self.write_error.is_some() {
            return;
        }
        let mut text = line.to_string();
        text.push('\n');
        if let Err(e) = self.file.write_all(text.as_bytes()) {
            self.write_error = Some(e);
        }
    }
}

fn call_kind(call: &Call) -> &'static str {
    match call {
        Call::Create { .. } => "create",
        Call::Update { .. } => "update",
        Call::AddTags { .. } => "add_tags",
        Call::RemoveTags { .. } => "remove_tags",
    }
}

/// The config's commit (`null` in a repository without a commit yet) and whether its files had
/// uncommitted changes (`null` outside a repository or without git).
fn git_state(config: &Path) -> Value {
    let dir = if config.is_dir() {
        config.to_path_buf()
    } else {
        match config.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        }
    };
    let run = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(&dir)
            .args(args)
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    // a repository without a commit yet: no commit, and the config is not committed
    let commit = run(&["rev-parse", "--verify", "--quiet", "HEAD"]);
    if commit.is_none() && run(&["rev-parse", "--is-inside-work-tree"]).as_deref() != Some("true") {
        return Value::Null;
    }
    let target = config
        .file_name()
        .filter(|_| !config.is_dir())
        .map_or_else(|| ".".to_string(), |n| n.to_string_lossy().into_owned());
    let status = run(&["status", "--porcelain", "--", &target]);
    json!({
        "commit": commit,
        "uncommitted_changes": status.map(|s| !s.is_empty()),
    })
}

/// `t` as an RFC 3339 UTC time with milliseconds (`2026-12-07T21:12:06.123Z`).
fn rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (y, m, day) = civil_from_days(i64::try_from(days).unwrap_or(0));
    format!(
        "{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60,
        d.subsec_millis()
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        u32::try_from(m).unwrap_or(1),
        u32::try_from(d).unwrap_or(1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn times_are_rfc3339_utc() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let t = UNIX_EPOCH + Duration::from_millis(1_796_681_526_123);
        assert_eq!(rfc3339(t), "2026-12-07T22:12:06.123Z");
        // a leap day
        let t = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(rfc3339(t), "2000-02-29T00:00:00.000Z");
    }

    fn lines(path: &Path) -> Vec<Value> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn a_run_refused_before_any_call_has_a_header_and_a_summary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.jsonl");
        let report = Report::create(&path, dir.path()).unwrap();
        report
            .end(End::Failed(Failure {
                refused: true,
                message: "the safety limit".into(),
            }))
            .unwrap();
        let l = lines(&path);
        assert_eq!(l.len(), 2);
        assert_eq!(l[0]["type"], "header");
        assert_eq!(l[0]["report_version"], REPORT_VERSION);
        assert_eq!(l[0]["git"], Value::Null, "not in a repository");
        assert_eq!(l[1]["type"], "summary");
        assert_eq!(l[1]["status"], "refused");
        assert_eq!(l[1]["exit"], 1);
        assert_eq!(l[1]["error"], "the safety limit");
    }

    #[test]
    fn a_contact_that_could_not_be_planned_has_every_key_of_a_contact_line() {
        use crate::model::Identity;
        use crate::plan::{ContactError, ContactPlan, Summary};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.jsonl");
        let report = Report::create(&path, dir.path()).unwrap();
        report.start(&["web".to_string()]);
        let failed = ContactPlan {
            channel: "web".into(),
            identity: Identity::Key {
                field: "email".into(),
                value: "a@x.example".into(),
            },
            id: None,
            action: Action::Error,
            fields: vec![],
            tags_added: vec![],
            tags_removed: vec![],
            error: Some(ContactError::NoSuchId { id: "9".into() }),
            calls: vec![],
            marker_only: false,
            source: None,
            live: None,
            kept: vec![],
        };
        report.plan(&Plan {
            contacts: vec![failed],
            summary: Summary::default(),
            channels: vec![],
            warnings: vec![],
            prune: false,
            scope: None,
        });
        let l = lines(&path);
        let contact = l.iter().find(|l| l["type"] == "contact").unwrap();
        // README "The apply report": the keys of a `contact` line
        for key in [
            "index",
            "channel",
            "contact",
            "id",
            "outcome",
            "not_run",
            "calls_done",
            "calls_planned",
            "error",
        ] {
            assert!(contact.get(key).is_some(), "{key} missing: {contact}");
        }
        assert_eq!(contact["outcome"], "plan_error");
    }

    #[test]
    fn a_repository_without_a_commit_is_no_commit_with_uncommitted_changes_not_no_repository() {
        let dir = tempfile::tempdir().unwrap();
        let git = |args: &[&str]| {
            Command::new("git")
                .arg("-C")
                .arg(dir.path())
                .args(args)
                .output()
                .unwrap()
        };
        assert!(git(&["init", "-q"]).status.success(), "git init");
        let config = dir.path().join("contactctl.yaml");
        std::fs::write(&config, "version: 1\n").unwrap();
        assert_eq!(
            git_state(&config),
            json!({"commit": null, "uncommitted_changes": true})
        );
        let outside = tempfile::tempdir().unwrap();
        assert_eq!(git_state(&outside.path().join("c.yaml")), Value::Null);
    }

    #[test]
    fn no_report_writes_nothing() {
        let report = Report::none();
        report.start(&["web".to_string()]);
        assert!(report.end(End::Finished { exit: 0 }).is_ok());
    }
}
