//! The plots themselves: throughput (with fan-out's copies), latency, queue depth,
//! consumer lag with its picker, and the failure counts, for the run or per node.

use std::collections::BTreeMap;

use eframe::egui;

use super::{Lines, Y, names};
use crate::gui::runner::Point;
use crate::report::status::Consequences;

/// With fan-out, "processed" counts every copy: the plot says how many copies a message
/// makes, and draws them, so processed above produced is not a mystery.
pub(super) fn throughput_ui(ui: &mut egui::Ui, lines: &Lines<'_>) {
    let copies = fan_out(lines.points);
    if let Some(copies) = copies {
        ui.label(
            egui::RichText::new(format!(
                "Fan-out: each message becomes {copies:.1} copies on average, and \
                 \"processed\" counts copies, so it can be above \"produced\"."
            ))
            .small(),
        );
    }
    lines.show(ui, "throughput", Y::Rate("messages / s"), |p| {
        lines.markers(p);
        p.line(lines.line("produced (in)", &|p| Some(p.produced_per_s)));
        if copies.is_some() {
            p.line(lines.line("copies (in + fan-out)", &|p| {
                Some(p.produced_per_s + p.fanned_out_per_s)
            }));
        }
        p.line(lines.line("processed (out)", &|p| Some(p.processed_per_s)));
        if let Some(s) = lines.other {
            p.line(lines.overlay("produced (in)", &s.produced_per_s));
            p.line(lines.overlay("processed (out)", &s.processed_per_s));
        }
    });
}

/// Copies per produced message over `points`, when fan-out made more than one.
fn fan_out(points: &[Point]) -> Option<f64> {
    let (produced, fanned) = points.iter().fold((0.0, 0.0), |(p, f), pt| {
        (p + pt.produced_per_s, f + pt.fanned_out_per_s)
    });
    (produced > 0.0 && fanned > 0.0).then(|| (produced + fanned) / produced)
}

pub(super) fn latency_ui(ui: &mut egui::Ui, lines: &Lines<'_>) {
    lines.show(ui, "latency", Y::Rate("end-to-end latency (ms)"), |p| {
        lines.markers(p);
        for (i, name) in ["p50", "p95", "p99"].into_iter().enumerate() {
            p.line(lines.line(name, &|p| p.latency_ms.map(|l| l[i])));
        }
        if let Some(s) = lines.other {
            p.line(lines.overlay("p50", &s.latency_p50_ms));
            p.line(lines.overlay("p95", &s.latency_p95_ms));
            p.line(lines.overlay("p99", &s.latency_p99_ms));
        }
    });
}

/// Ready and unacknowledged messages per queue.
pub(super) fn depth_ui(ui: &mut egui::Ui, lines: &Lines<'_>) {
    let names = names(
        lines
            .points
            .iter()
            .flat_map(|p| p.queues.iter().map(|q| q.0.clone())),
    );
    lines.show(ui, "depth", Y::Count("messages"), |p| {
        lines.markers(p);
        for name in &names {
            p.line(lines.line(&format!("{name} ready"), &|pt| {
                pt.queues.iter().find(|q| &q.0 == name).map(|q| q.1 as f64)
            }));
            p.line(lines.line(&format!("{name} unacked"), &|pt| {
                pt.queues.iter().find(|q| &q.0 == name).map(|q| q.2 as f64)
            }));
        }
        for node in lines.other_nodes() {
            if node.kind == crate::scenario::Kind::Queue {
                let ready: Vec<f64> = node.depth.iter().map(|&v| v as f64).collect();
                p.line(lines.overlay(&format!("{} ready", node.id), &ready));
            }
        }
    });
}

/// A group's lag per partition at one point.
fn lags_of<'p>(point: &'p Point, group: &str) -> Option<&'p [u64]> {
    point
        .lags
        .iter()
        .find(|l| l.0 == group)
        .map(|l| l.1.as_slice())
}

/// Each group's lag in total and, for up to 12 partitions, per partition.
pub(super) fn lag_ui(
    ui: &mut egui::Ui,
    lines: &Lines<'_>,
    pick: &mut (Option<String>, Option<usize>),
) {
    let mut partitions: BTreeMap<String, usize> = BTreeMap::new();
    for p in lines.points {
        for (group, lags) in &p.lags {
            let n = partitions.entry(group.clone()).or_default();
            *n = (*n).max(lags.len());
        }
    }
    lag_picker(ui, &partitions, pick);
    let (group_pick, partition_pick) = pick.clone();
    lines.show(ui, "lag", Y::Count("records behind"), |p| {
        lines.markers(p);
        let picked = partitions
            .iter()
            .filter(|(group, _)| group_pick.as_ref().is_none_or(|g| g == *group));
        for (group, &count) in picked {
            if partition_pick.is_none() {
                p.line(lines.line(&format!("{group} (total)"), &|pt| {
                    lags_of(pt, group).map(|l| l.iter().sum::<u64>() as f64)
                }));
            }
            // Every partition when there are few or one group is picked, in order (p2
            // before p10); just the one picked if one is.
            let shown: Vec<usize> = match partition_pick {
                Some(one) => vec![one],
                None if count <= 12 || group_pick.is_some() => (0..count).collect(),
                None => Vec::new(),
            };
            for partition in shown {
                p.line(lines.line(&format!("{group} p{partition}"), &|pt| {
                    lags_of(pt, group)
                        .and_then(|l| l.get(partition))
                        .map(|&v| v as f64)
                }));
            }
        }
        // The compared design keeps a topic's lag summed over its groups.
        for node in lines.other_nodes() {
            if node.kind == crate::scenario::Kind::Topic {
                let lag: Vec<f64> = node.depth.iter().map(|&v| v as f64).collect();
                p.line(lines.overlay(&format!("{} lag, all groups", node.id), &lag));
            }
        }
    });
}

/// The lag tab's two choices: which group, which partition.
fn lag_picker(
    ui: &mut egui::Ui,
    partitions: &BTreeMap<String, usize>,
    pick: &mut (Option<String>, Option<usize>),
) {
    if pick.0.as_ref().is_some_and(|g| !partitions.contains_key(g)) {
        *pick = (None, None);
    }
    ui.horizontal(|ui| {
        let group_text = pick.0.clone().unwrap_or_else(|| "every group".into());
        egui::ComboBox::from_id_salt("lag group")
            .selected_text(group_text)
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut pick.0, None, "every group");
                for group in partitions.keys() {
                    ui.selectable_value(&mut pick.0, Some(group.clone()), group.as_str());
                }
            })
            .response
            .on_hover_text("The topic and consumer group whose lag is drawn");
        let count = pick.0.as_ref().and_then(|g| partitions.get(g)).copied();
        if count.is_none_or(|n| pick.1.is_some_and(|p| p >= n)) {
            pick.1 = None;
        }
        if let Some(count) = count {
            let text = pick.1.map_or("every partition".into(), |p| format!("p{p}"));
            egui::ComboBox::from_id_salt("lag partition")
                .selected_text(text)
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut pick.1, None, "every partition");
                    for p in 0..count {
                        ui.selectable_value(&mut pick.1, Some(p), format!("p{p}"));
                    }
                })
                .response
                .on_hover_text("One partition of the group, or all of them");
        }
    });
}

/// The run's failure counts so far, or, split per node, each consumer's and queue's own
/// (what the pills on the canvas show), one line per node and consequence that occurred.
pub(super) fn failures_ui(ui: &mut egui::Ui, lines: &Lines<'_>, per_node: &mut bool) {
    ui.checkbox(per_node, "per node").on_hover_text(
        "One line per node and consequence: what each consumer and queue lost, did twice, \
         dead-lettered or reordered, counted where it happened",
    );
    if *per_node {
        let nodes = names(
            lines
                .points
                .iter()
                .flat_map(|p| p.nodes.iter().map(|n| n.0.clone())),
        );
        lines.show(ui, "failures", Y::Count("messages so far"), |p| {
            lines.markers(p);
            for node in &nodes {
                for (what, figure) in CONSEQUENCES {
                    let of = |pt: &Point| {
                        let c = pt.nodes.iter().find(|n| &n.0 == node).map(|n| n.1);
                        Some(c.map_or(0, |c| figure(&c)) as f64)
                    };
                    if lines.points.last().and_then(of).is_some_and(|v| v > 0.0) {
                        p.line(lines.line(&format!("{node} {what}"), &of));
                    }
                }
            }
        });
        return;
    }
    lines.show(ui, "failures", Y::Count("messages so far"), |p| {
        lines.markers(p);
        p.line(lines.line("retries", &|p| Some(p.retries as f64)));
        p.line(lines.line("dead-lettered", &|p| Some(p.dead_lettered as f64)));
        p.line(lines.line("duplicates", &|p| Some(p.duplicates as f64)));
        p.line(lines.line("lost", &|p| Some(p.lost as f64)));
        p.line(lines.line("reordered", &|p| Some(p.reordered as f64)));
    });
}

/// A node's consequences by name, for the Failures tab's per-node lines.
type Figure = fn(&Consequences) -> u64;
const CONSEQUENCES: [(&str, Figure); 4] = [
    ("lost", |c| c.lost),
    ("duplicates", |c| c.duplicates),
    ("dead-lettered", |c| c.dead_lettered),
    ("reordered", |c| c.reordered),
];
