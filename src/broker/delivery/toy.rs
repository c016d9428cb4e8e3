//! A toy delivery model, for the tests only: it proves that a new model is a file of
//! its own plus a `Source` variant (the one `match` over the models, `dispatch!`,
//! picks it up), with nothing else in the broker changed.
//!
//! It is a fire-and-forget queue, as NATS core's queue groups are: a consumer takes
//! what its queue pushes, and whatever happens in its hands ends the copy. A failure is
//! never retried or dead-lettered but lost, and a consumer that goes down loses what it
//! held. For the rest it is the queue's model (`QueueDelivery`, which it calls), so
//! the queue's share of the ledger recount covers what waits there.

use super::queue::QueueDelivery;
use super::{Delivery, Down};
use crate::broker::generation::Generation;
use crate::broker::index::{ConsumerId, QueueId};
use crate::broker::message::flag;
use crate::broker::subscription::Effect;
use crate::broker::world::{Event, Message, World};
use crate::engine::arena::Slot;
use crate::engine::{Scheduler, SimTime};

/// A queue, by index, read fire-and-forget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Toy {
    pub q: QueueId,
}

impl Toy {
    fn queue(self) -> QueueDelivery {
        QueueDelivery { q: self.q }
    }
}

impl Delivery for Toy {
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
        self.queue()
            .processed(w, now, c, slot, message, effect, scheduler);
    }

    fn nack(self, w: &mut World, now: SimTime, c: ConsumerId) {
        self.queue().nack(w, now, c);
    }

    /// Never tried again: lost where it failed.
    fn retry(
        self,
        w: &mut World,
        _now: SimTime,
        _c: ConsumerId,
        slot: Slot,
        _delay: u64,
        _scheduler: &mut Scheduler<Event>,
    ) {
        w.messages.remove(slot);
        w.ledger.lost.rejected += 1;
        self.lost(w, 1);
    }

    fn lost(self, w: &mut World, n: u64) {
        w.lost_in_queue(self.q, n);
    }

    fn take_more(
        self,
        w: &mut World,
        now: SimTime,
        c: ConsumerId,
        partition: u32,
        scheduler: &mut Scheduler<Event>,
    ) {
        self.queue().take_more(w, now, c, partition, scheduler);
    }

    /// Everything in its hands is lost; nothing goes back.
    fn down(
        self,
        w: &mut World,
        now: SimTime,
        c: ConsumerId,
        why: Down,
        _generation: Generation,
        held: Vec<Slot>,
        _scheduler: &mut Scheduler<Event>,
    ) {
        let unacked = w.consumers.get_mut(c).map_or(0, |consumer| {
            consumer.waiting = false;
            let counted = consumer.ack == crate::scenario::raw::AckMode::AfterProcessing;
            u64::from(std::mem::take(&mut consumer.unacked)) * u64::from(counted)
        });
        if let Some(queue) = w.queues.get_mut(self.q) {
            queue.waiting.retain(|&waiting| waiting != c);
            queue.set_unacked(now, queue.unacked.saturating_sub(unacked));
        }
        for slot in held {
            let dead = w.messages.get(slot).is_some_and(|m| m.has(flag::DEAD));
            w.messages.remove(slot);
            if !dead {
                w.lost_going_down(c, why);
                self.lost(w, 1);
            }
        }
    }

    fn up(self, w: &mut World, now: SimTime, c: ConsumerId, scheduler: &mut Scheduler<Event>) {
        self.queue().up(w, now, c, scheduler);
    }
}

#[cfg(test)]
mod tests {
    use crate::broker::consumer::Source;
    use crate::broker::index::{ConsumerId, QueueId};
    use crate::run::Run;

    /// A queue read at-least-once by a failing consumer that crashes, then the same read
    /// through the toy model: the toy redelivers nothing, loses what failed
    /// or was in hand, and the ledger balances at every step.
    #[test]
    fn a_toy_model_runs_through_the_seam_with_a_balanced_ledger() {
        let text = r#"(version: 1, name: "toy", seed: 9, duration: "20s",
            nodes: [Producer(id: "p", arrival: Poisson(rate: "200/s")), Queue(id: "q"),
                    Consumer(id: "c", service: Exponential(mean: "4ms"), prefetch: 10,
                             failure_probability: 0.1, retry: (max_attempts: 3))],
            edges: [(from: "p", to: "q"), (from: "q", to: "c")],
            faults: [(at: "5s", target: "c", kind: Crash, duration: "2s")])"#;
        let (_, scenario) = crate::scenario::parse(text, "toy.ron").unwrap();
        let run_with = |toy: bool| {
            let mut run = Run::new(&scenario).unwrap();
            if toy {
                run.world_mut().consumers[ConsumerId::from(0)].source = Source::Toy(super::Toy {
                    q: QueueId::from(0),
                });
            }
            while !run.is_finished() {
                let until = run.now() + 100_000_000;
                run.advance_to(until).unwrap();
                run.check_ledger().unwrap();
            }
            let unacked = run.world().queues[QueueId::from(0)].unacked;
            let held: u32 = run.world().consumers.iter().map(|c| c.unacked).sum();
            assert_eq!(
                unacked,
                u64::from(held),
                "the queue's unacked count, toy {toy}"
            );
            run.world().ledger
        };
        let (queue, toy) = (run_with(false), run_with(true));
        // At-least-once: failures go back to the queue, the crash redelivers, nothing is
        // lost to it.
        assert!(queue.redeliveries > 0 && queue.lost.crash == 0, "{queue:?}");
        // Fire-and-forget: no redelivery; a failure is lost at once, and so is what the
        // crashed consumer held.
        assert_eq!(toy.redeliveries, 0, "{toy:?}");
        assert!(
            toy.lost.rejected > queue.lost.rejected,
            "{toy:?} against {queue:?}"
        );
        assert!(toy.lost.crash > 0, "{toy:?}");
    }
}
