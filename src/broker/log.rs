//! A topic's log: appending records, and deleting them again, at once when
//! every group has committed them (no retention) or by whole segments on the
//! retention check's schedule (Kafka's `retention.ms` and `retention.bytes`).

use super::error::Failure;
use super::message::flag;
use super::topic::{GroupCursor, Partition, Record};
use super::trace::{HopKind, NO_NODE};
use super::world::{Event, Message, World};
use crate::broker::index::TopicId;
use crate::engine::{Scheduler, SimTime};
use crate::scenario::raw::{Acks, OffsetReset};

impl World {
    /// Appends a record; false when no partition can take it (no leader, or
    /// too few in-sync replicas for an acks=all write), so the publish is refused.
    pub(super) fn append(
        &mut self,
        now: SimTime,
        t: TopicId,
        message: &Message,
        scheduler: &mut Scheduler<Event>,
    ) -> bool {
        if self.tracer.is_some() {
            let node = self
                .topics
                .get(t)
                .map_or(NO_NODE as usize, |topic| topic.node);
            self.trace(now, message.id, node, HopKind::Appended);
        }
        let counted = !message.has(flag::DEAD);
        if self.stored_records >= self.max_records {
            self.logs_full(message);
            return true;
        }
        let needs_all = message
            .publisher()
            .and_then(|p| self.producers.get(p))
            .is_some_and(|p| p.acks == Acks::All);
        let Some(topic) = self.topics.get_mut(t) else {
            return true;
        };
        let partitions = topic.partitions.len();
        let mut p = topic.choose_partition(message.key) as usize;
        // Kafka sends a keyless record to a partition that has a leader; a keyed one must wait.
        if message.key == super::sampling::NO_KEY {
            for _ in 0..partitions {
                if topic.partitions.get(p).is_some_and(|part| part.online(now)) {
                    break;
                }
                p = topic.choose_partition(message.key) as usize;
            }
        }
        let (replicas, min_insync, delay) = (
            topic.replication_factor,
            topic.min_insync_replicas,
            topic.replication_delay,
        );
        let (retention, segment_bytes, roll) = (
            topic.has_retention(),
            topic.segment_bytes,
            topic.segment_roll,
        );
        let Some(partition) = topic.partitions.get_mut(p) else {
            return true;
        };
        let in_sync = replicas.saturating_sub(partition.failed_replicas);
        if !partition.online(now) || (needs_all && in_sync < min_insync) {
            return false;
        }
        partition.records.push_back(Record::of(message, now));
        partition.end_offset += 1;
        partition.end_average.set(now, partition.end_offset);
        partition.bytes += u64::from(message.size);
        if retention {
            partition.add_to_segment(now, u64::from(message.size), segment_bytes, roll);
        }
        topic.appended += 1;
        topic.end_sum += 1;
        self.stored_records += 1;
        let groups = topic.groups.len() as u64;
        // A rewrite of truncated records carries copies that exist already.
        if counted && !message.has(flag::REAPPEND) {
            self.ledger.fanned_out += groups.saturating_sub(1);
        }
        self.trim(t, p);
        if replicas > 1 {
            // Readable once the followers have it.
            scheduler.after(
                delay,
                Event::Replicated {
                    topic: t,
                    partition: p as u32,
                },
            );
        } else {
            self.wake_partition(now, t, p, scheduler);
        }
        true
    }

    /// The logs hold `limits.max_in_flight` records: the run fails, and `message` is lost.
    #[cold]
    fn logs_full(&mut self, message: &Message) {
        self.fail(Failure::LogsFull {
            max_records: self.max_records,
        });
        if !message.has(flag::DEAD) {
            let copies = self.copies_of(message);
            self.ledger.lost.overflow += copies;
            self.ledger.lost_in_transit += copies;
        }
    }

    /// Deletes the records every group has committed, in a topic without retention: no
    /// group can read them again, so they are not kept. (A topic with retention keeps
    /// them until a retention check deletes their segment.)
    pub(super) fn trim(&mut self, t: TopicId, p: usize) {
        let Some(topic) = self.topics.get(t) else {
            return;
        };
        if topic.has_retention() {
            return;
        }
        let Some(partition) = topic.partitions.get(p) else {
            return;
        };
        let upto = topic.min_committed(p).min(topic.readable_end(partition));
        self.delete_below(t, p, upto);
    }

    /// A retention check of topic `t` at `now`: in each partition, the whole segments
    /// retention no longer keeps are deleted, read or not. When that is every segment,
    /// a new empty one takes the appends, as Kafka rolls one first.
    pub(super) fn enforce_retention(&mut self, now: SimTime, t: TopicId) {
        let partitions = self.topics.get(t).map_or(0, |topic| topic.partitions.len());
        for p in 0..partitions {
            let Some(topic) = self.topics.get(t) else {
                return;
            };
            let Some(partition) = topic.partitions.get(p) else {
                continue;
            };
            let cut = partition.expired_segments(
                now,
                topic.readable_end(partition),
                topic.retention_nanos,
                topic.retention_bytes,
            );
            if cut == 0 {
                continue;
            }
            let upto = partition
                .segments
                .get(cut)
                .map_or(partition.end_offset, |next| next.base_offset);
            self.delete_below(t, p, upto);
            let Some(partition) = self
                .topics
                .get_mut(t)
                .and_then(|topic| topic.partitions.get_mut(p))
            else {
                continue;
            };
            partition.segments.drain(..cut);
            if partition.segments.is_empty() {
                partition.segments.push_back(super::topic::Segment {
                    base_offset: partition.end_offset,
                    bytes: 0,
                    first_at: now,
                    last_at: now,
                });
            }
        }
    }

    /// Deletes the records of partition `p` of topic `t` below offset `upto` (never at or
    /// above what consumers may read). A group that had not fetched a deleted record has
    /// lost it; see the comments inside for where its position goes.
    fn delete_below(&mut self, t: TopicId, p: usize, upto: u64) {
        let Some(topic) = self.topics.get_mut(t) else {
            return;
        };
        loop {
            let Some(partition) = topic.partitions.get(p) else {
                return;
            };
            let Some(front) = partition.records.front().copied() else {
                return;
            };
            let offset = partition.base_offset;
            // Kafka deletes only below the high watermark: what every in-sync replica has,
            // which consumers may read.
            let readable = topic.readable_end(partition);
            if offset >= readable || offset >= upto {
                return;
            }
            // A group that had not fetched this record has lost it. Kafka then resets the
            // group's position: to the log start (earliest) or to the end of what consumers
            // may read (latest: the high watermark, never past it, where a failover may
            // truncate the log).
            // A group that fetched it and has not finished it still holds it; a dead letter
            // it holds is done as far as the log goes (it is out of the ledger), so that a
            // rewind past the log start later does not take it for a lost copy.
            for group in &mut topic.groups {
                let Some(cursor) = group.cursors.get_mut(p) else {
                    continue;
                };
                if cursor.position > offset {
                    if front.flags & flag::DEAD != 0 {
                        cursor.complete(offset);
                        group.touched.insert(p);
                    }
                    continue;
                }
                let upto = if group.reset == OffsetReset::Latest {
                    crate::mark!(LatestResetAtHighWatermark if readable < partition.end_offset);
                    readable
                } else {
                    offset + 1
                };
                let lost = skip_to(cursor, partition, upto);
                self.ledger.lost.retention += lost;
                group.lost += lost;
                group.may_fetch(p);
                group.touch(p);
            }
            let Some(partition) = topic.partitions.get_mut(p) else {
                return;
            };
            partition.records.pop_front();
            partition.base_offset += 1;
            partition.bytes -= u64::from(front.size);
            self.stored_records -= 1;
        }
    }
}

/// Moves `cursor` past every offset below `upto` that it has not fetched, returning how many
/// copies that loses: offsets neither processed nor dead letters. Below the log start, the only
/// offsets not complete are records the group had fetched and not finished, which are not dead
/// letters ([`World::trim`] completes a fetched dead letter when it deletes it).
pub(super) fn skip_to(cursor: &mut GroupCursor, partition: &Partition, upto: u64) -> u64 {
    let mut lost = 0;
    while cursor.position < upto {
        let offset = cursor.position;
        let dead = partition
            .record(offset)
            .is_some_and(|r| r.flags & flag::DEAD != 0);
        if !dead && !cursor.is_complete(offset) {
            lost += 1;
        }
        cursor.skip();
    }
    lost
}
