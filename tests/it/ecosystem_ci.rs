//! The CI recipes in examples/ci/ and the GitHub Action (action.yml): each file parses as YAML
//! with the triggers, permissions, inputs and contactctl command lines it promises, and the shell
//! it runs — the very text of its steps — is run with bash against a sandbox serving a
//! `contacts/` config, checking the exit codes and output each one relies on (drift passes the PR
//! plan, fails the nightly check; errors fail both). The GitHub recipes are workflows that use the
//! action, so the scripts tested for GitHub are the action's, run with its steps' `env:` as the
//! runner expands it. The PR comment script runs under node with a fake GitHub client, the
//! GitLab note script against a fake GitLab API, and the action's install step with a fake
//! `cargo`. The recipes' install steps are not run (they fetch from the network).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::{Env, VIBER_TOKEN, WEB_TOKEN, show, wire};
use serde_json::{Value, json};

const MARKER: &str = "<!-- contactctl-plan -->";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A recipe, parsed as YAML 1.2 (as GitHub and GitLab read `on:`: a string, not a boolean).
fn recipe(rel: &str) -> Value {
    let text = std::fs::read_to_string(root().join(rel)).unwrap();
    let options = serde_saphyr::options! { strict_booleans: true };
    serde_saphyr::from_str_with_options::<Value>(&text, options)
        .unwrap_or_else(|e| panic!("{rel} is not valid YAML: {e}"))
}

fn text(v: &Value) -> &str {
    v.as_str()
        .unwrap_or_else(|| panic!("expected a string, got {v}"))
}

/// Whether a tool the recipes' runners have is installed here.
fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn skip(what: &str, tool: &str) {
    eprintln!(
        "SKIPPED: {what}: `{tool}` is not installed here (the CI runners the recipe targets have it)"
    );
}

/// The `contactctl` command lines of a script, without redirections and exit-code captures.
fn contactctl_lines(script: &str) -> Vec<String> {
    script
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("contactctl ") && *l != "contactctl --version")
        .map(|l| {
            let end = [" >", " |", " ||"]
                .iter()
                .filter_map(|s| l.find(s))
                .min()
                .unwrap_or(l.len());
            l[..end].to_string()
        })
        .collect()
}

/// A sandbox (web: juan, drifted; viber: empty) and a `contacts/` config for it whose token
/// variables are the recipes': juan's first name to fix, ana to create on Viber.
fn setup() -> Env {
    let env = Env::new(
        vec![wire(
            "100",
            &[("email", "juan@example.com"), ("firstName", "Juanito")],
            &["VIP"],
        )],
        vec![],
    );
    write_contacts(&env);
    env
}

fn write_contacts(env: &Env) {
    let base = env.sandbox.base_url();
    let dir = env.dir.path().join("contacts");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("contactctl.yaml"),
        format!(
            "version: 1\nchannels:\n  web: {{ base_url: {base}, token_env: CONTACTS_WEB_TOKEN }}\n  viber: {{ base_url: {base}, token_env: CONTACTS_VIBER_TOKEN, viber: true }}\nfields:\n  email: {{ type: email }}\n  firstName: {{ type: text }}\ntags: [VIP, Blog Updates]\ndefaults: {{ channel: web, key: email }}\ncontacts:\n  - fields: {{ email: juan@example.com, firstName: Juan }}\n    tags: [VIP]\n  - channel: viber\n    fields: {{ email: ana@example.com, firstName: Ana }}\n"
        ),
    )
    .unwrap();
}

/// The token for a token variable of the recipes.
fn token_for(var: &str) -> &'static str {
    match var {
        "CONTACTS_WEB_TOKEN" => WEB_TOKEN,
        "CONTACTS_VIBER_TOKEN" => VIBER_TOKEN,
        other => panic!("the recipe passes {other}, which the config does not use"),
    }
}

/// Run `script` as the runners do (bash, -e, pipefail) in the sandbox's repo, with the built
/// contactctl on PATH, the tokens, and `vars`.
fn shell(env: &Env, script: &str, vars: &[(&str, &str)]) -> Output {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_contactctl"))
        .parent()
        .unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = Command::new("bash");
    cmd.args(["--noprofile", "--norc", "-eo", "pipefail", "-c", script])
        .current_dir(env.dir.path())
        .env("PATH", path)
        .env("NO_COLOR", "1")
        .env_remove("CONTACTCTL_TIMEOUT")
        .env("CONTACTS_WEB_TOKEN", WEB_TOKEN)
        .env("CONTACTS_VIBER_TOKEN", VIBER_TOKEN);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn read(env: &Env, name: &str) -> String {
    std::fs::read_to_string(env.dir.path().join(name)).unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// GitHub Actions: the composite action at the repository root holds the scripts; the recipes
// are workflows that use it.

fn gh(name: &str) -> Value {
    recipe(&format!("examples/ci/github/{name}"))
}

/// The only job of a workflow.
fn gh_job(wf: &Value) -> &Value {
    let jobs = wf["jobs"].as_object().unwrap();
    assert_eq!(jobs.len(), 1, "one job");
    jobs.values().next().unwrap()
}

/// The action's step named `name`.
fn action_step(name: &str) -> Value {
    recipe("action.yml")["runs"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("action.yml has no step {name:?}"))
        .clone()
}

/// The recipe's structure: tokens from secrets named as the token variables, the repo checked
/// out, then the action, pinned, with `command` and the config; returns the action's `with:`.
fn gh_uses_the_action(wf: &Value, command: &str) -> Value {
    let job = gh_job(wf);
    let env = job["env"].as_object().unwrap();
    assert!(!env.is_empty());
    for (k, v) in env {
        assert_eq!(text(v), format!("${{{{ secrets.{k} }}}}"), "{k}");
        token_for(k);
    }
    let steps = job["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 2, "{steps:?}");
    assert!(text(&steps[0]["uses"]).starts_with("actions/checkout@"));
    assert_eq!(steps[1]["uses"], "your-org/contactctl@v0.1.0", "pinned");
    let with = steps[1]["with"].clone();
    assert_eq!(with["command"], command);
    assert_eq!(with["config"], "contacts/");
    with
}

/// Where `${{ runner.temp }}` is when the action's steps run here.
fn runner_temp(env: &Env) -> PathBuf {
    env.dir.path().join("runner-temp")
}

/// The value of an action expression as the runner computes it, for the few forms the action
/// uses: `${{ inputs.NAME }}` (the input given, else its default), `${{ runner.temp }}`, and
/// alternatives `${{ inputs.NAME || 'literal' }}`; text around the braces is kept.
fn expand(expr: &str, inputs: &[(&str, &str)], temp: &Path) -> String {
    let Some((before, rest)) = expr.split_once("${{") else {
        return expr.to_string();
    };
    let (inner, after) = rest.split_once("}}").unwrap();
    let declared = recipe("action.yml")["inputs"].clone();
    let value = inner
        .split("||")
        .map(str::trim)
        .map(|alt| {
            if let Some(name) = alt.strip_prefix("inputs.") {
                assert!(declared[name].is_object(), "undeclared input {name}");
                inputs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
                    .unwrap_or_else(|| declared[name]["default"].as_str().unwrap_or("").into())
            } else if alt == "runner.temp" {
                temp.display().to_string()
            } else if alt == "github.action_path" {
                root().display().to_string()
            } else if let Some(literal) = alt.strip_prefix('\'') {
                literal.trim_end_matches('\'').to_string()
            } else {
                panic!("an expression the test does not know: {alt}")
            }
        })
        .find(|v| !v.is_empty())
        .unwrap_or_default();
    format!("{before}{value}{}", expand(after, inputs, temp))
}

/// Run the action's step `name` as the runner would, with `inputs`: its `run:` script in bash,
/// its `env:` expanded, the runner's variables (the action's path is this repository), and
/// `vars` (which win).
fn action_shell(env: &Env, name: &str, inputs: &[(&str, &str)], vars: &[(&str, &str)]) -> Output {
    let step = action_step(name);
    let temp = runner_temp(env);
    std::fs::create_dir_all(&temp).unwrap();
    let mut all: Vec<(String, String)> = vec![
        ("RUNNER_OS".into(), "Linux".into()),
        ("RUNNER_ARCH".into(), "X64".into()),
        ("GITHUB_ACTION_PATH".into(), root().display().to_string()),
        (
            "GITHUB_STEP_SUMMARY".into(),
            temp.join("summary.md").display().to_string(),
        ),
        (
            "GITHUB_OUTPUT".into(),
            temp.join("output").display().to_string(),
        ),
        (
            "GITHUB_PATH".into(),
            temp.join("path").display().to_string(),
        ),
        ("GITHUB_ENV".into(), temp.join("env").display().to_string()),
    ];
    if let Some(step_env) = step["env"].as_object() {
        for (k, v) in step_env {
            all.push((k.clone(), expand(text(v), inputs, &temp)));
        }
    }
    all.extend(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let all: Vec<(&str, &str)> = all.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    shell(env, text(&step["run"]), &all)
}

fn read_temp(env: &Env, name: &str) -> String {
    std::fs::read_to_string(runner_temp(env).join(name)).unwrap_or_default()
}

#[test]
fn the_action_runs_its_scripts_in_bash_with_inputs_only_through_env() {
    let action = recipe("action.yml");
    assert_eq!(action["runs"]["using"], "composite");
    let inputs = action["inputs"].as_object().unwrap();
    for name in [
        "command",
        "config",
        "args",
        "changed-since",
        "artifact",
        "github-token",
        "drift-issue",
        "drift-label",
        "adopt-pull-request",
        "adopt-branch",
        "adopt-token",
    ] {
        assert!(
            inputs[name]["description"]
                .as_str()
                .is_some_and(|d| !d.is_empty()),
            "{name}"
        );
    }
    assert_eq!(inputs["command"]["required"], true);
    assert_eq!(inputs["config"]["default"], "contacts/");
    let mut scripts = 0;
    for step in action["runs"]["steps"].as_array().unwrap() {
        let Some(run) = step["run"].as_str() else {
            continue;
        };
        scripts += 1;
        // An expression in a script is pasted into the shell unescaped: inputs come as variables.
        assert!(!run.contains("${{"), "expression in a run script: {run}");
        assert_eq!(
            step["shell"], "bash",
            "bash, so -e and pipefail hold: {run}"
        );
        if let Some(env) = step["env"].as_object() {
            for v in env.values() {
                expand(text(v), &[], Path::new("/tmp")); // known forms only
            }
        }
    }
    assert_eq!(scripts, 8);
    // Each command runs its own steps, and only its own.
    for (name, command) in [
        ("Find the base", "plan"),
        ("Find the base", "apply"),
        ("Plan", "plan"),
        ("Post the plan on the pull request", "plan"),
        ("Keep the full plan", "plan"),
        ("Apply", "apply"),
        ("Keep the apply report", "apply"),
        ("Check for drift", "drift"),
        ("Keep the drift issue", "drift"),
        ("Adopt", "drift"),
        ("Keep the drift report", "drift"),
    ] {
        let cond = text(&action_step(name)["if"]).to_string();
        assert!(
            cond.contains(&format!("inputs.command == '{command}'")),
            "{name}: {cond}"
        );
    }
}

#[test]
fn the_action_refuses_an_unknown_command() {
    let env = setup();
    let out = action_shell(&env, "Check the inputs", &[("command", "deploy")], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        stdout(&out).contains("command must be plan, apply or drift, not 'deploy'"),
        "{}",
        show(&out)
    );
    for command in ["plan", "apply", "drift"] {
        let out = action_shell(&env, "Check the inputs", &[("command", command)], &[]);
        assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    }
    // The drift check reads everything: it is what a scoped plan and apply rely on.
    let out = action_shell(
        &env,
        "Check the inputs",
        &[("command", "drift"), ("changed-since", "abc123")],
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        stdout(&out).contains("drift reads every contact, so it takes no changed-since"),
        "{}",
        show(&out)
    );
}

#[test]
fn the_action_builds_contactctl_from_its_own_files_once_then_takes_the_cache() {
    let env = setup();
    let temp = runner_temp(&env);
    let output = temp.join("output");

    // The cache key: the platform and a hash of the files the binary is built from.
    let key = |env: &Env, vars: &[(&str, &str)]| {
        let _ = std::fs::remove_file(&output);
        let out = action_shell(env, "Cache key", &[], vars);
        assert_eq!(out.status.code(), Some(0), "{}", show(&out));
        let written = std::fs::read_to_string(&output).unwrap();
        written.trim().strip_prefix("key=").unwrap().to_string()
    };
    let ours = key(&env, &[]);
    assert!(ours.starts_with("contactctl-Linux-X64-"), "{ours}");
    assert_eq!(ours.len(), "contactctl-Linux-X64-".len() + 20, "{ours}");
    assert_eq!(key(&env, &[]), ours, "the same files, the same key");
    // A copy of the sources with one file changed (a moved tag such as v1) gets another key.
    let copy = env.dir.path().join("action-copy");
    std::fs::create_dir_all(copy.join("src")).unwrap();
    for f in ["Cargo.toml", "Cargo.lock", "src/main.rs", "src/lib.rs"] {
        std::fs::copy(root().join(f), copy.join(f)).unwrap();
    }
    let copy_path = copy.display().to_string();
    let vars = [("GITHUB_ACTION_PATH", copy_path.as_str())];
    let before = key(&env, &vars);
    std::fs::write(copy.join("src/lib.rs"), "// changed\n").unwrap();
    assert_ne!(key(&env, &vars), before, "a changed source, a new key");

    // The cache path is where the install puts the binary.
    let cache = action_step("Cache contactctl");
    assert!(text(&cache["uses"]).starts_with("actions/cache@"));
    assert_eq!(cache["with"]["key"], "${{ steps.key.outputs.key }}");
    let install = action_step("Install contactctl");
    assert_eq!(
        format!("{}/bin", text(&install["env"]["CONTACTCTL_ROOT"])),
        text(&cache["with"]["path"])
    );

    // A fake cargo records its arguments and installs a stand-in binary where --root says.
    let fake = env.dir.path().join("fake-bin");
    std::fs::create_dir_all(&fake).unwrap();
    let cargo = fake.join("cargo");
    std::fs::write(
        &cargo,
        "#!/bin/bash\necho \"$@\" >> \"$CARGO_CALLS\"\nroot=\"${@: -1}\"\nmkdir -p \"$root/bin\"\nprintf '#!/bin/sh\\necho contactctl 9.9.9\\n' > \"$root/bin/contactctl\"\nchmod +x \"$root/bin/contactctl\"\n",
    )
    .unwrap();
    std::process::Command::new("chmod")
        .args(["+x", cargo.to_str().unwrap()])
        .status()
        .unwrap();
    let calls = env.dir.path().join("cargo-calls");
    let path = format!("{}:{}", fake.display(), std::env::var("PATH").unwrap());
    let vars = [
        ("PATH", path.as_str()),
        ("CARGO_CALLS", calls.to_str().unwrap()),
    ];
    let install_root = temp.join("contactctl-install");
    for _ in 0..2 {
        let out = action_shell(&env, "Install contactctl", &[], &vars);
        assert_eq!(out.status.code(), Some(0), "{}", show(&out));
        assert!(stdout(&out).contains("contactctl 9.9.9"), "{}", show(&out));
    }
    assert_eq!(
        std::fs::read_to_string(&calls).unwrap(),
        format!(
            "install --path {} --locked --root {}\n",
            root().display(),
            install_root.display()
        ),
        "built once, from the action's own checkout; the second run found the binary"
    );
    assert_eq!(
        read_temp(&env, "path"),
        format!("{}/bin\n", install_root.display()).repeat(2),
        "on PATH for the next steps"
    );
}

#[test]
fn github_plan_runs_on_pull_requests_and_comments() {
    let wf = gh("contactctl-plan.yml");
    assert!(wf["on"]["pull_request"].is_object(), "{}", wf["on"]);
    assert_eq!(wf["permissions"]["pull-requests"], "write");
    let with = gh_uses_the_action(&wf, "plan");
    assert_eq!(
        with["changed-since"], "${{ github.event.pull_request.base.sha }}",
        "the pull request's plan reads what it changes"
    );

    assert_eq!(
        contactctl_lines(text(&action_step("Plan")["run"])),
        [
            r#"contactctl plan "$CONTACTCTL_CONFIG" --format markdown --out "$CONTACTCTL_OUT/plan.json" ${CONTACTCTL_CHANGED_SINCE_REF:+--changed-since "$CONTACTCTL_CHANGED_SINCE_REF"} "${extra[@]}""#
        ]
    );
    let post = action_step("Post the plan on the pull request");
    assert!(text(&post["uses"]).starts_with("actions/github-script@"));
    assert_eq!(post["with"]["github-token"], "${{ inputs.github-token }}");
    let cond = text(&post["if"]);
    for needle in ["!cancelled()", "failure", "github.event.pull_request"] {
        assert!(cond.contains(needle), "{needle}: {cond}");
    }
    let script = text(&post["with"]["script"]);
    for needle in [
        MARKER,
        "listComments",
        "updateComment",
        "createComment",
        "plan.md",
    ] {
        assert!(script.contains(needle), "{needle}");
    }
    let keep = action_step("Keep the full plan");
    assert!(text(&keep["uses"]).starts_with("actions/upload-artifact@"));
    assert_eq!(
        keep["with"]["path"],
        "${{ runner.temp }}/contactctl/plan.json"
    );
}

#[test]
fn github_plan_step_passes_with_changes_and_fails_on_errors() {
    let env = setup();
    let plan = |inputs: &[(&str, &str)]| {
        let mut all = vec![("command", "plan")];
        all.extend_from_slice(inputs);
        action_shell(&env, "Plan", &all, &[])
    };

    let out = plan(&[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "changes do not fail: {}",
        show(&out)
    );
    let md = read_temp(&env, "contactctl/plan.md");
    assert!(
        md.starts_with("**contactctl plan:** 1 to create, 1 to update"),
        "{md}"
    );
    assert!(
        stdout(&out).contains("| create |"),
        "the plan is in the log too"
    );
    let saved: Value = serde_json::from_str(&read_temp(&env, "contactctl/plan.json")).unwrap();
    assert_eq!(
        saved["kind"], "contactctl-plan",
        "the full plan, for the artifact"
    );
    assert_eq!(
        env.writes("web") + env.writes("viber"),
        0,
        "a plan writes nothing"
    );
    assert_eq!(
        read(&env, "plan.md"),
        "",
        "nothing written into the workspace"
    );

    // Extra flags reach contactctl, one word each.
    let out = plan(&[("args", "--channel  web")]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let md = read_temp(&env, "contactctl/plan.md");
    assert!(
        md.starts_with("**contactctl plan:** 0 to create, 1 to update"),
        "{md}"
    );

    // An invalid config: the step fails, with nothing to post but the failure.
    std::fs::write(
        env.dir.path().join("contacts/contactctl.yaml"),
        "version: 1\nbogus: 1\n",
    )
    .unwrap();
    let out = plan(&[]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert_eq!(read_temp(&env, "contactctl/plan.md"), "");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("bogus"),
        "{}",
        show(&out)
    );
}

/// Run the action's comment script under node with a fake `github` whose issue holds
/// `comments`, the step's environment as the runner sets it; returns the calls it made.
fn run_comment_script(env: &Env, comments: Value) -> Vec<Value> {
    let step = action_step("Post the plan on the pull request");
    let temp = runner_temp(env);
    let inputs = [("command", "plan")];
    let dir = env.dir.path();
    std::fs::write(dir.join("comment-script.js"), text(&step["with"]["script"])).unwrap();
    std::fs::write(dir.join("comments.json"), comments.to_string()).unwrap();
    std::fs::write(
        dir.join("harness.js"),
        r#"
const fs = require('fs');
const existing = JSON.parse(fs.readFileSync('comments.json', 'utf8'));
const calls = [];
const github = {
  paginate: async (method, params) => (await method(params)).data,
  rest: { issues: {
    listComments: async (p) => { calls.push({ call: 'list', ...p }); return { data: existing }; },
    updateComment: async (p) => { calls.push({ call: 'update', ...p }); return { data: {} }; },
    createComment: async (p) => { calls.push({ call: 'create', ...p }); return { data: {} }; },
  } },
};
const context = {
  serverUrl: 'https://github.com', runId: 4242, repo: { owner: 'acme', repo: 'contacts' },
  issue: { number: 9 }, payload: { pull_request: { head: { sha: '0123456789abcdef' } } },
};
const AsyncFunction = Object.getPrototypeOf(async function () {}).constructor;
new AsyncFunction('github', 'context', 'core', 'require', fs.readFileSync('comment-script.js', 'utf8'))
  (github, context, {}, require)
  .then(() => fs.writeFileSync('calls.json', JSON.stringify(calls)))
  .catch((e) => { console.error(e); process.exit(1); });
"#,
    )
    .unwrap();
    let mut node = Command::new("node");
    node.arg("harness.js").current_dir(dir);
    for (k, v) in step["env"].as_object().unwrap() {
        node.env(k, expand(text(v), &inputs, &temp));
    }
    let out = node.output().unwrap();
    assert!(out.status.success(), "{}", show(&out));
    serde_json::from_str(&read(env, "calls.json")).unwrap()
}

#[test]
fn github_comment_is_created_once_then_updated_in_place() {
    if !have("node") {
        return skip("the PR comment script", "node");
    }
    let env = setup();
    let out = action_shell(&env, "Plan", &[("command", "plan")], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let plan = read_temp(&env, "contactctl/plan.md");

    // First push: no comment yet, so one is created, led by the marker.
    let calls = run_comment_script(&env, json!([]));
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert_eq!(calls[1]["call"], "create");
    assert_eq!(calls[1]["issue_number"], 9);
    let body = text(&calls[1]["body"]);
    assert!(
        body.starts_with(&format!("{MARKER}\n{}", plan.trim())),
        "{body}"
    );
    assert!(body.contains("Planned at 0123456"));
    assert!(body.contains(
        "(artifact contactctl-plan)](https://github.com/acme/contacts/actions/runs/4242)"
    ));
    let wrapper = body.len() - plan.trim().len();
    assert!(
        wrapper <= contactctl::render::markdown::CALLER_ROOM / 2,
        "the wrapper fits, with margin for long repo names, in the room the renderer leaves: {wrapper} bytes"
    );

    // Next push: the bot's comment is updated, not a person's that quotes the marker.
    let calls = run_comment_script(
        &env,
        json!([
            { "id": 5, "user": { "type": "User" }, "body": format!("{MARKER}\nquoted by a person") },
            { "id": 6, "user": { "type": "Bot" }, "body": format!("{MARKER}\nan older plan") },
        ]),
    );
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert_eq!(calls[1]["call"], "update");
    assert_eq!(calls[1]["comment_id"], 6);

    // A plan that failed before planning still says so on the pull request.
    std::fs::write(runner_temp(&env).join("contactctl/plan.md"), "").unwrap();
    let calls = run_comment_script(&env, json!([]));
    assert!(text(&calls[1]["body"]).contains("**contactctl plan failed**"));
}

#[test]
fn github_apply_runs_on_main_and_applies_with_auto_approve() {
    let wf = gh("contactctl-apply.yml");
    assert_eq!(wf["on"]["push"]["branches"], json!(["main"]));
    assert_eq!(wf["concurrency"]["cancel-in-progress"], false);
    let with = gh_uses_the_action(&wf, "apply");
    assert_eq!(
        with["changed-since"], "last-success",
        "since the last commit applied with exit 0, not the commit before the push"
    );
    assert_eq!(
        gh_job(&wf)["steps"][0]["with"]["fetch-depth"],
        0,
        "the history, to tell the commit before the push is an ancestor"
    );
    assert_eq!(
        contactctl_lines(text(&action_step("Apply")["run"])),
        [
            r#"contactctl apply "$CONTACTCTL_CONFIG" --auto-approve --format markdown --report "$record" ${CONTACTCTL_CHANGED_SINCE_REF:+--changed-since "$CONTACTCTL_CHANGED_SINCE_REF"} "${extra[@]}""#
        ]
    );
    assert_eq!(
        wf["permissions"]["actions"], "read",
        "to find the last success"
    );
    let keep = action_step("Keep the apply report");
    assert!(text(&keep["uses"]).starts_with("actions/upload-artifact@"));
    assert!(text(&keep["if"]).contains("always()"), "a failed run's too");
    assert!(
        keep["with"]["retention-days"].is_u64(),
        "it holds contact data"
    );
    assert_eq!(
        keep["with"]["path"],
        "${{ runner.temp }}/contactctl/apply-report.jsonl"
    );

    // A time budget a margin below the job's own limit, both said explicitly.
    let job = gh_job(&wf);
    assert_eq!(job["timeout-minutes"], 360);
    assert_eq!(with["args"], "--max-duration 5h30m");
    assert_budget_below(5 * 3600 + 30 * 60, 360 * 60);

    let env = setup();
    let inputs = [("command", "apply"), ("args", "--max-duration 5h30m")];
    let out = action_shell(&env, "Apply", &inputs, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let page = read_temp(&env, "summary.md");
    assert!(page.contains("**contactctl apply:** "), "{page}");
    if have("jq") {
        assert!(
            page.contains("<sub>Record: succeeded, exit 0; 2 calls made, 0 failed;"),
            "the report's summary on the run's page: {page}"
        );
    }
    let record = read_temp(&env, "contactctl/apply-report.jsonl");
    assert!(record.starts_with("{\"type\":\"header\""), "{record}");
    assert_eq!(
        env.contacts("web")["100"].custom_fields["firstName"].as_deref(),
        Some("Juan")
    );
    assert_eq!(env.find("viber", "email", "ana@example.com").len(), 1);

    // A refused token fails the step through the pipe into the summary.
    let out = action_shell(&env, "Apply", &inputs, &[("CONTACTS_WEB_TOKEN", "revoked")]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
}

/// An apply job's `--max-duration` leaves it a margin under the job's limit: room for installing
/// contactctl before the budget starts, for the contacts in flight at the budget to finish (a
/// call may wait out 429s for 10 minutes), and for the report.
fn assert_budget_below(budget_secs: u64, job_secs: u64) {
    assert!(
        budget_secs + 20 * 60 <= job_secs,
        "a budget of {budget_secs} s leaves a job of {job_secs} s no margin"
    );
}

#[test]
fn github_drift_check_passes_when_in_sync_and_fails_on_drift_or_error() {
    let wf = gh("contactctl-drift.yml");
    let cron = text(&wf["on"]["schedule"][0]["cron"]);
    assert_eq!(cron.split_whitespace().count(), 5, "{cron}");
    let with = gh_uses_the_action(&wf, "drift");
    assert!(
        with.get("changed-since").is_none(),
        "the drift check reads everything"
    );
    assert_eq!(
        contactctl_lines(text(&action_step("Check for drift")["run"])),
        [
            r#"contactctl plan "$CONTACTCTL_CONFIG" --detailed-exitcode --format json --out "$saved" "${extra[@]}""#,
            r#"contactctl show "$saved" --format markdown"#
        ]
    );
    assert_eq!(wf["permissions"]["issues"], "write", "the drift issue");
    drift_check(
        &|env, vars| action_shell(env, "Check for drift", &[("command", "drift")], vars),
        "runner-temp/contactctl/drift.json",
        "::error title=Contacts drifted::",
        "::error title=Drift check failed::",
    );
}

/// Runs a drift check in the sandbox's repo with extra variables.
type RunCheck<'a> = &'a dyn Fn(&Env, &[(&str, &str)]) -> Output;

/// Shared by GitHub and GitLab: in sync → 0; a hand edit → 2 naming the contact; a refused
/// token → 1. The plan lands in `drift_json` (relative to the repo).
fn drift_check(run: RunCheck<'_>, drift_json: &str, drift_says: &str, error_says: &str) {
    let env = setup();
    let summary = env.dir.path().join("summary.md");
    let summary_var = summary.to_str().unwrap();
    let vars = [("GITHUB_STEP_SUMMARY", summary_var)];
    assert_eq!(
        shell(&env, "contactctl apply contacts/ --auto-approve", &[])
            .status
            .code(),
        Some(0)
    );
    let out = run(&env, &vars);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(stdout(&out).contains("No drift"), "{}", show(&out));

    if !have("jq") {
        return skip("the drift report", "jq");
    }
    env.put_fields("100", &[("firstName", "Hand-edited")]);
    let out = run(&env, &vars);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let log = stdout(&out);
    assert!(log.contains(drift_says), "{log}");
    assert!(
        log.contains("(0 to create, 1 to update, 0 tags to add, 0 to remove)"),
        "{log}"
    );
    assert!(
        log.contains("web: ") && log.contains("email=juan@example.com"),
        "{log}"
    );
    assert!(log.contains("(update: firstName)"), "{log}");
    let drift: Value = serde_json::from_str(&read(&env, drift_json)).unwrap();
    assert_eq!(
        drift["summary"]["update"], 1,
        "the plan kept for the artifact"
    );

    let out = run(
        &env,
        &[
            ("GITHUB_STEP_SUMMARY", summary_var),
            ("CONTACTS_WEB_TOKEN", "revoked"),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(stdout(&out).contains(error_says), "{}", show(&out));
}

/// `setup()`'s repo committed in a git repository as applied (its drift apart), then a contact
/// added on web (zoe). The first commit's ID.
fn commit_then_add_zoe(env: &Env) -> String {
    env.git_init();
    let base = env.commit("the contacts");
    add_zoe(env);
    base
}

fn add_zoe(env: &Env) {
    add_contact(
        env,
        "  - fields: { email: zoe@example.com, firstName: Zoe }\n",
    );
}

/// A commit on top of HEAD that the branch does not hold (as after a force push).
fn other_branch(env: &Env) -> String {
    env.git(&[
        "commit-tree",
        "HEAD^{tree}",
        "-p",
        "HEAD",
        "-m",
        "elsewhere",
    ])
}

/// Reads (look-ups and gets) the sandbox received on both channels.
fn reads(env: &Env) -> u64 {
    env.reads("web") + env.reads("viber")
}

/// What "Find the base" left in `$GITHUB_ENV` for the next steps (its last line), and its log.
fn find_the_base(env: &Env, command: &str, changed_since: &str) -> (String, String) {
    let _ = std::fs::remove_file(runner_temp(env).join("env"));
    let out = action_shell(
        env,
        "Find the base",
        &[("command", command), ("changed-since", changed_since)],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let written = read_temp(env, "env");
    let value = written
        .lines()
        .last()
        .and_then(|l| l.strip_prefix("CONTACTCTL_CHANGED_SINCE_REF="))
        .unwrap_or_else(|| panic!("{written:?}"))
        .to_string();
    (value, stdout(&out))
}

#[test]
fn the_action_plans_and_applies_only_what_changed_since_the_base() {
    let env = setup();
    let base = commit_then_add_zoe(&env);

    // The pull request's plan: the base found, then only zoe read.
    let (found, _) = find_the_base(&env, "plan", &base);
    assert_eq!(found, base);
    let scope = [("CONTACTCTL_CHANGED_SINCE_REF", base.as_str())];
    let before = reads(&env);
    let out = action_shell(&env, "Plan", &[("command", "plan")], &scope);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(reads(&env) - before, 1, "zoe looked up, nothing else");
    let md = read_temp(&env, "contactctl/plan.md");
    assert!(
        md.starts_with("**contactctl plan:** 1 to create, 0 to update"),
        "{md}"
    );
    assert!(
        md.contains(&format!("2 contacts unchanged since `{base}`, not read.")),
        "{md}"
    );

    // The apply on merge: the same contact, read once, then created.
    let (found, _) = find_the_base(&env, "apply", &base);
    assert_eq!(found, base, "an ancestor of HEAD");
    let before = reads(&env);
    let out = action_shell(&env, "Apply", &[("command", "apply")], &scope);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(reads(&env) - before, 1);
    assert_eq!(env.find("web", "email", "zoe@example.com").len(), 1);
    assert_eq!(
        env.contacts("web")["100"].custom_fields["firstName"].as_deref(),
        Some("Juanito"),
        "juan's drift is not this change's: the nightly drift check reports it"
    );

    // No commit before the push (a new branch), or one the branch no longer contains (a force
    // push): everything.
    let (found, log) = find_the_base(&env, "apply", &"0".repeat(40));
    assert_eq!(found, "");
    assert!(
        log.contains("::notice title=contactctl::No commit before this one"),
        "{log}"
    );
    let (found, _) = find_the_base(&env, "plan", "");
    assert_eq!(found, "", "no input, no scope");
    let elsewhere = other_branch(&env);
    let (found, log) = find_the_base(&env, "apply", &elsewhere);
    assert_eq!(found, "");
    assert!(log.contains("is not an ancestor of this commit"), "{log}");
    let (found, _) = find_the_base(&env, "plan", &elsewhere);
    assert_eq!(found, elsewhere, "a plan compares with any commit");
}

#[test]
fn the_action_fetches_the_base_a_shallow_clone_lacks() {
    let env = setup();
    // The repository as GitHub holds it: the base, then zoe added.
    let origin = tempfile::tempdir().unwrap();
    let git = crate::support::git_in;
    let o = origin.path();
    git(o, &["init", "-q", "-b", "main"]);
    std::fs::create_dir_all(o.join("contacts")).unwrap();
    std::fs::copy(
        env.dir.path().join("contacts/contactctl.yaml"),
        o.join("contacts/contactctl.yaml"),
    )
    .unwrap();
    let commit = |message: &str| {
        git(o, &["add", "-A"]);
        git(
            o,
            &[
                "-c",
                "user.email=ci@example.com",
                "-c",
                "user.name=ci",
                "commit",
                "-q",
                "-m",
                message,
            ],
        );
        git(o, &["rev-parse", "HEAD"])
    };
    let base = commit("the contacts");
    let mut text = std::fs::read_to_string(o.join("contacts/contactctl.yaml")).unwrap();
    text.push_str("  - fields: { email: zoe@example.com, firstName: Zoe }\n");
    std::fs::write(o.join("contacts/contactctl.yaml"), text).unwrap();
    commit("zoe");
    // The runner's checkout: the last commit alone.
    let d = env.dir.path();
    git(d, &["init", "-q"]);
    git(
        d,
        &[
            "remote",
            "add",
            "origin",
            &format!("file://{}", o.display()),
        ],
    );
    git(
        d,
        &["fetch", "-q", "--no-tags", "--depth=1", "origin", "main"],
    );
    git(d, &["checkout", "-q", "-f", "FETCH_HEAD"]);
    assert_eq!(git(d, &["rev-parse", "--is-shallow-repository"]), "true");

    let (found, _) = find_the_base(&env, "plan", &base);
    assert_eq!(found, base);
    let before = reads(&env);
    let scope = [("CONTACTCTL_CHANGED_SINCE_REF", base.as_str())];
    let out = action_shell(&env, "Plan", &[("command", "plan")], &scope);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(reads(&env) - before, 1);
    // apply cannot tell the base is an ancestor without the history between: everything
    let (found, log) = find_the_base(&env, "apply", &base);
    assert_eq!(found, "");
    assert!(log.contains("fetch-depth: 0"), "{log}");
}

// ---------------------------------------------------------------------------------------------
// GitLab CI

/// The fake GitLab's answer to "who am I": the bot user 42.
fn mock_user(server: &httpmock::MockServer) {
    server.mock(|when, then| {
        when.method(httpmock::Method::GET)
            .path("/api/v4/user")
            .header("PRIVATE-TOKEN", "glpat-test");
        then.status(200).json_body(json!({ "id": 42 }));
    });
}

fn gitlab() -> Value {
    recipe("examples/ci/gitlab/.gitlab-ci.yml")
}

/// A job's `script`, as the runner runs it: the lines in one shell.
fn gl_script(ci: &Value, job: &str) -> String {
    let job = &ci[job];
    assert_eq!(job["extends"], ".contactctl", "installs contactctl first");
    job["script"]
        .as_array()
        .unwrap_or_else(|| panic!("{job} has no script"))
        .iter()
        .map(|l| text(l).to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

fn gl_rule(ci: &Value, job: &str) -> String {
    ci[job]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| text(&r["if"]).to_string())
        .collect::<Vec<_>>()
        .join(" || ")
}

#[test]
fn gitlab_has_the_three_jobs_with_their_triggers() {
    let ci = gitlab();
    let before = ci[".contactctl"]["before_script"].as_array().unwrap();
    assert!(
        before
            .iter()
            .any(|l| text(l).contains("cargo install --locked --git")),
        "{before:?}"
    );
    assert!(gl_rule(&ci, "contactctl-plan").contains("merge_request_event"));
    let apply = gl_rule(&ci, "contactctl-apply");
    assert!(
        apply.contains("$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH"),
        "{apply}"
    );
    assert!(ci["contactctl-apply"]["resource_group"].is_string());
    assert_eq!(
        ci["contactctl-apply"]["artifacts"]["paths"],
        json!(["apply-report.jsonl"])
    );
    assert_eq!(ci["contactctl-apply"]["artifacts"]["when"], "always");
    assert_eq!(
        gl_rule(&ci, "contactctl-drift"),
        "$CI_PIPELINE_SOURCE == \"schedule\""
    );

    assert_eq!(
        contactctl_lines(&gl_script(&ci, "contactctl-plan")),
        [
            r#"contactctl plan contacts/ --format markdown --out plan.json ${base:+--changed-since "$base"}"#
        ]
    );
    assert_eq!(
        contactctl_lines(&gl_script(&ci, "contactctl-apply")),
        [
            r#"contactctl apply contacts/ --auto-approve --max-duration 2h30m --report apply-report.jsonl ${base:+--changed-since "$base"}"#
        ]
    );
    assert_eq!(ci["contactctl-apply"]["variables"]["GIT_DEPTH"], "0");
    // a time budget a margin below the job's own limit (GitLab.com's hosted runners: 3 h)
    assert_eq!(ci["contactctl-apply"]["timeout"], "3h");
    assert_budget_below(2 * 3600 + 30 * 60, 3 * 3600);
    assert_eq!(
        contactctl_lines(&gl_script(&ci, "contactctl-drift")),
        ["contactctl plan contacts/ --detailed-exitcode --format json"]
    );
}

#[test]
fn gitlab_plan_posts_a_note_then_updates_it_in_place() {
    if !have("jq") || !have("curl") {
        return skip("the merge-request note", "jq or curl");
    }
    let script = gl_script(&gitlab(), "contactctl-plan");
    let env = setup();
    let notes = "/api/v4/projects/7/merge_requests/12/notes";

    let run = |server: &httpmock::MockServer| {
        let api = server.url("/api/v4");
        shell(
            &env,
            &script,
            &[
                ("CI_API_V4_URL", api.as_str()),
                ("CI_PROJECT_ID", "7"),
                ("CI_MERGE_REQUEST_IID", "12"),
                ("CI_COMMIT_SHORT_SHA", "0123456"),
                (
                    "CI_JOB_URL",
                    "https://gitlab.example/acme/contacts/-/jobs/99",
                ),
                ("GITLAB_API_TOKEN", "glpat-test"),
            ],
        )
    };

    // No note yet: one is created, led by the marker, holding the plan.
    let server = httpmock::MockServer::start();
    mock_user(&server);
    server.mock(|when, then| {
        when.method(httpmock::Method::GET).path(notes);
        then.status(200).json_body(json!([]));
    });
    let created = server.mock(|when, then| {
        when.method(httpmock::Method::POST)
            .path(notes)
            .header("PRIVATE-TOKEN", "glpat-test")
            .form_urlencoded_tuple_prefix(
                "body",
                format!("{MARKER}\n**contactctl plan:** 1 to create"),
            )
            .form_urlencoded_tuple_includes("body", "Planned at 0123456");
        then.status(201).json_body(json!({ "id": 77 }));
    });
    let out = run(&server);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(created.calls(), 1);

    // The bot's note exists (and a person's quoting the marker): the bot's is updated.
    let server = httpmock::MockServer::start();
    mock_user(&server);
    server.mock(|when, then| {
        when.method(httpmock::Method::GET).path(notes);
        then.status(200).json_body(json!([
            { "id": 5, "author": { "id": 1 }, "body": format!("{MARKER}\nquoted") },
            { "id": 6, "author": { "id": 42 }, "body": format!("{MARKER}\nolder plan") },
        ]));
    });
    let updated = server.mock(|when, then| {
        when.method(httpmock::Method::PUT)
            .path(format!("{notes}/6"))
            .form_urlencoded_tuple_prefix("body", MARKER);
        then.status(200).json_body(json!({ "id": 6 }));
    });
    let out = run(&server);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(updated.calls(), 1);

    // An invalid config: the note says the plan failed, and the job fails.
    std::fs::write(
        env.dir.path().join("contacts/contactctl.yaml"),
        "version: 1\nbogus: 1\n",
    )
    .unwrap();
    let server = httpmock::MockServer::start();
    mock_user(&server);
    server.mock(|when, then| {
        when.method(httpmock::Method::GET).path(notes);
        then.status(200).json_body(json!([]));
    });
    let failed = server.mock(|when, then| {
        when.method(httpmock::Method::POST)
            .path(notes)
            .form_urlencoded_tuple_includes("body", "**contactctl plan failed**");
        then.status(201).json_body(json!({ "id": 78 }));
    });
    let out = run(&server);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert_eq!(failed.calls(), 1);
}

#[test]
fn gitlab_apply_applies_and_fails_on_a_refused_token() {
    let script = gl_script(&gitlab(), "contactctl-apply");
    let env = setup();
    let out = shell(&env, &script, &[("CONTACTS_VIBER_TOKEN", "revoked")]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let out = shell(&env, &script, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(
        env.contacts("web")["100"].custom_fields["firstName"].as_deref(),
        Some("Juan")
    );
}

/// The GitLab apply job for a push to main, the fake jobs API answering with `successes`
/// (commit, job id) as this job's successful runs, newest first, among a plan job's.
fn gl_apply(env: &Env, successes: &[(&str, u64)], source: &str) -> Output {
    let script = gl_script(&gitlab(), "contactctl-apply");
    let server = httpmock::MockServer::start();
    let mut jobs: Vec<Value> = vec![json!({ "name": "contactctl-plan", "ref": "main",
        "commit": { "id": "f".repeat(40) }, "web_url": "https://gitlab.example/j/1" })];
    jobs.extend(successes.iter().map(|(sha, id)| {
        json!({ "name": "contactctl-apply", "ref": "main", "commit": { "id": sha },
                "web_url": format!("https://gitlab.example/acme/contacts/-/jobs/{id}") })
    }));
    let listed = server.mock(|when, then| {
        when.method(httpmock::Method::GET)
            .path("/api/v4/projects/7/jobs")
            .query_param("scope[]", "success")
            .header("PRIVATE-TOKEN", "glpat-test");
        then.status(200).json_body(Value::Array(jobs));
    });
    let api = server.url("/api/v4");
    let out = shell(
        env,
        &script,
        &[
            ("CI_API_V4_URL", api.as_str()),
            ("CI_PROJECT_ID", "7"),
            ("CI_JOB_NAME", "contactctl-apply"),
            ("CI_COMMIT_BRANCH", "main"),
            ("CI_PIPELINE_SOURCE", source),
            ("GITLAB_API_TOKEN", "glpat-test"),
        ],
    );
    assert_eq!(listed.calls(), usize::from(source == "push"));
    out
}

#[test]
fn gitlab_applies_since_the_last_success_what_a_failed_pipeline_left() {
    if !have("jq") || !have("curl") {
        return skip("finding the last successful apply", "jq or curl");
    }
    let env = setup();
    env.git_init();
    // Push 1: no success known: everything.
    let first = env.commit("the contacts");
    let out = gl_apply(&env, &[], "push");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        stdout(&out).contains("Applying every contact: no successful apply on main"),
        "{}",
        show(&out)
    );
    assert!(read(&env, "apply-report.jsonl").starts_with("{\"type\":\"header\""));
    // Push 2 (zoe): its pipeline fails before the apply. Push 3 (yan): from push 1's commit.
    add_zoe(&env);
    env.commit("zoe");
    add_contact(
        &env,
        "  - channel: viber\n    fields: { email: yan@example.com, firstName: Yan }\n",
    );
    env.commit("yan");
    let before = reads(&env);
    let out = gl_apply(&env, &[(first.as_str(), 11)], "push");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        stdout(&out).contains(&format!("Applying the contacts changed since {first}: the commit of job https://gitlab.example/acme/contacts/-/jobs/11, the last successful apply on main.")),
        "{}",
        show(&out)
    );
    assert_eq!(reads(&env) - before, 2, "zoe and yan");
    let out = shell(&env, "contactctl plan contacts/ --detailed-exitcode", &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "the platform matches main: {}",
        show(&out)
    );

    // A success this commit lacks (a force push) is passed over; a run by hand: everything.
    let elsewhere = other_branch(&env);
    let before = reads(&env);
    let out = gl_apply(&env, &[(elsewhere.as_str(), 12)], "push");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(reads(&env) - before, 4, "every contact");
    let out = gl_apply(&env, &[(first.as_str(), 11)], "web");
    assert!(
        stdout(&out).contains("Applying every contact: a run by hand"),
        "{}",
        show(&out)
    );
}

#[test]
fn gitlab_plans_only_what_the_merge_request_changes() {
    if !have("jq") || !have("curl") {
        return skip("the merge-request note", "jq or curl");
    }
    let script = gl_script(&gitlab(), "contactctl-plan");
    let env = setup();
    let base = commit_then_add_zoe(&env);
    let server = httpmock::MockServer::start();
    mock_user(&server);
    server.mock(|when, then| {
        when.method(httpmock::Method::GET)
            .path("/api/v4/projects/7/merge_requests/12/notes");
        then.status(200).json_body(json!([]));
    });
    let posted = server.mock(|when, then| {
        when.method(httpmock::Method::POST)
            .path("/api/v4/projects/7/merge_requests/12/notes")
            .form_urlencoded_tuple_includes(
                "body",
                format!("2 contacts unchanged since `{base}`, not read."),
            );
        then.status(201).json_body(json!({ "id": 77 }));
    });
    let api = server.url("/api/v4");
    let out = shell(
        &env,
        &script,
        &[
            ("CI_API_V4_URL", api.as_str()),
            ("CI_PROJECT_ID", "7"),
            ("CI_MERGE_REQUEST_IID", "12"),
            ("CI_MERGE_REQUEST_DIFF_BASE_SHA", base.as_str()),
            ("CI_COMMIT_SHORT_SHA", "0123456"),
            (
                "CI_JOB_URL",
                "https://gitlab.example/acme/contacts/-/jobs/99",
            ),
            ("GITLAB_API_TOKEN", "glpat-test"),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(reads(&env), 1, "zoe alone");
    assert_eq!(posted.calls(), 1);
}

#[test]
fn gitlab_drift_check_passes_when_in_sync_and_fails_on_drift_or_error() {
    let script = gl_script(&gitlab(), "contactctl-drift");
    drift_check(
        &|env, vars| shell(env, &script, vars),
        "drift.json",
        "ERROR: contacts drifted",
        "ERROR: the drift check failed",
    );
}

#[test]
fn every_recipe_file_is_covered_here() {
    let mut files = vec![];
    for dir in ["examples/ci/github", "examples/ci/gitlab"] {
        for e in std::fs::read_dir(root().join(dir)).unwrap() {
            files.push(format!(
                "{dir}/{}",
                e.unwrap().file_name().to_string_lossy()
            ));
        }
    }
    files.sort();
    files.push("action.yml".into());
    assert_eq!(
        files,
        [
            "examples/ci/github/contactctl-apply.yml",
            "examples/ci/github/contactctl-drift.yml",
            "examples/ci/github/contactctl-plan.yml",
            "examples/ci/gitlab/.gitlab-ci.yml",
            "action.yml",
        ],
        "a new recipe needs its test here"
    );
}

// ---------------------------------------------------------------------------------------------
// Apply loses nothing: `changed-since: last-success` scopes to the last commit applied with
// exit 0, found through a fake GitHub API, in a real git repository.

const RUNS_PATH: &str = "/repos/acme/contacts/actions/workflows/contactctl-apply.yml/runs";

/// A push to main as the runner sees it, the fake API's successful runs of the workflow being
/// `successes` (head commit, run number), newest first: "Find the base" then "Apply". The base
/// found, and the log of both steps.
fn apply_run(
    env: &Env,
    server: &httpmock::MockServer,
    successes: &[(&str, u64)],
    event: &str,
) -> (String, String, Output) {
    let runs: Vec<Value> = successes
        .iter()
        .map(|(sha, n)| {
            json!({ "head_sha": sha, "run_number": n, "conclusion": "success",
                    "html_url": format!("https://github.com/acme/contacts/actions/runs/{n}") })
        })
        .collect();
    let mut mock = server.mock(|when, then| {
        when.method(httpmock::Method::GET)
            .path(RUNS_PATH)
            .query_param("branch", "main")
            .query_param("status", "success")
            .header("authorization", "Bearer ghs-test");
        then.status(200)
            .json_body(json!({ "total_count": runs.len(), "workflow_runs": runs }));
    });
    let api = server.base_url();
    let vars = [
        ("GITHUB_API_URL", api.as_str()),
        ("GITHUB_REPOSITORY", "acme/contacts"),
        (
            "GITHUB_WORKFLOW_REF",
            "acme/contacts/.github/workflows/contactctl-apply.yml@refs/heads/main",
        ),
        ("GITHUB_REF_NAME", "main"),
        ("GITHUB_EVENT_NAME", event),
    ];
    let inputs = [
        ("command", "apply"),
        ("changed-since", "last-success"),
        ("github-token", "ghs-test"),
    ];
    let _ = std::fs::remove_file(runner_temp(env).join("env"));
    let found = action_shell(env, "Find the base", &inputs, &vars);
    assert_eq!(found.status.code(), Some(0), "{}", show(&found));
    if event == "push" {
        assert_eq!(mock.calls(), 1, "one call to list the runs");
    }
    mock.delete();
    let base = read_temp(env, "env")
        .lines()
        .last()
        .and_then(|l| l.strip_prefix("CONTACTCTL_CHANGED_SINCE_REF="))
        .unwrap()
        .to_string();
    let scope = [("CONTACTCTL_CHANGED_SINCE_REF", base.as_str())];
    let applied = action_shell(env, "Apply", &inputs, &scope);
    (base, stdout(&found), applied)
}

/// Append a contact (its YAML lines) to the config.
fn add_contact(env: &Env, line: &str) {
    let path = env.dir.path().join("contacts/contactctl.yaml");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str(line);
    std::fs::write(&path, text).unwrap();
}

#[test]
fn github_apply_since_the_last_success_applies_what_a_cancelled_run_left() {
    if !have("jq") || !have("curl") {
        return skip("finding the last successful apply", "jq or curl");
    }
    let env = setup();
    env.git_init();
    let server = httpmock::MockServer::start();

    // Push 1: no successful run yet: everything.
    let first = env.commit("the contacts");
    let (base, log, out) = apply_run(&env, &server, &[], "push");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(base, "");
    assert!(
        log.contains("Applying every contact: no successful apply on main"),
        "{log}"
    );
    assert!(read_temp(&env, "summary.md").contains("Applying every contact"));

    // Push 2 (zoe): its run is cancelled while it waits its turn; it applies nothing.
    add_contact(
        &env,
        "  - fields: { email: zoe@example.com, firstName: Zoe }\n",
    );
    env.commit("zoe");
    // Push 3 (yan, on Viber): the last success is still run 1, at push 1.
    add_contact(
        &env,
        "  - channel: viber\n    fields: { email: yan@example.com, firstName: Yan }\n",
    );
    env.commit("yan");
    let before = reads(&env);
    let (base, log, out) = apply_run(&env, &server, &[(first.as_str(), 1)], "push");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(
        base, first,
        "run 1's commit, not the commit before this push"
    );
    assert!(
        log.contains(&format!(
            "Applying the contacts changed since {first}: the head commit of run #1 (https://github.com/acme/contacts/actions/runs/1), the last successful apply on main."
        )),
        "{log}"
    );
    assert_eq!(reads(&env) - before, 2, "zoe and yan, read once each");
    assert_eq!(env.find("web", "email", "zoe@example.com").len(), 1);
    assert_eq!(env.find("viber", "email", "yan@example.com").len(), 1);
    // The platform matches main.
    let out = shell(&env, "contactctl plan contacts/ --detailed-exitcode", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));

    // A success whose commit this one lacks (a force push) is passed over; none left: all.
    let elsewhere = other_branch(&env);
    let (base, log, _) = apply_run(&env, &server, &[(elsewhere.as_str(), 4)], "push");
    assert_eq!(base, "");
    assert!(
        log.contains("no successful apply on main whose commit"),
        "{log}"
    );
    let head = env.git(&["rev-parse", "HEAD"]);
    let (base, _, _) = apply_run(
        &env,
        &server,
        &[(elsewhere.as_str(), 4), (head.as_str(), 3)],
        "push",
    );
    assert_eq!(base, head, "the newest one this commit contains");
    // A run by hand applies everything, without asking the API.
    let (base, log, _) = apply_run(&env, &server, &[(head.as_str(), 3)], "workflow_dispatch");
    assert_eq!(base, "");
    assert!(log.contains("a run by hand applies every contact"), "{log}");
}

#[test]
fn github_apply_applies_everything_when_the_runs_cannot_be_listed() {
    if !have("jq") || !have("curl") {
        return skip("finding the last successful apply", "jq or curl");
    }
    let env = setup();
    env.git_init();
    env.commit("the contacts");
    let server = httpmock::MockServer::start();
    server.mock(|when, then| {
        when.path(RUNS_PATH);
        then.status(403)
            .json_body(json!({ "message": "Resource not accessible by integration" }));
    });
    let api = server.base_url();
    let out = action_shell(
        &env,
        "Find the base",
        &[
            ("command", "apply"),
            ("changed-since", "last-success"),
            ("github-token", "ghs-test"),
        ],
        &[
            ("GITHUB_API_URL", api.as_str()),
            ("GITHUB_REPOSITORY", "acme/contacts"),
            (
                "GITHUB_WORKFLOW_REF",
                "acme/contacts/.github/workflows/contactctl-apply.yml@refs/heads/main",
            ),
            ("GITHUB_REF_NAME", "main"),
            ("GITHUB_EVENT_NAME", "push"),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        stdout(&out).contains("::warning title=contactctl::this workflow's runs could not be listed (the job needs permissions: actions: read): every contact is applied."),
        "{}",
        show(&out)
    );
    assert_eq!(read_temp(&env, "env"), "CONTACTCTL_CHANGED_SINCE_REF=\n");
}

// ---------------------------------------------------------------------------------------------
// The drift issue: the action's "Check for drift" step against the sandbox, then its github-script
// step (action/drift.js) under node against a fake GitHub whose state persists between runs.

/// Run the github-script step `name` — the text of its script, as github-script runs it — with
/// its `env:` as the runner expands it for `inputs`, against the fake GitHub kept in `state`.
fn script_step(env: &Env, name: &str, state: &Path, inputs: &[(&str, &str)]) -> Output {
    let step = action_step(name);
    assert!(text(&step["uses"]).starts_with("actions/github-script@"));
    let temp = runner_temp(env);
    let script = env.dir.path().join("step-script.js");
    std::fs::write(&script, text(&step["with"]["script"])).unwrap();
    let mut node = Command::new("node");
    node.arg(root().join("tests/it/js/run_script.js"))
        .arg(&script)
        .arg(state)
        .current_dir(env.dir.path());
    let mut all = vec![("command", "drift")];
    all.extend_from_slice(inputs);
    for (k, v) in step["env"].as_object().unwrap() {
        node.env(k, expand(text(v), &all, &temp));
    }
    let out = node.output().unwrap();
    assert!(out.status.success(), "{}", show(&out));
    out
}

/// The step "Keep the drift issue" (see [`script_step`]).
fn drift_issue(env: &Env, state: &Path, inputs: &[(&str, &str)]) -> Output {
    script_step(env, "Keep the drift issue", state, inputs)
}

fn github_state(state: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(state).unwrap_or_else(|_| "{}".into())).unwrap()
}

fn calls_named(state: &Value, name: &str) -> usize {
    state["calls"]
        .as_array()
        .map_or(0, |c| c.iter().filter(|c| c["call"] == name).count())
}

#[test]
fn drift_js_unit_tests_pass_under_node() {
    if !have("node") {
        return skip(
            "the action scripts' unit tests (action/drift.test.js, action/adopt.test.js)",
            "node",
        );
    }
    let out = Command::new("node")
        .args(["--test", "action/"])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    assert!(stdout(&out).contains("# fail 0"), "{}", show(&out));
}

#[test]
fn github_drift_issue_is_opened_updated_left_alone_without_a_plan_then_closed() {
    if !have("node") {
        return skip("the drift issue script", "node");
    }
    let env = setup();
    let state = env.dir.path().join("github-state.json");
    let check = |vars: &[(&str, &str)]| {
        action_shell(&env, "Check for drift", &[("command", "drift")], vars)
    };
    let apply = || shell(&env, "contactctl apply contacts/ --auto-approve", &[]);
    assert_eq!(apply().status.code(), Some(0));

    // In sync, no issue: nothing to do.
    assert_eq!(check(&[]).status.code(), Some(0));
    let out = drift_issue(&env, &state, &[]);
    assert!(
        stdout(&out).contains(r#"drift issue: {"action":"none"}"#),
        "{}",
        show(&out)
    );
    assert!(
        github_state(&state)["issues"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // A hand edit: the first drift opens one issue, labelled (the label created), with the plan.
    env.put_fields("100", &[("firstName", "Hand-edited")]);
    assert_eq!(check(&[]).status.code(), Some(2));
    let out = drift_issue(&env, &state, &[]);
    assert!(
        stdout(&out).contains(r#""action":"opened""#),
        "{}",
        show(&out)
    );
    let gh = github_state(&state);
    assert_eq!(gh["labels"][0]["name"], "contactctl-drift");
    let issues = gh["issues"].as_array().unwrap();
    assert_eq!(issues.len(), 1);
    assert_eq!(issues[0]["labels"][0]["name"], "contactctl-drift");
    let body = text(&issues[0]["body"]);
    assert!(
        body.starts_with("<!-- contactctl-drift -->\n**The platform no longer matches `contacts/`:** 0 to create, 1 to update"),
        "summary first: {body}"
    );
    for needle in [
        "`contactctl apply contacts/`",
        "`contactctl adopt contacts/`",
        "**contactctl plan:** 0 to create, 1 to update",
        "Hand-edited",
        "[Job log and full plan (artifact contactctl-drift)](https://github.com/acme/contacts/actions/runs/4242)",
    ] {
        assert!(body.contains(needle), "{needle}: {body}");
    }

    // Later drift (zoe added to the repo, not applied): the same issue, body replaced, and a
    // comment with what changed.
    add_zoe(&env);
    assert_eq!(check(&[]).status.code(), Some(2));
    let out = drift_issue(&env, &state, &[]);
    assert!(
        stdout(&out).contains(r#""action":"updated","number":1"#),
        "{}",
        show(&out)
    );
    let gh = github_state(&state);
    assert_eq!(
        gh["issues"].as_array().unwrap().len(),
        1,
        "never a second issue"
    );
    let body = text(&gh["issues"][0]["body"]);
    assert!(body.contains(":** 1 to create, 1 to update"), "{body}");
    assert_eq!(gh["comments"].as_array().unwrap().len(), 1);
    assert_eq!(
        text(&gh["comments"][0]["body"]),
        "Since the last check: 1 to create (was 0). [Run](https://github.com/acme/contacts/actions/runs/4242)"
    );
    assert_eq!(
        calls_named(&gh, "issues.createLabel"),
        1,
        "the label exists now"
    );

    // One channel's token refused: a plan of the other; the issue lists the contacts that could
    // not be checked, and the step fails.
    let out = check(&[("CONTACTS_VIBER_TOKEN", "revoked")]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    drift_issue(&env, &state, &[]);
    let gh = github_state(&state);
    let body = text(&gh["issues"][0]["body"]);
    assert!(
        body.contains("**1 contact(s) could not be checked** (the job fails):"),
        "{body}"
    );
    assert!(
        body.contains("- viber: `email=ana@example.com`: channel viber: the API refused the token"),
        "{body}"
    );

    // No plan at all (every token refused; then an invalid config): the step fails, the issue
    // is left as it was.
    let before = (gh["issues"].clone(), gh["comments"].clone());
    let out = check(&[
        ("CONTACTS_WEB_TOKEN", "revoked"),
        ("CONTACTS_VIBER_TOKEN", "revoked"),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let out = drift_issue(&env, &state, &[]);
    assert!(
        stdout(&out).contains("the drift issue is left as it was"),
        "{}",
        show(&out)
    );
    let config = env.dir.path().join("contacts/contactctl.yaml");
    let good = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, "version: 1\nbogus: 1\n").unwrap();
    assert_eq!(check(&[]).status.code(), Some(1));
    drift_issue(&env, &state, &[]);
    std::fs::write(&config, good).unwrap();
    let gh = github_state(&state);
    assert_eq!((gh["issues"].clone(), gh["comments"].clone()), before);

    // Applied: the next check finds no drift, comments and closes the issue.
    assert_eq!(apply().status.code(), Some(0));
    assert_eq!(check(&[]).status.code(), Some(0));
    let out = drift_issue(&env, &state, &[]);
    assert!(
        stdout(&out).contains(r#""action":"closed","number":1"#),
        "{}",
        show(&out)
    );
    let gh = github_state(&state);
    assert_eq!(gh["issues"][0]["state"], "closed");
    assert!(
        text(&gh["comments"][2]["body"])
            .starts_with("No drift at 0123456: the platform matches `contacts/` again."),
        "{}",
        gh["comments"]
    );

    // Turned off: the step does not run.
    let cond = text(&action_step("Keep the drift issue")["if"]).to_string();
    assert!(cond.contains("inputs.drift-issue == 'true'"), "{cond}");
    assert!(cond.contains("!cancelled()"), "{cond}");
}

#[test]
fn github_drift_issue_takes_the_label_input() {
    if !have("node") {
        return skip("the drift issue script", "node");
    }
    let env = setup();
    let state = env.dir.path().join("github-state.json");
    // juan is drifted from the start
    let out = action_shell(&env, "Check for drift", &[("command", "drift")], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    drift_issue(&env, &state, &[("drift-label", "contacts-drift")]);
    let gh = github_state(&state);
    assert_eq!(gh["labels"][0]["name"], "contacts-drift");
    assert_eq!(gh["issues"][0]["labels"][0]["name"], "contacts-drift");
}

// ---------------------------------------------------------------------------------------------
// The adopt pull request: the action's "Adopt" step in a real git repository pushing to a bare
// "origin", running the real `contactctl adopt` against the sandbox, then its github-script steps
// under node against the fake GitHub.

/// The "Adopt" step then "Keep the adopt pull request" then "Keep the drift issue", after a
/// "Check for drift". The Adopt step's output.
fn adopt_run(env: &Env, state: &Path) -> Output {
    let check = action_shell(env, "Check for drift", &[("command", "drift")], &[]);
    assert!(
        matches!(check.status.code(), Some(0 | 2)),
        "{}",
        show(&check)
    );
    let server = format!("file://{}", env.dir.path().display());
    let inputs = [
        ("command", "drift"),
        ("adopt-pull-request", "true"),
        ("adopt-token", "ghs-adopt-secret"),
    ];
    let out = action_shell(
        env,
        "Adopt",
        &inputs,
        &[
            ("GITHUB_SERVER_URL", server.as_str()),
            ("GITHUB_REPOSITORY", "origin"),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        !format!("{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr))
            .contains("ghs-adopt-secret"),
        "the token is never printed"
    );
    // the github-script steps, as the runner runs them
    script_step(env, "Keep the adopt pull request", state, &inputs);
    drift_issue(env, state, &inputs);
    out
}

/// The commits of `branch` in the bare origin on top of main, and its config.
fn origin_branch(env: &Env, branch: &str) -> (String, String) {
    let origin = env.dir.path().join("origin.git");
    let count = crate::support::git_in(
        &origin,
        &["rev-list", "--count", &format!("main..{branch}")],
    );
    let config = crate::support::git_in(
        &origin,
        &["show", &format!("{branch}:contacts/contactctl.yaml")],
    );
    (count, config)
}

#[test]
fn github_adopt_pull_request_is_opened_updated_then_closed() {
    if !have("node") {
        return skip("the adopt pull request scripts", "node");
    }
    let env = setup();
    let state = env.dir.path().join("github-state.json");
    // bea's and bee's first name is one value shared through a YAML anchor: adopt refuses it
    let config = env.dir.path().join("contacts/contactctl.yaml");
    let mut yaml = std::fs::read_to_string(&config).unwrap();
    yaml.push_str(
        "  - fields: { email: bea@example.com, firstName: &first Bea }\n  - fields: { email: bee@example.com, firstName: *first }\n",
    );
    std::fs::write(&config, yaml).unwrap();
    assert_eq!(
        shell(&env, "contactctl apply contacts/ --auto-approve", &[])
            .status
            .code(),
        Some(0)
    );
    env.git_init();
    env.commit("the contacts");
    let origin = env.dir.path().join("origin.git");
    crate::support::git_in(
        env.dir.path(),
        &["init", "-q", "--bare", origin.to_str().unwrap()],
    );
    env.git(&["push", "-q", origin.to_str().unwrap(), "main"]);
    let bea = env.find("web", "email", "bea@example.com");
    assert_eq!(bea.len(), 1);
    env.put_fields(&bea[0].id, &[("firstName", "Beatriz")]);
    let refused = "- web: `email=bea@example.com`: refused (contacts/contactctl.yaml:15:57): this value is shared through a YAML anchor or alias (& / *): adopting it for this contact would change the others too; edit it by hand";
    let summary = "\n\nAdopted 1 contact: 1 field, 0 tags in 1 file; 1 could not be adopted.\n";

    // First drift: the real adopt edits juan (bea refused, exit 1), the branch pushed, one pull
    // request opened with adopt's summary line and diff; the refused contact and the pull
    // request are named in the drift issue.
    env.put_fields("100", &[("firstName", "Hand-edited")]);
    adopt_run(&env, &state);
    let (count, config) = origin_branch(&env, "contactctl/adopt");
    assert_eq!(count, "1");
    assert!(config.contains("firstName: Hand-edited }"), "{config}");
    assert!(
        config.contains("firstName: &first Bea }"),
        "refused, left: {config}"
    );
    let gh = github_state(&state);
    let pulls = gh["pulls"].as_array().unwrap();
    assert_eq!(pulls.len(), 1);
    assert_eq!(pulls[0]["head"], "contactctl/adopt");
    assert_eq!(pulls[0]["base"], "main");
    let body = text(&pulls[0]["body"]);
    assert!(body.contains(summary), "{body}");
    assert!(
        body.contains("```diff\n--- contacts/contactctl.yaml\n+++ contacts/contactctl.yaml\n@@ "),
        "{body}"
    );
    assert!(
        body.contains("\n-  - fields: { email: juan@example.com, firstName: Juan }\n+  - fields: { email: juan@example.com, firstName: Hand-edited }\n"),
        "{body}"
    );
    assert!(
        body.contains("1 contact(s) not adopted (listed in the drift issue)."),
        "{body}"
    );
    let issue = text(&gh["issues"][0]["body"]);
    assert!(issue.contains("The adopt pull request is #"), "{issue}");
    assert!(issue.contains(refused), "{issue}");

    // The next night (a fresh checkout of main), another hand edit: the branch force-updated
    // (still one commit on main), the same pull request updated.
    env.git(&["checkout", "-q", "-f", "main"]);
    env.put_fields("100", &[("firstName", "Juanjo")]);
    adopt_run(&env, &state);
    let (count, config) = origin_branch(&env, "contactctl/adopt");
    assert_eq!(count, "1", "force-updated, not stacked");
    assert!(config.contains("firstName: Juanjo }"), "{config}");
    let gh = github_state(&state);
    assert_eq!(gh["pulls"].as_array().unwrap().len(), 1, "one pull request");
    let body = text(&gh["pulls"][0]["body"]);
    assert!(body.contains("firstName: Juanjo }"), "{body}");
    assert!(body.contains(summary), "{body}");
    assert_eq!(calls_named(&gh, "pulls.update"), 1);
    assert!(text(&gh["issues"][0]["body"]).contains(refused));

    // The platform follows the repo again: nothing to adopt, the pull request is closed.
    env.git(&["checkout", "-q", "-f", "main"]);
    assert_eq!(
        shell(&env, "contactctl apply contacts/ --auto-approve", &[])
            .status
            .code(),
        Some(0)
    );
    adopt_run(&env, &state);
    let gh = github_state(&state);
    assert_eq!(gh["pulls"][0]["state"], "closed");
    assert!(
        gh["comments"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| text(&c["body"]).starts_with("Nothing left to adopt"))
    );
}

#[test]
fn github_adopt_needs_its_token() {
    let env = setup();
    let out = action_shell(
        &env,
        "Adopt",
        &[("command", "drift"), ("adopt-pull-request", "true")],
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        stdout(&out).contains("adopt-pull-request needs adopt-token"),
        "{}",
        show(&out)
    );
    let cond = text(&action_step("Adopt")["if"]).to_string();
    assert!(
        cond.contains("inputs.adopt-pull-request == 'true'"),
        "off by default: {cond}"
    );
    assert_eq!(
        recipe("action.yml")["inputs"]["adopt-pull-request"]["default"],
        "false"
    );
}
