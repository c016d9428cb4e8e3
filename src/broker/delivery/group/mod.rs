//! Kafka consumer groups as a delivery model: a member fetches from the
//! partitions assigned to it, completes offsets as it processes them,
//! commits the processed prefix (after each record, in batches, on an
//! interval, or with a transaction), retries in place while its partition
//! waits, and the group rebalances when a member goes or comes back.
//!
//! - `fetch.rs`: fetching, rewinding to the committed offset, resets below the log start;
//! - `commit.rs`: commits and transactions;
//! - `rebalance.rs`: session timeouts and rebalances.

mod commit;
mod fetch;
mod rebalance;

use super::{Delivery, Down};
use crate::broker::consumer::ConsumerState;
use crate::broker::error::LedgerError;
use crate::broker::generation::Generation;
use crate::broker::index::{ConsumerId, TopicId};
use crate::broker::message::flag;
use crate::broker::subscription::Effect;
use crate::broker::world::{Event, Message, World};
use crate::engine::arena::Slot;
use crate::engine::{Scheduler, SimTime};
use crate::scenario::raw::{AckMode, Commit};

/// A member of group `group` of topic `topic`, by indices, as the source of a consumer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupDelivery {
    pub topic: TopicId,
    pub group: usize,
    /// The consumer's place among the group's members.
    pub member: usize,
}

impl GroupDelivery {
    /// Marks `offset` of `partition` done for the group; returns whether it was done already.
    fn complete(self, w: &mut World, partition: u32, offset: u64) -> bool {
        let Some(g) = w
            .topics
            .get_mut(self.topic)
            .and_then(|t| t.groups.get_mut(self.group))
        else {
            return false;
        };
        let Some(cursor) = g.cursors.get_mut(partition as usize) else {
            return false;
        };
        let before = cursor.is_complete(offset);
        cursor.complete(offset);
        g.touch(partition as usize);
        before
    }

    /// Whether `offset` of `partition` is done for the group.
    fn is_complete(self, w: &World, partition: u32, offset: u64) -> bool {
        w.topics
            .get(self.topic)
            .and_then(|t| t.groups.get(self.group))
            .and_then(|g| g.cursors.get(partition as usize))
            .is_some_and(|cursor| cursor.is_complete(offset))
    }
}

impl Delivery for GroupDelivery {
    #[inline]
    fn processed(
        self,
        w: &mut World,
        now: SimTime,
        c: ConsumerId,
        slot: Slot,
        message: Message,
        effect: Effect,
        scheduler: &mut Scheduler<Event>,
    ) {
        w.drop_from_hand(c, slot);
        if message.has(flag::GHOST) {
            // Overtaken by a rebalance: the record was fetched again; only the effect counted.
            w.messages.remove(slot);
            return;
        }
        let Some(consumer) = w.consumers.get(c) else {
            return;
        };
        let (ack, outputs) = (consumer.ack, consumer.outputs.len());
        // A record's copy ends the first time its offset is processed; a record fetched again
        // after a rebalance was already counted. At-most-once records were committed on fetch
        // (see `flag::REPLAYED`).
        let done_before = self.complete(w, message.partition, message.offset);
        let first_for_offset = if ack == AckMode::AfterProcessing {
            !done_before
        } else {
            crate::mark!(ReplayedAtMostOnce if message.has(flag::REPLAYED));
            !message.has(flag::REPLAYED)
        };
        w.after_commit_point(c);
        if first_for_offset {
            w.finish(now, c, slot, &message, effect, scheduler);
        } else {
            // Processed again after a rebalance: a duplicate whose copy already ended. It comes
            // back as one duplicate copy, which `forward` fans out to the outputs (counting the
            // extra ones), as a redelivered queue copy does.
            if outputs > 0 && effect != Effect::Deduplicated && !message.has(flag::DEAD) {
                crate::mark!(ReprocessedDuplicate);
                w.ledger.duplicate_copies += 1;
                w.forward(now, c, message, None, scheduler);
            }
            w.messages.remove(slot);
        }
    }

    /// A record fetched again after a rebalance whose offset was already done
    /// (processed or given up on) ended its journey then.
    fn ended(self, w: &World, c: ConsumerId, message: &Message) -> bool {
        let ack = w.consumers.get(c).map(|cs| cs.ack);
        message.has(flag::REPLAYED)
            || (ack == Some(AckMode::AfterProcessing)
                && !message.has(flag::RETRIED)
                && self.is_complete(w, message.partition, message.offset))
    }

    /// A topic retries in place: the record keeps its slot and its partition waits.
    fn retry(
        self,
        w: &mut World,
        now: SimTime,
        c: ConsumerId,
        slot: Slot,
        delay: u64,
        scheduler: &mut Scheduler<Event>,
    ) {
        let Some(consumer) = w.consumers.get_mut(c) else {
            return;
        };
        consumer.busy += 1;
        consumer.metrics.busy.set(now, u64::from(consumer.busy));
        let generation = consumer.generation;
        if let Some(m) = w.messages.get_mut(slot) {
            m.hand = consumer.hold(slot);
        }
        scheduler.after(
            delay,
            Event::Retry {
                consumer: c,
                slot,
                generation,
            },
        );
    }

    /// A record that leaves the consumer without being processed still counts
    /// as done for its partition, so the group moves on.
    fn release(self, w: &mut World, c: ConsumerId, slot: Slot) {
        let Some(message) = w.messages.get(slot).copied() else {
            return;
        };
        self.complete(w, message.partition, message.offset);
        w.after_commit_point(c);
    }

    fn lost(self, w: &mut World, n: u64) {
        w.lost_in_group(self.topic, self.group, n);
    }

    /// Fetch more; the partition just finished may now trim what every group has committed.
    #[inline]
    fn take_more(
        self,
        w: &mut World,
        now: SimTime,
        c: ConsumerId,
        partition: u32,
        scheduler: &mut Scheduler<Event>,
    ) {
        w.fetch(now, c, scheduler);
        w.trim(self.topic, partition as usize);
    }

    /// What the member held goes back to the log (at-most-once records, committed on fetch,
    /// are lost); nobody reads its partitions until the group rebalances, after the session
    /// timeout.
    fn down(
        self,
        w: &mut World,
        _now: SimTime,
        c: ConsumerId,
        why: Down,
        _generation: Generation,
        held: Vec<Slot>,
        scheduler: &mut Scheduler<Event>,
    ) {
        w.abort_transaction(c);
        let Some(consumer) = w.consumers.get(c) else {
            return;
        };
        let (ack, generation) = (consumer.ack, consumer.generation);
        let session = consumer.session_timeout_nanos;
        for slot in held {
            let message = w.messages.get(slot).copied();
            w.messages.remove(slot);
            // At-most-once: committed on fetch, so never fetched again.
            if ack == AckMode::BeforeProcessing
                && message.is_some_and(|m| !m.has(flag::DEAD) && !m.has(flag::REPLAYED))
            {
                w.lost_going_down(c, why);
                self.lost(w, 1);
            }
        }
        // What it held is back in the log, to be fetched again from the committed offset.
        let assigned = w
            .topics
            .get(self.topic)
            .and_then(|topic| topic.groups.get(self.group))
            .and_then(|group| group.assigned.get(self.member))
            .cloned()
            .unwrap_or_default();
        for p in assigned {
            w.rewind(self.topic, self.group, p as usize);
        }
        scheduler.after(
            session,
            Event::MemberExpired {
                consumer: c,
                generation,
            },
        );
    }

    fn up(self, w: &mut World, now: SimTime, _c: ConsumerId, scheduler: &mut Scheduler<Event>) {
        w.begin_rebalance(now, self.topic, self.group, scheduler);
    }

    /// Kafka's transactional consume-process-produce: what a member publishes becomes
    /// visible only when the transaction commits, together with the offsets.
    fn holds_outputs(self, consumer: &ConsumerState) -> bool {
        matches!(consumer.commit, Commit::Transactional { .. })
    }

    /// A record processed before (fetched again after a rebalance) already ended.
    fn counted_in_hand(self, w: &World, consumer: &ConsumerState, message: &Message) -> bool {
        if consumer.ack == AckMode::BeforeProcessing {
            !message.has(flag::REPLAYED)
        } else {
            !self.is_complete(w, message.partition, message.offset)
        }
    }
}

/// The live records groups hold for the ledger: those between each group's
/// position and the log end that are not done, and outputs waiting for their
/// transaction. Checks the running sums the time series reads lag from.
pub(super) fn recount(w: &World) -> Result<u64, LedgerError> {
    let mut counted = 0u64;
    for (t, topic) in w.topics.iter().enumerate() {
        let end: u64 = topic.partitions.iter().map(|p| p.end_offset).sum();
        if end != topic.end_sum {
            return Err(LedgerError::LogEnds {
                topic: t,
                sum: end,
                kept: topic.end_sum,
            });
        }
        for group in &topic.groups {
            let committed: u64 = group.cursors.iter().map(|c| c.committed).sum();
            if committed != group.committed_sum {
                return Err(LedgerError::Committed {
                    topic: t,
                    group: group.name.clone(),
                    sum: committed,
                    kept: group.committed_sum,
                });
            }
            for (partition, cursor) in topic.partitions.iter().zip(&group.cursors) {
                for offset in cursor.position..partition.end_offset {
                    let dead = partition
                        .record(offset)
                        .is_some_and(|r| r.flags & flag::DEAD != 0);
                    if !dead && !cursor.is_complete(offset) {
                        counted += 1;
                    }
                }
            }
        }
    }
    counted += w
        .consumers
        .iter()
        .map(|c| c.transaction.len() as u64)
        .sum::<u64>();
    Ok(counted)
}

impl World {
    /// A topic consumer's blocking retry starts again on the same record.
    pub(in crate::broker) fn retry_in_place(
        &mut self,
        now: SimTime,
        c: ConsumerId,
        slot: Slot,
        generation: Generation,
        scheduler: &mut Scheduler<Event>,
    ) {
        let Some(consumer) = self.consumers.get_mut(c) else {
            return;
        };
        if !consumer.generation.is_current(generation) {
            return;
        }
        self.drop_from_hand(c, slot);
        let Some(consumer) = self.consumers.get_mut(c) else {
            return;
        };
        consumer.busy -= 1;
        let Some(message) = self.messages.get_mut(slot) else {
            return;
        };
        Self::start(now, c, consumer, message, slot, scheduler, &mut self.tracer);
    }

    /// Counts `n` copies lost by group `group` of topic `topic`.
    pub(in crate::broker) fn lost_in_group(&mut self, topic: TopicId, group: usize, n: u64) {
        if let Some(group) = self
            .topics
            .get_mut(topic)
            .and_then(|t| t.groups.get_mut(group))
        {
            group.lost += n;
        }
    }
}
