//! The pending-event set: a monotone priority queue over `(time, sequence)`.
//!
//! A discrete-event simulation never schedules into the past, so the queue
//! can be a radix heap: buckets by the highest bit in which an event's time
//! differs from the last time popped. Push is O(1); each event moves down
//! at most 64 buckets over its life, so pop is amortised O(log of the time
//! span) and, unlike a binary heap, touches memory mostly sequentially, which
//! is what keeps a million pending events fast (see `evlab bench`).
//!
//! Ties: events at the same time leave in the order they were pushed. The
//! sequence number records that order; bucket 0 (events at exactly the last
//! popped time) is kept sorted by it.

use std::collections::VecDeque;

use super::SimTime;

#[derive(Clone, Copy)]
struct Entry<E> {
    time: SimTime,
    seq: u64,
    event: E,
}

/// Number of buckets: one for "equal to last", one per differing bit.
const BUCKETS: usize = 65;

pub struct EventQueue<E> {
    /// Bucket 0: events at time == `last`, in sequence order.
    now: VecDeque<Entry<E>>,
    /// Bucket b (1..=64): events whose time differs from `last` first at bit b-1.
    buckets: Vec<Vec<Entry<E>>>,
    /// Bit b set when `buckets[b]` is not empty.
    occupied: u128,
    last: SimTime,
    next_seq: u64,
    len: usize,
}

impl<E: Copy> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E: Copy> EventQueue<E> {
    pub fn new() -> Self {
        Self {
            now: VecDeque::new(),
            buckets: (0..BUCKETS).map(|_| Vec::new()).collect(),
            occupied: 0,
            last: 0,
            next_seq: 0,
            len: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[inline]
    fn bucket_of(&self, time: SimTime) -> usize {
        (64 - (time ^ self.last).leading_zeros()) as usize
    }

    /// Adds an event. `time` must not be before the last popped time; an
    /// earlier time is treated as the last popped time.
    #[inline]
    pub fn push(&mut self, time: SimTime, event: E) {
        let time = time.max(self.last);
        let entry = Entry {
            time,
            seq: self.next_seq,
            event,
        };
        self.next_seq += 1;
        self.len += 1;
        let b = self.bucket_of(time);
        if b == 0 {
            self.now.push_back(entry);
        } else if let Some(bucket) = self.buckets.get_mut(b) {
            bucket.push(entry);
            self.occupied |= 1 << b;
        }
    }

    /// Refills bucket 0 from the lowest non-empty bucket. Returns false when empty.
    #[inline]
    fn refill(&mut self) -> bool {
        if !self.now.is_empty() {
            return true;
        }
        if self.occupied == 0 {
            return false;
        }
        let b = self.occupied.trailing_zeros() as usize;
        // Fast path, common when few events are pending: a lone entry is the minimum.
        if let Some(bucket) = self.buckets.get_mut(b)
            && bucket.len() == 1
            && let Some(entry) = bucket.pop()
        {
            self.occupied &= !(1 << b);
            self.last = entry.time;
            self.now.push_back(entry);
            return true;
        }
        self.redistribute(b);
        true
    }

    /// Empties bucket `b` (the lowest non-empty one): its minimum becomes the
    /// new `last`, and every entry moves to a lower bucket relative to it.
    #[cold]
    #[inline(never)]
    fn redistribute(&mut self, b: usize) {
        let Some(slot) = self.buckets.get_mut(b) else {
            return;
        };
        let mut bucket = std::mem::take(slot);
        self.occupied &= !(1 << b);
        let min = bucket.iter().map(|e| e.time).min().unwrap_or(self.last);
        self.last = min;
        for entry in bucket.drain(..) {
            let nb = self.bucket_of(entry.time);
            if nb == 0 {
                self.now.push_back(entry);
            } else if let Some(target) = self.buckets.get_mut(nb) {
                target.push(entry);
                self.occupied |= 1 << nb;
            }
        }
        // Give the emptied vector back so the bucket keeps its capacity.
        if let Some(slot) = self.buckets.get_mut(b) {
            *slot = bucket;
        }
        if self.now.len() > 1 {
            self.now.make_contiguous().sort_unstable_by_key(|e| e.seq);
        }
    }

    /// Removes and returns the earliest event.
    #[inline]
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        if !self.refill() {
            return None;
        }
        let entry = self.now.pop_front()?;
        self.len -= 1;
        Some((entry.time, entry.event))
    }

    /// Removes and returns the earliest event if its time is <= `until`.
    #[inline]
    pub fn pop_if_at_or_before(&mut self, until: SimTime) -> Option<(SimTime, E)> {
        if !self.refill() {
            return None;
        }
        if self.now.front()?.time > until {
            return None;
        }
        self.pop()
    }

    /// Time of the earliest event.
    pub fn peek_time(&self) -> Option<SimTime> {
        if let Some(e) = self.now.front() {
            return Some(e.time);
        }
        if self.occupied == 0 {
            return None;
        }
        let b = self.occupied.trailing_zeros() as usize;
        self.buckets.get(b)?.iter().map(|e| e.time).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    /// Random interleavings of pushes (never before the last pop) and pops give
    /// exactly the order of a `BTreeMap` keyed by (time, push order).
    fn check_against_model(ops: &[(bool, u64)]) {
        let mut queue = EventQueue::new();
        let mut model: BTreeMap<(u64, u64), u64> = BTreeMap::new();
        let mut last = 0u64;
        let mut seq = 0u64;
        for &(is_push, delta) in ops {
            if is_push {
                let time = last + delta;
                queue.push(time, seq);
                model.insert((time, seq), seq);
                seq += 1;
            } else {
                let expected = model.pop_first().map(|((t, _), v)| (t, v));
                assert_eq!(queue.peek_time(), expected.map(|e| e.0));
                let got = queue.pop();
                assert_eq!(got, expected);
                if let Some((t, _)) = got {
                    last = t;
                }
            }
            assert_eq!(queue.len(), model.len());
        }
        while let Some(expected) = model.pop_first() {
            assert_eq!(queue.pop(), Some((expected.0.0, expected.1)));
        }
        assert_eq!(queue.pop(), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        #[test]
        fn matches_a_btreemap(ops in proptest::collection::vec(
            (any::<bool>(), prop_oneof![Just(0u64), 0u64..4, 0u64..1_000, 0u64..1u64 << 50]),
            0..400,
        )) {
            check_against_model(&ops);
        }
    }

    #[test]
    fn a_million_mixed_operations_match_the_model() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(7);
        let ops: Vec<(bool, u64)> = (0..1_000_000)
            .map(|_| {
                let r = rng.next_u64();
                let delta = match r % 4 {
                    0 => 0,
                    1 => r >> 60,
                    2 => (r >> 20) % 1_000_000,
                    _ => (r >> 8) % 1_000_000_000_000,
                };
                (r & (1 << 9) != 0 || r & (1 << 10) != 0, delta)
            })
            .collect();
        check_against_model(&ops);
    }
}
