//! Delivery guarantees, failure handling and faults, as written in scenario
//! files: the vocabulary of what can go wrong and what each side promises.
//!
//! Plain serde data like the rest of [`super::raw`]; every type has the
//! default that matches the real system it names (RabbitMQ, Kafka, SQS), so a
//! file that leaves them out behaves as the broker would out of the box.

use serde::{Deserialize, Serialize};

use super::units::Duration;
use super::whole;

/// When a consumer acknowledges (RabbitMQ) or commits (Kafka) a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum AckMode {
    /// Acknowledged on delivery, before processing: at-most-once. A crash loses what was in hand.
    BeforeProcessing,
    /// Acknowledged after processing: at-least-once. A crash redelivers, so duplicates appear.
    #[default]
    AfterProcessing,
}

/// How a topic consumer commits offsets (Kafka).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Commit {
    /// Commit after every message.
    AfterEach,
    /// Auto-commit every interval (Kafka's enable.auto.commit, auto.commit.interval.ms = 5 s).
    Interval { every: Duration },
    /// Commit after every `size` messages.
    Batch {
        #[serde(deserialize_with = "whole::u32")]
        size: u32,
    },
    /// Transactional consume-process-produce (Kafka's exactly-once): what the consumer
    /// publishes and its offsets commit together every interval; a crash aborts both.
    Transactional { every: Duration },
}

impl Default for Commit {
    fn default() -> Self {
        Commit::Interval {
            every: Duration::from_secs(5),
        }
    }
}

/// An idempotent consumer's store of processed message ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Idempotency {
    /// No deduplication: every delivery's effect is applied.
    #[default]
    None,
    /// Every processed id is remembered: each message's effect is applied once.
    Exact,
    /// Only the last `count` processed ids are remembered; older duplicates slip through.
    Window {
        #[serde(deserialize_with = "whole::u32")]
        count: u32,
    },
    /// Ids processed within `span` are remembered; older duplicates slip through.
    TimeWindow { span: Duration },
}

/// What a consumer does when processing a message fails.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryPolicy {
    #[serde(default)]
    pub backoff: Backoff,
    /// Attempts in all, the first included; then the message is dead-lettered.
    #[serde(deserialize_with = "whole::u32", default = "default_max_attempts")]
    pub max_attempts: u32,
}

fn default_max_attempts() -> u32 {
    1
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            backoff: Backoff::default(),
            max_attempts: default_max_attempts(),
        }
    }
}

/// The wait before a failed message is tried again.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub enum Backoff {
    /// Requeued at once (RabbitMQ's nack with requeue: back to the head of the queue).
    #[default]
    Immediate,
    /// The same delay before every retry.
    Fixed { delay: Duration },
    /// `base * 2^(attempt-1)`, at most `cap`, with jitter.
    Exponential {
        base: Duration,
        cap: Duration,
        #[serde(default)]
        jitter: Jitter,
    },
}

/// Jitter for exponential backoff, as named in the AWS architecture blog's
/// "Exponential Backoff And Jitter".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Jitter {
    /// Exactly the exponential delay.
    None,
    /// Uniform between 0 and the exponential delay.
    #[default]
    Full,
    /// Half the exponential delay plus uniform up to the other half.
    Equal,
    /// Uniform between `base` and three times the previous delay, capped.
    Decorrelated,
}

/// What a producer waits for before a publish counts as done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Acks {
    /// Fire-and-forget (acks=0, no publisher confirms): nothing is known of the outcome.
    #[default]
    None,
    /// The leader (or the queue's broker) has it: acks=1, RabbitMQ publisher confirms.
    Leader,
    /// Every in-sync replica has it: acks=all.
    All,
}

/// Publish retries on timeout or failure (Kafka's retries / delivery.timeout.ms).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishRetry {
    /// Retries after the first attempt.
    #[serde(deserialize_with = "whole::u32")]
    pub max: u32,
    /// Wait between attempts.
    #[serde(default = "default_publish_backoff")]
    pub backoff: Duration,
    /// A publish with no answer after this is taken as failed and retried.
    #[serde(default = "default_publish_timeout")]
    pub timeout: Duration,
}

fn default_publish_backoff() -> Duration {
    Duration::from_millis(100)
}

fn default_publish_timeout() -> Duration {
    Duration::from_secs(30)
}

/// How a queue hands messages to consumers.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub enum Delivery {
    /// RabbitMQ: the broker pushes to consumers with prefetch credit.
    #[default]
    Push,
    /// SQS: consumers receive; a message not deleted within the visibility timeout becomes
    /// visible again; after `max_receive_count` receives it is redriven to the dead-letter target.
    Pull {
        visibility_timeout: Duration,
        #[serde(
            deserialize_with = "whole::opt_u32",
            default,
            skip_serializing_if = "Option::is_none"
        )]
        max_receive_count: Option<u32>,
    },
}

/// Where a Kafka consumer group starts when it has no valid committed offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum OffsetReset {
    Earliest,
    /// Kafka's default.
    #[default]
    Latest,
}

/// What an edge means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum EdgeKind {
    /// Publish, bind, deliver or call, according to its ends.
    #[default]
    Normal,
    /// Messages that fail for good (rejected, expired, over their delivery limit) go here;
    /// arriving ends their journey as dead-lettered.
    DeadLetter,
    /// Messages to be tried again go here (a retry queue or topic); their journey goes on.
    Retry,
}

/// A circuit breaker on a synchronous call edge.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CircuitBreaker {
    /// Opens when at least this fraction of the last `window` calls failed.
    pub failure_rate: f64,
    #[serde(deserialize_with = "whole::u32", default = "default_breaker_window")]
    pub window: u32,
    /// Stays open this long, failing calls at once, then lets trial calls through (half-open).
    pub cooldown: Duration,
    /// Trial calls in the half-open state; all must succeed to close again.
    #[serde(deserialize_with = "whole::u32", default = "default_half_open_calls")]
    pub half_open_calls: u32,
}

fn default_breaker_window() -> u32 {
    20
}

fn default_half_open_calls() -> u32 {
    3
}

/// A synchronous call edge's behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallPolicy {
    /// The caller gives up after this.
    pub timeout: Duration,
    #[serde(deserialize_with = "whole::u32", default)]
    pub retries: u32,
    #[serde(default)]
    pub backoff: Duration,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub circuit_breaker: Option<CircuitBreaker>,
}

/// A fault at a point in simulated time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFault {
    pub at: Duration,
    /// A node id, or an edge written `"from->to"`.
    pub target: String,
    pub kind: FaultKind,
    /// How long it lasts; `None`: to the end of the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<Duration>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum FaultKind {
    /// A consumer or service stops; it restarts when the fault ends.
    Crash,
    /// A consumer or service takes `factor` times longer per message.
    Slow { factor: f64 },
    /// A consumer's or service's processing fails with this probability (a downstream outage).
    Fail { probability: f64 },
    /// A queue's broker or a topic partition's leader fails (every partition when `partition` is absent).
    BrokerFailure {
        #[serde(
            deserialize_with = "whole::opt_u32",
            default,
            skip_serializing_if = "Option::is_none"
        )]
        partition: Option<u32>,
    },
    /// An edge carries nothing.
    Cut,
    /// An edge takes this much longer.
    Delay { extra: Duration },
    /// An edge loses each message with this probability.
    Loss { probability: f64 },
}
