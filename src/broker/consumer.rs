//! A consumer: a competing consumer on a queue or a member of a group on a
//! topic. It processes up to `concurrency` messages at once, each for a time
//! drawn from its service distribution, acknowledges after processing, and
//! may publish what it processed onwards (choreography).

use std::collections::VecDeque;

use super::routing::VariantId;
use super::sampling::ServiceSampler;
use crate::engine::SimTime;
use crate::engine::arena::Slot;
use crate::engine::rng::Stream;
use crate::metrics::TimeAverage;
use crate::scenario::raw::Commit;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Index into the world's queues.
    Queue(u32),
    /// Indices into the world's topics and that topic's groups, and this consumer's place among the members.
    Topic { topic: u32, group: u32, member: u32 },
}

/// Where a consumer publishes a processed message.
pub struct Output {
    pub target: usize,
    /// Variant to publish with, per incoming variant (`None`: keep the incoming one).
    pub rewrite: Option<Vec<VariantId>>,
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
    /// Delivered beyond `concurrency`, waiting inside the consumer (prefetch > concurrency).
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
    pub metrics: ConsumerMetrics,
}

#[derive(Default)]
pub struct ConsumerMetrics {
    pub processed: u64,
    pub service_nanos: u128,
    pub started: u64,
    /// Busy slots over time.
    pub busy: TimeAverage,
}

impl ConsumerMetrics {
    pub fn reset(&mut self, now: SimTime) {
        self.processed = 0;
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
        self.busy < self.concurrency
    }
}
