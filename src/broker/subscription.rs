//! A subscription: everything that reads one stream of copies as one logical
//! consumer. The competing consumers of a queue form one; each consumer
//! group of a topic forms one. It is where "processed" is decided exactly:
//!
//! - duplicates: a message id processed before in this subscription (a bit
//!   per message id, so counting is exact and costs one bit per message);
//! - idempotency: the consumer's dedupe store (exact, or a window by count or
//!   time that forgets, so old duplicates slip through);
//! - ordering: the highest per-key sequence number processed so far; a
//!   message processed after a higher one of its key is a violation, and the
//!   message's history says which mechanism caused it.

use std::collections::VecDeque;

pub use super::ids::IdSet;
use super::ids::Processed;
use super::world::World;
use crate::engine::SimTime;
use crate::scenario::raw::Idempotency;

/// Why a message was processed out of order, as far as its history tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReorderCause {
    /// Redelivered after a crash, a nack or an expired visibility timeout.
    Requeue,
    /// Tried again after failing.
    Retry,
    /// Handed to another group member after a rebalance.
    Rebalance,
    /// Overtaken by a message processed in parallel (concurrency, competing consumers).
    Concurrency,
}

/// Per-cause counts of ordering violations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Reordered {
    pub requeue: u64,
    pub retry: u64,
    pub rebalance: u64,
    pub concurrency: u64,
}

impl Reordered {
    pub fn total(&self) -> u64 {
        self.requeue + self.retry + self.rebalance + self.concurrency
    }

    #[cold]
    fn count(&mut self, cause: ReorderCause) {
        match cause {
            ReorderCause::Requeue => self.requeue += 1,
            ReorderCause::Retry => self.retry += 1,
            ReorderCause::Rebalance => self.rebalance += 1,
            ReorderCause::Concurrency => self.concurrency += 1,
        }
    }
}

/// What processing one copy amounted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// The first time this message was processed here.
    First,
    /// The first time, but after a later message of its key: counted as reordered.
    Reordered,
    /// Processed again: a duplicate effect.
    Duplicate,
    /// The dedupe store recognised it: no effect.
    Deduplicated,
}

/// The idempotency store's memory, when it forgets.
#[derive(Default)]
struct Window {
    /// Ids remembered, oldest first, with when they were processed.
    recent: VecDeque<(u64, SimTime)>,
    members: IdSet,
}

pub struct Subscription {
    pub name: String,
    idempotency: Idempotency,
    /// Every id processed (its effect applied) at least once, that a copy may still bring back.
    processed: Processed,
    window: Window,
    /// Highest key sequence number processed per key; `None` before the first.
    last_seq: Vec<Option<u32>>,
    pub duplicates: u64,
    pub deduplicated: u64,
    pub reordered: Reordered,
}

impl Subscription {
    pub fn new(name: String, idempotency: Idempotency, keys: u32) -> Self {
        Self {
            name,
            idempotency,
            processed: Processed::default(),
            window: Window::default(),
            last_seq: vec![None; keys as usize],
            duplicates: 0,
            deduplicated: 0,
            reordered: Reordered::default(),
        }
    }

    /// Whether an id could not be remembered for want of memory (the counts would be wrong).
    pub fn out_of_memory(&self) -> bool {
        self.processed.out_of_memory() || self.window.members.out_of_memory()
    }

    /// Forgets every id below `low`: no copy of those messages is left anywhere; the ids
    /// to come start at `next`.
    pub fn forget_below(&mut self, low: u64, next: u64) {
        self.processed.forget_below(low, next);
        self.window.members.forget_below(low);
    }

    /// Memory the id sets take now.
    pub fn id_bytes(&self) -> usize {
        self.processed.bytes() + self.window.members.bytes()
    }

    /// Forgets that `id` was processed (its transaction aborted: the effect never happened).
    pub fn forget_processed(&mut self, id: u64) {
        self.processed.remove(id);
    }

    /// Whether `id` has been processed here before.
    pub fn seen(&self, id: u64) -> bool {
        self.processed.contains(id)
    }

    /// Records that a copy finished processing at `now`; decides its effect.
    /// `cause` is what the copy's history would blame for a reordering.
    #[inline]
    pub fn process(
        &mut self,
        now: SimTime,
        id: u64,
        key: u32,
        key_seq: u32,
        cause: ReorderCause,
    ) -> Effect {
        let seen = match self.idempotency {
            Idempotency::None => self.processed.test_and_set(id),
            Idempotency::Exact => {
                if self.processed.test_and_set(id) {
                    self.deduplicated += 1;
                    return Effect::Deduplicated;
                }
                false
            }
            Idempotency::Window { .. } | Idempotency::TimeWindow { .. } => {
                self.forget(now);
                if self.window.members.contains(id) {
                    self.deduplicated += 1;
                    return Effect::Deduplicated;
                }
                self.remember(now, id);
                self.processed.test_and_set(id)
            }
        };
        if seen {
            self.duplicates += 1;
            return Effect::Duplicate;
        }
        if let Some(last) = self.last_seq.get_mut(key as usize) {
            match *last {
                Some(highest) if key_seq < highest => {
                    self.reordered.count(cause);
                    return Effect::Reordered;
                }
                _ => *last = Some(key_seq),
            }
        }
        Effect::First
    }

    fn remember(&mut self, now: SimTime, id: u64) {
        if matches!(
            self.idempotency,
            Idempotency::Window { .. } | Idempotency::TimeWindow { .. }
        ) {
            self.window.recent.push_back((id, now));
            self.window.members.insert(id);
            self.forget(now);
        }
    }

    /// Drops what a windowed store no longer remembers.
    fn forget(&mut self, now: SimTime) {
        loop {
            let Some(&(id, at)) = self.window.recent.front() else {
                return;
            };
            let expired = match self.idempotency {
                Idempotency::Window { count } => self.window.recent.len() > count as usize,
                Idempotency::TimeWindow { span } => at + span.nanos < now,
                Idempotency::None | Idempotency::Exact => true,
            };
            if !expired {
                return;
            }
            // An id is remembered at most once (it is only added when not remembered).
            self.window.recent.pop_front();
            self.window.members.remove(id);
        }
    }
}

/// Ids are forgotten at most this often (in ids produced), and at least as seldom as the
/// copies and records there are to scan, so the scan costs O(1) a message.
const FORGET_EVERY: u64 = 1 << 16;

impl World {
    /// The id of a new message. Now and then, first forgets in every subscription the ids
    /// below every live copy's and every stored record's: no copy of those can come back, so
    /// duplicate detection stays exact with memory bounded by what is in flight, not by
    /// history.
    #[inline]
    pub(super) fn new_message_id(&mut self) -> u64 {
        if self.next_message_id >= self.next_forget {
            self.forget_ids();
        }
        let id = self.next_message_id;
        self.next_message_id += 1;
        id
    }

    #[cold]
    fn forget_ids(&mut self) {
        let low = self.lowest_live_id();
        for subscription in &mut self.subscriptions {
            subscription.forget_below(low, self.next_message_id);
        }
        self.ids_forgotten_below = low;
        let held = self.messages.len() as u64 + self.stored_records;
        self.next_forget = self.next_message_id + FORGET_EVERY.max(held);
    }

    /// The lowest id of a message copy in the arena or a record in a log (the next id when
    /// there is none).
    pub(super) fn lowest_live_id(&self) -> u64 {
        let copies = self.messages.live().map(|m| m.id);
        let records = self
            .topics
            .iter()
            .flat_map(|t| t.partitions.iter())
            .flat_map(|p| p.records.iter())
            .map(|r| r.id);
        copies.chain(records).fold(self.next_message_id, u64::min)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::units::Duration;

    #[test]
    fn duplicates_are_counted_and_exact_stores_stop_them() {
        let mut plain = Subscription::new("q".into(), Idempotency::None, 0);
        let mut exact = Subscription::new("q".into(), Idempotency::Exact, 0);
        for id in [1, 2, 1, 3, 1] {
            plain.process(0, id, u32::MAX, 0, ReorderCause::Concurrency);
            exact.process(0, id, u32::MAX, 0, ReorderCause::Concurrency);
        }
        assert_eq!((plain.duplicates, plain.deduplicated), (2, 0));
        assert_eq!((exact.duplicates, exact.deduplicated), (0, 2));
    }

    #[test]
    fn a_queue_among_thousands_keeps_few_bytes_of_ids() {
        let mut sub = Subscription::new("q".into(), Idempotency::None, 0);
        // It sees one id in 1,000, forgetting every 65,536 ids with 100 in flight.
        for id in (0..10_000_000u64).step_by(1000) {
            sub.process(0, id, u32::MAX, 0, ReorderCause::Concurrency);
            if id % 65_536 < 1000 {
                sub.forget_below(id.saturating_sub(100), id + 1);
            }
        }
        assert!(sub.id_bytes() < 4096, "{} bytes", sub.id_bytes());
        assert_eq!(sub.duplicates, 0);
    }

    #[test]
    fn a_small_window_lets_old_duplicates_through() {
        let mut window = Subscription::new("q".into(), Idempotency::Window { count: 2 }, 0);
        // 1 is remembered while only one other id came after it, forgotten after two.
        let effects: Vec<Effect> = [1, 2, 1, 3, 4, 1]
            .iter()
            .map(|&id| window.process(0, id, u32::MAX, 0, ReorderCause::Requeue))
            .collect();
        assert_eq!(
            effects,
            [
                Effect::First,
                Effect::First,
                Effect::Deduplicated,
                Effect::First,
                Effect::First,
                Effect::Duplicate
            ]
        );
        let mut timed = Subscription::new(
            "q".into(),
            Idempotency::TimeWindow {
                span: Duration::from_secs(1),
            },
            0,
        );
        assert_eq!(
            timed.process(0, 7, u32::MAX, 0, ReorderCause::Requeue),
            Effect::First
        );
        assert_eq!(
            timed.process(900_000_000, 7, u32::MAX, 0, ReorderCause::Requeue),
            Effect::Deduplicated
        );
        assert_eq!(
            timed.process(3_000_000_000, 7, u32::MAX, 0, ReorderCause::Requeue),
            Effect::Duplicate
        );
    }

    #[test]
    fn ordering_violations_are_counted_by_cause() {
        let mut sub = Subscription::new("g".into(), Idempotency::None, 2);
        let cases = [
            (10, 0, 0, ReorderCause::Concurrency, Effect::First),
            (11, 0, 2, ReorderCause::Concurrency, Effect::First),
            (12, 0, 1, ReorderCause::Retry, Effect::Reordered),
            (13, 1, 0, ReorderCause::Requeue, Effect::First),
            (14, 0, 3, ReorderCause::Requeue, Effect::First),
        ];
        for (id, key, seq, cause, effect) in cases {
            assert_eq!(sub.process(0, id, key, seq, cause), effect, "message {id}");
        }
        assert_eq!(
            sub.reordered,
            Reordered {
                retry: 1,
                ..Default::default()
            }
        );
    }
}
