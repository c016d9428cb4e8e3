//! The producer's form: when messages are produced, their size and keys, where
//! they are routed, and what a publish waits for.

use super::form::Form;
use crate::scenario::guarantees::{Acks, PublishRetry};
use crate::scenario::raw::{RawArrival, RawKeys, RawProducer, RawRateStep};
use crate::scenario::units::{Duration, Rate};

pub(super) fn form(f: &mut Form<'_>, p: &mut RawProducer) {
    arrivals(f, &mut p.arrival);
    f.unit(
        "size",
        "Bytes per message (counts toward topic retention by size).",
        &mut p.size,
    );
    keys(f, &mut p.keys);
    routing(f, p);
    publishing(f, p);
}

/// When messages are produced: the arrival process and its rates.
fn arrivals(f: &mut Form<'_>, arrival: &mut RawArrival) {
    let rate = match &*arrival {
        RawArrival::Constant { rate }
        | RawArrival::Poisson { rate }
        | RawArrival::OnOff { rate, .. } => *rate,
        RawArrival::Schedule { steps } => steps.first().map_or(Rate::per_sec(10.0), |s| s.rate),
    };
    let current = match arrival {
        RawArrival::Constant { .. } => "Constant",
        RawArrival::Poisson { .. } => "Poisson",
        RawArrival::OnOff { .. } => "OnOff",
        RawArrival::Schedule { .. } => "Schedule",
    };
    f.choice(
        "arrivals",
        "When messages are produced: evenly spaced (constant), at random (Poisson, the \
         usual model of independent users), in bursts (on/off) or following a schedule.",
        arrival,
        current,
        &[
            ("Constant", RawArrival::Constant { rate }),
            ("Poisson", RawArrival::Poisson { rate }),
            (
                "OnOff",
                RawArrival::OnOff {
                    rate,
                    on: Duration::from_secs(1),
                    off: Duration::from_secs(1),
                },
            ),
            (
                "Schedule",
                RawArrival::Schedule {
                    steps: vec![RawRateStep {
                        at: Duration::ZERO,
                        rate,
                    }],
                },
            ),
        ],
    );
    match arrival {
        RawArrival::Constant { rate } | RawArrival::Poisson { rate } => f.unit(
            "  rate",
            "Messages per second (100/s) or per minute (6000/min).",
            rate,
        ),
        RawArrival::OnOff { rate, on, off } => {
            f.unit("  rate", "Rate while on.", rate);
            f.unit("  on", "How long each burst lasts.", on);
            f.unit("  off", "How long the silence between bursts lasts.", off);
        }
        RawArrival::Schedule { steps } => {
            for (i, step) in steps.iter_mut().enumerate() {
                f.unit(
                    &format!("  step {i} at"),
                    "When this rate starts.",
                    &mut step.at,
                );
                f.unit(
                    &format!("  step {i} rate"),
                    "The rate from then on.",
                    &mut step.rate,
                );
            }
            f.row("", "", |ui| {
                let mut changed = false;
                if ui.small_button("add step").clicked() {
                    let last = steps.last().map_or(Duration::ZERO, |s| s.at);
                    steps.push(RawRateStep {
                        at: Duration::from_nanos(last.nanos + 1_000_000_000),
                        rate,
                    });
                    changed = true;
                }
                if steps.len() > 1 && ui.small_button("remove last").clicked() {
                    steps.pop();
                    changed = true;
                }
                changed
            });
        }
    }
}

/// Message keys: none, uniform over a count, or Zipf-skewed.
fn keys(f: &mut Form<'_>, keys: &mut RawKeys) {
    let current = match keys {
        RawKeys::None => "None",
        RawKeys::Uniform { .. } => "Uniform",
        RawKeys::Zipf { .. } => "Zipf",
    };
    f.choice(
        "keys",
        "Message keys: a topic puts equal keys in one partition (order per key); ordering \
         is checked per key. Zipf makes a few keys hot.",
        keys,
        current,
        &[
            ("None", RawKeys::None),
            ("Uniform", RawKeys::Uniform { count: 100 }),
            (
                "Zipf",
                RawKeys::Zipf {
                    count: 100,
                    exponent: 1.0,
                },
            ),
        ],
    );
    match keys {
        RawKeys::None => {}
        RawKeys::Uniform { count } => {
            f.number("  count", "How many distinct keys.", count, 1..=1_000_000)
        }
        RawKeys::Zipf { count, exponent } => {
            f.number("  count", "How many distinct keys.", count, 1..=1_000_000);
            f.number(
                "  exponent",
                "Skew: 0 is uniform, 1 and above is very skewed.",
                exponent,
                0.0..=5.0,
            );
        }
    }
}

/// Where exchanges route the messages: routing keys, headers, priority.
fn routing(f: &mut Form<'_>, p: &mut RawProducer) {
    f.optional_text(
        "routing key",
        "The key exchanges route on (direct: equal; topic: patterns with * and #).",
        &mut p.routing_key,
    );
    f.list(
        "routing keys",
        "Several routing keys, comma-separated: each message gets one of them at random.",
        &mut p.routing_keys,
    );
    f.headers(
        "headers",
        "Message headers as key=value pairs, comma-separated, for headers exchanges.",
        &mut p.headers,
    );
    f.optional_number(
        "priority",
        "Message priority, for queues with a max priority.",
        &mut p.priority,
        1,
        0..=255,
    );
}

/// What a publish waits for, and what happens when it fails.
fn publishing(f: &mut Form<'_>, p: &mut RawProducer) {
    let current = format!("{:?}", p.acks);
    f.choice(
        "acks",
        "What a publish waits for. None: fire and forget. Leader (acks=1, publisher \
         confirms): the leader has it, but a failover can lose it; to a queue, or \
         through an exchange, every queue it reaches has taken it, and a full queue's \
         nack makes the producer retry the whole message (duplicates in the others). \
         All (acks=all): every in-sync replica has it, so a failover loses nothing.",
        &mut p.acks,
        &current,
        &[
            ("None", Acks::None),
            ("Leader", Acks::Leader),
            ("All", Acks::All),
        ],
    );
    let default_retry = PublishRetry {
        max: 3,
        backoff: Duration::from_millis(100),
        timeout: Duration::from_secs(30),
    };
    f.toggle("publish retries", "Retry a publish that failed or got no ack in time. Without an idempotent producer, a retry of a write that did arrive is a duplicate.", &mut p.retries, default_retry);
    if let Some(retries) = &mut p.retries {
        f.number(
            "  max",
            "Most retries of one publish.",
            &mut retries.max,
            0..=100,
        );
        f.unit("  backoff", "Wait before a retry.", &mut retries.backoff);
        f.unit(
            "  timeout",
            "How long to wait for the ack before retrying.",
            &mut retries.timeout,
        );
    }
    f.flag(
        "idempotent",
        "Kafka's idempotent producer: the broker drops a retried write it already has.",
        &mut p.idempotent,
    );
}
