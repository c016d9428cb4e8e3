//! Where things are on the canvas, in canvas coordinates, and what the pointer
//! hits: node rectangles and ports, edge curves, the grid snap, and the scene's
//! bounds.

use eframe::egui::{Pos2, Rect, Vec2};

use crate::gui::document::Document;
use crate::gui::style::{GRID, NODE_SIZE};
use crate::scenario::raw::{RawEdge, RawNode};

pub(super) fn node_pos(node: &RawNode) -> Pos2 {
    let (x, y) = node.pos().unwrap_or((0.0, 0.0));
    Pos2::new(x, y)
}

pub(super) fn node_rect(node: &RawNode) -> Rect {
    Rect::from_center_size(node_pos(node), NODE_SIZE)
}

pub(super) fn snap(p: Pos2) -> Pos2 {
    Pos2::new((p.x / GRID).round() * GRID, (p.y / GRID).round() * GRID)
}

/// The curve of an edge from `a` (an output port) to `b` (an input port).
pub(super) fn curve(a: Pos2, b: Pos2) -> [Pos2; 4] {
    let bend = ((b.x - a.x).abs() * 0.5).max(40.0);
    [a, a + Vec2::new(bend, 0.0), b - Vec2::new(bend, 0.0), b]
}

pub(super) fn bezier(points: &[Pos2; 4], t: f32) -> Pos2 {
    let u = 1.0 - t;
    let [p0, p1, p2, p3] = *points;
    Pos2::new(
        u * u * u * p0.x + 3.0 * u * u * t * p1.x + 3.0 * u * t * t * p2.x + t * t * t * p3.x,
        u * u * u * p0.y + 3.0 * u * u * t * p1.y + 3.0 * u * t * t * p2.y + t * t * t * p3.y,
    )
}

pub(super) fn polyline(points: &[Pos2; 4]) -> Vec<Pos2> {
    (0..=24).map(|i| bezier(points, i as f32 / 24.0)).collect()
}

pub(super) fn distance_to_polyline(p: Pos2, line: &[Pos2]) -> f32 {
    line.windows(2)
        .map(|w| {
            let (a, b) = (w[0], w[1]);
            let ab = b - a;
            let t = ((p - a).dot(ab) / ab.length_sq().max(1e-6)).clamp(0.0, 1.0);
            (a + ab * t).distance(p)
        })
        .fold(f32::INFINITY, f32::min)
}

pub(super) fn out_port(rect: Rect) -> Pos2 {
    rect.right_center()
}

pub(super) fn in_port(rect: Rect) -> Pos2 {
    rect.left_center()
}

/// Where the curve of `edge` runs, in canvas coordinates.
pub(super) fn edge_curve(doc: &Document, edge: &RawEdge) -> Option<[Pos2; 4]> {
    let from = doc.node(&edge.from)?;
    let to = doc.node(&edge.to)?;
    Some(curve(out_port(node_rect(from)), in_port(node_rect(to))))
}

/// The rectangle around every node, with a margin (more below, for the badges and
/// captions under the nodes): what Fit to view shows.
pub(super) fn bounds(doc: &Document) -> Rect {
    let mut bounds = Rect::NOTHING;
    for node in &doc.raw.nodes {
        let rect = node_rect(node);
        bounds = bounds.union(rect);
        if let RawNode::Consumer(c) = node {
            // The guarantee caption under it, often wider than the box.
            let topic = matches!(doc.source_of(node.id()), Some(RawNode::Topic(_)));
            let width = caption_width(&super::consequences::guarantee(c, topic));
            bounds = bounds.union(Rect::from_center_size(
                rect.center_bottom() + Vec2::new(0.0, 30.0),
                Vec2::new(width, 14.0),
            ));
        }
    }
    if bounds.is_positive() {
        Rect::from_min_max(
            bounds.min - Vec2::splat(24.0),
            bounds.max + Vec2::new(24.0, 70.0),
        )
    } else {
        Rect::from_center_size(Pos2::ZERO, Vec2::new(800.0, 500.0))
    }
}

/// About how wide a caption of `words` draws at 11 points (a generous 6 points a
/// character: the bounds must hold it, not measure it to the point).
fn caption_width(words: &str) -> f32 {
    words.chars().count() as f32 * 6.0
}

/// The least zoom Fit to view uses, so node text stays readable (the id at 14 points
/// draws at 11 or more): a graph wider than that shows from its left, where the flow
/// starts, and the rest is a pan away.
pub(super) const MIN_FIT_ZOOM: f32 = 0.8;

/// What Fit to view shows of `bounds` in a view of `size` points.
pub(super) fn fit(bounds: Rect, size: Vec2) -> Rect {
    if size.x <= 0.0 || size.y <= 0.0 {
        return bounds;
    }
    let zoom = (size.x / bounds.width()).min(size.y / bounds.height());
    if zoom >= MIN_FIT_ZOOM {
        return bounds;
    }
    let shown = size / MIN_FIT_ZOOM;
    // Centred along an axis the graph fits in; from its left or top along one it does not.
    let start = |low: f32, centre: f32, graph: f32, view: f32| {
        if view >= graph {
            centre - view / 2.0
        } else {
            low
        }
    };
    let left = start(bounds.left(), bounds.center().x, bounds.width(), shown.x);
    let top = start(bounds.top(), bounds.center().y, bounds.height(), shown.y);
    Rect::from_min_size(Pos2::new(left, top), shown)
}

/// The edge whose curve passes within 8 points of `p`, the nearest if several.
pub(super) fn edge_at(doc: &Document, p: Pos2) -> Option<usize> {
    doc.raw
        .edges
        .iter()
        .enumerate()
        .filter_map(|(i, e)| {
            let points = edge_curve(doc, e)?;
            Some((i, distance_to_polyline(p, &polyline(&points))))
        })
        .filter(|(_, d)| *d < 8.0)
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(i, _)| i)
}

/// The node whose rectangle (with a margin for the ports) contains `p`.
pub(super) fn node_at(doc: &Document, p: Pos2) -> Option<&RawNode> {
    doc.raw
        .nodes
        .iter()
        .find(|n| node_rect(n).expand(8.0).contains(p))
}

/// How far apart a new node sits from its neighbour, in whole grid steps: a column to
/// the right (room for an edge), a row below (room for the badge, the guarantee and the
/// pills under a node, about 90 points below its box).
const STEP: Vec2 = Vec2::new(10.0 * GRID, 7.0 * GRID);
const _: () = assert!(STEP.x > NODE_SIZE.x + 2.0 * GRID && STEP.y > NODE_SIZE.y + 4.0 * GRID);

/// Where a new node goes: beside `anchor` (to its right, then above or below that, then
/// further right), or when there is none at `center` or the nearest free place around
/// it; never on top of another node.
pub(super) fn free_spot(doc: &Document, anchor: Option<Pos2>, center: Pos2) -> Pos2 {
    let free = |p: Pos2| {
        doc.raw.nodes.iter().all(|n| {
            let d = node_pos(n) - p;
            d.x.abs() >= STEP.x || d.y.abs() >= STEP.y
        })
    };
    let rows = [0.0, 1.0, -1.0, 2.0, -2.0, 3.0, -3.0];
    let (origin, columns) = match anchor {
        Some(a) => (a, [1.0, 2.0, 3.0, 4.0]),
        None => (snap(center), [0.0, 1.0, -1.0, 2.0]),
    };
    columns
        .iter()
        .flat_map(|&c| {
            rows.iter()
                .map(move |&r| origin + Vec2::new(c * STEP.x, r * STEP.y))
        })
        .map(snap)
        .find(|&p| free(p))
        .unwrap_or_else(|| {
            // Crowded all around: below everything.
            let bottom = doc
                .raw
                .nodes
                .iter()
                .map(|n| node_pos(n).y)
                .fold(origin.y, f32::max);
            snap(Pos2::new(origin.x, bottom + STEP.y))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::raw::{RawQueue, RawScenario};

    fn doc_with(at: &[(f32, f32)]) -> Document {
        let nodes = at
            .iter()
            .enumerate()
            .map(|(i, &(x, y))| {
                RawNode::Queue(RawQueue {
                    id: format!("q{i}"),
                    pos: Some((x, y)),
                    ..Default::default()
                })
            })
            .collect();
        let raw = RawScenario {
            nodes,
            ..crate::gui::empty_scenario()
        };
        Document::new(raw, None, "test".into())
    }

    #[test]
    fn a_new_node_lands_beside_its_anchor_and_never_on_another() {
        let (x, y) = (STEP.x, STEP.y);
        let beside = Pos2::new(100.0, 100.0);
        // (the nodes already there, the anchor, where the new node goes)
        type Case<'a> = (&'a [(f32, f32)], Option<Pos2>, Pos2);
        let cases: [Case<'_>; 5] = [
            // An empty canvas: the centre of the view.
            (&[], None, Pos2::new(400.0, 300.0)),
            // The anchor's right is free.
            (&[(100.0, 100.0)], Some(beside), Pos2::new(100.0 + x, 100.0)),
            // Taken on the right: below it.
            (
                &[(100.0, 100.0), (100.0 + x, 100.0)],
                Some(beside),
                Pos2::new(100.0 + x, 100.0 + y),
            ),
            // Right and below taken: above.
            (
                &[(100.0, 100.0), (100.0 + x, 100.0), (100.0 + x, 100.0 + y)],
                Some(beside),
                Pos2::new(100.0 + x, 100.0 - y),
            ),
            // No anchor, a node at the centre: the nearest free place.
            (&[(400.0, 300.0)], None, Pos2::new(400.0, 300.0 + y)),
        ];
        for (nodes, anchor, want) in cases {
            let doc = doc_with(nodes);
            let got = free_spot(&doc, anchor, Pos2::new(400.0, 300.0));
            assert_eq!(got, snap(want), "{nodes:?} {anchor:?}");
            for n in &doc.raw.nodes {
                assert!(!node_rect(n).intersects(Rect::from_center_size(got, NODE_SIZE)));
            }
        }
    }

    #[test]
    fn fit_to_view_never_zooms_out_below_readable() {
        let graph = Rect::from_min_size(Pos2::new(0.0, 0.0), Vec2::new(1000.0, 300.0));
        let cases = [
            // Room enough: the whole graph.
            (Vec2::new(1200.0, 600.0), graph),
            // Too narrow: from the left, at the least zoom, centred vertically.
            (
                Vec2::new(400.0, 400.0),
                Rect::from_min_size(Pos2::new(0.0, -100.0), Vec2::new(500.0, 500.0)),
            ),
        ];
        for (view, shown) in cases {
            let got = fit(graph, view);
            assert_eq!(got, shown, "{view:?}");
            let zoom = (view.x / got.width()).min(view.y / got.height());
            assert!(zoom >= MIN_FIT_ZOOM - 1e-6, "{view:?}: {zoom}");
        }
    }

    #[test]
    fn edges_are_hit_near_their_curve_only() {
        let points = curve(Pos2::new(0.0, 0.0), Pos2::new(200.0, 100.0));
        let line = polyline(&points);
        assert!(distance_to_polyline(bezier(&points, 0.3), &line) < 1.0);
        assert!(distance_to_polyline(Pos2::new(0.0, 100.0), &line) > 20.0);
    }
}
