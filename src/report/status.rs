//! A cheap view of a running world, for a front that shows a run live (the lab's
//! badges and plots, many times a second): counters and running sums read as they
//! are, without a [`Report`](super::Report)'s quantile walks, per-partition lag
//! figures or per-node scans over other nodes. O(nodes + queues + partitions of the
//! topics' groups that are shown).

use crate::broker::world::{NodeRef, World};

/// What a live front shows of a run between full reports.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Status {
    /// Per node, in node order: a few words on its counts (`depth 3 +1 unacked`).
    pub badges: Vec<String>,
    /// Per queue: (id, ready, unacked).
    pub queues: Vec<(String, u64, u64)>,
    /// Per topic group: ("topic/group", lag per partition).
    pub lags: Vec<(String, Vec<u64>)>,
    /// Whole-run counts so far.
    pub retries: u64,
    pub dead_lettered: u64,
    pub duplicates: u64,
    pub lost: u64,
    pub reordered: u64,
}

impl Status {
    pub fn of(world: &World) -> Status {
        let ledger = world.ledger();
        let effects = world.effects();
        let mut status = Status {
            badges: badges(world),
            retries: ledger.retries,
            dead_lettered: ledger.dead_lettered,
            lost: ledger.lost.total(),
            duplicates: effects.duplicates,
            reordered: effects.reordered.total(),
            ..Status::default()
        };
        for queue in world.queues() {
            status
                .queues
                .push((queue.id().to_string(), queue.ready(), queue.unacked()));
        }
        for topic in world.topics() {
            for group in topic.groups() {
                let name = format!("{}/{}", topic.id(), group.name());
                status.lags.push((name, group.lags().collect()));
            }
        }
        status
    }
}

/// Every node's badge, in node order.
pub fn badges(world: &World) -> Vec<String> {
    world.node_refs().iter().map(|&r| badge(world, r)).collect()
}

/// A node's badge, as the lab draws it under the node.
fn badge(world: &World, r: NodeRef) -> String {
    match r {
        NodeRef::Producer(i) => {
            let sent = world.producer(i).map_or(0, |p| p.produced);
            format!("sent {sent}")
        }
        NodeRef::Exchange(i) => {
            let (received, unroutable) = world
                .exchange(i)
                .map_or((0, 0), |e| (e.received, e.unroutable));
            if unroutable > 0 {
                format!("routed {received}, unroutable {unroutable}")
            } else {
                format!("routed {received}")
            }
        }
        NodeRef::Queue(i) => {
            let (ready, unacked) = world.queue(i).map_or((0, 0), |q| (q.ready(), q.unacked()));
            format!("depth {ready} +{unacked} unacked")
        }
        NodeRef::Topic(i) => {
            // The running sums the time series reads lag from (checked by the ledger check).
            let lag = world.topic(i).map_or(0, |t| t.lag());
            format!("lag {lag}")
        }
        NodeRef::Consumer(i) => {
            let (processed, failed) = world
                .consumer(i)
                .map_or((0, 0), |c| (c.metrics().processed, c.metrics().failed));
            if failed > 0 {
                format!("done {processed}, failed {failed}")
            } else {
                format!("done {processed}")
            }
        }
        NodeRef::Service(i) => {
            let (succeeded, waiting) = world
                .service(i)
                .map_or((0, 0), |s| (s.metrics().succeeded, s.waiting()));
            format!("ok {succeeded}, waiting {waiting}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::NodeDetail;

    /// The status of every example halfway through equals what its full report says.
    #[test]
    fn the_status_agrees_with_the_report() {
        for (name, text) in crate::examples::EXAMPLES {
            let (_, scenario) = crate::scenario::parse(text, name).unwrap();
            let mut run = crate::run::Run::new(&scenario).unwrap();
            let _ = run.advance_to(run.duration_nanos() / 2);
            let status = Status::of(run.world());
            let report = run.report(None, false);
            let t = &report.totals;
            assert_eq!(
                (status.retries, status.dead_lettered, status.duplicates),
                (t.retries, t.dead_lettered, t.duplicates),
                "{name}"
            );
            assert_eq!(
                (status.lost, status.reordered),
                (t.lost, t.reordered),
                "{name}"
            );
            let (mut queues, mut lags) = (Vec::new(), Vec::new());
            for (node, badge) in report.nodes.iter().zip(&status.badges) {
                let words = match &node.detail {
                    NodeDetail::Queue {
                        depth_at_end,
                        unacked_at_end,
                        ..
                    } => {
                        queues.push((node.id.clone(), *depth_at_end, *unacked_at_end));
                        format!("depth {depth_at_end} +{unacked_at_end} unacked")
                    }
                    NodeDetail::Topic { groups, .. } => {
                        for g in groups {
                            let id = format!("{}/{}", node.id, g.group);
                            lags.push((id, g.lag_per_partition.clone()));
                        }
                        format!("lag {}", groups.iter().map(|g| g.lag).sum::<u64>())
                    }
                    NodeDetail::Producer { produced, .. } => format!("sent {produced}"),
                    NodeDetail::Consumer {
                        processed, failed, ..
                    } => match failed {
                        0 => format!("done {processed}"),
                        _ => format!("done {processed}, failed {failed}"),
                    },
                    NodeDetail::Service {
                        succeeded,
                        waiting_at_end,
                        ..
                    } => format!("ok {succeeded}, waiting {waiting_at_end}"),
                    NodeDetail::Exchange {
                        received,
                        unroutable,
                    } => match unroutable {
                        0 => format!("routed {received}"),
                        _ => format!("routed {received}, unroutable {unroutable}"),
                    },
                };
                assert_eq!(badge, &words, "{name}: {}", node.id);
            }
            assert_eq!(status.queues, queues, "{name}");
            assert_eq!(status.lags, lags, "{name}");
        }
    }
}
