//! Hostile scenario files: each one once aborted evlab, took the machine's memory or
//! ran for minutes without a word. Each must now end in a clear error or a bounded run.
//!
//! Memory is asserted in bytes allocated (a counting allocator) and time in engine
//! events, never in seconds: a fast machine cannot make these tests pass by accident.
//! The cases that fit in a small file are also kept as files under `tests/hostile/`
//! (see `hostile_files_get_the_error_they_name`); these are generated, because the text
//! that made them hostile is large.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod alloc;

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use evlab::run::{Run, RunError};
use evlab::scenario::{self, LoadError};

#[global_allocator]
static ALLOCATOR: alloc::Counting = alloc::Counting;

const MB: usize = 1 << 20;

/// Held by every test here: the allocator's counts are the whole process's, so the
/// tests run one at a time.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// How a hostile scenario must end.
#[derive(Debug)]
enum End {
    /// The file is refused when read and checked; the text names what is wrong.
    Invalid(&'static str),
    /// It reads, but is refused before it is built (too big): exit 2.
    Refused(&'static str),
    /// It runs and stops with a clear error after at most this many events: exit 1.
    Stops(&'static str, u64),
    /// It runs to its end in at most this many events.
    Finishes(u64),
}

struct Case {
    name: &'static str,
    text: fn() -> String,
    end: End,
    /// Most bytes live at once while it is read, checked, built and run.
    max_bytes: usize,
}

/// What happened to a scenario, as `evlab run` would report it.
fn outcome(text: &str) -> (Result<u64, String>, bool) {
    let (_, scenario) = match scenario::parse(text, "hostile.ron") {
        Ok(parsed) => parsed,
        Err(e) => return (Err(e.to_string()), false),
    };
    let mut run = match Run::new(&scenario) {
        Ok(run) => run,
        Err(e) => return (Err(e.to_string()), true),
    };
    run.set_latency_series(false);
    while !run.is_finished() {
        if let Err(e) = run.advance_to(run.duration_nanos()) {
            assert!(matches!(e, RunError::Stopped { .. }), "{e}");
            return (
                Err(format!("stopped after {} events: {e}", run.events())),
                true,
            );
        }
    }
    run.check_ledger().unwrap();
    (Ok(run.events()), true)
}

fn scenario_text(limits: &str, nodes: &str, edges: &str, faults: &str) -> String {
    format!(
        "(version: 1, name: \"hostile\", seed: 1, duration: \"1s\", {limits}\n nodes: [\n{nodes}],\n edges: [\n{edges}],\n faults: [{faults}])\n"
    )
}

const PIPELINE: &str = "Producer(id: \"p\", arrival: Poisson(rate: \"100/s\")),\n\
     Queue(id: \"q\"),\n\
     Consumer(id: \"c\", service: Exponential(mean: \"5ms\")),\n";
const PIPELINE_EDGES: &str = "(from: \"p\", to: \"q\"), (from: \"q\", to: \"c\"),\n";

fn problems(n: usize) -> String {
    let mut nodes = String::new();
    for i in 0..n {
        let _ = writeln!(
            nodes,
            "Producer(id: \"p{i}\", arrival: Poisson(rate: \"0/s\")),"
        );
    }
    scenario_text("", &nodes, "", "")
}

fn many_nodes(queues: usize, limits: &str) -> String {
    let (mut nodes, mut edges) = (PIPELINE.to_string(), PIPELINE_EDGES.to_string());
    for i in 0..queues {
        let _ = writeln!(
            nodes,
            "Queue(id: \"q{i}\"), Consumer(id: \"c{i}\", service: Exponential(mean: \"5ms\")),"
        );
        let _ = writeln!(edges, "(from: \"q{i}\", to: \"c{i}\"),");
    }
    scenario_text(limits, &nodes, &edges, "")
}

fn faults_naming_unknown_ids() -> String {
    let mut nodes = PIPELINE.to_string();
    for i in 0..10_000 {
        let _ = writeln!(nodes, "Queue(id: \"q{i}\"),");
    }
    let faults: Vec<String> = (0..20_000)
        .map(|i| format!("(at: \"1ms\", target: \"nope{i}\", kind: Crash)"))
        .collect();
    scenario_text("", &nodes, PIPELINE_EDGES, &faults.join(","))
}

/// A producer with 65,535 routing keys into 2,000 direct exchanges: a routing table of
/// 2,000 x 65,535 entries.
fn routing_table_too_big() -> String {
    let keys: Vec<String> = (0..65_535).map(|i| format!("\"k{i}\"")).collect();
    let mut nodes = format!(
        "Producer(id: \"p\", arrival: Poisson(rate: \"100/s\"), routing_keys: [{}]),\n\
         Exchange(id: \"x\", type: Fanout), Queue(id: \"q\"),\n",
        keys.join(",")
    );
    let mut edges = "(from: \"p\", to: \"x\"),\n".to_string();
    for i in 0..2_000 {
        let _ = writeln!(nodes, "Exchange(id: \"d{i}\", type: Direct),");
        let _ = writeln!(
            edges,
            "(from: \"x\", to: \"d{i}\"), (from: \"d{i}\", to: \"q\", key: \"k{i}\"),"
        );
    }
    scenario_text("", &nodes, &edges, "")
}

/// 65,535 routing keys through a direct exchange to 1,000 queues: a big but fair table.
fn many_routing_keys() -> String {
    let keys: Vec<String> = (0..65_535).map(|i| format!("\"k{i}\"")).collect();
    let mut nodes = format!(
        "Producer(id: \"p\", arrival: Poisson(rate: \"1000/s\"), routing_keys: [{}]),\n\
         Exchange(id: \"x\", type: Direct),\n",
        keys.join(",")
    );
    let mut edges = "(from: \"p\", to: \"x\"),\n".to_string();
    for i in 0..1_000 {
        let _ = writeln!(nodes, "Queue(id: \"q{i}\"),");
        let _ = writeln!(edges, "(from: \"x\", to: \"q{i}\", key: \"k{i}\"),");
    }
    scenario_text("limits: (max_in_flight: 100000),", &nodes, &edges, "")
}

fn long_series() -> String {
    many_nodes(3_000, "sample_every: \"1us\",")
}

/// 30 levels of fanout exchanges, each level two paths wide: 2^30 paths to one queue.
fn exchange_diamond() -> String {
    let mut nodes = "Producer(id: \"p\", arrival: Poisson(rate: \"100/s\")),\n".to_string();
    let mut edges = "(from: \"p\", to: \"x0\"),\n".to_string();
    for i in 0..=30 {
        let _ = writeln!(nodes, "Exchange(id: \"x{i}\", type: Fanout),");
    }
    for i in 0..30 {
        let _ = writeln!(
            nodes,
            "Exchange(id: \"a{i}\", type: Fanout), Exchange(id: \"b{i}\", type: Fanout),"
        );
        let _ = writeln!(
            edges,
            "(from: \"x{i}\", to: \"a{i}\"), (from: \"x{i}\", to: \"b{i}\"), (from: \"a{i}\", to: \"x{}\"), (from: \"b{i}\", to: \"x{}\"),",
            i + 1,
            i + 1
        );
    }
    nodes.push_str("Queue(id: \"q\"), Consumer(id: \"c\", service: Exponential(mean: \"5ms\")),\n");
    edges.push_str("(from: \"x30\", to: \"q\"), (from: \"q\", to: \"c\"),\n");
    scenario_text("", &nodes, &edges, "")
}

fn in_flight_cap_at_its_maximum() -> String {
    scenario_text(
        "limits: (max_in_flight: 2147483647),",
        "Producer(id: \"p\", arrival: Constant(rate: \"1000000000/s\")), Queue(id: \"q\"),",
        "(from: \"p\", to: \"q\"),",
        "",
    )
}

fn retry_every_nanosecond() -> String {
    scenario_text(
        "",
        "Producer(id: \"p\", arrival: Poisson(rate: \"100/s\")), Queue(id: \"q\"),\n\
         Consumer(id: \"c\", service: Constant(time: \"1ns\"), failure_probability: 1.0,\n\
             retry: (max_attempts: 4000000000, backoff: Fixed(delay: \"1ns\"))),",
        PIPELINE_EDGES,
        "",
    )
}

fn publish_retry_storm() -> String {
    scenario_text(
        "",
        "Producer(id: \"p\", arrival: Poisson(rate: \"100/s\"), acks: Leader,\n\
             retries: (max: 4000000000, backoff: \"1ns\", timeout: \"1ns\")),\n\
         Queue(id: \"q\", max_length: 0, overflow: RejectPublish),",
        "(from: \"p\", to: \"q\"),",
        "",
    )
}

fn producer_at_a_billion_per_second() -> String {
    scenario_text(
        "",
        "Producer(id: \"p\", arrival: Constant(rate: \"1000000000/s\")), Queue(id: \"q\"),\n\
         Consumer(id: \"c\", concurrency: 10, service: Constant(time: \"1ns\")),",
        PIPELINE_EDGES,
        "",
    )
}

/// A consumer that publishes back into its own queue, 1 ns per lap: the load grows
/// without end. Its events are capped lower than the default to keep the test short.
fn service_loop_every_nanosecond() -> String {
    scenario_text(
        "limits: (max_events: 10000000),",
        "Producer(id: \"p\", arrival: Poisson(rate: \"100/s\")), Queue(id: \"q\"),\n\
         Consumer(id: \"c\", service: Constant(time: \"1ns\")),",
        "(from: \"p\", to: \"q\"), (from: \"q\", to: \"c\"), (from: \"c\", to: \"q\"),",
        "",
    )
    .replace("\"1s\"", "\"60s\"")
}

fn zero_time_loop() -> String {
    scenario_text(
        "",
        "Producer(id: \"p\", arrival: Poisson(rate: \"100/s\")), Queue(id: \"q\"),\n\
         Consumer(id: \"c\", service: Constant(time: \"0s\")),",
        "(from: \"p\", to: \"q\"), (from: \"q\", to: \"c\"), (from: \"c\", to: \"q\"),",
        "",
    )
}

/// Calls retried at once, with no backoff, into a service that is down.
fn call_retry_storm() -> String {
    scenario_text(
        "",
        "Producer(id: \"p\", arrival: Poisson(rate: \"1000/s\")),\n\
         Service(id: \"a\", concurrency: 1000, service: Constant(time: \"0s\")),\n\
         Service(id: \"b\", service: Constant(time: \"0s\")),",
        "(from: \"p\", to: \"a\"),\n\
         (from: \"a\", to: \"b\", call: (timeout: \"1s\", retries: 4000000000, backoff: \"0s\")),",
        "(at: \"0s\", target: \"b\", kind: Crash)",
    )
}

/// Two queues whose TTLs dead-letter into each other.
fn dead_letter_cycle_across_queues() -> String {
    scenario_text(
        "",
        "Producer(id: \"p\", arrival: Constant(rate: \"10/s\")),\n\
         Queue(id: \"a\", ttl: \"1ns\"), Queue(id: \"b\", ttl: \"1ns\"),",
        "(from: \"p\", to: \"a\"), (from: \"a\", to: \"b\", kind: DeadLetter),\n\
         (from: \"b\", to: \"a\", kind: DeadLetter),",
        "",
    )
    .replace("\"1s\"", "\"60s\"")
}

const CASES: &[Case] = &[
    Case {
        name: "quadratic_error_reporting_1000_problems",
        text: || problems(1_000),
        end: End::Invalid("and 1950 more problems"),
        max_bytes: 64 * MB,
    },
    Case {
        name: "quadratic_error_reporting_100000_problems",
        text: || problems(100_000),
        end: End::Invalid("and 199950 more problems"),
        max_bytes: 512 * MB,
    },
    Case {
        name: "faults_naming_unknown_ids_allocated_past_4_gib",
        text: faults_naming_unknown_ids,
        end: End::Invalid("and 19950 more problems"),
        max_bytes: 128 * MB,
    },
    Case {
        name: "max_in_flight_at_its_maximum_grew_the_arena_until_abort",
        text: in_flight_cap_at_its_maximum,
        end: End::Refused("limits.max_in_flight: this scenario needs about"),
        max_bytes: 16 * MB,
    },
    Case {
        name: "routing_keys_over_exchanges_aborted_building_the_table",
        text: routing_table_too_big,
        end: End::Refused("resolving its routing takes more than 200000000 binding matches"),
        max_bytes: 1024 * MB,
    },
    Case {
        name: "many_routing_keys_build_a_fair_table",
        text: many_routing_keys,
        end: End::Finishes(50_000),
        max_bytes: 256 * MB,
    },
    Case {
        name: "long_time_series_over_many_nodes_aborted",
        text: long_series,
        end: End::Refused("sample_every: this scenario needs about"),
        max_bytes: 128 * MB,
    },
    Case {
        // Refused at 2.6 GiB while every queue and sink had a full histogram from the start.
        name: "one_hundred_thousand_nodes_run_in_the_default_memory_limit",
        text: || many_nodes(50_000, ""),
        end: End::Finishes(1_000),
        max_bytes: 512 * MB,
    },
    Case {
        name: "nodes_beyond_the_memory_limit_are_refused",
        text: || {
            many_nodes(
                10_000,
                "limits: (max_memory: \"64MiB\", max_in_flight: 1000),",
            )
        },
        end: End::Refused("20003 nodes and 10002 edges take"),
        max_bytes: 256 * MB,
    },
    Case {
        name: "exchange_diamond_enumerated_every_path",
        text: exchange_diamond,
        end: End::Finishes(10_000),
        max_bytes: 64 * MB,
    },
    Case {
        name: "retry_every_nanosecond_crawled_silently",
        text: retry_every_nanosecond,
        end: End::Stops("far more than limits.max_events", 1 << 24),
        max_bytes: 64 * MB,
    },
    Case {
        name: "publish_retry_storm_crawled_silently",
        text: publish_retry_storm,
        end: End::Stops("far more than limits.max_events", 1 << 24),
        max_bytes: 64 * MB,
    },
    Case {
        name: "producer_at_a_billion_per_second_crawled_silently",
        text: producer_at_a_billion_per_second,
        end: End::Stops("far more than limits.max_events", 1 << 24),
        max_bytes: 64 * MB,
    },
    Case {
        name: "service_loop_every_nanosecond_crawled_silently",
        text: service_loop_every_nanosecond,
        end: End::Stops("it reached limits.max_events (10000000", 10_000_000),
        max_bytes: 64 * MB,
    },
    Case {
        name: "zero_time_loop_caught_only_after_50_million_events",
        text: zero_time_loop,
        end: End::Stops("simulated time stopped advancing", 1_100_000),
        max_bytes: 64 * MB,
    },
    Case {
        name: "call_retry_storm_reached_530_mb_before_it_was_caught",
        text: call_retry_storm,
        end: End::Stops("simulated time stopped advancing", 1_100_000),
        max_bytes: 64 * MB,
    },
    Case {
        name: "dead_letter_cycle_across_queues_ran_forever",
        text: dead_letter_cycle_across_queues,
        end: End::Finishes(10_000),
        max_bytes: 64 * MB,
    },
];

#[test]
fn hostile_scenarios_end_in_a_clear_error_or_a_bounded_run() {
    let _one = one_at_a_time();
    // One case at a time: the allocator's counts are the whole process's.
    for case in CASES {
        let text = (case.text)();
        let ((result, read), peak) = alloc::peak_during(|| outcome(&text));
        drop(text);
        let name = case.name;
        assert!(
            peak <= case.max_bytes,
            "{name}: {} MiB live at once, more than {} MiB",
            peak / MB,
            case.max_bytes / MB
        );
        match (&case.end, &result) {
            (End::Invalid(expected), Err(message)) if !read => {
                assert!(message.contains(expected), "{name}: {message}")
            }
            (End::Refused(expected), Err(message)) if read && !message.starts_with("stopped") => {
                assert!(message.contains(expected), "{name}: {message}")
            }
            (End::Stops(expected, max_events), Err(message)) if message.starts_with("stopped") => {
                assert!(message.contains(expected), "{name}: {message}");
                let events: u64 = message
                    .trim_start_matches("stopped after ")
                    .split(' ')
                    .next()
                    .and_then(|n| n.parse().ok())
                    .unwrap();
                assert!(events <= *max_events, "{name}: {events} events");
            }
            (End::Finishes(max_events), Ok(events)) => {
                assert!(events <= max_events, "{name}: {events} events")
            }
            (end, result) => panic!("{name}: expected {end:?}, got {result:?}"),
        }
    }
}

#[test]
fn a_dead_letter_cycle_across_queues_drops_each_message_on_its_second_lap() {
    let _one = one_at_a_time();
    let text = dead_letter_cycle_across_queues();
    let (_, scenario) = scenario::parse(&text, "cycle.ron").unwrap();
    let report = evlab::run::run(&scenario).unwrap();
    let t = &report.totals;
    // a -> b (a dead letter) -> back to a: a cycle of TTLs, dropped on the way.
    assert_eq!(t.produced, 600);
    assert_eq!(t.dead_lettered, 600);
    assert_eq!(t.in_flight_at_end, 0);
    let enqueued = |id: &str| {
        let node = report.nodes.iter().find(|n| n.id == id).unwrap();
        match &node.detail {
            evlab::report::NodeDetail::Queue { enqueued, .. } => *enqueued,
            _ => panic!("{id} is a queue"),
        }
    };
    assert_eq!((enqueued("a"), enqueued("b")), (600, 600), "one lap each");
}

#[test]
fn a_rejection_on_the_way_lets_a_dead_letter_come_round_again() {
    let _one = one_at_a_time();
    // a's TTL dead-letters into b; b's consumer rejects every message, which b
    // dead-letters back into a. As in RabbitMQ, the rejection breaks the cycle rule.
    let text = scenario_text(
        "",
        "Producer(id: \"p\", arrival: Constant(rate: \"10/s\")),\n\
         Queue(id: \"a\", ttl: \"100ms\"), Queue(id: \"b\"),\n\
         Consumer(id: \"c\", service: Constant(time: \"1ms\"), failure_probability: 1.0),",
        "(from: \"p\", to: \"a\"), (from: \"a\", to: \"b\", kind: Retry),\n\
         (from: \"b\", to: \"c\"), (from: \"b\", to: \"a\", kind: Retry),",
        "",
    )
    .replace("\"1s\"", "\"10s\"");
    let (_, scenario) = scenario::parse(&text, "rejected.ron").unwrap();
    let report = evlab::run::run(&scenario).unwrap();
    let node = report.nodes.iter().find(|n| n.id == "b").unwrap();
    let evlab::report::NodeDetail::Queue { enqueued, .. } = node.detail else {
        panic!("b is a queue");
    };
    assert_eq!(report.totals.produced, 100);
    assert!(enqueued > 2_000, "about 50 laps a message: {enqueued}");
}

/// What `evlab run` says of a file from `tests/hostile/`: its exit code, its messages
/// (stderr) and its report (stdout).
fn run_file(path: &Path) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_evlab"))
        .args(["run", "--duration", "1s"])
        .arg(path)
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

/// Each file under `tests/hostile/` says on its first lines what `evlab run` must answer:
/// `// exit: N` and one or more `// expect: TEXT` lines that its messages must contain.
/// Nothing printed may contain a raw control character but the line end.
#[test]
fn hostile_files_get_the_error_they_name() {
    let _one = one_at_a_time();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("hostile");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "ron"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "the corpus is in {}", dir.display());
    for file in files {
        let bytes = std::fs::read(&file).unwrap();
        let header = String::from_utf8_lossy(&bytes);
        let mut exit = None;
        let mut expected = Vec::new();
        for line in header.lines().take_while(|l| l.starts_with("//")) {
            if let Some(code) = line.strip_prefix("// exit:") {
                exit = code.trim().parse::<i32>().ok();
            }
            if let Some(text) = line.strip_prefix("// expect:") {
                expected.push(text.trim().to_string());
            }
        }
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let exit = exit.unwrap_or_else(|| panic!("{name}: no `// exit:` line"));
        let (code, stderr, stdout) = run_file(&file);
        assert_eq!(code, exit, "{name}: {stderr}");
        for text in expected {
            assert!(stderr.contains(&text), "{name}: `{text}` not in {stderr}");
        }
        for printed in [&stderr, &stdout] {
            assert!(
                !printed.chars().any(|c| c.is_control() && c != '\n'),
                "{name}: a control character reached the terminal: {printed:?}"
            );
        }
    }
}

#[test]
fn load_errors_are_capped_and_counted() {
    let _one = one_at_a_time();
    let Err(LoadError::Invalid { problems, more, .. }) = scenario::parse(&problems(200), "p.ron")
    else {
        panic!("200 broken producers must not load");
    };
    assert_eq!(problems.len(), scenario::check::MAX_PROBLEMS);
    assert_eq!(problems.len() + more, 400);
}

/// What building a scenario allocates, against what the estimate says it would (the
/// parts that are there from the start: not the messages in flight, nor their ids).
#[test]
fn the_memory_estimate_is_close_to_what_building_takes() {
    let _one = one_at_a_time();
    let topics = {
        let mut nodes = PIPELINE.to_string();
        let mut edges = PIPELINE_EDGES.to_string();
        for i in 0..20 {
            let _ = writeln!(
                nodes,
                "Topic(id: \"t{i}\", partitions: 5000), Consumer(id: \"g{i}\", group: \"g\", service: Exponential(mean: \"5ms\")),"
            );
            let _ = writeln!(edges, "(from: \"t{i}\", to: \"g{i}\"),");
        }
        scenario_text("", &nodes, &edges, "")
    };
    let keys = scenario_text(
        "",
        &PIPELINE.replace(
            "rate: \"100/s\")",
            "rate: \"100/s\"), keys: Uniform(count: 5000000)",
        ),
        PIPELINE_EDGES,
        "",
    );
    let cases = [
        ("5000 queues", many_nodes(5_000, "")),
        ("20 topics of 5000 partitions", topics),
        ("5 million keys", keys),
        ("200000 samples", many_nodes(200, "sample_every: \"5us\",")),
    ];
    for (name, text) in cases {
        let (_, scenario) = scenario::parse(&text, "estimate.ron").unwrap();
        let estimate = evlab::broker::budget::estimate(&scenario);
        let expected: u64 = estimate
            .parts
            .iter()
            .filter(|p| p.path != "limits.max_in_flight" && p.path != "duration")
            .map(|p| p.bytes)
            .sum();
        let (run, built) = alloc::peak_during(|| {
            let mut run = Run::new(&scenario).unwrap();
            // The series fills as the run goes: run it to the end.
            run.run_to_end(|_| {}).unwrap();
            run
        });
        drop(run);
        let ratio = built as f64 / expected as f64;
        assert!(
            (0.7..=1.3).contains(&ratio),
            "{name}: built {} KiB, estimated {} KiB",
            built / 1024,
            expected / 1024
        );
    }
}
