//! Property tests over whole scenarios: random topologies, random text, random additions.
//!
//! * `random_valid_scenarios_conserve_messages` (256 cases): a generator builds random *valid*
//!   [`RawScenario`]s directly as Rust values: 1-3 producers of every arrival kind (on/off,
//!   schedules of 1-3 steps, zero-rate steps), keys none / uniform / Zipf, 0-3 routing keys,
//!   headers, priorities; 0-2 exchanges of every type with key, pattern and headers bindings
//!   (every `x_match`), exchange-to-exchange bindings and alternates; 1-3 queues with max
//!   length, both overflow policies, TTL and priorities; 0-2 topics with 1-8 partitions, every
//!   partitioner, retention by time and by (small) byte sizes; 1-5 consumers with groups of
//!   one or several members, concurrency, prefetch, every service distribution, and outputs
//!   that publish onwards with or without a new routing key, loops included. Every generated
//!   scenario must pass the checker. Each is run in ten slices; after every slice the ledger
//!   (`produced + fanned_out = processed + dropped + in flight`, recounted from the world's
//!   structures) must hold, and so must the consumers' bookkeeping (unacked = busy + buffered,
//!   unacked within prefetch, busy within concurrency, a queue's unacked = the sum of its
//!   consumers'). At the end the report's totals must balance, and the JSON report (with its
//!   time series) must be byte-identical when the scenario is run again, in the same slices
//!   or straight through with `run_to_end`. A run may stop early on its `max_in_flight` cap
//!   (a tenth of the cases set a small one on purpose); the ledger must hold then too.
//! * `generator_makes_only_valid_scenarios`: the same generator sampled deterministically 2000
//!   times, nothing run: every scenario passes `check` (validity is by construction).
//! * `random_text_never_panics` (2000 cases): the examples in `scenarios/*.ron`, and now and
//!   then a generated scenario as saved, with 1-4 random deletions, duplications, insertions,
//!   replacements (from `(){}[],:"0-9a-z.-/`, space, newline, `µ`, `é`, `#`, `*`) and
//!   truncations: `parse` returns `Ok` or `Err` (a panic fails the test by itself), and every
//!   problem it reports has a message and a line and column that exist in the text.
//! * `saved_scenarios_reload_identically` (256 cases): `to_ron` then `parse` gives back an
//!   equal `RawScenario` (odd names with quotes, escapes and unicode, canvas positions, float
//!   rates and exponents included) and an equal checked `Scenario`; saving again gives the
//!   same text.
//! * `adding_a_node_does_not_change_other_draws` (96 cases): adding a disconnected producer ->
//!   queue -> consumer chain with fresh ids, at the end or at the start of the node list,
//!   leaves every original node's report unchanged (producers' produced, consumers'
//!   processed, and queues', topics' and exchanges' figures): one random stream per entity,
//!   keyed by its id.
//!
//! Set `EVLAB_PROPTEST_FACTOR=k` to run k times as many cases. Bugs the properties found are
//! pinned at the end of the file as regression tests named after them.

use std::collections::BTreeMap;

use evlab::broker::consumer::Source;
use evlab::broker::matching::XMatch;
use evlab::run::{Run, RunError};
use evlab::scenario::check::check;
use evlab::scenario::raw::*;
use evlab::scenario::units::{Duration, Rate, Size};
use evlab::scenario::{LoadError, Scenario, parse, to_ron};
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;

// ---------------------------------------------------------------------------------------------
// Vocabularies

/// Routing keys producers publish with and consumers rewrite to.
const ROUTING_KEYS: &[&str] = &["a.b", "a.c", "x.y.z", "a", ""];
/// Binding keys: literal keys for direct exchanges, patterns for topic exchanges.
const BINDING_KEYS: &[&str] = &[
    "a.b", "a.*", "#", "*.b", "x.#", "a.c", "x.y.z", "*", "#.z", "",
];
const HEADER_NAMES: &[&str] = &["format", "region", "x-kind"];
const HEADER_VALUES: &[&str] = &["pdf", "csv", "eu"];

// ---------------------------------------------------------------------------------------------
// Generator: pieces

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

fn us(micros: u64) -> Duration {
    Duration::from_nanos(micros * 1_000)
}

fn pos() -> impl Strategy<Value = Option<CanvasPos>> {
    prop::option::of((-2000.0f32..2000.0, -2000.0f32..2000.0))
}

fn rate() -> impl Strategy<Value = Rate> {
    prop_oneof![
        4 => (1.0f64..800.0).prop_map(Rate::per_sec),
        1 => select(&[0.5, 10.0, 100.0, 250.0][..]).prop_map(Rate::per_sec),
    ]
}

fn arrival() -> impl Strategy<Value = RawArrival> {
    let step_rate = prop_oneof![1 => Just(0.0), 3 => 1.0f64..800.0];
    let schedule = prop::collection::vec((0u64..800, step_rate), 1..=3).prop_map(|gaps| {
        let mut at = 0;
        let steps = gaps
            .into_iter()
            .enumerate()
            .map(|(i, (gap, rate))| {
                // The first step may start after 0 (silence before it); later ones strictly later.
                at += if i == 0 { gap } else { gap + 1 };
                RawRateStep {
                    at: ms(at),
                    rate: Rate::per_sec(rate),
                }
            })
            .collect();
        RawArrival::Schedule { steps }
    });
    prop_oneof![
        rate().prop_map(|rate| RawArrival::Constant { rate }),
        rate().prop_map(|rate| RawArrival::Poisson { rate }),
        (rate(), 1u64..500, 0u64..500).prop_map(|(rate, on, off)| RawArrival::OnOff {
            rate,
            on: ms(on),
            off: ms(off),
        }),
        schedule,
    ]
}

fn keys() -> impl Strategy<Value = RawKeys> {
    prop_oneof![
        Just(RawKeys::None),
        (1u32..100).prop_map(|count| RawKeys::Uniform { count }),
        (1u32..100, 0.0f64..2.5).prop_map(|(count, exponent)| RawKeys::Zipf { count, exponent }),
    ]
}

fn headers(min: usize) -> impl Strategy<Value = BTreeMap<String, String>> {
    prop::collection::btree_map(
        select(HEADER_NAMES).prop_map(String::from),
        select(HEADER_VALUES).prop_map(String::from),
        min..=2,
    )
}

/// A producer (id left empty) and a selector for its target.
fn producer() -> impl Strategy<Value = (RawProducer, usize)> {
    (
        pos(),
        arrival(),
        1u64..4096,
        keys(),
        prop::collection::vec(select(ROUTING_KEYS).prop_map(String::from), 0..=3),
        any::<bool>(),
        headers(0),
        prop::option::of(0u8..=5),
        any::<usize>(),
    )
        .prop_map(
            |(
                pos,
                arrival,
                size,
                keys,
                mut routing_keys,
                single_field,
                headers,
                priority,
                target,
            )| {
                // One key may be written either way; never both fields.
                let routing_key = if routing_keys.len() == 1 && single_field {
                    routing_keys.pop()
                } else {
                    None
                };
                (
                    RawProducer {
                        id: String::new(),
                        pos,
                        arrival,
                        size: Size { bytes: size },
                        keys,
                        routing_key,
                        routing_keys,
                        headers,
                        priority,
                        ..Default::default()
                    },
                    target,
                )
            },
        )
}

#[derive(Debug, Clone)]
struct BindingSpec {
    target: usize,
    key: &'static str,
    /// Fanout and headers bindings: whether to write the (ignored) key anyway.
    keep_key: bool,
    headers: BTreeMap<String, String>,
    x_match: Option<XMatch>,
}

#[derive(Debug, Clone)]
struct ExchangeSpec {
    pos: Option<CanvasPos>,
    exchange_type: ExchangeType,
    alternate: Option<usize>,
    bindings: Vec<BindingSpec>,
}

fn exchange() -> impl Strategy<Value = ExchangeSpec> {
    let binding = (
        any::<usize>(),
        select(BINDING_KEYS),
        prop::bool::weighted(0.2),
        headers(1),
        prop::option::of(select(
            &[XMatch::All, XMatch::Any, XMatch::AllWithX, XMatch::AnyWithX][..],
        )),
    )
        .prop_map(|(target, key, keep_key, headers, x_match)| BindingSpec {
            target,
            key,
            keep_key,
            headers,
            x_match,
        });
    (
        pos(),
        select(
            &[
                ExchangeType::Direct,
                ExchangeType::Fanout,
                ExchangeType::Topic,
                ExchangeType::Headers,
            ][..],
        ),
        prop::option::weighted(0.3, any::<usize>()),
        prop::collection::vec(binding, 0..=4),
    )
        .prop_map(|(pos, exchange_type, alternate, bindings)| ExchangeSpec {
            pos,
            exchange_type,
            alternate,
            bindings,
        })
}

fn queue() -> impl Strategy<Value = RawQueue> {
    (
        pos(),
        prop::option::of(1u64..50),
        select(&[Overflow::DropHead, Overflow::RejectPublish][..]),
        prop::option::of((1_000u64..1_000_000).prop_map(us)),
        prop::option::of(1u8..=5),
    )
        .prop_map(|(pos, max_length, overflow, ttl, max_priority)| RawQueue {
            id: String::new(),
            pos,
            max_length,
            overflow,
            ttl,
            max_priority,
            ..Default::default()
        })
}

fn topic() -> impl Strategy<Value = RawTopic> {
    (
        pos(),
        1u32..=8,
        prop_oneof![
            Just(Partitioner::KeyHash),
            Just(Partitioner::RoundRobin),
            (1u32..10).prop_map(|batch| Partitioner::Sticky { batch }),
        ],
        prop::option::of((1u64..1000).prop_map(ms)),
        prop::option::of((1u64..20_000).prop_map(|bytes| Size { bytes })),
    )
        .prop_map(
            |(pos, partitions, partitioner, retention, retention_bytes)| RawTopic {
                id: String::new(),
                pos,
                partitions,
                partitioner,
                retention,
                retention_bytes,
                ..Default::default()
            },
        )
}

/// Processing times with small means (tens of microseconds to a few milliseconds).
fn service() -> impl Strategy<Value = RawService> {
    prop_oneof![
        (0u64..3_000).prop_map(|t| RawService::Constant { time: us(t) }),
        (50u64..3_000).prop_map(|m| RawService::Exponential { mean: us(m) }),
        (0u64..1_000, 50u64..2_000).prop_map(|(min, span)| RawService::Uniform {
            min: us(min),
            max: us(min + span),
        }),
        (50u64..3_000, 0u64..5_000).prop_map(|(mean, stddev)| RawService::LogNormal {
            mean: us(mean),
            stddev: us(stddev),
        }),
        (20u64..1_000, 1.2f64..4.0).prop_map(|(scale, shape)| RawService::Pareto {
            scale: us(scale),
            shape
        }),
    ]
}

#[derive(Debug, Clone)]
struct ConsumerSpec {
    raw: RawConsumer,
    source: usize,
    group: Option<&'static str>,
    outputs: Vec<(usize, Option<&'static str>)>,
}

fn consumer() -> impl Strategy<Value = ConsumerSpec> {
    let output = (any::<usize>(), prop::option::of(select(ROUTING_KEYS)));
    (
        pos(),
        1u32..=4,
        prop::option::of(1u32..=5),
        service(),
        any::<usize>(),
        // Group names may equal another consumer's id (its default group).
        prop::option::of(select(&["g0", "g1", "c0", "c1"][..])),
        prop_oneof![3 => Just(Vec::new()), 2 => prop::collection::vec(output, 1..=2)],
    )
        .prop_map(
            |(pos, concurrency, prefetch, service, source, group, outputs)| ConsumerSpec {
                raw: RawConsumer {
                    id: String::new(),
                    pos,
                    group: None,
                    concurrency,
                    prefetch,
                    service,
                    ..Default::default()
                },
                source,
                group,
                outputs,
            },
        )
}

#[derive(Debug, Clone)]
struct Parts {
    name: String,
    description: String,
    seed: u64,
    duration_ms: u64,
    warmup_per_mille: Option<u64>,
    samples: Option<u64>,
    limits: Option<RawLimits>,
    producers: Vec<(RawProducer, usize)>,
    exchanges: Vec<ExchangeSpec>,
    queues: Vec<RawQueue>,
    topics: Vec<RawTopic>,
    consumers: Vec<ConsumerSpec>,
}

fn limits() -> impl Strategy<Value = Option<RawLimits>> {
    prop_oneof![
        4 => Just(None),
        4 => Just(Some(RawLimits { max_in_flight: Some(200_000) })),
        1 => Just(Some(RawLimits::default())),
        // Small caps, so that some runs stop early and the stop path is checked too.
        1 => (20u64..2_000).prop_map(|cap| Some(RawLimits { max_in_flight: Some(cap) })),
    ]
}

fn parts(names: BoxedStrategy<(String, String)>) -> impl Strategy<Value = Parts> {
    (
        names,
        any::<u64>(),
        200u64..=3_000,
        prop::option::weighted(0.3, 1u64..1000),
        prop::option::weighted(0.3, 5u64..300),
        limits(),
        prop::collection::vec(producer(), 1..=3),
        prop::collection::vec(exchange(), 0..=2),
        prop::collection::vec(queue(), 1..=3),
        prop::collection::vec(topic(), 0..=2),
        prop::collection::vec(consumer(), 1..=5),
    )
        .prop_map(
            |(
                (name, description),
                seed,
                duration_ms,
                warmup_per_mille,
                samples,
                limits,
                producers,
                exchanges,
                queues,
                topics,
                consumers,
            )| Parts {
                name,
                description,
                seed,
                duration_ms,
                warmup_per_mille,
                samples,
                limits,
                producers,
                exchanges,
                queues,
                topics,
                consumers,
            },
        )
}

fn edge(from: &str, to: &str) -> RawEdge {
    RawEdge {
        from: from.to_string(),
        to: to.to_string(),
        key: None,
        headers: BTreeMap::new(),
        x_match: None,
        ..Default::default()
    }
}

/// Adds `edge` unless an edge with the same ends, key and headers is already there (the checker
/// rejects those as duplicates).
fn push_edge(edges: &mut Vec<RawEdge>, edge: RawEdge) {
    if !edges.iter().any(|e| {
        e.from == edge.from && e.to == edge.to && e.key == edge.key && e.headers == edge.headers
    }) {
        edges.push(edge);
    }
}

/// Wires the parts into a scenario the checker accepts.
fn assemble(parts: Parts) -> RawScenario {
    let Parts {
        name,
        description,
        seed,
        duration_ms,
        warmup_per_mille,
        samples,
        limits,
        producers,
        exchanges,
        queues,
        mut topics,
        consumers,
    } = parts;
    // Every topic needs a consumer: the first consumers read the topics, one each.
    topics.truncate(consumers.len());
    let pid = |i: usize| format!("p{i}");
    let xid = |i: usize| format!("x{i}");
    let qid = |i: usize| format!("q{i}");
    let tid = |i: usize| format!("t{i}");
    let cid = |i: usize| format!("c{i}");
    let (nx, nq, nt) = (exchanges.len(), queues.len(), topics.len());
    // Publish targets: exchanges, queues, topics.
    let publish_target = |sel: usize| {
        let sel = sel % (nx + nq + nt);
        if sel < nx {
            xid(sel)
        } else if sel < nx + nq {
            qid(sel - nx)
        } else {
            tid(sel - nx - nq)
        }
    };

    let mut nodes = Vec::new();
    let mut edges = Vec::new();
    for (i, (mut p, target)) in producers.into_iter().enumerate() {
        p.id = pid(i);
        push_edge(&mut edges, edge(&p.id, &publish_target(target)));
        nodes.push(RawNode::Producer(p));
    }
    for (i, x) in exchanges.iter().enumerate() {
        let alternate = match x.alternate {
            Some(sel) if nx > 1 => Some(xid((i + 1 + sel % (nx - 1)) % nx)),
            _ => None,
        };
        for b in &x.bindings {
            // Bindings go to queues or to other exchanges.
            let others = nq + nx - 1;
            let sel = b.target % others;
            let to = if sel < nq {
                qid(sel)
            } else {
                xid((i + 1 + (sel - nq)) % nx)
            };
            let mut e = edge(&xid(i), &to);
            match x.exchange_type {
                ExchangeType::Direct | ExchangeType::Topic => e.key = Some(b.key.to_string()),
                ExchangeType::Fanout => e.key = b.keep_key.then(|| b.key.to_string()),
                ExchangeType::Headers => {
                    e.key = b.keep_key.then(|| b.key.to_string());
                    e.headers = b.headers.clone();
                    e.x_match = b.x_match;
                }
            }
            push_edge(&mut edges, e);
        }
        nodes.push(RawNode::Exchange(RawExchange {
            id: xid(i),
            pos: x.pos,
            exchange_type: x.exchange_type,
            alternate,
        }));
    }
    for (i, mut q) in queues.into_iter().enumerate() {
        q.id = qid(i);
        nodes.push(RawNode::Queue(q));
    }
    for (i, t) in topics.iter_mut().enumerate() {
        t.id = tid(i);
        nodes.push(RawNode::Topic(t.clone()));
    }
    let nc = consumers.len();
    for (i, spec) in consumers.into_iter().enumerate() {
        let mut c = spec.raw;
        c.id = cid(i);
        let source = if i < nt {
            tid(i)
        } else {
            let sel = spec.source % (nq + nt);
            if sel < nq { qid(sel) } else { tid(sel - nq) }
        };
        // Groups and offset commits are for topic readers; several readers of one topic may
        // share a group. Commit modes vary with the consumer's index.
        if source.starts_with('t') {
            c.group = spec.group.map(String::from);
            c.commit = match i % 3 {
                0 => Commit::AfterEach,
                1 => Commit::Interval {
                    every: ms(1 + spec.source as u64 % 50),
                },
                _ => Commit::Batch {
                    size: 1 + spec.source as u32 % 7,
                },
            };
        }
        push_edge(&mut edges, edge(&source, &c.id));
        for (target, key) in spec.outputs {
            // A consumer that publishes onwards may feed a loop: keep its processing time above
            // zero so that a loop cannot spin forever at one instant.
            if let RawService::Constant { time } = &mut c.service {
                time.nanos = time.nanos.max(50_000);
            }
            let mut e = edge(&c.id, &publish_target(target));
            e.key = key.map(String::from);
            push_edge(&mut edges, e);
        }
        nodes.push(RawNode::Consumer(c));
    }
    // Every exchange must receive something: a publisher, a binding or being an alternate.
    for i in 0..nx {
        let id = xid(i);
        let receives = edges.iter().any(|e| e.to == id)
            || nodes.iter().any(|n| matches!(n, RawNode::Exchange(x) if x.alternate.as_deref() == Some(id.as_str())));
        if !receives {
            let from = cid(i % nc);
            push_edge(&mut edges, edge(&from, &id));
        }
    }
    let duration = ms(duration_ms);
    RawScenario {
        version: FORMAT_VERSION,
        name,
        description,
        seed,
        duration,
        warmup: warmup_per_mille
            .map(|w| Duration::from_nanos(duration.nanos * w / 1000))
            .filter(|w| w.nanos > 0),
        sample_every: samples.map(|k| Duration::from_nanos(duration.nanos / k)),
        limits,
        nodes,
        edges,
        faults: Vec::new(),
    }
}

fn plain_names() -> BoxedStrategy<(String, String)> {
    (select(&["", "random", "gen"][..]), Just(""))
        .prop_map(|(n, d)| (n.to_string(), d.to_string()))
        .boxed()
}

/// Names and descriptions with quotes, backslashes, newlines and unicode, for the round trip.
fn odd_names() -> BoxedStrategy<(String, String)> {
    (
        "\\PC{0,20}",
        prop_oneof![Just(String::new()), "[a-z \"\\\\\n\t{}()/*é日]{0,40}"],
    )
        .boxed()
}

fn scenario() -> impl Strategy<Value = RawScenario> {
    parts(plain_names()).prop_map(assemble)
}

fn scenario_with_odd_names() -> impl Strategy<Value = RawScenario> {
    parts(odd_names()).prop_map(assemble)
}

// ---------------------------------------------------------------------------------------------
// Running

fn checked(raw: &RawScenario) -> Result<Scenario, TestCaseError> {
    check(raw).map_err(|problems| {
        TestCaseError::fail(format!("generated scenario rejected: {problems:#?}"))
    })
}

/// Bookkeeping the ledger does not cover: per-consumer and per-queue acknowledgement counts.
fn check_consumers(run: &Run) -> Result<(), String> {
    let world = run.world();
    let mut unacked_per_queue = vec![0u64; world.queues.len()];
    for c in &world.consumers {
        let id = &world.ids[c.node];
        if c.busy > c.concurrency {
            return Err(format!(
                "consumer `{id}` processes {} messages at once, above its concurrency {}",
                c.busy, c.concurrency
            ));
        }
        match c.source {
            Source::Queue(q) => {
                let held = u64::from(c.busy) + c.buffer.len() as u64;
                if u64::from(c.unacked) != held {
                    return Err(format!(
                        "consumer `{id}` has {} unacked but holds {held}",
                        c.unacked
                    ));
                }
                if c.unacked > c.prefetch {
                    return Err(format!(
                        "consumer `{id}` has {} unacked, above its prefetch {}",
                        c.unacked, c.prefetch
                    ));
                }
                unacked_per_queue[q as usize] += u64::from(c.unacked);
            }
            Source::Topic { .. } => {
                if !c.buffer.is_empty() {
                    return Err(format!(
                        "topic consumer `{id}` buffers {} messages",
                        c.buffer.len()
                    ));
                }
            }
        }
    }
    for (q, queue) in world.queues.iter().enumerate() {
        if queue.unacked != unacked_per_queue[q] {
            return Err(format!(
                "queue `{}` counts {} unacked, its consumers {}",
                world.ids[queue.node], queue.unacked, unacked_per_queue[q]
            ));
        }
    }
    Ok(())
}

/// How a run ended.
struct Outcome {
    json: String,
    stopped: bool,
}

/// Runs `scenario` in `slices` equal steps, checking the ledger and the consumers' bookkeeping
/// after every step and the report's totals at the end.
fn run_in_slices(scenario: &Scenario, slices: u64) -> Result<Outcome, TestCaseError> {
    let mut run = Run::new(scenario).map_err(|e| TestCaseError::fail(format!("Run::new: {e}")))?;
    let duration = run.duration_nanos();
    let mut stopped = false;
    for i in 1..=slices {
        let until = duration * i / slices;
        match run.advance_to(until) {
            Ok(_) => {}
            Err(RunError::Stopped { message, .. }) => {
                prop_assert!(
                    message.contains("max_in_flight"),
                    "stopped for another reason: {message}"
                );
                stopped = true;
            }
            Err(e) => return Err(TestCaseError::fail(format!("advance_to({until}): {e}"))),
        }
        if let Err(e) = run.check_ledger() {
            return Err(TestCaseError::fail(format!(
                "after slice {i} (t = {} ns): {e}",
                run.now()
            )));
        }
        if let Err(e) = check_consumers(&run) {
            return Err(TestCaseError::fail(format!(
                "after slice {i} (t = {} ns): {e}",
                run.now()
            )));
        }
        if stopped {
            break;
        }
    }
    prop_assert!(
        stopped || run.is_finished(),
        "run not finished at {} of {duration}",
        run.now()
    );
    let report = run.report(None, true);
    let t = &report.totals;
    prop_assert_eq!(t.dropped_total, t.dropped.total());
    prop_assert_eq!(
        t.produced + t.fanned_out,
        t.processed + t.dropped_total + t.in_flight_at_end,
        "totals do not balance: {:?} {:?}",
        (t.produced, t.fanned_out, t.processed, t.in_flight_at_end),
        t.dropped
    );
    Ok(Outcome {
        json: report.to_json(),
        stopped,
    })
}

// ---------------------------------------------------------------------------------------------
// Properties

/// `cases` cases (times `EVLAB_PROPTEST_FACTOR` when set, for a longer hunt), and no
/// regression file written next to this one.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("EVLAB_PROPTEST_FACTOR")
            .ok()
            .and_then(|m| m.parse::<u32>().ok())
            .map_or(cases, |m| cases * m),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn random_valid_scenarios_conserve_messages(raw in scenario()) {
        let scenario = checked(&raw)?;
        let first = run_in_slices(&scenario, 10)?;
        if first.stopped {
            // Where a run stops depends on its slices; the same slices must give the same bytes.
            let again = run_in_slices(&scenario, 10)?;
            prop_assert!(again.stopped);
            prop_assert!(first.json == again.json, "two runs of one scenario differ");
        } else {
            // Slicing must not matter either: one more run, straight to the end.
            let mut run = Run::new(&scenario).map_err(|e| TestCaseError::fail(e.to_string()))?;
            run.run_to_end(|_| {}).map_err(|e| TestCaseError::fail(format!("second run: {e}")))?;
            prop_assert!(run.check_ledger().is_ok());
            let json = run.report(None, true).to_json();
            prop_assert!(first.json == json, "two runs of one scenario differ");
        }
    }

    #[test]
    fn saved_scenarios_reload_identically(raw in scenario_with_odd_names()) {
        let scenario = checked(&raw)?;
        let text = to_ron(&raw).map_err(|e| TestCaseError::fail(format!("to_ron: {e}")))?;
        match parse(&text, "saved.ron") {
            Ok((reloaded, rechecked)) => {
                prop_assert_eq!(&reloaded, &raw, "text:\n{}", text);
                prop_assert_eq!(&rechecked, &scenario);
                // And saving again gives the same text.
                let again = to_ron(&reloaded).map_err(|e| TestCaseError::fail(format!("to_ron: {e}")))?;
                prop_assert_eq!(again, text);
            }
            Err(e) => return Err(TestCaseError::fail(format!("reloading failed: {e}\ntext:\n{text}"))),
        }
    }
}

proptest! {
    #![proptest_config(config(96))]

    #[test]
    fn adding_a_node_does_not_change_other_draws(
        raw in scenario(),
        extra in (producer(), queue(), consumer()),
        at_start in any::<bool>(),
    ) {
        let mut raw = raw;
        // The default cap is far away: neither run may stop early, or they would not compare.
        raw.limits = None;
        let original_ids: Vec<String> = raw.nodes.iter().map(|n| n.id().to_string()).collect();

        let ((mut p, _), mut q, c) = extra;
        let mut c = c.raw;
        p.id = "extra-producer".into();
        q.id = "extra-queue".into();
        c.id = "extra-consumer".into();
        let mut bigger = raw.clone();
        let new_nodes = [RawNode::Producer(p), RawNode::Queue(q), RawNode::Consumer(c)];
        let new_edges = [edge("extra-producer", "extra-queue"), edge("extra-queue", "extra-consumer")];
        if at_start {
            bigger.nodes.splice(0..0, new_nodes);
            bigger.edges.splice(0..0, new_edges);
        } else {
            bigger.nodes.extend(new_nodes);
            bigger.edges.extend(new_edges);
        }

        let reports: Vec<serde_json::Value> = [&raw, &bigger]
            .into_iter()
            .map(|raw| {
                let scenario = checked(raw)?;
                let mut run = Run::new(&scenario).map_err(|e| TestCaseError::fail(e.to_string()))?;
                run.run_to_end(|_| {}).map_err(|e| TestCaseError::fail(format!("run: {e}")))?;
                serde_json::to_value(run.report(None, false).nodes).map_err(|e| TestCaseError::fail(e.to_string()))
            })
            .collect::<Result<_, TestCaseError>>()?;
        let by_id = |nodes: &serde_json::Value, id: &str| {
            nodes.as_array().and_then(|a| a.iter().find(|n| n["id"] == id)).cloned()
        };
        for id in &original_ids {
            let before = by_id(&reports[0], id);
            let after = by_id(&reports[1], id);
            prop_assert!(before.is_some());
            prop_assert_eq!(before, after, "node `{}` changed when an unrelated chain was added", id);
        }
    }
}

#[test]
fn generator_makes_only_valid_scenarios() {
    let mut runner = TestRunner::deterministic();
    let strategy = scenario_with_odd_names();
    let total = 2000;
    let mut rejected = Vec::new();
    for _ in 0..total {
        let Ok(tree) = strategy.new_tree(&mut runner) else {
            continue;
        };
        let raw = tree.current();
        if let Err(problems) = check(&raw) {
            rejected.push(problems);
        }
    }
    assert!(
        rejected.is_empty(),
        "{} of {total} generated scenarios rejected, first: {:#?}",
        rejected.len(),
        rejected.first()
    );
}

// ---------------------------------------------------------------------------------------------
// Random text

#[derive(Debug, Clone)]
enum Mutation {
    Delete { at: Index, len: usize },
    Duplicate { at: Index, len: usize },
    Replace { at: Index, ch: char },
    Insert { at: Index, ch: char },
    Truncate { at: Index },
}

/// Characters that make RON interesting (plus a newline and two multi-byte ones).
const MUTATION_CHARS: &str = "(){}[],:\"0123456789abcdefghijklmnopqrstuvwxyz.-/ \nµé#*";

fn mutation() -> impl Strategy<Value = Mutation> {
    let ch = select(MUTATION_CHARS.chars().collect::<Vec<_>>());
    prop_oneof![
        3 => (any::<Index>(), 1usize..40).prop_map(|(at, len)| Mutation::Delete { at, len }),
        2 => (any::<Index>(), 1usize..40).prop_map(|(at, len)| Mutation::Duplicate { at, len }),
        4 => (any::<Index>(), ch.clone()).prop_map(|(at, ch)| Mutation::Replace { at, ch }),
        2 => (any::<Index>(), ch).prop_map(|(at, ch)| Mutation::Insert { at, ch }),
        1 => any::<Index>().prop_map(|at| Mutation::Truncate { at }),
    ]
}

fn mutate(text: &str, mutations: &[Mutation]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for m in mutations {
        let n = chars.len();
        match m {
            Mutation::Delete { at, len } if n > 0 => {
                let start = at.index(n);
                chars.drain(start..(start + len).min(n));
            }
            Mutation::Duplicate { at, len } if n > 0 => {
                let start = at.index(n);
                let span: Vec<char> = chars[start..(start + len).min(n)].to_vec();
                chars.splice(start..start, span);
            }
            Mutation::Replace { at, ch } if n > 0 => chars[at.index(n)] = *ch,
            Mutation::Insert { at, ch } => chars.insert(at.index(n + 1), *ch),
            Mutation::Truncate { at } => chars.truncate(at.index(n + 1)),
            _ => {}
        }
    }
    chars.into_iter().collect()
}

fn examples() -> Vec<(String, String)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "ron"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let text =
                std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p.display().to_string(), text)
        })
        .collect()
}

/// Mostly the examples; sometimes a generated scenario as saved, for the fields the examples
/// do not use (schedules, headers, priorities, retention, outputs, ...).
fn text_source() -> impl Strategy<Value = (String, String)> {
    let examples = examples();
    assert!(!examples.is_empty(), "no scenarios/*.ron");
    prop_oneof![
        3 => select(examples),
        1 => scenario().prop_map(|raw| ("generated.ron".to_string(), to_ron(&raw).unwrap_or_default())),
    ]
}

proptest! {
    #![proptest_config(config(2000))]

    #[test]
    fn random_text_never_panics(
        (file, original) in text_source(),
        mutations in prop::collection::vec(mutation(), 1..=4),
    ) {
        let text = mutate(&original, &mutations);
        match parse(&text, &file) {
            Ok(_) => {}
            Err(LoadError::Invalid { problems, .. }) => {
                prop_assert!(!problems.is_empty(), "an error without problems");
                let lines: Vec<&str> = text.split('\n').collect();
                for p in &problems {
                    prop_assert!(p.line >= 1 && p.column >= 1, "{p:?}");
                    prop_assert!(!p.message.trim().is_empty(), "{p:?}");
                    prop_assert!(p.line <= text.lines().count() + 1, "{p:?} is past the end ({} lines)", text.lines().count());
                    if let Some(line) = lines.get(p.line - 1) {
                        let width = line.chars().count();
                        prop_assert!(p.column <= width + 1, "{p:?} is past the end of its line ({width} chars): {line:?}");
                    }
                }
            }
            Err(e) => return Err(TestCaseError::fail(format!("unexpected error: {e}"))),
        }
    }
}

#[test]
fn examples_load_unmutated() {
    for (file, text) in examples() {
        if let Err(e) = parse(&text, &file) {
            panic!("{e}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Bugs found by the properties above

/// Runs `text` in steps of `step_nanos`, returning the first broken invariant.
fn first_broken_invariant(text: &str, step_nanos: u64) -> Option<String> {
    let (_, scenario) = parse(text, "regression.ron").unwrap_or_else(|e| panic!("{e}"));
    let mut run = Run::new(&scenario).unwrap_or_else(|e| panic!("{e}"));
    while !run.is_finished() {
        let until = run.now() + step_nanos;
        if let Err(e) = run.advance_to(until) {
            return Some(e.to_string());
        }
        if let Err(e) = run.check_ledger().and_then(|()| check_consumers(&run)) {
            return Some(format!("at {} ns: {e}", run.now()));
        }
        if let Some(c) = run
            .world()
            .consumers
            .iter()
            .find(|c| c.busy > c.concurrency)
        {
            return Some(format!(
                "at {} ns: consumer `{}` busy {} > concurrency {}",
                run.now(),
                run.world().ids[c.node],
                c.busy,
                c.concurrency
            ));
        }
    }
    None
}

/// A consumer with prefetch above its concurrency that publishes back into the queue it reads
/// (a retry loop) processes two messages at once with concurrency 1.
///
/// In `World::done`, the consumer regains credit and rejoins the queue's waiting list *before*
/// it publishes onwards; publishing into its own queue hands the copy straight back to it
/// (`enqueue` -> `deliver` -> `start`, using the slot just freed), and then "take more work"
/// pops the buffered message and `start`s it without checking `has_free_slot`: busy becomes 2.
/// The buffered message is also overtaken by the newer one.
#[test]
fn consumer_publishing_into_its_own_queue_keeps_concurrency() {
    let text = r#"(
        version: 1,
        duration: "20ms",
        nodes: [
            Producer(id: "p", arrival: Constant(rate: "1000/s")),
            Queue(id: "q"),
            Consumer(id: "c", concurrency: 1, prefetch: 2, service: Constant(time: "5ms")),
        ],
        edges: [
            (from: "p", to: "q"),
            (from: "q", to: "c"),
            (from: "c", to: "q"),
        ],
    )"#;
    assert_eq!(first_broken_invariant(text, 100_000), None);
}

/// Runs `text` to the end and returns its report as JSON.
fn report_of(text: &str) -> serde_json::Value {
    let (_, scenario) = parse(text, "regression.ron").unwrap_or_else(|e| panic!("{e}"));
    let mut run = Run::new(&scenario).unwrap_or_else(|e| panic!("{e}"));
    run.run_to_end(|_| {}).unwrap_or_else(|e| panic!("{e}"));
    serde_json::to_value(run.report(None, false)).unwrap_or_else(|e| panic!("{e}"))
}

fn processed_by(report: &serde_json::Value, id: &str) -> u64 {
    report["nodes"]
        .as_array()
        .and_then(|nodes| nodes.iter().find(|n| n["id"] == id))
        .and_then(|n| n["processed"].as_u64())
        .unwrap_or_else(|| panic!("no consumer `{id}` in {report}"))
}

/// Two consumers in a row each publish with their own routing key: c1 sets "a.b", c2 sets
/// "x.y" and publishes to a direct exchange bound with "x.y". Every message should reach q3.
///
/// A consumer's output rewrite table (`World::build`) is built only for the variants the
/// *producers* interned (`for v in 0..producer_variants`), and `World::done` falls back to
/// `table.get(variant).unwrap_or(variant)`: a message whose variant was made by an earlier
/// rewrite (here "a.b", made by c1) is forwarded with its old key. c2's key is ignored, the
/// exchange finds no binding for "a.b", and every message is dropped as unroutable.
const CHAINED_REWRITES: &str = r#"(
    version: 1,
    duration: "1s",
    nodes: [
        Producer(id: "p", arrival: Constant(rate: "100/s")),
        Queue(id: "q1"),
        Consumer(id: "c1", service: Constant(time: "1ms")),
        Queue(id: "q2"),
        Consumer(id: "c2", service: Constant(time: "1ms")),
        Exchange(id: "x", type: Direct),
        Queue(id: "q3"),
        Consumer(id: "c3", service: Constant(time: "1ms")),
    ],
    edges: [
        (from: "p", to: "q1"),
        (from: "q1", to: "c1"),
        (from: "c1", to: "q2", key: "a.b"),
        (from: "q2", to: "c2"),
        (from: "c2", to: "x", key: "x.y"),
        (from: "x", to: "q3", key: "x.y"),
        (from: "q3", to: "c3"),
    ],
)"#;

#[test]
fn chained_routing_key_rewrites_apply_to_rewritten_messages() {
    let report = report_of(CHAINED_REWRITES);
    assert_eq!(
        report["totals"]["dropped"]["unroutable"], 0,
        "{:#}",
        report["totals"]
    );
    assert!(processed_by(&report, "c3") > 90, "{:#}", report["nodes"]);
}

/// The same bug seen from the other side: adding a disconnected producer -> queue -> consumer
/// chain whose producer happens to publish with routing key "a.b" makes "a.b" a producer
/// variant, so c2's rewrite starts to apply and c3 goes from 0 messages to all of them.
/// Found by `adding_a_node_does_not_change_other_draws`.
#[test]
fn unrelated_producer_does_not_change_routing_of_rewritten_messages() {
    let with_extra = CHAINED_REWRITES
        .replace(
            "nodes: [",
            r#"nodes: [
        Producer(id: "extra-producer", arrival: Constant(rate: "1/s"), routing_key: "a.b"),
        Queue(id: "extra-queue"),
        Consumer(id: "extra-consumer", service: Constant(time: "1ms")),"#,
        )
        .replace(
            "edges: [",
            r#"edges: [
        (from: "extra-producer", to: "extra-queue"),
        (from: "extra-queue", to: "extra-consumer"),"#,
        );
    let (before, after) = (report_of(CHAINED_REWRITES), report_of(&with_extra));
    assert_eq!(processed_by(&before, "c3"), processed_by(&after, "c3"));
}

/// A producer whose rate is tiny but positive (the checker accepts any rate > 0) should all
/// but never publish. In `ArrivalProcess::next` (src/broker/sampling.rs) the gap
/// `exponential_gap(rng, rate)` saturates to `u64::MAX` for rates below about 5e-11/s, and
/// `t + gap` overflows once `t > 0`: a panic in debug builds, and in release a wrapped time
/// just *before* `t`, taken as the next arrival. An on/off producer after its first off phase,
/// or a schedule step that starts after 0, then publishes at one instant again and again; the
/// in-flight cap sets `World::failure`, but `Simulation::run_until` does not look at it, so the
/// run never returns. (`Poisson` has the same unchecked `now + gap`.) Each case runs on its
/// own thread so that a hang fails the test after a few seconds instead of blocking the suite.
#[test]
fn producers_with_a_tiny_rate_stay_silent() {
    let mut failures = Vec::new();
    for arrival in [
        r#"OnOff(rate: "1e-30/s", on: "1ms", off: "1ms")"#,
        r#"Schedule(steps: [(at: "0s", rate: "0/s"), (at: "1ms", rate: "1e-30/s")])"#,
    ] {
        let text = format!(
            r#"(
                version: 1,
                duration: "100ms",
                limits: (max_in_flight: 1000),
                nodes: [
                    Producer(id: "p", arrival: {arrival}),
                    Queue(id: "q"),
                    Consumer(id: "c", service: Constant(time: "1ms")),
                ],
                edges: [(from: "p", to: "q"), (from: "q", to: "c")],
            )"#
        );
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let (_, scenario) = parse(&text, "regression.ron").unwrap_or_else(|e| panic!("{e}"));
            let mut run = Run::new(&scenario).unwrap_or_else(|e| panic!("{e}"));
            let result = run.run_to_end(|_| {});
            let _ = sender.send((result, run.report(None, false).totals.produced));
        });
        match receiver.recv_timeout(std::time::Duration::from_secs(5)) {
            Ok((Ok(()), produced)) if produced <= 1 => {}
            Ok((result, produced)) => {
                failures.push(format!("{arrival}: {result:?}, produced {produced}"))
            }
            Err(_) => failures.push(format!(
                "{arrival}: still running after 5 s, spinning at one instant"
            )),
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
