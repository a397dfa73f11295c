//! The per-channel rate limiter: never more than `limit` calls in ANY window of 60 seconds, and
//! no slower than that. A sliding-window log of the last `limit` reserved send times; a caller
//! reserves the earliest slot that keeps the guarantee, under a mutex (so concurrent callers get
//! distinct slots), then sleeps until it. Knows nothing of HTTP, retries or channels' names.
//!
//! Not a token bucket / GCRA (`governor`): with a full burst those allow about twice the limit
//! inside one window, which is exactly what a server counting a sliding window refuses.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::{Instant, sleep_until};

/// The window the API's rate limit is counted over.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Added to the window so a call does not reach the server a hair before the call `limit`
/// places earlier has left the server's own window (network jitter, clock granularity).
pub const DEFAULT_MARGIN: Duration = Duration::from_millis(100);

/// Hands out send times so that no `window` (+ margin) ever holds more than `limit` of them.
#[derive(Debug)]
pub struct RateLimiter {
    limit: usize,
    window: Duration,
    margin: Duration,
    /// The last `limit` reserved slots, oldest first (non-decreasing).
    log: Mutex<VecDeque<Instant>>,
}

impl RateLimiter {
    /// `limit` calls per 60 s, with the default 100 ms margin. A limit of 0 is taken as 1.
    pub fn new(limit: u32) -> Self {
        Self::with_window(limit, WINDOW, DEFAULT_MARGIN)
    }

    /// `limit` calls per `window`; consecutive groups of `limit` calls are at least
    /// `window + margin` apart. A limit of 0 is taken as 1.
    pub fn with_window(limit: u32, window: Duration, margin: Duration) -> Self {
        let limit = usize::try_from(limit.max(1)).unwrap_or(usize::MAX);
        RateLimiter {
            limit,
            window,
            margin,
            log: Mutex::new(VecDeque::with_capacity(limit.min(4096))),
        }
    }

    /// The configured limit (calls per window).
    pub fn limit(&self) -> u32 {
        u32::try_from(self.limit).unwrap_or(u32::MAX)
    }

    /// Wait until this caller may send one call. The slot is reserved when this is first polled:
    /// dropping the future while it sleeps leaves the slot spent (the limiter only errs on the
    /// slow side).
    pub async fn acquire(&self) {
        let slot = self.reserve();
        sleep_until(slot).await;
    }

    /// Reserve the earliest slot that keeps every window within the limit, and log it.
    fn reserve(&self) -> Instant {
        // A poisoned lock only means another caller panicked mid-update of a plain VecDeque;
        // its contents are still a valid log.
        let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let slot = if log.len() < self.limit {
            now
        } else {
            // `log` holds exactly `limit` entries: the oldest must leave the window first
            match log.front() {
                Some(&oldest) => now.max(oldest + self.window + self.margin),
                None => now,
            }
        };
        log.push_back(slot);
        while log.len() > self.limit {
            log.pop_front();
        }
        slot
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
                    limiter.acquire().await;
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
