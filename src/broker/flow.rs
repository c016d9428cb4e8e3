//! How messages move: the event handlers that produce, route, enqueue,
//! deliver, fetch from logs, process and acknowledge.
//!
//! These are methods of [`World`], kept apart from its state and wiring
//! (`world.rs`) so each file holds one concern. Every handler keeps the
//! ledger: a copy that leaves the system is counted as processed or as
//! dropped with a reason at the moment it leaves.

use super::consumer::Source;
use super::failover::Refused;
use super::message::flag;
use super::queue::{Invisible, ORPHAN, RECEIPT_BASE};
use super::routing::Dest;
use super::topic::{GroupCursor, Partition, Record};
use super::trace::{HopKind, NO_NODE};
use super::world::{Event, Message, NodeRef, World};
use crate::engine::arena::Slot;
use crate::engine::{Scheduler, SimTime};
use crate::scenario::raw::{AckMode, Acks, OffsetReset, Overflow};

impl World {
    // ----- producing and routing -------------------------------------------------

    #[inline]
    pub(super) fn produce(&mut self, now: SimTime, p: usize, scheduler: &mut Scheduler<Event>) {
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
                scheduler.at(next, Event::Produce { producer: p as u32 });
            }
            self.client_request(now, p as u32, service, body, scheduler);
            return;
        }
        let key_seq = next_key_seq(&mut self.key_seq, key);
        let message = Message {
            id: self.next_message_id,
            produced_at: now,
            enqueued_at: now,
            key,
            key_seq,
            size: producer.size,
            variant,
            priority: producer.priority,
            partition: 0,
            offset: 0,
            hand: 0,
            attempts: 0,
            deliveries: 0,
            flags: 0,
            processing: false,
            producer: u16::try_from(p + 1)
                .ok()
                .filter(|v| v & super::message::FORWARDED == 0)
                .unwrap_or(0),
        };
        producer.produced += 1;
        let target = producer.target;
        if let Some(next) = producer.arrival.next(now, &mut producer.rng) {
            scheduler.at(next, Event::Produce { producer: p as u32 });
        }
        self.next_message_id += 1;
        self.ledger.produced += 1;
        if self.tracer.is_some() {
            let node = self.producers.get(p).map_or(0, |producer| producer.node);
            self.trace(now, message.id, node, HopKind::Produced);
        }
        self.window.produced += 1;
        let edge = self.producers.get(p).map_or(0, |producer| producer.edge);
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
                && let Some(state) = self.exchanges.get_mut(*e as usize)
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
            if let Some(NodeRef::Exchange(e)) = self.node_refs.get(target)
                && let Some(exchange) = self.exchanges.get_mut(*e as usize)
            {
                exchange.unroutable += 1;
            }
            if counted {
                let copies = self.copies_of(&message);
                self.ledger.lost.unroutable += copies;
                self.ledger.lost_in_transit += copies;
                self.trace(now, message.id, target, HopKind::Lost);
            }
            if let Some(slot) = slot {
                self.messages.remove(slot);
            }
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
                    let Some(queue) = self.queues.get_mut(q as usize) else {
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
                    self.enqueue(now, q as usize, slot, scheduler);
                }
                Dest::Topic(node) => {
                    if let Some(NodeRef::Topic(t)) = self.node_refs.get(node).copied()
                        && !self.append(now, t as usize, &message, scheduler)
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
            self.fail(format!(
                "the machine gave no memory for more than {held} message copies in flight: \
                 reduce the load or duration, add consumers, or lower limits.max_in_flight"
            ));
            return;
        }
        self.fail(format!(
            "more than {cap} message copies in flight at once: the system is overloaded or the run too long; \
             reduce the load or duration, add consumers, or raise limits.max_in_flight"
        ));
    }

    // ----- queues ------------------------------------------------------------------

    #[inline]
    pub(super) fn enqueue(
        &mut self,
        now: SimTime,
        q: usize,
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
        if queue.online
            && let Some(c) = queue.waiting.pop_front()
        {
            queue.metrics.enqueued += 1;
            // A consumer has credit, so nothing is ready: deliver at once.
            self.deliver(now, q, c as usize, slot, scheduler);
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
            && !queue.expiry_scheduled
        {
            queue.expiry_scheduled = true;
            scheduler.at(now + ttl, Event::Expire { queue: q as u32 });
        }
    }

    /// Makes room in a full queue for `slot`. Returns false when the queue refused it
    /// (reject-publish). Dead letters of a dropped head may come back into this very
    /// queue and fill it again, so it looks again until there is room.
    #[cold]
    fn make_room(
        &mut self,
        now: SimTime,
        q: usize,
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
        q: usize,
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
    fn send_from(
        &mut self,
        now: SimTime,
        q: usize,
        why: Discard,
        edge: usize,
        slot: Slot,
        scheduler: &mut Scheduler<Event>,
    ) {
        let before = self
            .messages
            .get(slot)
            .map_or(0, |m| u32::try_from(m.offset).unwrap_or(0));
        let Some(history) = self.deaths.add(before, q as u32) else {
            self.fail(format!(
                "messages take more than {} distinct dead-letter paths: the dead-letter \
                 topology is too large to follow; use fewer dead-letter edges between queues",
                super::deaths::MAX_PATHS
            ));
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
    fn dead_letter_cycle(&mut self, now: SimTime, q: usize, slot: Slot) -> bool {
        let Some(&(history, why, from)) = self.dead_lettering.last() else {
            return false;
        };
        if !self.deaths.contains(history, q as u32) {
            return false;
        }
        // The queue it left counted the drop when the copy left it, and counts the loss.
        self.discard(now, from, slot, why);
        true
    }

    /// Frees a copy that leaves the system without being processed, counting the loss
    /// unless it was a dead letter already, as lost at queue `q` (which drops it).
    fn discard(&mut self, now: SimTime, q: usize, slot: Slot, why: Discard) {
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

    /// Hands `slot` from queue `q` to consumer `c`, which has credit and is not in the waiting list.
    #[inline]
    fn deliver(
        &mut self,
        now: SimTime,
        q: usize,
        c: usize,
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
            queue.waiting.push_front(c as u32);
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
                consumer: c as u32,
                id: message.id,
                receipt,
            });
            if !queue.visibility_scheduled {
                queue.visibility_scheduled = true;
                scheduler.at(now + timeout, Event::Visibility { queue: q as u32 });
            }
        }
        // At-most-once copies are acknowledged on delivery: the queue forgets them now.
        if consumer.ack == AckMode::AfterProcessing {
            queue.set_unacked(now, queue.unacked + 1);
        }
        consumer.unacked += 1;
        consumer.waiting = consumer.has_credit();
        if consumer.waiting {
            queue.waiting.push_back(c as u32);
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
                    consumer: c as u32,
                    epoch: consumer.epoch,
                },
            );
            return;
        }
        if consumer.has_free_slot() && consumer.buffer.is_empty() {
            Self::start(
                now,
                c as u32,
                consumer,
                message,
                slot,
                scheduler,
                &mut self.tracer,
            );
        } else {
            consumer.buffer.push_back(slot);
        }
    }

    /// Gives ready messages to waiting consumers.
    #[inline]
    pub(super) fn dispatch(&mut self, now: SimTime, q: usize, scheduler: &mut Scheduler<Event>) {
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
            self.deliver(now, q, c as usize, slot, scheduler);
        }
    }

    pub(super) fn expire(&mut self, now: SimTime, q: usize, scheduler: &mut Scheduler<Event>) {
        let Some(queue) = self.queues.get_mut(q) else {
            return;
        };
        queue.expiry_scheduled = false;
        let Some(ttl) = queue.ttl_nanos else { return };
        let mut next: Option<SimTime> = None;
        let mut expired = Vec::new();
        for level in 0..queue.ready.len() {
            while let Some(&head) = queue.ready.get(level).and_then(|fifo| fifo.front()) {
                let expires = self.messages.get(head).map_or(now, |m| m.enqueued_at + ttl);
                if expires > now {
                    next = Some(next.map_or(expires, |n: SimTime| n.min(expires)));
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
        if let Some(at) = next {
            queue.expiry_scheduled = true;
            scheduler.at(at, Event::Expire { queue: q as u32 });
        }
    }

    // ----- topics ------------------------------------------------------------------

    /// Appends a record; false when no partition can take it (no leader, or
    /// too few in-sync replicas for an acks=all write), so the publish is refused.
    fn append(
        &mut self,
        now: SimTime,
        t: usize,
        message: &Message,
        scheduler: &mut Scheduler<Event>,
    ) -> bool {
        if self.tracer.is_some() {
            let node = self
                .topics
                .get(t)
                .map_or(NO_NODE as usize, |topic| topic.node);
            self.trace(now, message.id, node, HopKind::Appended);
        }
        let counted = !message.has(flag::DEAD);
        if self.stored_records >= self.max_records {
            self.fail(format!(
                "topics hold more than {} records: shorten retention, add consumers, or raise limits.max_in_flight",
                self.max_records
            ));
            if counted {
                let copies = self.copies_of(message);
                self.ledger.lost.overflow += copies;
                self.ledger.lost_in_transit += copies;
            }
            return true;
        }
        let needs_all = message
            .publisher()
            .and_then(|p| self.producers.get(p))
            .is_some_and(|p| p.acks == Acks::All);
        let Some(topic) = self.topics.get_mut(t) else {
            return true;
        };
        let partitions = topic.partitions.len();
        let mut p = topic.choose_partition(message.key) as usize;
        // Kafka sends a keyless record to a partition that has a leader; a keyed one must wait.
        if message.key == super::sampling::NO_KEY {
            for _ in 0..partitions {
                if topic.partitions.get(p).is_some_and(|part| part.online(now)) {
                    break;
                }
                p = topic.choose_partition(message.key) as usize;
            }
        }
        let (replicas, min_insync, delay) = (
            topic.replication_factor,
            topic.min_insync_replicas,
            topic.replication_delay,
        );
        let (retention, segment_bytes, roll) = (
            topic.has_retention(),
            topic.segment_bytes,
            topic.segment_roll,
        );
        let Some(partition) = topic.partitions.get_mut(p) else {
            return true;
        };
        let in_sync = replicas.saturating_sub(partition.failed_replicas);
        if !partition.online(now) || (needs_all && in_sync < min_insync) {
            return false;
        }
        partition.records.push_back(Record {
            id: message.id,
            produced_at: message.produced_at,
            appended_at: now,
            key: message.key,
            key_seq: message.key_seq,
            size: message.size,
            variant: message.variant,
            priority: message.priority,
            flags: message.flags & flag::DEAD,
            producer: message.producer,
        });
        partition.end_offset += 1;
        partition.end_average.set(now, partition.end_offset);
        partition.bytes += u64::from(message.size);
        if retention {
            partition.add_to_segment(now, u64::from(message.size), segment_bytes, roll);
        }
        topic.appended += 1;
        topic.end_sum += 1;
        self.stored_records += 1;
        let groups = topic.groups.len() as u64;
        // A rewrite of truncated records carries copies that exist already.
        if counted && !message.has(flag::REAPPEND) {
            self.ledger.fanned_out += groups.saturating_sub(1);
        }
        self.trim(t, p);
        if replicas > 1 {
            // Readable once the followers have it.
            scheduler.after(
                delay,
                Event::Replicated {
                    topic: t as u32,
                    partition: p as u32,
                },
            );
        } else {
            self.wake_partition(now, t, p, scheduler);
        }
        true
    }

    /// Deletes the records every group has committed, in a topic without retention: no
    /// group can read them again, so they are not kept. (A topic with retention keeps
    /// them until a retention check deletes their segment.)
    pub(super) fn trim(&mut self, t: usize, p: usize) {
        let Some(topic) = self.topics.get(t) else {
            return;
        };
        if topic.has_retention() {
            return;
        }
        let Some(partition) = topic.partitions.get(p) else {
            return;
        };
        let upto = topic.min_committed(p).min(topic.readable_end(partition));
        self.delete_below(t, p, upto);
    }

    /// A retention check of topic `t` at `now`: in each partition, the whole segments
    /// retention no longer keeps are deleted, read or not. When that is every segment,
    /// a new empty one takes the appends, as Kafka rolls one first.
    pub(super) fn enforce_retention(&mut self, now: SimTime, t: usize) {
        let partitions = self.topics.get(t).map_or(0, |topic| topic.partitions.len());
        for p in 0..partitions {
            let Some(topic) = self.topics.get(t) else {
                return;
            };
            let Some(partition) = topic.partitions.get(p) else {
                continue;
            };
            let cut = partition.expired_segments(
                now,
                topic.readable_end(partition),
                topic.retention_nanos,
                topic.retention_bytes,
            );
            if cut == 0 {
                continue;
            }
            let upto = partition
                .segments
                .get(cut)
                .map_or(partition.end_offset, |next| next.base_offset);
            self.delete_below(t, p, upto);
            let Some(partition) = self
                .topics
                .get_mut(t)
                .and_then(|topic| topic.partitions.get_mut(p))
            else {
                continue;
            };
            partition.segments.drain(..cut);
            if partition.segments.is_empty() {
                partition.segments.push_back(super::topic::Segment {
                    base_offset: partition.end_offset,
                    bytes: 0,
                    first_at: now,
                    last_at: now,
                });
            }
        }
    }

    /// Deletes the records of partition `p` of topic `t` below offset `upto` (never at or
    /// above what consumers may read). A group that had not fetched a deleted record has
    /// lost it; see the comments inside for where its position goes.
    fn delete_below(&mut self, t: usize, p: usize, upto: u64) {
        let Some(topic) = self.topics.get_mut(t) else {
            return;
        };
        loop {
            let Some(partition) = topic.partitions.get(p) else {
                return;
            };
            let Some(front) = partition.records.front().copied() else {
                return;
            };
            let offset = partition.base_offset;
            // Kafka deletes only below the high watermark: what every in-sync replica has,
            // which consumers may read.
            let readable = topic.readable_end(partition);
            if offset >= readable || offset >= upto {
                return;
            }
            // A group that had not fetched this record has lost it. Kafka then resets the
            // group's position: to the log start (earliest) or to the end of what consumers
            // may read (latest: the high watermark, never past it, where a failover may
            // truncate the log).
            // A group that fetched it and has not finished it still holds it; a dead letter
            // it holds is done as far as the log goes (it is out of the ledger), so that a
            // rewind past the log start later does not take it for a lost copy.
            for group in &mut topic.groups {
                let Some(cursor) = group.cursors.get_mut(p) else {
                    continue;
                };
                if cursor.position > offset {
                    if front.flags & flag::DEAD != 0 {
                        cursor.complete(offset);
                        group.touched.insert(p);
                    }
                    continue;
                }
                let upto = if group.reset == OffsetReset::Latest {
                    readable
                } else {
                    offset + 1
                };
                let lost = skip_to(cursor, partition, upto);
                self.ledger.lost.retention += lost;
                group.lost += lost;
                group.may_fetch(p);
                group.touch(p);
            }
            let Some(partition) = topic.partitions.get_mut(p) else {
                return;
            };
            partition.records.pop_front();
            partition.base_offset += 1;
            partition.bytes -= u64::from(front.size);
            self.stored_records -= 1;
        }
    }

    /// Group `g` fetches partition `p` again from its committed offset (after a crash or a
    /// rebalance).
    pub(super) fn rewind(&mut self, t: usize, g: usize, p: usize) {
        let Some(topic) = self.topics.get_mut(t) else {
            return;
        };
        let (Some(partition), Some(cursor)) = (
            topic.partitions.get(p),
            topic.groups.get_mut(g).and_then(|g| g.cursors.get_mut(p)),
        ) else {
            return;
        };
        cursor.rewind();
        let below = cursor.position < partition.base_offset;
        if let Some(group) = topic.groups.get_mut(g) {
            group.may_fetch(p);
        }
        if below {
            self.reset_below_log_start(t, g, p);
        }
    }

    /// After a rewind (a crash, a rebalance), group `g` may have to fetch partition `p` from
    /// below the log start: retention deleted records it had fetched and not committed. Kafka's
    /// fetch is then out of range and `auto.offset.reset` applies at once, as in [`World::trim`]:
    /// what it had not finished of the deleted records (and, resetting to the latest, of the
    /// rest) is lost to retention. Keeps every group's position at or above the log start.
    #[cold]
    pub(super) fn reset_below_log_start(&mut self, t: usize, g: usize, p: usize) {
        let Some(topic) = self.topics.get_mut(t) else {
            return;
        };
        let readable = topic
            .partitions
            .get(p)
            .map_or(0, |partition| topic.readable_end(partition));
        let (Some(partition), Some(group)) = (topic.partitions.get(p), topic.groups.get_mut(g))
        else {
            return;
        };
        let upto = if group.reset == OffsetReset::Latest {
            readable
        } else {
            partition.base_offset
        };
        if let Some(cursor) = group.cursors.get_mut(p)
            && cursor.position < partition.base_offset
        {
            let lost = skip_to(cursor, partition, upto);
            self.ledger.lost.retention += lost;
            group.lost += lost;
            group.touch(p);
        }
        group.may_fetch(p);
    }

    /// Fills consumer `c`'s free slots from its assigned partitions, round-robin.
    pub(super) fn fetch(&mut self, now: SimTime, c: usize, scheduler: &mut Scheduler<Event>) {
        let Some(consumer) = self.consumers.get_mut(c) else {
            return;
        };
        let Source::Topic {
            topic,
            group,
            member,
        } = consumer.source
        else {
            return;
        };
        let Some(topic) = self.topics.get_mut(topic as usize) else {
            return;
        };
        let replicated = topic.replication_factor > 1;
        let Some(group) = topic.groups.get_mut(group as usize) else {
            return;
        };
        let (Some(assigned), Some(fetchable)) = (
            group.assigned.get(member as usize),
            group.fetchable.get_mut(member as usize),
        ) else {
            return;
        };
        let count = assigned.len();
        // Round-robin from `next_partition` over the partitions that may have a record: the
        // order a scan of every assigned partition takes, skipping those known to be idle.
        while consumer.has_free_slot() {
            let from = consumer.next_partition % count.max(1);
            let Some(i) = fetchable.next_from(from, count) else {
                return;
            };
            let Some(&p) = assigned.get(i) else {
                return;
            };
            let (Some(partition), Some(cursor)) = (
                topic.partitions.get(p as usize),
                group.cursors.get_mut(p as usize),
            ) else {
                return;
            };
            let end = if replicated {
                partition.hw
            } else {
                partition.end_offset
            };
            let readable = cursor.position < end && partition.online(now);
            let Some(record) = partition.record(cursor.position).filter(|_| readable) else {
                fetchable.remove(i);
                continue;
            };
            consumer.next_partition = (i + 1) % count;
            let again = cursor.fetched_before(cursor.position);
            let replayed = again
                && consumer.ack == AckMode::BeforeProcessing
                && cursor.is_complete(cursor.position);
            let mut message = Message {
                id: record.id,
                produced_at: record.produced_at,
                enqueued_at: record.appended_at,
                key: record.key,
                key_seq: record.key_seq,
                size: record.size,
                variant: record.variant,
                priority: record.priority,
                partition: p,
                offset: cursor.position,
                hand: 0,
                attempts: 0,
                deliveries: 1,
                producer: record.producer,
                flags: record.flags
                    | if again {
                        flag::REBALANCED | flag::REDELIVERED
                    } else {
                        0
                    }
                    | if replayed { flag::REPLAYED } else { 0 },
                processing: false,
            };
            if again {
                self.ledger.redeliveries += 1;
                consumer.metrics.redelivered += 1;
            }
            let Ok(slot) = self.messages.insert(message) else {
                let cap = self.messages.cap();
                self.failure.get_or_insert_with(|| format!("more than {cap} message copies in flight at once: raise limits.max_in_flight or reduce the load"));
                return;
            };
            cursor.take();
            group.touched.insert(p as usize);
            if consumer.ack == AckMode::BeforeProcessing {
                // At-most-once: commit past the record before processing it.
                let before = cursor.committed;
                cursor.commit_to(cursor.position);
                cursor.committed_moved(now, partition.end_offset, before);
                group.committed_sum += cursor.committed - before;
            }
            Self::start(
                now,
                c as u32,
                consumer,
                &mut message,
                slot,
                scheduler,
                &mut self.tracer,
            );
            if let Some(stored) = self.messages.get_mut(slot) {
                stored.hand = message.hand;
            }
        }
    }

    /// Visibility timeouts end: a received message not deleted in time becomes
    /// visible again. The consumer that holds it goes on processing a ghost (its
    /// delete will fail); the copy back in the queue carries the ledger.
    pub(super) fn visibility_expired(
        &mut self,
        now: SimTime,
        q: usize,
        scheduler: &mut Scheduler<Event>,
    ) {
        let Some(queue) = self.queues.get_mut(q) else {
            return;
        };
        queue.visibility_scheduled = false;
        let mut expired = Vec::new();
        while let Some(&entry) = queue.invisible.front() {
            if entry.deadline > now {
                queue.visibility_scheduled = true;
                scheduler.at(entry.deadline, Event::Visibility { queue: q as u32 });
                break;
            }
            queue.invisible.pop_front();
            expired.push(entry);
        }
        for entry in expired {
            let Some(message) = self.messages.get(entry.slot).copied() else {
                continue;
            };
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
            let held = self
                .consumers
                .get(entry.consumer as usize)
                .is_some_and(|c| {
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

/// Why a copy was discarded.
#[derive(Debug, Clone, Copy)]
pub(super) enum Discard {
    Overflow,
    Ttl,
    Rejected,
}

/// Moves `cursor` past every offset below `upto` that it has not fetched, returning how many
/// copies that loses: offsets neither processed nor dead letters. Below the log start, the only
/// offsets not complete are records the group had fetched and not finished, which are not dead
/// letters ([`World::trim`] completes a fetched dead letter when it deletes it).
fn skip_to(cursor: &mut GroupCursor, partition: &Partition, upto: u64) -> u64 {
    let mut lost = 0;
    while cursor.position < upto {
        let offset = cursor.position;
        let dead = partition
            .record(offset)
            .is_some_and(|r| r.flags & flag::DEAD != 0);
        if !dead && !cursor.is_complete(offset) {
            lost += 1;
        }
        cursor.skip();
    }
    lost
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
