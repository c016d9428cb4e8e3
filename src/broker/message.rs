//! A message copy as it travels, and the engine events of the broker model.

use super::generation::Generation;
use super::routing::VariantId;
use crate::broker::index::{ConsumerId, EdgeId, ProducerId, QueueId, TopicId};
use crate::engine::SimTime;
use crate::engine::arena::Slot;

/// Flags: what happened to a copy, for ordering blame and the ledger.
pub mod flag {
    /// Delivered again after a crash, a nack or an expired visibility timeout.
    pub const REDELIVERED: u8 = 1;
    /// Tried again after failing.
    pub const RETRIED: u8 = 2;
    /// Fetched again after a consumer-group rebalance.
    pub const REBALANCED: u8 = 4;
    /// Dead-lettered: its journey has ended; the ledger no longer tracks it.
    pub const DEAD: u8 = 8;
    /// Processed and forwarded, waiting only for its acknowledgement: the
    /// journey continues in the forwarded copy, so the ledger does not count this one.
    pub const GHOST: u8 = 16;
    /// A producer's retry of a write a leader failure truncated: its copies already exist.
    pub const REAPPEND: u8 = 32;
    /// A producer's retry of a write that had landed (its acknowledgement was lost): a duplicate.
    pub const DUPLICATE_PUBLISH: u8 = 64;
    /// A record an at-most-once group member fetched again (after a rebalance) whose offset
    /// its group had finished and not committed (processed, or given up on, by an
    /// at-least-once member): that copy ended then, so this one is not in the ledger, and
    /// processing it again makes a duplicate. (The member commits on fetch, which forgets
    /// what was finished past the committed offset, so this is decided when it fetches.)
    pub const REPLAYED: u8 = 128;
}

/// A message copy in a queue or in a consumer's hands.
#[derive(Debug, Clone, Copy)]
pub struct Message {
    /// Unique per produced message; copies share it.
    pub id: u64,
    pub produced_at: SimTime,
    /// When it entered its current queue.
    pub enqueued_at: SimTime,
    /// For records read from a topic: the offset, to commit. For copies in a queue: their
    /// dead-letter history (a [`super::deaths::History`]), set as they enter the queue.
    pub offset: u64,
    pub key: u32,
    /// Per-key sequence number, in production order.
    pub key_seq: u32,
    pub size: u32,
    /// For records read from a topic: the partition.
    pub partition: u32,
    /// Index in its consumer's in-hand list while a consumer holds it. For a producer's
    /// publish that a queue refused (a nack) and that the producer tries again: the copies
    /// it stands for (see `World::copies_of`).
    pub hand: u32,
    pub variant: VariantId,
    /// Failed processing attempts so far.
    pub attempts: u16,
    /// Deliveries to a consumer so far.
    pub deliveries: u16,
    pub priority: u8,
    pub flags: u8,
    /// Being processed by a consumer (started, not done yet). Fits in the padding: the
    /// copy stays 64 bytes.
    pub processing: bool,
    /// The producer the message started at (index + 1; 0 for a service's), with
    /// [`FORWARDED`] set on a copy a consumer published onwards.
    pub producer: u16,
}

/// Set in [`Message::producer`] on a copy a consumer published onwards: it keeps its
/// origin (poison draws depend on it), but its producer's publish guarantees no longer apply.
pub const FORWARDED: u16 = 0x8000;

/// The producer (index) whose own publish a message or record with this `producer`
/// field is: `None` for a copy a consumer or a service published.
#[inline]
pub fn publisher(producer: u16) -> Option<ProducerId> {
    if producer & FORWARDED != 0 {
        return None;
    }
    (producer as usize).checked_sub(1).map(ProducerId::from)
}

impl Message {
    #[inline]
    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }

    /// The producer (index) that published this copy, when its publish guarantees
    /// (acknowledgements, retries) apply to it.
    #[inline]
    pub fn publisher(&self) -> Option<ProducerId> {
        publisher(self.producer)
    }

    /// The producer (index) the message started at, also for copies published onwards.
    #[inline]
    pub fn origin(&self) -> Option<usize> {
        ((self.producer & !FORWARDED) as usize).checked_sub(1)
    }
}

#[derive(Debug, Clone, Copy)]
pub enum Event {
    Produce {
        producer: ProducerId,
    },
    /// The broker applies topic `topic`'s retention (every `retention_check`).
    RetentionCheck {
        topic: TopicId,
    },
    /// A consumer finished processing. Events about a consumer carry its generation: they
    /// are stale once it went down or came back since.
    Done {
        consumer: ConsumerId,
        slot: Slot,
        generation: Generation,
    },
    /// A consumer's acknowledgement reaches the queue.
    AckArrive {
        consumer: ConsumerId,
        slot: Slot,
        generation: Generation,
    },
    /// Deliveries sent over a link with latency reach consumer `consumer`.
    Arrive {
        consumer: ConsumerId,
        generation: Generation,
    },
    /// A delayed retry goes back into its queue.
    Requeue {
        queue: QueueId,
        slot: Slot,
    },
    /// A topic consumer tries a failed record again (blocking retry).
    Retry {
        consumer: ConsumerId,
        slot: Slot,
        generation: Generation,
    },
    /// A queue's next TTL check (at most one is pending: `QueueState::expiry`).
    Expire {
        queue: QueueId,
        generation: Generation,
    },
    /// A partition's followers have copied the records appended a replication delay ago.
    Replicated {
        topic: TopicId,
        partition: u32,
    },
    /// A partition has a leader again after a failover.
    PartitionOnline {
        topic: TopicId,
        partition: u32,
    },
    /// A message reaches the end of a link with latency.
    Transit {
        edge: EdgeId,
        slot: Slot,
    },
    /// A producer tries a refused or unacknowledged publish again.
    PublishRetry {
        producer: ProducerId,
        slot: Slot,
    },
    /// A pull queue's earliest visibility timeout ends (at most one is pending:
    /// `QueueState::visibility`).
    Visibility {
        queue: QueueId,
        generation: Generation,
    },
    /// A topic consumer's periodic offset commit.
    Commit {
        consumer: ConsumerId,
    },
    /// A crashed group member's session times out.
    MemberExpired {
        consumer: ConsumerId,
        generation: Generation,
    },
    /// A consumer group's rebalance completes, unless another began since (`generation`:
    /// `GroupState::rebalance`).
    RebalanceDone {
        topic: TopicId,
        group: u32,
        generation: Generation,
    },
    /// Fault `index` starts or ends.
    FaultStart {
        index: u32,
    },
    /// The faults due at this instant apply (after everything else at it; at most one is
    /// pending: `World::fault_flush`).
    FlushFaults {
        generation: Generation,
    },
    FaultEnd {
        index: u32,
    },
    /// A request reaches its service along a call edge (requests live in `service::Requests`;
    /// an event about a request is stale once the request moved on: its `generation`).
    RequestArrive {
        request: u32,
        generation: Generation,
    },
    /// A service has processed a request; its calls come next.
    RequestDone {
        request: u32,
        generation: Generation,
    },
    /// A callee's answer reaches the caller; `outcome` is the call edge << 1 | success.
    CallAnswer {
        request: u32,
        generation: Generation,
        outcome: u32,
    },
    /// A call's timeout ends.
    CallTimeout {
        request: u32,
        generation: Generation,
    },
    /// A call's backoff ends: it is tried again.
    CallRetry {
        request: u32,
        generation: Generation,
    },
    Sample,
    WarmupEnd,
}

const _: () = assert!(std::mem::size_of::<Message>() <= 64);

// Events are copied through the pending-event set by the million: keep them at 16 bytes
// (at most three `u32` fields per variant; per-request state lives in `service::Requests`).
const _: () = assert!(std::mem::size_of::<Event>() <= 16);
