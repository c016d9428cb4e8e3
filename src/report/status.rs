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

/// What befell copies at one node so far (whole run): the figures its badges show.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Consequences {
    pub lost: u64,
    pub duplicates: u64,
    pub dead_lettered: u64,
    pub reordered: u64,
}

/// Every node's consequences, in node order: each counted where it happened, so the nodes'
/// figures add up to the run's. A consumer's are the copies in its hands: lost there,
/// processed again, dead-lettered after its last attempt, processed out of order. A queue's
/// or a topic's are what it lost or dead-lettered itself (overflow, TTL, retention, a
/// broker failure), not what its consumers did with what it gave them. Other nodes have
/// none.
pub fn consequences(world: &World) -> Vec<Consequences> {
    let mut out = vec![Consequences::default(); world.node_refs().len()];
    // What consumers lost or dead-lettered along their source's dead-letter edge, which
    // the source counts too.
    let mut by_consumers = vec![(0, 0); out.len()];
    for c in world.consumers() {
        let m = c.metrics();
        if let Some(mine) = out.get_mut(c.node()) {
            *mine = Consequences {
                lost: m.lost,
                duplicates: m.duplicates,
                dead_lettered: m.dead_lettered,
                reordered: m.reordered,
            };
        }
        let along_own_edge = world.dead_lettered_from(c.node());
        if let Some(source) = c.source_node().and_then(|s| by_consumers.get_mut(s)) {
            source.0 += m.lost;
            source.1 += m.dead_lettered.saturating_sub(along_own_edge);
        }
    }
    for (node, &r) in world.node_refs().iter().enumerate() {
        let lost = match r {
            NodeRef::Queue(i) => world.queue(i).map_or(0, |q| q.lost()),
            NodeRef::Topic(i) => world
                .topic(i)
                .map_or(0, |t| t.groups().map(|g| g.lost()).sum()),
            _ => continue,
        };
        let (consumers_lost, consumers_dead) = by_consumers[node];
        out[node].lost = lost.saturating_sub(consumers_lost);
        out[node].dead_lettered = world
            .dead_lettered_from(node)
            .saturating_sub(consumers_dead);
    }
    out
}

/// Whether the nodes' consequences add up to the run's: every copy lost in a queue, a
/// group or a consumer's hands (not between nodes), every duplicate and reordering, every
/// dead letter, counted at exactly one node. The property tests check it after every slice.
pub fn check_consequences(world: &World) -> Result<(), String> {
    let sum = consequences(world)
        .into_iter()
        .fold(Consequences::default(), |s, c| Consequences {
            lost: s.lost + c.lost,
            duplicates: s.duplicates + c.duplicates,
            dead_lettered: s.dead_lettered + c.dead_lettered,
            reordered: s.reordered + c.reordered,
        });
    let ledger = world.ledger();
    let effects = world.effects();
    let run = Consequences {
        lost: ledger.lost.total().saturating_sub(ledger.lost_in_transit),
        duplicates: effects.duplicates,
        dead_lettered: ledger.dead_lettered,
        reordered: effects.reordered.total(),
    };
    if sum == run {
        Ok(())
    } else {
        Err(format!(
            "the nodes' consequences {sum:?} do not add up to the run's {run:?}"
        ))
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

    /// Every example, in ten slices: the nodes' consequences add up to the run's after
    /// each (the copies lost between nodes belong to none).
    #[test]
    fn the_nodes_consequences_add_up_to_the_runs() {
        for (name, text) in crate::examples::EXAMPLES {
            let (_, scenario) = crate::scenario::parse(text, name).unwrap();
            let mut run = crate::run::Run::new(&scenario).unwrap();
            let duration = run.duration_nanos();
            for slice in 1..=10 {
                let _ = run.advance_to(duration * slice / 10);
                let checked = check_consequences(run.world());
                assert_eq!(checked, Ok(()), "{name}, slice {slice}");
            }
            let t = run.report(None, false).totals;
            let some: u64 = consequences(run.world())
                .iter()
                .map(|c| c.lost + c.dead_lettered)
                .sum();
            assert_eq!(some, t.lost - t.lost_in_transit + t.dead_lettered, "{name}");
        }
    }

    /// A queue whose dead-letter target is a retry queue (a retry edge): a copy out of
    /// attempts goes on there, it is not dead-lettered, and the consumer is not charged a
    /// dead letter the run does not count.
    #[test]
    fn a_consumer_is_charged_a_dead_letter_only_when_the_edge_ends_the_journey() {
        let cases = [("Retry", 0), ("DeadLetter", 1)];
        for (kind, dead) in cases {
            let text = format!(
                r#"(version: 1, duration: "1s", nodes: [
                    Producer(id: "p", arrival: Poisson(rate: "100/s")),
                    Queue(id: "work"), Queue(id: "parked"),
                    Consumer(id: "c", service: Constant(time: "1ms"), failure_probability: 1.0,
                        retry: (backoff: Immediate, max_attempts: 1)),
                ], edges: [
                    (from: "p", to: "work"), (from: "work", to: "c"),
                    (from: "work", to: "parked", kind: {kind}),
                ])"#
            );
            let (_, scenario) = crate::scenario::parse(&text, "t.ron").unwrap();
            let mut run = crate::run::Run::new(&scenario).unwrap();
            let _ = run.advance_to(run.duration_nanos());
            assert_eq!(check_consequences(run.world()), Ok(()), "{kind}");
            let c = consequences(run.world())[3];
            assert_eq!(c.dead_lettered > 0, dead == 1, "{kind}: {c:?}");
            assert_eq!(
                c.dead_lettered,
                run.world().ledger().dead_lettered,
                "{kind}"
            );
        }
    }
}
