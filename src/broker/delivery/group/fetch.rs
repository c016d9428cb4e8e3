//! Fetching: a member reads the partitions assigned to it that may have a
//! record (the group's fetchable bitsets), round-robin; rewinding a partition
//! to its committed offset; `auto.offset.reset` when the committed offset
//! fell below the log start.

use crate::broker::consumer::{GroupDelivery, Source};
use crate::broker::index::{ConsumerId, TopicId};
use crate::broker::log::skip_to;
use crate::broker::message::flag;
use crate::broker::topic::Record;
use crate::broker::world::{Event, Message, World};
use crate::engine::{Scheduler, SimTime};
use crate::scenario::raw::{AckMode, OffsetReset};

impl World {
    /// Group `g` fetches partition `p` again from its committed offset (after a crash or a
    /// rebalance).
    pub(in crate::broker) fn rewind(&mut self, t: TopicId, g: usize, p: usize) {
        let Some(topic) = self.topics.get_mut(t) else {
            return;
        };
        let (Some(partition), Some(cursor)) = (
            topic.partitions.get(p),
            topic.groups.get_mut(g).and_then(|g| g.cursors.get_mut(p)),
        ) else {
            return;
        };
        cursor.rewind();
        let below = cursor.position < partition.base_offset;
        if let Some(group) = topic.groups.get_mut(g) {
            group.may_fetch(p);
        }
        if below {
            crate::mark!(RewoundBelowLogStart);
            self.reset_below_log_start(t, g, p);
        }
    }

    /// After a rewind (a crash, a rebalance), group `g` may have to fetch partition `p` from
    /// below the log start: retention deleted records it had fetched and not committed. Kafka's
    /// fetch is then out of range and `auto.offset.reset` applies at once, as in [`World::trim`]:
    /// what it had not finished of the deleted records (and, resetting to the latest, of the
    /// rest) is lost to retention. Keeps every group's position at or above the log start.
    #[cold]
    pub(in crate::broker) fn reset_below_log_start(&mut self, t: TopicId, g: usize, p: usize) {
        let Some(topic) = self.topics.get_mut(t) else {
            return;
        };
        let readable = topic
            .partitions
            .get(p)
            .map_or(0, |partition| topic.readable_end(partition));
        let (Some(partition), Some(group)) = (topic.partitions.get(p), topic.groups.get_mut(g))
        else {
            return;
        };
        let upto = if group.reset == OffsetReset::Latest {
            crate::mark!(LatestResetAtHighWatermark if readable < partition.end_offset);
            readable
        } else {
            partition.base_offset
        };
        if let Some(cursor) = group.cursors.get_mut(p)
            && cursor.position < partition.base_offset
        {
            let lost = skip_to(cursor, partition, upto);
            self.ledger.lost.retention += lost;
            group.lost += lost;
            group.touch(p);
        }
        group.may_fetch(p);
    }

    /// Fills consumer `c`'s free slots from its assigned partitions, round-robin.
    pub(in crate::broker) fn fetch(
        &mut self,
        now: SimTime,
        c: ConsumerId,
        scheduler: &mut Scheduler<Event>,
    ) {
        let Some(consumer) = self.consumers.get_mut(c) else {
            return;
        };
        let Source::Topic(GroupDelivery {
            topic,
            group,
            member,
        }) = consumer.source
        else {
            return;
        };
        let Some(topic) = self.topics.get_mut(topic) else {
            return;
        };
        let replicated = topic.replication_factor > 1;
        let Some(group) = topic.groups.get_mut(group) else {
            return;
        };
        let (Some(assigned), Some(fetchable)) =
            (group.assigned.get(member), group.fetchable.get_mut(member))
        else {
            return;
        };
        let count = assigned.len();
        let mut full = false;
        // Round-robin from `next_partition` over the partitions that may have a record: the
        // order a scan of every assigned partition takes, skipping those known to be idle.
        while consumer.has_free_slot() {
            let from = consumer.next_partition % count.max(1);
            let Some(i) = fetchable.next_from(from, count) else {
                return;
            };
            let Some(&p) = assigned.get(i) else {
                return;
            };
            let (Some(partition), Some(cursor)) = (
                topic.partitions.get(p as usize),
                group.cursors.get_mut(p as usize),
            ) else {
                return;
            };
            let end = if replicated {
                partition.hw
            } else {
                partition.end_offset
            };
            let readable = cursor.position < end && partition.online(now);
            let Some(record) = partition.record(cursor.position).filter(|_| readable) else {
                fetchable.remove(i);
                continue;
            };
            consumer.next_partition = (i + 1) % count;
            let again = cursor.fetched_before(cursor.position);
            let replayed = again
                && consumer.ack == AckMode::BeforeProcessing
                && cursor.is_complete(cursor.position);
            let mut message = fetched(record, p, cursor.position, again, replayed);
            if again {
                self.ledger.redeliveries += 1;
                consumer.metrics.redelivered += 1;
            }
            let Ok(slot) = self.messages.insert(message) else {
                full = true;
                break;
            };
            cursor.take();
            group.touched.insert(p as usize);
            if consumer.ack == AckMode::BeforeProcessing {
                // At-most-once: commit past the record before processing it.
                group.committed_sum += cursor.commit_fetched(now, partition.end_offset);
            }
            Self::start(
                now,
                c,
                consumer,
                &mut message,
                slot,
                scheduler,
                &mut self.tracer,
            );
            if let Some(stored) = self.messages.get_mut(slot) {
                stored.hand = message.hand;
            }
        }
        if full {
            self.at_capacity();
        }
    }
}

/// The copy a fetch hands out of `record`, at `offset` of partition `p`: fetched `again`
/// after a rebalance, and `replayed` when an at-most-once group had committed it already.
#[inline]
fn fetched(record: &Record, p: u32, offset: u64, again: bool, replayed: bool) -> Message {
    let again = if again {
        flag::REBALANCED | flag::REDELIVERED
    } else {
        0
    };
    let replayed = if replayed { flag::REPLAYED } else { 0 };
    Message {
        partition: p,
        offset,
        deliveries: 1,
        flags: record.flags | again | replayed,
        ..record.message()
    }
}
