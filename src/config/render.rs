//! Diagnostics as text: one `file:line:col: message` line each (the contract scripts grep), and
//! optionally a source excerpt under it (annotate-snippets), re-reading each file once. In a CSV
//! file the column is a cell's index, so the excerpt marks that cell where it is in the text.
//!
//! Plain text only: colour, if any, is the caller's business.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::fs;

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};

use super::{Diagnostic, FileKind, sheet};

/// Render `diags`, one `file:line:col` line each; with `snippets`, each line is
/// followed by an excerpt of the source marking the position (when the file can be read).
///
/// Linear in the files and the diagnostics, whatever their length: each file is read and
/// indexed once, a long line is cut to a window around the position before it is rendered, and
/// the cells of CSV records are found in one walk (a header of 100,000 unknown columns gives
/// 100,000 diagnostics on one line).
pub fn render_diagnostics(diags: &[Diagnostic], snippets: bool) -> String {
    let mut out = String::new();
    let mut files: HashMap<&str, Option<Indexed>> = HashMap::new();
    if snippets {
        // the CSV records each file's diagnostics point into, for the one walk
        let mut records: HashMap<&str, BTreeSet<usize>> = HashMap::new();
        for d in diags.iter().filter(|d| d.kind == FileKind::Csv) {
            records.entry(&*d.loc.file).or_default().insert(d.loc.line);
        }
        for d in diags {
            // a file refused unread is never read here either
            if d.kind == FileKind::Unread || files.contains_key(&*d.loc.file) {
                continue;
            }
            let lines = records.remove(&*d.loc.file).unwrap_or_default();
            files.insert(&d.loc.file, Indexed::read(&d.loc.file, &lines));
        }
    }
    for d in diags {
        let _ = writeln!(out, "{d}");
        if !snippets || d.kind == FileKind::Unread {
            continue;
        }
        let excerpt = files
            .get_mut(&*d.loc.file)
            .and_then(Option::as_mut)
            .and_then(|f| match d.kind {
                FileKind::Yaml => f.excerpt(d.loc.line, d.loc.col),
                FileKind::Csv => f.cell_excerpt(d.loc.line, d.loc.col),
                FileKind::Unread => None,
            });
        if let Some(excerpt) = excerpt {
            out.push_str(&excerpt);
            out.push('\n');
        }
    }
    out
}

/// A file's text with where its lines start, the cells of the CSV records asked for, and
/// where the last YAML position was found (the next one on that line is found from there).
struct Indexed {
    text: String,
    /// Byte offset where each line starts.
    starts: Vec<usize>,
    /// CSV: per record line, its cells' offsets then its end (`sheet::cell_offsets`).
    cells: HashMap<usize, Vec<usize>>,
    /// (line, column, byte offset) of the last YAML position found.
    cursor: (usize, usize, usize),
}

impl Indexed {
    fn read(file: &str, records: &BTreeSet<usize>) -> Option<Indexed> {
        let text = String::from_utf8_lossy(&fs::read(file).ok()?).into_owned();
        Some(Indexed::new(text, records))
    }

    fn new(text: String, records: &BTreeSet<usize>) -> Indexed {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        let cells = sheet::cell_offsets(text.as_bytes(), records);
        Indexed {
            text,
            starts,
            cells,
            cursor: (0, 0, 0),
        }
    }

    /// Line `line` (1-based) without its line break, and where it starts.
    fn line(&self, line: usize) -> Option<(&str, usize)> {
        let start = *self.starts.get(line.checked_sub(1)?)?;
        let end = self
            .starts
            .get(line)
            .map_or(self.text.len(), |next| next - 1);
        let text = &self.text[start..end];
        Some((text.strip_suffix('\r').unwrap_or(text), start))
    }

    /// The line at `line` with the token at `col` (in characters) marked, or `None` when there
    /// is no such line.
    fn excerpt(&mut self, line: usize, col: usize) -> Option<String> {
        let (text, line_start) = self.line(line)?;
        let (start, counted) = match self.cursor {
            (l, c, at) if l == line && c <= col => (at - line_start, c),
            _ => (0, 1),
        };
        let start = text[start..]
            .char_indices()
            .nth(col.saturating_sub(counted))
            .map_or(text.len(), |(i, _)| start + i);
        let cursor = (line, col, line_start + start);
        let rest = &text[start..];
        let token = rest
            .char_indices()
            .find(|(_, c)| c.is_whitespace() || matches!(c, ',' | ']' | '}'))
            .map_or(rest.len(), |(i, _)| i);
        let token = rest[..token]
            .strip_suffix(':')
            .map_or(token, |t| t.len())
            .max(rest.chars().next().map_or(0, char::len_utf8));
        let shown = mark(text, line, start..start + token);
        self.cursor = cursor;
        Some(shown)
    }

    /// The line holding cell `cell` of the CSV record that starts on line `line`, that cell
    /// marked (for a missing cell, the end of the record). A cell after a quoted line break is
    /// on a later line than its record: the excerpt shows that line, numbered.
    fn cell_excerpt(&self, line: usize, cell: usize) -> Option<String> {
        let record = self.cells.get(&line)?;
        let offset = *cell
            .checked_sub(1)
            .and_then(|i| record.get(i))
            .or(record.last())?;
        let number = self.starts.partition_point(|&s| s <= offset);
        let (text, line_start) = self.line(number)?;
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
}

/// The YAML excerpt of `source` at `line` and `col`, for tests.
#[cfg(test)]
fn excerpt(source: &str, line: usize, col: usize) -> Option<String> {
    Indexed::new(source.to_string(), &BTreeSet::new()).excerpt(line, col)
}

/// The CSV excerpt of `source` at record `line` and `cell`, for tests.
#[cfg(test)]
fn cell_excerpt(source: &str, line: usize, cell: usize) -> Option<String> {
    Indexed::new(source.to_string(), &BTreeSet::from([line])).cell_excerpt(line, cell)
}

/// Characters of a long line shown on each side of what is marked.
const WINDOW_SIDE: usize = 80;
/// Characters of a long marked token shown.
const WINDOW_MARK: usize = 80;

/// `text` (line `line` of a file) with the bytes `span` marked. A long line is cut first to a
/// window around the span (`…` where it is cut), so the work and the excerpt stay small
/// whatever the line's length.
fn mark(text: &str, line: usize, span: std::ops::Range<usize>) -> String {
    let (shown, span) = window(text, span);
    let report = [Group::with_level(Level::ERROR).element(
        Snippet::source(&shown)
            .line_start(line)
            .annotation(AnnotationKind::Primary.span(span)),
    )];
    Renderer::plain().render(&report).to_string()
}

/// The part of `text` around the bytes `span`: at most [`WINDOW_SIDE`] characters before and
/// after it, and [`WINDOW_MARK`] of it; `…` marks a cut. The span within what is returned.
fn window(text: &str, span: std::ops::Range<usize>) -> (String, std::ops::Range<usize>) {
    let start = span.start.min(text.len());
    let end = span.end.clamp(start, text.len());
    let end = text[start..end]
        .char_indices()
        .nth(WINDOW_MARK)
        .map_or(end, |(i, _)| start + i);
    let from = text[..start]
        .char_indices()
        .rev()
        .nth(WINDOW_SIDE - 1)
        .map_or(0, |(i, _)| i);
    let to = text[end..]
        .char_indices()
        .nth(WINDOW_SIDE)
        .map_or(text.len(), |(i, _)| end + i);
    let mut shown = String::with_capacity(to - from + 6);
    if from > 0 {
        shown.push('…');
    }
    let offset = shown.len();
    shown.push_str(&text[from..to]);
    if to < text.len() {
        shown.push('…');
    }
    (shown, offset + start - from..offset + end - from)
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

    #[test]
    fn a_long_line_is_cut_to_a_window_around_the_position() {
        let line = format!(
            "contacts: [{}{{id: x, bad: 1}}]",
            "{id: a}, ".repeat(20_000)
        );
        let col = line.find("bad").unwrap() + 1;
        let out = excerpt(&line, 1, col).unwrap();
        assert!(out.len() < 400, "{} bytes: {out}", out.len());
        assert!(out.contains("…{id: a}, {id: a}"), "{out}");
        assert!(out.contains("{id: x, bad: 1}]"), "{out}");
        let marked = out.lines().last().unwrap();
        let text = out.lines().nth(1).unwrap();
        let at = marked.chars().position(|c| c == '^').unwrap();
        let under: String = text.chars().skip(at).take(3).collect();
        assert_eq!(under, "bad", "{out}");

        // a token longer than the window is marked in part
        let long = format!("a: {}", "x".repeat(10_000));
        let out = excerpt(&long, 1, 4).unwrap();
        assert!(out.len() < 400, "{out}");
        assert!(out.contains("a: xxx"), "{out}");
        assert_eq!(out.matches('^').count(), WINDOW_MARK, "{out}");
    }

    #[test]
    fn many_positions_on_one_long_csv_line_each_get_a_short_excerpt() {
        let n = 20_000;
        let header: Vec<String> = (0..n).map(|i| format!("c{i}")).collect();
        let sheet = format!("{}\n", header.join(","));
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("s.csv");
        fs::write(&file, &sheet).unwrap();
        let diags: Vec<Diagnostic> = (1..=n)
            .map(|cell| {
                let mut d = diag(&file.display().to_string(), 1, cell);
                d.kind = FileKind::Csv;
                d
            })
            .collect();
        let out = render_diagnostics(&diags, true);
        // each: the message, then the excerpt's three lines
        assert_eq!(out.lines().count(), n * 4);
        assert!(out.lines().all(|l| l.chars().count() < 200));
        let last = out.lines().rev().take(2).collect::<Vec<_>>();
        let at = last[0].chars().position(|c| c == '^').unwrap();
        let under: String = last[1].chars().skip(at).collect();
        assert_eq!(under, format!("c{}", n - 1), "{last:?}");
    }

    #[test]
    fn yaml_positions_out_of_order_on_one_line_are_found_alike() {
        let source = "a: {b: 1, c: 2, d: 3}\n";
        let mut f = Indexed::new(source.to_string(), &BTreeSet::new());
        let forward: Vec<_> = [5, 11, 17].iter().map(|&c| f.excerpt(1, c)).collect();
        let backward: Vec<_> = [17, 11, 5].iter().map(|&c| f.excerpt(1, c)).collect();
        assert_eq!(forward, backward.into_iter().rev().collect::<Vec<_>>());
        assert!(
            forward[1].as_ref().unwrap().ends_with("           ^"),
            "{forward:?}"
        );
    }
}
