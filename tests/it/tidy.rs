//! The layout, kept true by reading the source tree (as rust-analyzer's "tidy" test does), so
//! nobody has to remember it:
//! - the top-level modules depend on each other one way only, as README's design notes draw it;
//! - the pure core (`model`, `plan`) uses no async runtime, HTTP, files, environment, processes
//!   or clock;
//! - the command-line crates (clap, indicatif) and printing to the terminal stay in `src/cli/`
//!   and `src/main.rs`;
//! - every source file opens with a `//!` comment saying what it owns;
//! - the library that reads, plans and applies and the operations over it (`model`, `plan`,
//!   `read`, `apply`, `ops`) build no sentence:
//!   no string literal of two words outside errors' `#[error]`s, `impl Display`s and panics
//!   (their words are their own); `src/render/problems.rs` words its typed problems; `init`'s
//!   starter config is data, kept in `src/ops/starter.yaml` and included with `include_str!`;
//! - every `.rs` file under `tests/` is compiled: reachable from the one test binary
//!   (`tests/it/main.rs`) or from a bench's `#[path]` include, through `mod` lines and their
//!   `#[path]` attributes. A file nothing reaches is never built, so its tests never run.
//!
//! Test-only code (`#[cfg(test)] mod tests` blocks, `crate::testing`, the renderers' fixtures,
//! the apply engine's test file) is left out: tests may reach across layers.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Each top-level module and the modules it may use. The direction of every arrow in README's
/// "Design notes" diagram.
const ALLOWED: &[(&str, &[&str])] = &[
    ("model", &[]),
    ("plan", &["model"]),
    ("config", &["model"]),
    ("api", &["model"]),
    ("read", &["api", "model"]),
    ("apply", &["api", "plan", "read", "model"]),
    ("render", &["apply", "edit", "plan", "config", "model"]),
    ("import", &["model"]),
    ("edit", &["config", "model"]),
    ("sandbox", &["api", "model"]),
    (
        "ops",
        &[
            "read", "apply", "render", "import", "edit", "sandbox", "api", "plan", "config",
            "model",
        ],
    ),
    (
        "cli",
        &[
            "ops", "read", "apply", "render", "import", "sandbox", "api", "plan", "config", "model",
        ],
    ),
];

/// Test-only files: they may use anything.
const TEST_ONLY: &[&str] = &[
    "src/testing.rs",
    "src/testing/",
    "src/apply/tests.rs",
    "src/render/fixtures.rs",
];

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// `src/a/b.rs` → `src/a/b.rs` with forward slashes, for messages and matching.
fn shown(p: &Path) -> String {
    p.to_string_lossy().replace('\\', "/")
}

fn is_test_only(file: &str) -> bool {
    TEST_ONLY.iter().any(|t| file == *t || file.starts_with(t))
}

/// The top-level module a file belongs to (`src/ops/apply.rs` → `ops`; `src/lib.rs` → none).
fn top_module(file: &str) -> Option<&str> {
    let rest = file.strip_prefix("src/")?;
    let first = rest.split('/').next()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (!matches!(name, "lib" | "main")).then_some(name)
}

/// The code of a file without its `#[cfg(test)] mod tests { ... }` block (always the file's
/// tail in this code base) and without comments.
fn production_code(text: &str) -> String {
    let code = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    };
    code.lines()
        .map(|l| match l.find("//") {
            Some(i) if !l[..i].contains('"') => &l[..i],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The first path segment of every `crate::...` path in `code` (`crate::api::X` → `api`;
/// `crate::{api::X, model}` → `api`, `model`), and of `super::` paths that leave the file's
/// top-level module.
fn uses(code: &str, depth: usize) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let mut add_paths = |after: &str| {
        let after = after.trim_start();
        if let Some(group) = after.strip_prefix('{') {
            // the items of a `{...}` group, split at top-level commas
            let mut depth = 0;
            let mut item_start = 0;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        found.insert(ident(group[item_start..i].trim()));
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        found.insert(ident(group[item_start..i].trim()));
                        item_start = i + 1;
                    }
                    _ => {}
                }
            }
        } else {
            found.insert(ident(after));
        }
    };
    for (i, _) in code.match_indices("crate::") {
        let before = code[..i].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // e.g. `my_crate::`
        }
        add_paths(&code[i + "crate::".len()..]);
    }
    // `super::` from a file `depth` levels below `src/` reaches the crate root after `depth`
    // steps: only paths with that many `super::` name another top-level module.
    let escape = "super::".repeat(depth);
    if depth > 0 {
        for (i, _) in code.match_indices(&escape) {
            let rest = &code[i + escape.len()..];
            if !rest.starts_with("super::") {
                add_paths(rest);
            }
        }
    }
    found.retain(|s| !s.is_empty() && s != "self");
    found
}

/// How many `super::` reach the crate root from `file`: 1 for `src/x/mod.rs` and `src/x.rs`,
/// one more per directory below.
fn depth(file: &str) -> usize {
    let rest = file.strip_prefix("src/").unwrap_or(file);
    let parts: Vec<&str> = rest.split('/').collect();
    let in_dirs = parts.len() - 1;
    if parts.last() == Some(&"mod.rs") {
        in_dirs
    } else {
        in_dirs + 1
    }
}

fn sources() -> Vec<(String, String)> {
    rust_files(Path::new("src"))
        .into_iter()
        .map(|p| {
            let text = fs::read_to_string(&p).unwrap();
            (shown(&p), text)
        })
        .collect()
}

#[test]
fn the_top_level_modules_depend_on_each_other_one_way() {
    let allowed: BTreeMap<&str, BTreeSet<&str>> = ALLOWED
        .iter()
        .map(|(m, deps)| (*m, deps.iter().copied().collect()))
        .collect();
    let known: BTreeSet<&str> = allowed.keys().copied().collect();
    let mut wrong = Vec::new();
    for (file, text) in sources() {
        if is_test_only(&file) {
            continue;
        }
        let Some(module) = top_module(&file) else {
            continue;
        };
        let Some(may) = allowed.get(module) else {
            wrong.push(format!(
                "{file}: module {module} is not in the layering (add it to ALLOWED and README)"
            ));
            continue;
        };
        for used in uses(&production_code(&text), depth(&file)) {
            if used == module || !known.contains(used.as_str()) {
                continue;
            }
            if !may.contains(used.as_str()) {
                wrong.push(format!("{file}: {module} uses {used}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "dependencies against the layering:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_layering_has_no_cycle() {
    // Depth-first search over ALLOWED: a module reachable from itself is a cycle.
    let graph: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    fn reaches(
        graph: &BTreeMap<&str, &[&str]>,
        from: &str,
        to: &str,
        seen: &mut BTreeSet<String>,
    ) -> bool {
        for &next in graph.get(from).copied().unwrap_or(&[]) {
            if next == to {
                return true;
            }
            if seen.insert(next.to_string()) && reaches(graph, next, to, seen) {
                return true;
            }
        }
        false
    }
    for m in graph.keys() {
        assert!(
            !reaches(&graph, m, m, &mut BTreeSet::new()),
            "{m} depends on itself through the layering"
        );
    }
}

#[test]
fn the_pure_core_does_no_io_and_reads_no_clock() {
    const FORBIDDEN: &[&str] = &[
        "tokio",
        "reqwest",
        "std::fs",
        "fs::",
        "std::env",
        "env::var",
        "std::net",
        "std::process",
        "Instant",
        "SystemTime",
        "futures",
        "async fn",
        ".await",
    ];
    let mut wrong = Vec::new();
    for (file, text) in sources() {
        if !(file.starts_with("src/model/") || file.starts_with("src/plan/")) {
            continue;
        }
        let code = production_code(&text);
        for f in FORBIDDEN {
            if code.contains(f) {
                wrong.push(format!("{file}: {f}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "IO in the pure core:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn only_the_command_line_prints_or_knows_clap_and_indicatif() {
    const EDGE_ONLY: &[&str] = &[
        "println!",
        "eprintln!",
        "print!(",
        "eprint!(",
        "dbg!(",
        "std::io::stdout",
        "std::io::stderr",
        "io::stdout()",
        "io::stderr()",
        "clap::",
        "clap_complete",
        "clap_mangen",
        "indicatif",
        "anyhow",
    ];
    let mut wrong = Vec::new();
    for (file, text) in sources() {
        if file.starts_with("src/cli/") || file == "src/main.rs" || is_test_only(&file) {
            continue;
        }
        let code = production_code(&text);
        for f in EDGE_ONLY {
            if code.contains(f) {
                wrong.push(format!("{file}: {f}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "printing or CLI crates outside src/cli:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn every_source_file_opens_with_what_it_owns() {
    let missing: Vec<String> = sources()
        .into_iter()
        .filter(|(_, text)| !text.trim_start().starts_with("//!"))
        .map(|(file, _)| file)
        .collect();
    assert!(missing.is_empty(), "no //! comment: {missing:?}");
}

#[test]
fn the_dependency_reader_sees_grouped_and_super_paths() {
    let code = "use crate::{api::{A, B}, model::C};\nuse super::super::plan::D;\nlet x = crate::read::f();";
    assert_eq!(
        uses(code, 2),
        ["api", "model", "plan", "read"].map(String::from).into()
    );
    assert_eq!(uses("use super::x::Y;", 2), BTreeSet::new());
    assert_eq!(depth("src/ops/mod.rs"), 1);
    assert_eq!(depth("src/ops/apply.rs"), 2);
    assert_eq!(depth("src/import/mod.rs"), 1);
    assert_eq!(depth("src/lib.rs"), 1);
}

/// The files a module tree reaches from `root` (a crate root or a `#[path]`-included file),
/// following `mod name;` lines and their `#[path = "..."]` attributes as rustc does: a child of
/// a crate root, a `mod.rs` or a `#[path]` file lives beside it (`dir/name.rs` or
/// `dir/name/mod.rs`), a child of any other `x.rs` in `x/`; a `#[path]` is relative to the
/// including file's directory. `mod` lines inside inline `mod x { ... }` blocks are not
/// followed (this code base has none).
fn reached_from(root: &Path, owns_dir: bool, seen: &mut BTreeSet<PathBuf>) {
    let Ok(root) = root.canonicalize() else {
        return; // a `mod` or `#[path]` naming no file: the compiler says so
    };
    if !seen.insert(root.clone()) {
        return;
    }
    let text = fs::read_to_string(&root).unwrap();
    let dir = root.parent().unwrap().to_path_buf();
    let own_dir = if owns_dir {
        dir.clone()
    } else {
        dir.join(root.file_stem().unwrap())
    };
    let mut path_attr: Option<String> = None;
    for line in text.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("#[path") {
            path_attr = rest.split('"').nth(1).map(str::to_string);
            continue;
        }
        if line.starts_with("#[") || line.starts_with("//") || line.is_empty() {
            continue; // other attributes and comments sit between `#[path]` and its `mod`
        }
        let attr = path_attr.take();
        let Some(name) = declared_module(line) else {
            continue;
        };
        match attr {
            Some(path) => reached_from(&dir.join(path), true, seen),
            None => {
                let file = own_dir.join(format!("{name}.rs"));
                if file.exists() {
                    reached_from(&file, false, seen);
                } else {
                    reached_from(&own_dir.join(name).join("mod.rs"), true, seen);
                }
            }
        }
    }
}

/// `name` of a line `mod name;` (any visibility); `None` for anything else, an inline
/// `mod name { ... }` included.
fn declared_module(line: &str) -> Option<&str> {
    let rest = match line.strip_prefix("pub") {
        Some(r) if r.starts_with('(') => r.split_once(')')?.1,
        Some(r) => r,
        None => line,
    };
    let name = rest
        .trim_start()
        .strip_prefix("mod ")?
        .trim()
        .strip_suffix(';')?;
    name.chars()
        .all(|c| c.is_alphanumeric() || c == '_')
        .then_some(name)
}

/// Every `.rs` file under `root/tests` that neither the test binary `root/tests/it/main.rs` nor
/// any bench in `root/benches` reaches, relative to `root`.
fn unreachable_test_files(root: &Path) -> Vec<String> {
    let mut seen = BTreeSet::new();
    reached_from(&root.join("tests/it/main.rs"), true, &mut seen);
    let benches = root.join("benches");
    if benches.is_dir() {
        for bench in rust_files(&benches) {
            reached_from(&bench, true, &mut seen);
        }
    }
    rust_files(&root.join("tests"))
        .into_iter()
        .filter(|f| !seen.contains(&f.canonicalize().unwrap()))
        .map(|f| shown(f.strip_prefix(root).unwrap()))
        .collect()
}

#[test]
fn every_test_file_is_reached_from_the_test_binary_or_a_bench() {
    let lost = unreachable_test_files(Path::new("."));
    assert!(
        lost.is_empty(),
        "never compiled (add a `mod` line in tests/it/main.rs or delete them): {lost:?}"
    );
}

#[test]
fn the_reachability_check_finds_a_file_no_mod_line_names() {
    let root = tempfile::tempdir().unwrap();
    let write = |path: &str, text: &str| {
        let p = root.path().join(path);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    };
    write(
        "tests/it/main.rs",
        "//! root\nmod support;\npub(crate) mod suite;\n",
    );
    write("tests/it/support/mod.rs", "pub mod http;\n");
    write("tests/it/support/http.rs", "mod nested;\n");
    write("tests/it/support/http/nested.rs", "");
    write("tests/it/suite.rs", "#[cfg(test)]\nmod tests {\n}\n");
    write("tests/shared/fake.rs", "");
    write(
        "benches/b.rs",
        "#[path = \"../tests/shared/fake.rs\"]\n#[allow(dead_code)]\nmod fake;\n",
    );
    assert_eq!(unreachable_test_files(root.path()), Vec::<String>::new());

    write("tests/old_suite.rs", "");
    write("tests/it/forgotten.rs", "");
    write("tests/it/support/http/orphan.rs", "");
    write("benches/b.rs", "");
    assert_eq!(
        unreachable_test_files(root.path()),
        [
            "tests/it/forgotten.rs",
            "tests/it/support/http/orphan.rs",
            "tests/old_suite.rs",
            "tests/shared/fake.rs",
        ]
    );
}

/// The only places that may build a sentence: the renderers, the command line, and the binary's
/// entry point. Everywhere else in `src/` (the model, config, API client, planner, reader,
/// engine, sandbox, import, adopt's editor and the operations) failures, warnings, refusals,
/// notes and reasons are typed, and `src/render/`, an error's own `#[error]` or an `impl
/// Display` words them. README's design notes state the rule.
const MAY_SAY: &[&str] = &["src/render/", "src/cli/", "src/main.rs"];

/// The spans (byte ranges, quotes included) of the string literals of `code`: `"..."`, `b"..."`
/// and raw `r#"..."#`; char literals are skipped, lifetimes are not mistaken for them.
fn string_spans(code: &str) -> Vec<(usize, usize)> {
    let b = code.as_bytes();
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut spans = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'r' if (i == 0 || !ident(b[i - 1])) && matches!(b.get(i + 1), Some(b'"' | b'#')) => {
                let hashes = b[i + 1..].iter().take_while(|&&c| c == b'#').count();
                if b.get(i + 1 + hashes) != Some(&b'"') {
                    i += 1;
                    continue;
                }
                let close = format!("\"{}", "#".repeat(hashes));
                let body = i + 2 + hashes;
                let end = code[body..]
                    .find(&close)
                    .map_or(b.len(), |k| body + k + close.len());
                spans.push((i, end));
                i = end;
            }
            b'"' => {
                let mut j = i + 1;
                while j < b.len() && b[j] != b'"' {
                    j += if b[j] == b'\\' { 2 } else { 1 };
                }
                spans.push((i, (j + 1).min(b.len())));
                i = j + 1;
            }
            // a char literal ('x', '\n', '"'); a lifetime ('a) has no closing quote after one char
            b'\'' if b.get(i + 1) == Some(&b'\\') => {
                i += code[i + 2..].find('\'').map_or(b.len(), |k| k + 3);
            }
            b'\'' if b.get(i + 2) == Some(&b'\'') => i += 3,
            _ => i += 1,
        }
    }
    spans
}

/// The end (exclusive) of the group that opens at `open` (a `(`, `[` or `{`), strings skipped.
fn group_end(code: &str, open: usize, spans: &[(usize, usize)]) -> usize {
    let (up, down) = match code.as_bytes()[open] {
        b'(' => (b'(', b')'),
        b'[' => (b'[', b']'),
        _ => (b'{', b'}'),
    };
    let mut depth = 0usize;
    let mut i = open;
    while i < code.len() {
        if let Some(&(_, end)) = spans.iter().find(|(s, _)| *s == i) {
            i = end;
            continue;
        }
        let c = code.as_bytes()[i];
        if c == up {
            depth += 1;
        } else if c == down {
            depth -= 1;
            if depth == 0 {
                return i + 1;
            }
        }
        i += 1;
    }
    code.len()
}

/// The string literals of `code` outside attributes (`#[error(...)]`, `#[schemars(...)]`: an
/// error's words are its own, an attribute declares), `panic!(...)`s, `impl ... Display for`
/// blocks, serde's `fn expecting` and `const ..._NEEDLES` tables (texts matched in another
/// program's messages, never said), without their quotes.
fn literals_outside_own_words(code: &str) -> Vec<String> {
    let spans = string_spans(code);
    let in_string = |i: usize| spans.iter().any(|&(s, e)| s <= i && i < e);
    let mut skipped: Vec<(usize, usize)> = Vec::new();
    for own in ["#[", "#![", "panic!("] {
        for (at, _) in code.match_indices(own) {
            if !in_string(at) {
                skipped.push((at, group_end(code, at + own.len() - 1, &spans)));
            }
        }
    }
    for (at, _) in code.match_indices("const ") {
        let head = code[at + 6..].split(':').next().unwrap_or("");
        if !in_string(at) && head.trim().ends_with("_NEEDLES") {
            let end = code[at..].find(';').map_or(code.len(), |k| at + k);
            skipped.push((at, end));
        }
    }
    // `impl Display` blocks, and serde's `expecting` (what a deserializer's error says it wanted)
    for (at, _) in code
        .match_indices("impl")
        .chain(code.match_indices("fn expecting("))
    {
        let line_end = code[at..].find('\n').map_or(code.len(), |k| at + k);
        let line = &code[at..line_end];
        if in_string(at) || !(line.contains("Display for ") || line.starts_with("fn expecting(")) {
            continue;
        }
        if let Some(open) = code[at..].find('{').map(|k| at + k) {
            skipped.push((at, group_end(code, open, &spans)));
        }
    }
    spans
        .iter()
        .filter(|(s, _)| !skipped.iter().any(|(a, b)| a <= s && s < b))
        .map(|&(s, e)| {
            let lit = &code[s..e];
            let body = lit.trim_start_matches(['r', 'b', '#']);
            body.trim_end_matches('#').trim_matches('"').to_string()
        })
        .collect()
}

/// Whether a literal says a sentence: two words of letters (two or more each) with one space
/// between them, once `{...}` placeholders are taken out. `"email"`, `"{field}={value}"`,
/// `"--max-pages"` are not; `"no API client for channel {c}"` is.
fn is_sentence(literal: &str) -> bool {
    let mut text = String::new();
    let mut depth = 0usize;
    for c in literal.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            c if depth == 0 => text.push(c),
            _ => {}
        }
    }
    let word = |w: &str| w.len() >= 2 && w.chars().all(|c| c.is_alphabetic());
    text.split(|c: char| !(c.is_alphabetic() || c == ' '))
        .flat_map(|run| {
            let words: Vec<&str> = run.split(' ').collect();
            words
                .windows(2)
                .map(|w| word(w[0]) && word(w[1]))
                .collect::<Vec<_>>()
        })
        .any(|pair| pair)
}

/// The sentences `code` builds outside its errors' and `Display`s' own words.
fn sentences(code: &str) -> Vec<String> {
    literals_outside_own_words(code)
        .into_iter()
        .filter(|l| is_sentence(l))
        .collect()
}

#[test]
fn no_sentence_is_built_outside_render_and_cli() {
    let mut wrong = Vec::new();
    for (file, text) in sources() {
        if MAY_SAY.iter().any(|d| file.starts_with(d)) || is_test_only(&file) {
            continue;
        }
        for s in sentences(&production_code(&text)) {
            wrong.push(format!("{file}: {s:?}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "sentences built outside src/render/, src/cli/ and errors' own words (type the \
         problem, word it in its #[error] or Display, or in src/render/):\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_sentence_rule_finds_a_sentence_and_leaves_errors_and_displays_alone() {
    let code = r##"
        let failure = format!("no API client for channel {channel}");
        let key = format!("{field}={value}");
        let flag = "--max-pages";
        let c = '"';
        let raw = r#"a "quoted" raw string"#;
        #[derive(thiserror::Error)]
        enum E {
            #[error("the key field {field} has no value to look up")]
            NoKeyValue { field: String },
        }
        impl fmt::Display for UnusableId<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an empty ID would address another endpoint")
            }
        }
        fn after<'a>(x: &'a str) -> &'a str { "one more sentence" }
        fn index(&self, name: &str) -> &V { panic!("no field {name:?}") }
        #[schemars(title = "contactctl config")]
        #![doc = "an inner attribute"]
        const NOT_FOUND_NEEDLES: &[&str] = &["not found", "no existe"];
        const NOT_A_TABLE: &[&str] = &["said after all"];
        let xs = [1, 2]; let s = "after an array";
    "##;
    assert_eq!(
        sentences(code),
        [
            "no API client for channel {channel}",
            "a \"quoted\" raw string",
            "one more sentence",
            "said after all",
            "after an array"
        ]
    );
    assert!(!is_sentence("email"));
    assert!(!is_sentence("{} of {}"));
    assert!(is_sentence("it exists now"));
}
