//! The synchronous baseline: request/response services with call edges,
//! timeouts, retries and circuit breakers, compared with a queue in between.
//! One small scenario per claim, each with a control case:
//!
//! 1. an outage of the callee fails the caller's requests in a synchronous chain;
//! 2. with a queue between the two, the same outage fails no request: the queue
//!    grows during it and drains after it, and nothing is lost;
//! 3. a callee slower than the timeout times out every attempt, and retries
//!    multiply the calls: calls = requests × (retries + 1);
//! 4. a circuit breaker opens on a failing callee (fewer calls reach it),
//!    half-opens after the cooldown and closes once the callee recovers;
//! 5. a slow callee holds its caller's workers: the caller's waiting line
//!    fills and it refuses requests, although it is fast itself;
//! 6. the request ledger balances after every slice and the report is the
//!    same bytes for the same seed, on a busy scenario with every feature.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use common::node as detail;
use evlab::report::requests::{CallReport, RequestReport};
use evlab::report::{NodeDetail, Report};
use evlab::run::Run;

const SECOND: u64 = 1_000_000_000;

fn scenario(seed: u64, duration: &str, nodes: &str, edges: &str, faults: &str) -> String {
    common::scenario("services", seed, duration, nodes, edges, faults)
}

fn start(text: &str) -> Run {
    common::start(text, "services")
}

/// Runs to the end, checking both ledgers, and reports (with the series).
fn simulate(text: &str) -> Report {
    let mut run = start(text);
    run.run_to_end(|_| {}).unwrap();
    run.check_ledger().unwrap_or_else(|e| panic!("{e}"));
    let report = run.report(None, true);
    let r = requests(&report);
    assert_eq!(r.sent, r.succeeded + r.failed + r.in_flight_at_end);
    report
}

fn requests(report: &Report) -> &RequestReport {
    report.totals.requests.as_ref().expect("a requests block")
}

/// (received, succeeded, failed, refused, max_waiting) of a service.
fn service(report: &Report, id: &str) -> (u64, u64, u64, u64, u64) {
    match detail(report, id) {
        NodeDetail::Service {
            received,
            succeeded,
            failed,
            refused,
            max_waiting,
            ..
        } => (*received, *succeeded, *failed, *refused, *max_waiting),
        _ => panic!("{id} is not a service"),
    }
}

fn first_call<'a>(report: &'a Report, id: &str) -> &'a CallReport {
    match detail(report, id) {
        NodeDetail::Service { calls, .. } => calls.first().expect("a call edge"),
        _ => panic!("{id} is not a service"),
    }
}

/// A node's series column (`depth` or `busy`) as (time in s, value).
fn column(report: &Report, id: &str, depth: bool) -> Vec<(f64, u64)> {
    let series = report.series.as_ref().expect("series");
    let node = series
        .nodes
        .iter()
        .find(|n| n.id == id)
        .expect("node series");
    let values: Vec<u64> = if depth {
        node.depth.clone()
    } else {
        node.busy.iter().map(|&b| u64::from(b)).collect()
    };
    series.time_s.iter().copied().zip(values).collect()
}

const CLIENT: &str = r#"Producer(id: "client", arrival: Poisson(rate: "50/s"))"#;
const A: &str = r#"Service(id: "a", concurrency: 4, service: Constant(time: "1ms"))"#;
const B: &str = r#"Service(id: "b", concurrency: 4, service: Exponential(mean: "5ms"))"#;
/// B out of order from 2 s to 4 s of a 6 s run.
const OUTAGE: &str = r#"(at: "2s", target: "b", kind: Fail(probability: 1.0), duration: "2s")"#;

fn chain(call: &str, faults: &str) -> String {
    scenario(
        1,
        "6s",
        &format!("{CLIENT}, {A}, {B}"),
        &format!(
            r#"(from: "client", to: "a"), (from: "a", to: "b", latency: "1ms", call: {call})"#
        ),
        faults,
    )
}

#[test]
fn an_outage_of_the_callee_fails_the_callers_requests_in_a_synchronous_chain() {
    let call = r#"(timeout: "200ms")"#;
    let control = simulate(&chain(call, ""));
    let c = requests(&control);
    assert!(c.sent > 250, "{}", c.sent);
    assert_eq!(c.success_rate, 1.0);
    assert_eq!(c.failed, 0);
    // Two 1 ms hops of latency, 1 ms in a and about 5 ms in b.
    assert!(
        c.latency_ms.p50 > 3.0 && c.latency_ms.p50 < 15.0,
        "{:?}",
        c.latency_ms
    );

    let outage = simulate(&chain(call, OUTAGE));
    let r = requests(&outage);
    // A third of the run is an outage.
    assert!(r.success_rate < 0.8, "success rate {}", r.success_rate);
    assert!(r.success_rate > 0.5, "success rate {}", r.success_rate);
    assert!(r.failed > 50, "{}", r.failed);
    let (_, _, b_failed, _, _) = service(&outage, "b");
    let (_, _, a_failed, _, _) = service(&outage, "a");
    assert_eq!(a_failed, r.failed, "every failure of b fails a's request");
    assert!(b_failed >= a_failed);
    assert_eq!(first_call(&outage, "a").failures, b_failed);
}

#[test]
fn a_queue_between_the_services_absorbs_the_same_outage() {
    let text = scenario(
        1,
        "6s",
        &format!(
            r#"{CLIENT}, {A}, Queue(id: "q"),
            Consumer(id: "b", concurrency: 4, service: Exponential(mean: "5ms"))"#
        ),
        r#"(from: "client", to: "a"), (from: "a", to: "q"), (from: "q", to: "b")"#,
        r#"(at: "2s", target: "b", kind: Crash, duration: "2s")"#,
    );
    let report = simulate(&text);
    let r = requests(&report);
    assert_eq!(r.failed, 0);
    assert_eq!(r.success_rate, 1.0);
    assert!(r.sent > 250);
    // Each handled request published one message, counted as produced.
    let t = &report.totals;
    assert_eq!(t.produced, r.succeeded);
    assert_eq!(t.lost, 0);
    assert_eq!(t.processed + t.in_flight_at_end, t.produced);
    let depth = column(&report, "q", true);
    let at = |s: f64| {
        depth
            .iter()
            .find(|(t, _)| *t >= s)
            .map(|(_, d)| *d)
            .unwrap()
    };
    assert!(at(1.9) < 5, "{}", at(1.9));
    assert!(
        at(3.95) > 70,
        "the queue grows during the outage: {}",
        at(3.95)
    );
    assert!(at(5.5) < 5, "and drains after it: {}", at(5.5));
    assert!(t.in_flight_at_end < 5, "{}", t.in_flight_at_end);
}

#[test]
fn a_callee_slower_than_the_timeout_times_out_and_retries_multiply_the_calls() {
    let text = scenario(
        3,
        "3s",
        r#"Producer(id: "client", arrival: Schedule(steps: [(at: "0s", rate: "40/s"), (at: "1s", rate: "0/s")])),
           Service(id: "a", concurrency: 100, service: Constant(time: "1ms")),
           Service(id: "b", concurrency: 100, service: Constant(time: "50ms"))"#,
        r#"(from: "client", to: "a"),
           (from: "a", to: "b", call: (timeout: "20ms", retries: 2, backoff: "5ms"))"#,
        "",
    );
    let report = simulate(&text);
    let r = requests(&report);
    assert!(r.sent > 20, "{}", r.sent);
    assert_eq!(r.in_flight_at_end, 0);
    assert_eq!(r.failed, r.sent, "every request fails");
    // 1 ms of work, then three attempts of 20 ms with two backoffs of 5 ms.
    assert!(
        (r.failed_latency_ms.p50 - 71.0).abs() < 1.0,
        "{:?}",
        r.failed_latency_ms
    );
    let call = first_call(&report, "a");
    assert_eq!(call.calls, r.sent * 3, "calls = requests × (retries + 1)");
    assert_eq!(call.timeouts, call.calls);
    assert_eq!(call.successes + call.failures, 0);
    // The callee did every call and answered each too late: wasted work.
    let (received, succeeded, _, _, _) = service(&report, "b");
    assert_eq!(received, call.calls);
    assert_eq!(succeeded, call.calls);
    assert_eq!(call.late_answers, call.calls);

    // Control: a timeout above the callee's time, no retries needed.
    let control = simulate(&text.replace(r#"timeout: "20ms""#, r#"timeout: "80ms""#));
    let c = first_call(&control, "a");
    assert_eq!(c.timeouts, 0);
    assert_eq!(c.calls, requests(&control).sent);
    assert_eq!(requests(&control).success_rate, 1.0);
}

#[test]
fn a_circuit_breaker_opens_on_a_failing_callee_then_half_opens_and_closes() {
    let breaker = r#"(timeout: "100ms", circuit_breaker: (failure_rate: 0.5, window: 10, cooldown: "500ms", half_open_calls: 3))"#;
    let text = chain(breaker, OUTAGE);
    let report = simulate(&text);
    let call = first_call(&report, "a");
    let b = call.breaker.as_ref().expect("breaker report");
    assert!(
        call.rejected_by_breaker > 50,
        "{}",
        call.rejected_by_breaker
    );
    assert!(
        b.opened >= 2,
        "opens, and opens again on failed trials: {}",
        b.opened
    );
    assert!(b.half_opened >= 2, "{}", b.half_opened);
    assert_eq!(b.closed, 1, "closes once the callee recovers");
    assert_eq!(b.state_at_end, "closed");
    // Open most of the two-second outage, and not after it.
    assert!(b.open_ms > 1500.0 && b.open_ms < 2600.0, "{}", b.open_ms);
    // Trial calls after the outage succeed: the last second is all successes.
    assert!(requests(&report).success_rate > 0.6);

    // Without the breaker every call reaches the failing callee.
    let plain = simulate(&chain(r#"(timeout: "100ms")"#, OUTAGE));
    let (with_breaker, ..) = service(&report, "b");
    let (without, ..) = service(&plain, "b");
    assert_eq!(with_breaker, call.calls);
    assert!(
        with_breaker + 50 < without,
        "the breaker spares the callee: {with_breaker} calls vs {without}"
    );
    // The control without an outage never opens.
    let quiet = simulate(&chain(breaker, ""));
    let q = first_call(&quiet, "a");
    assert_eq!(q.breaker.as_ref().unwrap().opened, 0);
    assert_eq!(q.rejected_by_breaker, 0);
}

#[test]
fn a_slow_callee_holds_the_callers_workers_until_the_caller_refuses_requests() {
    let text = |faults: &str| {
        scenario(
            5,
            "5s",
            &format!(
                r#"{CLIENT},
                Service(id: "a", concurrency: 4, queue_limit: 10, service: Constant(time: "1ms")),
                Service(id: "b", concurrency: 64, service: Constant(time: "5ms"))"#
            ),
            r#"(from: "client", to: "a"), (from: "a", to: "b", call: (timeout: "2s"))"#,
            faults,
        )
    };
    let control = simulate(&text(""));
    let (_, _, _, refused, max_waiting) = service(&control, "a");
    assert_eq!(refused, 0);
    assert!(max_waiting < 10);
    assert_eq!(requests(&control).success_rate, 1.0);

    // b takes 100 times longer (500 ms) from 1 s to 3 s: a's four workers serve 8 requests a second.
    let slow = simulate(&text(
        r#"(at: "1s", target: "b", kind: Slow(factor: 100.0), duration: "2s")"#,
    ));
    let (_, _, _, a_refused, a_max_waiting) = service(&slow, "a");
    let (_, _, b_failed, b_refused, _) = service(&slow, "b");
    assert!(a_refused > 40, "{a_refused}");
    assert_eq!(a_max_waiting, 10, "a's waiting line fills");
    assert_eq!(b_refused + b_failed, 0, "b itself is only slow");
    let busy = column(&slow, "a", false);
    assert!(
        busy.iter()
            .filter(|(t, _)| *t > 1.5 && *t < 2.9)
            .all(|(_, b)| *b == 4),
        "a's workers are all held: {busy:?}"
    );
    match detail(&slow, "a") {
        NodeDetail::Service {
            mean_service_ms, ..
        } => assert!((mean_service_ms - 1.0).abs() < 1e-9, "a is fast itself"),
        _ => unreachable!(),
    }
    let r = requests(&slow);
    assert_eq!(r.failed, a_refused);
}

/// Every feature at once: two clients, a three-service chain with latency,
/// retries and a breaker, a fan-out to a queue and a topic, a waiting limit,
/// and faults of every kind on services.
fn busy_scenario(seed: u64) -> String {
    scenario(
        seed,
        "20s",
        r#"Producer(id: "web", arrival: Poisson(rate: "120/s"), keys: Uniform(count: 10)),
           Producer(id: "batch", arrival: OnOff(rate: "300/s", on: "1s", off: "2s")),
           Service(id: "gateway", concurrency: 16, queue_limit: 40, service: Exponential(mean: "2ms")),
           Service(id: "orders", concurrency: 8, queue_limit: 20, service: LogNormal(mean: "10ms", stddev: "8ms")),
           Service(id: "stock", concurrency: 4, service: Exponential(mean: "6ms")),
           Service(id: "audit", concurrency: 2, service: Constant(time: "2ms")),
           Queue(id: "events", max_length: 500),
           Topic(id: "log", partitions: 3),
           Consumer(id: "mailer", concurrency: 2, service: Exponential(mean: "5ms")),
           Consumer(id: "reader", service: Constant(time: "1ms"))"#,
        r#"(from: "web", to: "gateway"), (from: "batch", to: "orders"),
           (from: "gateway", to: "orders", latency: "2ms", call: (timeout: "80ms", retries: 2, backoff: "10ms")),
           (from: "orders", to: "stock", latency: "1ms", call: (timeout: "30ms", retries: 1,
               circuit_breaker: (failure_rate: 0.4, window: 20, cooldown: "300ms"))),
           (from: "gateway", to: "audit", call: (timeout: "20ms")),
           (from: "orders", to: "events"), (from: "stock", to: "log"),
           (from: "events", to: "mailer"), (from: "log", to: "reader")"#,
        r#"(at: "3s", target: "stock", kind: Fail(probability: 0.7), duration: "3s"),
           (at: "8s", target: "orders", kind: Crash, duration: "1s"),
           (at: "12s", target: "stock", kind: Slow(factor: 8.0), duration: "3s"),
           (at: "16s", target: "audit", kind: Crash)"#,
    )
}

#[test]
fn requests_and_messages_balance_after_every_slice_and_runs_are_deterministic() {
    for seed in [1, 2, 3] {
        let text = busy_scenario(seed);
        let mut run = start(&text);
        while !run.is_finished() {
            run.advance_to(run.now() + SECOND / 4).unwrap();
            run.check_ledger()
                .unwrap_or_else(|e| panic!("seed {seed} at {}: {e}", run.now()));
        }
        let first = run.report(None, true);
        let r = requests(&first);
        assert_eq!(r.sent, r.succeeded + r.failed + r.in_flight_at_end);
        assert!(
            r.failed > 0 && r.succeeded > r.failed,
            "{} {}",
            r.succeeded,
            r.failed
        );
        let b = first_call(&first, "orders").breaker.as_ref().unwrap();
        assert!(
            b.opened > 0,
            "seed {seed}: the breaker opens during the failures"
        );
        // The two clients' requests add up to the totals.
        let per_client: u64 = ["web", "batch"]
            .iter()
            .map(|id| match detail(&first, id) {
                NodeDetail::Producer {
                    requests: Some(r), ..
                } => r.sent,
                _ => panic!("{id} sends requests"),
            })
            .sum();
        assert_eq!(per_client, r.sent);
        let json = first.to_json();
        let again = simulate(&text).to_json();
        assert_eq!(
            json, again,
            "seed {seed}: same scenario and seed, same bytes"
        );
        assert_ne!(json, simulate(&busy_scenario(seed + 10)).to_json());
    }
}

#[test]
fn faults_can_be_injected_into_a_running_service() {
    let mut run = start(&chain(r#"(timeout: "100ms")"#, ""));
    run.advance_to(2 * SECOND).unwrap();
    let b = run.world().ids().iter().position(|id| id == "b").unwrap();
    run.inject(
        evlab::scenario::FaultTarget::Node(b),
        evlab::scenario::raw::FaultKind::Crash,
        Some(SECOND),
    )
    .unwrap();
    run.run_to_end(|_| {}).unwrap();
    run.check_ledger().unwrap();
    let report = run.report(None, false);
    let r = requests(&report);
    assert!(
        r.failed > 20 && r.success_rate > 0.7,
        "{} {}",
        r.failed,
        r.success_rate
    );
    let (received, _, _, refused, _) = service(&report, "b");
    assert!(refused > 20 && refused < received);
}

#[test]
fn the_checker_accepts_services_and_refuses_what_is_not_simulated() {
    let parse = |edges: &str, nodes: &str| {
        evlab::scenario::parse(&scenario(1, "1s", nodes, edges, ""), "t").map(|_| ())
    };
    let nodes = format!("{CLIENT}, {A}, {B}");
    assert!(
        parse(
            r#"(from: "client", to: "a"), (from: "a", to: "b", call: (timeout: "1s"))"#,
            &nodes
        )
        .is_ok()
    );
    // A call cycle.
    let err = parse(
        r#"(from: "client", to: "a"), (from: "a", to: "b", call: (timeout: "1s")), (from: "b", to: "a", call: (timeout: "1s"))"#,
        &nodes,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("circle"), "{err}");
    // Latency stays refused off calls.
    let err = parse(
        r#"(from: "client", to: "a", latency: "1ms"), (from: "a", to: "b", call: (timeout: "1s"))"#,
        &nodes,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("latency"), "{err}");
}
