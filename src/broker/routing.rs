//! Routing, resolved before the run starts.
//!
//! A message's route depends only on where it is published and on its
//! routing key and headers, and a scenario has few distinct (key, headers)
//! pairs: each is a *variant*. For every exchange and every variant the
//! destinations (queues and topics, each at most once, as RabbitMQ delivers
//! one copy per queue however many bindings and paths lead to it) are computed
//! here, once, following exchange-to-exchange bindings and alternate exchanges.
//! As in RabbitMQ, each exchange is looked at once per routing however many
//! paths lead to it, so a diamond of exchanges costs its size, not its paths.
//! Routes that do not depend on the variant (fanout all the way) are resolved
//! once for all variants, and identical routes are stored once. The hot loop
//! then routes with one table lookup and no string matching.
//!
//! The table is built under a memory budget and a work budget: a scenario whose
//! routing would take more is refused with the figures, never left to exhaust the machine.

use std::collections::HashMap;

use super::error::BuildError;
use super::matching::{headers_match, topic_matches};
use crate::scenario::raw::ExchangeType;
use crate::scenario::{NodeIndex, NodeKind, Scenario};

/// Where a routed copy ends up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dest {
    Queue(NodeIndex),
    Topic(NodeIndex),
}

/// A routing key and headers, interned.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Variant {
    pub routing_key: Option<String>,
    pub headers: Vec<(String, String)>,
}

/// Index of a [`Variant`].
pub type VariantId = u16;

pub struct RouteTable {
    pub variants: Vec<Variant>,
    /// Per node: the queue or topic itself (publishing to it routes nowhere else).
    own: Vec<Option<Dest>>,
    /// Per node: its exchange's row in `routes_of`, or `NO_ROW`.
    rows: Vec<u32>,
    /// `routes_of[row * variants.len() + variant]`: an index into `routes`.
    routes_of: Vec<u32>,
    /// Distinct routes: a range into `dests` and one into `via`.
    routes: Vec<[u32; 4]>,
    dests: Vec<Dest>,
    /// Exchanges a route passes through (each receives the message), in order.
    via: Vec<NodeIndex>,
}

const NO_ROW: u32 = u32::MAX;

/// Most bindings matched while building the routing table: a scenario that needs
/// more (many exchanges, many bindings and many routing keys at once) is refused.
pub const MAX_ROUTING_STEPS: u64 = 200_000_000;

/// Interns variants while the model is built.
#[derive(Default)]
pub struct VariantInterner {
    variants: Vec<Variant>,
    index: HashMap<Variant, VariantId>,
}

impl VariantInterner {
    pub fn intern(&mut self, variant: Variant) -> Result<VariantId, BuildError> {
        if let Some(&id) = self.index.get(&variant) {
            return Ok(id);
        }
        let id =
            VariantId::try_from(self.variants.len()).map_err(|_| BuildError::TooManyVariants)?;
        self.variants.push(variant.clone());
        self.index.insert(variant, id);
        Ok(id)
    }

    pub fn len(&self) -> usize {
        self.variants.len()
    }

    pub fn is_empty(&self) -> bool {
        self.variants.is_empty()
    }

    /// Headers of variant `id`.
    pub fn headers(&self, id: usize) -> Vec<(String, String)> {
        self.variants
            .get(id)
            .map(|v| v.headers.clone())
            .unwrap_or_default()
    }

    /// Resolves every (exchange, variant) pair of `scenario`, within `budget_bytes` of memory.
    pub fn into_table(
        self,
        scenario: &Scenario,
        budget_bytes: u64,
    ) -> Result<RouteTable, BuildError> {
        let variants = self.variants;
        let nodes = scenario.nodes.len();
        let own = scenario
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| match n.kind {
                NodeKind::Queue(_) => Some(Dest::Queue(i)),
                NodeKind::Topic(_) => Some(Dest::Topic(i)),
                _ => None,
            })
            .collect();
        let mut rows = vec![NO_ROW; nodes];
        let mut exchanges = Vec::new();
        for (i, node) in scenario.nodes.iter().enumerate() {
            if matches!(node.kind, NodeKind::Exchange(_)) {
                if let Some(row) = rows.get_mut(i) {
                    *row = exchanges.len() as u32;
                }
                exchanges.push(i);
            }
        }
        let entries = exchanges.len() as u64 * variants.len().max(1) as u64;
        let too_big = |bytes: u64| BuildError::RoutingTableTooBig {
            exchanges: exchanges.len(),
            variants: variants.len(),
            bytes,
        };
        if entries.saturating_mul(4) > budget_bytes {
            return Err(too_big(entries.saturating_mul(4)));
        }
        let free = variant_free(scenario);
        let mut resolver = Resolver::new(nodes);
        let mut table = RouteTable {
            own,
            rows,
            routes_of: Vec::with_capacity(entries as usize),
            routes: Vec::new(),
            dests: Vec::new(),
            via: Vec::new(),
            variants: Vec::new(),
        };
        let mut known: HashMap<(Vec<Dest>, Vec<NodeIndex>), u32> = HashMap::new();
        let no_variant = Variant {
            routing_key: None,
            headers: Vec::new(),
        };
        for &exchange in &exchanges {
            let shared = free.get(exchange).copied().unwrap_or(false);
            let mut shared_route = None;
            for variant in variants
                .iter()
                .chain(variants.is_empty().then_some(&no_variant))
            {
                let route = match shared_route {
                    Some(route) => route,
                    None => {
                        let (dests, via) = resolver.resolve(scenario, exchange, variant)?;
                        let route = match known.get(&(dests.clone(), via.clone())) {
                            Some(&route) => route,
                            None => {
                                let route = table.routes.len() as u32;
                                let (d, v) = (table.dests.len() as u32, table.via.len() as u32);
                                table.dests.extend_from_slice(&dests);
                                table.via.extend_from_slice(&via);
                                table.routes.push([
                                    d,
                                    table.dests.len() as u32,
                                    v,
                                    table.via.len() as u32,
                                ]);
                                known.insert((dests, via), route);
                                route
                            }
                        };
                        if shared {
                            shared_route = Some(route);
                        }
                        route
                    }
                };
                table.routes_of.push(route);
            }
            let bytes = table.bytes() + known.len() as u64 * 64;
            if bytes > budget_bytes {
                return Err(too_big(bytes));
            }
        }
        table.variants = variants;
        Ok(table)
    }
}

impl RouteTable {
    /// Memory the table takes.
    fn bytes(&self) -> u64 {
        (self.routes_of.capacity() * 4
            + self.routes.len() * 16
            + self.dests.len() * std::mem::size_of::<Dest>()
            + self.via.len() * std::mem::size_of::<NodeIndex>()) as u64
    }

    #[inline(always)]
    fn entry(&self, node: NodeIndex, variant: VariantId) -> Option<&[u32; 4]> {
        let row = *self.rows.get(node)?;
        if row == NO_ROW {
            return None;
        }
        let index = row as usize * self.variants.len().max(1) + variant as usize;
        self.routes.get(*self.routes_of.get(index)? as usize)
    }

    /// Destinations of `variant` published to `node`; empty when unroutable.
    #[inline(always)]
    pub fn route(&self, node: NodeIndex, variant: VariantId) -> &[Dest] {
        if let Some(Some(dest)) = self.own.get(node) {
            return std::slice::from_ref(dest);
        }
        match self.entry(node, variant) {
            Some(&[start, end, _, _]) => {
                self.dests.get(start as usize..end as usize).unwrap_or(&[])
            }
            None => &[],
        }
    }

    /// Exchanges that `variant` published to `node` passes through, the first one being `node` itself.
    #[inline(always)]
    pub fn via(&self, node: NodeIndex, variant: VariantId) -> &[NodeIndex] {
        match self.entry(node, variant) {
            Some(&[_, _, start, end]) => self.via.get(start as usize..end as usize).unwrap_or(&[]),
            None => &[],
        }
    }
}

/// Per node: whether routing from it is the same for every variant (fanout exchanges
/// leading only to queues, topics and other such exchanges).
fn variant_free(scenario: &Scenario) -> Vec<bool> {
    // 0: not looked at, 1: being looked at (a cycle: taken as not free), 2: free, 3: not.
    let mut state = vec![0u8; scenario.nodes.len()];
    fn visit(scenario: &Scenario, node: NodeIndex, state: &mut [u8], depth: usize) -> bool {
        match state.get(node) {
            Some(2) => return true,
            Some(1 | 3) | None => return false,
            _ => {}
        }
        if depth > 10_000 {
            return false;
        }
        let free = match scenario.nodes.get(node).map(|n| &n.kind) {
            Some(NodeKind::Queue(_) | NodeKind::Topic(_)) => true,
            Some(NodeKind::Exchange(x)) if x.exchange_type == ExchangeType::Fanout => {
                if let Some(s) = state.get_mut(node) {
                    *s = 1;
                }
                let targets: Vec<NodeIndex> = if x.bindings.is_empty() {
                    x.alternate.into_iter().collect()
                } else {
                    x.bindings.iter().map(|b| b.target).collect()
                };
                targets
                    .into_iter()
                    .all(|t| visit(scenario, t, state, depth + 1))
            }
            _ => false,
        };
        if let Some(s) = state.get_mut(node) {
            *s = if free { 2 } else { 3 };
        }
        free
    }
    (0..scenario.nodes.len())
        .map(|n| visit(scenario, n, &mut state, 0))
        .collect()
}

/// Resolves routes, reusing its marks between resolutions.
struct Resolver {
    /// Per node: the resolution that last reached it (dedupes queues, visits exchanges once).
    mark: Vec<u32>,
    generation: u32,
    steps: u64,
    stack: Vec<NodeIndex>,
}

impl Resolver {
    fn new(nodes: usize) -> Self {
        Self {
            mark: vec![0; nodes],
            generation: 0,
            steps: 0,
            stack: Vec::new(),
        }
    }

    /// The destinations of `variant` published to `node` and the exchanges it passes
    /// through, each once, in the order a depth-first walk of the bindings meets them.
    fn resolve(
        &mut self,
        scenario: &Scenario,
        node: NodeIndex,
        variant: &Variant,
    ) -> Result<(Vec<Dest>, Vec<NodeIndex>), BuildError> {
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.mark.iter_mut().for_each(|m| *m = 0);
            self.generation = 1;
        }
        let (mut dests, mut via) = (Vec::new(), Vec::new());
        self.stack.clear();
        self.stack.push(node);
        let key = variant.routing_key.as_deref().unwrap_or("");
        while let Some(node) = self.stack.pop() {
            match self.mark.get_mut(node) {
                Some(mark) if *mark != self.generation => *mark = self.generation,
                _ => continue,
            }
            let Some(target) = scenario.nodes.get(node) else {
                continue;
            };
            match &target.kind {
                NodeKind::Queue(_) => dests.push(Dest::Queue(node)),
                NodeKind::Topic(_) => dests.push(Dest::Topic(node)),
                NodeKind::Exchange(exchange) => {
                    via.push(node);
                    self.steps += exchange.bindings.len() as u64 + 1;
                    if self.steps > MAX_ROUTING_STEPS {
                        return Err(BuildError::RoutingTooLong);
                    }
                    let first = self.stack.len();
                    let mut matched = false;
                    for binding in &exchange.bindings {
                        let hit = match exchange.exchange_type {
                            ExchangeType::Fanout => true,
                            ExchangeType::Direct => binding.key == key,
                            ExchangeType::Topic => topic_matches(&binding.key, key),
                            ExchangeType::Headers => {
                                headers_match(binding.x_match, &binding.headers, &variant.headers)
                            }
                        };
                        if hit {
                            // As in RabbitMQ, a matching binding counts as routed even when it
                            // leads to an exchange that routes nowhere: the alternate is for no
                            // match at all.
                            matched = true;
                            self.stack.push(binding.target);
                        }
                    }
                    if !matched && let Some(alternate) = exchange.alternate {
                        self.stack.push(alternate);
                    }
                    // Depth-first in binding order: the first binding is walked first.
                    if let Some(pushed) = self.stack.get_mut(first..) {
                        pushed.reverse();
                    }
                }
                NodeKind::Producer(_) | NodeKind::Consumer(_) | NodeKind::Service(_) => {}
            }
        }
        Ok((dests, via))
    }
}
