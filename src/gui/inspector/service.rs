//! The service's form, and the processing-time distribution it shares with the
//! consumer's.

use super::form::Form;
use crate::scenario::raw::{RawService, RawServiceNode};
use crate::scenario::units::Duration;

pub(super) fn form(f: &mut Form<'_>, s: &mut RawServiceNode) {
    f.number(
        "workers",
        "Requests handled at the same time.",
        &mut s.concurrency,
        1..=10_000,
    );
    f.optional_number(
        "queue limit",
        "Most requests waiting for a worker; more are refused at once.",
        &mut s.queue_limit,
        100,
        0..=1_000_000,
    );
    service_time(f, &mut s.service);
}

fn service_name(s: &RawService) -> &'static str {
    match s {
        RawService::Constant { .. } => "Constant",
        RawService::Exponential { .. } => "Exponential",
        RawService::Uniform { .. } => "Uniform",
        RawService::LogNormal { .. } => "LogNormal",
        RawService::Pareto { .. } => "Pareto",
    }
}

/// How long processing one message (or request) takes.
pub(super) fn service_time(f: &mut Form<'_>, service: &mut RawService) {
    let ms = |n| Duration::from_millis(n);
    let current = service_name(service);
    f.choice(
        "service time",
        "How long processing one message takes: a fixed time, or drawn from a distribution. \
         Exponential is the textbook M/M/c case; Pareto has a heavy tail (rare very slow ones).",
        service,
        current,
        &[
            ("Constant", RawService::Constant { time: ms(10) }),
            ("Exponential", RawService::Exponential { mean: ms(10) }),
            (
                "Uniform",
                RawService::Uniform {
                    min: ms(5),
                    max: ms(15),
                },
            ),
            (
                "LogNormal",
                RawService::LogNormal {
                    mean: ms(10),
                    stddev: ms(5),
                },
            ),
            (
                "Pareto",
                RawService::Pareto {
                    scale: ms(5),
                    shape: 2.5,
                },
            ),
        ],
    );
    match service {
        RawService::Constant { time } => {
            f.unit("  time", "Every message takes exactly this long.", time)
        }
        RawService::Exponential { mean } => f.unit("  mean", "Mean processing time.", mean),
        RawService::Uniform { min, max } => {
            f.unit("  min", "Shortest processing time.", min);
            f.unit("  max", "Longest processing time.", max);
        }
        RawService::LogNormal { mean, stddev } => {
            f.unit("  mean", "Mean processing time.", mean);
            f.unit(
                "  stddev",
                "Standard deviation of the processing time.",
                stddev,
            );
        }
        RawService::Pareto { scale, shape } => {
            f.unit("  scale", "The shortest processing time.", scale);
            f.number(
                "  shape",
                "Tail index: smaller means a heavier tail (more very slow messages).",
                shape,
                1.01..=10.0,
            );
        }
    }
}
