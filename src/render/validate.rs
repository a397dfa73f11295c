//! The verdict of `validate`: in words (`contacts/ is valid: 3 contacts, ...`, or every problem
//! as `file:line:col: message`), or as one JSON object for scripts and CI annotations:
//! `{"valid": true, "contacts": N, "channels": N, "fields": N, "tags": N}` or
//! `{"valid": false, "problems": [{"file", "line", "col", "message"}, ...]}`.

use std::io;
use std::path::Path;

use serde::Serialize;

use super::Format;
use crate::config::{Diagnostic, render_diagnostics};
use crate::model::Config;

/// Write the verdict on the config at `path`: `Ok` with the loaded config, or its problems.
/// `excerpts` adds a source excerpt under each problem in text (for a person at a terminal).
pub fn validate(
    format: Format,
    path: &Path,
    result: Result<&Config, &[Diagnostic]>,
    w: &mut dyn io::Write,
    excerpts: bool,
) -> io::Result<()> {
    match (format, result) {
        (Format::Json, result) => json(result, w),
        (Format::Text | Format::Markdown, Ok(config)) => writeln!(w, "{}", sentence(path, config)),
        (Format::Text | Format::Markdown, Err(diagnostics)) => {
            w.write_all(render_diagnostics(diagnostics, excerpts).as_bytes())
        }
    }
}

/// `PATH is valid: 3 contacts, 2 channels, 4 fields, 3 tags.`
fn sentence(path: &Path, config: &Config) -> String {
    let count = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    format!(
        "{} is valid: {}, {}, {}, {}.",
        path.display(),
        count(config.contacts.len(), "contact"),
        count(config.channels.len(), "channel"),
        count(config.fields.len(), "field"),
        count(config.tags.len(), "tag"),
    )
}

#[derive(Serialize)]
#[serde(untagged)]
enum JsonVerdict<'a> {
    Valid {
        valid: bool,
        contacts: usize,
        channels: usize,
        fields: usize,
        tags: usize,
    },
    Invalid {
        valid: bool,
        problems: Vec<JsonProblem<'a>>,
    },
}

#[derive(Serialize)]
struct JsonProblem<'a> {
    file: &'a str,
    line: usize,
    col: usize,
    message: &'a str,
}

fn json(result: Result<&Config, &[Diagnostic]>, w: &mut dyn io::Write) -> io::Result<()> {
    let verdict = match result {
        Ok(config) => JsonVerdict::Valid {
            valid: true,
            contacts: config.contacts.len(),
            channels: config.channels.len(),
            fields: config.fields.len(),
            tags: config.tags.len(),
        },
        Err(diagnostics) => JsonVerdict::Invalid {
            valid: false,
            problems: diagnostics
                .iter()
                .map(|d| JsonProblem {
                    file: &d.loc.file,
                    line: d.loc.line,
                    col: d.loc.col,
                    message: &d.message,
                })
                .collect(),
        },
    };
    serde_json::to_writer_pretty(&mut *w, &verdict)?;
    w.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SourceLoc;

    fn render(format: Format, result: Result<&Config, &[Diagnostic]>) -> String {
        let mut out = Vec::new();
        validate(format, Path::new("c.yaml"), result, &mut out, false).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_valid_config_is_counted_in_words_and_in_json() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.yaml");
        std::fs::write(
            &path,
            "version: 1\nchannels:\n  web: { base_url: https://x.example/api, token_env: T }\n  viber: { base_url: https://x.example/api, token_env: V }\nfields:\n  email: { type: email }\n  firstName: { type: text }\n  lastName: { type: text }\n  note: { type: text }\n  phone: { type: phone }\n  vip: { type: boolean }\n  customerid: { type: number }\ntags: [A, B, C]\ndefaults: { channel: web, key: email }\ncontacts:\n  - fields: { email: a@x.com }\n",
        )
        .unwrap();
        let config = crate::config::load(&path).unwrap();
        assert_eq!(
            render(Format::Text, Ok(&config)),
            "c.yaml is valid: 1 contact, 2 channels, 7 fields, 3 tags.\n"
        );
        let v: serde_json::Value =
            serde_json::from_str(&render(Format::Json, Ok(&config))).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"valid": true, "contacts": 1, "channels": 2, "fields": 7, "tags": 3})
        );
    }

    #[test]
    fn problems_are_file_line_col_lines_or_a_json_list() {
        let d = [Diagnostic {
            loc: SourceLoc {
                file: "c.yaml".into(),
                line: 3,
                col: 5,
            },
            message: "unknown field \"x\"".into(),
            kind: crate::config::FileKind::Yaml,
        }];
        assert_eq!(
            render(Format::Text, Err(&d)),
            "c.yaml:3:5: unknown field \"x\"\n"
        );
        let v: serde_json::Value = serde_json::from_str(&render(Format::Json, Err(&d))).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"valid": false, "problems": [
                {"file": "c.yaml", "line": 3, "col": 5, "message": "unknown field \"x\""}
            ]})
        );
    }
}
