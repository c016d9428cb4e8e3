//! What new things start as: a node of each kind with the palette's defaults, an
//! empty scenario, and the generated topology of the frame benchmark.

use eframe::egui;

use super::style::Kind;
use crate::scenario::raw::{
    ExchangeType, RawConsumer, RawEdge, RawExchange, RawNode, RawProducer, RawQueue, RawScenario,
    RawService, RawServiceNode, RawTopic,
};
use crate::scenario::units::Duration;

/// A new node of `kind` with palette defaults, named after its kind.
pub fn new_node(kind: Kind, pos: egui::Pos2) -> RawNode {
    let pos = Some((pos.x, pos.y));
    match kind {
        Kind::Producer => RawNode::Producer(RawProducer {
            id: "producer".into(),
            pos,
            ..Default::default()
        }),
        Kind::Exchange => RawNode::Exchange(RawExchange {
            id: "exchange".into(),
            pos,
            exchange_type: ExchangeType::Fanout,
            alternate: None,
        }),
        Kind::Queue => RawNode::Queue(RawQueue {
            id: "queue".into(),
            pos,
            ..Default::default()
        }),
        Kind::Topic => RawNode::Topic(RawTopic {
            id: "topic".into(),
            pos,
            ..Default::default()
        }),
        Kind::Consumer => RawNode::Consumer(RawConsumer {
            id: "consumer".into(),
            pos,
            ..Default::default()
        }),
        Kind::Service => RawNode::Service(RawServiceNode {
            id: "service".into(),
            pos,
            concurrency: 4,
            queue_limit: None,
            service: RawService::Exponential {
                mean: Duration::from_millis(20),
            },
        }),
    }
}

/// A new, empty scenario.
pub fn empty_scenario() -> RawScenario {
    RawScenario {
        version: 1,
        name: "untitled".into(),
        description: String::new(),
        seed: 1,
        duration: crate::scenario::units::Duration::from_secs(60),
        warmup: None,
        sample_every: None,
        limits: None,
        nodes: Vec::new(),
        edges: Vec::new(),
        faults: Vec::new(),
    }
}

/// A generated topology of `6 * groups` nodes: per group a producer, a fanout exchange,
/// two queues and two consumers. For the frame benchmark.
pub fn big_topology(groups: usize) -> RawScenario {
    let mut raw = empty_scenario();
    raw.name = format!("{} nodes", groups * 6);
    let kinds = [
        Kind::Producer,
        Kind::Exchange,
        Kind::Queue,
        Kind::Queue,
        Kind::Consumer,
        Kind::Consumer,
    ];
    for g in 0..groups {
        let ids: Vec<String> = ["p", "x", "qa", "qb", "ca", "cb"]
            .iter()
            .map(|s| format!("{s}{g}"))
            .collect();
        let column = [0.0, 1.0, 2.0, 2.0, 3.0, 3.0];
        let row = [0.0, 0.0, -0.5, 0.5, -0.5, 0.5];
        for i in 0..6 {
            let at = egui::pos2(column[i] * 220.0, (g as f32 + row[i] * 0.8) * 120.0);
            let mut node: RawNode = new_node(kinds[i], at);
            *node.id_mut() = ids[i].clone();
            raw.nodes.push(node);
        }
        for (from, to) in [(0, 1), (1, 2), (1, 3), (2, 4), (3, 5)] {
            raw.edges.push(RawEdge {
                from: ids[from].clone(),
                to: ids[to].clone(),
                ..Default::default()
            });
        }
    }
    raw
}
