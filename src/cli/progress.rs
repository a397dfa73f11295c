//! Progress of a run on stderr, read from `ops::progress::Tracker` (calls done and left per
//! channel, reads included, and the time left as each channel's rate limiter foresees it — never
//! extrapolated from elapsed time): on a terminal an indicatif bar per channel; elsewhere (a CI
//! log) plain lines, at most every 30 seconds and once at the end, and only for a run long
//! enough to wonder about (one foreseen to take 30 s or more, or running that long). A run that
//! ends within a second shows nothing.

use std::collections::BTreeMap;
use std::future::Future;
use std::io::IsTerminal;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use crate::api::HttpClient;
use crate::model::Config;
use crate::ops::progress::{ChannelProgress, Tracker};
use crate::render::human_duration;

/// How often the display is brought up to date (the time left moves while calls wait).
const REFRESH: Duration = Duration::from_millis(500);
/// Bars appear only for a run still going after this: a quick run does not flash one.
const BAR_AFTER: Duration = Duration::from_secs(1);
/// Plain lines: at most one round every this long, and none for a run shorter than this.
const LINE_EVERY: Duration = Duration::from_secs(30);

/// Progress of one command's run.
pub struct Progress<'a> {
    tracker: Tracker<'a, HttpClient>,
    command: &'static str,
    terminal: bool,
    started: Instant,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// The bars on a terminal, by channel, once shown.
    bars: Option<(MultiProgress, BTreeMap<String, ProgressBar>)>,
    /// When plain lines were last printed (none yet: `None`).
    last_lines: Option<Instant>,
}

impl<'a> Progress<'a> {
    /// Progress of `command` (`plan`, `apply`) through `clients`. Bars only on a terminal and
    /// without `-v`, whose log lines would tear them.
    pub fn new(
        clients: &'a BTreeMap<String, HttpClient>,
        config: &Config,
        command: &'static str,
        verbose: bool,
    ) -> Self {
        Progress {
            tracker: Tracker::new(clients, config),
            command,
            terminal: std::io::stderr().is_terminal() && !verbose,
            started: Instant::now(),
            state: Mutex::new(State::default()),
        }
    }

    /// What the display reads from; feed it the run's events.
    pub fn tracker(&self) -> &Tracker<'a, HttpClient> {
        &self.tracker
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Run `work`, bringing the display up to date every half second while it runs.
    pub async fn drive<T>(&self, work: impl Future<Output = T>) -> T {
        tokio::pin!(work);
        let mut tick = tokio::time::interval(REFRESH);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                // the end is shown by `finish`
                out = &mut work => return out,
                _ = tick.tick() => self.refresh(),
            }
        }
    }

    fn refresh(&self) {
        let channels = self.tracker.snapshot();
        let mut state = self.lock();
        if self.terminal {
            if self.started.elapsed() >= BAR_AFTER {
                self.draw(&mut state, &channels);
            }
            return;
        }
        let due = match state.last_lines {
            Some(at) => at.elapsed() >= LINE_EVERY,
            // a long run says so at once; any run says where it stands after 30 s
            None => {
                self.started.elapsed() >= LINE_EVERY
                    || channels.iter().any(|c| c.time_left >= LINE_EVERY)
            }
        };
        if due {
            state.last_lines = Some(Instant::now());
            self.print_lines(&channels);
        }
    }

    fn draw(&self, state: &mut State, channels: &[ChannelProgress]) {
        let (multi, bars) = state
            .bars
            .get_or_insert_with(|| (MultiProgress::new(), BTreeMap::new()));
        let width = channels.iter().map(|c| c.channel.len()).max().unwrap_or(0);
        for c in channels {
            let bar = bars.entry(c.channel.clone()).or_insert_with(|| {
                let bar = multi.add(ProgressBar::new(0));
                if let Ok(style) = ProgressStyle::with_template(
                    "{spinner} {prefix} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}",
                ) {
                    bar.set_style(style);
                }
                bar.set_prefix(format!("{} {:width$}", self.command, c.channel));
                bar.enable_steady_tick(Duration::from_millis(200));
                bar
            });
            bar.set_length(c.total as u64);
            bar.set_position(c.done as u64);
            bar.set_message(bar_message(c));
        }
    }

    fn print_lines(&self, channels: &[ChannelProgress]) {
        for c in channels {
            eprintln!("{}: {}", self.command, line(c));
        }
    }

    /// A part of the run is over (the reads of the plan, or the whole run): bars off the
    /// terminal (the plan or the report is printed next; they come back with the next
    /// [`Progress::drive`]); plain lines once more, if any were printed.
    pub fn finish(&self) {
        let (bars, printed) = {
            let mut state = self.lock();
            (state.bars.take(), state.last_lines.is_some())
        };
        if let Some((_, bars)) = bars {
            for bar in bars.values() {
                bar.finish_and_clear();
            }
        }
        if !self.terminal && printed {
            self.print_lines(&self.tracker.snapshot());
        }
    }
}

/// What the progress says of a channel the platform keeps answering 429: its limiter's
/// foresight means nothing then, so not a time left but how long it has waited so far.
fn waiting(throttled: Duration) -> String {
    let so_far = human_duration(throttled.as_secs());
    format!(
        "waiting for the platform's rate limit (429) for {} so far",
        so_far.trim_start_matches('~')
    )
}

/// What a bar says after its counts: `reads, 37 left, ~1m for the reads` or `calls, 73 left,
/// ~2m 30s left` (or, while the platform answers 429, how long it has been waiting).
fn bar_message(c: &ChannelProgress) -> String {
    let time = human_duration(c.time_left.as_secs());
    if let Some(throttled) = c.throttled {
        let what = if c.writes_known { "calls" } else { "reads" };
        format!("{what}, {} left, {}", c.left(), waiting(throttled))
    } else if !c.writes_known {
        format!("reads, {} left, {time} for the reads", c.left())
    } else if c.left() == 0 {
        "calls, done".to_string()
    } else {
        format!("calls, {} left, {time} left", c.left())
    }
}

/// A plain line about a channel: `web: 17/90 calls done, 73 left, ~2m left`, or `..., 73 left,
/// waiting for the platform's rate limit (429) for 3m 10s so far`.
fn line(c: &ChannelProgress) -> String {
    let what = if c.writes_known { "calls" } else { "reads" };
    if c.left() == 0 {
        return format!("{}: {}/{} {what} done", c.channel, c.done, c.total);
    }
    if let Some(throttled) = c.throttled {
        return format!(
            "{}: {}/{} {what} done, {} left, {}",
            c.channel,
            c.done,
            c.total,
            c.left(),
            waiting(throttled)
        );
    }
    let after = if c.writes_known {
        ""
    } else {
        " for the reads, then the plan"
    };
    format!(
        "{}: {}/{} {what} done, {} left, {} left{after}",
        c.channel,
        c.done,
        c.total,
        c.left(),
        human_duration(c.time_left.as_secs())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(done: usize, total: usize, writes_known: bool, secs: u64) -> ChannelProgress {
        ChannelProgress {
            channel: "web".into(),
            done,
            total,
            writes_known,
            time_left: Duration::from_secs(secs),
            throttled: None,
        }
    }

    #[test]
    fn plain_lines_say_calls_done_and_left_and_the_time_left() {
        assert_eq!(
            line(&at(120, 10_000, false, 5_880)),
            "web: 120/10000 reads done, 9880 left, ~1h 38m left for the reads, then the plan"
        );
        assert_eq!(
            line(&at(17, 90, true, 150)),
            "web: 17/90 calls done, 73 left, ~2m 30s left"
        );
        assert_eq!(line(&at(90, 90, true, 0)), "web: 90/90 calls done");
        assert_eq!(
            bar_message(&at(17, 90, true, 60)),
            "calls, 73 left, ~1m left"
        );
        assert_eq!(
            bar_message(&at(3, 40, false, 60)),
            "reads, 37 left, ~1m for the reads"
        );
    }

    #[test]
    fn a_channel_answering_429_says_how_long_it_has_waited_not_a_time_left() {
        let throttled = |done, total, writes_known| ChannelProgress {
            throttled: Some(Duration::from_secs(190)),
            ..at(done, total, writes_known, 0)
        };
        assert_eq!(
            line(&throttled(17, 90, true)),
            "web: 17/90 calls done, 73 left, waiting for the platform's rate limit (429) for 3m 10s so far"
        );
        assert_eq!(
            bar_message(&throttled(3, 40, false)),
            "reads, 37 left, waiting for the platform's rate limit (429) for 3m 10s so far"
        );
    }
}
