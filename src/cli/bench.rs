//! `evlab bench`: the engine's speed on built-in reference workloads,
//! printed the same way every time.
//!
//! - `pipeline`: the reference: Poisson producer (rho = 0.9) -> queue -> one
//!   exponential consumer, ack after processing. Beside it, in the same
//!   process, a bare `BinaryHeap` M/M/1 loop (two events per message, nothing
//!   else) over the same number of messages; `ratio` is evlab's simulated
//!   messages per second over the bare loop's.
//! - `keyed_topic`: Zipf-keyed producer -> topic with 12 partitions -> a group of 6.
//! - `pending_1e6`: the event queue alone holding one million pending events
//!   (the classic "hold" model: pop one, push one at a random later time).
//! - `memory`: bytes of resident memory per message held in a queue.
//!
//! Each workload runs `--repeat` times; the median is printed.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::process::ExitCode;
use std::time::Instant;

use rand::SeedableRng;
use rand_distr::{Distribution, Exp1};
use serde::Serialize;

use crate::engine::rng::Stream;
use crate::engine::{Model, Scheduler, SimTime, Simulation};
use crate::run::Run;
use crate::scenario;

#[derive(clap::Args)]
pub struct BenchArgs {
    #[arg(long, value_enum, default_value_t = BenchFormat::Table)]
    pub format: BenchFormat,
    /// Messages per run of the pipeline workloads (at least 1000).
    #[arg(long, default_value_t = 2_000_000, value_parser = clap::value_parser!(u64).range(1000..))]
    pub messages: u64,
    /// Runs per workload; the median is reported.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    pub repeat: u32,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BenchFormat {
    Table,
    Json,
}

#[derive(Serialize)]
pub struct BenchReport {
    pub evlab_version: &'static str,
    pub messages: u64,
    pub repeat: u32,
    /// The reference pipeline (the headline figures).
    pub events_per_sec: f64,
    pub messages_per_sec: f64,
    pub bare_messages_per_sec: f64,
    pub ratio: f64,
    pub keyed_topic: Workload,
    pub pending_1e6: Workload,
    pub memory: Memory,
}

#[derive(Serialize)]
pub struct Workload {
    pub events_per_sec: f64,
    pub messages_per_sec: f64,
    pub wall_seconds: f64,
}

#[derive(Serialize)]
pub struct Memory {
    pub messages_held: u64,
    /// Resident-set growth per message held in a queue (None where /proc is unavailable).
    pub bytes_per_in_flight_message: Option<f64>,
}

/// Reference pipeline: lambda = 900/s, mean service 1 ms, so rho = 0.9.
const PIPELINE: &str = r#"(
    version: 1, name: "bench-pipeline", seed: 1, duration: "1s",
    nodes: [
        Producer(id: "p", arrival: Poisson(rate: "900/s")),
        Queue(id: "q"),
        Consumer(id: "c", service: Exponential(mean: "1ms")),
    ],
    edges: [(from: "p", to: "q"), (from: "q", to: "c")],
)"#;

/// Keyed topic: 12 partitions, 6 consumers each at rho = 0.8.
const KEYED_TOPIC: &str = r#"(
    version: 1, name: "bench-keyed-topic", seed: 1, duration: "1s",
    nodes: [
        Producer(id: "p", arrival: Poisson(rate: "4800/s"), keys: Zipf(count: 10000, exponent: 0.8)),
        Topic(id: "t", partitions: 12),
        Consumer(id: "c0", group: "g", service: Exponential(mean: "1ms")),
        Consumer(id: "c1", group: "g", service: Exponential(mean: "1ms")),
        Consumer(id: "c2", group: "g", service: Exponential(mean: "1ms")),
        Consumer(id: "c3", group: "g", service: Exponential(mean: "1ms")),
        Consumer(id: "c4", group: "g", service: Exponential(mean: "1ms")),
        Consumer(id: "c5", group: "g", service: Exponential(mean: "1ms")),
    ],
    edges: [
        (from: "p", to: "t"),
        (from: "t", to: "c0"), (from: "t", to: "c1"), (from: "t", to: "c2"),
        (from: "t", to: "c3"), (from: "t", to: "c4"), (from: "t", to: "c5"),
    ],
)"#;

/// A queue with no consumer, filled at a constant rate: every message stays in flight.
const BACKLOG: &str = r#"(
    version: 1, name: "bench-memory", seed: 1, duration: "1s",
    nodes: [
        Producer(id: "p", arrival: Constant(rate: "1000000/s")),
        Queue(id: "q"),
        Consumer(id: "c", service: Constant(time: "1h")),
    ],
    edges: [(from: "p", to: "q"), (from: "q", to: "c")],
)"#;

pub fn main(args: BenchArgs) -> ExitCode {
    match bench(&args) {
        Ok(report) => {
            match args.format {
                BenchFormat::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&report).unwrap_or_default()
                ),
                BenchFormat::Table => print_table(&report),
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(super::EXIT_FAILED)
        }
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

/// A scenario from built-in text, stretched to produce about `messages` messages.
fn scenario_for(
    text: &str,
    messages: u64,
    rate_per_sec: f64,
) -> Result<scenario::Scenario, String> {
    let (_, mut scenario) = scenario::parse(text, "built-in").map_err(|e| e.to_string())?;
    scenario.set_duration((messages as f64 / rate_per_sec * 1e9) as u64);
    Ok(scenario)
}

/// Runs a scenario to the end; returns (events/s, processed messages/s, wall seconds).
pub fn time_scenario(scenario: &scenario::Scenario) -> Result<(f64, f64, f64), String> {
    let mut run = Run::new(scenario).map_err(|e| e.to_string())?;
    // As `evlab run` does without --series.
    run.set_latency_series(false);
    let started = Instant::now();
    run.run_to_end(|_| {}).map_err(|e| e.to_string())?;
    let wall = started.elapsed().as_secs_f64().max(1e-9);
    Ok((
        run.events() as f64 / wall,
        run.world().ledger().processed as f64 / wall,
        wall,
    ))
}

/// The reference pipeline, stretched to about `messages` messages.
pub fn pipeline_scenario(messages: u64) -> Result<scenario::Scenario, String> {
    scenario_for(PIPELINE, messages, 900.0)
}

/// The keyed-topic workload, stretched to about `messages` messages.
pub fn keyed_topic_scenario(messages: u64) -> Result<scenario::Scenario, String> {
    scenario_for(KEYED_TOPIC, messages, 4800.0)
}

fn bench(args: &BenchArgs) -> Result<BenchReport, String> {
    let repeat = args.repeat.max(1);
    let pipeline = pipeline_scenario(args.messages)?;
    let mut evlab_events = Vec::new();
    let mut evlab_messages = Vec::new();
    let mut bare_messages = Vec::new();
    let mut ratios = Vec::new();
    for _ in 0..repeat {
        let (events, messages, _) = time_scenario(&pipeline)?;
        let bare = bare_mm1(args.messages, 0.9);
        evlab_events.push(events);
        evlab_messages.push(messages);
        bare_messages.push(bare);
        ratios.push(messages / bare);
    }
    let topic = keyed_topic_scenario(args.messages)?;
    let mut topic_runs = Vec::new();
    for _ in 0..repeat {
        topic_runs.push(time_scenario(&topic)?);
    }
    let mut hold_runs = Vec::new();
    for _ in 0..repeat {
        hold_runs.push(hold(1_000_000, 2 * args.messages));
    }
    let medians = |runs: &[(f64, f64, f64)]| Workload {
        events_per_sec: median(runs.iter().map(|r| r.0).collect()),
        messages_per_sec: median(runs.iter().map(|r| r.1).collect()),
        wall_seconds: median(runs.iter().map(|r| r.2).collect()),
    };
    Ok(BenchReport {
        evlab_version: env!("CARGO_PKG_VERSION"),
        messages: args.messages,
        repeat,
        events_per_sec: median(evlab_events),
        messages_per_sec: median(evlab_messages),
        bare_messages_per_sec: median(bare_messages),
        ratio: median(ratios),
        keyed_topic: medians(&topic_runs),
        pending_1e6: medians(&hold_runs),
        memory: memory()?,
    })
}

fn print_table(r: &BenchReport) {
    println!(
        "evlab {} bench: {} messages per run, median of {}",
        r.evlab_version, r.messages, r.repeat
    );
    println!();
    println!(
        "{:<34} {:>14} {:>16}",
        "workload", "M events/s", "M messages/s"
    );
    println!(
        "{:<34} {:>14.2} {:>16.2}",
        "pipeline (M/M/1, rho 0.9)",
        r.events_per_sec / 1e6,
        r.messages_per_sec / 1e6
    );
    println!(
        "{:<34} {:>14} {:>16.2}",
        "bare BinaryHeap M/M/1 loop",
        "",
        r.bare_messages_per_sec / 1e6
    );
    println!(
        "{:<34} {:>14.2} {:>16.2}",
        "keyed topic (12 partitions, 6)",
        r.keyed_topic.events_per_sec / 1e6,
        r.keyed_topic.messages_per_sec / 1e6
    );
    println!(
        "{:<34} {:>14.2} {:>16}",
        "event queue, 1e6 pending",
        r.pending_1e6.events_per_sec / 1e6,
        ""
    );
    println!();
    println!("ratio evlab / bare (messages/s): {:.3}", r.ratio);
    match r.memory.bytes_per_in_flight_message {
        Some(bytes) => println!(
            "memory: {bytes:.1} bytes per in-flight message ({} held)",
            r.memory.messages_held
        ),
        None => println!("memory: not measured (no /proc/self/statm)"),
    }
}

/// The bare loop: M/M/1 on a `BinaryHeap`, two events per message, nothing else.
/// Returns messages completed per wall-clock second.
pub fn bare_mm1(messages: u64, rho: f64) -> f64 {
    const ARRIVAL: u8 = 0;
    const DEPARTURE: u8 = 1;
    let mut rng = Stream::seed_from_u64(1);
    let arrival_mean = 1e9 / rho;
    let service_mean = 1e9;
    let mut heap: BinaryHeap<Reverse<(u64, u64, u8)>> = BinaryHeap::new();
    let mut seq = 0u64;
    let draw = |rng: &mut Stream, mean: f64| -> u64 {
        let x: f64 = Exp1.sample(rng);
        (x * mean) as u64 + 1
    };
    let started = Instant::now();
    heap.push(Reverse((draw(&mut rng, arrival_mean), seq, ARRIVAL)));
    let (mut waiting, mut busy, mut done) = (0u64, false, 0u64);
    while done < messages {
        let Some(Reverse((now, _, kind))) = heap.pop() else {
            break;
        };
        seq += 1;
        if kind == ARRIVAL {
            heap.push(Reverse((now + draw(&mut rng, arrival_mean), seq, ARRIVAL)));
            if busy {
                waiting += 1;
            } else {
                busy = true;
                seq += 1;
                heap.push(Reverse((
                    now + draw(&mut rng, service_mean),
                    seq,
                    DEPARTURE,
                )));
            }
        } else {
            done += 1;
            if waiting > 0 {
                waiting -= 1;
                seq += 1;
                heap.push(Reverse((
                    now + draw(&mut rng, service_mean),
                    seq,
                    DEPARTURE,
                )));
            } else {
                busy = false;
            }
        }
    }
    std::hint::black_box(waiting);
    done as f64 / started.elapsed().as_secs_f64().max(1e-9)
}

/// The hold model: `pending` events in the queue; each event reschedules itself
/// at an exponential delay. Returns (events/s, 0, wall seconds).
pub fn hold(pending: u32, events: u64) -> (f64, f64, f64) {
    struct Hold {
        rng: Stream,
    }
    impl Model for Hold {
        type Event = u32;
        fn handle(&mut self, _now: SimTime, event: u32, scheduler: &mut Scheduler<u32>) {
            let x: f64 = Exp1.sample(&mut self.rng);
            scheduler.after((x * 1e9) as u64 + 1, event);
        }
    }
    let Ok(mut sim) = Simulation::build(|scheduler| {
        let mut rng = Stream::seed_from_u64(2);
        for i in 0..pending {
            let x: f64 = Exp1.sample(&mut rng);
            scheduler.at((x * 1e9) as u64, i);
        }
        Ok::<_, ()>(Hold { rng })
    }) else {
        return (0.0, 0.0, 0.0);
    };
    let started = Instant::now();
    let ran = sim.step(events);
    let wall = started.elapsed().as_secs_f64().max(1e-9);
    std::hint::black_box(sim.now());
    (ran as f64 / wall, 0.0, wall)
}

/// Resident memory, in bytes, from /proc/self/statm.
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

fn memory() -> Result<Memory, String> {
    let (_, scenario) = scenario::parse(BACKLOG, "built-in").map_err(|e| e.to_string())?;
    let before = resident_bytes();
    let mut run = Run::new(&scenario).map_err(|e| e.to_string())?;
    run.run_to_end(|_| {}).map_err(|e| e.to_string())?;
    let after = resident_bytes();
    let held = run.world().ledger().in_flight();
    let bytes = match (before, after) {
        (Some(b), Some(a)) if held > 0 => Some(a.saturating_sub(b) as f64 / held as f64),
        _ => None,
    };
    Ok(Memory {
        messages_held: held,
        bytes_per_in_flight_message: bytes,
    })
}
