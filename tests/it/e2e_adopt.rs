//! End to end: `adopt` through the built binary against the sandbox, on a config directory of two
//! YAML files (comments everywhere, flow and block contacts, quoted values, CRLF in one) and a CSV
//! source: drifted values are taken back into exactly the bytes that define them, every other
//! byte of every file stays, a source-wide CSV tag is refused and named (exit 1), no write call is
//! made, and `plan` afterwards shows only the refused contact and what was left for apply.
//! `--dry-run` leaves every file's bytes and modification time as they were.

use std::path::{Path, PathBuf};

use crate::support::{Env, show, wire};
use contactctl::sandbox::Faults;

const TEAM: &str = "\
# The sales team. Keep it sorted by surname.\r
contacts:\r
  # Ana is written in flow style\r
  - { fields: { email: ana@example.com, firstName: \"Ana\" }, tags: [VIP] }   # flow\r
\r
  - fields:\r
      email: juan@example.com   # primary address\r
      phone: +34 600 111 222  # mobile\r
      lastName: Dar\r
    tags:\r
      - Blog Updates   # opted in 2024\r
  - fields: { email: lea@example.com, firstName: Lea }\r
    tags: [VIP, Blog Updates]  # both\r
  - fields: { email: new@example.com }   # not on the platform yet\r
sources:\r
  - csv: lists/event.csv   # the event's sign-ups\r
    columns: { firstName: First Name }\r
    tags_column: Tags\r
    tags: [Platform Updates]\r
";

const SHEET: &str = "email,First Name,Tags\n\
row1@example.com,\"Row, One\",VIP\n\
row2@example.com,Row Two,VIP; Blog Updates\n\
row3@example.com,Row Three,\n";

/// The directory `contacts/` (settings, team, the sheet) and the platform drifted from it.
fn setup() -> (Env, PathBuf) {
    let on = |id: &str, fields: &[(&str, &str)], tags: &[&str]| wire(id, fields, tags);
    let env = Env::new(
        vec![
            // flow-style field changed
            on(
                "1",
                &[("email", "ana@example.com"), ("firstName", "Anna")],
                &["VIP"],
            ),
            // block-style phone changed, lastName cleared, the only tag removed
            on(
                "2",
                &[("email", "juan@example.com"), ("phone", "+34600111223")],
                &["Newsletter"],
            ),
            // a sync tag added on the platform
            on(
                "3",
                &[("email", "lea@example.com"), ("firstName", "Lea")],
                &["VIP", "Blog Updates", "Platform Updates"],
            ),
            // a CSV cell changed
            on(
                "4",
                &[("email", "row1@example.com"), ("firstName", "Row 1")],
                &["VIP", "Platform Updates"],
            ),
            // a CSV tags cell: VIP removed on the platform
            on(
                "5",
                &[("email", "row2@example.com"), ("firstName", "Row Two")],
                &["Blog Updates", "Platform Updates"],
            ),
            // the source-wide tag removed: cannot be adopted for one row
            on(
                "6",
                &[("email", "row3@example.com"), ("firstName", "Row Three")],
                &[],
            ),
        ],
        vec![],
    );
    let dir = env.dir.path().join("contacts");
    std::fs::create_dir_all(dir.join("lists")).unwrap();
    env.config_named(
        "contacts/10-settings.yaml",
        "defaults:\n  channel: web\n  key: email\n",
    );
    std::fs::write(dir.join("20-team.yaml"), TEAM).unwrap();
    std::fs::write(dir.join("lists/event.csv"), SHEET).unwrap();
    (env, dir)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn adopt_takes_the_platform_back_into_exactly_the_bytes_that_define_it() {
    let (env, dir) = setup();
    let settings = read(&dir.join("10-settings.yaml"));
    let out = env.cmd().arg("adopt").arg(&dir).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    assert_eq!(
        read(&dir.join("20-team.yaml")),
        "\
# The sales team. Keep it sorted by surname.\r
contacts:\r
  # Ana is written in flow style\r
  - { fields: { email: ana@example.com, firstName: \"Anna\" }, tags: [VIP] }   # flow\r
\r
  - fields:\r
      email: juan@example.com   # primary address\r
      phone: \"+34600111223\"  # mobile\r
      lastName: null\r
    tags: []\r
  - fields: { email: lea@example.com, firstName: Lea }\r
    tags: [VIP, Blog Updates, Platform Updates]  # both\r
  - fields: { email: new@example.com }   # not on the platform yet\r
sources:\r
  - csv: lists/event.csv   # the event's sign-ups\r
    columns: { firstName: First Name }\r
    tags_column: Tags\r
    tags: [Platform Updates]\r
"
    );
    assert_eq!(
        read(&dir.join("lists/event.csv")),
        "email,First Name,Tags\n\
row1@example.com,\"Row 1\",VIP\n\
row2@example.com,Row Two,Blog Updates\n\
row3@example.com,Row Three,\n"
    );
    assert_eq!(read(&dir.join("10-settings.yaml")), settings, "untouched");

    // the refusal names the contact, the place and why; what apply resolves is listed
    assert!(
        stdout.contains(&format!(
            "web email=row3@example.com: {}:19:12: tag \"Platform Updates\" is given to every row",
            dir.join("20-team.yaml").display()
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains("web email=new@example.com (")
            && stdout.contains("not on the platform: apply creates it"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "Adopted 5 contacts: 4 fields, 3 tags in 2 files; 1 could not be adopted; 1 change left for apply."
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("-      phone: +34 600 111 222  # mobile"),
        "{stdout}"
    );
    assert_eq!(env.writes("web"), 0, "adopt makes no write call");

    // plan now shows only the refused contact and the one left for apply
    let out = env
        .cmd()
        .args(["plan", "--format", "json"])
        .arg(&dir)
        .output()
        .unwrap();
    let plan = Env::json(&out);
    let changed: Vec<(String, String)> = plan["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] != "unchanged")
        .map(|c| {
            (
                c["action"].as_str().unwrap().to_string(),
                c["identity"].to_string(),
            )
        })
        .collect();
    assert_eq!(
        changed,
        [
            (
                "create".to_string(),
                "\"email=new@example.com\"".to_string()
            ),
            (
                "update".to_string(),
                "\"email=row3@example.com\"".to_string()
            ),
        ]
    );
}

#[test]
fn json_lists_each_contact_with_its_edits_or_refusal() {
    let (env, dir) = setup();
    let reads = env.reads("web");
    let out = env
        .cmd()
        .args(["adopt", "--dry-run", "--format", "json"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    // the reads of plan, exactly
    let adopt_reads = env.reads("web") - reads;
    env.cmd().arg("plan").arg(&dir).assert().code(0);
    assert_eq!(adopt_reads, env.reads("web") - reads - adopt_reads);
    assert_eq!(adopt_reads, 7, "one look-up per contact, no marker");
    let v = Env::json(&out);
    let team = dir.join("20-team.yaml").display().to_string();
    let juan = v["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["identity"] == "email=juan@example.com")
        .unwrap();
    let phone = juan["edits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "phone")
        .unwrap();
    assert_eq!(
        phone,
        &serde_json::json!({"file": team, "line": 8, "column": 14, "adopts": "field",
            "name": "phone", "old": "+34 600 111 222", "new": "\"+34600111223\""})
    );
    let row3 = &v["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["status"] == "refused")
        .unwrap();
    assert_eq!(row3["identity"], "email=row3@example.com");
    assert_eq!(row3["refusal"]["file"], team);
    assert_eq!(
        (
            row3["refusal"]["line"].as_u64(),
            row3["refusal"]["column"].as_u64()
        ),
        (Some(19), Some(12))
    );
    assert_eq!(v["summary"]["refused"], 1);
    assert_eq!(v["dry_run"], true);
}

#[test]
fn a_dry_run_leaves_every_file_and_its_modification_time() {
    let (env, dir) = setup();
    let files = [
        dir.join("10-settings.yaml"),
        dir.join("20-team.yaml"),
        dir.join("lists/event.csv"),
    ];
    let before: Vec<_> = files
        .iter()
        .map(|f| {
            (
                std::fs::read(f).unwrap(),
                std::fs::metadata(f).unwrap().modified().unwrap(),
            )
        })
        .collect();
    let out = env
        .cmd()
        .args(["adopt", "--dry-run"])
        .arg(&dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("+  - { fields: { email: ana@example.com, firstName: \"Anna\" }"),
        "{stdout}"
    );
    assert!(stdout.contains("(dry run: nothing written)"), "{stdout}");
    let after: Vec<_> = files
        .iter()
        .map(|f| {
            (
                std::fs::read(f).unwrap(),
                std::fs::metadata(f).unwrap().modified().unwrap(),
            )
        })
        .collect();
    assert_eq!(before, after);
    assert_eq!(env.writes("web"), 0);
}

#[test]
fn a_symbolic_link_is_edited_at_its_target_and_stays_a_link() {
    let (env, dir) = setup();
    let real = dir.join("team.txt");
    std::fs::rename(dir.join("20-team.yaml"), &real).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::os::unix::fs::symlink(&real, dir.join("20-team.yaml")).unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
        env.cmd().arg("adopt").arg(&dir).assert().code(1);
        let link = std::fs::symlink_metadata(dir.join("20-team.yaml")).unwrap();
        assert!(link.file_type().is_symlink());
        assert!(read(&real).contains("firstName: \"Anna\""));
        let mode = std::fs::metadata(&real).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o640);
    }
}

#[test]
fn a_file_edited_between_the_read_and_the_write_is_not_overwritten() {
    use contactctl::ops::{self, adopt::AdoptRequest};
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("contactctl.yaml");
    let text = "version: 1\nchannels:\n  web: { base_url: https://x.example/api, token_env: T }\n\
                fields:\n  email: { type: email }\n  firstName: { type: text }\n\
                defaults: { channel: web, key: email }\n\
                contacts:\n  - fields: { email: a@x.example, firstName: Ann }  # hers\n";
    std::fs::write(&config, text).unwrap();
    let state = dir.path().join("state.yaml");
    std::fs::write(
        &state,
        "channels:\n  web:\n    token: t\n    contacts:\n      - id: \"1\"\n        \
         custom_fields: { email: a@x.example, firstName: Anne }\n        tags: []\n",
    )
    .unwrap();
    let endpoint = ops::Endpoint {
        sandbox: true,
        sandbox_state: Some(state),
        ..ops::Endpoint::default()
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let run = |hook: Option<&(dyn Fn(&Path) + Sync)>| {
        rt.block_on(ops::adopt::run(AdoptRequest {
            path: &config,
            channels: &[],
            contacts: &[],
            endpoint: &endpoint,
            dry_run: false,
            log: None,
            before_rename: hook,
        }))
    };

    let someone_else = |p: &Path| std::fs::write(p, "# rewritten meanwhile\n").unwrap();
    let err = run(Some(&someone_else)).unwrap_err();
    assert!(
        err.to_string()
            .contains("contactctl.yaml changed on disk since adopt read it: not overwritten"),
        "{err}"
    );
    assert_eq!(read(&config), "# rewritten meanwhile\n");
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "no temporary file left: {names:?}");

    // unchanged meanwhile, the same run writes
    std::fs::write(&config, text).unwrap();
    let adoption = run(Some(&|_: &Path| {})).unwrap();
    assert_eq!(adoption.adopted(), 1);
    assert_eq!(
        read(&config),
        text.replace("firstName: Ann }", "firstName: Anne }")
    );
}

#[test]
fn a_live_state_that_could_not_be_read_fails_adopt_and_edits_nothing() {
    let (env, dir) = setup();
    let before = read(&dir.join("20-team.yaml"));
    let out = env
        .cmd()
        .env("CT_WEB_TOKEN", "not-the-token")
        .arg("adopt")
        .arg(&dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "a refused token: {stdout}");
    assert!(stdout.contains("CT_WEB_TOKEN"), "says why: {stdout}");
    assert_eq!(read(&dir.join("20-team.yaml")), before);
}

#[test]
fn orphans_that_could_not_be_looked_for_fail_adopt_as_they_fail_plan() {
    // a config that names no contact: the channels are read for their orphans alone
    let marked = |id: &str| wire(id, &[("email", "left@x.com"), ("managed_by", "git")], &[]);
    let env = Env::new(vec![marked("1")], vec![marked("v1")]);
    let config = env.config(
        "defaults:\n  channel: web\n  key: email\n  marker: { field: managed_by, value: git }\n\
         contacts: []\n",
    );
    env.set_faults(Faults {
        unauthorized_after: Some(0),
        ..Faults::default()
    });
    let out = env.cmd().arg("adopt").arg(&config).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("Orphans unknown (the marked contacts could not be read):\n  channel viber: channel viber: the API refused the token"),
        "{stdout}"
    );
    let out = env
        .cmd()
        .args(["adopt", "--format", "json"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let json = Env::json(&out);
    assert_eq!(json["orphans_unread"][1]["channel"], "web", "{json}");
    // the platform answers again: nothing to adopt, exit 0
    env.set_faults(Faults::default());
    env.cmd().arg("adopt").arg(&config).assert().code(0);
}

#[test]
fn a_block_value_is_adopted_as_a_literal_block_and_plan_then_shows_no_change() {
    let env = Env::new(
        vec![wire(
            "1",
            &[("email", "ana@example.com"), ("firstName", "Ana\nMaría")],
            &[],
        )],
        vec![],
    );
    let team = "contacts:\n  - fields:\n      email: ana@example.com\n      firstName: >  # her two names\n        Ana\n        Maria\n\n# the end\n";
    let config = env.config(&format!("defaults:\n  channel: web\n  key: email\n{team}"));
    let out = env.cmd().arg("adopt").arg(&config).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        read(&config).ends_with(
            "      firstName: |-  # her two names\n        Ana\n        María\n\n# the end\n"
        ),
        "{}",
        read(&config)
    );
    env.plan_has_no_changes(&config);
}
