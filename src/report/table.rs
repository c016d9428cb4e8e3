//! The report as a table for people.

use std::fmt::Write as _;

use super::{NodeDetail, Report, ms};

impl Report {
    /// A table for people.
    pub fn to_table(&self) -> String {
        let mut out = self.header();
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
            let details = details(&node.detail, width);
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

    /// The run's header and whole-run figures.
    fn header(&self) -> String {
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
        self.loss_lines(&mut out);
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
        out
    }

    /// Losses by reason, guarantee figures and publishing figures, where there are any.
    fn loss_lines(&self, out: &mut String) {
        let t = &self.totals;
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
    }
}

/// What a node's line says after its id and kind (`width`: of the id column).
fn details(detail: &NodeDetail, width: usize) -> String {
    match detail {
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
        NodeDetail::Queue { .. } => queue_details(detail),
        NodeDetail::Topic { .. } => topic_details(detail),
        NodeDetail::Consumer { .. } => consumer_details(detail),
        NodeDetail::Service { .. } => service_details(detail, width),
    }
}

/// The details of a queue.
fn queue_details(detail: &NodeDetail) -> String {
    let NodeDetail::Queue {
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
    } = detail
    else {
        return String::new();
    };
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

/// The details of a topic.
fn topic_details(detail: &NodeDetail) -> String {
    let NodeDetail::Topic {
        appended,
        partitions,
        groups,
    } = detail
    else {
        return String::new();
    };
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

/// The details of a consumer.
fn consumer_details(detail: &NodeDetail) -> String {
    let NodeDetail::Consumer {
        processed,
        throughput_per_s,
        utilization,
        mean_service_ms,
        failed,
        crashes,
        redelivered,
        latency_ms,
    } = detail
    else {
        return String::new();
    };
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

/// The details of a service.
fn service_details(detail: &NodeDetail, width: usize) -> String {
    let NodeDetail::Service {
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
    } = detail
    else {
        return String::new();
    };
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
