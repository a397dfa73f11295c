//! What `adopt` did, rendered: a unified diff per changed file (`similar`), the contacts that
//! could not be adopted (with `file:line:col` and why), what is left for `apply`, the platform
//! contacts the repo does not name (with a hint to `import`), and the summary line — as text
//! (coloured when the caller says so), Markdown (the diff fenced) or one JSON object with each
//! contact's edits or refusal.

use std::io;

use anstyle::{AnsiColor, Style};
use serde_json::json;
use similar::TextDiff;

use super::{Format, plural};
use crate::edit::report::{Adopted, Adoption};

const GREEN: Style = AnsiColor::Green.on_default();
const RED: Style = AnsiColor::Red.on_default();
const CYAN: Style = AnsiColor::Cyan.on_default();
const BOLD: Style = Style::new().bold();

/// Render `adoption` in `format`; `color` matters to text only.
pub fn adoption(
    format: Format,
    adoption: &Adoption,
    w: &mut dyn io::Write,
    color: bool,
) -> io::Result<()> {
    match format {
        Format::Json => json(adoption, w),
        Format::Text => text(adoption, w, color, false),
        Format::Markdown => text(adoption, w, false, true),
    }
}

/// `Adopted 4 contacts: 3 fields, 2 tags in 2 files; 1 could not be adopted`.
pub fn summary(a: &Adoption) -> String {
    let (fields, tags) = a.counts();
    let mut out = format!(
        "{} {}: {}, {} in {}",
        if a.dry_run { "Would adopt" } else { "Adopted" },
        plural(a.adopted(), "contact", "contacts"),
        plural(fields, "field", "fields"),
        plural(tags, "tag", "tags"),
        plural(a.files.len(), "file", "files"),
    );
    if a.refused() > 0 {
        out.push_str(&format!("; {} could not be adopted", a.refused()));
    }
    if !a.left_for_apply.is_empty() {
        out.push_str(&format!(
            "; {} left for apply",
            plural(a.left_for_apply.len(), "change", "changes")
        ));
    }
    out
}

/// The unified diff of one file, as `diff -u` writes it.
pub fn unified(file: &str, before: &str, after: &str) -> String {
    TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(3)
        .header(file, file)
        .to_string()
}

fn text(a: &Adoption, w: &mut dyn io::Write, color: bool, markdown: bool) -> io::Result<()> {
    let paint = |style: Style, line: &str| {
        if color {
            format!("{style}{line}{style:#}")
        } else {
            line.to_string()
        }
    };
    for f in &a.files {
        if markdown {
            writeln!(w, "```diff")?;
        }
        for line in unified(&f.file, &f.before, &f.after).lines() {
            let style = if line.starts_with("+++") || line.starts_with("---") {
                BOLD
            } else if line.starts_with('+') {
                GREEN
            } else if line.starts_with('-') {
                RED
            } else if line.starts_with("@@") {
                CYAN
            } else {
                Style::new()
            };
            writeln!(w, "{}", paint(style, line.trim_end_matches('\r')))?;
        }
        if markdown {
            writeln!(w, "```")?;
        }
        writeln!(w)?;
    }
    let refused: Vec<_> = a.contacts.iter().filter(|c| c.refusal.is_some()).collect();
    if !refused.is_empty() {
        writeln!(w, "{}", paint(RED, "Could not be adopted:"))?;
        for c in refused {
            if let Some(r) = &c.refusal {
                writeln!(w, "  {} {}: {}: {}", c.channel, c.identity, r.at, r.reason)?;
            }
        }
        writeln!(w)?;
    }
    if !a.left_for_apply.is_empty() {
        writeln!(
            w,
            "Left for apply (apply makes the platform match the repo):"
        )?;
        for l in &a.left_for_apply {
            let at = l
                .source
                .as_ref()
                .map(|s| format!(" ({s})"))
                .unwrap_or_default();
            writeln!(w, "  {} {}{at}: {}", l.channel, l.identity, l.reason)?;
        }
        writeln!(w)?;
    }
    if !a.orphans_unread.is_empty() {
        writeln!(
            w,
            "{}",
            paint(
                RED,
                "Orphans unknown (the marked contacts could not be read):"
            )
        )?;
        for (channel, reason) in &a.orphans_unread {
            writeln!(w, "  channel {channel}: {reason}")?;
        }
        writeln!(w)?;
    }
    if !a.not_in_repo.is_empty() {
        writeln!(
            w,
            "On the platform, not in the repo (not added; bring them in with `contactctl import PATH --channel NAME --id ID`):"
        )?;
        for o in &a.not_in_repo {
            writeln!(w, "  {} id={} {}", o.channel, o.id, o.identity)?;
        }
        writeln!(w)?;
    }
    let mut line = summary(a);
    if a.dry_run {
        line.push_str(" (dry run: nothing written)");
    }
    writeln!(w, "{line}.")
}

fn json(a: &Adoption, w: &mut dyn io::Write) -> io::Result<()> {
    let (fields, tags) = a.counts();
    let contacts: Vec<_> = a
        .contacts
        .iter()
        .map(|c| {
            let edits: Vec<_> = c
                .edits
                .iter()
                .map(|e| {
                    let (kind, name) = match &e.adopts {
                        Adopted::Field(n) => ("field", n),
                        Adopted::TagAdded(t) => ("tag_added", t),
                        Adopted::TagRemoved(t) => ("tag_removed", t),
                    };
                    json!({
                        "file": &*e.file, "line": e.line, "column": e.column,
                        "adopts": kind, "name": name, "old": e.old, "new": e.new,
                    })
                })
                .collect();
            let refusal = c.refusal.as_ref().map(|r| {
                json!({
                    "file": &*r.at.file, "line": r.at.line, "column": r.at.col, "reason": r.reason,
                })
            });
            json!({
                "channel": c.channel,
                "identity": c.identity.display(),
                "source": c.source.to_string(),
                "status": if refusal.is_some() { "refused" } else { "adopted" },
                "edits": edits,
                "refusal": refusal,
            })
        })
        .collect();
    let left: Vec<_> = a
        .left_for_apply
        .iter()
        .map(|l| {
            json!({
                "channel": l.channel, "identity": l.identity.display(),
                "source": l.source.as_ref().map(ToString::to_string), "reason": l.reason,
            })
        })
        .collect();
    let not_in_repo: Vec<_> = a
        .not_in_repo
        .iter()
        .map(|o| json!({"channel": o.channel, "id": o.id, "identity": o.identity.display()}))
        .collect();
    let orphans_unread: Vec<_> = a
        .orphans_unread
        .iter()
        .map(|(channel, reason)| json!({"channel": channel, "reason": reason}))
        .collect();
    let files: Vec<_> = a
        .files
        .iter()
        .map(|f| json!({"file": &*f.file, "diff": unified(&f.file, &f.before, &f.after)}))
        .collect();
    let value = json!({
        "dry_run": a.dry_run,
        "contacts": contacts,
        "left_for_apply": left,
        "not_in_repo": not_in_repo,
        "orphans_unread": orphans_unread,
        "files": files,
        "summary": {
            "adopted": a.adopted(), "fields": fields, "tags": tags, "files": a.files.len(),
            "refused": a.refused(), "left_for_apply": a.left_for_apply.len(),
            "not_in_repo": a.not_in_repo.len(),
        },
    });
    serde_json::to_writer_pretty(&mut *w, &value)?;
    writeln!(w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edit::report::{ContactAdoption, EditNote, FileChange, Refusal, RefusalReason};
    use crate::model::{Identity, SourceLoc};

    fn sample() -> Adoption {
        let loc = |file: &str, line, col| SourceLoc {
            file: file.into(),
            line,
            col,
        };
        Adoption {
            contacts: vec![
                ContactAdoption {
                    channel: "web".into(),
                    identity: Identity::Id("1".into()),
                    source: loc("c.yaml", 3, 5),
                    edits: vec![EditNote {
                        file: "c.yaml".into(),
                        line: 4,
                        column: 12,
                        adopts: Adopted::Field("phone".into()),
                        old: "'+1 555'".into(),
                        new: "'+1 556'".into(),
                    }],
                    refusal: None,
                },
                ContactAdoption {
                    channel: "web".into(),
                    identity: Identity::Id("2".into()),
                    source: loc("s.csv", 2, 1),
                    edits: vec![],
                    refusal: Some(Refusal {
                        at: loc("c.yaml", 9, 9),
                        reason: RefusalReason::Edit("shared".into()),
                    }),
                },
            ],
            files: vec![FileChange {
                file: "c.yaml".into(),
                before: "a: 1\nphone: '+1 555'\n".into(),
                after: "a: 1\nphone: '+1 556'\n".into(),
            }],
            ..Adoption::default()
        }
    }

    #[test]
    fn text_shows_the_diff_the_refusals_and_the_summary() {
        let mut out = Vec::new();
        adoption(Format::Text, &sample(), &mut out, false).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "--- c.yaml\n+++ c.yaml\n@@ -1,2 +1,2 @@\n a: 1\n-phone: '+1 555'\n+phone: '+1 556'\n\n\
             Could not be adopted:\n  web id=2: c.yaml:9:9: shared\n\n\
             Adopted 1 contact: 1 field, 0 tags in 1 file; 1 could not be adopted.\n"
        );
        let mut out = Vec::new();
        adoption(Format::Text, &sample(), &mut out, true).unwrap();
        assert!(String::from_utf8(out).unwrap().contains("\u{1b}[32m+phone"));
    }

    #[test]
    fn json_lists_each_contact_with_its_edits_or_refusal() {
        let mut out = Vec::new();
        adoption(Format::Json, &sample(), &mut out, false).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            v["contacts"][0]["edits"][0],
            json!({"file": "c.yaml", "line": 4, "column": 12, "adopts": "field", "name": "phone",
                   "old": "'+1 555'", "new": "'+1 556'"})
        );
        assert_eq!(v["contacts"][1]["status"], "refused");
        assert_eq!(
            v["contacts"][1]["refusal"],
            json!({"file": "c.yaml", "line": 9, "column": 9, "reason": "shared"})
        );
        assert_eq!(v["summary"]["refused"], 1);
    }
}
