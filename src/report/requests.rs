//! The report's view of requests and services: the client side of requests
//! (success rate, response times), each service's counts, and each call
//! edge's outcomes and circuit breaker.
//!
//! Kept apart from `mod.rs` so the report of the synchronous baseline has
//! one place; the types are part of the same JSON contract.

use serde::Serialize;

use crate::broker::request::ClientStats;
use crate::broker::view::ServiceView;
use crate::engine::SimTime;
use crate::metrics::LatencySummary;

/// Requests sent by clients (producers whose edge leads to a service).
/// Counts are over the whole run (`sent = succeeded + failed + in_flight_at_end`);
/// response times are after the warm-up.
#[derive(Serialize)]
pub struct RequestReport {
    pub sent: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub in_flight_at_end: u64,
    /// Succeeded over answered (0 when nothing was answered).
    pub success_rate: f64,
    /// Sent -> answered, for requests that succeeded.
    pub latency_ms: LatencySummary,
    /// Sent -> answered, for requests that failed: how long a caller waits to learn of a failure.
    pub failed_latency_ms: LatencySummary,
}

impl RequestReport {
    pub fn new(stats: &ClientStats) -> Self {
        let l = stats.ledger;
        let answered = l.succeeded + l.failed;
        RequestReport {
            sent: l.sent,
            succeeded: l.succeeded,
            failed: l.failed,
            in_flight_at_end: l.in_flight(),
            success_rate: if answered == 0 {
                0.0
            } else {
                l.succeeded as f64 / answered as f64
            },
            latency_ms: stats.latency.summary_ms(),
            failed_latency_ms: stats.failed_latency.summary_ms(),
        }
    }

    /// One line for the table.
    pub fn line(&self) -> String {
        format!(
            "sent {}, succeeded {} ({:.1}%), failed {}, in flight {}; latency p50 {} p99 {} ms",
            self.sent,
            self.succeeded,
            self.success_rate * 100.0,
            self.failed,
            self.in_flight_at_end,
            super::ms(self.latency_ms.p50),
            super::ms(self.latency_ms.p99)
        )
    }
}

/// One call edge of a service, after the warm-up.
#[derive(Serialize)]
pub struct CallReport {
    /// The callee's id.
    pub to: String,
    /// Attempts sent (retries included).
    pub calls: u64,
    pub successes: u64,
    /// Attempts answered with a failure (refused, crashed or failing callee).
    pub failures: u64,
    pub timeouts: u64,
    /// Attempts failed at once by the open circuit breaker, never sent.
    pub rejected_by_breaker: u64,
    /// Answers that came after the caller had given up: wasted work.
    pub late_answers: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub breaker: Option<BreakerReport>,
}

#[derive(Serialize)]
pub struct BreakerReport {
    pub state_at_end: &'static str,
    /// Transitions: closed or half-open -> open, open -> half-open, half-open -> closed.
    pub opened: u64,
    pub half_opened: u64,
    pub closed: u64,
    pub open_ms: f64,
}

/// What the report says about service `s`: the fields of `NodeDetail::Service`.
pub struct ServiceFigures {
    pub received: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub refused: u64,
    pub utilization: f64,
    pub mean_service_ms: f64,
    pub latency_ms: LatencySummary,
    pub mean_waiting: f64,
    pub max_waiting: u64,
    pub waiting_at_end: u64,
    pub crashes: u64,
    pub calls: Vec<CallReport>,
}

/// What the report says about a service at `now`, its window starting at `window_start`.
pub fn service_figures(
    service: ServiceView<'_>,
    now: SimTime,
    window_start: SimTime,
) -> ServiceFigures {
    let m = service.metrics();
    let window = now.saturating_sub(window_start);
    let calls = service
        .calls()
        .map(|call| {
            let c = call.metrics;
            CallReport {
                to: call.to.to_string(),
                calls: c.calls,
                successes: c.successes,
                failures: c.failures,
                timeouts: c.timeouts,
                rejected_by_breaker: c.rejected,
                late_answers: c.late_answers,
                breaker: call.breaker.map(|b| BreakerReport {
                    state_at_end: b.state_name(now),
                    opened: b.opened,
                    half_opened: b.half_opened,
                    closed: b.closed,
                    open_ms: b.open_nanos(now) as f64 / 1e6,
                }),
            }
        })
        .collect();
    ServiceFigures {
        received: m.received,
        succeeded: m.succeeded,
        failed: m.failed,
        refused: m.refused,
        utilization: if window > 0 {
            m.busy.mean(now) / f64::from(service.concurrency())
        } else {
            0.0
        },
        mean_service_ms: if m.started > 0 {
            m.service_nanos as f64 / m.started as f64 / 1e6
        } else {
            0.0
        },
        latency_ms: m.latency.summary_ms(),
        mean_waiting: m.waiting.mean(now),
        max_waiting: m.waiting.max(),
        waiting_at_end: service.waiting(),
        crashes: m.crashes,
        calls,
    }
}
