//! What a run does to each node, drawn on it: a consumer's guarantee in words, the
//! lost, duplicated, dead-lettered and reordered counts as coloured pills, and a queue's
//! backlog as a fill. Each is also a label in the accessibility tree
//! ("`alo-worker`: 30 duplicates"), so tests and screen readers read what the class sees.

use eframe::egui::{self, Color32, FontId, Rect, Vec2};

use crate::gui::runner::NodeStatus;
use crate::gui::traffic::Fate;
use crate::scenario::guarantees::{AckMode, Commit, Idempotency};
use crate::scenario::raw::{RawConsumer, RawNode};

/// How much a queue holds before its fill is full, when it has no maximum length: the
/// fill grows on a log scale up to this depth.
const FULL_WITHOUT_LIMIT: f64 = 10_000.0;

/// What consumer `c` promises, in words: when it acknowledges or commits, and what that
/// guarantees ("acks after processing: at-least-once"). `reads_topic` says whether it is
/// a member of a topic's group (offsets) or a queue's consumer (acknowledgements).
pub fn guarantee(c: &RawConsumer, reads_topic: bool) -> String {
    let dedupe = match c.idempotency {
        Idempotency::None => None,
        Idempotency::Exact => Some("dedupes by id".to_string()),
        Idempotency::Window { count } => Some(format!("dedupes the last {count} ids")),
        Idempotency::TimeWindow { span } => Some(format!("dedupes ids for {span}")),
    };
    let (how, promise) = match (c.ack, reads_topic, c.commit) {
        (AckMode::BeforeProcessing, false, _) => ("acks on delivery".to_string(), "at-most-once"),
        (AckMode::BeforeProcessing, true, _) => {
            ("commits before processing".to_string(), "at-most-once")
        }
        (AckMode::AfterProcessing, false, _) => {
            ("acks after processing".to_string(), "at-least-once")
        }
        (AckMode::AfterProcessing, true, Commit::AfterEach) => {
            ("commits after each".to_string(), "at-least-once")
        }
        (AckMode::AfterProcessing, true, Commit::Interval { every }) => {
            (format!("auto-commits every {every}"), "at-least-once")
        }
        (AckMode::AfterProcessing, true, Commit::Batch { size }) => {
            (format!("commits every {size}"), "at-least-once")
        }
        (AckMode::AfterProcessing, true, Commit::Transactional { .. }) => {
            ("transactional".to_string(), "exactly-once")
        }
    };
    match dedupe {
        // Remembering every id makes at-least-once delivery an effect applied once.
        Some(dedupe) if promise == "at-least-once" && c.idempotency == Idempotency::Exact => {
            format!("{how}, {dedupe}: effectively once")
        }
        Some(dedupe) if promise == "at-least-once" => format!("{how}, {dedupe}: at-least-once"),
        _ => format!("{how}: {promise}"),
    }
}

/// The pills under a node: one per consequence that happened, in its fate's colour.
pub fn pills(status: &NodeStatus) -> Vec<(String, String, Color32)> {
    let c = &status.consequences;
    [
        (c.lost, "lost", "lost", Fate::Lost),
        (c.duplicates, "dup", "duplicates", Fate::Duplicate),
        (c.dead_lettered, "DLQ", "dead-lettered", Fate::DeadLettered),
        (c.reordered, "reord", "reordered", Fate::Retry),
    ]
    .into_iter()
    .filter(|(n, ..)| *n > 0)
    .map(|(n, short, long, fate)| (format!("{short} {n}"), format!("{n} {long}"), fate.color()))
    .collect()
}

/// The fraction of a queue's fill its `ready` and `unacked` copies take: linear up to its
/// maximum length when it has one, else on a log scale up to [`FULL_WITHOUT_LIMIT`].
pub fn fill(ready: u64, unacked: u64, max_length: Option<u64>) -> (f32, f32) {
    let total = (ready + unacked) as f64;
    let whole = match max_length {
        Some(max) if max > 0 => (total / max as f64).min(1.0),
        _ => ((1.0 + total).ln() / (1.0 + FULL_WITHOUT_LIMIT).ln()).min(1.0),
    };
    if total == 0.0 {
        return (0.0, 0.0);
    }
    let ready_part = whole * ready as f64 / total;
    (ready_part as f32, (whole - ready_part) as f32)
}

/// The grey of a consumer's guarantee caption.
pub const CAPTION: Color32 = Color32::from_gray(200);

/// Draws a queue's backlog inside its box: ready copies in the queue's colour from the
/// left, unacknowledged ones paler after them.
pub fn backlog(painter: &egui::Painter, node: &RawNode, rect: Rect, s: &NodeStatus) {
    let (RawNode::Queue(q), Some((ready, unacked))) = (node, s.backlog) else {
        return;
    };
    let (ready_part, unacked_part) = fill(ready, unacked, q.max_length);
    let inner = rect.shrink(3.0);
    let width = inner.width();
    let ready_rect = Rect::from_min_size(inner.min, Vec2::new(width * ready_part, inner.height()));
    let unacked_rect = Rect::from_min_size(
        ready_rect.right_top(),
        Vec2::new(width * unacked_part, inner.height()),
    );
    painter.rect_filled(
        ready_rect,
        2.0,
        Color32::from_rgb(0x3c, 0xd0, 0x8c).gamma_multiply(0.7),
    );
    painter.rect_filled(
        unacked_rect,
        2.0,
        Color32::from_rgb(0xa8, 0xe8, 0xc8).gamma_multiply(0.45),
    );
}

/// Draws the pills on the live badge's row, right of it (`badge`, when the node has
/// one), and caption lines (a consumer's guarantee) below; returns where they end.
pub fn under_node(
    ui: &egui::Ui,
    painter: &egui::Painter,
    rect: Rect,
    badge: Option<Rect>,
    id: &str,
    captions: &[(String, Color32)],
    status: Option<&NodeStatus>,
) -> f32 {
    if let Some(status) = status {
        pills_ui(ui, painter, rect, badge, id, status);
    }
    let mut y = rect.bottom() + 24.0;
    for (words, colour) in captions {
        let galley = painter.layout_no_wrap(words.clone(), FontId::proportional(11.0), *colour);
        let at = egui::pos2(rect.center().x - galley.size().x / 2.0, y);
        let area = Rect::from_min_size(at, galley.size());
        painter.galley(at, galley, *colour);
        labelled(
            ui,
            area,
            ("caption", id, words.as_str()),
            &format!("{id}: {words}"),
        );
        y = area.bottom() + 3.0;
    }
    y
}

/// The pills and the backlog's label.
fn pills_ui(
    ui: &egui::Ui,
    painter: &egui::Painter,
    rect: Rect,
    badge: Option<Rect>,
    id: &str,
    status: &NodeStatus,
) {
    if let Some((ready, unacked)) = status.backlog {
        let label = format!("{id}: {ready} ready, {unacked} unacked");
        labelled(ui, rect.shrink(8.0), ("backlog", id), &label);
    }
    let pills = pills(status);
    let galleys: Vec<_> = pills
        .iter()
        .map(|(short, _, color)| {
            painter.layout_no_wrap(short.clone(), FontId::monospace(11.0), ink_on(*color))
        })
        .collect();
    let gap = 6.0;
    let width: f32 = galleys.iter().map(|g| g.size().x + 8.0).sum::<f32>()
        + gap * galleys.len().saturating_sub(1) as f32;
    let (mut x, y) = match badge {
        Some(badge) => (badge.right() + gap, badge.top()),
        None => (rect.center().x - width / 2.0, rect.bottom() + 3.0),
    };
    for ((_, long, color), galley) in pills.iter().zip(galleys) {
        let size = galley.size() + Vec2::new(8.0, 4.0);
        let back = Rect::from_min_size(egui::pos2(x, y), size);
        painter.rect_filled(back, 7.0, *color);
        painter.galley(back.min + Vec2::new(4.0, 2.0), galley, ink_on(*color));
        labelled(
            ui,
            back,
            ("pill", id, long.as_str()),
            &format!("{id}: {long}"),
        );
        x += size.x + gap;
    }
}

/// Text that reads on a pill of `color`: black on light colours, white on dark ones.
fn ink_on(color: Color32) -> Color32 {
    let [r, g, b, _] = color.to_array();
    let luma = 0.299 * f32::from(r) + 0.587 * f32::from(g) + 0.114 * f32::from(b);
    if luma > 140.0 {
        Color32::BLACK
    } else {
        Color32::WHITE
    }
}

/// Makes `rect` a label in the accessibility tree (and a hover target).
pub(super) fn labelled(
    ui: &egui::Ui,
    rect: Rect,
    salt: impl std::hash::Hash + std::fmt::Debug,
    label: &str,
) {
    ui.interact(rect, egui::Id::unique(salt), egui::Sense::hover())
        .widget_info(|| egui::WidgetInfo::labeled(egui::Role::Label, true, label));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::units::Duration;

    fn consumer(ack: AckMode, commit: Commit, idempotency: Idempotency) -> RawConsumer {
        let text = r#"(id: "c", service: Constant(time: "1ms"))"#;
        let mut c: RawConsumer = ron::from_str(text).unwrap();
        (c.ack, c.commit, c.idempotency) = (ack, commit, idempotency);
        c
    }

    #[test]
    fn a_consumers_guarantee_is_said_in_words() {
        use AckMode::*;
        let five = Duration::from_secs(5);
        let cases = [
            (
                AfterProcessing,
                false,
                Commit::default(),
                Idempotency::None,
                "acks after processing: at-least-once",
            ),
            (
                BeforeProcessing,
                false,
                Commit::default(),
                Idempotency::None,
                "acks on delivery: at-most-once",
            ),
            (
                AfterProcessing,
                false,
                Commit::default(),
                Idempotency::Exact,
                "acks after processing, dedupes by id: effectively once",
            ),
            (
                AfterProcessing,
                false,
                Commit::default(),
                Idempotency::Window { count: 5 },
                "acks after processing, dedupes the last 5 ids: at-least-once",
            ),
            (
                BeforeProcessing,
                false,
                Commit::default(),
                Idempotency::Exact,
                "acks on delivery: at-most-once",
            ),
            (
                AfterProcessing,
                true,
                Commit::Interval { every: five },
                Idempotency::None,
                "auto-commits every 5s: at-least-once",
            ),
            (
                AfterProcessing,
                true,
                Commit::AfterEach,
                Idempotency::None,
                "commits after each: at-least-once",
            ),
            (
                AfterProcessing,
                true,
                Commit::Batch { size: 100 },
                Idempotency::None,
                "commits every 100: at-least-once",
            ),
            (
                AfterProcessing,
                true,
                Commit::Transactional { every: five },
                Idempotency::None,
                "transactional: exactly-once",
            ),
            (
                BeforeProcessing,
                true,
                Commit::AfterEach,
                Idempotency::None,
                "commits before processing: at-most-once",
            ),
        ];
        for (ack, topic, commit, idempotency, words) in cases {
            let c = consumer(ack, commit, idempotency);
            assert_eq!(
                guarantee(&c, topic),
                words,
                "{ack:?} {commit:?} {idempotency:?}"
            );
        }
    }

    #[test]
    fn a_queues_fill_is_linear_to_its_limit_and_logarithmic_without() {
        let cases = [
            (0, 0, None, (0.0, 0.0)),
            (50, 50, Some(100), (0.5, 0.5)),
            (300, 0, Some(100), (1.0, 0.0)),
            (10_000, 0, None, (1.0, 0.0)),
            (99, 0, Some(0), (0.5, 0.0)),
        ];
        for (ready, unacked, max, (r, u)) in cases {
            let (got_r, got_u) = fill(ready, unacked, max);
            assert!(
                (got_r - r).abs() < 0.01 && (got_u - u).abs() < 0.01,
                "{ready} {unacked} {max:?}: {got_r} {got_u}"
            );
        }
    }
}
