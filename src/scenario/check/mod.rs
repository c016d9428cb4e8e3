//! Raw scenario -> checked [`Scenario`], or every problem found, each with a
//! path into the file (`nodes[3].arrival.rate`) and a sentence saying what to do.
//!
//! All problems are collected, not just the first, so a user fixes a file in
//! one pass. Nothing here panics on any input.

mod clients;
mod edges;
mod links;
mod nodes;

use std::collections::HashMap;

use super::Kind;
use super::model::*;
use super::raw::*;
use edges::NodeEdges;
pub use edges::edge_allowed;
pub use links::{LinkUse, link_allowed};

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

impl<'a> Checker<'a> {
    fn new(raw: &'a RawScenario) -> Self {
        Checker {
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
        }
    }
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

/// Checks a raw scenario. On success every reference is resolved.
pub fn check(raw: &RawScenario) -> Result<Scenario, Problems> {
    let mut c = Checker::new(raw);
    check_version(&mut c);
    let times = check_times(&mut c);
    let limits = check_limits(&mut c);
    if raw.nodes.is_empty() {
        c.problem(
            "nodes",
            "the scenario has no nodes: add at least a producer, a queue and a consumer",
        );
    }
    index_ids(&mut c);
    let (node_edges, edges) = edges::resolve_edges(&mut c);
    let mut nodes = check_nodes(&mut c, &node_edges);
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
    links::check_links(&mut c);
    let edges: Vec<Edge> = edges.into_iter().map(|(_, edge)| edge).collect();
    renumber_edges(&mut nodes, &renumber);
    if !c.has_problems() && nodes.len() == raw.nodes.len() {
        Ok(Scenario {
            name: raw.name.clone(),
            description: raw.description.clone(),
            seed: raw.seed,
            duration_nanos: times.duration_nanos,
            warmup_nanos: times.warmup_nanos,
            sample_every_nanos: times.sample_every_nanos,
            sample_every_is_default: raw.sample_every.is_none(),
            max_in_flight: limits.max_in_flight,
            max_events: limits.max_events,
            max_memory_bytes: limits.max_memory_bytes,
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

fn check_version(c: &mut Checker<'_>) {
    if c.raw.version != FORMAT_VERSION {
        c.problem(
            "version",
            format!(
                "this evlab reads scenario version {FORMAT_VERSION}, the file says {}: write `version: {FORMAT_VERSION}` or use the evlab that wrote it",
                c.raw.version
            ),
        );
    }
}

/// The simulated times of a run, checked.
struct Times {
    duration_nanos: u64,
    warmup_nanos: u64,
    sample_every_nanos: u64,
}

/// The duration, the warm-up within it, and how often the time series samples.
fn check_times(c: &mut Checker<'_>) -> Times {
    let raw = c.raw;
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
    Times {
        duration_nanos: duration,
        warmup_nanos: warmup,
        sample_every_nanos: sample_every,
    }
}

/// The caps on a run, checked: the file's `limits`, or the defaults.
struct Limits {
    max_in_flight: u64,
    max_events: u64,
    max_memory_bytes: u64,
}

fn check_limits(c: &mut Checker<'_>) -> Limits {
    let limits = c.raw.limits.as_ref();
    let max_in_flight = limits
        .and_then(|l| l.max_in_flight)
        .unwrap_or(DEFAULT_MAX_IN_FLIGHT);
    if max_in_flight == 0 || max_in_flight > u32::MAX as u64 / 2 {
        c.problem("limits.max_in_flight", "must be between 1 and 2^31");
    }
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
    Limits {
        max_in_flight,
        max_events,
        max_memory_bytes: max_memory,
    }
}

/// Indexes the nodes by id: every valid id that is not already taken.
fn index_ids(c: &mut Checker<'_>) {
    let raw = c.raw;
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
}

/// The nodes that check, each with its edges resolved; the others leave problems.
fn check_nodes(c: &mut Checker<'_>, node_edges: &[NodeEdges]) -> Vec<Node> {
    let raw = c.raw;
    let mut nodes = Vec::with_capacity(raw.nodes.len());
    for (i, node) in raw.nodes.iter().enumerate() {
        if let Some(kind) = check_node(c, i, node, &node_edges[i]) {
            nodes.push(Node {
                id: node.id().to_string(),
                pos: node.pos().unwrap_or((0.0, 0.0)),
                kind,
            });
        }
    }
    nodes
}

/// Checks node `i` by its kind.
fn check_node(c: &mut Checker<'_>, i: usize, node: &RawNode, e: &NodeEdges) -> Option<NodeKind> {
    let p = format!("nodes[{i}]");
    match node {
        RawNode::Producer(n) => nodes::check_producer(c, &p, n, &e.normal).map(NodeKind::Producer),
        RawNode::Exchange(n) => {
            nodes::check_exchange(c, &p, n, &e.normal, &e.incoming).map(NodeKind::Exchange)
        }
        RawNode::Queue(n) => {
            let failed: Vec<usize> = e.dead_letter.iter().chain(&e.retry).copied().collect();
            Some(NodeKind::Queue(nodes::check_queue(
                c, &p, n, &e.normal, &failed,
            )))
        }
        RawNode::Topic(n) => nodes::check_topic(c, &p, n, &e.normal).map(NodeKind::Topic),
        RawNode::Consumer(n) => clients::check_consumer(c, &p, n, e).map(NodeKind::Consumer),
        RawNode::Service(n) => clients::check_service_node(c, &p, n, e).map(NodeKind::Service),
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
