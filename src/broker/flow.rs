//! How messages move: the event handlers that produce, route, enqueue,
//! deliver, fetch from logs, process and acknowledge.
//!
//! These are methods of [`World`], kept apart from its state and wiring
//! (`world.rs`) so each file holds one concern. Every handler keeps the
//! ledger: a copy that leaves the system is counted as processed or as
//! dropped with a reason at the moment it leaves.

use super::consumer::{ConsumerState, Source};
use super::routing::Dest;
use super::topic::Record;
use super::world::{Event, Message, NodeRef, World};
use crate::engine::arena::Slot;
use crate::engine::{Scheduler, SimTime};
use crate::scenario::raw::{Commit, Overflow};

impl World {
    // ----- producing and routing -------------------------------------------------

    pub(super) fn produce(&mut self, now: SimTime, p: usize, scheduler: &mut Scheduler<Event>) {
        let Some(producer) = self.producers.get_mut(p) else {
            return;
        };
        let key = producer.keys.sample(&mut producer.rng);
        let variant = match producer.variants.len() {
            1 => producer.variants[0],
            n => producer.variants[super::sampling::pick(&mut producer.rng, n)],
        };
        let key_seq = match self.key_seq.get_mut(key as usize) {
            Some(seq) => {
                *seq += 1;
                *seq - 1
            }
            None => 0,
        };
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
        };
        producer.produced += 1;
        let target = producer.target;
        if let Some(next) = producer.arrival.next(now, &mut producer.rng) {
            scheduler.at(next, Event::Produce { producer: p as u32 });
        }
        self.next_message_id += 1;
        self.ledger.produced += 1;
        self.window.produced += 1;
        self.publish(now, target, message, None, scheduler);
    }

    /// Routes one copy published to `target`. `slot` is the copy's arena slot
    /// when it is already there (a consumer publishing onwards); it is reused
    /// or freed.
    fn publish(
        &mut self,
        now: SimTime,
        target: usize,
        message: Message,
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
        let count = self.routes.route(target, message.variant).len();
        if count == 0 {
            if let Some(NodeRef::Exchange(e)) = self.node_refs.get(target)
                && let Some(exchange) = self.exchanges.get_mut(*e as usize)
            {
                exchange.unroutable += 1;
            }
            self.ledger.dropped.unroutable += 1;
            if let Some(slot) = slot {
                self.messages.remove(slot);
            }
            return;
        }
        self.ledger.fanned_out += count as u64 - 1;
        let mut reusable = slot;
        for i in 0..count {
            let Some(&dest) = self.routes.route(target, message.variant).get(i) else {
                break;
            };
            match dest {
                Dest::Queue(node) => {
                    let slot = match reusable.take() {
                        Some(slot) => {
                            if let Some(m) = self.messages.get_mut(slot) {
                                *m = message;
                            }
                            slot
                        }
                        None => match self.messages.insert(message) {
                            Ok(slot) => slot,
                            Err(_) => {
                                self.at_capacity();
                                self.ledger.dropped.overflow += 1;
                                continue;
                            }
                        },
                    };
                    if let Some(NodeRef::Queue(q)) = self.node_refs.get(node) {
                        self.enqueue(now, *q as usize, slot, scheduler);
                    }
                }
                Dest::Topic(node) => {
                    if let Some(NodeRef::Topic(t)) = self.node_refs.get(node) {
                        self.append(now, *t as usize, &message, scheduler);
                    }
                }
            }
        }
        if let Some(slot) = reusable {
            self.messages.remove(slot);
        }
    }

    fn at_capacity(&mut self) {
        let cap = self.messages.cap();
        self.fail(format!(
            "more than {cap} message copies in flight at once: the system is overloaded or the run too long; \
             reduce the load or duration, add consumers, or raise limits.max_in_flight"
        ));
    }

    // ----- queues ------------------------------------------------------------------

    fn enqueue(&mut self, now: SimTime, q: usize, slot: Slot, scheduler: &mut Scheduler<Event>) {
        let Some(queue) = self.queues.get_mut(q) else {
            return;
        };
        let Some(message) = self.messages.get_mut(slot) else {
            return;
        };
        message.enqueued_at = now;
        let priority = message.priority;
        if let Some(c) = queue.waiting.pop_front() {
            queue.metrics.enqueued += 1;
            // A consumer has credit, so nothing is ready: deliver at once.
            self.deliver(now, q, c as usize, slot, scheduler);
            return;
        }
        if queue.is_full() {
            queue.metrics.dropped_overflow += 1;
            self.ledger.dropped.overflow += 1;
            match queue.overflow {
                Overflow::RejectPublish => {
                    self.messages.remove(slot);
                    return;
                }
                Overflow::DropHead => {
                    if let Some(head) = queue.pop_head(now) {
                        self.messages.remove(head);
                    }
                }
            }
        }
        queue.metrics.enqueued += 1;
        queue.push_ready(now, slot, priority);
        if let Some(ttl) = queue.ttl_nanos
            && !queue.expiry_scheduled
        {
            queue.expiry_scheduled = true;
            scheduler.at(now + ttl, Event::Expire { queue: q as u32 });
        }
    }

    /// Hands `slot` from queue `q` to consumer `c`, which has credit and is not in the waiting list.
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
        let enqueued_at = self.messages.get(slot).map_or(now, |m| m.enqueued_at);
        queue.metrics.wait.record(now - enqueued_at);
        queue.metrics.delivered += 1;
        queue.set_unacked(now, queue.unacked + 1);
        consumer.unacked += 1;
        consumer.waiting = consumer.has_credit();
        if consumer.waiting {
            queue.waiting.push_back(c as u32);
        }
        if consumer.has_free_slot() {
            Self::start(now, c as u32, consumer, slot, scheduler);
        } else {
            consumer.buffer.push_back(slot);
        }
    }

    /// Gives ready messages to waiting consumers.
    fn dispatch(&mut self, now: SimTime, q: usize, scheduler: &mut Scheduler<Event>) {
        loop {
            let Some(queue) = self.queues.get_mut(q) else {
                return;
            };
            if queue.ready_len == 0 {
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
        for level in 0..queue.ready.len() {
            while let Some(&head) = queue.ready.get(level).and_then(|fifo| fifo.front()) {
                let expires = self.messages.get(head).map_or(now, |m| m.enqueued_at + ttl);
                if expires > now {
                    next = Some(next.map_or(expires, |n: SimTime| n.min(expires)));
                    break;
                }
                queue.pop_level(now, level);
                self.messages.remove(head);
                queue.metrics.dropped_ttl += 1;
                self.ledger.dropped.ttl += 1;
            }
        }
        if let Some(at) = next {
            queue.expiry_scheduled = true;
            scheduler.at(at, Event::Expire { queue: q as u32 });
        }
    }

    // ----- topics ------------------------------------------------------------------

    fn append(
        &mut self,
        now: SimTime,
        t: usize,
        message: &Message,
        scheduler: &mut Scheduler<Event>,
    ) {
        if self.stored_records >= self.max_records {
            self.fail(format!(
                "topics hold more than {} records: shorten retention, add consumers, or raise limits.max_in_flight",
                self.max_records
            ));
            self.ledger.dropped.overflow += 1;
            return;
        }
        let Some(topic) = self.topics.get_mut(t) else {
            return;
        };
        let p = topic.choose_partition(message.key) as usize;
        let Some(partition) = topic.partitions.get_mut(p) else {
            return;
        };
        partition.records.push_back(Record {
            id: message.id,
            produced_at: message.produced_at,
            appended_at: now,
            key: message.key,
            key_seq: message.key_seq,
            size: message.size,
            variant: message.variant,
            priority: message.priority,
        });
        partition.end_offset += 1;
        partition.bytes += u64::from(message.size);
        topic.appended += 1;
        self.stored_records += 1;
        let groups = topic.groups.len() as u64;
        self.ledger.fanned_out += groups.saturating_sub(1);
        self.trim(now, t, p);
        // Wake the member that owns this partition in each group.
        for g in 0..groups as usize {
            let owner = self
                .topics
                .get(t)
                .and_then(|topic| topic.groups.get(g))
                .and_then(|group| {
                    let member = group.owner.get(p).copied().flatten()?;
                    group.members.get(member as usize).copied()
                });
            if let Some(c) = owner {
                self.fetch(now, c as usize, scheduler);
            }
        }
    }

    /// Deletes records retention no longer keeps, and records every group has committed when no retention is set.
    pub(super) fn trim(&mut self, now: SimTime, t: usize, p: usize) {
        let Some(topic) = self.topics.get_mut(t) else {
            return;
        };
        let has_retention = topic.retention_nanos.is_some() || topic.retention_bytes.is_some();
        let min_committed = topic.min_committed(p);
        loop {
            let Some(partition) = topic.partitions.get_mut(p) else {
                return;
            };
            let Some(front) = partition.records.front().copied() else {
                return;
            };
            let offset = partition.base_offset;
            let expired_by_time = topic
                .retention_nanos
                .is_some_and(|r| front.appended_at + r <= now);
            let over_size = topic
                .retention_bytes
                .is_some_and(|max| partition.bytes > max);
            let consumed = !has_retention && offset < min_committed;
            if !(expired_by_time || over_size || consumed) {
                return;
            }
            partition.records.pop_front();
            partition.base_offset += 1;
            partition.bytes -= u64::from(front.size);
            self.stored_records -= 1;
            // A group that had not fetched this record has lost it (Kafka resets the group to the log start).
            for group in &mut topic.groups {
                if let Some(cursor) = group.cursors.get_mut(p)
                    && cursor.position <= offset
                {
                    cursor.skip();
                    self.ledger.dropped.retention += 1;
                }
            }
        }
    }

    /// Fills consumer `c`'s free slots from its assigned partitions, round-robin.
    fn fetch(&mut self, now: SimTime, c: usize, scheduler: &mut Scheduler<Event>) {
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
        let Some(group) = topic.groups.get_mut(group as usize) else {
            return;
        };
        let Some(assigned) = group.assigned.get(member as usize) else {
            return;
        };
        let count = assigned.len();
        let mut idle_partitions = 0;
        while consumer.has_free_slot() && idle_partitions < count {
            let Some(&p) = assigned.get(consumer.next_partition % count) else {
                return;
            };
            consumer.next_partition = (consumer.next_partition + 1) % count;
            let (Some(partition), Some(cursor)) = (
                topic.partitions.get(p as usize),
                group.cursors.get_mut(p as usize),
            ) else {
                return;
            };
            let Some(record) = partition.record(cursor.position) else {
                idle_partitions += 1;
                continue;
            };
            idle_partitions = 0;
            let message = Message {
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
            };
            let Ok(slot) = self.messages.insert(message) else {
                let cap = self.messages.cap();
                self.failure.get_or_insert_with(|| format!("more than {cap} message copies in flight at once: raise limits.max_in_flight or reduce the load"));
                return;
            };
            cursor.take();
            Self::start(now, c as u32, consumer, slot, scheduler);
        }
    }

    // ----- consumers ---------------------------------------------------------------

    #[inline]
    fn start(
        now: SimTime,
        c: u32,
        consumer: &mut ConsumerState,
        slot: Slot,
        scheduler: &mut Scheduler<Event>,
    ) {
        consumer.busy += 1;
        consumer.metrics.busy.set(now, u64::from(consumer.busy));
        let service = consumer.service.sample(&mut consumer.rng);
        consumer.metrics.started += 1;
        consumer.metrics.service_nanos += u128::from(service);
        scheduler.after(service, Event::Done { consumer: c, slot });
    }

    pub(super) fn done(
        &mut self,
        now: SimTime,
        c: usize,
        slot: Slot,
        scheduler: &mut Scheduler<Event>,
    ) {
        let Some(message) = self.messages.get(slot).copied() else {
            return;
        };
        let Some(consumer) = self.consumers.get_mut(c) else {
            return;
        };
        consumer.busy -= 1;
        consumer.metrics.busy.set(now, u64::from(consumer.busy));
        consumer.metrics.processed += 1;
        let source = consumer.source;
        // Acknowledge (queues) or commit (topics), and take the next buffered
        // message into the freed slot before anything new can arrive.
        match source {
            Source::Queue(q) => {
                consumer.unacked -= 1;
                if let Some(next) = consumer.buffer.pop_front() {
                    Self::start(now, c as u32, consumer, next, scheduler);
                }
                let regained_credit = !consumer.waiting && consumer.has_credit();
                if let Some(queue) = self.queues.get_mut(q as usize) {
                    queue.set_unacked(now, queue.unacked - 1);
                    if regained_credit {
                        consumer.waiting = true;
                        queue.waiting.push_back(c as u32);
                    }
                }
            }
            Source::Topic { topic, group, .. } => {
                if let Some(cursor) = self
                    .topics
                    .get_mut(topic as usize)
                    .and_then(|t| t.groups.get_mut(group as usize))
                    .and_then(|g| g.cursors.get_mut(message.partition as usize))
                {
                    cursor.complete(message.offset);
                    match consumer.commit {
                        Commit::AfterEach => cursor.commit(),
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
            }
        }
        // Publish onwards, or end the copy's journey.
        let outputs = self.consumers.get(c).map_or(0, |cs| cs.outputs.len());
        if outputs == 0 {
            self.messages.remove(slot);
            self.ledger.processed += 1;
            self.window.processed += 1;
            self.window.latency.record(now - message.produced_at);
            self.series.record_latency(now - message.produced_at);
        } else {
            self.ledger.fanned_out += outputs as u64 - 1;
            for o in 0..outputs {
                let Some(output) = self.consumers.get(c).and_then(|cs| cs.outputs.get(o)) else {
                    break;
                };
                let mut forwarded = message;
                if let Some(table) = &output.rewrite {
                    forwarded.variant = table
                        .get(message.variant as usize)
                        .copied()
                        .unwrap_or(message.variant);
                }
                let target = output.target;
                // The first output takes the copy's slot; the others get new ones.
                self.publish(now, target, forwarded, (o == 0).then_some(slot), scheduler);
            }
        }
        // Take more work.
        match source {
            Source::Queue(q) => self.dispatch(now, q as usize, scheduler),
            Source::Topic { topic, .. } => {
                self.fetch(now, c, scheduler);
                self.trim(now, topic as usize, message.partition as usize);
            }
        }
    }

    /// Commits the processed prefix of every partition assigned to consumer `c`.
    fn commit_member(&mut self, c: usize) {
        let Some(consumer) = self.consumers.get(c) else {
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
        let Some(group) = self
            .topics
            .get_mut(topic as usize)
            .and_then(|t| t.groups.get_mut(group as usize))
        else {
            return;
        };
        let Some(assigned) = group.assigned.get(member as usize) else {
            return;
        };
        for &p in assigned {
            if let Some(cursor) = group.cursors.get_mut(p as usize) {
                cursor.commit();
            }
        }
    }

    /// The periodic commit of a consumer with an auto-commit interval.
    pub(super) fn commit_interval(&mut self, c: usize, scheduler: &mut Scheduler<Event>) {
        self.commit_member(c);
        if let Some(Commit::Interval { every } | Commit::Transactional { every }) =
            self.consumers.get(c).map(|c| c.commit)
        {
            scheduler.after(every.nanos.max(1), Event::Commit { consumer: c as u32 });
        }
    }
}
