//! Kafka drawn as Kafka: under a topic, its groups' states in words and one lane per
//! partition (the stored log up to its log-end offset, each group's committed offset as a
//! tick and its lag as a shade, in the colour of the member that owns the partition);
//! under a member, the partitions it owns, in its colour. Each is also a label in the
//! accessibility tree ("events-log p0: log-end 1204, workers committed 1180, owned by
//! worker-a").

use eframe::egui::{self, Color32, FontId, Rect, Stroke, Vec2};

use crate::report::groups::{Assignment, Lane, Lanes, Phase};

/// Lanes drawn at most; a topic with more says how many it left out.
const MAX_LANES: usize = 12;
const LANE_HEIGHT: f32 = 13.0;
/// A partition without a leader: its lane's outline and end label.
const LEADERLESS: Color32 = Color32::from_rgb(0xe0, 0x50, 0x50);

/// Member `m`'s colour, the same on its lanes and under its node.
pub fn member_colour(member: usize) -> Color32 {
    const PALETTE: [Color32; 8] = [
        Color32::from_rgb(0x4e, 0xc9, 0xb0),
        Color32::from_rgb(0xf0, 0x9a, 0x4a),
        Color32::from_rgb(0x6a, 0x9e, 0xf5),
        Color32::from_rgb(0xe8, 0x6f, 0xb0),
        Color32::from_rgb(0xa8, 0xd0, 0x50),
        Color32::from_rgb(0xe8, 0xd0, 0x4a),
        Color32::from_rgb(0x5c, 0xd0, 0xe8),
        Color32::from_rgb(0xb8, 0x90, 0xf0),
    ];
    PALETTE[member % PALETTE.len()]
}

/// A member's caption: the partitions it owns ("owns p0, p3 of workers"), in its colour.
pub fn assignment_caption(a: &Assignment) -> (String, Color32) {
    let owned = if a.partitions.is_empty() {
        "owns no partition".to_string()
    } else {
        let list: Vec<String> = a.partitions.iter().map(|p| format!("p{p}")).collect();
        format!("owns {}", list.join(", "))
    };
    (format!("{owned} of {}", a.group), member_colour(a.member))
}

/// Partitions named inside a member's box; more are counted ("+29"), and the caption in
/// the accessibility tree names them all.
const IN_BOX: usize = 4;

/// A member's line inside its box: its group and partitions ("workers: p0 p3"), in its
/// colour.
pub fn in_box(a: &Assignment) -> (String, Color32) {
    let mut owned: Vec<String> = a
        .partitions
        .iter()
        .take(IN_BOX)
        .map(|p| format!("p{p}"))
        .collect();
    if a.partitions.len() > IN_BOX {
        owned.push(format!("+{}", a.partitions.len() - IN_BOX));
    }
    let owned = if owned.is_empty() {
        "no partition".to_string()
    } else {
        owned.join(" ")
    };
    (format!("{}: {owned}", a.group), member_colour(a.member))
}

/// Draws topic `id`'s groups and lanes from `y` down, under its box `rect`.
pub fn draw(
    ui: &egui::Ui,
    painter: &egui::Painter,
    rect: Rect,
    mut y: f32,
    id: &str,
    lanes: &Lanes,
) {
    let small = FontId::proportional(11.0);
    for group in &lanes.groups {
        let words = format!("{}: {}", group.name, group.words());
        let colour = match group.phase {
            Phase::Stable => Color32::from_gray(200),
            Phase::MemberMissing { .. } | Phase::Rebalancing | Phase::Paused(_) => {
                Color32::from_rgb(0xf0, 0xa8, 0x30)
            }
        };
        let galley = painter.layout_no_wrap(words.clone(), small.clone(), colour);
        let at = egui::pos2(rect.center().x - galley.size().x / 2.0, y);
        let area = Rect::from_min_size(at, galley.size());
        painter.galley(at, galley, colour);
        super::consequences::labelled(
            ui,
            area,
            ("group", id, group.name.as_str()),
            &format!("{id} {words}"),
        );
        y = area.bottom() + 3.0;
    }
    let scale = lanes
        .partitions
        .iter()
        .map(|l| l.end)
        .max()
        .unwrap_or(0)
        .max(1) as f32;
    let lane_painter = LanePainter {
        ui,
        painter,
        id,
        lanes,
        left: rect.left() - 14.0,
        width: rect.width() + 28.0,
        scale,
    };
    for (p, lane) in lanes.partitions.iter().enumerate().take(MAX_LANES) {
        y = lane_painter.lane(p, lane, y);
    }
    if lanes.partitions.len() > MAX_LANES {
        painter.text(
            egui::pos2(rect.center().x, y + 2.0),
            egui::Align2::CENTER_TOP,
            format!("… {} more partitions", lanes.partitions.len() - MAX_LANES),
            small,
            Color32::from_gray(170),
        );
    }
}

/// What every lane of one topic shares: where the lanes are and the offset scale.
struct LanePainter<'a> {
    ui: &'a egui::Ui,
    painter: &'a egui::Painter,
    id: &'a str,
    lanes: &'a Lanes,
    left: f32,
    width: f32,
    /// The largest log-end offset: the right end of every track.
    scale: f32,
}

impl LanePainter<'_> {
    /// Partition `p`'s lane at `y`; returns where the next one starts.
    fn lane(&self, p: usize, lane: &Lane, y: f32) -> f32 {
        let (painter, id) = (self.painter, self.id);
        let (label_width, end_width) = (24.0, 44.0);
        let row = Rect::from_min_size(egui::pos2(self.left, y), Vec2::new(self.width, LANE_HEIGHT));
        painter.text(
            row.left_center(),
            egui::Align2::LEFT_CENTER,
            format!("p{p}"),
            FontId::monospace(10.0),
            Color32::from_gray(190),
        );
        let track = Rect::from_min_size(
            row.min + Vec2::new(label_width, 2.0),
            Vec2::new(self.width - label_width - end_width, LANE_HEIGHT - 4.0),
        );
        let x_of = |offset: u64| track.left() + track.width() * (offset as f32 / self.scale);
        painter.rect_filled(track, 2.0, Color32::from_gray(45));
        let stored = Rect::from_x_y_ranges(x_of(lane.start)..=x_of(lane.end), track.y_range());
        painter.rect_filled(stored, 2.0, Color32::from_rgb(0x8a, 0x70, 0x30));
        let mut words = format!("{id} p{p}: log-end {}", lane.end);
        if !lane.has_leader() {
            painter.rect_stroke(
                track,
                2.0,
                Stroke::new(1.5, LEADERLESS),
                egui::StrokeKind::Outside,
            );
            words.push_str(", no leader");
        }
        for (g, &(committed, owner)) in lane.groups.iter().enumerate() {
            let colour = owner.map_or(Color32::from_gray(150), member_colour);
            let lag = Rect::from_x_y_ranges(x_of(committed)..=x_of(lane.end), track.y_range());
            painter.rect_filled(lag, 0.0, colour.gamma_multiply(0.35));
            let x = x_of(committed);
            painter.line_segment(
                [egui::pos2(x, row.top()), egui::pos2(x, row.bottom())],
                Stroke::new(2.0, colour),
            );
            if let Some(group) = self.lanes.groups.get(g) {
                let owner = owner
                    .and_then(|m| group.members.get(m))
                    .map_or("no owner".to_string(), |m| format!("owned by {m}"));
                words.push_str(&format!(", {} committed {committed}, {owner}", group.name));
            }
        }
        painter.text(
            row.right_center(),
            egui::Align2::RIGHT_CENTER,
            lane.end.to_string(),
            FontId::monospace(10.0),
            Color32::from_gray(190),
        );
        if !lane.has_leader() {
            painter.text(
                track.center(),
                egui::Align2::CENTER_CENTER,
                "no leader",
                FontId::proportional(10.0),
                LEADERLESS,
            );
        }
        super::consequences::labelled(self.ui, row, ("lane", id, p), &words);
        row.bottom() + 1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_members_box_names_a_few_partitions_and_counts_the_rest() {
        let cases: [(&[u32], &str, &str); 3] = [
            (&[], "g: no partition", "owns no partition of g"),
            (&[0, 3], "g: p0 p3", "owns p0, p3 of g"),
            (
                &[0, 1, 2, 3, 4, 5],
                "g: p0 p1 p2 p3 +2",
                "owns p0, p1, p2, p3, p4, p5 of g",
            ),
        ];
        for (partitions, inside, caption) in cases {
            let a = Assignment {
                topic: "t".into(),
                group: "g".into(),
                member: 0,
                partitions: partitions.to_vec(),
            };
            assert_eq!(in_box(&a).0, inside);
            assert_eq!(assignment_caption(&a).0, caption);
        }
    }
}
