//! Delivery models: what the source a consumer reads from makes of what
//! happens in the consumer's hands.
//!
//! Consumer code (`consume.rs`) decides the outcome of a copy: processed (with
//! its effect: first, duplicate, deduplicated), failed, or out of attempts;
//! and it decides when a consumer goes down or comes back. The delivery model
//! decides what that means for the source: a queue acknowledges, requeues at
//! the head, parks a delayed retry or lets a pull copy wait out its
//! visibility timeout; a consumer group completes an offset, commits, retries
//! in place while its partition waits, and rebalances when a member goes.
//!
//! One file (or folder) per model, behind the [`Delivery`] trait; a consumer's
//! [`Source`] is its model, and `dispatch!` is the one `match` over them. Each model's share of the ledger
//! check (the copies it holds) sits next to it (`recount`).
//!
//! - [`queue`]: RabbitMQ-style push queues and SQS-style pull queues
//!   (a visibility timeout instead of requeue on a crash);
//! - [`group`]: Kafka consumer groups on a topic's partitions.

pub(super) mod group;
pub(super) mod queue;
#[cfg(test)]
pub(super) mod toy;

use super::consumer::{ConsumerState, Source};
use super::generation::Generation;
use super::subscription::Effect;
use super::world::{Event, Message, World};
use crate::broker::index::{ConsumerId, EdgeId};
use crate::engine::arena::Slot;
use crate::engine::{Scheduler, SimTime};

/// Why a consumer stops: what an at-most-once copy in its hands is lost to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Down {
    Crash,
    Disconnected,
}

impl World {
    /// Consumer `c` went down with a copy it had acknowledged on delivery in its hands:
    /// lost, counted by why in the ledger and as the consumer's.
    pub(super) fn lost_going_down(&mut self, c: ConsumerId, why: Down) {
        match why {
            Down::Crash => self.ledger.lost.crash += 1,
            Down::Disconnected => self.ledger.lost.link_loss += 1,
        }
        self.lost_in_hand(c);
    }

    /// Counts a copy lost in consumer `c`'s hands as the consumer's (the ledger counts it by
    /// reason, its queue or group as theirs).
    pub(super) fn lost_in_hand(&mut self, c: ConsumerId) {
        if let Some(consumer) = self.consumers.get_mut(c) {
            consumer.metrics.lost += 1;
        }
    }
}

/// What a source of work does with pull, ack, nack, crash and the recount.
///
/// Every method is called by the consumer code with the consumer `c` that
/// reads from this source; `w` is the whole world (the models reach into
/// their own kind's state and the shared ledger).
pub(super) trait Delivery: Copy {
    /// Consumer `c` processed the copy in `slot` (a copy of `message`) with
    /// `effect`: acknowledge or commit, then end or forward it.
    #[allow(clippy::too_many_arguments)]
    fn processed(
        self,
        w: &mut World,
        now: SimTime,
        c: ConsumerId,
        slot: Slot,
        message: Message,
        effect: Effect,
        scheduler: &mut Scheduler<Event>,
    );

    /// Processing failed: the copy leaves the consumer's hands (a queue's
    /// nack gives the consumer its credit back).
    fn nack(self, _w: &mut World, _now: SimTime, _c: ConsumerId) {}

    /// Whether a failed copy's journey had already ended (a record fetched
    /// again whose offset was already done).
    fn ended(self, _w: &World, _c: ConsumerId, _message: &Message) -> bool {
        false
    }

    /// Tries the copy in `slot` again after `delay` nanoseconds.
    fn retry(
        self,
        w: &mut World,
        now: SimTime,
        c: ConsumerId,
        slot: Slot,
        delay: u64,
        scheduler: &mut Scheduler<Event>,
    );

    /// The source's own dead-letter edge, used when the consumer has none.
    fn dead_letter(self, _w: &World) -> Option<EdgeId> {
        None
    }

    /// The copy in `slot` leaves consumer `c` without being processed
    /// (dead-lettered, sent to retry, dropped): the source moves on.
    fn release(self, _w: &mut World, _c: ConsumerId, _slot: Slot) {}

    /// Counts `n` copies lost here (in the source or its consumers' hands).
    fn lost(self, w: &mut World, n: u64);

    /// Consumer `c` finished a copy (from `partition`): give it more work.
    fn take_more(
        self,
        w: &mut World,
        now: SimTime,
        c: ConsumerId,
        partition: u32,
        scheduler: &mut Scheduler<Event>,
    );

    /// Consumer `c` went down (`why`) holding `held`; `generation` is the one its
    /// work in hand was started in. Redeliver or lose what it held.
    #[allow(clippy::too_many_arguments)]
    fn down(
        self,
        w: &mut World,
        now: SimTime,
        c: ConsumerId,
        why: Down,
        generation: Generation,
        held: Vec<Slot>,
        scheduler: &mut Scheduler<Event>,
    );

    /// Consumer `c` is up and connected again.
    fn up(self, w: &mut World, now: SimTime, c: ConsumerId, scheduler: &mut Scheduler<Event>);

    /// Whether what `consumer` publishes waits for it to commit (Kafka's transactional
    /// consume-process-produce: outputs become visible with the offsets).
    fn holds_outputs(self, _consumer: &ConsumerState) -> bool {
        false
    }

    /// Whether a live copy in `consumer`'s hands is still in flight for the
    /// ledger (a record processed before and fetched again is not).
    fn counted_in_hand(self, _w: &World, _consumer: &ConsumerState, _message: &Message) -> bool {
        true
    }
}

/// The one `match` over the models: `dispatch!(source, m => m.call(...))`.
macro_rules! dispatch {
    ($source:expr, $m:ident => $call:expr) => {
        match $source {
            Source::Queue($m) => $call,
            Source::Topic($m) => $call,
            #[cfg(test)]
            Source::Toy($m) => $call,
        }
    };
}

impl Delivery for Source {
    #[inline]
    fn processed(
        self,
        w: &mut World,
        now: SimTime,
        c: ConsumerId,
        slot: Slot,
        message: Message,
        effect: Effect,
        scheduler: &mut Scheduler<Event>,
    ) {
        dispatch!(self, m => m.processed(w, now, c, slot, message, effect, scheduler))
    }

    #[inline]
    fn nack(self, w: &mut World, now: SimTime, c: ConsumerId) {
        dispatch!(self, m => m.nack(w, now, c))
    }

    fn ended(self, w: &World, c: ConsumerId, message: &Message) -> bool {
        dispatch!(self, m => m.ended(w, c, message))
    }

    fn retry(
        self,
        w: &mut World,
        now: SimTime,
        c: ConsumerId,
        slot: Slot,
        delay: u64,
        scheduler: &mut Scheduler<Event>,
    ) {
        dispatch!(self, m => m.retry(w, now, c, slot, delay, scheduler))
    }

    fn dead_letter(self, w: &World) -> Option<EdgeId> {
        dispatch!(self, m => m.dead_letter(w))
    }

    fn release(self, w: &mut World, c: ConsumerId, slot: Slot) {
        dispatch!(self, m => m.release(w, c, slot))
    }

    fn lost(self, w: &mut World, n: u64) {
        dispatch!(self, m => m.lost(w, n))
    }

    #[inline]
    fn take_more(
        self,
        w: &mut World,
        now: SimTime,
        c: ConsumerId,
        partition: u32,
        scheduler: &mut Scheduler<Event>,
    ) {
        dispatch!(self, m => m.take_more(w, now, c, partition, scheduler))
    }

    fn down(
        self,
        w: &mut World,
        now: SimTime,
        c: ConsumerId,
        why: Down,
        generation: Generation,
        held: Vec<Slot>,
        scheduler: &mut Scheduler<Event>,
    ) {
        dispatch!(self, m => m.down(w, now, c, why, generation, held, scheduler))
    }

    fn up(self, w: &mut World, now: SimTime, c: ConsumerId, scheduler: &mut Scheduler<Event>) {
        dispatch!(self, m => m.up(w, now, c, scheduler))
    }

    #[inline]
    fn holds_outputs(self, consumer: &ConsumerState) -> bool {
        dispatch!(self, m => m.holds_outputs(consumer))
    }

    fn counted_in_hand(self, w: &World, consumer: &ConsumerState, message: &Message) -> bool {
        dispatch!(self, m => m.counted_in_hand(w, consumer, message))
    }
}

/// The copies every source holds for the ledger, each model counting its own
/// (checking its own running sums on the way).
pub(super) fn recount(w: &World) -> Result<u64, crate::broker::error::LedgerError> {
    Ok(queue::recount(w)? + group::recount(w)?)
}
