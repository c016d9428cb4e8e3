//! A RabbitMQ-style queue: FIFO per priority, max length with an overflow
//! policy, per-queue message TTL, and push delivery to competing consumers
//! in round-robin order among those with prefetch credit.
//!
//! This file holds the queue's own state; moving a message to a consumer is
//! the world's job ([`super::world`]), since it touches both.

use crate::broker::index::{ConsumerId, EdgeId};
use std::collections::VecDeque;

use super::generation::Pending;
use crate::engine::SimTime;
use crate::engine::arena::Slot;
use crate::metrics::{NodeHistogram, TimeAverage};
use crate::scenario::raw::Overflow;

pub struct QueueState {
    pub node: usize,
    /// Ready messages, one FIFO per priority level (index = priority).
    pub ready: Vec<VecDeque<Slot>>,
    pub ready_len: u64,
    /// Delivered to a consumer, not yet acknowledged.
    pub unacked: u64,
    pub max_length: Option<u64>,
    pub overflow: Overflow,
    pub ttl_nanos: Option<u64>,
    /// Its next TTL check (`Event::Expire`), pending or not.
    pub expiry: Pending,
    /// Consumers (indices into the world's consumers) with prefetch credit, in
    /// round-robin order; each at most once.
    pub waiting: VecDeque<ConsumerId>,
    /// Edge rejected, expired and over-limit messages take (the dead-letter exchange).
    pub dead_letter: Option<EdgeId>,
    pub max_deliveries: Option<u32>,
    /// Index of this queue's subscription in the world.
    pub subscription: u32,
    /// SQS-style pull: how long a received message stays invisible, and the
    /// received messages waiting for their deadline, oldest first.
    pub visibility_timeout: Option<u64>,
    pub invisible: VecDeque<Invisible>,
    /// Its next visibility deadline (`Event::Visibility`), pending or not.
    pub visibility: Pending,
    /// Received messages whose consumer crashed: invisible until their timeout ends.
    pub orphans: u64,
    /// False while its broker is down.
    pub online: bool,
    /// Broker failures on it now: it is back online when the last one ends.
    pub outages: super::faults::overlap::Active,
    pub durable: bool,
    /// Copies lost while in this queue or its consumers' hands (whole run, as the
    /// ledger's `lost`).
    pub lost: u64,
    pub metrics: QueueMetrics,
}

/// Per-queue statistics since the end of the warm-up.
#[derive(Default)]
pub struct QueueMetrics {
    pub enqueued: u64,
    pub delivered: u64,
    pub dropped_overflow: u64,
    pub dropped_ttl: u64,
    /// Publishes it refused to publishers waiting for confirms (a nack: they may retry).
    pub nacked: u64,
    /// Time from enqueue to delivery.
    pub wait: NodeHistogram,
    /// Ready messages over time.
    pub depth: TimeAverage,
    /// Unacknowledged messages over time.
    pub unacked: TimeAverage,
}

impl QueueMetrics {
    pub fn reset(&mut self, now: SimTime) {
        self.enqueued = 0;
        self.delivered = 0;
        self.dropped_overflow = 0;
        self.dropped_ttl = 0;
        self.nacked = 0;
        self.wait.reset();
        self.depth.reset(now);
        self.unacked.reset(now);
    }
}

/// Receipts of pull deliveries are numbered from here, far above any partition number.
pub const RECEIPT_BASE: u32 = 1 << 31;

/// The `hand` of a received message whose consumer crashed (SQS: it waits out its visibility timeout).
pub const ORPHAN: u32 = u32::MAX;

/// A message received from a pull queue, until it is deleted or its visibility timeout ends.
#[derive(Debug, Clone, Copy)]
pub struct Invisible {
    pub deadline: SimTime,
    pub slot: Slot,
    pub consumer: ConsumerId,
    pub id: u64,
    /// The receipt of the receive this deadline belongs to (a later receive has its own).
    pub receipt: u32,
}

impl QueueState {
    pub fn new(
        node: usize,
        max_priority: u8,
        max_length: Option<u64>,
        overflow: Overflow,
        ttl_nanos: Option<u64>,
    ) -> Self {
        Self {
            node,
            ready: (0..=max_priority).map(|_| VecDeque::new()).collect(),
            ready_len: 0,
            unacked: 0,
            max_length,
            overflow,
            ttl_nanos,
            expiry: Pending::default(),
            waiting: VecDeque::new(),
            dead_letter: None,
            max_deliveries: None,
            subscription: 0,
            visibility_timeout: None,
            invisible: VecDeque::new(),
            visibility: Pending::default(),
            orphans: 0,
            online: true,
            outages: Default::default(),
            durable: true,
            lost: 0,
            metrics: QueueMetrics::default(),
        }
    }

    /// The queue is at its max length: one more ready message would overflow.
    #[inline]
    pub fn is_full(&self) -> bool {
        self.max_length.is_some_and(|max| self.ready_len >= max)
    }

    /// The queue refuses a publish now: it is full and its overflow policy is
    /// reject-publish (a consumer waiting for a message would take it at once).
    #[inline]
    pub fn refuses_publish(&self) -> bool {
        self.overflow == Overflow::RejectPublish && self.is_full() && self.waiting.is_empty()
    }

    /// Appends a ready message at `priority` (clamped to the queue's maximum, as RabbitMQ does).
    #[inline]
    pub fn push_ready(&mut self, now: SimTime, slot: Slot, priority: u8) {
        let level = (priority as usize).min(self.ready.len().saturating_sub(1));
        if let Some(fifo) = self.ready.get_mut(level) {
            fifo.push_back(slot);
            self.ready_len += 1;
            self.metrics.depth.set(now, self.ready_len);
        }
    }

    /// Puts a message back at the head of its priority level (a redelivery).
    #[inline]
    pub fn push_front_ready(&mut self, now: SimTime, slot: Slot, priority: u8) {
        let level = (priority as usize).min(self.ready.len().saturating_sub(1));
        if let Some(fifo) = self.ready.get_mut(level) {
            fifo.push_front(slot);
            self.ready_len += 1;
            self.metrics.depth.set(now, self.ready_len);
        }
    }

    /// Removes the head: the oldest message of the highest non-empty priority.
    #[inline]
    pub fn pop_head(&mut self, now: SimTime) -> Option<Slot> {
        let slot = self.ready.iter_mut().rev().find_map(VecDeque::pop_front)?;
        self.ready_len -= 1;
        self.metrics.depth.set(now, self.ready_len);
        Some(slot)
    }

    /// The heads of every priority level, for TTL checks.
    pub fn heads(&self) -> impl Iterator<Item = Slot> + '_ {
        self.ready.iter().filter_map(|fifo| fifo.front().copied())
    }

    /// Removes the head of priority level `level`.
    pub fn pop_level(&mut self, now: SimTime, level: usize) -> Option<Slot> {
        let slot = self.ready.get_mut(level)?.pop_front()?;
        self.ready_len -= 1;
        self.metrics.depth.set(now, self.ready_len);
        Some(slot)
    }

    #[inline]
    pub fn set_unacked(&mut self, now: SimTime, unacked: u64) {
        self.unacked = unacked;
        self.metrics.unacked.set(now, unacked);
    }
}
