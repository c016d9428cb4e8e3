//! Messages on the canvas: dots travelling along edges, and the message trace.
//!
//! The engine follows a sample of messages hop by hop (see `broker::trace`). Each hop
//! that arrives at a node from another becomes a dot that travels the edge between
//! them in a fixed stretch of wall-clock time, whatever the speed, coloured by the
//! message's fate: normal, retried, duplicated, dead-lettered or lost. Hops are kept
//! (bounded) so a message's whole life can be shown as a timeline.

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use eframe::egui::Color32;

use crate::broker::trace::{Hop, HopKind, NO_NODE};

/// How long a dot takes to travel an edge, in wall-clock seconds.
pub const TRAVEL_S: f32 = 0.7;
/// Most dots on the canvas at once: beyond, new ones are skipped (a sample of the traffic).
const MAX_DOTS: usize = 600;
/// Hops kept for the message trace.
const HISTORY: usize = 50_000;

/// What colour a message's dot has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    Normal,
    Retry,
    Duplicate,
    DeadLettered,
    Lost,
}

impl Fate {
    /// Every fate, in the legend's order.
    pub const ALL: [Fate; 5] = [
        Fate::Normal,
        Fate::Retry,
        Fate::Duplicate,
        Fate::DeadLettered,
        Fate::Lost,
    ];

    pub fn color(self) -> Color32 {
        match self {
            Fate::Normal => Color32::from_rgb(0xe8, 0xf0, 0xff),
            Fate::Retry => Color32::from_rgb(0xf0, 0xa8, 0x30),
            Fate::Duplicate => Color32::from_rgb(0xc0, 0x80, 0xff),
            Fate::DeadLettered => Color32::from_rgb(0xa8, 0x1c, 0x2c),
            Fate::Lost => Color32::from_rgb(0xff, 0x30, 0x30),
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Fate::Normal => "normal",
            Fate::Retry => "retried",
            Fate::Duplicate => "duplicate",
            Fate::DeadLettered => "dead-lettered",
            Fate::Lost => "lost",
        }
    }
}

/// A message on its way from one node to another (scenario node indices), or, when
/// `from == to`, a mark at a node (processed twice, lost).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dot {
    pub message: u64,
    pub from: u32,
    pub to: u32,
    pub born: Instant,
    pub fate: Fate,
}

/// The last few nodes a message was seen at, with when, most recent first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Path {
    seen: [(u32, u64); 4],
    len: usize,
}

impl Path {
    fn push(&mut self, node: u32, at: u64) {
        if self.len > 0 && self.seen[0].0 == node {
            self.seen[0].1 = at;
            return;
        }
        self.seen.copy_within(0..3, 1);
        self.seen[0] = (node, at);
        self.len = (self.len + 1).min(4);
    }

    fn latest(&self) -> Option<u32> {
        (self.len > 0).then_some(self.seen[0].0)
    }

    /// Where a message arriving at `to` came from: the latest node if an edge leads from it,
    /// else a node seen at that same instant (a fan-out's exchange, whose first copy went
    /// elsewhere). None when it stayed put or moved inside the broker (a requeue).
    fn source(&self, to: u32, connected: impl Fn(u32, u32) -> bool) -> Option<u32> {
        let &(latest, when) = self.seen[..self.len].first()?;
        if latest == to {
            return None;
        }
        self.seen[..self.len]
            .iter()
            .take_while(|(_, at)| *at == when)
            .map(|(node, _)| *node)
            .find(|&node| node != to && connected(node, to))
    }
}

#[derive(Default)]
pub struct Traffic {
    /// The run the hops belong to.
    load: u64,
    pub dots: Vec<Dot>,
    /// Where each followed message was seen last (most recent first; copies of a fanned-out
    /// message go their own ways), and whether it has been retried.
    last_seen: HashMap<u64, (Path, bool)>,
    history: VecDeque<Hop>,
    /// The message whose life the trace panel shows.
    pub selected: Option<u64>,
}

impl Traffic {
    /// Takes a batch of hops from run `load`; `connected(a, b)` says whether an edge
    /// leads from node `a` to node `b`.
    pub fn absorb(
        &mut self,
        load: u64,
        hops: Vec<Hop>,
        now: Instant,
        connected: impl Fn(u32, u32) -> bool,
    ) {
        if load != self.load {
            *self = Traffic {
                load,
                selected: self.selected,
                ..Traffic::default()
            };
        }
        self.dots
            .retain(|d| now.duration_since(d.born).as_secs_f32() < TRAVEL_S);
        if self.last_seen.len() > 200_000 {
            self.last_seen.clear();
        }
        for hop in hops {
            self.history.push_back(hop);
            if self.history.len() > HISTORY {
                self.history.pop_front();
            }
            let previous = self.last_seen.get(&hop.message).copied();
            let retried = previous.is_some_and(|(_, r)| r) || hop.kind == HopKind::Retried;
            let latest = previous.and_then(|(path, _)| path.latest());
            let fate = match hop.kind {
                HopKind::DeadLettered => Some(Fate::DeadLettered),
                HopKind::Duplicate => Some(Fate::Duplicate),
                HopKind::Lost => Some(Fate::Lost),
                _ if retried => Some(Fate::Retry),
                _ => Some(Fate::Normal),
            };
            let at = if hop.node == NO_NODE {
                latest.unwrap_or(NO_NODE)
            } else {
                hop.node
            };
            // It came from the latest node it was seen at that has an edge to here.
            let source = previous.and_then(|(path, _)| path.source(at, &connected));
            if let (Some(fate), Some(from)) = (fate, source.or(latest))
                && at != NO_NODE
                && self.dots.len() < MAX_DOTS
            {
                let travels = source.is_some();
                let marks = matches!(fate, Fate::Duplicate | Fate::Lost);
                if travels || marks {
                    self.dots.push(Dot {
                        message: hop.message,
                        from: if travels { from } else { at },
                        to: at,
                        born: now,
                        fate,
                    });
                }
            }
            if at != NO_NODE {
                let mut path = previous.map(|(path, _)| path).unwrap_or_default();
                path.push(at, hop.at);
                self.last_seen.insert(hop.message, (path, retried));
            }
        }
    }

    /// The recorded life of `message`, oldest first.
    pub fn trace(&self, message: u64) -> Vec<Hop> {
        self.history
            .iter()
            .filter(|h| h.message == message)
            .copied()
            .collect()
    }

    /// Some recently followed messages, newest first, for the trace panel to offer.
    pub fn recent_messages(&self, count: usize) -> Vec<u64> {
        let mut out: Vec<u64> = Vec::new();
        for hop in self.history.iter().rev() {
            if !out.contains(&hop.message) {
                out.push(hop.message);
                if out.len() == count {
                    break;
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hop(at: u64, message: u64, node: u32, kind: HopKind) -> Hop {
        Hop {
            at,
            message,
            node,
            kind,
        }
    }

    #[test]
    fn hops_become_dots_along_edges_coloured_by_fate() {
        let mut traffic = Traffic::default();
        let now = Instant::now();
        // 0 -> 1 -> 2 is the graph; 3 is a dead-letter queue fed by 1.
        let connected =
            |a: u32, b: u32| matches!((a, b), (0, 1) | (1, 2) | (1, 3) | (5, 6) | (5, 7));
        traffic.absorb(
            1,
            vec![
                hop(0, 7, 0, HopKind::Produced),
                hop(1, 7, 1, HopKind::Enqueued),
                hop(2, 7, 2, HopKind::Delivered),
                hop(3, 7, 2, HopKind::Failed),
                hop(4, 7, 2, HopKind::Retried),
                hop(5, 7, 1, HopKind::Enqueued),
                hop(6, 7, 3, HopKind::DeadLettered),
                hop(7, 8, 0, HopKind::Produced),
                hop(8, 8, NO_NODE, HopKind::Lost),
                // A fanout exchange (5) copies message 9 into queues 6 and 7.
                hop(9, 9, 5, HopKind::Routed),
                hop(9, 9, 6, HopKind::Enqueued),
                hop(9, 9, 7, HopKind::Enqueued),
            ],
            now,
            connected,
        );
        let moves: Vec<(u32, u32, Fate)> = traffic
            .dots
            .iter()
            .map(|d| (d.from, d.to, d.fate))
            .collect();
        assert_eq!(
            moves,
            vec![
                (0, 1, Fate::Normal),
                (1, 2, Fate::Normal),
                // 2 -> 1 has no edge (the retry goes back inside the broker): no dot.
                (1, 3, Fate::DeadLettered),
                (0, 0, Fate::Lost),
                (5, 6, Fate::Normal),
                (5, 7, Fate::Normal),
            ]
        );
        assert_eq!(traffic.trace(7).len(), 7);
        assert_eq!(traffic.recent_messages(5), vec![9, 8, 7]);
        // A new run starts afresh.
        traffic.absorb(2, Vec::new(), now, connected);
        assert!(traffic.trace(7).is_empty());
    }
}
