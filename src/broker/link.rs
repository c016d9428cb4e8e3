//! Links: the network between a publisher and what it publishes to, and
//! between a queue or topic and its consumers.
//!
//! Every publish edge (producer -> exchange/queue/topic, consumer -> its
//! outputs) is a link with a latency, and faults can cut it, delay it or make
//! it lose messages. A message in transit is in flight; one lost on a link is
//! lost (`link_loss`), unless its producer waits for acknowledgements and has
//! retries: it then hears nothing back, and after its request timeout it
//! publishes again (over the link again).
//!
//! A delivery edge (queue -> consumer) is the consumer's connection: its
//! latency delays each delivery and each acknowledgement (with a prefetch of
//! P, a consumer can take at most P per round trip), and a cut disconnects the
//! consumer (see `World::disconnect`), as does a cut between a topic and a
//! group member. Which edges take which is `scenario::check::link_allowed`.

use crate::broker::index::EdgeId;
use rand::RngExt;

use super::world::{Event, Message, World};
use crate::engine::arena::Slot;
use crate::engine::rng::Stream;
use crate::engine::{Scheduler, SimTime};

/// The state of one edge's link.
pub struct Link {
    /// Where it comes from and where it leads.
    pub from: usize,
    pub target: usize,
    pub latency: u64,
    /// Added by a `Delay` fault.
    pub extra: u64,
    /// From a `Loss` fault.
    pub loss: f64,
    /// From `Cut` faults.
    pub cut: bool,
    /// The link faults on it now (`extra`, `loss` and `cut` combine them).
    pub faults: LinkFaults,
    /// No latency and no fault: a publish goes straight through.
    plain: bool,
    pub rng: Stream,
    /// Copies dead-lettered along this edge (whole run): a dead-letter edge's count.
    pub dead_lettered: u64,
}

#[derive(Default)]
pub struct LinkFaults {
    pub cuts: super::faults::overlap::Active,
    pub delays: super::faults::overlap::Levels,
    pub losses: super::faults::overlap::Levels,
}

impl Link {
    pub fn new(from: usize, target: usize, latency: u64, rng: Stream) -> Link {
        Link {
            from,
            target,
            latency,
            extra: 0,
            loss: 0.0,
            cut: false,
            faults: LinkFaults::default(),
            plain: latency == 0,
            rng,
            dead_lettered: 0,
        }
    }

    /// Nothing happens on the way: publish at once.
    #[inline]
    pub fn is_plain(&self) -> bool {
        self.plain
    }

    /// Recomputes `plain` after the latency or a fault changed.
    fn update(&mut self) {
        self.plain = self.latency == 0 && self.extra == 0 && self.loss == 0.0 && !self.cut;
    }
}

impl World {
    /// Publishes `message` along link `edge`: at once when the link is plain,
    /// otherwise after its latency, or not at all when the link loses it.
    #[inline]
    pub(super) fn send_over(
        &mut self,
        now: SimTime,
        edge: EdgeId,
        message: Message,
        slot: Option<Slot>,
        scheduler: &mut Scheduler<Event>,
    ) {
        let Some(link) = self.links.get_mut(edge) else {
            return;
        };
        let target = link.target;
        if link.is_plain() {
            self.publish(now, target, message, slot, scheduler);
            return;
        }
        let lost = link.cut || (link.loss > 0.0 && link.rng.random::<f64>() < link.loss);
        let delay = link.latency + link.extra;
        if lost {
            self.lost_on_link(now, message, slot, scheduler);
            return;
        }
        let Some(slot) = self.store(message, slot) else {
            // The arena is full (the run fails): lost, as a copy a queue has no room for.
            crate::mark!(ArenaFullOnLink);
            if !message.has(super::message::flag::DEAD) {
                let copies = self.copies_of(&message);
                self.ledger.lost.overflow += copies;
                self.ledger.lost_in_transit += copies;
            }
            return;
        };
        self.in_transit += self.copies_of(&message);
        scheduler.after(delay, Event::Transit { edge, slot });
    }

    /// A message reaches the end of its link.
    pub(super) fn transit_done(
        &mut self,
        now: SimTime,
        edge: EdgeId,
        slot: Slot,
        scheduler: &mut Scheduler<Event>,
    ) {
        let Some(message) = self.messages.get(slot).copied() else {
            return;
        };
        self.in_transit = self.in_transit.saturating_sub(self.copies_of(&message));
        let Some(target) = self.links.get(edge).map(|l| l.target) else {
            return;
        };
        self.publish(now, target, message, Some(slot), scheduler);
    }

    /// The link lost a message. A producer that waits for acknowledgements and
    /// has retries hears nothing, and publishes again after its timeout.
    fn lost_on_link(
        &mut self,
        now: SimTime,
        message: Message,
        slot: Option<Slot>,
        scheduler: &mut Scheduler<Event>,
    ) {
        let copies = self.copies_of(&message);
        if !self.retry_publish(message, slot, copies, true, scheduler) {
            self.publish_lost(now, &message, |lost| lost.link_loss += copies);
        }
    }

    /// What a fault is doing to each edge's link right now, in a few words (`None`:
    /// nothing), in edge order. For the lab, which marks the edges.
    pub fn link_alarms(&self) -> impl Iterator<Item = Option<String>> + '_ {
        self.links.keys().map(|edge| self.link_alarm(edge))
    }

    /// What a fault is doing to the link of `edge` right now (see [`World::link_alarms`]).
    fn link_alarm(&self, edge: EdgeId) -> Option<String> {
        let link = self.links.get(edge)?;
        if link.cut {
            return Some("cut".into());
        }
        let mut parts = Vec::new();
        if link.extra > 0 {
            parts.push(format!("+{} ms", link.extra as f64 / 1e6));
        }
        if link.loss > 0.0 {
            parts.push(format!("losing {:.0}%", link.loss * 100.0));
        }
        (!parts.is_empty()).then(|| parts.join(", "))
    }

    /// A link fault on `edge` starts or ends.
    pub(super) fn link_fault(
        &mut self,
        edge: EdgeId,
        kind: crate::scenario::raw::FaultKind,
        begins: bool,
    ) {
        use crate::scenario::raw::FaultKind;
        let Some(link) = self.links.get_mut(edge) else {
            return;
        };
        // Overlapping faults on one link combine, and it recovers when the last one ends.
        let faults = &mut link.faults;
        match (kind, begins) {
            (FaultKind::Cut, true) => {
                faults.cuts.begin();
            }
            (FaultKind::Cut, false) => {
                faults.cuts.end();
            }
            (FaultKind::Delay { extra }, true) => faults.delays.begin(extra.nanos as f64),
            (FaultKind::Delay { extra }, false) => faults.delays.end(extra.nanos as f64),
            (FaultKind::Loss { probability }, true) => faults.losses.begin(probability),
            (FaultKind::Loss { probability }, false) => faults.losses.end(probability),
            _ => {}
        }
        link.cut = faults.cuts.any();
        link.extra = faults.delays.sum() as u64;
        link.loss = faults.losses.any_chance();
        link.update();
    }
}
