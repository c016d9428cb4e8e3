//! The canvas: the topology drawn as a graph, with its live state on top.
//!
//! The canvas never changes the scenario itself: every gesture becomes an
//! [`LabCommand`] (mostly an [`Edit`]) that the lab applies in one place. It keeps only
//! view state: the visible rectangle, the selection and the gesture in progress.
//!
//! `geometry` says where things are and what the pointer hits, `draw` paints the
//! graph, `interact` turns gestures into commands, `menus` holds the context menus.

use std::collections::{BTreeSet, HashMap};

use eframe::egui::{self, Pos2, Rect, Vec2, emath::TSTransform};

use self::geometry::{bezier, bounds, edge_curve, node_pos, node_rect};
use super::commands::LabCommand;
use super::document::{Document, Edit};
use super::runner::{NodeStatus, Snapshot};
use super::style::GRID;
use super::traffic::Traffic;
use crate::scenario::raw::{RawEdge, RawNode};

mod consequences;
mod draw;
mod geometry;
mod interact;
mod lanes;
mod menus;

pub use consequences::guarantee;
pub use menus::FaultSettings;

pub use self::interact::refusal;

#[derive(Default, Debug, Clone, PartialEq)]
pub struct Selection {
    pub nodes: BTreeSet<String>,
    pub edges: BTreeSet<usize>,
}

impl Selection {
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty() && self.edges.is_empty()
    }

    pub fn clear(&mut self) {
        self.nodes.clear();
        self.edges.clear();
    }
}

/// Copied nodes and the edges among them.
#[derive(Default, Clone)]
pub struct Clipboard {
    pub nodes: Vec<RawNode>,
    pub edges: Vec<RawEdge>,
}

pub struct Canvas {
    scene_rect: Rect,
    pub selection: Selection,
    /// A node drag in progress: its gesture id and the pointer's last canvas position.
    moving: Option<(u64, Pos2)>,
    /// A connection being drawn from this node's output port.
    connecting: Option<String>,
    /// A box selection in progress, from this canvas position.
    boxing: Option<Pos2>,
    pub snap: bool,
    /// Whether a node added from the palette is connected from the selected node.
    pub connect_new: bool,
    gestures: u64,
    fit_requested: bool,
    /// Why the last connection was refused, for the status bar.
    pub refusal: Option<String>,
    pub clipboard: Clipboard,
    /// The canvas's on-screen rectangle last frame, for drops from the palette.
    pub screen_rect: Rect,
    /// Canvas position at the centre of the view, for nodes added by a click.
    pub center: Pos2,
    /// Canvas-from-screen transform of last frame.
    from_screen: TSTransform,
    /// Where each dot was drawn last frame, to click one.
    dot_hits: Vec<(Pos2, u64)>,
    /// Nodes edited since the run began in a way it cannot take: drawn as pending until
    /// a restart applies them.
    pub pending: std::collections::BTreeSet<String>,
    /// The duration and strength of the faults the context menus inject.
    pub fault_settings: menus::FaultSettings,
}

impl Default for Canvas {
    fn default() -> Self {
        Self {
            scene_rect: Rect::NOTHING,
            selection: Selection::default(),
            moving: None,
            connecting: None,
            boxing: None,
            snap: true,
            connect_new: true,
            gestures: 0,
            fit_requested: true,
            refusal: None,
            clipboard: Clipboard::default(),
            screen_rect: Rect::NOTHING,
            center: Pos2::ZERO,
            from_screen: TSTransform::IDENTITY,
            dot_hits: Vec::new(),
            pending: std::collections::BTreeSet::new(),
            fault_settings: menus::FaultSettings::default(),
        }
    }
}

impl Canvas {
    /// The canvas position under screen position `screen` (as of last frame).
    pub fn canvas_pos(&self, screen: Pos2) -> Option<Pos2> {
        Some(self.from_screen * screen)
    }

    /// Where node `id` is on the screen (as of last frame).
    pub fn node_screen_rect(&self, doc: &Document, id: &str) -> Option<Rect> {
        let node = doc.raw.nodes.iter().find(|n| n.id() == id)?;
        Some(self.from_screen.inverse() * node_rect(node))
    }

    /// The middle of edge `index`'s curve on the screen (as of last frame).
    pub fn edge_screen_midpoint(&self, doc: &Document, index: usize) -> Option<Pos2> {
        let points = edge_curve(doc, doc.raw.edges.get(index)?)?;
        Some(self.from_screen.inverse() * bezier(&points, 0.5))
    }

    /// Where a node added from the palette goes, and the node it may be connected from:
    /// beside the one selected node (after an add, the node just added), else near the
    /// centre of the view; never on top of another node.
    pub fn new_node_spot(&self, doc: &Document) -> (Pos2, Option<String>) {
        let anchor = match self.selection.nodes.len() {
            1 => self
                .selection
                .nodes
                .first()
                .and_then(|id| doc.raw.nodes.iter().find(|n| n.id() == id)),
            _ => None,
        };
        let at = geometry::free_spot(doc, anchor.map(node_pos), self.center);
        (at, anchor.map(|n| n.id().to_string()))
    }

    /// Widens the view to take in nodes `ids` (just added) that are out of sight (a node
    /// dropped on the canvas is where the user put it, and stays there).
    pub fn reveal(&mut self, doc: &Document, ids: &[String]) {
        if !self.scene_rect.is_positive() {
            return;
        }
        for node in doc
            .raw
            .nodes
            .iter()
            .filter(|n| ids.iter().any(|id| id == n.id()))
        {
            if !self.scene_rect.intersects(node_rect(node)) {
                self.scene_rect = self.scene_rect.union(node_rect(node).expand(60.0));
            }
        }
    }

    pub fn request_fit(&mut self) {
        self.fit_requested = true;
    }

    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        doc: &Document,
        live: &Snapshot,
        traffic: &Traffic,
        node_ids: &[String],
        commands: &mut Vec<LabCommand>,
    ) {
        if self.fit_requested || !self.scene_rect.is_positive() {
            self.scene_rect = geometry::fit(bounds(doc), ui.available_size());
            self.fit_requested = false;
        }
        let scene = egui::Scene::new().zoom_range(0.1..=2.0).drag_pan_buttons(
            egui::containers::DragPanButtons::MIDDLE | egui::containers::DragPanButtons::SECONDARY,
        );
        let mut scene_rect = self.scene_rect;
        let frame = egui::Frame::canvas(ui.style()).inner_margin(0.0);
        frame.show(ui, |ui| {
            self.screen_rect = ui.available_rect_before_wrap();
            let response = scene
                .show(ui, &mut scene_rect, |ui| {
                    self.contents_ui(ui, doc, live, commands);
                    self.dots_ui(ui, doc, traffic, node_ids);
                })
                .response;
            self.background_ui(ui, &response, doc, commands);
            if live.trace_every > 0 && live.events > 0 {
                draw::legend(ui, self.screen_rect);
            }
        });
        self.scene_rect = scene_rect;
        self.center = self.scene_rect.center();
    }

    fn pointer(&self, ui: &egui::Ui) -> Option<Pos2> {
        ui.input(|i| i.pointer.interact_pos().or(i.pointer.hover_pos()))
            .map(|p| self.from_screen * p)
    }

    fn contents_ui(
        &mut self,
        ui: &mut egui::Ui,
        doc: &Document,
        live: &Snapshot,
        commands: &mut Vec<LabCommand>,
    ) {
        self.from_screen = ui
            .ctx()
            .layer_transform_from_global(ui.layer_id())
            .unwrap_or(TSTransform::IDENTITY);
        let painter = ui.painter().clone();
        draw::grid(&painter, ui.clip_rect());
        draw::edges(&painter, doc, live, &self.selection);
        // Each node's live status and source, looked up once a frame rather than by a
        // scan per node.
        let statuses: HashMap<&str, &NodeStatus> =
            live.nodes.iter().map(|s| (s.id.as_str(), s)).collect();
        let reads_topic = doc.topic_readers();
        for node in &doc.raw.nodes {
            let live = interact::NodeLive {
                status: statuses.get(node.id()).copied(),
                reads_topic: reads_topic.contains(node.id()),
            };
            self.node_ui(ui, &painter, doc, node, live, commands);
        }
        self.gesture_ui(ui, &painter, doc);
    }

    pub fn select_all(&mut self, doc: &Document) {
        self.selection.nodes = doc.raw.nodes.iter().map(|n| n.id().to_string()).collect();
    }

    /// Copies the selected nodes and the edges among them.
    pub fn copy(&mut self, doc: &Document) {
        let nodes: Vec<RawNode> = doc
            .raw
            .nodes
            .iter()
            .filter(|n| self.selection.nodes.contains(n.id()))
            .cloned()
            .collect();
        let edges = doc
            .raw
            .edges
            .iter()
            .filter(|e| {
                self.selection.nodes.contains(&e.from) && self.selection.nodes.contains(&e.to)
            })
            .cloned()
            .collect();
        if !nodes.is_empty() {
            self.clipboard = Clipboard { nodes, edges };
        }
    }

    /// The clipboard's nodes, offset so the copies sit beside the originals.
    pub fn paste_edit(&self) -> Option<Edit> {
        if self.clipboard.nodes.is_empty() {
            return None;
        }
        let nodes = self
            .clipboard
            .nodes
            .iter()
            .map(|n| {
                let mut n = n.clone();
                let p = node_pos(&n) + Vec2::new(GRID * 2.0, GRID * 4.0);
                *n.pos_mut() = Some((p.x, p.y));
                n
            })
            .collect();
        Some(Edit::Paste {
            nodes,
            edges: self.clipboard.edges.clone(),
        })
    }

    /// Removes what is selected.
    pub fn delete_edits(&mut self) -> Vec<Edit> {
        let mut edits = Vec::new();
        if !self.selection.edges.is_empty() {
            edits.push(Edit::RemoveEdges(
                self.selection.edges.iter().copied().collect(),
            ));
        }
        if !self.selection.nodes.is_empty() {
            edits.push(Edit::RemoveNodes(
                self.selection.nodes.iter().cloned().collect(),
            ));
        }
        self.selection.clear();
        edits
    }
}
