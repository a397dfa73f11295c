//! The README's "Walk-through: your first ten minutes", run as a newcomer would: every command
//! of its marked code blocks (`<!-- walkthrough: NAME -->`) is taken from README.md itself and run
//! with bash, in order, against a `contactctl sandbox` process, and its result checked; the
//! output excerpts it shows (`<!-- walkthrough-output: NAME -->`) must appear in the real output.
//! So the README and this test cannot drift apart: change a command there and it runs here.
//!
//! What differs from a person's terminal, and why: the sandbox listens on a free port (not 8080,
//! which may be taken), and that port is put in place of 8080 in the commands and in the config
//! `init` wrote; `HOME` is a temporary directory; `cargo build` is not run again (`cargo test`
//! has just built the same `target/debug/contactctl`); the `yes` to `apply` is typed through a
//! pseudo-terminal (`script`), as apply asks only on a terminal.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

const SECTION: &str = "## Walk-through: your first ten minutes";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A marked block of the README.
#[derive(Debug)]
struct Block {
    name: String,
    /// `walkthrough` (commands) or `walkthrough-output` (an excerpt of output).
    kind: String,
    /// Commands (continuation lines joined, comments and blank lines dropped), or output lines.
    lines: Vec<String>,
}

/// The walk-through section's marked blocks, in order. Every fenced block of the section must
/// be marked, so none escapes the test.
fn blocks() -> Vec<Block> {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let start = readme.find(SECTION).expect("the walk-through section");
    let rest = &readme[start + SECTION.len()..];
    let section = &rest[..rest.find("\n## ").unwrap_or(rest.len())];
    let section = &section[..section.find("<!-- more sections").unwrap_or(section.len())];

    let mut blocks = vec![];
    let mut pending: Option<(String, String)> = None;
    let mut lines = section.lines();
    while let Some(line) = lines.next() {
        if let Some(marker) = line
            .strip_prefix("<!-- ")
            .and_then(|l| l.strip_suffix(" -->"))
        {
            let (kind, name) = marker.split_once(": ").expect("<!-- kind: name -->");
            pending = Some((kind.to_string(), name.to_string()));
            continue;
        }
        if !line.starts_with("```") {
            continue;
        }
        let (kind, name) = pending
            .take()
            .unwrap_or_else(|| panic!("an unmarked code block in the walk-through: {line}"));
        let mut body = vec![];
        for l in lines.by_ref() {
            if l.starts_with("```") {
                break;
            }
            body.push(l.to_string());
        }
        let lines = if kind == "walkthrough" {
            commands(&body)
        } else {
            body.into_iter().filter(|l| !l.trim().is_empty()).collect()
        };
        blocks.push(Block { name, kind, lines });
    }
    assert!(pending.is_none(), "a marker without a block");
    blocks
}

/// Shell lines to commands: `\` continuations joined, blank and comment lines dropped.
fn commands(body: &[String]) -> Vec<String> {
    let mut out = vec![];
    let mut current = String::new();
    for line in body {
        let trimmed = line.trim();
        if current.is_empty() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        if let Some(head) = trimmed.strip_suffix('\\') {
            current.push_str(head.trim_end());
            current.push(' ');
        } else {
            current.push_str(trimmed);
            out.push(std::mem::take(&mut current));
        }
    }
    assert!(current.is_empty(), "a continuation with no end: {current}");
    out
}

/// The sandbox process; killed when the test ends, however it ends.
struct Sandbox(Child);

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs README commands one at a time, each in a fresh bash that first replays the lines that
/// set up the shell (`export`, `cd`) — the state a terminal keeps between commands.
struct Shell {
    home: tempfile::TempDir,
    prelude: Vec<String>,
    /// `127.0.0.1:8080` becomes this.
    addr: Option<String>,
}

impl Shell {
    fn port(&self, command: &str) -> String {
        match &self.addr {
            Some(addr) => command.replace("127.0.0.1:8080", addr),
            None => command.to_string(),
        }
    }

    fn script(&self, command: &str) -> String {
        let mut s = String::from("set -e\n");
        for line in &self.prelude {
            s.push_str(line);
            s.push('\n');
        }
        s.push_str("set +e\n");
        s.push_str(&self.port(command));
        s.push('\n');
        s
    }

    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.current_dir(root())
            .env("HOME", self.home.path())
            .env("NO_COLOR", "1")
            // What the README's export provides must come from the README.
            .env_remove("CONTACTS_WEB_TOKEN")
            .env_remove("CONTACTS_VIBER_TOKEN")
            .env_remove("CONTACTCTL_TIMEOUT");
        cmd
    }

    fn run(&self, command: &str) -> Output {
        self.command("bash")
            .args(["--noprofile", "--norc", "-c", &self.script(command)])
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// Run `command` on a pseudo-terminal, typing `input`.
    fn run_on_terminal(&self, command: &str, input: &str) -> Output {
        let file = self.home.path().join("step.sh");
        std::fs::write(&file, self.script(command)).unwrap();
        let mut child = self
            .command("script")
            .args([
                "-qec",
                &format!("bash --noprofile --norc {}", file.display()),
            ])
            .arg("/dev/null")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    /// The directory the prelude leaves the shell in.
    fn cwd(&self) -> PathBuf {
        let out = self.run("pwd");
        PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
    }
}

/// What one README command must do: its exit code and what its output must contain.
struct Expect {
    code: i32,
    stdout: &'static [&'static str],
    stderr: &'static [&'static str],
}

/// The expectation for command `index` of block `name`; every README command must have one.
fn expect(name: &str, index: usize, command: &str) -> Expect {
    let e = |code, stdout, stderr| Expect {
        code,
        stdout,
        stderr,
    };
    match (name, index) {
        ("build", 2) => e(0, &["contactctl 0.1.0"], &[]),
        ("init", 1) => e(0, &[], &["Wrote contactctl.yaml"]),
        ("tokens", 1) => e(
            0,
            &[],
            &["is valid: 3 contacts, 2 channels, 4 fields, 3 tags"],
        ),
        ("plan", 0) => e(
            0,
            &[
                "~ email=juanej@example.com (id 1776025372480910)",
                "+ email=maria@example.com",
                "+ email=ana@example.com",
                "- tag: Platform Updates",
                "+ tag: VIP",
            ],
            &[],
        ),
        ("apply", 0) => e(0, &["Apply complete: 2 created, 1 updated, 0 failed"], &[]),
        ("apply", 1) | ("fix", 1) => e(0, &["No changes", "exit code 0"], &[]),
        ("drift", 0) => e(0, &["\"id\":\"1776025372480910\""], &[]),
        ("drift", 1) => e(0, &["exit code 2"], &[]),
        ("fix", 0) => e(0, &["Apply complete: 0 created, 1 updated, 0 failed"], &[]),
        ("extras", 0) | ("extras", 1) => e(0, &[], &[]),
        _ => panic!("README command {name}[{index}] has no expectation here: {command}"),
    }
}

fn show(command: &str, out: &Output) -> String {
    format!(
        "{command}\nexit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn the_readme_walk_through_works_as_written() {
    assert!(
        have("curl"),
        "the walk-through needs curl, as the README says"
    );
    let blocks = blocks();
    let names: Vec<&str> = blocks.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "build", "sandbox", "init", "tokens", "plan", "plan", "apply", "drift", "drift", "fix",
            "extras"
        ],
        "the walk-through's steps"
    );

    let bin = PathBuf::from(env!("CARGO_BIN_EXE_contactctl"));
    let readme_bin = root().join("target/debug/contactctl");
    let mut shell = Shell {
        home: tempfile::tempdir().unwrap(),
        prelude: vec![],
        addr: None,
    };
    let mut sandbox = None;
    let mut outputs: Vec<(String, String)> = vec![];
    let mut seen = 0;

    for block in blocks.iter().filter(|b| b.kind == "walkthrough") {
        for (index, command) in block.lines.iter().enumerate() {
            seen += 1;
            if command.starts_with("cargo ") {
                assert_eq!(command, "cargo build --locked");
                continue;
            }
            if block.name == "sandbox" {
                sandbox = Some(start_sandbox(&mut shell, command, &bin, &readme_bin));
                continue;
            }
            let sets_up = command.starts_with("export ") || command.contains("cd ");
            if sets_up {
                shell.prelude.push(command.clone());
                if command.contains("$PWD/target/debug") && bin != readme_bin {
                    // A CARGO_TARGET_DIR elsewhere: the README's path has no binary.
                    let dir = bin.parent().unwrap().display();
                    shell.prelude.push(format!("export PATH=\"{dir}:$PATH\""));
                }
                let out = shell.run("true");
                assert!(out.status.success(), "{}", show(command, &out));
                continue;
            }

            let interactive = command == "contactctl apply";
            let out = if interactive && have("script") {
                shell.run_on_terminal(command, "yes\n")
            } else if interactive {
                eprintln!("NOTE: no `script` here for a terminal; applying with --auto-approve");
                shell.run(&format!("{command} --auto-approve"))
            } else {
                shell.run(command)
            };
            let want = expect(&block.name, index, command);
            assert_eq!(
                out.status.code(),
                Some(want.code),
                "{}",
                show(command, &out)
            );
            let stdout = String::from_utf8_lossy(&out.stdout).replace('\r', "");
            let stderr = String::from_utf8_lossy(&out.stderr).replace('\r', "");
            for needle in want.stdout {
                assert!(
                    stdout.contains(needle),
                    "{needle:?} in {}",
                    show(command, &out)
                );
            }
            for needle in want.stderr {
                // On a terminal, stderr and stdout are one stream.
                let all = if interactive { &stdout } else { &stderr };
                assert!(
                    all.contains(needle),
                    "{needle:?} in {}",
                    show(command, &out)
                );
            }
            outputs.push((block.name.clone(), stdout));
            after(&shell, &block.name, command);
        }
    }
    assert!(sandbox.is_some(), "the sandbox was started");
    assert!(seen >= 12, "{seen} commands");

    // The output excerpts the README shows are what the commands printed.
    for excerpt in blocks.iter().filter(|b| b.kind == "walkthrough-output") {
        let printed: String = outputs
            .iter()
            .filter(|(name, _)| *name == excerpt.name)
            .map(|(_, out)| out.as_str())
            .collect();
        for line in &excerpt.lines {
            assert!(
                printed.lines().any(|l| l == line),
                "README shows {line:?} for {}, but it printed:\n{printed}",
                excerpt.name
            );
        }
    }
}

/// Start the README's sandbox command on a free port instead of 8080; note its address.
fn start_sandbox(shell: &mut Shell, command: &str, bin: &Path, readme_bin: &Path) -> Sandbox {
    assert!(command.contains("--port 8080"), "{command}");
    let mut command = command.replace("--port 8080", "--port 0");
    if bin != readme_bin {
        command = command.replace("target/debug/contactctl", &bin.display().to_string());
    }
    let mut child = shell
        .command("bash")
        .args(["--noprofile", "--norc", "-c", &format!("exec {command}")])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let guard = Sandbox(child);
    let mut first = String::new();
    BufReader::new(stdout).read_line(&mut first).unwrap();
    let url = first
        .trim()
        .strip_prefix("contactctl sandbox serving the Contacts API at ")
        .unwrap_or_else(|| panic!("the sandbox says where it listens: {first:?}"));
    let addr = url
        .strip_prefix("http://")
        .and_then(|u| u.strip_suffix("/api"))
        .unwrap_or_else(|| panic!("{url}"));
    assert!(
        addr.starts_with("127.0.0.1:") && !addr.ends_with(":0"),
        "{addr}"
    );
    shell.addr = Some(addr.to_string());
    guard
}

/// Checks and adjustments after a command, where the README promises more than its output.
fn after(shell: &Shell, block: &str, command: &str) {
    if command == "contactctl init" {
        let config = shell.cwd().join("contactctl.yaml");
        let text = std::fs::read_to_string(&config).unwrap();
        assert!(
            text.contains("base_url: http://127.0.0.1:8080/api"),
            "{text}"
        );
        assert!(shell.cwd().join("contactctl.schema.json").is_file());
        // "run it again and it refuses"
        let again = shell.run(command);
        assert_eq!(again.status.code(), Some(1), "{}", show(command, &again));
        assert!(String::from_utf8_lossy(&again.stderr).contains("never overwrites"));
        // Point it at this test's sandbox instead of port 8080.
        std::fs::write(&config, shell.port(&text)).unwrap();
    }
    if block == "extras" && command.starts_with("contactctl man") {
        let page = shell
            .home
            .path()
            .join(".local/share/man/man1/contactctl-plan.1");
        assert!(page.is_file(), "{}", page.display());
    }
}
