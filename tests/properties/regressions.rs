//! Bugs the properties found, each pinned by the scenario that found it and named after it.

#![allow(unused_imports)]

use super::*;
use evlab::marks::{self, Mark};

// ---------------------------------------------------------------------------------------------
// Bugs found by the properties above

/// Runs `text` in steps of `step_nanos`, returning the first broken invariant.
pub(crate) fn first_broken_invariant(text: &str, step_nanos: u64) -> Option<String> {
    let text = text.to_string();
    within_time_limit(move || first_broken_invariant_now(&text, step_nanos))
}

/// Runs `f` on its own thread and returns what it returns, failing the test when it is still
/// running after 30 s (a scenario that makes the simulator spin; the thread is left to it).
pub(crate) fn within_time_limit<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let value = f();
        // The run's coverage marks count for the test waiting on it.
        let _ = sender.send((value, marks::counts()));
    });
    match receiver.recv_timeout(std::time::Duration::from_secs(30)) {
        Ok((value, hits)) => {
            marks::add(&hits);
            value
        }
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => panic!("still running after 30 s"),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => panic!("the run panicked"),
    }
}

pub(crate) fn first_broken_invariant_now(text: &str, step_nanos: u64) -> Option<String> {
    let (_, scenario) = parse(text, "regression.ron").unwrap_or_else(|e| panic!("{e}"));
    let mut run = Run::new(&scenario).unwrap_or_else(|e| panic!("{e}"));
    while !run.is_finished() {
        let until = run.now() + step_nanos;
        if let Err(e) = run.advance_to(until) {
            return Some(e.to_string());
        }
        if let Err(e) = run
            .check_ledger()
            .map_err(|e| e.to_string())
            .and_then(|()| check_consumers(&run))
        {
            return Some(format!("at {} ns: {e}", run.now()));
        }
        if let Some(c) = run.world().consumers().find(|c| c.busy() > c.concurrency()) {
            return Some(format!(
                "at {} ns: consumer `{}` busy {} > concurrency {}",
                run.now(),
                c.id(),
                c.busy(),
                c.concurrency()
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
pub(crate) fn consumer_publishing_into_its_own_queue_keeps_concurrency() {
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
pub(crate) fn report_of(text: &str) -> serde_json::Value {
    let text = text.to_string();
    within_time_limit(move || {
        let (_, scenario) = parse(&text, "regression.ron").unwrap_or_else(|e| panic!("{e}"));
        let mut run = Run::new(&scenario).unwrap_or_else(|e| panic!("{e}"));
        run.run_to_end(|_| {}).unwrap_or_else(|e| panic!("{e}"));
        serde_json::to_value(run.report(None, false)).unwrap_or_else(|e| panic!("{e}"))
    })
}

pub(crate) fn processed_by(report: &serde_json::Value, id: &str) -> u64 {
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
pub(crate) const CHAINED_REWRITES: &str = r#"(
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
pub(crate) fn chained_routing_key_rewrites_apply_to_rewritten_messages() {
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
pub(crate) fn unrelated_producer_does_not_change_routing_of_rewritten_messages() {
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
pub(crate) fn producers_with_a_tiny_rate_stay_silent() {
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

/// An at-least-once consumer with `ack_delay` and an output, idempotent, reading the queue it
/// publishes to: the copy it publishes comes straight back and is deduplicated (same message
/// id). Every copy should end counted (processed) or stay in flight.
///
/// In `World::succeeded` (src/broker/consume.rs) the deduplicated copy is not forwarded and not
/// made a ghost: it waits in hand for its ack. `World::ack_arrive` then does
/// `if message.has(flag::GHOST) || outputs > 0 { self.messages.remove(slot) }`, taking "has
/// outputs" to mean "was forwarded", so the deduplicated copy is freed without
/// `ledger.processed += 1`: one copy in flight by the counts, none found.
#[test]
pub(crate) fn deduplicated_copy_awaiting_its_ack_stays_in_the_ledger() {
    let _hit = marks::check(Mark::AckDelayDeduplicated);
    let text = r#"(
        version: 1,
        duration: "200ms",
        nodes: [
            Producer(id: "p", arrival: Constant(rate: "200/s")),
            Queue(id: "q"),
            Consumer(id: "c", service: Constant(time: "50us"), ack_delay: "1us", idempotency: Exact),
        ],
        edges: [
            (from: "p", to: "q"),
            (from: "q", to: "c"),
            (from: "c", to: "q"),
        ],
    )"#;
    assert_eq!(first_broken_invariant(text, 1_000_000), None);
}

/// A consumer with `ack_delay` and an output reads a pull queue whose visibility timeout is
/// shorter than its processing time. When the timeout runs out the message becomes visible
/// again (a new copy carries the ledger) and the one in hand becomes a ghost; the ghost must
/// not be forwarded.
///
/// In `World::succeeded`, the `waits_for_ack` branch forwards whenever
/// `outputs > 0 && effect != Effect::Deduplicated`, without looking at `flag::GHOST` (the
/// branch without an ack delay goes through `finish`, which drops ghosts). Every expired
/// delivery thus publishes one extra, uncounted copy to `q2`: at 2 ms the ledger has 1 copy in
/// flight and the queues hold 5.
#[test]
pub(crate) fn expired_pull_message_is_not_forwarded_by_a_consumer_with_ack_delay() {
    let _hit = marks::check(Mark::AckDelayGhost);
    let text = r#"(
        version: 1,
        duration: "200ms",
        nodes: [
            Producer(id: "p", arrival: Constant(rate: "121/s")),
            Queue(id: "q", delivery: Pull(visibility_timeout: "100us")),
            Consumer(id: "c", service: Constant(time: "200us"), ack_delay: "1us"),
            Queue(id: "q2"),
        ],
        edges: [
            (from: "p", to: "q"),
            (from: "q", to: "c"),
            (from: "c", to: "q2"),
        ],
    )"#;
    assert_eq!(first_broken_invariant(text, 1_000_000), None);
}

/// Messages expire from `q` into a dead-letter queue read by a consumer with `ack_delay` and an
/// output. A dead letter's journey has ended (it is out of the ledger); processing it must not
/// start a new one.
///
/// The same branch of `World::succeeded` as above forwards without looking at `flag::DEAD`
/// (`finish` drops dead letters), and `forward` clears the flags: the dead letter comes back
/// to life as a live copy in `q2` that the ledger never created (0 in flight by the counts,
/// 1 found).
#[test]
pub(crate) fn dead_letter_is_not_forwarded_by_a_consumer_with_ack_delay() {
    let _hit = marks::check(Mark::AckDelayDeadLetter);
    let text = r#"(
        version: 1,
        duration: "200ms",
        nodes: [
            Producer(id: "p", arrival: Constant(rate: "100/s")),
            Queue(id: "q", ttl: "1ms"),
            Queue(id: "dlq"),
            Consumer(id: "c", service: Constant(time: "100us"), ack_delay: "1us"),
            Queue(id: "q2"),
        ],
        edges: [
            (from: "p", to: "q"),
            (from: "q", to: "dlq", kind: DeadLetter),
            (from: "dlq", to: "c"),
            (from: "c", to: "q2"),
        ],
    )"#;
    assert_eq!(first_broken_invariant(text, 1_000_000), None);
}

/// An at-least-once topic consumer crashes (for good) while processing a record; the record
/// stays in flight until the group rebalances and fetches it again, and `check_ledger` should
/// find it.
///
/// `World::crash` (src/broker/consume.rs) frees the copies in hand and leaves the cursor's
/// `position` past them; `World::check_ledger` (src/broker/world.rs) counts log copies only
/// from `cursor.position`, so a handed-out, unprocessed record of a crashed member is counted
/// nowhere until `rebalance_done` rewinds the cursor: at 27 ms, 2 in flight by the counts, 1
/// found. (The ledger's own count is right; the recount misses the record. Rewinding the
/// crashed member's partitions in `crash`, or counting unprocessed offsets from
/// `cursor.committed` that no live copy holds, would fix it.)
#[test]
pub(crate) fn crashed_topic_consumer_keeps_its_records_in_the_ledger() {
    let text = r#"(
        version: 1,
        duration: "231ms",
        nodes: [
            Producer(id: "p", arrival: Constant(rate: "100/s")),
            Topic(id: "t"),
            Consumer(id: "c", service: Constant(time: "20ms")),
        ],
        edges: [
            (from: "p", to: "t"),
            (from: "t", to: "c"),
        ],
        faults: [(at: "26796us", target: "c", kind: Crash)],
    )"#;
    assert_eq!(first_broken_invariant(text, 1_000_000), None);
}

/// Two members of a group commit every 50 ms; `m2` crashes at 45 ms holding processed but
/// uncommitted records. After the rebalance `m1` takes over `m2`'s partition and fetches it
/// again from the committed offset. The run should complete.
///
/// `GroupCursor::rewind` (src/broker/topic.rs) sets `position = committed` but keeps the `done`
/// flags of the records processed since; `m1`'s next `commit()` then moves `committed` over
/// those flags, past `position`, and the next `take()` computes `position - committed`:
/// "attempt to subtract with overflow" at src/broker/topic.rs:134 (in a release build the
/// difference wraps and the cursor's bookkeeping is corrupt). Records skipped by retention
/// while a group has no live member leave the same `done` flags behind.
#[test]
pub(crate) fn commit_after_a_rebalance_stays_behind_the_fetch_position() {
    let text = r#"(
        version: 1,
        duration: "200ms",
        nodes: [
            Producer(id: "p", arrival: Constant(rate: "500/s")),
            Topic(id: "t", partitions: 2, partitioner: RoundRobin),
            Consumer(id: "m1", group: "g", service: Constant(time: "3ms"), commit: Interval(every: "50ms"), session_timeout: "10ms", rebalance_time: "10ms"),
            Consumer(id: "m2", group: "g", service: Constant(time: "3ms"), commit: Interval(every: "50ms"), session_timeout: "10ms", rebalance_time: "10ms"),
        ],
        edges: [
            (from: "p", to: "t"),
            (from: "t", to: "m1"),
            (from: "t", to: "m2"),
        ],
        faults: [(at: "45ms", target: "m2", kind: Crash)],
    )"#;
    let report = report_of(text);
    assert!(
        report["totals"]["redeliveries"].as_u64() > Some(0),
        "{:#}",
        report["totals"]
    );
}

/// A pull-queue consumer's processing outlasts the visibility timeout, so the message in its
/// hands is a ghost (the queue made it visible again); the consumer crashes for good at 10 ms.
/// Nothing is received after that, so at the end the queue has no unacknowledged message.
///
/// `World::crash` (src/broker/consume.rs), pull branch: a ghost in hand is removed
/// (`self.messages.remove(slot)`) without `queue.set_unacked(.., unacked - 1)`; its
/// `Invisible` entry is gone already, so nothing ever takes it off the count. Orphans are
/// taken off when their timeout ends; ghosts never are. The report says `unacked_at_end: 1`
/// and `mean_unacked` is about 1.
#[test]
pub(crate) fn crashed_pull_consumer_leaves_no_unacked_message_behind() {
    let _hit = marks::check(Mark::CrashedPullGhost);
    let text = r#"(
        version: 1,
        duration: "100ms",
        nodes: [
            Producer(id: "p", arrival: Constant(rate: "1000/s")),
            Queue(id: "q", delivery: Pull(visibility_timeout: "100us")),
            Consumer(id: "c", service: Constant(time: "162us")),
        ],
        edges: [
            (from: "p", to: "q"),
            (from: "q", to: "c"),
        ],
        faults: [(at: "10ms", target: "c", kind: Crash)],
    )"#;
    let report = report_of(text);
    let queue = report["nodes"]
        .as_array()
        .and_then(|nodes| nodes.iter().find(|n| n["id"] == "q"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(queue["unacked_at_end"], 0, "{queue:#}");
}

/// Runs the test named `name` in a child process (this test binary, with `EVLAB_CHILD` set) and
/// returns whether it passed within 20 s: for a scenario that may abort the whole process, or
/// never end. A child still running then is killed.
pub(crate) fn passes_in_a_child_process(name: &str) -> Result<(), String> {
    use std::io::Read;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut child = std::process::Command::new(exe)
        .args([
            "--exact",
            &format!("regressions::{name}"),
            "--test-threads=1",
        ])
        .env("EVLAB_CHILD", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    let started = std::time::Instant::now();
    let status = loop {
        match child.try_wait().map_err(|e| e.to_string())? {
            Some(status) => break status,
            None if started.elapsed() > std::time::Duration::from_secs(20) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err("still running after 20 s".into());
            }
            None => std::thread::sleep(std::time::Duration::from_millis(20)),
        }
    };
    let mut out = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        let _ = stdout.read_to_string(&mut out);
    }
    // Exactly this test ran, and passed.
    if status.success() && out.contains("1 passed") {
        Ok(())
    } else {
        Err(format!("the run died or broke its ledger ({status})"))
    }
}

/// Runs `text` to its end, which it must reach (neither stopped nor failed), and checks its
/// ledger: the body of the regression tests whose scenarios may abort the process (see
/// [`passes_in_a_child_process`]).
pub(crate) fn runs_with_its_ledger(text: &str) {
    let (_, scenario) = parse(text, "regression.ron").unwrap_or_else(|e| panic!("{e}"));
    let mut run = Run::new(&scenario).unwrap_or_else(|e| panic!("{e}"));
    if let Err(e) = run.run_to_end(|_| {}) {
        panic!("the run did not reach its end: {e}");
    }
    assert!(run.is_finished());
    assert_eq!(run.check_ledger(), Ok(()));
}

/// A queue with a delivery limit of 1 dead-letters through a fanout exchange bound back to
/// itself, and its consumer always fails: the first failure sends the message along the
/// dead-letter edge, back into the same queue, where it is over its limit at once. RabbitMQ
/// drops a message that cycles like this; evlab should end it somehow, or at least stop the run
/// with an error.
///
/// `World::deliver` (src/broker/flow.rs): an over-limit copy goes `send_along` ->
/// `publish` -> `enqueue` -> (a consumer is waiting: it was just put back at the front of the
/// waiting list) `deliver` -> over the limit again, and so on, keeping its delivery count:
/// unbounded recursion within one event, so the engine's stall detection never runs and the
/// process dies of a stack overflow (SIGABRT). The same happens with a `kind: Retry` edge and
/// through any cycle of limited queues and exchanges. Run in a child process so that the abort
/// fails this test only.
#[test]
pub(crate) fn delivery_limit_cycle_does_not_overflow_the_stack() {
    if std::env::var_os("EVLAB_CHILD").is_some() {
        runs_with_its_ledger(
            r#"(
            version: 1,
            duration: "1s",
            nodes: [
                Producer(id: "p", arrival: Constant(rate: "10/s")),
                Queue(id: "q", max_deliveries: 1),
                Exchange(id: "x", type: Fanout),
                Consumer(id: "c", service: Constant(time: "1ms"), failure_probability: 1.0),
            ],
            edges: [
                (from: "p", to: "q"),
                (from: "q", to: "c"),
                (from: "q", to: "x", kind: DeadLetter),
                (from: "x", to: "q"),
            ],
        )"#,
        );
        return;
    }
    assert_eq!(
        passes_in_a_child_process("delivery_limit_cycle_does_not_overflow_the_stack"),
        Ok(())
    );
}

/// Two full drop-head queues (max length 1) dead-letter into a fanout exchange that feeds them
/// both. Dead letters are out of the ledger, and a drop-head queue that is full drops its head
/// to make room: the run should go on with both queues at their max length.
///
/// `World::enqueue` (src/broker/flow.rs) sends the dropped head along the dead-letter edge
/// synchronously, *before* pushing the new message: the exchange copies it into both queues,
/// the other one is full and dead-letters its head into the exchange, which copies it into
/// both, and so on: unbounded recursion, stack overflow (SIGABRT) at the first overflow. Run
/// in a child process.
#[test]
pub(crate) fn overflow_dead_letter_cycle_does_not_overflow_the_stack() {
    if std::env::var_os("EVLAB_CHILD").is_some() {
        runs_with_its_ledger(
            r#"(
            version: 1,
            duration: "100ms",
            nodes: [
                Producer(id: "p", arrival: Constant(rate: "100/s")),
                Exchange(id: "x", type: Fanout),
                Queue(id: "q1", max_length: 1),
                Queue(id: "q2", max_length: 1),
            ],
            edges: [
                (from: "p", to: "x"),
                (from: "x", to: "q1"),
                (from: "x", to: "q2"),
                (from: "q1", to: "x", kind: DeadLetter),
                (from: "q2", to: "x", kind: DeadLetter),
            ],
        )"#,
        );
        return;
    }
    assert_eq!(
        passes_in_a_child_process("overflow_dead_letter_cycle_does_not_overflow_the_stack"),
        Ok(())
    );
}

/// A full drop-head queue (max length 2, no consumer) whose dead-letter edge leads back to
/// itself through a fanout exchange. It should never hold more than 2 ready messages.
///
/// `World::enqueue` (src/broker/flow.rs) pops the head of the full queue and dead-letters it
/// at once; the dead letter comes back and is pushed (the queue has room again), and only then
/// is the new message pushed: one more over the limit with every publish, without bound. The
/// report says `max_depth: 10` and `depth_at_end: 10`. (Messages requeued at the head after a
/// crash also take a drop-head queue over its max length, where it then stays, one head dropped
/// per publish; RabbitMQ would drop heads until it is back at the limit. Not pinned: the
/// overshoot is bounded by what was in the consumers' hands.)
#[test]
pub(crate) fn full_queue_dead_lettering_into_itself_keeps_its_max_length() {
    let text = r#"(
        version: 1,
        duration: "100ms",
        nodes: [
            Producer(id: "p", arrival: Constant(rate: "100/s")),
            Queue(id: "q", max_length: 2),
            Exchange(id: "x", type: Fanout),
        ],
        edges: [
            (from: "p", to: "q"),
            (from: "q", to: "x", kind: DeadLetter),
            (from: "x", to: "q"),
        ],
    )"#;
    let report = report_of(text);
    let queue = report["nodes"]
        .as_array()
        .and_then(|nodes| nodes.iter().find(|n| n["id"] == "q"))
        .cloned()
        .unwrap_or_default();
    assert!(queue["max_depth"].as_u64() <= Some(2), "{queue:#}");
}

/// Which messages are poison should not depend on unrelated parts of the topology: adding a
/// disconnected producer -> queue -> consumer chain must not change how often `c` fails.
///
/// `World::fails` (src/broker/consume.rs) decides poison with `poison_draw(message.id)`, and
/// message ids come from one counter for the whole world (`World::next_message_id`, bumped in
/// `produce`): the extra producer's messages take ids, `p`'s messages get others, and a
/// different set of them is poison (`failed` 53 -> 68 here). Found by
/// `adding_a_node_does_not_change_other_draws`. Drawing poison from the producer's id and its
/// own sequence number would keep the property.
#[test]
pub(crate) fn unrelated_producer_does_not_change_which_messages_are_poison() {
    let base = r#"(
        version: 1,
        duration: "1s",
        nodes: [
            Producer(id: "p", arrival: Constant(rate: "200/s")),
            Queue(id: "q"),
            Consumer(id: "c", service: Constant(time: "1ms"), poison_fraction: 0.3),
        ],
        edges: [
            (from: "p", to: "q"),
            (from: "q", to: "c"),
        ],
    )"#;
    let with_extra = base
        .replace(
            "nodes: [",
            r#"nodes: [
        Producer(id: "extra-producer", arrival: Constant(rate: "300/s")),
        Queue(id: "extra-queue"),
        Consumer(id: "extra-consumer", service: Constant(time: "1ms")),"#,
        )
        .replace(
            "edges: [",
            r#"edges: [
        (from: "extra-producer", to: "extra-queue"),
        (from: "extra-queue", to: "extra-consumer"),"#,
        );
    let failed = |report: &serde_json::Value| {
        report["nodes"]
            .as_array()
            .and_then(|nodes| nodes.iter().find(|n| n["id"] == "c"))
            .and_then(|c| c["failed"].as_u64())
    };
    let (before, after) = (report_of(base), report_of(&with_extra));
    assert!(failed(&before) > Some(0));
    assert_eq!(failed(&before), failed(&after));
}

/// Two at-most-once members of a group, each busy for 50 ms per record; `m2` crashes for good
/// at 50 ms, its session times out at 60 ms, and the rebalance ends at 70 ms while `m1` holds a
/// record. That record was committed when it was fetched (at-most-once), so nobody fetches it
/// again: `m1` should finish it and count it processed.
///
/// `World::rebalance_done` (src/broker/consume.rs) marks every record in a member's hands as a
/// ghost ("fetched again from the committed offset: the fetched copy carries the ledger"),
/// whatever the member's ack mode; for an at-most-once member the committed offset is already
/// past it, so no copy carries it, `check_ledger` no longer counts the ghost, and when it
/// finishes `succeeded` drops it without `ledger.processed += 1`: one copy in flight by the
/// counts and missing from the structures from 70 ms to the end of the run.
#[test]
pub(crate) fn rebalance_keeps_the_records_of_at_most_once_members_in_the_ledger() {
    let _hit = marks::check(Mark::AtMostOnceThroughRebalance);
    let text = r#"(
        version: 1,
        duration: "200ms",
        nodes: [
            Producer(id: "p", arrival: Constant(rate: "100/s")),
            Topic(id: "t", partitions: 2, partitioner: RoundRobin),
            Consumer(id: "m1", group: "g", ack: BeforeProcessing, service: Constant(time: "50ms"), session_timeout: "10ms", rebalance_time: "10ms"),
            Consumer(id: "m2", group: "g", ack: BeforeProcessing, service: Constant(time: "50ms"), session_timeout: "10ms", rebalance_time: "10ms"),
        ],
        edges: [
            (from: "p", to: "t"),
            (from: "t", to: "m1"),
            (from: "t", to: "m2"),
        ],
        faults: [(at: "50ms", target: "m2", kind: Crash)],
    )"#;
    assert_eq!(first_broken_invariant(text, 1_000_000), None);
}

/// A consumer restarts at 15 ms with a backlog and finishes a message every 1 ms from then on,
/// at 16 ms, 17 ms, ... A crash is injected at 20 ms (after advancing to 20 ms), and the
/// session is saved with it as a scenario fault at 20 ms. `Run::inject` promises that the
/// saved scenario replays identically.
///
/// It does not when the injection instant is also the time of other events: the live run has
/// executed every event at 20 ms (`run_until` pops events at or before `until`) when the crash
/// comes, so the message finishing at 20 ms is processed; in the replay the `FaultStart`
/// scheduled at build time is the first event at 20 ms, so the crash comes first and that
/// message is requeued: `processed` differs by one (and with it latencies, depths and the time
/// series). Slice ends are round numbers, so are `Sample` events and constant service times,
/// so such ties are common. (The engine's `events` count also differs by one per injected
/// fault, since an injected fault starts without an event; the property ignores that count.)
#[test]
pub(crate) fn injected_fault_replays_identically_from_the_saved_scenario() {
    let text = r#"(
        version: 1,
        duration: "40ms",
        nodes: [
            Producer(id: "p", arrival: Constant(rate: "2000/s")),
            Queue(id: "q"),
            Consumer(id: "c", service: Constant(time: "1ms")),
        ],
        edges: [
            (from: "p", to: "q"),
            (from: "q", to: "c"),
        ],
        faults: [(at: "10ms", target: "c", kind: Crash, duration: "5ms")],
    )"#;
    let (raw, scenario) = parse(text, "regression.ron").unwrap_or_else(|e| panic!("{e}"));
    let mut live = Run::new(&scenario).unwrap_or_else(|e| panic!("{e}"));
    live.advance_to(20_000_000)
        .unwrap_or_else(|e| panic!("{e}"));
    live.inject(FaultTarget::Node(2), FaultKind::Crash, None)
        .unwrap_or_else(|e| panic!("{e}"));
    live.run_to_end(|_| {}).unwrap_or_else(|e| panic!("{e}"));
    let mut saved = raw.clone();
    saved.faults.push(RawFault {
        at: ms(20),
        target: "c".into(),
        kind: FaultKind::Crash,
        duration: None,
    });
    let replay = check(&saved).unwrap_or_else(|e| panic!("{e:?}"));
    let mut again = Run::new(&replay).unwrap_or_else(|e| panic!("{e}"));
    again.run_to_end(|_| {}).unwrap_or_else(|e| panic!("{e}"));
    let (live, again) = (live.report(None, false), again.report(None, false));
    assert_eq!(
        (live.totals.processed, live.totals.in_flight_at_end),
        (again.totals.processed, again.totals.in_flight_at_end)
    );
}

/// A message loops through a pull queue: `c` takes 1 ms per message (well within the 10 ms
/// visibility timeout) and publishes it back into `q`. No message is ever held past its
/// visibility timeout, so nothing should be redelivered.
///
/// `Invisible` deadlines (src/broker/queue.rs) stay in the queue after the message is deleted,
/// and `World::visibility_expired` (src/broker/flow.rs) tells a stale one from a live one by
/// slot, message id and receive count only. The copy `c` publishes back keeps the message id,
/// restarts its delivery count (`forward` sets `deliveries = 0`), and continues in the same
/// slot (`finish` -> `forward(.., Some(slot))`); on its next receive it matches the first
/// receive's deadline, still pending, and is made visible again 10 ms after the *first* receive
/// while `c` holds it: `redeliveries` is 16 and the duplicates follow. Any way a second copy of
/// a message reaches a pull queue (loops, consumers upstream processing duplicates, arena slots
/// reused) does the same; it also made `adding_a_node_does_not_change_other_draws` fail, since
/// the extra chain's messages change which arena slots are reused.
#[test]
pub(crate) fn message_back_in_a_pull_queue_keeps_its_own_visibility_deadline() {
    let _hit = marks::check(Mark::StaleVisibilityDeadline);
    let text = r#"(
        version: 1,
        duration: "200ms",
        nodes: [
            Producer(id: "p", arrival: Constant(rate: "10/s")),
            Queue(id: "q", delivery: Pull(visibility_timeout: "10ms")),
            Consumer(id: "c", service: Constant(time: "1ms")),
        ],
        edges: [
            (from: "p", to: "q"),
            (from: "q", to: "c"),
            (from: "c", to: "q"),
        ],
    )"#;
    let report = report_of(text);
    assert_eq!(
        report["totals"]["redeliveries"], 0,
        "{:#}",
        report["totals"]
    );
}

/// Three faults injected at one instant (slow-downs of `c` by 3, then 2, then 1.5: the last
/// one stands), and the session saved as a scenario with the three faults at that instant, in
/// that order. The replay should apply them in the same order and end with the same report.
///
/// (Found against the uncommitted change that makes `World::fault_start`
/// (src/broker/consume.rs) yield to other events at its instant: a `FaultStart` that finds
/// another event at `now` is scheduled again at `now`, up to `MAX_FAULT_DEFERRALS` times in
/// all. Faults at one instant are each other's "other events": they rotate until the
/// deferral budget runs out, and then apply in whatever order the rotation left them, here
/// not the order they were saved in, so `c` ends slowed by another factor.)
#[test]
pub(crate) fn faults_at_one_instant_replay_in_their_order() {
    let _hit = marks::check(Mark::FaultsAtOneInstant);
    let text = r#"(
        version: 1,
        duration: "100ms",
        nodes: [
            Producer(id: "p", arrival: Constant(rate: "100/s")),
            Queue(id: "q"),
            Consumer(id: "c", service: Constant(time: "1ms")),
        ],
        edges: [
            (from: "p", to: "q"),
            (from: "q", to: "c"),
        ],
    )"#;
    let (raw, scenario) = parse(text, "regression.ron").unwrap_or_else(|e| panic!("{e}"));
    let at = 20_000_777;
    let factors = [3.0, 2.0, 1.5];
    let mut live = Run::new(&scenario).unwrap_or_else(|e| panic!("{e}"));
    live.advance_to(at).unwrap_or_else(|e| panic!("{e}"));
    for factor in factors {
        live.inject(FaultTarget::Node(2), FaultKind::Slow { factor }, None)
            .unwrap_or_else(|e| panic!("{e}"));
    }
    live.run_to_end(|_| {}).unwrap_or_else(|e| panic!("{e}"));
    let mut saved = raw.clone();
    saved.faults = factors
        .iter()
        .map(|&factor| RawFault {
            at: Duration::from_nanos(at),
            target: "c".into(),
            kind: FaultKind::Slow { factor },
            duration: None,
        })
        .collect();
    let replay = check(&saved).unwrap_or_else(|e| panic!("{e:?}"));
    let mut again = Run::new(&replay).unwrap_or_else(|e| panic!("{e}"));
    again.run_to_end(|_| {}).unwrap_or_else(|e| panic!("{e}"));
    let service = |run: &Run| {
        serde_json::to_value(run.report(None, false).nodes)
            .ok()
            .and_then(|nodes| {
                nodes
                    .as_array()
                    .and_then(|a| a.iter().find(|n| n["id"] == "c"))
                    .map(|c| c["mean_service_ms"].clone())
            })
    };
    assert_eq!(service(&live), service(&again));
}

/// A topic consumer fails about half its records for good (one attempt, no dead-letter edge:
/// lost as rejected) and commits only every second; it crashes for 1 us at 50 ms, and the
/// group rebalances. Every record ends once: processed or rejected.
///
/// (Found with the generator's exclusions turned off, against the fixes in progress after
/// commit 094aef7.) After the rebalance the group fetches again from its committed offset, and
/// records it had already rejected (complete but not committed) are processed again; those that
/// fail again go through `World::failed` (src/broker/consume.rs), which releases them and
/// counts `lost.rejected` once more, without asking the cursor whether the offset was already
/// complete, as `succeeded` does for processed records: more copies end than were created.
#[test]
pub(crate) fn record_rejected_before_a_rebalance_is_lost_once() {
    let _hit = marks::check(Mark::FailedAfterItsJourneyEnded);
    let text = r#"(
        version: 1,
        duration: "200ms",
        nodes: [
            Producer(id: "p", arrival: Constant(rate: "400/s")),
            Topic(id: "t"),
            Consumer(id: "c", service: Constant(time: "100us"), failure_probability: 0.5, commit: Interval(every: "1s"), session_timeout: "10ms", rebalance_time: "10ms"),
        ],
        edges: [
            (from: "p", to: "t"),
            (from: "t", to: "c"),
        ],
        faults: [(at: "50ms", target: "c", kind: Crash, duration: "1us")],
    )"#;
    assert_eq!(first_broken_invariant(text, 1_000_000), None);
}

/// A full drop-head queue (max length 1) whose retry edge leads back to itself through a
/// fanout exchange. Retried messages are not dead letters, so each dropped head came straight
/// back and dropped the next one.
///
/// `World::make_room` (src/broker/flow.rs) dropped heads in a loop whose every turn began a new
/// dead-letter cascade, so the cascade limit never applied: the first overflow never returned.
/// Run in a child process, which is killed after 20 s.
#[test]
pub(crate) fn drop_head_queue_retrying_into_itself_does_not_hang() {
    if std::env::var_os("EVLAB_CHILD").is_some() {
        runs_with_its_ledger(
            r#"(
            version: 1,
            duration: "100ms",
            nodes: [
                Producer(id: "p", arrival: Constant(rate: "100/s")),
                Exchange(id: "x", type: Fanout),
                Queue(id: "q", max_length: 1),
            ],
            edges: [
                (from: "p", to: "x"),
                (from: "x", to: "q"),
                (from: "q", to: "x", kind: Retry),
            ],
        )"#,
        );
        return;
    }
    assert_eq!(
        passes_in_a_child_process("drop_head_queue_retrying_into_itself_does_not_hang"),
        Ok(())
    );
}

/// A topic consumer publishes every record to two queues and commits only every second; it
/// crashes for 1 us at 25 ms, and after the rebalance the group fetches again from its
/// committed offset: the records it had processed are processed (and published) again, as
/// duplicates. Each duplicate is one more copy, which its two outputs fan out to two.
///
/// `World::succeeded` (src/broker/consume.rs) counted `duplicate_copies += outputs` for a
/// record processed again, and then `forward` counted the extra output in `fanned_out` as
/// well: three copies created for the two published, one too many per duplicate with two
/// outputs (found by `random_valid_scenarios_conserve_messages`, a consumer publishing to a
/// queue and to an exchange).
#[test]
pub(crate) fn record_processed_again_after_a_rebalance_is_one_duplicate_copy() {
    let _hit = marks::check(Mark::ReprocessedDuplicate);
    let text = r#"(
        version: 1,
        duration: "100ms",
        nodes: [
            Producer(id: "p", arrival: Constant(rate: "100/s")),
            Topic(id: "t"),
            Consumer(id: "c", service: Constant(time: "50us"), commit: Interval(every: "1s"), rebalance_time: "10ms"),
            Queue(id: "q1"),
            Queue(id: "q2"),
        ],
        edges: [
            (from: "p", to: "t"),
            (from: "t", to: "c"),
            (from: "c", to: "q1"),
            (from: "c", to: "q2"),
        ],
        faults: [(at: "25ms", target: "c", kind: Crash, duration: "1us")],
    )"#;
    assert_eq!(first_broken_invariant(text, 1_000_000), None);
}

/// Messages expire in `q` and are dead-lettered into a topic that keeps one record (150 B of
/// 100 B records); `c` takes 50 ms per record and crashes at 30 ms while it holds the first
/// one, which retention deleted at 20 ms. Dead letters are out of the ledger: nothing is in
/// flight after the crash.
///
/// The crash rewinds the group to its committed offset (0), below the log start, and
/// `World::check_ledger` counts every unfinished offset from the position to the log end as
/// a copy in the log, reading dead-letter flags from records that are no longer there: the
/// deleted dead letter counts as one copy in flight. (`World::trim` then guessed the flags of
/// such offsets from the record it was deleting.) Now `trim` marks a fetched dead letter done
/// when it deletes it, and a rewind below the log start applies the group's offset reset at
/// once (see `group_rewound_below_the_log_start_reads_from_it`).
#[test]
pub(crate) fn dead_letter_deleted_from_a_log_while_in_hand_is_not_counted_after_a_crash() {
    let text = r#"(
        version: 1,
        duration: "100ms",
        nodes: [
            Producer(id: "p", arrival: Constant(rate: "100/s"), size: "100B"),
            Queue(id: "q", ttl: "1ms"),
            Topic(id: "t", retention_bytes: "150B", segment_bytes: "1B", retention_check: "1ms"),
            Consumer(id: "c", service: Constant(time: "50ms"), commit: Interval(every: "1s")),
        ],
        edges: [
            (from: "p", to: "q"),
            (from: "q", to: "t", kind: DeadLetter),
            (from: "t", to: "c"),
        ],
        faults: [(at: "30ms", target: "c", kind: Crash)],
    )"#;
    assert_eq!(first_broken_invariant(text, 1_000_000), None);
}

/// A topic keeps two records (Kafka deletes a segment only while what is left stays at or
/// above `retention_bytes`, 150 B: a record a segment, 100 B each); its producer stops after
/// three. `c` (50 ms per record, `auto_offset_reset: Earliest`) holds the first when retention
/// deletes it, crashes at 25 ms and restarts at once; after the rebalance its group's committed
/// offset (0) is below the log start (1). Kafka's fetch is then out of range and the group
/// resets to the earliest record still kept, offset 1, and processes offsets 1 and 2.
///
/// The rewind (`World::crash`, `World::rebalance_done` in src/broker/consume.rs) put the
/// position at 0, `World::fetch` found no record there and took the partition for idle, and
/// only a later deletion (`World::trim`) would have moved it on: with nothing appended any
/// more, `c` processed nothing and the two deleted offsets stayed in flight to the end.
#[test]
pub(crate) fn group_rewound_below_the_log_start_reads_from_it() {
    let _hit = marks::check(Mark::RewoundBelowLogStart);
    let text = r#"(
        version: 1,
        duration: "300ms",
        nodes: [
            Producer(id: "p", arrival: Schedule(steps: [(at: "0s", rate: "100/s"), (at: "35ms", rate: "0/s")]), size: "100B"),
            Topic(id: "t", retention_bytes: "150B", segment_bytes: "1B", retention_check: "1ms"),
            Consumer(id: "c", service: Constant(time: "50ms"), commit: Interval(every: "1s"), rebalance_time: "10ms", auto_offset_reset: Earliest),
        ],
        edges: [
            (from: "p", to: "t"),
            (from: "t", to: "c"),
        ],
        faults: [(at: "25ms", target: "c", kind: Crash, duration: "1us")],
    )"#;
    assert_eq!(first_broken_invariant(text, 1_000_000), None);
    let report = report_of(text);
    assert_eq!(processed_by(&report, "c"), 2);
    assert_eq!(
        report["totals"]["in_flight_at_end"], 0,
        "{:#}",
        report["totals"]
    );
}

/// Messages expire in `q` and are dead-lettered into the pull queue `dlq`; `c` receives one
/// and crashes at 30 ms while processing it. SQS leaves it invisible until its visibility
/// timeout ends; it is a dead letter, out of the ledger: nothing is in flight.
///
/// `World::crash` (src/broker/consume.rs) counts every received message of a crashed pull
/// consumer in `orphans`, dead letters included, and `World::check_ledger` counted all orphans
/// as copies in flight. The check now recounts orphans from the queue's visibility deadlines,
/// leaving dead letters out (and checks the count against `orphans`).
#[test]
pub(crate) fn dead_letter_received_by_a_crashed_pull_consumer_is_not_in_flight() {
    let _hit = marks::check(Mark::DeadOrphan);
    let text = r#"(
        version: 1,
        duration: "100ms",
        nodes: [
            Producer(id: "p", arrival: Constant(rate: "100/s")),
            Queue(id: "q", ttl: "1ms"),
            Queue(id: "dlq", delivery: Pull(visibility_timeout: "100ms")),
            Consumer(id: "c", service: Constant(time: "50ms")),
        ],
        edges: [
            (from: "p", to: "q"),
            (from: "q", to: "dlq", kind: DeadLetter),
            (from: "dlq", to: "c"),
        ],
        faults: [(at: "30ms", target: "c", kind: Crash)],
    )"#;
    assert_eq!(first_broken_invariant(text, 1_000_000), None);
}

/// A group mixes ack modes: `a` (at-least-once, commits every second) reads the topic's only
/// partition and crashes at 50 ms; after the rebalance `b` (at-most-once) owns it and fetches
/// from the committed offset, 0: the five records `a` processed come again, as duplicates
/// whose copies already ended. Every record is processed once in the ledger, and the five
/// are duplicates.
///
/// At-most-once members commit on fetch (`World::fetch`, src/broker/flow.rs), which forgets
/// which offsets past the committed one were finished, so `World::succeeded`
/// (src/broker/consume.rs) took every record an at-most-once member processed for the first
/// of its offset, and `World::check_ledger` counted every record in its hands: the replayed
/// records were processed twice in the ledger (more copies ended than were created, found by
/// both random properties). Now `fetch` flags such a record `REPLAYED` before committing.
#[test]
pub(crate) fn record_replayed_by_an_at_most_once_member_is_a_duplicate() {
    let _hit = marks::check(Mark::ReplayedAtMostOnce);
    let text = r#"(
        version: 1,
        duration: "200ms",
        nodes: [
            Producer(id: "p", arrival: Constant(rate: "100/s")),
            Topic(id: "t"),
            Consumer(id: "a", group: "g", service: Constant(time: "1ms"), commit: Interval(every: "1s"), session_timeout: "10ms", rebalance_time: "10ms"),
            Consumer(id: "b", group: "g", service: Constant(time: "1ms"), ack: BeforeProcessing, session_timeout: "10ms", rebalance_time: "10ms"),
        ],
        edges: [
            (from: "p", to: "t"),
            (from: "t", to: "a"),
            (from: "t", to: "b"),
        ],
        faults: [(at: "50ms", target: "a", kind: Crash)],
    )"#;
    assert_eq!(first_broken_invariant(text, 1_000_000), None);
    let totals = report_of(text)["totals"].clone();
    let count = |name: &str| totals[name].as_u64();
    assert_eq!(
        (count("produced"), count("processed"), count("duplicates")),
        (Some(20), Some(20), Some(5)),
        "{totals:#}"
    );
}

/// A session that has not run yet: the scenario slows `c` down by 2 at 0 s, and a slow-down
/// by 3 is injected at once, before the first `advance_to`. Saved as a scenario, the session
/// has both faults at 0 s, the injected one last, and the replay ends with `c` slowed by 3.
/// The live session should too.
///
/// `World::inject` (src/broker/consume.rs) applied the injected fault at once, as if the
/// instant had run to its end, but at 0 s nothing had run yet: the scenario's own fault at
/// 0 s came after it and won (found by `faults_injected_at_run_time_keep_the_ledger`, "the
/// saved session replays differently"). Events produced at that instant saw the difference
/// too. Now a fault injected into an instant that still has events waiting takes its turn
/// after them, as a scheduled fault does.
#[test]
pub(crate) fn fault_injected_before_the_first_instant_runs_replays_identically() {
    let _hit = marks::check(Mark::InjectedIntoUnrunInstant);
    let text = r#"(
        version: 1,
        duration: "100ms",
        nodes: [
            Producer(id: "p", arrival: Constant(rate: "100/s")),
            Queue(id: "q"),
            Consumer(id: "c", service: Constant(time: "1ms")),
        ],
        edges: [
            (from: "p", to: "q"),
            (from: "q", to: "c"),
        ],
        faults: [(at: "0s", target: "c", kind: Slow(factor: 2.0))],
    )"#;
    let (raw, scenario) = parse(text, "regression.ron").unwrap_or_else(|e| panic!("{e}"));
    let mut live = Run::new(&scenario).unwrap_or_else(|e| panic!("{e}"));
    live.inject(FaultTarget::Node(2), FaultKind::Slow { factor: 3.0 }, None)
        .unwrap_or_else(|e| panic!("{e}"));
    live.run_to_end(|_| {}).unwrap_or_else(|e| panic!("{e}"));
    let mut saved = raw.clone();
    saved.faults.push(RawFault {
        at: ms(0),
        target: "c".into(),
        kind: FaultKind::Slow { factor: 3.0 },
        duration: None,
    });
    let replay = check(&saved).unwrap_or_else(|e| panic!("{e:?}"));
    let mut again = Run::new(&replay).unwrap_or_else(|e| panic!("{e}"));
    again.run_to_end(|_| {}).unwrap_or_else(|e| panic!("{e}"));
    let service = |run: &Run| {
        serde_json::to_value(run.report(None, false).nodes)
            .ok()
            .and_then(|nodes| {
                nodes
                    .as_array()
                    .and_then(|a| a.iter().find(|n| n["id"] == "c"))
                    .map(|c| c["mean_service_ms"].clone())
            })
    };
    assert_eq!(service(&live), service(&again));
    // Both slow-downs last to the end, so they multiply: 1 ms x 2 x 3.
    assert_eq!(service(&again), Some(6.0.into()));
}

/// Runs `text`, which must stop on its `max_in_flight` cap, and returns the ledger check after
/// the stop.
pub(crate) fn ledger_after_the_cap_stops(text: &str) -> Result<(), LedgerError> {
    let (_, scenario) = parse(text, "regression.ron").unwrap_or_else(|e| panic!("{e}"));
    let mut run = Run::new(&scenario).unwrap_or_else(|e| panic!("{e}"));
    match run.run_to_end(|_| {}) {
        Err(RunError::Stopped { cause, .. }) if cause.is_in_flight_cap() => {}
        other => panic!("the run should stop on its cap: {other:?}"),
    }
    run.check_ledger()
}

/// A producer publishes over a link with latency into a queue nobody reads, until the arena
/// is full (`max_in_flight: 10`) and the run stops. The copy that found the arena full is
/// lost (overflow), as one a queue finds no room for is.
///
/// `World::send_over` (src/broker/link.rs) stores a copy for its time in transit and returned
/// when the arena was full without accounting for it: one copy in flight by the counts and
/// none found (found by `faults_injected_at_run_time_keep_the_ledger`, a `Delay` injected on a
/// producer's edge). The producer's retries (`World::lost_on_link`, `World::publish_refused`)
/// dropped a copy the same way when they could not park it.
#[test]
pub(crate) fn copy_that_finds_the_arena_full_on_a_link_is_lost() {
    let _hit = marks::check(Mark::ArenaFullOnLink);
    let text = r#"(
        version: 1,
        duration: "100ms",
        limits: (max_in_flight: 10),
        nodes: [
            Producer(id: "p", arrival: Constant(rate: "1000/s")),
            Queue(id: "q"),
        ],
        edges: [
            (from: "p", to: "q", latency: "1ms"),
        ],
    )"#;
    assert_eq!(ledger_after_the_cap_stops(text), Ok(()));
}

/// A replicated topic keeps three records (a record a segment, 100 B each: Kafka deletes one
/// only while 250 B stay); its one consumer takes
/// 50 ms per record and resets to the latest offset when retention deletes records it has not
/// fetched. The partition's leader fails at 30 ms: the new leader has only what the follower
/// had (the high watermark). The group's position and committed offset stay within the log,
/// and every record ends once.
///
/// `World::trim` and `World::reset_below_log_start` (src/broker/flow.rs) reset a group to the
/// log-end offset, past the records the followers did not have yet, which consumers cannot
/// read: Kafka's `latest` is the high watermark. The failover then truncated the log below the
/// group's offsets (`GroupState::lag` underflowed: "attempt to subtract with overflow" at the
/// next sample), and the records skipped past the watermark were counted lost to retention
/// and then written again by the producer's retry or lost to the broker failure (found by
/// `random_valid_scenarios_conserve_messages`).
#[test]
pub(crate) fn latest_offset_reset_stops_at_the_high_watermark() {
    let _hit = marks::check(Mark::LatestResetAtHighWatermark);
    let text = r#"(
        version: 1,
        duration: "200ms",
        sample_every: "1ms",
        nodes: [
            Producer(id: "p", arrival: Constant(rate: "1000/s"), size: "100B", acks: All, retries: (max: 3, backoff: "1ms", timeout: "10ms")),
            Topic(id: "t", retention_bytes: "250B", segment_bytes: "1B", retention_check: "1ms", replication_factor: 2, replication_delay: "5ms", failover: "1ms"),
            Consumer(id: "c", service: Constant(time: "50ms"), commit: AfterEach),
        ],
        edges: [
            (from: "p", to: "t"),
            (from: "t", to: "c"),
        ],
        faults: [(at: "30ms", target: "t", kind: BrokerFailure(), duration: "10ms")],
    )"#;
    assert_eq!(first_broken_invariant(text, 1_000_000), None);
}

/// A replicated topic (replication delay 5 ms, a record every 1 ms) keeps about three records
/// (a record a segment, 100 B each, at least 250 B kept), fewer than its followers lag behind. Retention deletes only what
/// every in-sync replica has (Kafka deletes segments below the high watermark only), and the
/// consumer reads records as they become readable.
///
/// `World::trim` (src/broker/flow.rs) deleted the oldest record as soon as the partition held
/// more, before its followers had it; `World::replicated` (src/broker/failover.rs) moves the
/// high watermark only over records it finds, so it stopped at the first deleted offset for
/// good: the consumer processed nothing in the whole run, and the partition was never
/// readable again.
#[test]
pub(crate) fn retention_keeps_records_the_followers_do_not_have_yet() {
    let text = r#"(
        version: 1,
        duration: "200ms",
        nodes: [
            Producer(id: "p", arrival: Constant(rate: "1000/s"), size: "100B"),
            Topic(id: "t", retention_bytes: "250B", segment_bytes: "1B", retention_check: "1ms", replication_factor: 2, replication_delay: "5ms"),
            Consumer(id: "c", service: Constant(time: "100us"), commit: AfterEach),
        ],
        edges: [
            (from: "p", to: "t"),
            (from: "t", to: "c"),
        ],
    )"#;
    assert_eq!(first_broken_invariant(text, 1_000_000), None);
    let report = report_of(text);
    assert!(processed_by(&report, "c") >= 150, "{:#}", report["totals"]);
}

/// `c` fails every message once (then succeeds) and retries it after 20 ms, back at the tail of
/// its queue; the queue's broker is down from 30 ms to 80 ms. A broker that is down delivers
/// nothing: the retries that come back meanwhile wait for it, and `c` holds nothing.
///
/// `World::queue_broker_failure` (src/broker/failover.rs) leaves the queue's live consumers
/// waiting for deliveries, and `World::enqueue` (src/broker/flow.rs) hands a copy straight to
/// a waiting consumer without asking whether the queue is online: a delayed retry (or a pull
/// queue's message whose visibility timeout ended) arriving during the outage was delivered
/// by the failed broker (found by the check, added with broker faults in the generator, that
/// the consumers of a queue that is down hold nothing).
#[test]
pub(crate) fn queue_whose_broker_is_down_delivers_no_retry() {
    let _hit = marks::check(Mark::BrokerDownHolds);
    let text = r#"(
        version: 1,
        duration: "150ms",
        nodes: [
            Producer(id: "p", arrival: Constant(rate: "100/s")),
            Queue(id: "q"),
            Consumer(id: "c", service: Constant(time: "1ms"), retry: (backoff: Fixed(delay: "20ms"), max_attempts: 2)),
        ],
        edges: [
            (from: "p", to: "q"),
            (from: "q", to: "c"),
        ],
        faults: [
            (at: "0s", target: "c", kind: Fail(probability: 1.0), duration: "30ms"),
            (at: "30ms", target: "q", kind: BrokerFailure(), duration: "50ms"),
        ],
    )"#;
    assert_eq!(first_broken_invariant(text, 1_000_000), None);
}
