//! End to end: change-scoped runs (SPEC "Change-scoped runs"). The built binary plans and
//! applies a repo kept in a real git repository against the sandbox with `--base` and
//! `--changed-since`, and the sandbox counts every read: only the contacts whose effective
//! desired state changed are read (dropped ones too, with a marker), whatever did not change
//! costs nothing, and `apply --plan` of a scoped plan reads only the contacts it has calls for.

use std::path::PathBuf;
use std::process::Output;

use crate::support::{Env, show, wire};
use contactctl::api::wire::WireContact;
use serde_json::Value;

const MARKER: &str = "  marker: { field: managed_by, value: git }\n";

/// The config's header (channels pointing at the sandbox, fields, managed tags, defaults).
fn header(env: &Env, tags: &str, marker: bool) -> String {
    let base = env.sandbox.base_url();
    format!(
        "version: 1\nchannels:\n  web:\n    base_url: {base}\n    token_env: CT_WEB_TOKEN\n  viber:\n    base_url: {base}\n    token_env: CT_VIBER_TOKEN\n    viber: true\nfields:\n  email: {{ type: email }}\n  firstName: {{ type: text }}\n  vip: {{ type: boolean }}\n  customerid: {{ type: number }}\ntags: [{tags}]\ndefaults:\n  channel: web\n  key: email\n{}",
        if marker { MARKER } else { "" }
    )
}

/// Contact `i` as the config writes it: every third carries `tags: [VIP]`, every second a
/// customer number.
fn contact(i: usize) -> String {
    let mut s = format!("  - fields: {{ email: u{i}@x.example, firstName: User{i}");
    if i.is_multiple_of(2) {
        s.push_str(&format!(", customerid: {i}"));
    }
    s.push_str(" }\n");
    if i.is_multiple_of(3) {
        s.push_str("    tags: [VIP]\n");
    }
    s
}

/// Contacts `range` as the config writes them, under `contacts:`.
fn contacts(range: impl Iterator<Item = usize>) -> String {
    let mut s = String::from("contacts:\n");
    for i in range {
        s.push_str(&contact(i));
    }
    s
}

/// Contact `i` as an apply of the config left it on the platform.
fn live(i: usize, marker: bool) -> WireContact {
    let email = format!("u{i}@x.example");
    let first = format!("User{i}");
    let number = i.to_string();
    let mut fields = vec![("email", email.as_str()), ("firstName", first.as_str())];
    if i.is_multiple_of(2) {
        fields.push(("customerid", number.as_str()));
    }
    if marker {
        fields.push(("managed_by", "git"));
    }
    let tags: &[&str] = if i.is_multiple_of(3) { &["VIP"] } else { &[] };
    wire(&id(i), &fields, tags)
}

fn id(i: usize) -> String {
    (10_000 + i).to_string()
}

/// A sandbox holding contacts `0..n` as applied, and a git repository in its scratch directory
/// whose first commit is the config of those contacts (`contactctl.yaml`); that commit's ID.
fn applied_repo(n: usize, marker: bool) -> (Env, String) {
    let env = Env::new((0..n).map(|i| live(i, marker)).collect(), vec![]);
    env.git_init();
    write(
        &env,
        "contactctl.yaml",
        &(header(&env, "VIP, Blog Updates", marker) + &contacts(0..n)),
    );
    let base = env.commit("the applied config");
    (env, base)
}

/// Write `contactctl.yaml`: contacts `range` (marked or not), changed by `edit`.
fn change(env: &Env, range: std::ops::Range<usize>, marker: bool, edit: impl Fn(String) -> String) {
    let text = header(env, "VIP, Blog Updates", marker) + &contacts(range);
    write(env, "contactctl.yaml", &edit(text));
}

fn write(env: &Env, name: &str, text: &str) -> PathBuf {
    let path = env.dir.path().join(name);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    std::fs::write(&path, text).unwrap();
    path
}

/// Run contactctl with `args` in the repo; its output, and the reads the sandbox received
/// meanwhile (web and viber).
fn run(env: &Env, args: &[&str]) -> (Output, u64) {
    let before = env.reads("web") + env.reads("viber");
    let out = env.cmd().args(args).output().unwrap();
    (out, env.reads("web") + env.reads("viber") - before)
}

/// `plan PATH ARGS --format json`: the plan, and the reads it made. It must not fail.
fn plan(env: &Env, path: &str, args: &[&str]) -> (Value, u64) {
    let mut all = vec!["plan", path, "--format", "json"];
    all.extend_from_slice(args);
    let (out, reads) = run(env, &all);
    assert!(out.status.code() != Some(1), "{}", show(&out));
    let plan = Env::json(&out);
    assert_eq!(
        plan["summary"]["reads"].as_u64(),
        Some(reads),
        "the plan counts the reads the sandbox saw"
    );
    (plan, reads)
}

/// `apply contactctl.yaml --plan saved`, and the reads it made.
fn apply_saved(env: &Env, saved: &std::path::Path) -> (Output, u64) {
    run(
        env,
        &[
            "apply",
            "contactctl.yaml",
            "--plan",
            saved.to_str().unwrap(),
        ],
    )
}

/// `summary` as (create, update, unchanged, orphans, skipped).
fn counts(plan: &Value) -> (u64, u64, u64, u64, u64) {
    let s = &plan["summary"];
    let n = |k: &str| s[k].as_u64().unwrap();
    (
        n("create"),
        n("update"),
        n("unchanged"),
        n("orphans"),
        n("skipped"),
    )
}

#[test]
fn a_three_contact_change_in_a_300_contact_repo_reads_three_contacts_planned_saved_and_applied() {
    for marker in [false, true] {
        let (env, _) = applied_repo(300, marker);
        // BASE as a file too, for --base
        let text = std::fs::read_to_string(env.dir.path().join("contactctl.yaml")).unwrap();
        write(&env, "base/contactctl.yaml", &text);
        env.commit("a copy of the config");

        // The change: u300 added, u1 renamed, u2 given a tag, u3 dropped.
        let mut head = header(&env, "VIP, Blog Updates", marker) + "contacts:\n";
        for i in (0..=300).filter(|i| *i != 3) {
            head.push_str(&match i {
                1 => "  - fields: { email: u1@x.example, firstName: Uno }\n".to_string(),
                2 => "  - fields: { email: u2@x.example, firstName: User2, customerid: 2 }\n    tags: [Blog Updates]\n".to_string(),
                i => contact(i),
            });
        }
        write(&env, "contactctl.yaml", &head);

        // With the marker the dropped contact is read too (one look-up), and is an orphan.
        let (reads, orphans) = if marker { (4, 1) } else { (3, 0) };
        for scope in [
            ["--base", "base/contactctl.yaml"],
            ["--changed-since", "HEAD"],
        ] {
            let (p, n) = plan(&env, "contactctl.yaml", &scope);
            assert_eq!(n, reads, "{scope:?}, marker {marker}");
            assert_eq!(
                counts(&p),
                (1, 2, 0, orphans, 297),
                "{scope:?}, marker {marker}"
            );
        }

        // The scoped plan, saved, then applied: one read per contact with calls, then the calls.
        let saved = env.dir.path().join("plan.json");
        let (p, _) = plan(
            &env,
            "contactctl.yaml",
            &["--changed-since", "HEAD", "--out", saved.to_str().unwrap()],
        );
        let planned = p["summary"]["api_calls"].as_u64().unwrap();
        let writes = env.writes("web");
        let (out, n) = apply_saved(&env, &saved);
        assert_eq!(out.status.code(), Some(0), "{}", show(&out));
        assert_eq!(n, 3, "marker {marker}: u1 and u2 by ID, u300 looked up");
        assert_eq!(
            env.writes("web") - writes,
            planned,
            "exactly the saved calls"
        );
        assert!(
            crate::support::text(&out.stderr).contains(
                "The saved plan still holds: its 3 contacts with calls re-read in 3 API calls."
            ),
            "apply --plan says what its check cost (the printed plan's line is the plan's): {}",
            show(&out)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("297 contacts unchanged since HEAD, not read."),
            "the saved plan renders as it was made: {stdout}"
        );
        assert_eq!(env.find("web", "email", "u300@x.example").len(), 1);
        assert_eq!(
            env.contacts("web")[&id(1)].custom_fields["firstName"].as_deref(),
            Some("Uno")
        );
        assert_eq!(env.contacts("web")[&id(2)].tags, ["Blog Updates"]);
    }
}

#[test]
fn what_is_not_a_change_costs_no_call() {
    // A directory config: the header, and the contacts in two files.
    let env = Env::new((0..6).map(|i| live(i, false)).collect(), vec![]);
    env.git_init();
    write(
        &env,
        "contacts/00-header.yaml",
        &header(&env, "VIP, Blog Updates", false),
    );
    write(&env, "contacts/10-people.yaml", &contacts(0..4));
    write(&env, "contacts/20-more.yaml", &contacts(4..6));
    env.commit("the applied config");

    let cases: Vec<(&str, Vec<(&str, String)>)> = vec![
        (
            "contacts reordered",
            vec![(
                "contacts/10-people.yaml",
                contacts([3, 1, 0, 2].into_iter()),
            )],
        ),
        (
            "a contact moved to another file",
            vec![
                ("contacts/10-people.yaml", contacts(0..3)),
                ("contacts/20-more.yaml", contacts(3..6)),
            ],
        ),
        (
            "YAML formatting and comments",
            vec![(
                "contacts/10-people.yaml",
                "# the team\ncontacts:\n  - fields:\n      email: u0@x.example   # first\n      firstName: \"User0\"\n      customerid: 0\n    tags:\n      - VIP\n  - fields: {email: 'u1@x.example', firstName: User1}\n  - fields: { email: u2@x.example, firstName: User2, customerid: 2 }\n  - {fields: {email: u3@x.example, firstName: User3}, tags: [VIP]}\n"
                    .to_string(),
            )],
        ),
        (
            "\"2\" for 2 on a number field",
            vec![(
                "contacts/10-people.yaml",
                contacts(0..4).replace("customerid: 2", "customerid: \"2\""),
            )],
        ),
    ];
    for (what, files) in cases {
        env.git(&["checkout", "--", "."]);
        for (name, text) in &files {
            write(&env, name, text);
        }
        let total = env.stats().total;
        let (p, reads) = plan(&env, "contacts", &["--changed-since", "HEAD"]);
        assert_eq!(reads, 0, "{what}");
        assert_eq!(env.stats().total, total, "{what}: no call at all");
        assert_eq!(counts(&p), (0, 0, 0, 0, 6), "{what}");
        let (out, _) = run(&env, &["plan", "contacts", "--changed-since", "HEAD"]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains(
                "6 contacts unchanged since HEAD, not read.\nNo changes: nothing the config manages changed since HEAD.\n"
            ),
            "{what}: {text}"
        );
    }
}

#[test]
fn an_edited_key_reads_the_new_identity_and_with_a_marker_the_old_one() {
    for marker in [false, true] {
        let (env, _) = applied_repo(5, marker);
        change(&env, 0..5, marker, |t| {
            t.replace("u4@x.example", "u4-new@x.example")
        });
        let (p, reads) = plan(&env, "contactctl.yaml", &["--changed-since", "HEAD"]);
        if marker {
            assert_eq!(reads, 2, "the new key, and the old one");
            assert_eq!(counts(&p), (1, 0, 0, 1, 4));
            let orphan = p["contacts"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["action"] == "orphan")
                .unwrap();
            assert_eq!(orphan["identity"], "email=u4@x.example");
        } else {
            assert_eq!(reads, 1, "the new key only");
            assert_eq!(counts(&p), (1, 0, 0, 0, 4));
        }
    }
}

#[test]
fn a_dropped_contact_is_read_only_with_a_marker_and_is_then_an_orphan() {
    for marker in [false, true] {
        let (env, _) = applied_repo(5, marker);
        change(&env, 0..4, marker, |t| t);
        let (p, reads) = plan(&env, "contactctl.yaml", &["--changed-since", "HEAD"]);
        assert_eq!(reads, u64::from(marker), "marker {marker}");
        assert_eq!(counts(&p), (0, 0, 0, u64::from(marker), 4));
        // --prune removes its managed tags and the marker, as in a full run
        if marker {
            let (p, _) = plan(
                &env,
                "contactctl.yaml",
                &["--changed-since", "HEAD", "--prune"],
            );
            assert!(p["summary"]["api_calls"].as_u64().unwrap() > 0);
        }
    }
}

#[test]
fn a_tag_added_to_the_managed_list_finds_the_contact_that_carries_it() {
    // u0 carries Newsletter on the platform, which the repo did not manage.
    let mut platform: Vec<WireContact> = (0..10).map(|i| live(i, false)).collect();
    platform[0].tags.push("Newsletter".into());
    let env = Env::new(platform, vec![]);
    env.git_init();
    write(
        &env,
        "contactctl.yaml",
        &(header(&env, "VIP, Blog Updates", false) + &contacts(0..10)),
    );
    env.commit("the applied config");
    write(
        &env,
        "contactctl.yaml",
        &(header(&env, "VIP, Blog Updates, Newsletter", false) + &contacts(0..10)),
    );
    let (p, reads) = plan(&env, "contactctl.yaml", &["--changed-since", "HEAD"]);
    // no contact entry changed, but the four with a tags: key (u0, u3, u6, u9) now manage it
    assert_eq!(reads, 4);
    assert_eq!(counts(&p), (0, 1, 3, 0, 6));
    let u0 = &p["contacts"][0];
    assert_eq!(u0["identity"], "email=u0@x.example");
    assert_eq!(u0["tags_removed"], serde_json::json!(["Newsletter"]));
}

#[test]
fn a_shared_setting_puts_exactly_the_contacts_it_affects_in_scope() {
    // Two Viber contacts (by ID) beside six web ones.
    let viber = |i: usize| wire(&format!("v{i}"), &[("firstName", "Vi")], &[]);
    let env = Env::new(
        (0..6).map(|i| live(i, false)).collect(),
        vec![viber(0), viber(1)],
    );
    env.git_init();
    let viber_contacts = "  - { channel: viber, id: v0, fields: { firstName: Vi } }\n  - { channel: viber, id: v1, fields: { firstName: Vi } }\n";
    let config = |header: String| header + &contacts(0..6) + viber_contacts;
    write(
        &env,
        "contactctl.yaml",
        &config(header(&env, "VIP, Blog Updates", false)),
    );
    env.commit("the applied config");

    let base_header = header(&env, "VIP, Blog Updates", false);
    let cases: Vec<(&str, String, u64)> = vec![
        (
            "a rate limit: no call is decided by it",
            base_header.replace(
                "token_env: CT_VIBER_TOKEN\n",
                "token_env: CT_VIBER_TOKEN\n    rate_limit: 50\n",
            ),
            0,
        ),
        (
            "the type of a field: the contacts that write it (u0, u2, u4)",
            base_header.replace("customerid: { type: number }", "customerid: { type: text }"),
            3,
        ),
        (
            "a channel's boolean_format: its contacts",
            base_header.replace("viber: true\n", "viber: true\n    boolean_format: lower\n"),
            2,
        ),
        (
            "the default channel: the contacts that take it (the six on web move to viber)",
            base_header.replace("  channel: web\n", "  channel: viber\n"),
            6,
        ),
        (
            "the marker: every contact",
            base_header.replace("  key: email\n", &format!("  key: email\n{MARKER}")),
            8,
        ),
    ];
    for (what, header, expected) in cases {
        write(&env, "contactctl.yaml", &config(header));
        let (p, reads) = plan(&env, "contactctl.yaml", &["--changed-since", "HEAD"]);
        let skipped = p["summary"]["skipped"].as_u64().unwrap();
        assert_eq!(8 - skipped, expected, "{what}: in scope");
        // with a new marker nothing is marked yet: paging would find nothing, so every contact
        // is read one by one
        assert_eq!(reads, expected, "{what}");
    }
}

#[test]
fn with_a_marker_a_big_change_pages_and_a_small_one_reads_one_by_one() {
    // 20 marked contacts (2 pages of the platform's 10): 8 renamed cost 2 pages, not 8 reads;
    // 1 renamed costs 1 read, not 2 pages.
    for (renamed, expected) in [(8, 2), (1, 1)] {
        let (env, _) = applied_repo(20, true);
        let mut text = header(&env, "VIP, Blog Updates", true) + &contacts(0..20);
        for i in 0..renamed {
            text = text.replace(
                &format!("firstName: User{i},"),
                &format!("firstName: Renamed{i},"),
            );
            text = text.replace(
                &format!("firstName: User{i} }}"),
                &format!("firstName: Renamed{i} }}"),
            );
        }
        write(&env, "contactctl.yaml", &text);
        let (p, reads) = plan(&env, "contactctl.yaml", &["--changed-since", "HEAD"]);
        assert_eq!(reads, expected, "{renamed} renamed");
        assert_eq!(
            counts(&p),
            (0, renamed, 0, 0, 20 - renamed),
            "{renamed} renamed"
        );
    }
}

#[test]
fn a_scoped_apply_reads_and_writes_only_the_change_and_channel_narrows_it() {
    let (env, _) = applied_repo(30, false);
    change(&env, 0..30, false, |t| {
        t.replace("firstName: User7 }", "firstName: Seven }")
    });
    let apply = [
        "apply",
        "contactctl.yaml",
        "--auto-approve",
        "--changed-since",
        "HEAD",
    ];
    let (out, reads) = run(&env, &[&apply[..], &["--channel", "viber"]].concat());
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(reads, 0, "nothing of viber changed");
    assert_eq!(env.writes("web"), 0);

    let (out, reads) = run(&env, &apply);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(reads, 1);
    assert_eq!(env.writes("web"), 1);
    assert_eq!(
        env.contacts("web")[&id(7)].custom_fields["firstName"].as_deref(),
        Some("Seven")
    );
}

#[test]
fn a_csv_sheet_at_the_ref_is_read_from_git_and_an_edited_row_is_the_change() {
    let env = Env::new((0..5).map(|i| live(i, false)).collect(), vec![]);
    env.git_init();
    // u0..u4 with their names, u2 renamed `two`
    let sheet = |two: &str| {
        let mut s = String::from("email,firstName\n");
        for i in 0..5 {
            let name = if i == 2 {
                two.to_string()
            } else {
                format!("User{i}")
            };
            s.push_str(&format!("u{i}@x.example,{name}\n"));
        }
        s
    };
    write(
        &env,
        "contacts/contactctl.yaml",
        &(header(&env, "VIP, Blog Updates", false) + "sources:\n  - csv: lists/people.csv\n"),
    );
    write(&env, "contacts/lists/people.csv", &sheet("User2"));
    env.commit("the applied sheet");
    write(&env, "contacts/lists/people.csv", &sheet("Two"));
    let (p, reads) = plan(&env, "contacts/", &["--changed-since", "HEAD"]);
    assert_eq!(reads, 1);
    assert_eq!(counts(&p), (0, 1, 0, 0, 4));
}

#[test]
fn an_unknown_ref_a_missing_base_and_no_repository_are_errors_with_a_hint() {
    let (env, _) = applied_repo(3, false);
    let err = |args: &[&str], message: &str, hint: &str| {
        let (out, reads) = run(&env, args);
        assert_eq!(out.status.code(), Some(1), "{}", show(&out));
        assert_eq!(reads, 0);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        if !hint.is_empty() {
            assert!(
                stderr.contains(&format!("hint: {hint}")),
                "{args:?}: {stderr}"
            );
        }
    };
    err(
        &[
            "plan",
            "contactctl.yaml",
            "--changed-since",
            "no-such-branch",
        ],
        "error: --changed-since no-such-branch: no such commit in the repository at",
        "check the ref with `git rev-parse no-such-branch`",
    );
    err(
        &["apply", "contactctl.yaml", "--changed-since=--all"],
        "error: --changed-since --all: no such commit",
        "check the ref",
    );
    err(
        &[
            "apply",
            "contactctl.yaml",
            "--plan",
            "plan.json",
            "--changed-since",
            "HEAD",
        ],
        "cannot be used with",
        "",
    );
    err(
        &["plan", "contactctl.yaml", "--base", "nowhere/"],
        "error: --base nowhere/: there is no config at nowhere/",
        "give --base the path of a config",
    );
    // a config added after the ref
    std::fs::rename(
        env.dir.path().join("contactctl.yaml"),
        env.dir.path().join("renamed.yaml"),
    )
    .unwrap();
    err(
        &["plan", "renamed.yaml", "--changed-since", "HEAD"],
        "error: --changed-since HEAD: there is no config at renamed.yaml",
        "the config did not exist at that commit",
    );

    // outside any repository
    let elsewhere = tempfile::tempdir().unwrap();
    let path = elsewhere.path().join("c.yaml");
    std::fs::copy(env.dir.path().join("renamed.yaml"), &path).unwrap();
    let out = env
        .cmd()
        .args(["plan", path.to_str().unwrap(), "--changed-since", "HEAD"])
        .env(
            "GIT_CEILING_DIRECTORIES",
            elsewhere.path().parent().unwrap(),
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("is not in a git repository"), "{stderr}");
    assert!(
        stderr.contains("hint: --changed-since reads BASE from the git repository"),
        "{stderr}"
    );
}

#[test]
fn a_shallow_clone_without_the_base_commit_says_how_to_fetch_it() {
    let (env, base) = applied_repo(3, false);
    env.commit("another commit");
    let clone = tempfile::tempdir().unwrap();
    let url = format!("file://{}", env.dir.path().display());
    let status = std::process::Command::new("git")
        .args(["clone", "-q", "--depth", "1", &url])
        .arg(clone.path().join("repo"))
        .status()
        .unwrap();
    assert!(status.success());
    let out = env
        .cmd()
        .current_dir(clone.path().join("repo"))
        .args(["plan", "contactctl.yaml", "--changed-since", &base])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("hint: this clone is shallow"), "{stderr}");
    assert!(
        stderr.contains(&format!("git fetch --no-tags --depth=1 origin {base}")),
        "{stderr}"
    );
}

#[test]
fn a_base_that_is_not_a_valid_config_makes_a_full_run_with_a_warning_in_every_format() {
    let (env, _) = applied_repo(6, false);
    let good = std::fs::read_to_string(env.dir.path().join("contactctl.yaml")).unwrap();
    write(
        &env,
        "contactctl.yaml",
        &good.replace("version: 1", "version: 1\nbogus: 1"),
    );
    env.commit("a broken config");
    write(&env, "contactctl.yaml", &good);

    let warning = "--changed-since HEAD: the config there is not valid (1 problem, first: contactctl.yaml:2:1:";
    let (p, reads) = plan(&env, "contactctl.yaml", &["--changed-since", "HEAD"]);
    assert_eq!(reads, 6, "every contact");
    assert_eq!(counts(&p), (0, 0, 6, 0, 0));
    let w = p["warnings"][0].as_str().unwrap();
    assert!(
        w.starts_with(warning) && w.ends_with("so every contact was read (a full run)"),
        "{w}"
    );
    for (format, prefix) in [("text", "Warning: "), ("markdown", "> ")] {
        let (out, _) = run(
            &env,
            &[
                "plan",
                "contactctl.yaml",
                "--changed-since",
                "HEAD",
                "--format",
                format,
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{}", show(&out));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(&format!("{prefix}{warning}"))),
            "{format}: {stdout}"
        );
    }
}

#[test]
fn a_saved_plan_is_checked_by_one_read_per_contact_it_changes_and_refused_when_one_moved() {
    let (env, _) = applied_repo(10, false);
    let five = |t: String| t.replace("firstName: User5 }", "firstName: Five }");
    change(&env, 0..11, false, five);
    // a full plan (10 reads) of one update and one create, saved
    let saved = env.dir.path().join("plan.json");
    let (p, reads) = plan(&env, "contactctl.yaml", &["--out", saved.to_str().unwrap()]);
    assert_eq!(reads, 11);
    assert_eq!(counts(&p), (1, 1, 9, 0, 0));

    // Someone creates u10 by hand meanwhile: the saved create no longer holds.
    let created = env.rt.block_on(async {
        crate::support::http::client()
            .post(format!("{}/v1/contact", env.sandbox.base_url()))
            .bearer_auth(crate::support::WEB_TOKEN)
            .json(&serde_json::json!({"custom_fields": [{"name": "email", "value": "u10@x.example"}]}))
            .send()
            .await
            .unwrap()
            .status()
    });
    assert!(created.is_success());
    let writes = env.writes("web");
    let (out, reads) = apply_saved(&env, &saved);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert_eq!(
        reads, 2,
        "one read per contact with calls: u5 by ID, u10 by its key"
    );
    assert_eq!(env.writes("web"), writes, "nothing written");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Changed: email=u10@x.example on web (it exists now)"),
        "{stderr}"
    );

    // A saved plan of the update alone applies after its one read.
    change(&env, 0..10, false, five);
    let (_, reads) = plan(&env, "contactctl.yaml", &["--out", saved.to_str().unwrap()]);
    assert_eq!(reads, 10);
    let (out, reads) = apply_saved(&env, &saved);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(reads, 1);
    assert_eq!(env.writes("web") - writes, 1);
}
