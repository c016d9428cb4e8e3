//! How messages move into the broker: producing, publishing and routing, and
//! a queue's storage (enqueue, room for a copy under `max_length`, TTL
//! expiry). Delivery to consumers is the delivery models' (`delivery/`), a
//! topic's log is `log.rs`.
//!
//! These are methods of [`World`], kept apart from its state and wiring
//! (`world.rs`) so each file holds one concern. Every handler keeps the
//! ledger: a copy that leaves the system is counted as processed or as
//! dropped with a reason at the moment it leaves.

use super::error::Failure;
use super::failover::Refused;
use super::generation::Generation;
use super::message::flag;
use super::routing::Dest;
use super::trace::{HopKind, NO_NODE};
use super::world::{Event, Message, NodeRef, World};
use crate::broker::index::{EdgeId, ProducerId, QueueId};
use crate::engine::arena::{Arena, Slot};
use crate::engine::{Scheduler, SimTime};
use crate::scenario::raw::{Acks, Overflow};

impl World {
    // ----- producing and routing -------------------------------------------------

    #[inline]
    pub(super) fn produce(
        &mut self,
        now: SimTime,
        p: ProducerId,
        scheduler: &mut Scheduler<Event>,
    ) {
        let Some(producer) = self.producers.get_mut(p) else {
            return;
        };
        let key = producer.keys.sample(&mut producer.rng);
        let variant = match producer.variants.len() {
            1 => producer.variants[0],
            n => producer.variants[super::sampling::pick(&mut producer.rng, n)],
        };
        if let Some(service) = producer.service {
            // A request, not a message: it has its own ledger.
            producer.produced += 1;
            let body = super::service::Body {
                key,
                size: producer.size,
                variant,
                priority: producer.priority,
            };
            if let Some(next) = producer.arrival.next(now, &mut producer.rng) {
                scheduler.at(next, Event::Produce { producer: p });
            }
            self.client_request(now, p, service, body, scheduler);
            return;
        }
        let (size, priority) = (producer.size, producer.priority);
        let key_seq = next_key_seq(&mut self.key_seq, key);
        let message = Message {
            id: self.new_message_id(),
            produced_at: now,
            enqueued_at: now,
            key,
            key_seq,
            size,
            variant,
            priority,
            partition: 0,
            offset: 0,
            hand: 0,
            attempts: 0,
            deliveries: 0,
            flags: 0,
            processing: false,
            producer: u16::try_from(p.index() + 1)
                .ok()
                .filter(|v| v & super::message::FORWARDED == 0)
                .unwrap_or(0),
        };
        let Some(producer) = self.producers.get_mut(p) else {
            return;
        };
        producer.produced += 1;
        let target = producer.target;
        if let Some(next) = producer.arrival.next(now, &mut producer.rng) {
            scheduler.at(next, Event::Produce { producer: p });
        }
        self.ledger.produced += 1;
        if self.tracer.is_some() {
            let node = self.producers.get(p).map_or(0, |producer| producer.node);
            self.trace(now, message.id, node, HopKind::Produced);
        }
        self.window.produced += 1;
        let edge = self
            .producers
            .get(p)
            .map_or(EdgeId::default(), |producer| producer.edge);
        let _ = target;
        self.send_over(now, edge, message, None, scheduler);
    }

    /// Routes one copy published to `target`. `slot` is the copy's arena slot
    /// when it is already there (a consumer publishing onwards); it is reused
    /// or freed.
    #[inline]
    pub(super) fn publish(
        &mut self,
        now: SimTime,
        target: usize,
        mut message: Message,
        slot: Option<Slot>,
        scheduler: &mut Scheduler<Event>,
    ) {
        for &exchange in self.routes.via(target, message.variant) {
            if let Some(NodeRef::Exchange(e)) = self.node_refs.get(exchange)
                && let Some(state) = self.exchanges.get_mut(*e)
            {
                state.received += 1;
            }
        }
        if self.tracer.is_some() {
            for i in 0..self.routes.via(target, message.variant).len() {
                let exchange = self.routes.via(target, message.variant)[i];
                self.trace(now, message.id, exchange, HopKind::Routed);
            }
        }
        let count = self.routes.route(target, message.variant).len();
        // Dead letters are no longer in the ledger: what happens to them is not counted.
        let counted = !message.has(flag::DEAD);
        if count == 0 {
            self.unroutable(now, target, &message, slot);
            return;
        }
        if counted {
            // A first routing fans the copy out; a publisher's retry after a nack lands again
            // in the queues that took it the first time: duplicates.
            match self.refused_before(&message) {
                0 => self.ledger.fanned_out += count as u64 - 1,
                before => {
                    self.ledger.duplicate_copies += (count as u64).saturating_sub(before);
                }
            }
        }
        // A publisher that waits for confirms hears of a refusal by any queue (a nack) and
        // may publish again: the refused copies are then its to retry, not losses.
        let confirms = self.any_confirms
            && message
                .publisher()
                .and_then(|p| self.producers.get(p))
                .is_some_and(|p| p.acks != Acks::None);
        let mut refused = Refused::default();
        let mut reusable = slot;
        // A copy entering a queue carries the dead-letter history it leaves its last queue
        // with when a queue dead-letters it, none otherwise (see `deaths.rs`). A topic
        // record keeps its own offset instead.
        message.offset = u64::from(self.dead_lettering.last().map_or(0, |&(h, _, _)| h));
        for i in 0..count {
            let Some(&dest) = self.routes.route(target, message.variant).get(i) else {
                break;
            };
            match dest {
                Dest::Queue(node) => {
                    let Some(NodeRef::Queue(q)) = self.node_refs.get(node).copied() else {
                        continue;
                    };
                    let Some(queue) = self.queues.get_mut(q) else {
                        continue;
                    };
                    if !queue.online {
                        refused.down += 1;
                        continue;
                    }
                    if confirms && queue.refuses_publish() {
                        queue.metrics.nacked += 1;
                        refused.full += 1;
                        continue;
                    }
                    let reused = reusable.take();
                    let Some(slot) = self.store(message, reused) else {
                        if counted {
                            self.ledger.lost.overflow += 1;
                            self.ledger.lost_in_transit += 1;
                        }
                        continue;
                    };
                    self.enqueue(now, q, slot, scheduler);
                }
                Dest::Topic(node) => {
                    if let Some(NodeRef::Topic(t)) = self.node_refs.get(node).copied()
                        && !self.append(now, t, &message, scheduler)
                    {
                        refused.down += self.copies_of(&message);
                    }
                }
            }
        }
        if refused.any() {
            self.publish_refused(now, message, reusable.take(), refused, scheduler);
        }
        if let Some(slot) = reusable {
            self.messages.remove(slot);
        }
    }

    /// `message`, published to `target`, matched no binding: lost there (a dead letter is
    /// only dropped).
    #[cold]
    fn unroutable(&mut self, now: SimTime, target: usize, message: &Message, slot: Option<Slot>) {
        if let Some(NodeRef::Exchange(e)) = self.node_refs.get(target)
            && let Some(exchange) = self.exchanges.get_mut(*e)
        {
            exchange.unroutable += 1;
        }
        if !message.has(flag::DEAD) {
            let copies = self.copies_of(message);
            self.ledger.lost.unroutable += copies;
            self.ledger.lost_in_transit += copies;
            self.trace(now, message.id, target, HopKind::Lost);
        }
        if let Some(slot) = slot {
            self.messages.remove(slot);
        }
    }

    /// Stores `message` in `slot` when it already has one (a copy reused), else in a new
    /// slot. `None` when the arena is full: the run is failed with the reason, and the
    /// caller accounts for the copy.
    #[inline]
    pub(super) fn store(&mut self, message: Message, slot: Option<Slot>) -> Option<Slot> {
        match slot {
            Some(slot) => {
                if let Some(m) = self.messages.get_mut(slot) {
                    *m = message;
                }
                Some(slot)
            }
            None => match self.messages.insert(message) {
                Ok(slot) => Some(slot),
                Err(_) => {
                    self.at_capacity();
                    None
                }
            },
        }
    }

    pub(super) fn at_capacity(&mut self) {
        let cap = self.messages.cap();
        if self.messages.len() < cap {
            let held = self.messages.len();
            self.fail(Failure::NoMemoryForCopies { held });
            return;
        }
        self.fail(Failure::TooManyCopies { cap });
    }

    // ----- queues ------------------------------------------------------------------

    #[inline]
    pub(super) fn enqueue(
        &mut self,
        now: SimTime,
        q: QueueId,
        slot: Slot,
        scheduler: &mut Scheduler<Event>,
    ) {
        if !self.dead_lettering.is_empty() && self.dead_letter_cycle(now, q, slot) {
            return;
        }
        if self.tracer.is_some() {
            let node = self
                .queues
                .get(q)
                .map_or(NO_NODE as usize, |queue| queue.node);
            self.trace_slot(now, slot, node, HopKind::Enqueued);
        }
        let Some(queue) = self.queues.get_mut(q) else {
            return;
        };
        let Some(message) = self.messages.get_mut(slot) else {
            return;
        };
        message.enqueued_at = now;
        let priority = message.priority;
        // A queue whose broker is down delivers nothing: what comes back to it meanwhile (a
        // delayed retry, a message whose visibility timeout ended) waits for the broker.
        crate::mark!(BrokerDownHolds if !queue.online && !queue.waiting.is_empty());
        if queue.online
            && let Some(c) = queue.waiting.pop_front()
        {
            queue.metrics.enqueued += 1;
            // A consumer has credit, so nothing is ready: deliver at once.
            self.deliver(now, q, c, slot, scheduler);
            return;
        }
        if queue.is_full() && !self.make_room(now, q, slot, scheduler) {
            return;
        }
        let Some(queue) = self.queues.get_mut(q) else {
            return;
        };
        queue.metrics.enqueued += 1;
        queue.push_ready(now, slot, priority);
        if let Some(ttl) = queue.ttl_nanos
            && let Some(generation) = queue.expiry.arm()
        {
            let queue = q;
            scheduler.at(now + ttl, Event::Expire { queue, generation });
        }
    }

    /// Makes room in a full queue for `slot`. Returns false when the queue refused it
    /// (reject-publish). Dead letters of a dropped head may come back into this very
    /// queue and fill it again, so it looks again until there is room.
    #[cold]
    fn make_room(
        &mut self,
        now: SimTime,
        q: QueueId,
        slot: Slot,
        scheduler: &mut Scheduler<Event>,
    ) -> bool {
        // Heads dropped here may come straight back (a dead-letter or retry edge leading
        // to this queue): the whole loop is one cascade, so that a cycle is cut short.
        if self.dead_letter_depth == 0 {
            self.dead_letter_cascade = 0;
        }
        self.dead_letter_depth += 1;
        let room = self.drop_heads(now, q, slot, scheduler);
        self.dead_letter_depth -= 1;
        room
    }

    fn drop_heads(
        &mut self,
        now: SimTime,
        q: QueueId,
        slot: Slot,
        scheduler: &mut Scheduler<Event>,
    ) -> bool {
        loop {
            let Some(queue) = self.queues.get_mut(q) else {
                return false;
            };
            if !queue.is_full() {
                return true;
            }
            queue.metrics.dropped_overflow += 1;
            match queue.overflow {
                Overflow::RejectPublish => {
                    self.discard(now, q, slot, Discard::Overflow);
                    return false;
                }
                Overflow::DropHead => {
                    // RabbitMQ dead-letters the dropped head when the queue has a dead-letter
                    // exchange, and drops a dead letter that would be dead-lettered again (a cycle).
                    let Some(head) = queue.pop_head(now) else {
                        return true;
                    };
                    let dead = self.messages.get(head).is_some_and(|m| m.has(flag::DEAD));
                    match queue.dead_letter {
                        Some(edge) if !dead => {
                            self.send_from(now, q, Discard::Overflow, edge, head, scheduler)
                        }
                        _ => self.discard(now, q, head, Discard::Overflow),
                    }
                }
            }
        }
    }

    /// Queue `q` dead-letters (or retries) `slot` along `edge` for reason `why` (expired,
    /// over its length or its delivery limit: an automatic death, which RabbitMQ records
    /// in the message). A copy that this would bring back into a queue it was dead-lettered
    /// from since its last rejection is dropped instead (see [`super::deaths`]).
    pub(super) fn send_from(
        &mut self,
        now: SimTime,
        q: QueueId,
        why: Discard,
        edge: EdgeId,
        slot: Slot,
        scheduler: &mut Scheduler<Event>,
    ) {
        let before = self
            .messages
            .get(slot)
            .map_or(0, |m| u32::try_from(m.offset).unwrap_or(0));
        let Some(history) = self.deaths.add(before, q) else {
            self.fail(Failure::TooManyDeadLetterPaths);
            self.discard(now, q, slot, why);
            return;
        };
        self.dead_lettering.push((history, why, q));
        self.send_along(now, edge, slot, scheduler);
        self.dead_lettering.pop();
    }

    /// Whether `slot`, arriving at queue `q` as a dead letter, has been dead-lettered from
    /// `q` before (since its last rejection); if so it is dropped for the reason it left.
    #[cold]
    pub(super) fn dead_letter_cycle(&mut self, now: SimTime, q: QueueId, slot: Slot) -> bool {
        let Some(&(history, why, from)) = self.dead_lettering.last() else {
            return false;
        };
        if !self.deaths.contains(history, q) {
            return false;
        }
        // The queue it left counted the drop when the copy left it, and counts the loss.
        self.discard(now, from, slot, why);
        true
    }

    /// Frees a copy that leaves the system without being processed, counting the loss
    /// unless it was a dead letter already, as lost at queue `q` (which drops it).
    pub(super) fn discard(&mut self, now: SimTime, q: QueueId, slot: Slot, why: Discard) {
        self.trace_slot(now, slot, NO_NODE as usize, HopKind::Lost);
        let dead = self.messages.get(slot).is_some_and(|m| m.has(flag::DEAD));
        self.messages.remove(slot);
        if !dead {
            match why {
                Discard::Overflow => self.ledger.lost.overflow += 1,
                Discard::Ttl => self.ledger.lost.ttl += 1,
                Discard::Rejected => self.ledger.lost.rejected += 1,
            }
            self.lost_in_queue(q, 1);
        }
    }

    /// Queue `q`'s TTL check: the copies due leave (dead-lettered or dropped), and the next
    /// check is scheduled for the earliest head left. The check counts as pending until
    /// then: a dead letter that comes back into `q` meanwhile (through another queue's
    /// drop-head, say) schedules no check of its own, or every such return would start one
    /// more chain of checks for as long as the queue is never empty.
    pub(super) fn expire(
        &mut self,
        now: SimTime,
        q: QueueId,
        generation: Generation,
        scheduler: &mut Scheduler<Event>,
    ) {
        let Some(queue) = self.queues.get_mut(q) else {
            return;
        };
        if !queue.expiry.is_pending(generation) {
            return;
        }
        let Some(ttl) = queue.ttl_nanos else {
            let _ = queue.expiry.fire(generation);
            return;
        };
        let mut expired = Vec::new();
        for level in 0..queue.ready.len() {
            while let Some(&head) = queue.ready.get(level).and_then(|fifo| fifo.front()) {
                let expires = self.messages.get(head).map_or(now, |m| m.enqueued_at + ttl);
                if expires > now {
                    break;
                }
                queue.pop_level(now, level);
                queue.metrics.dropped_ttl += 1;
                expired.push(head);
            }
        }
        let dead_letter = queue.dead_letter;
        for head in expired {
            match dead_letter {
                Some(edge) => self.send_from(now, q, Discard::Ttl, edge, head, scheduler),
                None => self.discard(now, q, head, Discard::Ttl),
            }
        }
        let Some(queue) = self.queues.get_mut(q) else {
            return;
        };
        // The check is over only now.
        let _ = queue.expiry.fire(generation);
        if let Some(at) = next_expiry(queue, &self.messages, ttl, now)
            && let Some(generation) = queue.expiry.arm()
        {
            let queue = q;
            scheduler.at(at, Event::Expire { queue, generation });
        }
    }
}

/// When the first of the queue's heads (one per priority level) expires, if it has any.
fn next_expiry(
    queue: &super::queue::QueueState,
    messages: &Arena<Message>,
    ttl: u64,
    now: SimTime,
) -> Option<SimTime> {
    queue
        .ready
        .iter()
        .filter_map(|fifo| fifo.front())
        .map(|&head| messages.get(head).map_or(now, |m| m.enqueued_at + ttl))
        .min()
}

/// Why a copy was discarded.
#[derive(Debug, Clone, Copy)]
pub(super) enum Discard {
    Overflow,
    Ttl,
    Rejected,
}

/// The next per-key sequence number of a message produced with `key` (0 for no key).
#[inline]
pub(super) fn next_key_seq(key_seq: &mut [u32], key: u32) -> u32 {
    match key_seq.get_mut(key as usize) {
        Some(seq) => {
            *seq += 1;
            *seq - 1
        }
        None => 0,
    }
}
