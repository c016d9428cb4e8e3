//! The checked scenario: what the engine can trust.
//!
//! Built only by [`super::check`]. Every id is resolved to a node index,
//! every quantity is in base units (nanoseconds, per second, bytes), every
//! parameter is in range, and every edge makes sense for its two ends.

use super::guarantees::{
    AckMode, Acks, CallPolicy, Commit, Delivery, EdgeKind, FaultKind, Idempotency, OffsetReset,
    PublishRetry, RetryPolicy,
};
use super::raw::XMatch;
use super::raw::{CanvasPos, ExchangeType, Overflow, Partitioner};

/// Index of a node in [`Scenario::nodes`].
pub type NodeIndex = usize;

#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    pub seed: u64,
    pub duration_nanos: u64,
    pub warmup_nanos: u64,
    pub sample_every_nanos: u64,
    /// The file gave no `sample_every`: the interval follows the duration.
    pub sample_every_is_default: bool,
    pub max_in_flight: u64,
    /// Most engine events the run may execute (`limits.max_events`).
    pub max_events: u64,
    /// Most memory the run may need, in bytes (`limits.max_memory`).
    pub max_memory_bytes: u64,
    pub nodes: Vec<Node>,
    /// Every edge, in file order; nodes refer to their edges by index (links can fail).
    pub edges: Vec<Edge>,
    /// Scheduled faults, sorted by time.
    pub faults: Vec<Fault>,
}

/// Index of an edge in [`Scenario::edges`].
pub type EdgeIndex = usize;

#[derive(Debug, Clone, PartialEq)]
pub struct Edge {
    pub from: NodeIndex,
    pub to: NodeIndex,
    pub kind: EdgeKind,
    pub latency_nanos: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    pub at_nanos: u64,
    pub target: FaultTarget,
    pub kind: FaultKind,
    /// `None`: until the end of the run.
    pub duration_nanos: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultTarget {
    Node(NodeIndex),
    Edge(EdgeIndex),
}

/// Samples in the time series when the file does not set `sample_every`.
pub const DEFAULT_SAMPLES: u64 = 200;

impl Scenario {
    /// `fault` as a scenario file writes it: targets by node id or `from->to`. A live
    /// session's injected faults become part of the scenario this way.
    pub fn fault_to_raw(&self, fault: &Fault) -> Option<super::raw::RawFault> {
        let target = match fault.target {
            FaultTarget::Node(n) => self.nodes.get(n)?.id.clone(),
            FaultTarget::Edge(e) => {
                let edge = self.edges.get(e)?;
                format!(
                    "{}->{}",
                    self.nodes.get(edge.from)?.id,
                    self.nodes.get(edge.to)?.id
                )
            }
        };
        Some(super::raw::RawFault {
            at: super::units::Duration::from_nanos(fault.at_nanos),
            target,
            kind: fault.kind,
            duration: fault.duration_nanos.map(super::units::Duration::from_nanos),
        })
    }

    /// Changes the run's length; a default sample interval follows it.
    pub fn set_duration(&mut self, nanos: u64) {
        self.duration_nanos = nanos;
        if self.sample_every_is_default {
            self.sample_every_nanos = (nanos / DEFAULT_SAMPLES).max(1);
        }
    }

    pub fn node_index(&self, id: &str) -> Option<NodeIndex> {
        self.nodes.iter().position(|n| n.id == id)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Stable id from the file; also seeds the node's random stream.
    pub id: String,
    pub pos: CanvasPos,
    pub kind: NodeKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    Producer(Producer),
    Exchange(Exchange),
    Queue(Queue),
    Topic(Topic),
    Consumer(Consumer),
    Service(ServiceNode),
}

impl NodeKind {
    pub fn name(&self) -> &'static str {
        match self {
            NodeKind::Producer(_) => "producer",
            NodeKind::Exchange(_) => "exchange",
            NodeKind::Queue(_) => "queue",
            NodeKind::Topic(_) => "topic",
            NodeKind::Consumer(_) => "consumer",
            NodeKind::Service(_) => "service",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Producer {
    pub arrival: Arrival,
    pub size_bytes: u32,
    pub keys: Keys,
    /// Empty: messages carry no routing key. Several: one drawn uniformly per message.
    pub routing_keys: Vec<String>,
    /// Sorted by name.
    pub headers: Vec<(String, String)>,
    pub priority: u8,
    /// Exchange, queue, topic or service this producer publishes (or sends requests) to.
    pub target: NodeIndex,
    /// The edge to `target`.
    pub edge: EdgeIndex,
    pub acks: Acks,
    pub retry: Option<PublishRetry>,
    pub idempotent: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Arrival {
    Constant {
        rate_per_sec: f64,
    },
    Poisson {
        rate_per_sec: f64,
    },
    OnOff {
        rate_per_sec: f64,
        on_nanos: u64,
        off_nanos: u64,
    },
    /// Piecewise-constant Poisson rate: `(from_nanos, rate_per_sec)`, sorted, the first at 0.
    Schedule {
        steps: Vec<(u64, f64)>,
    },
}

impl Arrival {
    /// Long-run mean rate, for reports and sizing hints.
    pub fn mean_rate_per_sec(&self, duration_nanos: u64) -> f64 {
        match self {
            Arrival::Constant { rate_per_sec } | Arrival::Poisson { rate_per_sec } => *rate_per_sec,
            Arrival::OnOff {
                rate_per_sec,
                on_nanos,
                off_nanos,
            } => rate_per_sec * *on_nanos as f64 / (on_nanos + off_nanos) as f64,
            Arrival::Schedule { steps } => {
                let mut total = 0.0;
                for (i, (from, rate)) in steps.iter().enumerate() {
                    let until = steps
                        .get(i + 1)
                        .map_or(duration_nanos, |s| s.0)
                        .min(duration_nanos);
                    total += rate * until.saturating_sub(*from) as f64;
                }
                total / duration_nanos.max(1) as f64
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Keys {
    None,
    Uniform { count: u32 },
    Zipf { count: u32, exponent: f64 },
}

impl Keys {
    pub fn count(&self) -> u32 {
        match self {
            Keys::None => 0,
            Keys::Uniform { count } | Keys::Zipf { count, .. } => *count,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Exchange {
    pub exchange_type: ExchangeType,
    pub alternate: Option<NodeIndex>,
    pub bindings: Vec<Binding>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Binding {
    /// A queue or another exchange.
    pub target: NodeIndex,
    pub key: String,
    pub headers: Vec<(String, String)>,
    pub x_match: XMatch,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Queue {
    pub max_length: Option<u64>,
    pub overflow: Overflow,
    pub ttl_nanos: Option<u64>,
    /// 0 when priorities are off.
    pub max_priority: u8,
    /// Consumers reading this queue, in edge order.
    pub consumers: Vec<NodeIndex>,
    pub durable: bool,
    pub delivery: Delivery,
    pub max_deliveries: Option<u32>,
    /// Where rejected, expired and over-limit messages go (RabbitMQ's dead-letter exchange).
    pub dead_letter: Option<EdgeIndex>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Topic {
    pub partitions: u32,
    pub partitioner: Partitioner,
    pub retention_nanos: Option<u64>,
    pub retention_bytes: Option<u64>,
    /// Kafka's segment.bytes, segment.ms and log.retention.check.interval.ms (defaults filled).
    pub segment_bytes: u64,
    pub segment_roll_nanos: u64,
    pub retention_check_nanos: u64,
    /// Consumer groups reading this topic, sorted by name, each with its members sorted by id.
    pub groups: Vec<(String, Vec<NodeIndex>)>,
    pub replication_factor: u32,
    pub min_insync_replicas: u32,
    pub replication_delay_nanos: u64,
    pub failover_nanos: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Consumer {
    pub group: String,
    pub concurrency: u32,
    pub prefetch: u32,
    pub service: Service,
    /// The queue or topic this consumer reads.
    pub source: NodeIndex,
    /// The edge from `source`.
    pub source_edge: EdgeIndex,
    /// Where the consumer publishes each processed message (choreography); empty for a sink.
    pub outputs: Vec<Output>,
    pub ack: AckMode,
    pub ack_delay_nanos: u64,
    pub commit: Commit,
    pub idempotency: Idempotency,
    pub retry: RetryPolicy,
    pub failure_probability: f64,
    pub poison_fraction: f64,
    pub auto_offset_reset: OffsetReset,
    pub session_timeout_nanos: u64,
    pub rebalance_nanos: u64,
    /// Where messages go after their last failed attempt.
    pub dead_letter: Option<EdgeIndex>,
    /// Where failed messages go to be tried again later (a retry queue or topic).
    pub retry_to: Option<EdgeIndex>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    pub target: NodeIndex,
    pub edge: EdgeIndex,
    /// Routing key of the published message; `None` keeps the incoming one.
    pub routing_key: Option<String>,
}

/// A request/response service: the synchronous baseline.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceNode {
    pub concurrency: u32,
    pub queue_limit: Option<u32>,
    pub service: Service,
    /// Downstream services called in turn for every request.
    pub calls: Vec<Call>,
    /// Where each handled request is published as an event (the asynchronous design).
    pub outputs: Vec<Output>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub target: NodeIndex,
    pub edge: EdgeIndex,
    pub policy: CallPolicy,
}

/// Processing-time distributions, in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Service {
    Constant {
        nanos: u64,
    },
    Exponential {
        mean_nanos: f64,
    },
    Uniform {
        min_nanos: u64,
        max_nanos: u64,
    },
    /// Parameters of the underlying normal, for nanoseconds.
    LogNormal {
        mu: f64,
        sigma: f64,
    },
    Pareto {
        scale_nanos: f64,
        shape: f64,
    },
}

impl Service {
    /// The distribution's mean in nanoseconds (infinite for a Pareto with shape <= 1).
    pub fn mean_nanos(&self) -> f64 {
        match *self {
            Service::Constant { nanos } => nanos as f64,
            Service::Exponential { mean_nanos } => mean_nanos,
            Service::Uniform {
                min_nanos,
                max_nanos,
            } => (min_nanos + max_nanos) as f64 / 2.0,
            Service::LogNormal { mu, sigma } => (mu + sigma * sigma / 2.0).exp(),
            Service::Pareto { scale_nanos, shape } => {
                if shape <= 1.0 {
                    f64::INFINITY
                } else {
                    shape * scale_nanos / (shape - 1.0)
                }
            }
        }
    }
}
