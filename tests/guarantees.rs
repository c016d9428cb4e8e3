//! Delivery guarantees and failure handling, one small scenario per claim,
//! each with a fixed seed, asserting the effect and its absence in a control
//! case:
//!
//! 1. at-most-once loses on a crash and never duplicates; at-least-once (with
//!    an ack window) never loses and duplicates;
//! 2. an exact idempotency store absorbs every redelivery; a window that is
//!    too small lets late duplicates through, a large one does not;
//! 3. competing consumers reorder a key; one consumer per partition does not;
//! 4. retry with exponential backoff hits a failing dependency far less than
//!    immediate retry, and both recover after the outage;
//! 5. a poison message is attempted exactly `max_attempts` times, then lands
//!    in the dead-letter queue;
//! 6. with failure probability p and N retries the dead-letter rate is
//!    λ·p^(N+1) and the retries λ·(p + … + p^N), within binomial tolerance;
//! 7. a topic consumer slower than its producer builds lag, and retention then
//!    deletes unread records; a fast one keeps no lag and loses nothing;
//! 8. a Kafka group rebalances after a member's session times out: the
//!    survivor takes every partition and reprocesses what was uncommitted;
//!    committing after each record shrinks the duplicates;
//! 9. expired messages go to the dead-letter exchange instead of being lost;
//! 10. `max_deliveries` dead-letters a message delivered once too often.
//!
//! After every run the ledger is checked against the model, and the totals
//! must balance: `produced + fanned_out + duplicate_copies = processed +
//! dead_lettered + lost + in_flight_at_end`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use common::node;
use evlab::broker::view::ConsumerView;
use evlab::report::{NodeDetail, Report};
use evlab::run::Run;

const SECOND: u64 = 1_000_000_000;

fn scenario(seed: u64, duration: &str, nodes: &str, edges: &str, faults: &str) -> String {
    common::scenario("guarantees", seed, duration, nodes, edges, faults)
}

fn start(text: &str) -> Run {
    common::start(text, "guarantees")
}

/// Runs to the end, checks the ledger and the balance, and reports.
fn finish(mut run: Run) -> (Run, Report) {
    run.run_to_end(|_| {}).unwrap();
    let report = checked(&run);
    (run, report)
}

/// The report of a run so far, after checking the ledger and the balance.
fn checked(run: &Run) -> Report {
    run.check_ledger().unwrap_or_else(|e| panic!("{e}"));
    let report = run.report(None, false);
    common::assert_balanced(&report);
    report
}

fn simulate(text: &str) -> (Run, Report) {
    finish(start(text))
}

/// A queue's depth at the end (ready messages).
fn depth_at_end(report: &Report, id: &str) -> u64 {
    match node(report, id) {
        NodeDetail::Queue { depth_at_end, .. } => *depth_at_end,
        _ => panic!("{id} is not a queue"),
    }
}

/// The lag (log-end minus committed offsets) of a topic's only consumer group.
fn lag(report: &Report, topic: &str) -> u64 {
    match node(report, topic) {
        NodeDetail::Topic { groups, .. } => {
            assert_eq!(groups.len(), 1, "{topic} has {} groups", groups.len());
            groups[0].lag
        }
        _ => panic!("{topic} is not a topic"),
    }
}

/// Index of consumer `id` in the world.
fn consumer<'a>(run: &'a Run, id: &str) -> ConsumerView<'a> {
    run.world()
        .consumers()
        .find(|c| c.id() == id)
        .unwrap_or_else(|| panic!("no consumer {id}"))
}

/// Processing attempts by consumer `id` so far, and how many failed.
fn attempts(run: &Run, id: &str) -> (u64, u64) {
    let consumer = consumer(run, id);
    let metrics = consumer.metrics();
    (metrics.lifetime_attempts, metrics.failed)
}

/// `n` crashes of `target`, every `every_ms` from `first_ms`, each lasting `down_ms`
/// (the consumer restarts when it ends).
fn crashes(target: &str, n: u64, first_ms: u64, every_ms: u64, down_ms: u64) -> String {
    (0..n)
        .map(|i| {
            let at = first_ms + i * every_ms;
            format!(r#"(at: "{at}ms", target: "{target}", kind: Crash, duration: "{down_ms}ms")"#)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

// ----- 1. at-most-once and at-least-once ---------------------------------------------------

/// A producer at 100/s into a queue read by one consumer (80% busy) that
/// prefetches 20 and acknowledges as `ack` says (after processing: 50 ms
/// after finishing).
fn ack_scenario(ack: &str, idempotency: &str, faults: &str) -> String {
    scenario(
        11,
        "22s",
        &format!(
            r#"Producer(id: "p", arrival: Poisson(rate: "100/s")),
               Queue(id: "q"),
               Consumer(id: "c", prefetch: 20, service: Exponential(mean: "8ms"),
                        ack: {ack}, ack_delay: "50ms", idempotency: {idempotency})"#
        ),
        r#"(from: "p", to: "q"), (from: "q", to: "c")"#,
        faults,
    )
}

#[test]
fn at_most_once_loses_on_crash_and_at_least_once_duplicates() {
    // Ten crashes of 200 ms, one every 2 s; the consumer restarts after each.
    let faults = crashes("c", 10, 1000, 2000, 200);

    let (_, at_most) = simulate(&ack_scenario("BeforeProcessing", "None", &faults));
    let t = &at_most.totals;
    assert!(
        t.lost_by_reason.crash > 0,
        "at-most-once lost nothing: {:?}",
        t.lost_by_reason
    );
    assert_eq!(t.lost, t.lost_by_reason.crash, "{:?}", t.lost_by_reason);
    assert_eq!(t.duplicates, 0, "at-most-once duplicated");
    assert_eq!(t.redeliveries, 0);

    let (_, at_least) = simulate(&ack_scenario("AfterProcessing", "None", &faults));
    let t = &at_least.totals;
    assert_eq!(t.lost, 0, "at-least-once lost: {:?}", t.lost_by_reason);
    assert!(t.duplicates > 0, "at-least-once never duplicated");
    assert!(t.redeliveries >= t.duplicates);
    eprintln!(
        "at-most-once: lost.crash {} duplicates {}; at-least-once: lost {} duplicates {} redeliveries {}",
        at_most.totals.lost_by_reason.crash,
        at_most.totals.duplicates,
        t.lost,
        t.duplicates,
        t.redeliveries
    );

    // Control: without crashes neither mode loses or duplicates.
    for ack in ["BeforeProcessing", "AfterProcessing"] {
        let (_, r) = simulate(&ack_scenario(ack, "None", ""));
        let t = &r.totals;
        assert_eq!((t.lost, t.duplicates, t.redeliveries), (0, 0, 0), "{ack}");
        assert!(
            t.processed + 25 >= t.produced,
            "{ack}: {} of {}",
            t.processed,
            t.produced
        );
    }
}

// ----- 2. idempotent consumers --------------------------------------------------------------

#[test]
fn an_exact_idempotency_store_absorbs_redeliveries_and_a_small_window_does_not() {
    // The at-least-once run of claim 1: crashes redeliver up to 50 ms of processed messages.
    let faults = crashes("c", 10, 1000, 2000, 200);
    let (_, plain) = simulate(&ack_scenario("AfterProcessing", "None", &faults));
    let redelivered_twice = plain.totals.duplicates;
    assert!(redelivered_twice > 0);

    let (_, exact) = simulate(&ack_scenario("AfterProcessing", "Exact", &faults));
    let t = &exact.totals;
    assert_eq!(t.duplicates, 0, "an exact store let a duplicate through");
    assert!(t.deduplicated > 0);
    // Deduplication draws no random numbers: the run is the same one, so the
    // store skipped exactly what the plain consumer processed twice.
    assert_eq!(t.deduplicated, redelivered_twice);
    assert_eq!(t.lost, 0);

    // The redelivered messages come back in the order they were processed, so by
    // the time the first one returns, two or more others were processed after
    // it: a store of the last 2 ids has forgotten it.
    let (_, small) = simulate(&ack_scenario(
        "AfterProcessing",
        "Window(count: 2)",
        &faults,
    ));
    assert!(
        small.totals.duplicates > 0,
        "a 2-id window caught every duplicate"
    );
    // The same redeliveries, split between the two outcomes.
    assert_eq!(
        small.totals.duplicates + small.totals.deduplicated,
        redelivered_twice
    );
    let (_, large) = simulate(&ack_scenario(
        "AfterProcessing",
        "Window(count: 1000)",
        &faults,
    ));
    assert_eq!(
        large.totals.duplicates, 0,
        "a 1000-id window let a duplicate through"
    );
    assert_eq!(large.totals.deduplicated, redelivered_twice);
    eprintln!(
        "duplicates: none {redelivered_twice}, exact 0 (deduplicated {}), window 2: {} (deduplicated {}), window 1000: 0",
        exact.totals.deduplicated, small.totals.duplicates, small.totals.deduplicated
    );
}

// ----- 3. ordering -------------------------------------------------------------------------

/// Three keys at 200/s.
const KEYED: &str =
    r#"Producer(id: "p", arrival: Poisson(rate: "200/s"), keys: Uniform(count: 3))"#;

#[test]
fn parallel_consumers_reorder_keys_and_one_consumer_per_partition_does_not() {
    // Three competing consumers on one queue.
    let (_, competing) = simulate(&scenario(
        3,
        "20s",
        &format!(
            r#"{KEYED}, Queue(id: "q"),
               Consumer(id: "c1", service: Exponential(mean: "10ms")),
               Consumer(id: "c2", service: Exponential(mean: "10ms")),
               Consumer(id: "c3", service: Exponential(mean: "10ms"))"#
        ),
        r#"(from: "p", to: "q"), (from: "q", to: "c1"), (from: "q", to: "c2"), (from: "q", to: "c3")"#,
        "",
    ));
    // One consumer processing three at once.
    let (_, concurrent) = simulate(&scenario(
        3,
        "20s",
        &format!(
            r#"{KEYED}, Queue(id: "q"),
               Consumer(id: "c", concurrency: 3, service: Exponential(mean: "10ms"))"#
        ),
        r#"(from: "p", to: "q"), (from: "q", to: "c")"#,
        "",
    ));
    for (what, r) in [("competing", &competing), ("concurrency 3", &concurrent)] {
        let t = &r.totals;
        assert!(t.reordered > 0, "{what}: no reordering");
        assert_eq!(
            t.reordered, t.reordered_by_cause.concurrency,
            "{what}: {:?}",
            t.reordered_by_cause
        );
        assert_eq!(t.lost, 0);
        eprintln!(
            "{what}: reordered {} of {} processed",
            t.reordered, t.processed
        );
    }

    // Controls: a keyed topic with one consumer per partition, and a single
    // consumer with concurrency 1 on the queue.
    let (_, partitioned) = simulate(&scenario(
        3,
        "20s",
        &format!(
            r#"{KEYED}, Topic(id: "t", partitions: 3),
               Consumer(id: "c1", group: "g", service: Exponential(mean: "10ms")),
               Consumer(id: "c2", group: "g", service: Exponential(mean: "10ms")),
               Consumer(id: "c3", group: "g", service: Exponential(mean: "10ms"))"#
        ),
        r#"(from: "p", to: "t"), (from: "t", to: "c1"), (from: "t", to: "c2"), (from: "t", to: "c3")"#,
        "",
    ));
    let (_, single) = simulate(&scenario(
        3,
        "20s",
        &format!(
            r#"{KEYED}, Queue(id: "q"), Consumer(id: "c", service: Exponential(mean: "4ms"))"#
        ),
        r#"(from: "p", to: "q"), (from: "q", to: "c")"#,
        "",
    ));
    for (what, r) in [("partitioned", &partitioned), ("single consumer", &single)] {
        let t = &r.totals;
        assert_eq!(t.reordered, 0, "{what}: {:?}", t.reordered_by_cause);
        assert!(t.processed > 3500, "{what}: only {} processed", t.processed);
    }
}

// ----- 4. retry backoff against a failing dependency ----------------------------------------

/// 10/s for 6 s into a queue; the consumer's dependency is down from 2 s to 5 s.
fn outage_scenario(backoff: &str) -> String {
    scenario(
        4,
        "8s",
        &format!(
            r#"Producer(id: "p", arrival: OnOff(rate: "10/s", on: "6s", off: "1h")),
               Queue(id: "q"),
               Consumer(id: "c", service: Constant(time: "2ms"),
                        retry: (backoff: {backoff}, max_attempts: 100000))"#
        ),
        r#"(from: "p", to: "q"), (from: "q", to: "c")"#,
        r#"(at: "2s", target: "c", kind: Fail(probability: 1.0), duration: "3s")"#,
    )
}

#[test]
fn backoff_sends_far_fewer_attempts_to_a_failing_dependency_than_immediate_retry() {
    let mut outage_attempts = Vec::new();
    for backoff in [
        "Immediate",
        r#"Exponential(base: "50ms", cap: "1s", jitter: Full)"#,
    ] {
        let mut run = start(&outage_scenario(backoff));
        run.advance_to(2 * SECOND).unwrap();
        let (before, failed_before) = attempts(&run, "c");
        assert_eq!(failed_before, 0);
        run.advance_to(5 * SECOND).unwrap();
        let (during, _) = attempts(&run, "c");
        let (run, r) = finish(run);
        let (total, failed) = attempts(&run, "c");
        let t = &r.totals;
        // Both recover: everything is processed after the outage, nothing dead-lettered or lost.
        assert_eq!(t.processed, t.produced, "{backoff}");
        assert_eq!(
            (t.dead_lettered, t.lost, t.in_flight_at_end),
            (0, 0, 0),
            "{backoff}"
        );
        assert_eq!(total, t.processed + failed, "{backoff}");
        assert_eq!(t.retries, failed, "{backoff}");
        eprintln!(
            "{backoff}: attempts during the outage {}, failed {failed}, in all {total} for {} messages",
            during - before,
            t.produced
        );
        outage_attempts.push(during - before);
    }
    let (immediate, backoff) = (outage_attempts[0], outage_attempts[1]);
    // Immediate retry hammers the dependency as fast as the consumer can go (3 s / 2 ms).
    assert!(immediate > 1000, "{immediate}");
    assert!(
        backoff * 3 < immediate,
        "backoff {backoff} vs immediate {immediate}"
    );
}

// ----- 5. poison messages -------------------------------------------------------------------

#[test]
fn a_poison_message_is_dead_lettered_after_exactly_max_attempts() {
    const MAX_ATTEMPTS: u64 = 4;
    for backoff in ["Immediate", r#"Fixed(delay: "20ms")"#] {
        let (run, r) = simulate(&scenario(
            5,
            "8s",
            &format!(
                r#"Producer(id: "p", arrival: OnOff(rate: "200/s", on: "5s", off: "1h")),
                   Queue(id: "q"),
                   Consumer(id: "c", service: Constant(time: "1ms"), poison_fraction: 0.1,
                            retry: (backoff: {backoff}, max_attempts: {MAX_ATTEMPTS})),
                   Queue(id: "dlq")"#
            ),
            r#"(from: "p", to: "q"), (from: "q", to: "c"), (from: "c", to: "dlq", kind: DeadLetter)"#,
            "",
        ));
        let t = &r.totals;
        let (attempts, failed) = attempts(&run, "c");
        // Only poison messages fail, and they always do: every message not processed is poison.
        assert_eq!(t.in_flight_at_end, 0, "{backoff}");
        assert_eq!(t.lost, 0, "{backoff}");
        let poison = t.produced - t.processed;
        assert_eq!(t.dead_lettered, poison, "{backoff}");
        assert_eq!(failed, MAX_ATTEMPTS * t.dead_lettered, "{backoff}");
        assert_eq!(t.retries, (MAX_ATTEMPTS - 1) * t.dead_lettered, "{backoff}");
        assert_eq!(attempts, t.processed + failed, "{backoff}");
        // The dead-letter queue holds them all.
        assert_eq!(depth_at_end(&r, "dlq"), t.dead_lettered, "{backoff}");
        // About a tenth of the messages are poison (binomial, 4.5 sigma).
        let n = t.produced as f64;
        let sigma = (n * 0.1 * 0.9).sqrt();
        assert!(
            (t.dead_lettered as f64 - 0.1 * n).abs() < 4.5 * sigma,
            "{backoff}: {} poison of {}",
            t.dead_lettered,
            t.produced
        );
        eprintln!(
            "{backoff}: produced {}, dead-lettered {}, failed attempts {failed} (= {MAX_ATTEMPTS} x), retries {}",
            t.produced, t.dead_lettered, t.retries
        );
    }
}

// ----- 6. dead-letter rate under transient failures -----------------------------------------

#[test]
fn the_dead_letter_rate_is_lambda_p_to_the_n_plus_one() {
    const RATE: f64 = 200.0;
    const ON_SECONDS: f64 = 20.0;
    for (p, retries, backoff) in [
        (0.5f64, 2u32, "Immediate"),
        (0.3, 1, r#"Fixed(delay: "10ms")"#),
        (0.6, 3, "Immediate"),
    ] {
        let (_, r) = simulate(&scenario(
            6,
            "22s",
            &format!(
                r#"Producer(id: "p", arrival: OnOff(rate: "{RATE}/s", on: "{ON_SECONDS}s", off: "1h")),
                   Queue(id: "q"),
                   Consumer(id: "c", service: Constant(time: "500us"), failure_probability: {p},
                            retry: (backoff: {backoff}, max_attempts: {})),
                   Queue(id: "dlq")"#,
                retries + 1
            ),
            r#"(from: "p", to: "q"), (from: "q", to: "c"), (from: "c", to: "dlq", kind: DeadLetter)"#,
            "",
        ));
        let t = &r.totals;
        assert_eq!((t.in_flight_at_end, t.lost), (0, 0), "p {p}");
        assert_eq!(t.processed + t.dead_lettered, t.produced, "p {p}");
        let n = t.produced as f64;
        // Each message is dead-lettered when all N + 1 attempts fail.
        let q = p.powi(retries as i32 + 1);
        let sigma = (n * q * (1.0 - q)).sqrt();
        let dead = t.dead_lettered as f64;
        assert!(
            (dead - n * q).abs() < 4.5 * sigma,
            "p {p}, N {retries}: dead-lettered {dead}, expected {:.1} ± {:.1}",
            n * q,
            4.5 * sigma
        );
        // Retries per message: min(failures before the first success, N), with
        // P(at least k) = p^k: mean Σ p^k, second moment Σ (2k - 1) p^k.
        let mean: f64 = (1..=retries).map(|k| p.powi(k as i32)).sum();
        let second: f64 = (1..=retries)
            .map(|k| f64::from(2 * k - 1) * p.powi(k as i32))
            .sum();
        let sigma_r = (n * (second - mean * mean)).sqrt();
        assert!(
            (t.retries as f64 - n * mean).abs() < 4.5 * sigma_r,
            "p {p}, N {retries}: retries {}, expected {:.1} ± {:.1}",
            t.retries,
            n * mean,
            4.5 * sigma_r
        );
        assert_eq!(depth_at_end(&r, "dlq"), t.dead_lettered);
        eprintln!(
            "p {p}, N {retries}: dead-letter rate {:.2}/s (λ p^(N+1) = {:.2}/s), dead-lettered {} of {} \
             (expected {:.1} ± {:.1}); retries {} (expected {:.1} ± {:.1})",
            dead / ON_SECONDS,
            RATE * q,
            t.dead_lettered,
            t.produced,
            n * q,
            4.5 * sigma,
            t.retries,
            n * mean,
            4.5 * sigma_r
        );
    }
}

// ----- 7. lag and retention -----------------------------------------------------------------

/// 100/s into a one-partition topic keeping 5 s of records (segments of 100 ms, checked
/// every 100 ms), read by a consumer taking `service` per record and committing after each.
fn retention_scenario(service: &str) -> String {
    scenario(
        7,
        "30s",
        &format!(
            r#"Producer(id: "p", arrival: Constant(rate: "100/s")),
               Topic(id: "t", retention: "5s", segment_roll: "100ms", retention_check: "100ms"),
               Consumer(id: "c", service: Constant(time: "{service}"), commit: AfterEach,
                        auto_offset_reset: Earliest)"#
        ),
        r#"(from: "p", to: "t"), (from: "t", to: "c")"#,
        "",
    )
}

#[test]
fn a_slow_consumer_builds_lag_and_retention_then_loses_records() {
    // Slow: 50/s against 100/s.
    let mut run = start(&retention_scenario("20ms"));
    run.advance_to(4 * SECOND).unwrap();
    let early = lag(&checked(&run), "t");
    let (_, slow) = finish(run);
    let late = lag(&slow, "t");
    let t = &slow.totals;
    // Lag grows at 50/s until retention caps it near 5 s of records (500).
    assert!((150..=250).contains(&early), "lag at 4 s: {early}");
    assert!(late > 350 && late > early, "lag at the end: {late}");
    assert!(t.lost_by_reason.retention > 500, "{:?}", t.lost_by_reason);
    assert_eq!(t.lost, t.lost_by_reason.retention);
    eprintln!(
        "slow: lag {early} at 4 s, {late} at the end; lost to retention {} of {}",
        t.lost_by_reason.retention, t.produced
    );

    // Fast: 500/s against 100/s.
    let (_, fast) = simulate(&retention_scenario("2ms"));
    let t = &fast.totals;
    assert!(lag(&fast, "t") <= 1, "fast lag {}", lag(&fast, "t"));
    assert_eq!(t.lost, 0, "{:?}", t.lost_by_reason);
    assert!(t.processed + 1 >= t.produced);
}

// ----- 8. Kafka consumer-group rebalance ----------------------------------------------------

/// Two members of group `g` on a 4-partition topic at 100/s; `b` crashes at 9 s for good.
fn rebalance_scenario(commit: &str) -> String {
    scenario(
        8,
        "20s",
        &format!(
            r#"Producer(id: "p", arrival: Poisson(rate: "100/s")),
               Topic(id: "t", partitions: 4),
               Consumer(id: "a", group: "g", service: Constant(time: "2ms"), commit: {commit},
                        session_timeout: "2s", rebalance_time: "1s"),
               Consumer(id: "b", group: "g", service: Constant(time: "2ms"), commit: {commit},
                        session_timeout: "2s", rebalance_time: "1s")"#
        ),
        r#"(from: "p", to: "t"), (from: "t", to: "a"), (from: "t", to: "b")"#,
        r#"(at: "9s", target: "b", kind: Crash)"#,
    )
}

/// Partitions per member of the topic's only group.
fn assignment(run: &Run) -> Vec<Vec<u32>> {
    let group = common::first_group(run);
    group.assigned().to_vec()
}

#[test]
fn a_rebalance_hands_the_partitions_over_and_reprocesses_what_was_uncommitted() {
    let mut run = start(&rebalance_scenario(r#"Interval(every: "5s")"#));
    run.advance_to(9 * SECOND - 1).unwrap();
    assert_eq!(assignment(&run), [vec![0, 1], vec![2, 3]]);
    // Records of b's partitions processed since its last commit (at 5 s).
    let uncommitted: u64 = {
        let group = common::first_group(&run);
        let cursors: Vec<_> = group.cursors(run.now()).collect();
        [2, 3].iter().map(|&p| cursors[p].done_uncommitted).sum()
    };
    assert!(uncommitted > 100, "{uncommitted}");
    // The session times out at 11 s; the group is paused until 12 s.
    run.advance_to(12 * SECOND - SECOND / 10).unwrap();
    assert_eq!(
        assignment(&run),
        [vec![0, 1], vec![2, 3]],
        "reassigned before the rebalance ended"
    );
    run.advance_to(12 * SECOND + SECOND / 10).unwrap();
    assert_eq!(
        assignment(&run),
        [vec![0, 1, 2, 3], vec![]],
        "the survivor does not own everything"
    );
    let (run, interval) = finish(run);
    let group = common::first_group(&run);
    assert_eq!(group.rebalances(), 1);
    let t = &interval.totals;
    assert_eq!(t.lost, 0, "{:?}", t.lost_by_reason);
    // What b had processed but not committed is processed again. One more may
    // come from the survivor (see the ignored test below): the record `a` had
    // in hand when the rebalance began.
    assert!(
        (uncommitted..=uncommitted + 1).contains(&t.duplicates),
        "duplicates {} vs uncommitted {uncommitted}",
        t.duplicates
    );
    assert!(t.redeliveries >= t.duplicates);
    assert!(
        t.processed + 5 >= t.produced,
        "{} of {}",
        t.processed,
        t.produced
    );
    eprintln!(
        "interval commit: uncommitted at the crash {uncommitted}, duplicates {}, redeliveries {}, reordered {:?}",
        t.duplicates, t.redeliveries, t.reordered_by_cause
    );

    // Committing after each record leaves almost nothing to reprocess.
    let mut run = start(&rebalance_scenario("AfterEach"));
    run.advance_to(12 * SECOND + SECOND / 10).unwrap();
    assert_eq!(assignment(&run), [vec![0, 1, 2, 3], vec![]]);
    let (_, after_each) = finish(run);
    let t = &after_each.totals;
    assert_eq!(t.lost, 0);
    assert!(t.duplicates <= 1, "after-each duplicates {}", t.duplicates);
    assert!(t.duplicates * 50 < interval.totals.duplicates);
    eprintln!(
        "commit after each: duplicates {}, redeliveries {}",
        t.duplicates, t.redeliveries
    );
}

#[test]
fn a_survivor_does_not_reprocess_its_own_records_after_a_rebalance() {
    // The scenario above: `b` crashes at 9 s; at 11 s its session times out and
    // the group pauses, committing what the live member `a` processed. `a` holds
    // a record at that instant; it finishes during the pause, after the commit,
    // and the rebalance then rewinds a's own partitions to the committed offset.
    // In Kafka the poll loop finishes that record before the revocation commit,
    // and a member keeps its partitions, so it processes none of them again.
    let mut run = start(&rebalance_scenario(r#"Interval(every: "5s")"#));
    run.advance_to(9 * SECOND - 1).unwrap();
    let uncommitted_of = |run: &Run, partitions: [usize; 2]| -> u64 {
        let group = common::first_group(run);
        let cursors: Vec<_> = group.cursors(run.now()).collect();
        partitions
            .iter()
            .map(|&p| cursors[p].done_uncommitted)
            .sum()
    };
    let b_uncommitted = uncommitted_of(&run, [2, 3]);
    run.advance_to(11 * SECOND).unwrap();
    let a = consumer(&run, "a");
    assert!(
        a.paused() && a.in_hand() == 1,
        "a holds no record as the rebalance begins"
    );
    // Regression: the record finished during the pause was left uncommitted and processed again.
    // It is committed when the rebalance completes (before partitions restart from their offsets).
    run.advance_to(12 * SECOND + 1).unwrap();
    let a_uncommitted = uncommitted_of(&run, [0, 1]);
    let (_, r) = finish(run);
    // Kafka: a's record is committed and only b's uncommitted records are processed again.
    assert_eq!(
        (a_uncommitted, r.totals.duplicates),
        (0, b_uncommitted),
        "(a's records processed but not committed as the rebalance ends, duplicates)"
    );
}

// ----- 9. TTL to a dead-letter exchange -----------------------------------------------------

#[test]
fn expired_messages_go_to_the_dead_letter_exchange_instead_of_being_lost() {
    // 10/s arrive, 1/s is served, TTL 2 s: most expire while waiting.
    let nodes = r#"Producer(id: "p", arrival: Constant(rate: "10/s")),
                   Queue(id: "q", ttl: "2s"),
                   Consumer(id: "c", service: Constant(time: "1s")),
                   Queue(id: "dlq")"#;
    let (_, with) = simulate(&scenario(
        9,
        "30s",
        nodes,
        r#"(from: "p", to: "q"), (from: "q", to: "c"), (from: "q", to: "dlq", kind: DeadLetter)"#,
        "",
    ));
    let t = &with.totals;
    assert!(t.dead_lettered > 200, "{}", t.dead_lettered);
    assert_eq!(t.lost_by_reason.ttl, 0);
    assert_eq!(t.lost, 0);
    assert_eq!(depth_at_end(&with, "dlq"), t.dead_lettered);

    let (_, without) = simulate(&scenario(
        9,
        "30s",
        nodes,
        r#"(from: "p", to: "q"), (from: "q", to: "c")"#,
        "",
    ));
    let t = &without.totals;
    assert_eq!(t.dead_lettered, 0);
    assert_eq!(depth_at_end(&without, "dlq"), 0);
    // The same run: what expired is now lost instead.
    assert_eq!(t.lost_by_reason.ttl, with.totals.dead_lettered);
    assert_eq!(t.processed, with.totals.processed);
    eprintln!(
        "ttl: dead-lettered {} with the edge, lost.ttl {} without",
        with.totals.dead_lettered, t.lost_by_reason.ttl
    );
}

// ----- 10. delivery limits ------------------------------------------------------------------

#[test]
fn max_deliveries_dead_letters_a_message_delivered_once_too_often() {
    // Crashes: a message takes 300 ms; the consumer crashes at 1 s, 1.35 s and 1.7 s
    // for 100 ms each, so the message in hand at 1 s is delivered at 1.1 s, crashes
    // again at 1.35 s and would be delivered a third time at 1.45 s.
    let crash_scenario = |limit: &str| {
        scenario(
            10,
            "10s",
            &format!(
                r#"Producer(id: "p", arrival: OnOff(rate: "2/s", on: "3s", off: "1h")),
                   Queue(id: "q"{limit}),
                   Consumer(id: "c", service: Constant(time: "300ms")),
                   Queue(id: "dlq")"#
            ),
            r#"(from: "p", to: "q"), (from: "q", to: "c"), (from: "q", to: "dlq", kind: DeadLetter)"#,
            &crashes("c", 3, 1000, 350, 100),
        )
    };
    let (_, limited) = simulate(&crash_scenario(", max_deliveries: 2"));
    let t = &limited.totals;
    assert_eq!(t.dead_lettered, 1, "with the limit");
    assert_eq!(depth_at_end(&limited, "dlq"), 1);
    assert_eq!(t.processed + 1, t.produced);
    assert_eq!((t.lost, t.in_flight_at_end), (0, 0));
    let (_, unlimited) = simulate(&crash_scenario(""));
    let t = &unlimited.totals;
    assert_eq!(t.dead_lettered, 0, "without the limit");
    assert_eq!(t.processed, t.produced);
    assert!(t.redeliveries >= 3);

    // Immediate retries: poison messages go back to the head of the queue; the
    // queue dead-letters them on their third delivery, before the consumer's
    // own limit of 5 attempts.
    let retry_scenario = |limit: &str| {
        scenario(
            10,
            "8s",
            &format!(
                r#"Producer(id: "p", arrival: OnOff(rate: "100/s", on: "5s", off: "1h")),
                   Queue(id: "q"{limit}),
                   Consumer(id: "c", service: Constant(time: "1ms"), poison_fraction: 0.2,
                            retry: (backoff: Immediate, max_attempts: 5)),
                   Queue(id: "dlq")"#
            ),
            r#"(from: "p", to: "q"), (from: "q", to: "c"), (from: "q", to: "dlq", kind: DeadLetter)"#,
            "",
        )
    };
    for (limit, attempts_each) in [(", max_deliveries: 2", 2u64), ("", 5)] {
        let (run, r) = simulate(&retry_scenario(limit));
        let t = &r.totals;
        let (_, failed) = attempts(&run, "c");
        assert_eq!((t.lost, t.in_flight_at_end), (0, 0), "{limit:?}");
        assert!(t.dead_lettered > 50, "{limit:?}: {}", t.dead_lettered);
        assert_eq!(t.dead_lettered, t.produced - t.processed, "{limit:?}");
        assert_eq!(failed, attempts_each * t.dead_lettered, "{limit:?}");
        assert_eq!(depth_at_end(&r, "dlq"), t.dead_lettered, "{limit:?}");
        eprintln!(
            "retries{limit}: dead-lettered {} of {}, failed attempts {failed} (= {attempts_each} x)",
            t.dead_lettered, t.produced
        );
    }
}

#[test]
fn a_transactional_consume_process_produce_commit_is_exactly_once_within_the_broker() {
    // A stage reads `in`, publishes each record to `out`, and crashes twice between its commits
    // (every 2 s); a sink reads `out`.
    // With Kafka's transactions the output and the offsets commit together, so a crash aborts
    // both: the sink sees every message exactly once. With plain auto-commit it sees duplicates.
    let sink_duplicates = |commit: &str| {
        let text = format!(
            r#"(version: 1, name: "eos", seed: 5, duration: "30s",
            nodes: [
                Producer(id: "p", arrival: Poisson(rate: "200/s"), keys: Uniform(count: 20)),
                Topic(id: "in", partitions: 2),
                Consumer(id: "stage", service: Exponential(mean: "1ms"), commit: {commit},
                    session_timeout: "500ms", rebalance_time: "200ms"),
                Topic(id: "out", partitions: 2),
                Consumer(id: "sink", service: Exponential(mean: "1ms"), commit: AfterEach),
            ],
            edges: [(from: "p", to: "in"), (from: "in", to: "stage"), (from: "stage", to: "out"), (from: "out", to: "sink")],
            faults: [(at: "8900ms", target: "stage", kind: Crash, duration: "1s"), (at: "20700ms", target: "stage", kind: Crash, duration: "1s")])"#
        );
        let (_, scenario) = evlab::scenario::parse(&text, "eos").unwrap();
        let mut run = Run::new(&scenario).unwrap();
        for step in 1..=30 {
            run.advance_to(step * 1_000_000_000).unwrap();
            run.check_ledger().unwrap();
        }
        let report = run.report(None, false);
        let t = &report.totals;
        assert_eq!(t.lost, 0);
        assert_eq!(
            t.produced + t.fanned_out + t.duplicate_copies,
            t.processed + t.dead_lettered + t.lost + t.in_flight_at_end
        );
        let sink = report
            .nodes
            .iter()
            .find(|n| n.id == "out")
            .map(|n| serde_json::to_value(n).unwrap())
            .unwrap();
        sink["groups"][0]["duplicates"].as_u64().unwrap()
    };
    let plain = sink_duplicates(r#"Interval(every: "2s")"#);
    assert!(plain > 20, "auto-commit: {plain} duplicates reach the sink");
    let transactional = sink_duplicates(r#"Transactional(every: "2s")"#);
    assert_eq!(transactional, 0, "transactions: duplicates reach the sink");
}
