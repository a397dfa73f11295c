//! End to end, the data-safety guards of issue #21 through the built binary against the sandbox:
//! a prune of a config that lost its contacts is refused, a tampered saved plan is refused, and
//! two applies at once create each contact once. Every refusal is checked to have made no write.

use crate::support::{Env, show, text, wire};

const MARKED: &str =
    "defaults:\n  channel: web\n  key: email\n  marker: { field: managed_by, value: git }\n";

/// 20 marked contacts on web, each with the managed tag VIP.
fn marked_contacts() -> Vec<contactctl::api::wire::WireContact> {
    (0..20)
        .map(|i| {
            wire(
                &format!("{i}"),
                &[("email", &format!("u{i}@x.com")), ("managed_by", "git")],
                &["VIP"],
            )
        })
        .collect()
}

#[test]
fn a_prune_of_a_config_that_lost_its_contacts_file_is_refused_without_force() {
    let env = Env::new(marked_contacts(), vec![]);
    std::fs::create_dir_all(env.dir.path().join("repo")).unwrap();
    env.config_named("repo/main.yaml", MARKED);
    let contacts: String = (0..20)
        .map(|i| format!("  - fields: {{ email: u{i}@x.com }}\n    tags: [VIP]\n"))
        .collect();
    let contacts_file = env.dir.path().join("repo/contacts.yaml");
    std::fs::write(&contacts_file, format!("contacts:\n{contacts}")).unwrap();
    env.cmd()
        .args(["plan", "--detailed-exitcode", "--prune", "repo"])
        .assert()
        .code(0);

    // The contacts file is gone: every marked contact is an orphan.
    std::fs::remove_file(&contacts_file).unwrap();
    let out = env
        .cmd()
        .args(["apply", "--prune", "--auto-approve", "repo"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    // the plan's warning says how many and why; the error, that nothing was done
    assert!(
        text(&out.stdout).contains(
            "Warning: channel web: --prune would prune all 20 managed contacts and no contact of \
             the config was found on the channel (did the config lose its contacts file?)"
        ),
        "{}",
        show(&out)
    );
    assert!(
        text(&out.stderr).contains("no call was made"),
        "{}",
        show(&out)
    );
    assert_eq!(env.writes("web"), 0, "no call: {}", show(&out));
    assert!(env.contacts("web").values().all(|c| c.tags == ["VIP"]));

    // --force is the way to say it is meant.
    env.cmd()
        .args(["apply", "--prune", "--auto-approve", "--force", "repo"])
        .assert()
        .success();
    let web = env.contacts("web");
    assert!(web.values().all(|c| {
        c.tags.is_empty()
            && c.custom_fields
                .get("managed_by")
                .cloned()
                .flatten()
                .is_none()
    }));
}
