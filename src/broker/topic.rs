//! A Kafka-style topic: partitioned append-only logs, a partitioner, retention
//! by time and size, and consumer groups with committed offsets.
//!
//! A partition stores records from the lowest offset any group still needs
//! (its committed offset) or, with retention set, from what retention keeps.
//! With retention, the log is a list of segments, as in Kafka: the newest
//! (active) one takes appends and rolls over at `segment_bytes` or
//! `segment_roll`, and every `retention_check` the broker deletes whole
//! segments from the oldest on (see `World::enforce_retention`), never one at
//! or above the high watermark. Deletion happens on that schedule only, so
//! nothing else (sampling, tracing) moves it.
//! Each group tracks, per partition, its committed offset and its position
//! (next offset to fetch); records between the two are in consumers' hands.
//! Assignment within a group is Kafka's range assignor: partitions in order,
//! members sorted by id, the first `partitions % members` members one extra.

use std::collections::VecDeque;

pub use super::group::{Fetchable, GroupCursor, GroupState};

use super::murmur2::partition_for_key;
use super::routing::VariantId;
use super::sampling::{NO_KEY, key_text};
use crate::engine::SimTime;
use crate::engine::rng::Stream;
use crate::metrics::TimeAverage;
use crate::scenario::raw::Partitioner;
use rand::Rng;

/// One record in a partition's log.
#[derive(Debug, Clone, Copy)]
pub struct Record {
    pub id: u64,
    pub produced_at: SimTime,
    pub appended_at: SimTime,
    pub key: u32,
    pub key_seq: u32,
    pub size: u32,
    pub variant: VariantId,
    pub priority: u8,
    /// Message flags carried through the log (a dead letter stays one).
    pub flags: u8,
    /// The producer that wrote it (index + 1; 0 for a consumer's publish).
    pub producer: u16,
}

impl Record {
    /// The record `message` becomes when appended at `now` (a dead letter stays one).
    #[inline]
    pub fn of(message: &super::message::Message, now: SimTime) -> Record {
        Record {
            id: message.id,
            produced_at: message.produced_at,
            appended_at: now,
            key: message.key,
            key_seq: message.key_seq,
            size: message.size,
            variant: message.variant,
            priority: message.priority,
            flags: message.flags & super::message::flag::DEAD,
            producer: message.producer,
        }
    }

    /// The message copy this record stands for, as it was appended (its flags too), in no
    /// partition, queue or consumer's hands yet.
    #[inline]
    pub fn message(&self) -> super::message::Message {
        super::message::Message {
            id: self.id,
            produced_at: self.produced_at,
            enqueued_at: self.appended_at,
            offset: 0,
            key: self.key,
            key_seq: self.key_seq,
            size: self.size,
            partition: 0,
            hand: 0,
            variant: self.variant,
            attempts: 0,
            deliveries: 0,
            priority: self.priority,
            flags: self.flags,
            processing: false,
            producer: self.producer,
        }
    }
}

/// A stretch of a partition's log, deleted as a whole by retention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    /// Offset of its first record.
    pub base_offset: u64,
    pub bytes: u64,
    /// When its first record was appended (it rolls `segment_roll` after that).
    pub first_at: SimTime,
    /// When its newest record was appended (Kafka's largest timestamp: the segment
    /// expires `retention` after it).
    pub last_at: SimTime,
}

#[derive(Default)]
pub struct Partition {
    /// Offset of `records[0]`.
    pub base_offset: u64,
    pub records: VecDeque<Record>,
    /// Offset the next record gets (Kafka's log-end offset).
    pub end_offset: u64,
    /// Bytes of the stored records.
    pub bytes: u64,
    /// High watermark: records below it are on every in-sync replica; consumers read only these.
    pub hw: u64,
    /// No leader until then (`SimTime::MAX`: until its broker returns).
    pub offline_until: SimTime,
    /// Replicas whose broker is down.
    pub failed_replicas: u32,
    /// The log-end offset over time (after the warm-up), for the groups' mean lag.
    pub end_average: TimeAverage,
    /// With retention: the log's segments, oldest first, the active one last; records
    /// from `base_offset` on, none empty but a fresh active one. Empty without retention.
    pub segments: VecDeque<Segment>,
}

impl Partition {
    /// A leader failover: the new leader has everything below the high watermark and
    /// nothing after it. Returns the records cut off, newest first.
    pub fn truncate_to_hw(&mut self, now: SimTime) -> Vec<Record> {
        let mut truncated = Vec::new();
        while self.end_offset > self.hw {
            let Some(record) = self.records.pop_back() else {
                break;
            };
            self.end_offset -= 1;
            self.bytes = self.bytes.saturating_sub(u64::from(record.size));
            truncated.push(record);
        }
        self.end_average.set(now, self.end_offset);
        self.truncate_segments();
        truncated
    }

    /// Whether it has a leader at `now`.
    #[inline]
    pub fn online(&self, now: SimTime) -> bool {
        self.offline_until <= now
    }

    #[inline]
    pub fn record(&self, offset: u64) -> Option<&Record> {
        self.records
            .get(offset.checked_sub(self.base_offset)? as usize)
    }

    /// Counts a record of `size` bytes appended at `now` (its offset `end_offset - 1`) in
    /// the active segment, rolling a new one first when the active one holds records and
    /// the record would take it past `max_bytes` or it was started more than `roll` ago
    /// (Kafka's `LogSegment.shouldRoll`).
    pub fn add_to_segment(&mut self, now: SimTime, size: u64, max_bytes: u64, roll: u64) {
        let offset = self.end_offset.saturating_sub(1);
        let rolls = self.segments.back().is_none_or(|active| {
            active.bytes > 0
                && (active.bytes.saturating_add(size) > max_bytes
                    || now.saturating_sub(active.first_at) > roll)
        });
        if rolls {
            self.segments.push_back(Segment {
                base_offset: offset,
                bytes: 0,
                first_at: now,
                last_at: now,
            });
        }
        if let Some(active) = self.segments.back_mut() {
            if active.bytes == 0 {
                active.base_offset = offset;
                active.first_at = now;
            }
            active.bytes += size;
            active.last_at = now;
        }
    }

    /// How many whole segments, oldest first, retention deletes at `now`: first while
    /// the log is over `retention_bytes` by at least the segment's size, then while the
    /// segment's newest record is older than `retention`; never a segment that reaches
    /// past `readable` (the high watermark) and never an empty active one (Kafka's
    /// `deleteRetentionSizeBreachedSegments`, then `deleteRetentionMsBreachedSegments`).
    pub fn expired_segments(
        &self,
        now: SimTime,
        readable: u64,
        retention: Option<u64>,
        retention_bytes: Option<u64>,
    ) -> usize {
        let deletable = |i: usize| {
            let Some(segment) = self.segments.get(i) else {
                return false;
            };
            let upper = self
                .segments
                .get(i + 1)
                .map_or(self.end_offset, |next| next.base_offset);
            let last_and_empty = i + 1 == self.segments.len() && segment.bytes == 0;
            readable >= upper && !last_and_empty
        };
        let mut cut = 0;
        if let Some(max) = retention_bytes
            && self.bytes >= max
        {
            let mut over = self.bytes - max;
            while deletable(cut) && over >= self.segments[cut].bytes {
                over -= self.segments[cut].bytes;
                cut += 1;
            }
        }
        if let Some(retention) = retention {
            while deletable(cut) && now.saturating_sub(self.segments[cut].last_at) > retention {
                cut += 1;
            }
        }
        cut
    }

    /// Records were removed from the end of the log (a failover truncated it): segments
    /// beyond the new end go, and the new active one is measured again.
    pub fn truncate_segments(&mut self) {
        if self.segments.is_empty() {
            return;
        }
        while self.segments.len() > 1
            && self
                .segments
                .back()
                .is_some_and(|s| s.base_offset >= self.end_offset)
        {
            self.segments.pop_back();
        }
        let Some(active) = self.segments.back().copied() else {
            return;
        };
        let (mut bytes, mut last_at) = (0, active.first_at);
        for offset in active.base_offset..self.end_offset {
            if let Some(record) = self.record(offset) {
                bytes += u64::from(record.size);
                last_at = record.appended_at;
            }
        }
        if let Some(active) = self.segments.back_mut() {
            active.bytes = bytes;
            active.last_at = last_at;
            if bytes == 0 {
                active.base_offset = self.end_offset;
            }
        }
    }
}

pub struct TopicState {
    pub node: usize,
    pub partitioner: Partitioner,
    pub retention_nanos: Option<u64>,
    pub retention_bytes: Option<u64>,
    pub segment_bytes: u64,
    pub segment_roll: u64,
    pub retention_check: u64,
    pub partitions: Vec<Partition>,
    /// The partitions' log-end offsets summed, kept as they move.
    pub end_sum: u64,
    pub groups: Vec<GroupState>,
    /// Round-robin cursor for keyless records, and the sticky partitioner's batch count.
    rr_next: u32,
    sticky_left: u32,
    /// Partition of each key index, precomputed (murmur2 of `key-N`).
    key_partition: Vec<u32>,
    /// The topic's own stream, for the sticky partitioner's choices.
    rng: Stream,
    pub appended: u64,
    pub replication_factor: u32,
    pub min_insync_replicas: u32,
    pub replication_delay: u64,
    pub failover: u64,
}

/// Keys above this count are hashed per record rather than precomputed.
const KEY_TABLE_MAX: u32 = 1 << 20;

impl TopicState {
    pub fn new(node: usize, spec: &crate::scenario::Topic, key_count: u32, rng: Stream) -> Self {
        let partitions = spec.partitions;
        let key_partition = (0..key_count.min(KEY_TABLE_MAX))
            .map(|k| partition_for_key(key_text(k).as_bytes(), partitions))
            .collect();
        Self {
            node,
            partitioner: spec.partitioner,
            retention_nanos: spec.retention_nanos,
            retention_bytes: spec.retention_bytes,
            segment_bytes: spec.segment_bytes,
            segment_roll: spec.segment_roll_nanos,
            retention_check: spec.retention_check_nanos,
            partitions: (0..partitions).map(|_| Partition::default()).collect(),
            end_sum: 0,
            groups: Vec::new(),
            rr_next: 0,
            sticky_left: 0,
            key_partition,
            rng,
            appended: 0,
            replication_factor: spec.replication_factor,
            min_insync_replicas: spec.min_insync_replicas,
            replication_delay: spec.replication_delay_nanos,
            failover: spec.failover_nanos,
        }
    }

    /// Where consumers may read up to in partition `p`: the high watermark when followers replicate.
    #[inline]
    /// Whether records are deleted by retention (by time or size) rather than once read.
    pub fn has_retention(&self) -> bool {
        self.retention_nanos.is_some() || self.retention_bytes.is_some()
    }

    pub fn readable_end(&self, partition: &Partition) -> u64 {
        if self.replication_factor > 1 {
            partition.hw
        } else {
            partition.end_offset
        }
    }

    /// The partition a record with `key` goes to.
    #[inline]
    pub fn choose_partition(&mut self, key: u32) -> u32 {
        let n = self.partitions.len() as u32;
        let hashed = |key: u32, table: &[u32]| match table.get(key as usize) {
            Some(p) => *p,
            None => partition_for_key(key_text(key).as_bytes(), n),
        };
        match self.partitioner {
            Partitioner::KeyHash if key != NO_KEY => hashed(key, &self.key_partition),
            Partitioner::Sticky { .. } if key != NO_KEY => hashed(key, &self.key_partition),
            Partitioner::KeyHash | Partitioner::RoundRobin => {
                let p = self.rr_next % n;
                self.rr_next = (p + 1) % n;
                p
            }
            Partitioner::Sticky { batch } => {
                if self.sticky_left == 0 {
                    // Kafka's sticky partitioner moves to a different, random partition when a batch is full.
                    let step = if n > 1 {
                        1 + (self.rng.next_u64() % u64::from(n - 1)) as u32
                    } else {
                        0
                    };
                    self.rr_next = (self.rr_next + step) % n;
                    self.sticky_left = batch.max(1);
                }
                self.sticky_left -= 1;
                self.rr_next
            }
        }
    }

    /// Lowest committed offset of any group on `partition`.
    pub fn min_committed(&self, partition: usize) -> u64 {
        self.groups
            .iter()
            .filter_map(|g| g.cursors.get(partition))
            .map(|c| c.committed)
            .min()
            .unwrap_or(0)
    }
}
