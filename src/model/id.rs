//! Which contact IDs can be used at all. An ID travels as one path segment
//! (`/v1/contact/{id}`), and an empty, `.` or `..` segment is not one: URL parsers drop or
//! collapse it (percent-encoding does not help, `%2e` is a dot segment too), so the call would
//! go to another endpoint. Such an ID is refused where it enters (the config, live data) and
//! again where a path is built. Every other character is allowed (Viber IDs hold `+` and `/`).

use std::fmt;

/// Whether `id` can address a contact: not empty, `.` or `..`.
pub fn id_is_usable(id: &str) -> bool {
    !matches!(id, "" | "." | "..")
}

/// Why `id` (unusable) cannot be a contact ID, as a clause: `an empty ID would address ...`.
pub fn unusable_id_reason(id: &str) -> String {
    UnusableId(id).to_string()
}

/// Why an ID no call can use is refused, in words: [`unusable_id_reason`].
pub(crate) struct UnusableId<'a>(pub(crate) &'a str);

impl fmt::Display for UnusableId<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("an empty ID")?;
        } else {
            write!(f, "the ID {:?}", self.0)?;
        }
        f.write_str(" would address another endpoint of the API as a path segment")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_empty_dot_and_dot_dot_are_unusable() {
        for id in ["", ".", ".."] {
            assert!(!id_is_usable(id), "{id:?}");
        }
        for id in [
            "...",
            "a.",
            "./a",
            "+/=",
            "tMNGhftyUPrB3r1lD+bT4g==",
            " .",
            "%2e",
        ] {
            assert!(id_is_usable(id), "{id:?}");
        }
        assert_eq!(
            unusable_id_reason(".."),
            "the ID \"..\" would address another endpoint of the API as a path segment"
        );
        assert!(unusable_id_reason("").starts_with("an empty ID"));
    }
}
