//! Routing, resolved before the run starts.
//!
//! A message's route depends only on where it is published and on its
//! routing key and headers, and a scenario has few distinct (key, headers)
//! pairs: each is a *variant*. For every publish target and every variant the
//! destinations (queues and topics, each at most once, as RabbitMQ delivers
//! one copy per queue however many bindings match) are computed here, once,
//! following exchange-to-exchange bindings and alternate exchanges. The hot
//! loop then routes with one table lookup and no string matching.

use std::collections::HashMap;

use super::matching::{headers_match, topic_matches};
use crate::scenario::raw::ExchangeType;
use crate::scenario::{NodeIndex, NodeKind, Scenario};

/// Where a routed copy ends up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    /// `ranges[node * variants.len() + variant]`: a range into `dests` and one into `via`.
    ranges: Vec<[u32; 4]>,
    dests: Vec<Dest>,
    /// Exchanges a route passes through (each receives the message), in order.
    via: Vec<NodeIndex>,
}

/// Interns variants while the model is built.
#[derive(Default)]
pub struct VariantInterner {
    variants: Vec<Variant>,
    index: HashMap<Variant, VariantId>,
}

impl VariantInterner {
    pub fn intern(&mut self, variant: Variant) -> Result<VariantId, String> {
        if let Some(&id) = self.index.get(&variant) {
            return Ok(id);
        }
        let id = VariantId::try_from(self.variants.len()).map_err(|_| {
            "more than 65535 distinct routing keys and header sets: use fewer".to_string()
        })?;
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

    /// Resolves every (node, variant) pair of `scenario`.
    pub fn into_table(self, scenario: &Scenario) -> RouteTable {
        let variants = self.variants;
        let mut ranges = Vec::with_capacity(scenario.nodes.len() * variants.len());
        let mut dests = Vec::new();
        let mut via = Vec::new();
        for node in 0..scenario.nodes.len() {
            for variant in &variants {
                let (dest_start, via_start) = (dests.len() as u32, via.len() as u32);
                let mut found = Vec::new();
                let mut passed = Vec::new();
                resolve(
                    scenario,
                    node,
                    variant,
                    &mut found,
                    &mut passed,
                    &mut Vec::new(),
                );
                dests.extend(found);
                via.extend(passed);
                ranges.push([dest_start, dests.len() as u32, via_start, via.len() as u32]);
            }
        }
        RouteTable {
            variants,
            ranges,
            dests,
            via,
        }
    }
}

impl RouteTable {
    /// Destinations of `variant` published to `node`; empty when unroutable.
    #[inline]
    pub fn route(&self, node: NodeIndex, variant: VariantId) -> &[Dest] {
        match self
            .ranges
            .get(node * self.variants.len() + variant as usize)
        {
            Some(&[start, end, _, _]) => {
                self.dests.get(start as usize..end as usize).unwrap_or(&[])
            }
            None => &[],
        }
    }

    /// Exchanges that `variant` published to `node` passes through, the first one being `node` itself.
    #[inline]
    pub fn via(&self, node: NodeIndex, variant: VariantId) -> &[NodeIndex] {
        match self
            .ranges
            .get(node * self.variants.len() + variant as usize)
        {
            Some(&[_, _, start, end]) => self.via.get(start as usize..end as usize).unwrap_or(&[]),
            None => &[],
        }
    }
}

/// Appends the destinations of `variant` published to `node`, without duplicates.
/// `visiting` guards against exchange cycles.
fn resolve(
    scenario: &Scenario,
    node: NodeIndex,
    variant: &Variant,
    out: &mut Vec<Dest>,
    via: &mut Vec<NodeIndex>,
    visiting: &mut Vec<NodeIndex>,
) {
    let Some(target) = scenario.nodes.get(node) else {
        return;
    };
    let push = |out: &mut Vec<Dest>, dest: Dest| {
        if !out.contains(&dest) {
            out.push(dest);
        }
    };
    match &target.kind {
        NodeKind::Queue(_) => push(out, Dest::Queue(node)),
        NodeKind::Topic(_) => push(out, Dest::Topic(node)),
        NodeKind::Exchange(exchange) => {
            if visiting.contains(&node) {
                return;
            }
            visiting.push(node);
            via.push(node);
            let key = variant.routing_key.as_deref().unwrap_or("");
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
                    // As in RabbitMQ, a matching binding counts as routed even when it leads to
                    // an exchange that routes nowhere: the alternate is for no match at all.
                    matched = true;
                    resolve(scenario, binding.target, variant, out, via, visiting);
                }
            }
            if !matched && let Some(alternate) = exchange.alternate {
                resolve(scenario, alternate, variant, out, via, visiting);
            }
            visiting.pop();
        }
        NodeKind::Producer(_) | NodeKind::Consumer(_) | NodeKind::Service(_) => {}
    }
}
