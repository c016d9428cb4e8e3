//! Drawing the graph: the grid, edges with their labels and alarms, nodes with
//! their kind's shape, live badges and ports, messages travelling as dots, and the
//! connection or box selection being drawn.

use eframe::egui::{self, Align2, Color32, FontId, Rect, Shape, Stroke, StrokeKind, Vec2};

use super::Canvas;
use super::geometry::{bezier, curve, edge_curve, in_port, node_rect, out_port, polyline};
use crate::gui::document::Document;
use crate::gui::runner::{NodeStatus, Snapshot};
use crate::gui::style::{self, GRID, Kind, Look, NODE_SIZE};
use crate::gui::traffic::{Fate, TRAVEL_S, Traffic};
use crate::scenario::guarantees::EdgeKind;
use crate::scenario::raw::{RawEdge, RawNode};

/// Every edge, under the nodes: its curve (dashed unless normal), arrow head and label,
/// in the selection's or an alarm's colour.
pub(super) fn edges(
    painter: &egui::Painter,
    doc: &Document,
    live: &Snapshot,
    selection: &super::Selection,
) {
    for (index, edge) in doc.raw.edges.iter().enumerate() {
        let Some(points) = edge_curve(doc, edge) else {
            continue;
        };
        let selected = selection.edges.contains(&index);
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
}

/// A node: its kind's shape, id, main setting (a group member's partitions, in its
/// colour), live badge and ports. Returns the badge's rectangle, if it has one.
pub(super) fn node(
    painter: &egui::Painter,
    node: &RawNode,
    selected: bool,
    status: Option<&NodeStatus>,
) -> Option<Rect> {
    let id = node.id();
    let kind = node.kind();
    let rect = node_rect(node);
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
    if let Some(status) = status {
        super::consequences::backlog(painter, node, rect, status);
    }
    decorate(painter, kind, rect, node);
    painter.text(
        rect.center() - Vec2::new(0.0, 7.0),
        Align2::CENTER_CENTER,
        id,
        FontId::proportional(14.0),
        Color32::WHITE,
    );
    let (detail, detail_colour) = match status.and_then(|s| s.assignment.as_ref()) {
        Some(a) => super::lanes::in_box(a),
        None => (kind_detail(node), Color32::from_gray(220)),
    };
    painter.text(
        rect.center() + Vec2::new(0.0, 10.0),
        Align2::CENTER_CENTER,
        detail,
        FontId::proportional(10.5),
        detail_colour,
    );
    let badge = badge(painter, rect, status);
    let port_color = Color32::from_gray(230);
    if kind != Kind::Producer {
        painter.circle(
            in_port(rect),
            5.0,
            Color32::from_gray(60),
            Stroke::new(1.5, port_color),
        );
    }
    painter.circle(
        out_port(rect),
        6.0,
        kind.color(),
        Stroke::new(1.5, port_color),
    );
    badge
}

impl Canvas {
    /// The connection or the box selection being drawn, to the pointer.
    pub(super) fn gesture_ui(&self, ui: &egui::Ui, painter: &egui::Painter, doc: &Document) {
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
    pub(super) fn dots_ui(
        &mut self,
        ui: &egui::Ui,
        doc: &Document,
        traffic: &Traffic,
        node_ids: &[String],
    ) {
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
            if dot.from == dot.to && dot.fate == Fate::Lost {
                // A lost copy stops where it was lost: a red dot crossed out at the node's
                // corner, held still, fading only at the end.
                let at = to.right_top() + Vec2::new(-4.0, 4.0);
                let fade = 1.0 - t * t * t;
                painter.circle(at, 6.0, color.gamma_multiply(fade), Stroke::NONE);
                let arm = Vec2::splat(3.5);
                let cross = Stroke::new(1.8, Color32::WHITE.gamma_multiply(fade));
                painter.line_segment([at - arm, at + arm], cross);
                painter.line_segment(
                    [at + Vec2::new(-arm.x, arm.y), at + Vec2::new(arm.x, -arm.y)],
                    cross,
                );
                continue;
            }
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
}

/// What the dots' colours mean, in the canvas's bottom-left corner (screen space), once a
/// run has traced messages. One label in the accessibility tree says it all.
pub(super) fn legend(ui: &egui::Ui, canvas: Rect) {
    // On a layer above the scene's, so nodes under it do not draw over it.
    let layer = egui::LayerId::new(egui::Order::Middle, egui::Id::unique("fate legend layer"));
    let painter = ui.ctx().layer_painter(layer).with_clip_rect(canvas);
    let painter = &painter;
    let font = FontId::proportional(12.0);
    let galleys: Vec<_> = Fate::ALL
        .iter()
        .map(|f| {
            painter.layout_no_wrap(f.label().to_string(), font.clone(), Color32::from_gray(210))
        })
        .collect();
    let width: f32 = galleys.iter().map(|g| g.size().x + 22.0).sum::<f32>() + 8.0;
    let height = 22.0;
    let back = Rect::from_min_size(
        canvas.left_bottom() + Vec2::new(8.0, -height - 8.0),
        Vec2::new(width, height),
    );
    // Nearly opaque, outlined: a panel over the canvas, readable over a node under it.
    painter.rect_filled(back, 4.0, Color32::from_rgba_unmultiplied(12, 12, 12, 235));
    painter.rect_stroke(
        back,
        4.0,
        Stroke::new(1.0, Color32::from_gray(70)),
        egui::StrokeKind::Inside,
    );
    let mut x = back.left() + 10.0;
    for (fate, galley) in Fate::ALL.iter().zip(galleys) {
        let center = egui::pos2(x + 4.0, back.center().y);
        painter.circle(center, 4.5, fate.color(), Stroke::new(1.0, Color32::BLACK));
        let text_at = egui::pos2(x + 12.0, back.center().y - galley.size().y / 2.0);
        x += galley.size().x + 22.0;
        painter.galley(text_at, galley, Color32::from_gray(210));
    }
    let words: Vec<String> = Fate::ALL
        .iter()
        .map(|f| format!("{} {}", colour_name(*f), f.label()))
        .collect();
    let label = format!("Dots: {}", words.join(", "));
    ui.interact(back, egui::Id::unique("fate legend"), egui::Sense::hover())
        .widget_info(|| egui::WidgetInfo::labeled(egui::Role::Label, true, &label));
}

/// The colour of a fate's dot, in words (for the legend's label).
fn colour_name(fate: Fate) -> &'static str {
    match fate {
        Fate::Normal => "white",
        Fate::Retry => "amber",
        Fate::Duplicate => "purple",
        Fate::DeadLettered => "dark red",
        Fate::Lost => "red crossed out",
    }
}

pub(super) fn grid(painter: &egui::Painter, clip: Rect) {
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

/// A node edited under a running simulation that has not taken the edit: a dashed amber
/// outline and a tag saying so, readable in the accessibility tree as
/// "`id`: edited, restart to apply".
pub(super) fn pending(ui: &egui::Ui, painter: &egui::Painter, node: &RawNode) {
    let rect = node_rect(node).expand(5.0);
    let corners = [
        rect.left_top(),
        rect.right_top(),
        rect.right_bottom(),
        rect.left_bottom(),
        rect.left_top(),
    ];
    painter.extend(Shape::dashed_line(
        &corners,
        Stroke::new(2.0, style::PENDING),
        6.0,
        4.0,
    ));
    let galley = painter.layout_no_wrap(
        "edited: restart to apply".to_string(),
        FontId::proportional(11.0),
        Color32::BLACK,
    );
    let at = rect.right_top() + Vec2::new(-galley.size().x, -galley.size().y - 4.0);
    let back = Rect::from_min_size(at, galley.size()).expand(2.0);
    painter.rect_filled(back, 3.0, style::PENDING);
    painter.galley(at, galley, Color32::BLACK);
    let label = format!("{}: edited, restart to apply", node.id());
    ui.interact(
        back,
        egui::Id::unique(("pending", node.id())),
        egui::Sense::hover(),
    )
    .on_hover_text("The canvas shows the edit; the running simulation still uses the old value.")
    .widget_info(|| egui::WidgetInfo::labeled(egui::Role::Label, true, &label));
}

/// Live figures under the node, and its alarm above it.
/// The live badge under the node, and its alarm as a tag on its top edge (inside the
/// gap above it, clear of the captions of a node above). Returns the badge's rectangle.
fn badge(painter: &egui::Painter, rect: Rect, status: Option<&NodeStatus>) -> Option<Rect> {
    let status = status?;
    if let Some(alarm) = &status.alarm {
        let galley =
            painter.layout_no_wrap(alarm.clone(), FontId::proportional(11.0), Color32::WHITE);
        let at = rect.left_top() + Vec2::new(10.0, -galley.size().y / 2.0 - 1.0);
        let back = Rect::from_min_size(at, galley.size()).expand2(Vec2::new(4.0, 1.0));
        painter.rect_filled(back, 4.0, style::ALARM);
        painter.galley(at, galley, Color32::WHITE);
    }
    if status.badge.is_empty() {
        return None;
    }
    let galley = painter.layout_no_wrap(
        status.badge.clone(),
        FontId::monospace(11.0),
        Color32::from_gray(235),
    );
    let at = rect.center_bottom() + Vec2::new(-galley.size().x / 2.0, 6.0);
    let back = Rect::from_min_size(at, galley.size()).expand(3.0);
    painter.rect_filled(back, 4.0, Color32::from_black_alpha(170));
    painter.galley(at, galley, Color32::WHITE);
    Some(back)
}
