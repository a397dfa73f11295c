//! Where a run stands, per channel: calls done and calls left — its reads and its writes — and
//! the time left as the channel's rate limiter foresees it (the slots it holds, those coming
//! free, then a window at a time: the arithmetic of `plan::estimated_seconds`), never extrapolated
//! from elapsed time, which a sliding window makes meaningless (a window's calls go in a second,
//! then nothing for a minute), and whether the platform is refusing the channel's calls (429)
//! and since when. Fed by the reader's and the engine's events; read by displays.
//! Knows nothing of terminals.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use crate::api::ContactsApi;
use crate::apply::{ApplyEvent, Outcome};
use crate::model::{Config, DEFAULT_RATE_LIMIT};
use crate::plan::{Plan, estimated_seconds};
use crate::read::ReadEvent;

/// Where one channel stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelProgress {
    /// Channel name.
    pub channel: String,
    /// Reads and writes ended.
    pub done: usize,
    /// Reads and writes in all, as now known (the writes once the plan is known).
    pub total: usize,
    /// Whether the writes are known yet (false: the run is still reading to plan).
    pub writes_known: bool,
    /// Until the last call left could have ended, as the rate limiter foresees it.
    pub time_left: Duration,
    /// How long the channel has been answering only 429 (waiting for the platform's rate limit),
    /// when it is: then the limiter's foresight says nothing of when the run ends.
    pub throttled: Option<Duration>,
}

impl ChannelProgress {
    /// Calls not ended yet.
    pub fn left(&self) -> usize {
        self.total.saturating_sub(self.done)
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    reads: usize,
    reads_done: usize,
    writes: usize,
    writes_done: usize,
    writes_known: bool,
}

impl Counts {
    fn left(&self) -> usize {
        self.reads.saturating_sub(self.reads_done) + self.writes.saturating_sub(self.writes_done)
    }
}

/// Counts a run's calls per channel from its events, and foresees the time left.
pub struct Tracker<'a, C> {
    clients: &'a BTreeMap<String, C>,
    /// Each channel's rate limit, for a client that cannot foresee (an in-memory fake).
    limits: BTreeMap<String, u32>,
    counts: Mutex<BTreeMap<String, Counts>>,
}

impl<'a, C: ContactsApi> Tracker<'a, C> {
    /// A tracker for a run through `clients` (one per channel) of `config`.
    pub fn new(clients: &'a BTreeMap<String, C>, config: &Config) -> Self {
        Tracker {
            clients,
            limits: config
                .channels
                .iter()
                .map(|(name, c)| (name.clone(), c.rate_limit))
                .collect(),
            counts: Mutex::new(BTreeMap::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Counts>> {
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What the reader says: how many reads a channel takes, and each read ended.
    pub fn on_read(&self, event: &ReadEvent) {
        let mut counts = self.lock();
        match event {
            ReadEvent::Planned { channel, reads } => {
                counts.entry(channel.clone()).or_default().reads = *reads;
            }
            ReadEvent::CallDone { channel } => {
                counts.entry(channel.clone()).or_default().reads_done += 1;
            }
        }
    }

    /// The plan is known: its calls are the writes left.
    pub fn expect_writes(&self, plan: &Plan) {
        let mut counts = self.lock();
        for c in counts.values_mut() {
            c.writes_known = true;
        }
        for ch in &plan.channels {
            let c = counts.entry(ch.channel.clone()).or_default();
            c.writes = ch.api_calls;
            c.writes_known = true;
        }
    }

    /// What the engine says: each call ended, and the calls a contact will not make (it failed,
    /// or was not started).
    pub fn on_apply(&self, event: &ApplyEvent) {
        let mut counts = self.lock();
        match event {
            ApplyEvent::CallDone { channel, .. } => {
                counts.entry(channel.clone()).or_default().writes_done += 1;
            }
            ApplyEvent::ContactDone {
                channel, outcome, ..
            } => {
                let not_made = match outcome.outcome {
                    // the failing call was made (and counted); the ones after it are not
                    Outcome::Failed => outcome.calls_planned.saturating_sub(outcome.calls_done + 1),
                    Outcome::NotRun => outcome.calls_planned,
                    Outcome::Done | Outcome::NoChange | Outcome::PlanError => 0,
                };
                let c = counts.entry(channel.clone()).or_default();
                c.writes = c.writes.saturating_sub(not_made);
            }
        }
    }

    /// Where each channel stands now, in name order.
    pub fn snapshot(&self) -> Vec<ChannelProgress> {
        let counts = self.lock().clone();
        counts
            .into_iter()
            .map(|(channel, c)| ChannelProgress {
                time_left: self.time_left_of(&channel, c.left()),
                throttled: (c.left() > 0)
                    .then(|| self.clients.get(&channel).and_then(|c| c.throttled_for()))
                    .flatten(),
                done: c.reads_done + c.writes_done,
                total: (c.reads + c.writes).max(c.reads_done + c.writes_done),
                writes_known: c.writes_known,
                channel,
            })
            .collect()
    }

    /// The time left for the whole run: its slowest channel (channels run in parallel).
    pub fn time_left(&self) -> Duration {
        self.snapshot()
            .iter()
            .map(|c| c.time_left)
            .max()
            .unwrap_or_default()
    }

    /// How long `left` calls of `channel` that have not ended take: by its limiter's forecast,
    /// or, for a client that cannot foresee, by the plan's estimate at its rate limit.
    fn time_left_of(&self, channel: &str, left: usize) -> Duration {
        if left == 0 {
            return Duration::ZERO;
        }
        match self.clients.get(channel).and_then(|c| c.forecast(left)) {
            Some(f) => f.finish(),
            None => {
                let limit = self
                    .limits
                    .get(channel)
                    .copied()
                    .unwrap_or(DEFAULT_RATE_LIMIT);
                Duration::from_secs(estimated_seconds(left, limit))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::RateLimiter;
    use crate::testing::fake::FakeApi;

    /// A channel without contacts, paced by a real limiter of `limit` calls a minute, which
    /// foresees with it.
    fn paced(channel: &str, limit: u32) -> FakeApi {
        FakeApi::new(channel, Vec::new()).paced_by(RateLimiter::new(limit))
    }

    fn config() -> Config {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("contactctl.yaml");
        std::fs::write(
            &path,
            "version: 1\nchannels:\n  web: { base_url: http://127.0.0.1/api, token_env: T, rate_limit: 20 }\n  wa: { base_url: http://127.0.0.1/api, token_env: U, rate_limit: 100 }\nfields: { email: { type: email } }\ndefaults: { channel: web, key: email }\n",
        )
        .unwrap();
        crate::config::load(&path).unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn at_the_start_the_time_left_is_the_plans_estimate_for_the_same_calls() {
        let config = config();
        for (web_reads, web_writes, wa_calls) in [
            (0, 0, 0),
            (1, 0, 0),
            (20, 0, 1),
            (20, 40, 500),
            (40, 41, 100),
            (1_000, 30_000, 10_000),
        ] {
            let clients: BTreeMap<String, FakeApi> = [
                ("web".to_string(), paced("web", 20)),
                ("wa".to_string(), paced("wa", 100)),
            ]
            .into();
            let tracker = Tracker::new(&clients, &config);
            tracker.on_read(&ReadEvent::Planned {
                channel: "web".into(),
                reads: web_reads,
            });
            tracker.on_read(&ReadEvent::Planned {
                channel: "wa".into(),
                reads: 0,
            });
            let mut plan = crate::plan::plan(&config, Default::default(), Default::default());
            plan.channels = ["web", "wa"]
                .iter()
                .zip([web_writes, wa_calls])
                .map(|(name, calls)| crate::plan::ChannelSummary {
                    channel: name.to_string(),
                    api_calls: calls,
                    reads: 0,
                    skipped: 0,
                    rate_limit: 0,
                    estimated_seconds: 0,
                    existing: 0,
                    pruned: 0,
                    changing: 0,
                    unsafe_change: false,
                })
                .collect();
            tracker.expect_writes(&plan);
            let plans =
                estimated_seconds(web_reads + web_writes, 20).max(estimated_seconds(wa_calls, 100));
            assert_eq!(
                tracker.time_left(),
                Duration::from_secs(plans),
                "{web_reads} + {web_writes}, {wa_calls}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_channel_answering_429_is_shown_waiting_while_it_has_calls_left() {
        let config = config();
        let clients: BTreeMap<String, FakeApi> = [
            (
                "web".to_string(),
                paced("web", 20).throttled_for(Duration::from_secs(190)),
            ),
            ("wa".to_string(), paced("wa", 100)),
        ]
        .into();
        let tracker = Tracker::new(&clients, &config);
        for channel in ["web", "wa"] {
            tracker.on_read(&ReadEvent::Planned {
                channel: channel.into(),
                reads: 3,
            });
        }
        let throttled = |t: &Tracker<'_, FakeApi>| {
            t.snapshot()
                .into_iter()
                .map(|c| (c.channel, c.throttled))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            throttled(&tracker),
            vec![
                ("wa".to_string(), None),
                ("web".to_string(), Some(Duration::from_secs(190)))
            ]
        );
        // once nothing is left, nothing is waited for
        for _ in 0..3 {
            tracker.on_read(&ReadEvent::CallDone {
                channel: "web".into(),
            });
        }
        assert_eq!(throttled(&tracker)[1], ("web".to_string(), None));
    }
}
