//! Faults: scheduled in the scenario or injected into a running session,
//! applied to consumers, services, queues, topics and edges. Faults due at one
//! instant apply after everything else at it, in the order they were
//! scheduled; `overlap.rs` combines faults that overlap on one target.

pub mod overlap;

use crate::broker::error::InjectError;
use crate::broker::generation::Generation;
use crate::broker::index::EdgeId;
use crate::broker::world::{Event, NodeRef, World};
use crate::engine::{Scheduler, SimTime};
use crate::scenario::FaultTarget;
use crate::scenario::raw::{EdgeKind, FaultKind};

impl World {
    /// Adds a fault at `now` (from the running session, not the scenario) and starts it: at
    /// once, or after what is still scheduled at `now` when that instant has not run yet.
    pub fn inject(
        &mut self,
        now: SimTime,
        fault: crate::scenario::Fault,
        scheduler: &mut Scheduler<Event>,
    ) -> Result<(), InjectError> {
        self.now = now;
        // The checker's rules for the fault's own settings.
        let partitions = match fault.target {
            FaultTarget::Node(n) => match self.node_refs.get(n) {
                Some(NodeRef::Topic(t)) => {
                    self.topics.get(*t).map_or(0, |t| t.partitions.len() as u32)
                }
                _ => 0,
            },
            FaultTarget::Edge(_) => 0,
        };
        if let Some((field, message)) =
            crate::scenario::check::fault_kind_problem(&fault.kind, partitions)
        {
            return Err(InjectError::Setting { field, message });
        }
        let fits = match (fault.target, fault.kind) {
            (
                FaultTarget::Node(n),
                FaultKind::Crash | FaultKind::Slow { .. } | FaultKind::Fail { .. },
            ) => {
                matches!(
                    self.node_refs.get(n),
                    Some(NodeRef::Consumer(_) | NodeRef::Service(_))
                )
            }
            (FaultTarget::Node(n), FaultKind::BrokerFailure { .. }) => matches!(
                self.node_refs.get(n),
                Some(NodeRef::Queue(_) | NodeRef::Topic(_))
            ),
            (FaultTarget::Edge(e), kind) => {
                let e = EdgeId::from(e);
                let what = crate::scenario::check::LinkUse::of_fault(&kind)
                    .ok_or(InjectError::NotALinkFault)?;
                let link = self.links.get(e).ok_or(InjectError::NoSuchEdge)?;
                let kind_of = |n: usize| self.node_refs.get(n).map(|r| r.kind());
                let (Some(from), Some(to)) = (kind_of(link.from), kind_of(link.target)) else {
                    return Err(InjectError::NoSuchEdge);
                };
                let edge_kind = self.edges.get(e).map_or(EdgeKind::Normal, |&(_, k)| k);
                crate::scenario::check::link_allowed(from, to, edge_kind, what)
                    .map_err(InjectError::NotALink)?;
                true
            }
            _ => false,
        };
        if !fits {
            return Err(InjectError::WrongTarget);
        }
        let index = self.faults.len();
        self.faults.push(fault);
        if scheduler.next_time() == Some(now) {
            // This instant has not run yet (the session has just begun): the fault takes its
            // turn after what is scheduled at it, faults included, as in the saved scenario.
            crate::mark!(InjectedIntoUnrunInstant);
            scheduler.at(
                now,
                Event::FaultStart {
                    index: index as u32,
                },
            );
        } else {
            self.begin_fault(now, index, scheduler);
        }
        Ok(())
    }

    /// Fault `index` starts: apply it, and schedule its end.
    /// Fault `index` is due. Faults apply after everything else at their instant,
    /// as a fault injected into a running session does (the session had run that
    /// instant to its end), so that a saved session replays identically; faults
    /// due at one instant apply in the order they were scheduled.
    pub(in crate::broker) fn fault_start(
        &mut self,
        now: SimTime,
        index: usize,
        scheduler: &mut Scheduler<Event>,
    ) {
        self.deferred_faults.push(index as u32);
        if let Some(generation) = self.fault_flush.arm() {
            scheduler.at(now, Event::FlushFaults { generation });
        }
    }

    /// Applies the faults due now once nothing else is left at this instant.
    pub(in crate::broker) fn flush_faults(
        &mut self,
        now: SimTime,
        generation: Generation,
        scheduler: &mut Scheduler<Event>,
    ) {
        if !self.fault_flush.fire(generation) {
            return;
        }
        if scheduler.next_time() == Some(now) && self.fault_deferrals < MAX_FAULT_DEFERRALS {
            // Still to do at this instant: yield to it (the flush stays pending).
            self.fault_deferrals += 1;
            if let Some(generation) = self.fault_flush.arm() {
                scheduler.at(now, Event::FlushFaults { generation });
            }
            return;
        }
        self.fault_deferrals = 0;
        crate::mark!(FaultsAtOneInstant if self.deferred_faults.len() > 1);
        for index in std::mem::take(&mut self.deferred_faults) {
            self.begin_fault(now, index as usize, scheduler);
        }
    }

    /// Applies fault `index` now and schedules its end.
    fn begin_fault(&mut self, now: SimTime, index: usize, scheduler: &mut Scheduler<Event>) {
        let Some(fault) = self.faults.get(index).cloned() else {
            return;
        };
        if let Some(duration) = fault.duration_nanos {
            scheduler.after(
                duration,
                Event::FaultEnd {
                    index: index as u32,
                },
            );
        }
        self.apply_fault(now, fault.target, fault.kind, true, scheduler);
    }

    pub(in crate::broker) fn fault_end(
        &mut self,
        now: SimTime,
        index: usize,
        scheduler: &mut Scheduler<Event>,
    ) {
        let Some(fault) = self.faults.get(index).cloned() else {
            return;
        };
        self.apply_fault(now, fault.target, fault.kind, false, scheduler);
    }

    fn apply_fault(
        &mut self,
        now: SimTime,
        target: FaultTarget,
        kind: FaultKind,
        begins: bool,
        scheduler: &mut Scheduler<Event>,
    ) {
        let node = match target {
            FaultTarget::Node(node) => node,
            FaultTarget::Edge(edge) => {
                let edge = EdgeId::from(edge);
                let to = self.links.get(edge).map_or(usize::MAX, |link| link.target);
                match (kind, self.node_refs.get(to).copied()) {
                    (FaultKind::Cut, Some(NodeRef::Consumer(c))) => {
                        // The link counts the cuts; the consumer loses its connection.
                        self.link_fault(edge, kind, begins);
                        if begins {
                            self.disconnect(now, c, scheduler)
                        } else {
                            self.reconnect(now, c, scheduler)
                        }
                    }
                    _ => self.link_fault(edge, kind, begins),
                }
                return;
            }
        };
        if let FaultKind::BrokerFailure { partition } = kind {
            match (self.node_refs.get(node).copied(), begins) {
                (Some(NodeRef::Queue(q)), true) => self.queue_broker_failure(now, q, scheduler),
                (Some(NodeRef::Queue(q)), false) => self.queue_broker_restored(now, q, scheduler),
                (Some(NodeRef::Topic(t)), true) => {
                    self.leader_failure(now, t, partition, scheduler)
                }
                (Some(NodeRef::Topic(t)), false) => {
                    self.leader_restored(now, t, partition, scheduler)
                }
                _ => {}
            }
            return;
        }
        if let Some(NodeRef::Service(s)) = self.node_refs.get(node).copied() {
            self.service_fault(now, s, kind, begins, scheduler);
            return;
        }
        let Some(NodeRef::Consumer(c)) = self.node_refs.get(node).copied() else {
            return;
        };
        match (kind, begins) {
            (FaultKind::Crash, true) => self.crash(now, c, scheduler),
            (FaultKind::Crash, false) => self.restart(now, c, scheduler),
            (FaultKind::Slow { factor }, _) => {
                if let Some(consumer) = self.consumers.get_mut(c) {
                    if begins {
                        consumer.faults.slows.begin(factor);
                    } else {
                        consumer.faults.slows.end(factor);
                    }
                    consumer.slow_factor = consumer.faults.slows.product();
                }
            }
            (FaultKind::Fail { probability }, _) => {
                if let Some(consumer) = self.consumers.get_mut(c) {
                    if begins {
                        consumer.faults.fails.begin(probability);
                    } else {
                        consumer.faults.fails.end(probability);
                    }
                    consumer.fault_failure = consumer.faults.fails.any_chance();
                    consumer.may_fail = consumer.fault_failure > 0.0
                        || consumer.failure_probability > 0.0
                        || consumer.poison_fraction > 0.0;
                }
            }
            _ => {}
        }
    }
}

/// How many times a fault yields to other events at its instant before it applies.
const MAX_FAULT_DEFERRALS: u32 = 1024;
