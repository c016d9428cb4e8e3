//! The canvas: the topology drawn as a graph, with its live state on top.
//!
//! The canvas never changes the scenario itself: every gesture becomes an
//! [`LabCommand`] (mostly an [`Edit`]) that the lab applies in one place. It keeps only
//! view state: the visible rectangle, the selection and the gesture in progress.

use std::collections::BTreeSet;

use eframe::egui::{
    self, Align2, Color32, FontId, Id, Pos2, Rect, Sense, Shape, Stroke, StrokeKind, Vec2,
    emath::TSTransform,
};

use super::commands::{Aim, LabCommand};
use super::document::{Document, Edit};
use super::runner::{NodeStatus, Snapshot};
use super::style::{self, GRID, Kind, NODE_SIZE};
use super::traffic::{TRAVEL_S, Traffic};
use crate::scenario::guarantees::{EdgeKind, FaultKind};
use crate::scenario::raw::{RawEdge, RawNode};
use crate::scenario::units::Duration;

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
            gestures: 0,
            fit_requested: true,
            refusal: None,
            clipboard: Clipboard::default(),
            screen_rect: Rect::NOTHING,
            center: Pos2::ZERO,
            from_screen: TSTransform::IDENTITY,
            dot_hits: Vec::new(),
        }
    }
}

fn node_pos(node: &RawNode) -> Pos2 {
    let (x, y) = node.pos().unwrap_or((0.0, 0.0));
    Pos2::new(x, y)
}

fn node_rect(node: &RawNode) -> Rect {
    Rect::from_center_size(node_pos(node), NODE_SIZE)
}

fn snap(p: Pos2) -> Pos2 {
    Pos2::new((p.x / GRID).round() * GRID, (p.y / GRID).round() * GRID)
}

/// The curve of an edge from `a` (an output port) to `b` (an input port).
fn curve(a: Pos2, b: Pos2) -> [Pos2; 4] {
    let bend = ((b.x - a.x).abs() * 0.5).max(40.0);
    [a, a + Vec2::new(bend, 0.0), b - Vec2::new(bend, 0.0), b]
}

fn bezier(points: &[Pos2; 4], t: f32) -> Pos2 {
    let u = 1.0 - t;
    let [p0, p1, p2, p3] = *points;
    Pos2::new(
        u * u * u * p0.x + 3.0 * u * u * t * p1.x + 3.0 * u * t * t * p2.x + t * t * t * p3.x,
        u * u * u * p0.y + 3.0 * u * u * t * p1.y + 3.0 * u * t * t * p2.y + t * t * t * p3.y,
    )
}

fn polyline(points: &[Pos2; 4]) -> Vec<Pos2> {
    (0..=24).map(|i| bezier(points, i as f32 / 24.0)).collect()
}

fn distance_to_polyline(p: Pos2, line: &[Pos2]) -> f32 {
    line.windows(2)
        .map(|w| {
            let (a, b) = (w[0], w[1]);
            let ab = b - a;
            let t = ((p - a).dot(ab) / ab.length_sq().max(1e-6)).clamp(0.0, 1.0);
            (a + ab * t).distance(p)
        })
        .fold(f32::INFINITY, f32::min)
}

fn out_port(rect: Rect) -> Pos2 {
    rect.right_center()
}

fn in_port(rect: Rect) -> Pos2 {
    rect.left_center()
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
        let points = Self::edge_curve(doc, doc.raw.edges.get(index)?)?;
        Some(self.from_screen.inverse() * bezier(&points, 0.5))
    }

    pub fn request_fit(&mut self) {
        self.fit_requested = true;
    }

    /// Where the curve of edge `index` runs, in canvas coordinates.
    fn edge_curve(doc: &Document, edge: &RawEdge) -> Option<[Pos2; 4]> {
        let from = doc.raw.nodes.iter().find(|n| n.id() == edge.from)?;
        let to = doc.raw.nodes.iter().find(|n| n.id() == edge.to)?;
        Some(curve(out_port(node_rect(from)), in_port(node_rect(to))))
    }

    fn bounds(doc: &Document) -> Rect {
        let mut bounds = Rect::NOTHING;
        for node in &doc.raw.nodes {
            bounds = bounds.union(node_rect(node));
        }
        if bounds.is_positive() {
            bounds.expand(60.0)
        } else {
            Rect::from_center_size(Pos2::ZERO, Vec2::new(800.0, 500.0))
        }
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
            self.scene_rect = Self::bounds(doc);
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
            self.background(ui, &response, doc, commands);
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
        self.grid(&painter, ui.clip_rect());
        // Edges under the nodes.
        for (index, edge) in doc.raw.edges.iter().enumerate() {
            let Some(points) = Self::edge_curve(doc, edge) else {
                continue;
            };
            let selected = self.selection.edges.contains(&index);
            let alarm = live.edges.get(index).and_then(Option::as_ref);
            let color = if selected {
                style::SELECTED
            } else if alarm.is_some() {
                style::ALARM
            } else {
                style::edge_color(edge.kind)
            };
            let width = if selected { 3.0 } else { 2.0 };
            let line = polyline(&points);
            if edge.kind == EdgeKind::Normal {
                painter.add(Shape::line(line.clone(), Stroke::new(width, color)));
            } else {
                painter.extend(Shape::dashed_line(
                    &line,
                    Stroke::new(width, color),
                    8.0,
                    5.0,
                ));
            }
            let tip = points[3];
            painter.add(Shape::convex_polygon(
                vec![
                    tip,
                    tip + Vec2::new(-10.0, -5.0),
                    tip + Vec2::new(-10.0, 5.0),
                ],
                color,
                Stroke::NONE,
            ));
            let label = match (edge_label(edge), alarm) {
                (Some(label), Some(alarm)) => Some(format!("{label} · {alarm}")),
                (label, alarm) => label.or_else(|| alarm.cloned()),
            };
            if let Some(label) = label {
                let mid = bezier(&points, 0.5);
                painter.text(
                    mid + Vec2::new(0.0, -8.0),
                    Align2::CENTER_BOTTOM,
                    label,
                    FontId::proportional(11.0),
                    color,
                );
            }
        }
        // Nodes.
        for node in &doc.raw.nodes {
            self.node_ui(ui, &painter, doc, node, live, commands);
        }
        // A connection being drawn.
        if let (Some(from), Some(pointer)) = (&self.connecting, self.pointer(ui))
            && let Some(node) = doc.raw.nodes.iter().find(|n| n.id() == from)
        {
            let points = curve(out_port(node_rect(node)), pointer);
            painter.add(Shape::line(
                polyline(&points),
                Stroke::new(2.0, style::SELECTED),
            ));
        }
        // A box selection being drawn.
        if let (Some(start), Some(pointer)) = (self.boxing, self.pointer(ui)) {
            let rect = Rect::from_two_pos(start, pointer);
            painter.rect(
                rect,
                0.0,
                Color32::from_rgba_unmultiplied(255, 208, 64, 24),
                Stroke::new(1.0, style::SELECTED),
                StrokeKind::Inside,
            );
        }
    }

    /// Messages travelling along edges (and marks where one was duplicated or lost).
    fn dots_ui(&mut self, ui: &egui::Ui, doc: &Document, traffic: &Traffic, node_ids: &[String]) {
        self.dot_hits.clear();
        if traffic.dots.is_empty() {
            return;
        }
        let painter = ui.painter();
        let now = std::time::Instant::now();
        let rect_of = |index: u32| {
            let id = node_ids.get(index as usize)?;
            doc.raw.nodes.iter().find(|n| n.id() == id).map(node_rect)
        };
        let mut moving = false;
        for dot in &traffic.dots {
            let t = now.duration_since(dot.born).as_secs_f32() / TRAVEL_S;
            if t >= 1.0 {
                continue;
            }
            moving = true;
            let (Some(from), Some(to)) = (rect_of(dot.from), rect_of(dot.to)) else {
                continue;
            };
            let color = dot.fate.color();
            if dot.from == dot.to {
                // A mark at the node: a ring that grows and fades.
                painter.circle_stroke(
                    to.center(),
                    NODE_SIZE.x * 0.4 + 30.0 * t,
                    Stroke::new(2.0, color.gamma_multiply(1.0 - t)),
                );
                continue;
            }
            let at = bezier(&curve(out_port(from), in_port(to)), t);
            let selected = traffic.selected == Some(dot.message);
            let radius = if selected { 7.0 } else { 4.5 };
            painter.circle(at, radius, color, Stroke::new(1.0, Color32::BLACK));
            self.dot_hits.push((at, dot.message));
        }
        if moving {
            ui.ctx().request_repaint();
        }
    }

    fn grid(&self, painter: &egui::Painter, clip: Rect) {
        let step = GRID * 5.0;
        let color = Color32::from_gray(40);
        let mut x = (clip.left() / step).floor() * step;
        while x < clip.right() {
            painter.vline(x, clip.y_range(), Stroke::new(1.0, color));
            x += step;
        }
        let mut y = (clip.top() / step).floor() * step;
        while y < clip.bottom() {
            painter.hline(clip.x_range(), y, Stroke::new(1.0, color));
            y += step;
        }
    }

    fn node_ui(
        &mut self,
        ui: &mut egui::Ui,
        painter: &egui::Painter,
        doc: &Document,
        node: &RawNode,
        live: &Snapshot,
        commands: &mut Vec<LabCommand>,
    ) {
        let id = node.id();
        let kind = Kind::of(node.kind_name());
        let rect = node_rect(node);
        let selected = self.selection.nodes.contains(id);
        let status = live.nodes.iter().find(|s| s.id == id);
        let alarm = status.and_then(|s| s.alarm.as_ref());
        let stroke = if selected {
            Stroke::new(3.0, style::SELECTED)
        } else if alarm.is_some() {
            Stroke::new(2.5, style::ALARM)
        } else {
            Stroke::new(1.5, kind.color().gamma_multiply(1.4))
        };
        let fill = kind
            .color()
            .gamma_multiply(if alarm.is_some() { 0.35 } else { 0.6 });
        painter.add(kind.shape(rect, fill, stroke));
        decorate(painter, kind, rect, node);
        painter.text(
            rect.center() - Vec2::new(0.0, 7.0),
            Align2::CENTER_CENTER,
            id,
            FontId::proportional(14.0),
            Color32::WHITE,
        );
        painter.text(
            rect.center() + Vec2::new(0.0, 10.0),
            Align2::CENTER_CENTER,
            kind_detail(node),
            FontId::proportional(10.5),
            Color32::from_gray(220),
        );
        badge(painter, rect, status);
        // The body: select, move, context menu.
        let body = ui
            .interact(rect, Id::unique(("node", id)), Sense::click_and_drag())
            .on_hover_text(kind.help());
        // Accessibility: the node is findable by its id.
        body.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, id));
        if body.clicked() || body.drag_started() {
            let shift = ui.input(|i| i.modifiers.shift || i.modifiers.command);
            if shift && body.clicked() {
                if !self.selection.nodes.remove(id) {
                    self.selection.nodes.insert(id.to_string());
                }
            } else if !selected {
                self.selection.clear();
                self.selection.nodes.insert(id.to_string());
            }
        }
        if body.drag_started() {
            self.gestures += 1;
            // From where the button went down: the pointer may have moved since.
            let origin = ui.input(|i| i.pointer.press_origin());
            self.moving = origin
                .map(|p| self.from_screen * p)
                .or_else(|| self.pointer(ui))
                .map(|p| (self.gestures, p));
        }
        if body.dragged()
            && let (Some((gesture, last)), Some(pointer)) = (self.moving, self.pointer(ui))
        {
            let delta = pointer - last;
            if delta != Vec2::ZERO {
                let moves = doc
                    .raw
                    .nodes
                    .iter()
                    .filter(|n| self.selection.nodes.contains(n.id()))
                    .map(|n| {
                        let p = node_pos(n) + delta;
                        (n.id().to_string(), (p.x, p.y))
                    })
                    .collect();
                commands.push(LabCommand::Edit(Edit::MoveNodes {
                    moves,
                    drag: gesture,
                }));
                self.moving = Some((gesture, pointer));
            }
        }
        if body.drag_stopped() {
            if self.snap
                && let Some((gesture, _)) = self.moving
            {
                let moves = doc
                    .raw
                    .nodes
                    .iter()
                    .filter(|n| self.selection.nodes.contains(n.id()))
                    .map(|n| {
                        let p = snap(node_pos(n));
                        (n.id().to_string(), (p.x, p.y))
                    })
                    .collect();
                commands.push(LabCommand::Edit(Edit::MoveNodes {
                    moves,
                    drag: gesture,
                }));
            }
            self.moving = None;
            commands.push(LabCommand::EndGesture);
        }
        body.context_menu(|ui| node_menu(ui, node, commands));
        // Ports: drawn and interacted with last, so they win over the body.
        let port_color = Color32::from_gray(230);
        if kind != Kind::Producer {
            painter.circle(
                in_port(rect),
                5.0,
                Color32::from_gray(60),
                Stroke::new(1.5, port_color),
            );
        }
        {
            let out = out_port(rect);
            painter.circle(out, 6.0, kind.color(), Stroke::new(1.5, port_color));
            let port = ui
                .interact(
                    Rect::from_center_size(out, Vec2::splat(18.0)),
                    Id::unique(("out", id)),
                    Sense::drag(),
                )
                .on_hover_text("Drag to another node to connect");
            if port.drag_started() {
                self.connecting = Some(id.to_string());
            }
            if port.drag_stopped() {
                if let (Some(from), Some(pointer)) = (self.connecting.take(), self.pointer(ui))
                    && let Some(target) = doc
                        .raw
                        .nodes
                        .iter()
                        .find(|n| node_rect(n).expand(8.0).contains(pointer))
                {
                    self.connect(doc, &from, target.id(), commands);
                }
                self.connecting = None;
            }
        }
    }

    /// Adds an edge if it makes sense, or says why not.
    pub fn connect(
        &mut self,
        doc: &Document,
        from: &str,
        to: &str,
        commands: &mut Vec<LabCommand>,
    ) {
        let edge = RawEdge {
            from: from.to_string(),
            to: to.to_string(),
            ..Default::default()
        };
        match refusal(doc, &edge) {
            Some(reason) => self.refusal = Some(reason),
            None => {
                self.refusal = None;
                commands.push(LabCommand::Edit(Edit::AddEdge(edge)));
            }
        }
    }

    fn background(
        &mut self,
        ui: &mut egui::Ui,
        response: &egui::Response,
        doc: &Document,
        commands: &mut Vec<LabCommand>,
    ) {
        let pointer = self.pointer(ui);
        let hit_edge = pointer.and_then(|p| {
            doc.raw
                .edges
                .iter()
                .enumerate()
                .filter_map(|(i, e)| {
                    let points = Self::edge_curve(doc, e)?;
                    Some((i, distance_to_polyline(p, &polyline(&points))))
                })
                .filter(|(_, d)| *d < 8.0)
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .map(|(i, _)| i)
        });
        let hit_dot = pointer.and_then(|p| {
            self.dot_hits
                .iter()
                .filter(|(at, _)| at.distance(p) < 8.0)
                .map(|(_, message)| *message)
                .next()
        });
        if response.clicked()
            && let Some(message) = hit_dot
        {
            commands.push(LabCommand::TraceMessage(message));
            return;
        }
        if response.clicked() {
            let additive = ui.input(|i| i.modifiers.shift || i.modifiers.command);
            if !additive {
                self.selection.clear();
            }
            if let Some(edge) = hit_edge {
                self.selection.edges.insert(edge);
            }
        }
        if response.secondary_clicked()
            && let Some(edge) = hit_edge
        {
            self.selection.clear();
            self.selection.edges.insert(edge);
        }
        if let Some(&edge) = self.selection.edges.iter().next() {
            response.context_menu(|ui| edge_menu(ui, doc, edge, commands));
        }
        if response.drag_started_by(egui::PointerButton::Primary) {
            self.boxing = pointer;
        }
        if response.drag_stopped()
            && let (Some(start), Some(end)) = (self.boxing.take(), pointer)
        {
            let rect = Rect::from_two_pos(start, end);
            if !ui.input(|i| i.modifiers.shift) {
                self.selection.clear();
            }
            for node in &doc.raw.nodes {
                if rect.intersects(node_rect(node)) {
                    self.selection.nodes.insert(node.id().to_string());
                }
            }
        }
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

/// Why `edge` would be refused: the first problem the checker finds with it that it did
/// not find without it.
pub fn refusal(doc: &Document, edge: &RawEdge) -> Option<String> {
    if edge.from == edge.to {
        return Some(format!("`{}` cannot be connected to itself", edge.from));
    }
    if doc
        .raw
        .edges
        .iter()
        .any(|e| e.from == edge.from && e.to == edge.to && e.kind == edge.kind)
    {
        return Some(format!(
            "`{}` is already connected to `{}`",
            edge.from, edge.to
        ));
    }
    let messages = |raw: &crate::scenario::raw::RawScenario| -> Vec<String> {
        match crate::scenario::check::check(raw) {
            Ok(_) => Vec::new(),
            Err(problems) => problems.list.into_iter().map(|p| p.message).collect(),
        }
    };
    let before = messages(&doc.raw);
    let mut with = doc.raw.clone();
    with.edges.push(edge.clone());
    messages(&with).into_iter().find(|m| !before.contains(m))
}

/// A short label for an edge: its binding key, latency or call timeout.
fn edge_label(edge: &RawEdge) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(key) = &edge.key {
        parts.push(format!("key {key}"));
    }
    if !edge.headers.is_empty() {
        parts.push("headers".to_string());
    }
    match edge.kind {
        EdgeKind::DeadLetter => parts.push("dead letters".into()),
        EdgeKind::Retry => parts.push("retries".into()),
        EdgeKind::Normal => {}
    }
    if let Some(latency) = edge.latency {
        parts.push(format!("+{latency}"));
    }
    if let Some(call) = &edge.call {
        parts.push(format!("call, timeout {}", call.timeout));
    }
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// One line under the node's id: the setting that matters most for its kind.
fn kind_detail(node: &RawNode) -> String {
    match node {
        RawNode::Producer(p) => match &p.arrival {
            crate::scenario::raw::RawArrival::Constant { rate } => format!("constant {rate}"),
            crate::scenario::raw::RawArrival::Poisson { rate } => format!("poisson {rate}"),
            crate::scenario::raw::RawArrival::OnOff { .. } => "on/off".into(),
            crate::scenario::raw::RawArrival::Schedule { .. } => "schedule".into(),
        },
        RawNode::Exchange(x) => format!("{:?}", x.exchange_type).to_lowercase(),
        RawNode::Queue(q) => match q.delivery {
            crate::scenario::guarantees::Delivery::Push => "queue".into(),
            crate::scenario::guarantees::Delivery::Pull { .. } => "pull queue (SQS)".into(),
        },
        RawNode::Topic(t) => format!("{} partitions", t.partitions),
        RawNode::Consumer(c) => match &c.group {
            Some(group) => format!("group {group}"),
            None => format!("x{} concurrency", c.concurrency),
        },
        RawNode::Service(s) => format!("{} workers", s.concurrency),
    }
}

/// Queue cells and topic lanes.
fn decorate(painter: &egui::Painter, kind: Kind, rect: Rect, node: &RawNode) {
    let faint = Stroke::new(1.0, Color32::from_white_alpha(40));
    match (kind, node) {
        (Kind::Queue, _) => {
            for i in 1..6 {
                let x = rect.right() - i as f32 * 10.0;
                painter.vline(x, rect.y_range().shrink(6.0), faint);
            }
        }
        (Kind::Topic, RawNode::Topic(t)) => {
            let lanes = t.partitions.clamp(1, 6);
            for i in 1..lanes {
                let y = rect.top() + rect.height() * i as f32 / lanes as f32;
                painter.hline(rect.x_range().shrink(6.0), y, faint);
            }
        }
        _ => {}
    }
}

/// Live figures under the node, and its alarm above it.
fn badge(painter: &egui::Painter, rect: Rect, status: Option<&NodeStatus>) {
    let Some(status) = status else { return };
    if !status.badge.is_empty() {
        let galley = painter.layout_no_wrap(
            status.badge.clone(),
            FontId::monospace(11.0),
            Color32::from_gray(235),
        );
        let at = rect.center_bottom() + Vec2::new(-galley.size().x / 2.0, 6.0);
        let back = Rect::from_min_size(at, galley.size()).expand(3.0);
        painter.rect_filled(back, 4.0, Color32::from_black_alpha(170));
        painter.galley(at, galley, Color32::WHITE);
    }
    if let Some(alarm) = &status.alarm {
        painter.text(
            rect.center_top() - Vec2::new(0.0, 6.0),
            Align2::CENTER_BOTTOM,
            alarm,
            FontId::proportional(12.0),
            style::ALARM,
        );
    }
}

const FAULT_SECONDS: u64 = 10;

fn node_menu(ui: &mut egui::Ui, node: &RawNode, commands: &mut Vec<LabCommand>) {
    let aim = Aim::Node(node.id().to_string());
    let ten = Some(Duration::from_secs(FAULT_SECONDS));
    let mut fault = |ui: &mut egui::Ui, label: &str, kind: FaultKind, duration| {
        if ui.button(label).clicked() {
            commands.push(LabCommand::Inject {
                aim: aim.clone(),
                kind,
                duration,
            });
            ui.close();
        }
    };
    match node {
        RawNode::Consumer(_) | RawNode::Service(_) => {
            fault(ui, "Crash, restart after 10 s", FaultKind::Crash, ten);
            fault(ui, "Crash for good", FaultKind::Crash, None);
            fault(
                ui,
                "Slow down x4 for 10 s",
                FaultKind::Slow { factor: 4.0 },
                ten,
            );
            fault(
                ui,
                "Fail 50% of processing for 10 s",
                FaultKind::Fail { probability: 0.5 },
                ten,
            );
        }
        RawNode::Topic(_) => {
            fault(
                ui,
                "Fail the partition leaders (failover)",
                FaultKind::BrokerFailure { partition: None },
                None,
            );
        }
        RawNode::Queue(_) => {
            fault(
                ui,
                "Broker failure for 10 s",
                FaultKind::BrokerFailure { partition: None },
                ten,
            );
        }
        _ => {
            ui.label("No faults for this kind of node");
        }
    }
    ui.separator();
    if ui.button("Delete").clicked() {
        commands.push(LabCommand::Edit(Edit::RemoveNodes(vec![
            node.id().to_string(),
        ])));
        ui.close();
    }
}

fn edge_menu(ui: &mut egui::Ui, doc: &Document, edge: usize, commands: &mut Vec<LabCommand>) {
    let Some(e) = doc.raw.edges.get(edge) else {
        return;
    };
    ui.label(format!("{} -> {}", e.from, e.to));
    let ten = Some(Duration::from_secs(FAULT_SECONDS));
    let kind_of = |id: &str| {
        doc.raw
            .nodes
            .iter()
            .find(|n| n.id() == id)
            .map_or("?", RawNode::kind_name)
    };
    let (from, to) = (kind_of(&e.from), kind_of(&e.to));
    let mut fault = |ui: &mut egui::Ui, label: &str, kind: FaultKind| {
        // Only where evlab simulates a link; elsewhere the button says why not.
        let allowed = crate::scenario::check::LinkUse::of_fault(&kind).map_or(Ok(()), |what| {
            crate::scenario::check::link_allowed(from, to, e.kind, what)
        });
        let button = ui.add_enabled(allowed.is_ok(), egui::Button::new(label));
        let button = match allowed {
            Err(why) => button.on_disabled_hover_text(why),
            Ok(()) => button,
        };
        if button.clicked() {
            commands.push(LabCommand::Inject {
                aim: Aim::Edge(edge),
                kind,
                duration: ten,
            });
            ui.close();
        }
    };
    fault(ui, "Cut the link for 10 s", FaultKind::Cut);
    fault(
        ui,
        "Add 200 ms latency for 10 s",
        FaultKind::Delay {
            extra: Duration::from_millis(200),
        },
    );
    fault(
        ui,
        "Lose 20% of messages for 10 s",
        FaultKind::Loss { probability: 0.2 },
    );
    ui.separator();
    if ui.button("Delete").clicked() {
        commands.push(LabCommand::Edit(Edit::RemoveEdges(vec![edge])));
        ui.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_that_make_no_sense_are_refused_with_the_checkers_reason() {
        let raw = crate::scenario::parse_raw(
            r#"(version: 1, duration: "1s",
                nodes: [Producer(id: "p", arrival: Poisson(rate: "10/s")), Queue(id: "q"), Consumer(id: "c", service: Constant(time: "1ms"))],
                edges: [(from: "p", to: "q"), (from: "q", to: "c")])"#,
        )
        .unwrap();
        let doc = Document::new(raw, None, "t".into());
        let edge = |from: &str, to: &str| RawEdge {
            from: from.into(),
            to: to.into(),
            ..Default::default()
        };
        let into_producer = refusal(&doc, &edge("c", "p"));
        assert!(into_producer.is_some());
        assert!(refusal(&doc, &edge("q", "q")).is_some());
        assert!(refusal(&doc, &edge("p", "q")).unwrap().contains("already"));
        // A consumer publishing onward into the queue is fine.
        assert_eq!(refusal(&doc, &edge("c", "q")), None);
    }

    #[test]
    fn edges_are_hit_near_their_curve_only() {
        let points = curve(Pos2::new(0.0, 0.0), Pos2::new(200.0, 100.0));
        let line = polyline(&points);
        assert!(distance_to_polyline(bezier(&points, 0.3), &line) < 1.0);
        assert!(distance_to_polyline(Pos2::new(0.0, 100.0), &line) > 20.0);
    }
}
