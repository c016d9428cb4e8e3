//! The simulation thread of the lab.
//!
//! The engine runs on its own named thread, driven by a small tokio runtime: a paced
//! clock, [`RunCommand`]s in through a channel, the latest [`Snapshot`] out through a
//! watch channel, and time-series [`Point`]s out through a second channel so that the
//! plots miss none. The UI thread only sends commands and reads what is there: it
//! never waits on the engine.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};

use crate::broker::trace::Hop;
use crate::broker::world::{NodeRef, World};
use crate::report::Report;
use crate::report::groups;
use crate::report::status::{Consequences, Status};
use crate::run::Run;
use crate::scenario::raw::FaultKind;
use crate::scenario::{Fault, FaultTarget, Scenario};

/// How fast simulated time goes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Speed {
    /// Simulated seconds per wall-clock second (0.01 is slow motion).
    Paced(f64),
    /// As fast as the engine goes.
    FlatOut,
}

/// What the UI asks of the engine.
#[derive(Debug)]
pub enum RunCommand {
    /// Replaces the run with a fresh one of this scenario, paused at time zero.
    Load(Box<Scenario>),
    /// No run: the scenario being edited cannot run as it is.
    Unload,
    Play,
    Pause,
    /// Executes one engine event (paused).
    Step,
    /// Back to time zero, paused, with the same scenario.
    Reset,
    SetSpeed(Speed),
    /// New values for the parameters that can change during a run (same nodes): see
    /// [`Run::retune`]. A later reset starts from this scenario.
    Retune(Box<Scenario>),
    /// A fault at the current simulated time, through [`Run::inject`].
    Inject {
        target: FaultTarget,
        kind: FaultKind,
        duration_nanos: Option<u64>,
    },
}

/// A node's live state, for its badge on the canvas.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodeStatus {
    pub id: String,
    /// One or two short lines: depth, lag, processed, ...
    pub badge: String,
    /// Crashed, slowed, failing, or a broker down: shown in red or amber.
    pub alarm: Option<String>,
    /// What befell copies here so far: the coloured pills under the node.
    pub consequences: Consequences,
    /// A queue's ready and unacknowledged copies, drawn as its fill.
    pub backlog: Option<(u64, u64)>,
    /// A topic's partitions and groups, drawn as lanes under it.
    pub lanes: Option<groups::Lanes>,
    /// A group member's partitions.
    pub assignment: Option<groups::Assignment>,
}

/// The latest state of the run, published after every slice.
#[derive(Default)]
pub struct Snapshot {
    /// Counts the scenarios loaded, so the UI can tell a new run's snapshots apart.
    pub load: u64,
    pub now_nanos: u64,
    pub duration_nanos: u64,
    pub events: u64,
    /// Engine events per wall-clock second, over the last second or so.
    pub events_per_s: f64,
    pub playing: bool,
    pub finished: bool,
    /// Why the run stopped early (a memory cap, stalled time) or could not be built.
    pub error: Option<String>,
    /// Why the last injected fault was refused.
    pub refused: Option<crate::broker::error::InjectError>,
    pub report: Option<Arc<Report>>,
    pub nodes: Vec<NodeStatus>,
    /// Per edge, what a link fault is doing to it now (cut, delayed, lossy).
    pub edges: Vec<Option<String>>,
    /// The scenario's faults and those injected so far.
    pub faults: Vec<Fault>,
    /// One message in this many is traced (dots on the canvas, the message trace).
    pub trace_every: u64,
}

/// One sample of the time series: what the plots draw.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Point {
    pub load: u64,
    pub time_s: f64,
    pub produced_per_s: f64,
    /// Extra copies made of what was produced (fan-out): an exchange routing to several
    /// queues, a topic read by several groups, a consumer publishing to several outputs.
    pub fanned_out_per_s: f64,
    /// Copies processed: with fan-out, up to as many per message as it has copies.
    pub processed_per_s: f64,
    /// Over the interval just ended; `None` when nothing was processed in it.
    pub latency_ms: Option<[f64; 3]>,
    /// Per queue: (id, ready, unacked).
    pub queues: Vec<(String, u64, u64)>,
    /// Per topic group: ("topic/group", lag per partition).
    pub lags: Vec<(String, Vec<u64>)>,
    /// Cumulative counts since the start.
    pub retries: u64,
    pub dead_lettered: u64,
    pub duplicates: u64,
    pub lost: u64,
    pub reordered: u64,
    /// Each node's consequences so far (only nodes that have any), for the Failures tab
    /// split per node.
    pub nodes: Vec<(String, Consequences)>,
    /// Rebalances of every group so far: the plots mark each one.
    pub rebalances: u64,
}

/// The UI's handle on the simulation thread.
pub struct Runner {
    commands: mpsc::UnboundedSender<RunCommand>,
    snapshot: watch::Receiver<Arc<Snapshot>>,
    points: mpsc::UnboundedReceiver<Point>,
    hops: mpsc::UnboundedReceiver<(u64, Vec<Hop>)>,
}

impl Runner {
    /// Starts the simulation thread. `repaint` is called whenever there is something new
    /// to show (the lab passes `egui::Context::request_repaint`).
    pub fn start(repaint: impl Fn() + Send + 'static) -> std::io::Result<Runner> {
        let (commands, command_rx) = mpsc::unbounded_channel();
        let (snapshot_tx, snapshot) = watch::channel(Arc::new(Snapshot::default()));
        let (point_tx, points) = mpsc::unbounded_channel();
        let (hop_tx, hops) = mpsc::unbounded_channel();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()?;
        std::thread::Builder::new()
            .name("evlab-engine".into())
            .spawn(move || {
                let mut engine = Engine {
                    run: None,
                    scenario: None,
                    load: 0,
                    playing: false,
                    speed: Speed::Paced(1.0),
                    anchor: None,
                    error: None,
                    refused: None,
                    next_sample: 0,
                    last_sample: (0, 0, 0, 0),
                    rate: (Instant::now(), 0, 0.0),
                    snapshot: snapshot_tx,
                    points: point_tx,
                    hops: hop_tx,
                    trace_every: 1,
                    repaint: Box::new(repaint),
                    report: None,
                    flat_chunk_nanos: 1_000_000,
                };
                runtime.block_on(engine.serve(command_rx));
            })?;
        Ok(Runner {
            commands,
            snapshot,
            points,
            hops,
        })
    }

    pub fn send(&self, command: RunCommand) {
        // The thread ends only when this handle is dropped, so sending cannot fail while
        // the lab runs; if it ever did, there would be no engine to tell anyway.
        let _ = self.commands.send(command);
    }

    /// The latest snapshot (never waits).
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.borrow().clone()
    }

    /// Hops of traced messages published since the last call, with the run they belong to.
    pub fn drain_hops(&mut self) -> Vec<(u64, Vec<Hop>)> {
        let mut out = Vec::new();
        while let Ok(hops) = self.hops.try_recv() {
            out.push(hops);
        }
        out
    }

    /// Time-series points published since the last call.
    pub fn drain_points(&mut self) -> Vec<Point> {
        let mut out = Vec::new();
        while let Ok(point) = self.points.try_recv() {
            out.push(point);
        }
        out
    }
}

/// Traced hops per published slice above which fewer messages are traced.
const HOPS_PER_SLICE: usize = 2000;

/// How often the paced clock ticks, and the most a slice may take when flat out.
const TICK: Duration = Duration::from_millis(16);

struct Engine {
    run: Option<Run>,
    scenario: Option<Box<Scenario>>,
    load: u64,
    playing: bool,
    speed: Speed,
    /// (wall instant, simulated nanos) when the paced clock was last set.
    anchor: Option<(Instant, u64)>,
    error: Option<String>,
    refused: Option<crate::broker::error::InjectError>,
    next_sample: u64,
    /// (time, produced, processed) at the last sample.
    /// When the last point was taken, and the ledger's produced, fanned-out and processed
    /// counts then.
    last_sample: (u64, u64, u64, u64),
    /// (since, events then, events per second) for the status bar.
    rate: (Instant, u64, f64),
    snapshot: watch::Sender<Arc<Snapshot>>,
    points: mpsc::UnboundedSender<Point>,
    hops: mpsc::UnboundedSender<(u64, Vec<Hop>)>,
    /// Trace one message in this many; doubled when the hops come too fast to draw.
    trace_every: u64,
    repaint: Box<dyn Fn() + Send>,
    /// Simulated time advanced per slice when flat out, tuned to take about one tick.
    flat_chunk_nanos: u64,
    /// The last full report and when it was made: while the run plays, a new one at most
    /// every `REPORT_EVERY` (the badges and plots read the cheap status every slice).
    report: Option<(Instant, Arc<Report>)>,
}

/// How often a playing run's full report is rebuilt for the Report tab; a paused,
/// stepped or finished run's is always current.
const REPORT_EVERY: Duration = Duration::from_millis(500);

impl Engine {
    async fn serve(&mut self, mut commands: mpsc::UnboundedReceiver<RunCommand>) {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            let running = self.playing && self.run.as_ref().is_some_and(|r| !r.is_finished());
            tokio::select! {
                command = commands.recv() => {
                    let Some(command) = command else { return };
                    self.handle(command);
                    // Take every command waiting before running on.
                    while let Ok(command) = commands.try_recv() {
                        self.handle(command);
                    }
                    self.publish();
                }
                _ = tick.tick(), if running => {
                    self.advance();
                    self.publish();
                }
            }
        }
    }

    fn handle(&mut self, command: RunCommand) {
        match command {
            RunCommand::Load(scenario) => {
                self.scenario = Some(scenario);
                self.reset();
            }
            RunCommand::Unload => {
                self.scenario = None;
                self.reset();
            }
            RunCommand::Reset => self.reset(),
            RunCommand::Play => {
                self.playing = true;
                self.anchor = None;
            }
            RunCommand::Pause => self.playing = false,
            RunCommand::Step => {
                self.playing = false;
                if let Some(run) = &mut self.run
                    && let Err(e) = run.step_event()
                {
                    self.error = Some(e.to_string());
                }
                self.sample_if_due();
            }
            RunCommand::Retune(scenario) => {
                if let Some(run) = &mut self.run {
                    run.retune(&scenario);
                }
                self.scenario = Some(scenario);
            }
            RunCommand::SetSpeed(speed) => {
                self.speed = speed;
                self.anchor = None;
            }
            RunCommand::Inject {
                target,
                kind,
                duration_nanos,
            } => {
                if let Some(run) = &mut self.run {
                    self.refused = run.inject(target, kind, duration_nanos).err();
                }
            }
        }
    }

    fn reset(&mut self) {
        self.load += 1;
        self.playing = false;
        self.anchor = None;
        self.error = None;
        self.refused = None;
        self.next_sample = 0;
        self.last_sample = (0, 0, 0, 0);
        self.report = None;
        self.run = None;
        if let Some(scenario) = &self.scenario {
            match Run::new(scenario) {
                Ok(mut run) => {
                    self.trace_every = 1;
                    run.set_tracing(Some(self.trace_every));
                    self.run = Some(run);
                }
                Err(e) => self.error = Some(e.to_string()),
            }
        }
        self.sample_if_due();
    }

    /// Runs one slice: to where the paced clock says, or about one tick's worth flat out.
    fn advance(&mut self) {
        let Some(run) = &mut self.run else { return };
        let started = Instant::now();
        let target = match self.speed {
            Speed::Paced(speed) => {
                let (wall, sim) = *self.anchor.get_or_insert((started, run.now()));
                let target = sim + (wall.elapsed().as_secs_f64() * speed * 1e9) as u64;
                // Too far behind (the engine cannot keep up): start the clock afresh.
                if target > run.now() + (speed * 0.25e9) as u64 {
                    self.anchor = Some((started, run.now()));
                }
                target
            }
            Speed::FlatOut => run.now() + self.flat_chunk_nanos,
        };
        let result = self.advance_sampled(target);
        if let Err(e) = result {
            self.error = Some(e);
            self.playing = false;
        }
        if self.speed == Speed::FlatOut {
            // Aim each slice at half a tick of wall time.
            let took = started.elapsed().as_secs_f64().max(1e-4);
            let aim = TICK.as_secs_f64() / 2.0;
            let scale = (aim / took).clamp(0.5, 2.0);
            self.flat_chunk_nanos = ((self.flat_chunk_nanos as f64 * scale) as u64).max(1000);
        }
    }

    /// Advances to `target`, stopping at every sample time on the way to take a point.
    fn advance_sampled(&mut self, target: u64) -> Result<(), String> {
        loop {
            let Some(run) = &mut self.run else {
                return Ok(());
            };
            if run.now() >= target || run.is_finished() {
                return Ok(());
            }
            let until = target.min(self.next_sample);
            run.advance_to(until).map_err(|e| e.to_string())?;
            self.sample_if_due();
        }
    }

    fn sample_if_due(&mut self) {
        let Some(run) = &self.run else { return };
        let every = self
            .scenario
            .as_ref()
            .map_or(100_000_000, |s| s.sample_every_nanos.max(1));
        if run.now() < self.next_sample {
            return;
        }
        let now = run.now();
        let point = self.point();
        self.next_sample = (now / every + 1) * every;
        let _ = self.points.send(point);
    }

    fn point(&mut self) -> Point {
        let Some(run) = &self.run else {
            return Point::default();
        };
        let world = run.world();
        let now = run.now();
        let ledger = world.ledger();
        let (then, produced_then, fanned_then, processed_then) = self.last_sample;
        let dt = (now.saturating_sub(then)) as f64 / 1e9;
        let per_s = |now: u64, then: u64| {
            if dt > 0.0 {
                now.saturating_sub(then) as f64 / dt
            } else {
                0.0
            }
        };
        let status = Status::of(world);
        let series = run.series();
        let latency_ms = match (
            series.latency_p50_ms.last(),
            series.latency_p95_ms.last(),
            series.latency_p99_ms.last(),
        ) {
            (Some(&p50), Some(&p95), Some(&p99)) if p99 > 0.0 => Some([p50, p95, p99]),
            _ => None,
        };
        let point = Point {
            load: self.load,
            time_s: now as f64 / 1e9,
            produced_per_s: per_s(ledger.produced, produced_then),
            fanned_out_per_s: per_s(ledger.fanned_out, fanned_then),
            processed_per_s: per_s(ledger.processed, processed_then),
            latency_ms,
            queues: status.queues,
            lags: status.lags,
            retries: status.retries,
            dead_lettered: status.dead_lettered,
            duplicates: status.duplicates,
            lost: status.lost,
            reordered: status.reordered,
            nodes: consequences_so_far(world),
            rebalances: groups::rebalances(world),
        };
        self.last_sample = (now, ledger.produced, ledger.fanned_out, ledger.processed);
        point
    }

    fn publish(&mut self) {
        if let Some(run) = &mut self.run {
            let hops = run.take_hops();
            // More than the canvas can show: follow fewer messages from now on.
            if hops.len() > HOPS_PER_SLICE {
                self.trace_every *= 2;
                run.set_tracing(Some(self.trace_every));
            }
            if !hops.is_empty() {
                let _ = self.hops.send((self.load, hops));
            }
        }
        let snapshot = match &self.run {
            Some(run) => {
                let (since, events_then, _) = self.rate;
                let elapsed = since.elapsed().as_secs_f64();
                if elapsed >= 0.5 {
                    let rate = (run.events() - events_then.min(run.events())) as f64 / elapsed;
                    self.rate = (Instant::now(), run.events(), rate);
                }
                let playing = self.playing && !run.is_finished() && self.error.is_none();
                let stale = self
                    .report
                    .as_ref()
                    .is_none_or(|(made, _)| !playing || made.elapsed() >= REPORT_EVERY);
                if stale {
                    self.report = Some((Instant::now(), Arc::new(run.report(None, false))));
                }
                Snapshot {
                    load: self.load,
                    now_nanos: run.now(),
                    duration_nanos: run.duration_nanos(),
                    events: run.events(),
                    events_per_s: if self.playing { self.rate.2 } else { 0.0 },
                    playing,
                    finished: run.is_finished(),
                    error: self.error.clone(),
                    refused: self.refused.clone(),
                    nodes: statuses(run),
                    edges: run.world().link_alarms().collect(),
                    report: self.report.as_ref().map(|(_, report)| Arc::clone(report)),
                    faults: run.faults().to_vec(),
                    trace_every: self.trace_every,
                }
            }
            None => Snapshot {
                load: self.load,
                error: self.error.clone(),
                ..Snapshot::default()
            },
        };
        let _ = self.snapshot.send(Arc::new(snapshot));
        (self.repaint)();
    }
}

/// The nodes that have had any consequence so far, with their counts.
fn consequences_so_far(world: &World) -> Vec<(String, Consequences)> {
    world
        .ids()
        .iter()
        .zip(crate::report::status::consequences(world))
        .filter(|(_, c)| *c != Consequences::default())
        .map(|(id, c)| (id.clone(), c))
        .collect()
}

/// Each node's badge, alarm, consequences, backlog, lanes and assignment.
fn statuses(run: &Run) -> Vec<NodeStatus> {
    let world = run.world();
    let now = run.now();
    world
        .ids()
        .iter()
        .zip(crate::report::status::badges(world))
        .zip(crate::report::status::consequences(world))
        .zip(world.node_refs())
        .zip(groups::assignments(world))
        .map(
            |((((id, badge), consequences), node_ref), assignment)| NodeStatus {
                id: id.clone(),
                badge,
                alarm: alarm(world, *node_ref),
                consequences,
                backlog: match *node_ref {
                    NodeRef::Queue(i) => world.queue(i).map(|q| (q.ready(), q.unacked())),
                    _ => None,
                },
                lanes: match *node_ref {
                    NodeRef::Topic(t) => Some(groups::lanes(world, t, now)),
                    _ => None,
                },
                assignment,
            },
        )
        .collect()
}

/// What is wrong with a node, in a word or two, while a fault or a crash holds it.
fn alarm(world: &World, node: NodeRef) -> Option<String> {
    let NodeRef::Consumer(i) = node else {
        return None;
    };
    let c = world.consumer(i)?;
    if !c.alive() {
        Some(
            if c.disconnected() {
                "disconnected"
            } else {
                "crashed"
            }
            .to_string(),
        )
    } else if c.fault_failure() > 0.0 {
        Some(format!("failing {:.0}%", c.fault_failure() * 100.0))
    } else if c.slow_factor() > 1.0 {
        Some(format!("slowed x{:.1}", c.slow_factor()))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario() -> Box<Scenario> {
        let (_, scenario) = crate::scenario::parse(
            r#"(version: 1, duration: "2s", sample_every: "100ms",
                nodes: [Producer(id: "p", arrival: Constant(rate: "100/s")), Queue(id: "q"),
                        Consumer(id: "c", service: Constant(time: "1ms"))],
                edges: [(from: "p", to: "q"), (from: "q", to: "c")])"#,
            "t.ron",
        )
        .unwrap();
        Box::new(scenario)
    }

    fn wait_for(runner: &Runner, what: impl Fn(&Snapshot) -> bool) -> Arc<Snapshot> {
        let started = Instant::now();
        loop {
            let snapshot = runner.snapshot();
            if what(&snapshot) {
                return snapshot;
            }
            assert!(started.elapsed() < Duration::from_secs(30), "timed out");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn flat_out_runs_to_the_end_with_every_sample() {
        let mut runner = Runner::start(|| {}).unwrap();
        runner.send(RunCommand::Load(scenario()));
        runner.send(RunCommand::SetSpeed(Speed::FlatOut));
        runner.send(RunCommand::Play);
        let end = wait_for(&runner, |s| s.finished);
        assert_eq!(end.now_nanos, 2_000_000_000);
        let report = end.report.as_ref().unwrap();
        assert_eq!(report.totals.produced, 200);
        // One point at time zero and one per 100 ms after it.
        let points = runner.drain_points();
        assert_eq!(
            points.len(),
            21,
            "{:?}",
            points.iter().map(|p| p.time_s).collect::<Vec<_>>()
        );
        assert!((points[10].produced_per_s - 100.0).abs() < 1e-9);
    }

    #[test]
    fn step_runs_one_event_and_a_crash_shows_on_the_badge() {
        let runner = Runner::start(|| {}).unwrap();
        runner.send(RunCommand::Load(scenario()));
        let start = wait_for(&runner, |s| s.report.is_some());
        assert_eq!(start.events, 0);
        runner.send(RunCommand::Step);
        wait_for(&runner, |s| s.events == 1);
        runner.send(RunCommand::Inject {
            target: FaultTarget::Node(2),
            kind: FaultKind::Crash,
            duration_nanos: None,
        });
        runner.send(RunCommand::Step);
        let crashed = wait_for(&runner, |s| {
            s.nodes
                .iter()
                .any(|n| n.id == "c" && n.alarm.as_deref() == Some("crashed"))
        });
        assert_eq!(crashed.faults.len(), 1);
    }
}
