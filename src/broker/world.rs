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

use typed_index_collections::TiVec;

use super::consumer::ConsumerState;
use super::delivery::Delivery;
use super::error::{Failure, LedgerError};
use super::generation::Pending;
use super::index::{ConsumerId, EdgeId, ExchangeId, ProducerId, QueueId, ServiceId, TopicId};
use super::queue::QueueState;
use super::routing::{RouteTable, VariantId};
use super::sampling::{ArrivalProcess, KeySampler, ServiceSampler};
use super::service::Services;
use super::subscription::Subscription;
use super::topic::TopicState;
use crate::engine::arena::{Arena, Slot};
use crate::engine::rng::Stream;
use crate::engine::{Model, Scheduler, SimTime};
use crate::metrics::LatencyHistogram;
use crate::scenario::raw::EdgeKind;
use crate::scenario::{Fault, Kind, NodeKind, Scenario};

pub use super::ledger::{Ledger, Lost};
pub use super::message::{Event, Message, flag};

pub struct ProducerState {
    pub node: usize,
    pub target: usize,
    /// The edge to `target` (its link).
    pub edge: EdgeId,
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
    pub service: Option<ServiceId>,
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
    Producer(ProducerId),
    Exchange(ExchangeId),
    Queue(QueueId),
    Topic(TopicId),
    Consumer(ConsumerId),
    Service(ServiceId),
}

impl NodeRef {
    /// What kind of node it is.
    pub fn kind(self) -> Kind {
        match self {
            NodeRef::Producer(_) => Kind::Producer,
            NodeRef::Exchange(_) => Kind::Exchange,
            NodeRef::Queue(_) => Kind::Queue,
            NodeRef::Topic(_) => Kind::Topic,
            NodeRef::Consumer(_) => Kind::Consumer,
            NodeRef::Service(_) => Kind::Service,
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

/// The model. Its fields are the broker's own: the layers above read it through
/// [`super::view`].
pub struct World {
    pub(super) ids: Vec<String>,
    pub(super) node_refs: Vec<NodeRef>,
    pub(super) producers: TiVec<ProducerId, ProducerState>,
    pub(super) exchanges: TiVec<ExchangeId, ExchangeState>,
    pub(super) queues: TiVec<QueueId, QueueState>,
    pub(super) topics: TiVec<TopicId, TopicState>,
    pub(super) consumers: TiVec<ConsumerId, ConsumerState>,
    pub(super) routes: RouteTable,
    pub(super) messages: Arena<Message>,
    /// Next sequence number per key index.
    pub(super) key_seq: Vec<u32>,
    pub(super) next_message_id: u64,
    /// Subscriptions have forgotten the ids below this one (no copy of them is left), and
    /// forget again once `next_message_id` reaches `next_forget`.
    pub(super) ids_forgotten_below: u64,
    pub(super) next_forget: u64,
    pub(super) ledger: Ledger,
    pub(super) window: Window,
    /// End-to-end latencies of the current sample interval, for the time series'
    /// quantiles; `None` when a front asks for no latency series.
    pub(super) interval_latency: Option<LatencyHistogram>,
    pub(super) sample_every: u64,
    /// A sample of the time series is due: the run, which keeps the series, takes it
    /// (see [`World::sample_due`]) before the next event.
    pub(super) sample_due: bool,
    /// The engine stops after the current event: the run failed, or a sample is due.
    pub(super) stop: bool,
    /// Most log records all topics may hold at once.
    pub(super) max_records: u64,
    pub(super) stored_records: u64,
    /// One per queue and per topic consumer group.
    pub(super) subscriptions: Vec<Subscription>,
    /// Where each edge leads and what it means, for dead-letter and retry targets.
    pub(super) edges: TiVec<EdgeId, (usize, EdgeKind)>,
    /// Faults scheduled in the scenario, then those injected while running, with their times.
    pub(super) faults: Vec<Fault>,
    /// Copies waiting out a retry delay before going back to their queue.
    pub(super) parked: u64,
    /// One link per edge (latency and link faults), and copies on their way along one.
    pub(super) links: TiVec<EdgeId, super::link::Link>,
    pub(super) in_transit: u64,
    /// A stable number per producer (from its id), for draws that must not depend on node order.
    pub(super) producer_seeds: Vec<u64>,
    /// Faults due at the current instant, waiting for everything else at it to run.
    pub(super) deferred_faults: Vec<u32>,
    /// Their flush (`Event::FlushFaults`), pending or not.
    pub(super) fault_flush: Pending,
    /// Next receipt for a message received from a pull queue.
    pub(super) next_receipt: u32,
    /// Nesting of dead-lettering within the current event, and dead-letterings in the
    /// current cascade (cycles are cut short).
    pub(super) dead_letter_depth: u32,
    pub(super) dead_letter_cascade: u32,
    /// Times the current fault has yielded to other events at its instant.
    pub(super) fault_deferrals: u32,
    /// Set when the run cannot go on (a memory cap was hit); the runner stops and reports it.
    pub(super) failure: Option<Failure>,
    /// Request/response services, their call edges and their requests.
    pub(super) services: Services,
    /// Message tracing for the lab; `None` (off) unless a front turns it on.
    pub(super) tracer: Option<Box<super::trace::Tracer>>,
    /// Queues dead-lettering a copy right now: the history the copy leaves with, and why.
    /// A copy that would enter a queue in that history is dropped (see `World::send_from`).
    pub(super) dead_lettering: Vec<(super::deaths::History, super::flow::Discard, QueueId)>,
    /// Scratch: the partitions whose committed offset a commit moved (kept to reuse its room).
    pub(super) moved_partitions: Vec<u32>,
    /// The dead-letter histories of the copies in queues.
    pub(super) deaths: super::deaths::Deaths,
    /// Some producer waits for acknowledgements (publisher confirms): publishes then check
    /// whether a queue refuses them.
    pub(super) any_confirms: bool,
    /// Consumers that publish nothing onwards: where journeys end. With more than one,
    /// each keeps its own end-to-end latency.
    pub(super) sinks: u32,
    /// The time of the event being handled.
    pub(super) now: SimTime,
}

impl World {
    /// Whether queue `q` sends what its TTL expires along a retry edge (the delayed-retry
    /// pattern): its expiries are retries, not losses.
    pub fn retries_on_expiry(&self, q: QueueId) -> bool {
        self.queues
            .get(q)
            .and_then(|queue| queue.dead_letter)
            .and_then(|e| self.edges.get(e))
            .is_some_and(|&(_, kind)| kind == EdgeKind::Retry)
    }

    /// The message copy in `slot` (queued or in a consumer's hands).
    pub fn message(&self, slot: Slot) -> Option<&Message> {
        self.messages.get(slot)
    }

    /// Most message copies in the arena at once.
    pub fn messages_high_water(&self) -> usize {
        self.messages.high_water()
    }

    pub(super) fn fail(&mut self, failure: Failure) {
        if self.failure.is_none() {
            self.failure = Some(failure);
        }
        self.stop = true;
    }

    /// Whether the engine stopped for a sample of the time series, which is to be taken
    /// now, before the next event (then [`World::sample_taken`]).
    pub fn sample_due(&self) -> bool {
        self.sample_due
    }

    /// The sample is taken: the next interval's latencies start afresh, and the run goes on.
    pub fn sample_taken(&mut self) {
        if let Some(interval) = &mut self.interval_latency {
            interval.reset();
        }
        self.sample_due = false;
        self.stop = self.failure.is_some();
    }

    /// Turns the interval latencies of the time series on or off (on by default).
    pub fn set_interval_latency(&mut self, on: bool) {
        match (on, self.interval_latency.is_some()) {
            (true, false) => self.interval_latency = Some(LatencyHistogram::with_precision(2)),
            (false, true) => self.interval_latency = None,
            _ => {}
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

    fn sample(&mut self, scheduler: &mut Scheduler<Event>) {
        if self.subscriptions.iter().any(Subscription::out_of_memory) {
            self.fail(Failure::NoMemoryForIds);
            return;
        }
        // The engine stops after this event, and the run reads the world for its series.
        self.sample_due = true;
        self.stop = true;
        scheduler.after(self.sample_every, Event::Sample);
    }

    /// Recounts the copies in flight from the structures and compares with the ledger.
    /// Dead letters (out of the ledger) and ghosts (forwarded, awaiting their ack) do not count.
    /// Each delivery model recounts what its sources hold (`delivery::recount`).
    pub fn check_ledger(&self) -> Result<(), LedgerError> {
        let in_sources = super::delivery::recount(self)?;
        if self.lowest_live_id() < self.ids_forgotten_below {
            return Err(LedgerError::ForgottenId {
                live: self.lowest_live_id(),
                below: self.ids_forgotten_below,
            });
        }
        let mut in_hands = 0u64;
        for consumer in &self.consumers {
            let model = consumer.source;
            let finishing = consumer.finishing.iter().map(|(slot, _)| slot);
            for &slot in consumer
                .in_hand
                .iter()
                .chain(consumer.buffer.iter())
                .chain(finishing)
            {
                if let Some(m) = self.messages.get(slot)
                    && !m.has(flag::DEAD)
                    && !m.has(flag::GHOST)
                {
                    in_hands += u64::from(model.counted_in_hand(self, consumer, m));
                }
            }
        }
        let counted = in_sources + in_hands + self.parked + self.in_transit;
        let ledger = self.ledger.in_flight();
        if counted != ledger {
            return Err(LedgerError::InFlight {
                found: counted,
                in_sources,
                in_hands,
                parked: self.parked,
                ledger: Box::new(self.ledger),
            });
        }
        let created = self.ledger.produced + self.ledger.fanned_out + self.ledger.duplicate_copies;
        let ended = self.ledger.processed + self.ledger.dead_lettered + self.ledger.lost.total();
        if ended > created {
            return Err(LedgerError::MoreEnded {
                ended,
                created,
                ledger: Box::new(self.ledger),
            });
        }
        self.services.check()
    }
}

impl Model for World {
    type Event = Event;

    #[inline]
    fn handle(&mut self, now: SimTime, event: Event, scheduler: &mut Scheduler<Event>) {
        self.now = now;
        match event {
            Event::Produce { producer } => self.produce(now, producer, scheduler),
            Event::Done {
                consumer,
                slot,
                generation,
            } => self.done(now, consumer, slot, generation, scheduler),
            Event::AckArrive {
                consumer,
                slot,
                generation,
            } => self.ack_arrive(now, consumer, slot, generation, scheduler),
            Event::Arrive {
                consumer,
                generation,
            } => self.arrive(now, consumer, generation, scheduler),
            Event::Requeue { queue, slot } => self.requeue_after_delay(now, queue, slot, scheduler),
            Event::Retry {
                consumer,
                slot,
                generation,
            } => self.retry_in_place(now, consumer, slot, generation, scheduler),
            Event::Expire { queue, generation } => self.expire(now, queue, generation, scheduler),
            Event::Replicated { topic, partition } => {
                self.replicated(now, topic, partition as usize, scheduler)
            }
            Event::PartitionOnline { topic, partition } => {
                self.partition_online(now, topic, partition as usize, scheduler)
            }
            Event::Transit { edge, slot } => self.transit_done(now, edge, slot, scheduler),
            Event::PublishRetry { producer, slot } => {
                self.publish_retry(now, producer, slot, scheduler)
            }
            Event::Visibility { queue, generation } => {
                self.visibility_expired(now, queue, generation, scheduler)
            }
            Event::Commit { consumer } => self.commit_interval(consumer, scheduler),
            Event::MemberExpired {
                consumer,
                generation,
            } => self.member_expired(now, consumer, generation, scheduler),
            Event::RebalanceDone {
                topic,
                group,
                generation,
            } => self.rebalance_done(now, topic, group as usize, generation, scheduler),
            Event::FaultStart { index } => self.fault_start(now, index as usize, scheduler),
            Event::FlushFaults { generation } => self.flush_faults(now, generation, scheduler),
            Event::FaultEnd { index } => self.fault_end(now, index as usize, scheduler),
            Event::RequestArrive {
                request,
                generation,
            } => self.request_arrive(now, request, generation, scheduler),
            Event::RequestDone {
                request,
                generation,
            } => self.request_done(now, request, generation, scheduler),
            Event::CallAnswer {
                request,
                generation,
                outcome,
            } => self.call_answer(now, request, generation, outcome, scheduler),
            Event::CallTimeout {
                request,
                generation,
            } => self.call_timeout(now, request, generation, scheduler),
            Event::CallRetry {
                request,
                generation,
            } => self.call_retry(now, request, generation, scheduler),
            Event::Sample => self.sample(scheduler),
            Event::RetentionCheck { topic } => {
                self.enforce_retention(now, topic);
                if let Some(check) = self.topics.get(topic).map(|t| t.retention_check) {
                    scheduler.after(check, Event::RetentionCheck { topic });
                }
            }
            Event::WarmupEnd => self.warmup_end(now),
        }
    }

    /// The run failed, or a sample is due (one flag: one test per event).
    fn halted(&self) -> bool {
        self.stop
    }

    /// Sampling the time series only observes.
    #[inline]
    fn observes(event: &Event) -> bool {
        matches!(event, Event::Sample)
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
