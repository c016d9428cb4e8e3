//! Request/response services: the synchronous baseline that a queue-based
//! design is compared against.
//!
//! A service has `concurrency` workers and at most `queue_limit` requests
//! waiting for one (beyond that a request is refused at once). A worker
//! processes a request (a draw from the service's processing time), then calls
//! each downstream service in turn and waits for the answer (`call.rs`: the
//! call edges with their timeouts, retries and circuit breakers), then
//! publishes an event to each output (queues, exchanges, topics: the
//! asynchronous hand-off, fire-and-forget), then answers its caller. Because
//! the worker stays busy while it waits, a slow or failing callee holds the
//! caller's workers: that is how an outage cascades up a synchronous chain,
//! and what a queue in between absorbs.
//!
//! Requests live in their own slab with their own ledger (`request.rs`);
//! what a service publishes is a message like a producer's, counted as
//! produced in the message ledger. A crash fails every request the service
//! holds, waiting or in service, and resets its circuit breakers (their state
//! lives in its memory); requests that arrive while it is down are refused.
//! Events name a request by its slot and its *generation*, bumped whenever the
//! request moves on, so an event about an earlier step (a timeout after the
//! answer came, an answer after a crash) is recognised as stale.

use crate::broker::index::{ProducerId, ServiceId};
use std::collections::VecDeque;
use typed_index_collections::TiVec;

use rand::RngExt;

use super::call::{CallMetrics, CallState};
use super::consumer::Output;
use super::error::{Failure, LedgerError};
use super::generation::Generation;
pub use super::request::{Body, Caller, ClientStats, Phase, Request, RequestLedger, Requests};
use super::sampling::ServiceSampler;
use super::world::{Event, Message, NodeRef, World};
use crate::engine::rng::Stream;
use crate::engine::{Scheduler, SimTime};
use crate::metrics::{NodeHistogram, TimeAverage};
use crate::scenario::raw::FaultKind;

/// A service's measurements; they restart at the end of the warm-up.
#[derive(Default)]
pub struct ServiceMetrics {
    /// Requests that reached the service, refused ones included.
    pub received: u64,
    pub succeeded: u64,
    /// Admitted requests that failed: processing failed, a call failed, or a crash.
    pub failed: u64,
    /// Refused on arrival: the waiting line was full or the service was down.
    pub refused: u64,
    pub crashes: u64,
    /// Arrival -> answer, for admitted requests.
    pub latency: NodeHistogram,
    /// Workers busy (processing or waiting on a call).
    pub busy: TimeAverage,
    pub waiting: TimeAverage,
    pub started: u64,
    pub service_nanos: u128,
}

impl ServiceMetrics {
    fn reset(&mut self, now: SimTime) {
        self.received = 0;
        self.succeeded = 0;
        self.failed = 0;
        self.refused = 0;
        self.crashes = 0;
        self.latency.reset();
        self.busy.reset(now);
        self.waiting.reset(now);
        self.started = 0;
        self.service_nanos = 0;
    }
}

pub struct ServiceState {
    pub node: usize,
    pub concurrency: u32,
    pub queue_limit: Option<u32>,
    pub(super) service: ServiceSampler,
    pub(super) rng: Stream,
    /// Its call edges, in call order (indices into [`Services::calls`]).
    pub calls: Vec<u32>,
    pub(super) outputs: Vec<Output>,
    /// Requests holding a worker.
    pub active: Vec<u32>,
    pub waiting: VecDeque<u32>,
    /// False while crashed.
    pub alive: bool,
    /// The faults on it now.
    pub faults: super::faults::overlap::NodeFaults,
    /// Processing-time multiplier from slow-downs (`faults.slows` combined).
    pub slow_factor: f64,
    /// Failure probability from faults (`faults.fails` combined).
    pub fault_failure: f64,
    pub metrics: ServiceMetrics,
}

/// Every service, call edge and request.
pub struct Services {
    pub nodes: TiVec<ServiceId, ServiceState>,
    pub calls: Vec<CallState>,
    pub requests: Requests,
    /// Every client's requests together.
    pub total: ClientStats,
    /// Per producer: its requests, or `None` for a producer that publishes messages.
    pub clients: Vec<Option<ClientStats>>,
}

impl Services {
    pub(super) fn new(
        nodes: Vec<ServiceState>,
        calls: Vec<CallState>,
        clients: Vec<Option<ClientStats>>,
        cap: u64,
    ) -> Self {
        Self {
            nodes: nodes.into(),
            calls,
            requests: Requests::with_cap(usize::try_from(cap).unwrap_or(usize::MAX)),
            total: ClientStats::default(),
            clients,
        }
    }

    pub(super) fn reset(&mut self, now: SimTime) {
        for node in &mut self.nodes {
            node.metrics.reset(now);
        }
        for call in &mut self.calls {
            call.metrics = CallMetrics::default();
            if let Some(breaker) = &mut call.breaker {
                breaker.reset(now);
            }
        }
        self.total.latency.reset();
        self.total.failed_latency.reset();
        for client in self.clients.iter_mut().flatten() {
            client.latency.reset();
            client.failed_latency.reset();
        }
    }

    /// Recounts requests from the services' lists and compares with the request ledger.
    pub fn check(&self) -> Result<(), LedgerError> {
        let from_clients = self
            .requests
            .iter()
            .filter(|(_, r)| matches!(r.caller, Caller::Client { .. }))
            .count() as u64;
        if from_clients != self.total.ledger.in_flight() {
            return Err(LedgerError::RequestsInFlight {
                found: from_clients,
                ledger: self.total.ledger,
            });
        }
        let client_sum = self.clients.iter().flatten().fold((0, 0, 0), |acc, c| {
            (
                acc.0 + c.ledger.sent,
                acc.1 + c.ledger.succeeded,
                acc.2 + c.ledger.failed,
            )
        });
        if client_sum
            != (
                self.total.ledger.sent,
                self.total.ledger.succeeded,
                self.total.ledger.failed,
            )
        {
            return Err(LedgerError::ClientCounts {
                clients: client_sum,
                ledger: self.total.ledger,
            });
        }
        let mut held = 0usize;
        for (s, node) in self.nodes.iter_enumerated() {
            let holds = |slot: &u32, phases: &[Phase]| {
                self.requests
                    .get(*slot)
                    .is_some_and(|r| r.service == s && phases.contains(&r.phase))
            };
            let working = [Phase::Working, Phase::Calling, Phase::Backoff];
            if node.active.len() > node.concurrency as usize
                || !node.active.iter().all(|slot| holds(slot, &working))
                || !node
                    .waiting
                    .iter()
                    .all(|slot| holds(slot, &[Phase::Waiting]))
            {
                return Err(LedgerError::ServiceLists { service: s.index() });
            }
            held += node.active.len() + node.waiting.len();
        }
        let admitted = self
            .requests
            .iter()
            .filter(|(_, r)| r.phase != Phase::InTransit)
            .count();
        if held != admitted {
            return Err(LedgerError::RequestsAtServices { admitted, held });
        }
        Ok(())
    }
}

impl World {
    /// Producer `p` sends a request to service `s`.
    pub(super) fn client_request(
        &mut self,
        now: SimTime,
        p: ProducerId,
        s: ServiceId,
        body: Body,
        scheduler: &mut Scheduler<Event>,
    ) {
        let services = &mut self.services;
        services.total.ledger.sent += 1;
        if let Some(Some(client)) = services.clients.get_mut(p.index()) {
            client.ledger.sent += 1;
        }
        let request = Request {
            phase: Phase::InTransit,
            service: s,
            caller: Caller::Client { producer: p },
            generation: Generation::default(),
            arrived_at: now,
            body,
            call: 0,
            attempt: 0,
            episode: Generation::default(),
            worker: 0,
        };
        match services.requests.insert(request) {
            Some((slot, _)) => self.admit(now, slot, scheduler),
            None => {
                self.requests_at_capacity();
                self.client_answered(now, p, now, false);
            }
        }
    }

    pub(super) fn requests_at_capacity(&mut self) {
        let cap = self.services.requests.cap();
        self.fail(Failure::TooManyRequests { cap });
    }

    /// A request reaches its service along a call edge.
    pub(super) fn request_arrive(
        &mut self,
        now: SimTime,
        slot: u32,
        generation: Generation,
        scheduler: &mut Scheduler<Event>,
    ) {
        if self
            .services
            .requests
            .current(slot, generation)
            .is_some_and(|r| r.phase == Phase::InTransit)
        {
            if let Some(request) = self.services.requests.get_mut(slot) {
                request.arrived_at = now;
            }
            self.admit(now, slot, scheduler);
        }
    }

    /// A request at its service: a worker takes it, it waits, or it is refused.
    fn admit(&mut self, now: SimTime, slot: u32, scheduler: &mut Scheduler<Event>) {
        let services = &mut self.services;
        let Some(s) = services.requests.get(slot).map(|r| r.service) else {
            return;
        };
        let Some(node) = services.nodes.get_mut(s) else {
            return;
        };
        node.metrics.received += 1;
        let limit = node.queue_limit.map_or(usize::MAX, |l| l as usize);
        if node.alive && node.active.len() < node.concurrency as usize {
            self.start_work(now, slot, scheduler);
        } else if node.alive && node.waiting.len() < limit {
            node.waiting.push_back(slot);
            node.metrics.waiting.set(now, node.waiting.len() as u64);
            if let Some(request) = services.requests.get_mut(slot) {
                request.phase = Phase::Waiting;
            }
        } else {
            node.metrics.refused += 1;
            self.answer(now, slot, false, scheduler);
        }
    }

    /// A worker of the request's service takes it.
    fn start_work(&mut self, now: SimTime, slot: u32, scheduler: &mut Scheduler<Event>) {
        let services = &mut self.services;
        let Some(request) = services.requests.get_mut(slot) else {
            return;
        };
        let Some(node) = services.nodes.get_mut(request.service) else {
            return;
        };
        request.phase = Phase::Working;
        request.generation.bump();
        let generation = request.generation;
        request.worker = node.active.len() as u32;
        node.active.push(slot);
        node.metrics.busy.set(now, node.active.len() as u64);
        let mut time = node.service.sample(&mut node.rng);
        if node.slow_factor != 1.0 {
            time = (time as f64 * node.slow_factor).clamp(0.0, 1e15) as u64;
        }
        node.metrics.started += 1;
        node.metrics.service_nanos += u128::from(time);
        scheduler.after(
            time,
            Event::RequestDone {
                request: slot,
                generation,
            },
        );
    }

    /// Processing is over: the request fails (a fault), or its calls begin.
    pub(super) fn request_done(
        &mut self,
        now: SimTime,
        slot: u32,
        generation: Generation,
        scheduler: &mut Scheduler<Event>,
    ) {
        let services = &mut self.services;
        let Some(request) = services
            .requests
            .current(slot, generation)
            .filter(|r| r.phase == Phase::Working)
            .copied()
        else {
            return;
        };
        let Some(node) = services.nodes.get_mut(request.service) else {
            return;
        };
        let failed = node.fault_failure > 0.0 && node.rng.random::<f64>() < node.fault_failure;
        if failed {
            self.finish_request(now, slot, false, scheduler);
        } else {
            self.next_call(now, slot, scheduler);
        }
    }

    /// Every call succeeded: publish to the outputs, then answer.
    pub(super) fn complete(&mut self, now: SimTime, slot: u32, scheduler: &mut Scheduler<Event>) {
        let Some(request) = self.services.requests.get(slot).copied() else {
            return;
        };
        let s = request.service;
        let outputs = self.services.nodes.get(s).map_or(0, |n| n.outputs.len());
        for o in 0..outputs {
            let Some(output) = self.services.nodes.get(s).and_then(|n| n.outputs.get(o)) else {
                break;
            };
            let body = request.body;
            let variant = output.variant_of(body.variant);
            let target = output.target;
            let key_seq = super::flow::next_key_seq(&mut self.key_seq, body.key);
            let message = Message {
                id: self.new_message_id(),
                produced_at: now,
                enqueued_at: now,
                offset: 0,
                key: body.key,
                key_seq,
                size: body.size,
                partition: 0,
                hand: 0,
                variant,
                attempts: 0,
                deliveries: 0,
                priority: body.priority,
                flags: 0,
                processing: false,
                producer: 0,
            };
            self.ledger.produced += 1;
            self.window.produced += 1;
            self.publish(now, target, message, None, scheduler);
        }
        self.finish_request(now, slot, true, scheduler);
    }

    /// The request's worker is done with it: answer, and take the next waiting request.
    pub(super) fn finish_request(
        &mut self,
        now: SimTime,
        slot: u32,
        ok: bool,
        scheduler: &mut Scheduler<Event>,
    ) {
        let services = &mut self.services;
        let Some(request) = services.requests.get(slot).copied() else {
            return;
        };
        let Some(node) = services.nodes.get_mut(request.service) else {
            return;
        };
        release(node, &mut services.requests, request.worker);
        node.metrics.busy.set(now, node.active.len() as u64);
        record_outcome(node, now, request.arrived_at, ok);
        self.answer(now, slot, ok, scheduler);
        self.take_waiting(now, request.service, scheduler);
    }

    /// Hands waiting requests to free workers.
    fn take_waiting(&mut self, now: SimTime, s: ServiceId, scheduler: &mut Scheduler<Event>) {
        loop {
            let Some(node) = self.services.nodes.get_mut(s) else {
                return;
            };
            if !node.alive || node.active.len() >= node.concurrency as usize {
                return;
            }
            let Some(next) = node.waiting.pop_front() else {
                return;
            };
            node.metrics.waiting.set(now, node.waiting.len() as u64);
            self.start_work(now, next, scheduler);
        }
    }

    /// Sends a request's answer to its caller and frees the request.
    fn answer(&mut self, now: SimTime, slot: u32, ok: bool, scheduler: &mut Scheduler<Event>) {
        let services = &mut self.services;
        let Some(request) = services.requests.get(slot).copied() else {
            return;
        };
        services.requests.remove(slot);
        match request.caller {
            Caller::Client { producer } => {
                self.client_answered(now, producer, request.arrived_at, ok)
            }
            Caller::Service {
                request: caller,
                generation,
                call,
            } => {
                let latency = services.calls.get(call as usize).map_or(0, |c| c.latency);
                scheduler.after(
                    latency,
                    Event::CallAnswer {
                        request: caller,
                        generation,
                        outcome: call << 1 | u32::from(ok),
                    },
                );
            }
        }
    }

    fn client_answered(&mut self, now: SimTime, producer: ProducerId, sent_at: SimTime, ok: bool) {
        let services = &mut self.services;
        let latency = now.saturating_sub(sent_at);
        services.total.answered(latency, ok);
        if let Some(Some(client)) = services.clients.get_mut(producer.index()) {
            client.answered(latency, ok);
        }
    }

    /// A crash, slow-down or failure fault on service `s` begins or ends.
    pub(super) fn service_fault(
        &mut self,
        now: SimTime,
        s: ServiceId,
        kind: FaultKind,
        begins: bool,
        scheduler: &mut Scheduler<Event>,
    ) {
        let services = &mut self.services;
        let Some(node) = services.nodes.get_mut(s) else {
            return;
        };
        match kind {
            // A crash while crashed changes nothing, but keeps it down until both end.
            FaultKind::Crash if begins && !node.faults.crashes.begin() => {}
            FaultKind::Crash if begins => {
                node.alive = false;
                node.metrics.crashes += 1;
                // Breakers live in the caller's memory: it restarts with them closed.
                for &c in &node.calls {
                    if let Some(breaker) = services
                        .calls
                        .get_mut(c as usize)
                        .and_then(|call| call.breaker.as_mut())
                    {
                        breaker.restart(now);
                    }
                }
                self.crash_service(now, s, scheduler);
            }
            // Up again when the last overlapping crash ends.
            FaultKind::Crash if node.faults.crashes.end() => node.alive = true,
            FaultKind::Crash => {}
            FaultKind::Slow { factor } => {
                if begins {
                    node.faults.slows.begin(factor);
                } else {
                    node.faults.slows.end(factor);
                }
                node.slow_factor = node.faults.slows.product();
            }
            FaultKind::Fail { probability } => {
                if begins {
                    node.faults.fails.begin(probability);
                } else {
                    node.faults.fails.end(probability);
                }
                node.fault_failure = node.faults.fails.any_chance();
            }
            _ => {}
        }
    }

    /// Every waiting and in-service request of service `s` fails at once.
    fn crash_service(&mut self, now: SimTime, s: ServiceId, scheduler: &mut Scheduler<Event>) {
        let Some(node) = self.services.nodes.get_mut(s) else {
            return;
        };
        let mut dropped: Vec<u32> = node.waiting.drain(..).collect();
        dropped.append(&mut node.active);
        node.metrics.busy.set(now, 0);
        node.metrics.waiting.set(now, 0);
        for slot in dropped {
            if let Some(request) = self.services.requests.get(slot).copied()
                && let Some(node) = self.services.nodes.get_mut(s)
            {
                record_outcome(node, now, request.arrived_at, false);
            }
            self.answer(now, slot, false, scheduler);
        }
    }
}

/// Takes the request at `worker` out of the service's active list.
fn release(node: &mut ServiceState, requests: &mut Requests, worker: u32) {
    let worker = worker as usize;
    if worker >= node.active.len() {
        return;
    }
    node.active.swap_remove(worker);
    if let Some(&moved) = node.active.get(worker)
        && let Some(request) = requests.get_mut(moved)
    {
        request.worker = worker as u32;
    }
}

fn record_outcome(node: &mut ServiceState, now: SimTime, arrived_at: SimTime, ok: bool) {
    if ok {
        node.metrics.succeeded += 1;
    } else {
        node.metrics.failed += 1;
    }
    node.metrics.latency.record(now.saturating_sub(arrived_at));
}

/// The service index of a node, if it is a service.
pub(super) fn service_of(node_refs: &[NodeRef], node: usize) -> Option<ServiceId> {
    match node_refs.get(node) {
        Some(NodeRef::Service(s)) => Some(*s),
        _ => None,
    }
}
