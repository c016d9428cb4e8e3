//! A circuit breaker on one synchronous call edge: closed, open, half-open.
//!
//! It exists so that a caller stops waiting on a callee that is failing: while
//! open, calls fail at once without being sent, which frees the caller's
//! workers and spares the callee. The rules follow the common libraries
//! (Resilience4j, Polly) in their count-based form:
//! - closed: the outcomes of the last `window` calls are kept; once the window
//!   is full and at least `failure_rate` of it failed, the breaker opens;
//! - open: every call is rejected for `cooldown`, then the breaker is half-open;
//! - half-open: `half_open_calls` trial calls go through (others are
//!   rejected); if all succeed it closes with an empty window, the first
//!   failure opens it again.
//!
//! Each state change starts a new *episode*; a call remembers the episode it
//! was let through in, and its outcome counts only if the episode is still
//! current (an answer to a call made before the breaker opened says nothing
//! about the trial calls). The move from open to half-open is made lazily, by
//! the first call after the cooldown, so the breaker needs no events.

use std::collections::VecDeque;

use super::generation::Generation;
use crate::engine::SimTime;
use crate::scenario::guarantees::CircuitBreaker;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed,
    Open { since: SimTime, until: SimTime },
    HalfOpen { started: u32, succeeded: u32 },
}

/// Whether a call may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permit {
    /// Send it; report its outcome with this episode.
    Go(Generation),
    /// Fail it at once.
    Reject,
}

#[derive(Debug, Clone)]
pub struct Breaker {
    failure_rate: f64,
    window: u32,
    cooldown: SimTime,
    half_open_calls: u32,
    state: State,
    /// Outcomes of the last `window` calls while closed: `true` for a failure.
    outcomes: VecDeque<bool>,
    failures: u32,
    /// Bumped by every state change: outcomes of calls let through before are stale.
    episode: Generation,
    /// Transitions since the last reset.
    pub opened: u64,
    pub half_opened: u64,
    pub closed: u64,
    /// Time spent open, counted from `counted_from`, for finished open periods.
    open_nanos: u64,
    counted_from: SimTime,
}

impl Breaker {
    pub fn new(config: CircuitBreaker) -> Self {
        Self {
            failure_rate: config.failure_rate,
            window: config.window.max(1),
            cooldown: config.cooldown.nanos,
            half_open_calls: config.half_open_calls.max(1),
            state: State::Closed,
            outcomes: VecDeque::new(),
            failures: 0,
            episode: Generation::default(),
            opened: 0,
            half_opened: 0,
            closed: 0,
            open_nanos: 0,
            counted_from: 0,
        }
    }

    /// Asks to send a call at `now`.
    pub fn permit(&mut self, now: SimTime) -> Permit {
        if let State::Open { since, until } = self.state
            && now >= until
        {
            self.open_nanos += until.saturating_sub(since.max(self.counted_from));
            self.state = State::HalfOpen {
                started: 0,
                succeeded: 0,
            };
            self.episode.bump();
            self.half_opened += 1;
        }
        match &mut self.state {
            State::Closed => Permit::Go(self.episode),
            State::Open { .. } => Permit::Reject,
            State::HalfOpen { started, .. } => {
                if *started < self.half_open_calls {
                    *started += 1;
                    Permit::Go(self.episode)
                } else {
                    Permit::Reject
                }
            }
        }
    }

    /// The outcome of a call let through in `episode`.
    pub fn record(&mut self, now: SimTime, episode: Generation, failed: bool) {
        if !self.episode.is_current(episode) {
            return;
        }
        match &mut self.state {
            State::Closed => {
                self.outcomes.push_back(failed);
                self.failures += u32::from(failed);
                if self.outcomes.len() > self.window as usize
                    && self.outcomes.pop_front() == Some(true)
                {
                    self.failures -= 1;
                }
                let full = self.outcomes.len() >= self.window as usize;
                let rate = f64::from(self.failures) / f64::from(self.window);
                if full && self.failures > 0 && rate >= self.failure_rate {
                    self.open(now);
                }
            }
            State::Open { .. } => {}
            State::HalfOpen { succeeded, .. } => {
                if failed {
                    self.open(now);
                } else {
                    *succeeded += 1;
                    if *succeeded >= self.half_open_calls {
                        self.state = State::Closed;
                        self.outcomes.clear();
                        self.failures = 0;
                        self.episode.bump();
                        self.closed += 1;
                    }
                }
            }
        }
    }

    fn open(&mut self, now: SimTime) {
        self.state = State::Open {
            since: now,
            until: now.saturating_add(self.cooldown),
        };
        self.episode.bump();
        self.opened += 1;
    }

    /// Back to closed with an empty window (its service crashed: the state was in its memory).
    /// Calls let through before are forgotten.
    pub fn restart(&mut self, now: SimTime) {
        self.open_nanos = self.open_nanos(now);
        self.state = State::Closed;
        self.outcomes.clear();
        self.failures = 0;
        self.episode.bump();
    }

    /// Time spent open since the last reset, up to `now`.
    pub fn open_nanos(&self, now: SimTime) -> u64 {
        let current = match self.state {
            State::Open { since, until } => {
                until.min(now).saturating_sub(since.max(self.counted_from))
            }
            _ => 0,
        };
        self.open_nanos + current
    }

    /// The state at `now`, for the report.
    pub fn state_name(&self, now: SimTime) -> &'static str {
        match self.state {
            State::Closed => "closed",
            State::Open { until, .. } if now < until => "open",
            State::Open { .. } | State::HalfOpen { .. } => "half-open",
        }
    }

    /// Restarts the counts (end of the warm-up); the state carries on.
    pub fn reset(&mut self, now: SimTime) {
        self.opened = 0;
        self.half_opened = 0;
        self.closed = 0;
        self.open_nanos = 0;
        self.counted_from = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::units::Duration;

    fn breaker() -> Breaker {
        Breaker::new(CircuitBreaker {
            failure_rate: 0.5,
            window: 4,
            cooldown: Duration::from_nanos(100),
            half_open_calls: 2,
        })
    }

    fn go(b: &mut Breaker, now: SimTime) -> Generation {
        match b.permit(now) {
            Permit::Go(episode) => episode,
            Permit::Reject => panic!("rejected at {now}"),
        }
    }

    #[test]
    fn opens_on_a_full_window_half_opens_after_the_cooldown_and_closes_on_success() {
        let mut b = breaker();
        // Two failures in three calls: the window is not full yet.
        for failed in [true, false, true] {
            let e = go(&mut b, 0);
            b.record(0, e, failed);
        }
        assert_eq!(b.opened, 0);
        let e = go(&mut b, 0);
        b.record(10, e, false);
        assert_eq!(b.opened, 1, "2 of 4 failed: at the rate");
        assert_eq!(b.permit(50), Permit::Reject);
        assert_eq!(b.state_name(50), "open");
        // After the cooldown: two trials, a third is rejected.
        let t1 = go(&mut b, 110);
        let t2 = go(&mut b, 110);
        assert_eq!(b.permit(110), Permit::Reject);
        assert_eq!(b.half_opened, 1);
        b.record(120, t1, false);
        b.record(130, t2, false);
        assert_eq!(b.closed, 1);
        assert_eq!(b.open_nanos(1_000), 100);
        // Closed with an empty window: one failure does not open it.
        let e = go(&mut b, 140);
        b.record(140, e, true);
        assert_eq!(b.state_name(140), "closed");
    }

    #[test]
    fn a_failed_trial_opens_again_and_stale_outcomes_are_ignored() {
        let mut b = breaker();
        let old = go(&mut b, 0);
        for _ in 0..4 {
            let e = go(&mut b, 0);
            b.record(0, e, true);
        }
        assert_eq!(b.opened, 1);
        // An answer to a call made before the breaker opened changes nothing.
        b.record(5, old, false);
        assert_eq!(b.state_name(5), "open");
        let trial = go(&mut b, 100);
        b.record(150, trial, true);
        assert_eq!(b.opened, 2);
        assert_eq!(b.state_name(200), "open");
        assert_eq!(b.open_nanos(200), 100 + 50);
        b.reset(200);
        assert_eq!(b.open_nanos(220), 20);
        // A restart closes it; a trial let through before is forgotten.
        let trial = go(&mut b, 260);
        b.restart(260);
        assert_eq!(b.state_name(260), "closed");
        assert_eq!(
            b.open_nanos(300),
            50,
            "open from the reset at 200 to the cooldown's end"
        );
        b.record(270, trial, true);
        assert_eq!(b.state_name(270), "closed");
    }
}
