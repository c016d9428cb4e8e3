//! Broker failures and what producers' guarantees make of them.
//!
//! Kafka partitions: each record reaches the followers `replication_delay`
//! after it was appended; consumers read only below the high watermark (what
//! every in-sync replica has). When a leader fails, a follower takes over
//! after `failover`: records it never received are gone. A producer with
//! `acks: Leader` (acks=1) was told they were written, so those losses are
//! *acknowledged* losses; with `acks: All` it was not told yet, so with
//! retries it writes them again and nothing acknowledged is lost (with
//! `min_insync_replicas` >= 2, a write needs two live replicas to be
//! accepted at all). A write that had reached the followers but whose
//! acknowledgement was still on its way back is retried too and lands twice
//! (a duplicate in the log) unless the producer is idempotent. With one
//! replica there is no failover: the partition is down until its broker
//! returns, and keeps its data.
//!
//! RabbitMQ queues: a failed broker refuses publishes and delivers nothing;
//! a transient queue loses its contents, a durable one keeps them, and the
//! consumers' unacknowledged messages go back to the queue.
//!
//! Publishes refused while a broker is down are lost for fire-and-forget
//! producers and retried (after `retries.backoff`, up to `retries.max`) by
//! producers that wait for acknowledgements.

use super::consumer::QueueDelivery;
use super::message::flag;
use super::topic::Record;
use super::world::{Event, Message, World};
use crate::broker::index::{ConsumerId, ProducerId, QueueId, TopicId};
use crate::engine::arena::Slot;
use crate::engine::{Scheduler, SimTime};
use crate::scenario::raw::Acks;

/// Copies of one publish that were refused, by why: a full queue that rejects publishes,
/// or a broker that is down (a queue's, or a partition without a leader or enough
/// in-sync replicas).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Refused {
    pub full: u64,
    pub down: u64,
}

impl Refused {
    pub fn any(&self) -> bool {
        self.full + self.down > 0
    }
}

impl World {
    /// Copies of a publish that were refused: the broker answers a publisher that waits for
    /// confirms with a nack, and it publishes the whole message again after its backoff (up
    /// to `retries.max`; through an exchange, the queues that took it get it again). Without
    /// confirms, or with no retries left, the refused copies are lost.
    pub(super) fn publish_refused(
        &mut self,
        now: SimTime,
        message: Message,
        slot: Option<Slot>,
        refused: Refused,
        scheduler: &mut Scheduler<Event>,
    ) {
        let copies = refused.full + refused.down;
        let mut nacked = message;
        if !message.has(flag::REAPPEND) {
            // The retry stands for the refused copies; the others landed.
            nacked.hand = u32::try_from(copies).unwrap_or(u32::MAX);
        }
        if !self.retry_publish(nacked, slot, copies, false, scheduler) {
            self.publish_lost(now, &message, |lost| {
                lost.overflow += refused.full;
                lost.broker_failure += refused.down;
            });
        }
    }

    /// Parks a producer's publish (standing for `copies` ledger copies) for its next try,
    /// after the retry's backoff, and its timeout first when no answer came (`unanswered`).
    /// False when it will not be tried again (no confirms, no retries or none left, or no
    /// room to park it): its slot is then freed, and the caller counts the loss.
    pub(super) fn retry_publish(
        &mut self,
        message: Message,
        slot: Option<Slot>,
        copies: u64,
        unanswered: bool,
        scheduler: &mut Scheduler<Event>,
    ) -> bool {
        let policy = message.publisher().and_then(|p| {
            let producer = self.producers.get(p)?;
            (producer.acks != Acks::None)
                .then_some(producer.retry)
                .flatten()
                .map(|retry| (p, retry))
        });
        let Some((producer, retry)) =
            policy.filter(|(_, retry)| u32::from(message.attempts) < retry.max)
        else {
            if let Some(slot) = slot {
                self.messages.remove(slot);
            }
            return false;
        };
        let mut parked = message;
        parked.attempts = message.attempts.saturating_add(1);
        // With the arena full (the run fails) it cannot wait for its retry.
        let Some(slot) = self.store(parked, slot) else {
            return false;
        };
        self.parked += copies;
        self.ledger.publish_retries += 1;
        if let Some(state) = self.producers.get_mut(producer) {
            state.publish_retries += 1;
        }
        let wait = retry.backoff.nanos + if unanswered { retry.timeout.nanos } else { 0 };
        scheduler.after(wait.max(1), Event::PublishRetry { producer, slot });
        true
    }

    /// A publish is lost for good: `count` adds it to the losses, unless it was a dead letter.
    pub(super) fn publish_lost(
        &mut self,
        now: SimTime,
        message: &Message,
        count: impl FnOnce(&mut super::ledger::Lost),
    ) {
        if !message.has(flag::DEAD) {
            let before = self.ledger.lost.total();
            count(&mut self.ledger.lost);
            self.ledger.lost_in_transit += self.ledger.lost.total() - before;
            self.trace(
                now,
                message.id,
                super::trace::NO_NODE as usize,
                super::trace::HopKind::Lost,
            );
        }
    }

    /// Ledger copies a publish stands for: one; for a retry after some queues refused it,
    /// those copies; for a rewrite of truncated records, one per consumer group of the topic
    /// (its copies already exist).
    pub(super) fn copies_of(&self, message: &Message) -> u64 {
        if message.publisher().is_none() {
            return 1;
        }
        if !message.has(flag::REAPPEND) {
            return u64::from(message.hand.max(1));
        }
        message
            .publisher()
            .and_then(|p| self.producers.get(p))
            .and_then(|p| match self.node_refs.get(p.target) {
                Some(super::world::NodeRef::Topic(t)) => self.topics.get(*t),
                _ => None,
            })
            .map_or(1, |t| t.groups.len().max(1) as u64)
    }

    /// For a publisher's retry after a nack: how many copies the earlier routing left
    /// refused (the others landed). 0 for a publish not routed before.
    #[inline]
    pub(super) fn refused_before(&self, message: &Message) -> u64 {
        if message.hand == 0 || message.publisher().is_none() || message.has(flag::REAPPEND) {
            return 0;
        }
        u64::from(message.hand)
    }

    /// A parked publish is tried again, over the producer's link like the first try.
    pub(super) fn publish_retry(
        &mut self,
        now: SimTime,
        p: ProducerId,
        slot: Slot,
        scheduler: &mut Scheduler<Event>,
    ) {
        let weight = self.messages.get(slot).map_or(1, |m| self.copies_of(m));
        self.parked = self.parked.saturating_sub(weight);
        let Some(edge) = self.producers.get(p).map(|producer| producer.edge) else {
            return;
        };
        let Some(message) = self.messages.get(slot).copied() else {
            return;
        };
        self.send_over(now, edge, message, Some(slot), scheduler);
    }

    /// Followers caught up with what was appended a replication delay ago: the high watermark moves.
    pub(super) fn replicated(
        &mut self,
        now: SimTime,
        t: TopicId,
        p: usize,
        scheduler: &mut Scheduler<Event>,
    ) {
        let Some(topic) = self.topics.get_mut(t) else {
            return;
        };
        let delay = topic.replication_delay;
        let Some(partition) = topic.partitions.get_mut(p) else {
            return;
        };
        let before = partition.hw;
        while partition.hw < partition.end_offset
            && partition
                .record(partition.hw)
                .is_some_and(|r| r.appended_at + delay <= now)
        {
            partition.hw += 1;
        }
        let moved = partition.hw > before;
        self.wake_partition(now, t, p, scheduler);
        if moved {
            // What every group has committed may go now that the followers have it.
            self.trim(t, p);
        }
    }

    /// The owner of partition `p` in each group looks for work.
    pub(super) fn wake_partition(
        &mut self,
        now: SimTime,
        t: TopicId,
        p: usize,
        scheduler: &mut Scheduler<Event>,
    ) {
        let groups = self.topics.get(t).map_or(0, |topic| topic.groups.len());
        for g in 0..groups {
            if let Some(group) = self
                .topics
                .get_mut(t)
                .and_then(|topic| topic.groups.get_mut(g))
            {
                group.may_fetch(p);
            }
            let owner = self
                .topics
                .get(t)
                .and_then(|topic| topic.groups.get(g))
                .and_then(|group| {
                    let member = group.owner.get(p).copied().flatten()?;
                    group.members.get(member as usize).copied()
                });
            if let Some(c) = owner {
                self.fetch(now, c, scheduler);
            }
        }
    }

    /// The leader of partition `p` (or of every partition) of topic `t` fails.
    pub(super) fn leader_failure(
        &mut self,
        now: SimTime,
        t: TopicId,
        partition: Option<u32>,
        scheduler: &mut Scheduler<Event>,
    ) {
        let Some(topic) = self.topics.get(t) else {
            return;
        };
        for p in affected(partition, topic.partitions.len()) {
            self.fail_partition(now, t, p, scheduler);
        }
    }

    fn fail_partition(
        &mut self,
        now: SimTime,
        t: TopicId,
        p: usize,
        scheduler: &mut Scheduler<Event>,
    ) {
        let Some(topic) = self.topics.get_mut(t) else {
            return;
        };
        let (replicas, delay, failover, groups) = (
            topic.replication_factor,
            topic.replication_delay,
            topic.failover,
            topic.groups.len() as u64,
        );
        let Some(partition) = topic.partitions.get_mut(p) else {
            return;
        };
        partition.failed_replicas += 1;
        if replicas < 2 || partition.failed_replicas >= replicas {
            // No replica to take over: down until the broker returns, data kept.
            partition.offline_until = SimTime::MAX;
            return;
        }
        partition.offline_until = now + failover;
        scheduler.after(
            failover,
            Event::PartitionOnline {
                topic: t,
                partition: p as u32,
            },
        );
        // The new leader has everything below the high watermark and nothing after it.
        let truncated = partition.truncate_to_hw(now);
        topic.end_sum -= truncated.len() as u64;
        self.stored_records = self.stored_records.saturating_sub(truncated.len() as u64);
        // Records that reached the followers but whose acknowledgement was still on its way
        // back: the producer sees a failure and writes them again.
        let unacknowledged: Vec<Record> = partition
            .records
            .iter()
            .rev()
            .take_while(|r| r.appended_at + 2 * delay > now)
            .copied()
            .collect();
        self.truncated(now, t, groups, truncated, scheduler);
        for record in unacknowledged {
            if let Some((Acks::All, true, idempotent)) = self.record_producer(&record)
                && !idempotent
                && record.flags & flag::DEAD == 0
            {
                // It landed, but the producer cannot know: the retry is a duplicate in the log.
                // (An idempotent producer's retry is recognised by the broker and dropped.)
                self.ledger.duplicate_copies += 1;
                let message = message_of(&record, flag::DUPLICATE_PUBLISH);
                let refused = Refused { full: 0, down: 1 };
                self.publish_refused(now, message, None, refused, scheduler);
            }
        }
    }

    /// Records a leader failover truncated from topic `t` (newest first): written again by
    /// a producer still waiting for acks=all, lost to every group otherwise (and counted as
    /// acknowledged then lost under acks=1).
    fn truncated(
        &mut self,
        now: SimTime,
        t: TopicId,
        groups: u64,
        truncated: Vec<Record>,
        scheduler: &mut Scheduler<Event>,
    ) {
        for record in truncated.into_iter().rev() {
            let waits_for_all = self
                .record_producer(&record)
                .is_some_and(|(acks, retries, _)| acks == Acks::All && retries);
            let acked = self
                .record_producer(&record)
                .is_some_and(|(acks, _, _)| acks == Acks::Leader);
            let dead = record.flags & flag::DEAD != 0;
            if waits_for_all && !dead {
                // Not acknowledged yet: the producer writes it again; its copies carry on.
                let message = message_of(&record, flag::REAPPEND);
                let copies = self.copies_of(&message);
                let refused = Refused {
                    full: 0,
                    down: copies,
                };
                self.publish_refused(now, message, None, refused, scheduler);
            } else if !dead {
                self.ledger.lost.broker_failure += groups;
                for group in 0..groups as usize {
                    self.lost_in_group(t, group, 1);
                }
                if acked {
                    self.ledger.acknowledged_lost += 1;
                    if let Some(state) = super::message::publisher(record.producer)
                        .and_then(|p| self.producers.get_mut(p))
                    {
                        state.acknowledged_lost += 1;
                    }
                }
            }
        }
    }

    /// (acks, has retries, idempotent) of the producer that wrote `record`.
    fn record_producer(&self, record: &Record) -> Option<(Acks, bool, bool)> {
        let p = super::message::publisher(record.producer)?;
        let producer = self.producers.get(p)?;
        Some((producer.acks, producer.retry.is_some(), producer.idempotent))
    }

    pub(super) fn partition_online(
        &mut self,
        now: SimTime,
        t: TopicId,
        p: usize,
        scheduler: &mut Scheduler<Event>,
    ) {
        if let Some(partition) = self
            .topics
            .get_mut(t)
            .and_then(|topic| topic.partitions.get_mut(p))
            && partition.offline_until <= now
        {
            self.wake_partition(now, t, p, scheduler);
        }
    }

    /// The failed broker of partition `p` (or every partition) returns.
    pub(super) fn leader_restored(
        &mut self,
        now: SimTime,
        t: TopicId,
        partition: Option<u32>,
        scheduler: &mut Scheduler<Event>,
    ) {
        let Some(topic) = self.topics.get_mut(t) else {
            return;
        };
        for p in affected(partition, topic.partitions.len()) {
            let Some(partition) = topic.partitions.get_mut(p) else {
                continue;
            };
            partition.failed_replicas = partition.failed_replicas.saturating_sub(1);
            if partition.offline_until == SimTime::MAX {
                partition.offline_until = now;
            }
        }
        for p in 0..self.topics.get(t).map_or(0, |topic| topic.partitions.len()) {
            self.wake_partition(now, t, p, scheduler);
        }
    }

    /// A queue's broker fails: it refuses publishes and delivers nothing; a transient
    /// queue loses its contents; consumers' unacknowledged messages come back (or are lost with the queue).
    pub(super) fn queue_broker_failure(
        &mut self,
        now: SimTime,
        q: QueueId,
        scheduler: &mut Scheduler<Event>,
    ) {
        let Some(queue) = self.queues.get_mut(q) else {
            return;
        };
        if !queue.outages.begin() {
            return; // Down already: it stays down until the last failure ends.
        }
        queue.online = false;
        let durable = queue.durable;
        let consumers: Vec<ConsumerId> = self
            .consumers
            .iter_enumerated()
            .filter(|(_, c)| c.source == super::consumer::Source::Queue(QueueDelivery { q }))
            .map(|(i, _)| i)
            .collect();
        // Connections drop: each consumer loses what it held, as in a crash, but stays up.
        for c in consumers {
            let was_alive = self.consumers.get(c).is_some_and(|cs| cs.alive);
            if was_alive {
                self.go_down(now, c, super::delivery::Down::Crash, scheduler);
                if let Some(consumer) = self.consumers.get_mut(c) {
                    consumer.alive = true;
                    consumer.waiting = true;
                }
                if let Some(queue) = self.queues.get_mut(q) {
                    queue.waiting.push_back(c);
                }
            }
        }
        if !durable {
            let Some(queue) = self.queues.get_mut(q) else {
                return;
            };
            let mut lost = Vec::new();
            while let Some(slot) = queue.pop_head(now) {
                lost.push(slot);
            }
            for slot in lost {
                let dead = self.messages.get(slot).is_some_and(|m| m.has(flag::DEAD));
                self.messages.remove(slot);
                if !dead {
                    self.ledger.lost.broker_failure += 1;
                    self.lost_in_queue(q, 1);
                }
            }
        }
    }

    pub(super) fn queue_broker_restored(
        &mut self,
        now: SimTime,
        q: QueueId,
        scheduler: &mut Scheduler<Event>,
    ) {
        let Some(queue) = self.queues.get_mut(q) else {
            return;
        };
        if !queue.outages.end() {
            return; // Another failure of its broker is still on.
        }
        queue.online = true;
        self.dispatch(now, q, scheduler);
    }
}

/// A message rebuilt from a log record, for a producer's retry.
fn message_of(record: &Record, extra: u8) -> Message {
    Message {
        flags: (record.flags & flag::DEAD) | extra,
        ..record.message()
    }
}

/// The partitions a broker fault hits: the one named, or all `count` of them.
fn affected(partition: Option<u32>, count: usize) -> std::ops::Range<usize> {
    match partition {
        Some(p) => p as usize..p as usize + 1,
        None => 0..count,
    }
}
