//! Raw scenario -> checked [`Scenario`], or every problem found, each with a
//! path into the file (`nodes[3].arrival.rate`) and a sentence saying what to do.
//!
//! All problems are collected, not just the first, so a user fixes a file in
//! one pass. Nothing here panics on any input.

use std::collections::{BTreeMap, HashMap};

use super::model::*;
use super::raw::*;
use crate::broker::matching;

/// One thing wrong with a scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where in the file, such as `nodes[3].arrival.rate`; empty for the whole file.
    pub path: String,
    /// What is wrong and what to do about it.
    pub message: String,
}

/// Default cap on message copies in flight at once.
pub const DEFAULT_MAX_IN_FLIGHT: u64 = 10_000_000;
/// Largest key space a producer may draw from (keys are precomputed).
const MAX_KEYS: u32 = 10_000_000;
const MAX_PARTITIONS: u32 = 100_000;
const MAX_CONCURRENCY: u32 = 100_000;

struct Checker<'a> {
    raw: &'a RawScenario,
    index: HashMap<&'a str, usize>,
    problems: Vec<Problem>,
}

impl Checker<'_> {
    fn problem(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem {
            path: path.into(),
            message: message.into(),
        });
    }

    fn node_kind(&self, index: usize) -> &'static str {
        self.raw.nodes.get(index).map_or("?", RawNode::kind_name)
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
}

/// Checks a raw scenario. On success every reference is resolved.
pub fn check(raw: &RawScenario) -> Result<Scenario, Vec<Problem>> {
    let mut c = Checker {
        raw,
        index: HashMap::new(),
        problems: Vec::new(),
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
    let mut outgoing: Vec<Vec<usize>> = vec![Vec::new(); raw.nodes.len()];
    let mut incoming: Vec<Vec<usize>> = vec![Vec::new(); raw.nodes.len()];
    for (e, edge) in raw.edges.iter().enumerate() {
        let from = c.index.get(edge.from.as_str()).copied();
        let to = c.index.get(edge.to.as_str()).copied();
        if from.is_none() {
            c.problem(format!("edges[{e}].from"), unknown_node(&edge.from, raw));
        }
        if to.is_none() {
            c.problem(format!("edges[{e}].to"), unknown_node(&edge.to, raw));
        }
        let (Some(from), Some(to)) = (from, to) else {
            continue;
        };
        let (from_kind, to_kind) = (c.node_kind(from), c.node_kind(to));
        if let Err(why) = edge_allowed(from_kind, to_kind) {
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
        if outgoing[from].iter().any(|&other| {
            raw.edges
                .get(other)
                .is_some_and(|o| o.to == edge.to && o.key == edge.key && o.headers == edge.headers)
        }) {
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
        outgoing[from].push(e);
        incoming[to].push(e);
    }

    let mut nodes = Vec::with_capacity(raw.nodes.len());
    for (i, node) in raw.nodes.iter().enumerate() {
        let p = format!("nodes[{i}]");
        let kind = match node {
            RawNode::Producer(n) => {
                check_producer(&mut c, &p, n, &outgoing[i]).map(NodeKind::Producer)
            }
            RawNode::Exchange(n) => {
                check_exchange(&mut c, &p, n, &outgoing[i], &incoming[i]).map(NodeKind::Exchange)
            }
            RawNode::Queue(n) => Some(NodeKind::Queue(check_queue(&mut c, &p, n, &outgoing[i]))),
            RawNode::Topic(n) => check_topic(&mut c, &p, n, &outgoing[i]).map(NodeKind::Topic),
            RawNode::Consumer(n) => {
                check_consumer(&mut c, &p, n, &outgoing[i], &incoming[i]).map(NodeKind::Consumer)
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
    if c.problems.is_empty() && nodes.len() == raw.nodes.len() {
        Ok(Scenario {
            name: raw.name.clone(),
            description: raw.description.clone(),
            seed: raw.seed,
            duration_nanos: duration,
            warmup_nanos: warmup,
            sample_every_nanos: sample_every,
            sample_every_is_default: raw.sample_every.is_none(),
            max_in_flight,
            nodes,
        })
    } else {
        Err(c.problems)
    }
}

fn unknown_node(id: &str, raw: &RawScenario) -> String {
    let ids: Vec<&str> = raw.nodes.iter().map(RawNode::id).collect();
    let near = ids.iter().find(|known| {
        known.eq_ignore_ascii_case(id)
            || (known.len() > 2 && (known.contains(id) || id.contains(*known)))
    });
    match near {
        Some(near) => format!("no node has the id `{id}`; did you mean `{near}`?"),
        None => format!("no node has the id `{id}`; known ids: {}", ids.join(", ")),
    }
}

/// Which edges make sense, and why the others do not.
pub fn edge_allowed(from_kind: &str, to_kind: &str) -> Result<(), &'static str> {
    match (from_kind, to_kind) {
        ("producer", "exchange" | "queue" | "topic") => Ok(()),
        ("exchange", "queue" | "exchange") => Ok(()),
        ("queue" | "topic", "consumer") => Ok(()),
        ("consumer", "exchange" | "queue" | "topic") => Ok(()),
        (_, "producer") => Err("nothing sends to a producer: producers only publish"),
        ("producer", _) => Err("a producer publishes to an exchange, a queue or a topic"),
        ("exchange", "topic") => {
            Err("exchanges route to queues or other exchanges; publish to a topic directly")
        }
        ("exchange", _) => Err("an exchange binds to queues or other exchanges"),
        ("queue" | "topic", _) => Err("queues and topics deliver to consumers"),
        ("consumer", _) => Err("a consumer publishes to an exchange, a queue or a topic"),
        _ => Err("this connection has no meaning"),
    }
}

fn check_edge_fields(
    c: &mut Checker<'_>,
    e: usize,
    edge: &RawEdge,
    from_kind: &str,
    to_kind: &str,
) {
    let binding = from_kind == "exchange";
    let publishing = from_kind == "consumer";
    if edge.key.is_some() && !binding && !publishing {
        c.problem(format!("edges[{e}].key"), format!("only exchange bindings and consumer outputs take a key, not {from_kind} -> {to_kind}"));
    }
    if (!edge.headers.is_empty() || edge.x_match.is_some()) && !binding {
        c.problem(
            format!("edges[{e}].headers"),
            "only bindings of a headers exchange take headers and x_match",
        );
    }
    if let Some(key) = &edge.key
        && let Err(why) = matching::check_binding_key(key)
    {
        c.problem(format!("edges[{e}].key"), why);
    }
}

fn check_producer(
    c: &mut Checker<'_>,
    p: &str,
    n: &RawProducer,
    outgoing: &[usize],
) -> Option<Producer> {
    let arrival = match &n.arrival {
        RawArrival::Constant { rate } => {
            c.positive_rate(format!("{p}.arrival.rate"), rate.per_sec);
            Arrival::Constant {
                rate_per_sec: rate.per_sec,
            }
        }
        RawArrival::Poisson { rate } => {
            c.positive_rate(format!("{p}.arrival.rate"), rate.per_sec);
            Arrival::Poisson {
                rate_per_sec: rate.per_sec,
            }
        }
        RawArrival::OnOff { rate, on, off } => {
            c.positive_rate(format!("{p}.arrival.rate"), rate.per_sec);
            c.positive_duration(format!("{p}.arrival.on"), on.nanos);
            Arrival::OnOff {
                rate_per_sec: rate.per_sec,
                on_nanos: on.nanos,
                off_nanos: off.nanos,
            }
        }
        RawArrival::Schedule { steps } => {
            if steps.is_empty() {
                c.problem(
                    format!("{p}.arrival.steps"),
                    "needs at least one step such as (at: \"0s\", rate: \"100/s\")",
                );
            }
            let mut out = Vec::with_capacity(steps.len() + 1);
            if steps.first().is_some_and(|s| s.at.nanos > 0) {
                out.push((0, 0.0));
            }
            let mut last = None;
            for (k, step) in steps.iter().enumerate() {
                if !(step.rate.per_sec.is_finite() && step.rate.per_sec <= 1e9) {
                    c.problem(
                        format!("{p}.arrival.steps[{k}].rate"),
                        "must be a finite rate <= 1e9/s",
                    );
                }
                if last.is_some_and(|l| step.at.nanos <= l) {
                    c.problem(
                        format!("{p}.arrival.steps[{k}].at"),
                        "steps must be in increasing time order",
                    );
                }
                last = Some(step.at.nanos);
                out.push((step.at.nanos, step.rate.per_sec));
            }
            Arrival::Schedule { steps: out }
        }
    };
    if n.size.bytes > u32::MAX as u64 {
        c.problem(format!("{p}.size"), "must be below 4GiB");
    }
    let keys = match n.keys {
        RawKeys::None => Keys::None,
        RawKeys::Uniform { count } => {
            if count == 0 || count > MAX_KEYS {
                c.problem(
                    format!("{p}.keys.count"),
                    format!("must be between 1 and {MAX_KEYS}"),
                );
            }
            Keys::Uniform { count }
        }
        RawKeys::Zipf { count, exponent } => {
            if count == 0 || count > MAX_KEYS {
                c.problem(
                    format!("{p}.keys.count"),
                    format!("must be between 1 and {MAX_KEYS}"),
                );
            }
            if !(exponent.is_finite() && exponent >= 0.0) {
                c.problem(
                    format!("{p}.keys.exponent"),
                    "must be >= 0 (0 is uniform; 1 is classic Zipf)",
                );
            }
            Keys::Zipf { count, exponent }
        }
    };
    if n.routing_key.is_some() && !n.routing_keys.is_empty() {
        c.problem(
            format!("{p}.routing_keys"),
            "give either routing_key or routing_keys, not both",
        );
    }
    let routing_keys = match &n.routing_key {
        Some(key) => vec![key.clone()],
        None => n.routing_keys.clone(),
    };
    let target = match outgoing {
        [edge] => c
            .raw
            .edges
            .get(*edge)
            .and_then(|e| c.index.get(e.to.as_str()).copied()),
        [] => {
            c.problem(p, format!("producer `{}` publishes nowhere: add an edge from it to an exchange, a queue or a topic", n.id));
            None
        }
        _ => {
            c.problem(p, format!("producer `{}` has {} outgoing edges: a producer publishes to one target (use a fanout exchange to reach several)", n.id, outgoing.len()));
            None
        }
    };
    Some(Producer {
        arrival,
        size_bytes: n.size.bytes.min(u32::MAX as u64) as u32,
        keys,
        routing_keys,
        headers: sorted(&n.headers),
        priority: n.priority.unwrap_or(0),
        target: target?,
    })
}

fn sorted(map: &BTreeMap<String, String>) -> Vec<(String, String)> {
    map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

fn check_exchange(
    c: &mut Checker<'_>,
    p: &str,
    n: &RawExchange,
    outgoing: &[usize],
    incoming: &[usize],
) -> Option<Exchange> {
    let alternate = match &n.alternate {
        None => None,
        Some(id) => match c.index.get(id.as_str()).copied() {
            Some(index) if c.node_kind(index) == "exchange" && id != &n.id => Some(index),
            Some(_) => {
                c.problem(
                    format!("{p}.alternate"),
                    format!("`{id}` is not another exchange: an alternate must be an exchange"),
                );
                None
            }
            None => {
                c.problem(format!("{p}.alternate"), unknown_node(id, c.raw));
                None
            }
        },
    };
    let is_alternate = c.raw.nodes.iter().any(|other| matches!(other, RawNode::Exchange(x) if x.alternate.as_deref() == Some(n.id.as_str()) && x.id != n.id));
    if incoming.is_empty() && !is_alternate {
        c.problem(p, format!("exchange `{}` receives nothing: connect a producer or a consumer to it, or remove it", n.id));
    }
    let mut bindings = Vec::with_capacity(outgoing.len());
    for &e in outgoing {
        let Some(edge) = c.raw.edges.get(e) else {
            continue;
        };
        let Some(target) = c.index.get(edge.to.as_str()).copied() else {
            continue;
        };
        match n.exchange_type {
            ExchangeType::Direct | ExchangeType::Topic if edge.key.is_none() => {
                c.problem(
                    format!("edges[{e}].key"),
                    format!(
                        "a binding of {} exchange `{}` needs a key, such as key: \"orders.*\"",
                        type_name(n.exchange_type),
                        n.id
                    ),
                );
            }
            ExchangeType::Headers if edge.headers.is_empty() => {
                c.problem(format!("edges[{e}].headers"), format!("a binding of headers exchange `{}` needs headers to match, such as headers: {{\"format\": \"pdf\"}}", n.id));
            }
            _ => {}
        }
        bindings.push(Binding {
            target,
            key: edge.key.clone().unwrap_or_default(),
            headers: sorted(&edge.headers),
            x_match: edge.x_match.unwrap_or_default(),
        });
    }
    Some(Exchange {
        exchange_type: n.exchange_type,
        alternate,
        bindings,
    })
}

fn type_name(t: ExchangeType) -> &'static str {
    match t {
        ExchangeType::Direct => "direct",
        ExchangeType::Fanout => "fanout",
        ExchangeType::Topic => "topic",
        ExchangeType::Headers => "headers",
    }
}

fn check_queue(c: &mut Checker<'_>, p: &str, n: &RawQueue, outgoing: &[usize]) -> Queue {
    if n.max_length == Some(0) && n.overflow == Overflow::DropHead {
        c.problem(
            format!("{p}.max_length"),
            "0 with drop-head discards every message; use at least 1",
        );
    }
    if let Some(ttl) = n.ttl {
        c.positive_duration(format!("{p}.ttl"), ttl.nanos);
    }
    let consumers = outgoing
        .iter()
        .filter_map(|&e| {
            c.raw
                .edges
                .get(e)
                .and_then(|edge| c.index.get(edge.to.as_str()).copied())
        })
        .collect();
    Queue {
        max_length: n.max_length,
        overflow: n.overflow,
        ttl_nanos: n.ttl.map(|t| t.nanos),
        max_priority: n.max_priority.unwrap_or(0),
        consumers,
    }
}

fn check_topic(c: &mut Checker<'_>, p: &str, n: &RawTopic, outgoing: &[usize]) -> Option<Topic> {
    if n.partitions == 0 || n.partitions > MAX_PARTITIONS {
        c.problem(
            format!("{p}.partitions"),
            format!("must be between 1 and {MAX_PARTITIONS}"),
        );
    }
    if let Partitioner::Sticky { batch } = n.partitioner
        && batch == 0
    {
        c.problem(format!("{p}.partitioner.batch"), "must be >= 1");
    }
    if let Some(retention) = n.retention {
        c.positive_duration(format!("{p}.retention"), retention.nanos);
    }
    if n.retention_bytes.is_some_and(|b| b.bytes == 0) {
        c.problem(format!("{p}.retention_bytes"), "must be > 0");
    }
    let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for &e in outgoing {
        let Some(edge) = c.raw.edges.get(e) else {
            continue;
        };
        let Some(&consumer) = c.index.get(edge.to.as_str()) else {
            continue;
        };
        let Some(RawNode::Consumer(raw)) = c.raw.nodes.get(consumer) else {
            continue;
        };
        groups
            .entry(raw.group.clone().unwrap_or_else(|| raw.id.clone()))
            .or_default()
            .push(consumer);
    }
    if groups.is_empty() {
        c.problem(p, format!("topic `{}` has no consumer: connect it to at least one consumer (a consumer group reads it)", n.id));
    }
    for members in groups.values_mut() {
        members.sort_by(|a, b| c.raw.nodes[*a].id().cmp(c.raw.nodes[*b].id()));
    }
    Some(Topic {
        partitions: n.partitions.max(1),
        partitioner: n.partitioner,
        retention_nanos: n.retention.map(|r| r.nanos),
        retention_bytes: n.retention_bytes.map(|b| b.bytes),
        groups: groups.into_iter().collect(),
    })
}

fn check_consumer(
    c: &mut Checker<'_>,
    p: &str,
    n: &RawConsumer,
    outgoing: &[usize],
    incoming: &[usize],
) -> Option<Consumer> {
    if n.concurrency == 0 || n.concurrency > MAX_CONCURRENCY {
        c.problem(
            format!("{p}.concurrency"),
            format!("must be between 1 and {MAX_CONCURRENCY}"),
        );
    }
    let prefetch = n.prefetch.unwrap_or(n.concurrency);
    if prefetch == 0 {
        c.problem(
            format!("{p}.prefetch"),
            "must be >= 1 (a consumer with no credit never receives)",
        );
    }
    let service = check_service(c, &format!("{p}.service"), &n.service);
    let source = match incoming {
        [edge] => c
            .raw
            .edges
            .get(*edge)
            .and_then(|e| c.index.get(e.from.as_str()).copied()),
        [] => {
            c.problem(
                p,
                format!(
                    "consumer `{}` reads nothing: add an edge from a queue or a topic to it",
                    n.id
                ),
            );
            None
        }
        _ => {
            c.problem(p, format!("consumer `{}` reads from {} sources: a consumer reads one queue or topic (add a consumer per source)", n.id, incoming.len()));
            None
        }
    };
    if let Some(source) = source
        && n.group.is_some()
        && c.node_kind(source) == "queue"
    {
        c.problem(format!("{p}.group"), "consumer groups apply to topics; consumers of one queue already compete for its messages");
    }
    let outputs = outgoing
        .iter()
        .filter_map(|&e| {
            let edge = c.raw.edges.get(e)?;
            Some(Output {
                target: c.index.get(edge.to.as_str()).copied()?,
                routing_key: edge.key.clone(),
            })
        })
        .collect();
    Some(Consumer {
        group: n.group.clone().unwrap_or_else(|| n.id.clone()),
        concurrency: n.concurrency.max(1),
        prefetch: prefetch.max(1),
        service: service?,
        source: source?,
        outputs,
    })
}

fn check_service(c: &mut Checker<'_>, p: &str, service: &RawService) -> Option<Service> {
    const MAX_MEAN_NANOS: f64 = 1e15;
    let checked = match *service {
        RawService::Constant { time } => Service::Constant { nanos: time.nanos },
        RawService::Exponential { mean } => {
            c.positive_duration(format!("{p}.mean"), mean.nanos);
            Service::Exponential {
                mean_nanos: mean.nanos as f64,
            }
        }
        RawService::Uniform { min, max } => {
            if min > max {
                c.problem(format!("{p}.max"), format!("must be >= min ({min})"));
            }
            Service::Uniform {
                min_nanos: min.nanos,
                max_nanos: max.nanos,
            }
        }
        RawService::LogNormal { mean, stddev } => {
            c.positive_duration(format!("{p}.mean"), mean.nanos);
            let m = mean.nanos.max(1) as f64;
            let s = stddev.nanos as f64;
            let sigma2 = (1.0 + (s * s) / (m * m)).ln();
            Service::LogNormal {
                mu: m.ln() - sigma2 / 2.0,
                sigma: sigma2.sqrt(),
            }
        }
        RawService::Pareto { scale, shape } => {
            c.positive_duration(format!("{p}.scale"), scale.nanos);
            if !(shape.is_finite() && shape > 0.0) {
                c.problem(
                    format!("{p}.shape"),
                    "must be > 0 (above 1 for a finite mean; 2.5 is a common heavy tail)",
                );
                return None;
            }
            Service::Pareto {
                scale_nanos: scale.nanos as f64,
                shape,
            }
        }
    };
    if checked.mean_nanos() > MAX_MEAN_NANOS {
        c.problem(p, "has a mean above 11 days (or an infinite one): choose a shorter processing time or a Pareto shape above 1");
    }
    Some(checked)
}
