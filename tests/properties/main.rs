//! Property tests over whole scenarios: random topologies, random text, random additions,
//! random faults.
//!
//! * `random_valid_scenarios_conserve_messages` (1024 cases): a generator builds random
//!   *valid* [`RawScenario`]s directly as Rust values: 1-3 producers of every arrival kind
//!   (on/off, schedules of 1-3 steps, zero-rate steps), keys none / uniform / Zipf, 0-3 routing
//!   keys, headers, priorities, and (three in five) publish guarantees: `acks: Leader` or
//!   `All`, with or without `retries` (0-4, backoffs of 0-20 ms, timeouts of 1 us-50 ms),
//!   `idempotent` now and then with `acks: All`, whether they publish to an exchange, a queue
//!   or a topic; 0-2 exchanges of every type with key, pattern and headers bindings (every
//!   `x_match`), exchange-to-exchange bindings and alternates; 1-3 queues, durable or
//!   transient, with max length, both overflow policies, TTL, priorities, push or pull
//!   delivery (visibility timeouts of 0.1-20 ms, `max_receive_count` 1-5), `max_deliveries`
//!   1-5, and at most one dead-letter or retry edge to an exchange, a queue or a topic (always
//!   a dead-letter edge for a redrive); 0-2 topics with 1-8 partitions, every partitioner,
//!   retention by time and by (small) byte sizes, and (half of them) replication: 1-3 replicas,
//!   any `min_insync_replicas` up to them, replication delays of 0-5 ms, failovers of 0-50 ms;
//!   1-5 consumers with groups of one or several members, concurrency, prefetch, every service
//!   distribution, outputs that publish onwards with or without a new routing key, loops
//!   included, and (three in four) delivery guarantees: ack before or after processing, an ack
//!   delay of 0 or up to 5 ms, idempotency none / exact / by count / by time, retries with
//!   immediate, fixed or exponential backoff and every jitter, 1-5 attempts, failure
//!   probabilities of 0 or 0.01-0.5, poison fractions of 0 or up to 0.1, short session timeouts
//!   and rebalance times (10-200 ms, so that groups rebalance within a run), both offset
//!   resets, and at most one dead-letter and one retry edge each; `latency` of 0-5 ms on about
//!   a fifth of the first 16 edges that take it (publishing edges of producers and consumers,
//!   and queue -> consumer delivery edges, as `check::link_allowed` says); and 0-4 scenario
//!   faults at random times, lasting 1 us-1 s or to the end: consumer crashes with and without
//!   a restart, slow-downs and failing processing; `BrokerFailure` of a queue, or of a topic
//!   (every partition, or one); `Cut`, `Delay` (1 us-20 ms) and `Loss` (any probability) on
//!   the edges that take them (`Cut` on publishing and delivery edges, a lost connection on
//!   the latter; `Delay` on publishing and queue -> consumer edges; `Loss` on publishing
//!   edges). Every generated scenario must pass the checker. Each is run in ten slices; after
//!   every slice the ledger (`produced + fanned_out + duplicate_copies = processed +
//!   dead_lettered + lost + in flight`, recounted from the world's structures, copies in
//!   transit on links and parked for a publish retry included) must hold, and so must the
//!   consumers' bookkeeping (a queue consumer's unacked = what it holds: processing, awaiting
//!   its ack or buffered; unacked within prefetch; busy within concurrency and within what it
//!   holds; a crashed or disconnected consumer, and one whose queue's broker is down, holds
//!   nothing; a queue's unacked = its
//!   at-least-once consumers' plus its orphans). At the end the report's totals must balance,
//!   and the JSON report (with its time series) must be byte-identical when the scenario is
//!   run again, in the same slices or straight through with `run_to_end`. A run may stop early
//!   on its `max_in_flight` cap (a tenth of the cases set a small one on purpose); the ledger
//!   must hold then too. A run that goes over [`EVENT_BUDGET`] events is cut at the end of that
//!   slice, and the second run stops at the same time.
//! * `generator_makes_only_valid_scenarios`: the same generator sampled deterministically 2000
//!   times, nothing run: every scenario passes `check` (validity is by construction).
//! * `random_text_never_panics` (2000 cases): the examples in `scenarios/*.ron`, and now and
//!   then a generated scenario as saved, with 1-4 random deletions, duplications, insertions,
//!   replacements (from `(){}[],:"0-9a-z.-/`, space, newline, `µ`, `é`, `#`, `*`) and
//!   truncations: `parse` returns `Ok` or `Err` (a panic fails the test by itself), and every
//!   problem it reports has a message and a line and column that exist in the text.
//! * `saved_scenarios_reload_identically` (1024 cases): `to_ron` then `parse` gives back an
//!   equal `RawScenario` (odd names with quotes, escapes and unicode, canvas positions
//!   rounded to whole points, float rates, exponents and probabilities, faults included)
//!   and an equal checked `Scenario`; saving again gives the same text.
//! * `adding_a_node_does_not_change_other_draws` (256 cases): adding a disconnected producer ->
//!   queue -> consumer chain with fresh ids (guarantees included, no faults), at the end or at
//!   the start of the node list, leaves every original node's report unchanged (producers'
//!   produced, consumers' processed and failed, and queues', topics' and exchanges' figures):
//!   one random stream per entity, keyed by its id. The scenario's faults (of every kind
//!   above) target original nodes and edges only. A case whose run stops on the memory cap (an amplifying loop that fills
//!   even the default one) is rejected: there is nothing to compare.
//! * `faults_injected_at_run_time_keep_the_ledger` (512 cases): a generated scenario run in ten
//!   slices with 1-6 faults injected between them through `Run::inject`, of every kind the
//!   scenario faults above have, on the same targets (consumers; queues and topics, whole or
//!   one partition; edges that take the link fault): the ledger and the consumers' bookkeeping
//!   hold after every slice, `Run::faults` lists the scenario's faults and then the injected
//!   ones with the times they were injected, a crash aimed at a producer and a loss aimed at a
//!   delivery edge are refused and not recorded, the totals balance, and the session saved as a
//!   scenario (its faults being `Run::faults`) replays to the same report.
//!
//! The generator covers everything the checker accepts except service nodes and call edges
//! (tested in `tests/services.rs`), transactional commits (`tests/guarantees.rs`), latency or
//! link faults on an edge that shares its ends with an earlier one (a `"from->to"` target
//! names the first), and producers whose publishes are answered by a service.
//!
//! Set `EVLAB_PROPTEST_FACTOR=k` to run k times as many cases, and `EVLAB_DUMP=FILE` to have
//! every generated scenario written to FILE before it runs (the last one is the culprit when a
//! case never ends). Bugs the properties found are pinned in `regressions.rs` as regression
//! tests named after them; `generators.rs` builds the scenarios and `running.rs` runs them.

#[path = "../common/mod.rs"]
mod common;
mod generators;
mod regressions;
mod running;

use std::collections::BTreeMap;

use evlab::broker::error::LedgerError;
use evlab::report::Report;
use evlab::run::{Run, RunError, StopCause};
use evlab::scenario::check::{LinkUse, check, link_allowed};
use evlab::scenario::raw::XMatch;
use evlab::scenario::raw::*;
use evlab::scenario::units::{Duration, Rate, Size};
use evlab::scenario::{Fault, FaultTarget, LoadError, Scenario, parse, to_ron};
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;

use generators::*;
use running::*;

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
    #![proptest_config(config(1024))]

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
            // Slicing must not matter either: one more run, straight to the end (or to where
            // the first was cut off).
            let mut run = Run::new(&scenario).map_err(|e| TestCaseError::fail(e.to_string()))?;
            match first.cut_at {
                None => run.run_to_end(|_| {}),
                Some(at) => run.advance_to(at).map(|_| ()),
            }
            .map_err(|e| TestCaseError::fail(format!("second run: {e}")))?;
            prop_assert!(run.check_ledger().is_ok());
            let json = run.report(None, true).to_json();
            prop_assert!(first.json == json, "two runs of one scenario differ");
        }
    }

    /// Observing a run never changes it: another sampling interval, and tracing every
    /// message, give the same report, its event count included.
    #[test]
    fn observing_a_run_never_changes_it(raw in scenario(), sample_us in 1u64..2_000_000) {
        let scenario = checked(&raw)?;
        let plain = observed_report(&scenario, None)?;
        prop_assume!(plain.is_some(), "too many events or stopped: nothing to compare");
        let mut observed = scenario.clone();
        observed.sample_every_nanos = sample_us * 1_000;
        let traced = observed_report(&observed, Some(1))?;
        prop_assert!(plain == traced, "sampling every {sample_us} us and tracing changed the report");
    }

    #[test]
    fn saved_scenarios_reload_identically(raw in scenario_with_odd_names()) {
        let text = to_ron(&raw).map_err(|e| TestCaseError::fail(format!("to_ron: {e}")))?;
        // A file keeps canvas positions in whole points.
        let mut expected = raw.clone();
        for node in &mut expected.nodes {
            if let Some((x, y)) = node.pos_mut() {
                (*x, *y) = (x.round(), y.round());
            }
        }
        let scenario = checked(&expected)?;
        match parse(&text, "saved.ron") {
            Ok((reloaded, rechecked)) => {
                prop_assert_eq!(&reloaded, &expected, "text:\n{}", text);
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
    #![proptest_config(config(256))]

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

        // The added chain has no faults, and no dead-letter edge, so no redrive either.
        let ((mut p, _), q, c) = extra;
        let mut q = q.raw;
        if let Delivery::Pull { max_receive_count, .. } = &mut q.delivery {
            *max_receive_count = None;
        }
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

        // Both run to the end, or to where the original went over the event budget.
        let mut end = None;
        let reports: Vec<serde_json::Value> = [&raw, &bigger]
            .into_iter()
            .map(|raw| {
                let scenario = checked(raw)?;
                let mut run = Run::new(&scenario).map_err(|e| TestCaseError::fail(e.to_string()))?;
                let duration = run.duration_nanos();
                for i in 1..=10 {
                    let until = end.unwrap_or(duration * i / 10);
                    match run.advance_to(until) {
                        Ok(_) => {}
                        // An amplifying loop (a fanout inside a retry cycle, say) may fill even
                        // the default cap within one slice: the run stops with its clear error,
                        // and there is nothing left to compare.
                        Err(RunError::Stopped { cause: StopCause::Failure(f), .. }) if f.is_in_flight_cap() => {
                            return Err(TestCaseError::reject(format!("stopped: {f}")));
                        }
                        Err(e) => return Err(TestCaseError::fail(format!("run: {e}"))),
                    }
                    if end.is_none() && run.events() > EVENT_BUDGET {
                        end = Some(run.now());
                    }
                    if end.is_some_and(|end| run.now() >= end) {
                        break;
                    }
                }
                end.get_or_insert(run.now());
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
            prop_assert_eq!(
                before,
                after,
                "node `{}` changed when an unrelated chain was added to\n{}",
                id,
                to_ron(&bigger).unwrap_or_default()
            );
        }
    }
}

/// A fault to inject while running: before slice `slice` of ten, into the target `target`
/// selects (see [`resolve_fault`]).
#[derive(Debug, Clone)]
struct Injection {
    slice: u64,
    target: usize,
    what: FaultWhat,
    duration: Option<Duration>,
}

fn injection() -> impl Strategy<Value = Injection> {
    (0u64..10, any::<usize>(), fault_what(), fault_duration()).prop_map(
        |(slice, target, what, duration)| Injection {
            slice,
            target,
            what,
            duration,
        },
    )
}

proptest! {
    #![proptest_config(config(512))]

    /// Faults injected between slices (crashes with and without restart, slow-downs, failing
    /// processing, cuts of the edge a consumer reads from) keep the ledger and the consumers' bookkeeping after every
    /// slice; `Run::faults` lists the scenario's faults, then the injected ones with the times
    /// they were injected; a fault aimed at something other than a consumer is refused and not
    /// recorded.
    #[test]
    fn faults_injected_at_run_time_keep_the_ledger(
        raw in scenario(),
        injections in prop::collection::vec(injection(), 1..=6),
    ) {
        let scenario = checked(&raw)?;
        let mut run = Run::new(&scenario).map_err(|e| TestCaseError::fail(format!("Run::new: {e}")))?;
        let mut expected: Vec<Fault> = scenario.faults.clone();
        prop_assert_eq!(run.faults(), &expected[..]);
        // Node 0 is a producer: nothing to crash there.
        let refused = run.inject(FaultTarget::Node(0), FaultKind::Crash, None);
        prop_assert!(refused.is_err(), "a crash of a producer was accepted");
        prop_assert_eq!(run.faults(), &expected[..]);
        // Every consumer reads through a delivery edge, which loses nothing by itself.
        let delivery = raw
            .edges
            .iter()
            .position(|e| e.kind == EdgeKind::Normal && node_index(&raw, &e.to).is_some_and(|n| matches!(raw.nodes[n], RawNode::Consumer(_))))
            .ok_or_else(|| TestCaseError::fail("no delivery edge"))?;
        let refused = run.inject(FaultTarget::Edge(delivery), FaultKind::Loss { probability: 0.5 }, None);
        prop_assert!(refused.is_err(), "a loss on a delivery edge was accepted");
        prop_assert_eq!(run.faults(), &expected[..]);
        let duration = run.duration_nanos();
        let slices = 10;
        let mut stopped = false;
        for i in 0..slices {
            for inj in injections.iter().filter(|inj| inj.slice == i) {
                let Some((target, name, kind)) = resolve_fault(&raw, inj.what, inj.target) else {
                    continue;
                };
                let duration_nanos = inj.duration.map(|d| d.nanos);
                run.inject(target, kind, duration_nanos)
                    .map_err(|e| TestCaseError::fail(format!("inject {kind:?} into `{name}`: {e}")))?;
                expected.push(Fault {
                    at_nanos: run.now(),
                    target,
                    kind,
                    duration_nanos,
                });
            }
            // Slices end at round times, where samples, schedule steps and constant processing
            // times put events too: injected faults must still replay identically.
            let until = duration * (i + 1) / slices;
            match run.advance_to(until) {
                Ok(_) => {}
                Err(RunError::Stopped { cause, .. }) => {
                    prop_assert!(cause.is_in_flight_cap(), "stopped for another reason: {cause}");
                    stopped = true;
                }
                Err(e) => return Err(TestCaseError::fail(format!("advance_to({until}): {e}"))),
            }
            if let Err(e) = run.check_ledger().map_err(|e| e.to_string()).and_then(|()| check_consumers(&run)) {
                return Err(TestCaseError::fail(format!("after slice {} (t = {} ns): {e}", i + 1, run.now())));
            }
            prop_assert_eq!(run.faults(), &expected[..]);
            if stopped || run.events() > EVENT_BUDGET {
                break;
            }
        }
        let live = run.report(None, true);
        check_totals(&live)?;
        if !stopped && run.is_finished() {
            // Saved as a scenario, the session replays identically.
            let mut saved = raw.clone();
            saved.faults = run
                .faults()
                .iter()
                .map(|f| RawFault {
                    at: Duration::from_nanos(f.at_nanos),
                    target: match f.target {
                        FaultTarget::Node(n) => raw.nodes[n].id().to_string(),
                        FaultTarget::Edge(e) => format!(
                            "{}->{}",
                            raw.nodes[scenario.edges[e].from].id(),
                            raw.nodes[scenario.edges[e].to].id()
                        ),
                    },
                    kind: f.kind,
                    duration: f.duration_nanos.map(Duration::from_nanos),
                })
                .collect();
            let replay = checked(&saved)?;
            let mut again = Run::new(&replay).map_err(|e| TestCaseError::fail(e.to_string()))?;
            again.run_to_end(|_| {}).map_err(|e| TestCaseError::fail(format!("replay: {e}")))?;
            // Everything but the engine's event count: a scheduled fault starts with an event
            // of its own, an injected one without.
            let without_events = |report: &Report| {
                let mut json = serde_json::to_value(report).unwrap_or_default();
                json["events"] = serde_json::Value::Null;
                json
            };
            prop_assert!(
                without_events(&live) == without_events(&again.report(None, true)),
                "the saved session replays differently:\n{}",
                to_ron(&saved).unwrap_or_default()
            );
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
