//! Reading a report's figures from a finished (or paused) world.

use super::{GroupReport, NodeDetail, PartitionReport, QueueDrops, Totals};
use crate::broker::subscription::Reordered;
use crate::broker::world::{NodeRef, World};
use crate::engine::SimTime;
use crate::metrics::requests::{RequestReport, service_figures};

pub(super) fn totals(world: &World) -> Totals {
    let ledger = &world.ledger;
    let mut reordered = Reordered::default();
    let (mut duplicates, mut deduplicated) = (0, 0);
    for sub in &world.subscriptions {
        duplicates += sub.duplicates;
        deduplicated += sub.deduplicated;
        reordered.requeue += sub.reordered.requeue;
        reordered.retry += sub.reordered.retry;
        reordered.rebalance += sub.reordered.rebalance;
        reordered.concurrency += sub.reordered.concurrency;
    }
    let attempts = world
        .consumers
        .iter()
        .map(|c| c.metrics.lifetime_attempts)
        .sum::<u64>();
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
        duplicates,
        deduplicated,
        reordered: reordered.total(),
        reordered_by_cause: reordered,
        retries: ledger.retries,
        redeliveries: ledger.redeliveries,
        retry_amplification: if ledger.produced == 0 {
            0.0
        } else {
            attempts as f64 / ledger.produced as f64
        },
        publish_retries: ledger.publish_retries,
        acknowledged_lost: ledger.acknowledged_lost,
        requests: world
            .services
            .clients
            .iter()
            .any(Option::is_some)
            .then(|| RequestReport::new(&world.services.total)),
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
            let producer = world.producers.get(i as usize);
            let produced = producer.map_or(0, |p| p.produced);
            let requests = world
                .services
                .clients
                .get(i as usize)
                .and_then(Option::as_ref)
                .map(RequestReport::new);
            NodeDetail::Producer {
                produced,
                rate_per_s: per_s(produced),
                publish_retries: producer.map_or(0, |p| p.publish_retries),
                acknowledged_lost: producer.map_or(0, |p| p.acknowledged_lost),
                requests,
            }
        }
        NodeRef::Exchange(i) => {
            let (received, unroutable) = world
                .exchanges
                .get(i as usize)
                .map_or((0, 0), |e| (e.received, e.unroutable));
            NodeDetail::Exchange {
                received,
                unroutable,
            }
        }
        NodeRef::Queue(i) => queue_detail(world, i, now)?,
        NodeRef::Topic(i) => topic_detail(world, i, now)?,
        NodeRef::Consumer(i) => consumer_detail(world, i, now, per_s)?,
        NodeRef::Service(i) => {
            let f = service_figures(world, i as usize, now)?;
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
fn queue_detail(world: &World, i: u32, now: SimTime) -> Option<NodeDetail> {
    let q = world.queues.get(i as usize)?;
    let sub = world.subscriptions.get(q.subscription as usize);
    let m = &q.metrics;
    let wait = m.wait.summary_ms();
    Some(NodeDetail::Queue {
        enqueued: m.enqueued,
        delivered: m.delivered,
        mean_wait_ms: wait.mean,
        wait_ms: wait,
        mean_depth: m.depth.mean(now),
        max_depth: m.depth.max(),
        mean_unacked: m.unacked.mean(now),
        depth_at_end: q.ready_len,
        unacked_at_end: q.unacked,
        dropped: QueueDrops {
            overflow: m.dropped_overflow,
            ttl: m.dropped_ttl,
        },
        lost: q.lost,
        nacked: m.nacked,
        duplicates: sub.map_or(0, |s| s.duplicates),
        deduplicated: sub.map_or(0, |s| s.deduplicated),
        reordered: sub.map_or(0, |s| s.reordered.total()),
        redelivered: world
            .consumers
            .iter()
            .filter(|c| {
                let q = crate::broker::consumer::QueueDelivery { q: i as usize };
                c.source == crate::broker::consumer::Source::Queue(q)
            })
            .map(|c| c.metrics.redelivered)
            .sum(),
        expired_to_retry: if world.retries_on_expiry(i as usize) {
            m.dropped_ttl
        } else {
            0
        },
    })
}

/// A topic's figures.
fn topic_detail(world: &World, i: u32, now: SimTime) -> Option<NodeDetail> {
    let t = world.topics.get(i as usize)?;
    let partitions = t
        .partitions
        .iter()
        .enumerate()
        .map(|(p, part)| PartitionReport {
            partition: p as u32,
            end_offset: part.end_offset,
            stored_records: part.records.len() as u64,
            stored_bytes: part.bytes,
        })
        .collect();
    let groups = t
        .groups
        .iter()
        .map(|g| {
            let lag_per_partition: Vec<u64> = t
                .partitions
                .iter()
                .zip(&g.cursors)
                .map(|(p, c)| p.end_offset - c.committed)
                .collect();
            let lag_ms_per_partition: Vec<f64> = t
                .partitions
                .iter()
                .zip(&g.cursors)
                .map(|(p, c)| {
                    // Records below the log start that the group still holds are
                    // gone from the log: the oldest left stands for them.
                    p.record(c.committed.max(p.base_offset))
                        .filter(|_| c.committed < p.end_offset)
                        .map_or(0.0, |r| now.saturating_sub(r.appended_at) as f64 / 1e6)
                })
                .collect();
            let name = format!(
                "{}/{}",
                world.ids.get(t.node).map_or("", String::as_str),
                g.name
            );
            let sub = world.subscriptions.iter().find(|s| s.name == name);
            let (mean_lag_per_partition, max_lag_per_partition): (Vec<f64>, Vec<u64>) = g
                .cursors
                .iter()
                .zip(&t.partitions)
                .map(|(c, p)| c.lag_figures(now, p))
                .unzip();
            GroupReport {
                group: g.name.clone(),
                members: g
                    .members
                    .iter()
                    .filter_map(|&c| world.consumers.get(c as usize))
                    .filter_map(|c| world.ids.get(c.node).cloned())
                    .collect(),
                lag: lag_per_partition.iter().sum(),
                lag_per_partition,
                max_lag_ms: lag_ms_per_partition.iter().copied().fold(0.0, f64::max),
                lag_ms_per_partition,
                mean_lag: mean_lag_per_partition.iter().sum(),
                max_lag: max_lag_per_partition.iter().sum(),
                mean_lag_per_partition,
                max_lag_per_partition,
                rebalances: g.rebalances,
                lost: g.lost,
                duplicates: sub.map_or(0, |s| s.duplicates),
                deduplicated: sub.map_or(0, |s| s.deduplicated),
                reordered: sub.map_or(0, |s| s.reordered.total()),
            }
        })
        .collect();
    Some(NodeDetail::Topic {
        appended: t.appended,
        partitions,
        groups,
    })
}

/// A consumer's figures.
fn consumer_detail(
    world: &World,
    i: u32,
    now: SimTime,
    per_s: &dyn Fn(u64) -> f64,
) -> Option<NodeDetail> {
    let window = now.saturating_sub(world.window.start);
    let c = world.consumers.get(i as usize)?;
    let m = &c.metrics;
    let utilization = if window > 0 {
        m.busy.mean(now) / f64::from(c.concurrency)
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
        latency_ms: c.outputs.is_empty().then(|| match &m.latency {
            Some(latency) => latency.summary_ms(),
            // The only sink: every journey ends here, at a node's precision.
            None => crate::metrics::NodeHistogram::from_run(&world.window.latency).summary_ms(),
        }),
    })
}
