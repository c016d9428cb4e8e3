//! Running a scenario: the one entry point the CLI, the benchmarks, the tests
//! and the desktop lab share.
//!
//! A [`Run`] wires a [`World`] from a checked [`Scenario`], advances it in
//! slices of simulated time (so a front can show progress, pace it against the
//! wall clock or stop it), keeps the time series (the world stops the engine when a
//! sample is due, and the run takes it before the next event), and produces the
//! [`Report`].

use crate::broker::error::{BuildError, Failure, InjectError, LedgerError};
use crate::broker::world::World;
use crate::engine::{SimTime, Simulation};
use crate::report::series::Series;
use crate::report::{Report, RunInfo};
use crate::scenario::raw::FaultKind;
use crate::scenario::{Fault, FaultTarget, Scenario};

/// Why a run could not start, or stopped early.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RunError {
    /// The scenario would need more memory than `limits.max_memory` allows; `path` is
    /// where in the file the biggest part comes from. A problem with the file.
    #[error("{path}: {message}")]
    TooBig { path: String, message: String },
    /// The model cannot be wired from the scenario (such as a routing table too big):
    /// a problem with the file.
    #[error("cannot build the model: {0}")]
    Build(#[from] BuildError),
    #[error("the run stopped at {at_seconds:.3} s of simulated time: {cause}")]
    Stopped { at_seconds: f64, cause: StopCause },
}

/// What stopped a run before its end.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum StopCause {
    /// The model hit a cap (memory, `limits.max_in_flight`).
    #[error(transparent)]
    Failure(Failure),
    /// The ledger check after every event found a disagreement (a bug in the model).
    #[error("after event {event}: {error}")]
    Ledger { event: u64, error: LedgerError },
    #[error(
        "simulated time stopped advancing: {events} events at one instant. A message is \
         probably circling with no delay, such as a consumer with zero processing time \
         publishing back into its own input, or calls retried with no backoff; give it a \
         processing time or a delay"
    )]
    Stalled { events: u64 },
    /// A projection found the run would need far more than `limits.max_events`.
    #[error(
        "at its pace over the first {events} engine events ({simulated_seconds:.6} s \
         simulated), the run needs about {needed:.2e} events to simulate \
         {duration_seconds:.3} s, far more than limits.max_events ({max_events}). Simulate \
         less time (--duration), lower the load, look for a retry or a loop with a tiny \
         delay, or raise limits.max_events"
    )]
    Hopeless {
        events: u64,
        simulated_seconds: f64,
        needed: f64,
        duration_seconds: f64,
        max_events: u64,
    },
    #[error(
        "it reached limits.max_events ({max_events} engine events) at {at_seconds:.3} s of \
         {duration_seconds:.3} s simulated; at this pace the whole run needs about \
         {needed:.2e} events. Simulate less time (--duration), lower the load, or raise \
         limits.max_events"
    )]
    EventLimit {
        max_events: u64,
        at_seconds: f64,
        duration_seconds: f64,
        needed: f64,
    },
}

impl StopCause {
    /// Whether a `limits.max_in_flight` cap stopped the run.
    pub fn is_in_flight_cap(&self) -> bool {
        matches!(self, StopCause::Failure(failure) if failure.is_in_flight_cap())
    }
}

impl RunError {
    /// Whether the scenario file is at fault (it asks for too much), rather than the run.
    pub fn is_the_files(&self) -> bool {
        matches!(self, RunError::TooBig { .. } | RunError::Build(_))
    }

    /// What stopped the run, if it started and stopped early.
    pub fn stop_cause(&self) -> Option<&StopCause> {
        match self {
            RunError::Stopped { cause, .. } => Some(cause),
            _ => None,
        }
    }
}

pub struct Run {
    sim: Simulation<World>,
    series: Series,
    name: String,
    seed: u64,
    duration_nanos: SimTime,
    warmup_nanos: SimTime,
    max_events: u64,
    /// Events at which the run next projects its whole length (see [`PROJECTION_FROM`]).
    next_projection: u64,
    /// Set when a projection found the run would need far more events than it may.
    hopeless: Option<f64>,
    /// Debugging: check the ledger's conservation law after every event.
    check_every_step: bool,
}

/// Events after which a run first projects how many its whole length needs, and again
/// at each doubling. A run that would need more than [`HOPELESS`] times
/// `limits.max_events` stops there, at once, instead of running to the limit. The
/// projection looks only at events and simulated time, so it stops every run of a
/// scenario at the same event, whatever the machine or the front.
pub const PROJECTION_FROM: u64 = 1 << 24;

/// How far over `limits.max_events` a projection must go to stop a run early: early
/// bursts may make the start of a run busier than its average.
pub const HOPELESS: f64 = 4.0;

impl Run {
    /// Wires the scenario's world, after checking that it fits in `limits.max_memory`.
    pub fn new(scenario: &Scenario) -> Result<Run, RunError> {
        let estimate = crate::broker::budget::estimate(scenario);
        estimate
            .check(scenario.max_memory_bytes)
            .map_err(|refusal| RunError::TooBig {
                path: refusal.path,
                message: refusal.message,
            })?;
        let routing_budget = scenario.max_memory_bytes.saturating_sub(estimate.total());
        let mut sim =
            Simulation::build(|scheduler| World::build(scenario, scheduler, routing_budget))
                .map_err(RunError::Build)?;
        sim.set_event_limit(scenario.max_events);
        let samples = scenario.duration_nanos / scenario.sample_every_nanos.max(1) + 1;
        let samples = usize::try_from(samples).unwrap_or(usize::MAX);
        let series = Series::new(sim.model(), samples).map_err(RunError::Build)?;
        Ok(Run {
            sim,
            series,
            name: scenario.name.clone(),
            seed: scenario.seed,
            duration_nanos: scenario.duration_nanos,
            warmup_nanos: scenario.warmup_nanos,
            max_events: scenario.max_events,
            next_projection: PROJECTION_FROM,
            hopeless: None,
            check_every_step: false,
        })
    }

    pub fn now(&self) -> SimTime {
        self.sim.now()
    }

    pub fn duration_nanos(&self) -> SimTime {
        self.duration_nanos
    }

    pub fn is_finished(&self) -> bool {
        self.sim.now() >= self.duration_nanos
    }

    /// Engine events executed so far.
    pub fn events(&self) -> u64 {
        self.sim.events()
    }

    /// The world, to change by hand (the broker's own tests).
    #[cfg(test)]
    pub(crate) fn world_mut(&mut self) -> &mut World {
        self.sim.parts_mut().0
    }

    pub fn world(&self) -> &World {
        self.sim.model()
    }

    /// The time series so far.
    pub fn series(&self) -> &Series {
        &self.series
    }

    /// Takes the sample of the time series the world stopped for, if it did. Called
    /// after everything that runs events, so the row reads the world at its instant.
    /// Returns whether there was one.
    fn take_sample(&mut self) -> bool {
        let now = self.sim.now();
        let world = self.sim.parts_mut().0;
        if !world.sample_due() {
            return false;
        }
        self.series.sample(now, world);
        world.sample_taken();
        true
    }

    /// Events still scheduled.
    pub fn pending_events(&self) -> usize {
        self.sim.scheduler().pending()
    }

    /// Debugging aid: check the ledger after every engine event (slow).
    pub fn set_check_every_step(&mut self, on: bool) {
        self.check_every_step = on;
    }

    /// Runs event by event to `until`, checking the ledger after each.
    fn advance_checked(&mut self, until: SimTime) -> Result<u64, RunError> {
        let mut executed = 0;
        while self.sim.scheduler().next_time().is_some_and(|t| t <= until)
            && self.sim.stalled_at().is_none()
            && self.sim.model().failure().is_none()
            && !self.sim.event_limit_reached()
        {
            executed += self.sim.step(1);
            self.take_sample();
            if let Err(error) = self.sim.model().check_ledger() {
                return Err(self.stopped(StopCause::Ledger {
                    event: self.sim.events(),
                    error,
                }));
            }
        }
        Ok(executed + self.sim.run_until(until))
    }

    /// Advances to `until` (capped at the scenario's duration).
    pub fn advance_to(&mut self, until: SimTime) -> Result<u64, RunError> {
        self.advance_to_or_pause(until, u64::MAX)
    }

    /// Advances to `until` (capped at the scenario's duration), pausing after about
    /// `max_events` events so a front can look at the clock, show progress or stop; a
    /// pause never changes the run. Returns the events executed.
    pub fn advance_to_or_pause(
        &mut self,
        until: SimTime,
        max_events: u64,
    ) -> Result<u64, RunError> {
        let until = until.min(self.duration_nanos);
        if self.check_every_step {
            let executed = self.advance_checked(until)?;
            return self.stop_reason().map_or(Ok(executed), Err);
        }
        let mut executed = 0;
        loop {
            // Pause at the next projection point, whatever pauses the front asks for.
            let to_projection = self.next_projection.saturating_sub(self.sim.events());
            let budget = (max_events - executed).min(to_projection.max(1));
            executed += self.sim.run_until_or_pause(until, budget);
            // A sample stops the engine before `until`, whatever the clock says.
            let sampled = self.take_sample();
            if self.sim.events() >= self.next_projection {
                self.next_projection = self.next_projection.saturating_mul(2);
                self.project();
            }
            if let Some(stopped) = self.stop_reason() {
                return Err(stopped);
            }
            let reached = self.sim.now() >= until && !sampled;
            if executed >= max_events || reached || self.sim.event_limit_reached() {
                return Ok(executed);
            }
        }
    }

    /// Projects the events the whole run needs from the pace so far, and marks the run
    /// hopeless when it is far over `limits.max_events`.
    fn project(&mut self) {
        let now = self.sim.now();
        if now == 0 {
            return;
        }
        let needed = self.sim.events() as f64 * self.duration_nanos as f64 / now as f64;
        if needed > HOPELESS * self.max_events as f64 {
            self.hopeless = Some(needed);
        }
    }

    /// Executes the next engine event, if it falls within the run (single-stepping in the lab).
    pub fn step_event(&mut self) -> Result<u64, RunError> {
        if self
            .sim
            .scheduler()
            .next_time()
            .is_none_or(|t| t > self.duration_nanos)
        {
            return Ok(0);
        }
        let executed = self.sim.step(1);
        self.take_sample();
        self.stop_reason().map_or(Ok(executed), Err)
    }

    /// The run stopped now, for `cause`.
    fn stopped(&self, cause: StopCause) -> RunError {
        RunError::Stopped {
            at_seconds: self.sim.now() as f64 / 1e9,
            cause,
        }
    }

    /// Why the run cannot go on, if it cannot: a model failure, stalled time, or the
    /// event limit reached before the end.
    fn stop_reason(&self) -> Option<RunError> {
        if let Some(failure) = self.sim.model().failure() {
            return Some(self.stopped(StopCause::Failure(failure.clone())));
        }
        if let Some(at) = self.sim.stalled_at() {
            return Some(RunError::Stopped {
                at_seconds: at as f64 / 1e9,
                cause: StopCause::Stalled {
                    events: self.sim.events_at_this_instant(),
                },
            });
        }
        let duration_seconds = self.duration_nanos as f64 / 1e9;
        if let Some(needed) = self.hopeless {
            return Some(self.stopped(StopCause::Hopeless {
                events: self.sim.events(),
                simulated_seconds: self.sim.now() as f64 / 1e9,
                needed,
                duration_seconds,
                max_events: self.max_events,
            }));
        }
        let more_to_do = self
            .sim
            .scheduler()
            .next_time()
            .is_some_and(|t| t <= self.duration_nanos);
        if self.sim.event_limit_reached() && more_to_do {
            let now = self.sim.now().max(1);
            let needed = self.sim.events() as f64 * self.duration_nanos as f64 / now as f64;
            return Some(self.stopped(StopCause::EventLimit {
                max_events: self.max_events,
                at_seconds: self.sim.now() as f64 / 1e9,
                duration_seconds,
                needed,
            }));
        }
        None
    }

    /// Runs to the end, calling `progress` with the fraction done after each slice.
    pub fn run_to_end(&mut self, mut progress: impl FnMut(f64)) -> Result<(), RunError> {
        let slices = 100u64;
        let step = (self.duration_nanos / slices).max(1);
        while !self.is_finished() {
            self.advance_to(self.sim.now() + step)?;
            progress(self.sim.now() as f64 / self.duration_nanos.max(1) as f64);
        }
        Ok(())
    }

    /// Whether the time series records latency quantiles per interval (on by
    /// default; a headless run that does not report the series turns it off).
    pub fn set_latency_series(&mut self, on: bool) {
        self.sim.parts_mut().0.set_interval_latency(on);
    }

    /// Injects a fault now, as if it had been scheduled for this instant. It is
    /// recorded with its time in [`Run::faults`], so a live session can be saved
    /// as a scenario and replayed identically.
    pub fn inject(
        &mut self,
        target: FaultTarget,
        kind: FaultKind,
        duration_nanos: Option<u64>,
    ) -> Result<(), InjectError> {
        let now = self.sim.now();
        let (world, scheduler) = self.sim.parts_mut();
        world.inject(
            now,
            Fault {
                at_nanos: now,
                target,
                kind,
                duration_nanos,
            },
            scheduler,
        )
    }

    /// Applies the tunable parameters of `scenario` (same nodes) to the running world:
    /// see [`World::retune`].
    pub fn retune(&mut self, scenario: &Scenario) {
        self.sim.parts_mut().0.retune(scenario);
    }

    /// Follows every `every`-th message hop by hop from now on (`None`: stop). The lab
    /// draws them; headless runs leave tracing off.
    pub fn set_tracing(&mut self, every: Option<u64>) {
        self.sim.parts_mut().0.set_tracing(every);
    }

    /// The hops of traced messages since the last call.
    pub fn take_hops(&mut self) -> Vec<crate::broker::trace::Hop> {
        self.sim.parts_mut().0.take_hops()
    }

    /// Every fault of the run so far: the scenario's, then those injected, in order of time.
    pub fn faults(&self) -> &[Fault] {
        self.sim.model().faults()
    }

    /// Checks the ledger's conservation law against the model's structures.
    pub fn check_ledger(&self) -> Result<(), LedgerError> {
        self.sim.model().check_ledger()
    }

    /// The report of the run so far, marked as partial with `reason` (the run stopped, or
    /// was stopped, before its end).
    pub fn partial_report(
        &self,
        reason: &str,
        wall_seconds: Option<f64>,
        include_series: bool,
    ) -> Report {
        let mut report = self.report(wall_seconds, include_series);
        report.mark_partial(reason, self.duration_nanos);
        report
    }

    pub fn report(&self, wall_seconds: Option<f64>, include_series: bool) -> Report {
        Report::new(
            self.sim.model(),
            RunInfo {
                scenario: &self.name,
                seed: self.seed,
                warmup_nanos: self.warmup_nanos,
                now: self.sim.now(),
                events: self.sim.events(),
                wall_seconds,
                series: include_series.then_some(&self.series),
            },
        )
    }
}

/// Runs a scenario to the end and returns its report (no timing, no series).
pub fn run(scenario: &Scenario) -> Result<Report, RunError> {
    let mut run = Run::new(scenario)?;
    run.set_latency_series(false);
    run.run_to_end(|_| {})?;
    Ok(run.report(None, false))
}
