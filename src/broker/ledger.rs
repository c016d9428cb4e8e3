//! The ledger: whole-run counts that account for every copy of every message.
//!
//! A *copy* is one message's obligation to one subscription: routing to
//! several queues, several consumer groups reading one topic, and a consumer
//! publishing to several outputs make extra copies (`fanned_out`); a producer
//! retry that lands twice and a forwarded message redelivered after a crash
//! make `duplicate_copies`. Every copy ends exactly once: processed,
//! dead-lettered, or lost with a reason; until then it is in flight:
//!
//! `produced + fanned_out + duplicate_copies = processed + dead_lettered + lost + in_flight`
//!
//! The ledger is never reset by the warm-up. Message-level counts that do not
//! end copies (duplicate effects, retries, redeliveries, reorderings) are kept
//! beside it.

use serde::Serialize;

/// Why copies were lost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Lost {
    /// Published to an exchange that routed it nowhere.
    pub unroutable: u64,
    /// Refused or pushed out by a full queue.
    pub overflow: u64,
    /// Expired in a queue (message TTL) with no dead-letter target.
    pub ttl: u64,
    /// Deleted by topic retention before its group read it.
    pub retention: u64,
    /// In the hands of an at-most-once consumer that crashed.
    pub crash: u64,
    /// Failed for good with nowhere to dead-letter it.
    pub rejected: u64,
    /// On a broker that failed: a transient queue's contents, writes a new leader
    /// never had, publishes refused while the broker was down and not retried.
    pub broker_failure: u64,
    /// Lost on a link (a cut, or a lossy network) by a publisher that does not retry.
    pub link_loss: u64,
}

impl Lost {
    pub fn total(&self) -> u64 {
        self.unroutable
            + self.overflow
            + self.ttl
            + self.retention
            + self.crash
            + self.rejected
            + self.broker_failure
            + self.link_loss
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ledger {
    pub produced: u64,
    pub fanned_out: u64,
    pub duplicate_copies: u64,
    /// Copies whose journey ended with processing (acknowledged or committed).
    pub processed: u64,
    /// Copies that reached a dead-letter target.
    pub dead_lettered: u64,
    pub lost: Lost,
    /// Of `lost`, the copies lost between nodes, before a queue or topic held them:
    /// unroutable, lost on a link, refused and not published again, or no room to
    /// store them. The others were lost in a queue or a group, which count them too.
    pub lost_in_transit: u64,
    /// Failed attempts that were tried again.
    pub retries: u64,
    /// Deliveries of a copy after its first (crash, nack, visibility timeout, rebalance).
    pub redeliveries: u64,
    /// Writes the producer was told were safe, then lost (acks=1 and a leader failure).
    pub acknowledged_lost: u64,
    /// Publishes tried again by producers.
    pub publish_retries: u64,
}

impl Ledger {
    /// Copies created and not yet ended.
    pub fn in_flight(&self) -> u64 {
        (self.produced + self.fanned_out + self.duplicate_copies)
            .saturating_sub(self.processed + self.dead_lettered + self.lost.total())
    }
}
