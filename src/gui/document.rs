//! The scenario being edited, and the one place where it changes.
//!
//! Every edit the lab makes (from the canvas, the inspector, the menus) is an
//! [`Edit`] value applied by [`Document::apply`], which keeps the undo and redo
//! stacks. Undo keeps whole copies of the scenario: a few hundred nodes copy in
//! microseconds, and a copy cannot drift from what it restores. Consecutive edits
//! with the same [`Edit::merge_key`] (the frames of one drag, the keystrokes in one
//! field) make one undo step.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::PathBuf;

use crate::scenario::raw::{CanvasPos, RawEdge, RawFault, RawNode, RawScenario};

/// How many steps undo remembers.
const UNDO_DEPTH: usize = 200;

/// A change to the scenario. The UI emits these; [`Document::apply`] applies them.
#[derive(Debug, Clone, PartialEq)]
pub enum Edit {
    /// Adds a node (its id is made unique if taken).
    AddNode(RawNode),
    /// Adds a node and an edge from node `from` to it, in one undo step.
    AddNodeFrom { node: RawNode, from: String },
    /// Removes nodes by id, with their edges and faults.
    RemoveNodes(Vec<String>),
    /// Removes edges by index.
    RemoveEdges(Vec<usize>),
    /// Adds an edge.
    AddEdge(RawEdge),
    /// Moves nodes to new positions. `drag` identifies one drag gesture: its frames merge.
    MoveNodes {
        moves: Vec<(String, CanvasPos)>,
        drag: u64,
    },
    /// Replaces node `index` (an inspector edit). A new id is carried into edges and faults.
    SetNode { index: usize, node: RawNode },
    /// Replaces edge `index`.
    SetEdge { index: usize, edge: RawEdge },
    /// Replaces the scenario's settings (name, description, seed, duration, ...): everything
    /// but nodes, edges and faults.
    SetSettings(Box<RawScenario>),
    /// Adds nodes and the edges among them (paste, duplicate); ids are made unique and the
    /// edges follow the renames.
    Paste {
        nodes: Vec<RawNode>,
        edges: Vec<RawEdge>,
    },
    /// Appends faults (a live session's fault timeline saved into the scenario).
    AddFaults(Vec<RawFault>),
    /// Removes fault `index`.
    RemoveFault(usize),
}

impl Edit {
    /// Edits with equal keys, one right after the other, make one undo step.
    fn merge_key(&self) -> Option<String> {
        match self {
            Edit::MoveNodes { drag, .. } => Some(format!("move {drag}")),
            Edit::SetNode { index, .. } => Some(format!("node {index}")),
            Edit::SetEdge { index, .. } => Some(format!("edge {index}")),
            Edit::SetSettings(_) => Some("settings".into()),
            _ => None,
        }
    }

    /// Whether the edit changes what runs (a restart is needed), not just the picture.
    pub fn is_structural(&self) -> bool {
        !matches!(self, Edit::MoveNodes { .. })
    }
}

/// What [`Document::apply`] did.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Applied {
    /// Ids of nodes the edit added (after renames), for the canvas to select.
    pub added: Vec<String>,
}

/// The scenario in the lab, its file and its history.
pub struct Document {
    pub raw: RawScenario,
    /// Where it was loaded from or last saved to; `None` for a new scenario or an example.
    pub path: Option<PathBuf>,
    /// What the title shows when there is no path (an example's name, or "untitled").
    pub label: String,
    /// The comments above the scenario in the file it came from, written back on save.
    pub header: String,
    /// The scenario as last saved or loaded, to tell whether there are unsaved changes.
    saved: RawScenario,
    /// Whether `raw` differs from `saved`, worked out when either changes (not every frame).
    dirty: bool,
    undo: Vec<RawScenario>,
    redo: Vec<RawScenario>,
    last_merge: Option<String>,
    /// Bumped by every change, so views can cache what they derive from the scenario.
    pub generation: u64,
    /// Where each node is in `raw.nodes`, by id: a hint that [`Document::node`] checks
    /// and rebuilds when it is stale, so it is never wrong, only sometimes slow.
    index: RefCell<HashMap<String, usize>>,
}

impl Document {
    pub fn new(raw: RawScenario, path: Option<PathBuf>, label: String) -> Self {
        Self {
            saved: raw.clone(),
            dirty: false,
            raw,
            path,
            label,
            header: String::new(),
            undo: Vec::new(),
            redo: Vec::new(),
            last_merge: None,
            generation: 0,
            index: RefCell::default(),
        }
    }

    /// The node with id `id`, found through the index (a frame draws every edge and
    /// node, and a scan per lookup made that quadratic).
    pub fn node(&self, id: &str) -> Option<&RawNode> {
        let nodes = &self.raw.nodes;
        let hinted = self.index.borrow().get(id).copied();
        if let Some(node) = hinted.and_then(|i| nodes.get(i)).filter(|n| n.id() == id) {
            return Some(node);
        }
        let mut index = self.index.borrow_mut();
        index.clear();
        index.extend(
            nodes
                .iter()
                .enumerate()
                .map(|(i, n)| (n.id().to_string(), i)),
        );
        index.get(id).and_then(|&i| nodes.get(i))
    }

    pub fn is_dirty(&self) -> bool {
        self.dirty
    }

    /// The scenario's settings alone: everything but its nodes, edges and faults, which
    /// stay empty (what [`Edit::SetSettings`] takes), without copying the graph.
    pub fn settings(&self) -> RawScenario {
        let RawScenario {
            version,
            name,
            description,
            seed,
            duration,
            warmup,
            sample_every,
            limits,
            nodes: _,
            edges: _,
            faults: _,
        } = &self.raw;
        RawScenario {
            version: *version,
            name: name.clone(),
            description: description.clone(),
            seed: *seed,
            duration: *duration,
            warmup: *warmup,
            sample_every: *sample_every,
            limits: limits.clone(),
            nodes: Vec::new(),
            edges: Vec::new(),
            faults: Vec::new(),
        }
    }

    /// After `raw` changed: a new generation, and whether it now differs from the file.
    fn changed(&mut self) {
        self.generation += 1;
        self.dirty = self.raw != self.saved;
    }

    /// Records that the scenario as it is now has been saved to `path`.
    pub fn mark_saved(&mut self, path: PathBuf) {
        self.saved = self.raw.clone();
        self.dirty = false;
        self.path = Some(path);
    }

    pub fn title(&self) -> String {
        match &self.path {
            Some(path) => path.file_name().map_or_else(
                || path.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            ),
            None => self.label.clone(),
        }
    }

    pub fn can_undo(&self) -> bool {
        !self.undo.is_empty()
    }

    pub fn can_redo(&self) -> bool {
        !self.redo.is_empty()
    }

    pub fn undo(&mut self) -> bool {
        let Some(previous) = self.undo.pop() else {
            return false;
        };
        self.redo.push(std::mem::replace(&mut self.raw, previous));
        self.last_merge = None;
        self.changed();
        true
    }

    pub fn redo(&mut self) -> bool {
        let Some(next) = self.redo.pop() else {
            return false;
        };
        self.undo.push(std::mem::replace(&mut self.raw, next));
        self.last_merge = None;
        self.changed();
        true
    }

    /// Ends the current merge run: the next edit starts a new undo step even if its key is
    /// the same (a second drag of the same node, say).
    pub fn seal(&mut self) {
        self.last_merge = None;
    }

    /// Applies `edit` as one undo step (or merged into the previous one). Only an edit that
    /// starts a step copies the scenario (for undo): the frames of a drag after its first
    /// merge into that step and copy nothing.
    pub fn apply(&mut self, edit: Edit) -> Applied {
        let key = edit.merge_key();
        let merge = key.is_some() && key == self.last_merge;
        if merge {
            let applied = apply_to(&mut self.raw, edit);
            self.changed();
            return applied;
        }
        let before = self.raw.clone();
        let applied = apply_to(&mut self.raw, edit);
        if self.raw == before {
            return applied;
        }
        self.undo.push(before);
        if self.undo.len() > UNDO_DEPTH {
            self.undo.remove(0);
        }
        self.last_merge = key;
        self.redo.clear();
        self.changed();
        applied
    }

    /// The kind of the node named `id`.
    pub fn kind_of(&self, id: &str) -> Option<crate::scenario::Kind> {
        self.node_index(id)
            .and_then(|i| self.raw.nodes.get(i))
            .map(crate::scenario::raw::RawNode::kind)
    }

    /// The nodes whose source ([`Document::source_of`]) is a topic, in one pass over the
    /// edges (a frame asks it of every consumer).
    pub fn topic_readers(&self) -> std::collections::HashSet<&str> {
        let mut seen = std::collections::HashSet::new();
        let mut readers = std::collections::HashSet::new();
        for e in &self.raw.edges {
            match self.node(&e.from) {
                Some(RawNode::Topic(_)) if seen.insert(e.to.as_str()) => {
                    readers.insert(e.to.as_str());
                }
                Some(RawNode::Queue(_)) => {
                    seen.insert(e.to.as_str());
                }
                _ => {}
            }
        }
        readers
    }

    /// The queue or topic node `id` reads from (the first edge into it from one).
    pub fn source_of(&self, id: &str) -> Option<&RawNode> {
        self.raw
            .edges
            .iter()
            .filter(|e| e.to == id)
            .filter_map(|e| self.node(&e.from))
            .find(|n| matches!(n, RawNode::Queue(_) | RawNode::Topic(_)))
    }

    pub fn node_index(&self, id: &str) -> Option<usize> {
        self.raw.nodes.iter().position(|n| n.id() == id)
    }
}

/// `base` if no node has it as id, else `base-2`, `base-3`, ...
pub fn unique_id(raw: &RawScenario, base: &str) -> String {
    let taken = |id: &str| raw.nodes.iter().any(|n| n.id() == id);
    if !base.is_empty() && !taken(base) {
        return base.to_string();
    }
    // Strip a numeric suffix so that copies of `q-2` are `q-3`, not `q-2-2`.
    let stem = match base.rsplit_once('-') {
        Some((stem, n)) if !stem.is_empty() && n.parse::<u32>().is_ok() => stem,
        _ if base.is_empty() => "node",
        _ => base,
    };
    (2u32..)
        .map(|n| format!("{stem}-{n}"))
        .find(|id| !taken(id))
        .unwrap_or_else(|| format!("{stem}-x"))
}

fn apply_to(raw: &mut RawScenario, edit: Edit) -> Applied {
    let mut applied = Applied::default();
    match edit {
        Edit::AddNode(mut node) => {
            let id = unique_id(raw, node.id());
            *node.id_mut() = id.clone();
            raw.nodes.push(node);
            applied.added.push(id);
        }
        Edit::AddNodeFrom { mut node, from } => {
            let id = unique_id(raw, node.id());
            *node.id_mut() = id.clone();
            raw.nodes.push(node);
            raw.edges.push(RawEdge {
                from,
                to: id.clone(),
                ..RawEdge::default()
            });
            applied.added.push(id);
        }
        Edit::RemoveNodes(ids) => {
            raw.nodes.retain(|n| !ids.iter().any(|id| id == n.id()));
            raw.edges
                .retain(|e| !ids.contains(&e.from) && !ids.contains(&e.to));
            raw.faults.retain(|f| !ids.contains(&f.target));
        }
        Edit::RemoveEdges(mut indices) => {
            indices.sort_unstable();
            indices.dedup();
            for index in indices.into_iter().rev() {
                if index < raw.edges.len() {
                    raw.edges.remove(index);
                }
            }
        }
        Edit::AddEdge(edge) => raw.edges.push(edge),
        Edit::MoveNodes { moves, .. } => {
            for (id, pos) in moves {
                if let Some(node) = raw.nodes.iter_mut().find(|n| n.id() == id) {
                    *node.pos_mut() = Some(pos);
                }
            }
        }
        Edit::SetNode { index, node } => {
            let Some(slot) = raw.nodes.get_mut(index) else {
                return applied;
            };
            let old = slot.id().to_string();
            let new = node.id().to_string();
            *slot = node;
            if old != new {
                rename(raw, &old, &new);
            }
        }
        Edit::SetEdge { index, edge } => {
            if let Some(slot) = raw.edges.get_mut(index) {
                *slot = edge;
            }
        }
        Edit::SetSettings(settings) => set_settings(raw, *settings),
        Edit::Paste { nodes, edges } => applied.added = paste(raw, nodes, edges),
        Edit::AddFaults(faults) => raw.faults.extend(faults),
        Edit::RemoveFault(index) => {
            if index < raw.faults.len() {
                raw.faults.remove(index);
            }
        }
    }
    applied
}

/// Takes everything from `settings` but its nodes, edges and faults.
fn set_settings(raw: &mut RawScenario, settings: RawScenario) {
    let RawScenario {
        version,
        name,
        description,
        seed,
        duration,
        warmup,
        sample_every,
        limits,
        nodes: _,
        edges: _,
        faults: _,
    } = settings;
    raw.version = version;
    raw.name = name;
    raw.description = description;
    raw.seed = seed;
    raw.duration = duration;
    raw.warmup = warmup;
    raw.sample_every = sample_every;
    raw.limits = limits;
}

/// Adds copies of `nodes` under fresh ids, and the `edges` among them; returns the new ids.
fn paste(raw: &mut RawScenario, nodes: Vec<RawNode>, edges: Vec<RawEdge>) -> Vec<String> {
    let mut added = Vec::new();
    let mut renames: Vec<(String, String)> = Vec::new();
    for mut node in nodes {
        let id = unique_id(raw, node.id());
        renames.push((node.id().to_string(), id.clone()));
        *node.id_mut() = id.clone();
        raw.nodes.push(node);
        added.push(id);
    }
    let renamed = |id: &str| {
        renames
            .iter()
            .find(|(old, _)| old == id)
            .map(|(_, new)| new.clone())
    };
    for mut edge in edges {
        let (Some(from), Some(to)) = (renamed(&edge.from), renamed(&edge.to)) else {
            continue;
        };
        edge.from = from;
        edge.to = to;
        raw.edges.push(edge);
    }
    added
}

/// Carries a node's new id into the edges, faults and alternates that name it.
fn rename(raw: &mut RawScenario, old: &str, new: &str) {
    for edge in &mut raw.edges {
        if edge.from == old {
            edge.from = new.to_string();
        }
        if edge.to == old {
            edge.to = new.to_string();
        }
    }
    for fault in &mut raw.faults {
        if fault.target == old {
            fault.target = new.to_string();
        }
    }
    for node in &mut raw.nodes {
        if let RawNode::Exchange(x) = node
            && x.alternate.as_deref() == Some(old)
        {
            x.alternate = Some(new.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::raw::{RawConsumer, RawProducer, RawQueue};

    fn doc() -> Document {
        let raw = crate::scenario::parse_raw(
            r#"(version: 1, duration: "1s",
                nodes: [Producer(id: "p", arrival: Poisson(rate: "10/s")), Queue(id: "q"), Consumer(id: "c", service: Constant(time: "1ms"))],
                edges: [(from: "p", to: "q"), (from: "q", to: "c")])"#,
        )
        .unwrap();
        Document::new(raw, None, "test".into())
    }

    #[test]
    fn a_node_is_found_by_id_even_when_the_index_is_stale() {
        let mut d = doc();
        // (change to the nodes, each after the last, then the id and the kind expected).
        type Change = fn(&mut Vec<RawNode>);
        let cases: [(Change, &str, Option<&str>); 4] = [
            (|_| {}, "q", Some("Queue")),
            (|n| n.swap(0, 2), "p", Some("Producer")),
            (|n| drop(n.remove(1)), "q", None),
            (|n| drop(n.remove(0)), "p", Some("Producer")),
        ];
        for (change, id, kind) in cases {
            let _ = d.node("p"); // the hint as the last lookup left it
            change(&mut d.raw.nodes);
            let found = d.node(id).map(|n| format!("{:?}", n.kind()));
            assert_eq!(found.as_deref(), kind, "{id}");
        }
        assert!(d.node("missing").is_none());
    }

    #[test]
    fn the_topic_readers_are_the_nodes_whose_source_is_a_topic_in_every_example() {
        for (name, text) in crate::examples::EXAMPLES {
            let raw = crate::scenario::parse_raw(text).unwrap();
            let d = Document::new(raw, None, (*name).into());
            let readers = d.topic_readers();
            for node in &d.raw.nodes {
                let on_topic = matches!(d.source_of(node.id()), Some(RawNode::Topic(_)));
                assert_eq!(
                    readers.contains(node.id()),
                    on_topic,
                    "{name}: {}",
                    node.id()
                );
            }
        }
    }

    #[test]
    fn undo_and_redo_restore_each_step() {
        let mut d = doc();
        let original = d.raw.clone();
        d.apply(Edit::AddNode(RawNode::Queue(RawQueue {
            id: "q".into(),
            ..Default::default()
        })));
        assert_eq!(d.raw.nodes.len(), 4);
        assert_eq!(d.raw.nodes[3].id(), "q-2", "a taken id is made unique");
        let added = d.raw.clone();
        d.apply(Edit::RemoveNodes(vec!["q".into()]));
        assert_eq!(d.raw.edges.len(), 0, "edges of a removed node go with it");
        assert!(d.undo());
        assert_eq!(d.raw, added);
        assert!(d.undo());
        assert_eq!(d.raw, original);
        assert!(!d.undo());
        assert!(d.redo());
        assert!(d.redo());
        assert_eq!(d.raw.nodes.len(), 3);
        assert!(!d.redo());
    }

    #[test]
    fn the_frames_of_one_drag_are_one_undo_step() {
        let mut d = doc();
        for x in 0..10 {
            d.apply(Edit::MoveNodes {
                moves: vec![("p".into(), (x as f32, 0.0))],
                drag: 1,
            });
        }
        d.apply(Edit::MoveNodes {
            moves: vec![("p".into(), (50.0, 0.0))],
            drag: 2,
        });
        assert!(d.undo());
        assert_eq!(d.raw.nodes[0].pos(), Some((9.0, 0.0)));
        assert!(d.undo());
        assert_eq!(d.raw.nodes[0].pos(), None);
        assert!(!d.is_dirty());
    }

    #[test]
    fn the_settings_come_without_the_graph_and_go_back_without_touching_it() {
        let mut d = doc();
        let mut settings = d.settings();
        assert!(settings.nodes.is_empty() && settings.edges.is_empty());
        settings.seed = 99;
        let before = d.raw.clone();
        d.apply(Edit::SetSettings(Box::new(settings)));
        assert_eq!(d.raw.seed, 99);
        assert_eq!((&d.raw.nodes, &d.raw.edges), (&before.nodes, &before.edges));
        assert!(d.is_dirty());
        d.undo();
        assert!(!d.is_dirty(), "back to the file as loaded");
    }

    #[test]
    fn renaming_a_node_carries_the_new_id_into_its_edges() {
        let mut d = doc();
        let RawNode::Consumer(c) = d.raw.nodes[2].clone() else {
            panic!()
        };
        d.apply(Edit::SetNode {
            index: 2,
            node: RawNode::Consumer(RawConsumer {
                id: "worker".into(),
                ..c
            }),
        });
        assert_eq!(d.raw.edges[1].to, "worker");
        assert!(d.is_dirty());
    }

    #[test]
    fn paste_renames_copies_and_keeps_the_edges_among_them() {
        let mut d = doc();
        let nodes = vec![
            RawNode::Producer(RawProducer {
                id: "p".into(),
                ..Default::default()
            }),
            d.raw.nodes[1].clone(),
        ];
        let edges = d.raw.edges.clone();
        let applied = d.apply(Edit::Paste { nodes, edges });
        assert_eq!(applied.added, vec!["p-2".to_string(), "q-2".to_string()]);
        assert_eq!(
            d.raw.edges.len(),
            3,
            "only the edge between copies is pasted"
        );
        assert_eq!(
            (d.raw.edges[2].from.as_str(), d.raw.edges[2].to.as_str()),
            ("p-2", "q-2")
        );
    }

    #[test]
    fn an_edit_that_changes_nothing_is_not_an_undo_step() {
        let mut d = doc();
        d.apply(Edit::RemoveEdges(vec![7]));
        assert!(!d.can_undo());
    }
}
