//! The config fixtures: every case under `tests/fixtures/valid/` (and every example) loads, and
//! every case under `tests/fixtures/invalid/` (a file, or a directory for merge problems) fails
//! with exactly the `file:line:col: message` lines of its `<case>.expected`.
//!
//! After a deliberate change of messages, rewrite the expected files with
//! `CONTACTCTL_BLESS=1 cargo test --test config_fixtures`, then review the diff like code.

use std::fs;
use std::path::{Path, PathBuf};

use contactctl::config::{load, render_diagnostics};

/// The cases in `dir`: its `*.yaml`/`*.yml` files and its subdirectories, in name order.
fn cases(dir: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.is_dir() || matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
        })
        .collect();
    out.sort();
    out
}

fn expected_path(case: &Path) -> PathBuf {
    if case.is_dir() {
        PathBuf::from(format!("{}.expected", case.display()))
    } else {
        case.with_extension("expected")
    }
}

#[test]
fn every_valid_fixture_and_example_loads() {
    let mut all = cases("tests/fixtures/valid");
    all.push("examples/contactctl.yaml".into());
    all.push("examples/split".into());
    assert!(all.len() >= 5, "{all:?}");
    let mut failures = String::new();
    for case in &all {
        if let Err(diags) = load(case) {
            failures.push_str(&render_diagnostics(&diags, false));
        }
    }
    assert!(failures.is_empty(), "valid configs failed:\n{failures}");
}

#[test]
fn every_invalid_fixture_gives_its_expected_diagnostics() {
    let bless = std::env::var_os("CONTACTCTL_BLESS").is_some();
    let all = cases("tests/fixtures/invalid");
    assert!(all.len() >= 20, "{all:?}");
    let mut failures = Vec::new();
    for case in &all {
        let got = match load(case) {
            Ok(_) => "(loaded without error)\n".to_string(),
            Err(diags) => render_diagnostics(&diags, false),
        };
        let expected_file = expected_path(case);
        if bless {
            fs::write(&expected_file, &got).unwrap();
            continue;
        }
        let expected = fs::read_to_string(&expected_file)
            .unwrap_or_else(|_| panic!("{} has no {}", case.display(), expected_file.display()));
        if got != expected {
            failures.push(format!(
                "{}\n--- expected\n{expected}--- got\n{got}",
                case.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_expected_file_has_its_case() {
    for entry in fs::read_dir("tests/fixtures/invalid").unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("expected") {
            continue;
        }
        let stem = path.with_extension("");
        let has_case = stem.is_dir()
            || stem.with_extension("yaml").is_file()
            || stem.with_extension("yml").is_file();
        assert!(has_case, "{} has no case", path.display());
    }
}
