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

use super::murmur2::partition_for_key;
use super::routing::VariantId;
use super::sampling::{NO_KEY, key_text};
use crate::engine::SimTime;
use crate::engine::rng::Stream;
use crate::metrics::TimeAverage;
use crate::scenario::raw::{OffsetReset, Partitioner};
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

/// A group's progress on one partition.
#[derive(Default)]
pub struct GroupCursor {
    /// The committed offset: everything below it is done as far as Kafka knows.
    pub committed: u64,
    /// Next offset to fetch; `committed..position` were handed out since the last commit.
    pub position: u64,
    /// `done[i]`: offset `committed + i` is processed (completions can come out of order).
    pub done: VecDeque<bool>,
    /// Highest position reached before a rewind.
    pub fetched_upto: u64,
    /// The committed offset over time, and the most the lag reached (after the warm-up).
    pub committed_average: TimeAverage,
    pub max_lag: u64,
}

impl GroupCursor {
    /// The committed offset moved from `before` (at `now`, the partition's log ending at
    /// `end`): the lag it had just before is a candidate for the maximum, since between
    /// commits the lag only grows.
    pub fn committed_moved(&mut self, now: SimTime, end: u64, before: u64) {
        if self.committed != before {
            self.max_lag = self.max_lag.max(end.saturating_sub(before));
            self.committed_average.set(now, self.committed);
        }
    }

    /// The lag's mean since the warm-up (log-end minus committed, time-averaged), and its
    /// maximum, counting the lag it has now.
    pub fn lag_figures(&self, now: SimTime, partition: &Partition) -> (f64, u64) {
        let mean = partition.end_average.mean(now) - self.committed_average.mean(now);
        let current = partition.end_offset.saturating_sub(self.committed);
        (mean.max(0.0), self.max_lag.max(current))
    }

    /// The warm-up ended: lag statistics restart from now.
    pub fn reset_lag(&mut self, now: SimTime, partition: &Partition) {
        self.committed_average.set(now, self.committed);
        self.committed_average.reset(now);
        self.max_lag = partition.end_offset.saturating_sub(self.committed);
    }

    /// Whether `offset` is committed or processed since the last commit.
    pub fn is_complete(&self, offset: u64) -> bool {
        match offset.checked_sub(self.committed) {
            None => true,
            Some(i) => self.done.get(i as usize).copied().unwrap_or(false),
        }
    }

    /// After a rebalance: fetching starts again from the committed offset.
    /// What was processed since is remembered, so a record fetched again
    /// counts as a duplicate, not as a new copy.
    pub fn rewind(&mut self) {
        self.fetched_upto = self.fetched_upto.max(self.position);
        self.position = self.committed;
    }

    /// Whether the record at `offset` was handed out before (a redelivery).
    pub fn fetched_before(&self, offset: u64) -> bool {
        offset < self.fetched_upto
    }

    /// Commits everything below `offset`, processed or not (at-most-once commits on fetch).
    fn commit_to(&mut self, offset: u64) {
        while self.committed < offset {
            self.done.pop_front();
            self.committed += 1;
        }
    }

    /// Commits everything fetched so far (at-most-once: before processing), with the
    /// log-end offset `end`; returns how far the committed offset moved.
    pub fn commit_fetched(&mut self, now: SimTime, end: u64) -> u64 {
        let before = self.committed;
        self.commit_to(self.position);
        self.committed_moved(now, end, before);
        self.committed - before
    }

    /// Marks `offset` processed. It is committed at the next [`GroupCursor::commit`].
    pub fn complete(&mut self, offset: u64) {
        if let Some(flag) = offset
            .checked_sub(self.committed)
            .and_then(|i| self.done.get_mut(i as usize))
        {
            *flag = true;
        }
    }

    /// Un-marks `offset` as processed (its transaction aborted).
    pub fn undo(&mut self, offset: u64) {
        if let Some(flag) = offset
            .checked_sub(self.committed)
            .and_then(|i| self.done.get_mut(i as usize))
        {
            *flag = false;
        }
    }

    /// Commits the processed prefix: the committed offset moves to the first unprocessed one.
    pub fn commit(&mut self) {
        // Never past the fetch position: after a rewind, records processed before are
        // fetched (and processed) again, and only then committed.
        while self.committed < self.position && self.done.front() == Some(&true) {
            self.done.pop_front();
            self.committed += 1;
        }
    }

    /// Hands out the record at `position`.
    pub fn take(&mut self) -> u64 {
        let offset = self.position;
        self.position += 1;
        if (self.position - self.committed) as usize > self.done.len() {
            self.done.push_back(false);
        }
        offset
    }

    /// Skips the record at `position` (deleted before it was read).
    pub fn skip(&mut self) {
        let offset = self.take();
        self.complete(offset);
    }
}

pub struct GroupState {
    pub name: String,
    /// Member consumers (indices into the world's consumers), sorted by id.
    pub members: Vec<u32>,
    /// Partition -> member (index into `members`), or `None` when the group has fewer members than needed.
    pub owner: Vec<Option<u32>>,
    /// Member -> its partitions.
    pub assigned: Vec<Vec<u32>>,
    /// Member -> a bit per assigned partition (by its place in `assigned`) that may have a
    /// record to fetch. A fetch that finds nothing there clears it; whatever can make the
    /// partition readable sets it again (an append or a high-watermark move, a leader's
    /// return, a rewind, an offset reset, a retention skip: [`GroupState::may_fetch`]).
    /// Fetching looks only at set bits, so a member of many idle partitions does not scan
    /// them all, and takes the partitions in the same round-robin order as a scan would.
    pub fetchable: Vec<Fetchable>,
    /// Partitions whose cursor took or completed a record since the group last committed
    /// them: the only ones a commit can move ([`GroupState::touch`]).
    pub touched: Fetchable,
    /// The committed offsets summed over partitions, kept as they move.
    pub committed_sum: u64,
    pub cursors: Vec<GroupCursor>,
    /// Rebalances so far.
    pub rebalances: u64,
    /// Where the group starts again when its position was deleted (Kafka's
    /// `auto.offset.reset`, its first member's).
    pub reset: OffsetReset,
    /// Copies this group lost: deleted before it read them, truncated by a failover,
    /// or lost in its members' hands (whole run, as the ledger's `lost`).
    pub lost: u64,
}

impl GroupState {
    pub fn new(name: String, members: Vec<u32>, partitions: u32) -> Self {
        let mut group = Self {
            name,
            members,
            owner: vec![None; partitions as usize],
            assigned: Vec::new(),
            fetchable: Vec::new(),
            touched: Fetchable::none(partitions as usize),
            committed_sum: 0,
            cursors: (0..partitions).map(|_| GroupCursor::default()).collect(),
            rebalances: 0,
            reset: OffsetReset::Earliest,
            lost: 0,
        };
        group.assign_range();
        group
    }

    /// Kafka's range assignor over all members.
    pub fn assign_range(&mut self) {
        let all = vec![true; self.members.len()];
        self.assign_range_among(&all);
    }

    /// Kafka's range assignor over the members marked live; the others get nothing.
    pub fn assign_range_among(&mut self, live: &[bool]) {
        let partitions = self.owner.len();
        let members = self.members.len();
        self.assigned = vec![Vec::new(); members];
        self.fetchable = vec![Fetchable::default(); members];
        self.owner.iter_mut().for_each(|o| *o = None);
        let live_members: Vec<usize> = (0..members)
            .filter(|&m| live.get(m).copied().unwrap_or(false))
            .collect();
        if live_members.is_empty() {
            return;
        }
        let (per, extra) = (
            partitions / live_members.len(),
            partitions % live_members.len(),
        );
        let mut next = 0;
        for (rank, &m) in live_members.iter().enumerate() {
            let count = per + usize::from(rank < extra);
            for p in next..next + count {
                if let Some(owner) = self.owner.get_mut(p) {
                    *owner = Some(m as u32);
                }
                if let Some(list) = self.assigned.get_mut(m) {
                    list.push(p as u32);
                }
            }
            if let Some(bits) = self.fetchable.get_mut(m) {
                *bits = Fetchable::all(count);
            }
            next += count;
        }
    }

    /// Partition `p`'s cursor took or completed a record: the next commit looks at it.
    #[inline]
    pub fn touch(&mut self, p: usize) {
        self.touched.insert(p);
    }

    /// Partition `p` may have a record to fetch now: its owner will look at it.
    #[inline]
    pub fn may_fetch(&mut self, p: usize) {
        let Some(Some(m)) = self.owner.get(p).copied() else {
            return;
        };
        let m = m as usize;
        // The range assignor gives each member a contiguous run of partitions.
        let Some(&first) = self.assigned.get(m).and_then(|list| list.first()) else {
            return;
        };
        if let Some(bits) = self.fetchable.get_mut(m) {
            bits.insert(p.wrapping_sub(first as usize));
        }
    }

    /// Messages appended but not yet committed, summed over partitions, given the topic's
    /// log-end offsets summed (kept as they move, so no partition is visited).
    pub fn lag(&self, end_sum: u64) -> u64 {
        end_sum.saturating_sub(self.committed_sum)
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

/// A set of partitions (by their place in a member's assignment) as a two-level bitset: a
/// word per 64 partitions and a summary bit per word, so finding the next member of a
/// sparse set among 100,000 partitions reads a few dozen words, not thousands.
#[derive(Debug, Clone, Default)]
pub struct Fetchable {
    words: Vec<u64>,
    summary: Vec<u64>,
}

impl Fetchable {
    /// None of `count` places.
    pub fn none(count: usize) -> Self {
        Self {
            words: vec![0; count.div_ceil(64)],
            summary: vec![0; count.div_ceil(64 * 64)],
        }
    }

    /// Every one of `count` places.
    pub fn all(count: usize) -> Self {
        let mut set = Self::none(count);
        for i in 0..count {
            set.insert(i);
        }
        set
    }

    #[inline]
    pub fn insert(&mut self, i: usize) {
        if let Some(word) = self.words.get_mut(i / 64) {
            *word |= 1 << (i % 64);
            if let Some(summary) = self.summary.get_mut(i / 4096) {
                *summary |= 1 << ((i / 64) % 64);
            }
        }
    }

    #[inline]
    pub fn remove(&mut self, i: usize) {
        if let Some(word) = self.words.get_mut(i / 64) {
            *word &= !(1 << (i % 64));
            if *word == 0
                && let Some(summary) = self.summary.get_mut(i / 4096)
            {
                *summary &= !(1 << ((i / 64) % 64));
            }
        }
    }

    /// The first member at or after `from`, going round below `count`.
    #[inline]
    pub fn next_from(&self, from: usize, count: usize) -> Option<usize> {
        self.first_in(from, count)
            .or_else(|| self.first_in(0, from.min(count)))
    }

    /// The first member in `lo..hi`.
    #[inline]
    pub fn first_in(&self, lo: usize, hi: usize) -> Option<usize> {
        if let [word] = self.words.as_slice() {
            // A member of at most 64 partitions, the usual case: one word, no summary.
            if lo >= hi || lo >= 64 {
                return None;
            }
            let below_hi = if hi >= 64 { u64::MAX } else { (1 << hi) - 1 };
            let bits = word & below_hi & (u64::MAX << lo);
            return (bits != 0).then(|| bits.trailing_zeros() as usize);
        }
        self.first_in_words(lo, hi)
    }

    fn first_in_words(&self, lo: usize, hi: usize) -> Option<usize> {
        let mut i = lo;
        while i < hi {
            let word = self.words.get(i / 64).copied().unwrap_or(0) >> (i % 64);
            if word != 0 {
                let found = i + word.trailing_zeros() as usize;
                return (found < hi).then_some(found);
            }
            // On to the next word that has a member, found in the summary.
            let mut w = i / 64 + 1;
            loop {
                let summary = self.summary.get(w / 64)?;
                let bits = summary >> (w % 64);
                if bits != 0 {
                    w += bits.trailing_zeros() as usize;
                    break;
                }
                w = (w / 64 + 1) * 64;
            }
            i = w * 64;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::Fetchable;

    #[test]
    fn fetchable_finds_the_next_member_going_round() {
        // (set bits, from, count, found)
        let cases: &[(&[usize], usize, usize, Option<usize>)] = &[
            (&[], 0, 10, None),
            (&[3], 0, 10, Some(3)),
            (&[3], 4, 10, Some(3)),
            (&[3, 7], 4, 10, Some(7)),
            (&[3, 7], 8, 10, Some(3)),
            (&[64, 130], 65, 200, Some(130)),
            (&[64, 130], 131, 200, Some(64)),
            (&[199], 0, 200, Some(199)),
            // Bits beyond the count do not count.
            (&[12], 0, 10, None),
        ];
        for &(set, from, count, found) in cases {
            let mut bits = Fetchable::all(256);
            for i in 0..256 {
                if !set.contains(&i) {
                    bits.remove(i);
                }
            }
            assert_eq!(bits.next_from(from, count), found, "{set:?} from {from}");
        }
        // One word (at most 64 places): the same answers.
        for &(set, from, count, found) in cases.iter().filter(|c| c.2 <= 64) {
            let mut bits = Fetchable::all(count);
            for i in 0..count {
                if !set.contains(&i) {
                    bits.remove(i);
                }
            }
            assert_eq!(
                bits.next_from(from, count),
                found,
                "one word: {set:?} from {from}"
            );
        }
        // Far apart in a large set, and gone once removed.
        let mut bits = Fetchable::all(100_000);
        for i in 0..100_000 {
            if i != 5 && i != 99_000 {
                bits.remove(i);
            }
        }
        assert_eq!(bits.next_from(6, 100_000), Some(99_000));
        assert_eq!(bits.next_from(99_001, 100_000), Some(5));
        bits.remove(5);
        assert_eq!(bits.next_from(99_001, 100_000), Some(99_000));
        bits.remove(99_000);
        assert_eq!(bits.next_from(0, 100_000), None);
    }
}
