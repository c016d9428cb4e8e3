//! Auto-layout: arranges the graph left to right, from producers to consumers.
//!
//! Layers are longest paths over the normal edges (dead-letter and retry edges
//! usually point back and would fold the picture); cycles are collapsed into their
//! strongly connected components first, so any graph gets a layering. Within a
//! layer, nodes are ordered by the mean position of their predecessors, which
//! removes most crossings in the pipelines users draw.

use petgraph::algo::{condensation, toposort};
use petgraph::graph::DiGraph;

use crate::scenario::guarantees::EdgeKind;
use crate::scenario::raw::{CanvasPos, RawScenario};

const COLUMN: f32 = 220.0;
const ROW: f32 = 100.0;

/// A position for every node, by index.
pub fn arrange(raw: &RawScenario) -> Vec<CanvasPos> {
    let n = raw.nodes.len();
    let index_of = |id: &str| raw.nodes.iter().position(|node| node.id() == id);
    let mut graph: DiGraph<usize, ()> = DiGraph::new();
    let ids: Vec<_> = (0..n).map(|i| graph.add_node(i)).collect();
    for edge in &raw.edges {
        if edge.kind != EdgeKind::Normal {
            continue;
        }
        if let (Some(from), Some(to)) = (index_of(&edge.from), index_of(&edge.to))
            && from != to
        {
            graph.add_edge(ids[from], ids[to], ());
        }
    }
    // Strongly connected components as single nodes: an acyclic graph.
    let dag = condensation(graph, true);
    let mut layer_of_component = vec![0usize; dag.node_count()];
    let order = toposort(&dag, None).unwrap_or_default();
    for &component in &order {
        let here = layer_of_component[component.index()];
        for next in dag.neighbors(component) {
            let slot = &mut layer_of_component[next.index()];
            *slot = (*slot).max(here + 1);
        }
    }
    let mut layer = vec![0usize; n];
    for component in dag.node_indices() {
        for &node in &dag[component] {
            if let Some(slot) = layer.get_mut(node) {
                *slot = layer_of_component[component.index()];
            }
        }
    }
    let layers = layer.iter().copied().max().map_or(0, |m| m + 1);
    let mut rows: Vec<Vec<usize>> = vec![Vec::new(); layers];
    for (node, &l) in layer.iter().enumerate() {
        rows[l].push(node);
    }
    let mut y = vec![0.0f32; n];
    for row in &mut rows {
        // Order by the mean row of predecessors already placed; file order breaks ties.
        let key = |node: usize| -> f32 {
            let id = raw.nodes[node].id();
            let mut sum = 0.0;
            let mut count = 0.0;
            for edge in raw.edges.iter().filter(|e| e.to == id) {
                if let Some(from) = index_of(&edge.from)
                    && layer[from] < layer[node]
                {
                    sum += y[from];
                    count += 1.0;
                }
            }
            if count > 0.0 {
                sum / count
            } else {
                node as f32 * 1e-3
            }
        };
        let mut keyed: Vec<(f32, usize)> = row.iter().map(|&node| (key(node), node)).collect();
        keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let height = (keyed.len().saturating_sub(1)) as f32 * ROW;
        for (i, &(_, node)) in keyed.iter().enumerate() {
            y[node] = i as f32 * ROW - height / 2.0;
        }
        *row = keyed.into_iter().map(|(_, node)| node).collect();
    }
    (0..n)
        .map(|node| (layer[node] as f32 * COLUMN, y[node]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pipeline_goes_left_to_right_and_cycles_do_not_break_it() {
        let raw = crate::scenario::parse_raw(
            r#"(version: 1, duration: "1s",
                nodes: [Consumer(id: "c", service: Constant(time: "1ms")), Queue(id: "q"), Producer(id: "p", arrival: Poisson(rate: "10/s")), Queue(id: "dlq"),
                        Exchange(id: "x", type: Fanout)],
                edges: [(from: "p", to: "x"), (from: "x", to: "q"), (from: "q", to: "c"),
                        (from: "c", to: "q"), (from: "q", to: "dlq", kind: DeadLetter)])"#,
        )
        .unwrap();
        let pos = arrange(&raw);
        let x = |i: usize| pos[i].0;
        assert!(x(2) < x(4), "producer before exchange");
        assert!(x(4) < x(1), "exchange before queue");
        // The queue and its consumer form a cycle: one layer.
        assert_eq!(x(1), x(0));
        // The dead-letter queue has no normal edge in: first layer.
        assert_eq!(x(3), 0.0);
    }
}
