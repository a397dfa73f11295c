//! End to end: contacts from a CSV sheet plan and apply through the built binary against the
//! sandbox exactly like YAML contacts: the platform ends up equal to the sheet (fields, tags from
//! the column and the source, unmanaged tags and fields left alone) with exactly the planned
//! calls; plan errors name the sheet's row; editing the sheet makes a saved plan stale.

use std::collections::BTreeSet;

use crate::support::{Env, wire};
use predicates::prelude::*;

const DEFAULTS: &str = "defaults:\n  channel: web\n  key: email\n";

/// The source reading `lists/event.csv`, after one YAML contact.
const SOURCES: &str = "contacts:\n  - fields: { email: yaml@example.com, firstName: Yam }\n    \
                       tags: [VIP]\nsources:\n  - csv: lists/event.csv\n    columns:\n      \
                       firstName: First Name\n    tags_column: Tags\n    \
                       tags: [Platform Updates]\n    ignore_columns: [Notes]\n";

/// Row `i` of the sheet: (email, first name, vip cell, customerid, tags cell).
fn row(i: usize) -> (String, String, &'static str, String, &'static str) {
    let vip = match i % 4 {
        0 => "true",
        1 => "FALSE",
        2 => "", // empty: keep leaves the field alone
        _ => "True",
    };
    let tags = match i % 3 {
        0 => "VIP",
        1 => "Blog Updates; VIP",
        _ => "",
    };
    (
        format!("user{i}@example.com"),
        format!("User {i}, Jr."),
        vip,
        format!("{}", 1000 + i),
        tags,
    )
}

/// A 20-row sheet with CRLF line ends, quoted cells (a comma in every first name, a line break
/// in a note) and a column to ignore.
fn sheet() -> String {
    let mut text = String::from("email,First Name,vip,customerid,Tags,Notes\r\n");
    for i in 0..20 {
        let (email, first, vip, id, tags) = row(i);
        let note = if i == 7 { "\"two\r\nlines\"" } else { "" };
        text.push_str(&format!("{email},\"{first}\",{vip},{id},{tags},{note}\r\n"));
    }
    text
}

/// Rows 0..5 already exist on `web`: the e-mail in another case, an old first name, an
/// unmanaged tag, a managed tag not every row wants, a vip value and an undeclared field.
fn existing() -> Vec<contactctl::api::wire::WireContact> {
    (0..5)
        .map(|i| {
            wire(
                &format!("{}", 100 + i),
                &[
                    ("email", &format!("User{i}@Example.com")),
                    ("firstName", "Old"),
                    ("vip", "TRUE"),
                    ("customerid", &format!("{}", 1000 + i)),
                    ("locale", "es"),
                ],
                &["Newsletter", "Blog Updates"],
            )
        })
        .collect()
}

/// Write `text` as `lists/event.csv` and the config that reads it (with `contacts_and_sources`).
fn with_sheet(env: &Env, text: &str, contacts_and_sources: &str) -> std::path::PathBuf {
    std::fs::create_dir_all(env.dir.path().join("lists")).unwrap();
    std::fs::write(env.dir.path().join("lists/event.csv"), text).unwrap();
    env.config(&format!("{DEFAULTS}{contacts_and_sources}"))
}

fn set(tags: &[String]) -> BTreeSet<String> {
    tags.iter().cloned().collect()
}

#[test]
fn a_sheet_plans_and_applies_like_yaml_contacts() {
    let env = Env::new(existing(), vec![]);
    let config = with_sheet(&env, &sheet(), SOURCES);

    env.cmd()
        .arg("validate")
        .arg(&config)
        .assert()
        .success()
        .stderr(predicate::str::contains("21 contacts"));

    let out = env
        .cmd()
        .args(["plan", "--format", "json", "--detailed-exitcode"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plan = Env::json(&out);
    assert_eq!(
        plan["summary"]["create"], 16,
        "15 new rows and the YAML contact"
    );
    assert_eq!(plan["summary"]["update"], 5);
    assert_eq!(plan["summary"]["errors"], 0);
    // 16 creates, each with a tag call; 5 updates: a PUT (first name) each, tags added on each,
    // Blog Updates removed where the row does not want it (rows 0, 2, 3)
    let planned = plan["summary"]["api_calls"].as_u64().unwrap();
    assert_eq!(planned, 16 * 2 + 5 + 5 + 3);
    let reads = env.stats().total;
    assert_eq!(reads, 21, "one look-up per contact");
    let row2 = plan["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["identity"] == "email=user2@example.com")
        .unwrap();
    assert_eq!(row2["action"], "update");
    assert_eq!(
        row2["fields"],
        serde_json::json!([{ "name": "firstName", "before": "Old", "after": "User 2, Jr." }]),
        "an empty vip cell leaves vip alone; the e-mail's case and the same number are no change"
    );
    assert_eq!(row2["tags_added"], serde_json::json!(["Platform Updates"]));
    assert_eq!(row2["tags_removed"], serde_json::json!(["Blog Updates"]));

    env.cmd()
        .args(["apply", "--auto-approve"])
        .arg(&config)
        .assert()
        .success()
        .stdout(predicate::str::contains("Apply complete"));
    assert_eq!(env.writes("web"), planned);
    assert_eq!(env.stats().total, reads + 21 + planned);

    // The platform equals the sheet.
    let web = env.contacts("web");
    assert_eq!(web.len(), 5 + 16);
    for i in 0..20 {
        let (email, first, vip, id, tags) = row(i);
        let found = env.find("web", "email", &email);
        let live = match i {
            0..5 => &web[&format!("{}", 100 + i)],
            _ => {
                assert_eq!(found.len(), 1, "{email}");
                &found[0]
            }
        };
        let value = |f: &str| live.custom_fields.get(f).cloned().flatten();
        assert_eq!(
            value("firstName").as_deref(),
            Some(first.as_str()),
            "{email}"
        );
        assert_eq!(value("customerid").as_deref(), Some(id.as_str()), "{email}");
        let want_vip = match vip {
            "" if i < 5 => Some("TRUE".to_string()), // left alone
            "" => None,
            v => Some(v.to_uppercase()),
        };
        assert_eq!(value("vip").as_deref(), want_vip.as_deref(), "{email}");
        let mut want: BTreeSet<String> = tags
            .split(';')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(String::from)
            .collect();
        want.insert("Platform Updates".into());
        if i < 5 {
            want.insert("Newsletter".into()); // unmanaged: never touched
            assert_eq!(
                value("locale").as_deref(),
                Some("es"),
                "undeclared field kept"
            );
        }
        assert_eq!(set(&live.tags), want, "{email}");
    }
    let yaml = env.find("web", "email", "yaml@example.com");
    assert_eq!(set(&yaml[0].tags), set(&["VIP".to_string()]));

    // Converged: a second plan has nothing to do.
    env.plan_has_no_changes(&config)
        .stdout(predicate::str::contains("No changes"));
}

#[test]
fn a_plan_error_names_the_sheets_row() {
    // two live contacts answer to row 3's e-mail
    let twins = vec![
        wire("201", &[("email", "user3@example.com")], &[]),
        wire("202", &[("email", "USER3@example.com")], &[]),
    ];
    let env = Env::new(twins, vec![]);
    let config = with_sheet(&env, &sheet(), SOURCES);
    let out = env.cmd().arg("plan").arg(&config).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find(|l| l.contains("email=user3@example.com"))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(line.ends_with("/lists/event.csv:5:1)"), "{stdout}");
}

#[test]
fn editing_the_sheet_makes_a_saved_plan_stale() {
    let env = Env::new(existing(), vec![]);
    let config = with_sheet(&env, &sheet(), SOURCES);
    let sheet_file = env.dir.path().join("lists/event.csv");
    env.cmd()
        .args(["plan", "--out", "plan.json"])
        .arg(&config)
        .assert()
        .success();
    std::fs::write(&sheet_file, sheet().replace("User 9, Jr.", "Someone else")).unwrap();
    let before = env.stats().total;
    env.cmd()
        .args(["apply", "--auto-approve", "--plan", "plan.json"])
        .arg(&config)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("changed since the plan was saved"));
    assert_eq!(env.writes("web"), 0, "nothing written");
    assert_eq!(env.stats().total, before, "refused before any call");
}

#[test]
fn validate_reports_sheet_and_yaml_problems_together_sorted() {
    let env = Env::new(vec![], vec![]);
    let bad = sheet()
        .replace(
            "user4@example.com,\"User 4, Jr.\",true",
            "user4@example.com,\"User 4, Jr.\",yes",
        )
        .replace("Blog Updates; VIP", "Blog Updates; Gold");
    let config = with_sheet(
        &env,
        &bad,
        &SOURCES.replace("firstName: Yam", "firstName: Yam, vip: maybe"),
    );
    let out = env.cmd().arg("validate").arg(&config).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.starts_with(' ')).collect();
    assert!(lines[0].contains("contactctl.yaml:"), "{stderr}");
    assert!(lines[0].contains("\"maybe\" is not a boolean"), "{stderr}");
    assert!(
        lines[1].ends_with("lists/event.csv:3:5: tag \"Gold\" is not declared in tags"),
        "{stderr}"
    );
    assert!(
        lines[2].ends_with(
            "lists/event.csv:6:3: field \"vip\" is boolean: \"yes\" is not a boolean (write true or false)"
        ),
        "{stderr}"
    );
}
