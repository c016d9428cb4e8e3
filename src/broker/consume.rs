//! What happens in a consumer's hands, whatever it reads from: starting a copy,
//! its outcome (processed with an effect, failed, out of attempts), the retry
//! decision (backoff, a retry edge, a dead letter), forwarding onwards, and the
//! consumer going down (crash, lost connection) and coming back. What each
//! outcome means for the source is its delivery model's (`delivery/`):
//!
//! - at-most-once (`ack: BeforeProcessing`): acknowledged (or committed) on
//!   delivery, so a crash loses what was in hand and nothing is redelivered;
//! - at-least-once (`AfterProcessing`): acknowledged after processing, after
//!   `ack_delay`; a crash redelivers everything unacknowledged (a queue puts it
//!   back at its head, a group rebalances and restarts from the committed
//!   offsets), so work finished but not yet acknowledged is done twice;
//! - failures: tried again per the retry policy (a queue requeues at the head,
//!   or parks the copy for a delay; a topic retries in place and holds the
//!   partition), up to `max_attempts`, then dead-lettered.

use crate::broker::index::{ConsumerId, EdgeId};
use rand::RngExt;

use super::consumer::{ConsumerState, Source};
use super::delivery::{Delivery, Down};
use super::generation::Generation;
use super::message::flag;
use super::subscription::{Effect, ReorderCause};
use super::trace::{HopKind, NO_NODE};
use super::world::{Event, Message, World};
use crate::engine::arena::Slot;
use crate::engine::{Scheduler, SimTime};
use crate::scenario::raw::{Backoff, EdgeKind, Jitter};

impl World {
    /// Starts processing `slot` in consumer `c` (which has a free slot).
    #[inline]
    pub(super) fn start(
        now: SimTime,
        c: ConsumerId,
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
                generation: consumer.generation,
            },
        );
    }

    /// Takes `slot` out of consumer `c`'s hands.
    #[inline]
    pub(super) fn drop_from_hand(&mut self, c: ConsumerId, slot: Slot) {
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
        c: ConsumerId,
        slot: Slot,
        generation: Generation,
        scheduler: &mut Scheduler<Event>,
    ) {
        let Some(consumer) = self.consumers.get_mut(c) else {
            return;
        };
        if !consumer.generation.is_current(generation) {
            // The consumer went down since: the copy was dealt with then, unless it went on
            // processing it without a connection.
            if !consumer.finishing.is_empty() {
                self.finished_unconnected(now, c, slot, generation, scheduler);
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
    fn apply_effect(
        &mut self,
        now: SimTime,
        c: ConsumerId,
        message: &Message,
        ends: bool,
    ) -> Effect {
        let Some(consumer) = self.consumers.get_mut(c) else {
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
        match effect {
            Effect::First | Effect::Deduplicated => {}
            Effect::Duplicate => consumer.metrics.duplicates += 1,
            Effect::Reordered => consumer.metrics.reordered += 1,
        }
        if self.tracer.is_some() {
            let kind = match effect {
                Effect::First | Effect::Reordered => HopKind::Processed,
                Effect::Duplicate => HopKind::Duplicate,
                Effect::Deduplicated => HopKind::Deduplicated,
            };
            let node = self.consumers.get(c).map_or(NO_NODE as usize, |cs| cs.node);
            self.trace(now, message.id, node, kind);
        }
        if matches!(effect, Effect::First | Effect::Reordered) && ends {
            if self.sinks > 1
                && let Some(latency) = self
                    .consumers
                    .get_mut(c)
                    .and_then(|consumer| consumer.metrics.latency.as_mut())
            {
                latency.record(now - message.produced_at);
            }
            self.window.latency.record(now - message.produced_at);
            if let Some(interval) = &mut self.interval_latency {
                interval.record(now - message.produced_at);
            }
            self.window.processed += 1;
        }
        effect
    }

    /// Processing succeeded: apply the effect; the delivery model acknowledges or commits,
    /// then ends or forwards the copy.
    #[inline]
    fn succeeded(
        &mut self,
        now: SimTime,
        c: ConsumerId,
        slot: Slot,
        scheduler: &mut Scheduler<Event>,
    ) {
        let Some(message) = self.messages.get(slot).copied() else {
            return;
        };
        let Some(consumer) = self.consumers.get(c) else {
            return;
        };
        let (model, outputs) = (consumer.source, consumer.outputs.len());
        let ends = outputs == 0 && !message.has(flag::DEAD);
        let effect = self.apply_effect(now, c, &message, ends);
        model.processed(self, now, c, slot, message, effect, scheduler);
    }

    /// Ends (or forwards) a processed copy whose acknowledgement is done.
    #[inline]
    pub(super) fn finish(
        &mut self,
        now: SimTime,
        c: ConsumerId,
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
        } else if let Some(consumer) = self.consumers.get_mut(c)
            && consumer.source.holds_outputs(consumer)
        {
            consumer.transaction.push(slot);
        } else {
            self.forward(now, c, *message, Some(slot), scheduler);
        }
    }

    /// Publishes a processed message to each of consumer `c`'s outputs. With
    /// `slot`, the copy continues in the first output; otherwise every output
    /// gets a fresh copy (counted as fanned out from one continuing copy).
    pub(super) fn forward(
        &mut self,
        now: SimTime,
        c: ConsumerId,
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

    /// Processing failed: try again, dead-letter, or lose the copy.
    fn failed(
        &mut self,
        now: SimTime,
        c: ConsumerId,
        slot: Slot,
        scheduler: &mut Scheduler<Event>,
    ) {
        let Some(consumer) = self.consumers.get_mut(c) else {
            return;
        };
        let Some(message) = self.messages.get_mut(slot) else {
            return;
        };
        message.attempts = message.attempts.saturating_add(1);
        let attempts = u32::from(message.attempts);
        let (model, retry) = (consumer.source, consumer.retry);
        model.nack(self, now, c);
        let Some(message) = self.messages.get(slot).copied() else {
            return;
        };
        if message.has(flag::GHOST) {
            // Its journey continues in another copy (visible again, or fetched again).
            self.messages.remove(slot);
            return;
        }
        if message.has(flag::DEAD) || model.ended(self, c, &message) {
            // A dead letter that fails again is only dropped, and so is a copy whose
            // journey had ended.
            crate::mark!(FailedAfterItsJourneyEnded if !message.has(flag::DEAD));
            model.release(self, c, slot);
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
            if let Some(edge) = self.consumers.get(c).and_then(|cs| cs.retry_to) {
                model.release(self, c, slot);
                self.send_along(now, edge, slot, scheduler);
            } else {
                model.retry(self, now, c, slot, delay, scheduler);
            }
            return;
        }
        // Out of attempts.
        model.release(self, c, slot);
        let consumer_dlq = self.consumers.get(c).and_then(|cs| cs.dead_letter);
        match consumer_dlq.or_else(|| model.dead_letter(self)) {
            Some(edge) => {
                // Charged to the consumer only if the edge ends its journey (a queue's
                // dead-letter target may be a retry queue, where it goes on).
                if self.send_along(now, edge, slot, scheduler)
                    && let Some(consumer) = self.consumers.get_mut(c)
                {
                    consumer.metrics.dead_lettered += 1;
                }
            }
            None => {
                self.messages.remove(slot);
                self.ledger.lost.rejected += 1;
                self.lost_in_hand(c);
                model.lost(self, 1);
            }
        }
    }

    /// Counts `n` copies lost where consumers reading `source` got them: their queue, or
    /// their group (the ledger counts them by reason).
    pub(super) fn lost_from(&mut self, source: Source, n: u64) {
        source.lost(self, n);
    }

    /// Sends a copy along a dead-letter or retry edge. Along a dead-letter edge
    /// its journey ends (dead-lettered); along a retry edge it goes on. Returns whether
    /// it was dead-lettered here (not already a dead letter).
    pub(super) fn send_along(
        &mut self,
        now: SimTime,
        edge: EdgeId,
        slot: Slot,
        scheduler: &mut Scheduler<Event>,
    ) -> bool {
        let Some(&(target, kind)) = self.edges.get(edge) else {
            self.messages.remove(slot);
            return false;
        };
        let Some(mut message) = self.messages.get(slot).copied() else {
            return false;
        };
        let dead_lettered = kind == EdgeKind::DeadLetter && !message.has(flag::DEAD);
        if dead_lettered {
            self.ledger.dead_lettered += 1;
            if let Some(link) = self.links.get_mut(edge) {
                link.dead_lettered += 1;
            }
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
            return dead_lettered;
        }
        // The delivery count is the queue's: a message dead-lettered into a queue starts afresh there.
        message.deliveries = 0;
        // The broker publishes it, not its producer: no confirms, no producer retries.
        message.producer |= super::message::FORWARDED;
        self.dead_letter_depth += 1;
        self.publish(now, target, message, Some(slot), scheduler);
        self.dead_letter_depth -= 1;
        dead_lettered
    }

    /// How long to wait before attempt `attempts + 1`.
    fn backoff_delay(&mut self, c: ConsumerId, attempts: u32) -> u64 {
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

    /// Gives consumer `c` more work; `partition` is the one it just finished a record of
    /// (for topics: that partition may now trim what every group has committed).
    #[inline]
    pub(super) fn take_more_work(
        &mut self,
        now: SimTime,
        c: ConsumerId,
        partition: u32,
        scheduler: &mut Scheduler<Event>,
    ) {
        if let Some(consumer) = self.consumers.get(c) {
            let model = consumer.source;
            model.take_more(self, now, c, partition, scheduler);
        }
    }

    /// Starts what waits in consumer `c`'s buffer and has arrived, while it has free slots.
    #[inline]
    pub(super) fn start_buffered(
        &mut self,
        now: SimTime,
        c: ConsumerId,
        scheduler: &mut Scheduler<Event>,
    ) {
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
            Self::start(now, c, consumer, message, next, scheduler, &mut self.tracer);
        }
    }

    /// Deliveries over a link with latency reach consumer `c`.
    pub(super) fn arrive(
        &mut self,
        now: SimTime,
        c: ConsumerId,
        generation: Generation,
        scheduler: &mut Scheduler<Event>,
    ) {
        if self
            .consumers
            .get(c)
            .is_some_and(|cs| cs.generation.is_current(generation))
        {
            self.start_buffered(now, c, scheduler);
        }
    }

    /// The one-way latency of the link consumer `c` reads over (0 for most).
    #[inline]
    pub(super) fn inbound_latency(&self, c: ConsumerId) -> u64 {
        self.consumers
            .get(c)
            .and_then(|cs| self.links.get(cs.inbound))
            .map_or(0, |link| link.latency + link.extra)
    }

    // ----- crashes, restarts, rebalances ------------------------------------------------

    /// Consumer `c` crashes: what it held is redelivered or lost per its ack mode.
    pub(super) fn crash(&mut self, now: SimTime, c: ConsumerId, scheduler: &mut Scheduler<Event>) {
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
    fn drop_finishing(&mut self, now: SimTime, c: ConsumerId) {
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
                self.lost_in_hand(c);
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
        c: ConsumerId,
        slot: Slot,
        generation: Generation,
        scheduler: &mut Scheduler<Event>,
    ) {
        let Some(consumer) = self.consumers.get_mut(c) else {
            return;
        };
        let Some(i) = consumer
            .finishing
            .iter()
            .position(|&(s, g)| s == slot && g == generation)
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
                self.lost_in_hand(c);
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
    pub(super) fn disconnect(
        &mut self,
        now: SimTime,
        c: ConsumerId,
        scheduler: &mut Scheduler<Event>,
    ) {
        self.go_down(now, c, Down::Disconnected, scheduler);
    }

    /// A cut ends: consumer `c` connects again, unless it has crashed meanwhile or another
    /// cut of its edge is still on.
    pub(super) fn reconnect(
        &mut self,
        now: SimTime,
        c: ConsumerId,
        scheduler: &mut Scheduler<Event>,
    ) {
        let crashed = self
            .consumers
            .get(c)
            .is_none_or(|consumer| consumer.faults.crashes.any());
        if !crashed && !self.is_disconnected(c) {
            self.come_up(now, c, scheduler);
        }
    }

    /// Whether consumer `c` is cut off: the edge it reads from is cut.
    pub fn is_disconnected(&self, c: ConsumerId) -> bool {
        self.consumers
            .get(c)
            .and_then(|consumer| self.links.get(consumer.inbound))
            .is_some_and(|link| link.cut)
    }

    /// Consumer `c` stops (crash, lost connection, its queue's broker failing): what it held
    /// is redelivered or lost as its delivery model says.
    pub(super) fn go_down(
        &mut self,
        now: SimTime,
        c: ConsumerId,
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
        consumer.down_since = now;
        let before = consumer.generation;
        consumer.generation.bump();
        consumer.busy = 0;
        consumer.metrics.busy.set(now, 0);
        consumer.last_arrival = 0;
        let held: Vec<Slot> = consumer
            .in_hand
            .drain(..)
            .chain(consumer.buffer.drain(..))
            .collect();
        let model = consumer.source;
        model.down(self, now, c, why, before, held, scheduler);
    }

    /// Consumer `c` comes back after a crash, unless another crash or a cut is still on.
    pub(super) fn restart(
        &mut self,
        now: SimTime,
        c: ConsumerId,
        scheduler: &mut Scheduler<Event>,
    ) {
        let Some(consumer) = self.consumers.get_mut(c) else {
            return;
        };
        if consumer.faults.crashes.end() && !self.is_disconnected(c) {
            self.come_up(now, c, scheduler);
        }
    }

    /// Consumer `c` is up and connected again.
    fn come_up(&mut self, now: SimTime, c: ConsumerId, scheduler: &mut Scheduler<Event>) {
        let Some(consumer) = self.consumers.get_mut(c) else {
            return;
        };
        if consumer.alive {
            return;
        }
        consumer.alive = true;
        // A new session: the old one's expiry no longer applies.
        consumer.generation.bump();
        let model = consumer.source;
        model.up(self, now, c, scheduler);
    }

    // ----- faults -------------------------------------------------------------------------
}

/// How deep dead-lettering may nest within one event before a message is dropped,
/// and how many dead-letterings one cascade may make (fanouts multiply them).
const MAX_DEAD_LETTER_DEPTH: u32 = 32;
const MAX_DEAD_LETTER_CASCADE: u32 = 1024;

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
