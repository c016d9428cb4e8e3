//! Broker semantics in normal operation, one small scenario per claim:
//! overflow policies, TTL, priorities, exchange routing, partitioning,
//! consumer-group assignment, choreography. Each asserts the effect and,
//! where it makes sense, its absence in a control case.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use common::node;
use evlab::broker::index::{ConsumerId, QueueId, ServiceId};
use evlab::report::{NodeDetail, Report};
use evlab::run::Run;

/// Parses `nodes` and `edges` (RON fragments) into a scenario and runs it.
fn run(duration: &str, nodes: &str, edges: &str) -> Report {
    common::run_checked(
        &common::scenario("t", 1, duration, nodes, edges, ""),
        "test",
    )
}

fn processed(report: &Report, id: &str) -> u64 {
    match node(report, id) {
        NodeDetail::Consumer { processed, .. } => *processed,
        _ => panic!("{id} is not a consumer"),
    }
}

fn queue(report: &Report, id: &str) -> (u64, u64, u64, u64) {
    match node(report, id) {
        NodeDetail::Queue {
            enqueued,
            delivered,
            dropped,
            ..
        } => (*enqueued, *delivered, dropped.overflow, dropped.ttl),
        _ => panic!("{id} is not a queue"),
    }
}

/// Ten messages a second, evenly spaced: message n arrives at phase + n * 100 ms, phase < 100 ms.
const TEN_PER_SEC: &str = r#"Producer(id: "p", arrival: Constant(rate: "10/s"))"#;

#[test]
fn rejected_publishes_are_not_counted_as_enqueued() {
    // Regression: `enqueued` used to count publishes that reject-publish refused.
    let r = run(
        "1s",
        &format!(
            r#"{TEN_PER_SEC}, Queue(id: "q", max_length: 3, overflow: RejectPublish),
        Consumer(id: "c", service: Constant(time: "10s"))"#
        ),
        r#"(from: "p", to: "q"), (from: "q", to: "c")"#,
    );
    let (enqueued, delivered, overflow, _) = queue(&r, "q");
    assert_eq!(r.totals.produced, 10);
    // One goes straight to the consumer, three wait, six are refused.
    assert_eq!((enqueued, delivered, overflow), (4, 1, 6));
    assert_eq!(r.totals.dropped.overflow, 6);
}

#[test]
fn drop_head_keeps_the_newest_and_reject_publish_the_oldest() {
    for (policy, survivors) in [("DropHead", [7u64, 8, 9]), ("RejectPublish", [1, 2, 3])] {
        let text = format!(
            r#"(version: 1, name: "t", seed: 1, duration: "40s", nodes: [{TEN_PER_SEC}, Queue(id: "q", max_length: 3, overflow: {policy}),
            Consumer(id: "c", service: Constant(time: "10s"))], edges: [(from: "p", to: "q"), (from: "q", to: "c")])"#
        );
        let (_, scenario) = evlab::scenario::parse(&text, "t").unwrap();
        let mut run = Run::new(&scenario).unwrap();
        // Ten messages by 1 s: message 0 is in the consumer's hands; look at what waits behind it.
        run.advance_to(1_000_000_000).unwrap();
        let world = run.world();
        let waiting: Vec<u64> = world
            .queue(QueueId::from(0))
            .unwrap()
            .ready_ids(0)
            .collect();
        assert_eq!(waiting, survivors, "{policy}");
        assert_eq!(world.ledger().lost.overflow, 6, "{policy}");
        run.run_to_end(|_| {}).unwrap();
        run.check_ledger().unwrap();
    }
}

#[test]
fn ttl_expires_waiting_messages_but_not_delivered_ones() {
    // 10/s arrive, 1/s can be served, TTL 2.5 s: most expire while waiting, none is delivered late.
    let nodes = |ttl: &str| {
        format!(
            r#"{TEN_PER_SEC}, Queue(id: "q"{ttl}), Consumer(id: "c", service: Constant(time: "1s"))"#
        )
    };
    let r = run(
        "30s",
        &nodes(r#", ttl: "2500ms""#),
        r#"(from: "p", to: "q"), (from: "q", to: "c")"#,
    );
    assert!(
        (29..=31).contains(&processed(&r, "c")),
        "{}",
        processed(&r, "c")
    );
    assert!(r.totals.dropped.ttl > 240, "{:?}", r.totals.dropped);
    let NodeDetail::Queue {
        wait_ms,
        mean_depth,
        ..
    } = node(&r, "q")
    else {
        panic!()
    };
    assert!(
        wait_ms.max <= 2500.0,
        "delivered after its TTL: {}",
        wait_ms.max
    );
    assert!(
        *mean_depth < 26.0,
        "expired messages leave the queue: {mean_depth}"
    );
    let control = run(
        "30s",
        &nodes(""),
        r#"(from: "p", to: "q"), (from: "q", to: "c")"#,
    );
    assert_eq!(control.totals.dropped.ttl, 0);
    let NodeDetail::Queue { wait_ms, .. } = node(&control, "q") else {
        panic!()
    };
    assert!(wait_ms.max > 20_000.0);
}

#[test]
fn higher_priority_is_delivered_first() {
    // Low priority at 10/s and high priority at 0.5/s into a consumer that manages 1/s:
    // high-priority messages overtake the growing low-priority backlog.
    let nodes = r#"
        Producer(id: "low", arrival: Constant(rate: "10/s"), priority: 1),
        Producer(id: "high", arrival: Constant(rate: "0.5/s"), priority: 5),
        Queue(id: "q", max_priority: 9),
        Consumer(id: "c", service: Constant(time: "1s"))"#;
    let edges = r#"(from: "low", to: "q"), (from: "high", to: "q"), (from: "q", to: "c")"#;
    let (_, scenario) = evlab::scenario::parse(
        &format!(
            "(version: 1, name: \"t\", duration: \"40s\", nodes: [{nodes}], edges: [{edges}])"
        ),
        "t",
    )
    .unwrap();
    let mut run = Run::new(&scenario).unwrap();
    for second in 1..40u64 {
        run.advance_to(second * 1_000_000_000).unwrap();
        let high = run
            .world()
            .queue(QueueId::from(0))
            .unwrap()
            .ready_ids(5)
            .count();
        assert!(
            high <= 1,
            "at {second} s, {high} high-priority messages wait"
        );
    }
    assert!(
        run.world()
            .queue(QueueId::from(0))
            .unwrap()
            .ready_ids(1)
            .count()
            > 300
    );
    run.check_ledger().unwrap();
}

#[test]
fn exchanges_route_like_rabbitmq() {
    // (exchange type, binding key or headers, producer routing key, expected deliveries of 100)
    let cases: &[(&str, &str, &str, u64)] = &[
        (
            "Direct",
            r#"key: "orders""#,
            r#"routing_key: "orders""#,
            100,
        ),
        (
            "Direct",
            r#"key: "orders""#,
            r#"routing_key: "orders.eu""#,
            0,
        ),
        (
            "Topic",
            r#"key: "orders.*""#,
            r#"routing_key: "orders.eu""#,
            100,
        ),
        (
            "Topic",
            r#"key: "orders.*""#,
            r#"routing_key: "orders.eu.paid""#,
            0,
        ),
        (
            "Topic",
            r#"key: "orders.#""#,
            r#"routing_key: "orders""#,
            100,
        ),
        (
            "Topic",
            r##"key: "#""##,
            r#"routing_key: "anything.at.all""#,
            100,
        ),
        ("Fanout", "", r#"routing_key: "ignored""#, 100),
        (
            "Headers",
            r#"headers: {"format": "pdf", "type": "report"}, x_match: All"#,
            r#"headers: {"format": "pdf"}"#,
            0,
        ),
        (
            "Headers",
            r#"headers: {"format": "pdf", "type": "report"}, x_match: Any"#,
            r#"headers: {"format": "pdf"}"#,
            100,
        ),
        (
            "Headers",
            r#"headers: {"format": "pdf"}"#,
            r#"headers: {"format": "pdf", "extra": "1"}"#,
            100,
        ),
    ];
    for (kind, binding, publish, expected) in cases {
        let comma = if binding.is_empty() { "" } else { "," };
        let r = run(
            "10s",
            &format!(
                r#"Producer(id: "p", arrival: Constant(rate: "10/s"), {publish}), Exchange(id: "x", type: {kind}),
            Queue(id: "q"), Consumer(id: "c", service: Constant(time: "1ms"))"#
            ),
            &format!(
                r#"(from: "p", to: "x"), (from: "x", to: "q"{comma} {binding}), (from: "q", to: "c")"#
            ),
        );
        assert_eq!(r.totals.produced, 100, "{kind} {binding}");
        assert_eq!(
            processed(&r, "c"),
            *expected,
            "{kind} {binding} / {publish}"
        );
        assert_eq!(
            r.totals.dropped.unroutable,
            100 - expected,
            "unroutable is counted: {kind} {binding} / {publish}"
        );
    }
}

#[test]
fn one_copy_per_queue_however_many_bindings_match() {
    let r = run(
        "10s",
        r#"Producer(id: "p", arrival: Constant(rate: "10/s"), routing_key: "a.b"), Exchange(id: "x", type: Topic),
        Queue(id: "q"), Queue(id: "q2"), Consumer(id: "c", service: Constant(time: "1ms")), Consumer(id: "c2", service: Constant(time: "1ms"))"#,
        r##"(from: "p", to: "x"), (from: "x", to: "q", key: "a.*"), (from: "x", to: "q", key: "#"), (from: "x", to: "q2", key: "*.b"),
        (from: "q", to: "c"), (from: "q2", to: "c2")"##,
    );
    assert_eq!((processed(&r, "c"), processed(&r, "c2")), (100, 100));
    assert_eq!(r.totals.fanned_out, 100);
}

#[test]
fn competing_consumers_share_round_robin() {
    let r = run(
        "100s",
        r#"Producer(id: "p", arrival: Constant(rate: "10/s")), Queue(id: "q"),
        Consumer(id: "a", service: Constant(time: "200ms")), Consumer(id: "b", service: Constant(time: "200ms")),
        Consumer(id: "c", service: Constant(time: "200ms"))"#,
        r#"(from: "p", to: "q"), (from: "q", to: "a"), (from: "q", to: "b"), (from: "q", to: "c")"#,
    );
    let counts = [processed(&r, "a"), processed(&r, "b"), processed(&r, "c")];
    let total: u64 = counts.iter().sum();
    assert!(total >= 990, "{counts:?}");
    assert!(
        counts.iter().all(|&n| n.abs_diff(total / 3) <= 2),
        "round-robin shares evenly: {counts:?}"
    );
}

#[test]
fn prefetch_lets_a_consumer_hoard() {
    // Two equal consumers, one with prefetch 50: with a backlog it holds up to 50 unacknowledged.
    let (_, scenario) = evlab::scenario::parse(
        r#"(version: 1, name: "t", duration: "10s",
        nodes: [Producer(id: "p", arrival: Constant(rate: "1000/s")), Queue(id: "q"),
            Consumer(id: "greedy", prefetch: 50, service: Constant(time: "100ms")),
            Consumer(id: "modest", service: Constant(time: "100ms"))],
        edges: [(from: "p", to: "q"), (from: "q", to: "greedy"), (from: "q", to: "modest")])"#,
        "t",
    )
    .unwrap();
    let mut run = Run::new(&scenario).unwrap();
    run.advance_to(2_000_000_000).unwrap();
    let world = run.world();
    let consumer = |i: usize| world.consumer(ConsumerId::from(i)).unwrap();
    assert_eq!(consumer(0).unacked(), 50);
    assert_eq!(consumer(0).buffered(), 49);
    assert_eq!(consumer(1).unacked(), 1);
    assert_eq!(world.queue(QueueId::from(0)).unwrap().unacked(), 51);
    run.check_ledger().unwrap();
}

#[test]
fn keyed_records_stay_in_their_murmur2_partition() {
    // Every key hashes to one partition; with one consumer per partition, per-key order holds.
    let (_, scenario) = evlab::scenario::parse(r#"(version: 1, name: "t", duration: "20s",
        nodes: [Producer(id: "p", arrival: Poisson(rate: "500/s"), keys: Uniform(count: 50)),
            Topic(id: "t", partitions: 6),
            Consumer(id: "c1", group: "g", service: Exponential(mean: "1ms")),
            Consumer(id: "c2", group: "g", service: Exponential(mean: "1ms")),
            Consumer(id: "c3", group: "g", service: Exponential(mean: "1ms"))],
        edges: [(from: "p", to: "t"), (from: "t", to: "c1"), (from: "t", to: "c2"), (from: "t", to: "c3")])"#, "t").unwrap();
    let mut run = Run::new(&scenario).unwrap();
    run.run_to_end(|_| {}).unwrap();
    let topic = run.world().topics().next().unwrap();
    for (p, partition) in topic.partitions().enumerate() {
        for key in partition.keys() {
            let key = format!("key-{key}");
            assert_eq!(
                evlab::broker::murmur2::partition_for_key(key.as_bytes(), 6) as usize,
                p
            );
        }
    }
    // Range assignment: 6 partitions over 3 members, two each, in id order.
    let group = topic.groups().next().unwrap();
    assert_eq!(group.assigned(), [vec![0, 1], vec![2, 3], vec![4, 5]]);
    run.check_ledger().unwrap();
}

#[test]
fn range_assignor_gives_the_first_members_the_extra_partitions() {
    let cases: &[(u32, usize, &[&[u32]])] = &[
        (5, 2, &[&[0, 1, 2], &[3, 4]]),
        (3, 3, &[&[0], &[1], &[2]]),
        (2, 3, &[&[0], &[1], &[]]),
        (7, 3, &[&[0, 1, 2], &[3, 4], &[5, 6]]),
    ];
    for (partitions, members, expected) in cases {
        let group = evlab::broker::topic::GroupState::new(
            "g".into(),
            (0..*members).map(ConsumerId::from).collect(),
            *partitions,
        );
        let got: Vec<Vec<u32>> = group.assigned.clone();
        let want: Vec<Vec<u32>> = expected.iter().map(|s| s.to_vec()).collect();
        assert_eq!(got, want, "{partitions} partitions over {members}");
    }
}

#[test]
fn each_group_reads_every_record_once() {
    let r = run(
        "10s",
        r#"Producer(id: "p", arrival: Constant(rate: "100/s"), keys: Uniform(count: 10)), Topic(id: "t", partitions: 4),
        Consumer(id: "a1", group: "a", service: Constant(time: "1ms")), Consumer(id: "a2", group: "a", service: Constant(time: "1ms")),
        Consumer(id: "b1", group: "b", service: Constant(time: "1ms"))"#,
        r#"(from: "p", to: "t"), (from: "t", to: "a1"), (from: "t", to: "a2"), (from: "t", to: "b1")"#,
    );
    assert_eq!(r.totals.produced, 1000);
    assert_eq!(processed(&r, "a1") + processed(&r, "a2"), 1000);
    assert_eq!(processed(&r, "b1"), 1000);
    assert_eq!(r.totals.fanned_out, 1000);
}

#[test]
fn retention_deletes_what_a_slow_group_has_not_read() {
    // 100/s into a topic, a consumer that manages 10/s, retention 1 s: most records are lost to it.
    let r = run(
        "20s",
        r#"Producer(id: "p", arrival: Constant(rate: "100/s")), Topic(id: "t", retention: "1s", segment_roll: "100ms", retention_check: "100ms"),
        Consumer(id: "slow", service: Constant(time: "100ms"))"#,
        r#"(from: "p", to: "t"), (from: "t", to: "slow")"#,
    );
    assert!(r.totals.dropped.retention > 1500, "{:?}", r.totals.dropped);
    assert!(processed(&r, "slow") <= 200);
    let control = run(
        "20s",
        r#"Producer(id: "p", arrival: Constant(rate: "100/s")), Topic(id: "t", retention: "1h", segment_roll: "100ms", retention_check: "100ms"),
        Consumer(id: "slow", service: Constant(time: "100ms"))"#,
        r#"(from: "p", to: "t"), (from: "t", to: "slow")"#,
    );
    assert_eq!(control.totals.dropped.retention, 0);
}

#[test]
fn round_robin_partitioner_spreads_evenly() {
    let (_, scenario) = evlab::scenario::parse(r#"(version: 1, name: "t", duration: "10s",
        nodes: [Producer(id: "p", arrival: Constant(rate: "100/s"), keys: Uniform(count: 3)), Topic(id: "t", partitions: 4, partitioner: RoundRobin),
            Consumer(id: "c", service: Constant(time: "1ms"))],
        edges: [(from: "p", to: "t"), (from: "t", to: "c")])"#, "t").unwrap();
    let mut run = Run::new(&scenario).unwrap();
    run.run_to_end(|_| {}).unwrap();
    let ends: Vec<u64> = run
        .world()
        .topics()
        .next()
        .unwrap()
        .partitions()
        .map(|p| p.end_offset())
        .collect();
    assert_eq!(ends, vec![250, 250, 250, 250]);
}

#[test]
fn a_consumer_publishes_onward_with_a_new_routing_key() {
    // Choreography: orders are processed, then published as "invoices.created" to a topic exchange.
    let r = run(
        "10s",
        r#"Producer(id: "p", arrival: Constant(rate: "10/s"), routing_key: "orders.new"), Exchange(id: "x", type: Topic),
        Queue(id: "orders"), Queue(id: "invoices"), Consumer(id: "order-svc", service: Constant(time: "5ms")),
        Consumer(id: "invoice-svc", service: Constant(time: "5ms"))"#,
        r#"(from: "p", to: "x"), (from: "x", to: "orders", key: "orders.*"), (from: "x", to: "invoices", key: "invoices.*"),
        (from: "orders", to: "order-svc"), (from: "order-svc", to: "x", key: "invoices.created"), (from: "invoices", to: "invoice-svc")"#,
    );
    assert_eq!(processed(&r, "order-svc"), 100);
    assert_eq!(processed(&r, "invoice-svc"), 100);
    // The journey ends at the invoice service: one processed copy per order, latency covers both hops.
    assert_eq!(r.totals.processed, 100);
    assert!(r.latency_ms.min_ok(10.0));
}

trait MinLatency {
    fn min_ok(&self, ms: f64) -> bool;
}

impl MinLatency for evlab::metrics::LatencySummary {
    /// Every journey took at least `ms` (both services' constant times).
    fn min_ok(&self, ms: f64) -> bool {
        self.p50 >= ms * 0.999 && self.mean >= ms * 0.999
    }
}

#[test]
fn offsets_are_committed_as_the_commit_mode_says() {
    // 100/s into one partition, processed at once; look at the committed offset at 4.95 s.
    let committed_at = |commit: &str| {
        let text = format!(
            r#"(version: 1, name: "t", duration: "20s",
            nodes: [Producer(id: "p", arrival: Constant(rate: "100/s")), Topic(id: "t"),
                Consumer(id: "c", service: Constant(time: "1ms"){commit})],
            edges: [(from: "p", to: "t"), (from: "t", to: "c")])"#
        );
        let (_, scenario) = evlab::scenario::parse(&text, "t").unwrap();
        let mut run = Run::new(&scenario).unwrap();
        run.advance_to(4_950_000_000).unwrap();
        let group = common::first_group(&run);
        let cursor = group.cursors(run.now()).next().unwrap();
        (cursor.committed, cursor.position)
    };
    let (each, position) = committed_at(", commit: AfterEach");
    assert!(each + 1 >= position && position >= 494, "{each} {position}");
    // Kafka's default: auto-commit every 5 s, so nothing is committed yet.
    let (interval, _) = committed_at(r#", commit: Interval(every: "5s")"#);
    assert_eq!(interval, 0);
    let (default, _) = committed_at("");
    assert_eq!(default, 0, "the default is Kafka's: auto-commit every 5 s");
    let (two_seconds, _) = committed_at(r#", commit: Interval(every: "2s")"#);
    assert!(
        (390..=400).contains(&two_seconds),
        "committed at 4 s: {two_seconds}"
    );
    let (batch, _) = committed_at(", commit: Batch(size: 100)");
    assert_eq!(batch, 400);
}

#[test]
fn a_visibility_timeout_shorter_than_processing_duplicates() {
    // SQS: a message not deleted within the visibility timeout is received again.
    let run_with = |visibility: &str| {
        run(
            "20s",
            &format!(
                r#"Producer(id: "p", arrival: Poisson(rate: "20/s")),
                Queue(id: "q", delivery: Pull(visibility_timeout: "{visibility}")),
                Consumer(id: "a", service: Uniform(min: "40ms", max: "120ms")),
                Consumer(id: "b", service: Uniform(min: "40ms", max: "120ms"))"#
            ),
            r#"(from: "p", to: "q"), (from: "q", to: "a"), (from: "q", to: "b")"#,
        )
    };
    let short = run_with("80ms");
    assert!(short.totals.duplicates > 50, "{}", short.totals.duplicates);
    assert!(short.totals.redeliveries > 50);
    assert_eq!(short.totals.lost, 0);
    let long = run_with("30s");
    assert_eq!((long.totals.duplicates, long.totals.redeliveries), (0, 0));
}

#[test]
fn max_receive_count_redrives_to_the_dead_letter_queue() {
    // Processing always outlasts the visibility timeout: every message is received
    // max_receive_count times, then redriven on the next receive.
    let r = run(
        "20s",
        r#"Producer(id: "p", arrival: Constant(rate: "2/s")),
        Queue(id: "q", delivery: Pull(visibility_timeout: "100ms", max_receive_count: 3)),
        Queue(id: "dlq"),
        Consumer(id: "slow", concurrency: 8, service: Constant(time: "1s"))"#,
        r#"(from: "p", to: "q"), (from: "q", to: "slow"), (from: "q", to: "dlq", kind: DeadLetter)"#,
    );
    assert!(r.totals.dead_lettered >= 35, "{:?}", r.totals.dead_lettered);
    assert_eq!(r.totals.processed, 0);
    assert!(r.totals.redeliveries >= 2 * r.totals.dead_lettered);
}

/// Runs a scenario with faults, checking the ledger twenty times on the way.
fn run_with_faults(duration: &str, nodes: &str, edges: &str, faults: &str) -> Report {
    let text = common::scenario("t", 3, duration, nodes, edges, faults);
    let mut run = common::start(&text, "test");
    let end = run.duration_nanos();
    for step in 1..=20 {
        run.advance_to(end * step / 20).unwrap();
        run.check_ledger().unwrap();
    }
    let report = run.report(None, false);
    common::assert_balanced(&report);
    report
}

/// A keyed producer into a 3-replica topic whose partition leaders all fail at 5 s
/// (back at 8 s), and partition 2's again at 12 s.
fn failover_run(producer_extra: &str, min_insync: u32) -> Report {
    run_with_faults(
        "20s",
        &format!(
            r#"Producer(id: "p", arrival: Poisson(rate: "2000/s"), keys: Uniform(count: 50){producer_extra}),
            Topic(id: "t", partitions: 4, replication_factor: 3, min_insync_replicas: {min_insync},
                replication_delay: "20ms", failover: "500ms"),
            Consumer(id: "c", concurrency: 4, service: Exponential(mean: "0.2ms"), commit: AfterEach)"#
        ),
        r#"(from: "p", to: "t"), (from: "t", to: "c")"#,
        r#"(at: "5s", target: "t", kind: BrokerFailure(), duration: "3s"), (at: "12s", target: "t", kind: BrokerFailure(partition: 2))"#,
    )
}

#[test]
fn acks_1_loses_acknowledged_writes_on_leader_failure_and_acks_all_does_not() {
    let leader = failover_run(r#", acks: Leader, retries: (max: 20, backoff: "100ms")"#, 1);
    assert!(
        leader.totals.lost_by_reason.broker_failure > 0,
        "{:?}",
        leader.totals.lost_by_reason
    );
    let all = failover_run(r#", acks: All, retries: (max: 20, backoff: "100ms")"#, 2);
    assert_eq!(all.totals.lost, 0, "{:?}", all.totals.lost_by_reason);
    assert!(
        all.totals.processed + all.totals.in_flight_at_end
            == all.totals.produced + all.totals.duplicate_copies
    );
    // Fire-and-forget loses what is written while the partitions have no leader, too.
    let none = failover_run("", 1);
    assert!(
        none.totals.lost_by_reason.broker_failure > leader.totals.lost_by_reason.broker_failure
    );
}

#[test]
fn retries_without_an_idempotent_producer_duplicate_in_the_log() {
    let plain = failover_run(r#", acks: All, retries: (max: 20, backoff: "100ms")"#, 2);
    assert!(
        plain.totals.duplicate_copies > 0 && plain.totals.duplicates > 0,
        "{:?}",
        plain.totals.duplicates
    );
    let idempotent = failover_run(
        r#", acks: All, retries: (max: 20, backoff: "100ms"), idempotent: true"#,
        2,
    );
    assert_eq!(
        (
            idempotent.totals.duplicate_copies,
            idempotent.totals.duplicates
        ),
        (0, 0)
    );
    assert_eq!(idempotent.totals.lost, 0);
}

#[test]
fn a_transient_queue_loses_its_contents_when_its_broker_fails_and_a_durable_one_does_not() {
    let outcome = |durable: bool| {
        run_with_faults(
            "20s",
            &format!(
                r#"Producer(id: "p", arrival: Constant(rate: "100/s"), acks: Leader, retries: (max: 100, backoff: "200ms")),
                Queue(id: "q", durable: {durable}),
                Consumer(id: "c", service: Constant(time: "5ms"))"#
            ),
            r#"(from: "p", to: "q"), (from: "q", to: "c")"#,
            // The consumer is down from 3 s to 6 s, so a backlog waits in the queue when its broker fails.
            r#"(at: "3s", target: "c", kind: Crash, duration: "3s"), (at: "5s", target: "q", kind: BrokerFailure(), duration: "2s")"#,
        )
    };
    let transient = outcome(false);
    assert!(
        transient.totals.lost_by_reason.broker_failure > 100,
        "{:?}",
        transient.totals.lost_by_reason
    );
    let durable = outcome(true);
    assert_eq!(
        durable.totals.lost, 0,
        "{:?}",
        durable.totals.lost_by_reason
    );
    // Publishes refused while the broker was down were retried.
    assert!(durable.totals.processed > 1900);
}

#[test]
fn links_delay_lose_and_cut_what_is_published_over_them() {
    let scenario = |producer: &str, faults: &str| {
        run_with_faults(
            "20s",
            &format!(
                r#"Producer(id: "p", arrival: Constant(rate: "100/s"){producer}), Queue(id: "q"), Consumer(id: "c", service: Constant(time: "1ms"))"#
            ),
            r#"(from: "p", to: "q", latency: "30ms"), (from: "q", to: "c")"#,
            faults,
        )
    };
    let plain = scenario("", "");
    // 30 ms on the link, 1 ms of processing.
    assert!(
        (plain.latency_ms.p50 - 31.0).abs() < 0.5,
        "{}",
        plain.latency_ms.p50
    );
    assert_eq!(plain.totals.lost, 0);
    // A cut for 2 s loses what a fire-and-forget producer sends meanwhile...
    let cut = scenario(
        "",
        r#"(at: "5s", target: "p->q", kind: Cut, duration: "2s")"#,
    );
    assert_eq!(cut.totals.lost_by_reason.link_loss, 200);
    // ...and a producer with acks and retries sends it again after its timeout.
    let retried = scenario(
        r#", acks: Leader, retries: (max: 10, timeout: "500ms", backoff: "100ms")"#,
        r#"(at: "5s", target: "p->q", kind: Cut, duration: "2s")"#,
    );
    assert_eq!(retried.totals.lost, 0);
    assert!(retried.latency_ms.max > 600.0);
    // Half the messages lost for 4 s, and 100 ms more latency for 4 s.
    let lossy = scenario(
        "",
        r#"(at: "5s", target: "p->q", kind: Loss(probability: 0.5), duration: "4s")"#,
    );
    let lost = lossy.totals.lost_by_reason.link_loss as f64;
    assert!((lost - 200.0).abs() < 4.5 * 10.0, "{lost}");
    let slow = scenario(
        "",
        r#"(at: "5s", target: "p->q", kind: Delay(extra: "100ms"), duration: "4s")"#,
    );
    assert!(
        (slow.latency_ms.max - 131.0).abs() < 1.0,
        "{}",
        slow.latency_ms.max
    );
    assert_eq!(slow.totals.lost, 0);
}

/// The lab applies some edits to a running simulation: a producer's new rate holds from
/// its next message on, and the rest of the run is unchanged.
#[test]
fn a_retuned_producer_rate_applies_from_then_on() {
    let text = |rate: &str| {
        format!(
            r#"(version: 1, duration: "10s",
            nodes: [Producer(id: "p", arrival: Constant(rate: "{rate}")), Queue(id: "q"),
                    Consumer(id: "c", service: Constant(time: "1ms"), failure_probability: 0.0)],
            edges: [(from: "p", to: "q"), (from: "q", to: "c")])"#
        )
    };
    let (_, slow) = evlab::scenario::parse(&text("100/s"), "slow.ron").unwrap();
    let (_, fast) = evlab::scenario::parse(&text("200/s"), "fast.ron").unwrap();
    let mut run = evlab::run::Run::new(&slow).unwrap();
    run.advance_to(5_000_000_000).unwrap();
    let halfway = run.world().ledger().produced;
    assert!((499..=501).contains(&halfway), "{halfway}");
    run.retune(&fast);
    run.run_to_end(|_| {}).unwrap();
    let produced = run.world().ledger().produced;
    // 100/s for 5 s, then 200/s for 5 s (one gap at the old rate in between).
    assert!((1495..=1501).contains(&produced), "{produced}");
    assert_eq!(run.check_ledger(), Ok(()));
}

/// RabbitMQ drops a message that cycles back to the queue that dead-lettered it with no
/// rejection on the way. A full drop-head queue whose dropped heads come straight back
/// through a fanout exchange: each is dropped (lost to overflow) instead of pushing out
/// the next head, and another queue bound to the exchange still gets a copy.
#[test]
fn a_dead_letter_cycling_back_to_its_queue_is_dropped() {
    let text = r#"(version: 1, duration: "1s",
        nodes: [
            Producer(id: "p", arrival: Constant(rate: "100/s")),
            Exchange(id: "x", type: Fanout),
            Queue(id: "q", max_length: 1),
            Queue(id: "parking"),
        ],
        edges: [
            (from: "p", to: "q"),
            (from: "q", to: "x", kind: Retry),
            (from: "x", to: "q"),
            (from: "x", to: "parking"),
        ])"#;
    let (_, scenario) = evlab::scenario::parse(text, "cycle.ron").unwrap();
    let mut run = evlab::run::Run::new(&scenario).unwrap();
    run.run_to_end(|_| {}).unwrap();
    assert_eq!(run.check_ledger(), Ok(()));
    let report = run.report(None, false);
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    let node = |id: &str| {
        json["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["id"] == id)
            .unwrap()
            .clone()
    };
    let produced = report.totals.produced;
    assert_eq!(produced, 100);
    // Only the producer's messages enter q; every head it drops is dropped again on return.
    assert_eq!(node("q")["enqueued"], produced);
    assert_eq!(node("q")["dropped"]["overflow"], produced - 1);
    assert_eq!(node("parking")["enqueued"], produced - 1);
    assert_eq!(report.totals.lost_by_reason.overflow, produced - 1);
}

/// Regression: a copy a consumer published onwards kept its producer's publish guarantees,
/// so one lost on the consumer's link was "retried" by the producer into the producer's
/// own target. A consumer's onward publish is fire-and-forget: lost on a cut link.
#[test]
fn a_consumer_publishing_onwards_does_not_inherit_its_producers_retries() {
    let report = run_with_faults(
        "20s",
        r#"Producer(id: "p", arrival: Constant(rate: "100/s"), acks: Leader, retries: (max: 10, timeout: "500ms", backoff: "100ms")),
        Queue(id: "q"), Consumer(id: "c", service: Constant(time: "1ms")),
        Queue(id: "out"), Consumer(id: "d", service: Constant(time: "1ms"))"#,
        r#"(from: "p", to: "q"), (from: "q", to: "c"), (from: "c", to: "out"), (from: "out", to: "d")"#,
        r#"(at: "5s", target: "c->out", kind: Cut, duration: "2s")"#,
    );
    let (enqueued, ..) = queue(&report, "q");
    assert_eq!(enqueued, report.totals.produced);
    assert_eq!(report.totals.lost_by_reason.link_loss, 200);
    assert_eq!(report.totals.publish_retries, 0);
}

/// A producer's retry goes over its link like the first try: during a cut longer than
/// its retries last, the retries are lost too.
#[test]
fn publish_retries_cross_the_link_again() {
    let report = run_with_faults(
        "20s",
        r#"Producer(id: "p", arrival: Constant(rate: "100/s"), acks: Leader, retries: (max: 2, timeout: "500ms", backoff: "100ms")),
        Queue(id: "q"), Consumer(id: "c", service: Constant(time: "1ms"))"#,
        r#"(from: "p", to: "q", latency: "1ms"), (from: "q", to: "c")"#,
        r#"(at: "5s", target: "p->q", kind: Cut, duration: "2s")"#,
    );
    // Sent in [5 s, 7 s), tried again 0.6 s and 1.2 s later: those sent before 5.8 s are lost.
    let lost = report.totals.lost_by_reason.link_loss;
    assert!((79..=81).contains(&lost), "{lost}");
    assert_eq!(report.totals.lost, lost);
}

/// Two queues bound to one fanout exchange; `full`'s consumer is down from 2 s to 4 s, so
/// `full` (max length 20, reject-publish) refuses publishes meanwhile.
fn confirms_through_an_exchange(producer: &str) -> Report {
    run_with_faults(
        "12s",
        &format!(
            r#"Producer(id: "p", arrival: Constant(rate: "100/s"){producer}), Exchange(id: "x", type: Fanout),
            Queue(id: "open"), Queue(id: "full", max_length: 20, overflow: RejectPublish),
            Consumer(id: "a", service: Constant(time: "1ms")), Consumer(id: "b", service: Constant(time: "1ms"))"#
        ),
        r#"(from: "p", to: "x"), (from: "x", to: "open"), (from: "x", to: "full"), (from: "open", to: "a"), (from: "full", to: "b")"#,
        r#"(at: "2s", target: "b", kind: Crash, duration: "2s")"#,
    )
}

/// RabbitMQ publisher confirms through an exchange: a queue that rejects a publish makes
/// the broker nack it, the publisher publishes again, and the queues that took it the
/// first time take it again (duplicates); fire-and-forget loses the rejected copies instead.
#[test]
fn confirms_through_an_exchange_retry_a_nack_and_duplicate_where_it_landed() {
    let forget = confirms_through_an_exchange("");
    assert!(
        (170..=185).contains(&forget.totals.lost_by_reason.overflow),
        "{:?}",
        forget.totals.lost_by_reason
    );
    assert_eq!(forget.totals.lost, forget.totals.lost_by_reason.overflow);
    assert_eq!(
        (forget.totals.duplicate_copies, forget.totals.duplicates),
        (0, 0)
    );

    let confirmed =
        confirms_through_an_exchange(r#", acks: Leader, retries: (max: 100, backoff: "100ms")"#);
    assert_eq!(
        confirmed.totals.lost, 0,
        "{:?}",
        confirmed.totals.lost_by_reason
    );
    // Every message reached `full` once; `open` took the retried ones again and again.
    assert_eq!(processed(&confirmed, "b"), confirmed.totals.produced);
    assert!(
        confirmed.totals.publish_retries > 1000,
        "{}",
        confirmed.totals.publish_retries
    );
    assert_eq!(
        confirmed.totals.duplicate_copies,
        confirmed.totals.publish_retries
    );
    assert_eq!(
        processed(&confirmed, "a"),
        confirmed.totals.produced + confirmed.totals.duplicate_copies
    );
    assert_eq!(
        confirmed.totals.duplicates,
        confirmed.totals.duplicate_copies
    );
    // The full queue nacked those publishes rather than dropping them.
    let (.., overflow, _) = queue(&confirmed, "full");
    assert_eq!(overflow, 0);
    match node(&confirmed, "full") {
        NodeDetail::Queue { nacked, .. } => assert!(*nacked > 1000, "{nacked}"),
        _ => panic!("full is a queue"),
    }
}

/// A queue with reject-publish nacks a confirming publisher, which retries instead of
/// losing the message.
#[test]
fn reject_publish_nacks_a_confirming_publisher_which_retries() {
    let outcome = |producer: &str| {
        run_with_faults(
            "12s",
            &format!(
                r#"Producer(id: "p", arrival: Constant(rate: "100/s"){producer}),
                Queue(id: "q", max_length: 20, overflow: RejectPublish), Consumer(id: "c", service: Constant(time: "1ms"))"#
            ),
            r#"(from: "p", to: "q"), (from: "q", to: "c")"#,
            r#"(at: "2s", target: "c", kind: Crash, duration: "2s")"#,
        )
    };
    let forget = outcome("");
    assert!(forget.totals.lost_by_reason.overflow > 150);
    let confirmed = outcome(r#", acks: Leader, retries: (max: 100, backoff: "100ms")"#);
    assert_eq!(confirmed.totals.lost, 0);
    assert_eq!(confirmed.totals.duplicates, 0);
    assert_eq!(processed(&confirmed, "c"), confirmed.totals.produced);
    // With too few retries, what is still refused after them is lost to overflow.
    let short = outcome(r#", acks: Leader, retries: (max: 3, backoff: "100ms")"#);
    assert!(short.totals.lost_by_reason.overflow > 100);
    assert!(short.totals.lost_by_reason.overflow < forget.totals.lost_by_reason.overflow);
}

/// A consumer hoarding ten deliveries (prefetch 10, one at a time, 1 s each) from a backlog;
/// `faults` may cut it off from its queue.
fn hoarding_consumer(ack: &str, faults: &str) -> Report {
    run_with_faults(
        "10s",
        &format!(
            r#"Producer(id: "p", arrival: Constant(rate: "100/s")), Queue(id: "q"),
            Consumer(id: "c", prefetch: 10, ack: {ack}, service: Constant(time: "1s"))"#
        ),
        r#"(from: "p", to: "q"), (from: "q", to: "c")"#,
        faults,
    )
}

/// A cut between a queue and its consumer is a lost connection (RabbitMQ): the consumer gets
/// nothing while it lasts, and its unacknowledged deliveries go back to the queue. It
/// finishes the message it was processing, but cannot acknowledge it: at-least-once, the
/// message is delivered again and processed twice (a duplicate); at-most-once, it was
/// acknowledged on delivery and counts once, while the nine it had prefetched are lost with
/// the connection. When the cut ends it consumes again.
#[test]
fn a_cut_between_a_queue_and_its_consumer_disconnects_it() {
    const CUT: &str = r#"(at: "5s", target: "q->c", kind: Cut, duration: "2s")"#;
    let control = hoarding_consumer("AfterProcessing", "");
    assert_eq!((control.totals.lost, control.totals.redeliveries), (0, 0));
    assert_eq!(control.totals.duplicates, 0);

    let at_least_once = hoarding_consumer("AfterProcessing", CUT);
    assert_eq!(at_least_once.totals.lost, 0);
    assert_eq!(at_least_once.totals.redeliveries, 10);
    assert_eq!(at_least_once.totals.duplicates, 1);
    // Two seconds without a connection, and one message processed twice.
    assert!(
        processed(&at_least_once, "c") < processed(&control, "c"),
        "{} vs {}",
        processed(&at_least_once, "c"),
        processed(&control, "c")
    );
    assert!(processed(&at_least_once, "c") >= 6);

    let at_most_once = hoarding_consumer("BeforeProcessing", CUT);
    assert_eq!(at_most_once.totals.lost_by_reason.link_loss, 9);
    assert_eq!(at_most_once.totals.lost, 9);
    assert_eq!(at_most_once.totals.redeliveries, 0);
    assert_eq!(at_most_once.totals.duplicates, 0);
}

/// A crash during a cut does not end with the cut: the consumer stays down until it restarts.
/// And the message it went on processing without a connection dies with it.
#[test]
fn a_consumer_crashed_while_cut_off_stays_down_after_the_cut() {
    let report = hoarding_consumer(
        "AfterProcessing",
        r#"(at: "3s", target: "q->c", kind: Cut, duration: "1s"), (at: "3500ms", target: "c", kind: Crash)"#,
    );
    // Done at phase + 1 s and + 2 s, and the third, cut off, at phase + 3 s; nothing after.
    assert_eq!(processed(&report, "c"), 3);
    assert_eq!(report.totals.lost, 0);
    // Crashed at 2.7 s, while finishing the message it had at the cut at 2.5 s.
    let report = hoarding_consumer(
        "AfterProcessing",
        r#"(at: "2500ms", target: "q->c", kind: Cut, duration: "1s"), (at: "2700ms", target: "c", kind: Crash)"#,
    );
    assert_eq!(processed(&report, "c"), 2);
    assert_eq!((report.totals.lost, report.totals.duplicates), (0, 0));
    let report = hoarding_consumer(
        "BeforeProcessing",
        r#"(at: "2500ms", target: "q->c", kind: Cut, duration: "1s"), (at: "2700ms", target: "c", kind: Crash)"#,
    );
    // At-most-once: the nine prefetched are lost with the connection, the tenth with the crash.
    assert_eq!(report.totals.lost_by_reason.link_loss, 9);
    assert_eq!(report.totals.lost_by_reason.crash, 1);
}

/// Latency on a delivery edge delays each delivery and each acknowledgement: with a prefetch
/// of P a consumer has at most P deliveries per round trip (RabbitMQ's advice for sizing the
/// prefetch: enough to cover the round trip).
#[test]
fn latency_to_a_consumer_caps_it_at_its_prefetch_per_round_trip() {
    let outcome = |rate: &str, prefetch: u32, latency: &str| {
        run_with_faults(
            "10s",
            &format!(
                r#"Producer(id: "p", arrival: Constant(rate: "{rate}")), Queue(id: "q"),
                Consumer(id: "c", concurrency: 100, prefetch: {prefetch}, service: Constant(time: "1ms"))"#
            ),
            &format!(r#"(from: "p", to: "q"), (from: "q", to: "c"{latency})"#),
            "",
        )
    };
    // Light load: each message waits out the link once (30 ms), then 1 ms of processing.
    let light = outcome("10/s", 10, r#", latency: "30ms""#);
    assert!(
        (light.latency_ms.p50 - 31.0).abs() < 0.5,
        "{}",
        light.latency_ms.p50
    );
    // 1000/s offered, prefetch 10, round trip 50 + 1 + 50 ms: about 99 a second get through.
    let capped = outcome("1000/s", 10, r#", latency: "50ms""#);
    let rate = processed(&capped, "c") as f64 / 10.0;
    assert!((rate - 10.0 / 0.101).abs() < 2.0, "{rate}");
    assert_eq!(capped.totals.lost, 0);
    // A prefetch that covers the round trip keeps up.
    let covered = outcome("1000/s", 200, r#", latency: "50ms""#);
    let rate = processed(&covered, "c") as f64 / 10.0;
    assert!(rate > 980.0, "{rate}");
    // And without latency, prefetch 10 keeps up too.
    let near = outcome("1000/s", 10, "");
    assert!(processed(&near, "c") as f64 / 10.0 > 990.0);
}

/// A cut between a topic and a group member: it can neither fetch nor commit nor heartbeat,
/// so after its session timeout the group rebalances and the other member takes its
/// partitions from their committed offsets; when the cut ends it joins again.
#[test]
fn a_cut_between_a_topic_and_a_member_hands_its_partitions_over() {
    let outcome = |faults: &str| {
        run_with_faults(
            "20s",
            r#"Producer(id: "p", arrival: Constant(rate: "100/s")), Topic(id: "t", partitions: 4),
            Consumer(id: "a", group: "g", service: Constant(time: "2ms"), commit: Interval(every: "500ms"),
                     session_timeout: "2s", rebalance_time: "500ms"),
            Consumer(id: "b", group: "g", service: Constant(time: "2ms"), commit: Interval(every: "500ms"),
                     session_timeout: "2s", rebalance_time: "500ms")"#,
            r#"(from: "p", to: "t"), (from: "t", to: "a"), (from: "t", to: "b")"#,
            faults,
        )
    };
    let control = outcome("");
    assert_eq!((control.totals.duplicates, control.totals.lost), (0, 0));
    // Mid-way between two commits: `b` has records processed and not committed.
    let cut = outcome(r#"(at: "5250ms", target: "t->b", kind: Cut, duration: "8s")"#);
    assert_eq!(cut.totals.lost, 0);
    // `a` took over `b`'s partitions for most of the cut, and reprocessed what `b` had not
    // committed; `b` came back and took its share again.
    assert!(processed(&cut, "a") > processed(&control, "a") + 300);
    assert!(cut.totals.duplicates > 0);
    assert!(processed(&cut, "b") > 300);
    assert_eq!(
        processed(&cut, "a") + processed(&cut, "b"),
        cut.totals.produced + cut.totals.duplicates - cut.totals.in_flight_at_end
    );
}

/// Latency and link faults go only where evlab simulates a network link, and elsewhere are
/// refused with the reason.
#[test]
fn link_settings_where_there_is_no_simulated_link_are_refused_with_the_reason() {
    let problems = |edges: &str, faults: &str| {
        let text = format!(
            r#"(version: 1, name: "t", seed: 1, duration: "1s", nodes: [
                Producer(id: "p", arrival: Constant(rate: "10/s")), Exchange(id: "x", type: Fanout),
                Producer(id: "p2", arrival: Constant(rate: "10/s")), Queue(id: "q"), Topic(id: "t"), Consumer(id: "c", service: Constant(time: "1ms")),
                Consumer(id: "d", service: Constant(time: "1ms"))],
                edges: [(from: "p", to: "x"), (from: "p2", to: "t"), (from: "q", to: "c"), (from: "t", to: "d"){edges}],
                faults: [{faults}])"#
        );
        match evlab::scenario::parse(&text, "t") {
            Ok(_) => String::new(),
            Err(e) => e.to_string(),
        }
    };
    let binding = problems(r#", (from: "x", to: "q", latency: "5ms")"#, "");
    assert!(
        binding.contains("edges[4].latency") && binding.contains("inside one broker"),
        "{binding}"
    );
    let binding_cut = problems(
        r#", (from: "x", to: "q")"#,
        r#"(at: "1ms", target: "x->q", kind: Cut)"#,
    );
    assert!(
        binding_cut.contains("faults[0].target") && binding_cut.contains("inside one broker"),
        "{binding_cut}"
    );
    let lossy = problems(
        r#", (from: "x", to: "q")"#,
        r#"(at: "1ms", target: "q->c", kind: Loss(probability: 0.1))"#,
    );
    assert!(lossy.contains("does not lose single deliveries"), "{lossy}");
    let topic_latency = problems(
        r#", (from: "x", to: "q")"#,
        r#"(at: "1ms", target: "t->d", kind: Delay(extra: "5ms"))"#,
    );
    assert!(
        topic_latency.contains("fetch records in batches"),
        "{topic_latency}"
    );
    // What is simulated passes.
    let fine = problems(
        r#", (from: "x", to: "q")"#,
        r#"(at: "1ms", target: "q->c", kind: Delay(extra: "5ms")), (at: "1ms", target: "t->d", kind: Cut), (at: "1ms", target: "p->x", kind: Loss(probability: 0.1))"#,
    );
    assert_eq!(fine, "");
}

/// Runs the example `name` from `scenarios/`, with `edit` applied to its text.
fn example(name: &str, edit: impl Fn(String) -> String) -> Report {
    let path = format!("{}/scenarios/{name}.ron", env!("CARGO_MANIFEST_DIR"));
    common::run_checked(&edit(std::fs::read_to_string(&path).unwrap()), name)
}

/// The duplicates one consumer group of a topic saw.
fn group_duplicates(report: &Report, topic: &str) -> u64 {
    match node(report, topic) {
        NodeDetail::Topic { groups, .. } => groups.iter().map(|g| g.duplicates).sum(),
        _ => panic!("{topic} is not a topic"),
    }
}

/// The examples for confirms, links and transactions show what their comments say.
#[test]
fn the_confirms_link_and_transaction_examples_show_what_they_describe() {
    let confirms = example("confirms-fanout", |t| t);
    assert_eq!(confirms.totals.lost, 0);
    assert!(confirms.totals.duplicates > 1000);
    let (billing_in, ..) = queue(&confirms, "billing");
    assert_eq!(billing_in, confirms.totals.produced);
    let forget = example("confirms-fanout", |t| {
        t.replace(r#"acks: Leader, retries: (max: 30, backoff: "1s")"#, "")
    });
    assert!(forget.totals.lost_by_reason.overflow > 100);
    assert_eq!(forget.totals.duplicates, 0);

    let prefetch = example("prefetch-latency", |t| t);
    let tight = processed(&prefetch, "tight-worker") as f64 / 60.0;
    assert!((tight - 10.0 / 0.082).abs() < 3.0, "{tight}");
    assert!(processed(&prefetch, "eager-worker") as f64 / 60.0 > 390.0);

    let cut = example("connection-cut", |t| t);
    assert!(cut.totals.lost_by_reason.link_loss > 0);
    assert_eq!(cut.totals.lost, cut.totals.lost_by_reason.link_loss);
    assert!(cut.totals.redeliveries > 0 && cut.totals.duplicates > 0);

    let once = example("exactly-once", |t| t);
    assert!(group_duplicates(&once, "auto-out") > 100);
    assert_eq!(group_duplicates(&once, "txn-out"), 0);
    assert_eq!(once.totals.lost, 0);
}

/// Overlapping faults on one target: it stays affected until the last one ends (a crash
/// for good during a crash with a restart stays for good; a short cut inside a long one
/// does not restore the link).
#[test]
fn overlapping_faults_last_until_the_last_one_ends() {
    let text = |faults: &str| {
        format!(
            r#"(version: 1, name: "t", seed: 1, duration: "20s",
            nodes: [Producer(id: "p", arrival: Constant(rate: "100/s")), Queue(id: "q"),
                    Consumer(id: "c", service: Constant(time: "1ms"))],
            edges: [(from: "p", to: "q"), (from: "q", to: "c")],
            faults: [{faults}])"#
        )
    };
    let at = |faults: &str, seconds: u64| {
        let (_, scenario) = evlab::scenario::parse(&text(faults), "t").unwrap();
        let mut run = Run::new(&scenario).unwrap();
        run.advance_to(seconds * 1_000_000_000).unwrap();
        run.check_ledger().unwrap();
        run
    };
    // The consumer: a crash from 3 s to 4 s inside one from 2 s to 6 s.
    let crashes = r#"(at: "2s", target: "c", kind: Crash, duration: "4s"), (at: "3s", target: "c", kind: Crash, duration: "1s")"#;
    assert!(
        !at(crashes, 5)
            .world()
            .consumer(ConsumerId::from(0))
            .unwrap()
            .alive()
    );
    assert!(
        at(crashes, 7)
            .world()
            .consumer(ConsumerId::from(0))
            .unwrap()
            .alive()
    );
    // A crash for good injected over a crash with a restart.
    let for_good = r#"(at: "2s", target: "c", kind: Crash, duration: "1s"), (at: "2500ms", target: "c", kind: Crash)"#;
    assert!(
        !at(for_good, 10)
            .world()
            .consumer(ConsumerId::from(0))
            .unwrap()
            .alive()
    );
    // The queue's broker: a failure from 4 s to 5 s inside one from 3 s to 8 s.
    let outages = r#"(at: "3s", target: "q", kind: BrokerFailure(), duration: "5s"), (at: "4s", target: "q", kind: BrokerFailure(), duration: "1s")"#;
    assert!(
        !at(outages, 6)
            .world()
            .queue(QueueId::from(0))
            .unwrap()
            .online()
    );
    assert!(
        at(outages, 9)
            .world()
            .queue(QueueId::from(0))
            .unwrap()
            .online()
    );
    // The link: a cut from 6 s to 7 s inside one from 5 s to 9 s loses 4 s of publishes.
    let cuts = r#"(at: "5s", target: "p->q", kind: Cut, duration: "4s"), (at: "6s", target: "p->q", kind: Cut, duration: "1s")"#;
    let mut run = at(cuts, 1);
    run.run_to_end(|_| {}).unwrap();
    assert_eq!(run.report(None, false).totals.lost_by_reason.link_loss, 400);
    // Slow-downs multiply while they overlap.
    let slows = r#"(at: "2s", target: "c", kind: Slow(factor: 2.0), duration: "4s"), (at: "3s", target: "c", kind: Slow(factor: 3.0), duration: "1s")"#;
    assert_eq!(
        at(slows, 3)
            .world()
            .consumer(ConsumerId::from(0))
            .unwrap()
            .slow_factor(),
        6.0
    );
    assert_eq!(
        at(slows, 5)
            .world()
            .consumer(ConsumerId::from(0))
            .unwrap()
            .slow_factor(),
        2.0
    );
    assert_eq!(
        at(slows, 7)
            .world()
            .consumer(ConsumerId::from(0))
            .unwrap()
            .slow_factor(),
        1.0
    );
    // A service crashed for good during a crash with a restart stays down.
    let text = r#"(version: 1, name: "t", seed: 1, duration: "10s",
        nodes: [Producer(id: "p", arrival: Constant(rate: "100/s")),
                Service(id: "s", concurrency: 4, service: Constant(time: "1ms"))],
        edges: [(from: "p", to: "s")],
        faults: [(at: "2s", target: "s", kind: Crash, duration: "1s"), (at: "2500ms", target: "s", kind: Crash)])"#;
    let (_, scenario) = evlab::scenario::parse(text, "t").unwrap();
    let mut run = Run::new(&scenario).unwrap();
    run.advance_to(5_000_000_000).unwrap();
    assert!(!run.world().service(ServiceId::from(0)).unwrap().alive());
}

/// `Run::inject` refuses what the scenario checker would: a partition the topic does not
/// have, a strength out of bounds; and records nothing for it.
#[test]
fn injected_faults_are_checked_like_scheduled_ones() {
    use evlab::scenario::FaultTarget;
    use evlab::scenario::guarantees::FaultKind;
    let text = r#"(version: 1, name: "t", seed: 1, duration: "10s",
        nodes: [Producer(id: "p", arrival: Constant(rate: "100/s")), Topic(id: "t", partitions: 2),
                Consumer(id: "c", service: Constant(time: "1ms"))],
        edges: [(from: "p", to: "t"), (from: "t", to: "c")])"#;
    let (_, scenario) = evlab::scenario::parse(text, "t").unwrap();
    let mut run = Run::new(&scenario).unwrap();
    run.advance_to(1_000_000_000).unwrap();
    let refused = [
        (
            FaultTarget::Node(1),
            FaultKind::BrokerFailure { partition: Some(2) },
        ),
        (FaultTarget::Node(2), FaultKind::Slow { factor: 0.0 }),
        (FaultTarget::Node(2), FaultKind::Fail { probability: 1.5 }),
        (FaultTarget::Edge(1), FaultKind::Loss { probability: 0.5 }),
    ];
    for (target, kind) in refused {
        assert!(run.inject(target, kind, None).is_err(), "{kind:?} accepted");
    }
    assert!(run.faults().is_empty());
    run.inject(
        FaultTarget::Node(1),
        FaultKind::BrokerFailure { partition: Some(1) },
        None,
    )
    .unwrap();
    assert_eq!(run.faults().len(), 1);
}

/// What a queue (`id`) or a consumer group (`topic/group`) says it lost.
fn lost_at(report: &Report, id: &str) -> u64 {
    let (node_id, group) = id.split_once('/').unwrap_or((id, ""));
    match node(report, node_id) {
        NodeDetail::Queue { lost, .. } => *lost,
        NodeDetail::Topic { groups, .. } => {
            groups
                .iter()
                .find(|g| g.group == group)
                .unwrap_or_else(|| panic!("no group {id}"))
                .lost
        }
        _ => panic!("{id} is not a queue or a topic"),
    }
}

#[test]
fn each_queue_and_group_reports_the_copies_it_lost() {
    // Side by side, a lossy design and a safe one: the totals mix them, each line says its own.
    // (nodes, edges, [(queue or topic, lost there)], lost between nodes)
    type Case = (
        &'static str,
        &'static str,
        &'static [(&'static str, Loss)],
        Loss,
    );
    #[derive(Debug, Clone, Copy)]
    enum Loss {
        None,
        Some,
        All,
    }
    let cases: [Case; 6] = [
        (
            // Two full queues drop heads at different rates: each its own share.
            r#"Producer(id: "p", arrival: Constant(rate: "100/s")), Exchange(id: "x", type: Fanout),
            Queue(id: "one", max_length: 5, overflow: DropHead),
            Queue(id: "two", max_length: 5, overflow: DropHead),
            Consumer(id: "slow", service: Constant(time: "50ms")),
            Consumer(id: "slower", service: Constant(time: "100ms"))"#,
            r#"(from: "p", to: "x"), (from: "x", to: "one"), (from: "x", to: "two"),
            (from: "one", to: "slow"), (from: "two", to: "slower")"#,
            &[("one", Loss::Some), ("two", Loss::Some)],
            Loss::None,
        ),
        (
            // Drop-head overflow with no dead-letter target, beside a queue with room.
            r#"Producer(id: "p", arrival: Constant(rate: "100/s")), Exchange(id: "x", type: Fanout),
            Queue(id: "small", max_length: 5, overflow: DropHead), Queue(id: "big"),
            Consumer(id: "slow", service: Constant(time: "50ms")),
            Consumer(id: "fast", service: Constant(time: "1ms"))"#,
            r#"(from: "p", to: "x"), (from: "x", to: "small"), (from: "x", to: "big"),
            (from: "small", to: "slow"), (from: "big", to: "fast")"#,
            &[("small", Loss::All), ("big", Loss::None)],
            Loss::None,
        ),
        (
            // Message TTL with no dead-letter target, beside a queue without one.
            r#"Producer(id: "p", arrival: Constant(rate: "100/s")), Exchange(id: "x", type: Fanout),
            Queue(id: "expiring", ttl: "100ms"), Queue(id: "keeping"),
            Consumer(id: "slow", service: Constant(time: "50ms")),
            Consumer(id: "slow2", service: Constant(time: "50ms"))"#,
            r#"(from: "p", to: "x"), (from: "x", to: "expiring"), (from: "x", to: "keeping"),
            (from: "expiring", to: "slow"), (from: "keeping", to: "slow2")"#,
            &[("expiring", Loss::All), ("keeping", Loss::None)],
            Loss::None,
        ),
        (
            // Failing for good with nowhere to dead-letter, beside a consumer that never fails.
            r#"Producer(id: "p", arrival: Constant(rate: "100/s")), Exchange(id: "x", type: Fanout),
            Queue(id: "failing"), Queue(id: "fine"),
            Consumer(id: "bad", service: Constant(time: "1ms"), failure_probability: 0.3),
            Consumer(id: "good", service: Constant(time: "1ms"))"#,
            r#"(from: "p", to: "x"), (from: "x", to: "failing"), (from: "x", to: "fine"),
            (from: "failing", to: "bad"), (from: "fine", to: "good")"#,
            &[("failing", Loss::All), ("fine", Loss::None)],
            Loss::None,
        ),
        (
            // Retention deletes what the slow group has not read; the fast group reads it all.
            r#"Producer(id: "p", arrival: Constant(rate: "100/s")), Topic(id: "t", retention: "1s", segment_roll: "100ms", retention_check: "100ms"),
            Consumer(id: "slow", group: "reports", service: Constant(time: "100ms")),
            Consumer(id: "fast", group: "billing", service: Constant(time: "1ms"))"#,
            r#"(from: "p", to: "t"), (from: "t", to: "slow"), (from: "t", to: "fast")"#,
            &[("t/reports", Loss::All), ("t/billing", Loss::None)],
            Loss::None,
        ),
        (
            // An exchange that routes half the keys nowhere: lost between nodes, not in a queue.
            r#"Producer(id: "p", arrival: Constant(rate: "100/s"), routing_keys: ["a", "b"]),
            Exchange(id: "x", type: Direct), Queue(id: "q"),
            Consumer(id: "c", service: Constant(time: "1ms"))"#,
            r#"(from: "p", to: "x"), (from: "x", to: "q", key: "a"), (from: "q", to: "c")"#,
            &[("q", Loss::None)],
            Loss::All,
        ),
    ];
    for (nodes, edges, expected, transit) in cases {
        let r = run("10s", nodes, edges);
        let lost = r.totals.lost;
        assert!(lost > 0, "the case loses something: {nodes}");
        let check = |what: &str, got: u64, want: Loss| match want {
            Loss::None => assert_eq!(got, 0, "{what} lost nothing: {nodes}"),
            Loss::Some => assert!(got > 0 && got < lost, "{what}: {got} of {lost}"),
            Loss::All => assert_eq!(got, lost, "{what} lost all {lost}: {nodes}"),
        };
        for &(id, want) in expected {
            check(id, lost_at(&r, id), want);
        }
        check("between nodes", r.totals.lost_in_transit, transit);
    }
}

/// Records a topic lost to retention, and how many it still stores.
fn retained(report: &Report, id: &str) -> (u64, u64) {
    match node(report, id) {
        NodeDetail::Topic {
            partitions, groups, ..
        } => (
            groups.iter().map(|g| g.lost).sum(),
            partitions.iter().map(|p| p.stored_records).sum(),
        ),
        _ => panic!("{id} is not a topic"),
    }
}

#[test]
fn retention_deletes_whole_segments_at_its_checks_as_kafka_does() {
    // Ten records a second of 100 B (record n appended at phase + n * 100 ms, phase < 100 ms)
    // into one partition, read by a consumer that is down from the start (and would restart
    // from the earliest record kept), so the records retention deletes are the ones lost.
    // (topic fields, run length, faults, lost, stored at the end)
    let cases: &[(&str, &str, &str, u64, u64)] = &[
        // Kafka's defaults (1 GiB or 7-day segments, checked every 5 minutes): a 1 s
        // retention deletes nothing in a minute.
        (r#"retention: "1s""#, "60s", "", 0, 600),
        // Segments of 10 records, checked every 5 s, 1 s retention. At 5 s segments 0-3 go
        // (their newest record is over 1 s old), not segment 4, whose newest came at 4.9 s;
        // at 10 s segments 4-8 go. 105 records in 10.5 s: 90 lost, 15 stored.
        (
            r#"retention: "1s", segment_bytes: "1000B", retention_check: "5s""#,
            "10500ms",
            "",
            90,
            15,
        ),
        // No time limit but 2500 B kept: a segment goes only while at least 2500 B stay. At
        // 5 s, 5000 B: two segments go; at 10 s, 8000 B: five more. 70 lost, 35 stored.
        (
            r#"retention_bytes: "2500B", segment_bytes: "1000B", retention_check: "5s""#,
            "10500ms",
            "",
            70,
            35,
        ),
        // The producer's link is cut at 2 s: at the check at 5 s the whole log, active
        // segment included, is over 1 s old, and goes (Kafka rolls a new, empty one first).
        (
            r#"retention: "1s", retention_check: "5s""#,
            "6s",
            r#"(at: "2s", target: "p->t", kind: Cut), "#,
            20,
            0,
        ),
    ];
    for &(fields, duration, faults, lost, stored) in cases {
        let r = run_with_faults(
            duration,
            &format!(
                r#"Producer(id: "p", size: "100B", arrival: Constant(rate: "10/s")),
                Topic(id: "t", {fields}),
                Consumer(id: "c", service: Constant(time: "1ms"), auto_offset_reset: Earliest)"#
            ),
            r#"(from: "p", to: "t"), (from: "t", to: "c")"#,
            &format!(r#"{faults}(at: "0s", target: "c", kind: Crash)"#),
        );
        assert_eq!(retained(&r, "t"), (lost, stored), "{fields} for {duration}");
        assert_eq!(r.totals.lost_by_reason.retention, lost);
    }
}

#[test]
fn retention_does_not_depend_on_the_sampling_interval() {
    // Regression: retention ran at sampling instants, so a 2 s retention with an on/off
    // producer and a slow consumer lost 1168 records sampled every 100 ms and 1169 every 1 s.
    let report = |sample_every: &str| {
        let text = format!(
            r#"(version: 1, name: "t", seed: 5, duration: "60s", sample_every: "{sample_every}",
            nodes: [Producer(id: "p", arrival: OnOff(rate: "100/s", on: "3s", off: "2s")),
                    Topic(id: "t", retention: "2s", segment_roll: "500ms", retention_check: "700ms"),
                    Consumer(id: "c", service: Constant(time: "30ms"))],
            edges: [(from: "p", to: "t"), (from: "t", to: "c")])"#
        );
        let r = common::run_checked(&text, "t");
        (r.totals.lost, processed(&r, "c"), retained(&r, "t"))
    };
    let reference = report("1s");
    assert!(
        reference.0 > 500,
        "the slow consumer loses records: {reference:?}"
    );
    for sample_every in ["1ms", "100ms", "333ms", "7s"] {
        assert_eq!(
            report(sample_every),
            reference,
            "sampling every {sample_every}"
        );
    }
}

#[test]
fn max_events_stops_a_run_at_one_point_whatever_the_sampling_interval() {
    // Regression: sampling events counted as events, so `limits.max_events` stopped a run
    // earlier the more often it was sampled, and the report's event count changed with it.
    let stop = |sample_every: &str| {
        let text = format!(
            r#"(version: 1, name: "t", seed: 3, duration: "60s", sample_every: "{sample_every}",
            limits: (max_events: 20000),
            nodes: [Producer(id: "p", arrival: Poisson(rate: "500/s")), Queue(id: "q"),
                    Consumer(id: "c", service: Exponential(mean: "1ms"))],
            edges: [(from: "p", to: "q"), (from: "q", to: "c")])"#
        );
        let (_, scenario) = evlab::scenario::parse(&text, "t").unwrap();
        let mut run = Run::new(&scenario).unwrap();
        let stopped = run.run_to_end(|_| {}).is_err();
        let report = run.report(None, false);
        (stopped, run.now(), report.events, report.totals.processed)
    };
    let reference = stop("1s");
    assert!(reference.0, "the limit stops the run: {reference:?}");
    assert_eq!(reference.2, 20_000);
    for sample_every in ["1ms", "10ms", "7s"] {
        assert_eq!(
            stop(sample_every),
            reference,
            "sampling every {sample_every}"
        );
    }
}

/// Regression: a queue's TTL check let the next check be scheduled twice when a dead
/// letter came back into the queue while the check was sending its expired copies away
/// (here: `a` drops its head into `q` as `q`'s expired copy arrives). Each return started
/// one more chain of checks, for as long as `q` was never empty: 40,239 events in 30 s,
/// 700,389 in 120 s, for 20 messages a second.
#[test]
fn a_dead_letter_returning_during_a_ttl_check_starts_no_second_chain_of_checks() {
    let nodes = r#"Producer(id: "p", arrival: Constant(rate: "10/s")),
        Producer(id: "p2", arrival: Constant(rate: "10/s")),
        Queue(id: "q", ttl: "1s"),
        Queue(id: "a", max_length: 1, overflow: DropHead)"#;
    let edges = r#"(from: "p", to: "q"), (from: "p2", to: "a"),
        (from: "q", to: "a", kind: DeadLetter), (from: "a", to: "q", kind: DeadLetter)"#;
    // (duration, most events: a production and a check per copy entering `q`, and samples)
    let cases = [("30s", 2_500), ("60s", 5_000), ("120s", 10_000)];
    for (duration, most) in cases {
        let r = run(duration, nodes, edges);
        assert!(r.events <= most, "{duration}: {} events", r.events);
        let (enqueued, delivered, _, ttl) = queue(&r, "q");
        assert_eq!(delivered, 0);
        // Every copy that entered `q` more than a TTL before the end expired.
        assert!(
            enqueued - ttl <= 21,
            "{duration}: {enqueued} entered, {ttl} expired"
        );
    }
}

/// A two-member group; `a` crashes at 10 s and comes back at 11.5 s. Its session times out at
/// 11 s and the group pauses to rebalance (2 s); `a`'s return at 11.5 s begins the rebalance
/// again, so the group stays paused until 13.5 s and processes nothing from 13 s to 13.5 s.
///
/// `World::rebalance_done` (src/broker/delivery/group/rebalance.rs) did not know which
/// rebalance it completed: the first one's completion at 13 s unpaused the group and assigned
/// the partitions, and the second one's at 13.5 s paused nobody and rewound everything the
/// members had fetched in between.
#[test]
fn a_rebalance_begun_again_completes_once_after_the_last_membership_change() {
    let text = r#"(
        version: 1,
        duration: "16s",
        sample_every: "100ms",
        nodes: [
            Producer(id: "p", arrival: Constant(rate: "100/s")),
            Topic(id: "t", partitions: 4),
            Consumer(id: "a", group: "g", service: Constant(time: "2ms"), commit: AfterEach,
                     session_timeout: "1s", rebalance_time: "2s"),
            Consumer(id: "b", group: "g", service: Constant(time: "2ms"), commit: AfterEach,
                     session_timeout: "1s", rebalance_time: "2s"),
        ],
        edges: [(from: "p", to: "t"), (from: "t", to: "a"), (from: "t", to: "b")],
        faults: [(at: "10s", target: "a", kind: Crash, duration: "1500ms")],
    )"#;
    let mut run = common::start(text, "rebalance.ron");
    run.run_to_end(|_| {}).unwrap_or_else(|e| panic!("{e}"));
    run.check_ledger().unwrap_or_else(|e| panic!("{e}"));
    let series = run.series();
    let processed_in = |from: f64, to: f64| -> f64 {
        series
            .time_s
            .iter()
            .zip(&series.processed_per_s)
            .filter(|&(&t, _)| t > from + 1e-9 && t <= to + 1e-9)
            .map(|(_, rate)| rate * 0.1)
            .sum()
    };
    // Paused from 11 s (b finishes what it held) to 13.5 s; before and after, it works.
    assert_eq!(
        processed_in(11.1, 13.5),
        0.0,
        "{:?}",
        series.processed_per_s
    );
    assert!(processed_in(13.5, 14.0) > 100.0);
    assert!(processed_in(9.0, 10.0) > 90.0);
    let report = run.report(None, false);
    assert_eq!(report.totals.lost, 0);
}
