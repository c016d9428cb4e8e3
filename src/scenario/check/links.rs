//! Network links: which edges evlab simulates a link on ([`link_allowed`]), for an
//! edge's latency and for each link fault, and the check that a scenario puts them
//! nowhere else.

use std::collections::HashMap;

use super::Checker;
use crate::scenario::Kind;
use crate::scenario::raw::*;

/// What a scenario puts on an edge's network link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkUse {
    /// The edge's `latency`.
    Latency,
    /// A `Cut` fault.
    Cut,
    /// A `Delay` fault.
    Delay,
    /// A `Loss` fault.
    Loss,
}

impl LinkUse {
    /// The use a link fault makes of its edge; `None` for faults that are not link faults.
    pub fn of_fault(kind: &crate::scenario::raw::FaultKind) -> Option<LinkUse> {
        use crate::scenario::raw::FaultKind;
        match kind {
            FaultKind::Cut => Some(LinkUse::Cut),
            FaultKind::Delay { .. } => Some(LinkUse::Delay),
            FaultKind::Loss { .. } => Some(LinkUse::Loss),
            _ => None,
        }
    }
}

/// Which edges are network links that evlab simulates, for latency and each link fault,
/// and why the others are not.
pub fn link_allowed(
    from_kind: Kind,
    to_kind: Kind,
    kind: EdgeKind,
    what: LinkUse,
) -> Result<(), &'static str> {
    use Kind::*;
    if kind != EdgeKind::Normal {
        return Err(
            "dead-letter and retry edges are the broker's own (or the consumer's) republishing, \
             not a simulated link: put latency and link faults on publishing or delivery edges",
        );
    }
    match (from_kind, to_kind, what) {
        // Publishing: a producer's or a consumer's connection to the broker.
        (Producer | Consumer, Exchange | Queue | Topic, _) => Ok(()),
        // Synchronous calls: latency on the call edge (outages are service faults).
        (Service, Service, LinkUse::Latency) => Ok(()),
        (Service, Service, _) => Err(
            "link faults between services are not simulated: crash, slow down or fail the called service instead",
        ),
        (Exchange, _, _) => Err(
            "an exchange and its bindings live inside one broker: there is no network between an \
             exchange and its queues; put latency and link faults on the edge into the exchange \
             or on a queue's edges to its consumers",
        ),
        // Delivery: the consumer's connection. TCP does not lose single deliveries.
        (Queue | Topic, Consumer, LinkUse::Loss) => Err(
            "a consumer's connection does not lose single deliveries: use Cut for a lost \
             connection, or Delay for a slow network",
        ),
        (Queue, Consumer, _) => Ok(()),
        (Topic, Consumer, LinkUse::Cut) => Ok(()),
        (Topic, Consumer, _) => Err(
            "latency between a topic and its consumers is not simulated (consumers fetch records \
             in batches, which hides it); put it on the publishing edge, or cut the edge",
        ),
        (Producer | Consumer, Producer | Consumer | Service, _)
        | (Queue | Topic, Producer | Exchange | Queue | Topic | Service, _)
        | (Service, Producer | Exchange | Queue | Topic | Consumer, _) => Err(
            "latency and link faults are simulated on publishing edges, deliveries from a queue, \
             cuts between a topic and its consumers, and latency on calls between services",
        ),
    }
}

/// Latency and link faults only where evlab simulates a network link (see
/// [`link_allowed`]): refused with the reason elsewhere, never silently ignored.
pub(super) fn check_links(c: &mut Checker<'_>) {
    let raw = c.raw;
    let kind_of = |id: &str| c.index.get(id.trim()).and_then(|&n| c.node_kind(n));
    let mut found = Vec::new();
    // The kind of the first edge between two ids.
    let mut edge_kinds: HashMap<(&str, &str), EdgeKind> = HashMap::new();
    for edge in &raw.edges {
        edge_kinds
            .entry((edge.from.as_str(), edge.to.as_str()))
            .or_insert(edge.kind);
    }
    for (e, edge) in raw.edges.iter().enumerate() {
        if edge.latency.is_some()
            && let (Some(from), Some(to)) = (kind_of(&edge.from), kind_of(&edge.to))
            && let Err(why) = link_allowed(from, to, edge.kind, LinkUse::Latency)
        {
            found.push((format!("edges[{e}].latency"), why.to_string()));
        }
    }
    for (i, fault) in raw.faults.iter().enumerate() {
        let Some(what) = LinkUse::of_fault(&fault.kind) else {
            continue;
        };
        let Some((from, to)) = fault.target.split_once("->") else {
            continue;
        };
        let edge_kind = edge_kinds.get(&(from.trim(), to.trim())).copied();
        if let (Some(from), Some(to), Some(kind)) = (kind_of(from), kind_of(to), edge_kind)
            && let Err(why) = link_allowed(from, to, kind, what)
        {
            found.push((format!("faults[{i}].target"), why.to_string()));
        }
    }
    for (path, message) in found {
        c.problem(path, message);
    }
}
