//! Writing YAML scalars that the config loader reads back as the same text: plain when nothing
//! else could be read from them, double-quoted (with escapes) otherwise; and text for one-line
//! comments.

use crate::model::{yaml_double_quoted, yaml_needs_escape};

/// Text as a YAML scalar: plain when that cannot be read as anything else (in block and flow
/// context alike), else double-quoted.
pub fn scalar(s: &str) -> String {
    if plain_ok(s) {
        s.to_string()
    } else {
        yaml_double_quoted(s)
    }
}

/// Whether `s` may be written as a plain scalar and read back as the same text: starts with a
/// letter, holds only letters, digits, spaces and `_ . @ - + / ( ) '`, does not end in a space,
/// and is not a word some YAML reader takes for a boolean or null.
fn plain_ok(s: &str) -> bool {
    let mut chars = s.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    if !first.is_alphabetic() || s.ends_with(' ') {
        return false;
    }
    if !s.chars().all(|c| {
        c.is_alphanumeric() && !c.is_whitespace()
            || matches!(
                c,
                ' ' | '_' | '.' | '@' | '-' | '+' | '/' | '(' | ')' | '\''
            )
    }) {
        return false;
    }
    // YAML 1.1 readers (and people) take these for booleans or null; YAML 1.2 does not, but
    // quoting them costs nothing.
    !matches!(
        s.to_ascii_lowercase().as_str(),
        "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "y" | "n"
    )
}

/// Text for a one-line comment: as is when it reads unambiguously inside `a=b, c=d; ...`, else
/// double-quoted (so a newline cannot end the comment and a `,` cannot split a value).
pub(super) fn note_text(s: &str) -> String {
    let clean = !s.is_empty()
        && !s.starts_with(' ')
        && !s.ends_with(' ')
        && s.chars()
            .all(|c| !yaml_needs_escape(c) && !c.is_control() && !matches!(c, ',' | ';' | '"'));
    if clean {
        s.to_string()
    } else {
        yaml_double_quoted(s)
    }
}
