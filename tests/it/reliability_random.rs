//! Seeded fault-injection schedules, in-process and on a virtual clock: for each seed, a random
//! config and platform state (keys in other spellings, unmanaged fields and tags, contacts past
//! the 30-field and 10-tag limits, Viber IDs, orphans) and one fault class of the sandbox's knobs
//! at a random strength. Apply once under the faults, once without; then the platform equals
//! the config, no contact is duplicated, nothing unmanaged changed, a third plan is empty, and
//! the first apply's report named exactly the contacts it did not finish.
//!
//! A failure prints its seed and config; rerun one seed with `REL_SEED=<seed>`. Totals are
//! printed as `FIGURES ...` lines (`cargo test --test it reliability_random:: -- --nocapture`).

use crate::support::reliability::*;
use crate::support::{start_sandbox, wire};
use contactctl::api::wire::WireContact;
use contactctl::sandbox::{Faults, RandomFaults, SandboxState};

/// Schedules per fault class (9 classes: 450 schedules).
const SEEDS_PER_CLASS: u64 = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Random5xx,
    Timeouts,
    DroppedCreates,
    Storm429RetryAfter,
    Storm429Bare,
    Unauthorized,
    Slow,
    Resets,
    Mixed,
}

/// A generated schedule: config text, platform seed and faults.
struct Schedule {
    yaml: String,
    web: Vec<WireContact>,
    viber: Vec<WireContact>,
    faults: Faults,
    rate: u32,
}

const NAMES: [&str; 8] = [
    "Ana",
    "Zoë",
    "李小龙",
    "O'Brien",
    "Ana María",
    "  spaced  ",
    "x: y # not a comment",
    "Ñandú 🐦",
];

fn pick<'a>(rng: &mut fastrand::Rng, items: &[&'a str]) -> &'a str {
    items[rng.usize(..items.len())]
}

fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

/// A random subset of `items`.
fn subset<'a>(rng: &mut fastrand::Rng, items: &[&'a str]) -> Vec<&'a str> {
    let p = rng.f64();
    items.iter().copied().filter(|_| rng.f64() < p).collect()
}

fn faults(class: Class, rng: &mut fastrand::Rng, seed: u64) -> Faults {
    let p = |rng: &mut fastrand::Rng, lo: f64, hi: f64| lo + rng.f64() * (hi - lo);
    let random = |r: RandomFaults| Some(RandomFaults { seed, ..r });
    match class {
        Class::Random5xx => Faults {
            random: random(RandomFaults {
                p_500: p(rng, 0.05, 0.35),
                ..RandomFaults::default()
            }),
            ..Faults::default()
        },
        Class::Timeouts => Faults {
            random: random(RandomFaults {
                p_slow: p(rng, 0.05, 0.3),
                slow_ms: TIMEOUT.as_millis() as u64 + 1_000,
                ..RandomFaults::default()
            }),
            ..Faults::default()
        },
        Class::DroppedCreates => Faults {
            random: random(RandomFaults {
                p_drop_create: p(rng, 0.2, 0.8),
                ..RandomFaults::default()
            }),
            ..Faults::default()
        },
        Class::Storm429RetryAfter | Class::Storm429Bare => {
            let retry_after_secs = (class == Class::Storm429RetryAfter).then(|| rng.u64(0..=3));
            if rng.bool() {
                Faults {
                    throttle_every: Some(rng.u64(2..=4)),
                    retry_after_secs,
                    ..Faults::default()
                }
            } else {
                Faults {
                    retry_after_secs,
                    random: random(RandomFaults {
                        p_429: p(rng, 0.3, 0.7),
                        ..RandomFaults::default()
                    }),
                    ..Faults::default()
                }
            }
        }
        Class::Unauthorized => Faults {
            unauthorized_after: Some(rng.u64(0..40)),
            ..Faults::default()
        },
        Class::Slow => Faults {
            latency_ms: rng.u64(100..1_500),
            ..Faults::default()
        },
        Class::Resets => Faults {
            random: random(RandomFaults {
                p_reset: p(rng, 0.05, 0.35),
                ..RandomFaults::default()
            }),
            ..Faults::default()
        },
        Class::Mixed => Faults {
            latency_ms: rng.u64(0..300),
            retry_after_secs: rng.bool().then(|| rng.u64(0..=2)),
            random: random(RandomFaults {
                p_500: p(rng, 0.0, 0.15),
                p_reset: p(rng, 0.0, 0.15),
                p_drop_create: p(rng, 0.0, 0.5),
                p_429: p(rng, 0.0, 0.2),
                p_slow: p(rng, 0.0, 0.1),
                slow_ms: TIMEOUT.as_millis() as u64 + 500,
                seed: 0,
            }),
            ..Faults::default()
        },
    }
}

/// The config's contacts and the platform they meet, from `seed`.
fn schedule(class: Class, seed: u64, base_url: &str) -> Schedule {
    let mut rng = fastrand::Rng::with_seed(seed ^ 0x5eed_0000 ^ ((class as u64) << 40));
    let marker = rng.u8(..) < 90;
    // Tight limits sometimes: the limiter must hold under retries too.
    let rate = if rng.u8(..) < 40 {
        rng.u32(15..40)
    } else {
        10_000
    };
    let mut yaml = config_header(base_url, rate, marker);
    yaml.push_str("contacts:\n");
    let (mut web, mut viber) = (Vec::new(), Vec::new());
    let n = rng.usize(1..=14);
    for i in 0..n {
        let on_viber = rng.u8(..) < 50;
        let channel = if on_viber { "viber" } else { "web" };
        let exists = rng.bool();
        let by_id = exists && rng.u8(..) < 64;
        let by_phone = !by_id && rng.u8(..) < 40;
        let email = format!("c{i}.s{seed}@ex.com");
        let phone = format!("+34 600 {:03} {i:03}", seed % 1000);
        let id = if on_viber {
            format!("Vb{i}+k/{seed}==")
        } else {
            format!("{}", 5_000_000 + i)
        };

        let mut fields: Vec<(String, Option<String>)> = Vec::new();
        if !by_id && !by_phone {
            fields.push(("email".into(), Some(email.clone())));
        }
        if by_phone {
            fields.push(("phone".into(), Some(phone.clone())));
        }
        let r = rng.u8(..);
        if r < 150 {
            fields.push(("firstName".into(), Some(pick(&mut rng, &NAMES).into())));
        } else if r < 175 {
            fields.push(("firstName".into(), None));
        }
        if rng.u8(..) < 100 {
            let v = if rng.bool() { "true" } else { "false" };
            fields.push(("vip".into(), Some(v.into())));
        }
        if rng.u8(..) < 80 {
            let v = ["7", "007", "1e3", "42.50"][rng.usize(..4)];
            fields.push(("customerid".into(), Some(v.into())));
        }
        let r = rng.u8(..);
        if r < 70 {
            fields.push(("city".into(), Some(pick(&mut rng, &NAMES).into())));
        } else if r < 100 {
            fields.push(("city".into(), None));
        }
        if rng.u8(..) < 25 {
            for b in 1..=BULK_FIELDS {
                fields.push((format!("b{b:02}"), Some(format!("v{b}-{}", rng.u8(..4)))));
            }
        }
        let tags: Option<Vec<&str>> = match rng.u8(..) {
            0..70 => None,
            70..100 => Some(TAGS.to_vec()),
            _ => Some(subset(&mut rng, &TAGS)),
        };

        yaml.push_str(&format!("  - channel: {channel}\n"));
        if by_id {
            yaml.push_str(&format!("    id: {}\n", q(&id)));
        }
        if by_phone {
            yaml.push_str("    key: phone\n");
        }
        let body: Vec<String> = fields
            .iter()
            .map(|(k, v)| format!("{k}: {}", v.as_deref().map_or("null".into(), q)))
            .collect();
        yaml.push_str(&format!("    fields: {{ {} }}\n", body.join(", ")));
        if let Some(t) = &tags {
            yaml.push_str(&format!("    tags: [{}]\n", t.join(", ")));
        }

        if exists {
            let mut f: Vec<(String, String)> = Vec::new();
            // the key as the platform may hold it: another case, or the normalised phone
            let stored_email = if rng.bool() {
                email.to_uppercase()
            } else {
                email.clone()
            };
            if !by_phone || rng.bool() {
                f.push(("email".into(), stored_email));
            }
            if by_phone || rng.bool() {
                let stored = if rng.bool() {
                    phone.replace(' ', "")
                } else {
                    phone.clone()
                };
                f.push(("phone".into(), stored));
            }
            for (name, values) in [
                ("firstName", &["Ana", "Old", "Zoë"][..]),
                ("vip", &["TRUE", "false", "False"][..]),
                ("customerid", &["7", "1000", "8"][..]),
                ("city", &["Lima", "Ana"][..]),
            ] {
                if rng.bool() {
                    f.push((name.into(), pick(&mut rng, values).into()));
                }
            }
            for u in UNMANAGED_FIELDS {
                if rng.bool() {
                    f.push((u.into(), format!("{u}-{i}")));
                }
            }
            if marker && rng.bool() {
                f.push(("managed_by".into(), "git".into()));
            }
            let mut t = subset(&mut rng, &TAGS);
            t.extend(subset(&mut rng, &UNMANAGED_TAGS));
            let fields: Vec<(&str, &str)> =
                f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let c = wire(&id, &fields, &t);
            if on_viber {
                viber.push(c);
            } else {
                web.push(c);
            }
        }
    }
    // Contacts the config does not name (some marked: orphans): never touched without --prune.
    for (channel, list) in [("web", &mut web), ("viber", &mut viber)] {
        for j in 0..rng.usize(0..=3) {
            let email = format!("other{j}.s{seed}@ex.com");
            let mut f = vec![("email", email.as_str()), ("locale", "fr")];
            if marker && rng.bool() {
                f.push(("managed_by", "git"));
            }
            let mut t = subset(&mut rng, &TAGS);
            t.extend(subset(&mut rng, &UNMANAGED_TAGS));
            list.push(wire(&format!("{channel}-other-{j}"), &f, &t));
        }
    }
    Schedule {
        yaml,
        web,
        viber,
        faults: faults(class, &mut rng, seed),
        rate,
    }
}

/// Totals of one class's schedules.
#[derive(Debug, Default)]
struct Figures {
    schedules: u64,
    faults: u64,
    rate_limited: u64,
    contacts_checked: u64,
    duplicates: u64,
    first_apply_failures: u64,
    requests: u64,
}

/// Run one schedule; the problems found (empty: all guarantees held).
fn run_schedule(class: Class, seed: u64, figures: &mut Figures) -> Result<(), String> {
    virtual_time(async {
        // The base URL is only known once the sandbox runs, and the sandbox needs the seed.
        let placeholder = "http://127.0.0.1:1/api";
        let sched = schedule(class, seed, placeholder);
        let sandbox = start_sandbox(
            sched.web.clone(),
            sched.viber.clone(),
            sched.rate,
            Faults::default(),
        )
        .await;
        let yaml = sched.yaml.replace(placeholder, &sandbox.base_url());
        let dir = tempfile::tempdir().unwrap();
        let (_, config) = load_config(dir.path(), &yaml);
        let seed_state: SandboxState = sandbox.snapshot();
        let limiters = limiters(&config);
        let fail = |what: &str, problems: &[String]| {
            Err(format!(
                "class {class:?} seed {seed}: {what}:\n  {}\nfaults: {:?}\nconfig:\n{yaml}",
                problems.join("\n  "),
                sched.faults
            ))
        };

        // 1. Apply under the faults; every other seed with an impatient client (one retry, 5 s
        //    of 429s at most), so that first applies fail part of the way more often.
        sandbox.set_faults(sched.faults.clone());
        let mut options = client_options();
        if seed % 2 == 1 {
            options.max_retries = 1;
            options.max_429_wait = std::time::Duration::from_secs(5);
        }
        let first = run_apply_with(&config, &sandbox, &limiters, &options).await;
        let stats = sandbox.stats();
        figures.faults += faults_injected(&stats);
        if sched.faults.latency_ms > 0 {
            // every request of the first apply was slowed
            figures.faults += stats.total;
        }
        sandbox.set_faults(Faults::default());
        let problems = check_report(&first);
        if !problems.is_empty() {
            return fail("first report", &problems);
        }
        let done = done_indices(&config, &first);
        let after_first = sandbox.snapshot();
        let c = check_platform(&config, &seed_state, &after_first, false, &|i| {
            done.contains(&i)
        });
        figures.duplicates += c.duplicates as u64;
        figures.contacts_checked += c.contacts as u64;
        if !c.problems.is_empty() {
            return fail("after the first apply", &c.problems);
        }
        if !first.succeeded() {
            figures.first_apply_failures += 1;
        }

        // 2. Apply again, faults gone: everything finishes.
        let second = run_apply(&config, &sandbox, &limiters).await;
        let mut problems = check_report(&second);
        if !second.succeeded() {
            problems.push(format!("second apply failed: {:?}", second.outcomes));
        }
        let c = check_platform(&config, &seed_state, &sandbox.snapshot(), true, &|_| true);
        figures.duplicates += c.duplicates as u64;
        figures.contacts_checked += c.contacts as u64;
        problems.extend(c.problems);

        // 3. Converged: nothing left to plan.
        let clients = clients(&config, &sandbox, &limiters, &client_options());
        let third = read_and_plan(&config, &clients).await;
        if third.has_changes() || third.summary.errors > 0 {
            problems.push(format!("third plan not empty: {:?}", third.summary));
        }
        let stats = sandbox.stats();
        figures.rate_limited += rate_limited(&stats);
        if rate_limited(&stats) > 0 {
            problems.push(format!("the sandbox's limiter answered 429: {stats:?}"));
        }
        figures.requests += stats.total;
        figures.schedules += 1;
        if problems.is_empty() {
            Ok(())
        } else {
            fail("after the second apply", &problems)
        }
    })
}

fn run_class(class: Class) {
    let seeds: Vec<u64> = match std::env::var("REL_SEED") {
        Ok(s) => vec![s.parse().unwrap()],
        Err(_) => (0..SEEDS_PER_CLASS).collect(),
    };
    let mut figures = Figures::default();
    let mut failures = Vec::new();
    for seed in seeds {
        if let Err(e) = run_schedule(class, seed, &mut figures) {
            failures.push(e);
        }
    }
    println!(
        "FIGURES class={class:?} schedules={} faults_injected={} contacts_checked={} duplicates={} limiter_429s={} first_applies_with_failures={} requests={}",
        figures.schedules,
        figures.faults,
        figures.contacts_checked,
        figures.duplicates,
        figures.rate_limited,
        figures.first_apply_failures,
        figures.requests
    );
    assert!(
        failures.is_empty(),
        "{} schedule(s) failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    assert_eq!(figures.duplicates, 0);
}

#[test]
fn random_5xx() {
    run_class(Class::Random5xx);
}

#[test]
fn timeouts_after_the_server_acted() {
    run_class(Class::Timeouts);
}

#[test]
fn dropped_create_responses() {
    run_class(Class::DroppedCreates);
}

#[test]
fn storms_of_429_with_retry_after() {
    run_class(Class::Storm429RetryAfter);
}

#[test]
fn storms_of_429_without_retry_after() {
    run_class(Class::Storm429Bare);
}

#[test]
fn a_token_revoked_mid_run() {
    run_class(Class::Unauthorized);
}

#[test]
fn slow_responses() {
    run_class(Class::Slow);
}

#[test]
fn connection_resets() {
    run_class(Class::Resets);
}

#[test]
fn every_fault_at_once() {
    run_class(Class::Mixed);
}
