//! The per-channel rate limit the sandbox enforces: at most N accepted calls in any sliding
//! 60-second window, a log of accepted call times. Rejected calls are not logged, so a client
//! hammering a full window does not push its own recovery back. Uses tokio's clock so tests can
//! pause it. Knows nothing of HTTP.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

/// The platform's window.
pub(crate) const WINDOW: Duration = Duration::from_secs(60);

/// A sliding-window log of accepted calls.
#[derive(Debug)]
pub(crate) struct Limiter {
    limit: usize,
    accepted: VecDeque<Instant>,
}

impl Limiter {
    /// A limiter accepting `limit` calls per window (0 accepts none).
    pub(crate) fn new(limit: u32) -> Limiter {
        Limiter {
            limit: usize::try_from(limit).unwrap_or(usize::MAX),
            accepted: VecDeque::new(),
        }
    }

    /// Accepts a call made at `now` and logs it, or refuses it with the time until a slot frees.
    pub(crate) fn try_accept(&mut self, now: Instant) -> Result<(), Duration> {
        while let Some(&first) = self.accepted.front() {
            if first + WINDOW <= now {
                self.accepted.pop_front();
            } else {
                break;
            }
        }
        if self.accepted.len() < self.limit {
            self.accepted.push_back(now);
            return Ok(());
        }
        // The window is full: the oldest accepted call leaving frees the next slot.
        let wait = self.accepted.front().map_or(WINDOW, |&first| {
            (first + WINDOW).saturating_duration_since(now)
        });
        Err(wait)
    }
}

/// `Retry-After` seconds for a wait: rounded up, at least 1.
pub(crate) fn retry_after_secs(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn accepts_the_limit_at_once_then_one_per_freed_slot() {
        let mut l = Limiter::new(3);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(l.try_accept(Instant::now()).is_ok());
        }
        assert_eq!(l.try_accept(Instant::now()), Err(WINDOW));

        tokio::time::advance(Duration::from_millis(59_500)).await;
        assert_eq!(
            l.try_accept(Instant::now()),
            Err(Duration::from_millis(500))
        );

        tokio::time::sleep_until(t0 + WINDOW).await;
        assert!(
            l.try_accept(Instant::now()).is_ok(),
            "the window slid past t0"
        );
        assert!(l.try_accept(Instant::now()).is_ok());
        assert!(l.try_accept(Instant::now()).is_ok());
        assert!(
            l.try_accept(Instant::now()).is_err(),
            "three accepted at t0+60s"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn rejected_calls_do_not_extend_the_window() {
        let mut l = Limiter::new(1);
        let t0 = Instant::now();
        l.try_accept(t0).unwrap();
        for s in 1..60 {
            tokio::time::advance(Duration::from_secs(1)).await;
            assert!(l.try_accept(Instant::now()).is_err(), "second {s}");
        }
        tokio::time::sleep_until(t0 + WINDOW).await;
        assert!(l.try_accept(Instant::now()).is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn the_window_is_sliding_not_fixed() {
        // 2 per minute: calls at 0s and 30s; at 60s only the first has left the window.
        let mut l = Limiter::new(2);
        let t0 = Instant::now();
        l.try_accept(t0).unwrap();
        l.try_accept(t0 + Duration::from_secs(30)).unwrap();
        let at60 = t0 + WINDOW;
        assert!(l.try_accept(at60).is_ok());
        assert_eq!(l.try_accept(at60), Err(Duration::from_secs(30)));
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(59_001)), 60);
        assert_eq!(retry_after_secs(Duration::from_secs(60)), 60);
    }
}
