//! The world: every node's state, wired from a checked scenario, and the
//! event handlers that move messages between them.
//!
//! Messages in queues and in consumers' hands live in an arena; topics keep
//! compact records in their logs. The ledger counts every copy of every
//! message exactly once as produced (or fanned out), processed, dropped with
//! a reason, or still in flight; [`World::check_ledger`] recounts the in-flight
//! copies from the structures themselves and compares.

use super::consumer::{ConsumerMetrics, ConsumerState, Output, Source};
use super::queue::QueueState;
use super::routing::{Dest, RouteTable, Variant, VariantId, VariantInterner};
use super::sampling::{ArrivalProcess, KeySampler, ServiceSampler};
use super::topic::{GroupState, Record, TopicState};
use crate::engine::arena::{Arena, Slot};
use crate::engine::rng::{Stream, stream};
use crate::engine::{Model, Scheduler, SimTime};
use crate::metrics::LatencyHistogram;
use crate::metrics::series::Series;
use crate::scenario::{NodeKind, Scenario};

/// A message copy in a queue or in a consumer's hands.
#[derive(Debug, Clone, Copy)]
pub struct Message {
    /// Unique per produced message; copies share it.
    pub id: u64,
    pub produced_at: SimTime,
    /// When it entered its current queue.
    pub enqueued_at: SimTime,
    pub key: u32,
    /// Per-key sequence number, in production order.
    pub key_seq: u32,
    pub size: u32,
    pub variant: VariantId,
    pub priority: u8,
    /// For records read from a topic: partition and offset, to commit.
    pub partition: u32,
    pub offset: u64,
}

#[derive(Debug, Clone, Copy)]
pub enum Event {
    Produce { producer: u32 },
    Done { consumer: u32, slot: Slot },
    Expire { queue: u32 },
    Sample,
    WarmupEnd,
}

/// Why a copy was dropped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Dropped {
    /// Published to an exchange that routed it nowhere.
    pub unroutable: u64,
    /// Refused or pushed out by a full queue.
    pub overflow: u64,
    /// Expired in a queue (message TTL).
    pub ttl: u64,
    /// Deleted by topic retention before its group read it.
    pub retention: u64,
}

impl Dropped {
    pub fn total(&self) -> u64 {
        self.unroutable + self.overflow + self.ttl + self.retention
    }
}

/// Whole-run counts of every message copy. Never reset by the warm-up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ledger {
    pub produced: u64,
    /// Extra copies made by routing one message to several queues, or by several groups reading one topic.
    pub fanned_out: u64,
    /// Copies processed by a consumer that publishes nothing further (the end of their journey).
    pub processed: u64,
    pub dropped: Dropped,
}

impl Ledger {
    /// Copies neither processed nor dropped.
    pub fn in_flight(&self) -> u64 {
        (self.produced + self.fanned_out).saturating_sub(self.processed + self.dropped.total())
    }
}

pub struct ProducerState {
    pub node: usize,
    pub target: usize,
    arrival: ArrivalProcess,
    keys: KeySampler,
    variants: Vec<VariantId>,
    size: u32,
    priority: u8,
    rng: Stream,
    pub produced: u64,
}

#[derive(Default)]
pub struct ExchangeState {
    pub node: usize,
    pub received: u64,
    pub unroutable: u64,
}

/// Which per-kind vector a node lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeRef {
    Producer(u32),
    Exchange(u32),
    Queue(u32),
    Topic(u32),
    Consumer(u32),
}

/// Statistics that restart at the end of the warm-up.
pub struct Window {
    pub start: SimTime,
    pub produced: u64,
    pub processed: u64,
    /// Produced -> processed, for copies that end their journey.
    pub latency: LatencyHistogram,
}

pub struct World {
    pub ids: Vec<String>,
    pub node_refs: Vec<NodeRef>,
    pub producers: Vec<ProducerState>,
    pub exchanges: Vec<ExchangeState>,
    pub queues: Vec<QueueState>,
    pub topics: Vec<TopicState>,
    pub consumers: Vec<ConsumerState>,
    pub routes: RouteTable,
    messages: Arena<Message>,
    /// Next sequence number per key index.
    key_seq: Vec<u32>,
    next_message_id: u64,
    pub ledger: Ledger,
    pub window: Window,
    pub series: Series,
    sample_every: u64,
    /// Most log records all topics may hold at once.
    max_records: u64,
    stored_records: u64,
    /// Set when the run cannot go on (a memory cap was hit); the runner stops and reports it.
    pub failure: Option<String>,
}

impl World {
    /// Wires a world from a checked scenario and schedules its first events.
    pub fn build(scenario: &Scenario, scheduler: &mut Scheduler<Event>) -> Result<World, String> {
        let mut interner = VariantInterner::default();
        let mut node_refs = Vec::with_capacity(scenario.nodes.len());
        let (mut np, mut ne, mut nq, mut nt, mut nc) = (0u32, 0u32, 0u32, 0u32, 0u32);
        for node in &scenario.nodes {
            let (counter, make): (&mut u32, fn(u32) -> NodeRef) = match node.kind {
                NodeKind::Producer(_) => (&mut np, NodeRef::Producer),
                NodeKind::Exchange(_) => (&mut ne, NodeRef::Exchange),
                NodeKind::Queue(_) => (&mut nq, NodeRef::Queue),
                NodeKind::Topic(_) => (&mut nt, NodeRef::Topic),
                NodeKind::Consumer(_) => (&mut nc, NodeRef::Consumer),
            };
            node_refs.push(make(*counter));
            *counter += 1;
        }
        let key_count = scenario
            .nodes
            .iter()
            .filter_map(|n| match &n.kind {
                NodeKind::Producer(p) => Some(p.keys.count()),
                _ => None,
            })
            .max()
            .unwrap_or(0);

        let mut producers = Vec::new();
        let mut exchanges = Vec::new();
        let mut queues = Vec::new();
        let mut topics = Vec::new();
        let mut consumers = Vec::new();
        for (index, node) in scenario.nodes.iter().enumerate() {
            match &node.kind {
                NodeKind::Producer(p) => {
                    let keys: Vec<Option<String>> = if p.routing_keys.is_empty() {
                        vec![None]
                    } else {
                        p.routing_keys.iter().cloned().map(Some).collect()
                    };
                    let variants = keys
                        .into_iter()
                        .map(|routing_key| {
                            interner.intern(Variant {
                                routing_key,
                                headers: p.headers.clone(),
                            })
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    producers.push(ProducerState {
                        node: index,
                        target: p.target,
                        arrival: ArrivalProcess::new(p.arrival.clone(), scenario.duration_nanos),
                        keys: KeySampler::new(p.keys),
                        variants,
                        size: p.size_bytes,
                        priority: p.priority,
                        rng: stream(scenario.seed, &node.id),
                        produced: 0,
                    });
                }
                NodeKind::Exchange(_) => exchanges.push(ExchangeState {
                    node: index,
                    ..Default::default()
                }),
                NodeKind::Queue(q) => queues.push(QueueState::new(
                    index,
                    q.max_priority,
                    q.max_length,
                    q.overflow,
                    q.ttl_nanos,
                )),
                NodeKind::Topic(t) => topics.push(TopicState::new(
                    index,
                    t,
                    key_count,
                    stream(scenario.seed, &node.id),
                )),
                NodeKind::Consumer(_) => {}
            }
        }
        // Consumer outputs that set a routing key rewrite variants. Close the
        // variant set under every rewrite first (a rewritten message may be
        // rewritten again downstream), so each rewrite table covers every variant.
        let rewrite_keys: Vec<&String> = scenario
            .nodes
            .iter()
            .filter_map(|n| match &n.kind {
                NodeKind::Consumer(c) => {
                    Some(c.outputs.iter().filter_map(|o| o.routing_key.as_ref()))
                }
                _ => None,
            })
            .flatten()
            .collect();
        let mut next = 0;
        while next < interner.len() {
            let headers = interner.headers(next);
            for key in &rewrite_keys {
                interner.intern(Variant {
                    routing_key: Some((*key).clone()),
                    headers: headers.clone(),
                })?;
            }
            next += 1;
        }
        let all_variants = interner.len();
        for (index, node) in scenario.nodes.iter().enumerate() {
            let NodeKind::Consumer(c) = &node.kind else {
                continue;
            };
            let source = match node_refs.get(c.source) {
                Some(NodeRef::Queue(q)) => Source::Queue(*q),
                Some(NodeRef::Topic(t)) => {
                    let NodeKind::Topic(spec) = &scenario.nodes[c.source].kind else {
                        return Err("consumer source is not a topic".into());
                    };
                    let group_index = spec
                        .groups
                        .iter()
                        .position(|(name, _)| *name == c.group)
                        .ok_or("consumer's group is not on its topic")?;
                    let members = &spec.groups[group_index].1;
                    let member = members
                        .iter()
                        .position(|&m| m == index)
                        .ok_or("consumer is not a member of its group")?;
                    Source::Topic {
                        topic: *t,
                        group: group_index as u32,
                        member: member as u32,
                    }
                }
                _ => {
                    return Err(format!(
                        "consumer `{}` reads from something that is not a queue or topic",
                        node.id
                    ));
                }
            };
            let mut outputs = Vec::new();
            for output in &c.outputs {
                let rewrite = match &output.routing_key {
                    None => None,
                    Some(key) => {
                        let mut table = Vec::with_capacity(all_variants);
                        for v in 0..all_variants {
                            let headers = interner.headers(v);
                            table.push(interner.intern(Variant {
                                routing_key: Some(key.clone()),
                                headers,
                            })?);
                        }
                        Some(table)
                    }
                };
                outputs.push(Output {
                    target: output.target,
                    rewrite,
                });
            }
            consumers.push(ConsumerState {
                node: index,
                source,
                concurrency: c.concurrency,
                prefetch: c.prefetch,
                busy: 0,
                unacked: 0,
                buffer: Default::default(),
                waiting: false,
                next_partition: 0,
                service: ServiceSampler::new(c.service),
                rng: stream(scenario.seed, &node.id),
                outputs,
                metrics: ConsumerMetrics::default(),
            });
        }
        // Consumer index of each node, to fill queue and group member lists.
        let consumer_of = |node: usize| match node_refs.get(node) {
            Some(NodeRef::Consumer(c)) => Some(*c),
            _ => None,
        };
        for queue in &mut queues {
            let NodeKind::Queue(spec) = &scenario.nodes[queue.node].kind else {
                continue;
            };
            for &member in &spec.consumers {
                if let Some(c) = consumer_of(member) {
                    queue.waiting.push_back(c);
                    if let Some(state) = consumers.get_mut(c as usize) {
                        state.waiting = true;
                    }
                }
            }
        }
        for topic in &mut topics {
            let NodeKind::Topic(spec) = &scenario.nodes[topic.node].kind else {
                continue;
            };
            for (name, members) in &spec.groups {
                let members = members.iter().filter_map(|&m| consumer_of(m)).collect();
                topic
                    .groups
                    .push(GroupState::new(name.clone(), members, spec.partitions));
            }
        }
        let routes = interner.into_table(scenario);

        for (p, producer) in producers.iter_mut().enumerate() {
            if let Some(first) = producer.arrival.first(&mut producer.rng) {
                scheduler.at(first, Event::Produce { producer: p as u32 });
            }
        }
        scheduler.at(scenario.sample_every_nanos, Event::Sample);
        if scenario.warmup_nanos > 0 {
            scheduler.at(scenario.warmup_nanos, Event::WarmupEnd);
        }
        let ids: Vec<String> = scenario.nodes.iter().map(|n| n.id.clone()).collect();
        let series = Series::new(&ids, &node_refs);
        Ok(World {
            ids,
            node_refs,
            producers,
            exchanges,
            queues,
            topics,
            consumers,
            routes,
            messages: Arena::with_cap(scenario.max_in_flight as usize),
            key_seq: vec![0; key_count as usize],
            next_message_id: 0,
            ledger: Ledger::default(),
            window: Window {
                start: 0,
                produced: 0,
                processed: 0,
                latency: LatencyHistogram::default(),
            },
            series,
            sample_every: scenario.sample_every_nanos,
            max_records: scenario.max_in_flight,
            stored_records: 0,
            failure: None,
        })
    }

    /// The message copy in `slot` (queued or in a consumer's hands).
    pub fn message(&self, slot: Slot) -> Option<&Message> {
        self.messages.get(slot)
    }

    /// Most message copies in the arena at once.
    pub fn messages_high_water(&self) -> usize {
        self.messages.high_water()
    }

    fn fail(&mut self, message: String) {
        if self.failure.is_none() {
            self.failure = Some(message);
        }
    }

    // ----- producing and routing -------------------------------------------------

    fn produce(&mut self, now: SimTime, p: usize, scheduler: &mut Scheduler<Event>) {
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
                crate::scenario::raw::Overflow::RejectPublish => {
                    self.messages.remove(slot);
                    return;
                }
                crate::scenario::raw::Overflow::DropHead => {
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

    fn expire(&mut self, now: SimTime, q: usize, scheduler: &mut Scheduler<Event>) {
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
    fn trim(&mut self, now: SimTime, t: usize, p: usize) {
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

    fn done(&mut self, now: SimTime, c: usize, slot: Slot, scheduler: &mut Scheduler<Event>) {
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

    // ----- measurement ---------------------------------------------------------------

    fn warmup_end(&mut self, now: SimTime) {
        self.window = Window {
            start: now,
            produced: 0,
            processed: 0,
            latency: LatencyHistogram::default(),
        };
        for queue in &mut self.queues {
            queue.metrics.reset(now);
        }
        for consumer in &mut self.consumers {
            consumer.metrics.reset(now);
        }
        for exchange in &mut self.exchanges {
            exchange.received = 0;
            exchange.unroutable = 0;
        }
        for producer in &mut self.producers {
            producer.produced = 0;
        }
    }

    fn sample(&mut self, now: SimTime, scheduler: &mut Scheduler<Event>) {
        for t in 0..self.topics.len() {
            for p in 0..self.topics[t].partitions.len() {
                self.trim(now, t, p);
            }
        }
        let mut series = std::mem::take(&mut self.series);
        series.sample(now, self);
        self.series = series;
        scheduler.after(self.sample_every, Event::Sample);
    }

    /// Recounts the copies in flight from the structures and compares with the ledger.
    pub fn check_ledger(&self) -> Result<(), String> {
        let queued: u64 = self.queues.iter().map(|q| q.ready_len).sum();
        let in_hands: u64 = self
            .consumers
            .iter()
            .map(|c| u64::from(c.busy) + c.buffer.len() as u64)
            .sum();
        let in_logs: u64 = self
            .topics
            .iter()
            .flat_map(|t| {
                t.groups.iter().map(move |g| {
                    t.partitions
                        .iter()
                        .zip(&g.cursors)
                        .map(|(p, c)| p.end_offset - c.position)
                        .sum::<u64>()
                })
            })
            .sum();
        let counted = queued + in_hands + in_logs;
        let ledger = self.ledger.in_flight();
        let arena = self.messages.len() as u64;
        if counted != ledger || arena != queued + in_hands {
            return Err(format!(
                "ledger broken: {ledger} in flight by the counts, {counted} found ({queued} queued, {in_hands} in consumers, {in_logs} in logs), {arena} in the arena; {:?}",
                self.ledger
            ));
        }
        Ok(())
    }
}

impl Model for World {
    type Event = Event;

    #[inline]
    fn handle(&mut self, now: SimTime, event: Event, scheduler: &mut Scheduler<Event>) {
        match event {
            Event::Produce { producer } => self.produce(now, producer as usize, scheduler),
            Event::Done { consumer, slot } => self.done(now, consumer as usize, slot, scheduler),
            Event::Expire { queue } => self.expire(now, queue as usize, scheduler),
            Event::Sample => self.sample(now, scheduler),
            Event::WarmupEnd => self.warmup_end(now),
        }
    }

    fn halted(&self) -> bool {
        self.failure.is_some()
    }
}
