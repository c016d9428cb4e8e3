//! A consumer: a competing consumer on a queue or a member of a group on a
//! topic. It processes up to `concurrency` messages at once, each for a time
//! drawn from its service distribution, acknowledges after processing, and
//! may publish what it processed onwards (choreography).

use crate::broker::index::EdgeId;
use std::collections::VecDeque;

use super::generation::Generation;
use super::routing::VariantId;
use super::sampling::ServiceSampler;
use crate::engine::SimTime;
use crate::engine::arena::Slot;
use crate::engine::rng::Stream;
use crate::metrics::TimeAverage;
use crate::scenario::raw::{AckMode, Commit, OffsetReset, RetryPolicy};

pub use super::delivery::group::GroupDelivery;
pub use super::delivery::queue::QueueDelivery;

/// What a consumer reads from, and so its delivery model (see `delivery/`): each variant
/// is one model, and the one `match` over them is `delivery::dispatch!`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A queue (push or pull).
    Queue(QueueDelivery),
    /// A member of a topic's consumer group.
    Topic(GroupDelivery),
    /// The test-only model that proves a new one needs only its file and a variant here.
    #[cfg(test)]
    Toy(super::delivery::toy::Toy),
}

/// Where a consumer publishes a processed message.
pub struct Output {
    pub target: usize,
    /// The edge to `target` (its link).
    pub edge: EdgeId,
    /// Variant to publish with, per incoming variant (`None`: keep the incoming one).
    pub rewrite: Option<Vec<VariantId>>,
}

impl Output {
    /// The variant a message of `variant` is published as along this output.
    #[inline]
    pub fn variant_of(&self, variant: VariantId) -> VariantId {
        match &self.rewrite {
            Some(table) => table.get(variant as usize).copied().unwrap_or(variant),
            None => variant,
        }
    }
}

pub struct ConsumerState {
    pub node: usize,
    pub source: Source,
    pub concurrency: u32,
    pub prefetch: u32,
    /// Messages being processed.
    pub busy: u32,
    /// Delivered by a queue and not yet acknowledged (buffered + being processed).
    pub unacked: u32,
    /// Delivered beyond `concurrency`, waiting inside the consumer (prefetch > concurrency),
    /// or still on their way over a link with latency (each copy's `enqueued_at` is then when
    /// it arrives).
    pub buffer: VecDeque<Slot>,
    /// In the queue's `waiting` list.
    pub waiting: bool,
    /// Round-robin cursor over assigned partitions.
    pub next_partition: usize,
    pub service: ServiceSampler,
    pub rng: Stream,
    pub outputs: Vec<Output>,
    /// Topics: how offsets are committed, and completions since the last commit.
    pub commit: Commit,
    pub since_commit: u32,
    /// False while crashed or disconnected.
    pub alive: bool,
    /// When it last went down (crash, cut, broker failure).
    pub down_since: SimTime,
    /// The faults on it now: crashes, slow-downs and failures. (A cut of the edge it reads
    /// from is its link's: see `World::is_disconnected`.)
    pub faults: super::faults::overlap::NodeFaults,
    /// The edge it reads from (the link deliveries cross).
    pub inbound: EdgeId,
    /// When the last delivery sent over a link with latency arrives: deliveries keep their order.
    pub last_arrival: SimTime,
    /// Bumped whenever it goes down and when it comes back: events about it scheduled
    /// before are stale.
    pub generation: Generation,
    /// Copies being processed or awaiting their acknowledgement (each message's `hand` indexes this).
    pub in_hand: Vec<Slot>,
    /// Copies it goes on processing after losing its connection, with the generation their
    /// `Done` carries: it cannot acknowledge them (see `World::disconnect`).
    pub finishing: Vec<(Slot, Generation)>,
    /// Topics: stopped while the group rebalances.
    pub paused: bool,
    /// Transactional consumers: processed records whose output waits for the commit.
    pub transaction: Vec<Slot>,
    pub ack: AckMode,
    pub ack_delay_nanos: u64,
    pub retry: RetryPolicy,
    pub failure_probability: f64,
    pub poison_fraction: f64,
    /// Extra failure probability from faults (a failing dependency): `faults.fails` combined.
    pub fault_failure: f64,
    /// Any failure is possible (a shortcut for the common case of none).
    pub may_fail: bool,
    /// Processing-time multiplier from slow-downs: `faults.slows` combined.
    pub slow_factor: f64,
    /// Edges for messages that failed for good, and for messages to try again later.
    pub dead_letter: Option<EdgeId>,
    pub retry_to: Option<EdgeId>,
    pub session_timeout_nanos: u64,
    pub rebalance_nanos: u64,
    pub auto_offset_reset: OffsetReset,
    /// Index of this consumer's subscription in the world.
    pub subscription: u32,
    pub metrics: ConsumerMetrics,
}

#[derive(Default)]
pub struct ConsumerMetrics {
    pub processed: u64,
    /// Processing attempts that failed.
    pub failed: u64,
    pub crashes: u64,
    /// Processing attempts over the whole run (not reset by the warm-up).
    pub lifetime_attempts: u64,
    pub service_nanos: u128,
    pub started: u64,
    /// Busy slots over time.
    pub busy: TimeAverage,
    /// Produced -> processed, for the journeys that end here (a sink), when the scenario
    /// has more than one sink (with one, it is the run's end-to-end latency): `None` else.
    pub latency: Option<crate::metrics::NodeHistogram>,
    /// Deliveries to this consumer that were redeliveries (whole run).
    pub redelivered: u64,
    /// What befell the copies in this consumer's hands (whole run): lost (a crash or a cut
    /// with nothing acknowledged to bring them back, or rejected with no dead-letter
    /// target), dead-lettered when out of attempts, processed again (a duplicate effect),
    /// and processed after a later message of their key (reordered).
    pub lost: u64,
    pub dead_lettered: u64,
    pub duplicates: u64,
    pub reordered: u64,
}

impl ConsumerMetrics {
    pub fn reset(&mut self, now: SimTime) {
        if let Some(latency) = &mut self.latency {
            latency.reset();
        }
        self.processed = 0;
        self.failed = 0;
        self.service_nanos = 0;
        self.started = 0;
        self.busy.reset(now);
    }
}

impl ConsumerState {
    #[inline]
    pub fn has_credit(&self) -> bool {
        self.unacked < self.prefetch
    }

    #[inline]
    pub fn has_free_slot(&self) -> bool {
        self.busy < self.concurrency && self.alive && !self.paused
    }

    /// Adds a copy to the in-hand list; returns its index for the message's `hand`.
    #[inline]
    pub fn hold(&mut self, slot: Slot) -> u32 {
        self.in_hand.push(slot);
        (self.in_hand.len() - 1) as u32
    }

    /// Removes the copy at `hand` from the in-hand list; returns the slot whose
    /// index changed (it moved into `hand`), so its message can be updated.
    #[inline]
    pub fn release(&mut self, hand: u32) -> Option<Slot> {
        let hand = hand as usize;
        if hand >= self.in_hand.len() {
            return None;
        }
        self.in_hand.swap_remove(hand);
        self.in_hand.get(hand).copied()
    }
}
