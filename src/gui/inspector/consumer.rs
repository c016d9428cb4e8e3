//! The consumer's form: its group and concurrency, processing time, when it
//! acknowledges and commits, its idempotency store, retries, failures, and how a
//! topic group behaves after a crash.

use super::form::Form;
use super::service::service_time;
use crate::gui::document::Document;
use crate::scenario::guarantees::Delivery;
use crate::scenario::guarantees::{AckMode, Backoff, Commit, Idempotency, Jitter, OffsetReset};
use crate::scenario::raw::{RawConsumer, RawNode};
use crate::scenario::units::Duration;

/// What a consumer reads, which decides the fields that apply to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Reads {
    /// A queue that pushes (RabbitMQ): prefetch applies, a topic's group settings do not.
    PushQueue,
    /// A pull queue (SQS): it receives only what it can process, so no prefetch.
    PullQueue,
    /// A topic (Kafka): group, commits, offset reset, session and rebalance; no prefetch.
    Topic,
    /// Nothing yet: every field, for whatever it is connected to next.
    Nothing,
}

impl Reads {
    /// What node `id` reads, from the edge that leads to it from a queue or a topic.
    pub(super) fn of(doc: &Document, id: &str) -> Self {
        match doc.source_of(id) {
            Some(RawNode::Queue(q)) if q.delivery == Delivery::Push => Reads::PushQueue,
            Some(RawNode::Queue(_)) => Reads::PullQueue,
            Some(RawNode::Topic(_)) => Reads::Topic,
            _ => Reads::Nothing,
        }
    }

    fn topic(self) -> bool {
        matches!(self, Reads::Topic | Reads::Nothing)
    }
}

pub(super) fn form(f: &mut Form<'_>, c: &mut RawConsumer, reads: Reads) {
    if reads.topic() {
        f.optional_text("group", "Kafka consumer group: members share the partitions, and the group has one committed offset per partition. Empty: the consumer's own id.", &mut c.group);
    }
    f.number(
        "concurrency",
        "Messages processed at the same time (threads).",
        &mut c.concurrency,
        1..=10_000,
    );
    if matches!(reads, Reads::PushQueue | Reads::Nothing) {
        f.optional_number("prefetch", "RabbitMQ's prefetch (basic.qos): most unacknowledged messages pushed to this consumer. Large values hoard messages; 1 spreads them fairly.", &mut c.prefetch, 10, 1..=100_000);
    }
    service_time(f, &mut c.service);
    acknowledgement(f, c, reads);
    if reads.topic() {
        commit(f, &mut c.commit);
    }
    idempotency(f, &mut c.idempotency);
    retries(f, c);
    f.fraction(
        "failure probability",
        "Chance that processing a message fails (a transient error); it is retried per the policy.",
        &mut c.failure_probability,
    );
    f.fraction("poison fraction", "Fraction of messages that always fail: they end in the dead-letter queue after max attempts.", &mut c.poison_fraction);
    if reads.topic() {
        group_recovery(f, c);
    }
}

/// When a message is acknowledged: before or after processing, and (from a queue) how late.
fn acknowledgement(f: &mut Form<'_>, c: &mut RawConsumer, reads: Reads) {
    let current = format!("{:?}", c.ack);
    f.choice(
        "ack",
        "Acknowledge before processing: a crash loses what was in hand (at-most-once). \
         After processing: a crash redelivers it, so some are processed twice \
         (at-least-once).",
        &mut c.ack,
        &current,
        &[
            ("BeforeProcessing", AckMode::BeforeProcessing),
            ("AfterProcessing", AckMode::AfterProcessing),
        ],
    );
    if reads != Reads::Topic {
        f.unit("ack delay", "Time between finishing a message and the broker holding its ack; a crash in this window redelivers a processed message.", &mut c.ack_delay);
    }
}

/// Topics: when the group's offsets are committed.
fn commit(f: &mut Form<'_>, commit: &mut Commit) {
    let current = match commit {
        Commit::AfterEach => "AfterEach",
        Commit::Interval { .. } => "Interval",
        Commit::Batch { .. } => "Batch",
        Commit::Transactional { .. } => "Transactional",
    };
    f.choice(
        "commit",
        "Topics: when the group's offsets are committed. Auto-commit every interval \
         (Kafka's default, 5 s), after each record, after a batch, or in transactions \
         with the outputs (exactly-once within the broker). After a crash, the group \
         restarts from the last commit.",
        commit,
        current,
        &[
            ("AfterEach", Commit::AfterEach),
            (
                "Interval",
                Commit::Interval {
                    every: Duration::from_secs(5),
                },
            ),
            ("Batch", Commit::Batch { size: 100 }),
            (
                "Transactional",
                Commit::Transactional {
                    every: Duration::from_millis(100),
                },
            ),
        ],
    );
    match commit {
        Commit::Interval { every } | Commit::Transactional { every } => {
            f.unit("  every", "Time between commits.", every)
        }
        Commit::Batch { size } => f.number("  size", "Records per commit.", size, 1..=100_000),
        Commit::AfterEach => {}
    }
}

/// The dedupe store of message ids.
fn idempotency(f: &mut Form<'_>, idempotency: &mut Idempotency) {
    let current = match idempotency {
        Idempotency::None => "None",
        Idempotency::Exact => "Exact",
        Idempotency::Window { .. } => "Window",
        Idempotency::TimeWindow { .. } => "TimeWindow",
    };
    f.choice(
        "idempotency",
        "A dedupe store of message ids: a redelivered message already processed is \
         skipped. Exact remembers every id; a window remembers only the last N ids or \
         the last span of time, so late duplicates slip through.",
        idempotency,
        current,
        &[
            ("None", Idempotency::None),
            ("Exact", Idempotency::Exact),
            ("Window", Idempotency::Window { count: 1000 }),
            (
                "TimeWindow",
                Idempotency::TimeWindow {
                    span: Duration::from_secs(60),
                },
            ),
        ],
    );
    match idempotency {
        Idempotency::Window { count } => {
            f.number("  count", "Ids remembered.", count, 1..=10_000_000)
        }
        Idempotency::TimeWindow { span } => f.unit("  span", "How long an id is remembered.", span),
        _ => {}
    }
}

/// How many tries a message gets, and the wait before each retry.
fn retries(f: &mut Form<'_>, c: &mut RawConsumer) {
    f.number("max attempts", "Tries per message, the first included; then it goes to the dead-letter edge (or is dropped).", &mut c.retry.max_attempts, 1..=1000);
    let current = match c.retry.backoff {
        Backoff::Immediate => "Immediate",
        Backoff::Fixed { .. } => "Fixed",
        Backoff::Exponential { .. } => "Exponential",
    };
    f.choice(
        "backoff",
        "Wait before a retry: none (immediate requeue), fixed, or exponential with a cap \
         and jitter, which spreads retries so a failing dependency is not hammered.",
        &mut c.retry.backoff,
        current,
        &[
            ("Immediate", Backoff::Immediate),
            (
                "Fixed",
                Backoff::Fixed {
                    delay: Duration::from_secs(1),
                },
            ),
            (
                "Exponential",
                Backoff::Exponential {
                    base: Duration::from_millis(100),
                    cap: Duration::from_secs(10),
                    jitter: Jitter::Full,
                },
            ),
        ],
    );
    match &mut c.retry.backoff {
        Backoff::Fixed { delay } => f.unit("  delay", "Wait before each retry.", delay),
        Backoff::Exponential { base, cap, jitter } => {
            f.unit(
                "  base",
                "Wait before the first retry; doubled each time.",
                base,
            );
            f.unit("  cap", "Longest wait.", cap);
            let current = format!("{jitter:?}");
            f.choice(
                "  jitter",
                "Randomness in the wait: none, full (0 to the wait), equal (half to the \
                 wait) or decorrelated (from the previous wait).",
                jitter,
                &current,
                &[
                    ("None", Jitter::None),
                    ("Full", Jitter::Full),
                    ("Equal", Jitter::Equal),
                    ("Decorrelated", Jitter::Decorrelated),
                ],
            );
        }
        Backoff::Immediate => {}
    }
}

/// Topics: where a group starts without a committed offset, and how a crash pauses it.
fn group_recovery(f: &mut Form<'_>, c: &mut RawConsumer) {
    let current = format!("{:?}", c.auto_offset_reset);
    f.choice(
        "auto offset reset",
        "Topics: where a group starts without a valid committed offset (retention deleted \
         it): the earliest record kept, or the latest (skipping the rest).",
        &mut c.auto_offset_reset,
        &current,
        &[
            ("Earliest", OffsetReset::Earliest),
            ("Latest", OffsetReset::Latest),
        ],
    );
    f.unit(
        "session timeout",
        "Topics: how long a crashed member stays in its group before the group rebalances.",
        &mut c.session_timeout,
    );
    f.unit(
        "rebalance time",
        "Topics: how long a rebalance pauses the whole group.",
        &mut c.rebalance_time,
    );
}
