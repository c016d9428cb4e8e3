//! Raw scenario -> checked [`Scenario`], or every problem found, each with a
//! path into the file (`nodes[3].arrival.rate`) and a sentence saying what to do.
//!
//! All problems are collected, not just the first, so a user fixes a file in
//! one pass. Nothing here panics on any input.

mod clients;
mod nodes;

use std::collections::HashMap;

use super::Kind;
use super::model::*;
use super::raw::*;

/// One thing wrong with a scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where in the file, such as `nodes[3].arrival.rate`; empty for the whole file.
    pub path: String,
    /// What is wrong and what to do about it.
    pub message: String,
}

/// What the checker found wrong: the first [`MAX_PROBLEMS`] problems, and how many more.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Problems {
    pub list: Vec<Problem>,
    /// Problems found beyond the first [`MAX_PROBLEMS`]: counted, not kept.
    pub more: usize,
}

/// Problems kept and reported; the rest are counted. A file with a problem on every
/// one of 100,000 nodes still gets its report at once and in little memory.
pub const MAX_PROBLEMS: usize = 50;

/// Default cap on engine events in one run: 10 to 30 s of simulation on a laptop.
pub const DEFAULT_MAX_EVENTS: u64 = 250_000_000;
/// Default cap on the memory a scenario may need: 2 GiB.
pub const DEFAULT_MAX_MEMORY: u64 = 2 << 30;
/// Smallest memory limit a scenario may set: the fixed cost of a small run.
const MIN_MAX_MEMORY: u64 = 16 << 20;

/// Default cap on message copies in flight at once.
pub const DEFAULT_MAX_IN_FLIGHT: u64 = 10_000_000;
/// Largest key space a producer may draw from (keys are precomputed).
pub(super) const MAX_KEYS: u32 = 10_000_000;
pub(super) const MAX_PARTITIONS: u32 = 100_000;
pub(super) const MAX_CONCURRENCY: u32 = 100_000;

struct Checker<'a> {
    raw: &'a RawScenario,
    index: HashMap<&'a str, usize>,
    problems: Vec<Problem>,
    /// Problems found after the first [`MAX_PROBLEMS`].
    more: usize,
    /// Ids that some other exchange names as its alternate.
    alternates: std::collections::HashSet<&'a str>,
}

impl Checker<'_> {
    fn problem(&mut self, path: impl Into<String>, message: impl Into<String>) {
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(Problem {
                path: path.into(),
                message: message.into(),
            });
        } else {
            self.more += 1;
        }
    }

    /// A problem whose message costs something to write (a suggestion): written only
    /// when it is kept.
    fn problem_with(&mut self, path: impl Into<String>, message: impl FnOnce(&Self) -> String) {
        if self.problems.len() < MAX_PROBLEMS {
            let message = message(self);
            self.problem(path, message);
        } else {
            self.more += 1;
        }
    }

    fn has_problems(&self) -> bool {
        !self.problems.is_empty() || self.more > 0
    }

    /// `path` names `id`, which is no node's.
    fn unknown_node(&mut self, path: impl Into<String>, id: &str) {
        self.problem_with(path, |c| unknown_node(id, c));
    }

    fn node_kind(&self, index: usize) -> Option<Kind> {
        self.raw.nodes.get(index).map(RawNode::kind)
    }

    fn positive_rate(&mut self, path: String, rate_per_sec: f64) {
        if !(rate_per_sec > 0.0 && rate_per_sec.is_finite()) {
            self.problem(path, "must be > 0: write a rate such as \"100/s\"");
        } else if rate_per_sec > 1e9 {
            self.problem(
                path,
                "is above 1e9/s, faster than evlab can simulate meaningfully",
            );
        }
    }

    fn positive_duration(&mut self, path: String, nanos: u64) {
        if nanos == 0 {
            self.problem(path, "must be > 0: write a duration such as \"10ms\"");
        }
    }

    /// The node an edge leads to.
    fn target_of(&self, edge: usize) -> Option<usize> {
        self.index
            .get(self.raw.edges.get(edge)?.to.as_str())
            .copied()
    }

    /// The node an edge comes from.
    fn source_of(&self, edge: usize) -> Option<usize> {
        self.index
            .get(self.raw.edges.get(edge)?.from.as_str())
            .copied()
    }

    /// The one edge of a kind a node may have, with a problem when there are more.
    fn at_most_one(&mut self, p: &str, id: &str, edges: &[usize], what: &str) -> Option<usize> {
        if edges.len() > 1 {
            self.problem(
                p,
                format!(
                    "`{id}` has {} {what} edges: give it at most one",
                    edges.len()
                ),
            );
        }
        edges.first().copied()
    }
}

/// A node's edges, sorted by meaning.
#[derive(Default)]
struct NodeEdges {
    incoming: Vec<usize>,
    /// Outgoing edges of kind Normal.
    normal: Vec<usize>,
    dead_letter: Vec<usize>,
    retry: Vec<usize>,
}

/// Checks a raw scenario. On success every reference is resolved.
pub fn check(raw: &RawScenario) -> Result<Scenario, Problems> {
    let mut c = Checker {
        raw,
        index: HashMap::new(),
        problems: Vec::new(),
        more: 0,
        alternates: raw
            .nodes
            .iter()
            .filter_map(|node| match node {
                RawNode::Exchange(x) => x.alternate.as_deref().filter(|a| *a != x.id),
                _ => None,
            })
            .collect(),
    };
    if raw.version != FORMAT_VERSION {
        c.problem(
            "version",
            format!(
                "this evlab reads scenario version {FORMAT_VERSION}, the file says {}: write `version: {FORMAT_VERSION}` or use the evlab that wrote it",
                raw.version
            ),
        );
    }
    let duration = raw.duration.nanos;
    c.positive_duration("duration".into(), duration);
    let warmup = raw.warmup.map_or(0, |w| w.nanos);
    if duration > 0 && warmup >= duration {
        c.problem(
            "warmup",
            format!("must be shorter than the duration ({})", raw.duration),
        );
    }
    let sample_every = raw
        .sample_every
        .map_or((duration / DEFAULT_SAMPLES).max(1), |s| s.nanos);
    if raw.sample_every.is_some() {
        c.positive_duration("sample_every".into(), sample_every);
        if duration > 0 && sample_every > 0 && duration / sample_every > 1_000_000 {
            c.problem(
                "sample_every",
                "gives more than 1e6 samples: choose a longer interval",
            );
        }
    }
    let max_in_flight = raw
        .limits
        .as_ref()
        .and_then(|l| l.max_in_flight)
        .unwrap_or(DEFAULT_MAX_IN_FLIGHT);
    if max_in_flight == 0 || max_in_flight > u32::MAX as u64 / 2 {
        c.problem("limits.max_in_flight", "must be between 1 and 2^31");
    }
    let limits = raw.limits.as_ref();
    let max_events = limits
        .and_then(|l| l.max_events)
        .unwrap_or(DEFAULT_MAX_EVENTS);
    if max_events == 0 {
        c.problem(
            "limits.max_events",
            format!("must be at least 1 (the default is {DEFAULT_MAX_EVENTS})"),
        );
    }
    let max_memory = limits
        .and_then(|l| l.max_memory)
        .map_or(DEFAULT_MAX_MEMORY, |m| m.bytes);
    if max_memory < MIN_MAX_MEMORY {
        c.problem(
            "limits.max_memory",
            "must be at least 16MiB (the default is 2GiB)",
        );
    }
    if raw.nodes.is_empty() {
        c.problem(
            "nodes",
            "the scenario has no nodes: add at least a producer, a queue and a consumer",
        );
    }

    for (i, node) in raw.nodes.iter().enumerate() {
        let id = node.id();
        let path = format!("nodes[{i}].id");
        if id.is_empty() {
            c.problem(
                path,
                "is empty: give every node a short unique id such as \"orders\"",
            );
        } else if !id
            .chars()
            .all(|ch| ch.is_alphanumeric() || "-_.:/".contains(ch))
        {
            c.problem(
                path,
                format!("`{id}` may use only letters, digits and - _ . : /"),
            );
        } else if let Some(first) = c.index.get(id) {
            c.problem(
                path,
                format!("`{id}` is already the id of nodes[{first}]: ids must be unique"),
            );
        } else {
            c.index.insert(id, i);
        }
    }

    // Resolve edges and check that each makes sense for its two ends.
    let mut node_edges: Vec<NodeEdges> =
        (0..raw.nodes.len()).map(|_| NodeEdges::default()).collect();
    let mut edges = Vec::with_capacity(raw.edges.len());
    let mut seen_edges = std::collections::HashSet::new();
    for (e, edge) in raw.edges.iter().enumerate() {
        let from = c.index.get(edge.from.as_str()).copied();
        let to = c.index.get(edge.to.as_str()).copied();
        if from.is_none() {
            c.unknown_node(format!("edges[{e}].from"), &edge.from);
        }
        if to.is_none() {
            c.unknown_node(format!("edges[{e}].to"), &edge.to);
        }
        let (Some(from), Some(to)) = (from, to) else {
            continue;
        };
        let (Some(from_kind), Some(to_kind)) = (c.node_kind(from), c.node_kind(to)) else {
            continue;
        };
        if let Err(why) = edge_allowed(from_kind, to_kind, edge.kind) {
            c.problem(
                format!("edges[{e}]"),
                format!(
                    "{from_kind} `{}` -> {to_kind} `{}`: {why}",
                    edge.from, edge.to
                ),
            );
            continue;
        }
        if from == to {
            c.problem(
                format!("edges[{e}]"),
                "an edge cannot connect a node to itself",
            );
            continue;
        }
        if !seen_edges.insert((from, to, edge.kind, edge.key.as_deref(), &edge.headers)) {
            c.problem(
                format!("edges[{e}]"),
                format!(
                    "duplicates an earlier edge from `{}` to `{}`",
                    edge.from, edge.to
                ),
            );
            continue;
        }
        check_edge_fields(&mut c, e, edge, from_kind, to_kind);
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

    let mut nodes = Vec::with_capacity(raw.nodes.len());
    for (i, node) in raw.nodes.iter().enumerate() {
        let p = format!("nodes[{i}]");
        let e = &node_edges[i];
        let kind = match node {
            RawNode::Producer(n) => {
                nodes::check_producer(&mut c, &p, n, &e.normal).map(NodeKind::Producer)
            }
            RawNode::Exchange(n) => {
                nodes::check_exchange(&mut c, &p, n, &e.normal, &e.incoming).map(NodeKind::Exchange)
            }
            RawNode::Queue(n) => {
                let failed: Vec<usize> = e.dead_letter.iter().chain(&e.retry).copied().collect();
                Some(NodeKind::Queue(nodes::check_queue(
                    &mut c, &p, n, &e.normal, &failed,
                )))
            }
            RawNode::Topic(n) => nodes::check_topic(&mut c, &p, n, &e.normal).map(NodeKind::Topic),
            RawNode::Consumer(n) => {
                clients::check_consumer(&mut c, &p, n, e).map(NodeKind::Consumer)
            }
            RawNode::Service(n) => {
                clients::check_service_node(&mut c, &p, n, e).map(NodeKind::Service)
            }
        };
        if let Some(kind) = kind {
            nodes.push(Node {
                id: node.id().to_string(),
                pos: node.pos().unwrap_or((0.0, 0.0)),
                kind,
            });
        }
    }
    // Edges keep their file order; the checked list holds only the valid ones, so
    // references are renumbered.
    let renumber: HashMap<usize, usize> = edges
        .iter()
        .enumerate()
        .map(|(new, (old, _))| (*old, new))
        .collect();
    let faults = check_faults(&mut c, &nodes, &edges);
    if nodes.len() == raw.nodes.len() {
        clients::check_call_cycles(&mut c, &nodes);
    }
    check_links(&mut c);
    let edges: Vec<Edge> = edges.into_iter().map(|(_, edge)| edge).collect();
    renumber_edges(&mut nodes, &renumber);
    if !c.has_problems() && nodes.len() == raw.nodes.len() {
        Ok(Scenario {
            name: raw.name.clone(),
            description: raw.description.clone(),
            seed: raw.seed,
            duration_nanos: duration,
            warmup_nanos: warmup,
            sample_every_nanos: sample_every,
            sample_every_is_default: raw.sample_every.is_none(),
            max_in_flight,
            max_events,
            max_memory_bytes: max_memory,
            nodes,
            edges,
            faults,
        })
    } else {
        Err(Problems {
            list: c.problems,
            more: c.more,
        })
    }
}

/// What to say of `id`, which names no node: the id it was probably meant to be, or
/// some of the ids there are.
fn unknown_node(id: &str, c: &Checker<'_>) -> String {
    let shown = crate::text::printable(id);
    if let Some(i) = c.raw.nodes.iter().position(|n| n.id() == id) {
        return format!("`{shown}` is the id of nodes[{i}], which is not valid: fix that id first");
    }
    if let Some(near) = crate::text::nearest(id, c.raw.nodes.iter().map(RawNode::id)) {
        return format!("no node has the id `{shown}`; did you mean `{near}`?");
    }
    const LISTED: usize = 8;
    let mut ids: Vec<&str> = c.raw.nodes.iter().map(RawNode::id).take(LISTED).collect();
    if c.raw.nodes.len() > LISTED {
        ids.push("...");
    }
    match ids.len() {
        0 => format!("no node has the id `{shown}`: the scenario has no nodes"),
        _ => format!(
            "no node has the id `{shown}`; the ids are: {}",
            crate::text::printable(&ids.join(", "))
        ),
    }
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

/// What is wrong with a fault's own settings, for a target with `partitions` partitions (0
/// for anything but a topic): the field and the message. The checker and `Run::inject` both ask.
pub fn fault_kind_problem(kind: &FaultKind, partitions: u32) -> Option<(&'static str, String)> {
    match *kind {
        FaultKind::Slow { factor } if !(factor.is_finite() && factor > 0.0) => {
            Some(("factor", "must be > 0 (2 is twice as slow)".into()))
        }
        FaultKind::Fail { probability } | FaultKind::Loss { probability }
            if !(0.0..=1.0).contains(&probability) =>
        {
            Some(("probability", "must be between 0 and 1".into()))
        }
        FaultKind::BrokerFailure { partition: Some(_) } if partitions == 0 => Some((
            "partition",
            "only a topic has partitions: leave `partition` out to fail the queue's broker".into(),
        )),
        FaultKind::BrokerFailure {
            partition: Some(partition),
        } if partition >= partitions => Some((
            "partition",
            format!(
                "the topic has partitions 0 to {}: name one of them, or leave `partition` out to fail them all",
                partitions - 1
            ),
        )),
        _ => None,
    }
}

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

/// Resolves fault targets (a node id, or `from->to` for an edge) and checks each kind fits its target.
fn check_faults(c: &mut Checker<'_>, nodes: &[Node], edges: &[(usize, Edge)]) -> Vec<Fault> {
    let mut faults = Vec::new();
    // The first edge between two nodes, by their indices.
    let mut by_ends: HashMap<(usize, usize), usize> = HashMap::new();
    for (index, (_, edge)) in edges.iter().enumerate() {
        by_ends.entry((edge.from, edge.to)).or_insert(index);
    }
    for (i, fault) in c.raw.faults.iter().enumerate() {
        let p = format!("faults[{i}]");
        let target = match fault.target.split_once("->") {
            Some((from, to)) => {
                let (from, to) = (from.trim(), to.trim());
                let ends = (c.index.get(from), c.index.get(to));
                let found = match ends {
                    (Some(from), Some(to)) => by_ends.get(&(*from, *to)).copied(),
                    _ => None,
                };
                match found {
                    Some(index) => FaultTarget::Edge(index),
                    None => {
                        c.problem(
                            format!("{p}.target"),
                            format!("no edge goes from `{from}` to `{to}`"),
                        );
                        continue;
                    }
                }
            }
            None => match c.index.get(fault.target.as_str()) {
                Some(&node) => FaultTarget::Node(node),
                None => {
                    c.unknown_node(format!("{p}.target"), &fault.target);
                    continue;
                }
            },
        };
        let target_kind = match target {
            FaultTarget::Node(n) => c.node_kind(n),
            FaultTarget::Edge(_) => None,
        };
        let fits = match fault.kind {
            FaultKind::Crash | FaultKind::Slow { .. } | FaultKind::Fail { .. } => {
                matches!(target_kind, Some(Kind::Consumer | Kind::Service))
            }
            FaultKind::BrokerFailure { .. } => {
                matches!(target_kind, Some(Kind::Queue | Kind::Topic))
            }
            FaultKind::Cut | FaultKind::Delay { .. } | FaultKind::Loss { .. } => {
                target_kind.is_none()
            }
        };
        let target_kind = target_kind.map_or("edge", Kind::name);
        if !fits {
            let wants = match fault.kind {
                FaultKind::Crash | FaultKind::Slow { .. } | FaultKind::Fail { .. } => {
                    "a consumer or a service"
                }
                FaultKind::BrokerFailure { .. } => "a queue or a topic",
                _ => "an edge, written \"from->to\"",
            };
            c.problem(
                format!("{p}.kind"),
                format!("this fault applies to {wants}, not a {target_kind}"),
            );
            continue;
        }
        let partitions = match target {
            FaultTarget::Node(n) => match nodes.get(n).map(|n| &n.kind) {
                Some(NodeKind::Topic(t)) => t.partitions,
                _ => 0,
            },
            FaultTarget::Edge(_) => 0,
        };
        if let Some((field, message)) = fault_kind_problem(&fault.kind, partitions) {
            c.problem(format!("{p}.kind.{field}"), message);
        }
        faults.push(Fault {
            at_nanos: fault.at.nanos,
            target,
            kind: fault.kind,
            duration_nanos: fault.duration.map(|d| d.nanos),
        });
    }
    faults.sort_by_key(|f| f.at_nanos);
    faults
}

/// Rewrites edge references from file positions to positions in the checked edge list.
fn renumber_edges(nodes: &mut [Node], map: &HashMap<usize, usize>) {
    let fix = |e: &mut usize| {
        if let Some(new) = map.get(e) {
            *e = *new;
        }
    };
    for node in nodes {
        match &mut node.kind {
            NodeKind::Producer(p) => fix(&mut p.edge),
            NodeKind::Queue(q) => {
                if let Some(e) = &mut q.dead_letter {
                    fix(e);
                }
            }
            NodeKind::Consumer(c) => {
                fix(&mut c.source_edge);
                c.outputs.iter_mut().for_each(|o| fix(&mut o.edge));
                if let Some(e) = &mut c.dead_letter {
                    fix(e);
                }
                if let Some(e) = &mut c.retry_to {
                    fix(e);
                }
            }
            NodeKind::Service(s) => {
                s.calls.iter_mut().for_each(|call| fix(&mut call.edge));
                s.outputs.iter_mut().for_each(|o| fix(&mut o.edge));
            }
            NodeKind::Exchange(_) | NodeKind::Topic(_) => {}
        }
    }
}

/// Latency and link faults only where evlab simulates a network link (see
/// [`link_allowed`]): refused with the reason elsewhere, never silently ignored.
fn check_links(c: &mut Checker<'_>) {
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
