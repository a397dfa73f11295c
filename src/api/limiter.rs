//! The per-channel rate limiter: never more than `limit` calls in ANY window of 60 seconds, and
//! no slower than that. The platform counts a call at some moment between its send and its
//! answer, so each call holds one of `limit` slots from the moment it may be sent until 60 s
//! (plus a margin) after it ended (answered, failed, or given up on): then no 60 s window of the
//! platform's can ever hold more than `limit` calls, however long each call took. A caller gets
//! the earliest slot that keeps this, under a mutex (so concurrent callers get distinct slots),
//! then sleeps until it. Knows nothing of HTTP, retries or channels' names.
//!
//! Not a token bucket / GCRA (`governor`): with a full burst those allow about twice the limit
//! inside one window, which is exactly what a server counting a sliding window refuses.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::{Instant, sleep_until};

/// The window the API's rate limit is counted over.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Added to the window so a call does not reach the server a hair before the call `limit`
/// places earlier has left the server's own window (clock granularity, the server's own delays).
pub const DEFAULT_MARGIN: Duration = Duration::from_millis(100);

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
    /// Slots held by calls that have not ended (waiting for their send time, or in flight).
    held: usize,
    /// When the slots of ended calls come free (end + window + margin), earliest first.
    freeing: VecDeque<Instant>,
}

/// One call's slot, from its send time until it is dropped: drop it when the call has ended
/// (answered, failed or abandoned), and the slot comes free a window (and margin) later.
#[derive(Debug)]
#[must_use = "the slot is released when the permit is dropped: hold it until the call ends"]
pub struct Permit<'a> {
    limiter: &'a RateLimiter,
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let l = self.limiter;
        {
            let mut slots = l.lock();
            slots.held = slots.held.saturating_sub(1);
            // Ends come in time order, so `freeing` stays sorted.
            let free_at = Instant::now() + l.window + l.margin;
            slots.freeing.push_back(free_at);
        }
        l.ended.notify_waiters();
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
                held: 0,
                freeing: VecDeque::with_capacity(limit.min(4096)),
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
                while slots.freeing.front().is_some_and(|&t| t <= now) {
                    slots.freeing.pop_front();
                }
                if slots.held + slots.freeing.len() < self.limit {
                    slots.held += 1;
                    Some(now)
                } else if let Some(at) = slots.freeing.pop_front() {
                    slots.held += 1;
                    Some(at)
                } else {
                    // every slot is held by a call that has not ended: wait for one to end
                    None
                }
            };
            if let Some(at) = slot {
                let permit = Permit { limiter: self };
                sleep_until(at).await;
                return permit;
            }
            ended.await;
        }
    }
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
    }
}
