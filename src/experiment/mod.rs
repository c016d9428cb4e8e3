//! Experiments: a scenario run several times (replications), designs compared on common
//! random numbers, and sweeps over a grid of parameters. A layer above [`crate::run`]
//! that reads finished reports; it knows nothing of brokers.
//!
//! **Seeds.** Replication 0 uses the scenario's seed itself, so one replication is exactly
//! the single run. Replication `i > 0` uses [`replication_seed`]: the SplitMix64 mix of the
//! base seed and `i`. Every command (run, compare, sweep) derives them the same way, so
//! replication `i` of two designs draws the same numbers wherever their nodes share ids.

pub mod stats;
pub mod sweep;
pub mod vary;

use std::collections::BTreeMap;

use rayon::prelude::*;

use crate::report::Report;
use crate::run::{self, RunError};
use crate::scenario::Scenario;

pub use stats::{Summary, paired_difference};

use std::fmt::Write as _;

/// The figures a user compares first, in the order the table leads with them.
pub const HEADLINE: &[&str] = &[
    "throughput_per_s.processed",
    "latency_ms.p50",
    "latency_ms.p95",
    "latency_ms.p99",
    "totals.lost",
    "totals.duplicates",
    "totals.dead_lettered",
    "totals.reordered",
];

/// A number as the tables print it: whole numbers whole, others to a few digits.
pub fn number(v: f64) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else if v.abs() >= 100.0 {
        format!("{v:.1}")
    } else if v.abs() >= 1.0 {
        format!("{v:.3}")
    } else {
        format!("{v:.4}")
    }
}

/// The seed of replication `index` of a run whose base seed is `base`.
pub fn replication_seed(base: u64, index: u32) -> u64 {
    if index == 0 {
        return base;
    }
    let mut z = base ^ u64::from(index).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Every numeric figure of a report, by name: `totals.lost`, `latency_ms.p99`,
/// `nodes.worker.processed`, `nodes.events.groups[0].max_lag`. Names are sorted.
pub fn figures(report: &Report) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    let Ok(json) = serde_json::to_value(report) else {
        return out;
    };
    for key in ["sim_seconds", "events"] {
        if let Some(v) = json.get(key).and_then(serde_json::Value::as_f64) {
            out.insert(key.to_string(), v);
        }
    }
    for group in ["totals", "latency_ms", "throughput_per_s"] {
        if let Some(v) = json.get(group) {
            numbers(group, v, &mut out);
        }
    }
    if let Some(nodes) = json.get("nodes").and_then(serde_json::Value::as_array) {
        for node in nodes {
            let Some(id) = node.get("id").and_then(serde_json::Value::as_str) else {
                continue;
            };
            numbers(&format!("nodes.{id}"), node, &mut out);
        }
    }
    out
}

/// The numeric leaves below `value`, named from `prefix`.
fn numbers(prefix: &str, value: &serde_json::Value, out: &mut BTreeMap<String, f64>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map {
                numbers(&format!("{prefix}.{key}"), v, out);
            }
        }
        serde_json::Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                numbers(&format!("{prefix}[{i}]"), v, out);
            }
        }
        serde_json::Value::Number(n) => {
            if let Some(v) = n.as_f64() {
                out.insert(prefix.to_string(), v);
            }
        }
        _ => {}
    }
}

/// The reports of `replications` runs of `scenario`, replication `i` with
/// [`replication_seed`]`(scenario.seed, i)`, in order, on every core.
pub fn replicate(scenario: &Scenario, replications: u32) -> Vec<Result<Report, RunError>> {
    (0..replications)
        .into_par_iter()
        .map(|i| {
            let mut scenario = scenario.clone();
            scenario.seed = replication_seed(scenario.seed, i);
            run::run(&scenario)
        })
        .collect()
}

/// Each figure over several reports: its values in report order (a figure some report
/// lacks, such as a node of one design only, is left out of that report's list).
pub fn gather(reports: &[Report]) -> BTreeMap<String, Vec<f64>> {
    let mut out: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for report in reports {
        for (name, value) in figures(report) {
            out.entry(name).or_default().push(value);
        }
    }
    out
}

/// Mean and interval of every figure over `reports`.
pub fn summarize(reports: &[Report]) -> BTreeMap<String, Summary> {
    gather(reports)
        .into_iter()
        .map(|(name, values)| (name, Summary::of(&values)))
        .collect()
}

/// Figure names: the headline ones first (those present), then every other, sorted.
pub fn ordered<'a>(names: impl Iterator<Item = &'a String>) -> Vec<String> {
    let names: Vec<&String> = names.collect();
    let mut out: Vec<String> = HEADLINE
        .iter()
        .filter(|h| names.iter().any(|n| n == *h))
        .map(|h| h.to_string())
        .collect();
    out.extend(
        names
            .into_iter()
            .filter(|n| !HEADLINE.contains(&n.as_str()))
            .cloned(),
    );
    out
}

/// Every figure as its mean, the half-width of its 95% interval and N, the headline ones
/// first, one a line; a figure whose interval is wider than 10% of its mean is flagged. Also
/// returns how many are flagged. `evlab run --replications` and the lab's Replicate print it.
pub fn summary_table(figures: &BTreeMap<String, Summary>) -> (String, usize) {
    let mut t = String::new();
    let width = figures.keys().map(String::len).max().unwrap_or(10).max(10);
    let _ = writeln!(
        t,
        "{:<width$}  {:>14}  {:>12}  {:>4}",
        "figure", "mean", "±95%", "n"
    );
    let mut noisy = 0;
    for name in ordered(figures.keys()) {
        let Some(s) = figures.get(&name) else {
            continue;
        };
        let flag = if s.is_noisy() {
            noisy += 1;
            "  ! wide: run longer or add replications"
        } else {
            ""
        };
        let _ = writeln!(
            t,
            "{:<width$}  {:>14}  {:>12}  {:>4}{flag}",
            crate::text::printable(&name),
            number(s.mean),
            number(s.ci95),
            s.n
        );
    }
    (t, noisy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replication_zero_is_the_run_itself_and_the_others_differ() {
        assert_eq!(replication_seed(42, 0), 42);
        let seeds: Vec<u64> = (0..100).map(|i| replication_seed(42, i)).collect();
        let mut unique = seeds.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), 100);
        assert_ne!(replication_seed(42, 1), replication_seed(43, 1));
    }
}
