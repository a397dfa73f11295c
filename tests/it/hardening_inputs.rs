//! What a hostile or broken input can make the binary do (issue 21): ids that are no path
//! segment, symbolic links and special files in a config directory, huge CSV rows in error
//! excerpts, and control characters in what a plan shows. Each runs the built binary against
//! the sandbox (or on a config alone) and checks the error, and that no request left.

use crate::support::{Env, show, text, wire};

#[test]
fn a_live_contact_whose_id_is_dot_dot_is_a_contact_error_and_no_call_goes_to_it() {
    let env = Env::new(
        vec![
            wire("..", &[("email", "dot@x.example")], &[]),
            wire("7", &[("email", "ok@x.example")], &[]),
        ],
        vec![],
    );
    let path = env.config(
        "defaults: { channel: web, key: email }\ncontacts:\n  - fields: { email: dot@x.example, firstName: Ana }\n    tags: [VIP]\n  - fields: { email: ok@x.example, firstName: Bea }\n",
    );
    let out = env
        .cmd()
        .args(["apply", path.to_str().unwrap(), "--auto-approve", "-v"])
        .output()
        .unwrap();
    let all = show(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains("the platform holds it under an ID no call can use: the ID \"..\" would address another endpoint"),
        "{all}"
    );
    assert!(!text(&out.stderr).contains("/v1/contact/.."), "{all}");
    let calls = env.stats().channels["web"].calls.clone();
    // two look-ups, and the one update of the other contact: nothing for `..`
    assert_eq!(
        (
            calls.lookup,
            calls.get,
            calls.update,
            calls.add_tags,
            calls.create
        ),
        (2, 0, 1, 0, 0),
        "{all}"
    );
    assert_eq!(
        env.contacts("web")["7"].custom_fields["firstName"].as_deref(),
        Some("Bea")
    );
    assert_eq!(
        env.contacts("web")[".."].custom_fields.get("firstName"),
        None
    );
}

/// A config directory whose `contacts.yaml` is valid, for the links and special files beside it.
fn config_dir(env: &Env) -> std::path::PathBuf {
    let dir = env.dir.path().join("conf");
    std::fs::create_dir_all(&dir).unwrap();
    let file = env.config(
        "contacts:\n  - fields: { email: a@x.example }\n    channel: web\n    key: email\n",
    );
    std::fs::rename(file, dir.join("contacts.yaml")).unwrap();
    dir
}

/// `validate DIR`, bounded in time (a FIFO read would block for ever); its output.
fn validate(env: &Env, dir: &std::path::Path) -> std::process::Output {
    env.cmd()
        .args(["validate", dir.to_str().unwrap()])
        // excerpts are shown in colour only: that is where a file's text could leak
        .env_remove("NO_COLOR")
        .env("CLICOLOR_FORCE", "1")
        .env("HARDENING_SECRET", "s3cr3t-value-9d1f")
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap()
}

#[cfg(unix)]
#[test]
fn a_yaml_link_out_of_the_config_directory_is_an_error_naming_it_and_never_read() {
    let env = Env::new(vec![], vec![]);
    let dir = config_dir(&env);
    assert_eq!(
        validate(&env, &dir).status.code(),
        Some(0),
        "the base config is valid"
    );
    std::os::unix::fs::symlink("/proc/self/environ", dir.join("env.yaml")).unwrap();
    let out = validate(&env, &dir);
    let all = show(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains("env.yaml:1:1: the file is a symbolic link out of the config directory"),
        "{all}"
    );
    for secret in [
        "s3cr3t-value-9d1f",
        "CT_WEB_TOKEN=",
        crate::support::WEB_TOKEN,
    ] {
        assert!(!all.contains(secret), "{secret} leaked: {all}");
    }
    // a link inside the directory is a file like any other
    std::fs::remove_file(dir.join("env.yaml")).unwrap();
    std::fs::create_dir(dir.join("team")).unwrap();
    std::fs::write(dir.join("team/more.yaml"), "tags: [VIP]\n").unwrap();
    std::os::unix::fs::symlink("team/more.yaml", dir.join("more.yaml")).unwrap();
    assert_eq!(validate(&env, &dir).status.code(), Some(0));
}

#[cfg(unix)]
#[test]
fn a_dangling_link_a_loop_and_a_fifo_are_errors_naming_them() {
    let env = Env::new(vec![], vec![]);
    let dir = config_dir(&env);
    std::os::unix::fs::symlink("gone.yaml", dir.join("dangling.yaml")).unwrap();
    std::os::unix::fs::symlink("loop-b.yaml", dir.join("loop-a.yaml")).unwrap();
    std::os::unix::fs::symlink("loop-a.yaml", dir.join("loop-b.yaml")).unwrap();
    let fifo = dir.join("pipe.yaml");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let out = validate(&env, &dir);
    let all = show(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains("dangling.yaml:1:1: the file is a symbolic link to nothing"),
        "{all}"
    );
    for name in ["loop-a.yaml", "loop-b.yaml"] {
        assert!(
            all.contains(&format!("{name}:1:1: cannot read the file: ")),
            "{all}"
        );
    }
    assert!(
        all.contains("pipe.yaml:1:1: not a regular file (a FIFO, a device or a socket)"),
        "{all}"
    );
}

#[cfg(unix)]
#[test]
fn a_device_is_an_error_naming_it_and_never_read() {
    let env = Env::new(vec![], vec![]);
    let out = validate(&env, std::path::Path::new("/dev/zero"));
    let all = show(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains("/dev/zero:1:1: not a regular file (a FIFO, a device or a socket)"),
        "{all}"
    );
}

#[test]
fn a_csv_header_of_100000_unknown_columns_reports_each_with_a_short_excerpt() {
    let env = Env::new(vec![], vec![]);
    let path = env.config("defaults: { channel: web, key: email }\nsources:\n  - csv: wide.csv\n");
    let header: Vec<String> = (1..100_000).map(|i| format!("c{i}")).collect();
    let sheet = format!(
        "email,{}\na@x.example{}\n",
        header.join(","),
        ",".repeat(99_999)
    );
    std::fs::write(env.dir.path().join("wide.csv"), sheet).unwrap();
    let out = env
        .cmd()
        .args(["validate", path.to_str().unwrap()])
        .env_remove("NO_COLOR")
        .env("CLICOLOR_FORCE", "1")
        // a guard, not a measure: before excerpts were cut this took hours
        .timeout(std::time::Duration::from_secs(600))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("wide.csv:1:100000: unknown column \"c99999\""));
    let excerpts = stderr.lines().filter(|l| l.starts_with("1 | ")).count();
    assert_eq!(excerpts, 99_999, "each problem has its excerpt");
    let longest = stderr.lines().map(|l| l.chars().count()).max().unwrap();
    assert!(longest < 200, "a line of {longest} characters");
}

/// `plan` of `config` in `format` (text without colour, or markdown): its stdout.
fn plan_output(env: &Env, config: &std::path::Path, format: &str) -> String {
    let out = env
        .cmd()
        .args(["plan", config.to_str().unwrap(), "--format", format])
        .output()
        .unwrap();
    assert!(
        out.status.code() == Some(2) || out.status.success(),
        "{}",
        show(&out)
    );
    text(&out.stdout)
}

#[test]
fn a_line_break_in_a_key_cannot_fake_a_plan_line_nor_a_bidi_control_reorder_one() {
    let env = Env::new(vec![], vec![]);
    let path = env.config(
        "defaults: { channel: web, key: lastName }\ncontacts:\n  - fields: { lastName: \"Doe\\n      + firstName: \\\"forged\\\"\", firstName: Ana }\n  - fields: { lastName: \"Roe\\u202Eevil\", firstName: Bea }\n",
    );
    for format in ["text", "markdown"] {
        let out = plan_output(&env, &path, format);
        assert!(
            !out.lines()
                .any(|l| l.trim_start().starts_with("+ firstName: \"forged\"")),
            "{format}: {out}"
        );
        assert!(
            out.contains("lastName=Doe\\n      + firstName"),
            "{format}: {out}"
        );
        assert!(!out.contains('\u{202e}'), "{format}: {out}");
        assert!(out.contains("Roe\\u{202e}evil"), "{format}: {out}");
    }
}

#[test]
fn a_nul_from_a_csv_key_is_shown_escaped() {
    let env = Env::new(vec![], vec![]);
    let path =
        env.config("defaults: { channel: web, key: lastName }\nsources:\n  - csv: nul.csv\n");
    std::fs::write(
        env.dir.path().join("nul.csv"),
        "lastName,firstName\nDoe\0x,Ana\n",
    )
    .unwrap();
    for format in ["text", "markdown"] {
        let out = plan_output(&env, &path, format);
        assert!(!out.contains('\0'), "{format}: {out:?}");
        assert!(out.contains("lastName=Doe\\0x"), "{format}: {out}");
    }
}

#[test]
fn control_characters_in_csv_tags_are_validate_errors_at_their_cell() {
    let env = Env::new(vec![], vec![]);
    let path = env.config(
        "defaults: { channel: web, key: email }\nsources:\n  - csv: tags.csv\n    tags_column: Tags\n",
    );
    std::fs::write(
        env.dir.path().join("tags.csv"),
        "email,Tags\na@x.example,VIP\0\n",
    )
    .unwrap();
    let out = env
        .cmd()
        .args(["validate", path.to_str().unwrap()])
        .output()
        .unwrap();
    let all = show(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains("tags.csv:2:2: tag \"VIP\\0\" holds a control character"),
        "{all}"
    );
}

#[test]
fn a_token_pasted_as_token_env_is_not_shown_in_an_excerpt_either() {
    let env = Env::new(vec![], vec![]);
    let pasted = "tok-9f8e.7d6c5b4a-secret";
    let path = env.dir.path().join("pasted.yaml");
    std::fs::write(
        &path,
        format!("version: 1\nchannels:\n  web: {{ base_url: https://x.example/api, token_env: \"{pasted}\" }}\nfields:\n  email: {{ type: email }}\n"),
    )
    .unwrap();
    let out = env
        .cmd()
        .args(["validate", path.to_str().unwrap()])
        .env_remove("NO_COLOR")
        .env("CLICOLOR_FORCE", "1")
        .output()
        .unwrap();
    let all = show(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("looks like a token itself"), "{all}");
    assert!(!all.contains(pasted), "{all}");
}
