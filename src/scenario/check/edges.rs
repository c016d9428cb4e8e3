//! Edges: each resolved to its two nodes and checked against the kinds at its ends
//! ([`edge_allowed`]) and the fields it carries, then sorted by meaning for the node
//! checks.

use std::collections::{BTreeMap, HashSet};

use super::Checker;
use crate::scenario::Kind;
use crate::scenario::model::*;
use crate::scenario::raw::*;

/// A node's edges, sorted by meaning.
#[derive(Default)]
pub(super) struct NodeEdges {
    pub(super) incoming: Vec<usize>,
    /// Outgoing edges of kind Normal.
    pub(super) normal: Vec<usize>,
    pub(super) dead_letter: Vec<usize>,
    pub(super) retry: Vec<usize>,
}

/// What makes two edges the same edge: their ends, kind, key and headers.
type EdgeIdentity<'a> = (
    usize,
    usize,
    EdgeKind,
    Option<&'a str>,
    &'a BTreeMap<String, String>,
);

/// Resolves the edges and checks that each makes sense for its two ends: each node's
/// edges by meaning, and the valid edges in file order with their positions in the file.
pub(super) fn resolve_edges(c: &mut Checker<'_>) -> (Vec<NodeEdges>, Vec<(usize, Edge)>) {
    let raw = c.raw;
    let mut node_edges: Vec<NodeEdges> =
        (0..raw.nodes.len()).map(|_| NodeEdges::default()).collect();
    let mut edges = Vec::with_capacity(raw.edges.len());
    let mut seen_edges = HashSet::new();
    for (e, edge) in raw.edges.iter().enumerate() {
        let Some((from, to)) = resolve_edge(c, e, edge, &mut seen_edges) else {
            continue;
        };
        let out = &mut node_edges[from];
        match edge.kind {
            EdgeKind::Normal => out.normal.push(e),
            EdgeKind::DeadLetter => out.dead_letter.push(e),
            EdgeKind::Retry => out.retry.push(e),
        }
        node_edges[to].incoming.push(e);
        edges.push((
            e,
            Edge {
                from,
                to,
                kind: edge.kind,
                latency_nanos: edge.latency.map_or(0, |l| l.nanos),
            },
        ));
    }
    (node_edges, edges)
}

/// The nodes at the ends of edge `e`, or `None` (with its problem) for an edge that
/// names no node, joins kinds that do not connect, loops, or repeats an earlier one.
fn resolve_edge<'a>(
    c: &mut Checker<'_>,
    e: usize,
    edge: &'a RawEdge,
    seen_edges: &mut HashSet<EdgeIdentity<'a>>,
) -> Option<(usize, usize)> {
    let from = c.index.get(edge.from.as_str()).copied();
    let to = c.index.get(edge.to.as_str()).copied();
    if from.is_none() {
        c.unknown_node(format!("edges[{e}].from"), &edge.from);
    }
    if to.is_none() {
        c.unknown_node(format!("edges[{e}].to"), &edge.to);
    }
    let (Some(from), Some(to)) = (from, to) else {
        return None;
    };
    let (Some(from_kind), Some(to_kind)) = (c.node_kind(from), c.node_kind(to)) else {
        return None;
    };
    if let Err(why) = edge_allowed(from_kind, to_kind, edge.kind) {
        c.problem(
            format!("edges[{e}]"),
            format!(
                "{from_kind} `{}` -> {to_kind} `{}`: {why}",
                edge.from, edge.to
            ),
        );
        return None;
    }
    if from == to {
        c.problem(
            format!("edges[{e}]"),
            "an edge cannot connect a node to itself",
        );
        return None;
    }
    if !seen_edges.insert((from, to, edge.kind, edge.key.as_deref(), &edge.headers)) {
        c.problem(
            format!("edges[{e}]"),
            format!(
                "duplicates an earlier edge from `{}` to `{}`",
                edge.from, edge.to
            ),
        );
        return None;
    }
    check_edge_fields(c, e, edge, from_kind, to_kind);
    Some((from, to))
}

/// Which edges make sense, and why the others do not.
pub fn edge_allowed(from_kind: Kind, to_kind: Kind, kind: EdgeKind) -> Result<(), &'static str> {
    use Kind::*;
    if kind != EdgeKind::Normal {
        return match (from_kind, to_kind) {
            (Queue | Consumer, Exchange | Queue | Topic) => Ok(()),
            (Queue | Consumer, Producer | Consumer | Service) => {
                Err("dead-letter and retry edges lead to an exchange, a queue or a topic")
            }
            (Producer | Exchange | Topic | Service, _) => {
                Err("only queues and consumers have dead-letter or retry edges")
            }
        };
    }
    match (from_kind, to_kind) {
        (Producer, Exchange | Queue | Topic | Service) => Ok(()),
        (Exchange, Queue | Exchange) => Ok(()),
        (Queue | Topic, Consumer) => Ok(()),
        (Consumer, Exchange | Queue | Topic) => Ok(()),
        (Service, Service | Exchange | Queue | Topic) => Ok(()),
        (_, Producer) => Err("nothing sends to a producer: producers only publish"),
        (Producer, Consumer) => {
            Err("a producer publishes to an exchange, a queue, a topic or a service")
        }
        (Exchange, Topic) => {
            Err("exchanges route to queues or other exchanges; publish to a topic directly")
        }
        (Exchange, Consumer | Service) => Err("an exchange binds to queues or other exchanges"),
        (Queue | Topic, Exchange | Queue | Topic | Service) => {
            Err("queues and topics deliver to consumers")
        }
        (Consumer, Consumer | Service) => {
            Err("a consumer publishes to an exchange, a queue or a topic")
        }
        (Service, Consumer) => {
            Err("a service calls other services or publishes to an exchange, a queue or a topic")
        }
    }
}

fn check_edge_fields(
    c: &mut Checker<'_>,
    e: usize,
    edge: &RawEdge,
    from_kind: Kind,
    to_kind: Kind,
) {
    let binding = from_kind == Kind::Exchange;
    let publishing = matches!(from_kind, Kind::Consumer | Kind::Service | Kind::Queue)
        && !matches!(to_kind, Kind::Consumer | Kind::Service);
    if edge.key.is_some() && !binding && !publishing {
        c.problem(format!("edges[{e}].key"), format!("only exchange bindings and publishing edges take a key, not {from_kind} -> {to_kind}"));
    }
    if (!edge.headers.is_empty() || edge.x_match.is_some()) && !binding {
        c.problem(
            format!("edges[{e}].headers"),
            "only bindings of a headers exchange take headers and x_match",
        );
    }
    if edge.call.is_some() && !(from_kind == Kind::Service && to_kind == Kind::Service) {
        c.problem(
            format!("edges[{e}].call"),
            "only calls from a service to a service take a call policy",
        );
    }
    if let Some(key) = &edge.key
        && let Err(why) = check_binding_key(key)
    {
        c.problem(format!("edges[{e}].key"), why);
    }
}

/// Longest binding key RabbitMQ can carry: AMQP 0-9-1 sends it as a `shortstr`.
const MAX_BINDING_KEY_BYTES: usize = 255;

/// Checks a binding key for a topic exchange; returns a human message when it is unusable
/// (RabbitMQ accepts almost anything, so this only rejects keys longer than 255 bytes).
pub fn check_binding_key(key: &str) -> Result<(), String> {
    if key.len() > MAX_BINDING_KEY_BYTES {
        Err(format!(
            "binding key is {} bytes long; AMQP 0-9-1 limits it to {MAX_BINDING_KEY_BYTES} bytes",
            key.len()
        ))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod binding_key_tests {
    use super::*;

    #[test]
    fn binding_key_length_limit() {
        assert!(check_binding_key("").is_ok());
        assert!(check_binding_key("#").is_ok());
        assert!(check_binding_key("a..b.*.#").is_ok());
        assert!(check_binding_key(&"a".repeat(255)).is_ok());
        let err = check_binding_key(&"a".repeat(256));
        assert!(err.is_err_and(|m| m.contains("256") && m.contains("255")));
        // Bytes, not chars: 128 two-byte chars are 256 bytes.
        assert!(check_binding_key(&"\u{e9}".repeat(128)).is_err());
    }
}
