//! The topic's form: partitions and the partitioner, retention and segments,
//! replication and failover.

use super::form::Form;
use crate::scenario::raw::{Partitioner, RawTopic};
use crate::scenario::units::{Duration, Size};

pub(super) fn form(f: &mut Form<'_>, t: &mut RawTopic) {
    f.number("partitions", "The log is split into partitions; each is read by one member of a group, so partitions bound a group's parallelism.", &mut t.partitions, 1..=10_000);
    let current = match t.partitioner {
        Partitioner::KeyHash => "KeyHash",
        Partitioner::RoundRobin => "RoundRobin",
        Partitioner::Sticky { .. } => "Sticky",
    };
    f.choice(
        "partitioner",
        "Which partition a record goes to: by the murmur2 hash of its key (Kafka's \
         default; order per key), round-robin, or sticky batches.",
        &mut t.partitioner,
        current,
        &[
            ("KeyHash", Partitioner::KeyHash),
            ("RoundRobin", Partitioner::RoundRobin),
            ("Sticky", Partitioner::Sticky { batch: 16 }),
        ],
    );
    if let Partitioner::Sticky { batch } = &mut t.partitioner {
        f.number(
            "  batch",
            "Records sent to one partition before moving on.",
            batch,
            1..=100_000,
        );
    }
    f.optional_unit("retention", "Segments whose records are all older than this are deleted at the next retention check, read or not: a group lagging behind loses them.", &mut t.retention, Duration::from_secs(60));
    f.optional_unit(
        "retention bytes",
        "Most bytes kept per partition; the oldest segments go first.",
        &mut t.retention_bytes,
        Size { bytes: 1 << 20 },
    );
    if t.retention.is_some() || t.retention_bytes.is_some() {
        f.optional_unit(
            "segment bytes",
            "Retention deletes whole log segments: a new one starts past this size. Kafka's default is 1 GiB.",
            &mut t.segment_bytes,
            Size { bytes: 1 << 20 },
        );
        f.optional_unit(
            "segment roll",
            "A new segment also starts when the current one is this old. Kafka's default is 7 days.",
            &mut t.segment_roll,
            Duration::from_secs(10),
        );
        f.optional_unit(
            "retention check",
            "How often the broker deletes expired segments. Kafka's default is 5 minutes: with it, short runs delete nothing.",
            &mut t.retention_check,
            Duration::from_secs(5),
        );
    }
    f.number(
        "replication factor",
        "Copies of each partition. With acks=all a write waits for the in-sync ones.",
        &mut t.replication_factor,
        1..=10,
    );
    f.number(
        "min in-sync replicas",
        "With acks=all, a write is refused when fewer replicas are in sync.",
        &mut t.min_insync_replicas,
        1..=10,
    );
    f.unit("replication delay", "How long a follower takes to copy a record; a leader failure loses what is not copied yet (acks=1).", &mut t.replication_delay);
    f.unit(
        "failover",
        "How long electing a new leader takes; publishes wait or fail meanwhile.",
        &mut t.failover,
    );
}
