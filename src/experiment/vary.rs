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

/// Why a `--vary` does not read, or does not name a setting the scenario can take.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaryError {
    #[error("`{spec}` has no `=`: write PATH=VALUES, such as nodes.worker.concurrency=1..8")]
    NoEquals { spec: String },
    #[error("`{spec}`: write PATH=VALUES, such as duration=1min,5min")]
    Empty { spec: String },
    #[error("`{values}`: the step of a range must be at least 1")]
    Step { values: String },
    #[error("`{values}`: a range goes from the smaller value to the larger")]
    Backwards { values: String },
    #[error("`{values}` has {count} values, more than {MAX_VALUES}")]
    TooMany { values: String, count: u64 },
    #[error("`{values}`: a range is written with whole numbers, such as 1..8 or 1..16:2")]
    NotWhole { values: String },
    #[error("no node has the id `{id}`{}", near.as_ref().map_or(String::new(), |n| format!("; did you mean `{n}`?")))]
    NoNode { id: String, near: Option<String> },
    #[error("no such node")]
    NoSuchNode,
    #[error("no such setting")]
    NoSuchSetting,
    #[error("`{path}`: `{field}` is inside a value that has no fields")]
    NoFields { path: String, field: String },
    #[error("`{path}`: the scenario has nothing at `{field}`")]
    NothingAt { path: String, field: String },
    #[error("`{text}` is not a number")]
    NotANumber { text: String },
    #[error("`{path}` is not a setting of the scenario")]
    NotASetting { path: String },
    /// The varied scenario does not read (serde's words), and the field it does not know.
    #[error("{}", match field { Some(field) => format!("{error}: the scenario has no such setting ({field})"), None => error.clone() })]
    Unreadable {
        error: String,
        field: Option<String>,
    },
    /// A path that names no setting, with the paths near it.
    #[error("{error}{hint}")]
    Unknown {
        error: Box<VaryError>,
        hint: PathHint,
    },
}

/// The paths a user may have meant, when a path names no setting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathHint {
    #[error("; did you mean `{0}`?")]
    Near(String),
    #[error("; paths look like: {}", .0.join(", "))]
    Some(Vec<String>),
}

/// One `--vary PATH=VALUES`.
#[derive(Debug, Clone, PartialEq)]
pub struct Vary {
    pub path: String,
    pub values: Vec<String>,
}

/// Most values one parameter may take, and most points a grid may have.
pub const MAX_VALUES: usize = 100_000;

impl std::str::FromStr for Vary {
    type Err = VaryError;

    fn from_str(spec: &str) -> Result<Vary, VaryError> {
        let Some((path, values)) = spec.split_once('=') else {
            return Err(VaryError::NoEquals { spec: spec.into() });
        };
        let (path, values) = (path.trim(), values.trim());
        if path.is_empty() || values.is_empty() {
            return Err(VaryError::Empty { spec: spec.into() });
        }
        Ok(Vary {
            path: path.to_string(),
            values: expand(values)?,
        })
    }
}

/// `1..8`, `1..16:2` or a list `a,b,c`.
fn expand(values: &str) -> Result<Vec<String>, VaryError> {
    let range = values.split_once("..").and_then(|(from, rest)| {
        let (to, step) = rest.split_once(':').unwrap_or((rest, "1"));
        Some((
            from.trim().parse::<i64>().ok()?,
            to.trim().parse::<i64>().ok()?,
            step.trim().parse::<i64>().ok()?,
        ))
    });
    match range {
        Some((_, _, step)) if step <= 0 => Err(VaryError::Step {
            values: values.into(),
        }),
        Some((from, to, _)) if to < from => Err(VaryError::Backwards {
            values: values.into(),
        }),
        Some((from, to, step)) => {
            let count = ((to - from) / step + 1) as u64;
            if count > MAX_VALUES as u64 {
                return Err(VaryError::TooMany {
                    values: values.into(),
                    count,
                });
            }
            Ok((0..count as i64)
                .map(|k| (from + k * step).to_string())
                .collect())
        }
        None if values.contains("..") => Err(VaryError::NotWhole {
            values: values.into(),
        }),
        None => Ok(values.split(',').map(|v| v.trim().to_string()).collect()),
    }
}

/// A scenario with `settings` (path, value) applied: a new scenario, or why not.
pub fn apply(raw: &RawScenario, settings: &[(&str, &str)]) -> Result<RawScenario, VaryError> {
    let mut value = serde_json::to_value(raw).map_err(unreadable)?;
    for (path, setting) in settings {
        set(&mut value, path, setting)?;
    }
    serde_json::from_value(value).map_err(unreadable)
}

/// A scenario that does not read as JSON, and the field serde did not know, if that is why.
fn unreadable(e: serde_json::Error) -> VaryError {
    let error = e.to_string();
    let field = error
        .split('`')
        .nth(1)
        .filter(|_| error.starts_with("unknown field"))
        .map(str::to_owned);
    VaryError::Unreadable { error, field }
}

/// Checks that `path` names a setting of `raw`: one that is there, or a field its place
/// takes. Says which paths are near when it does not.
pub fn check_path(raw: &RawScenario, path: &str) -> Result<(), VaryError> {
    let value = serde_json::to_value(raw).map_err(unreadable)?;
    let mut probe = value.clone();
    let fail = |why: VaryError| {
        let paths = leaf_paths(&value);
        let hint = match crate::text::nearest(path, paths.iter().map(String::as_str)) {
            Some(near) => PathHint::Near(near.to_string()),
            None => PathHint::Some(paths.iter().take(8).cloned().collect()),
        };
        Err(VaryError::Unknown {
            error: Box::new(why),
            hint,
        })
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
            fail(VaryError::NotASetting { path: path.into() })
        }
        Err(_) => Ok(()),
    }
}

/// The segments of `path` as they lead into the scenario: `nodes` then a node's index
/// (found by id, which may hold dots), then field names.
fn segments(root: &Value, path: &str) -> Result<Vec<Segment>, VaryError> {
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
                return Err(VaryError::NoNode {
                    id: typed.into(),
                    near: near.map(str::to_owned),
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
fn set(root: &mut Value, path: &str, text: &str) -> Result<(), VaryError> {
    let segments = segments(root, path)?;
    let mut at = root;
    let last = segments.len().saturating_sub(1);
    for (k, segment) in segments.into_iter().enumerate() {
        at = match segment {
            Segment::Node(i) => at
                .get_mut(i)
                .and_then(|n| n.as_object_mut()?.values_mut().next())
                .ok_or(VaryError::NoSuchNode)?,
            Segment::Field(f) => {
                if at.get(&f).is_none() && unwrap_kind(at).is_some() {
                    at = unwrap_kind_mut(at).ok_or(VaryError::NoSuchSetting)?;
                }
                let Some(map) = at.as_object_mut() else {
                    return Err(VaryError::NoFields {
                        path: path.into(),
                        field: f,
                    });
                };
                if !map.contains_key(&f) && k != last {
                    return Err(VaryError::NothingAt {
                        path: path.into(),
                        field: f,
                    });
                }
                map.entry(f).or_insert(Value::Null)
            }
        };
    }
    *at = match (&*at, text.parse::<f64>()) {
        (Value::Number(_) | Value::Null, Ok(_)) => {
            serde_json::from_str(text).map_err(|_| VaryError::NotANumber { text: text.into() })?
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
            (
                "a=4..1",
                Err(VaryError::Backwards {
                    values: "4..1".into(),
                }),
            ),
            (
                "a=1..4:0",
                Err(VaryError::Step {
                    values: "1..4:0".into(),
                }),
            ),
            (
                "a=1.5..4",
                Err(VaryError::NotWhole {
                    values: "1.5..4".into(),
                }),
            ),
            (
                "nothing",
                Err(VaryError::NoEquals {
                    spec: "nothing".into(),
                }),
            ),
            ("a= ", Err(VaryError::Empty { spec: "a= ".into() })),
            (
                "a=0..100000",
                Err(VaryError::TooMany {
                    values: "0..100000".into(),
                    count: 100_001,
                }),
            ),
        ];
        for (spec, expected) in cases {
            let got = spec.parse::<Vary>().map(|v| v.values);
            let expected = expected.map(|values| values.into_iter().map(String::from).collect());
            assert_eq!(got, expected, "{spec}");
        }
    }

    #[test]
    fn errors_say_what_to_write() {
        let cases = [
            (
                VaryError::NoEquals { spec: "x".into() },
                "`x` has no `=`: write PATH=VALUES, such as nodes.worker.concurrency=1..8",
            ),
            (
                VaryError::NoNode {
                    id: "wrker".into(),
                    near: Some("worker".into()),
                },
                "no node has the id `wrker`; did you mean `worker`?",
            ),
            (
                VaryError::NoNode {
                    id: "q".into(),
                    near: None,
                },
                "no node has the id `q`",
            ),
            (
                VaryError::Unknown {
                    error: Box::new(VaryError::NotASetting { path: "p".into() }),
                    hint: PathHint::Some(vec!["a".into(), "b".into()]),
                },
                "`p` is not a setting of the scenario; paths look like: a, b",
            ),
            (
                VaryError::Unreadable {
                    error: "unknown field `x`".into(),
                    field: Some("x".into()),
                },
                "unknown field `x`: the scenario has no such setting (x)",
            ),
        ];
        for (error, text) in cases {
            assert_eq!(error.to_string(), text);
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
            assert!(matches!(e, VaryError::Unknown { .. }), "{path}: {e:?}");
            assert!(e.to_string().contains(expected), "{path}: {e}");
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
