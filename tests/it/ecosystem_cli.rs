//! The command line as a newcomer meets it: `--version`, an example in every command's `--help`,
//! shell completions and man pages that know every command, and `init` through the built binary
//! (writes a config that validates, refuses to overwrite with exit 1).

use clap::CommandFactory;
use contactctl::cli::Cli;
use predicates::prelude::*;

fn bin() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("contactctl").unwrap();
    cmd.env("NO_COLOR", "1");
    cmd
}

/// Every subcommand name, `help` (clap's own) left out.
fn subcommands() -> Vec<String> {
    Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .filter(|n| n != "help")
        .collect()
}

#[test]
fn the_new_commands_are_there() {
    let names = subcommands();
    for name in ["init", "completions", "man", "plan", "apply", "sandbox"] {
        assert!(names.iter().any(|n| n == name), "{name} in {names:?}");
    }
}

#[test]
fn the_readme_commands_table_lists_every_command() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let table = readme
        .split("\n## Commands\n")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .unwrap();
    let mut listed: Vec<String> = table
        .lines()
        .filter_map(|l| l.strip_prefix("| `contactctl "))
        .filter_map(|l| l.split([' ', '`']).next())
        .map(str::to_string)
        .collect();
    listed.sort();
    listed.dedup();
    let mut commands = subcommands();
    commands.sort();
    assert_eq!(
        listed, commands,
        "the README's Commands table and the CLI disagree"
    );
}

#[test]
fn every_command_help_shows_an_example() {
    fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
        for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
            let path = format!("{path} {}", sub.get_name());
            let after = sub
                .get_after_help()
                .map(|s| s.to_string())
                .unwrap_or_default();
            if !after.contains("Example") || !after.contains("contactctl ") {
                missing.push(path.clone());
            }
            walk(sub, &path, missing);
        }
    }
    let mut missing = vec![];
    walk(&Cli::command(), "contactctl", &mut missing);
    assert!(missing.is_empty(), "no example in --help of: {missing:?}");
    // and the binary prints it
    bin()
        .args(["init", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Example"));
}

#[test]
fn version_prints_the_package_version() {
    bin()
        .arg("--version")
        .assert()
        .success()
        .stdout(format!("contactctl {}\n", env!("CARGO_PKG_VERSION")));
    // propagated to the subcommands
    bin().args(["plan", "--version"]).assert().success();
}

#[test]
fn bash_completions_know_every_command_and_flag() {
    let out = bin().args(["completions", "bash"]).output().unwrap();
    assert!(out.status.success());
    let script = String::from_utf8(out.stdout).unwrap();
    assert!(script.contains("complete -F _contactctl "), "{script}");
    for name in subcommands() {
        assert!(
            script.contains(&format!("contactctl,{name})")),
            "{name} missing"
        );
    }
    assert!(script.contains("--detailed-exitcode") && script.contains("--auto-approve"));
}

#[test]
fn completions_exist_for_every_shell_and_an_unknown_one_is_a_usage_error() {
    for (shell, needle) in [
        ("zsh", "#compdef contactctl"),
        ("fish", "complete -c contactctl"),
        ("powershell", "Register-ArgumentCompleter"),
        ("elvish", "edit:completion:arg-completer[contactctl]"),
    ] {
        bin()
            .args(["completions", shell])
            .assert()
            .success()
            .stdout(predicate::str::contains(needle).and(predicate::str::contains("init")));
    }
    bin()
        .args(["completions", "tcsh"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("possible values"));
}

#[test]
fn bash_accepts_the_completion_script() {
    // Sourcing it defines the function bash calls; a syntax error would fail here.
    let script = bin().args(["completions", "bash"]).output().unwrap().stdout;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("contactctl.bash");
    std::fs::write(&file, script).unwrap();
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source {} && complete -p contactctl",
            file.display()
        ))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_man_page_renders_and_names_every_command() {
    let out = bin().arg("man").output().unwrap();
    assert!(out.status.success());
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(page.contains(".TH contactctl 1"), "roff title: {page}");
    for name in subcommands() {
        assert!(
            page.contains(&format!("contactctl\\-{name}(1)")),
            "{name} missing from the SUBCOMMANDS section"
        );
    }
    assert!(
        !page.contains("contactctl\\-help(1)"),
        "no page is written for help"
    );
}

#[test]
fn man_out_writes_a_page_per_command() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("man1");
    bin()
        .args(["man", "--out"])
        .arg(&out)
        .assert()
        .success()
        .stderr(predicate::str::contains("Wrote contactctl.1"));
    let mut pages: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    let mut want: Vec<String> = subcommands()
        .iter()
        .map(|n| format!("contactctl-{n}.1"))
        .chain(["contactctl.1".to_string()])
        .collect();
    want.sort();
    assert_eq!(pages, want);
    let plan = std::fs::read_to_string(out.join("contactctl-plan.1")).unwrap();
    assert!(plan.contains("detailed\\-exitcode"), "{plan}");
}

#[test]
fn init_writes_a_valid_starter_and_refuses_to_overwrite_it() {
    let dir = tempfile::tempdir().unwrap();
    bin()
        .current_dir(dir.path())
        .arg("init")
        .assert()
        .success()
        .stderr(predicate::str::contains("Wrote contactctl.yaml"));
    let written = std::fs::read_to_string(dir.path().join("contactctl.yaml")).unwrap();
    assert!(written.starts_with("# yaml-language-server: $schema=contactctl.schema.json"));
    let schema = bin().arg("schema").output().unwrap().stdout;
    assert_eq!(
        std::fs::read(dir.path().join("contactctl.schema.json")).unwrap(),
        schema,
        "the schema line points at this binary's schema"
    );
    bin()
        .current_dir(dir.path())
        .arg("validate")
        .assert()
        .success()
        .stderr(predicate::str::contains("3 contacts, 2 channels"));

    std::fs::write(dir.path().join("contactctl.yaml"), "# my edits\n").unwrap();
    bin()
        .current_dir(dir.path())
        .arg("init")
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "contactctl.yaml already exists; init never overwrites",
        ));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("contactctl.yaml")).unwrap(),
        "# my edits\n"
    );
}

#[test]
fn init_takes_a_directory_and_plan_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    bin()
        .current_dir(dir.path())
        .args(["init", "contacts/"])
        .assert()
        .success()
        .stderr(predicate::str::contains("contactctl plan contacts/"));
    assert!(dir.path().join("contacts/contactctl.yaml").is_file());
    // The starter plans against the in-process sandbox as written: the documents' sample
    // contact (which an unseeded --sandbox holds on `web`) is found by e-mail and updated; the
    // two others are created.
    bin()
        .current_dir(dir.path())
        .args(["plan", "contacts/", "--sandbox", "--format", "json"])
        .assert()
        .success()
        .stdout(predicate::str::contains("\"create\": 2"))
        .stdout(predicate::str::contains("\"update\": 1"));
}

#[test]
fn a_first_run_is_pointed_at_what_to_do_next() {
    let dir = tempfile::tempdir().unwrap();
    // no config yet: init is named
    bin()
        .current_dir(dir.path())
        .arg("plan")
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "contactctl.yaml:1:1: cannot read the config",
        ))
        .stderr(predicate::str::contains(
            "hint: `contactctl init` writes a starter config there",
        ));
    bin()
        .current_dir(dir.path())
        .args(["validate", "my contacts/"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "hint: `contactctl init 'my contacts/'` writes a starter config there",
        ));
    // a plan saved against the sandbox is applied against the sandbox
    bin().current_dir(dir.path()).arg("init").assert().success();
    bin()
        .current_dir(dir.path())
        .args(["plan", "--sandbox", "--out", "p.json"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "Apply exactly it with: contactctl apply contactctl.yaml --plan p.json --sandbox\n",
        ));
    bin()
        .current_dir(dir.path())
        .args(["plan", "--sandbox", "--out", "my plan.json"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "contactctl apply contactctl.yaml --plan 'my plan.json' --sandbox\n",
        ));
    // problems only in a sheet are counted in the sheet
    std::fs::write(
        dir.path().join("list.csv"),
        "email,vip\nana@example.com,yes\n",
    )
    .unwrap();
    let yaml = std::fs::read_to_string(dir.path().join("contactctl.yaml")).unwrap();
    std::fs::write(
        dir.path().join("contactctl.yaml"),
        format!("{yaml}\nsources:\n  - csv: list.csv\n"),
    )
    .unwrap();
    bin()
        .current_dir(dir.path())
        .arg("validate")
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "list.csv:2:2: field \"vip\" is boolean",
        ))
        .stderr(predicate::str::contains("error: 1 problem in list.csv\n"));
    // a zero timeout is refused, not quietly raised
    bin()
        .current_dir(dir.path())
        .args(["plan", "--sandbox", "--timeout", "0"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--timeout"));
}

#[test]
fn validate_in_json_prints_one_verdict_object_for_scripts() {
    let out = bin()
        .args(["--format", "json", "validate", "examples/contactctl.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], true);
    assert_eq!(v["contacts"], 8);

    let bad = "tests/fixtures/invalid/duplicate-tag.yaml";
    let out = bin()
        .args(["validate", "--format", "json", bad])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], false);
    let first = &v["problems"][0];
    assert_eq!(
        (
            first["file"].as_str(),
            first["line"].as_u64(),
            first["col"].as_u64()
        ),
        (Some(bad), Some(9), Some(5))
    );
    assert!(
        first["message"]
            .as_str()
            .unwrap()
            .starts_with("duplicate tag \"VIP\"")
    );
    // people and CI logs still get the file:line:col lines on stderr
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("{bad}:9:5: duplicate tag")));
}

#[test]
fn validate_reports_a_misspelt_section_once_without_its_cascade() {
    // `chanels:` for `channels:`, with a defaults.channel and contacts that name channels (a
    // YAML config), and with a CSV source that names one (a sheet): one problem each, the
    // misspelt key, not "missing key", "unknown channel" or "no channel" for everything that
    // follows from it
    for (bad, file) in [
        (
            "tests/fixtures/invalid/misspelt-channels.yaml",
            "tests/fixtures/invalid/misspelt-channels.yaml",
        ),
        (
            "tests/fixtures/invalid/csv-misspelt-channels",
            "tests/fixtures/invalid/csv-misspelt-channels/contactctl.yaml",
        ),
    ] {
        let out = bin().args(["validate", bad]).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{bad}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let problems: Vec<&str> = stderr.lines().filter(|l| l.starts_with(file)).collect();
        assert_eq!(
            problems,
            [format!(
                "{file}:2:1: unknown key \"chanels\" (did you mean \"channels\"? expected one of: \
                 version, channels, fields, tags, defaults, safety, contacts, sources)"
            )],
            "{stderr}"
        );
        assert!(
            stderr.contains(&format!("error: 1 problem in {file}")),
            "{stderr}"
        );

        let out = bin()
            .args(["validate", "--format", "json", bad])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{bad}");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["valid"], false);
        let problems = v["problems"].as_array().unwrap();
        assert_eq!(problems.len(), 1, "{v}");
        assert_eq!(
            (
                problems[0]["file"].as_str(),
                problems[0]["line"].as_u64(),
                problems[0]["col"].as_u64()
            ),
            (Some(file), Some(2), Some(1))
        );
    }
}
