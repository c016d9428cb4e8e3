//! The edge's form: its kind, binding key and headers, latency, and the
//! synchronous-call policy with its circuit breaker.

use super::form::Form;
use crate::scenario::guarantees::{CallPolicy, CircuitBreaker, EdgeKind};
use crate::scenario::raw::RawEdge;
use crate::scenario::raw::XMatch;
use crate::scenario::units::Duration;

pub(super) fn form(f: &mut Form<'_>, edge: &mut RawEdge) {
    let current = format!("{:?}", edge.kind);
    f.choice(
        "kind",
        "Normal: messages flow here. DeadLetter: where a queue or consumer sends what expired, \
         overflowed or failed too often. Retry: where a consumer sends failed messages to be \
         tried later.",
        &mut edge.kind,
        &current,
        &[
            ("Normal", EdgeKind::Normal),
            ("DeadLetter", EdgeKind::DeadLetter),
            ("Retry", EdgeKind::Retry),
        ],
    );
    f.optional_text("binding key", "From an exchange: the binding key (direct: equal to the routing key; topic: a pattern). From a consumer: the routing key it publishes with.", &mut edge.key);
    f.headers(
        "binding headers",
        "From a headers exchange: the headers this binding matches, as key=value pairs.",
        &mut edge.headers,
    );
    let current = match edge.x_match {
        None => "default (all)",
        Some(XMatch::All) => "all",
        Some(XMatch::Any) => "any",
        Some(XMatch::AllWithX) => "all-with-x",
        Some(XMatch::AnyWithX) => "any-with-x",
    };
    f.choice(
        "x-match",
        "Headers bindings: whether all the binding's headers must match, or any one.",
        &mut edge.x_match,
        current,
        &[
            ("default (all)", None),
            ("all", Some(XMatch::All)),
            ("any", Some(XMatch::Any)),
            ("all-with-x", Some(XMatch::AllWithX)),
            ("any-with-x", Some(XMatch::AnyWithX)),
        ],
    );
    f.optional_unit(
        "latency",
        "Network latency on this edge: each publish (from a producer or a consumer), each delivery and acknowledgement (from a queue to its consumer), or each call and answer (between services) takes this long.",
        &mut edge.latency,
        Duration::from_millis(5),
    );
    f.toggle("synchronous call", "Between services: the caller waits for the answer, with a timeout, retries and an optional circuit breaker.", &mut edge.call, CallPolicy { timeout: Duration::from_secs(1), retries: 0, backoff: Duration::ZERO, circuit_breaker: None });
    if let Some(call) = &mut edge.call {
        f.unit(
            "  timeout",
            "The caller gives up after this long.",
            &mut call.timeout,
        );
        f.number(
            "  retries",
            "Retries after a failure or timeout.",
            &mut call.retries,
            0..=100,
        );
        f.unit("  backoff", "Wait before a retry.", &mut call.backoff);
        f.toggle("  circuit breaker", "Stops calling a failing service for a cool-down (open), then lets a few calls through (half-open), and closes again if they succeed.", &mut call.circuit_breaker, CircuitBreaker { failure_rate: 0.5, window: 20, cooldown: Duration::from_secs(5), half_open_calls: 3 });
        if let Some(breaker) = &mut call.circuit_breaker {
            f.fraction(
                "    failure rate",
                "Opens when this share of the last calls failed.",
                &mut breaker.failure_rate,
            );
            f.number(
                "    window",
                "Calls the failure rate is measured over.",
                &mut breaker.window,
                1..=10_000,
            );
            f.unit(
                "    cool-down",
                "How long it stays open.",
                &mut breaker.cooldown,
            );
            f.number(
                "    half-open calls",
                "Trial calls let through after the cool-down.",
                &mut breaker.half_open_calls,
                1..=100,
            );
        }
    }
}
