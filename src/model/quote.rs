//! YAML's double-quoted scalar: any text written so that every YAML reader reads it back as the
//! same text (the escapes it needs, and nothing else). Both writers of YAML use it: `import`'s
//! new files and `adopt`'s edits.

use std::fmt::Write as _;

/// `s` double-quoted: `"` and `\` escaped, and every character YAML does not allow as is
/// (control characters, DEL, C1, the BOM, line and paragraph separators) as an escape.
pub fn yaml_double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if yaml_needs_escape(c) => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Whether YAML allows `c` in a scalar only as an escape: control characters, DEL, C1, the BOM,
/// the line and paragraph separators and the two non-characters at the end of the BMP.
pub fn yaml_needs_escape(c: char) -> bool {
    let u = c as u32;
    u < 0x20
        || (0x7f..=0x9f).contains(&u)
        || matches!(u, 0xfeff | 0x2028 | 0x2029 | 0xfffe | 0xffff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_and_backslashes_are_escaped_and_so_is_what_yaml_does_not_allow_as_is() {
        assert_eq!(yaml_double_quoted("plain"), r#""plain""#);
        assert_eq!(yaml_double_quoted(r#"a "b" \c"#), r#""a \"b\" \\c""#);
        assert_eq!(yaml_double_quoted("a\nb\tc\rd"), r#""a\nb\tc\rd""#);
        assert_eq!(
            yaml_double_quoted("\u{0}\u{7f}\u{85}\u{feff}\u{2028}\u{2029}"),
            r#""\u0000\u007F\u0085\uFEFF\u2028\u2029""#
        );
        assert_eq!(yaml_double_quoted("José 🙂"), "\"José 🙂\"");
        assert!(!yaml_needs_escape('é') && yaml_needs_escape('\u{1b}'));
    }
}
