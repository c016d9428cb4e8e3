//! Group membership: a crashed member is removed after its session timeout;
//! the group pauses to rebalance (eager: every member stops and commits),
//! partitions are reassigned among live members (range assignor), and every
//! partition restarts from its committed offset.

use crate::broker::consumer::{GroupDelivery, Source};
use crate::broker::generation::Generation;
use crate::broker::index::{ConsumerId, TopicId};
use crate::broker::message::flag;
use crate::broker::world::{Event, World};
use crate::engine::{Scheduler, SimTime};
use crate::scenario::raw::{AckMode, Commit};

impl World {
    /// A crashed member's session timed out: the group rebalances without it.
    pub(in crate::broker) fn member_expired(
        &mut self,
        now: SimTime,
        c: ConsumerId,
        generation: Generation,
        scheduler: &mut Scheduler<Event>,
    ) {
        let Some(consumer) = self.consumers.get(c) else {
            return;
        };
        if !consumer.generation.is_current(generation) || consumer.alive {
            return;
        }
        let Source::Topic(GroupDelivery { topic, group, .. }) = consumer.source else {
            return;
        };
        self.begin_rebalance(now, topic, group, scheduler);
    }

    /// Pauses every member of a group and commits what live members processed
    /// (Kafka commits on partition revocation); the rebalance completes later.
    pub(in crate::broker) fn begin_rebalance(
        &mut self,
        now: SimTime,
        t: TopicId,
        g: usize,
        scheduler: &mut Scheduler<Event>,
    ) {
        let Some(group) = self.topics.get(t).and_then(|topic| topic.groups.get(g)) else {
            return;
        };
        let members = group.members.clone();
        let mut pause = 0;
        for &m in &members {
            if let Some(consumer) = self.consumers.get_mut(m) {
                consumer.paused = true;
                pause = pause.max(consumer.rebalance_nanos);
            }
        }
        for &m in &members {
            if self
                .consumers
                .get(m)
                .is_some_and(|cs| cs.alive && !matches!(cs.commit, Commit::Transactional { .. }))
            {
                self.commit_member(m);
            }
        }
        let Some(group) = self
            .topics
            .get_mut(t)
            .and_then(|topic| topic.groups.get_mut(g))
        else {
            return;
        };
        group.rebalances += 1;
        // A rebalance already under way begins again: Kafka's group goes back to preparing
        // it, and the members' pause runs until this one completes.
        group.rebalance.bump();
        let generation = group.rebalance;
        let _ = now;
        scheduler.after(
            pause,
            Event::RebalanceDone {
                topic: t,
                group: g as u32,
                generation,
            },
        );
    }

    /// The rebalance completes (the last one begun; an earlier one is stale): partitions
    /// are reassigned among live members and every partition restarts from its committed
    /// offset.
    pub(in crate::broker) fn rebalance_done(
        &mut self,
        now: SimTime,
        t: TopicId,
        g: usize,
        generation: Generation,
        scheduler: &mut Scheduler<Event>,
    ) {
        let Some(group) = self.topics.get(t).and_then(|topic| topic.groups.get(g)) else {
            return;
        };
        if !group.rebalance.is_current(generation) {
            // Another membership change began the rebalance again; that one completes it.
            return;
        }
        // Members that stayed up finished what they held during the pause: Kafka's
        // consumer commits it before giving its partitions up.
        let group_members: Vec<ConsumerId> = self
            .topics
            .get(t)
            .and_then(|topic| topic.groups.get(g))
            .map(|group| group.members.clone())
            .unwrap_or_default();
        for &m in &group_members {
            if self
                .consumers
                .get(m)
                .is_some_and(|cs| cs.alive && !matches!(cs.commit, Commit::Transactional { .. }))
            {
                self.commit_member(m);
            }
        }
        // Records still in members' hands will be fetched again from the committed offset:
        // the fetched copy carries the ledger from now on, the one in hand is a ghost.
        let members: Vec<ConsumerId> = self
            .topics
            .get(t)
            .and_then(|topic| topic.groups.get(g))
            .map(|group| group.members.clone())
            .unwrap_or_default();
        for &m in &members {
            let Some(consumer) = self.consumers.get(m) else {
                continue;
            };
            // At-most-once members committed their records on fetch: nobody fetches them again.
            if consumer.ack == AckMode::BeforeProcessing {
                crate::mark!(AtMostOnceThroughRebalance if !consumer.in_hand.is_empty());
                continue;
            }
            for &slot in &consumer.in_hand {
                if let Some(message) = self.messages.get_mut(slot) {
                    message.flags |= flag::GHOST;
                }
            }
        }
        let Some(group) = self
            .topics
            .get_mut(t)
            .and_then(|topic| topic.groups.get_mut(g))
        else {
            return;
        };
        let consumers = &self.consumers;
        let live: Vec<bool> = group
            .members
            .iter()
            .map(|&m| consumers.get(m).is_some_and(|c| c.alive))
            .collect();
        group.assign_range_among(&live);
        let partitions = group.cursors.len();
        let members = group.members.clone();
        for p in 0..partitions {
            self.rewind(t, g, p);
        }
        for (index, &m) in members.iter().enumerate() {
            if let Some(consumer) = self.consumers.get_mut(m) {
                consumer.paused = false;
                consumer.next_partition = 0;
                if let Source::Topic(GroupDelivery { member, .. }) = &mut consumer.source {
                    *member = index;
                }
            }
        }
        for &m in &members {
            self.fetch(now, m, scheduler);
        }
    }
}
