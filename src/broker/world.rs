//! The world: every node's state, wired from a checked scenario, and the
//! event handlers that move messages between them.
//!
//! Messages in queues and in consumers' hands live in an arena; topics keep
//! compact records in their logs. The ledger counts every copy of every
//! message exactly once as produced (or fanned out), processed, dropped with
//! a reason, or still in flight; [`World::check_ledger`] recounts the in-flight
//! copies from the structures themselves and compares. Request/response
//! services (`service.rs`, `call.rs`) keep their requests apart, with a
//! request ledger that the same check recounts.

use super::call::outputs;
use super::consumer::{ConsumerMetrics, ConsumerState, Source};
use super::queue::QueueState;
use super::routing::{RouteTable, Variant, VariantId, VariantInterner};
use super::sampling::{ArrivalProcess, KeySampler, ServiceSampler};
use super::service::{Services, service_of};
use super::subscription::Subscription;
use super::topic::{GroupState, TopicState};
use crate::engine::arena::{Arena, Slot};
use crate::engine::rng::{Stream, stream};
use crate::engine::{Model, Scheduler, SimTime};
use crate::metrics::LatencyHistogram;
use crate::metrics::series::Series;
use crate::scenario::raw::{Commit, EdgeKind};
use crate::scenario::{Fault, NodeKind, Scenario};

pub use super::ledger::{Ledger, Lost};
pub use super::message::{Event, Message, flag};

pub struct ProducerState {
    pub node: usize,
    pub target: usize,
    /// The edge to `target` (its link).
    pub edge: usize,
    pub(super) arrival: ArrivalProcess,
    pub(super) keys: KeySampler,
    pub(super) variants: Vec<VariantId>,
    pub(super) size: u32,
    pub(super) priority: u8,
    pub(super) rng: Stream,
    pub produced: u64,
    /// Publishes tried again, and writes acknowledged then lost (whole run).
    pub publish_retries: u64,
    pub acknowledged_lost: u64,
    pub acks: crate::scenario::raw::Acks,
    pub retry: Option<crate::scenario::raw::PublishRetry>,
    pub idempotent: bool,
    /// The service this producer sends requests to, when its target is a service.
    pub service: Option<u32>,
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
    Service(u32),
}

impl NodeRef {
    /// The node kind's name, as the scenario format spells it in lower case.
    pub fn kind_name(self) -> &'static str {
        match self {
            NodeRef::Producer(_) => "producer",
            NodeRef::Exchange(_) => "exchange",
            NodeRef::Queue(_) => "queue",
            NodeRef::Topic(_) => "topic",
            NodeRef::Consumer(_) => "consumer",
            NodeRef::Service(_) => "service",
        }
    }
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
    pub(super) messages: Arena<Message>,
    /// Next sequence number per key index.
    pub(super) key_seq: Vec<u32>,
    pub(super) next_message_id: u64,
    pub ledger: Ledger,
    pub window: Window,
    pub series: Series,
    pub(super) sample_every: u64,
    /// Most log records all topics may hold at once.
    pub(super) max_records: u64,
    pub(super) stored_records: u64,
    /// One per queue and per topic consumer group.
    pub subscriptions: Vec<Subscription>,
    /// Where each edge leads and what it means, for dead-letter and retry targets.
    pub(super) edges: Vec<(usize, EdgeKind)>,
    /// Faults scheduled in the scenario, then those injected while running, with their times.
    pub faults: Vec<Fault>,
    /// Copies waiting out a retry delay before going back to their queue.
    pub(super) parked: u64,
    /// One link per edge (latency and link faults), and copies on their way along one.
    pub(super) links: Vec<super::link::Link>,
    pub(super) in_transit: u64,
    /// A stable number per producer (from its id), for draws that must not depend on node order.
    pub(super) producer_seeds: Vec<u64>,
    /// Faults due at the current instant, waiting for everything else at it to run.
    pub(super) deferred_faults: Vec<u32>,
    pub(super) flush_scheduled: bool,
    /// Next receipt for a message received from a pull queue.
    pub(super) next_receipt: u32,
    /// Nesting of dead-lettering within the current event, and dead-letterings in the
    /// current cascade (cycles are cut short).
    pub(super) dead_letter_depth: u32,
    pub(super) dead_letter_cascade: u32,
    /// Times the current fault has yielded to other events at its instant.
    pub(super) fault_deferrals: u32,
    /// Set when the run cannot go on (a memory cap was hit); the runner stops and reports it.
    pub failure: Option<String>,
    /// Request/response services, their call edges and their requests.
    pub services: Services,
    /// Message tracing for the lab; `None` (off) unless a front turns it on.
    pub(super) tracer: Option<Box<super::trace::Tracer>>,
    /// Queues dead-lettering a copy right now: the history the copy leaves with, and why.
    /// A copy that would enter a queue in that history is dropped (see `World::send_from`).
    pub(super) dead_lettering: Vec<(super::deaths::History, super::flow::Discard, usize)>,
    /// Scratch: the partitions whose committed offset a commit moved (kept to reuse its room).
    pub(super) moved_partitions: Vec<u32>,
    /// The dead-letter histories of the copies in queues.
    pub(super) deaths: super::deaths::Deaths,
    /// Some producer waits for acknowledgements (publisher confirms): publishes then check
    /// whether a queue refuses them.
    pub(super) any_confirms: bool,
    /// Consumers that publish nothing onwards: where journeys end. With more than one,
    /// each keeps its own end-to-end latency.
    pub sinks: u32,
    /// The time of the event being handled.
    pub(super) now: SimTime,
}

impl World {
    /// Whether queue `q` sends what its TTL expires along a retry edge (the delayed-retry
    /// pattern): its expiries are retries, not losses.
    pub fn retries_on_expiry(&self, q: usize) -> bool {
        self.queues
            .get(q)
            .and_then(|queue| queue.dead_letter)
            .and_then(|e| self.edges.get(e))
            .is_some_and(|&(_, kind)| kind == EdgeKind::Retry)
    }

    /// Number of edges (each has a link).
    pub fn edges_len(&self) -> usize {
        self.links.len()
    }

    /// Wires a world from a checked scenario and schedules its first events. The routing
    /// table may take at most `routing_budget_bytes` (what `limits.max_memory` leaves once
    /// the rest is counted: see [`super::budget`]).
    pub fn build(
        scenario: &Scenario,
        scheduler: &mut Scheduler<Event>,
        routing_budget_bytes: u64,
    ) -> Result<World, String> {
        let mut interner = VariantInterner::default();
        let mut node_refs = Vec::with_capacity(scenario.nodes.len());
        let (mut np, mut ne, mut nq, mut nt, mut nc, mut ns) = (0u32, 0u32, 0u32, 0u32, 0u32, 0u32);
        for node in &scenario.nodes {
            let (counter, make): (&mut u32, fn(u32) -> NodeRef) = match node.kind {
                NodeKind::Producer(_) => (&mut np, NodeRef::Producer),
                NodeKind::Exchange(_) => (&mut ne, NodeRef::Exchange),
                NodeKind::Queue(_) => (&mut nq, NodeRef::Queue),
                NodeKind::Topic(_) => (&mut nt, NodeRef::Topic),
                NodeKind::Consumer(_) => (&mut nc, NodeRef::Consumer),
                NodeKind::Service(_) => (&mut ns, NodeRef::Service),
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
        let mut subscriptions = Vec::new();
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
                        edge: p.edge,
                        arrival: ArrivalProcess::new(p.arrival.clone(), scenario.duration_nanos),
                        keys: KeySampler::new(p.keys),
                        variants,
                        size: p.size_bytes,
                        priority: p.priority,
                        rng: stream(scenario.seed, &node.id),
                        produced: 0,
                        publish_retries: 0,
                        acknowledged_lost: 0,
                        acks: p.acks,
                        retry: p.retry,
                        idempotent: p.idempotent,
                        service: service_of(&node_refs, p.target),
                    });
                }
                NodeKind::Exchange(_) => exchanges.push(ExchangeState {
                    node: index,
                    ..Default::default()
                }),
                NodeKind::Queue(q) => {
                    let mut queue = QueueState::new(
                        index,
                        q.max_priority,
                        q.max_length,
                        q.overflow,
                        q.ttl_nanos,
                    );
                    queue.dead_letter = q.dead_letter;
                    queue.max_deliveries = q.max_deliveries;
                    queue.durable = q.durable;
                    if let crate::scenario::raw::Delivery::Pull {
                        visibility_timeout,
                        max_receive_count,
                    } = q.delivery
                    {
                        queue.visibility_timeout = Some(visibility_timeout.nanos);
                        // SQS redrives a message received more than maxReceiveCount times.
                        queue.max_deliveries = max_receive_count.or(q.max_deliveries);
                    }
                    queue.subscription = subscriptions.len() as u32;
                    let idempotency = q
                        .consumers
                        .iter()
                        .find_map(|&c| match &scenario.nodes.get(c)?.kind {
                            NodeKind::Consumer(spec) => Some(spec.idempotency),
                            _ => None,
                        })
                        .unwrap_or_default();
                    subscriptions.push(Subscription::new(node.id.clone(), idempotency, key_count));
                    queues.push(queue);
                }
                NodeKind::Topic(t) => topics.push(TopicState::new(
                    index,
                    t,
                    key_count,
                    stream(scenario.seed, &node.id),
                )),
                NodeKind::Consumer(_) | NodeKind::Service(_) => {}
            }
        }
        // Consumer outputs that set a routing key rewrite variants. Close the
        // variant set under every rewrite first (a rewritten message may be
        // rewritten again downstream), so each rewrite table covers every variant.
        let rewrite_keys: Vec<&String> = scenario
            .nodes
            .iter()
            .filter_map(|n| match &n.kind {
                NodeKind::Consumer(c) => Some(&c.outputs),
                NodeKind::Service(s) => Some(&s.outputs),
                _ => None,
            })
            .flat_map(|outputs| outputs.iter().filter_map(|o| o.routing_key.as_ref()))
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
        let mut group_subscriptions: Vec<((u32, usize), u32)> = Vec::new();
        for (index, node) in scenario.nodes.iter().enumerate() {
            let NodeKind::Consumer(c) = &node.kind else {
                continue;
            };
            let (source, subscription) = match node_refs.get(c.source) {
                Some(NodeRef::Queue(q)) => (
                    Source::Queue(*q),
                    queues
                        .get(*q as usize)
                        .map_or(0, |queue: &QueueState| queue.subscription),
                ),
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
                    let subscription = group_subscription(
                        &mut subscriptions,
                        &mut group_subscriptions,
                        *t,
                        group_index,
                        || {
                            Subscription::new(
                                format!("{}/{}", scenario.nodes[c.source].id, c.group),
                                c.idempotency,
                                key_count,
                            )
                        },
                    );
                    let source = Source::Topic {
                        topic: *t,
                        group: group_index as u32,
                        member: member as u32,
                    };
                    (source, subscription)
                }
                _ => {
                    return Err(format!(
                        "consumer `{}` reads from something that is not a queue or topic",
                        node.id
                    ));
                }
            };
            let outputs = outputs(&c.outputs, &mut interner, all_variants)?;
            consumers.push(ConsumerState {
                node: index,
                source,
                concurrency: c.concurrency,
                prefetch: match &scenario.nodes.get(c.source).map(|n| &n.kind) {
                    Some(NodeKind::Queue(q))
                        if q.delivery != crate::scenario::raw::Delivery::Push =>
                    {
                        c.concurrency
                    }
                    _ => c.prefetch,
                },
                busy: 0,
                unacked: 0,
                buffer: Default::default(),
                waiting: false,
                next_partition: 0,
                service: ServiceSampler::new(c.service),
                rng: stream(scenario.seed, &node.id),
                outputs,
                commit: c.commit,
                since_commit: 0,
                alive: true,
                faults: Default::default(),
                inbound: c.source_edge,
                last_arrival: 0,
                epoch: 0,
                in_hand: Vec::new(),
                finishing: Vec::new(),
                paused: false,
                transaction: Vec::new(),
                ack: c.ack,
                ack_delay_nanos: c.ack_delay_nanos,
                retry: c.retry,
                failure_probability: c.failure_probability,
                poison_fraction: c.poison_fraction,
                fault_failure: 0.0,
                may_fail: c.failure_probability > 0.0 || c.poison_fraction > 0.0,
                slow_factor: 1.0,
                dead_letter: c.dead_letter,
                retry_to: c.retry_to,
                session_timeout_nanos: c.session_timeout_nanos,
                rebalance_nanos: c.rebalance_nanos,
                auto_offset_reset: c.auto_offset_reset,
                subscription,
                metrics: ConsumerMetrics::default(),
            });
            if let (
                Source::Topic { .. },
                Commit::Interval { every } | Commit::Transactional { every },
            ) = (source, c.commit)
            {
                scheduler.at(
                    every.nanos,
                    Event::Commit {
                        consumer: consumers.len() as u32 - 1,
                    },
                );
            }
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
                let members: Vec<u32> = members.iter().filter_map(|&m| consumer_of(m)).collect();
                let reset = members
                    .first()
                    .and_then(|&m| consumers.get(m as usize))
                    .map_or(crate::scenario::raw::OffsetReset::Earliest, |c| {
                        c.auto_offset_reset
                    });
                let mut group = GroupState::new(name.clone(), members, spec.partitions);
                group.reset = reset;
                topic.groups.push(group);
            }
        }
        let client_targets: Vec<usize> = producers.iter().map(|p| p.target).collect();
        let services = Services::build(scenario, &node_refs, &mut interner, &client_targets)?;
        let routes = interner.into_table(scenario, routing_budget_bytes)?;

        for (index, fault) in scenario.faults.iter().enumerate() {
            scheduler.at(
                fault.at_nanos,
                Event::FaultStart {
                    index: index as u32,
                },
            );
        }
        for (p, producer) in producers.iter_mut().enumerate() {
            if let Some(first) = producer.arrival.first(&mut producer.rng) {
                scheduler.at(first, Event::Produce { producer: p as u32 });
            }
        }
        scheduler.at(scenario.sample_every_nanos, Event::Sample);
        for (t, topic) in topics.iter().enumerate() {
            if topic.has_retention() {
                scheduler.at(
                    topic.retention_check,
                    Event::RetentionCheck { topic: t as u32 },
                );
            }
        }
        if scenario.warmup_nanos > 0 {
            scheduler.at(scenario.warmup_nanos, Event::WarmupEnd);
        }
        let ids: Vec<String> = scenario.nodes.iter().map(|n| n.id.clone()).collect();
        let samples = scenario.duration_nanos / scenario.sample_every_nanos.max(1) + 1;
        let series = Series::new(
            &ids,
            &node_refs,
            usize::try_from(samples).unwrap_or(usize::MAX),
        )?;
        let producer_seeds = producers
            .iter()
            .map(|p| {
                scenario
                    .nodes
                    .get(p.node)
                    .map_or(0, |n| crate::engine::rng::stable_hash(&n.id))
            })
            .collect();
        let any_confirms = producers
            .iter()
            .any(|p| p.acks != crate::scenario::raw::Acks::None);
        let sinks = consumers.iter().filter(|c| c.outputs.is_empty()).count() as u32;
        if sinks > 1 {
            for consumer in consumers.iter_mut().filter(|c| c.outputs.is_empty()) {
                consumer.metrics.latency = Some(Default::default());
            }
        }
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
            subscriptions,
            edges: scenario.edges.iter().map(|e| (e.to, e.kind)).collect(),
            faults: scenario.faults.clone(),
            parked: 0,
            links: scenario
                .edges
                .iter()
                .map(|e| {
                    let id = format!(
                        "{}->{}",
                        scenario.nodes.get(e.from).map_or("", |n| n.id.as_str()),
                        scenario.nodes.get(e.to).map_or("", |n| n.id.as_str())
                    );
                    super::link::Link::new(
                        e.from,
                        e.to,
                        e.latency_nanos,
                        stream(scenario.seed, &id),
                    )
                })
                .collect(),
            in_transit: 0,
            next_receipt: super::queue::RECEIPT_BASE,
            producer_seeds,
            deferred_faults: Vec::new(),
            flush_scheduled: false,
            any_confirms,
            sinks,
            now: 0,
            dead_letter_depth: 0,
            dead_letter_cascade: 0,
            fault_deferrals: 0,
            failure: None,
            services,
            tracer: None,
            dead_lettering: Vec::new(),
            moved_partitions: Vec::new(),
            deaths: Default::default(),
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

    pub(super) fn fail(&mut self, message: String) {
        if self.failure.is_none() {
            self.failure = Some(message);
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
        for topic in &mut self.topics {
            for partition in &mut topic.partitions {
                partition.end_average.set(now, partition.end_offset);
                partition.end_average.reset(now);
            }
            for group in &mut topic.groups {
                for (cursor, partition) in group.cursors.iter_mut().zip(&topic.partitions) {
                    cursor.reset_lag(now, partition);
                }
            }
        }
        for exchange in &mut self.exchanges {
            exchange.received = 0;
            exchange.unroutable = 0;
        }
        for producer in &mut self.producers {
            producer.produced = 0;
        }
        self.services.reset(now);
    }

    fn sample(&mut self, now: SimTime, scheduler: &mut Scheduler<Event>) {
        if self.subscriptions.iter().any(Subscription::out_of_memory) {
            self.fail(
                "the machine gave no more memory to remember which messages were processed: \
                 simulate less time or at lower rates"
                    .into(),
            );
            return;
        }
        let mut series = std::mem::take(&mut self.series);
        series.sample(now, self);
        self.series = series;
        scheduler.after(self.sample_every, Event::Sample);
    }

    /// Recounts the copies in flight from the structures and compares with the ledger.
    /// Dead letters (out of the ledger) and ghosts (forwarded, awaiting their ack) do not count.
    pub fn check_ledger(&self) -> Result<(), String> {
        // The running sums the time series reads a topic's lag from.
        for (t, topic) in self.topics.iter().enumerate() {
            let end: u64 = topic.partitions.iter().map(|p| p.end_offset).sum();
            if end != topic.end_sum {
                return Err(format!(
                    "topic {t}: log ends sum to {end}, kept as {}",
                    topic.end_sum
                ));
            }
            for group in &topic.groups {
                let committed: u64 = group.cursors.iter().map(|c| c.committed).sum();
                if committed != group.committed_sum {
                    return Err(format!(
                        "topic {t}, group {}: committed offsets sum to {committed}, kept as {}",
                        group.name, group.committed_sum
                    ));
                }
            }
        }
        let live = |slot: &Slot| {
            self.messages
                .get(*slot)
                .is_some_and(|m| !m.has(flag::DEAD) && !m.has(flag::GHOST))
        };
        let queued: u64 = self
            .queues
            .iter()
            .flat_map(|q| q.ready.iter().flatten())
            .filter(|s| live(s))
            .count() as u64;
        let mut in_hands = 0u64;
        for consumer in &self.consumers {
            let finishing = consumer.finishing.iter().map(|(slot, _)| slot);
            for &slot in consumer
                .in_hand
                .iter()
                .chain(consumer.buffer.iter())
                .chain(finishing)
            {
                if !live(&slot) {
                    continue;
                }
                // A topic record processed before (fetched again after a rebalance) already ended.
                let counted = match (consumer.source, self.messages.get(slot)) {
                    (Source::Topic { .. }, Some(m))
                        if consumer.ack == crate::scenario::raw::AckMode::BeforeProcessing =>
                    {
                        !m.has(flag::REPLAYED)
                    }
                    (Source::Topic { topic, group, .. }, Some(m)) => !self
                        .topics
                        .get(topic as usize)
                        .and_then(|t| t.groups.get(group as usize))
                        .and_then(|g| g.cursors.get(m.partition as usize))
                        .is_some_and(|c| c.is_complete(m.offset)),
                    _ => true,
                };
                in_hands += u64::from(counted);
            }
        }
        let mut in_logs = 0u64;
        for topic in &self.topics {
            for group in &topic.groups {
                for (partition, cursor) in topic.partitions.iter().zip(&group.cursors) {
                    for offset in cursor.position..partition.end_offset {
                        let dead = partition
                            .record(offset)
                            .is_some_and(|r| r.flags & flag::DEAD != 0);
                        if !dead && !cursor.is_complete(offset) {
                            in_logs += 1;
                        }
                    }
                }
            }
        }
        // Received messages of crashed pull consumers, waiting out their visibility timeout
        // (each has the deadline of its receive; dead letters among them are out of the
        // ledger), and outputs waiting for their transaction.
        let mut orphans = 0u64;
        for queue in &self.queues {
            let (mut held, mut live) = (0u64, 0u64);
            for entry in &queue.invisible {
                if let Some(m) = self.messages.get(entry.slot)
                    && m.hand == super::queue::ORPHAN
                    && m.id == entry.id
                    && m.partition == entry.receipt
                {
                    held += 1;
                    live += u64::from(!m.has(flag::DEAD) && !m.has(flag::GHOST));
                }
            }
            if held != queue.orphans {
                return Err(format!(
                    "queue `{}` counts {} orphans, {held} found waiting out their visibility timeout",
                    self.ids.get(queue.node).map_or("?", String::as_str),
                    queue.orphans
                ));
            }
            orphans += live;
        }
        orphans += self
            .consumers
            .iter()
            .map(|c| c.transaction.len() as u64)
            .sum::<u64>();
        let counted = queued + in_hands + in_logs + self.parked + orphans + self.in_transit;
        let ledger = self.ledger.in_flight();
        if counted != ledger {
            return Err(format!(
                "ledger broken: {ledger} in flight by the counts, {counted} found ({queued} queued, {in_hands} in consumers, {in_logs} in logs, {} parked); {:?}",
                self.parked, self.ledger
            ));
        }
        let created = self.ledger.produced + self.ledger.fanned_out + self.ledger.duplicate_copies;
        let ended = self.ledger.processed + self.ledger.dead_lettered + self.ledger.lost.total();
        if ended > created {
            return Err(format!(
                "more copies ended ({ended}) than were created ({created}): {:?}",
                self.ledger
            ));
        }
        self.services.check()
    }
}

/// The subscription of consumer group `group` of topic `topic`, created on first use.
fn group_subscription(
    subscriptions: &mut Vec<Subscription>,
    known: &mut Vec<((u32, usize), u32)>,
    topic: u32,
    group: usize,
    make: impl FnOnce() -> Subscription,
) -> u32 {
    if let Some((_, index)) = known.iter().find(|(k, _)| *k == (topic, group)) {
        return *index;
    }
    let index = subscriptions.len() as u32;
    subscriptions.push(make());
    known.push(((topic, group), index));
    index
}

impl Model for World {
    type Event = Event;

    #[inline]
    fn handle(&mut self, now: SimTime, event: Event, scheduler: &mut Scheduler<Event>) {
        self.now = now;
        match event {
            Event::Produce { producer } => self.produce(now, producer as usize, scheduler),
            Event::Done {
                consumer,
                slot,
                epoch,
            } => self.done(now, consumer as usize, slot, epoch, scheduler),
            Event::AckArrive {
                consumer,
                slot,
                epoch,
            } => self.ack_arrive(now, consumer as usize, slot, epoch, scheduler),
            Event::Arrive { consumer, epoch } => {
                self.arrive(now, consumer as usize, epoch, scheduler)
            }
            Event::Requeue { queue, slot } => {
                self.requeue_after_delay(now, queue as usize, slot, scheduler)
            }
            Event::Retry {
                consumer,
                slot,
                epoch,
            } => self.retry_in_place(now, consumer as usize, slot, epoch, scheduler),
            Event::Expire { queue } => self.expire(now, queue as usize, scheduler),
            Event::Replicated { topic, partition } => {
                self.replicated(now, topic as usize, partition as usize, scheduler)
            }
            Event::PartitionOnline { topic, partition } => {
                self.partition_online(now, topic as usize, partition as usize, scheduler)
            }
            Event::Transit { edge, slot } => self.transit_done(now, edge as usize, slot, scheduler),
            Event::PublishRetry { producer, slot } => {
                self.publish_retry(now, producer as usize, slot, scheduler)
            }
            Event::Visibility { queue } => self.visibility_expired(now, queue as usize, scheduler),
            Event::Commit { consumer } => self.commit_interval(consumer as usize, scheduler),
            Event::MemberExpired { consumer, epoch } => {
                self.member_expired(now, consumer as usize, epoch, scheduler)
            }
            Event::RebalanceDone { topic, group } => {
                self.rebalance_done(now, topic as usize, group as usize, scheduler)
            }
            Event::FaultStart { index } => self.fault_start(now, index as usize, scheduler),
            Event::FlushFaults => self.flush_faults(now, scheduler),
            Event::FaultEnd { index } => self.fault_end(now, index as usize, scheduler),
            Event::RequestArrive { request, token } => {
                self.request_arrive(now, request, token, scheduler)
            }
            Event::RequestDone { request, token } => {
                self.request_done(now, request, token, scheduler)
            }
            Event::CallAnswer {
                request,
                token,
                outcome,
            } => self.call_answer(now, request, token, outcome, scheduler),
            Event::CallTimeout { request, token } => {
                self.call_timeout(now, request, token, scheduler)
            }
            Event::CallRetry { request, token } => self.call_retry(now, request, token, scheduler),
            Event::Sample => self.sample(now, scheduler),
            Event::RetentionCheck { topic } => {
                self.enforce_retention(now, topic as usize);
                if let Some(check) = self.topics.get(topic as usize).map(|t| t.retention_check) {
                    scheduler.after(check, Event::RetentionCheck { topic });
                }
            }
            Event::WarmupEnd => self.warmup_end(now),
        }
    }

    fn halted(&self) -> bool {
        self.failure.is_some()
    }
}

impl World {
    /// Applies the parameters of `scenario` that can change during a run: producers'
    /// arrival processes (from their next message on) and consumers' processing times,
    /// failure and poison rates and retry policies (from their next message on).
    /// `scenario` must have the same nodes as the one the world was built from; nodes of
    /// another kind at an index are left alone.
    pub fn retune(&mut self, scenario: &Scenario) {
        for producer in &mut self.producers {
            if let Some(NodeKind::Producer(p)) = scenario.nodes.get(producer.node).map(|n| &n.kind)
            {
                producer.arrival.set_arrival(p.arrival.clone());
            }
        }
        for consumer in &mut self.consumers {
            if let Some(NodeKind::Consumer(c)) = scenario.nodes.get(consumer.node).map(|n| &n.kind)
            {
                consumer.service = ServiceSampler::new(c.service);
                consumer.failure_probability = c.failure_probability;
                consumer.poison_fraction = c.poison_fraction;
                consumer.retry = c.retry;
                // An injected failure fault in force still counts.
                consumer.may_fail = consumer.fault_failure > 0.0
                    || c.failure_probability > 0.0
                    || c.poison_fraction > 0.0;
            }
        }
    }
}
