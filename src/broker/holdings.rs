//! Bookkeeping the ledger does not cover: what each consumer holds against its counts,
//! and each queue's unacknowledged copies against its consumers'. The property tests
//! check it after every slice, like the ledger.

use super::consumer::Source;
use super::delivery::queue::QueueDelivery;
use super::world::World;
use crate::scenario::raw::AckMode;

impl World {
    /// Bookkeeping the ledger does not cover: per-consumer and per-queue acknowledgement counts.
    ///
    /// A queue consumer's unacknowledged copies are those it holds: being processed, processed and
    /// awaiting their acknowledgement (`ack_delay`), or buffered beyond its concurrency. A queue
    /// counts the unacknowledged copies of its at-least-once consumers (at-most-once copies are
    /// acknowledged on delivery), plus, for a pull queue, the received copies of crashed consumers
    /// that wait out their visibility timeout. A queue whose broker is down delivers nothing: its
    /// consumers lost what they held when it failed, and hold nothing until it is back.
    pub fn check_holdings(&self) -> Result<(), String> {
        let mut unacked_per_queue = vec![0u64; self.queues.len()];
        for c in &self.consumers {
            let id = self.id(c.node);
            if c.busy > c.concurrency {
                return Err(format!(
                    "consumer `{id}` processes {} messages at once, above its concurrency {}",
                    c.busy, c.concurrency
                ));
            }
            // What it goes on processing after losing its connection counts as busy.
            if c.busy as usize > c.in_hand.len() + c.finishing.len() {
                return Err(format!(
                    "consumer `{id}` processes {} messages but holds {} (+{} finishing)",
                    c.busy,
                    c.in_hand.len(),
                    c.finishing.len()
                ));
            }
            if !c.alive && (!c.in_hand.is_empty() || !c.buffer.is_empty()) {
                return Err(format!(
                    "consumer `{id}` is down and still holds {} messages ({} buffered)",
                    c.in_hand.len(),
                    c.buffer.len()
                ));
            }
            if !c.alive && c.busy as usize != c.finishing.len() {
                return Err(format!(
                    "consumer `{id}` is down and processes {} messages, {} of them unconnected",
                    c.busy,
                    c.finishing.len()
                ));
            }
            if c.faults.crashes.any() && !c.finishing.is_empty() {
                return Err(format!(
                    "crashed consumer `{id}` still processes {} messages",
                    c.finishing.len()
                ));
            }
            match c.source {
                Source::Queue(QueueDelivery { q }) => {
                    let held = c.in_hand.len() as u64 + c.buffer.len() as u64;
                    if self.queues.get(q).is_some_and(|queue| !queue.online) && held > 0 {
                        return Err(format!(
                            "consumer `{id}` holds {held} messages of a queue whose broker is down"
                        ));
                    }
                    if u64::from(c.unacked) != held {
                        return Err(format!(
                            "consumer `{id}` has {} unacked but holds {held} ({} busy, {} in hand, {} buffered)",
                            c.unacked,
                            c.busy,
                            c.in_hand.len(),
                            c.buffer.len()
                        ));
                    }
                    if c.unacked > c.prefetch {
                        return Err(format!(
                            "consumer `{id}` has {} unacked, above its prefetch {}",
                            c.unacked, c.prefetch
                        ));
                    }
                    if c.ack == AckMode::AfterProcessing
                        && let Some(count) = unacked_per_queue.get_mut(q.index())
                    {
                        *count += u64::from(c.unacked);
                    }
                }
                #[cfg(test)]
                Source::Toy(_) => {}
                Source::Topic(_) => {
                    if !c.buffer.is_empty() {
                        return Err(format!(
                            "topic consumer `{id}` buffers {} messages",
                            c.buffer.len()
                        ));
                    }
                }
            }
        }
        for (queue, held) in self.queues.iter().zip(unacked_per_queue) {
            if queue.unacked != held + queue.orphans {
                return Err(format!(
                    "queue `{}` counts {} unacked, its consumers {held} (and {} orphans)",
                    self.id(queue.node),
                    queue.unacked,
                    queue.orphans
                ));
            }
        }
        Ok(())
    }
}
