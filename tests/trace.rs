//! Message tracing (what the lab's dots and message trace show): every hop of a
//! followed message is recorded, the counts agree with the ledger, and following
//! messages never changes the run.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use evlab::broker::trace::HopKind;
use evlab::run::Run;
use evlab::scenario::parse;

const SCENARIO: &str = r#"(
    version: 1,
    seed: 3,
    duration: "20s",
    nodes: [
        Producer(id: "p", arrival: Poisson(rate: "50/s")),
        Exchange(id: "x", type: Fanout),
        Queue(id: "q"),
        Queue(id: "dlq"),
        Consumer(id: "c", service: Exponential(mean: "10ms"), failure_probability: 0.3,
            retry: (backoff: Immediate, max_attempts: 2)),
    ],
    edges: [
        (from: "p", to: "x"),
        (from: "x", to: "q"),
        (from: "q", to: "c"),
        (from: "c", to: "dlq", kind: DeadLetter),
    ],
)"#;

#[test]
fn traced_hops_agree_with_the_ledger() {
    let (_, scenario) = parse(SCENARIO, "trace.ron").unwrap();
    let mut run = Run::new(&scenario).unwrap();
    run.set_tracing(Some(1));
    run.run_to_end(|_| {}).unwrap();
    let hops = run.take_hops();
    let count = |kind: HopKind| hops.iter().filter(|h| h.kind == kind).count() as u64;
    let ledger = run.world().ledger();
    assert_eq!(count(HopKind::Produced), ledger.produced);
    assert_eq!(
        count(HopKind::Routed),
        ledger.produced,
        "every message passes the exchange"
    );
    assert_eq!(count(HopKind::Processed), ledger.processed);
    assert_eq!(count(HopKind::DeadLettered), ledger.dead_lettered);
    assert_eq!(count(HopKind::Retried), ledger.retries);
    assert!(ledger.dead_lettered > 0 && ledger.retries > 0);
    // One message's life, in order: p, x, q, c.
    let first: Vec<(usize, HopKind)> = hops
        .iter()
        .filter(|h| h.message == 0)
        .map(|h| (h.node as usize, h.kind))
        .collect();
    assert_eq!(
        first[..4],
        [
            (0, HopKind::Produced),
            (1, HopKind::Routed),
            (2, HopKind::Enqueued),
            (4, HopKind::Delivered),
        ]
    );
    assert!(matches!(
        first.last().map(|h| h.1),
        Some(HopKind::Processed | HopKind::DeadLettered)
    ));
    // Times never go backwards within a message's life.
    assert!(
        hops.iter()
            .filter(|h| h.message == 0)
            .is_sorted_by_key(|h| h.at)
    );
}

#[test]
fn following_messages_does_not_change_the_run() {
    let (_, scenario) = parse(SCENARIO, "trace.ron").unwrap();
    let report = |every: Option<u64>| {
        let mut run = Run::new(&scenario).unwrap();
        run.set_tracing(every);
        run.run_to_end(|_| {}).unwrap();
        run.report(None, true).to_json()
    };
    let plain = report(None);
    assert_eq!(report(Some(1)), plain);
    assert_eq!(report(Some(7)), plain);
}

#[test]
fn sampling_follows_one_message_in_n() {
    let (_, scenario) = parse(SCENARIO, "trace.ron").unwrap();
    let mut run = Run::new(&scenario).unwrap();
    run.set_tracing(Some(10));
    run.run_to_end(|_| {}).unwrap();
    let hops = run.take_hops();
    assert!(hops.iter().all(|h| h.message % 10 == 0));
    let produced = hops.iter().filter(|h| h.kind == HopKind::Produced).count() as u64;
    assert_eq!(produced, run.world().ledger().produced.div_ceil(10));
}
