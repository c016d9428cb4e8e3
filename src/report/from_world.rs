//! Reading a report's figures from a finished (or paused) world, through the broker's
//! read API.

use super::requests::{RequestReport, service_figures};
use super::{GroupReport, NodeDetail, PartitionReport, QueueDrops, Totals};
use crate::broker::index::{ConsumerId, QueueId};
use crate::broker::view::{GroupView, TopicView};
use crate::broker::world::{NodeRef, World};
use crate::engine::SimTime;
use crate::metrics::NodeHistogram;

pub(super) fn totals(world: &World) -> Totals {
    let ledger = world.ledger();
    let effects = world.effects();
    let attempts = world.attempts();
    Totals {
        produced: ledger.produced,
        fanned_out: ledger.fanned_out,
        duplicate_copies: ledger.duplicate_copies,
        processed: ledger.processed,
        in_flight_at_end: ledger.in_flight(),
        dead_lettered: ledger.dead_lettered,
        lost: ledger.lost.total(),
        lost_by_reason: ledger.lost,
        lost_in_transit: ledger.lost_in_transit,
        dropped: ledger.lost,
        dropped_total: ledger.lost.total(),
        duplicates: effects.duplicates,
        deduplicated: effects.deduplicated,
        reordered: effects.reordered.total(),
        reordered_by_cause: effects.reordered,
        retries: ledger.retries,
        redeliveries: ledger.redeliveries,
        retry_amplification: if ledger.produced == 0 {
            0.0
        } else {
            attempts as f64 / ledger.produced as f64
        },
        publish_retries: ledger.publish_retries,
        acknowledged_lost: ledger.acknowledged_lost,
        requests: world.all_clients().map(RequestReport::new),
    }
}

pub(super) fn node_detail(
    world: &World,
    r: NodeRef,
    now: SimTime,
    per_s: &dyn Fn(u64) -> f64,
) -> Option<NodeDetail> {
    Some(match r {
        NodeRef::Producer(i) => {
            let producer = world.producer(i);
            let produced = producer.map_or(0, |p| p.produced);
            NodeDetail::Producer {
                produced,
                rate_per_s: per_s(produced),
                publish_retries: producer.map_or(0, |p| p.publish_retries),
                acknowledged_lost: producer.map_or(0, |p| p.acknowledged_lost),
                requests: world.client(i).map(RequestReport::new),
            }
        }
        NodeRef::Exchange(i) => {
            let (received, unroutable) = world
                .exchange(i)
                .map_or((0, 0), |e| (e.received, e.unroutable));
            NodeDetail::Exchange {
                received,
                unroutable,
            }
        }
        NodeRef::Queue(i) => queue_detail(world, i, now)?,
        NodeRef::Topic(i) => topic_detail(world.topic(i)?, now),
        NodeRef::Consumer(i) => consumer_detail(world, i, now, per_s)?,
        NodeRef::Service(i) => {
            let f = service_figures(world.service(i)?, now, world.window().start);
            NodeDetail::Service {
                received: f.received,
                succeeded: f.succeeded,
                failed: f.failed,
                refused: f.refused,
                throughput_per_s: per_s(f.succeeded),
                utilization: f.utilization,
                mean_service_ms: f.mean_service_ms,
                latency_ms: f.latency_ms,
                mean_waiting: f.mean_waiting,
                max_waiting: f.max_waiting,
                waiting_at_end: f.waiting_at_end,
                crashes: f.crashes,
                calls: f.calls,
            }
        }
    })
}

/// A queue's figures.
fn queue_detail(world: &World, i: QueueId, now: SimTime) -> Option<NodeDetail> {
    let q = world.queue(i)?;
    let m = q.metrics();
    let effects = q.effects();
    let wait = m.wait.summary_ms();
    Some(NodeDetail::Queue {
        enqueued: m.enqueued,
        delivered: m.delivered,
        mean_wait_ms: wait.mean,
        wait_ms: wait,
        mean_depth: m.depth.mean(now),
        max_depth: m.depth.max(),
        mean_unacked: m.unacked.mean(now),
        depth_at_end: q.ready(),
        unacked_at_end: q.unacked(),
        dropped: QueueDrops {
            overflow: m.dropped_overflow,
            ttl: m.dropped_ttl,
        },
        lost: q.lost(),
        nacked: m.nacked,
        duplicates: effects.duplicates,
        deduplicated: effects.deduplicated,
        reordered: effects.reordered.total(),
        redelivered: q.redelivered(),
        expired_to_retry: if q.retries_on_expiry() {
            m.dropped_ttl
        } else {
            0
        },
    })
}

/// A topic's figures.
fn topic_detail(t: TopicView<'_>, now: SimTime) -> NodeDetail {
    let partitions = t
        .partitions()
        .enumerate()
        .map(|(p, part)| PartitionReport {
            partition: p as u32,
            end_offset: part.end_offset(),
            stored_records: part.stored_records(),
            stored_bytes: part.stored_bytes(),
        })
        .collect();
    let groups = t.groups().map(|g| group_report(g, now)).collect();
    NodeDetail::Topic {
        appended: t.appended(),
        partitions,
        groups,
    }
}

/// A consumer group's figures.
fn group_report(g: GroupView<'_>, now: SimTime) -> GroupReport {
    let cursors: Vec<_> = g.cursors(now).collect();
    let lag_per_partition: Vec<u64> = cursors.iter().map(|c| c.lag).collect();
    let lag_ms_per_partition: Vec<f64> = cursors
        .iter()
        .map(|c| {
            c.oldest_uncommitted_at
                .map_or(0.0, |at| now.saturating_sub(at) as f64 / 1e6)
        })
        .collect();
    let mean_lag_per_partition: Vec<f64> = cursors.iter().map(|c| c.mean_lag).collect();
    let max_lag_per_partition: Vec<u64> = cursors.iter().map(|c| c.max_lag).collect();
    let effects = g.effects();
    GroupReport {
        group: g.name().to_string(),
        members: g.members().map(str::to_string).collect(),
        lag: lag_per_partition.iter().sum(),
        lag_per_partition,
        max_lag_ms: lag_ms_per_partition.iter().copied().fold(0.0, f64::max),
        lag_ms_per_partition,
        mean_lag: mean_lag_per_partition.iter().sum(),
        max_lag: max_lag_per_partition.iter().sum(),
        mean_lag_per_partition,
        max_lag_per_partition,
        rebalances: g.rebalances(),
        lost: g.lost(),
        duplicates: effects.duplicates,
        deduplicated: effects.deduplicated,
        reordered: effects.reordered.total(),
    }
}

/// A consumer's figures.
fn consumer_detail(
    world: &World,
    i: ConsumerId,
    now: SimTime,
    per_s: &dyn Fn(u64) -> f64,
) -> Option<NodeDetail> {
    let window = now.saturating_sub(world.window().start);
    let c = world.consumer(i)?;
    let m = c.metrics();
    let utilization = if window > 0 {
        m.busy.mean(now) / f64::from(c.concurrency())
    } else {
        0.0
    };
    let mean_service_ms = if m.started > 0 {
        m.service_nanos as f64 / m.started as f64 / 1e6
    } else {
        0.0
    };
    Some(NodeDetail::Consumer {
        processed: m.processed,
        throughput_per_s: per_s(m.processed),
        utilization,
        mean_service_ms,
        failed: m.failed,
        crashes: m.crashes,
        redelivered: m.redelivered,
        latency_ms: c.is_sink().then(|| match &m.latency {
            Some(latency) => latency.summary_ms(),
            // The only sink: every journey ends here, at a node's precision.
            None => NodeHistogram::from_run(&world.window().latency).summary_ms(),
        }),
    })
}
