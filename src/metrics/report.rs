//! The summary report of a run, and its renderings: a table for people, JSON
//! (a stable contract for scripts) and CSV (long format, one value per row,
//! for pandas and spreadsheets).
//!
//! A report depends only on the scenario and the seed, so the same run gives
//! the same bytes; wall-clock figures are left out unless asked for.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::LatencySummary;
use super::requests::{CallReport, RequestReport, service_figures};
use super::series::Series;
use crate::broker::subscription::Reordered;
use crate::broker::world::{Lost, NodeRef, World};
use crate::engine::SimTime;

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
    pub kind: &'static str,
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
    pub include_series: bool,
}

fn totals(world: &World) -> Totals {
    let ledger = &world.ledger;
    let mut reordered = Reordered::default();
    let (mut duplicates, mut deduplicated) = (0, 0);
    for sub in &world.subscriptions {
        duplicates += sub.duplicates;
        deduplicated += sub.deduplicated;
        reordered.requeue += sub.reordered.requeue;
        reordered.retry += sub.reordered.retry;
        reordered.rebalance += sub.reordered.rebalance;
        reordered.concurrency += sub.reordered.concurrency;
    }
    let attempts = world
        .consumers
        .iter()
        .map(|c| c.metrics.lifetime_attempts)
        .sum::<u64>();
    Totals {
        produced: ledger.produced,
        fanned_out: ledger.fanned_out,
        duplicate_copies: ledger.duplicate_copies,
        processed: ledger.processed,
        in_flight_at_end: ledger.in_flight(),
        dead_lettered: ledger.dead_lettered,
        lost: ledger.lost.total(),
        lost_by_reason: ledger.lost,
        lost_in_transit: ledger.lost_in_transit,
        dropped: ledger.lost,
        dropped_total: ledger.lost.total(),
        duplicates,
        deduplicated,
        reordered: reordered.total(),
        reordered_by_cause: reordered,
        retries: ledger.retries,
        redeliveries: ledger.redeliveries,
        retry_amplification: if ledger.produced == 0 {
            0.0
        } else {
            attempts as f64 / ledger.produced as f64
        },
        publish_retries: ledger.publish_retries,
        acknowledged_lost: ledger.acknowledged_lost,
        requests: world
            .services
            .clients
            .iter()
            .any(Option::is_some)
            .then(|| RequestReport::new(&world.services.total)),
    }
}

impl Report {
    pub fn new(world: &World, info: RunInfo<'_>) -> Report {
        let now = info.now;
        let window_s = now.saturating_sub(world.window.start) as f64 / 1e9;
        let per_s = |count: u64| {
            if window_s > 0.0 {
                count as f64 / window_s
            } else {
                0.0
            }
        };
        let nodes = world
            .node_refs
            .iter()
            .zip(&world.ids)
            .filter_map(|(r, id)| {
                let (kind, detail) = node_detail(world, *r, now, &per_s)?;
                Some(NodeReport {
                    id: id.clone(),
                    kind,
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
            totals: totals(world),
            latency_ms: world.window.latency.summary_ms(),
            throughput_per_s: Throughput {
                produced: per_s(world.window.produced),
                processed: per_s(world.window.processed),
            },
            nodes,
            series: info.include_series.then(|| world.series.clone()),
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

    /// The header of [`Report::to_csv`].
    pub const CSV_HEADER: &'static str =
        "evlab_version,scenario,seed,warmup_seconds,scope,id,kind,metric,value\n";

    /// Long format: `evlab_version,scenario,seed,warmup_seconds,scope,id,kind,metric,value`,
    /// one value per row; wall-clock time as a `wall_seconds` row when it was measured.
    pub fn to_csv(&self) -> String {
        let mut rows: Vec<(String, String, String, String)> = Vec::new();
        let json = serde_json::to_value(self).unwrap_or_default();
        let mut flat = BTreeMap::new();
        if let Some(totals) = json.get("totals") {
            flatten("", totals, &mut flat);
        }
        for (metric, value) in &flat {
            rows.push(("run".into(), String::new(), metric.clone(), value.clone()));
        }
        if let Some(partial) = &self.partial {
            rows.push(("run".into(), String::new(), "partial".into(), "1".into()));
            rows.push((
                "run".into(),
                String::new(),
                "partial_reason".into(),
                csv_field(&partial.reason),
            ));
        }
        for (name, value) in [
            ("events", json.get("events")),
            ("sim_seconds", json.get("sim_seconds")),
            (
                "wall_seconds",
                json.get("wall_seconds").filter(|v| !v.is_null()),
            ),
        ] {
            if let Some(v) = value {
                rows.push(("run".into(), String::new(), name.into(), v.to_string()));
            }
        }
        for (group, value) in [
            ("latency_ms", json.get("latency_ms")),
            ("throughput_per_s", json.get("throughput_per_s")),
        ] {
            let mut flat = BTreeMap::new();
            if let Some(v) = value {
                flatten(group, v, &mut flat);
            }
            for (metric, value) in flat {
                rows.push(("run".into(), String::new(), metric, value));
            }
        }
        let lead = format!(
            "{},{},{},{}",
            self.evlab_version,
            csv_field(&self.scenario),
            self.seed,
            self.warmup_seconds
        );
        let mut out = String::from(Self::CSV_HEADER);
        for (scope, id, metric, value) in rows {
            let _ = writeln!(out, "{lead},{scope},{id},,{metric},{value}");
        }
        if let Some(nodes) = json.get("nodes").and_then(|n| n.as_array()) {
            for node in nodes {
                let id = node.get("id").and_then(|v| v.as_str()).unwrap_or_default();
                let kind = node
                    .get("kind")
                    .and_then(|v| v.as_str())
                    .unwrap_or_default();
                let mut flat = BTreeMap::new();
                flatten("", node, &mut flat);
                for (metric, value) in flat {
                    if metric == "id" || metric == "kind" {
                        continue;
                    }
                    let _ = writeln!(out, "{lead},node,{},{kind},{metric},{value}", csv_field(id));
                }
            }
        }
        // Names from the file (groups, the scenario) may hold control characters.
        crate::text::printable_lines(&out).into_owned()
    }

    /// A table for people.
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        let t = &self.totals;
        let _ = writeln!(
            out,
            "evlab {} | scenario: {} | seed {} | {:.1} s simulated (warm-up {:.1} s) | {} events",
            self.evlab_version,
            crate::text::printable(&self.scenario),
            self.seed,
            self.sim_seconds,
            self.warmup_seconds,
            self.events
        );
        if let Some(partial) = &self.partial {
            let _ = writeln!(
                out,
                "PARTIAL REPORT: the run stopped at {:.3} s of {:.1} s simulated ({}); the figures cover the run so far",
                self.sim_seconds,
                partial.duration_seconds,
                crate::text::printable(&partial.reason)
            );
        }
        if let Some(wall) = self.wall_seconds {
            let _ = writeln!(
                out,
                "wall clock {wall:.3} s ({:.2} M events/s)",
                self.events as f64 / wall.max(1e-9) / 1e6
            );
        }
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "whole run   produced {}  processed {}  in flight {}  lost {}  (fan-out copies {})",
            t.produced, t.processed, t.in_flight_at_end, t.lost, t.fanned_out
        );
        if t.lost > 0 {
            let d = &t.lost_by_reason;
            let _ = writeln!(
                out,
                "lost by     unroutable {}  overflow {}  ttl {}  retention {}  crash {}  rejected {}  broker failure {}  link {}  (between nodes {})",
                d.unroutable,
                d.overflow,
                d.ttl,
                d.retention,
                d.crash,
                d.rejected,
                d.broker_failure,
                d.link_loss,
                t.lost_in_transit
            );
        }
        if t.dead_lettered
            + t.duplicates
            + t.deduplicated
            + t.reordered
            + t.retries
            + t.redeliveries
            > 0
        {
            let _ = writeln!(
                out,
                "guarantees  dead-lettered {}  duplicates {}  deduplicated {}  reordered {}  retries {}  redeliveries {}",
                t.dead_lettered,
                t.duplicates,
                t.deduplicated,
                t.reordered,
                t.retries,
                t.redeliveries
            );
        }
        if t.publish_retries + t.acknowledged_lost > 0 {
            let _ = writeln!(
                out,
                "publishing  retries {}  acknowledged then lost {}",
                t.publish_retries, t.acknowledged_lost
            );
        }
        let _ = writeln!(
            out,
            "after warm-up: throughput produced {:.1}/s  processed {:.1}/s",
            self.throughput_per_s.produced, self.throughput_per_s.processed
        );
        let l = &self.latency_ms;
        let _ = writeln!(
            out,
            "after warm-up: latency mean {}  p50 {}  p95 {}  p99 {}  max {}  (ms, produced -> processed)",
            ms(l.mean),
            ms(l.p50),
            ms(l.p95),
            ms(l.p99),
            ms(l.max)
        );
        if let Some(r) = &t.requests {
            let _ = writeln!(
                out,
                "requests    {}  (whole run; latency after warm-up)",
                r.line()
            );
        }
        let _ = writeln!(out);
        let width = self
            .nodes
            .iter()
            .map(|n| n.id.len())
            .max()
            .unwrap_or(4)
            .max(4);
        let _ = writeln!(
            out,
            "{:<width$}  {:<9} details (after the warm-up)",
            "node", "kind"
        );
        for node in &self.nodes {
            let details = match &node.detail {
                NodeDetail::Producer {
                    produced,
                    rate_per_s,
                    publish_retries,
                    acknowledged_lost,
                    requests,
                } => match requests {
                    Some(r) => format!("requests at {rate_per_s:.1}/s; {}", r.line()),
                    None => {
                        let mut text = format!("produced {produced} ({rate_per_s:.1}/s)");
                        if publish_retries + acknowledged_lost > 0 {
                            text.push_str(&format!(
                                ", publish retries {publish_retries}, acknowledged then lost {acknowledged_lost}"
                            ));
                        }
                        text
                    }
                },
                NodeDetail::Exchange {
                    received,
                    unroutable,
                } => format!("received {received}, unroutable {unroutable}"),
                NodeDetail::Queue {
                    enqueued,
                    delivered,
                    mean_wait_ms,
                    wait_ms,
                    mean_depth,
                    max_depth,
                    depth_at_end,
                    unacked_at_end,
                    dropped,
                    lost,
                    nacked,
                    duplicates,
                    deduplicated,
                    reordered,
                    redelivered,
                    expired_to_retry,
                    ..
                } => {
                    let wait = if *delivered == 0 {
                        "wait n/a (nothing delivered)".to_string()
                    } else {
                        format!("wait mean {} p99 {} ms", ms(*mean_wait_ms), ms(wait_ms.p99))
                    };
                    let ttl = if *expired_to_retry > 0 {
                        format!("expired to retry {expired_to_retry}")
                    } else {
                        format!("ttl {}", dropped.ttl)
                    };
                    let mut text = format!(
                        "enqueued {enqueued}, delivered {delivered}, {wait}, depth mean {mean_depth:.2} max {max_depth} end {depth_at_end} (+{unacked_at_end} unacked), dropped overflow {} {ttl}",
                        dropped.overflow
                    );
                    for (name, value) in [
                        ("lost", lost),
                        ("nacked", nacked),
                        ("redelivered", redelivered),
                        ("duplicates", duplicates),
                        ("deduplicated", deduplicated),
                        ("reordered", reordered),
                    ] {
                        if *value > 0 {
                            text.push_str(&format!(", {name} {value}"));
                        }
                    }
                    text
                }
                NodeDetail::Topic {
                    appended,
                    partitions,
                    groups,
                } => {
                    let groups: Vec<String> = groups
                        .iter()
                        .map(|g| {
                            let mut text = format!(
                                "{} lag {} (mean {:.1}, max {})",
                                g.group, g.lag, g.mean_lag, g.max_lag
                            );
                            for (name, value) in [
                                ("lost", g.lost),
                                ("duplicates", g.duplicates),
                                ("deduplicated", g.deduplicated),
                                ("reordered", g.reordered),
                                ("rebalances", g.rebalances),
                            ] {
                                if value > 0 {
                                    text.push_str(&format!(" {name} {value}"));
                                }
                            }
                            text
                        })
                        .collect();
                    format!(
                        "appended {appended} over {} partitions; {}",
                        partitions.len(),
                        groups.join(", ")
                    )
                }
                NodeDetail::Consumer {
                    processed,
                    throughput_per_s,
                    utilization,
                    mean_service_ms,
                    failed,
                    crashes,
                    redelivered,
                    latency_ms,
                } => {
                    let mut text = format!(
                        "processed {processed} ({throughput_per_s:.1}/s), utilization {:.1}%, service mean {} ms",
                        utilization * 100.0,
                        ms(*mean_service_ms)
                    );
                    if let Some(l) = latency_ms.filter(|l| l.count > 0) {
                        text.push_str(&format!(", latency p50 {} p99 {} ms", ms(l.p50), ms(l.p99)));
                    }
                    if *failed + *crashes > 0 {
                        text.push_str(&format!(", failed {failed}, crashes {crashes}"));
                    }
                    if *redelivered > 0 {
                        text.push_str(&format!(", redelivered {redelivered}"));
                    }
                    text
                }
                NodeDetail::Service {
                    received,
                    succeeded,
                    failed,
                    refused,
                    utilization,
                    latency_ms,
                    max_waiting,
                    crashes,
                    calls,
                    ..
                } => {
                    let mut text = format!(
                        "received {received}, succeeded {succeeded}, failed {failed}, refused {refused}, utilization {:.1}%, latency p50 {} p99 {} ms, waiting max {max_waiting}",
                        utilization * 100.0,
                        ms(latency_ms.p50),
                        ms(latency_ms.p99)
                    );
                    if *crashes > 0 {
                        text.push_str(&format!(", crashes {crashes}"));
                    }
                    for c in calls {
                        let _ = write!(
                            text,
                            "\n{:<width$}  {:<9}   -> {}: calls {}, ok {}, failed {}, timeouts {}, rejected by breaker {}, late answers {}",
                            "",
                            "",
                            c.to,
                            c.calls,
                            c.successes,
                            c.failures,
                            c.timeouts,
                            c.rejected_by_breaker,
                            c.late_answers
                        );
                        if let Some(b) = &c.breaker {
                            let _ = write!(
                                text,
                                "; breaker opened {}x, open {} ms, {} at end",
                                b.opened,
                                ms(b.open_ms),
                                b.state_at_end
                            );
                        }
                    }
                    text
                }
            };
            let _ = writeln!(out, "{:<width$}  {:<9} {details}", node.id, node.kind);
        }
        if self
            .nodes
            .iter()
            .any(|n| matches!(n.detail, NodeDetail::Consumer { .. }))
        {
            let _ = writeln!(
                out,
                "\nA consumer's `processed` counts every processing, duplicates included; the whole \
                 run's counts each copy's journey once. Queue and group lines count their own \
                 duplicates, redeliveries and reordering, and their own `lost` over the whole \
                 run: with the losses between nodes, they add up to the whole run's."
            );
        }
        // Names from the file (groups, the scenario) may hold control characters.
        crate::text::printable_lines(&out).into_owned()
    }
}

pub(super) fn ms(value: f64) -> String {
    if value >= 100.0 {
        format!("{value:.0}")
    } else if value >= 1.0 {
        format!("{value:.2}")
    } else {
        format!("{value:.3}")
    }
}

fn csv_field(text: &str) -> String {
    let text = crate::text::printable(text);
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// Flattens JSON objects and arrays into `a.b[2].c -> value` pairs.
fn flatten(prefix: &str, value: &serde_json::Value, out: &mut BTreeMap<String, String>) {
    let join = |key: &str| {
        if prefix.is_empty() {
            key.to_string()
        } else {
            format!("{prefix}.{key}")
        }
    };
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map {
                flatten(&join(key), v, out);
            }
        }
        serde_json::Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten(&format!("{prefix}[{i}]"), v, out);
            }
        }
        serde_json::Value::String(s) => {
            out.insert(prefix.to_string(), csv_field(s));
        }
        other => {
            out.insert(prefix.to_string(), other.to_string());
        }
    }
}

fn node_detail(
    world: &World,
    r: NodeRef,
    now: SimTime,
    per_s: &dyn Fn(u64) -> f64,
) -> Option<(&'static str, NodeDetail)> {
    let window = now.saturating_sub(world.window.start);
    Some(match r {
        NodeRef::Producer(i) => {
            let producer = world.producers.get(i as usize);
            let produced = producer.map_or(0, |p| p.produced);
            let requests = world
                .services
                .clients
                .get(i as usize)
                .and_then(Option::as_ref)
                .map(RequestReport::new);
            (
                "producer",
                NodeDetail::Producer {
                    produced,
                    rate_per_s: per_s(produced),
                    publish_retries: producer.map_or(0, |p| p.publish_retries),
                    acknowledged_lost: producer.map_or(0, |p| p.acknowledged_lost),
                    requests,
                },
            )
        }
        NodeRef::Exchange(i) => {
            let (received, unroutable) = world
                .exchanges
                .get(i as usize)
                .map_or((0, 0), |e| (e.received, e.unroutable));
            (
                "exchange",
                NodeDetail::Exchange {
                    received,
                    unroutable,
                },
            )
        }
        NodeRef::Queue(i) => {
            let q = world.queues.get(i as usize)?;
            let sub = world.subscriptions.get(q.subscription as usize);
            let m = &q.metrics;
            let wait = m.wait.summary_ms();
            (
                "queue",
                NodeDetail::Queue {
                    enqueued: m.enqueued,
                    delivered: m.delivered,
                    mean_wait_ms: wait.mean,
                    wait_ms: wait,
                    mean_depth: m.depth.mean(now),
                    max_depth: m.depth.max(),
                    mean_unacked: m.unacked.mean(now),
                    depth_at_end: q.ready_len,
                    unacked_at_end: q.unacked,
                    dropped: QueueDrops {
                        overflow: m.dropped_overflow,
                        ttl: m.dropped_ttl,
                    },
                    lost: q.lost,
                    nacked: m.nacked,
                    duplicates: sub.map_or(0, |s| s.duplicates),
                    deduplicated: sub.map_or(0, |s| s.deduplicated),
                    reordered: sub.map_or(0, |s| s.reordered.total()),
                    redelivered: world
                        .consumers
                        .iter()
                        .filter(|c| c.source == crate::broker::consumer::Source::Queue(i))
                        .map(|c| c.metrics.redelivered)
                        .sum(),
                    expired_to_retry: if world.retries_on_expiry(i as usize) {
                        m.dropped_ttl
                    } else {
                        0
                    },
                },
            )
        }
        NodeRef::Topic(i) => {
            let t = world.topics.get(i as usize)?;
            let partitions = t
                .partitions
                .iter()
                .enumerate()
                .map(|(p, part)| PartitionReport {
                    partition: p as u32,
                    end_offset: part.end_offset,
                    stored_records: part.records.len() as u64,
                    stored_bytes: part.bytes,
                })
                .collect();
            let groups = t
                .groups
                .iter()
                .map(|g| {
                    let lag_per_partition: Vec<u64> = t
                        .partitions
                        .iter()
                        .zip(&g.cursors)
                        .map(|(p, c)| p.end_offset - c.committed)
                        .collect();
                    let lag_ms_per_partition: Vec<f64> = t
                        .partitions
                        .iter()
                        .zip(&g.cursors)
                        .map(|(p, c)| {
                            // Records below the log start that the group still holds are
                            // gone from the log: the oldest left stands for them.
                            p.record(c.committed.max(p.base_offset))
                                .filter(|_| c.committed < p.end_offset)
                                .map_or(0.0, |r| now.saturating_sub(r.appended_at) as f64 / 1e6)
                        })
                        .collect();
                    let name = format!(
                        "{}/{}",
                        world.ids.get(t.node).map_or("", String::as_str),
                        g.name
                    );
                    let sub = world.subscriptions.iter().find(|s| s.name == name);
                    let (mean_lag_per_partition, max_lag_per_partition): (Vec<f64>, Vec<u64>) = g
                        .cursors
                        .iter()
                        .zip(&t.partitions)
                        .map(|(c, p)| c.lag_figures(now, p))
                        .unzip();
                    GroupReport {
                        group: g.name.clone(),
                        members: g
                            .members
                            .iter()
                            .filter_map(|&c| world.consumers.get(c as usize))
                            .filter_map(|c| world.ids.get(c.node).cloned())
                            .collect(),
                        lag: lag_per_partition.iter().sum(),
                        lag_per_partition,
                        max_lag_ms: lag_ms_per_partition.iter().copied().fold(0.0, f64::max),
                        lag_ms_per_partition,
                        mean_lag: mean_lag_per_partition.iter().sum(),
                        max_lag: max_lag_per_partition.iter().sum(),
                        mean_lag_per_partition,
                        max_lag_per_partition,
                        rebalances: g.rebalances,
                        lost: g.lost,
                        duplicates: sub.map_or(0, |s| s.duplicates),
                        deduplicated: sub.map_or(0, |s| s.deduplicated),
                        reordered: sub.map_or(0, |s| s.reordered.total()),
                    }
                })
                .collect();
            (
                "topic",
                NodeDetail::Topic {
                    appended: t.appended,
                    partitions,
                    groups,
                },
            )
        }
        NodeRef::Consumer(i) => {
            let c = world.consumers.get(i as usize)?;
            let m = &c.metrics;
            let utilization = if window > 0 {
                m.busy.mean(now) / f64::from(c.concurrency)
            } else {
                0.0
            };
            let mean_service_ms = if m.started > 0 {
                m.service_nanos as f64 / m.started as f64 / 1e6
            } else {
                0.0
            };
            (
                "consumer",
                NodeDetail::Consumer {
                    processed: m.processed,
                    throughput_per_s: per_s(m.processed),
                    utilization,
                    mean_service_ms,
                    failed: m.failed,
                    crashes: m.crashes,
                    redelivered: m.redelivered,
                    latency_ms: c.outputs.is_empty().then(|| match &m.latency {
                        Some(latency) => latency.summary_ms(),
                        // The only sink: every journey ends here, at a node's precision.
                        None => super::NodeHistogram::from_run(&world.window.latency).summary_ms(),
                    }),
                },
            )
        }
        NodeRef::Service(i) => {
            let f = service_figures(world, i as usize, now)?;
            (
                "service",
                NodeDetail::Service {
                    received: f.received,
                    succeeded: f.succeeded,
                    failed: f.failed,
                    refused: f.refused,
                    throughput_per_s: per_s(f.succeeded),
                    utilization: f.utilization,
                    mean_service_ms: f.mean_service_ms,
                    latency_ms: f.latency_ms,
                    mean_waiting: f.mean_waiting,
                    max_waiting: f.max_waiting,
                    waiting_at_end: f.waiting_at_end,
                    crashes: f.crashes,
                    calls: f.calls,
                },
            )
        }
    })
}
