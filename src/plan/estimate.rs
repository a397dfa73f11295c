//! How long calls take under a channel's rate limit, as the limiter schedules them: a sliding
//! window of `limit` calls per 60 seconds lets the first `limit` calls go at once, and each next
//! batch of `limit` a window after the one before. The one place this arithmetic lives: the
//! plan's estimates and apply's progress both use it. Pure.

/// Seconds `calls` calls take under a sliding window of `rate_limit` calls per 60 s: the first
/// `rate_limit` go at once, each further batch a minute after the one before.
pub fn estimated_seconds(calls: usize, rate_limit: u32) -> u64 {
    if calls == 0 {
        return 0;
    }
    let per_window = u64::from(rate_limit.max(1));
    let calls = u64::try_from(calls).unwrap_or(u64::MAX);
    ((calls - 1) / per_window) * 60
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimated_seconds_follow_a_sliding_minute() {
        for (calls, rate, secs) in [
            (0, 100, 0),
            (1, 100, 0),
            (100, 100, 0),
            (101, 100, 60),
            (200, 100, 60),
            (201, 100, 120),
            (201, 200, 60),
            (5, 0, 240), // a zero limit is read as one a minute, not a division by zero
        ] {
            assert_eq!(estimated_seconds(calls, rate), secs, "{calls} at {rate}");
        }
    }
}
