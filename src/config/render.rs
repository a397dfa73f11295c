//! Diagnostics as text: one `file:line:col: message` line each (the contract scripts grep), and
//! optionally a source excerpt under it (annotate-snippets), re-reading each file once. In a CSV
//! file the column is a cell's index, so the excerpt marks that cell where it is in the text.
//!
//! Plain text only: colour, if any, is the caller's business.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs;

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};

use super::{Diagnostic, FileKind, sheet};

/// Render `diags`, one `file:line:col: message` line each; with `snippets`, each line is
/// followed by an excerpt of the source marking the position (when the file can be read).
pub fn render_diagnostics(diags: &[Diagnostic], snippets: bool) -> String {
    let mut out = String::new();
    let mut sources: HashMap<&str, Option<String>> = HashMap::new();
    for d in diags {
        let _ = writeln!(out, "{d}");
        // a file refused unread is never read here either
        if !snippets || d.kind == FileKind::Unread {
            continue;
        }
        let source = sources.entry(&*d.loc.file).or_insert_with(|| {
            fs::read(&*d.loc.file)
                .ok()
                .map(|b| String::from_utf8_lossy(&b).into_owned())
        });
        let excerpt = source.as_deref().and_then(|s| match d.kind {
            FileKind::Yaml => excerpt(s, d.loc.line, d.loc.col),
            FileKind::Csv => cell_excerpt(s, d.loc.line, d.loc.col),
            FileKind::Unread => None,
        });
        if let Some(excerpt) = excerpt {
            out.push_str(&excerpt);
            out.push('\n');
        }
    }
    out
}

/// The line at `line` with the token at `col` marked, or `None` when there is no such line.
fn excerpt(source: &str, line: usize, col: usize) -> Option<String> {
    let text = source.split('\n').nth(line.checked_sub(1)?)?;
    let text = text.strip_suffix('\r').unwrap_or(text);
    // Long lines (a minified file) are cut around the position so the excerpt stays readable.
    let start = text
        .char_indices()
        .nth(col.saturating_sub(1))
        .map_or(text.len(), |(i, _)| i);
    let rest = &text[start..];
    let token = rest
        .char_indices()
        .find(|(_, c)| c.is_whitespace() || matches!(c, ',' | ']' | '}'))
        .map_or(rest.len(), |(i, _)| i);
    let token = rest[..token]
        .strip_suffix(':')
        .map_or(token, |t| t.len())
        .max(rest.chars().next().map_or(0, char::len_utf8));
    Some(mark(text, line, start..start + token))
}

/// The line holding cell `cell` of the CSV record that starts on line `line`, that cell marked
/// (for a missing cell, the end of the record). A cell after a quoted line break is on a later
/// line than its record: the excerpt shows that line, numbered.
fn cell_excerpt(source: &str, line: usize, cell: usize) -> Option<String> {
    let offset = sheet::cell_offset(source.as_bytes(), line, cell)?;
    let line_start = source[..offset].rfind('\n').map_or(0, |i| i + 1);
    let number = source[..offset].matches('\n').count() + 1;
    let text = source[line_start..].split('\n').next().unwrap_or("");
    let text = text.strip_suffix('\r').unwrap_or(text);
    let start = (offset - line_start).min(text.len());
    let rest = &text[start..];
    // The cell's text as written: up to its closing quote, else up to the next comma.
    let len = if let Some(quoted) = rest.strip_prefix('"') {
        let mut end = quoted.len();
        let mut chars = quoted.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if c == '"' {
                if chars.peek().is_some_and(|(_, c)| *c == '"') {
                    chars.next();
                    continue;
                }
                end = i + 1;
                break;
            }
        }
        end + 1
    } else {
        rest.find(',').unwrap_or(rest.len())
    };
    Some(mark(text, number, start..start + len))
}

/// `text` (line `line` of a file) with the bytes `span` marked.
fn mark(text: &str, line: usize, span: std::ops::Range<usize>) -> String {
    let report = [Group::with_level(Level::ERROR).element(
        Snippet::source(text)
            .line_start(line)
            .annotation(AnnotationKind::Primary.span(span)),
    )];
    Renderer::plain().render(&report).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SourceLoc;

    fn diag(file: &str, line: usize, col: usize) -> Diagnostic {
        Diagnostic {
            loc: SourceLoc {
                file: file.into(),
                line,
                col,
            },
            message: "something is wrong".into(),
            kind: FileKind::Yaml,
        }
    }

    #[test]
    fn without_snippets_each_problem_is_one_line() {
        let out = render_diagnostics(&[diag("a.yaml", 2, 3), diag("b.yaml", 1, 1)], false);
        assert_eq!(
            out,
            "a.yaml:2:3: something is wrong\nb.yaml:1:1: something is wrong\n"
        );
    }

    #[test]
    fn the_excerpt_marks_the_token_at_the_position() {
        let out = excerpt("version: 1\nfields:\n  vip: {type: bool}\n", 3, 15).unwrap();
        insta::assert_snapshot!(out, @r"
          |
        3 |   vip: {type: bool}
          |               ^^^^
        ");
    }

    #[test]
    fn a_key_is_marked_without_its_colon() {
        let out = excerpt("channels:\n  web:\n    token: abc\n", 3, 5).unwrap();
        insta::assert_snapshot!(out, @r"
          |
        3 |     token: abc
          |     ^^^^^
        ");
    }

    #[test]
    fn snippets_follow_their_line_and_unreadable_files_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.yaml");
        fs::write(&file, "version: 2\n").unwrap();
        let name = file.display().to_string();
        let out = render_diagnostics(
            &[diag(&name, 1, 10), diag("/nonexistent/x.yaml", 1, 1)],
            true,
        );
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], format!("{name}:1:10: something is wrong"));
        assert!(lines[2].contains("1 | version: 2"), "{out}");
        assert_eq!(
            lines.last().unwrap(),
            &"/nonexistent/x.yaml:1:1: something is wrong"
        );
    }

    #[test]
    fn positions_past_the_end_give_no_excerpt_and_no_panic() {
        assert_eq!(excerpt("a: 1\n", 9, 1), None);
        assert!(excerpt("a: 1", 1, 99).is_some());
        assert_eq!(excerpt("", 0, 0), None);
    }

    #[test]
    fn a_csv_excerpt_marks_the_cell_by_its_index() {
        let sheet = "\u{feff}email,First Name,vip\r\na@x.com,\"Dar, Ana\",yes\r\n";
        insta::assert_snapshot!(cell_excerpt(sheet, 2, 3).unwrap(), @r#"
          |
        2 | a@x.com,"Dar, Ana",yes
          |                    ^^^
        "#);
        insta::assert_snapshot!(cell_excerpt(sheet, 2, 2).unwrap(), @r#"
          |
        2 | a@x.com,"Dar, Ana",yes
          |         ^^^^^^^^^^
        "#);
    }

    #[test]
    fn a_csv_cell_after_a_quoted_line_break_is_shown_on_its_own_line() {
        let sheet = "a,b,c\n\"one\ntwo\",x,\n";
        insta::assert_snapshot!(cell_excerpt(sheet, 2, 2).unwrap(), @r#"
          |
        3 | two",x,
          |      ^
        "#);
        assert!(cell_excerpt(sheet, 7, 1).is_none());
    }

    #[test]
    fn csv_diagnostics_get_cell_excerpts() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("s.csv");
        fs::write(&file, "email,vip\nx@y.z,maybe\n").unwrap();
        let mut d = diag(&file.display().to_string(), 2, 2);
        d.kind = FileKind::Csv;
        let out = render_diagnostics(&[d], true);
        assert!(out.contains("2 | x@y.z,maybe\n"), "{out}");
        assert!(out.contains("|       ^^^^^"), "{out}");
    }
}
