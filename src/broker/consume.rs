//! What happens in a consumer's hands: processing, success or failure,
//! acknowledgement or commit, retries and dead letters, crashes, restarts and
//! consumer-group rebalances, and the faults that cause them.
//!
//! The rules, and the brokers they follow:
//! - at-most-once (`ack: BeforeProcessing`): acknowledged (or committed) on
//!   delivery, so a crash loses what was in hand and nothing is redelivered;
//! - at-least-once (`AfterProcessing`): acknowledged after processing, after
//!   `ack_delay`; a crash requeues everything unacknowledged (RabbitMQ puts it
//!   back at the head of the queue), so work finished but not yet
//!   acknowledged is done twice;
//! - Kafka groups: a crashed member is removed after its session timeout;
//!   the group then pauses to rebalance and every partition restarts from its
//!   committed offset, so processed-but-uncommitted records are redelivered;
//! - failures: tried again per the retry policy (immediately: back to the head
//!   of the queue; with a delay: parked, then back to the tail; topics retry
//!   in place and hold the partition), up to `max_attempts`, then dead-lettered.

use rand::RngExt;

use super::consumer::{ConsumerState, Source};
use super::message::flag;
use super::subscription::{Effect, ReorderCause};
use super::trace::{HopKind, NO_NODE};
use super::world::{Event, Message, World};
use crate::engine::arena::Slot;
use crate::engine::{Scheduler, SimTime};
use crate::scenario::FaultTarget;
use crate::scenario::raw::{AckMode, Backoff, Commit, EdgeKind, FaultKind, Jitter};

/// Why a consumer stops: what an at-most-once copy in its hands is lost to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Down {
    Crash,
    Disconnected,
}

impl Down {
    fn count(self, lost: &mut super::ledger::Lost) {
        match self {
            Down::Crash => lost.crash += 1,
            Down::Disconnected => lost.link_loss += 1,
        }
    }
}

impl World {
    /// Starts processing `slot` in consumer `c` (which has a free slot).
    #[inline]
    pub(super) fn start(
        now: SimTime,
        c: u32,
        consumer: &mut ConsumerState,
        message: &mut Message,
        slot: Slot,
        scheduler: &mut Scheduler<Event>,
        tracer: &mut Option<Box<super::trace::Tracer>>,
    ) {
        if let Some(tracer) = tracer {
            tracer.record(
                now,
                message.id,
                consumer.node,
                super::trace::HopKind::Delivered,
            );
        }
        consumer.busy += 1;
        consumer.metrics.busy.set(now, u64::from(consumer.busy));
        message.hand = consumer.hold(slot);
        message.processing = true;
        let mut service = consumer.service.sample(&mut consumer.rng);
        if consumer.slow_factor != 1.0 {
            service = (service as f64 * consumer.slow_factor) as u64;
        }
        consumer.metrics.started += 1;
        consumer.metrics.lifetime_attempts += 1;
        consumer.metrics.service_nanos += u128::from(service);
        scheduler.after(
            service,
            Event::Done {
                consumer: c,
                slot,
                epoch: consumer.epoch,
            },
        );
    }

    /// Takes `slot` out of consumer `c`'s hands.
    #[inline]
    fn drop_from_hand(&mut self, c: usize, slot: Slot) {
        let Some(hand) = self.messages.get(slot).map(|m| m.hand) else {
            return;
        };
        let Some(consumer) = self.consumers.get_mut(c) else {
            return;
        };
        if let Some(moved) = consumer.release(hand)
            && let Some(m) = self.messages.get_mut(moved)
        {
            m.hand = hand;
        }
    }

    /// Whether processing this copy fails.
    #[inline]
    fn fails(consumer: &mut ConsumerState, message: &Message, producer_seeds: &[u64]) -> bool {
        if !consumer.may_fail {
            return false;
        }
        if consumer.poison_fraction > 0.0
            && poison_draw(message, producer_seeds) < consumer.poison_fraction
        {
            return true;
        }
        let p = consumer.failure_probability.max(consumer.fault_failure);
        p > 0.0 && consumer.rng.random::<f64>() < p
    }

    #[inline]
    pub(super) fn done(
        &mut self,
        now: SimTime,
        c: usize,
        slot: Slot,
        epoch: u32,
        scheduler: &mut Scheduler<Event>,
    ) {
        let Some(consumer) = self.consumers.get_mut(c) else {
            return;
        };
        if consumer.epoch != epoch {
            // The consumer went down since: the copy was dealt with then, unless it went on
            // processing it without a connection.
            if !consumer.finishing.is_empty() {
                self.finished_unconnected(now, c, slot, epoch, scheduler);
            }
            return;
        }
        let Some(message) = self.messages.get_mut(slot) else {
            return;
        };
        message.processing = false;
        let message = &*message;
        consumer.busy -= 1;
        consumer.metrics.busy.set(now, u64::from(consumer.busy));
        let failed = Self::fails(consumer, message, &self.producer_seeds);
        let partition = message.partition;
        // Successes are traced once their effect is known (first, duplicate, skipped).
        if failed && let Some(tracer) = &mut self.tracer {
            tracer.record(now, message.id, consumer.node, HopKind::Failed);
        }
        if failed {
            consumer.metrics.failed += 1;
            self.drop_from_hand(c, slot);
            self.failed(now, c, slot, scheduler);
        } else {
            consumer.metrics.processed += 1;
            self.succeeded(now, c, slot, scheduler);
        }
        self.take_more_work(now, c, partition, scheduler);
    }

    /// Consumer `c` processed `message`: its effect in the subscription (first, duplicate, or
    /// skipped by idempotency), traced; a first effect that ends a journey (`ends`) counts
    /// in the latency.
    #[inline]
    fn apply_effect(&mut self, now: SimTime, c: usize, message: &Message, ends: bool) -> Effect {
        let Some(consumer) = self.consumers.get(c) else {
            return Effect::First;
        };
        let effect = match self.subscriptions.get_mut(consumer.subscription as usize) {
            Some(sub) if !message.has(flag::DEAD) => sub.process(
                now,
                message.id,
                message.key,
                message.key_seq,
                reorder_cause(message),
            ),
            _ => Effect::First,
        };
        if self.tracer.is_some() {
            let kind = match effect {
                Effect::First => HopKind::Processed,
                Effect::Duplicate => HopKind::Duplicate,
                Effect::Deduplicated => HopKind::Deduplicated,
            };
            let node = self.consumers.get(c).map_or(NO_NODE as usize, |cs| cs.node);
            self.trace(now, message.id, node, kind);
        }
        if effect == Effect::First && ends {
            if self.sinks > 1
                && let Some(latency) = self
                    .consumers
                    .get_mut(c)
                    .and_then(|consumer| consumer.metrics.latency.as_mut())
            {
                latency.record(now - message.produced_at);
            }
            self.window.latency.record(now - message.produced_at);
            self.series.record_latency(now - message.produced_at);
            self.window.processed += 1;
        }
        effect
    }

    /// Processing succeeded: apply the effect, then acknowledge or commit and publish onwards.
    #[inline]
    fn succeeded(&mut self, now: SimTime, c: usize, slot: Slot, scheduler: &mut Scheduler<Event>) {
        let Some(message) = self.messages.get(slot).copied() else {
            return;
        };
        let Some(consumer) = self.consumers.get(c) else {
            return;
        };
        let (source, ack, outputs) = (consumer.source, consumer.ack, consumer.outputs.len());
        // The acknowledgement crosses the link back to the queue.
        let ack_delay = consumer.ack_delay_nanos + self.inbound_latency(c);
        let dead = message.has(flag::DEAD);
        let effect = self.apply_effect(now, c, &message, outputs == 0 && !dead);
        match source {
            Source::Queue(q) => {
                let waits_for_ack = ack == AckMode::AfterProcessing && ack_delay > 0;
                if waits_for_ack {
                    // The copy stays in hand, unacknowledged, until the ack arrives.
                    scheduler.after(
                        ack_delay,
                        Event::AckArrive {
                            consumer: c as u32,
                            slot,
                            epoch: self.consumers.get(c).map_or(0, |c| c.epoch),
                        },
                    );
                    let carries_journey = !message.has(flag::GHOST) && !dead;
                    if outputs > 0 && effect != Effect::Deduplicated && carries_journey {
                        // The journey goes on in fresh copies; this one only awaits its ack.
                        if let Some(m) = self.messages.get_mut(slot) {
                            m.flags |= flag::GHOST;
                        }
                        self.forward(now, c, message, None, scheduler);
                    }
                    return;
                }
                self.drop_from_hand(c, slot);
                self.acknowledge(now, c, q as usize);
                self.finish(now, c, slot, &message, effect, scheduler);
            }
            Source::Topic { .. } if message.has(flag::GHOST) => {
                // Overtaken by a rebalance: the record was fetched again; only the effect counted.
                self.drop_from_hand(c, slot);
                self.messages.remove(slot);
            }
            Source::Topic { topic, group, .. } => {
                self.drop_from_hand(c, slot);
                // A record's copy ends the first time its offset is processed; a
                // record fetched again after a rebalance was already counted.
                // At-most-once records were committed on fetch (see `flag::REPLAYED`).
                let mut first_for_offset = !message.has(flag::REPLAYED);
                if let Some(g) = self
                    .topics
                    .get_mut(topic as usize)
                    .and_then(|t| t.groups.get_mut(group as usize))
                    && let Some(cursor) = g.cursors.get_mut(message.partition as usize)
                {
                    if ack == AckMode::AfterProcessing {
                        first_for_offset = !cursor.is_complete(message.offset);
                    }
                    cursor.complete(message.offset);
                    g.touch(message.partition as usize);
                }
                self.after_commit_point(c);
                if first_for_offset {
                    self.finish(now, c, slot, &message, effect, scheduler);
                } else {
                    // Processed again after a rebalance: a duplicate whose copy already ended.
                    // It comes back as one duplicate copy, which `forward` fans out to the
                    // outputs (counting the extra ones), as a redelivered queue copy does.
                    if outputs > 0 && effect != Effect::Deduplicated && !dead {
                        self.ledger.duplicate_copies += 1;
                        self.forward(now, c, message, None, scheduler);
                    }
                    self.messages.remove(slot);
                }
            }
        }
    }

    /// Ends (or forwards) a processed copy whose acknowledgement is done.
    #[inline]
    fn finish(
        &mut self,
        now: SimTime,
        c: usize,
        slot: Slot,
        message: &Message,
        effect: Effect,
        scheduler: &mut Scheduler<Event>,
    ) {
        let outputs = self.consumers.get(c).map_or(0, |cs| cs.outputs.len());
        let dead = message.has(flag::DEAD);
        if message.has(flag::GHOST) {
            // Forwarded already: this copy is not in the ledger.
            self.messages.remove(slot);
        } else if outputs == 0 || effect == Effect::Deduplicated || dead {
            self.messages.remove(slot);
            if !dead {
                self.ledger.processed += 1;
            }
        } else if self.consumers.get(c).is_some_and(|cs| {
            matches!(cs.commit, Commit::Transactional { .. })
                && matches!(cs.source, Source::Topic { .. })
        }) {
            // Kafka's transactional consume-process-produce: what it publishes becomes
            // visible only when the transaction commits, together with the offsets.
            if let Some(consumer) = self.consumers.get_mut(c) {
                consumer.transaction.push(slot);
            }
        } else {
            self.forward(now, c, *message, Some(slot), scheduler);
        }
    }

    /// Commits consumer `c`'s transaction: its offsets, and what it published since the last commit.
    fn commit_transaction(&mut self, now: SimTime, c: usize, scheduler: &mut Scheduler<Event>) {
        self.commit_member(c);
        let pending = self
            .consumers
            .get_mut(c)
            .map(|cs| std::mem::take(&mut cs.transaction))
            .unwrap_or_default();
        for slot in pending {
            if let Some(message) = self.messages.get(slot).copied() {
                self.forward(now, c, message, Some(slot), scheduler);
            }
        }
    }

    /// Aborts consumer `c`'s transaction (it crashed): nothing it published since the last
    /// commit becomes visible, and the records behind it are processed again, as if for
    /// the first time.
    fn abort_transaction(&mut self, c: usize) {
        let Some(consumer) = self.consumers.get_mut(c) else {
            return;
        };
        let pending = std::mem::take(&mut consumer.transaction);
        let (Source::Topic { topic, group, .. }, subscription) =
            (consumer.source, consumer.subscription)
        else {
            return;
        };
        for slot in pending {
            let Some(message) = self.messages.get(slot).copied() else {
                continue;
            };
            self.messages.remove(slot);
            if let Some(cursor) = self
                .topics
                .get_mut(topic as usize)
                .and_then(|t| t.groups.get_mut(group as usize))
                .and_then(|g| g.cursors.get_mut(message.partition as usize))
            {
                cursor.undo(message.offset);
            }
            if let Some(sub) = self.subscriptions.get_mut(subscription as usize) {
                sub.forget_processed(message.id);
            }
        }
    }

    /// Publishes a processed message to each of consumer `c`'s outputs. With
    /// `slot`, the copy continues in the first output; otherwise every output
    /// gets a fresh copy (counted as fanned out from one continuing copy).
    fn forward(
        &mut self,
        now: SimTime,
        c: usize,
        message: Message,
        slot: Option<Slot>,
        scheduler: &mut Scheduler<Event>,
    ) {
        let outputs = self.consumers.get(c).map_or(0, |cs| cs.outputs.len());
        self.ledger.fanned_out += outputs.saturating_sub(1) as u64;
        for o in 0..outputs {
            let Some(output) = self.consumers.get(c).and_then(|cs| cs.outputs.get(o)) else {
                break;
            };
            let mut forwarded = message;
            forwarded.flags = 0;
            forwarded.attempts = 0;
            forwarded.deliveries = 0;
            forwarded.producer |= super::message::FORWARDED;
            forwarded.variant = output.variant_of(message.variant);
            let edge = output.edge;
            self.send_over(
                now,
                edge,
                forwarded,
                if o == 0 { slot } else { None },
                scheduler,
            );
        }
    }

    /// Consumer `c` is done with one copy from queue `q`: its credit comes back,
    /// and the queue's unacknowledged count drops (at-most-once copies were
    /// acknowledged on delivery and never counted there).
    #[inline]
    fn acknowledge(&mut self, now: SimTime, c: usize, q: usize) {
        let Some(consumer) = self.consumers.get_mut(c) else {
            return;
        };
        consumer.unacked = consumer.unacked.saturating_sub(1);
        let regained_credit = !consumer.waiting && consumer.has_credit() && consumer.alive;
        let counted = consumer.ack == AckMode::AfterProcessing;
        if let Some(queue) = self.queues.get_mut(q) {
            if counted {
                queue.set_unacked(now, queue.unacked.saturating_sub(1));
            }
            if regained_credit {
                consumer.waiting = true;
                queue.waiting.push_back(c as u32);
            }
        }
    }

    pub(super) fn ack_arrive(
        &mut self,
        now: SimTime,
        c: usize,
        slot: Slot,
        epoch: u32,
        scheduler: &mut Scheduler<Event>,
    ) {
        let Some(consumer) = self.consumers.get(c) else {
            return;
        };
        if consumer.epoch != epoch {
            return; // Crashed before the ack arrived: the copy was requeued.
        }
        let Source::Queue(q) = consumer.source else {
            return;
        };
        let Some(message) = self.messages.get(slot).copied() else {
            return;
        };
        self.drop_from_hand(c, slot);
        self.acknowledge(now, c, q as usize);
        // The effect was applied when processing finished; ending the copy is all that is left.
        // A copy with outputs that is no ghost was not forwarded (deduplicated): it ends here.
        let outputs = self.consumers.get(c).map_or(0, |cs| cs.outputs.len());
        let effect = if outputs > 0 {
            Effect::Deduplicated
        } else {
            Effect::First
        };
        self.finish(now, c, slot, &message, effect, scheduler);
        self.take_more_work(now, c, 0, scheduler);
    }

    /// Commits after a completion, as the consumer's commit mode says.
    fn after_commit_point(&mut self, c: usize) {
        let Some(consumer) = self.consumers.get_mut(c) else {
            return;
        };
        match consumer.commit {
            Commit::AfterEach => self.commit_member(c),
            Commit::Batch { size } => {
                consumer.since_commit += 1;
                if consumer.since_commit >= size {
                    consumer.since_commit = 0;
                    self.commit_member(c);
                }
            }
            Commit::Interval { .. } | Commit::Transactional { .. } => {}
        }
    }

    /// Processing failed: try again, dead-letter, or lose the copy.
    fn failed(&mut self, now: SimTime, c: usize, slot: Slot, scheduler: &mut Scheduler<Event>) {
        let Some(consumer) = self.consumers.get_mut(c) else {
            return;
        };
        let Some(message) = self.messages.get_mut(slot) else {
            return;
        };
        message.attempts = message.attempts.saturating_add(1);
        let attempts = u32::from(message.attempts);
        let (source, ack, retry) = (consumer.source, consumer.ack, consumer.retry);
        if let Source::Queue(q) = source {
            // The failed copy leaves the consumer (nack); what follows decides where it goes.
            self.acknowledge(now, c, q as usize);
        }
        if self.messages.get(slot).is_some_and(|m| m.has(flag::GHOST)) {
            // Its journey continues in another copy (visible again, or fetched again).
            self.messages.remove(slot);
            return;
        }
        let _ = ack;
        let dead = self.messages.get(slot).is_some_and(|m| m.has(flag::DEAD));
        // A topic record fetched again after a rebalance whose offset was already done
        // (processed or given up on) ended its journey then: failing again changes nothing.
        let ended = match (source, self.messages.get(slot)) {
            (Source::Topic { topic, group, .. }, Some(m)) => {
                self.topics
                    .get(topic as usize)
                    .and_then(|t| t.groups.get(group as usize))
                    .and_then(|g| g.cursors.get(m.partition as usize))
                    .is_some_and(|cursor| {
                        cursor.is_complete(m.offset)
                            && !m.has(flag::RETRIED)
                            && ack == AckMode::AfterProcessing
                    })
                    || m.has(flag::REPLAYED)
            }
            _ => false,
        };
        if dead || ended {
            // A dead letter that fails again is only dropped.
            self.release_record(c, slot);
            self.messages.remove(slot);
            return;
        }
        if attempts < retry.max_attempts {
            self.ledger.retries += 1;
            if self.tracer.is_some() {
                let node = self.consumers.get(c).map_or(NO_NODE as usize, |cs| cs.node);
                self.trace_slot(now, slot, node, HopKind::Retried);
            }
            if let Some(m) = self.messages.get_mut(slot) {
                m.flags |= flag::RETRIED;
            }
            let delay = self.backoff_delay(c, attempts);
            let retry_to = self.consumers.get(c).and_then(|cs| cs.retry_to);
            if let Some(edge) = retry_to {
                self.release_record(c, slot);
                self.send_along(now, edge, slot, scheduler);
                return;
            }
            match source {
                Source::Queue(q) => {
                    if delay == 0 {
                        // RabbitMQ's nack with requeue: back where it was, at the head.
                        self.requeue_at_head(now, q as usize, slot, scheduler);
                    } else {
                        self.parked += 1;
                        scheduler.after(delay, Event::Requeue { queue: q, slot });
                    }
                }
                Source::Topic { .. } => {
                    // A topic retries in place: the record keeps its slot and its partition waits.
                    let Some(consumer) = self.consumers.get_mut(c) else {
                        return;
                    };
                    consumer.busy += 1;
                    consumer.metrics.busy.set(now, u64::from(consumer.busy));
                    let epoch = consumer.epoch;
                    if let Some(m) = self.messages.get_mut(slot) {
                        m.hand = consumer.hold(slot);
                    }
                    scheduler.after(
                        delay,
                        Event::Retry {
                            consumer: c as u32,
                            slot,
                            epoch,
                        },
                    );
                }
            }
            return;
        }
        // Out of attempts.
        self.release_record(c, slot);
        let consumer_dlq = self.consumers.get(c).and_then(|cs| cs.dead_letter);
        let queue_dlq = match source {
            Source::Queue(q) => self
                .queues
                .get(q as usize)
                .and_then(|queue| queue.dead_letter),
            Source::Topic { .. } => None,
        };
        match consumer_dlq.or(queue_dlq) {
            Some(edge) => self.send_along(now, edge, slot, scheduler),
            None => {
                self.messages.remove(slot);
                self.ledger.lost.rejected += 1;
                self.lost_from(source, 1);
            }
        }
    }

    /// A topic record that leaves the consumer without being processed still
    /// counts as done for its partition, so the group moves on.
    fn release_record(&mut self, c: usize, slot: Slot) {
        let Some(consumer) = self.consumers.get(c) else {
            return;
        };
        let Source::Topic { topic, group, .. } = consumer.source else {
            return;
        };
        let Some(message) = self.messages.get(slot).copied() else {
            return;
        };
        if let Some(g) = self
            .topics
            .get_mut(topic as usize)
            .and_then(|t| t.groups.get_mut(group as usize))
            && let Some(cursor) = g.cursors.get_mut(message.partition as usize)
        {
            cursor.complete(message.offset);
            g.touch(message.partition as usize);
        }
        self.after_commit_point(c);
    }

    /// Counts `n` copies lost where consumers reading `source` got them: their queue, or
    /// their group (the ledger counts them by reason).
    pub(super) fn lost_from(&mut self, source: Source, n: u64) {
        match source {
            Source::Queue(q) => self.lost_in_queue(q as usize, n),
            Source::Topic { topic, group, .. } => {
                self.lost_in_group(topic as usize, group as usize, n)
            }
        }
    }

    /// Counts `n` copies lost in queue `q` or in its consumers' hands.
    pub(super) fn lost_in_queue(&mut self, q: usize, n: u64) {
        if let Some(queue) = self.queues.get_mut(q) {
            queue.lost += n;
        }
    }

    /// Counts `n` copies lost by group `group` of topic `topic`.
    pub(super) fn lost_in_group(&mut self, topic: usize, group: usize, n: u64) {
        if let Some(group) = self
            .topics
            .get_mut(topic)
            .and_then(|t| t.groups.get_mut(group))
        {
            group.lost += n;
        }
    }

    /// Sends a copy along a dead-letter or retry edge. Along a dead-letter edge
    /// its journey ends (dead-lettered); along a retry edge it goes on.
    pub(super) fn send_along(
        &mut self,
        now: SimTime,
        edge: usize,
        slot: Slot,
        scheduler: &mut Scheduler<Event>,
    ) {
        let Some(&(target, kind)) = self.edges.get(edge) else {
            self.messages.remove(slot);
            return;
        };
        let Some(mut message) = self.messages.get(slot).copied() else {
            return;
        };
        if kind == EdgeKind::DeadLetter && !message.has(flag::DEAD) {
            self.ledger.dead_lettered += 1;
            self.trace(now, message.id, target, HopKind::DeadLettered);
            message.flags |= flag::DEAD;
        }
        // A dead-letter cycle (queues dead-lettering into each other while full, or
        // over their delivery limit) could otherwise recurse without end within one
        // event: past a depth (or a count), the message is dropped, as RabbitMQ drops cycling dead letters.
        if self.dead_letter_depth == 0 {
            self.dead_letter_cascade = 0;
        }
        self.dead_letter_cascade += 1;
        if self.dead_letter_depth >= MAX_DEAD_LETTER_DEPTH
            || self.dead_letter_cascade > MAX_DEAD_LETTER_CASCADE
        {
            self.messages.remove(slot);
            if !message.has(flag::DEAD) {
                self.ledger.lost.overflow += 1;
                self.ledger.lost_in_transit += 1;
            }
            return;
        }
        // The delivery count is the queue's: a message dead-lettered into a queue starts afresh there.
        message.deliveries = 0;
        // The broker publishes it, not its producer: no confirms, no producer retries.
        message.producer |= super::message::FORWARDED;
        self.dead_letter_depth += 1;
        self.publish(now, target, message, Some(slot), scheduler);
        self.dead_letter_depth -= 1;
    }

    /// How long to wait before attempt `attempts + 1`.
    fn backoff_delay(&mut self, c: usize, attempts: u32) -> u64 {
        let Some(consumer) = self.consumers.get_mut(c) else {
            return 0;
        };
        match consumer.retry.backoff {
            Backoff::Immediate => 0,
            Backoff::Fixed { delay } => delay.nanos,
            Backoff::Exponential { base, cap, jitter } => {
                let exponential = base
                    .nanos
                    .saturating_mul(1u64 << (attempts - 1).min(40))
                    .min(cap.nanos);
                let rng = &mut consumer.rng;
                match jitter {
                    Jitter::None => exponential,
                    Jitter::Full => rng.random_range(0..=exponential),
                    Jitter::Equal => {
                        exponential / 2 + rng.random_range(0..=exponential - exponential / 2)
                    }
                    Jitter::Decorrelated => {
                        // sleep = min(cap, uniform(base, previous * 3)); the previous delay is
                        // taken as the exponential one for this attempt's predecessor.
                        let previous = base
                            .nanos
                            .saturating_mul(1u64 << (attempts.saturating_sub(2)).min(40));
                        let high = previous.saturating_mul(3).max(base.nanos);
                        rng.random_range(base.nanos..=high).min(cap.nanos)
                    }
                }
            }
        }
    }

    /// A delayed retry's wait is over: back to the tail of its queue.
    pub(super) fn requeue_after_delay(
        &mut self,
        now: SimTime,
        q: usize,
        slot: Slot,
        scheduler: &mut Scheduler<Event>,
    ) {
        self.parked = self.parked.saturating_sub(1);
        self.enqueue(now, q, slot, scheduler);
    }

    /// A topic consumer's blocking retry starts again on the same record.
    pub(super) fn retry_in_place(
        &mut self,
        now: SimTime,
        c: usize,
        slot: Slot,
        epoch: u32,
        scheduler: &mut Scheduler<Event>,
    ) {
        let Some(consumer) = self.consumers.get_mut(c) else {
            return;
        };
        if consumer.epoch != epoch {
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
        Self::start(
            now,
            c as u32,
            consumer,
            message,
            slot,
            scheduler,
            &mut self.tracer,
        );
    }

    /// Gives consumer `c` more work; `partition` is the one it just finished a record of
    /// (for topics: that partition may now trim what every group has committed).
    pub(super) fn take_more_work(
        &mut self,
        now: SimTime,
        c: usize,
        partition: u32,
        scheduler: &mut Scheduler<Event>,
    ) {
        let Some(consumer) = self.consumers.get_mut(c) else {
            return;
        };
        match consumer.source {
            Source::Queue(q) => {
                self.start_buffered(now, c, scheduler);
                self.dispatch(now, q as usize, scheduler);
            }
            Source::Topic { topic, .. } => {
                self.fetch(now, c, scheduler);
                self.trim(topic as usize, partition as usize);
            }
        }
    }

    /// Starts what waits in consumer `c`'s buffer and has arrived, while it has free slots.
    #[inline]
    fn start_buffered(&mut self, now: SimTime, c: usize, scheduler: &mut Scheduler<Event>) {
        let Some(consumer) = self.consumers.get_mut(c) else {
            return;
        };
        while consumer.has_free_slot() {
            let Some(&next) = consumer.buffer.front() else {
                return;
            };
            let Some(message) = self.messages.get_mut(next) else {
                consumer.buffer.pop_front();
                continue;
            };
            if message.enqueued_at > now {
                return; // Still on its way over the link.
            }
            consumer.buffer.pop_front();
            Self::start(
                now,
                c as u32,
                consumer,
                message,
                next,
                scheduler,
                &mut self.tracer,
            );
        }
    }

    /// Deliveries over a link with latency reach consumer `c`.
    pub(super) fn arrive(
        &mut self,
        now: SimTime,
        c: usize,
        epoch: u32,
        scheduler: &mut Scheduler<Event>,
    ) {
        if self.consumers.get(c).is_some_and(|cs| cs.epoch == epoch) {
            self.start_buffered(now, c, scheduler);
        }
    }

    /// The one-way latency of the link consumer `c` reads over (0 for most).
    #[inline]
    fn inbound_latency(&self, c: usize) -> u64 {
        self.consumers
            .get(c)
            .and_then(|cs| self.links.get(cs.inbound))
            .map_or(0, |link| link.latency + link.extra)
    }

    // ----- crashes, restarts, rebalances ------------------------------------------------

    /// Consumer `c` crashes: what it held is redelivered or lost per its ack mode.
    pub(super) fn crash(&mut self, now: SimTime, c: usize, scheduler: &mut Scheduler<Event>) {
        let Some(consumer) = self.consumers.get_mut(c) else {
            return;
        };
        if consumer.faults.crashes.begin() {
            consumer.metrics.crashes += 1;
        }
        self.go_down(now, c, Down::Crash, scheduler);
        self.drop_finishing(now, c);
    }

    /// Consumer `c`'s process dies: the work it went on with after losing its connection
    /// dies with it.
    fn drop_finishing(&mut self, now: SimTime, c: usize) {
        let Some(consumer) = self.consumers.get_mut(c) else {
            return;
        };
        if consumer.finishing.is_empty() {
            return;
        }
        let (node, source) = (consumer.node, consumer.source);
        consumer.busy = 0;
        consumer.metrics.busy.set(now, 0);
        for (slot, _) in std::mem::take(&mut consumer.finishing) {
            let counted = self
                .messages
                .get(slot)
                .is_some_and(|m| !m.has(flag::DEAD) && !m.has(flag::GHOST));
            self.trace_slot(now, slot, node, HopKind::Lost);
            self.messages.remove(slot);
            if counted {
                self.ledger.lost.crash += 1;
                self.lost_from(source, 1);
            }
        }
    }

    /// Consumer `c`, cut off from its queue, is done with a copy it went on processing: the
    /// effect happens, but no acknowledgement (or nack) can reach the broker. An
    /// at-least-once copy is a ghost: its redelivered twin carries the journey, and will
    /// apply the effect again (a duplicate). An at-most-once copy was acknowledged on
    /// delivery and ends here, processed, or lost on the link if it failed.
    fn finished_unconnected(
        &mut self,
        now: SimTime,
        c: usize,
        slot: Slot,
        epoch: u32,
        scheduler: &mut Scheduler<Event>,
    ) {
        let Some(consumer) = self.consumers.get_mut(c) else {
            return;
        };
        let Some(i) = consumer
            .finishing
            .iter()
            .position(|&(s, e)| s == slot && e == epoch)
        else {
            return;
        };
        consumer.finishing.swap_remove(i);
        consumer.busy = consumer.busy.saturating_sub(1);
        consumer.metrics.busy.set(now, u64::from(consumer.busy));
        let Some(message) = self.messages.get_mut(slot) else {
            return;
        };
        message.processing = false;
        let message = *message;
        let failed = Self::fails(consumer, &message, &self.producer_seeds);
        let dead = message.has(flag::DEAD);
        let counted = !dead && !message.has(flag::GHOST);
        let (node, source) = (consumer.node, consumer.source);
        if failed {
            consumer.metrics.failed += 1;
            self.trace(now, message.id, node, HopKind::Failed);
            self.messages.remove(slot);
            if counted {
                self.ledger.lost.link_loss += 1;
                self.lost_from(source, 1);
            }
        } else {
            consumer.metrics.processed += 1;
            let ends = counted && consumer.outputs.is_empty();
            let effect = self.apply_effect(now, c, &message, ends);
            if counted {
                self.finish(now, c, slot, &message, effect, scheduler);
            } else {
                self.messages.remove(slot);
            }
        }
        if self.consumers.get(c).is_some_and(|cs| cs.alive) {
            self.take_more_work(now, c, message.partition, scheduler);
        }
    }

    /// A cut on the edge consumer `c` reads from: its connection is gone. To its queue or
    /// group that is a crash (unacknowledged deliveries go back, the group rebalances after
    /// the session timeout). A queue consumer goes on processing what it had started, but
    /// cannot acknowledge it (see `finished_unconnected`); the rest of what it held, if
    /// acknowledged on delivery (at-most-once), is lost on the link. A group member and a
    /// pull consumer drop the work in their hands.
    pub(super) fn disconnect(&mut self, now: SimTime, c: usize, scheduler: &mut Scheduler<Event>) {
        self.go_down(now, c, Down::Disconnected, scheduler);
    }

    /// A cut ends: consumer `c` connects again, unless it has crashed meanwhile or another
    /// cut of its edge is still on.
    pub(super) fn reconnect(&mut self, now: SimTime, c: usize, scheduler: &mut Scheduler<Event>) {
        let crashed = self
            .consumers
            .get(c)
            .is_none_or(|consumer| consumer.faults.crashes.any());
        if !crashed && !self.is_disconnected(c) {
            self.come_up(now, c, scheduler);
        }
    }

    /// Whether consumer `c` is cut off: the edge it reads from is cut.
    pub fn is_disconnected(&self, c: usize) -> bool {
        self.consumers
            .get(c)
            .and_then(|consumer| self.links.get(consumer.inbound))
            .is_some_and(|link| link.cut)
    }

    /// Consumer `c` stops (crash, lost connection, its queue's broker failing): what it held
    /// is redelivered or lost per its ack mode.
    pub(super) fn go_down(
        &mut self,
        now: SimTime,
        c: usize,
        why: Down,
        scheduler: &mut Scheduler<Event>,
    ) {
        let Some(consumer) = self.consumers.get_mut(c) else {
            return;
        };
        if !consumer.alive {
            return;
        }
        consumer.alive = false;
        let node = consumer.node;
        self.abort_transaction(c);
        let Some(consumer) = self.consumers.get_mut(c) else {
            return;
        };
        let before = consumer.epoch;
        consumer.epoch += 1;
        consumer.busy = 0;
        consumer.metrics.busy.set(now, 0);
        consumer.last_arrival = 0;
        let mut held: Vec<Slot> = consumer
            .in_hand
            .drain(..)
            .chain(consumer.buffer.drain(..))
            .collect();
        let (source, ack, epoch, session) = (
            consumer.source,
            consumer.ack,
            consumer.epoch,
            consumer.session_timeout_nanos,
        );
        if why == Down::Disconnected {
            held = self.go_on_unconnected(now, c, before, held);
        }
        match source {
            Source::Queue(q) => {
                if let Some(queue) = self.queues.get_mut(q as usize) {
                    queue.waiting.retain(|&w| w != c as u32);
                }
                if let Some(consumer) = self.consumers.get_mut(c) {
                    consumer.waiting = false;
                }
                let unacked = self.consumers.get(c).map_or(0, |cs| cs.unacked);
                let pull = self
                    .queues
                    .get(q as usize)
                    .is_some_and(|queue| queue.visibility_timeout.is_some());
                if ack == AckMode::AfterProcessing
                    && !pull
                    && let Some(queue) = self.queues.get_mut(q as usize)
                {
                    queue.set_unacked(now, queue.unacked.saturating_sub(u64::from(unacked)));
                }
                if let Some(consumer) = self.consumers.get_mut(c) {
                    consumer.unacked = 0;
                }
                let pull = self
                    .queues
                    .get(q as usize)
                    .is_some_and(|queue| queue.visibility_timeout.is_some());
                if pull && ack == AckMode::AfterProcessing {
                    // SQS: nothing is requeued; what was received stays invisible until its
                    // timeout ends. Ghosts (already visible again) are simply gone.
                    for slot in held {
                        let ghost = self.messages.get(slot).is_none_or(|m| m.has(flag::GHOST));
                        if ghost {
                            // Visible again already; only the queue's unacknowledged count still held it.
                            self.messages.remove(slot);
                            if let Some(queue) = self.queues.get_mut(q as usize) {
                                queue.set_unacked(now, queue.unacked.saturating_sub(1));
                            }
                        } else if let Some(m) = self.messages.get_mut(slot) {
                            m.hand = super::queue::ORPHAN;
                            if let Some(queue) = self.queues.get_mut(q as usize) {
                                queue.orphans += 1;
                            }
                        }
                    }
                    return;
                }
                // Requeued in reverse so that the oldest ends up first at the head.
                for &slot in held.iter().rev() {
                    match ack {
                        AckMode::AfterProcessing => {
                            self.requeue_at_head(now, q as usize, slot, scheduler)
                        }
                        AckMode::BeforeProcessing => {
                            let dead = self.messages.get(slot).is_some_and(|m| m.has(flag::DEAD));
                            self.trace_slot(now, slot, node, HopKind::Lost);
                            self.messages.remove(slot);
                            if !dead {
                                why.count(&mut self.ledger.lost);
                                self.lost_in_queue(q as usize, 1);
                            }
                        }
                    }
                }
            }
            Source::Topic { .. } => {
                for slot in held {
                    let message = self.messages.get(slot).copied();
                    self.messages.remove(slot);
                    // At-most-once: committed on fetch, so never fetched again.
                    if ack == AckMode::BeforeProcessing
                        && message.is_some_and(|m| !m.has(flag::DEAD) && !m.has(flag::REPLAYED))
                    {
                        why.count(&mut self.ledger.lost);
                        self.lost_from(source, 1);
                    }
                }
                // Nobody reads the crashed member's partitions until the group rebalances;
                // what it held is back in the log, to be fetched again from the committed offset.
                if let Source::Topic {
                    topic,
                    group,
                    member,
                } = source
                {
                    let (t, g) = (topic as usize, group as usize);
                    let assigned = self
                        .topics
                        .get(t)
                        .and_then(|topic| topic.groups.get(g))
                        .and_then(|group| group.assigned.get(member as usize))
                        .cloned()
                        .unwrap_or_default();
                    for p in assigned {
                        self.rewind(t, g, p as usize);
                    }
                }
                scheduler.after(
                    session,
                    Event::MemberExpired {
                        consumer: c as u32,
                        epoch,
                    },
                );
            }
        }
    }

    /// Consumer `c` lost its connection to its push queue: the copies it was processing
    /// (their `Done` carries `epoch`) go on in its hands, and leave `held`. An at-least-once
    /// copy leaves a redelivered twin in `held`, to go back to the queue, and goes on as a
    /// ghost; an at-most-once copy (acknowledged on delivery) goes on as itself. Returns
    /// what is left of `held`.
    fn go_on_unconnected(
        &mut self,
        now: SimTime,
        c: usize,
        epoch: u32,
        held: Vec<Slot>,
    ) -> Vec<Slot> {
        let Some(consumer) = self.consumers.get(c) else {
            return held;
        };
        let Source::Queue(q) = consumer.source else {
            return held;
        };
        if self
            .queues
            .get(q as usize)
            .is_none_or(|queue| queue.visibility_timeout.is_some())
        {
            return held;
        }
        let ack = consumer.ack;
        let mut finishing = Vec::new();
        let mut left = Vec::with_capacity(held.len());
        for slot in held {
            let Some(message) = self.messages.get(slot).copied() else {
                continue;
            };
            if !message.processing {
                left.push(slot);
                continue;
            }
            if ack == AckMode::AfterProcessing {
                let Ok(twin) = self.messages.insert(Message {
                    processing: false,
                    ..message
                }) else {
                    left.push(slot); // No room for a twin: this copy goes back itself.
                    continue;
                };
                if let Some(ghost) = self.messages.get_mut(slot) {
                    ghost.flags |= flag::GHOST;
                }
                left.push(twin);
            }
            finishing.push((slot, epoch));
        }
        if let Some(consumer) = self.consumers.get_mut(c) {
            consumer.busy = finishing.len() as u32;
            consumer.metrics.busy.set(now, u64::from(consumer.busy));
            consumer.finishing = finishing;
        }
        left
    }

    /// Puts a copy back at the head of queue `q` as a redelivery (crash, nack with requeue).
    fn requeue_at_head(
        &mut self,
        now: SimTime,
        q: usize,
        slot: Slot,
        scheduler: &mut Scheduler<Event>,
    ) {
        let Some(message) = self.messages.get_mut(slot) else {
            return;
        };
        if message.has(flag::GHOST) {
            // It had been forwarded; back in the queue it is a real copy again, a duplicate one.
            message.flags &= !flag::GHOST;
            self.ledger.duplicate_copies += 1;
        }
        message.flags |= flag::REDELIVERED;
        message.enqueued_at = now;
        let priority = message.priority;
        let Some(queue) = self.queues.get_mut(q) else {
            return;
        };
        queue.push_front_ready(now, slot, priority);
        self.dispatch(now, q, scheduler);
    }

    /// Consumer `c` comes back after a crash, unless another crash or a cut is still on.
    pub(super) fn restart(&mut self, now: SimTime, c: usize, scheduler: &mut Scheduler<Event>) {
        let Some(consumer) = self.consumers.get_mut(c) else {
            return;
        };
        if consumer.faults.crashes.end() && !self.is_disconnected(c) {
            self.come_up(now, c, scheduler);
        }
    }

    /// Consumer `c` is up and connected again.
    fn come_up(&mut self, now: SimTime, c: usize, scheduler: &mut Scheduler<Event>) {
        let Some(consumer) = self.consumers.get_mut(c) else {
            return;
        };
        if consumer.alive {
            return;
        }
        consumer.alive = true;
        // A new session: the old one's expiry no longer applies.
        consumer.epoch += 1;
        match consumer.source {
            Source::Queue(q) => {
                consumer.waiting = true;
                if let Some(queue) = self.queues.get_mut(q as usize) {
                    queue.waiting.push_back(c as u32);
                }
                self.dispatch(now, q as usize, scheduler);
            }
            Source::Topic { topic, group, .. } => {
                self.begin_rebalance(now, topic as usize, group as usize, scheduler)
            }
        }
    }

    /// A crashed member's session timed out: the group rebalances without it.
    pub(super) fn member_expired(
        &mut self,
        now: SimTime,
        c: usize,
        epoch: u32,
        scheduler: &mut Scheduler<Event>,
    ) {
        let Some(consumer) = self.consumers.get(c) else {
            return;
        };
        if consumer.epoch != epoch || consumer.alive {
            return;
        }
        let Source::Topic { topic, group, .. } = consumer.source else {
            return;
        };
        self.begin_rebalance(now, topic as usize, group as usize, scheduler);
    }

    /// Pauses every member of a group and commits what live members processed
    /// (Kafka commits on partition revocation); the rebalance completes later.
    fn begin_rebalance(
        &mut self,
        now: SimTime,
        t: usize,
        g: usize,
        scheduler: &mut Scheduler<Event>,
    ) {
        let Some(group) = self.topics.get(t).and_then(|topic| topic.groups.get(g)) else {
            return;
        };
        let members = group.members.clone();
        let mut pause = 0;
        for &m in &members {
            if let Some(consumer) = self.consumers.get_mut(m as usize) {
                consumer.paused = true;
                pause = pause.max(consumer.rebalance_nanos);
            }
        }
        for &m in &members {
            if self
                .consumers
                .get(m as usize)
                .is_some_and(|cs| cs.alive && !matches!(cs.commit, Commit::Transactional { .. }))
            {
                self.commit_member(m as usize);
            }
        }
        if let Some(group) = self
            .topics
            .get_mut(t)
            .and_then(|topic| topic.groups.get_mut(g))
        {
            group.rebalances += 1;
        }
        let _ = now;
        scheduler.after(
            pause,
            Event::RebalanceDone {
                topic: t as u32,
                group: g as u32,
            },
        );
    }

    /// The rebalance completes: partitions are reassigned among live members
    /// and every partition restarts from its committed offset.
    pub(super) fn rebalance_done(
        &mut self,
        now: SimTime,
        t: usize,
        g: usize,
        scheduler: &mut Scheduler<Event>,
    ) {
        // Members that stayed up finished what they held during the pause: Kafka's
        // consumer commits it before giving its partitions up.
        let group_members: Vec<u32> = self
            .topics
            .get(t)
            .and_then(|topic| topic.groups.get(g))
            .map(|group| group.members.clone())
            .unwrap_or_default();
        for &m in &group_members {
            if self
                .consumers
                .get(m as usize)
                .is_some_and(|cs| cs.alive && !matches!(cs.commit, Commit::Transactional { .. }))
            {
                self.commit_member(m as usize);
            }
        }
        // Records still in members' hands will be fetched again from the committed offset:
        // the fetched copy carries the ledger from now on, the one in hand is a ghost.
        let members: Vec<u32> = self
            .topics
            .get(t)
            .and_then(|topic| topic.groups.get(g))
            .map(|group| group.members.clone())
            .unwrap_or_default();
        for &m in &members {
            let Some(consumer) = self.consumers.get(m as usize) else {
                continue;
            };
            // At-most-once members committed their records on fetch: nobody fetches them again.
            if consumer.ack == AckMode::BeforeProcessing {
                continue;
            }
            for &slot in &consumer.in_hand {
                if let Some(message) = self.messages.get_mut(slot) {
                    message.flags |= flag::GHOST;
                }
            }
        }
        let Some(group) = self
            .topics
            .get_mut(t)
            .and_then(|topic| topic.groups.get_mut(g))
        else {
            return;
        };
        let consumers = &self.consumers;
        let live: Vec<bool> = group
            .members
            .iter()
            .map(|&m| consumers.get(m as usize).is_some_and(|c| c.alive))
            .collect();
        group.assign_range_among(&live);
        let partitions = group.cursors.len();
        let members = group.members.clone();
        for p in 0..partitions {
            self.rewind(t, g, p);
        }
        for (index, &m) in members.iter().enumerate() {
            if let Some(consumer) = self.consumers.get_mut(m as usize) {
                consumer.paused = false;
                consumer.next_partition = 0;
                if let Source::Topic { member, .. } = &mut consumer.source {
                    *member = index as u32;
                }
            }
        }
        for &m in &members {
            self.fetch(now, m as usize, scheduler);
        }
    }

    // ----- faults -------------------------------------------------------------------------

    /// Adds a fault at `now` (from the running session, not the scenario) and starts it: at
    /// once, or after what is still scheduled at `now` when that instant has not run yet.
    pub fn inject(
        &mut self,
        now: SimTime,
        fault: crate::scenario::Fault,
        scheduler: &mut Scheduler<Event>,
    ) -> Result<(), String> {
        self.now = now;
        // The checker's rules for the fault's own settings.
        let partitions = match fault.target {
            FaultTarget::Node(n) => match self.node_refs.get(n) {
                Some(super::world::NodeRef::Topic(t)) => self
                    .topics
                    .get(*t as usize)
                    .map_or(0, |t| t.partitions.len() as u32),
                _ => 0,
            },
            FaultTarget::Edge(_) => 0,
        };
        if let Some((field, message)) =
            crate::scenario::check::fault_kind_problem(&fault.kind, partitions)
        {
            return Err(format!("{field} {message}"));
        }
        let fits = match (fault.target, fault.kind) {
            (
                FaultTarget::Node(n),
                FaultKind::Crash | FaultKind::Slow { .. } | FaultKind::Fail { .. },
            ) => {
                matches!(
                    self.node_refs.get(n),
                    Some(super::world::NodeRef::Consumer(_) | super::world::NodeRef::Service(_))
                )
            }
            (FaultTarget::Node(n), FaultKind::BrokerFailure { .. }) => matches!(
                self.node_refs.get(n),
                Some(super::world::NodeRef::Queue(_) | super::world::NodeRef::Topic(_))
            ),
            (FaultTarget::Edge(e), kind) => {
                let what = crate::scenario::check::LinkUse::of_fault(&kind).ok_or(
                    "on an edge, inject a link fault: cut it, delay it or make it lose messages",
                )?;
                let link = self.links.get(e).ok_or("no such edge")?;
                let kind_of = |n: usize| self.node_refs.get(n).map_or("?", |r| r.kind_name());
                let edge_kind = self.edges.get(e).map_or(EdgeKind::Normal, |&(_, k)| k);
                crate::scenario::check::link_allowed(
                    kind_of(link.from),
                    kind_of(link.target),
                    edge_kind,
                    what,
                )?;
                true
            }
            _ => false,
        };
        if !fits {
            return Err(
                "this fault cannot be injected there: crash, slow down or fail a consumer or a service"
                    .into(),
            );
        }
        let index = self.faults.len();
        self.faults.push(fault);
        if scheduler.next_time() == Some(now) {
            // This instant has not run yet (the session has just begun): the fault takes its
            // turn after what is scheduled at it, faults included, as in the saved scenario.
            scheduler.at(
                now,
                Event::FaultStart {
                    index: index as u32,
                },
            );
        } else {
            self.begin_fault(now, index, scheduler);
        }
        Ok(())
    }

    /// Fault `index` starts: apply it, and schedule its end.
    /// Fault `index` is due. Faults apply after everything else at their instant,
    /// as a fault injected into a running session does (the session had run that
    /// instant to its end), so that a saved session replays identically; faults
    /// due at one instant apply in the order they were scheduled.
    pub(super) fn fault_start(
        &mut self,
        now: SimTime,
        index: usize,
        scheduler: &mut Scheduler<Event>,
    ) {
        self.deferred_faults.push(index as u32);
        if !self.flush_scheduled {
            self.flush_scheduled = true;
            scheduler.at(now, Event::FlushFaults);
        }
    }

    /// Applies the faults due now once nothing else is left at this instant.
    pub(super) fn flush_faults(&mut self, now: SimTime, scheduler: &mut Scheduler<Event>) {
        if scheduler.next_time() == Some(now) && self.fault_deferrals < MAX_FAULT_DEFERRALS {
            self.fault_deferrals += 1;
            scheduler.at(now, Event::FlushFaults);
            return;
        }
        self.fault_deferrals = 0;
        self.flush_scheduled = false;
        for index in std::mem::take(&mut self.deferred_faults) {
            self.begin_fault(now, index as usize, scheduler);
        }
    }

    /// Applies fault `index` now and schedules its end.
    fn begin_fault(&mut self, now: SimTime, index: usize, scheduler: &mut Scheduler<Event>) {
        let Some(fault) = self.faults.get(index).cloned() else {
            return;
        };
        if let Some(duration) = fault.duration_nanos {
            scheduler.after(
                duration,
                Event::FaultEnd {
                    index: index as u32,
                },
            );
        }
        self.apply_fault(now, fault.target, fault.kind, true, scheduler);
    }

    pub(super) fn fault_end(
        &mut self,
        now: SimTime,
        index: usize,
        scheduler: &mut Scheduler<Event>,
    ) {
        let Some(fault) = self.faults.get(index).cloned() else {
            return;
        };
        self.apply_fault(now, fault.target, fault.kind, false, scheduler);
    }

    fn apply_fault(
        &mut self,
        now: SimTime,
        target: FaultTarget,
        kind: FaultKind,
        begins: bool,
        scheduler: &mut Scheduler<Event>,
    ) {
        let node = match target {
            FaultTarget::Node(node) => node,
            FaultTarget::Edge(edge) => {
                let to = self.links.get(edge).map_or(usize::MAX, |link| link.target);
                match (kind, self.node_refs.get(to).copied()) {
                    (FaultKind::Cut, Some(super::world::NodeRef::Consumer(c))) => {
                        // The link counts the cuts; the consumer loses its connection.
                        self.link_fault(edge, kind, begins);
                        if begins {
                            self.disconnect(now, c as usize, scheduler)
                        } else {
                            self.reconnect(now, c as usize, scheduler)
                        }
                    }
                    _ => self.link_fault(edge, kind, begins),
                }
                return;
            }
        };
        if let FaultKind::BrokerFailure { partition } = kind {
            match (self.node_refs.get(node).copied(), begins) {
                (Some(super::world::NodeRef::Queue(q)), true) => {
                    self.queue_broker_failure(now, q as usize, scheduler)
                }
                (Some(super::world::NodeRef::Queue(q)), false) => {
                    self.queue_broker_restored(now, q as usize, scheduler)
                }
                (Some(super::world::NodeRef::Topic(t)), true) => {
                    self.leader_failure(now, t as usize, partition, scheduler)
                }
                (Some(super::world::NodeRef::Topic(t)), false) => {
                    self.leader_restored(now, t as usize, partition, scheduler)
                }
                _ => {}
            }
            return;
        }
        if let Some(super::world::NodeRef::Service(s)) = self.node_refs.get(node).copied() {
            self.service_fault(now, s as usize, kind, begins, scheduler);
            return;
        }
        let Some(super::world::NodeRef::Consumer(c)) = self.node_refs.get(node).copied() else {
            return;
        };
        let c = c as usize;
        match (kind, begins) {
            (FaultKind::Crash, true) => self.crash(now, c, scheduler),
            (FaultKind::Crash, false) => self.restart(now, c, scheduler),
            (FaultKind::Slow { factor }, _) => {
                if let Some(consumer) = self.consumers.get_mut(c) {
                    if begins {
                        consumer.faults.slows.begin(factor);
                    } else {
                        consumer.faults.slows.end(factor);
                    }
                    consumer.slow_factor = consumer.faults.slows.product();
                }
            }
            (FaultKind::Fail { probability }, _) => {
                if let Some(consumer) = self.consumers.get_mut(c) {
                    if begins {
                        consumer.faults.fails.begin(probability);
                    } else {
                        consumer.faults.fails.end(probability);
                    }
                    consumer.fault_failure = consumer.faults.fails.any_chance();
                    consumer.may_fail = consumer.fault_failure > 0.0
                        || consumer.failure_probability > 0.0
                        || consumer.poison_fraction > 0.0;
                }
            }
            _ => {}
        }
    }

    /// Commits the processed prefix of every partition assigned to consumer `c`.
    pub(super) fn commit_member(&mut self, c: usize) {
        let Some(consumer) = self.consumers.get(c) else {
            return;
        };
        let Source::Topic {
            topic: topic_index,
            group: group_index,
            member,
        } = consumer.source
        else {
            return;
        };
        let now = self.now;
        let Some(topic) = self.topics.get_mut(topic_index as usize) else {
            return;
        };
        let Some(group) = topic.groups.get_mut(group_index as usize) else {
            return;
        };
        let Some(assigned) = group.assigned.get(member as usize) else {
            return;
        };
        // Without retention, what every group has committed is deleted at once: the
        // partitions whose committed offset moved are trimmed after the loop.
        let mut moved = std::mem::take(&mut self.moved_partitions);
        moved.clear();
        // Only partitions touched since their last commit can move; the member's are a
        // contiguous run (the range assignor's).
        let (first, count) = (assigned.first().map_or(0, |&p| p as usize), assigned.len());
        let mut from = first;
        while let Some(p) = group.touched.first_in(from, first + count) {
            from = p + 1;
            group.touched.remove(p);
            if let (Some(cursor), Some(partition)) =
                (group.cursors.get_mut(p), topic.partitions.get(p))
            {
                let before = cursor.committed;
                cursor.commit();
                cursor.committed_moved(now, partition.end_offset, before);
                group.committed_sum += cursor.committed - before;
                if cursor.committed != before {
                    moved.push(p as u32);
                }
            }
        }
        for &p in &moved {
            self.trim(topic_index as usize, p as usize);
        }
        self.moved_partitions = moved;
    }

    /// The periodic commit of a consumer with an auto-commit interval.
    pub(super) fn commit_interval(&mut self, c: usize, scheduler: &mut Scheduler<Event>) {
        let (alive, transactional) = self.consumers.get(c).map_or((false, false), |cs| {
            (cs.alive, matches!(cs.commit, Commit::Transactional { .. }))
        });
        if alive && transactional {
            let now = scheduler.now();
            self.commit_transaction(now, c, scheduler);
        } else if alive {
            self.commit_member(c);
        }
        if let Some(Commit::Interval { every } | Commit::Transactional { every }) =
            self.consumers.get(c).map(|c| c.commit)
        {
            scheduler.after(every.nanos.max(1), Event::Commit { consumer: c as u32 });
        }
    }
}

/// How deep dead-lettering may nest within one event before a message is dropped,
/// and how many dead-letterings one cascade may make (fanouts multiply them).
const MAX_DEAD_LETTER_DEPTH: u32 = 32;
const MAX_DEAD_LETTER_CASCADE: u32 = 1024;

/// How many times a fault yields to other events at its instant before it applies.
const MAX_FAULT_DEFERRALS: u32 = 1024;

/// Why a copy would be out of order, from its history.
fn reorder_cause(message: &Message) -> ReorderCause {
    if message.has(flag::REBALANCED) {
        ReorderCause::Rebalance
    } else if message.has(flag::RETRIED) {
        ReorderCause::Retry
    } else if message.has(flag::REDELIVERED) {
        ReorderCause::Requeue
    } else {
        ReorderCause::Concurrency
    }
}

/// A fixed draw in [0, 1) per message: whether a message is poison does not
/// depend on who processes it or when.
fn poison_draw(message: &Message, producer_seeds: &[u64]) -> f64 {
    // From what the message's own producer decided (its stable id, production time and key),
    // so other producers never change which messages are poison.
    let producer = message
        .origin()
        .and_then(|p| producer_seeds.get(p))
        .copied()
        .unwrap_or(0);
    let seed = message.produced_at ^ producer ^ (u64::from(message.key) << 20);
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
}
