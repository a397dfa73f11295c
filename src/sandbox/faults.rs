//! Deciding, request by request, which fault the sandbox injects: the counters and the seeded
//! generator behind the `Faults` knobs. Pure state machine (no HTTP, no clock): the server asks
//! it once per API request, in arrival order, and once per committed create.

use std::time::Duration;

use super::state::Faults;

/// What to do with one API request before it reaches the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Injected {
    /// Nothing: serve it.
    Nothing,
    /// Close the connection without a response.
    Reset,
    /// Answer 500.
    ServerError,
    /// Answer 429, with this `Retry-After` if any.
    Throttle(Option<u64>),
    /// Answer 401 (the token was "revoked").
    Unauthorized,
}

/// The decision for one API request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Decision {
    /// The fault, if any.
    pub(crate) injected: Injected,
    /// Delay before the response.
    pub(crate) latency: Duration,
    /// Delay after the request was served, before its response is sent (a random slow response).
    pub(crate) slow: Duration,
    /// The random draw for "drop this create's response", used only if the request commits a
    /// create (drawn for every request so the sequence depends only on arrival order).
    pub(crate) random_drop_create: bool,
}

/// The knobs in force and the counters since they were set.
#[derive(Debug)]
pub(crate) struct FaultState {
    faults: Faults,
    requests: u64,
    creates: u64,
    rng: Option<fastrand::Rng>,
}

fn fires(every: Option<u64>, n: u64) -> bool {
    matches!(every, Some(e) if e > 0 && n.is_multiple_of(e))
}

impl FaultState {
    /// Counters start at zero; the generator at the knobs' seed.
    pub(crate) fn new(faults: Faults) -> FaultState {
        let rng = faults
            .random
            .as_ref()
            .map(|r| fastrand::Rng::with_seed(r.seed));
        FaultState {
            faults,
            requests: 0,
            creates: 0,
            rng,
        }
    }

    /// The knobs in force.
    pub(crate) fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Counts one API request and decides its fault.
    pub(crate) fn on_request(&mut self) -> Decision {
        self.requests += 1;
        let n = self.requests;
        let f = &self.faults;
        let (mut r_reset, mut r_500, mut r_429, mut r_drop) = (false, false, false, false);
        let mut slow = Duration::ZERO;
        if let (Some(p), Some(rng)) = (&f.random, &mut self.rng) {
            // Always four draws, so one request's outcome never shifts the next one's.
            r_reset = rng.f64() < p.p_reset;
            r_500 = rng.f64() < p.p_500;
            r_429 = rng.f64() < p.p_429;
            r_drop = rng.f64() < p.p_drop_create;
            // A fifth only when slow responses are asked for: other seeds keep their sequences.
            if p.p_slow > 0.0 && rng.f64() < p.p_slow {
                slow = Duration::from_millis(p.slow_ms);
            }
        }
        let injected = if fires(f.reset_every, n) || r_reset {
            Injected::Reset
        } else if fires(f.fail_every, n) || r_500 {
            Injected::ServerError
        } else if fires(f.throttle_every, n) || r_429 {
            Injected::Throttle(f.retry_after_secs)
        } else if matches!(f.unauthorized_after, Some(after) if n > after) {
            Injected::Unauthorized
        } else {
            Injected::Nothing
        };
        Decision {
            injected,
            latency: Duration::from_millis(f.latency_ms),
            slow,
            random_drop_create: r_drop,
        }
    }

    /// Counts one committed create; whether its response is to be dropped.
    pub(crate) fn on_create_committed(&mut self, random_drop: bool) -> bool {
        self.creates += 1;
        fires(self.faults.drop_create_response_every, self.creates) || random_drop
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::state::RandomFaults;

    fn injected(f: Faults, n: usize) -> Vec<Injected> {
        let mut s = FaultState::new(f);
        (0..n).map(|_| s.on_request().injected).collect()
    }

    #[test]
    fn every_nth_fires_on_multiples_and_reset_beats_500_beats_429() {
        use Injected::*;
        let f = Faults {
            reset_every: Some(6),
            fail_every: Some(3),
            throttle_every: Some(2),
            retry_after_secs: Some(7),
            ..Faults::default()
        };
        let t = Throttle(Some(7));
        assert_eq!(injected(f, 6), [Nothing, t, ServerError, t, Nothing, Reset]);
    }

    #[test]
    fn zero_means_off_and_unauthorized_after_counts_requests() {
        use Injected::*;
        let f = Faults {
            fail_every: Some(0),
            unauthorized_after: Some(2),
            ..Faults::default()
        };
        assert_eq!(
            injected(f, 4),
            [Nothing, Nothing, Unauthorized, Unauthorized]
        );
    }

    #[test]
    fn every_nth_create_is_dropped() {
        let mut s = FaultState::new(Faults {
            drop_create_response_every: Some(2),
            ..Faults::default()
        });
        let got: Vec<bool> = (0..4).map(|_| s.on_create_committed(false)).collect();
        assert_eq!(got, [false, true, false, true]);
    }

    #[test]
    fn slow_responses_are_drawn_only_when_asked_for_and_keep_other_draws() {
        let random = |p_slow| Faults {
            random: Some(RandomFaults {
                seed: 9,
                p_500: 0.3,
                p_slow,
                slow_ms: 2_500,
                ..RandomFaults::default()
            }),
            ..Faults::default()
        };
        let mut off = FaultState::new(random(0.0));
        let off: Vec<Decision> = (0..100).map(|_| off.on_request()).collect();
        assert!(off.iter().all(|d| d.slow.is_zero()));
        let mut on = FaultState::new(random(0.5));
        let on: Vec<Decision> = (0..100).map(|_| on.on_request()).collect();
        let slow = on.iter().filter(|d| !d.slow.is_zero()).count();
        assert!((20..=80).contains(&slow), "about half: {slow}");
        assert!(
            on.iter()
                .all(|d| d.slow.is_zero() || d.slow == Duration::from_millis(2_500))
        );
        assert_eq!(
            off[0].injected, on[0].injected,
            "the first request's draws come before any slow draw"
        );
    }

    #[test]
    fn random_faults_repeat_for_the_same_seed_and_differ_for_another() {
        let random = |seed| Faults {
            random: Some(RandomFaults {
                seed,
                p_500: 0.2,
                p_reset: 0.1,
                p_drop_create: 0.0,
                p_429: 0.2,
                ..RandomFaults::default()
            }),
            ..Faults::default()
        };
        let a = injected(random(1), 200);
        assert_eq!(a, injected(random(1), 200));
        assert_ne!(a, injected(random(2), 200));
        let faults = a.iter().filter(|i| **i != Injected::Nothing).count();
        assert!((40..=160).contains(&faults), "about half: {faults}");
        assert!(a.contains(&Injected::Reset));
    }
}
