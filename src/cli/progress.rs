//! Progress of apply on stderr: an indicatif bar on a terminal, plain lines otherwise.

use std::io::IsTerminal;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Runs with fewer calls finish too fast for plain progress lines to help.
const PLAIN_PROGRESS_MIN_CALLS: u64 = 50;

/// Progress on stderr: a bar with time left on a terminal, a plain line every ~10% otherwise.
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
    total: u64,
    done: std::sync::atomic::AtomicU64,
    started: Instant,
    last_line: std::sync::Mutex<Instant>,
}

impl Progress {
    pub fn new(total: u64) -> Self {
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

    pub fn inc(&self) {
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

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
