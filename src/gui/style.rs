//! How things look: a colour and a shape per node kind, per edge kind and per
//! message fate, and the plain-words explanation of each concept that the palette
//! and inspector show as tooltips.

use eframe::egui::{Color32, Pos2, Rect, Shape, Stroke, Vec2, epaint::CornerRadius};

use crate::scenario::guarantees::EdgeKind;

pub use crate::scenario::Kind;

/// How a node kind looks in the lab: its colour, its outline and its explanation.
pub trait Look {
    fn color(self) -> Color32;
    fn help(self) -> &'static str;
    /// The node's outline at `rect`.
    fn shape(self, rect: Rect, fill: Color32, stroke: Stroke) -> Shape;
}

impl Look for Kind {
    fn color(self) -> Color32 {
        match self {
            Kind::Producer => Color32::from_rgb(0x3b, 0x82, 0xc4),
            Kind::Exchange => Color32::from_rgb(0x8e, 0x5c, 0xc2),
            Kind::Queue => Color32::from_rgb(0x2f, 0x9e, 0x6e),
            Kind::Topic => Color32::from_rgb(0xc9, 0x8a, 0x1c),
            Kind::Consumer => Color32::from_rgb(0x4f, 0x9d, 0xb8),
            Kind::Service => Color32::from_rgb(0xb8, 0x5c, 0x7a),
        }
    }

    fn help(self) -> &'static str {
        match self {
            Kind::Producer => {
                "Publishes messages at a rate (constant, Poisson, on/off or a schedule), with keys, \
                 routing keys and headers. With acks it waits for the broker's confirmation and \
                 retries when none comes."
            }
            Kind::Exchange => {
                "RabbitMQ-style router: it stores nothing, it copies each message to the queues \
                 whose bindings match (direct: equal key; fanout: all; topic: * and # patterns; \
                 headers: header values)."
            }
            Kind::Queue => {
                "A broker queue: messages wait in order until a consumer takes one. Push delivery \
                 (RabbitMQ, with prefetch) or pull with a visibility timeout (SQS). Can cap its \
                 length, expire messages (TTL) and dead-letter them."
            }
            Kind::Topic => {
                "A Kafka-style partitioned log: records are appended to a partition chosen by key \
                 and kept (until retention), and every consumer group reads them at its own \
                 offset. One partition is read by one member of a group: order per key holds."
            }
            Kind::Consumer => {
                "Takes messages and processes them for a service time. When it acknowledges \
                 (before or after processing) decides what a crash loses or repeats; retries, \
                 idempotency and offset commits are set here."
            }
            Kind::Service => {
                "A synchronous request/response service with workers and a waiting line: callers \
                 wait for its answer. The baseline that queues are compared against."
            }
        }
    }

    fn shape(self, rect: Rect, fill: Color32, stroke: Stroke) -> Shape {
        let c = rect.center();
        let (w, h) = (rect.width() / 2.0, rect.height() / 2.0);
        match self {
            // A pill: where messages come from.
            Kind::Producer => {
                Shape::rect_filled(rect, CornerRadius::same(h.min(255.0) as u8), fill)
                    .with_stroke(stroke, rect, h)
            }
            // A diamond: a router.
            Kind::Exchange => Shape::convex_polygon(
                vec![
                    Pos2::new(c.x, c.y - h),
                    Pos2::new(c.x + w, c.y),
                    Pos2::new(c.x, c.y + h),
                    Pos2::new(c.x - w, c.y),
                ],
                fill,
                stroke,
            ),
            // A hexagon: a service.
            Kind::Service => {
                let i = h * 0.6;
                Shape::convex_polygon(
                    vec![
                        Pos2::new(c.x - w + i, c.y - h),
                        Pos2::new(c.x + w - i, c.y - h),
                        Pos2::new(c.x + w, c.y),
                        Pos2::new(c.x + w - i, c.y + h),
                        Pos2::new(c.x - w + i, c.y + h),
                        Pos2::new(c.x - w, c.y),
                    ],
                    fill,
                    stroke,
                )
            }
            // Queues, topics and consumers are boxes; queue and topic get their cells and
            // lanes drawn on top by the canvas.
            Kind::Queue => {
                Shape::rect_filled(rect, CornerRadius::same(2), fill).with_stroke(stroke, rect, 2.0)
            }
            Kind::Topic => {
                Shape::rect_filled(rect, CornerRadius::same(4), fill).with_stroke(stroke, rect, 4.0)
            }
            Kind::Consumer => Shape::rect_filled(rect, CornerRadius::same(12), fill)
                .with_stroke(stroke, rect, 12.0),
        }
    }
}

trait WithStroke {
    fn with_stroke(self, stroke: Stroke, rect: Rect, radius: f32) -> Shape;
}

impl WithStroke for Shape {
    fn with_stroke(self, stroke: Stroke, rect: Rect, radius: f32) -> Shape {
        Shape::Vec(vec![
            self,
            Shape::rect_stroke(
                rect,
                CornerRadius::same(radius.min(255.0) as u8),
                stroke,
                eframe::egui::StrokeKind::Inside,
            ),
        ])
    }
}

/// The size of a node on the canvas, in canvas units.
pub const NODE_SIZE: Vec2 = Vec2::new(132.0, 52.0);
/// Canvas grid spacing, for snapping.
pub const GRID: f32 = 20.0;

pub fn edge_color(kind: EdgeKind) -> Color32 {
    match kind {
        EdgeKind::Normal => Color32::from_gray(150),
        EdgeKind::DeadLetter => Color32::from_rgb(0xd0, 0x45, 0x45),
        EdgeKind::Retry => Color32::from_rgb(0xe0, 0x9a, 0x20),
    }
}

pub fn edge_help(kind: EdgeKind) -> &'static str {
    match kind {
        EdgeKind::Normal => "Messages flow along this edge.",
        EdgeKind::DeadLetter => {
            "Dead-letter edge (dashed red): where messages go that expire, overflow or fail too \
             often. RabbitMQ's dead-letter exchange, SQS's redrive to a DLQ."
        }
        EdgeKind::Retry => {
            "Retry edge (dashed amber): failed messages go here to be tried again later, such as \
             a retry queue with a TTL or a retry topic."
        }
    }
}

pub const ALARM: Color32 = Color32::from_rgb(0xe0, 0x40, 0x40);
/// An edit the running simulation has not taken yet.
pub const PENDING: Color32 = Color32::from_rgb(0xe0, 0x9a, 0x20);
pub const SELECTED: Color32 = Color32::from_rgb(0xff, 0xd0, 0x40);
