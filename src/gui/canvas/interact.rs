//! What gestures on the canvas mean: selecting and moving nodes, drawing a
//! connection from an output port (refused with the checker's reason when it makes
//! no sense), box selection, and clicks on edges and travelling messages.

use eframe::egui::{self, Id, Pos2, Rect, Sense, Vec2};

use super::geometry::{edge_at, node_at, node_pos, node_rect, out_port, snap};
use super::{Canvas, menus};
use crate::gui::commands::LabCommand;
use crate::gui::document::{Document, Edit};
use crate::gui::runner::NodeStatus;
use crate::gui::style::Look;
use crate::scenario::raw::{RawEdge, RawNode};

/// What a frame knows of one node beyond the document, looked up once for all nodes.
#[derive(Clone, Copy)]
pub(super) struct NodeLive<'a> {
    pub status: Option<&'a NodeStatus>,
    /// It reads from a topic (its guarantee is said in commits, not acks).
    pub reads_topic: bool,
}

impl Canvas {
    /// One node: drawn, then its body (select, move, context menu), then its output port
    /// (drag to connect), which is interacted with last so it wins over the body.
    pub(super) fn node_ui(
        &mut self,
        ui: &mut egui::Ui,
        painter: &egui::Painter,
        doc: &Document,
        node: &RawNode,
        live: NodeLive<'_>,
        commands: &mut Vec<LabCommand>,
    ) {
        let NodeLive {
            status,
            reads_topic,
        } = live;
        let id = node.id();
        let selected = self.selection.nodes.contains(id);
        let badge = super::draw::node(painter, node, selected, status);
        let rect = node_rect(node);
        let mut captions = Vec::new();
        if let RawNode::Consumer(c) = node {
            let words = super::consequences::guarantee(c, reads_topic);
            captions.push((words, super::consequences::CAPTION));
        }
        if let Some(a) = status.and_then(|s| s.assignment.as_ref()) {
            // Drawn inside the box; said in full to the accessibility tree.
            let (words, _) = super::lanes::assignment_caption(a);
            let lower = Rect::from_min_max(rect.left_center(), rect.right_bottom());
            super::consequences::labelled(ui, lower, ("owns", id), &format!("{id}: {words}"));
        }
        let y = super::consequences::under_node(ui, painter, rect, badge, id, &captions, status);
        if let Some(lanes) = status.and_then(|s| s.lanes.as_ref()) {
            super::lanes::draw(ui, painter, rect, y, id, lanes);
        }
        if self.pending.contains(id) {
            super::draw::pending(ui, painter, node);
        }
        let kind = node.kind();
        let body = ui
            .interact(
                node_rect(node),
                Id::unique(("node", id)),
                Sense::click_and_drag(),
            )
            .on_hover_text(kind.help());
        // Accessibility: the node is findable by its id.
        body.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, id));
        self.body_ui(ui, &body, doc, id, selected, commands);
        body.context_menu(|ui| menus::node_menu_ui(ui, node, &mut self.fault_settings, commands));
        self.port_ui(ui, doc, node, commands);
    }

    /// A node's body: a click selects it (Shift or Ctrl adds to the selection), a drag
    /// moves the selection, snapped to the grid when it ends.
    fn body_ui(
        &mut self,
        ui: &egui::Ui,
        body: &egui::Response,
        doc: &Document,
        id: &str,
        selected: bool,
        commands: &mut Vec<LabCommand>,
    ) {
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
                commands.push(LabCommand::Edit(Edit::MoveNodes {
                    moves: self.moves(doc, |p| p + delta),
                    drag: gesture,
                }));
                self.moving = Some((gesture, pointer));
            }
        }
        if body.drag_stopped() {
            if self.snap
                && let Some((gesture, _)) = self.moving
            {
                commands.push(LabCommand::Edit(Edit::MoveNodes {
                    moves: self.moves(doc, snap),
                    drag: gesture,
                }));
            }
            self.moving = None;
            commands.push(LabCommand::EndGesture);
        }
    }

    /// The selected nodes, each moved to where `to` puts it.
    fn moves(&self, doc: &Document, to: impl Fn(Pos2) -> Pos2) -> Vec<(String, (f32, f32))> {
        doc.raw
            .nodes
            .iter()
            .filter(|n| self.selection.nodes.contains(n.id()))
            .map(|n| {
                let p = to(node_pos(n));
                (n.id().to_string(), (p.x, p.y))
            })
            .collect()
    }

    /// A node's output port: dragged to another node, it connects them.
    fn port_ui(
        &mut self,
        ui: &egui::Ui,
        doc: &Document,
        node: &RawNode,
        commands: &mut Vec<LabCommand>,
    ) {
        let id = node.id();
        let out = out_port(node_rect(node));
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
                && let Some(target) = node_at(doc, pointer)
            {
                self.connect(doc, &from, target.id(), commands);
            }
            self.connecting = None;
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

    /// Clicks and drags on the empty canvas: select an edge or a dot, box-select nodes.
    pub(super) fn background_ui(
        &mut self,
        ui: &mut egui::Ui,
        response: &egui::Response,
        doc: &Document,
        commands: &mut Vec<LabCommand>,
    ) {
        let pointer = self.pointer(ui);
        let hit_edge = pointer.and_then(|p| edge_at(doc, p));
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
            response.context_menu(|ui| {
                menus::edge_menu_ui(ui, doc, edge, &mut self.fault_settings, commands)
            });
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
    // What the kinds at its ends allow, typed; then what else the checker says of it (a
    // consumer reads one source, say).
    let kind_of = |id: &str| doc.kind_of(id);
    if let (Some(from), Some(to)) = (kind_of(&edge.from), kind_of(&edge.to))
        && let Err(why) = crate::scenario::check::edge_allowed(from, to, edge.kind)
    {
        return Some(format!(
            "{from} `{}` -> {to} `{}`: {why}",
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
}
