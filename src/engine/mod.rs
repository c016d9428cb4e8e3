//! The discrete-event core. It knows nothing of brokers.
//!
//! Simulated time is integer nanoseconds ([`SimTime`]). Pending events are
//! ordered by `(time, sequence)`, where the sequence number is the order of
//! scheduling, so events at the same instant run in the order they were
//! scheduled and every run of the same model is the same run. A [`Model`]
//! receives each event with a [`Scheduler`] to schedule more; a
//! [`Simulation`] owns both and runs them `until` a time or for `n` steps.
//! The core never reads the wall clock and never uses a thread RNG:
//! randomness comes from per-entity streams ([`rng`]).

pub mod arena;
pub mod queue;
pub mod rng;

pub use queue::EventQueue;

/// Simulated time in nanoseconds since the start of the run.
pub type SimTime = u64;

/// A model: the state the events act on.
pub trait Model {
    /// A small, copyable event payload (a few words).
    type Event: Copy;

    /// Handles one event at time `now`; may schedule more through `scheduler`.
    fn handle(&mut self, now: SimTime, event: Self::Event, scheduler: &mut Scheduler<Self::Event>);

    /// True when the model cannot go on (a capacity exceeded): the run stops after the current event.
    fn halted(&self) -> bool {
        false
    }
}

/// Events at one instant beyond which simulated time is taken to have stopped
/// (a zero-delay loop in the model): the run stops rather than hang.
pub const MAX_EVENTS_PER_INSTANT: u64 = 50_000_000;

/// The pending-event set and the clock, as a model sees them.
pub struct Scheduler<E> {
    now: SimTime,
    queue: EventQueue<E>,
}

impl<E: Copy> Scheduler<E> {
    fn new() -> Self {
        Self {
            now: 0,
            queue: EventQueue::new(),
        }
    }

    /// The current simulated time.
    #[inline]
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// Schedules `event` at absolute time `at` (never before now).
    #[inline(always)]
    pub fn at(&mut self, at: SimTime, event: E) {
        self.queue.push(at.max(self.now), event);
    }

    /// Schedules `event` after `delay` nanoseconds.
    #[inline(always)]
    pub fn after(&mut self, delay: u64, event: E) {
        self.queue.push(self.now.saturating_add(delay), event);
    }

    /// Number of pending events.
    pub fn pending(&self) -> usize {
        self.queue.len()
    }

    /// Time of the next pending event.
    pub fn next_time(&self) -> Option<SimTime> {
        self.queue.peek_time()
    }
}

/// A model with its clock and pending events.
pub struct Simulation<M: Model> {
    scheduler: Scheduler<M::Event>,
    model: M,
    events: u64,
    /// Consecutive events at the current instant.
    same_instant: u64,
    /// Set when time stopped advancing; see [`MAX_EVENTS_PER_INSTANT`].
    stalled_at: Option<SimTime>,
}

impl<M: Model> Simulation<M> {
    /// Wraps a model that needs no initial events.
    pub fn new(model: M) -> Self {
        Self {
            scheduler: Scheduler::new(),
            model,
            events: 0,
            same_instant: 0,
            stalled_at: None,
        }
    }

    /// Builds the model with the scheduler at hand, so it can schedule its first events.
    pub fn build<E>(
        build: impl FnOnce(&mut Scheduler<M::Event>) -> Result<M, E>,
    ) -> Result<Self, E> {
        let mut scheduler = Scheduler::new();
        let model = build(&mut scheduler)?;
        Ok(Self {
            scheduler,
            model,
            events: 0,
            same_instant: 0,
            stalled_at: None,
        })
    }

    pub fn now(&self) -> SimTime {
        self.scheduler.now
    }

    /// Engine events executed so far.
    pub fn events(&self) -> u64 {
        self.events
    }

    pub fn model(&self) -> &M {
        &self.model
    }

    /// The model and the scheduler, for changes from outside the event loop
    /// (faults injected at run time, edits in the GUI).
    pub fn parts_mut(&mut self) -> (&mut M, &mut Scheduler<M::Event>) {
        (&mut self.model, &mut self.scheduler)
    }

    pub fn scheduler(&self) -> &Scheduler<M::Event> {
        &self.scheduler
    }

    /// The instant at which simulated time stopped advancing, if it did.
    pub fn stalled_at(&self) -> Option<SimTime> {
        self.stalled_at
    }

    /// Handles one popped event. Returns false when the run must stop.
    #[inline]
    fn dispatch(&mut self, time: SimTime, event: M::Event) -> bool {
        if time == self.scheduler.now {
            self.same_instant += 1;
        } else {
            self.same_instant = 0;
        }
        self.scheduler.now = time;
        self.model.handle(time, event, &mut self.scheduler);
        self.events += 1;
        if self.same_instant >= MAX_EVENTS_PER_INSTANT {
            self.stalled_at = Some(time);
            return false;
        }
        !self.model.halted()
    }

    /// Runs every event with time <= `until`, then sets the clock to `until`.
    /// Stops early when the model halts or time stalls. Returns the number of events executed.
    pub fn run_until(&mut self, until: SimTime) -> u64 {
        let start = self.events;
        if self.stalled_at.is_some() || self.model.halted() {
            return 0;
        }
        while let Some((time, event)) = self.scheduler.queue.pop_if_at_or_before(until) {
            if !self.dispatch(time, event) {
                return self.events - start;
            }
        }
        self.scheduler.now = self.scheduler.now.max(until);
        self.events - start
    }

    /// Runs at most `n` events. Returns how many ran (fewer when none are pending or the run stops).
    pub fn step(&mut self, n: u64) -> u64 {
        let start = self.events;
        while self.events - start < n && self.stalled_at.is_none() && !self.model.halted() {
            let Some((time, event)) = self.scheduler.queue.pop() else {
                break;
            };
            self.dispatch(time, event);
        }
        self.events - start
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records the order events run in; each event may schedule one follow-up.
    struct Recorder {
        seen: Vec<(SimTime, u32)>,
    }

    impl Model for Recorder {
        type Event = (u32, u64);
        fn handle(
            &mut self,
            now: SimTime,
            (tag, follow_up): (u32, u64),
            s: &mut Scheduler<(u32, u64)>,
        ) {
            self.seen.push((now, tag));
            if follow_up > 0 {
                s.after(follow_up, (tag + 100, 0));
            }
        }
    }

    #[test]
    fn ties_run_in_scheduling_order_and_time_never_goes_back() {
        let mut sim = Simulation::new(Recorder { seen: vec![] });
        {
            let (_, s) = sim.parts_mut();
            s.at(10, (1, 0));
            s.at(5, (2, 5));
            s.at(10, (3, 0));
            s.at(0, (4, 0));
        }
        assert_eq!(sim.run_until(9), 2);
        assert_eq!(sim.now(), 9);
        sim.run_until(100);
        // (2) at 5 schedules (102) at 10, after (1) and (3) were scheduled: it runs last among the ties.
        assert_eq!(
            sim.model().seen,
            vec![(0, 4), (5, 2), (10, 1), (10, 3), (10, 102)]
        );
        assert_eq!(sim.events(), 5);
        assert_eq!(sim.now(), 100);
    }

    /// Schedules itself again at the same instant, forever.
    struct Spinner;

    impl Model for Spinner {
        type Event = ();
        fn handle(&mut self, _now: SimTime, _event: (), s: &mut Scheduler<()>) {
            s.after(0, ());
        }
    }

    #[test]
    fn a_zero_delay_loop_stops_instead_of_hanging() {
        let mut sim = Simulation::new(Spinner);
        sim.parts_mut().1.at(7, ());
        let ran = sim.run_until(1_000);
        assert_eq!(ran, MAX_EVENTS_PER_INSTANT + 1);
        assert_eq!(sim.stalled_at(), Some(7));
        assert_eq!(sim.run_until(2_000), 0);
    }

    #[test]
    fn step_runs_exactly_n_events() {
        let mut sim = Simulation::new(Recorder { seen: vec![] });
        for t in 0..10 {
            sim.parts_mut().1.at(t, (t as u32, 0));
        }
        assert_eq!(sim.step(3), 3);
        assert_eq!(sim.model().seen.len(), 3);
        assert_eq!(sim.step(100), 7);
        assert_eq!(sim.step(1), 0);
    }
}
