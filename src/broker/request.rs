//! Requests between clients and services, and their ledger.
//!
//! Requests are not messages: a request asks for an answer, and what counts
//! is whether it came (succeeded or failed) and how long it took. They live in
//! their own slab, addressed by `u32` like the message arena so that events
//! stay small, and have their own ledger: every request a client (a producer
//! whose edge leads to a service) sends ends once, as succeeded or failed, or
//! is still in flight.

use super::generation::Generation;
use super::routing::VariantId;
use crate::broker::index::{ProducerId, ServiceId};
use crate::engine::SimTime;
use crate::metrics::LatencyHistogram;

/// What a request carries onwards: to its callees and into what its service publishes.
#[derive(Debug, Clone, Copy)]
pub struct Body {
    pub key: u32,
    pub size: u32,
    pub variant: VariantId,
    pub priority: u8,
}

/// Where a request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The slot is free.
    Free,
    /// On its way to the service along a call edge.
    InTransit,
    /// Waiting for a worker.
    Waiting,
    /// Being processed.
    Working,
    /// Its worker waits for a callee's answer.
    Calling,
    /// Its worker waits out the backoff before trying a call again.
    Backoff,
}

/// Who waits for a request's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// A producer (a client at the top of the chain).
    Client { producer: ProducerId },
    /// Another service's request, making call `call` (an index into `Services::calls`).
    Service {
        request: u32,
        generation: Generation,
        call: u32,
    },
}

#[derive(Debug, Clone, Copy)]
pub struct Request {
    pub phase: Phase,
    /// The service handling it.
    pub service: ServiceId,
    pub caller: Caller,
    /// Bumped whenever it moves on (and by the slab when it takes the slot): events about
    /// an earlier step are stale. It lives on in the slot, so events about the slot's
    /// earlier request stay stale too.
    pub generation: Generation,
    pub arrived_at: SimTime,
    pub body: Body,
    /// The call being made (a position in the service's call list), and attempts made on it.
    pub call: u32,
    pub attempt: u32,
    /// The breaker episode the current attempt was let through in.
    pub episode: Generation,
    /// Position in the service's `active` list while it holds a worker.
    pub worker: u32,
}

/// The slab of requests in flight, with a cap like the message arena's.
pub struct Requests {
    slots: Vec<Request>,
    free: Vec<u32>,
    cap: usize,
}

impl Requests {
    pub(super) fn with_cap(cap: usize) -> Self {
        Self {
            slots: Vec::new(),
            free: Vec::new(),
            cap: cap.min(u32::MAX as usize),
        }
    }

    /// Puts `request` in a slot, with the next generation of the slot (its own
    /// `generation` is ignored): its slot and generation, or `None` when the slab is at
    /// its cap.
    pub(super) fn insert(&mut self, mut request: Request) -> Option<(u32, Generation)> {
        if let Some(slot) = self.free.pop()
            && let Some(place) = self.slots.get_mut(slot as usize)
        {
            request.generation = place.generation;
            request.generation.bump();
            *place = request;
            return Some((slot, request.generation));
        }
        if self.slots.len() >= self.cap {
            return None;
        }
        request.generation = Generation::default();
        self.slots.push(request);
        Some(((self.slots.len() - 1) as u32, request.generation))
    }

    pub(super) fn remove(&mut self, slot: u32) {
        if let Some(request) = self.slots.get_mut(slot as usize)
            && request.phase != Phase::Free
        {
            request.phase = Phase::Free;
            self.free.push(slot);
        }
    }

    pub fn get(&self, slot: u32) -> Option<&Request> {
        self.slots
            .get(slot as usize)
            .filter(|r| r.phase != Phase::Free)
    }

    pub(super) fn get_mut(&mut self, slot: u32) -> Option<&mut Request> {
        self.slots
            .get_mut(slot as usize)
            .filter(|r| r.phase != Phase::Free)
    }

    /// The live request in `slot` if an event scheduled with `generation` is current.
    pub(super) fn current(&self, slot: u32, generation: Generation) -> Option<&Request> {
        self.get(slot)
            .filter(|r| r.generation.is_current(generation))
    }

    /// Every live request.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &Request)> {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, r)| r.phase != Phase::Free)
            .map(|(i, r)| (i as u32, r))
    }

    pub fn cap(&self) -> usize {
        self.cap
    }

    /// Most requests in flight at once.
    pub fn high_water(&self) -> usize {
        self.slots.len()
    }
}

/// The client side, over the whole run: `sent = succeeded + failed + in flight`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestLedger {
    pub sent: u64,
    pub succeeded: u64,
    pub failed: u64,
}

impl RequestLedger {
    pub fn in_flight(&self) -> u64 {
        self.sent.saturating_sub(self.succeeded + self.failed)
    }
}

/// One client's requests: whole-run counts, and response times after the warm-up.
#[derive(Clone, Default)]
pub struct ClientStats {
    pub ledger: RequestLedger,
    /// Sent -> answered, for requests that succeeded and for those that failed.
    pub latency: LatencyHistogram,
    pub failed_latency: LatencyHistogram,
}

impl ClientStats {
    pub(super) fn answered(&mut self, latency: SimTime, ok: bool) {
        if ok {
            self.ledger.succeeded += 1;
            self.latency.record(latency);
        } else {
            self.ledger.failed += 1;
            self.failed_latency.record(latency);
        }
    }
}
