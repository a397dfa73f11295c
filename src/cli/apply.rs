//! `contactctl apply`: plan (or load a saved plan and prove it still holds), check safety, ask,
//! execute with progress and Ctrl-C handling, report.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::bail;

use super::common::{Exit, Output};
use super::plan::print_plan;
use super::{ApplyArgs, Format};
use crate::apply::{ApplyEvent, ApplyOptions, ApplyReport, apply};
use crate::ops::plan::make_plan;
use crate::ops::saved::{load_saved, stale_contacts};
use crate::ops::session::prepare;
use crate::plan::Plan;
use crate::render;

pub async fn run(args: ApplyArgs, out: &Output) -> anyhow::Result<Exit> {
    // As Terraform: the plan comes first, and only changes need a yes. An up-to-date repo applies
    // (doing nothing) without a terminal; a plan saved with `plan --out` was the reviewed one,
    // so applying it asks nothing either.
    let saved = args.plan.as_deref().map(load_saved).transpose()?;
    let reviewed = saved.is_some();
    let mut target = args.target.clone();
    if let Some(saved) = &saved {
        if !target.channels.is_empty() || !target.contacts.is_empty() {
            bail!(
                "--channel and --contact cannot be combined with --plan: the saved plan already says what it covers"
            );
        }
        target.channels = saved.channels.clone();
        target.contacts = saved.contacts.clone();
    }
    let session = prepare(&target, out).await?;

    let plan = match saved {
        Some(saved) => {
            if saved.config_hash != session.config.hash {
                bail!(
                    "the config at {} changed since the plan was saved; nothing was written. Run `contactctl plan --out` again.",
                    target.path.display()
                );
            }
            let fresh = make_plan(&session, saved.plan.prune).await;
            let stale = stale_contacts(&saved.plan, &fresh);
            if !stale.is_empty() {
                bail!(
                    "the platform changed since the plan was saved, so it no longer holds; nothing was written (--force does not override this). Changed: {}. Run `contactctl plan --out` again.",
                    stale.join(", ")
                );
            }
            saved.plan
        }
        None => make_plan(&session, args.prune).await,
    };

    if out.format != Format::Json {
        print_plan(&plan, out)?;
    }
    if !plan.has_changes() {
        if out.format == Format::Json {
            let report = apply(
                plan.clone(),
                &session.config,
                &session.clients,
                ApplyOptions::default(),
                &AtomicBool::new(false),
                &|_| {},
            )
            .await;
            print_report(&report, out)?;
        }
        return Ok(if plan.summary.errors > 0 {
            Exit::Error
        } else {
            Exit::Ok
        });
    }
    if plan.is_unsafe() && !args.force {
        if out.format == Format::Json {
            for w in &plan.warnings {
                out.note(w);
            }
        }
        bail!(
            "refusing to apply: more contacts would change than the safety limit allows (see the warning above); no call was made. Review the plan, then pass --force to apply it."
        );
    }
    if !args.auto_approve && !reviewed {
        confirm(&plan, out)?;
    }

    let interrupted = Arc::new(AtomicBool::new(false));
    {
        let interrupted = interrupted.clone();
        let cancel = session.cancel.clone();
        tokio::spawn(async move {
            if interrupt_signal().await.is_err() {
                return;
            }
            interrupted.store(true, Ordering::SeqCst);
            cancel.cancel();
            eprintln!(
                "\nInterrupted: no new calls are started; finishing the calls in flight and reporting. Interrupt again to stop at once."
            );
            // The handler stays installed, so without this a second Ctrl-C would do nothing
            // while calls in flight wait out their timeout.
            if interrupt_signal().await.is_ok() {
                eprintln!(
                    "Interrupted again: stopping now, without a report. Calls in flight may or may not have taken effect; run contactctl apply again (it looks contacts up before creating them)."
                );
                std::process::exit(Exit::Error as i32);
            }
        });
    }
    let before = session.requests_sent();
    let progress = Progress::new(plan.summary.api_calls as u64);
    let mut report = apply(
        plan,
        &session.config,
        &session.clients,
        ApplyOptions::default(),
        interrupted.as_ref(),
        &|e| {
            if let ApplyEvent::CallDone { .. } = e {
                progress.inc();
            }
        },
    )
    .await;
    progress.finish();
    report.requests_sent = (session.requests_sent() - before) as usize;
    print_report(&report, out)?;
    Ok(if report.succeeded() {
        Exit::Ok
    } else {
        Exit::Error
    })
}

/// Ctrl-C (SIGINT) or, on Unix, SIGTERM: what CI runners send when a job is cancelled.
async fn interrupt_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    if let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
    {
        return tokio::select! {
            r = tokio::signal::ctrl_c() => r,
            _ = term.recv() => Ok(()),
        };
    }
    tokio::signal::ctrl_c().await
}

fn confirm(plan: &Plan, out: &Output) -> anyhow::Result<()> {
    if !std::io::stdin().is_terminal() {
        bail!(
            "refusing to apply without confirmation: standard input is not a terminal, and the plan above has changes; nothing was written. Pass --auto-approve to apply non-interactively, or save the reviewed plan with `contactctl plan --out FILE` and apply it with --plan FILE."
        );
    }
    let mut err = std::io::stderr();
    let _ = write!(
        err,
        "\nDo you want to make these {} API call{}? Only 'yes' will be accepted: ",
        plan.summary.api_calls,
        if plan.summary.api_calls == 1 { "" } else { "s" }
    );
    let _ = err.flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if answer.trim() != "yes" {
        out.note("Apply cancelled; nothing was written.");
        bail!("apply cancelled");
    }
    Ok(())
}

fn print_report(report: &ApplyReport, out: &Output) -> anyhow::Result<()> {
    out.stdout(|w| match out.format {
        Format::Text => render::text::report(report, w, out.color),
        Format::Markdown => render::markdown::report(report, w),
        Format::Json => render::json::report(report, w),
    })
}

/// Runs with fewer calls finish too fast for plain progress lines to help.
const PLAIN_PROGRESS_MIN_CALLS: u64 = 50;

/// Progress on stderr: a bar with time left on a terminal, a plain line every ~10% otherwise.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    total: u64,
    done: std::sync::atomic::AtomicU64,
    started: Instant,
    last_line: std::sync::Mutex<Instant>,
}

impl Progress {
    fn new(total: u64) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(total);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} calls, ~{eta} left",
            ) {
                bar.set_style(style);
            }
            bar
        });
        let now = Instant::now();
        Progress {
            bar,
            total,
            done: 0.into(),
            started: now,
            last_line: std::sync::Mutex::new(now),
        }
    }

    fn inc(&self) {
        let done = self.done.fetch_add(1, Ordering::SeqCst) + 1;
        if let Some(bar) = &self.bar {
            bar.inc(1);
            return;
        }
        // Plain lines only for runs long enough to wonder about: each tenth, or every 10 s.
        if self.total < PLAIN_PROGRESS_MIN_CALLS || done == self.total {
            return;
        }
        let step = (self.total / 10).max(1);
        let Ok(mut last) = self.last_line.lock() else {
            return;
        };
        if done.is_multiple_of(step) || last.elapsed() >= Duration::from_secs(10) {
            *last = Instant::now();
            let elapsed = self.started.elapsed().as_secs_f64();
            let left = elapsed / done as f64 * (self.total.saturating_sub(done)) as f64;
            eprintln!(
                "apply: {done}/{} calls ({}%), about {}s left",
                self.total,
                done * 100 / self.total.max(1),
                left.round() as u64
            );
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
