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
use super::routing::{RouteTable, Variant, VariantId, VariantInterner};
use super::sampling::{ArrivalProcess, KeySampler, ServiceSampler};
use super::topic::{GroupState, TopicState};
use crate::engine::arena::{Arena, Slot};
use crate::engine::rng::{Stream, stream};
use crate::engine::{Model, Scheduler, SimTime};
use crate::metrics::LatencyHistogram;
use crate::metrics::series::Series;
use crate::scenario::raw::Commit;
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
    Produce {
        producer: u32,
    },
    Done {
        consumer: u32,
        slot: Slot,
    },
    Expire {
        queue: u32,
    },
    /// A topic consumer's periodic offset commit.
    Commit {
        consumer: u32,
    },
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
    pub(super) arrival: ArrivalProcess,
    pub(super) keys: KeySampler,
    pub(super) variants: Vec<VariantId>,
    pub(super) size: u32,
    pub(super) priority: u8,
    pub(super) rng: Stream,
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
                NodeKind::Service(_) => {
                    return Err(format!(
                        "service `{}`: services are not simulated yet",
                        node.id
                    ));
                }
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
                commit: c.commit,
                since_commit: 0,
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
            Event::Commit { consumer } => self.commit_interval(consumer as usize, scheduler),
            Event::Sample => self.sample(now, scheduler),
            Event::WarmupEnd => self.warmup_end(now),
        }
    }

    fn halted(&self) -> bool {
        self.failure.is_some()
    }
}
