//! What a scenario will take in memory, estimated before anything is built.
//!
//! Scenario files come from anywhere, and a few numbers in one (100,000 nodes, ten
//! million keys, a sample every microsecond, two billion messages in flight) would ask
//! for more memory than the machine has. [`estimate`] adds up what building and running
//! the world would allocate, part by part, from the same sizes the model uses, and
//! [`Estimate::check`] refuses a scenario over `limits.max_memory` with the figure, the
//! limit and what to change. A test measures real allocations against these figures, so
//! they stay honest as the model changes.
//!
//! The routing table is the one structure whose size depends on matching bindings; it is
//! built under the budget left over ([`super::routing`]), and refused as it grows.

use std::mem::size_of;

use super::consumer::ConsumerState;
use super::message::{Event, Message};
use super::queue::QueueState;
use super::service::ServiceState;
use super::subscription::Subscription;
use super::topic::{GroupCursor, Partition, Record, TopicState};
use super::world::{ExchangeState, ProducerState};
use crate::metrics::{LatencyHistogram, NodeHistogram};
use crate::scenario::raw::Idempotency;
use crate::scenario::{NodeKind, Scenario};

/// A pending event in the engine's queue: the event, its time and sequence number.
const EVENT_ENTRY_BYTES: u64 = size_of::<Event>() as u64 + 16;

/// One message copy in flight: its arena slot, its place in a queue, and an event.
pub const BYTES_PER_COPY: u64 = size_of::<Message>() as u64 + 4 + EVENT_ENTRY_BYTES;

/// Keys a topic keeps a precomputed partition for (see `topic.rs`).
const KEY_TABLE_MAX: u64 = 1 << 20;

/// One part of the memory a scenario needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    /// What takes the memory, in words: "100000 nodes".
    pub what: String,
    pub bytes: u64,
    /// Where in the file the number that drives it is.
    pub path: String,
    /// What to change to need less.
    pub advice: &'static str,
}

/// The memory a scenario needs, by part.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Estimate {
    pub parts: Vec<Part>,
}

impl Estimate {
    pub fn total(&self) -> u64 {
        self.parts.iter().map(|p| p.bytes).sum()
    }

    /// Refuses an estimate over `limit` bytes: the total, the limit, and the biggest
    /// parts with what to change.
    pub fn check(&self, limit: u64) -> Result<(), Refusal> {
        let total = self.total();
        if total <= limit {
            return Ok(());
        }
        let mut parts: Vec<&Part> = self.parts.iter().filter(|p| p.bytes > 0).collect();
        parts.sort_by_key(|p| std::cmp::Reverse(p.bytes));
        let biggest = parts.first().map_or(String::new(), |p| p.path.clone());
        let listed: Vec<String> = parts
            .iter()
            .take(3)
            .filter(|p| p.bytes >= total / 20)
            .map(|p| format!("{} take {} ({})", p.what, bytes_text(p.bytes), p.advice))
            .collect();
        Err(Refusal {
            path: biggest,
            message: format!(
                "this scenario needs about {} of memory, more than limits.max_memory ({}): {}; \
                 or raise limits.max_memory if this machine has the memory",
                bytes_text(total),
                bytes_text(limit),
                listed.join("; ")
            ),
        })
    }
}

/// A scenario too big for its memory limit: where the biggest part comes from, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub path: String,
    pub message: String,
}

/// A byte count for people, in the units limits are written in: `2.3 GiB`, `512 MiB`.
pub fn bytes_text(bytes: u64) -> String {
    const KIB: f64 = 1024.0;
    let b = bytes as f64;
    if b >= KIB * KIB * KIB {
        format!("{:.1} GiB", b / (KIB * KIB * KIB))
    } else if b >= KIB * KIB {
        format!("{:.0} MiB", b / (KIB * KIB))
    } else if b >= KIB {
        format!("{:.0} KiB", b / KIB)
    } else {
        format!("{bytes} B")
    }
}

/// Fixed memory of one node of `kind` (its state, its histograms, its series columns'
/// bookkeeping), before any message.
fn node_bytes(kind: &NodeKind, histogram: u64, sinks: usize) -> u64 {
    let own = match kind {
        NodeKind::Producer(p) => {
            size_of::<ProducerState>() as u64 + 2 * p.routing_keys.len().max(1) as u64
        }
        NodeKind::Exchange(x) => size_of::<ExchangeState>() as u64 + 64 * x.bindings.len() as u64,
        NodeKind::Queue(q) => {
            size_of::<QueueState>() as u64
                + histogram
                + size_of::<Subscription>() as u64
                + 32 * (u64::from(q.max_priority) + 1)
                + 4 * q.consumers.len() as u64
        }
        NodeKind::Topic(_) => size_of::<TopicState>() as u64,
        NodeKind::Consumer(c) => {
            // A sink among several keeps its own latency histogram.
            let own_latency = if c.outputs.is_empty() && sinks > 1 {
                histogram
            } else {
                0
            };
            size_of::<ConsumerState>() as u64 + 64 * c.outputs.len() as u64 + own_latency
        }
        NodeKind::Service(s) => {
            size_of::<ServiceState>() as u64
                + histogram
                + 128 * (s.calls.len() + s.outputs.len()) as u64
        }
    };
    // Its id, its place in the node lists, its series columns and its link bookkeeping.
    own + 256
}

/// Adds up what building and running `scenario` needs, but for the routing table.
pub fn estimate(scenario: &Scenario) -> Estimate {
    let subscriptions = subscriptions(scenario);
    Estimate {
        parts: vec![
            nodes_part(scenario),
            histograms_part(scenario),
            keys_part(scenario, subscriptions),
            partitions_part(scenario),
            series_part(scenario),
            in_flight_part(scenario),
            message_ids_part(scenario, subscriptions),
        ],
    }
}

/// The nodes' and edges' fixed memory.
fn nodes_part(scenario: &Scenario) -> Part {
    let histogram = NodeHistogram::typical_bytes();
    let nodes = &scenario.nodes;
    let sinks = nodes
        .iter()
        .filter(|n| matches!(&n.kind, NodeKind::Consumer(c) if c.outputs.is_empty()))
        .count();
    let node_total: u64 = nodes
        .iter()
        .map(|n| node_bytes(&n.kind, histogram, sinks))
        .sum::<u64>()
        + 128 * scenario.edges.len() as u64;
    Part {
        what: format!("{} nodes and {} edges", nodes.len(), scenario.edges.len()),
        bytes: node_total,
        path: "nodes".into(),
        advice: "use fewer nodes",
    }
}

/// Clients of services keep two histograms each; so does the whole run.
fn histograms_part(scenario: &Scenario) -> Part {
    let run_histogram = LatencyHistogram::default().bytes();
    let nodes = &scenario.nodes;
    let clients = nodes
        .iter()
        .filter(|n| {
            matches!(&n.kind, NodeKind::Producer(p)
                if matches!(nodes.get(p.target).map(|t| &t.kind), Some(NodeKind::Service(_))))
        })
        .count() as u64;
    Part {
        what: "latency histograms".into(),
        bytes: (2 * clients + 3) * run_histogram,
        path: "nodes".into(),
        advice: "use fewer producers",
    }
}

/// Per-key state: sequence numbers, each subscription's last sequence per key, each
/// topic's partition per key.
fn keys_part(scenario: &Scenario, subscriptions: u64) -> Part {
    let nodes = &scenario.nodes;
    let (key_node, key_count) = nodes
        .iter()
        .enumerate()
        .filter_map(|(i, n)| match &n.kind {
            NodeKind::Producer(p) => Some((i, u64::from(p.keys.count()))),
            _ => None,
        })
        .max_by_key(|&(_, count)| count)
        .unwrap_or((0, 0));
    let topics = nodes
        .iter()
        .filter(|n| matches!(n.kind, NodeKind::Topic(_)))
        .count() as u64;
    Part {
        what: format!("{key_count} keys"),
        bytes: key_count * (4 + 8 * subscriptions) + key_count.min(KEY_TABLE_MAX) * 4 * topics,
        path: format!("nodes[{key_node}].keys.count"),
        advice: "draw from fewer keys",
    }
}

/// Partitions, and each group's cursor on each.
fn partitions_part(scenario: &Scenario) -> Part {
    let mut partition_bytes = 0u64;
    let mut biggest_topic = (0, 0u64);
    for (i, node) in scenario.nodes.iter().enumerate() {
        if let NodeKind::Topic(t) = &node.kind {
            let per_partition = size_of::<Partition>() as u64
                + t.groups.len() as u64 * (size_of::<GroupCursor>() as u64 + 8);
            let bytes = u64::from(t.partitions) * per_partition;
            partition_bytes += bytes;
            if bytes > biggest_topic.1 {
                biggest_topic = (i, bytes);
            }
        }
    }
    Part {
        what: "topic partitions".into(),
        bytes: partition_bytes,
        path: format!("nodes[{}].partitions", biggest_topic.0),
        advice: "use fewer partitions or consumer groups",
    }
}

/// The time series: one row per sample, with a column or two per node.
fn series_part(scenario: &Scenario) -> Part {
    let samples = scenario.duration_nanos / scenario.sample_every_nanos.max(1) + 1;
    // Time, rates and in-flight are reserved for every sample; latency quantiles (3 more
    // columns) grow as recorded, when a front asks for them.
    let row: u64 = 7 * 8
        + scenario
            .nodes
            .iter()
            .map(|n| match n.kind {
                NodeKind::Queue(_) | NodeKind::Service(_) => 16,
                NodeKind::Topic(_) => 8,
                NodeKind::Consumer(_) => 4,
                NodeKind::Producer(_) | NodeKind::Exchange(_) => 0,
            })
            .sum::<u64>();
    Part {
        what: format!("{samples} samples of the time series"),
        bytes: samples.saturating_mul(row),
        path: "sample_every".into(),
        advice: "sample less often: a longer sample_every",
    }
}

/// Messages in flight, at most the cap: queued copies or log records.
fn in_flight_part(scenario: &Scenario) -> Part {
    let per_copy = BYTES_PER_COPY.max(size_of::<Record>() as u64 + 8);
    Part {
        what: format!("up to {} message copies in flight", scenario.max_in_flight),
        bytes: scenario.max_in_flight.saturating_mul(per_copy),
        path: "limits.max_in_flight".into(),
        advice: "lower limits.max_in_flight",
    }
}

/// Every subscription remembers each message id it processed: a bit per message,
/// and a windowed idempotency store an entry per remembered id.
fn message_ids_part(scenario: &Scenario, subscriptions: u64) -> Part {
    let messages = expected_messages(scenario);
    let windows: u64 = scenario
        .nodes
        .iter()
        .filter_map(|n| match &n.kind {
            NodeKind::Consumer(c) => match c.idempotency {
                Idempotency::Window { count } => Some(u64::from(count).min(messages)),
                Idempotency::TimeWindow { .. } => Some(messages),
                _ => None,
            },
            _ => None,
        })
        .sum();
    Part {
        what: format!("about {messages} messages' ids"),
        bytes: (subscriptions * messages / 8).saturating_add(windows.saturating_mul(24)),
        path: "duration".into(),
        advice: "simulate for less time or at lower rates",
    }
}

/// Queues and topic consumer groups: each keeps per-key and per-id state.
fn subscriptions(scenario: &Scenario) -> u64 {
    scenario
        .nodes
        .iter()
        .map(|n| match &n.kind {
            NodeKind::Queue(_) => 1,
            NodeKind::Topic(t) => t.groups.len() as u64,
            _ => 0,
        })
        .sum()
}

/// Messages the producers will publish, by their mean rates (at most one per event the
/// run may execute).
fn expected_messages(scenario: &Scenario) -> u64 {
    let seconds = scenario.duration_nanos as f64 / 1e9;
    let total: f64 = scenario
        .nodes
        .iter()
        .filter_map(|n| match &n.kind {
            NodeKind::Producer(p) => Some(p.arrival.mean_rate_per_sec(scenario.duration_nanos)),
            _ => None,
        })
        .sum::<f64>()
        * seconds;
    if total.is_finite() {
        (total as u64).min(scenario.max_events)
    } else {
        scenario.max_events
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bar: under 16 KiB of fixed memory per node, whatever its kind.
    #[test]
    fn every_kind_of_node_costs_less_than_16_kib() {
        let (_, scenario) = crate::scenario::parse(
            r#"(version: 1, duration: "1s", nodes: [
                Producer(id: "p", arrival: Poisson(rate: "10/s")),
                Exchange(id: "x", type: Fanout), Queue(id: "q"), Topic(id: "t"),
                Consumer(id: "c", service: Exponential(mean: "1ms")),
                Consumer(id: "g", service: Exponential(mean: "1ms")),
                Producer(id: "client", arrival: Poisson(rate: "10/s")),
                Service(id: "s", service: Exponential(mean: "1ms"))],
             edges: [(from: "p", to: "x"), (from: "x", to: "q"), (from: "q", to: "c"),
                     (from: "c", to: "t"), (from: "t", to: "g"), (from: "client", to: "s")])"#,
            "kinds.ron",
        )
        .unwrap();
        let histogram = NodeHistogram::typical_bytes();
        for node in &scenario.nodes {
            let bytes = node_bytes(&node.kind, histogram, 2);
            assert!(bytes < 16 << 10, "{}: {bytes} bytes", node.id);
        }
    }

    #[test]
    fn bytes_read_as_people_write_them() {
        let cases = [
            (0, "0 B"),
            (999, "999 B"),
            (12_345, "12 KiB"),
            (512 << 20, "512 MiB"),
            (2_469_606_195, "2.3 GiB"),
        ];
        for (bytes, text) in cases {
            assert_eq!(bytes_text(bytes), text);
        }
    }

    #[test]
    fn a_refusal_names_the_biggest_part_and_what_to_change() {
        let estimate = Estimate {
            parts: vec![
                Part {
                    what: "100 nodes".into(),
                    bytes: 1_000,
                    path: "nodes".into(),
                    advice: "use fewer nodes",
                },
                Part {
                    what: "5000000 samples".into(),
                    bytes: 3_000_000_000,
                    path: "sample_every".into(),
                    advice: "sample less often",
                },
            ],
        };
        assert_eq!(estimate.check(4_000_000_000), Ok(()));
        let refusal = estimate.check(1 << 30).unwrap_err();
        assert_eq!(refusal.path, "sample_every");
        assert!(
            refusal.message.contains("about 2.8 GiB"),
            "{}",
            refusal.message
        );
        assert!(refusal.message.contains("limits.max_memory (1.0 GiB)"));
        assert!(
            refusal
                .message
                .contains("5000000 samples take 2.8 GiB (sample less often)")
        );
        assert!(
            !refusal.message.contains("100 nodes"),
            "small parts are left out"
        );
    }
}
