//! Queues as delivery models: RabbitMQ-style push queues (acknowledged
//! after or before processing; a nack or a crash puts the copy back at the
//! head, as a redelivery) and SQS-style pull queues (a received copy stays
//! invisible until it is deleted or its visibility timeout ends; a crash
//! requeues nothing).
//!
//! Also the queue's side of delivery: `deliver`, `dispatch` to waiting
//! consumers, and visibility timeouts.

use super::{Delivery, Down};
use crate::broker::consumer::Source;
use crate::broker::error::LedgerError;
use crate::broker::flow::Discard;
use crate::broker::generation::Generation;
use crate::broker::index::{ConsumerId, EdgeId, QueueId};
use crate::broker::message::flag;
use crate::broker::queue::{Invisible, ORPHAN, RECEIPT_BASE};
use crate::broker::subscription::Effect;
use crate::broker::trace::HopKind;
use crate::broker::world::{Event, Message, World};
use crate::engine::arena::Slot;
use crate::engine::{Scheduler, SimTime};
use crate::scenario::raw::AckMode;

/// A queue, by index, as the source of a consumer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueDelivery {
    /// Index into the world's queues.
    pub q: QueueId,
}

impl QueueDelivery {
    /// Whether the queue is a pull queue (SQS: a visibility timeout).
    fn pull(self, w: &World) -> bool {
        w.queues
            .get(self.q)
            .is_some_and(|queue| queue.visibility_timeout.is_some())
    }
}

impl Delivery for QueueDelivery {
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
        let Some(consumer) = w.consumers.get(c) else {
            return;
        };
        let (ack, outputs, generation) =
            (consumer.ack, consumer.outputs.len(), consumer.generation);
        // The acknowledgement crosses the link back to the queue.
        let ack_delay = consumer.ack_delay_nanos + w.inbound_latency(c);
        let dead = message.has(flag::DEAD);
        if ack == AckMode::AfterProcessing && ack_delay > 0 {
            // The copy stays in hand, unacknowledged, until the ack arrives.
            scheduler.after(
                ack_delay,
                Event::AckArrive {
                    consumer: c,
                    slot,
                    generation,
                },
            );
            let carries_journey = !message.has(flag::GHOST) && !dead;
            crate::mark!(AckDelayDeduplicated if outputs > 0 && effect == Effect::Deduplicated);
            crate::mark!(AckDelayGhost if outputs > 0 && message.has(flag::GHOST));
            crate::mark!(AckDelayDeadLetter if outputs > 0 && dead);
            if outputs > 0 && effect != Effect::Deduplicated && carries_journey {
                // The journey goes on in fresh copies; this one only awaits its ack.
                if let Some(m) = w.messages.get_mut(slot) {
                    m.flags |= flag::GHOST;
                }
                w.forward(now, c, message, None, scheduler);
            }
            return;
        }
        w.drop_from_hand(c, slot);
        w.acknowledge(now, c, self.q);
        w.finish(now, c, slot, &message, effect, scheduler);
    }

    #[inline]
    fn nack(self, w: &mut World, now: SimTime, c: ConsumerId) {
        // The failed copy leaves the consumer; what follows decides where it goes.
        w.acknowledge(now, c, self.q);
    }

    fn retry(
        self,
        w: &mut World,
        now: SimTime,
        _c: ConsumerId,
        slot: Slot,
        delay: u64,
        scheduler: &mut Scheduler<Event>,
    ) {
        if delay == 0 {
            // RabbitMQ's nack with requeue: back where it was, at the head.
            w.requeue_at_head(now, self.q, slot, scheduler);
        } else {
            w.parked += 1;
            scheduler.after(
                delay,
                Event::Requeue {
                    queue: self.q,
                    slot,
                },
            );
        }
    }

    fn dead_letter(self, w: &World) -> Option<EdgeId> {
        w.queues.get(self.q).and_then(|queue| queue.dead_letter)
    }

    fn lost(self, w: &mut World, n: u64) {
        w.lost_in_queue(self.q, n);
    }

    #[inline]
    fn take_more(
        self,
        w: &mut World,
        now: SimTime,
        c: ConsumerId,
        _partition: u32,
        scheduler: &mut Scheduler<Event>,
    ) {
        w.start_buffered(now, c, scheduler);
        w.dispatch(now, self.q, scheduler);
    }

    fn down(
        self,
        w: &mut World,
        now: SimTime,
        c: ConsumerId,
        why: Down,
        generation: Generation,
        mut held: Vec<Slot>,
        scheduler: &mut Scheduler<Event>,
    ) {
        let q = self.q;
        let pull = self.pull(w);
        if why == Down::Disconnected && !pull {
            held = w.go_on_unconnected(now, c, generation, held);
        }
        if let Some(queue) = w.queues.get_mut(q) {
            queue.waiting.retain(|&waiting| waiting != c);
        }
        let Some(consumer) = w.consumers.get_mut(c) else {
            return;
        };
        consumer.waiting = false;
        let (ack, node, unacked) = (consumer.ack, consumer.node, consumer.unacked);
        consumer.unacked = 0;
        if ack == AckMode::AfterProcessing
            && !pull
            && let Some(queue) = w.queues.get_mut(q)
        {
            queue.set_unacked(now, queue.unacked.saturating_sub(u64::from(unacked)));
        }
        if pull && ack == AckMode::AfterProcessing {
            w.orphan(now, q, held);
            return;
        }
        // Requeued in reverse so that the oldest ends up first at the head.
        for &slot in held.iter().rev() {
            match ack {
                AckMode::AfterProcessing => w.requeue_at_head(now, q, slot, scheduler),
                AckMode::BeforeProcessing => {
                    let dead = w.messages.get(slot).is_some_and(|m| m.has(flag::DEAD));
                    w.trace_slot(now, slot, node, HopKind::Lost);
                    w.messages.remove(slot);
                    if !dead {
                        w.lost_going_down(c, why);
                        w.lost_in_queue(q, 1);
                    }
                }
            }
        }
    }

    fn up(self, w: &mut World, now: SimTime, c: ConsumerId, scheduler: &mut Scheduler<Event>) {
        if let Some(consumer) = w.consumers.get_mut(c) {
            consumer.waiting = true;
        }
        if let Some(queue) = w.queues.get_mut(self.q) {
            queue.waiting.push_back(c);
        }
        w.dispatch(now, self.q, scheduler);
    }
}

/// The live copies queues hold for the ledger: ready ones, and received
/// messages of crashed pull consumers waiting out their visibility timeout
/// (each has the deadline of its receive; dead letters among them are out of
/// the ledger). Checks each queue's count of those orphans.
pub(super) fn recount(w: &World) -> Result<u64, LedgerError> {
    let live = |slot: &Slot| {
        w.messages
            .get(*slot)
            .is_some_and(|m| !m.has(flag::DEAD) && !m.has(flag::GHOST))
    };
    let mut counted = 0u64;
    for queue in &w.queues {
        counted += queue.ready.iter().flatten().filter(|s| live(s)).count() as u64;
        let (mut held, mut orphans) = (0u64, 0u64);
        for entry in &queue.invisible {
            if let Some(m) = w.messages.get(entry.slot)
                && m.hand == ORPHAN
                && m.id == entry.id
                && m.partition == entry.receipt
            {
                held += 1;
                crate::mark!(DeadOrphan if m.has(flag::DEAD));
                orphans += u64::from(!m.has(flag::DEAD) && !m.has(flag::GHOST));
            }
        }
        if held != queue.orphans {
            return Err(LedgerError::Orphans {
                queue: w
                    .ids
                    .get(queue.node)
                    .map_or("?", String::as_str)
                    .to_string(),
                counted: queue.orphans,
                found: held,
            });
        }
        counted += orphans;
    }
    Ok(counted)
}

impl World {
    /// SQS: a crashed pull consumer's received copies are not requeued; each
    /// stays invisible until its timeout ends. Ghosts (already visible again)
    /// are simply gone.
    fn orphan(&mut self, now: SimTime, q: QueueId, held: Vec<Slot>) {
        for slot in held {
            let ghost = self.messages.get(slot).is_none_or(|m| m.has(flag::GHOST));
            if ghost {
                // Visible again already; only the queue's unacknowledged count still held it.
                crate::mark!(CrashedPullGhost);
                self.messages.remove(slot);
                if let Some(queue) = self.queues.get_mut(q) {
                    queue.set_unacked(now, queue.unacked.saturating_sub(1));
                }
            } else if let Some(m) = self.messages.get_mut(slot) {
                m.hand = ORPHAN;
                if let Some(queue) = self.queues.get_mut(q) {
                    queue.orphans += 1;
                }
            }
        }
    }

    /// Consumer `c` is done with one copy from queue `q`: its credit comes back,
    /// and the queue's unacknowledged count drops (at-most-once copies were
    /// acknowledged on delivery and never counted there).
    #[inline]
    fn acknowledge(&mut self, now: SimTime, c: ConsumerId, q: QueueId) {
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
                queue.waiting.push_back(c);
            }
        }
    }

    pub(in crate::broker) fn ack_arrive(
        &mut self,
        now: SimTime,
        c: ConsumerId,
        slot: Slot,
        generation: Generation,
        scheduler: &mut Scheduler<Event>,
    ) {
        let Some(consumer) = self.consumers.get(c) else {
            return;
        };
        if !consumer.generation.is_current(generation) {
            return; // Crashed before the ack arrived: the copy was requeued.
        }
        let Source::Queue(QueueDelivery { q }) = consumer.source else {
            return;
        };
        let Some(message) = self.messages.get(slot).copied() else {
            return;
        };
        self.drop_from_hand(c, slot);
        self.acknowledge(now, c, q);
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

    /// A delayed retry's wait is over: back to the tail of its queue.
    pub(in crate::broker) fn requeue_after_delay(
        &mut self,
        now: SimTime,
        q: QueueId,
        slot: Slot,
        scheduler: &mut Scheduler<Event>,
    ) {
        self.parked = self.parked.saturating_sub(1);
        self.enqueue(now, q, slot, scheduler);
    }

    /// Consumer `c` lost its connection to its push queue: the copies it was processing
    /// (their `Done` carries `generation`) go on in its hands, and leave `held`. An at-least-once
    /// copy leaves a redelivered twin in `held`, to go back to the queue, and goes on as a
    /// ghost; an at-most-once copy (acknowledged on delivery) goes on as itself. Returns
    /// what is left of `held`.
    fn go_on_unconnected(
        &mut self,
        now: SimTime,
        c: ConsumerId,
        generation: Generation,
        held: Vec<Slot>,
    ) -> Vec<Slot> {
        let Some(consumer) = self.consumers.get(c) else {
            return held;
        };
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
            finishing.push((slot, generation));
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
        q: QueueId,
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
    /// Counts `n` copies lost in queue `q` or in its consumers' hands.
    pub(in crate::broker) fn lost_in_queue(&mut self, q: QueueId, n: u64) {
        if let Some(queue) = self.queues.get_mut(q) {
            queue.lost += n;
        }
    }
    /// Hands `slot` from queue `q` to consumer `c`, which has credit and is not in the waiting list.
    #[inline]
    pub(in crate::broker) fn deliver(
        &mut self,
        now: SimTime,
        q: QueueId,
        c: ConsumerId,
        slot: Slot,
        scheduler: &mut Scheduler<Event>,
    ) {
        let (Some(queue), Some(consumer)) = (self.queues.get_mut(q), self.consumers.get_mut(c))
        else {
            return;
        };
        let Some(message) = self.messages.get_mut(slot) else {
            return;
        };
        message.deliveries = message.deliveries.saturating_add(1);
        if message.deliveries > 1 {
            self.ledger.redeliveries += 1;
            consumer.metrics.redelivered += 1;
        }
        // Over the delivery limit (RabbitMQ quorum queues): dead-lettered instead of delivered.
        if queue
            .max_deliveries
            .is_some_and(|max| u32::from(message.deliveries) > max)
        {
            consumer.waiting = true;
            queue.waiting.push_front(c);
            match queue.dead_letter {
                Some(edge) => self.send_from(now, q, Discard::Rejected, edge, slot, scheduler),
                None => self.discard(now, q, slot, Discard::Rejected),
            }
            return;
        }
        queue.metrics.wait.record(now - message.enqueued_at);
        queue.metrics.delivered += 1;
        if let Some(timeout) = queue.visibility_timeout
            && consumer.ack == AckMode::AfterProcessing
        {
            // SQS: the received message is invisible until deleted or until the timeout ends.
            // Each receive gets its own receipt (kept in the copy's otherwise unused
            // partition field): a deadline belongs to one receive, not to a later one.
            let receipt = self.next_receipt;
            self.next_receipt = self.next_receipt.wrapping_add(1) | RECEIPT_BASE;
            message.partition = receipt;
            queue.invisible.push_back(Invisible {
                deadline: now + timeout,
                slot,
                consumer: c,
                id: message.id,
                receipt,
            });
            if let Some(generation) = queue.visibility.arm() {
                let queue = q;
                scheduler.at(now + timeout, Event::Visibility { queue, generation });
            }
        }
        // At-most-once copies are acknowledged on delivery: the queue forgets them now.
        if consumer.ack == AckMode::AfterProcessing {
            queue.set_unacked(now, queue.unacked + 1);
        }
        consumer.unacked += 1;
        consumer.waiting = consumer.has_credit();
        if consumer.waiting {
            queue.waiting.push_back(c);
        }
        let latency = self
            .links
            .get(consumer.inbound)
            .map_or(0, |link| link.latency + link.extra);
        if latency > 0 {
            // On its way over the link: it waits in the consumer's buffer, not startable
            // before it arrives (and not before the delivery sent ahead of it).
            let arrival = (now + latency).max(consumer.last_arrival);
            consumer.last_arrival = arrival;
            message.enqueued_at = arrival;
            consumer.buffer.push_back(slot);
            scheduler.at(
                arrival,
                Event::Arrive {
                    consumer: c,
                    generation: consumer.generation,
                },
            );
            return;
        }
        if consumer.has_free_slot() && consumer.buffer.is_empty() {
            Self::start(now, c, consumer, message, slot, scheduler, &mut self.tracer);
        } else {
            consumer.buffer.push_back(slot);
        }
    }

    /// Gives ready messages to waiting consumers.
    #[inline]
    pub(in crate::broker) fn dispatch(
        &mut self,
        now: SimTime,
        q: QueueId,
        scheduler: &mut Scheduler<Event>,
    ) {
        loop {
            let Some(queue) = self.queues.get_mut(q) else {
                return;
            };
            if queue.ready_len == 0 || !queue.online {
                return;
            }
            let Some(c) = queue.waiting.pop_front() else {
                return;
            };
            let Some(slot) = queue.pop_head(now) else {
                return;
            };
            self.deliver(now, q, c, slot, scheduler);
        }
    }

    /// Visibility timeouts end: a received message not deleted in time becomes
    /// visible again. The consumer that holds it goes on processing a ghost (its
    /// delete will fail); the copy back in the queue carries the ledger.
    pub(in crate::broker) fn visibility_expired(
        &mut self,
        now: SimTime,
        q: QueueId,
        generation: Generation,
        scheduler: &mut Scheduler<Event>,
    ) {
        let Some(queue) = self.queues.get_mut(q) else {
            return;
        };
        if !queue.visibility.fire(generation) {
            return;
        }
        let mut expired = Vec::new();
        while let Some(&entry) = queue.invisible.front() {
            if entry.deadline > now {
                if let Some(generation) = queue.visibility.arm() {
                    let queue = q;
                    scheduler.at(entry.deadline, Event::Visibility { queue, generation });
                }
                break;
            }
            queue.invisible.pop_front();
            expired.push(entry);
        }
        for entry in expired {
            let Some(message) = self.messages.get(entry.slot).copied() else {
                continue;
            };
            crate::mark!(
                StaleVisibilityDeadline
                    if message.id == entry.id && message.partition != entry.receipt
            );
            if message.id != entry.id
                || message.partition != entry.receipt
                || message.has(flag::GHOST)
            {
                continue; // Deleted in time (the slot moved on), or already handled.
            }
            if message.hand == ORPHAN {
                // Its consumer crashed: the message itself becomes visible again.
                if let Some(queue) = self.queues.get_mut(q) {
                    queue.orphans = queue.orphans.saturating_sub(1);
                    queue.set_unacked(now, queue.unacked.saturating_sub(1));
                }
                if let Some(m) = self.messages.get_mut(entry.slot) {
                    m.flags |= flag::REDELIVERED;
                    m.hand = 0;
                }
                self.enqueue(now, q, entry.slot, scheduler);
                continue;
            }
            let held = self.consumers.get(entry.consumer).is_some_and(|c| {
                c.in_hand.get(message.hand as usize) == Some(&entry.slot)
                    || c.buffer.contains(&entry.slot)
            });
            if !held {
                continue;
            }
            let Ok(copy) = self.messages.insert(Message {
                flags: message.flags | flag::REDELIVERED,
                processing: false,
                ..message
            }) else {
                self.at_capacity();
                continue;
            };
            if let Some(ghost) = self.messages.get_mut(entry.slot) {
                ghost.flags |= flag::GHOST;
            }
            self.enqueue(now, q, copy, scheduler);
        }
    }
}
