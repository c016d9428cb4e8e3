//! A group member's commits: after each record, in batches, on an interval
//! (Kafka's auto-commit), or with a transaction that makes what the member
//! published visible together with its offsets (consume-process-produce).

use crate::broker::consumer::{GroupDelivery, Source};
use crate::broker::index::ConsumerId;
use crate::broker::world::{Event, World};
use crate::engine::{Scheduler, SimTime};
use crate::scenario::raw::Commit;

impl World {
    /// Commits after a completion, as the consumer's commit mode says.
    pub(in crate::broker) fn after_commit_point(&mut self, c: ConsumerId) {
        let Some(consumer) = self.consumers.get_mut(c) else {
            return;
        };
        match consumer.commit {
            Commit::AfterEach => self.commit_member(c),
            Commit::Batch { size } => {
                consumer.since_commit += 1;
                if consumer.since_commit >= size {
                    consumer.since_commit = 0;
                    self.commit_member(c);
                }
            }
            Commit::Interval { .. } | Commit::Transactional { .. } => {}
        }
    }

    /// Commits the processed prefix of every partition assigned to consumer `c`.
    pub(in crate::broker) fn commit_member(&mut self, c: ConsumerId) {
        let Some(consumer) = self.consumers.get(c) else {
            return;
        };
        let Source::Topic(GroupDelivery {
            topic: topic_index,
            group: group_index,
            member,
        }) = consumer.source
        else {
            return;
        };
        let now = self.now;
        let Some(topic) = self.topics.get_mut(topic_index) else {
            return;
        };
        let Some(group) = topic.groups.get_mut(group_index) else {
            return;
        };
        let Some(assigned) = group.assigned.get(member) else {
            return;
        };
        // Without retention, what every group has committed is deleted at once: the
        // partitions whose committed offset moved are trimmed after the loop.
        let mut moved = std::mem::take(&mut self.moved_partitions);
        moved.clear();
        // Only partitions touched since their last commit can move; the member's are a
        // contiguous run (the range assignor's).
        let (first, count) = (assigned.first().map_or(0, |&p| p as usize), assigned.len());
        let mut from = first;
        while let Some(p) = group.touched.first_in(from, first + count) {
            from = p + 1;
            group.touched.remove(p);
            if let (Some(cursor), Some(partition)) =
                (group.cursors.get_mut(p), topic.partitions.get(p))
            {
                let before = cursor.committed;
                cursor.commit();
                cursor.committed_moved(now, partition.end_offset, before);
                group.committed_sum += cursor.committed - before;
                if cursor.committed != before {
                    moved.push(p as u32);
                }
            }
        }
        for &p in &moved {
            self.trim(topic_index, p as usize);
        }
        self.moved_partitions = moved;
    }

    /// The periodic commit of a consumer with an auto-commit interval.
    pub(in crate::broker) fn commit_interval(
        &mut self,
        c: ConsumerId,
        scheduler: &mut Scheduler<Event>,
    ) {
        let (alive, transactional) = self.consumers.get(c).map_or((false, false), |cs| {
            (cs.alive, matches!(cs.commit, Commit::Transactional { .. }))
        });
        if alive && transactional {
            let now = scheduler.now();
            self.commit_transaction(now, c, scheduler);
        } else if alive {
            self.commit_member(c);
        }
        if let Some(Commit::Interval { every } | Commit::Transactional { every }) =
            self.consumers.get(c).map(|c| c.commit)
        {
            scheduler.after(every.nanos.max(1), Event::Commit { consumer: c });
        }
    }

    /// Commits consumer `c`'s transaction: its offsets, and what it published since the last commit.
    pub(in crate::broker) fn commit_transaction(
        &mut self,
        now: SimTime,
        c: ConsumerId,
        scheduler: &mut Scheduler<Event>,
    ) {
        self.commit_member(c);
        let pending = self
            .consumers
            .get_mut(c)
            .map(|cs| std::mem::take(&mut cs.transaction))
            .unwrap_or_default();
        for slot in pending {
            if let Some(message) = self.messages.get(slot).copied() {
                self.forward(now, c, message, Some(slot), scheduler);
            }
        }
    }

    /// Aborts consumer `c`'s transaction (it crashed): nothing it published since the last
    /// commit becomes visible, and the records behind it are processed again, as if for
    /// the first time.
    pub(in crate::broker) fn abort_transaction(&mut self, c: ConsumerId) {
        let Some(consumer) = self.consumers.get_mut(c) else {
            return;
        };
        let pending = std::mem::take(&mut consumer.transaction);
        let (Source::Topic(GroupDelivery { topic, group, .. }), subscription) =
            (consumer.source, consumer.subscription)
        else {
            return;
        };
        for slot in pending {
            let Some(message) = self.messages.get(slot).copied() else {
                continue;
            };
            self.messages.remove(slot);
            if let Some(cursor) = self
                .topics
                .get_mut(topic)
                .and_then(|t| t.groups.get_mut(group))
                .and_then(|g| g.cursors.get_mut(message.partition as usize))
            {
                cursor.undo(message.offset);
            }
            if let Some(sub) = self.subscriptions.get_mut(subscription as usize) {
                sub.forget_processed(message.id);
            }
        }
    }
}
