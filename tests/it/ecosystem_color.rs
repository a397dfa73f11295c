//! Colour as the ecosystem expects it, through the built binary: anstream decides each stream
//! (NO_COLOR wins, then CLICOLOR_FORCE, then CLICOLOR=0, then "a terminal whose TERM is not
//! dumb"), and `--no-color` turns colour off whatever the environment says. Pipes are tested
//! directly; terminals through a pseudo-terminal (`script`, as the README walk-through test does).
//!
//! Every run starts from an environment without the variables that decide colour (and without
//! `CI`, which anstream reads as "this terminal shows colour"), so the machine running the tests
//! does not decide for them.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

/// The variables that decide colour; each run sets only the ones it tests.
const COLOR_VARS: &[&str] = &["NO_COLOR", "CLICOLOR", "CLICOLOR_FORCE", "CI", "TERM"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `plan` of the example repo against the in-process sandbox: creates and updates, in colour
/// when colour is on.
const PLAN: &[&str] = &[
    "plan",
    "examples/contactctl.yaml",
    "--sandbox",
    "--sandbox-state",
    "examples/sandbox/state.yaml",
];

/// `validate` of a config with one problem: an error on stderr.
const INVALID: &[&str] = &["validate", "tests/fixtures/invalid/undeclared-tag.yaml"];

fn command(program: &str, env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(program);
    cmd.current_dir(root()).stdin(Stdio::null());
    for var in COLOR_VARS {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// Run contactctl with `args`, its stdout and stderr pipes.
fn on_a_pipe(args: &[&str], env: &[(&str, &str)]) -> Output {
    command(env!("CARGO_BIN_EXE_contactctl"), env)
        .args(args)
        .output()
        .unwrap()
}

/// Run contactctl with `args` on a pseudo-terminal (stdout and stderr both; `script` copies
/// the terminal's output to its stdout). `None` when this machine has no `script`.
fn on_a_terminal(args: &[&str], env: &[(&str, &str)]) -> Option<Output> {
    let have_script = Command::new("script")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !have_script {
        eprintln!("NOTE: no `script` here for a terminal; terminal cases not run");
        return None;
    }
    let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let mut line = quote(env!("CARGO_BIN_EXE_contactctl"));
    for arg in args {
        line.push(' ');
        line.push_str(&quote(arg));
    }
    Some(
        command("script", env)
            .args(["-qec", &line, "/dev/null"])
            .output()
            .unwrap(),
    )
}

/// Whether `bytes` hold an ANSI colour or style sequence (SGR: `ESC [ digits;... m`).
fn has_color(bytes: &[u8]) -> bool {
    bytes.windows(2).enumerate().any(|(i, w)| {
        w == b"\x1b["
            && bytes[i + 2..]
                .iter()
                .find(|b| !(b.is_ascii_digit() || **b == b';'))
                .is_some_and(|b| *b == b'm')
    })
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn the_colour_check_sees_colour_and_only_colour() {
    assert!(has_color(b"\x1b[1m\x1b[31merror:\x1b[0m"));
    assert!(has_color(b"a \x1b[32m+\x1b[0m"));
    assert!(!has_color(b"plain + text"));
    // cursor movement (a progress bar) is not colour
    assert!(!has_color(b"\x1b[2K\r\x1b[1A"));
}

#[test]
fn a_pipe_gets_no_colour_by_default() {
    let out = on_a_pipe(PLAN, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!has_color(&out.stdout), "{}", text(&out.stdout));
    let out = on_a_pipe(INVALID, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!has_color(&out.stderr), "{}", text(&out.stderr));
}

#[test]
fn clicolor_force_colours_a_plan_on_a_pipe() {
    let out = on_a_pipe(PLAN, &[("CLICOLOR_FORCE", "1")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(has_color(&out.stdout), "{stdout}");
    // the colour is around the usual text, not instead of it
    assert!(stdout.contains("email=ana.b@example.com"), "{stdout}");
}

#[test]
fn clicolor_force_colours_an_error_on_a_pipe() {
    let out = on_a_pipe(INVALID, &[("CLICOLOR_FORCE", "1")]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(has_color(&out.stderr), "{stderr}");
    assert!(
        stderr.contains("undeclared-tag.yaml:11:17: tag \"Gold\" is not declared in tags"),
        "{stderr}"
    );
}

#[test]
fn no_color_and_the_flag_win_over_clicolor_force() {
    let no_color = [("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")];
    let force = [("CLICOLOR_FORCE", "1")];
    let mut flagged = PLAN.to_vec();
    flagged.push("--no-color");
    for (args, env) in [(PLAN, &no_color[..]), (&flagged[..], &force[..])] {
        let out = on_a_pipe(args, env);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert!(
            !has_color(&out.stdout),
            "{args:?} {env:?}: {}",
            text(&out.stdout)
        );
    }
    let mut flagged = INVALID.to_vec();
    flagged.push("--no-color");
    for (args, env) in [(INVALID, &no_color[..]), (&flagged[..], &force[..])] {
        let out = on_a_pipe(args, env);
        assert_eq!(out.status.code(), Some(1));
        assert!(
            !has_color(&out.stderr),
            "{args:?} {env:?}: {}",
            text(&out.stderr)
        );
    }
}

#[test]
fn a_terminal_gets_colour_unless_term_is_dumb_clicolor_is_0_or_no_color_is_set() {
    let Some(out) = on_a_terminal(PLAN, &[("TERM", "xterm-256color")]) else {
        return;
    };
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(has_color(&out.stdout), "{}", text(&out.stdout));
    let plain: [&[(&str, &str)]; 3] = [
        &[("TERM", "dumb")],
        &[("TERM", "xterm-256color"), ("CLICOLOR", "0")],
        &[("TERM", "xterm-256color"), ("NO_COLOR", "1")],
    ];
    for env in plain {
        for (args, code) in [(PLAN, 0), (INVALID, 1)] {
            let out = on_a_terminal(args, env).unwrap();
            assert_eq!(out.status.code(), Some(code), "{}", text(&out.stdout));
            assert!(!has_color(&out.stdout), "{env:?}: {}", text(&out.stdout));
        }
    }
    // and the error on a terminal is coloured when nothing says otherwise
    let out = on_a_terminal(INVALID, &[("TERM", "xterm-256color")]).unwrap();
    assert!(has_color(&out.stdout), "{}", text(&out.stdout));
}
