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
