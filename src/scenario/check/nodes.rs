//! Checks of the broker-side nodes and the producer: what each accepts and how
//! it resolves its edges.

use std::collections::BTreeMap;

use super::{Checker, MAX_KEYS, MAX_PARTITIONS};
use crate::scenario::Kind;
use crate::scenario::model::*;
use crate::scenario::raw::*;

/// Kafka's defaults: segment.bytes (1 GiB), segment.ms (7 days) and
/// log.retention.check.interval.ms (5 minutes).
pub const KAFKA_SEGMENT_BYTES: u64 = 1 << 30;
pub const KAFKA_SEGMENT_ROLL: u64 = 7 * 24 * 3600 * 1_000_000_000;
pub const KAFKA_RETENTION_CHECK: u64 = 5 * 60 * 1_000_000_000;

pub(super) fn check_producer(
    c: &mut Checker<'_>,
    p: &str,
    n: &RawProducer,
    outgoing: &[usize],
) -> Option<Producer> {
    let arrival = check_arrival(c, p, &n.arrival);
    if n.size.bytes > u32::MAX as u64 {
        c.problem(format!("{p}.size"), "must be below 4GiB");
    }
    let keys = check_keys(c, p, &n.keys);
    if n.routing_key.is_some() && !n.routing_keys.is_empty() {
        c.problem(
            format!("{p}.routing_keys"),
            "give either routing_key or routing_keys, not both",
        );
    }
    let routing_keys = match &n.routing_key {
        Some(key) => vec![key.clone()],
        None => n.routing_keys.clone(),
    };
    let edge = producer_edge(c, p, n, outgoing);
    check_publishing(c, p, n);
    let edge = edge?;
    let target = c.target_of(edge)?;
    if c.node_kind(target) == Some(Kind::Service) && (n.acks != Acks::None || n.idempotent) {
        c.problem(
            format!("{p}.acks"),
            "a request to a service is answered: acks, retries and idempotence apply to publishing to a broker",
        );
    }
    Some(Producer {
        arrival,
        size_bytes: n.size.bytes.min(u32::MAX as u64) as u32,
        keys,
        routing_keys,
        headers: sorted(&n.headers),
        priority: n.priority.unwrap_or(0),
        target,
        edge,
        acks: n.acks,
        retry: n.retries,
        idempotent: n.idempotent,
    })
}

/// How a producer's messages arrive, checked.
fn check_arrival(c: &mut Checker<'_>, p: &str, arrival: &RawArrival) -> Arrival {
    match arrival {
        RawArrival::Constant { rate } => {
            c.positive_rate(format!("{p}.arrival.rate"), rate.per_sec);
            Arrival::Constant {
                rate_per_sec: rate.per_sec,
            }
        }
        RawArrival::Poisson { rate } => {
            c.positive_rate(format!("{p}.arrival.rate"), rate.per_sec);
            Arrival::Poisson {
                rate_per_sec: rate.per_sec,
            }
        }
        RawArrival::OnOff { rate, on, off } => {
            c.positive_rate(format!("{p}.arrival.rate"), rate.per_sec);
            c.positive_duration(format!("{p}.arrival.on"), on.nanos);
            Arrival::OnOff {
                rate_per_sec: rate.per_sec,
                on_nanos: on.nanos,
                off_nanos: off.nanos,
            }
        }
        RawArrival::Schedule { steps } => Arrival::Schedule {
            steps: check_schedule(c, p, steps),
        },
    }
}

/// A schedule's steps as (time, rate) pairs, starting at rate 0 when the first step is
/// later than time 0.
fn check_schedule(c: &mut Checker<'_>, p: &str, steps: &[RawRateStep]) -> Vec<(u64, f64)> {
    if steps.is_empty() {
        c.problem(
            format!("{p}.arrival.steps"),
            "needs at least one step such as (at: \"0s\", rate: \"100/s\")",
        );
    }
    let mut out = Vec::with_capacity(steps.len() + 1);
    if steps.first().is_some_and(|s| s.at.nanos > 0) {
        out.push((0, 0.0));
    }
    let mut last = None;
    for (k, step) in steps.iter().enumerate() {
        if !(step.rate.per_sec.is_finite() && step.rate.per_sec <= 1e9) {
            c.problem(
                format!("{p}.arrival.steps[{k}].rate"),
                "must be a finite rate <= 1e9/s",
            );
        }
        if last.is_some_and(|l| step.at.nanos <= l) {
            c.problem(
                format!("{p}.arrival.steps[{k}].at"),
                "steps must be in increasing time order",
            );
        }
        last = Some(step.at.nanos);
        out.push((step.at.nanos, step.rate.per_sec));
    }
    out
}

/// The keys a producer draws from, checked.
fn check_keys(c: &mut Checker<'_>, p: &str, keys: &RawKeys) -> Keys {
    match *keys {
        RawKeys::None => Keys::None,
        RawKeys::Uniform { count } => {
            check_key_count(c, p, count);
            Keys::Uniform { count }
        }
        RawKeys::Zipf { count, exponent } => {
            check_key_count(c, p, count);
            if !(exponent.is_finite() && exponent >= 0.0) {
                c.problem(
                    format!("{p}.keys.exponent"),
                    "must be >= 0 (0 is uniform; 1 is classic Zipf)",
                );
            }
            Keys::Zipf { count, exponent }
        }
    }
}

fn check_key_count(c: &mut Checker<'_>, p: &str, count: u32) {
    if count == 0 || count > MAX_KEYS {
        c.problem(
            format!("{p}.keys.count"),
            format!("must be between 1 and {MAX_KEYS}"),
        );
    }
}

/// The one edge a producer publishes on.
fn producer_edge(
    c: &mut Checker<'_>,
    p: &str,
    n: &RawProducer,
    outgoing: &[usize],
) -> Option<usize> {
    match outgoing {
        [edge] => Some(*edge),
        [] => {
            c.problem(p, format!("producer `{}` publishes nowhere: add an edge from it to an exchange, a queue, a topic or a service", n.id));
            None
        }
        _ => {
            c.problem(p, format!("producer `{}` has {} outgoing edges: a producer publishes to one target (use a fanout exchange to reach several)", n.id, outgoing.len()));
            None
        }
    }
}

/// Acknowledgements, retries and idempotence: the settings that must agree.
fn check_publishing(c: &mut Checker<'_>, p: &str, n: &RawProducer) {
    if n.retries.is_some() && n.acks == Acks::None {
        c.problem(format!("{p}.retries"), "a fire-and-forget producer never learns that a publish failed: set acks: Leader or acks: All to retry");
    }
    if let Some(retry) = n.retries {
        c.positive_duration(format!("{p}.retries.timeout"), retry.timeout.nanos);
    }
    if n.idempotent && n.acks != Acks::All {
        c.problem(
            format!("{p}.idempotent"),
            "Kafka's idempotent producer needs acks: All",
        );
    }
}

pub(super) fn sorted(map: &BTreeMap<String, String>) -> Vec<(String, String)> {
    map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

pub(super) fn check_exchange(
    c: &mut Checker<'_>,
    p: &str,
    n: &RawExchange,
    outgoing: &[usize],
    incoming: &[usize],
) -> Option<Exchange> {
    let alternate = match &n.alternate {
        None => None,
        Some(id) => match c.index.get(id.as_str()).copied() {
            Some(index) if c.node_kind(index) == Some(Kind::Exchange) && id != &n.id => Some(index),
            Some(_) => {
                c.problem(
                    format!("{p}.alternate"),
                    format!("`{id}` is not another exchange: an alternate must be an exchange"),
                );
                None
            }
            None => {
                c.unknown_node(format!("{p}.alternate"), id);
                None
            }
        },
    };
    let is_alternate = c.alternates.contains(n.id.as_str());
    if incoming.is_empty() && !is_alternate {
        c.problem(p, format!("exchange `{}` receives nothing: connect a producer or a consumer to it, or remove it", n.id));
    }
    let mut bindings = Vec::with_capacity(outgoing.len());
    for &e in outgoing {
        let Some(edge) = c.raw.edges.get(e) else {
            continue;
        };
        let Some(target) = c.index.get(edge.to.as_str()).copied() else {
            continue;
        };
        match n.exchange_type {
            ExchangeType::Direct | ExchangeType::Topic if edge.key.is_none() => {
                c.problem(
                    format!("edges[{e}].key"),
                    format!(
                        "a binding of {} exchange `{}` needs a key, such as key: \"orders.*\"",
                        type_name(n.exchange_type),
                        n.id
                    ),
                );
            }
            ExchangeType::Headers if edge.headers.is_empty() => {
                c.problem(format!("edges[{e}].headers"), format!("a binding of headers exchange `{}` needs headers to match, such as headers: {{\"format\": \"pdf\"}}", n.id));
            }
            _ => {}
        }
        bindings.push(Binding {
            target,
            key: edge.key.clone().unwrap_or_default(),
            headers: sorted(&edge.headers),
            x_match: edge.x_match.unwrap_or_default(),
        });
    }
    Some(Exchange {
        exchange_type: n.exchange_type,
        alternate,
        bindings,
    })
}

fn type_name(t: ExchangeType) -> &'static str {
    match t {
        ExchangeType::Direct => "direct",
        ExchangeType::Fanout => "fanout",
        ExchangeType::Topic => "topic",
        ExchangeType::Headers => "headers",
    }
}

pub(super) fn check_queue(
    c: &mut Checker<'_>,
    p: &str,
    n: &RawQueue,
    outgoing: &[usize],
    failed: &[usize],
) -> Queue {
    if n.max_length == Some(0) && n.overflow == Overflow::DropHead {
        c.problem(
            format!("{p}.max_length"),
            "0 with drop-head discards every message; use at least 1",
        );
    }
    if let Some(ttl) = n.ttl {
        c.positive_duration(format!("{p}.ttl"), ttl.nanos);
    }
    let consumers = outgoing.iter().filter_map(|&e| c.target_of(e)).collect();
    let dead_letter = c.at_most_one(p, &n.id, failed, "dead-letter or retry");
    match n.delivery {
        Delivery::Push => {}
        Delivery::Pull {
            visibility_timeout,
            max_receive_count,
        } => {
            c.positive_duration(
                format!("{p}.delivery.visibility_timeout"),
                visibility_timeout.nanos,
            );
            if max_receive_count == Some(0) {
                c.problem(format!("{p}.delivery.max_receive_count"), "must be >= 1");
            }
            if max_receive_count.is_some() && dead_letter.is_none() {
                c.problem(format!("{p}.delivery.max_receive_count"), format!("queue `{}` has no dead-letter edge for the redrive: add (from: \"{}\", to: \"...\", kind: DeadLetter)", n.id, n.id));
            }
        }
    }
    if n.max_deliveries == Some(0) {
        c.problem(format!("{p}.max_deliveries"), "must be >= 1");
    }
    Queue {
        max_length: n.max_length,
        overflow: n.overflow,
        ttl_nanos: n.ttl.map(|t| t.nanos),
        max_priority: n.max_priority.unwrap_or(0),
        consumers,
        durable: n.durable,
        delivery: n.delivery,
        max_deliveries: n.max_deliveries,
        dead_letter,
    }
}

pub(super) fn check_topic(
    c: &mut Checker<'_>,
    p: &str,
    n: &RawTopic,
    outgoing: &[usize],
) -> Option<Topic> {
    if n.partitions == 0 || n.partitions > MAX_PARTITIONS {
        c.problem(
            format!("{p}.partitions"),
            format!("must be between 1 and {MAX_PARTITIONS}"),
        );
    }
    if let Partitioner::Sticky { batch } = n.partitioner
        && batch == 0
    {
        c.problem(format!("{p}.partitioner.batch"), "must be >= 1");
    }
    if let Some(retention) = n.retention {
        c.positive_duration(format!("{p}.retention"), retention.nanos);
    }
    if n.retention_bytes.is_some_and(|b| b.bytes == 0) {
        c.problem(format!("{p}.retention_bytes"), "must be > 0");
    }
    if n.segment_bytes.is_some_and(|b| b.bytes == 0) {
        c.problem(
            format!("{p}.segment_bytes"),
            "must be > 0: write a size such as \"1MiB\"",
        );
    }
    if let Some(roll) = n.segment_roll {
        c.positive_duration(format!("{p}.segment_roll"), roll.nanos);
    }
    if let Some(check) = n.retention_check {
        c.positive_duration(format!("{p}.retention_check"), check.nanos);
    }
    if n.replication_factor == 0 || n.replication_factor > 16 {
        c.problem(
            format!("{p}.replication_factor"),
            "must be between 1 and 16",
        );
    }
    if n.min_insync_replicas == 0 || n.min_insync_replicas > n.replication_factor.max(1) {
        c.problem(
            format!("{p}.min_insync_replicas"),
            format!(
                "must be between 1 and the replication factor ({})",
                n.replication_factor
            ),
        );
    }
    let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for &e in outgoing {
        let Some(edge) = c.raw.edges.get(e) else {
            continue;
        };
        let Some(&consumer) = c.index.get(edge.to.as_str()) else {
            continue;
        };
        let Some(RawNode::Consumer(raw)) = c.raw.nodes.get(consumer) else {
            continue;
        };
        groups
            .entry(raw.group.clone().unwrap_or_else(|| raw.id.clone()))
            .or_default()
            .push(consumer);
    }
    if groups.is_empty() {
        c.problem(p, format!("topic `{}` has no consumer: connect it to at least one consumer (a consumer group reads it)", n.id));
    }
    for members in groups.values_mut() {
        members.sort_by(|a, b| c.raw.nodes[*a].id().cmp(c.raw.nodes[*b].id()));
    }
    Some(Topic {
        partitions: n.partitions.max(1),
        partitioner: n.partitioner,
        retention_nanos: n.retention.map(|r| r.nanos),
        retention_bytes: n.retention_bytes.map(|b| b.bytes),
        segment_bytes: n.segment_bytes.map_or(KAFKA_SEGMENT_BYTES, |b| b.bytes),
        segment_roll_nanos: n.segment_roll.map_or(KAFKA_SEGMENT_ROLL, |d| d.nanos),
        retention_check_nanos: n.retention_check.map_or(KAFKA_RETENTION_CHECK, |d| d.nanos),
        groups: groups.into_iter().collect(),
        replication_factor: n.replication_factor.max(1),
        min_insync_replicas: n.min_insync_replicas.max(1),
        replication_delay_nanos: n.replication_delay.nanos,
        failover_nanos: n.failover.nanos,
    })
}
