//! The sizing answer of `evlab sweep --where ... --minimize ...`: the conditions, each
//! point of the grid judged on its figures' 95% intervals, and the cheapest point that
//! meets them all, with the next smaller one that fails.

use serde_json::Value;

use super::cell_text;
use crate::experiment::Summary;
use crate::experiment::number;
use crate::experiment::sweep::{Row, Table};
use crate::text::printable;

/// One condition of `--where`: a figure, a comparison and a number.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub figure: String,
    pub op: &'static str,
    pub value: f64,
}

pub fn parse_conditions(text: &str) -> Result<Vec<Condition>, String> {
    const OPS: [&str; 6] = ["<=", ">=", "==", "!=", "<", ">"];
    text.split(" and ")
        .map(|part| {
            let part = part.trim();
            let (at, op) = OPS
                .iter()
                .filter_map(|op| part.find(op).map(|at| (at, *op)))
                .min_by_key(|(at, op)| (*at, std::cmp::Reverse(op.len())))
                .ok_or_else(|| {
                    format!("`{part}`: write FIGURE OP NUMBER, such as latency_ms.p99 < 200")
                })?;
            let figure = part.get(..at).unwrap_or("").trim().to_string();
            let value = part.get(at + op.len()..).unwrap_or("").trim();
            let value: f64 = value
                .parse()
                .map_err(|_| format!("`{part}`: `{value}` is not a number"))?;
            if figure.is_empty() {
                return Err(format!("`{part}`: which figure?"));
            }
            Ok(Condition { figure, op, value })
        })
        .collect()
}

impl Condition {
    /// Whether a figure's interval meets it: the bound that could fail it must pass.
    fn met(&self, s: &Summary) -> (bool, f64) {
        match self.op {
            "<" => (s.upper() < self.value, s.upper()),
            "<=" => (s.upper() <= self.value, s.upper()),
            ">" => (s.lower() > self.value, s.lower()),
            ">=" => (s.lower() >= self.value, s.lower()),
            "==" => (s.lower() == self.value && s.upper() == self.value, s.mean),
            _ => (s.upper() < self.value || s.lower() > self.value, s.mean),
        }
    }
}

/// A value of a parameter as a number, for "smallest": a number, or a duration, rate or size.
fn magnitude(text: &str) -> Option<f64> {
    use crate::scenario::units::{Duration, Rate, Size};
    text.parse::<f64>()
        .ok()
        .or_else(|| text.parse::<Duration>().ok().map(|d| d.nanos as f64))
        .or_else(|| text.parse::<Rate>().ok().map(|r| r.per_sec))
        .or_else(|| text.parse::<Size>().ok().map(|s| s.bytes as f64))
}

/// One point of the grid, judged: its parameters, and whether (and how) it meets the
/// conditions.
struct Verdict {
    point: u64,
    settings: String,
    cost: f64,
    lines: Vec<String>,
    ok: bool,
}

/// The sizing answer: the point with the smallest `path` whose figures meet every condition.
pub fn size(table: &Table, conditions: &[Condition], path: &str, replications: u32) -> String {
    use std::collections::BTreeMap;
    use std::fmt::Write as _;
    let mut points: BTreeMap<u64, Vec<&Row>> = BTreeMap::new();
    for row in &table.rows {
        points.entry(row.point).or_default().push(row);
    }
    let verdicts: Vec<Verdict> = points
        .iter()
        .map(|(point, rows)| verdict(table, *point, rows, conditions, path, replications))
        .collect();
    let conditions_text = conditions
        .iter()
        .map(|c| format!("{} {} {}", c.figure, c.op, number(c.value)))
        .collect::<Vec<_>>()
        .join(" and ");
    let mut t = String::new();
    let best = verdicts
        .iter()
        .filter(|v| v.ok)
        .min_by(|a, b| a.cost.total_cmp(&b.cost).then(a.point.cmp(&b.point)));
    let Some(best) = best else {
        let _ = writeln!(
            t,
            "\nsizing: no point of the grid meets {conditions_text} on its 95% interval ({replications} replications); widen the grid"
        );
        return t;
    };
    let _ = writeln!(
        t,
        "\nsizing: the smallest {path} meeting {conditions_text} (on the 95% interval's bound, {replications} replications):\n  {} (point {})",
        best.settings, best.point
    );
    for line in &best.lines {
        let _ = writeln!(t, "    {line}");
    }
    let runner_up = verdicts
        .iter()
        .filter(|v| !v.ok && v.cost < best.cost)
        .max_by(|a, b| a.cost.total_cmp(&b.cost).then(b.point.cmp(&a.point)));
    match runner_up {
        Some(r) => {
            let _ = writeln!(
                t,
                "  the next smaller, {} (point {}), fails:",
                r.settings, r.point
            );
            for line in &r.lines {
                let _ = writeln!(t, "    {line}");
            }
        }
        None => {
            let _ = writeln!(
                t,
                "  it is the smallest value in the grid: try smaller ones to be sure it is the cheapest"
            );
        }
    }
    t
}

/// Judges one point from its rows: an error, or a missing replication, fails it; so does
/// any condition its figures do not meet.
fn verdict(
    table: &Table,
    point: u64,
    rows: &[&Row],
    conditions: &[Condition],
    path: &str,
    replications: u32,
) -> Verdict {
    let first = rows.first();
    let setting = |p: &str| first.map(|r| cell_text(r.cells.get(p))).unwrap_or_default();
    let settings = table
        .parameters
        .iter()
        .map(|p| format!("{p} = {}", setting(p)))
        .collect::<Vec<_>>()
        .join(", ");
    let error = rows
        .iter()
        .find_map(|r| r.cells.get("error").and_then(Value::as_str));
    let mut lines = Vec::new();
    let mut ok = error.is_none() && rows.len() == replications as usize;
    if let Some(error) = error {
        lines.push(format!("error: {}", printable(error)));
    }
    for c in conditions {
        let (met, line) = judge(c, rows);
        ok &= met;
        lines.push(line);
    }
    Verdict {
        point,
        settings,
        cost: magnitude(&setting(path)).unwrap_or(f64::INFINITY),
        lines,
        ok,
    }
}

/// Whether a point's rows meet one condition, and the line that says so.
fn judge(c: &Condition, rows: &[&Row]) -> (bool, String) {
    let values: Vec<f64> = rows
        .iter()
        .filter_map(|r| r.cells.get(&c.figure).and_then(Value::as_f64))
        .collect();
    if values.is_empty() {
        return (false, format!("{} has no value here", c.figure));
    }
    let s = Summary::of(&values);
    let (met, bound) = c.met(&s);
    let line = format!(
        "{:<28} {} ± {} (bound {}) {} {}  {}",
        c.figure,
        number(s.mean),
        number(s.ci95),
        number(bound),
        c.op,
        number(c.value),
        if met { "ok" } else { "fails" }
    );
    (met, line)
}
