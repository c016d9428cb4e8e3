//! The lab's side of the engine thread: loading the scenario as it is, play,
//! pause, step, speed, and faults injected into the running simulation.

use super::Lab;
use super::commands::Aim;
use super::runner::{RunCommand, Speed};
use crate::scenario::FaultTarget;
use crate::scenario::check::check;
use crate::scenario::guarantees::FaultKind;
use crate::scenario::raw::RawFault;
use crate::scenario::units::Duration;

impl Lab {
    /// Gives the runner the scenario as it is now (a fresh run at time zero), if it is valid.
    pub fn sync_run(&mut self) {
        self.refresh_problems();
        self.stale_run = false;
        self.canvas.pending.clear();
        match check(&self.doc.raw) {
            Ok(mut scenario) => {
                scenario.seed = self.doc.raw.seed;
                self.runner
                    .send(RunCommand::Load(Box::new(scenario.clone())));
                self.node_ids = scenario.nodes.iter().map(|n| n.id.clone()).collect();
                self.loaded = Some((self.doc.generation, scenario));
                self.loaded_raw = Some(self.doc.raw.clone());
                self.plots.points.clear();
            }
            Err(_) => {
                // The last valid scenario must not keep running under the edited one.
                self.runner.send(RunCommand::Unload);
                self.loaded = None;
                self.loaded_raw = None;
                self.node_ids.clear();
                self.plots.points.clear();
            }
        }
    }

    /// Starts the run afresh with the scenario as edited, and keeps it running if it was.
    pub fn restart_to_apply(&mut self) {
        let running = self.snapshot.playing;
        self.sync_run();
        if running {
            self.play();
        }
    }

    pub fn play(&mut self) {
        if self.stale_run || self.loaded.is_none() {
            self.sync_run();
        }
        if self.loaded.is_some() {
            self.send_speed();
            self.runner.send(RunCommand::Play);
        } else {
            self.status = Some((
                "Fix the scenario's problems to run it (see the inspector).".into(),
                true,
            ));
        }
    }

    pub fn pause(&mut self) {
        self.runner.send(RunCommand::Pause);
    }

    pub fn step(&mut self) {
        if self.stale_run || self.loaded.is_none() {
            self.sync_run();
        }
        if self.loaded.is_some() {
            self.runner.send(RunCommand::Step);
        } else {
            self.status = Some((
                "Fix the scenario's problems to run it (see the inspector).".into(),
                true,
            ));
        }
    }

    pub(super) fn send_speed(&self) {
        let speed = if self.flat_out {
            Speed::FlatOut
        } else {
            Speed::Paced(self.speed)
        };
        self.runner.send(RunCommand::SetSpeed(speed));
    }

    /// Injects a fault at the current simulated time.
    pub fn inject(&mut self, aim: &Aim, kind: FaultKind, duration: Option<Duration>) {
        let Some((_, scenario)) = &self.loaded else {
            self.status = Some((
                "Run the scenario first: faults happen to a running system.".into(),
                true,
            ));
            return;
        };
        let target = match aim {
            Aim::Node(id) => scenario
                .nodes
                .iter()
                .position(|n| &n.id == id)
                .map(FaultTarget::Node),
            Aim::Edge(index) => {
                (*index < scenario.edges.len()).then_some(FaultTarget::Edge(*index))
            }
        };
        match target {
            Some(target) => self.runner.send(RunCommand::Inject {
                target,
                kind,
                duration_nanos: duration.map(|d| d.nanos),
            }),
            None => {
                self.status = Some((
                    "Restart the run first: it does not have this node yet.".into(),
                    true,
                ))
            }
        }
    }

    /// The faults injected during this run (beyond the scenario's), as the file writes them.
    pub fn injected_faults(&self) -> Vec<RawFault> {
        let Some((_, scenario)) = &self.loaded else {
            return Vec::new();
        };
        self.snapshot
            .faults
            .iter()
            .skip(scenario.faults.len())
            .filter_map(|f| scenario.fault_to_raw(f))
            .collect()
    }
}
