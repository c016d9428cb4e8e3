//! Criterion benchmarks of the engine: the reference pipeline, a keyed topic
//! with a consumer group, the bare binary-heap loop they are compared with,
//! the event queue holding a million pending events, the start-up of a run (parse,
//! check and build) for every example, and a topic's cost per record with 10 and with
//! 100,000 partitions (the bar: within 2x), and a message's cost in 1,000 pipelines against
//! one (the bar: within 2x), and what a live front pays to look at a run (the cheap status
//! against a full report). `evlab bench`
//! prints the same workloads as one table; these give criterion's statistics.

#![allow(clippy::expect_used)] // a benchmark of built-in scenarios may stop loudly

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use evlab::cli::bench::{bare_mm1, hold, keyed_topic_scenario, pipeline_scenario};
use evlab::run::Run;

const MESSAGES: u64 = 200_000;

fn pipelines(c: &mut Criterion) {
    let mut group = c.benchmark_group("messages");
    group.throughput(Throughput::Elements(MESSAGES));
    group.sample_size(20);
    let pipeline = pipeline_scenario(MESSAGES).expect("built-in scenario");
    group.bench_function("pipeline_mm1_rho0.9", |b| {
        b.iter(|| {
            let mut run = Run::new(&pipeline).expect("builds");
            run.run_to_end(|_| {}).expect("runs");
            run.world().ledger().processed
        })
    });
    group.bench_function("bare_binary_heap_mm1", |b| {
        b.iter(|| bare_mm1(MESSAGES, 0.9))
    });
    let topic = keyed_topic_scenario(MESSAGES).expect("built-in scenario");
    group.bench_function("keyed_topic_12p_6c", |b| {
        b.iter(|| {
            let mut run = Run::new(&topic).expect("builds");
            run.run_to_end(|_| {}).expect("runs");
            run.world().ledger().processed
        })
    });
    group.finish();
}

fn pending(c: &mut Criterion) {
    let mut group = c.benchmark_group("events");
    const EVENTS: u64 = 2_000_000;
    group.throughput(Throughput::Elements(EVENTS));
    group.sample_size(10);
    group.bench_function("hold_1e6_pending", |b| b.iter(|| hold(1_000_000, EVENTS)));
    group.finish();
}

/// What every run of a sweep pays before its first event: reading, checking and wiring a
/// scenario. The bar: under 1 ms for each example.
fn start_up(c: &mut Criterion) {
    let mut group = c.benchmark_group("start_up");
    for (name, text) in evlab::examples::EXAMPLES {
        group.bench_function(*name, |b| {
            b.iter(|| {
                let (_, scenario) = evlab::scenario::parse(text, name).expect("an example parses");
                Run::new(&scenario)
                    .expect("an example builds")
                    .pending_events()
            })
        });
    }
    group.finish();
}

/// Times running `scenario` to its end, building the run left out of the timing.
fn run_built(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: String,
    scenario: &evlab::scenario::Scenario,
) {
    group.bench_function(name, |b| {
        b.iter_batched(
            || Run::new(scenario).expect("builds"),
            |mut run| {
                run.run_to_end(|_| {}).expect("runs");
                run.world().ledger().processed
            },
            criterion::BatchSize::LargeInput,
        )
    });
}

/// One keyed producer (1,000 keys, 100 records a second) into a topic of `partitions`
/// partitions, read by one consumer: `records` records.
fn partitioned(partitions: u32, records: u64) -> evlab::scenario::Scenario {
    let text = format!(
        r#"(version: 1, name: "partitions", seed: 1, duration: "{}s",
        nodes: [Producer(id: "p", arrival: Constant(rate: "100/s"), keys: Uniform(count: 1000)),
                Topic(id: "t", partitions: {partitions}),
                Consumer(id: "c", service: Constant(time: "1ms"))],
        edges: [(from: "p", to: "t"), (from: "t", to: "c")])"#,
        records / 100
    );
    evlab::scenario::parse(&text, "partitions")
        .expect("the benchmark's scenario")
        .1
}

/// A record's cost must not grow with partitions it does not touch. Building the run (which
/// allocates every partition) is left out of the timing; sampling is in.
fn partitions(c: &mut Criterion) {
    const RECORDS: u64 = 1_000_000;
    let mut group = c.benchmark_group("partitions");
    group.throughput(Throughput::Elements(RECORDS));
    group.sample_size(10);
    for count in [10, 100_000] {
        let scenario = partitioned(count, RECORDS);
        run_built(
            &mut group,
            format!("keyed_topic_{count}_partitions"),
            &scenario,
        );
    }
    group.finish();
}

/// `count` independent M/M/1 pipelines (producer, queue, consumer at rho 0.9) sharing
/// 10,000 messages a second: `messages` messages in all.
fn parallel_pipelines(count: usize, messages: u64) -> evlab::scenario::Scenario {
    let rate = 10_000.0 / count as f64;
    let (mut nodes, mut edges) = (String::new(), String::new());
    for i in 0..count {
        nodes.push_str(&format!(
            r#"Producer(id: "p{i}", arrival: Poisson(rate: "{rate}/s")),
               Queue(id: "q{i}"),
               Consumer(id: "c{i}", service: Exponential(mean: "{:.6}ms")),"#,
            900.0 / rate
        ));
        edges.push_str(&format!(
            r#"(from: "p{i}", to: "q{i}"), (from: "q{i}", to: "c{i}"),"#
        ));
    }
    let text = format!(
        r#"(version: 1, name: "pipelines", seed: 1, duration: "{}s",
        nodes: [{nodes}], edges: [{edges}])"#,
        messages / 10_000
    );
    evlab::scenario::parse(&text, "pipelines")
        .expect("the benchmark's scenario")
        .1
}

/// A message's cost must not grow much with nodes it does not pass through: 1,000
/// pipelines against one, for the same messages (the bar: within 2x). Building is left out.
fn nodes(c: &mut Criterion) {
    const MESSAGES: u64 = 600_000;
    let mut group = c.benchmark_group("nodes");
    group.throughput(Throughput::Elements(MESSAGES));
    group.sample_size(10);
    for count in [1, 1000] {
        let scenario = parallel_pipelines(count, MESSAGES);
        run_built(&mut group, format!("{count}_pipelines"), &scenario);
    }
    group.finish();
}

/// What a live front pays to look at a running world: the cheap status (badges, depths,
/// lags, counts) against a full report, on 1,000 pipelines after 10 s.
fn looking(c: &mut Criterion) {
    let mut group = c.benchmark_group("looking");
    let scenario = parallel_pipelines(1000, 600_000);
    let mut run = Run::new(&scenario).expect("builds");
    run.advance_to(10_000_000_000).expect("runs");
    group.bench_function("status_1000_pipelines", |b| {
        b.iter(|| evlab::report::status::Status::of(run.world()).badges.len())
    });
    group.bench_function("report_1000_pipelines", |b| {
        b.iter(|| run.report(None, false).nodes.len())
    });
    group.finish();
}

criterion_group!(
    benches, pipelines, pending, start_up, partitions, nodes, looking
);
criterion_main!(benches);
