//! The per-channel rate limiter: never more than `limit` calls in ANY window of 60 seconds, and
//! no slower than that. The platform counts a call at some moment between its send and its
//! answer, so each call holds one of `limit` slots from the moment it may be sent until 60 s
//! (plus a margin) after it ended (answered, failed, or given up on): then no 60 s window of the
//! platform's can ever hold more than `limit` calls, however long each call took. A caller gets
//! the earliest slot that keeps this, under a mutex (so concurrent callers get distinct slots),
//! then sleeps until it. Knows nothing of HTTP, retries or channels' names.
//!
//! It also answers, by arithmetic over the same state, when calls not yet made would go
//! ([`RateLimiter::forecast`]): the slots free now, then those coming free at their known
//! times, then each slot again a window after its last use — the model of
//! `plan::estimated_seconds`, started from what the limiter holds instead of from nothing. A
//! run's time budget and its progress read their "time left" from here, never from elapsed time.
//!
//! Not a token bucket / GCRA (`governor`): with a full burst those allow about twice the limit
//! inside one window, which is exactly what a server counting a sliding window refuses.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::{Instant, sleep_until};

/// The window the API's rate limit is counted over.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Added to the window so a call does not reach the server a hair before the call `limit`
/// places earlier has left the server's own window (clock granularity, the server's own delays).
pub const DEFAULT_MARGIN: Duration = Duration::from_millis(100);

/// Calls to keep in flight at once on a channel of this rate limit (calls a minute), for reads
/// and writes alike: `limit / 12`, at least 4 and at most 64.
///
/// Why: a window's worth of calls (`limit`) should go out in a small part of the window, or the
/// client, not the limit, sets the pace. With `k` calls in flight of ~0.4 s each, `limit` calls
/// take `limit × 0.4 / k` seconds; `k = limit / 12` sends them in ~5 s of the 60. At the
/// documented 100 a minute that is 8 (a handful: the platform sees a small burst); below 48 a
/// minute it stays 4, so a slow call never idles the channel; above 768 a minute it stops at
/// 64, so neither the sandbox nor the platform is flooded with connections from one client.
pub fn in_flight_for(limit: u32) -> usize {
    usize::try_from(limit / 12)
        .unwrap_or(usize::MAX)
        .clamp(4, 64)
}

/// Hands out send times so that no `window` (+ margin) ever holds more than `limit` of them.
#[derive(Debug)]
pub struct RateLimiter {
    limit: usize,
    window: Duration,
    margin: Duration,
    slots: Mutex<Slots>,
    /// Woken when a call ends, for callers that found every slot held by unfinished calls.
    ended: Notify,
}

#[derive(Debug, Default)]
struct Slots {
    /// Slots held by calls that have not ended (waiting for their send time, or in flight):
    /// how many per send time.
    held: BTreeMap<Instant, usize>,
    /// The number of held slots (the sum of `held`).
    held_count: usize,
    /// When the slots of ended calls come free (end + window + margin), earliest first.
    freeing: VecDeque<Instant>,
    /// How long a call takes from its send to its end, as measured (a moving average; zero
    /// before the first call ends).
    call_time: Duration,
}

impl Slots {
    fn hold(&mut self, at: Instant) {
        *self.held.entry(at).or_default() += 1;
        self.held_count += 1;
    }

    fn release(&mut self, at: Instant) {
        if let Some(n) = self.held.get_mut(&at) {
            *n -= 1;
            if *n == 0 {
                self.held.remove(&at);
            }
            self.held_count -= 1;
        }
    }

    fn forget_freed(&mut self, now: Instant) {
        while self.freeing.front().is_some_and(|&t| t <= now) {
            self.freeing.pop_front();
        }
    }
}

/// One call's slot, from its send time until it is dropped: drop it when the call has ended
/// (answered, failed or abandoned), and the slot comes free a window (and margin) later.
#[derive(Debug)]
#[must_use = "the slot is released when the permit is dropped: hold it until the call ends"]
pub struct Permit<'a> {
    limiter: &'a RateLimiter,
    /// The send time the slot was given for.
    at: Instant,
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let l = self.limiter;
        {
            let mut slots = l.lock();
            slots.release(self.at);
            let now = Instant::now();
            if now >= self.at {
                // weight 1/4: a few calls settle it, one slow call does not swing it
                let took = now - self.at;
                slots.call_time = (slots.call_time * 3 + took) / 4;
            }
            // Ends come in time order, so `freeing` stays sorted.
            slots.freeing.push_back(now + l.window + l.margin);
        }
        l.ended.notify_waiters();
    }
}

/// What the limiter foresees for some calls of a run: when the last of them could be sent, and
/// how long a call takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Forecast {
    /// From now until the last of the calls could be sent.
    pub last_send: Duration,
    /// How long one call takes from send to answer, as measured so far (zero before any).
    pub call_time: Duration,
}

impl Forecast {
    /// From now until the last of the calls could have ended.
    pub fn finish(&self) -> Duration {
        self.last_send + self.call_time
    }
}

impl RateLimiter {
    /// `limit` calls per 60 s, with the default 100 ms margin. A limit of 0 is taken as 1.
    pub fn new(limit: u32) -> Self {
        Self::with_window(limit, WINDOW, DEFAULT_MARGIN)
    }

    /// `limit` calls per `window`; a slot comes free `window + margin` after its call ended. A
    /// limit of 0 is taken as 1.
    pub fn with_window(limit: u32, window: Duration, margin: Duration) -> Self {
        let limit = usize::try_from(limit.max(1)).unwrap_or(usize::MAX);
        RateLimiter {
            limit,
            window,
            margin,
            slots: Mutex::new(Slots {
                freeing: VecDeque::with_capacity(limit.min(4096)),
                ..Slots::default()
            }),
            ended: Notify::new(),
        }
    }

    /// The configured limit (calls per window).
    pub fn limit(&self) -> u32 {
        u32::try_from(self.limit).unwrap_or(u32::MAX)
    }

    fn lock(&self) -> MutexGuard<'_, Slots> {
        // A poisoned lock only means another caller panicked mid-update of plain counters; they
        // are still usable.
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Wait until this caller may send one call; hold the permit until the call has ended. The
    /// slot is taken when this is first polled: dropping the future (or the permit) before
    /// sending leaves the slot spent for a window (the limiter only errs on the slow side).
    pub async fn acquire(&self) -> Permit<'_> {
        loop {
            let ended = self.ended.notified();
            tokio::pin!(ended);
            // Registered before looking, so an end between the look and the wait is not missed.
            ended.as_mut().enable();
            let slot = {
                let mut slots = self.lock();
                let now = Instant::now();
                slots.forget_freed(now);
                let at = if slots.held_count + slots.freeing.len() < self.limit {
                    Some(now)
                } else {
                    // `None`: every slot is held by a call that has not ended: wait for one to end
                    slots.freeing.pop_front()
                };
                if let Some(at) = at {
                    slots.hold(at);
                }
                at
            };
            if let Some(at) = slot {
                let permit = Permit { limiter: self, at };
                sleep_until(at).await;
                return permit;
            }
            ended.await;
        }
    }

    /// When `calls` calls of a run that have not ended yet would all have been sent, counting
    /// from now: those holding a slot (in flight, or waiting for their send time) go at their
    /// times, the others take the next free slots in turn. Pure arithmetic over the limiter's
    /// state (see [`Slots::nth_use`]); nothing is reserved.
    pub fn forecast(&self, calls: usize) -> Forecast {
        let mut slots = self.lock();
        let now = Instant::now();
        slots.forget_freed(now);
        let held_last = slots
            .held
            .keys()
            .next_back()
            .map_or(Duration::ZERO, |&at| at.saturating_duration_since(now));
        let new = calls.saturating_sub(slots.held_count);
        let last_send = if calls == 0 {
            Duration::ZERO
        } else if new == 0 {
            held_last
        } else {
            held_last.max(slots.nth_use(now, new, self))
        };
        Forecast {
            last_send,
            call_time: slots.call_time,
        }
    }
}

impl Slots {
    /// From `now`, when the `k`-th next use of a slot (1-based) comes, by the limiter's model:
    /// every free slot now; each freeing slot at its time; each held slot a window (and margin)
    /// after its call ends (at its send time plus the measured call time, or now if later); and
    /// every slot again one `window` after each use.
    /// Callers waiting for a slot (every slot held by an unfinished call) take the first uses.
    ///
    /// The recurrence is the bare window, as in `plan::estimated_seconds`: an idle limiter
    /// foresees exactly what the plan estimated, and the margin and the calls' own time show up
    /// as the slots actually come free (the model errs early by the margin per window ahead,
    /// 0.17%).
    ///
    /// Counted, not simulated: `uses(x)`, the uses up to offset `x`, is a sum over the slots'
    /// first free times, which span less than three windows, so it takes a few binary searches;
    /// a binary search over `x` then finds the first offset with `k` uses. No copy of the state,
    /// whatever the limit.
    fn nth_use(&self, now: Instant, k: usize, l: &RateLimiter) -> Duration {
        let window = nanos(l.window).max(1);
        let free_now = l.limit.saturating_sub(self.held_count + self.freeing.len()) as u64;
        let off = |t: Instant| nanos(t.saturating_duration_since(now));
        let held: Vec<(u64, u64)> = self
            .held
            .iter()
            .map(|(&at, &n)| {
                let end = (at + self.call_time).max(now);
                (off(end + l.window + l.margin), n as u64)
            })
            .collect();
        // uses of one slot first free at offset t, up to offset x
        let per_slot = |t: u64, x: u64| if t <= x { (x - t) / window + 1 } else { 0 };
        let uses = |x: u64| -> u64 {
            let mut n = free_now.saturating_mul(per_slot(0, x));
            if let (Some(&first), Some(&last)) = (self.freeing.front(), self.freeing.back()) {
                // the freeing slots whose t falls in (x - (q+1)w, x - qw] are used q + 1 times
                let (lo, hi) = (off(first), off(last));
                if lo <= x {
                    let q_max = (x - lo) / window;
                    let q_min = x.saturating_sub(hi) / window;
                    for q in q_min..=q_max {
                        let upper = x - q * window; // t <= upper
                        let lower = upper.checked_sub(window); // t > lower
                        let below_upper = self.freeing.partition_point(|&t| off(t) <= upper);
                        let below_lower =
                            lower.map_or(0, |b| self.freeing.partition_point(|&t| off(t) <= b));
                        n = n.saturating_add((q + 1) * (below_upper - below_lower) as u64);
                    }
                }
            }
            for &(t, count) in &held {
                n = n.saturating_add(count * per_slot(t, x));
            }
            n
        };
        let k = k.max(1) as u64;
        let latest = held
            .iter()
            .map(|&(t, _)| t)
            .chain(self.freeing.back().map(|&t| off(t)))
            .max()
            .unwrap_or(0);
        let rounds = (k - 1) / l.limit as u64;
        let (mut lo, mut hi) = (0u64, latest.saturating_add(rounds.saturating_mul(window)));
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if uses(mid) >= k {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        Duration::from_nanos(lo)
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use proptest::prelude::*;

    use super::*;

    /// Run `limit`-limited acquisitions, one per arrival offset (ms after start), concurrently;
    /// return (arrival, acquired) offsets from the start, sorted by acquisition.
    async fn run(limiter: Arc<RateLimiter>, arrivals: Vec<u64>) -> Vec<(Duration, Duration)> {
        let start = Instant::now();
        let tasks: Vec<_> = arrivals
            .into_iter()
            .map(|ms| {
                let limiter = Arc::clone(&limiter);
                tokio::spawn(async move {
                    let arrival = start + Duration::from_millis(ms);
                    sleep_until(arrival).await;
                    // the call ends at once: its slot is free a window later
                    drop(limiter.acquire().await);
                    (arrival - start, Instant::now() - start)
                })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out.sort_by_key(|&(_, at)| at);
        out
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_window_goes_at_once_and_the_rest_when_the_first_leave_it() {
        let limiter = Arc::new(RateLimiter::new(60));
        let got = run(limiter, vec![0; 80]).await;
        let at: Vec<Duration> = got.iter().map(|&(_, at)| at).collect();
        assert!(at[..60].iter().all(|&t| t == Duration::ZERO), "{at:?}");
        let next = WINDOW + DEFAULT_MARGIN;
        // the paused clock fires timers on whole milliseconds
        assert!(
            at[60..]
                .iter()
                .all(|&t| t >= next && t <= next + Duration::from_millis(1)),
            "{at:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn k_windows_of_calls_take_k_minus_one_windows() {
        for (limit, k) in [(10u32, 3u64), (100, 2), (7, 5)] {
            let limiter = Arc::new(RateLimiter::new(limit));
            let got = run(limiter, vec![0; limit as usize * k as usize]).await;
            let last = got.last().unwrap().1;
            let expected = (WINDOW + DEFAULT_MARGIN) * (k as u32 - 1);
            assert!(
                last >= expected && last <= expected + Duration::from_millis(k),
                "limit {limit}, k {k}: last at {last:?}, expected {expected:?}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn spaced_out_callers_never_wait() {
        let limiter = Arc::new(RateLimiter::new(2));
        let got = run(limiter, vec![0, 30_000, 60_200, 90_300]).await;
        assert!(got.iter().all(|&(arrival, at)| arrival == at), "{got:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_slot_comes_free_a_window_after_its_call_ended_not_after_its_send() {
        let limiter = RateLimiter::new(1);
        let t0 = Instant::now();
        let permit = limiter.acquire().await;
        // the call takes 5 s: the server may count it at any moment of those 5 s
        tokio::time::sleep(Duration::from_secs(5)).await;
        drop(permit);
        drop(limiter.acquire().await);
        let expected = Duration::from_secs(5) + WINDOW + DEFAULT_MARGIN;
        assert_eq!(t0.elapsed(), expected);
    }

    #[tokio::test(start_paused = true)]
    async fn callers_wait_while_every_slot_is_held_by_an_unfinished_call() {
        let limiter = Arc::new(RateLimiter::new(2));
        let t0 = Instant::now();
        let a = limiter.acquire().await;
        let b = limiter.acquire().await;
        let third = {
            let limiter = Arc::clone(&limiter);
            tokio::spawn(async move {
                drop(limiter.acquire().await);
                Instant::now()
            })
        };
        tokio::time::sleep(Duration::from_secs(120)).await;
        assert!(!third.is_finished(), "both slots are still held");
        drop(a);
        let at = third.await.unwrap();
        assert_eq!(at - t0, Duration::from_secs(120) + WINDOW + DEFAULT_MARGIN);
        drop(b);
    }

    #[test]
    fn zero_limit_is_taken_as_one() {
        assert_eq!(RateLimiter::new(0).limit(), 1);
    }

    /// No window of `window` holds more than `limit` acquisitions, and nobody waited longer than
    /// the limit requires: a delayed acquisition has `limit` others in the window before it.
    fn check(limit: usize, got: &[(Duration, Duration)]) -> Result<(), TestCaseError> {
        let window = Duration::from_secs(60);
        let margin = Duration::from_millis(100);
        let tick = Duration::from_millis(1);
        for i in limit..got.len() {
            let gap = got[i].1 - got[i - limit].1;
            prop_assert!(gap >= window, "{} calls within {gap:?}", limit + 1);
        }
        for (i, &(arrival, at)) in got.iter().enumerate() {
            if at > arrival + tick {
                let before = got
                    .iter()
                    .enumerate()
                    .filter(|&(j, &(_, t))| j != i && t <= at && t + window + margin + tick >= at)
                    .count();
                prop_assert!(before >= limit, "call {i} at {at:?} waited needlessly");
            }
        }
        Ok(())
    }

    #[test]
    fn in_flight_calls_follow_the_limit_within_bounds() {
        for (limit, k) in [
            (1, 4),
            (20, 4),
            (60, 5),
            (100, 8),
            (200, 16),
            (1000, 64),
            (u32::MAX, 64),
        ] {
            assert_eq!(in_flight_for(limit), k, "{limit}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_limiter_foresees_a_full_window_at_once_and_each_next_a_window_later() {
        let limiter = RateLimiter::new(10);
        for (calls, windows) in [(0, 0), (1, 0), (10, 0), (11, 1), (20, 1), (21, 2), (95, 9)] {
            let f = limiter.forecast(calls);
            assert_eq!(f.last_send, WINDOW * windows, "{calls} calls");
            assert_eq!(f.call_time, Duration::ZERO);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_forecast_counts_held_slots_and_slots_coming_free() {
        let limiter = RateLimiter::new(4);
        // two calls end at once (their slots free at 60.1 s), one stays in flight
        drop(limiter.acquire().await);
        drop(limiter.acquire().await);
        let in_flight = limiter.acquire().await;
        tokio::time::advance(Duration::from_secs(10)).await;
        // 1 call of the run not ended: the one in flight, already sent
        assert_eq!(limiter.forecast(1).last_send, Duration::ZERO);
        // 2: the one in flight, and a new one on the last free slot
        assert_eq!(limiter.forecast(2).last_send, Duration::ZERO);
        // 3 and 4: on the slots freeing at 60.1 s, 50.1 s from now
        let freeing = WINDOW + DEFAULT_MARGIN - Duration::from_secs(10);
        assert_eq!(limiter.forecast(3).last_send, freeing);
        assert_eq!(limiter.forecast(4).last_send, freeing);
        // 5: the free slot again, a window after its use now
        assert_eq!(limiter.forecast(5).last_send, WINDOW);
        // 6: the slot of the call in flight, free a window after it ends (taken as now)
        assert_eq!(limiter.forecast(6).last_send, WINDOW + DEFAULT_MARGIN);
        // 7: the first freed slots again, a window after their next use
        assert_eq!(limiter.forecast(7).last_send, freeing + WINDOW);
        // a call that took 10 s moves the measured call time a quarter of the way
        drop(in_flight);
        assert_eq!(limiter.forecast(1).call_time, Duration::from_millis(2500));
    }

    /// Acquisitions at `history` (ms, ending at once) up to `query` ms, then `extra` more asked
    /// for at `query`: (the send times the limiter foresaw at `query` for every call not yet
    /// sent then, the send times `acquire` gave them), both sorted, in ms from `query`.
    async fn foreseen_and_given(
        limiter: Arc<RateLimiter>,
        history: Vec<u64>,
        query: u64,
        extra: usize,
    ) -> (Vec<Duration>, Vec<Duration>) {
        let start = Instant::now();
        let given = Arc::new(std::sync::Mutex::new(Vec::new()));
        let spawn = |arrival: Instant| {
            let limiter = Arc::clone(&limiter);
            let given = Arc::clone(&given);
            tokio::spawn(async move {
                sleep_until(arrival).await;
                drop(limiter.acquire().await);
                given.lock().unwrap().push(Instant::now());
            })
        };
        let mut tasks: Vec<_> = history
            .iter()
            .filter(|&&ms| ms < query)
            .map(|&ms| spawn(start + Duration::from_millis(ms)))
            .collect();
        let now = start + Duration::from_millis(query);
        sleep_until(now).await;
        let (foreseen, already) = {
            let slots = limiter.lock();
            let already = given.lock().unwrap().len();
            // history calls not yet given a slot are waiting for a call to end: they come
            // before the new ones, and together they take the next uses
            let waiting = tasks.len() - already - slots.held_count;
            let mut foreseen: Vec<Duration> = slots
                .held
                .iter()
                .flat_map(|(&at, &n)| std::iter::repeat_n(at - now, n))
                .collect();
            foreseen.extend((1..=waiting + extra).map(|k| slots.nth_use(now, k, &limiter)));
            foreseen.sort();
            (foreseen, already)
        };
        tasks.extend((0..extra).map(|_| spawn(now)));
        for t in tasks {
            t.await.unwrap();
        }
        let mut given: Vec<Duration> = given.lock().unwrap()[already..]
            .iter()
            .map(|&t| t - now)
            .collect();
        given.sort();
        (foreseen, given)
    }

    fn paused_runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn no_window_ever_holds_more_than_the_limit(
            limit in 1u32..8,
            arrivals in proptest::collection::vec(0u64..200_000, 1..40),
        ) {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .start_paused(true)
                .build()
                .unwrap();
            let got = rt.block_on(run(Arc::new(RateLimiter::new(limit)), arrivals));
            check(limit as usize, &got)?;
        }

        /// The schedule the limiter foresees is the one `acquire` then gives, to calls held,
        /// waiting and new: exactly under the model's assumptions (no margin, calls that end at
        /// once); with the margin never late, and early by at most a margin a window ahead
        /// (the slots coming free carry it, each further window adds it once more).
        #[test]
        fn the_forecast_is_the_schedule_acquire_gives(
            limit in 1u32..6,
            history in proptest::collection::vec(0u64..150_000, 0..30),
            query in 1u64..150_000,
            extra in 1usize..16,
            margin in prop_oneof![Just(Duration::ZERO), Just(DEFAULT_MARGIN)],
        ) {
            let limiter = Arc::new(RateLimiter::with_window(limit, WINDOW, margin));
            let (foreseen, given) =
                paused_runtime().block_on(foreseen_and_given(limiter, history, query, extra));
            prop_assert_eq!(foreseen.len(), given.len());
            for (f, g) in foreseen.iter().zip(&given) {
                let windows = u32::try_from(f.as_millis() / WINDOW.as_millis()).unwrap();
                // the paused clock fires timers on whole milliseconds
                let slack = margin * (windows + 1) + Duration::from_millis(1);
                prop_assert!(
                    *g >= *f && *g <= *f + slack,
                    "foreseen {:?}, given {:?}", foreseen, given
                );
            }
        }
    }
}
