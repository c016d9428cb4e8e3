//! The report as CSV: long format, one value per row, for pandas and spreadsheets.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::Report;

impl Report {
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
