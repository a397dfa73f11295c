//! CSV edits: one cell's bytes replaced by a new value, quoted as the csv crate (and every
//! spreadsheet) reads it back; a tags cell (`VIP; Blog Updates`) with tags removed and added,
//! keeping its separator and the order of the tags kept. Every other byte of the file stays.

/// `value` as a cell: quoted when it was (`was_quoted`) or when it must be (a `,`, a `"`, a line
/// break, or spaces at either end, which some readers trim).
pub fn cell(value: &str, was_quoted: bool) -> String {
    let must =
        value.contains([',', '"', '\r', '\n']) || value.starts_with(' ') || value.ends_with(' ');
    if was_quoted || must {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_string()
    }
}

/// The value of a cell written as `raw` (its bytes, quotes included), and whether it was quoted.
pub fn unquote(raw: &str) -> (String, bool) {
    match raw
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .filter(|_| raw.len() >= 2)
    {
        Some(inner) => (inner.replace("\"\"", "\""), true),
        None => (raw.to_string(), false),
    }
}

/// A tags cell's value (`VIP; Blog Updates`) without the tags `remove` and with `add` after the
/// others, separated as the cell was (`; ` unless it used `;` alone).
pub fn tags(old: &str, remove: &[String], add: &[String]) -> String {
    let separator = if old.contains(';') && !old.contains("; ") {
        ";"
    } else {
        "; "
    };
    old.split(';')
        .map(str::trim)
        .filter(|t| !t.is_empty() && !remove.iter().any(|r| r == t))
        .map(str::to_string)
        .chain(add.iter().cloned())
        .collect::<Vec<_>>()
        .join(separator)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn cells_are_quoted_when_they_were_or_must_be() {
        assert_eq!(cell("Ana", false), "Ana");
        assert_eq!(cell("Ana", true), "\"Ana\"");
        assert_eq!(cell("Dar, Juan", false), "\"Dar, Juan\"");
        assert_eq!(cell("say \"hi\"", false), "\"say \"\"hi\"\"\"");
        assert_eq!(unquote("\"a \"\"b\"\"\""), ("a \"b\"".to_string(), true));
        assert_eq!(unquote("\""), ("\"".to_string(), false));
    }

    #[test]
    fn tags_cells_keep_their_separator_and_order() {
        let s = |v: &[&str]| v.iter().map(|t| t.to_string()).collect::<Vec<_>>();
        assert_eq!(tags("VIP; Blog", &s(&["VIP"]), &s(&["New"])), "Blog; New");
        assert_eq!(tags("VIP;Blog", &s(&[]), &s(&["New"])), "VIP;Blog;New");
        assert_eq!(tags("", &s(&[]), &s(&["New"])), "New");
        assert_eq!(tags("VIP", &s(&["VIP"]), &s(&[])), "");
    }

    proptest! {
        #[test]
        fn a_written_cell_reads_back_as_its_value(value in "[ -~\\n\\u{e9}]{0,12}", quoted in any::<bool>()) {
            let text = format!("a,b,c\nx,{},z\n", cell(&value, quoted));
            let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
            let row = reader.records().next().unwrap().unwrap();
            prop_assert_eq!(row.len(), 3);
            prop_assert_eq!(&row[1], value.as_str());
        }
    }
}
