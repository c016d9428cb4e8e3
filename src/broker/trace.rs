//! Message tracing: the life of a sample of messages, hop by hop, for the lab's
//! travelling dots and its message-trace timeline.
//!
//! Off by default: the headless runs pay one predictable branch per hook. When on,
//! messages whose id is a multiple of `every` are followed from production to their
//! end; hops wait in a bounded buffer until the front takes them.

use crate::engine::SimTime;

/// What happened to a message at a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HopKind {
    Produced,
    /// Passed through an exchange.
    Routed,
    Enqueued,
    /// Appended to a topic's log.
    Appended,
    /// A consumer started processing it.
    Delivered,
    Processed,
    /// Processed again: its effect applied twice.
    Duplicate,
    /// Recognised as a duplicate by an idempotent consumer and skipped.
    Deduplicated,
    Failed,
    /// Scheduled to be tried again.
    Retried,
    /// Sent along a dead-letter edge to this node.
    DeadLettered,
    /// Lost (the ledger's reason tells why); the node is where, when known.
    Lost,
}

impl HopKind {
    pub fn label(self) -> &'static str {
        match self {
            HopKind::Produced => "produced",
            HopKind::Routed => "routed",
            HopKind::Enqueued => "enqueued",
            HopKind::Appended => "appended to the log",
            HopKind::Delivered => "delivered",
            HopKind::Processed => "processed",
            HopKind::Duplicate => "processed again (duplicate)",
            HopKind::Deduplicated => "skipped as a duplicate",
            HopKind::Failed => "failed",
            HopKind::Retried => "retried",
            HopKind::DeadLettered => "dead-lettered",
            HopKind::Lost => "lost",
        }
    }
}

/// Where a hop happened when no node is known (a copy dropped by its queue, say).
pub const NO_NODE: u32 = u32::MAX;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hop {
    pub at: SimTime,
    pub message: u64,
    /// Scenario node index, or [`NO_NODE`].
    pub node: u32,
    pub kind: HopKind,
}

/// Hops kept until taken; beyond this, new ones are dropped (and counted).
const BUFFER: usize = 200_000;

pub struct Tracer {
    every: u64,
    hops: Vec<Hop>,
    pub dropped: u64,
}

impl Tracer {
    pub fn new(every: u64) -> Self {
        Self {
            every: every.max(1),
            hops: Vec::new(),
            dropped: 0,
        }
    }

    pub fn every(&self) -> u64 {
        self.every
    }

    #[inline]
    pub fn record(&mut self, at: SimTime, message: u64, node: usize, kind: HopKind) {
        if message % self.every != 0 {
            return;
        }
        if self.hops.len() >= BUFFER {
            self.dropped += 1;
            return;
        }
        self.hops.push(Hop {
            at,
            message,
            node: u32::try_from(node).unwrap_or(NO_NODE),
            kind,
        });
    }

    pub fn take(&mut self) -> Vec<Hop> {
        std::mem::take(&mut self.hops)
    }
}

impl super::world::World {
    /// Records a hop of message `message` at scenario node `node` when tracing is on.
    #[inline]
    pub(super) fn trace(&mut self, at: SimTime, message: u64, node: usize, kind: HopKind) {
        if let Some(tracer) = &mut self.tracer {
            tracer.record(at, message, node, kind);
        }
    }

    /// Records a hop of the copy in `slot`.
    #[inline]
    pub(super) fn trace_slot(
        &mut self,
        at: SimTime,
        slot: crate::engine::arena::Slot,
        node: usize,
        kind: HopKind,
    ) {
        if self.tracer.is_some()
            && let Some(id) = self.messages.get(slot).map(|m| m.id)
        {
            self.trace(at, id, node, kind);
        }
    }

    /// Follows every `every`-th message from now on (`None`: stop).
    pub fn set_tracing(&mut self, every: Option<u64>) {
        self.tracer = every.map(|every| Box::new(Tracer::new(every)));
    }

    /// The hops recorded since the last call.
    pub fn take_hops(&mut self) -> Vec<Hop> {
        self.tracer.as_mut().map(|t| t.take()).unwrap_or_default()
    }
}
