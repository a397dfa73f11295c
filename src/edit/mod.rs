//! In-place edits of the config's own files, for `adopt`: a value or a tag list at a byte span of
//! a YAML file, a cell of a CSV file → the new file text. Pure (text in, text out: no IO, no
//! clock), so it is proptested; everything outside the edited bytes stays byte for byte
//! (comments, blank lines, key order, indentation, quoting, line endings).
//!
//! The spans come from the loader's own parse (`config::parse_yaml`, `config::csv_records`), so
//! the loader and the editor agree on where every value is. What to edit, and whether a contact
//! may be edited at all, is decided in `ops::adopt`; this module only writes text.

pub mod csv;
pub mod report;
pub mod yaml;

/// Replace the bytes `start..end` of a text with `text` (an insertion when `start == end`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Splice {
    /// First byte replaced.
    pub start: usize,
    /// Byte just past the last one replaced.
    pub end: usize,
    /// What goes there.
    pub text: String,
}

/// Why splices could not be applied: a bug of whoever made them, never a state to write.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Two splices touch the same bytes.
    #[error("two edits overlap at byte {at}")]
    Overlap {
        /// Where the second one starts.
        at: usize,
    },
    /// A splice is outside the text or splits a character.
    #[error("an edit at bytes {start}..{end} is not inside the text")]
    OutOfText {
        /// Its start.
        start: usize,
        /// Its end.
        end: usize,
    },
}

/// `text` with every splice applied. Splices are taken in order of their start (insertions at
/// one offset in the order given); they must not overlap.
pub fn apply(text: &str, splices: &[Splice]) -> Result<String, Error> {
    let mut order: Vec<&Splice> = splices.iter().collect();
    order.sort_by_key(|s| (s.start, s.end));
    let mut out = String::with_capacity(text.len() + 64);
    let mut at = 0;
    for s in order {
        if s.start < at {
            return Err(Error::Overlap { at: s.start });
        }
        let (Some(kept), true) = (
            text.get(at..s.start),
            s.start <= s.end && text.get(s.start..s.end).is_some(),
        ) else {
            return Err(Error::OutOfText {
                start: s.start,
                end: s.end,
            });
        };
        out.push_str(kept);
        out.push_str(&s.text);
        at = s.end;
    }
    out.push_str(text.get(at..).unwrap_or_default());
    Ok(out)
}

/// The 1-based line and column (in characters) of byte `offset` of `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// The line ending of the line holding byte `offset`: `\r\n` when that line ends so, else the
/// file's first line ending, else `\n`.
pub fn line_ending(text: &str, offset: usize) -> &'static str {
    let crlf = |end: usize| end > 0 && text.as_bytes().get(end - 1) == Some(&b'\r');
    if let Some(end) = text.get(offset..).and_then(|t| t.find('\n')) {
        return if crlf(offset + end) { "\r\n" } else { "\n" };
    }
    match text.find('\n') {
        Some(end) if crlf(end) => "\r\n",
        _ => "\n",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splices_apply_in_order_and_never_overlap() {
        let s = |start, end, text: &str| Splice {
            start,
            end,
            text: text.into(),
        };
        assert_eq!(
            apply("a b c", &[s(4, 5, "C"), s(0, 1, "A"), s(2, 2, "+")]).unwrap(),
            "A +b C"
        );
        assert_eq!(
            apply("abc", &[s(0, 2, ""), s(1, 3, "")]),
            Err(Error::Overlap { at: 1 })
        );
        assert!(apply("é", &[s(1, 1, "x")]).is_err(), "inside a character");
        assert!(apply("ab", &[s(1, 9, "x")]).is_err());
    }

    #[test]
    fn lines_and_endings() {
        assert_eq!(line_col("ab\ncé d", 7), (2, 4));
        assert_eq!(line_ending("a\r\nb\n", 0), "\r\n");
        assert_eq!(line_ending("a\r\nb\n", 3), "\n");
        assert_eq!(
            line_ending("a\r\nb", 3),
            "\r\n",
            "the last line: the file's"
        );
        assert_eq!(line_ending("ab", 0), "\n");
    }
}
