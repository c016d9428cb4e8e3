//! Running a scenario: the one entry point the CLI, the benchmarks, the tests
//! and the desktop lab share.
//!
//! A [`Run`] wires a [`World`] from a checked [`Scenario`], advances it in
//! slices of simulated time (so a front can show progress, pace it against the
//! wall clock or stop it), and produces the [`Report`].

use crate::broker::world::World;
use crate::engine::{SimTime, Simulation};
use crate::metrics::report::{Report, RunInfo};
use crate::scenario::raw::FaultKind;
use crate::scenario::{Fault, FaultTarget, Scenario};

/// Why a run stopped early.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RunError {
    #[error("cannot build the model: {0}")]
    Build(String),
    #[error("the run stopped at {at_seconds:.3} s of simulated time: {message}")]
    Stopped { at_seconds: f64, message: String },
}

pub struct Run {
    sim: Simulation<World>,
    name: String,
    seed: u64,
    duration_nanos: SimTime,
    warmup_nanos: SimTime,
    slice_nanos: SimTime,
    /// Debugging: check the ledger's conservation law after every event.
    check_every_step: bool,
}

impl Run {
    pub fn new(scenario: &Scenario) -> Result<Run, RunError> {
        let sim = Simulation::build(|scheduler| World::build(scenario, scheduler))
            .map_err(RunError::Build)?;
        Ok(Run {
            sim,
            name: scenario.name.clone(),
            seed: scenario.seed,
            duration_nanos: scenario.duration_nanos,
            warmup_nanos: scenario.warmup_nanos,
            slice_nanos: scenario.sample_every_nanos.max(1),
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

    pub fn world(&self) -> &World {
        self.sim.model()
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
            && self.sim.model().failure.is_none()
        {
            executed += self.sim.step(1);
            if let Err(message) = self.sim.model().check_ledger() {
                return Err(RunError::Stopped {
                    at_seconds: self.sim.now() as f64 / 1e9,
                    message: format!("after event {}: {message}", self.sim.events()),
                });
            }
        }
        Ok(executed + self.sim.run_until(until))
    }

    /// Advances to `until` (capped at the scenario's duration).
    pub fn advance_to(&mut self, until: SimTime) -> Result<u64, RunError> {
        let until = until.min(self.duration_nanos);
        if self.check_every_step {
            let executed = self.advance_checked(until)?;
            return self.stop_reason().map_or(Ok(executed), Err);
        }
        let mut executed = 0;
        // In slices, so a failure (a memory cap hit) stops the run promptly.
        while self.sim.now() < until {
            let next = (self.sim.now() + self.slice_nanos).min(until);
            executed += self.sim.run_until(next);
            if let Some(stopped) = self.stop_reason() {
                return Err(stopped);
            }
        }
        Ok(executed)
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
        self.stop_reason().map_or(Ok(executed), Err)
    }

    /// Why the run cannot go on, if it cannot: a model failure or stalled time.
    fn stop_reason(&self) -> Option<RunError> {
        if let Some(message) = &self.sim.model().failure {
            return Some(RunError::Stopped {
                at_seconds: self.sim.now() as f64 / 1e9,
                message: message.clone(),
            });
        }
        self.sim.stalled_at().map(|at| RunError::Stopped {
            at_seconds: at as f64 / 1e9,
            message: format!(
                "simulated time stopped advancing: more than {} events at one instant. \
                 A message is probably circling with no delay, such as a consumer with zero \
                 processing time publishing back into its own input; give it a processing time",
                crate::engine::MAX_EVENTS_PER_INSTANT
            ),
        })
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
        self.sim.parts_mut().0.series.set_latency(on);
    }

    /// Injects a fault now, as if it had been scheduled for this instant. It is
    /// recorded with its time in [`Run::faults`], so a live session can be saved
    /// as a scenario and replayed identically.
    pub fn inject(
        &mut self,
        target: FaultTarget,
        kind: FaultKind,
        duration_nanos: Option<u64>,
    ) -> Result<(), String> {
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
        &self.sim.model().faults
    }

    /// Checks the ledger's conservation law against the model's structures.
    pub fn check_ledger(&self) -> Result<(), String> {
        self.sim.model().check_ledger()
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
                include_series,
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
