//! Where a message has been dead-lettered: RabbitMQ's `x-death` history, enough of it to
//! drop messages that cycle.
//!
//! RabbitMQ (4.x, `rabbit_dead_letter` and `mc:is_death_cycle`) records each dead-lettering
//! in the message (queue and reason) and drops a dead letter bound for a queue it has
//! already been dead-lettered from, when no death since then was a `rejected` one (a
//! consumer's explicit reject): a cycle of TTLs, length limits or delivery limits is
//! automatic and would go round forever. A message rejected on the way may come round
//! again. evlab keeps, per copy, the queues it was dead-lettered from automatically
//! since its last rejection, which decides exactly the same cases: a rejection forgets
//! the history, an automatic death adds its queue.
//!
//! Histories are immutable lists shared by every copy on the same path: a copy holds a
//! handle (0 for none), and each (queue, earlier history) pair is stored once, so the
//! table grows with the distinct dead-letter paths of the topology, not with messages.

use crate::broker::index::QueueId;
use std::collections::HashMap;

/// A history: 0 for none, else an index + 1 into [`Deaths`].
pub type History = u32;

/// Most distinct dead-letter paths a run may take.
pub const MAX_PATHS: usize = 1 << 20;

#[derive(Default)]
pub struct Deaths {
    /// (queue, the history before it) per history handle - 1.
    paths: Vec<(QueueId, History)>,
    index: HashMap<(QueueId, History), History>,
}

impl Deaths {
    /// `history` with an automatic death at `queue` added; `None` past [`MAX_PATHS`].
    pub fn add(&mut self, history: History, queue: QueueId) -> Option<History> {
        if let Some(&known) = self.index.get(&(queue, history)) {
            return Some(known);
        }
        if self.paths.len() >= MAX_PATHS {
            return None;
        }
        self.paths.push((queue, history));
        let handle = self.paths.len() as History;
        self.index.insert((queue, history), handle);
        Some(handle)
    }

    /// Whether `history` holds a death at `queue`.
    pub fn contains(&self, mut history: History, queue: QueueId) -> bool {
        while let Some(&(at, before)) = history
            .checked_sub(1)
            .and_then(|i| self.paths.get(i as usize))
        {
            if at == queue {
                return true;
            }
            // Histories only lengthen: an earlier one has a smaller handle, so this ends.
            if before >= history {
                return false;
            }
            history = before;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histories_are_shared_and_searched() {
        let mut deaths = Deaths::default();
        let q = QueueId::from;
        let a = deaths.add(0, q(1)).unwrap();
        let ab = deaths.add(a, q(2)).unwrap();
        assert_eq!(deaths.add(0, q(1)), Some(a), "one entry per path");
        assert_eq!(deaths.add(a, q(2)), Some(ab));
        let cases = [
            (0, 1, false),
            (a, 1, true),
            (a, 2, false),
            (ab, 1, true),
            (ab, 2, true),
            (ab, 3, false),
        ];
        for (history, queue, found) in cases {
            assert_eq!(
                deaths.contains(history, q(queue)),
                found,
                "{history} {queue}"
            );
        }
        assert!(
            !deaths.contains(99, q(1)),
            "an unknown handle holds nothing"
        );
    }
}
