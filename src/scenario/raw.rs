//! The scenario file as written: serde types that mirror the RON one to one.
//!
//! Nothing here is trusted. Every struct rejects unknown fields, and
//! [`super::check`] turns a [`RawScenario`] into a [`super::Scenario`] or a
//! list of errors with paths. The GUI edits these types directly (they are
//! plain data with defaults) and saves them back, so a file reopens as drawn.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use super::guarantees::*;
use super::units::{Duration, Rate, Size};
use super::whole;

/// The only scenario format version this build reads.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    #[serde(deserialize_with = "whole::u32")]
    pub version: u32,
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "is_default")]
    pub description: String,
    #[serde(deserialize_with = "whole::u64", default)]
    pub seed: u64,
    pub duration: Duration,
    /// Statistics before this time are discarded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warmup: Option<Duration>,
    /// How often the time series is sampled; by default 1/200 of the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample_every: Option<Duration>,
    /// Safety caps that keep memory bounded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<RawLimits>,
    #[serde(default)]
    pub nodes: Vec<RawNode>,
    #[serde(default)]
    pub edges: Vec<RawEdge>,
    /// Faults injected at given times.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<RawFault>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    /// Most message copies that may be in flight at once (queued, in a log, in a consumer's hands).
    #[serde(
        deserialize_with = "whole::opt_u64",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub max_in_flight: Option<u64>,
    /// Most engine events the run may execute; it stops there with a partial report.
    #[serde(
        deserialize_with = "whole::opt_u64",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub max_events: Option<u64>,
    /// Most memory the scenario may need (estimated before it is built), such as "2GiB".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_memory: Option<Size>,
}

/// A position on the canvas, in canvas units (x right, y down).
pub type CanvasPos = (f32, f32);

/// One node of the topology. The variant names the kind; each kind's struct
/// carries its own `id` and canvas position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum RawNode {
    Producer(RawProducer),
    Exchange(RawExchange),
    Queue(RawQueue),
    Topic(RawTopic),
    Consumer(RawConsumer),
    Service(RawServiceNode),
}

impl RawNode {
    pub fn id(&self) -> &str {
        match self {
            RawNode::Producer(n) => &n.id,
            RawNode::Exchange(n) => &n.id,
            RawNode::Queue(n) => &n.id,
            RawNode::Topic(n) => &n.id,
            RawNode::Consumer(n) => &n.id,
            RawNode::Service(n) => &n.id,
        }
    }

    pub fn pos(&self) -> Option<CanvasPos> {
        match self {
            RawNode::Producer(n) => n.pos,
            RawNode::Exchange(n) => n.pos,
            RawNode::Queue(n) => n.pos,
            RawNode::Topic(n) => n.pos,
            RawNode::Consumer(n) => n.pos,
            RawNode::Service(n) => n.pos,
        }
    }

    pub fn pos_mut(&mut self) -> &mut Option<CanvasPos> {
        match self {
            RawNode::Producer(n) => &mut n.pos,
            RawNode::Exchange(n) => &mut n.pos,
            RawNode::Queue(n) => &mut n.pos,
            RawNode::Topic(n) => &mut n.pos,
            RawNode::Consumer(n) => &mut n.pos,
            RawNode::Service(n) => &mut n.pos,
        }
    }

    pub fn id_mut(&mut self) -> &mut String {
        match self {
            RawNode::Producer(n) => &mut n.id,
            RawNode::Exchange(n) => &mut n.id,
            RawNode::Queue(n) => &mut n.id,
            RawNode::Topic(n) => &mut n.id,
            RawNode::Consumer(n) => &mut n.id,
            RawNode::Service(n) => &mut n.id,
        }
    }

    pub fn kind(&self) -> super::Kind {
        match self {
            RawNode::Producer(_) => super::Kind::Producer,
            RawNode::Exchange(_) => super::Kind::Exchange,
            RawNode::Queue(_) => super::Kind::Queue,
            RawNode::Topic(_) => super::Kind::Topic,
            RawNode::Consumer(_) => super::Kind::Consumer,
            RawNode::Service(_) => super::Kind::Service,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProducer {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pos: Option<CanvasPos>,
    pub arrival: RawArrival,
    /// Payload size of every message.
    #[serde(
        default = "default_message_size",
        skip_serializing_if = "is_default_message_size"
    )]
    pub size: Size,
    #[serde(default, skip_serializing_if = "is_default")]
    pub keys: RawKeys,
    /// Routing key of every message (exchanges use it; queues and topics ignore it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_key: Option<String>,
    /// Several routing keys, one drawn uniformly per message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routing_keys: Vec<String>,
    /// Message headers, for headers exchanges.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Message priority, for queues with `max_priority`.
    #[serde(
        deserialize_with = "whole::opt_u8",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub priority: Option<u8>,
    /// What a publish waits for: nothing (acks=0), the leader (acks=1, confirms), or all in-sync replicas.
    #[serde(default, skip_serializing_if = "is_default")]
    pub acks: Acks,
    /// Retries of a publish that failed or got no answer in time (needs `acks`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<PublishRetry>,
    /// Kafka's idempotent producer: the broker drops a retried publish it already has.
    #[serde(default, skip_serializing_if = "is_default")]
    pub idempotent: bool,
}

fn default_message_size() -> Size {
    Size { bytes: 1024 }
}

/// When messages are produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum RawArrival {
    /// Evenly spaced, `1 / rate` apart.
    Constant { rate: Rate },
    /// A Poisson process: exponential gaps with mean `1 / rate`.
    Poisson { rate: Rate },
    /// Poisson at `rate` during `on`, silent during `off`, repeating.
    OnOff {
        rate: Rate,
        on: Duration,
        off: Duration,
    },
    /// A Poisson process whose rate changes at the given times (piecewise constant).
    Schedule { steps: Vec<RawRateStep> },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRateStep {
    pub at: Duration,
    pub rate: Rate,
}

/// How message keys are chosen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub enum RawKeys {
    /// No key: topics spread messages round-robin.
    #[default]
    None,
    /// Keys `key-0` .. `key-{count-1}`, each equally likely.
    Uniform {
        #[serde(deserialize_with = "whole::u32")]
        count: u32,
    },
    /// Keys `key-0` .. `key-{count-1}` with Zipf weights: `key-0` is the hottest.
    Zipf {
        #[serde(deserialize_with = "whole::u32")]
        count: u32,
        exponent: f64,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawExchange {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pos: Option<CanvasPos>,
    #[serde(rename = "type")]
    pub exchange_type: ExchangeType,
    /// Where messages that match no binding go (RabbitMQ's alternate-exchange).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alternate: Option<String>,
}

/// RabbitMQ exchange types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExchangeType {
    /// Routing key equals the binding key.
    Direct,
    /// Every bound queue gets a copy.
    Fanout,
    /// Binding keys are patterns with `*` (one word) and `#` (zero or more words).
    Topic,
    /// Bindings match message headers (`x_match: All` or `Any`).
    Headers,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawQueue {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pos: Option<CanvasPos>,
    /// Most ready messages the queue holds (RabbitMQ's x-max-length).
    #[serde(
        deserialize_with = "whole::opt_u64",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub max_length: Option<u64>,
    /// What happens to a publish when the queue is full.
    #[serde(default, skip_serializing_if = "is_default")]
    pub overflow: Overflow,
    /// Messages older than this are removed unconsumed (RabbitMQ's x-message-ttl).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<Duration>,
    /// Enables priorities 0..=max_priority (RabbitMQ's x-max-priority); higher first.
    #[serde(
        deserialize_with = "whole::opt_u8",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub max_priority: Option<u8>,
    /// A durable queue keeps its messages through a broker failure; a transient one loses them.
    #[serde(default = "default_true", skip_serializing_if = "is_true")]
    pub durable: bool,
    /// Push to consumers (RabbitMQ) or pull with a visibility timeout (SQS).
    #[serde(default, skip_serializing_if = "is_default")]
    pub delivery: Delivery,
    /// Deliveries after which a message is dead-lettered (RabbitMQ quorum queues' delivery-limit).
    #[serde(
        deserialize_with = "whole::opt_u32",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub max_deliveries: Option<u32>,
}

fn default_true() -> bool {
    true
}

/// RabbitMQ's x-overflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Overflow {
    /// Drop the oldest ready message to make room (RabbitMQ's default).
    #[default]
    DropHead,
    /// Refuse the new message.
    RejectPublish,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTopic {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pos: Option<CanvasPos>,
    #[serde(deserialize_with = "whole::u32", default = "default_partitions")]
    pub partitions: u32,
    #[serde(default, skip_serializing_if = "is_default")]
    pub partitioner: Partitioner,
    /// Records older than this are deleted (Kafka's retention.ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<Duration>,
    /// Oldest records are deleted while a partition holds more than this (Kafka's retention.bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_bytes: Option<Size>,
    /// A partition's log is stored in segments, and retention deletes whole segments:
    /// a new segment starts when the current one would grow past this (Kafka's
    /// segment.bytes, 1 GiB by default)...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment_bytes: Option<Size>,
    /// ...or when it is this old (Kafka's segment.ms, 7 days by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment_roll: Option<Duration>,
    /// How often the broker applies retention (Kafka's log.retention.check.interval.ms,
    /// 5 minutes by default): records are deleted only then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_check: Option<Duration>,
    /// Copies of each partition (Kafka's replication.factor).
    #[serde(
        deserialize_with = "whole::u32",
        default = "default_one",
        skip_serializing_if = "is_one"
    )]
    pub replication_factor: u32,
    /// In-sync replicas an acks=all write needs (Kafka's min.insync.replicas).
    #[serde(
        deserialize_with = "whole::u32",
        default = "default_one",
        skip_serializing_if = "is_one"
    )]
    pub min_insync_replicas: u32,
    /// How long followers take to copy a record from the leader.
    #[serde(
        default = "default_replication_delay",
        skip_serializing_if = "is_default_replication_delay"
    )]
    pub replication_delay: Duration,
    /// How long electing a new leader takes after the leader fails.
    #[serde(
        default = "default_failover",
        skip_serializing_if = "is_default_failover"
    )]
    pub failover: Duration,
}

fn default_one() -> u32 {
    1
}

fn default_replication_delay() -> Duration {
    Duration::from_millis(5)
}

fn default_failover() -> Duration {
    Duration::from_secs(2)
}

fn default_partitions() -> u32 {
    1
}

/// How a record's partition is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Partitioner {
    /// Kafka's default: murmur2 of the key; keyless records round-robin.
    #[default]
    KeyHash,
    /// Every record to the next partition in turn, key or not.
    RoundRobin,
    /// Keyless records stick to one partition for `batch` records, then move on
    /// (Kafka's sticky partitioner); keyed records hash as in `KeyHash`.
    Sticky {
        #[serde(deserialize_with = "whole::u32")]
        batch: u32,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConsumer {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pos: Option<CanvasPos>,
    /// Consumer group, for topics (Kafka's group.id); defaults to the consumer's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Messages processed at the same time.
    #[serde(
        deserialize_with = "whole::u32",
        default = "default_concurrency",
        skip_serializing_if = "is_default_concurrency"
    )]
    pub concurrency: u32,
    /// Most unacknowledged messages a queue pushes to this consumer
    /// (RabbitMQ's basic.qos prefetch); defaults to `concurrency`.
    #[serde(
        deserialize_with = "whole::opt_u32",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub prefetch: Option<u32>,
    /// Processing time of one message.
    pub service: RawService,
    /// Acknowledge before processing (at-most-once) or after (at-least-once).
    #[serde(default, skip_serializing_if = "is_default")]
    pub ack: AckMode,
    /// Time from finishing a message to the broker holding its acknowledgement; a crash
    /// in this window redelivers a message that was already processed.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub ack_delay: Duration,
    /// Topics: how offsets are committed.
    #[serde(default, skip_serializing_if = "is_default")]
    pub commit: Commit,
    /// Deduplication of redelivered messages by id.
    #[serde(default, skip_serializing_if = "is_default")]
    pub idempotency: Idempotency,
    /// What happens when processing fails.
    #[serde(default, skip_serializing_if = "is_default")]
    pub retry: RetryPolicy,
    /// Probability that processing one message fails (a transient error).
    #[serde(default, skip_serializing_if = "is_zero_f64")]
    pub failure_probability: f64,
    /// Fraction of messages that always fail (poison messages).
    #[serde(default, skip_serializing_if = "is_zero_f64")]
    pub poison_fraction: f64,
    /// Topics: where a group starts without a valid committed offset.
    #[serde(default, skip_serializing_if = "is_default")]
    pub auto_offset_reset: OffsetReset,
    /// Topics: how long a crashed member stays in the group before it is removed (Kafka's session.timeout.ms).
    #[serde(
        default = "default_session_timeout",
        skip_serializing_if = "is_default_session_timeout"
    )]
    pub session_timeout: Duration,
    /// Topics: how long a rebalance pauses the whole group.
    #[serde(
        default = "default_rebalance_time",
        skip_serializing_if = "is_default_rebalance_time"
    )]
    pub rebalance_time: Duration,
}

fn is_zero(d: &Duration) -> bool {
    d.nanos == 0
}

fn is_zero_f64(x: &f64) -> bool {
    *x == 0.0
}

fn default_session_timeout() -> Duration {
    Duration::from_secs(45)
}

fn default_rebalance_time() -> Duration {
    Duration::from_secs(3)
}

/// A service that answers requests (the synchronous baseline): requests wait
/// for one of `concurrency` workers; each is processed, then the service calls
/// its downstream services in turn and answers when all have answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawServiceNode {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pos: Option<CanvasPos>,
    /// Requests handled at once (worker threads).
    #[serde(
        deserialize_with = "whole::u32",
        default = "default_concurrency",
        skip_serializing_if = "is_default_concurrency"
    )]
    pub concurrency: u32,
    /// Most requests waiting for a worker; more are refused.
    #[serde(
        deserialize_with = "whole::opt_u32",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub queue_limit: Option<u32>,
    /// Processing time of one request, before its calls.
    pub service: RawService,
}

fn default_concurrency() -> u32 {
    1
}

/// A processing-time distribution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum RawService {
    Constant {
        time: Duration,
    },
    Exponential {
        mean: Duration,
    },
    Uniform {
        min: Duration,
        max: Duration,
    },
    /// Log-normal with the given mean and standard deviation.
    LogNormal {
        mean: Duration,
        stddev: Duration,
    },
    /// Pareto with minimum `scale` and tail index `shape` (heavier tail for smaller shape).
    Pareto {
        scale: Duration,
        shape: f64,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEdge {
    pub from: String,
    pub to: String,
    /// Exchange bindings: the binding key (direct, topic). Consumer outputs:
    /// the routing key of what the consumer publishes (default: keep the message's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Headers-exchange bindings: the headers to match.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Headers-exchange bindings: all or any of `headers` must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x_match: Option<XMatch>,
    #[serde(default, skip_serializing_if = "is_normal")]
    pub kind: EdgeKind,
    /// Network latency on this edge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<Duration>,
    /// Synchronous calls between services: timeout, retries, circuit breaker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<CallPolicy>,
}

fn is_normal(kind: &EdgeKind) -> bool {
    *kind == EdgeKind::Normal
}

// Defaults: the node a user gets from the palette, with every optional field
// as the file format defaults it. Kept next to the serde defaults they mirror.

impl Default for RawProducer {
    fn default() -> Self {
        Self {
            id: String::new(),
            pos: None,
            arrival: RawArrival::Poisson {
                rate: Rate::per_sec(10.0),
            },
            size: default_message_size(),
            keys: RawKeys::None,
            routing_key: None,
            routing_keys: Vec::new(),
            headers: BTreeMap::new(),
            priority: None,
            acks: Acks::default(),
            retries: None,
            idempotent: false,
        }
    }
}

impl Default for RawQueue {
    fn default() -> Self {
        Self {
            id: String::new(),
            pos: None,
            max_length: None,
            overflow: Overflow::default(),
            ttl: None,
            max_priority: None,
            durable: true,
            delivery: Delivery::default(),
            max_deliveries: None,
        }
    }
}

impl Default for RawTopic {
    fn default() -> Self {
        Self {
            id: String::new(),
            pos: None,
            partitions: default_partitions(),
            partitioner: Partitioner::default(),
            retention: None,
            retention_bytes: None,
            segment_bytes: None,
            segment_roll: None,
            retention_check: None,
            replication_factor: default_one(),
            min_insync_replicas: default_one(),
            replication_delay: default_replication_delay(),
            failover: default_failover(),
        }
    }
}

impl Default for RawConsumer {
    fn default() -> Self {
        Self {
            id: String::new(),
            pos: None,
            group: None,
            concurrency: default_concurrency(),
            prefetch: None,
            service: RawService::Exponential {
                mean: Duration::from_millis(10),
            },
            ack: AckMode::default(),
            ack_delay: Duration::ZERO,
            commit: Commit::default(),
            idempotency: Idempotency::default(),
            retry: RetryPolicy::default(),
            failure_probability: 0.0,
            poison_fraction: 0.0,
            auto_offset_reset: OffsetReset::default(),
            session_timeout: default_session_timeout(),
            rebalance_time: default_rebalance_time(),
        }
    }
}

impl Default for RawEdge {
    fn default() -> Self {
        Self {
            from: String::new(),
            to: String::new(),
            key: None,
            headers: BTreeMap::new(),
            x_match: None,
            kind: EdgeKind::Normal,
            latency: None,
            call: None,
        }
    }
}

/// How a headers-exchange binding compares headers (RabbitMQ's `x-match` argument).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum XMatch {
    /// `x-match = all` (RabbitMQ's default when `x-match` is absent): every header must match.
    #[default]
    All,
    /// `x-match = any`: at least one header must match.
    Any,
    /// `x-match = all-with-x`: like `All`, but `x-` arguments take part in the comparison.
    AllWithX,
    /// `x-match = any-with-x`: like `Any`, but `x-` arguments take part in the comparison.
    AnyWithX,
}

thread_local! {
    static LEAVE_OUT_DEFAULTS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// While one is alive, serializing a scenario on this thread leaves out the fields at
/// their defaults, as a person writes a file (`to_ron`). Otherwise every field is written:
/// the JSON that `--vary` edits and suggests paths from names them all.
pub(crate) struct LeaveOutDefaults(bool);

impl LeaveOutDefaults {
    pub(crate) fn new() -> Self {
        Self(LEAVE_OUT_DEFAULTS.replace(true))
    }
}

impl Drop for LeaveOutDefaults {
    fn drop(&mut self) {
        LEAVE_OUT_DEFAULTS.set(self.0);
    }
}

/// Serde's `skip_serializing_if` for a field at its type's default, when saving.
fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    LEAVE_OUT_DEFAULTS.get() && *value == T::default()
}

/// Serde's `skip_serializing_if` predicates for fields whose default is a function.
macro_rules! is_default_by {
    ($($name:ident: $t:ty = $default:ident;)*) => {
        $(
            fn $name(value: &$t) -> bool {
                LEAVE_OUT_DEFAULTS.get() && *value == $default()
            }
        )*
    };
}

is_default_by! {
    is_default_message_size: Size = default_message_size;
    is_true: bool = default_true;
    is_one: u32 = default_one;
    is_default_replication_delay: Duration = default_replication_delay;
    is_default_failover: Duration = default_failover;
    is_default_concurrency: u32 = default_concurrency;
    is_default_session_timeout: Duration = default_session_timeout;
    is_default_rebalance_time: Duration = default_rebalance_time;
}
