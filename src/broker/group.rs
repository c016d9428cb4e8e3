//! A consumer group's state on a topic: per partition, its committed offset, its
//! position and which records in between are done (`GroupCursor`); its members and
//! their range assignment; and, per member, the partitions that may have a record to
//! fetch (`Fetchable`), so a fetch never scans idle partitions.
//!
//! Assignment is Kafka's range assignor: partitions in order, members sorted by id, the
//! first `partitions % members` members one extra.

use crate::broker::index::ConsumerId;
use std::collections::VecDeque;

use super::generation::Generation;
use super::topic::Partition;
use crate::engine::SimTime;
use crate::metrics::TimeAverage;
use crate::scenario::raw::OffsetReset;

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
    pub members: Vec<ConsumerId>,
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
    /// The rebalance in progress: a membership change during one begins it again, and only
    /// the last one begun completes.
    pub rebalance: Generation,
    /// Where the group starts again when its position was deleted (Kafka's
    /// `auto.offset.reset`, its first member's).
    pub reset: OffsetReset,
    /// Copies this group lost: deleted before it read them, truncated by a failover,
    /// or lost in its members' hands (whole run, as the ledger's `lost`).
    pub lost: u64,
}

impl GroupState {
    pub fn new(name: String, members: Vec<ConsumerId>, partitions: u32) -> Self {
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
            rebalance: Generation::default(),
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
