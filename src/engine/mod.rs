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

    /// Whether `event` only observes the model (a sample for the time series): it is not
    /// counted as an event, so how often a run is observed never moves where an event
    /// limit or a pause falls.
    fn observes(_event: &Self::Event) -> bool {
        false
    }
}

/// Events at one instant after which the engine looks for a zero-delay loop in the model
/// (a message circling with no delay): it stops the run unless the instant is one of a
/// large system, with many events pending (see [`Simulation::stalled_at`]).
pub const MAX_EVENTS_PER_INSTANT: u64 = 1_000_000;

/// Events at one instant allowed per event pending when [`MAX_EVENTS_PER_INSTANT`] is
/// reached: a big system may do a lot at one instant, but not this much more than it has
/// pending, unless something loops.
const EVENTS_PER_PENDING_AT_ONE_INSTANT: u64 = 16;

/// The most events one instant may have, however large the system.
const MAX_EVENTS_AT_ANY_INSTANT: u64 = 64 * MAX_EVENTS_PER_INSTANT;

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
    /// Events at the current instant after which to look for a zero-delay loop again.
    instant_limit: u64,
    /// Events pending when the current instant began: what a loop cannot inflate.
    instant_pending: usize,
    /// Set when time stopped advancing; see [`MAX_EVENTS_PER_INSTANT`].
    stalled_at: Option<SimTime>,
    /// The run pauses (or, at `event_limit`, ends) when `events` reaches this.
    pause_at: u64,
    /// Most events the run may execute in all; see [`Simulation::set_event_limit`].
    event_limit: u64,
}

impl<M: Model> Simulation<M> {
    /// Wraps a model that needs no initial events.
    pub fn new(model: M) -> Self {
        Self {
            scheduler: Scheduler::new(),
            model,
            events: 0,
            same_instant: 0,
            instant_limit: MAX_EVENTS_PER_INSTANT,
            instant_pending: 0,
            stalled_at: None,
            pause_at: u64::MAX,
            event_limit: u64::MAX,
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
            instant_limit: MAX_EVENTS_PER_INSTANT,
            instant_pending: 0,
            stalled_at: None,
            pause_at: u64::MAX,
            event_limit: u64::MAX,
        })
    }

    pub fn now(&self) -> SimTime {
        self.scheduler.now
    }

    /// Engine events executed so far, not counting those that only observe
    /// ([`Model::observes`]).
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

    /// The instant at which simulated time stopped advancing, if it did: more than
    /// [`MAX_EVENTS_PER_INSTANT`] events at it, and more than 16 for every event pending
    /// when it began (at most 64 million in all).
    pub fn stalled_at(&self) -> Option<SimTime> {
        self.stalled_at
    }

    /// Events executed at the current instant so far.
    pub fn events_at_this_instant(&self) -> u64 {
        self.same_instant + 1
    }

    /// Most events the run may execute; once it has, it runs no more
    /// ([`Simulation::event_limit_reached`]).
    pub fn set_event_limit(&mut self, limit: u64) {
        self.event_limit = limit;
        self.pause_at = self.pause_at.min(limit);
    }

    /// Whether the run has executed as many events as its limit allows.
    pub fn event_limit_reached(&self) -> bool {
        self.events >= self.event_limit
    }

    /// Handles one popped event. Returns false when the run must stop or pause.
    #[inline(always)]
    fn dispatch(&mut self, time: SimTime, event: M::Event) -> bool {
        if time == self.scheduler.now {
            self.same_instant += 1;
        } else {
            self.same_instant = 0;
            self.instant_limit = MAX_EVENTS_PER_INSTANT;
            self.instant_pending = self.scheduler.queue.len();
        }
        self.scheduler.now = time;
        let counted = !M::observes(&event);
        self.model.handle(time, event, &mut self.scheduler);
        self.events += u64::from(counted);
        if self.same_instant >= self.instant_limit && self.looping() {
            self.stalled_at = Some(time);
            return false;
        }
        self.events < self.pause_at && !self.model.halted()
    }

    /// Called when an instant has had `instant_limit` events: whether the model is taken
    /// to loop with no delay. A large system (many events pending when the instant began,
    /// not many scheduled since, which a loop could do) gets a higher limit for it.
    #[cold]
    fn looping(&mut self) -> bool {
        let allowed = (self.instant_pending as u64 + 1)
            .saturating_mul(EVENTS_PER_PENDING_AT_ONE_INSTANT)
            .min(MAX_EVENTS_AT_ANY_INSTANT);
        if allowed > self.same_instant {
            self.instant_limit = allowed;
            return false;
        }
        true
    }

    /// Runs every event with time <= `until`, then sets the clock to `until`.
    /// Stops early when the model halts, time stalls or the event limit is reached.
    /// Returns the number of events executed.
    pub fn run_until(&mut self, until: SimTime) -> u64 {
        self.run_until_or_pause(until, u64::MAX)
    }

    /// [`Simulation::run_until`], pausing after at most `max_events` events (then the
    /// clock stays at the last event's time, and a later call goes on from there: pausing
    /// never changes a run). Returns the number of events executed.
    pub fn run_until_or_pause(&mut self, until: SimTime, max_events: u64) -> u64 {
        let start = self.events;
        if self.stalled_at.is_some() || self.model.halted() || self.event_limit_reached() {
            return 0;
        }
        self.pause_at = start.saturating_add(max_events).min(self.event_limit);
        while let Some((time, event)) = self.scheduler.queue.pop_if_at_or_before(until) {
            if !self.dispatch(time, event) {
                self.pause_at = self.event_limit;
                return self.events - start;
            }
        }
        self.pause_at = self.event_limit;
        self.scheduler.now = self.scheduler.now.max(until);
        self.events - start
    }

    /// Runs at most `n` events. Returns how many ran (fewer when none are pending or the run stops).
    /// Observing events count here: one step is one event, whatever it is.
    pub fn step(&mut self, n: u64) -> u64 {
        let mut ran = 0;
        while ran < n
            && self.stalled_at.is_none()
            && !self.model.halted()
            && !self.event_limit_reached()
        {
            let Some((time, event)) = self.scheduler.queue.pop() else {
                break;
            };
            self.dispatch(time, event);
            ran += 1;
        }
        ran
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

    /// Fans out at one instant: `width` events, each scheduling one more until `depth`.
    struct Wide;

    impl Model for Wide {
        type Event = u32;
        fn handle(&mut self, _now: SimTime, depth: u32, s: &mut Scheduler<u32>) {
            if depth > 0 {
                s.after(0, depth - 1);
            }
        }
    }

    #[test]
    fn a_large_system_may_do_much_at_one_instant_without_being_taken_for_a_loop() {
        // 200,000 pending events, each going 9 hops at one instant: 2 million events,
        // more than the base limit but only 10 per pending event.
        let mut sim = Simulation::new(Wide);
        for _ in 0..200_000 {
            sim.parts_mut().1.at(3, 9);
        }
        assert_eq!(sim.run_until(10), 2_000_000);
        assert_eq!(sim.stalled_at(), None);
    }

    #[test]
    fn pausing_and_the_event_limit_stop_between_events() {
        let mut sim = Simulation::new(Recorder { seen: vec![] });
        for t in 0..10 {
            sim.parts_mut().1.at(t, (t as u32, 0));
        }
        sim.set_event_limit(7);
        assert_eq!(sim.run_until_or_pause(100, 3), 3);
        assert_eq!(sim.now(), 2, "a pause leaves the clock at the last event");
        assert_eq!(sim.run_until_or_pause(100, 3), 3);
        assert!(!sim.event_limit_reached());
        assert_eq!(sim.run_until(100), 1);
        assert!(sim.event_limit_reached());
        assert_eq!(sim.run_until(100), 0);
        assert_eq!(sim.step(5), 0);
        assert_eq!(sim.events(), 7);
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
