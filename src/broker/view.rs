//! The read API: what the layers above the broker (the report, the lab, the tests) read
//! of a [`World`]. `World`'s fields are private to the broker; outside it a world answers
//! through these methods, with plain figures (counts, the instruments of `metrics`) and
//! read-only views of one node that borrow the world. Nothing here changes the world or
//! allocates; a view's figures that scan other nodes (a queue's redeliveries, a group's
//! members) are computed only when asked.

use super::consumer::{ConsumerMetrics, ConsumerState, Source};
use super::error::Failure;
use super::group::GroupState;
use super::index::{ConsumerId, ExchangeId, ProducerId, QueueId, ServiceId, TopicId};
use super::ledger::Ledger;
use super::queue::{QueueMetrics, QueueState};
use super::request::ClientStats;
use super::service::{ServiceMetrics, ServiceState};
use super::subscription::{Reordered, Subscription};
use super::topic::{Partition, TopicState};
use super::world::{NodeRef, Window, World};
use crate::engine::SimTime;
use crate::engine::arena::Slot;
use crate::metrics::LatencyHistogram;
use crate::scenario::Fault;
use crate::scenario::raw::AckMode;

/// A producer's whole-run counts (`produced` restarts at the end of the warm-up).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProducerFigures {
    pub produced: u64,
    pub publish_retries: u64,
    pub acknowledged_lost: u64,
}

/// What an exchange routed since the warm-up, and what it could not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExchangeFigures {
    pub received: u64,
    pub unroutable: u64,
}

/// What a subscription (a queue's, or a topic group's) counted per message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Effects {
    /// Effects applied again to a message already processed.
    pub duplicates: u64,
    /// Redeliveries an idempotent consumer recognised and skipped.
    pub deduplicated: u64,
    pub reordered: Reordered,
}

impl Effects {
    fn of(sub: &Subscription) -> Effects {
        Effects {
            duplicates: sub.duplicates,
            deduplicated: sub.deduplicated,
            reordered: sub.reordered,
        }
    }

    fn add(mut self, other: Effects) -> Effects {
        self.duplicates += other.duplicates;
        self.deduplicated += other.deduplicated;
        let (r, o) = (&mut self.reordered, other.reordered);
        r.requeue += o.requeue;
        r.retry += o.retry;
        r.rebalance += o.rebalance;
        r.concurrency += o.concurrency;
        self
    }
}

impl World {
    /// Every node's id, in node order.
    pub fn ids(&self) -> &[String] {
        &self.ids
    }

    /// Node `node`'s id (empty for an index out of range).
    pub fn id(&self, node: usize) -> &str {
        self.ids.get(node).map_or("", String::as_str)
    }

    /// Where each node lives among the nodes of its kind, in node order.
    pub fn node_refs(&self) -> &[NodeRef] {
        &self.node_refs
    }

    /// The whole-run counts that account for every copy.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// The statistics that restart at the end of the warm-up.
    pub fn window(&self) -> &Window {
        &self.window
    }

    /// Why the run cannot go on, once it cannot (a memory cap was hit).
    pub fn failure(&self) -> Option<&Failure> {
        self.failure.as_ref()
    }

    /// Every fault of the run so far: the scenario's, then those injected, in time order.
    pub fn faults(&self) -> &[Fault] {
        &self.faults
    }

    /// Consumers that publish nothing onwards: where journeys end.
    pub fn sinks(&self) -> u32 {
        self.sinks
    }

    pub fn producer(&self, i: ProducerId) -> Option<ProducerFigures> {
        self.producers.get(i).map(|p| ProducerFigures {
            produced: p.produced,
            publish_retries: p.publish_retries,
            acknowledged_lost: p.acknowledged_lost,
        })
    }

    pub fn exchange(&self, i: ExchangeId) -> Option<ExchangeFigures> {
        self.exchanges.get(i).map(|e| ExchangeFigures {
            received: e.received,
            unroutable: e.unroutable,
        })
    }

    pub fn queue(&self, i: QueueId) -> Option<QueueView<'_>> {
        let state = self.queues.get(i)?;
        Some(QueueView {
            world: self,
            index: i,
            state,
        })
    }

    /// Every queue, in queue order.
    pub fn queues(&self) -> impl Iterator<Item = QueueView<'_>> {
        self.queues.keys().filter_map(|i| self.queue(i))
    }

    pub fn topic(&self, i: TopicId) -> Option<TopicView<'_>> {
        let state = self.topics.get(i)?;
        Some(TopicView { world: self, state })
    }

    /// Every topic, in topic order.
    pub fn topics(&self) -> impl Iterator<Item = TopicView<'_>> {
        self.topics
            .iter()
            .map(|state| TopicView { world: self, state })
    }

    pub fn consumer(&self, i: ConsumerId) -> Option<ConsumerView<'_>> {
        let state = self.consumers.get(i)?;
        Some(ConsumerView {
            world: self,
            index: i,
            state,
        })
    }

    /// Every consumer, in consumer order.
    pub fn consumers(&self) -> impl Iterator<Item = ConsumerView<'_>> {
        self.consumers.keys().filter_map(|i| self.consumer(i))
    }

    pub fn service(&self, i: ServiceId) -> Option<ServiceView<'_>> {
        let state = self.services.nodes.get(i)?;
        Some(ServiceView { world: self, state })
    }

    /// What every subscription counted, summed.
    pub fn effects(&self) -> Effects {
        self.subscriptions
            .iter()
            .map(Effects::of)
            .fold(Effects::default(), Effects::add)
    }

    /// Processing attempts by every consumer over the whole run.
    pub fn attempts(&self) -> u64 {
        self.consumers
            .iter()
            .map(|c| c.metrics.lifetime_attempts)
            .sum()
    }

    /// The requests of every client, summed; `None` when no producer sends requests.
    pub fn all_clients(&self) -> Option<&ClientStats> {
        self.services
            .clients
            .iter()
            .any(Option::is_some)
            .then_some(&self.services.total)
    }

    /// The requests producer `i` sent, when it sends to a service.
    pub fn client(&self, i: ProducerId) -> Option<&ClientStats> {
        self.services
            .clients
            .get(i.index())
            .and_then(Option::as_ref)
    }

    /// Copies dead-lettered along edges leaving node `node` (whole run): what a queue sent
    /// to its dead-letter target, or a consumer to its own.
    pub fn dead_lettered_from(&self, node: usize) -> u64 {
        self.links
            .iter()
            .filter(|link| link.from == node)
            .map(|link| link.dead_lettered)
            .sum()
    }

    /// The end-to-end latencies of the current sample interval; `None` when latency
    /// series are off.
    pub fn interval_latency(&self) -> Option<&LatencyHistogram> {
        self.interval_latency.as_ref()
    }
}

/// One queue, read-only.
#[derive(Clone, Copy)]
pub struct QueueView<'a> {
    world: &'a World,
    index: QueueId,
    state: &'a QueueState,
}

impl<'a> QueueView<'a> {
    pub fn id(&self) -> &'a str {
        self.world.id(self.state.node)
    }

    /// Copies ready for delivery.
    pub fn ready(&self) -> u64 {
        self.state.ready_len
    }

    /// Delivered, not yet acknowledged.
    pub fn unacked(&self) -> u64 {
        self.state.unacked
    }

    /// Unacknowledged copies no live consumer holds (a pull queue's crashed receivers').
    pub fn orphans(&self) -> u64 {
        self.state.orphans
    }

    /// The ids of the copies waiting at `priority`, in delivery order.
    pub fn ready_ids(&self, priority: usize) -> impl Iterator<Item = u64> + 'a {
        let world = self.world;
        self.state
            .ready
            .get(priority)
            .into_iter()
            .flatten()
            .filter_map(move |&slot: &Slot| world.message(slot).map(|m| m.id))
    }

    /// Whether its broker is up.
    pub fn online(&self) -> bool {
        self.state.online
    }

    /// Copies lost at this queue or in its consumers' hands (whole run).
    pub fn lost(&self) -> u64 {
        self.state.lost
    }

    pub fn metrics(&self) -> &'a QueueMetrics {
        &self.state.metrics
    }

    /// What its subscription counted.
    pub fn effects(&self) -> Effects {
        let subs = &self.world.subscriptions;
        subs.get(self.state.subscription as usize)
            .map(Effects::of)
            .unwrap_or_default()
    }

    /// Deliveries to its consumers that were redeliveries (whole run; scans the consumers).
    pub fn redelivered(&self) -> u64 {
        self.world
            .consumers()
            .filter(|c| c.queue() == Some(self.index))
            .map(|c| c.metrics().redelivered)
            .sum()
    }

    /// Whether what its TTL expires goes along a retry edge: expiries that are retries.
    pub fn retries_on_expiry(&self) -> bool {
        self.world.retries_on_expiry(self.index)
    }
}

/// One topic, read-only.
#[derive(Clone, Copy)]
pub struct TopicView<'a> {
    world: &'a World,
    state: &'a TopicState,
}

impl<'a> TopicView<'a> {
    pub fn id(&self) -> &'a str {
        self.world.id(self.state.node)
    }

    /// Records appended since the warm-up.
    pub fn appended(&self) -> u64 {
        self.state.appended
    }

    pub fn partitions(&self) -> impl Iterator<Item = PartitionView<'a>> + 'a {
        self.state
            .partitions
            .iter()
            .map(|state| PartitionView { state })
    }

    pub fn groups(&self) -> impl Iterator<Item = GroupView<'a>> + 'a {
        let topic = *self;
        self.state
            .groups
            .iter()
            .map(move |state| GroupView { topic, state })
    }

    /// Lag summed over groups and partitions, from the running sums (O(groups)).
    pub fn lag(&self) -> u64 {
        let end = self.state.end_sum;
        self.state.groups.iter().map(|g| g.lag(end)).sum()
    }
}

/// One partition of a topic's log, read-only.
#[derive(Clone, Copy)]
pub struct PartitionView<'a> {
    state: &'a Partition,
}

impl<'a> PartitionView<'a> {
    /// The offset the next record gets.
    pub fn end_offset(&self) -> u64 {
        self.state.end_offset
    }

    /// When its leader is back, if it has none at `now` (`SimTime::MAX`: not until the
    /// broker returns).
    pub fn leader_back_at(&self, now: SimTime) -> Option<SimTime> {
        (!self.state.online(now)).then_some(self.state.offline_until)
    }

    /// The oldest offset the log still holds (retention deletes below it).
    pub fn start_offset(&self) -> u64 {
        self.state.base_offset
    }

    pub fn stored_records(&self) -> u64 {
        self.state.records.len() as u64
    }

    pub fn stored_bytes(&self) -> u64 {
        self.state.bytes
    }

    /// The keys of the records it stores, oldest first.
    pub fn keys(&self) -> impl Iterator<Item = u32> + 'a {
        self.state.records.iter().map(|r| r.key)
    }
}

/// One consumer group of a topic, read-only.
#[derive(Clone, Copy)]
pub struct GroupView<'a> {
    topic: TopicView<'a>,
    state: &'a GroupState,
}

/// Where a group stands on one partition.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cursor {
    pub committed: u64,
    /// The next offset to fetch.
    pub position: u64,
    /// Records above the committed offset already processed.
    pub done_uncommitted: u64,
    /// Log-end minus committed offset.
    pub lag: u64,
    /// When the oldest record the group has not committed was appended, if the log holds one.
    pub oldest_uncommitted_at: Option<SimTime>,
    /// Lag over the run since the warm-up: its time average and the most it reached.
    pub mean_lag: f64,
    pub max_lag: u64,
}

impl<'a> GroupView<'a> {
    pub fn name(&self) -> &'a str {
        &self.state.name
    }

    /// Its members' ids, in member order.
    pub fn members(&self) -> impl Iterator<Item = &'a str> + 'a {
        let world = self.topic.world;
        self.state
            .members
            .iter()
            .filter_map(move |&c| world.consumers.get(c))
            .map(move |c| world.id(c.node))
    }

    /// The partitions each member owns, in member order.
    pub fn assigned(&self) -> &'a [Vec<u32>] {
        &self.state.assigned
    }

    /// Its committed offset on each partition.
    pub fn committed(&self) -> impl Iterator<Item = u64> + 'a {
        self.state.cursors.iter().map(|c| c.committed)
    }

    /// Each partition's owner (a place in [`GroupView::members`]), `None` when unowned.
    pub fn owners(&self) -> &'a [Option<u32>] {
        &self.state.owner
    }

    /// Its members' views, in member order.
    pub fn member_views(&self) -> impl Iterator<Item = ConsumerView<'a>> + 'a {
        let world = self.topic.world;
        self.state
            .members
            .iter()
            .filter_map(move |&c| world.consumer(c))
    }

    /// Lag per partition at this instant (a subtraction each).
    pub fn lags(&self) -> impl Iterator<Item = u64> + 'a {
        let partitions = &self.topic.state.partitions;
        partitions
            .iter()
            .zip(&self.state.cursors)
            .map(|(p, c)| p.end_offset - c.committed)
    }

    /// Where it stands on each partition, at `now`.
    pub fn cursors(&self, now: SimTime) -> impl Iterator<Item = Cursor> + 'a {
        let partitions = &self.topic.state.partitions;
        partitions
            .iter()
            .zip(&self.state.cursors)
            .map(move |(p, c)| {
                let (mean_lag, max_lag) = c.lag_figures(now, p);
                Cursor {
                    committed: c.committed,
                    position: c.position,
                    done_uncommitted: c.done.iter().filter(|&&d| d).count() as u64,
                    lag: p.end_offset - c.committed,
                    // Records below the log start that the group still holds are gone from
                    // the log: the oldest left stands for them.
                    oldest_uncommitted_at: p
                        .record(c.committed.max(p.base_offset))
                        .filter(|_| c.committed < p.end_offset)
                        .map(|r| r.appended_at),
                    mean_lag,
                    max_lag,
                }
            })
    }

    pub fn rebalances(&self) -> u64 {
        self.state.rebalances
    }

    /// Copies this group lost (whole run).
    pub fn lost(&self) -> u64 {
        self.state.lost
    }

    /// What its subscription counted (found by its name, `topic/group`).
    pub fn effects(&self) -> Effects {
        let name = format!("{}/{}", self.topic.id(), self.state.name);
        let subs = &self.topic.world.subscriptions;
        subs.iter()
            .find(|s| s.name == name)
            .map(Effects::of)
            .unwrap_or_default()
    }
}

/// One consumer, read-only.
#[derive(Clone, Copy)]
pub struct ConsumerView<'a> {
    world: &'a World,
    index: ConsumerId,
    state: &'a ConsumerState,
}

impl<'a> ConsumerView<'a> {
    pub fn id(&self) -> &'a str {
        self.world.id(self.state.node)
    }

    /// Its node (an index into [`World::ids`]).
    pub fn node(&self) -> usize {
        self.state.node
    }

    /// The node it reads from: its queue, or the topic whose group it is a member of.
    pub fn source_node(&self) -> Option<usize> {
        match self.state.source {
            Source::Queue(q) => self.world.queues.get(q.q).map(|queue| queue.node),
            Source::Topic(g) => self.world.topics.get(g.topic).map(|topic| topic.node),
            #[cfg(test)]
            Source::Toy(_) => None,
        }
    }

    /// The queue it consumes from, if it reads a queue.
    pub fn queue(&self) -> Option<QueueId> {
        match self.state.source {
            Source::Queue(q) => Some(q.q),
            _ => None,
        }
    }

    pub fn concurrency(&self) -> u32 {
        self.state.concurrency
    }

    /// Messages being processed.
    pub fn busy(&self) -> u32 {
        self.state.busy
    }

    /// Delivered by a queue and not yet acknowledged.
    pub fn unacked(&self) -> u32 {
        self.state.unacked
    }

    /// Delivered beyond its concurrency, waiting in its buffer.
    pub fn buffered(&self) -> usize {
        self.state.buffer.len()
    }

    /// Copies in its hands (being processed or awaiting their ack).
    pub fn in_hand(&self) -> usize {
        self.state.in_hand.len()
    }

    pub fn ack(&self) -> AckMode {
        self.state.ack
    }

    pub fn alive(&self) -> bool {
        self.state.alive
    }

    /// When it went down, while it is down.
    pub fn down_since(&self) -> Option<SimTime> {
        (!self.state.alive).then_some(self.state.down_since)
    }

    /// A topic member's session timeout: how long its group waits for it once it is down.
    pub fn session_timeout_nanos(&self) -> u64 {
        self.state.session_timeout_nanos
    }

    /// A topic member waiting out a rebalance.
    pub fn paused(&self) -> bool {
        self.state.paused
    }

    /// Down because the edge it reads from is cut, not because it crashed.
    pub fn disconnected(&self) -> bool {
        self.world.is_disconnected(self.index) && !self.state.faults.crashes.any()
    }

    /// The failure probability injected faults add (0 without one).
    pub fn fault_failure(&self) -> f64 {
        self.state.fault_failure
    }

    /// How much slower injected faults make it (1 without one).
    pub fn slow_factor(&self) -> f64 {
        self.state.slow_factor
    }

    /// Whether it publishes nothing onwards: journeys end here.
    pub fn is_sink(&self) -> bool {
        self.state.outputs.is_empty()
    }

    pub fn metrics(&self) -> &'a ConsumerMetrics {
        &self.state.metrics
    }
}

/// One request/response service, read-only.
#[derive(Clone, Copy)]
pub struct ServiceView<'a> {
    world: &'a World,
    state: &'a ServiceState,
}

/// One call edge of a service: its callee, its counts, and its circuit breaker.
pub struct CallView<'a> {
    pub to: &'a str,
    pub metrics: super::call::CallMetrics,
    pub breaker: Option<&'a super::breaker::Breaker>,
}

impl<'a> ServiceView<'a> {
    pub fn concurrency(&self) -> u32 {
        self.state.concurrency
    }

    /// Requests waiting for a worker.
    pub fn waiting(&self) -> u64 {
        self.state.waiting.len() as u64
    }

    /// Workers busy, processing or waiting on a call.
    pub fn active(&self) -> u32 {
        self.state.active.len() as u32
    }

    pub fn alive(&self) -> bool {
        self.state.alive
    }

    pub fn metrics(&self) -> &'a ServiceMetrics {
        &self.state.metrics
    }

    /// Its call edges, in edge order.
    pub fn calls(&self) -> impl Iterator<Item = CallView<'a>> + 'a {
        let services = &self.world.services;
        let world = self.world;
        self.state
            .calls
            .iter()
            .filter_map(|&c| services.calls.get(c as usize))
            .map(move |call| CallView {
                to: services.nodes.get(call.to).map_or("", |n| world.id(n.node)),
                metrics: call.metrics,
                breaker: call.breaker.as_ref(),
            })
    }
}
