//! Synchronous calls between services: the call edges, and how they are wired.
//!
//! A worker calls its service's callees in turn. Each attempt asks the edge's
//! circuit breaker first (an open breaker fails the call at once and it is
//! not retried: failing fast is the point of the breaker); then the request
//! travels to the callee (the edge's latency), is handled there, and the
//! answer travels back. With no answer within the timeout the caller gives up
//! (the callee may still finish: its answer then arrives late and is wasted
//! work) and tries again after the backoff, up to `retries` more times. A
//! call that fails for good fails the caller's request: no further calls, no
//! publishes, a failure answered to its own caller.

use super::breaker::{Breaker, Permit};
use super::consumer::Output;
use super::generation::Generation;
use super::routing::{Variant, VariantInterner};
use super::sampling::ServiceSampler;
use super::service::{
    Caller, ClientStats, Phase, Request, ServiceMetrics, ServiceState, Services, service_of,
};
use super::world::{Event, NodeRef, World};
use crate::broker::index::ServiceId;
use crate::engine::rng::stream;
use crate::engine::{Scheduler, SimTime};
use crate::scenario::guarantees::CallPolicy;
use crate::scenario::{NodeKind, Scenario};

/// A call edge's counts; they restart at the end of the warm-up.
#[derive(Debug, Clone, Copy, Default)]
pub struct CallMetrics {
    /// Attempts sent to the callee.
    pub calls: u64,
    pub successes: u64,
    /// Attempts answered with a failure.
    pub failures: u64,
    pub timeouts: u64,
    /// Attempts failed at once by the open breaker, never sent.
    pub rejected: u64,
    /// Answers that came after the caller had given up (wasted work).
    pub late_answers: u64,
}

pub struct CallState {
    /// Caller and callee (indices into [`Services::nodes`]).
    pub from: u32,
    pub to: ServiceId,
    pub latency: SimTime,
    pub policy: CallPolicy,
    pub breaker: Option<Breaker>,
    pub metrics: CallMetrics,
}

impl World {
    /// The request's next call, or, when none is left, its completion.
    pub(super) fn next_call(&mut self, now: SimTime, slot: u32, scheduler: &mut Scheduler<Event>) {
        let services = &self.services;
        let Some(request) = services.requests.get(slot) else {
            return;
        };
        let edge = services
            .nodes
            .get(request.service)
            .and_then(|n| n.calls.get(request.call as usize))
            .copied();
        match edge {
            Some(edge) => self.attempt(now, slot, edge, scheduler),
            None => self.complete(now, slot, scheduler),
        }
    }

    /// One attempt of call edge `edge` by request `slot`.
    fn attempt(&mut self, now: SimTime, slot: u32, edge: u32, scheduler: &mut Scheduler<Event>) {
        let services = &mut self.services;
        let Some(call) = services.calls.get_mut(edge as usize) else {
            return;
        };
        let permit = match &mut call.breaker {
            Some(breaker) => breaker.permit(now),
            None => Permit::Go(Generation::default()),
        };
        let Permit::Go(episode) = permit else {
            call.metrics.rejected += 1;
            self.finish_request(now, slot, false, scheduler);
            return;
        };
        let (to, latency, timeout) = (call.to, call.latency, call.policy.timeout.nanos);
        let Some(request) = services.requests.get_mut(slot) else {
            return;
        };
        request.phase = Phase::Calling;
        request.generation.bump();
        request.episode = episode;
        let generation = request.generation;
        let callee = Request {
            phase: Phase::InTransit,
            service: to,
            caller: Caller::Service {
                request: slot,
                generation,
                call: edge,
            },
            generation: Generation::default(),
            arrived_at: now,
            body: request.body,
            call: 0,
            attempt: 0,
            episode: Generation::default(),
            worker: 0,
        };
        let Some((callee_slot, callee_generation)) = services.requests.insert(callee) else {
            self.requests_at_capacity();
            self.finish_request(now, slot, false, scheduler);
            return;
        };
        call.metrics.calls += 1;
        scheduler.after(
            latency,
            Event::RequestArrive {
                request: callee_slot,
                generation: callee_generation,
            },
        );
        scheduler.after(
            timeout,
            Event::CallTimeout {
                request: slot,
                generation,
            },
        );
    }

    /// A callee's answer reaches the caller; `outcome` is the call edge << 1 | success.
    pub(super) fn call_answer(
        &mut self,
        now: SimTime,
        slot: u32,
        generation: Generation,
        outcome: u32,
        scheduler: &mut Scheduler<Event>,
    ) {
        let (edge, ok) = (outcome >> 1, outcome & 1 == 1);
        let services = &mut self.services;
        let Some(call) = services.calls.get_mut(edge as usize) else {
            return;
        };
        let current = services
            .requests
            .current(slot, generation)
            .filter(|r| r.phase == Phase::Calling)
            .copied();
        let Some(request) = current else {
            call.metrics.late_answers += 1;
            return;
        };
        if let Some(breaker) = &mut call.breaker {
            breaker.record(now, request.episode, !ok);
        }
        if !ok {
            call.metrics.failures += 1;
            self.attempt_failed(now, slot, edge, scheduler);
            return;
        }
        call.metrics.successes += 1;
        if let Some(request) = services.requests.get_mut(slot) {
            request.generation.bump();
            request.call += 1;
            request.attempt = 0;
        }
        self.next_call(now, slot, scheduler);
    }

    /// No answer in time: the caller gives up on this attempt.
    pub(super) fn call_timeout(
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
            .filter(|r| r.phase == Phase::Calling)
            .copied()
        else {
            return;
        };
        let Some(edge) = services
            .nodes
            .get(request.service)
            .and_then(|n| n.calls.get(request.call as usize))
            .copied()
        else {
            return;
        };
        if let Some(call) = services.calls.get_mut(edge as usize) {
            call.metrics.timeouts += 1;
            if let Some(breaker) = &mut call.breaker {
                breaker.record(now, request.episode, true);
            }
        }
        self.attempt_failed(now, slot, edge, scheduler);
    }

    /// An attempt failed or timed out: back off and try again, or fail the request.
    fn attempt_failed(
        &mut self,
        now: SimTime,
        slot: u32,
        edge: u32,
        scheduler: &mut Scheduler<Event>,
    ) {
        let services = &mut self.services;
        let Some(policy) = services.calls.get(edge as usize).map(|c| c.policy) else {
            return;
        };
        let Some(request) = services.requests.get_mut(slot) else {
            return;
        };
        request.generation.bump();
        let generation = request.generation;
        if request.attempt >= policy.retries {
            self.finish_request(now, slot, false, scheduler);
            return;
        }
        request.attempt += 1;
        request.phase = Phase::Backoff;
        scheduler.after(
            policy.backoff.nanos,
            Event::CallRetry {
                request: slot,
                generation,
            },
        );
    }

    /// The backoff is over: the same call again.
    pub(super) fn call_retry(
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
            .is_some_and(|r| r.phase == Phase::Backoff)
        {
            self.next_call(now, slot, scheduler);
        }
    }
}

impl Services {
    /// Wires the services, their call edges and their clients from a checked scenario.
    /// `interner` must already hold every variant the outputs' routing keys make.
    pub(super) fn build(
        scenario: &Scenario,
        node_refs: &[NodeRef],
        interner: &mut VariantInterner,
        client_targets: &[usize],
    ) -> Result<Services, super::error::BuildError> {
        let all_variants = interner.len();
        let mut nodes = Vec::new();
        let mut calls = Vec::new();
        for (index, node) in scenario.nodes.iter().enumerate() {
            let NodeKind::Service(spec) = &node.kind else {
                continue;
            };
            let from = nodes.len() as u32;
            let mut call_edges = Vec::with_capacity(spec.calls.len());
            for call in &spec.calls {
                let to = service_of(node_refs, call.target).ok_or_else(|| {
                    super::error::BuildError::UncheckedCall {
                        service: node.id.clone(),
                    }
                })?;
                call_edges.push(calls.len() as u32);
                calls.push(CallState {
                    from,
                    to,
                    latency: scenario.edges.get(call.edge).map_or(0, |e| e.latency_nanos),
                    policy: call.policy,
                    breaker: call.policy.circuit_breaker.map(Breaker::new),
                    metrics: CallMetrics::default(),
                });
            }
            nodes.push(ServiceState {
                node: index,
                concurrency: spec.concurrency.max(1),
                queue_limit: spec.queue_limit,
                service: ServiceSampler::new(spec.service),
                rng: stream(scenario.seed, &node.id),
                calls: call_edges,
                outputs: outputs(&spec.outputs, interner, all_variants)?,
                active: Vec::new(),
                waiting: Default::default(),
                alive: true,
                faults: Default::default(),
                slow_factor: 1.0,
                fault_failure: 0.0,
                metrics: ServiceMetrics::default(),
            });
        }
        let clients = client_targets
            .iter()
            .map(|&target| service_of(node_refs, target).map(|_| ClientStats::default()))
            .collect();
        Ok(Services::new(nodes, calls, clients, scenario.max_in_flight))
    }
}

/// The outputs of a consumer or service, with the variant each incoming variant
/// is published as when the output sets a routing key.
pub(super) fn outputs(
    specs: &[crate::scenario::Output],
    interner: &mut VariantInterner,
    all_variants: usize,
) -> Result<Vec<Output>, super::error::BuildError> {
    let mut outputs = Vec::with_capacity(specs.len());
    for output in specs {
        let rewrite = match &output.routing_key {
            None => None,
            Some(key) => {
                let mut table = Vec::with_capacity(all_variants);
                for v in 0..all_variants {
                    let headers = interner.headers(v);
                    table.push(interner.intern(Variant {
                        routing_key: Some(key.clone()),
                        headers,
                    })?);
                }
                Some(table)
            }
        };
        outputs.push(Output {
            target: output.target,
            edge: output.edge.into(),
            rewrite,
        });
    }
    Ok(outputs)
}
