//! Checks of the nodes that do work: consumers and request/response services,
//! with their processing times, guarantees and failure handling.

use super::{Checker, MAX_CONCURRENCY, NodeEdges};
use crate::scenario::Kind;
use crate::scenario::model::*;
use crate::scenario::raw::*;

pub(super) fn check_consumer(
    c: &mut Checker<'_>,
    p: &str,
    n: &RawConsumer,
    edges: &NodeEdges,
) -> Option<Consumer> {
    let incoming = &edges.incoming;
    if n.concurrency == 0 || n.concurrency > MAX_CONCURRENCY {
        c.problem(
            format!("{p}.concurrency"),
            format!("must be between 1 and {MAX_CONCURRENCY}"),
        );
    }
    let prefetch = n.prefetch.unwrap_or(n.concurrency);
    if prefetch == 0 {
        c.problem(
            format!("{p}.prefetch"),
            "must be >= 1 (a consumer with no credit never receives)",
        );
    }
    let service = check_processing(c, &format!("{p}.service"), &n.service);
    let source_edge = match incoming.as_slice() {
        [edge] => Some(*edge),
        [] => {
            c.problem(
                p,
                format!(
                    "consumer `{}` reads nothing: add an edge from a queue or a topic to it",
                    n.id
                ),
            );
            None
        }
        _ => {
            c.problem(p, format!("consumer `{}` reads from {} sources: a consumer reads one queue or topic (add a consumer per source)", n.id, incoming.len()));
            None
        }
    };
    let source = source_edge.and_then(|e| c.source_of(e));
    if let Some(source) = source
        && n.group.is_some()
        && c.node_kind(source) == Some(Kind::Queue)
    {
        c.problem(format!("{p}.group"), "consumer groups apply to topics; consumers of one queue already compete for its messages");
    }
    let outputs = outputs(c, &edges.normal);
    let dead_letter = c.at_most_one(p, &n.id, &edges.dead_letter, "dead-letter");
    let retry_to = c.at_most_one(p, &n.id, &edges.retry, "retry");
    check_guarantees(c, p, n, source.and_then(|s| c.node_kind(s)));
    Some(Consumer {
        group: n.group.clone().unwrap_or_else(|| n.id.clone()),
        concurrency: n.concurrency.max(1),
        prefetch: prefetch.max(1),
        service: service?,
        source: source?,
        source_edge: source_edge?,
        outputs,
        ack: n.ack,
        ack_delay_nanos: n.ack_delay.nanos,
        commit: n.commit,
        idempotency: n.idempotency,
        retry: n.retry,
        failure_probability: n.failure_probability,
        poison_fraction: n.poison_fraction,
        auto_offset_reset: n.auto_offset_reset,
        session_timeout_nanos: n.session_timeout.nanos,
        rebalance_nanos: n.rebalance_time.nanos,
        dead_letter,
        retry_to,
    })
}

/// Publish edges (consumer or service outputs).
fn outputs(c: &Checker<'_>, edges: &[usize]) -> Vec<Output> {
    edges
        .iter()
        .filter_map(|&e| {
            Some(Output {
                target: c.target_of(e)?,
                edge: e,
                routing_key: c.raw.edges.get(e)?.key.clone(),
            })
        })
        .collect()
}

fn probability(c: &mut Checker<'_>, path: String, p: f64) {
    if !(0.0..=1.0).contains(&p) {
        c.problem(path, "must be a probability between 0 and 1");
    }
}

fn check_guarantees(c: &mut Checker<'_>, p: &str, n: &RawConsumer, source_kind: Option<Kind>) {
    probability(c, format!("{p}.failure_probability"), n.failure_probability);
    probability(c, format!("{p}.poison_fraction"), n.poison_fraction);
    if n.retry.max_attempts == 0 {
        c.problem(
            format!("{p}.retry.max_attempts"),
            "must be >= 1 (the first attempt counts)",
        );
    }
    if let Backoff::Exponential { base, cap, .. } = n.retry.backoff {
        c.positive_duration(format!("{p}.retry.backoff.base"), base.nanos);
        if cap < base {
            c.problem(
                format!("{p}.retry.backoff.cap"),
                format!("must be >= base ({base})"),
            );
        }
    }
    match n.idempotency {
        Idempotency::Window { count: 0 } => {
            c.problem(format!("{p}.idempotency.count"), "must be >= 1")
        }
        Idempotency::TimeWindow { span } => {
            c.positive_duration(format!("{p}.idempotency.span"), span.nanos)
        }
        _ => {}
    }
    match n.commit {
        Commit::Interval { every } | Commit::Transactional { every } => {
            c.positive_duration(format!("{p}.commit.every"), every.nanos)
        }
        Commit::Batch { size: 0 } => c.problem(format!("{p}.commit.size"), "must be >= 1"),
        _ => {}
    }
    if source_kind == Some(Kind::Queue) && n.commit != Commit::default() {
        c.problem(
            format!("{p}.commit"),
            "offset commits apply to topics; a queue consumer acknowledges each message (see ack)",
        );
    }
}

/// A request/response service.
pub(super) fn check_service_node(
    c: &mut Checker<'_>,
    p: &str,
    n: &RawServiceNode,
    edges: &NodeEdges,
) -> Option<ServiceNode> {
    if n.concurrency == 0 || n.concurrency > MAX_CONCURRENCY {
        c.problem(
            format!("{p}.concurrency"),
            format!("must be between 1 and {MAX_CONCURRENCY}"),
        );
    }
    if edges.incoming.is_empty() {
        c.problem(p, format!("service `{}` receives no requests: add an edge to it from a producer or another service", n.id));
    }
    let service = check_processing(c, &format!("{p}.service"), &n.service);
    let mut calls = Vec::new();
    let mut publish = Vec::new();
    for &e in &edges.normal {
        let Some(target) = c.target_of(e) else {
            continue;
        };
        if c.node_kind(target) != Some(Kind::Service) {
            publish.push(e);
            continue;
        }
        let Some(policy) = c.raw.edges.get(e).and_then(|edge| edge.call) else {
            c.problem(format!("edges[{e}].call"), "a call between services needs a policy, such as call: (timeout: \"1s\", retries: 2)");
            continue;
        };
        c.positive_duration(format!("edges[{e}].call.timeout"), policy.timeout.nanos);
        if let Some(breaker) = policy.circuit_breaker {
            probability(
                c,
                format!("edges[{e}].call.circuit_breaker.failure_rate"),
                breaker.failure_rate,
            );
            if breaker.window == 0 || breaker.half_open_calls == 0 {
                c.problem(
                    format!("edges[{e}].call.circuit_breaker"),
                    "window and half_open_calls must be >= 1",
                );
            }
        }
        calls.push(Call {
            target,
            edge: e,
            policy,
        });
    }
    Some(ServiceNode {
        concurrency: n.concurrency.max(1),
        queue_limit: n.queue_limit,
        service: service?,
        calls,
        outputs: outputs(c, &publish),
    })
}

/// Refuses calls that go round in a circle (`a` calls `b` calls `a`): every
/// request would call again forever.
pub(super) fn check_call_cycles(c: &mut Checker<'_>, nodes: &[Node]) {
    let calls_of = |n: usize| match nodes.get(n).map(|node| &node.kind) {
        Some(NodeKind::Service(s)) => s.calls.iter().map(|call| call.target).collect(),
        _ => Vec::new(),
    };
    // Depth-first search with colours: 0 unvisited, 1 on the path, 2 done.
    let mut colour = vec![0u8; nodes.len()];
    for start in 0..nodes.len() {
        if colour.get(start) != Some(&0) || calls_of(start).is_empty() {
            continue;
        }
        let mut stack: Vec<(usize, Vec<usize>)> = vec![(start, calls_of(start))];
        if let Some(col) = colour.get_mut(start) {
            *col = 1;
        }
        while let Some((node, pending)) = stack.last_mut() {
            let node = *node;
            match pending.pop() {
                Some(next) => match colour.get(next) {
                    Some(0) => {
                        if let Some(col) = colour.get_mut(next) {
                            *col = 1;
                        }
                        stack.push((next, calls_of(next)));
                    }
                    Some(1) => {
                        let id = |n: usize| nodes.get(n).map_or("?", |node| node.id.as_str());
                        let p = c
                            .index
                            .get(id(node))
                            .map_or(String::new(), |i| format!("nodes[{i}]"));
                        c.problem(
                            p,
                            format!("service `{}` calls `{}`, which leads back to it: calls must not go round in a circle (publish to a queue to break it)", id(node), id(next)),
                        );
                        return;
                    }
                    _ => {}
                },
                None => {
                    if let Some(col) = colour.get_mut(node) {
                        *col = 2;
                    }
                    stack.pop();
                }
            }
        }
    }
}

pub(super) fn check_processing(
    c: &mut Checker<'_>,
    p: &str,
    service: &RawService,
) -> Option<Service> {
    const MAX_MEAN_NANOS: f64 = 1e15;
    let checked = match *service {
        RawService::Constant { time } => Service::Constant { nanos: time.nanos },
        RawService::Exponential { mean } => {
            c.positive_duration(format!("{p}.mean"), mean.nanos);
            Service::Exponential {
                mean_nanos: mean.nanos as f64,
            }
        }
        RawService::Uniform { min, max } => {
            if min > max {
                c.problem(format!("{p}.max"), format!("must be >= min ({min})"));
            }
            Service::Uniform {
                min_nanos: min.nanos,
                max_nanos: max.nanos,
            }
        }
        RawService::LogNormal { mean, stddev } => {
            c.positive_duration(format!("{p}.mean"), mean.nanos);
            let m = mean.nanos.max(1) as f64;
            let s = stddev.nanos as f64;
            let sigma2 = (1.0 + (s * s) / (m * m)).ln();
            Service::LogNormal {
                mu: m.ln() - sigma2 / 2.0,
                sigma: sigma2.sqrt(),
            }
        }
        RawService::Pareto { scale, shape } => {
            c.positive_duration(format!("{p}.scale"), scale.nanos);
            if !(shape.is_finite() && shape > 0.0) {
                c.problem(
                    format!("{p}.shape"),
                    "must be > 0 (above 1 for a finite mean; 2.5 is a common heavy tail)",
                );
                return None;
            }
            Service::Pareto {
                scale_nanos: scale.nanos as f64,
                shape,
            }
        }
    };
    if checked.mean_nanos() > MAX_MEAN_NANOS {
        c.problem(p, "has a mean above 11 days (or an infinite one): choose a shorter processing time or a Pareto shape above 1");
    }
    Some(checked)
}
