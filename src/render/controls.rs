//! The one escaping of what a plan or report shows from the config or the platform (values,
//! identities, names, tags, errors) in text and Markdown: control characters (Unicode Cc: a line
//! break, a NUL, an escape sequence) and the bidirectional controls that make a line read as
//! another (U+200E, U+200F, U+202A–U+202E, U+2066–U+2069) are written as Rust escapes (`\n`,
//! `\0`, `\u{202e}`), so a value cannot fake a line such as `+ firstName: "forged"` in a review.
//! Everything else is left as it is.

use std::borrow::Cow;

/// Whether `c` is escaped: a Unicode Cc control or a bidirectional control.
fn escaped(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

/// `text` with its control and bidirectional characters escaped (borrowed when it has none).
pub(crate) fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(escaped) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if escaped(c) {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_bidirectional_marks_are_escaped_and_the_rest_kept() {
        assert!(matches!(
            escape_controls("Ana María \\ ok"),
            Cow::Borrowed(_)
        ));
        assert_eq!(
            escape_controls("a\n      + firstName: \"forged\""),
            "a\\n      + firstName: \"forged\""
        );
        assert_eq!(
            escape_controls("x\0y\t\r\u{1b}[31m\u{85}"),
            "x\\0y\\t\\r\\u{1b}[31m\\u{85}"
        );
        for c in [
            '\u{200e}', '\u{200f}', '\u{202a}', '\u{202e}', '\u{2066}', '\u{2069}',
        ] {
            let shown = escape_controls(&format!("a{c}b")).into_owned();
            assert_eq!(shown, format!("a\\u{{{:x}}}b", c as u32));
        }
        // joiners and marks that are not controls stay
        assert_eq!(escape_controls("a\u{200d}b\u{2065}"), "a\u{200d}b\u{2065}");
    }
}
