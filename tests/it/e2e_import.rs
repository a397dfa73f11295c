//! End-to-end tests of `contactctl import`: contacts on the sandbox → a fragment written into a
//! config directory → `plan` right after shows every imported contact unchanged (the round
//! trip), through the built binary.

use std::path::PathBuf;

use crate::support::{Env, text, wire};

/// The channels/fields/tags file of a config directory `repo/` pointing at the sandbox, with
/// `defaults` as given; returns the directory.
fn repo(env: &Env, defaults: &str) -> PathBuf {
    std::fs::create_dir_all(env.dir.path().join("repo")).unwrap();
    env.config_named("repo/00-base.yaml", defaults);
    env.dir.path().join("repo")
}

const DEFAULTS: &str = "defaults:\n  channel: web\n  key: email\n";

fn premium_contacts() -> Vec<contactctl::api::wire::WireContact> {
    let mut web = vec![
        wire(
            "1001",
            &[
                ("email", "Juan@Example.com"),
                ("firstName", "Juan 🎉"),
                ("lastName", "O'Neil: #1"),
                ("phone", "+34 600 111 222"),
                ("vip", "TRUE"),
                ("customerid", "1042"),
                ("locale", "en_GB"),
                ("segment", "premium"),
            ],
            &["VIP", "Newsletter"],
        ),
        wire(
            "1002",
            &[
                ("email", "maría@example.com"),
                ("firstName", "María José"),
                ("customerid", "007"),
                ("vip", "false"),
                ("segment", "premium"),
            ],
            &[],
        ),
        // no key value: written by id
        wire(
            "1003",
            &[
                ("firstName", "yes"),
                ("lastName", "123"),
                ("phone", "+1 (555) 010-9999"),
                ("segment", "premium"),
            ],
            &["Blog Updates"],
        ),
        // a key value two imported contacts share: both written by id
        wire(
            "1004",
            &[("email", "dup@x.com"), ("segment", "premium")],
            &["VIP"],
        ),
        wire(
            "1005",
            &[("email", "DUP@x.com"), ("segment", "premium")],
            &[],
        ),
        // a declared value that does not fit its type is noted, not written
        wire(
            "1006",
            &[
                ("email", "odd@x.com"),
                ("customerid", "n/a"),
                ("lastName", "line\nbreak \"quoted\""),
                ("segment", "premium"),
            ],
            &[],
        ),
        // not premium: not imported
        wire(
            "2000",
            &[("email", "basic@x.com"), ("segment", "basic")],
            &["VIP"],
        ),
    ];
    web.extend((0..25).map(|i| {
        wire(
            &format!("3{i:03}"),
            &[("email", &format!("bulk{i}@x.com")), ("segment", "premium")],
            &["Platform Updates"],
        )
    }));
    web
}

#[test]
fn imported_contacts_plan_unchanged_right_after() {
    let env = Env::new(premium_contacts(), vec![]);
    let repo = repo(&env, DEFAULTS);
    let fragment = repo.join("50-imported.yaml");

    let out = env
        .cmd()
        .args([
            "import",
            "--channel",
            "web",
            "--field",
            "segment=premium",
            "--out",
        ])
        .arg(&fragment)
        .arg(&repo)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty(), "--out writes the file, not stdout");
    assert!(
        text(&out.stderr).contains("Imported 31 contacts from channel web"),
        "{}",
        text(&out.stderr)
    );
    // 31 matches at the sandbox's 10 a page: 4 look-ups, nothing else
    let calls = env.stats().channels["web"].calls.clone();
    assert_eq!((calls.lookup, calls.get), (4, 0));
    assert_eq!(env.writes("web"), 0, "import never writes");

    let yaml = std::fs::read_to_string(&fragment).unwrap();
    assert!(
        yaml.contains("not managed here: locale=en_GB, segment=premium"),
        "{yaml}"
    );
    // importing again into the same file rewrites it, not empties it
    env.cmd()
        .args([
            "import",
            "--channel",
            "web",
            "--field",
            "segment=premium",
            "--out",
        ])
        .arg(&fragment)
        .arg(&repo)
        .assert()
        .success();
    assert_eq!(std::fs::read_to_string(&fragment).unwrap(), yaml);
    assert!(yaml.contains("  - id: \"1003\"\n"), "{yaml}");
    assert!(yaml.contains("  - id: \"1004\"\n"), "{yaml}");
    assert!(yaml.contains("customerid=n/a"), "{yaml}");
    assert!(!yaml.contains("basic@x.com"), "{yaml}");

    let out = env
        .cmd()
        .args(["plan", "--detailed-exitcode", "--format", "json"])
        .arg(&repo)
        .output()
        .unwrap();
    let plan = Env::json(&out);
    assert_eq!(out.status.code(), Some(0), "{plan:#}\n{yaml}");
    assert_eq!(plan["summary"]["unchanged"], 31, "{plan:#}");
    assert_eq!(plan["summary"]["errors"], 0);
}

#[test]
fn imported_viber_ids_round_trip_and_a_missing_id_fails_after_writing_the_others() {
    let viber = vec![
        wire(
            "tMNGhftyUPrB3r1lD+bT4g==",
            &[("firstName", "Ana"), ("vip", "true")],
            &["Platform Updates", "Other"],
        ),
        wire(
            "a/B+c=",
            &[
                ("email", "pablo@example.com"),
                ("phone", "+34 (611) 22-33-44"),
            ],
            &[],
        ),
    ];
    let env = Env::new(vec![], viber);
    let repo = repo(&env, DEFAULTS);
    let out = env
        .cmd()
        .args([
            "import",
            "--channel",
            "viber",
            "--id",
            "tMNGhftyUPrB3r1lD+bT4g==",
            "--id",
            "a/B+c=",
            "--id",
            "no+such/ID==",
        ])
        .arg(&repo)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("no+such/ID==: no such contact"),
        "the missing ID is named: {stderr}"
    );
    let yaml = text(&out.stdout);
    assert!(
        yaml.contains("- channel: viber\n    id: \"tMNGhftyUPrB3r1lD+bT4g==\""),
        "{yaml}"
    );
    assert!(yaml.contains("tags: [Platform Updates]"), "{yaml}");
    std::fs::write(repo.join("50-viber.yaml"), &yaml).unwrap();

    let out = env
        .cmd()
        .args(["plan", "--detailed-exitcode", "--format", "json"])
        .arg(&repo)
        .output()
        .unwrap();
    let plan = Env::json(&out);
    assert_eq!(out.status.code(), Some(0), "{plan:#}\n{yaml}");
    assert_eq!(plan["summary"]["unchanged"], 2);
}

#[test]
fn with_a_marker_imported_contacts_get_only_the_marker_then_plan_clean() {
    let env = Env::new(premium_contacts(), vec![]);
    let repo = repo(
        &env,
        "defaults:\n  channel: web\n  key: email\n  marker: { field: managed_by, value: git }\n",
    );
    let fragment = repo.join("50-imported.yaml");
    env.cmd()
        .args([
            "import",
            "--channel",
            "web",
            "--field",
            "segment=premium",
            "--out",
        ])
        .arg(&fragment)
        .arg(&repo)
        .assert()
        .success();
    let yaml = std::fs::read_to_string(&fragment).unwrap();
    assert!(yaml.contains("plan as marker-only updates"), "{yaml}");

    let out = env
        .cmd()
        .args(["plan", "--format", "json"])
        .arg(&repo)
        .output()
        .unwrap();
    let plan = Env::json(&out);
    assert_eq!(plan["summary"]["update"], 31, "{plan:#}");
    let contacts = plan["contacts"].as_array().unwrap();
    assert!(
        contacts
            .iter()
            .all(|c| c["fields"].as_array().unwrap().len() == 1
                && c["fields"][0]["name"] == "managed_by"),
        "only the marker is written: {plan:#}"
    );
    // marker-only updates do not trip the safety limit
    env.cmd()
        .args(["apply", "--auto-approve"])
        .arg(&repo)
        .assert()
        .success();
    env.plan_has_no_changes(&repo);
}

#[test]
fn import_needs_ids_or_a_field_query_and_a_known_channel() {
    let env = Env::new(vec![], vec![]);
    let repo = repo(&env, DEFAULTS);
    env.cmd()
        .args(["import", "--channel", "web"])
        .arg(&repo)
        .assert()
        .code(1);
    let out = env
        .cmd()
        .args(["import", "--channel", "sms", "--id", "1"])
        .arg(&repo)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("--channel sms: no such channel"));
    let out = env
        .cmd()
        .args(["import", "--channel", "web", "--field", "vip=yes"])
        .arg(&repo)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("vip is a boolean field"));
    assert_eq!(env.stats().total, 0, "no call for a bad command line");
}

#[test]
fn a_csv_import_reads_back_through_a_source_with_no_change_planned() {
    let env = Env::new(premium_contacts(), vec![]);
    let repo = repo(&env, DEFAULTS);
    std::fs::create_dir_all(repo.join("lists")).unwrap();
    let sheet = repo.join("lists/premium.csv");
    let out = env
        .cmd()
        .args([
            "import",
            "--channel",
            "web",
            "--field",
            "segment=premium",
            "--format",
            "csv",
            "--out",
        ])
        .arg(&sheet)
        .arg(&repo)
        .output()
        .unwrap();
    let err = text(&out.stderr);
    // 1003 has no e-mail and 1004/1005 share one: a row needs a unique key value
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("Imported 28 contacts from channel web"),
        "{err}"
    );
    assert!(
        err.contains("3 of the contacts could not be written as rows of the sheet")
            && err.contains("1003: no value for the key field email")
            && err.contains("1004: its email is shared by other imported contacts"),
        "{err}"
    );
    assert!(
        err.contains("    - csv: lists/premium.csv\n") && err.contains("tags_column: Tags"),
        "the sources: entry to add, the sheet named as the config's YAML names it:\n{err}"
    );
    assert!(
        err.contains("values read but not in the sheet") && !err.contains("segment=premium"),
        "values are counted, not shown, without -vv:\n{err}"
    );
    let csv = std::fs::read_to_string(&sheet).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("email,customerid,firstName,lastName,phone,vip,Tags"),
        "the key field first, the other declared fields by name, then Tags:\n{csv}"
    );
    assert!(
        csv.contains("Juan@Example.com,1042,Juan 🎉,O'Neil: #1,+34 600 111 222,TRUE,VIP\n"),
        "{csv}"
    );
    assert!(
        csv.contains("odd@x.com,,,\"line\nbreak \"\"quoted\"\"\",,,\n"),
        "an invalid number left empty, a line break quoted:\n{csv}"
    );

    std::fs::write(
        repo.join("40-sheet.yaml"),
        "sources:\n  - csv: lists/premium.csv\n    tags_column: Tags\n",
    )
    .unwrap();
    let out = env
        .cmd()
        .args(["plan", "--detailed-exitcode", "--format", "json"])
        .arg(&repo)
        .output()
        .unwrap();
    let plan = Env::json(&out);
    assert_eq!(out.status.code(), Some(0), "{plan:#}\n{csv}");
    assert_eq!(plan["summary"]["unchanged"], 28, "{plan:#}");

    // nobody matches: an empty sheet, and no sources: entry to add for it
    let out = env
        .cmd()
        .args(["import", "--channel", "web", "--field", "segment=nobody"])
        .args(["--format", "csv", "--out"])
        .arg(repo.join("lists/nobody.csv"))
        .arg(&repo)
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert!(
        err.contains("Imported 0 contacts from channel web"),
        "{err}"
    );
    assert!(!err.contains("sources:"), "{err}");
}

#[test]
fn csv_is_import_s_format_only() {
    let env = Env::new(vec![], vec![]);
    let repo = repo(&env, DEFAULTS);
    env.cmd()
        .args(["plan", "--format", "csv"])
        .arg(&repo)
        .assert()
        .code(1)
        .stderr(predicates::str::contains(
            "plan prints text, markdown or json; --format csv is for import",
        ));
}
