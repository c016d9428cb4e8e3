//! Sweeps: every point of a grid of parameters, each replicated, one row per run; and the
//! table those rows make, which sharded sweeps merge into exactly the unsharded one.
//!
//! Runs are numbered `point * replications + replication`, points in the order of the
//! grid (the first parameter varies slowest). Shard `k` of `n` takes the runs whose
//! number is `k - 1` modulo `n`. Rows are kept sorted by (point, replication), so the
//! table is the same bytes whatever the threads, the shards, or the order runs finished.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;
use serde_json::Value;

use super::vary::{self, Vary, VaryError};
use super::{figures, replication_seed};
use crate::scenario::{RawScenario, Scenario};

/// The grid: each parameter's values, crossed, and the replications of each point.
#[derive(Debug, Clone)]
pub struct Grid {
    pub varies: Vec<Vary>,
    pub replications: u32,
}

impl Grid {
    /// Points in the grid (1 with no parameter: the scenario as it is).
    pub fn points(&self) -> usize {
        self.varies
            .iter()
            .map(|v| v.values.len())
            .try_fold(1usize, usize::checked_mul)
            .unwrap_or(usize::MAX)
    }

    pub fn runs(&self) -> usize {
        self.points().saturating_mul(self.replications as usize)
    }

    /// The settings of point `p`: a value for each parameter.
    pub fn point(&self, mut p: usize) -> Vec<(&str, &str)> {
        let mut out: Vec<(&str, &str)> = Vec::with_capacity(self.varies.len());
        for vary in self.varies.iter().rev() {
            let len = vary.values.len().max(1);
            let value = vary.values.get(p % len).map_or("", String::as_str);
            out.push((vary.path.as_str(), value));
            p /= len;
        }
        out.reverse();
        out
    }
}

/// The leading columns of every row, in order; then the parameters, then these two,
/// then every figure, sorted.
pub const LEAD: &[&str] = &["evlab_version", "scenario", "point", "replication", "seed"];
pub const AFTER_PARAMETERS: &[&str] = &["warmup_seconds", "error"];

/// One run of a sweep: its cells by column.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub point: u64,
    pub replication: u64,
    pub cells: BTreeMap<String, Value>,
}

/// Rows of a sweep and the parameters they vary.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    pub parameters: Vec<String>,
    pub rows: Vec<Row>,
}

impl Table {
    /// Adds rows, keeping one per (point, replication) and the order sorted.
    pub fn extend(&mut self, rows: impl IntoIterator<Item = Row>) {
        let mut by_key: BTreeMap<(u64, u64), Row> = std::mem::take(&mut self.rows)
            .into_iter()
            .map(|r| ((r.point, r.replication), r))
            .collect();
        for row in rows {
            by_key.entry((row.point, row.replication)).or_insert(row);
        }
        self.rows = by_key.into_values().collect();
    }

    /// The runs (by number) the table already has.
    pub fn done(&self, replications: u32) -> BTreeSet<usize> {
        self.rows
            .iter()
            .map(|r| r.point as usize * replications as usize + r.replication as usize)
            .collect()
    }

    /// Every column, in the order they are written.
    pub fn columns(&self) -> Vec<String> {
        let mut figures = BTreeSet::new();
        for row in &self.rows {
            for key in row.cells.keys() {
                let fixed = LEAD.contains(&key.as_str())
                    || AFTER_PARAMETERS.contains(&key.as_str())
                    || self.parameters.contains(key);
                if !fixed {
                    figures.insert(key.clone());
                }
            }
        }
        LEAD.iter()
            .map(|s| s.to_string())
            .chain(self.parameters.iter().cloned())
            .chain(AFTER_PARAMETERS.iter().map(|s| s.to_string()))
            .chain(figures)
            .collect()
    }
}

/// Why a point of a sweep has no report (its row's `error`).
#[derive(Debug, thiserror::Error)]
pub enum PointError {
    #[error(transparent)]
    Vary(#[from] VaryError),
    /// The checker refuses the varied scenario: its first problems, path and message.
    #[error("the checker refuses this point: {}", first_problems(.problems))]
    Refused { problems: Vec<(String, String)> },
    /// What the front does to each point refused it (its own words).
    #[error("{0}")]
    Prepare(String),
    #[error(transparent)]
    Run(#[from] crate::run::RunError),
}

fn first_problems(problems: &[(String, String)]) -> String {
    let list: Vec<String> = problems
        .iter()
        .map(|(path, message)| format!("{path}: {message}"))
        .collect();
    list.join("; ")
}

/// What a sweep runs: the scenario as read, and what to do to each point's checked
/// scenario before it runs (the command line's `--duration` and the like).
pub struct Sweep<'a> {
    pub raw: &'a RawScenario,
    pub grid: &'a Grid,
    pub prepare: &'a (dyn Fn(&mut Scenario) -> Result<(), String> + Sync),
}

impl Sweep<'_> {
    /// Runs `runs` (by number), on every core, until `stop` is set; returns their rows
    /// in run order (those not started when `stop` was set are left out). `done` is
    /// called after each run.
    pub fn run(&self, runs: &[usize], stop: &AtomicBool, done: &(dyn Fn() + Sync)) -> Vec<Row> {
        runs.par_iter()
            .filter_map(|&run| {
                if stop.load(Ordering::Relaxed) {
                    return None;
                }
                let row = self.one(run);
                done();
                Some(row)
            })
            .collect()
    }

    /// The row of run number `run`.
    pub fn one(&self, run: usize) -> Row {
        let replications = self.grid.replications.max(1) as usize;
        let (point, replication) = (run / replications, (run % replications) as u32);
        let settings = self.grid.point(point);
        let mut cells = BTreeMap::new();
        cells.insert(
            "evlab_version".into(),
            Value::from(env!("CARGO_PKG_VERSION")),
        );
        cells.insert("scenario".into(), Value::from(self.raw.name.clone()));
        cells.insert("point".into(), Value::from(point as u64));
        cells.insert("replication".into(), Value::from(u64::from(replication)));
        for (path, value) in &settings {
            cells.insert(path.to_string(), Value::from(value.to_string()));
        }
        let outcome = self.scenario(&settings).and_then(|mut scenario| {
            scenario.seed = replication_seed(scenario.seed, replication);
            cells.insert("seed".into(), Value::from(scenario.seed));
            cells.insert(
                "warmup_seconds".into(),
                Value::from(scenario.warmup_nanos as f64 / 1e9),
            );
            Ok(crate::run::run(&scenario)?)
        });
        match outcome {
            Ok(report) => {
                cells.insert("error".into(), Value::Null);
                for (name, value) in figures(&report) {
                    cells.insert(name, Value::from(value));
                }
            }
            Err(why) => {
                cells.insert("error".into(), Value::from(why.to_string()));
            }
        }
        Row {
            point: point as u64,
            replication: u64::from(replication),
            cells,
        }
    }

    /// The checked scenario of a point, or why the checker refuses it.
    fn scenario(&self, settings: &[(&str, &str)]) -> Result<Scenario, PointError> {
        let raw = vary::apply(self.raw, settings)?;
        let mut scenario =
            crate::scenario::check::check(&raw).map_err(|problems| PointError::Refused {
                problems: problems
                    .list
                    .iter()
                    .take(3)
                    .map(|p| (p.path.to_string(), p.message.to_string()))
                    .collect(),
            })?;
        (self.prepare)(&mut scenario).map_err(PointError::Prepare)?;
        Ok(scenario)
    }
}

/// Shard `k` of `n` (1-based) of `runs` runs: the run numbers it takes.
pub fn shard(runs: usize, k: usize, n: usize) -> Vec<usize> {
    (0..runs)
        .filter(|r| r % n.max(1) == k.saturating_sub(1))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_points_cross_the_values_first_parameter_slowest() {
        let grid = Grid {
            varies: vec!["a=1,2".parse().unwrap(), "b=x,y,z".parse().unwrap()],
            replications: 2,
        };
        assert_eq!((grid.points(), grid.runs()), (6, 12));
        let points: Vec<String> = (0..6)
            .map(|p| {
                grid.point(p)
                    .iter()
                    .map(|(_, v)| *v)
                    .collect::<Vec<_>>()
                    .join("")
            })
            .collect();
        assert_eq!(points, ["1x", "1y", "1z", "2x", "2y", "2z"]);
        let shards: Vec<usize> = (1..=3).flat_map(|k| shard(12, k, 3)).collect();
        let mut all = shards.clone();
        all.sort_unstable();
        assert_eq!(
            all,
            (0..12).collect::<Vec<_>>(),
            "the shards cover every run once"
        );
        assert_eq!(shard(12, 2, 3), [1, 4, 7, 10]);
    }
}
