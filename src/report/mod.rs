//! The summary report of a run, and its renderings: a table for people, JSON
//! (a stable contract for scripts) and CSV (long format, one value per row,
//! for pandas and spreadsheets).
//!
//! A report depends only on the scenario and the seed, so the same run gives
//! the same bytes; wall-clock figures are left out unless asked for.
//!
//! The report is a layer above the simulation: it reads a world only through the
//! broker's read API ([`crate::broker::view`]), and the broker knows nothing of it.

mod csv;
mod from_world;
pub mod groups;
pub mod requests;
pub mod series;
pub mod status;
mod table;

use serde::Serialize;

use crate::broker::subscription::Reordered;
use crate::broker::world::{Lost, World};
use crate::engine::SimTime;
use crate::metrics::LatencySummary;
use requests::{CallReport, RequestReport};
use series::Series;

#[derive(Serialize)]
pub struct Report {
    pub evlab_version: &'static str,
    pub scenario: String,
    pub seed: u64,
    pub sim_seconds: f64,
    pub warmup_seconds: f64,
    /// Engine events executed.
    pub events: u64,
    /// Wall-clock time of the run; `null` unless timing was asked for, so
    /// that one scenario and seed always give the same bytes.
    pub wall_seconds: Option<f64>,
    pub totals: Totals,
    /// End-to-end latency, produced -> processed, after the warm-up.
    pub latency_ms: LatencySummary,
    pub throughput_per_s: Throughput,
    pub nodes: Vec<NodeReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub series: Option<Series>,
    /// Present only when the run stopped before its end: the figures cover the run so far.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partial: Option<Partial>,
}

/// Why a report covers only part of its run.
#[derive(Debug, Clone, Serialize)]
pub struct Partial {
    /// What stopped it: a limit, a failure, or the user.
    pub reason: String,
    /// Simulated time the run was meant to last; `sim_seconds` is where it stopped.
    pub duration_seconds: f64,
}

/// Whole-run counts: the ledger and what happened to messages on the way.
/// `produced + fanned_out + duplicate_copies = processed + dead_lettered + lost + in_flight_at_end`.
#[derive(Serialize)]
pub struct Totals {
    pub produced: u64,
    pub fanned_out: u64,
    pub duplicate_copies: u64,
    pub processed: u64,
    pub in_flight_at_end: u64,
    pub dead_lettered: u64,
    pub lost: u64,
    pub lost_by_reason: Lost,
    /// Of `lost`, the copies lost between nodes, before any queue or topic held them
    /// (unroutable, on a link, refused and not published again); each queue and group
    /// reports the others as its `lost`, so these add up to `lost`.
    pub lost_in_transit: u64,
    /// The same as `lost_by_reason`, under the name the first report format used.
    pub dropped: Lost,
    pub dropped_total: u64,
    /// Processing effects applied again to a message already processed (per subscription).
    pub duplicates: u64,
    /// Redeliveries an idempotent consumer recognised and skipped.
    pub deduplicated: u64,
    /// Messages processed after a later message of the same key (per subscription).
    pub reordered: u64,
    pub reordered_by_cause: Reordered,
    pub retries: u64,
    pub redeliveries: u64,
    /// Deliveries and retries per produced message.
    pub retry_amplification: f64,
    /// Publishes producers tried again (refused, nacked, or unanswered in time).
    pub publish_retries: u64,
    /// Writes producers were told were safe, then lost (acks=1 and a leader failure).
    pub acknowledged_lost: u64,
    /// Requests from clients to services (present when a producer sends requests).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requests: Option<RequestReport>,
}

/// Rates after the warm-up.
#[derive(Serialize)]
pub struct Throughput {
    pub produced: f64,
    pub processed: f64,
}

#[derive(Serialize)]
pub struct NodeReport {
    pub id: String,
    pub kind: crate::scenario::Kind,
    #[serde(flatten)]
    pub detail: NodeDetail,
}

#[derive(Serialize)]
#[serde(untagged)]
pub enum NodeDetail {
    Producer {
        produced: u64,
        rate_per_s: f64,
        /// Publishes it tried again (refused, nacked or unanswered), and writes it was told
        /// were safe that a leader failure then lost (whole run).
        publish_retries: u64,
        acknowledged_lost: u64,
        /// The answers to a client's requests, when the producer sends to a service.
        #[serde(skip_serializing_if = "Option::is_none")]
        requests: Option<RequestReport>,
    },
    Exchange {
        received: u64,
        unroutable: u64,
    },
    Queue {
        enqueued: u64,
        delivered: u64,
        mean_wait_ms: f64,
        wait_ms: LatencySummary,
        mean_depth: f64,
        max_depth: u64,
        mean_unacked: f64,
        depth_at_end: u64,
        unacked_at_end: u64,
        dropped: QueueDrops,
        /// Copies lost at this queue (dropped with nowhere to go) or in its consumers'
        /// hands, whole run.
        lost: u64,
        /// Publishes refused to publishers waiting for confirms (full, reject-publish): nacked.
        nacked: u64,
        /// Per message, for this queue's consumers: effects applied twice, redeliveries
        /// skipped by idempotency, out-of-order processing.
        duplicates: u64,
        deduplicated: u64,
        reordered: u64,
        /// Deliveries that were redeliveries (whole run).
        redelivered: u64,
        /// TTL expiries sent along a retry edge: how a delayed retry works, not losses.
        expired_to_retry: u64,
    },
    Topic {
        appended: u64,
        partitions: Vec<PartitionReport>,
        groups: Vec<GroupReport>,
    },
    Consumer {
        processed: u64,
        throughput_per_s: f64,
        utilization: f64,
        mean_service_ms: f64,
        /// Processing attempts that failed, and crashes.
        failed: u64,
        crashes: u64,
        /// Deliveries (or fetches) that were redeliveries (whole run).
        redelivered: u64,
        /// Produced -> processed for the journeys that end here, after the warm-up; only
        /// for a consumer that publishes nothing onwards (a sink).
        #[serde(skip_serializing_if = "Option::is_none")]
        latency_ms: Option<LatencySummary>,
    },
    /// A request/response service, after the warm-up.
    Service {
        received: u64,
        succeeded: u64,
        /// Admitted requests that failed: processing, a call, or a crash.
        failed: u64,
        /// Refused on arrival: the waiting line was full or the service was down.
        refused: u64,
        throughput_per_s: f64,
        /// Workers busy, processing or waiting on calls.
        utilization: f64,
        mean_service_ms: f64,
        /// Arrival -> answer, for admitted requests.
        latency_ms: LatencySummary,
        mean_waiting: f64,
        max_waiting: u64,
        waiting_at_end: u64,
        crashes: u64,
        calls: Vec<CallReport>,
    },
}

#[derive(Serialize)]
pub struct QueueDrops {
    pub overflow: u64,
    pub ttl: u64,
}

#[derive(Serialize)]
pub struct PartitionReport {
    pub partition: u32,
    pub end_offset: u64,
    pub stored_records: u64,
    pub stored_bytes: u64,
}

#[derive(Serialize)]
pub struct GroupReport {
    pub group: String,
    pub members: Vec<String>,
    /// Log-end minus committed offset, summed over partitions, at the end.
    pub lag: u64,
    pub lag_per_partition: Vec<u64>,
    /// Age of the oldest uncommitted record, per partition, at the end: lag as time.
    pub lag_ms_per_partition: Vec<f64>,
    pub max_lag_ms: f64,
    /// Lag over the run (after the warm-up), summed over partitions: its time average, and
    /// the most it reached, and both per partition.
    pub mean_lag: f64,
    pub max_lag: u64,
    pub mean_lag_per_partition: Vec<f64>,
    pub max_lag_per_partition: Vec<u64>,
    pub rebalances: u64,
    /// Copies this group lost (deleted by retention before it read them, truncated by a
    /// leader failover, lost in its members' hands), whole run.
    pub lost: u64,
    /// Per message, for this group: effects applied twice, redeliveries skipped by idempotency, out-of-order processing.
    pub duplicates: u64,
    pub deduplicated: u64,
    pub reordered: u64,
}

/// What the report says about the run besides the world's state.
pub struct RunInfo<'a> {
    pub scenario: &'a str,
    pub seed: u64,
    pub warmup_nanos: SimTime,
    pub now: SimTime,
    pub events: u64,
    pub wall_seconds: Option<f64>,
    /// The time series to include, if any.
    pub series: Option<&'a Series>,
}

impl Report {
    pub fn new(world: &World, info: RunInfo<'_>) -> Report {
        let now = info.now;
        let window = world.window();
        let window_s = now.saturating_sub(window.start) as f64 / 1e9;
        let per_s = |count: u64| {
            if window_s > 0.0 {
                count as f64 / window_s
            } else {
                0.0
            }
        };
        let nodes = world
            .node_refs()
            .iter()
            .zip(world.ids())
            .filter_map(|(r, id)| {
                let detail = from_world::node_detail(world, *r, now, &per_s)?;
                Some(NodeReport {
                    id: id.clone(),
                    kind: r.kind(),
                    detail,
                })
            })
            .collect();
        Report {
            evlab_version: env!("CARGO_PKG_VERSION"),
            scenario: info.scenario.to_string(),
            seed: info.seed,
            sim_seconds: now as f64 / 1e9,
            warmup_seconds: info.warmup_nanos as f64 / 1e9,
            events: info.events,
            wall_seconds: info.wall_seconds,
            totals: from_world::totals(world),
            latency_ms: window.latency.summary_ms(),
            throughput_per_s: Throughput {
                produced: per_s(window.produced),
                processed: per_s(window.processed),
            },
            nodes,
            series: info.series.cloned(),
            partial: None,
        }
    }

    /// Marks the report as covering only the run so far, and why.
    pub fn mark_partial(&mut self, reason: impl Into<String>, duration_nanos: SimTime) {
        self.partial = Some(Partial {
            reason: reason.into(),
            duration_seconds: duration_nanos as f64 / 1e9,
        });
    }

    pub fn to_json(&self) -> String {
        crate::text::json_safe(
            serde_json::to_string_pretty(self)
                .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}")),
        )
    }
}

fn ms(value: f64) -> String {
    if value >= 100.0 {
        format!("{value:.0}")
    } else if value >= 1.0 {
        format!("{value:.2}")
    } else {
        format!("{value:.3}")
    }
}
