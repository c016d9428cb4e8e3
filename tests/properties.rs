//! Property tests over whole scenarios: random topologies, random text, random additions.
//!
//! * `random_valid_scenarios_conserve_messages`: a generator builds random *valid*
//!   [`RawScenario`]s directly as Rust values (1-3 producers of every arrival kind, 0-2
//!   exchanges of every type with key / pattern / headers bindings and alternates, 1-3 queues
//!   with max length, overflow, TTL and priorities, 0-2 topics with every partitioner and
//!   retention by time and bytes, 1-5 consumers with groups, prefetch, every service
//!   distribution, and outputs publishing onwards, loops included). Every generated scenario
//!   must pass the checker. Each is run in ten slices; after every slice the ledger
//!   (`produced + fanned_out = processed + dropped + in flight`, recounted from the world's
//!   structures) must hold, and so must the per-consumer bookkeeping (unacked = busy +
//!   buffered, unacked within prefetch, busy within concurrency, a queue's unacked = the sum of
//!   its consumers'). At the end the report's totals must balance, and the JSON report (with
//!   its time series) must be byte-identical when the scenario is run again, whether in the
//!   same slices or by `run_to_end`. A run may stop early on its `max_in_flight` cap (some
//!   cases set a small one on purpose); the ledger must hold then too.
//! * `generator_makes_only_valid_scenarios`: the same generator, sampled deterministically
//!   2000 times without running anything: every scenario passes `check`.
//! * `random_text_never_panics`: the examples in `scenarios/*.ron` with random deletions,
//!   duplications, insertions, replacements and truncations: `parse` returns `Ok` or `Err`
//!   (a panic fails the test), and every problem it reports is placed at a line and column
//!   that exist in the text and carries a message.
//! * `saved_scenarios_reload_identically`: `to_ron` then `parse` gives back the same
//!   `RawScenario` (including odd names, unicode, canvas positions and floats) and the same
//!   checked `Scenario`.
//! * `adding_a_node_does_not_change_other_draws`: adding a disconnected producer -> queue ->
//!   consumer chain with fresh ids, at the end or at the start of the node list, leaves every
//!   original node's report (producers' produced, consumers' processed, queues, topics,
//!   exchanges) unchanged: one random stream per entity, keyed by id.
//!
//! Regression tests for bugs these properties found sit at the end of the file.

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
    group: Option<u8>,
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
        prop::option::of(0u8..2),
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
        // Groups are for topic readers; several readers of one topic may share one.
        if source.starts_with('t') {
            c.group = spec.group.map(|g| format!("g{g}"));
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
        prop_oneof![
            Just(String::new()),
            "[a-z \"\\\\\n\t{}()/*é日]{0,40}".prop_map(|s| s)
        ],
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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

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
    #![proptest_config(ProptestConfig::with_cases(96))]

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
                Ok(serde_json::to_value(run.report(None, false).nodes).map_err(|e| TestCaseError::fail(e.to_string()))?)
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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_text_never_panics(
        example in any::<Index>(),
        mutations in prop::collection::vec(mutation(), 1..=4),
    ) {
        let examples = examples();
        prop_assert!(!examples.is_empty());
        let (file, original) = &examples[example.index(examples.len())];
        let text = mutate(original, &mutations);
        match parse(&text, file) {
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
