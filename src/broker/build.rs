//! Building: wiring a [`World`] from a checked [`Scenario`] and scheduling its
//! first events. Nothing here runs; the handlers (`flow.rs`, `consume.rs`,
//! `delivery/`, ...) never build.

use super::call::outputs;
use super::consumer::{ConsumerMetrics, ConsumerState, GroupDelivery, QueueDelivery, Source};
use super::error::BuildError;
use super::generation::{Generation, Pending};
use super::index::{ConsumerId, EdgeId, ExchangeId, ProducerId, QueueId, ServiceId, TopicId};
use super::link::Link;
use super::queue::{QueueState, RECEIPT_BASE};
use super::routing::{Variant, VariantInterner};
use super::sampling::{ArrivalProcess, KeySampler, ServiceSampler};
use super::service::{Services, service_of};
use super::subscription::Subscription;
use super::topic::{GroupState, TopicState};
use super::world::{Event, ExchangeState, Ledger, NodeRef, ProducerState, Window, World};
use crate::engine::Scheduler;
use crate::engine::arena::Arena;
use crate::engine::rng::{stable_hash, stream};
use crate::metrics::LatencyHistogram;
use crate::scenario::model::{
    Consumer as ConsumerSpec, Node, Producer as ProducerSpec, Queue as QueueSpec,
};
use crate::scenario::raw::{Acks, Commit, Delivery, OffsetReset};
use crate::scenario::{NodeKind, Scenario};

/// The per-kind state of every node, before the consumers are wired to it.
#[derive(Default)]
struct Nodes {
    producers: Vec<ProducerState>,
    exchanges: Vec<ExchangeState>,
    queues: Vec<QueueState>,
    topics: Vec<TopicState>,
    consumers: Vec<ConsumerState>,
    /// One per queue and per topic consumer group.
    subscriptions: Vec<Subscription>,
    /// The subscription of each (topic, group) made so far.
    group_subscriptions: Vec<((TopicId, usize), u32)>,
}

impl World {
    /// Wires a world from a checked scenario and schedules its first events. The routing
    /// table may take at most `routing_budget_bytes` (what `limits.max_memory` leaves once
    /// the rest is counted: see [`super::budget`]).
    pub fn build(
        scenario: &Scenario,
        scheduler: &mut Scheduler<Event>,
        routing_budget_bytes: u64,
    ) -> Result<World, BuildError> {
        let node_refs = node_refs(scenario);
        let key_count = key_count(scenario);
        let mut interner = VariantInterner::default();
        let mut nodes = Nodes::default();
        for (index, node) in scenario.nodes.iter().enumerate() {
            match &node.kind {
                NodeKind::Producer(p) => {
                    let producer = producer(scenario, index, node, p, &node_refs, &mut interner)?;
                    nodes.producers.push(producer);
                }
                NodeKind::Exchange(_) => nodes.exchanges.push(ExchangeState {
                    node: index,
                    ..Default::default()
                }),
                NodeKind::Queue(q) => {
                    let queue = queue(scenario, index, q, &mut nodes.subscriptions, key_count);
                    nodes.queues.push(queue);
                }
                NodeKind::Topic(t) => nodes.topics.push(TopicState::new(
                    index,
                    t,
                    key_count,
                    stream(scenario.seed, &node.id),
                )),
                NodeKind::Consumer(_) | NodeKind::Service(_) => {}
            }
        }
        close_under_rewrites(scenario, &mut interner)?;
        let all_variants = interner.len();
        for (index, node) in scenario.nodes.iter().enumerate() {
            if let NodeKind::Consumer(c) = &node.kind {
                let source = nodes.source_of(scenario, &node_refs, index, c, key_count)?;
                let outputs = outputs(&c.outputs, &mut interner, all_variants)?;
                let consumer = consumer(scenario, index, node, c, source, outputs);
                if let (Source::Topic(_), Commit::Interval { every })
                | (Source::Topic(_), Commit::Transactional { every }) =
                    (consumer.source, c.commit)
                {
                    let consumer = ConsumerId::from(nodes.consumers.len());
                    scheduler.at(every.nanos, Event::Commit { consumer });
                }
                nodes.consumers.push(consumer);
            }
        }
        nodes.wire_members(scenario, &node_refs);
        let client_targets: Vec<usize> = nodes.producers.iter().map(|p| p.target).collect();
        let services = Services::build(scenario, &node_refs, &mut interner, &client_targets)?;
        let routes = interner.into_table(scenario, routing_budget_bytes)?;
        schedule_first_events(scenario, scheduler, &mut nodes);
        let ids: Vec<String> = scenario.nodes.iter().map(|n| n.id.clone()).collect();
        Ok(assemble(
            scenario, nodes, ids, node_refs, routes, services, key_count,
        ))
    }
}

/// Each node's index among the nodes of its kind.
fn node_refs(scenario: &Scenario) -> Vec<NodeRef> {
    let mut counts = [0u32; 6];
    scenario
        .nodes
        .iter()
        .map(|node| {
            let (kind, make): (usize, fn(u32) -> NodeRef) = match node.kind {
                NodeKind::Producer(_) => (0, |i| NodeRef::Producer(ProducerId::from(i as usize))),
                NodeKind::Exchange(_) => (1, |i| NodeRef::Exchange(ExchangeId::from(i as usize))),
                NodeKind::Queue(_) => (2, |i| NodeRef::Queue(QueueId::from(i as usize))),
                NodeKind::Topic(_) => (3, |i| NodeRef::Topic(TopicId::from(i as usize))),
                NodeKind::Consumer(_) => (4, |i| NodeRef::Consumer(ConsumerId::from(i as usize))),
                NodeKind::Service(_) => (5, |i| NodeRef::Service(ServiceId::from(i as usize))),
            };
            counts[kind] += 1;
            make(counts[kind] - 1)
        })
        .collect()
}

/// The most keys any producer draws from (per-key state is sized by it).
fn key_count(scenario: &Scenario) -> u32 {
    scenario
        .nodes
        .iter()
        .filter_map(|n| match &n.kind {
            NodeKind::Producer(p) => Some(p.keys.count()),
            _ => None,
        })
        .max()
        .unwrap_or(0)
}

fn producer(
    scenario: &Scenario,
    index: usize,
    node: &Node,
    p: &ProducerSpec,
    node_refs: &[NodeRef],
    interner: &mut VariantInterner,
) -> Result<ProducerState, BuildError> {
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
    Ok(ProducerState {
        node: index,
        target: p.target,
        edge: p.edge.into(),
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
        service: service_of(node_refs, p.target),
    })
}

fn queue(
    scenario: &Scenario,
    index: usize,
    q: &QueueSpec,
    subscriptions: &mut Vec<Subscription>,
    key_count: u32,
) -> QueueState {
    let mut queue = QueueState::new(index, q.max_priority, q.max_length, q.overflow, q.ttl_nanos);
    queue.dead_letter = q.dead_letter.map(EdgeId::from);
    queue.max_deliveries = q.max_deliveries;
    queue.durable = q.durable;
    if let Delivery::Pull {
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
    let id = scenario
        .nodes
        .get(index)
        .map_or_else(String::new, |n| n.id.clone());
    subscriptions.push(Subscription::new(id, idempotency, key_count));
    queue
}

/// Consumer outputs that set a routing key rewrite variants. Closes the variant set under
/// every rewrite (a rewritten message may be rewritten again downstream), so each rewrite
/// table covers every variant.
fn close_under_rewrites(
    scenario: &Scenario,
    interner: &mut VariantInterner,
) -> Result<(), BuildError> {
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
    Ok(())
}

impl Nodes {
    /// Where consumer node `index` reads from, and its subscription (the queue's, or its
    /// group's, made on first use).
    fn source_of(
        &mut self,
        scenario: &Scenario,
        node_refs: &[NodeRef],
        index: usize,
        c: &ConsumerSpec,
        key_count: u32,
    ) -> Result<(Source, u32), BuildError> {
        match node_refs.get(c.source) {
            Some(NodeRef::Queue(q)) => Ok((
                Source::Queue(QueueDelivery { q: *q }),
                self.queues
                    .get(q.index())
                    .map_or(0, |queue| queue.subscription),
            )),
            Some(NodeRef::Topic(t)) => {
                let NodeKind::Topic(spec) = &scenario.nodes[c.source].kind else {
                    return Err(BuildError::UncheckedTopic);
                };
                let group = spec
                    .groups
                    .iter()
                    .position(|(name, _)| *name == c.group)
                    .ok_or(BuildError::UncheckedGroup)?;
                let member = spec.groups[group]
                    .1
                    .iter()
                    .position(|&m| m == index)
                    .ok_or(BuildError::UncheckedMember)?;
                let subscription = self.group_subscription(*t, group, || {
                    let id = format!("{}/{}", scenario.nodes[c.source].id, c.group);
                    Subscription::new(id, c.idempotency, key_count)
                });
                let source = Source::Topic(GroupDelivery {
                    topic: *t,
                    group,
                    member,
                });
                Ok((source, subscription))
            }
            _ => Err(BuildError::UncheckedSource {
                consumer: scenario.nodes[index].id.clone(),
            }),
        }
    }

    /// The subscription of consumer group `group` of topic `topic`, created on first use.
    fn group_subscription(
        &mut self,
        topic: TopicId,
        group: usize,
        make: impl FnOnce() -> Subscription,
    ) -> u32 {
        let known = &mut self.group_subscriptions;
        if let Some((_, index)) = known.iter().find(|(k, _)| *k == (topic, group)) {
            return *index;
        }
        let index = self.subscriptions.len() as u32;
        self.subscriptions.push(make());
        known.push(((topic, group), index));
        index
    }

    /// Fills queues' waiting lists and topics' groups with their consumers.
    fn wire_members(&mut self, scenario: &Scenario, node_refs: &[NodeRef]) {
        let consumer_of = |node: usize| match node_refs.get(node) {
            Some(NodeRef::Consumer(c)) => Some(*c),
            _ => None,
        };
        for queue in &mut self.queues {
            let NodeKind::Queue(spec) = &scenario.nodes[queue.node].kind else {
                continue;
            };
            for c in spec.consumers.iter().filter_map(|&m| consumer_of(m)) {
                queue.waiting.push_back(c);
                if let Some(state) = self.consumers.get_mut(c.index()) {
                    state.waiting = true;
                }
            }
        }
        for topic in &mut self.topics {
            let NodeKind::Topic(spec) = &scenario.nodes[topic.node].kind else {
                continue;
            };
            for (name, members) in &spec.groups {
                let members: Vec<ConsumerId> =
                    members.iter().filter_map(|&m| consumer_of(m)).collect();
                let reset = members
                    .first()
                    .and_then(|&m| self.consumers.get(m.index()))
                    .map_or(OffsetReset::Earliest, |c| c.auto_offset_reset);
                let mut group = GroupState::new(name.clone(), members, spec.partitions);
                group.reset = reset;
                topic.groups.push(group);
            }
        }
    }
}

fn consumer(
    scenario: &Scenario,
    index: usize,
    node: &Node,
    c: &ConsumerSpec,
    (source, subscription): (Source, u32),
    outputs: Vec<super::consumer::Output>,
) -> ConsumerState {
    // A pull consumer receives only what it can process at once.
    let prefetch = match &scenario.nodes.get(c.source).map(|n| &n.kind) {
        Some(NodeKind::Queue(q)) if q.delivery != Delivery::Push => c.concurrency,
        _ => c.prefetch,
    };
    ConsumerState {
        node: index,
        source,
        concurrency: c.concurrency,
        prefetch,
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
        down_since: 0,
        faults: Default::default(),
        inbound: c.source_edge.into(),
        last_arrival: 0,
        generation: Generation::default(),
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
        dead_letter: c.dead_letter.map(EdgeId::from),
        retry_to: c.retry_to.map(EdgeId::from),
        session_timeout_nanos: c.session_timeout_nanos,
        rebalance_nanos: c.rebalance_nanos,
        auto_offset_reset: c.auto_offset_reset,
        subscription,
        metrics: ConsumerMetrics::default(),
    }
}

/// Faults, first productions, sampling, retention checks and the end of the warm-up.
fn schedule_first_events(scenario: &Scenario, scheduler: &mut Scheduler<Event>, nodes: &mut Nodes) {
    for (index, fault) in scenario.faults.iter().enumerate() {
        let index = index as u32;
        scheduler.at(fault.at_nanos, Event::FaultStart { index });
    }
    for (p, producer) in nodes.producers.iter_mut().enumerate() {
        if let Some(first) = producer.arrival.first(&mut producer.rng) {
            let producer = ProducerId::from(p);
            scheduler.at(first, Event::Produce { producer });
        }
    }
    scheduler.at(scenario.sample_every_nanos, Event::Sample);
    for (t, topic) in nodes.topics.iter().enumerate() {
        if topic.has_retention() {
            scheduler.at(
                topic.retention_check,
                Event::RetentionCheck {
                    topic: TopicId::from(t),
                },
            );
        }
    }
    if scenario.warmup_nanos > 0 {
        scheduler.at(scenario.warmup_nanos, Event::WarmupEnd);
    }
}

/// The world from its parts, with everything that starts empty.
#[allow(clippy::too_many_arguments)]
fn assemble(
    scenario: &Scenario,
    mut nodes: Nodes,
    ids: Vec<String>,
    node_refs: Vec<NodeRef>,
    routes: super::routing::RouteTable,
    services: Services,
    key_count: u32,
) -> World {
    let producer_seeds = nodes
        .producers
        .iter()
        .map(|p| scenario.nodes.get(p.node).map_or(0, |n| stable_hash(&n.id)))
        .collect();
    let any_confirms = nodes.producers.iter().any(|p| p.acks != Acks::None);
    // With more than one consumer where journeys end, each keeps its own latency.
    let sinks = nodes
        .consumers
        .iter()
        .filter(|c| c.outputs.is_empty())
        .count() as u32;
    if sinks > 1 {
        for consumer in nodes.consumers.iter_mut().filter(|c| c.outputs.is_empty()) {
            consumer.metrics.latency = Some(Default::default());
        }
    }
    World {
        ids,
        node_refs,
        producers: nodes.producers.into(),
        exchanges: nodes.exchanges.into(),
        queues: nodes.queues.into(),
        topics: nodes.topics.into(),
        consumers: nodes.consumers.into(),
        routes,
        messages: Arena::with_cap(scenario.max_in_flight as usize),
        key_seq: vec![0; key_count as usize],
        next_message_id: 0,
        ids_forgotten_below: 0,
        next_forget: 0,
        ledger: Ledger::default(),
        window: Window {
            start: 0,
            produced: 0,
            processed: 0,
            latency: LatencyHistogram::default(),
        },
        interval_latency: Some(LatencyHistogram::with_precision(2)),
        sample_every: scenario.sample_every_nanos,
        sample_due: false,
        stop: false,
        max_records: scenario.max_in_flight,
        stored_records: 0,
        subscriptions: nodes.subscriptions,
        edges: scenario.edges.iter().map(|e| (e.to, e.kind)).collect(),
        faults: scenario.faults.clone(),
        parked: 0,
        links: links(scenario).into(),
        in_transit: 0,
        next_receipt: RECEIPT_BASE,
        producer_seeds,
        deferred_faults: Vec::new(),
        fault_flush: Pending::default(),
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
    }
}

/// One link per edge, each with its own random stream (from the edge's ends).
fn links(scenario: &Scenario) -> Vec<Link> {
    scenario
        .edges
        .iter()
        .map(|e| {
            let id = format!(
                "{}->{}",
                scenario.nodes.get(e.from).map_or("", |n| n.id.as_str()),
                scenario.nodes.get(e.to).map_or("", |n| n.id.as_str())
            );
            Link::new(e.from, e.to, e.latency_nanos, stream(scenario.seed, &id))
        })
        .collect()
}
