//! The queue's form: length and overflow, TTL, priorities, durability, push or
//! pull delivery, and the delivery limit.

use super::form::Form;
use crate::scenario::guarantees::Delivery;
use crate::scenario::raw::{Overflow, RawQueue};
use crate::scenario::units::Duration;

pub(super) fn form(f: &mut Form<'_>, q: &mut RawQueue) {
    f.optional_number(
        "max length",
        "Most messages the queue holds; then the overflow policy applies.",
        &mut q.max_length,
        1000,
        1..=u64::MAX,
    );
    let current = format!("{:?}", q.overflow);
    f.choice(
        "overflow",
        "When full: drop the oldest message (drop-head, dead-lettered if there is a \
         dead-letter edge) or refuse the new one (reject-publish).",
        &mut q.overflow,
        &current,
        &[
            ("DropHead", Overflow::DropHead),
            ("RejectPublish", Overflow::RejectPublish),
        ],
    );
    f.optional_unit(
        "TTL",
        "Message time-to-live: a message waiting longer expires (to the dead-letter edge if any).",
        &mut q.ttl,
        Duration::from_secs(10),
    );
    f.optional_number("max priority", "Priority levels (RabbitMQ's x-max-priority): higher priority messages are delivered first.", &mut q.max_priority, 5, 1..=255);
    f.flag(
        "durable",
        "A durable queue keeps its messages through a broker failure; a transient one loses them.",
        &mut q.durable,
    );
    let current = match q.delivery {
        Delivery::Push => "Push",
        Delivery::Pull { .. } => "Pull",
    };
    f.choice(
        "delivery",
        "Push: the broker sends messages to consumers up to their prefetch (RabbitMQ). \
         Pull: consumers receive messages, which become invisible for the visibility \
         timeout and come back if not deleted in time (SQS).",
        &mut q.delivery,
        current,
        &[
            ("Push", Delivery::Push),
            (
                "Pull",
                Delivery::Pull {
                    visibility_timeout: Duration::from_secs(30),
                    max_receive_count: None,
                },
            ),
        ],
    );
    if let Delivery::Pull {
        visibility_timeout,
        max_receive_count,
    } = &mut q.delivery
    {
        f.unit("  visibility timeout", "How long a received message stays invisible. Shorter than the processing time: it is delivered again while still being processed (duplicates).", visibility_timeout);
        f.optional_number(
            "  max receive count",
            "SQS redrive: after this many receives the message goes to the dead-letter edge.",
            max_receive_count,
            3,
            1..=1000,
        );
    }
    f.optional_number("max deliveries", "RabbitMQ's delivery limit: a message delivered this many times without success is dead-lettered.", &mut q.max_deliveries, 5, 1..=1000);
}
