//! Parameters of a sweep: `PATH=VALUES` as users write them, and setting them in a
//! scenario.
//!
//! A path names a setting by node id and the file's own field names:
//! `nodes.worker.concurrency`, `nodes.worker.service.mean`, `nodes.orders.arrival.rate`,
//! `nodes.events.partitions`, `duration`, `limits.max_events`. The kind a setting sits in
//! (`Exponential` in `service: Exponential(mean: "5ms")`) is left out, as in the file.
//! Values are a list (`5ms,8ms`), an integer range (`1..8`, both ends included) or a
//! range with a step (`1..16:2`).

use serde_json::Value;

use crate::scenario::RawScenario;

/// One `--vary PATH=VALUES`.
#[derive(Debug, Clone, PartialEq)]
pub struct Vary {
    pub path: String,
    pub values: Vec<String>,
}

/// Most values one parameter may take, and most points a grid may have.
pub const MAX_VALUES: usize = 100_000;

impl std::str::FromStr for Vary {
    type Err = String;

    fn from_str(spec: &str) -> Result<Vary, String> {
        let Some((path, values)) = spec.split_once('=') else {
            return Err(format!(
                "`{spec}` has no `=`: write PATH=VALUES, such as nodes.worker.concurrency=1..8"
            ));
        };
        let (path, values) = (path.trim(), values.trim());
        if path.is_empty() || values.is_empty() {
            return Err(format!(
                "`{spec}`: write PATH=VALUES, such as duration=1min,5min"
            ));
        }
        Ok(Vary {
            path: path.to_string(),
            values: expand(values)?,
        })
    }
}

/// `1..8`, `1..16:2` or a list `a,b,c`.
fn expand(values: &str) -> Result<Vec<String>, String> {
    let range = values.split_once("..").and_then(|(from, rest)| {
        let (to, step) = rest.split_once(':').unwrap_or((rest, "1"));
        Some((
            from.trim().parse::<i64>().ok()?,
            to.trim().parse::<i64>().ok()?,
            step.trim().parse::<i64>().ok()?,
        ))
    });
    match range {
        Some((_, _, step)) if step <= 0 => Err(format!(
            "`{values}`: the step of a range must be at least 1"
        )),
        Some((from, to, _)) if to < from => Err(format!(
            "`{values}`: a range goes from the smaller value to the larger"
        )),
        Some((from, to, step)) => {
            let count = ((to - from) / step + 1) as u64;
            if count > MAX_VALUES as u64 {
                return Err(format!(
                    "`{values}` has {count} values, more than {MAX_VALUES}"
                ));
            }
            Ok((0..count as i64)
                .map(|k| (from + k * step).to_string())
                .collect())
        }
        None if values.contains("..") => Err(format!(
            "`{values}`: a range is written with whole numbers, such as 1..8 or 1..16:2"
        )),
        None => Ok(values.split(',').map(|v| v.trim().to_string()).collect()),
    }
}

/// A scenario with `settings` (path, value) applied: a new scenario, or why not.
pub fn apply(raw: &RawScenario, settings: &[(&str, &str)]) -> Result<RawScenario, String> {
    let mut value = serde_json::to_value(raw).map_err(|e| e.to_string())?;
    for (path, setting) in settings {
        set(&mut value, path, setting)?;
    }
    serde_json::from_value(value).map_err(|e| {
        let message = e.to_string();
        let field = message
            .split('`')
            .nth(1)
            .filter(|_| message.starts_with("unknown field"))
            .map(str::to_owned);
        match field {
            Some(field) => format!("{message}: the scenario has no such setting ({field})"),
            None => message,
        }
    })
}

/// Checks that `path` names a setting of `raw`: one that is there, or a field its place
/// takes. Says which paths are near when it does not.
pub fn check_path(raw: &RawScenario, path: &str) -> Result<(), String> {
    let value = serde_json::to_value(raw).map_err(|e| e.to_string())?;
    let mut probe = value.clone();
    let fail = |why: String| {
        let paths = leaf_paths(&value);
        let hint = match crate::text::nearest(path, paths.iter().map(String::as_str)) {
            Some(near) => format!("; did you mean `{near}`?"),
            None => {
                let some: Vec<&str> = paths.iter().take(8).map(String::as_str).collect();
                format!("; paths look like: {}", some.join(", "))
            }
        };
        Err(format!("{why}{hint}"))
    };
    // Set it to what it is (or to a placeholder if absent) and see whether the scenario
    // still reads: an unknown field does not.
    let current = get(&value, path).cloned();
    let placeholder = current.unwrap_or(Value::from(1));
    let text = match &placeholder {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if let Err(why) = set(&mut probe, path, &text) {
        return fail(why);
    }
    match serde_json::from_value::<RawScenario>(probe) {
        Ok(_) => Ok(()),
        Err(e) if e.to_string().starts_with("unknown field") => {
            fail(format!("`{path}` is not a setting of the scenario"))
        }
        Err(_) => Ok(()),
    }
}

/// The segments of `path` as they lead into the scenario: `nodes` then a node's index
/// (found by id, which may hold dots), then field names.
fn segments(root: &Value, path: &str) -> Result<Vec<Segment>, String> {
    let mut out = Vec::new();
    let rest = match path.strip_prefix("nodes.") {
        Some(rest) => {
            let nodes = root.get("nodes").and_then(Value::as_array);
            let ids: Vec<(usize, String)> = nodes
                .map(|nodes| {
                    nodes
                        .iter()
                        .enumerate()
                        .filter_map(|(i, n)| {
                            Some((i, node_body(n)?.get("id")?.as_str()?.to_string()))
                        })
                        .collect()
                })
                .unwrap_or_default();
            // The longest id the path starts with (ids may contain dots).
            let Some((index, id)) = ids
                .iter()
                .filter(|(_, id)| rest == id || rest.starts_with(&format!("{id}.")))
                .max_by_key(|(_, id)| id.len())
            else {
                let typed = rest.split('.').next().unwrap_or(rest);
                let near = crate::text::nearest(typed, ids.iter().map(|(_, id)| id.as_str()));
                return Err(match near {
                    Some(near) => format!("no node has the id `{typed}`; did you mean `{near}`?"),
                    None => format!("no node has the id `{typed}`"),
                });
            };
            out.push(Segment::Field("nodes".into()));
            out.push(Segment::Node(*index));
            rest.get(id.len()..).unwrap_or("").trim_start_matches('.')
        }
        None => path,
    };
    out.extend(
        rest.split('.')
            .filter(|s| !s.is_empty())
            .map(|s| Segment::Field(s.to_string())),
    );
    Ok(out)
}

#[derive(Debug)]
enum Segment {
    Field(String),
    /// A node of `nodes`, by index.
    Node(usize),
}

/// The fields of a node: inside its kind (`{"Consumer": {...}}`).
fn node_body(node: &Value) -> Option<&Value> {
    node.as_object()?.values().next()
}

/// The one value inside a kind wrapper (`{"Exponential": {"mean": ..}}`), if `value` is one.
fn unwrap_kind(value: &Value) -> Option<&Value> {
    let map = value.as_object()?;
    let (name, inner) = map.iter().next().filter(|_| map.len() == 1)?;
    (name.chars().next().is_some_and(char::is_uppercase) && inner.is_object()).then_some(inner)
}

fn unwrap_kind_mut(value: &mut Value) -> Option<&mut Value> {
    unwrap_kind(value)?;
    value.as_object_mut()?.values_mut().next()
}

fn get<'a>(root: &'a Value, path: &str) -> Option<&'a Value> {
    let mut at = root;
    for segment in segments(root, path).ok()? {
        at = match segment {
            Segment::Node(i) => node_body(at.get(i)?)?,
            Segment::Field(f) => match at.get(&f) {
                Some(v) => v,
                None => unwrap_kind(at)?.get(&f)?,
            },
        };
    }
    Some(at)
}

/// Sets the value at `path` to `text`: a number where there is one (or none yet), else text.
fn set(root: &mut Value, path: &str, text: &str) -> Result<(), String> {
    let segments = segments(root, path)?;
    let mut at = root;
    let last = segments.len().saturating_sub(1);
    for (k, segment) in segments.into_iter().enumerate() {
        at = match segment {
            Segment::Node(i) => at
                .get_mut(i)
                .and_then(|n| n.as_object_mut()?.values_mut().next())
                .ok_or("no such node")?,
            Segment::Field(f) => {
                if at.get(&f).is_none() && unwrap_kind(at).is_some() {
                    at = unwrap_kind_mut(at).ok_or("no such setting")?;
                }
                let Some(map) = at.as_object_mut() else {
                    return Err(format!(
                        "`{path}`: `{f}` is inside a value that has no fields"
                    ));
                };
                if !map.contains_key(&f) && k != last {
                    return Err(format!("`{path}`: the scenario has nothing at `{f}`"));
                }
                map.entry(f).or_insert(Value::Null)
            }
        };
    }
    *at = match (&*at, text.parse::<f64>()) {
        (Value::Number(_) | Value::Null, Ok(_)) => {
            serde_json::from_str(text).map_err(|_| format!("`{text}` is not a number"))?
        }
        _ => Value::String(text.to_string()),
    };
    Ok(())
}

/// Every leaf setting of the scenario as a path, nodes by id.
fn leaf_paths(root: &Value) -> Vec<String> {
    fn walk(prefix: &str, value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (key, v) in map {
                    let first_upper = key.chars().next().is_some_and(char::is_uppercase);
                    let name = if first_upper && map.len() == 1 {
                        prefix.to_string()
                    } else if prefix.is_empty() {
                        key.clone()
                    } else {
                        format!("{prefix}.{key}")
                    };
                    walk(&name, v, out);
                }
            }
            Value::Array(_) => out.push(prefix.to_string()),
            _ => out.push(prefix.to_string()),
        }
    }
    let mut out = Vec::new();
    if let Some(map) = root.as_object() {
        for (key, v) in map {
            if key == "nodes" {
                for node in v.as_array().into_iter().flatten() {
                    if let Some(body) = node_body(node)
                        && let Some(id) = body.get("id").and_then(Value::as_str)
                    {
                        walk(&format!("nodes.{id}"), body, &mut out);
                    }
                }
            } else if key != "edges" && key != "faults" {
                walk(key, v, &mut out);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hello() -> RawScenario {
        crate::scenario::parse_raw(include_str!("../../scenarios/hello.ron")).unwrap()
    }

    #[test]
    fn values_are_lists_and_ranges() {
        let cases = [
            ("a=1..4", Ok(vec!["1", "2", "3", "4"])),
            ("a=1..16:5", Ok(vec!["1", "6", "11", "16"])),
            ("a=5ms, 8ms", Ok(vec!["5ms", "8ms"])),
            ("a=1k/s,5k/s", Ok(vec!["1k/s", "5k/s"])),
            ("a=7", Ok(vec!["7"])),
            ("a=4..1", Err("smaller")),
            ("a=1..4:0", Err("step")),
            ("a=1.5..4", Err("whole numbers")),
            ("nothing", Err("no `=`")),
        ];
        for (spec, expected) in cases {
            let got = spec.parse::<Vary>();
            match (got, expected) {
                (Ok(v), Ok(values)) => assert_eq!(v.values, values, "{spec}"),
                (Err(e), Err(part)) => assert!(e.contains(part), "{spec}: {e}"),
                (got, expected) => panic!("{spec}: {got:?} against {expected:?}"),
            }
        }
    }

    #[test]
    fn settings_are_found_by_node_id_and_field_name() {
        let raw = hello();
        let changed = apply(
            &raw,
            &[
                ("nodes.worker.concurrency", "4"),
                ("nodes.worker.service.mean", "5ms"),
                ("nodes.orders.arrival.rate", "1k/s"),
                ("nodes.worker.prefetch", "8"),
                ("duration", "1min"),
            ],
        )
        .unwrap();
        let text = crate::scenario::to_ron(&changed).unwrap();
        for part in [
            "concurrency: 4",
            "mean: \"5ms\"",
            "rate: \"1000/s\"",
            "prefetch: 8",
            "duration: \"1min\"",
        ] {
            assert!(text.contains(part), "{part} not in {text}");
        }
        assert_eq!(
            apply(&raw, &[]).unwrap(),
            raw,
            "the JSON round trip keeps a scenario as it is"
        );
    }

    #[test]
    fn every_example_survives_the_round_trip() {
        for (name, text) in crate::examples::EXAMPLES {
            let raw = crate::scenario::parse_raw(text).unwrap();
            assert_eq!(apply(&raw, &[]).unwrap(), raw, "{name}");
        }
    }

    #[test]
    fn a_path_that_is_not_there_gets_the_nearest() {
        let raw = hello();
        let cases = [
            ("nodes.wrker.concurrency", "did you mean `worker`?"),
            (
                "nodes.worker.concurency",
                "did you mean `nodes.worker.concurrency`?",
            ),
            ("duraton", "did you mean `duration`?"),
        ];
        for (path, expected) in cases {
            let e = check_path(&raw, path).unwrap_err();
            assert!(e.contains(expected), "{path}: {e}");
        }
        for path in [
            "nodes.worker.concurrency",
            "nodes.worker.prefetch",
            "duration",
            "nodes.orders.arrival.rate",
        ] {
            assert_eq!(check_path(&raw, path), Ok(()), "{path}");
        }
    }
}
