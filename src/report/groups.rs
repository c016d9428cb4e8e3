//! What a live front shows of a topic, Kafka's way: each partition's log (its start and
//! log-end offsets) with where each consumer group stands on it (the committed offset
//! and the member that owns it), each group's state in words, and which partitions each
//! member owns. Read through the broker's view, like the rest of the report.

use crate::broker::index::TopicId;
use crate::broker::view::ConsumerView;
use crate::broker::world::{NodeRef, World};
use crate::engine::SimTime;

/// One partition of a topic.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lane {
    /// The oldest offset the log holds, and the offset the next record gets.
    pub start: u64,
    pub end: u64,
    /// Per group, in group order: its committed offset here and the member that owns the
    /// partition (a place in the group's members), if any.
    pub groups: Vec<(u64, Option<usize>)>,
    /// While it has no leader (after a broker failure), when it gets one back
    /// (`SimTime::MAX`: not until its broker returns).
    pub no_leader_until: Option<SimTime>,
}

impl Lane {
    pub fn has_leader(&self) -> bool {
        self.no_leader_until.is_none()
    }
}

/// Where a consumer group is in its life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    /// Every partition has a live owner (or no member is left to own it).
    Stable,
    /// A member is down and still owns partitions: nobody reads them until its session
    /// times out and the group rebalances, in `rebalance_in` nanoseconds.
    MemberMissing { member: String, rebalance_in: u64 },
    /// The members are paused while the group rebalances.
    Rebalancing,
    /// Nobody reads, though no rebalance is coming: the log waits.
    Paused(Pause),
}

/// Why a group reads nothing outside a rebalance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pause {
    /// Every member is down and the group has rebalanced without them.
    NoMemberUp,
    /// Every member's link is cut (and the group has rebalanced without them).
    MembersCutOff,
    /// No partition has a leader; the first is back in `back_in` nanoseconds (`None`: not
    /// until its broker returns).
    NoLeader { back_in: Option<u64> },
}

/// One consumer group of a topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub name: String,
    pub members: Vec<String>,
    pub live: usize,
    pub phase: Phase,
    pub rebalances: u64,
}

impl Group {
    /// The group's state in words: "stable, 3 members", "worker-b missing: rebalance in
    /// 7.2 s", "rebalancing: every member paused", "paused: every member down".
    pub fn words(&self) -> String {
        match &self.phase {
            Phase::Stable if self.live == self.members.len() => {
                let s = if self.live == 1 { "" } else { "s" };
                format!("stable, {} member{s}", self.live)
            }
            Phase::Stable => format!("stable, {} of {} members up", self.live, self.members.len()),
            Phase::MemberMissing {
                member,
                rebalance_in,
            } => format!(
                "{member} missing: rebalance in {:.1} s",
                *rebalance_in as f64 / 1e9
            ),
            Phase::Rebalancing => "rebalancing: every member paused".to_string(),
            Phase::Paused(Pause::NoMemberUp) => "paused: every member down".to_string(),
            Phase::Paused(Pause::MembersCutOff) => "paused: every member cut off".to_string(),
            Phase::Paused(Pause::NoLeader { back_in: Some(n) }) => {
                format!(
                    "paused: no partition leader, failover in {:.1} s",
                    *n as f64 / 1e9
                )
            }
            Phase::Paused(Pause::NoLeader { back_in: None }) => {
                "paused: no partition leader until its broker returns".to_string()
            }
        }
    }
}

/// A topic's partitions and groups at `now`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lanes {
    pub partitions: Vec<Lane>,
    pub groups: Vec<Group>,
}

/// Topic `t`'s lanes and groups at `now` (a pass over its partitions and members).
pub fn lanes(world: &World, t: TopicId, now: SimTime) -> Lanes {
    let Some(topic) = world.topic(t) else {
        return Lanes::default();
    };
    let groups: Vec<_> = topic.groups().collect();
    let committed: Vec<Vec<u64>> = groups.iter().map(|g| g.committed().collect()).collect();
    let partitions: Vec<Lane> = topic
        .partitions()
        .enumerate()
        .map(|(p, partition)| Lane {
            start: partition.start_offset(),
            end: partition.end_offset(),
            no_leader_until: partition.leader_back_at(now),
            groups: groups
                .iter()
                .zip(&committed)
                .map(|(g, committed)| {
                    let owner = g.owners().get(p).copied().flatten().map(|m| m as usize);
                    (committed.get(p).copied().unwrap_or(0), owner)
                })
                .collect(),
        })
        .collect();
    let groups = groups
        .iter()
        .map(|g| {
            let members: Vec<_> = g.member_views().collect();
            let live = members.iter().filter(|m| m.alive()).count();
            let missing = members.iter().zip(g.assigned()).find_map(|(m, owned)| {
                let since = m.down_since()?;
                (!owned.is_empty()).then(|| Phase::MemberMissing {
                    member: m.id().to_string(),
                    rebalance_in: (since + m.session_timeout_nanos()).saturating_sub(now),
                })
            });
            let phase = if members.iter().any(|m| m.paused()) {
                Phase::Rebalancing
            } else if let Some(missing) = missing {
                missing
            } else {
                pause(&members, &partitions, now).map_or(Phase::Stable, Phase::Paused)
            };
            Group {
                name: g.name().to_string(),
                members: members.iter().map(|m| m.id().to_string()).collect(),
                live,
                phase,
                rebalances: g.rebalances(),
            }
        })
        .collect();
    Lanes { partitions, groups }
}

/// Why a group with no member missing reads nothing, if it does not: no member is up
/// (crashed, or every one cut off), or no partition has a leader.
fn pause(members: &[ConsumerView<'_>], lanes: &[Lane], now: SimTime) -> Option<Pause> {
    if !members.is_empty() && members.iter().all(|m| !m.alive()) {
        // A member whose link is cut is down to the group too; say so when all are.
        if members.iter().all(|m| m.disconnected()) {
            return Some(Pause::MembersCutOff);
        }
        return Some(Pause::NoMemberUp);
    }
    // Paused only if every partition lacks a leader; the first back ends it.
    let lacking: Option<Vec<SimTime>> = lanes.iter().map(|l| l.no_leader_until).collect();
    let at = lacking?.into_iter().min()?;
    let back_in = (at != SimTime::MAX).then(|| at.saturating_sub(now));
    Some(Pause::NoLeader { back_in })
}

/// Which partitions a group member owns: its topic, group, place among the members.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Assignment {
    pub topic: String,
    pub group: String,
    pub member: usize,
    pub partitions: Vec<u32>,
}

/// Every node's assignment, in node order: `Some` for the members of topics' groups.
pub fn assignments(world: &World) -> Vec<Option<Assignment>> {
    let mut out = vec![None; world.node_refs().len()];
    for (node, &r) in world.node_refs().iter().enumerate() {
        let NodeRef::Topic(t) = r else { continue };
        let Some(topic) = world.topic(t) else {
            continue;
        };
        for g in topic.groups() {
            for (member, (view, owned)) in g.member_views().zip(g.assigned()).enumerate() {
                if let Some(slot) = out.get_mut(view.node()) {
                    *slot = Some(Assignment {
                        topic: world.id(node).to_string(),
                        group: g.name().to_string(),
                        member,
                        partitions: owned.clone(),
                    });
                }
            }
        }
    }
    out
}

/// The total of every group's rebalances, for a front to mark each one as it happens.
pub fn rebalances(world: &World) -> u64 {
    world
        .topics()
        .map(|t| t.groups().map(|g| g.rebalances()).sum::<u64>())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rebalance example: three members share six partitions; worker-b crashes at
    /// 30 s for good, its session (10 s) times out at 40 s, the group rebalances for 2 s.
    #[test]
    fn a_groups_state_follows_a_crash_through_its_session_timeout_and_rebalance() {
        let text = crate::examples::EXAMPLES
            .iter()
            .find(|(name, _)| *name == "rebalance")
            .map(|(_, text)| *text)
            .expect("the rebalance example");
        let (_, scenario) = crate::scenario::parse(text, "rebalance.ron").unwrap();
        let mut run = crate::run::Run::new(&scenario).unwrap();
        let topic = TopicId::from(0);
        let s = 1_000_000_000;
        let cases = [
            (20, "stable, 3 members", [2, 2, 2]),
            (35, "worker-b missing: rebalance in 5.0 s", [2, 2, 2]),
            (41, "rebalancing: every member paused", [2, 2, 2]),
            (50, "stable, 2 of 3 members up", [3, 0, 3]),
        ];
        for (at, words, owned) in cases {
            let _ = run.advance_to(at * s);
            let lanes = lanes(run.world(), topic, run.now());
            let group = &lanes.groups[0];
            assert_eq!(group.words(), words, "at {at} s");
            let each = assignments(run.world());
            let counts: Vec<usize> = ["worker-a", "worker-b", "worker-c"]
                .iter()
                .map(|id| {
                    let node = run.world().ids().iter().position(|n| n == id).unwrap();
                    each[node].as_ref().map_or(0, |a| a.partitions.len())
                })
                .collect();
            assert_eq!(counts, owned, "at {at} s");
            assert_eq!(lanes.partitions.len(), 6);
            for lane in &lanes.partitions {
                let (committed, _) = lane.groups[0];
                assert!(lane.start <= lane.end && committed <= lane.end, "{lane:?}");
                assert!(lane.has_leader(), "{lane:?}");
            }
        }
        assert_eq!(rebalances(run.world()), 1);
    }

    /// A one-member group on a two-partition topic, with `fault`; its state at each time.
    fn phases_with(topic: &str, fault: &str, times: &[u64]) -> Vec<String> {
        let text = format!(
            r#"(version: 1, seed: 1, duration: "60s",
                nodes: [
                    Producer(id: "p", arrival: Poisson(rate: "50/s")),
                    Topic(id: "t", partitions: 2{topic}),
                    Consumer(id: "c", group: "g", service: Exponential(mean: "2ms"),
                        session_timeout: "5s", rebalance_time: "1s"),
                ],
                edges: [(from: "p", to: "t"), (from: "t", to: "c")],
                faults: [{fault}],
            )"#
        );
        let (_, scenario) = crate::scenario::parse(&text, "pause.ron").unwrap();
        let mut run = crate::run::Run::new(&scenario).unwrap();
        times
            .iter()
            .map(|&at| {
                let _ = run.advance_to(at * 1_000_000_000);
                lanes(run.world(), TopicId::from(0), run.now()).groups[0].words()
            })
            .collect()
    }

    #[test]
    fn a_group_that_nobody_can_read_for_is_paused_and_says_why() {
        let cases: [(&str, &str, [&str; 3]); 4] = [
            (
                "",
                r#"(at: "10s", target: "c", kind: Crash, duration: "20s")"#,
                [
                    "c missing: rebalance in 3.0 s",
                    "paused: every member down",
                    "stable, 1 member",
                ],
            ),
            (
                "",
                r#"(at: "10s", target: "t->c", kind: Cut, duration: "20s")"#,
                [
                    "c missing: rebalance in 3.0 s",
                    "paused: every member cut off",
                    "stable, 1 member",
                ],
            ),
            (
                ", replication_factor: 3, failover: \"30s\"",
                r#"(at: "10s", target: "t", kind: BrokerFailure())"#,
                [
                    "paused: no partition leader, failover in 28.0 s",
                    "paused: no partition leader, failover in 18.0 s",
                    "stable, 1 member",
                ],
            ),
            (
                "",
                r#"(at: "10s", target: "t", kind: BrokerFailure(partition: 0), duration: "20s")"#,
                ["stable, 1 member", "stable, 1 member", "stable, 1 member"],
            ),
        ];
        for (topic, fault, words) in cases {
            assert_eq!(phases_with(topic, fault, &[12, 22, 45]), words, "{fault}");
        }
    }
}
