//! The pending-event set: a monotone priority queue over `(time, sequence)`.
//!
//! Two layouts behind one type, chosen by size. With few events pending (the
//! usual case: a pipeline keeps a handful) a binary heap is the fastest
//! structure there is. With many, a binary heap's pops wander over memory, so
//! the queue becomes a radix heap: since a simulation never schedules into the
//! past, events can be bucketed by the highest bit in which their time differs
//! from the last time popped. Push is O(1); each event moves down at most 64
//! buckets over its life; memory is touched mostly sequentially, which keeps
//! a million pending events fast (see `evlab bench`). The queue switches
//! layout with hysteresis, so a size near the threshold does not thrash.
//!
//! Ties: events at the same time leave in the order they were pushed. Both
//! layouts order by `(time, sequence)`, where the sequence number records
//! push order, so the switch never changes the order of events.

use std::collections::VecDeque;

use super::SimTime;

#[derive(Clone, Copy)]
struct Entry<E> {
    time: SimTime,
    seq: u64,
    event: E,
}

impl<E> Entry<E> {
    #[inline]
    fn key(&self) -> (SimTime, u64) {
        (self.time, self.seq)
    }
}

/// A binary min-heap on `(time, seq)`, written out so that push and pop
/// inline into the event loop (with a handful of pending events, a call and
/// the moves around it cost as much as the heap work).
struct MinHeap<E> {
    entries: Vec<Entry<E>>,
}

impl<E: Copy> MinHeap<E> {
    fn new() -> Self {
        Self {
            entries: Vec::new(),
        }
    }

    fn from_vec(mut entries: Vec<Entry<E>>) -> Self {
        entries.sort_unstable_by_key(Entry::key);
        // A sorted array is a valid heap.
        Self { entries }
    }

    #[inline]
    fn len(&self) -> usize {
        self.entries.len()
    }

    #[inline]
    fn peek(&self) -> Option<&Entry<E>> {
        self.entries.first()
    }

    #[inline(always)]
    fn push(&mut self, entry: Entry<E>) {
        let key = entry.key();
        let mut hole = self.entries.len();
        self.entries.push(entry);
        while hole > 0 {
            let parent = (hole - 1) / 2;
            let Some(&above) = self.entries.get(parent) else {
                break;
            };
            if above.key() <= key {
                break;
            }
            self.entries.swap(parent, hole);
            hole = parent;
        }
    }

    #[inline(always)]
    fn pop(&mut self) -> Option<Entry<E>> {
        let last = self.entries.pop()?;
        let Some(&top) = self.entries.first() else {
            return Some(last);
        };
        // Sift `last` down from the root.
        let len = self.entries.len();
        let key = last.key();
        let mut hole = 0;
        loop {
            let left = 2 * hole + 1;
            if left >= len {
                break;
            }
            let right = left + 1;
            let child = match (self.entries.get(left), self.entries.get(right)) {
                (Some(l), Some(r)) if r.key() < l.key() => right,
                _ => left,
            };
            let Some(&smaller) = self.entries.get(child) else {
                break;
            };
            if key <= smaller.key() {
                break;
            }
            if let Some(place) = self.entries.get_mut(hole) {
                *place = smaller;
            }
            hole = child;
        }
        if let Some(place) = self.entries.get_mut(hole) {
            *place = last;
        }
        Some(top)
    }

    fn into_vec(self) -> Vec<Entry<E>> {
        self.entries
    }
}

/// Above this many pending events the queue turns into a radix heap...
const TO_RADIX: usize = 4096;
/// ...and below this many back into a binary heap.
const TO_HEAP: usize = 1024;

enum Layout<E> {
    Heap(MinHeap<E>),
    Radix(RadixHeap<E>),
}

pub struct EventQueue<E> {
    layout: Layout<E>,
    /// Time of the last event popped: nothing may be pushed before it.
    last: SimTime,
    next_seq: u64,
}

impl<E: Copy> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E: Copy> EventQueue<E> {
    pub fn new() -> Self {
        Self {
            layout: Layout::Heap(MinHeap::new()),
            last: 0,
            next_seq: 0,
        }
    }

    pub fn len(&self) -> usize {
        match &self.layout {
            Layout::Heap(heap) => heap.len(),
            Layout::Radix(radix) => radix.len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds an event. `time` must not be before the last popped time; an
    /// earlier time is treated as the last popped time.
    #[inline(always)]
    pub fn push(&mut self, time: SimTime, event: E) {
        let entry = Entry {
            time: time.max(self.last),
            seq: self.next_seq,
            event,
        };
        self.next_seq += 1;
        match &mut self.layout {
            Layout::Heap(heap) => {
                heap.push(entry);
                if heap.len() > TO_RADIX {
                    self.switch_to_radix();
                }
            }
            Layout::Radix(radix) => radix.push(entry),
        }
    }

    /// Removes and returns the earliest event.
    #[inline(always)]
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        let entry = match &mut self.layout {
            Layout::Heap(heap) => heap.pop()?,
            Layout::Radix(radix) => {
                let entry = radix.pop()?;
                if radix.len < TO_HEAP {
                    self.switch_to_heap();
                }
                entry
            }
        };
        self.last = entry.time;
        Some((entry.time, entry.event))
    }

    /// Removes and returns the earliest event if its time is <= `until`.
    #[inline]
    pub fn pop_if_at_or_before(&mut self, until: SimTime) -> Option<(SimTime, E)> {
        let next = match &mut self.layout {
            Layout::Heap(heap) => heap.peek()?.time,
            Layout::Radix(radix) => radix.front_time()?,
        };
        if next > until {
            return None;
        }
        self.pop()
    }

    /// Time of the earliest event.
    pub fn peek_time(&self) -> Option<SimTime> {
        match &self.layout {
            Layout::Heap(heap) => heap.peek().map(|e| e.time),
            Layout::Radix(radix) => radix.peek_time(),
        }
    }

    #[cold]
    fn switch_to_radix(&mut self) {
        let Layout::Heap(heap) = &mut self.layout else {
            return;
        };
        let mut radix = RadixHeap::new(self.last);
        // In key order, so that bucket 0 (ties at `last`) receives its entries in sequence order.
        let mut entries = std::mem::replace(heap, MinHeap::new()).into_vec();
        entries.sort_unstable_by_key(Entry::key);
        for entry in entries {
            radix.push(entry);
        }
        self.layout = Layout::Radix(radix);
    }

    #[cold]
    fn switch_to_heap(&mut self) {
        let Layout::Radix(radix) = &mut self.layout else {
            return;
        };
        let entries: Vec<Entry<E>> = radix.drain().collect();
        self.layout = Layout::Heap(MinHeap::from_vec(entries));
    }
}

/// Number of radix buckets: one for "equal to last", one per differing bit.
const BUCKETS: usize = 65;

struct RadixHeap<E> {
    /// Bucket 0: entries at time == `last`, in sequence order.
    now: VecDeque<Entry<E>>,
    /// Bucket b (1..=64): entries whose time differs from `last` first at bit b-1.
    buckets: Vec<Vec<Entry<E>>>,
    /// Bit b set when `buckets[b]` is not empty.
    occupied: u128,
    last: SimTime,
    len: usize,
}

impl<E: Copy> RadixHeap<E> {
    fn new(last: SimTime) -> Self {
        Self {
            now: VecDeque::new(),
            buckets: (0..BUCKETS).map(|_| Vec::new()).collect(),
            occupied: 0,
            last,
            len: 0,
        }
    }

    #[inline]
    fn bucket_of(&self, time: SimTime) -> usize {
        (64 - (time ^ self.last).leading_zeros()) as usize
    }

    /// Adds an entry at or after `last`. Entries in bucket 0 arrive in sequence order
    /// (a newer push has a larger sequence number), so it stays sorted.
    #[inline]
    fn push(&mut self, entry: Entry<E>) {
        self.len += 1;
        let b = self.bucket_of(entry.time);
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
        let Some(slot) = self.buckets.get_mut(b) else {
            return false;
        };
        let mut bucket = std::mem::take(slot);
        self.occupied &= !(1 << b);
        // The bucket's minimum becomes `last`; every entry moves to a lower bucket relative to it.
        self.last = bucket.iter().map(|e| e.time).min().unwrap_or(self.last);
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
        true
    }

    #[inline]
    fn pop(&mut self) -> Option<Entry<E>> {
        if !self.refill() {
            return None;
        }
        let entry = self.now.pop_front()?;
        self.len -= 1;
        Some(entry)
    }

    #[inline]
    fn front_time(&mut self) -> Option<SimTime> {
        if !self.refill() {
            return None;
        }
        self.now.front().map(|e| e.time)
    }

    fn peek_time(&self) -> Option<SimTime> {
        if let Some(e) = self.now.front() {
            return Some(e.time);
        }
        let b = self.occupied.trailing_zeros() as usize;
        self.buckets.get(b)?.iter().map(|e| e.time).min()
    }

    fn drain(&mut self) -> impl Iterator<Item = Entry<E>> + '_ {
        self.len = 0;
        self.occupied = 0;
        self.now
            .drain(..)
            .chain(self.buckets.iter_mut().flat_map(|b| b.drain(..)))
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

    #[test]
    fn switching_layouts_keeps_the_order() {
        // Grow far past the radix threshold and shrink back, twice, with many ties.
        let mut ops = Vec::new();
        for round in 0..2u64 {
            ops.extend((0..3 * TO_RADIX as u64).map(|i| (true, (i * 7 + round) % 5)));
            ops.extend((0..3 * TO_RADIX).map(|_| (false, 0)));
        }
        check_against_model(&ops);
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
