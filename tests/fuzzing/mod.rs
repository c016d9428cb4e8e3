//! Mutation fuzzing of scenario files: hostile variants of the examples, made from a seed
//! and an index so any input can be made again, and what evlab does with each.
//!
//! Inputs start from the built-in examples and the files of `tests/hostile/`, and change
//! in the ways a careless edit or a hostile author would: numbers at the edges of their
//! types, durations and rates at the edges of sense, lines repeated thousands of times,
//! fields added where they make memory or time explode, kinds swapped, bytes that are
//! not UTF-8 or are terminal escapes, text cut short. [`check`] takes one through
//! everything a user could ask of it: read, check, build, a run of at most one simulated
//! second, the report in its three forms, and the ledger's balance.
//!
//! Used by `tests/fuzz.rs` (a short slice in every test run) and by
//! `examples/fuzz.rs` (a million inputs, in worker processes that may abort).

// Each user of this module uses a different part of it.
#![allow(dead_code)]

use std::path::Path;
use std::time::Instant;

use rand::{RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use evlab::run::Run;

/// The texts inputs are made from: every example, then every hostile file.
pub fn corpus() -> Vec<Vec<u8>> {
    let mut texts: Vec<Vec<u8>> = evlab::examples::EXAMPLES
        .iter()
        .map(|(_, text)| text.as_bytes().to_vec())
        .collect();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("hostile");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.sort();
    texts.extend(files.iter().filter_map(|f| std::fs::read(f).ok()));
    texts
}

const NUMBERS: &[&str] = &[
    "0",
    "1",
    "-1",
    "-5",
    "1.5",
    "255",
    "256",
    "65535",
    "65536",
    "100000",
    "2147483647",
    "4294967295",
    "4294967296",
    "18446744073709551615",
    "99999999999999999999999",
    "1e9",
    "1e308",
    "-0",
    "0x7fffffff",
    "NaN",
    "inf",
    "0.000000001",
];

const STRINGS: &[&str] = &[
    "0s",
    "1ns",
    "-1s",
    "1e300s",
    "100000h",
    "0/s",
    "1/s",
    "1000000000/s",
    "1e12/s",
    "0.0001/s",
    "1GiB",
    "0B",
    "",
    "\u{1b}[2J\u{1b}]0;owned\u{7}",
    "p,1",
    "a->b",
    "#",
    "*.*.*.*.*.*.*.*.*.*.*.*.*.*.*.*.*.*.*.*.*.*.*.*.*.*.*.*.*.*",
    "é\u{202e}x",
];

const KINDS: &[&str] = &[
    "Producer",
    "Exchange",
    "Queue",
    "Topic",
    "Consumer",
    "Service",
    "Fanout",
    "Direct",
    "Headers",
    "DeadLetter",
    "Retry",
    "Normal",
    "Crash",
    "Cut",
    "Pull",
    "Push",
    "All",
    "Leader",
];

/// Fields that make a node or the scenario ask for a lot.
const FIELDS: &[&str] = &[
    "max_length: 0, ",
    "ttl: \"1ns\", ",
    "prefetch: 0, ",
    "concurrency: 100000, ",
    "partitions: 100000, ",
    "keys: Uniform(count: 10000000), ",
    "keys: Zipf(count: 10000000, exponent: 0.0), ",
    "retry: (max_attempts: 4000000000, backoff: Fixed(delay: \"1ns\")), ",
    "retry: (max_attempts: 1000, backoff: Immediate), ",
    "limits: (max_in_flight: 2147483647), ",
    "limits: (max_events: 1), ",
    "limits: (max_memory: \"16MiB\"), ",
    "sample_every: \"1ns\", ",
    "sample_every: \"1us\", ",
    "max_priority: 255, ",
    "routing_keys: [\"a\", \"b\", \"a.b\", \"#\"], ",
    "failure_probability: 1.0, ",
    "poison_fraction: 1.0, ",
    "delivery: Pull(visibility_timeout: \"1ns\"), ",
    "max_deliveries: 0, ",
    "acks: All, retries: (max: 1000000, backoff: \"1ns\", timeout: \"1ns\"), ",
    "idempotency: Window(count: 4294967295), ",
    "service: Constant(time: \"0s\"), ",
    "replication_factor: 100000, min_insync_replicas: 100000, ",
    "overflow: RejectPublish, ",
    "commit: Batch(size: 0), ",
    "session_timeout: \"1ns\", rebalance_time: \"0s\", ",
];

const FAULTS: &[&str] = &[
    "(at: \"0s\", target: \"{id}\", kind: Crash), ",
    "(at: \"1ns\", target: \"{id}\", kind: Crash, duration: \"1ns\"), ",
    "(at: \"0s\", target: \"{id}\", kind: Slow(factor: 1e300)), ",
    "(at: \"0s\", target: \"{id}\", kind: Fail(probability: 1.0)), ",
    "(at: \"0s\", target: \"{id}\", kind: BrokerFailure(partition: 4294967295)), ",
    "(at: \"0s\", target: \"{id}->{id2}\", kind: Cut), ",
    "(at: \"0s\", target: \"{id}->{id2}\", kind: Delay(extra: \"1e6s\")), ",
];

/// A byte range of a text.
type Span = (usize, usize);

/// Spans of number literals and of quoted strings (inside the quotes) in `text`.
fn spans(text: &str) -> (Vec<Span>, Vec<Span>) {
    let bytes = text.as_bytes();
    let (mut numbers, mut strings) = (Vec::new(), Vec::new());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                let start = i + 1;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                strings.push((start, i.min(bytes.len())));
                i += 1;
            }
            b'0'..=b'9' if i == 0 || !bytes[i - 1].is_ascii_alphanumeric() => {
                let start = i;
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric() || b"._".contains(&bytes[i]))
                {
                    i += 1;
                }
                numbers.push((start, i));
            }
            _ => i += 1,
        }
    }
    (numbers, strings)
}

/// The ids quoted after `id: ` in `text`.
fn ids(text: &str) -> Vec<String> {
    text.match_indices("id: \"")
        .filter_map(|(at, m)| {
            let rest = text.get(at + m.len()..)?;
            Some(rest.get(..rest.find('"')?)?.to_string())
        })
        .collect()
}

fn pick<'a, T>(rng: &mut Xoshiro256PlusPlus, items: &'a [T]) -> Option<&'a T> {
    if items.is_empty() {
        None
    } else {
        items.get(rng.random_range(0..items.len()))
    }
}

/// Replaces `span` of `text` by `with`, if the span is on character boundaries.
fn splice(text: &mut String, (start, end): Span, with: &str) {
    if text.is_char_boundary(start) && text.is_char_boundary(end) && start <= end {
        text.replace_range(start..end, with);
    }
}

/// One change to a text (its bytes, for the changes that leave UTF-8 behind).
fn mutate_once(rng: &mut Xoshiro256PlusPlus, input: Vec<u8>) -> Vec<u8> {
    let Ok(mut text) = String::from_utf8(input.clone()) else {
        return input;
    };
    let (numbers, strings) = spans(&text);
    let lines: Vec<&str> = text.lines().collect();
    // Most changes keep the file readable, so that checking, building and running are
    // fuzzed as much as reading; a few break it anywhere.
    let operator = match rng.random_range(0..100u32) {
        0..15 => 0,
        15..25 => 1,
        25..35 => 2,
        35..50 => 3,
        50..55 => 4,
        55..60 => 5,
        60..80 => 6,
        80..88 => 7,
        88..95 => 8,
        95..97 => 9,
        97..99 => 10,
        _ => 11,
    };
    match operator {
        0 => {
            if let (Some(&span), Some(with)) = (pick(rng, &numbers), pick(rng, NUMBERS)) {
                splice(&mut text, span, with);
            }
        }
        1 => {
            if let (Some(&span), Some(with)) = (pick(rng, &strings), pick(rng, STRINGS)) {
                splice(&mut text, span, with);
            }
        }
        2 => {
            // A node id in place of another string: edges and faults to the wrong node.
            let ids = ids(&text);
            if let (Some(&span), Some(id)) = (pick(rng, &strings), pick(rng, &ids)) {
                let id = id.clone();
                splice(&mut text, span, &id);
            }
        }
        3 => {
            // A line of the file repeated: thousands of nodes, edges or faults.
            let index = rng.random_range(0..lines.len().max(1));
            let times = *pick(rng, &[2usize, 10, 100, 1_000, 10_000]).unwrap_or(&2);
            let mut out = String::with_capacity(text.len() * 2);
            for (i, line) in lines.iter().enumerate() {
                let copies = if i == index { times } else { 1 };
                for _ in 0..copies {
                    out.push_str(line);
                    out.push('\n');
                }
            }
            text = out;
        }
        4 => {
            let index = rng.random_range(0..lines.len().max(1));
            text = lines
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != index)
                .map(|(_, l)| format!("{l}\n"))
                .collect();
        }
        5 => {
            // A kind word for another.
            let found: Vec<(usize, &str)> = KINDS
                .iter()
                .flat_map(|k| {
                    text.match_indices(k)
                        .map(|(at, _)| (at, *k))
                        .collect::<Vec<_>>()
                })
                .collect();
            if let (Some(&(at, kind)), Some(with)) = (pick(rng, &found), pick(rng, KINDS)) {
                splice(&mut text, (at, at + kind.len()), with);
            }
        }
        6 => {
            // A field that asks for a lot, after an opening parenthesis.
            let opens: Vec<usize> = text.match_indices('(').map(|(i, _)| i + 1).collect();
            if let (Some(&at), Some(field)) = (pick(rng, &opens), pick(rng, FIELDS)) {
                splice(&mut text, (at, at), field);
            }
        }
        7 => {
            let ids = ids(&text);
            let (Some(id), Some(id2), Some(fault)) =
                (pick(rng, &ids), pick(rng, &ids), pick(rng, FAULTS))
            else {
                return text.into_bytes();
            };
            let fault = fault.replace("{id2}", id2).replace("{id}", id);
            if let Some(at) = text.find("faults: [") {
                splice(&mut text, (at + 9, at + 9), &fault);
            } else if let Some(at) = text.rfind(')') {
                splice(&mut text, (at, at), &format!(", faults: [{fault}]"));
            }
        }
        8 => {
            let ids = ids(&text);
            if let (Some(from), Some(to), Some(at)) =
                (pick(rng, &ids), pick(rng, &ids), text.find("edges: ["))
            {
                let kind = pick(
                    rng,
                    &[
                        "",
                        ", kind: DeadLetter",
                        ", kind: Retry",
                        ", latency: \"1ns\"",
                    ],
                )
                .unwrap_or(&"");
                let edge = format!("(from: \"{from}\", to: \"{to}\"{kind}), ");
                splice(&mut text, (at + 8, at + 8), &edge);
            }
        }
        9 => {
            let mut bytes = text.into_bytes();
            let at = rng.random_range(0..=bytes.len());
            let byte = *pick(
                rng,
                &[
                    0u8, 0x1b, 0x7f, 0x80, 0x9b, 0xc3, 0xff, b'"', b'(', b')', b'[', b']', b',',
                    b':',
                ],
            )
            .unwrap_or(&0);
            bytes.insert(at, byte);
            return bytes;
        }
        10 => {
            let mut bytes = text.into_bytes();
            let at = rng.random_range(0..=bytes.len());
            bytes.truncate(at);
            return bytes;
        }
        _ => {
            // A hostile string anywhere inside a string: an id, a name, a description.
            if let (Some(&(start, _)), Some(with)) = (pick(rng, &strings), pick(rng, STRINGS)) {
                splice(&mut text, (start, start), with);
            }
        }
    }
    text.into_bytes()
}

/// Input `index` of the fuzz run with `seed`: one to three changes to a corpus text.
pub fn input(corpus: &[Vec<u8>], seed: u64, index: u64) -> Vec<u8> {
    let mut rng =
        Xoshiro256PlusPlus::seed_from_u64(seed ^ index.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let mut text = pick(&mut rng, corpus).cloned().unwrap_or_default();
    for _ in 0..rng.random_range(1..=3u32) {
        text = mutate_once(&mut rng, text);
    }
    text
}

/// What evlab made of an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Refused when read or checked (exit 2).
    Invalid,
    /// Refused before it was built, as too big (exit 2).
    Refused,
    /// Ran and stopped with an error (exit 1).
    Stopped,
    /// Ran to its end.
    Finished,
}

#[derive(Debug, Clone, Copy)]
pub struct Verdict {
    pub kind: Kind,
    pub events: u64,
    /// Reading, checking and building: what `evlab validate` does.
    pub validate_micros: u64,
    pub total_micros: u64,
}

/// Most simulated time an input runs for.
const RUN_NANOS: u64 = 1_000_000_000;

/// Takes an input through everything a user could ask of it. A bug (a broken ledger, a
/// report that does not render) is a panic; everything else is a verdict.
pub fn check(bytes: &[u8], max_events: u64) -> Verdict {
    let started = Instant::now();
    let micros = |since: Instant| since.elapsed().as_micros() as u64;
    let verdict = |kind, events, validate| Verdict {
        kind,
        events,
        validate_micros: validate,
        total_micros: micros(started),
    };
    let text = match evlab::scenario::text_of(bytes.to_vec()) {
        Ok(text) => text,
        Err(problem) => {
            let _ = problem.to_string();
            return verdict(Kind::Invalid, 0, micros(started));
        }
    };
    let mut scenario = match evlab::scenario::parse(&text, "fuzz.ron") {
        Ok((_, scenario)) => scenario,
        Err(e) => {
            let _ = e.to_string();
            return verdict(Kind::Invalid, 0, micros(started));
        }
    };
    if scenario.duration_nanos > RUN_NANOS {
        scenario.set_duration(RUN_NANOS);
        scenario.warmup_nanos = scenario.warmup_nanos.min(RUN_NANOS / 2);
    }
    scenario.max_events = scenario.max_events.min(max_events);
    let mut run = match Run::new(&scenario) {
        Ok(run) => run,
        Err(e) => {
            let _ = e.to_string();
            return verdict(Kind::Refused, 0, micros(started));
        }
    };
    let validate = micros(started);
    run.set_latency_series(false);
    let result = run.run_to_end(|_| {});
    if let Err(e) = run.check_ledger() {
        panic!("ledger broken after {} events: {e}", run.events());
    }
    let report = match &result {
        Ok(()) => run.report(None, false),
        Err(e) => run.partial_report(&e.to_string(), None, false),
    };
    let (json, table, csv) = (report.to_json(), report.to_table(), report.to_csv());
    for text in [&json, &table, &csv] {
        assert!(
            !text.chars().any(|c| c.is_control() && c != '\n'),
            "a control character in a report"
        );
    }
    let kind = if result.is_ok() {
        Kind::Finished
    } else {
        Kind::Stopped
    };
    verdict(kind, run.events(), validate)
}
