//! The fuzz run: hostile variants of the example scenarios through everything evlab does
//! with a file (see `tests/fuzzing/`), in worker processes, so that an input that aborts
//! the process or hangs is found, kept and reported like one that panics.
//!
//! ```sh
//! cargo run --release --no-default-features --example fuzz -- --inputs 1000000
//! cargo run --release --no-default-features --example fuzz -- --show 1721 > input.ron
//! ```
//!
//! Options: `--inputs N` (default 1,000,000), `--seed S`, `--jobs J` (default: every
//! core), `--out DIR` (where failing inputs are written, default `fuzz-failures/`),
//! `--timeout SECS` per input (default 10), `--show I` (print input I and exit).
//! Each worker may allocate at most 4 GiB, like a process under that address-space
//! limit: an input that asks for more aborts its worker, and counts as an abort.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a development tool: fail loudly

#[path = "../tests/alloc/mod.rs"]
mod alloc;
#[path = "../tests/fuzzing/mod.rs"]
mod fuzzing;

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

#[global_allocator]
static ALLOCATOR: alloc::Counting = alloc::Counting;

/// Engine events an input may run (the test slice uses the same).
const MAX_EVENTS: u64 = 2_000_000;
/// What a worker may allocate.
const WORKER_BYTES: usize = 4 << 30;

struct Options {
    inputs: u64,
    seed: u64,
    jobs: u64,
    out: PathBuf,
    timeout: Duration,
    show: Option<u64>,
    worker: Option<(u64, u64)>,
}

fn options() -> Options {
    let mut o = Options {
        inputs: 1_000_000,
        seed: 20261201,
        jobs: std::thread::available_parallelism().map_or(1, |n| n.get() as u64),
        out: PathBuf::from("fuzz-failures"),
        timeout: Duration::from_secs(10),
        show: None,
        worker: None,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    let number = |i: usize| -> u64 {
        args.get(i + 1)
            .and_then(|v| v.replace('_', "").parse().ok())
            .unwrap_or_else(|| panic!("{} takes a number", args[i]))
    };
    while i < args.len() {
        match args[i].as_str() {
            "--inputs" => o.inputs = number(i),
            "--seed" => o.seed = number(i),
            "--jobs" => o.jobs = number(i).max(1),
            "--timeout" => o.timeout = Duration::from_secs(number(i)),
            "--show" => o.show = Some(number(i)),
            "--out" => o.out = PathBuf::from(&args[i + 1]),
            "--worker" => {
                o.worker = Some((number(i), number(i + 1)));
                i += 1;
            }
            other => panic!("unknown option {other}"),
        }
        i += 2;
    }
    o
}

fn main() {
    let o = options();
    let corpus = fuzzing::corpus();
    if let Some(index) = o.show {
        std::io::stdout()
            .write_all(&fuzzing::input(&corpus, o.seed, index))
            .unwrap();
        return;
    }
    if let Some((from, to)) = o.worker {
        alloc::set_limit(WORKER_BYTES);
        return worker(&corpus, o.seed, from, to);
    }
    supervise(&o);
}

/// Checks inputs `from..to`, one line each on stdout: `start I` before, then
/// `done I KIND EVENTS PEAK_BYTES VALIDATE_US TOTAL_US` or `panic I MESSAGE`.
fn worker(corpus: &[Vec<u8>], seed: u64, from: u64, to: u64) {
    std::panic::set_hook(Box::new(|_| {}));
    let mut out = std::io::stdout().lock();
    for index in from..to {
        let input = fuzzing::input(corpus, seed, index);
        writeln!(out, "start {index}").unwrap();
        out.flush().unwrap();
        let (verdict, peak) =
            alloc::peak_during(|| std::panic::catch_unwind(|| fuzzing::check(&input, MAX_EVENTS)));
        match verdict {
            Ok(v) => writeln!(
                out,
                "done {index} {:?} {} {peak} {} {}",
                v.kind, v.events, v.validate_micros, v.total_micros
            ),
            Err(e) => {
                let message = e
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                writeln!(out, "panic {index} {}", message.replace('\n', " "))
            }
        }
        .unwrap();
    }
}

#[derive(Default)]
struct Tally {
    inputs: u64,
    kinds: std::collections::BTreeMap<String, u64>,
    panics: Vec<u64>,
    aborts: Vec<u64>,
    timeouts: Vec<u64>,
    slowest_validate: (u64, u64),
    slowest_total: (u64, u64),
    most_bytes: (usize, u64),
    most_events: (u64, u64),
}

/// A worker process and the inputs it has left.
struct Job {
    /// The next input it has not finished, and the end of its range.
    next: u64,
    to: u64,
    /// The input it is checking, and since when.
    current: Option<(u64, Instant)>,
    child: Option<std::process::Child>,
}

enum Report {
    Line(String),
    /// The worker's output ended: it finished its inputs, or died.
    Ended,
}

/// Runs workers over the inputs, restarting after an input that kills or hangs one.
fn supervise(o: &Options) {
    std::fs::create_dir_all(&o.out).unwrap();
    let exe = std::env::current_exe().unwrap();
    let started = Instant::now();
    let per_job = o.inputs.div_ceil(o.jobs);
    let (tx, rx) = mpsc::channel::<(u64, Report)>();
    let mut tally = Tally::default();
    let spawn = |job: u64, from: u64, to: u64| -> std::process::Child {
        let mut child = Command::new(&exe)
            .args([
                "--seed",
                &o.seed.to_string(),
                "--worker",
                &from.to_string(),
                &to.to_string(),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send((job, Report::Line(line)));
            }
            let _ = tx.send((job, Report::Ended));
        });
        child
    };
    let mut jobs: Vec<Job> = (0..o.jobs)
        .map(|job| {
            let (from, to) = (job * per_job, ((job + 1) * per_job).min(o.inputs));
            Job {
                next: from,
                to,
                current: None,
                child: (from < to).then(|| spawn(job, from, to)),
            }
        })
        .collect();
    let mut last_note = Instant::now();
    while jobs.iter().any(|j| j.child.is_some()) {
        let message = rx.recv_timeout(Duration::from_millis(500));
        if let Ok((job, report)) = message {
            let j = job as usize;
            match report {
                Report::Line(line) => {
                    let words: Vec<&str> = line.splitn(8, ' ').collect();
                    let index: u64 = words.get(1).and_then(|w| w.parse().ok()).unwrap_or(0);
                    match words.first().copied() {
                        Some("start") => jobs[j].current = Some((index, Instant::now())),
                        Some("done") => {
                            jobs[j].current = None;
                            jobs[j].next = index + 1;
                            tally.inputs += 1;
                            let field = |k: usize| {
                                words
                                    .get(k)
                                    .and_then(|w| w.parse::<u64>().ok())
                                    .unwrap_or(0)
                            };
                            *tally
                                .kinds
                                .entry(words.get(2).unwrap_or(&"?").to_string())
                                .or_insert(0) += 1;
                            let (events, bytes, validate, total) =
                                (field(3), field(4), field(5), field(6));
                            if validate > tally.slowest_validate.0 {
                                tally.slowest_validate = (validate, index);
                            }
                            if total > tally.slowest_total.0 {
                                tally.slowest_total = (total, index);
                            }
                            if bytes as usize > tally.most_bytes.0 {
                                tally.most_bytes = (bytes as usize, index);
                            }
                            if events > tally.most_events.0 {
                                tally.most_events = (events, index);
                            }
                        }
                        Some("panic") => {
                            jobs[j].current = None;
                            jobs[j].next = index + 1;
                            tally.inputs += 1;
                            tally.panics.push(index);
                            keep(
                                o,
                                "panic",
                                index,
                                words.get(2..).map(|w| w.join(" ")).unwrap_or_default(),
                            );
                        }
                        _ => {}
                    }
                }
                Report::Ended => {
                    let Some(mut child) = jobs[j].child.take() else {
                        continue;
                    };
                    let status = child.wait().ok();
                    if let Some((index, _)) = jobs[j].current.take() {
                        // It died during an input: an abort (or our kill after a timeout).
                        let killed =
                            status.is_some_and(|s| s.code().is_none()) && jobs[j].next > index;
                        if !killed {
                            tally.inputs += 1;
                            tally.aborts.push(index);
                            keep(o, "abort", index, format!("{status:?}"));
                        }
                        jobs[j].next = index + 1;
                    }
                    let (from, to) = (jobs[j].next, jobs[j].to);
                    if from < to {
                        jobs[j].child = Some(spawn(job, from, to));
                    }
                }
            }
        }
        // An input that takes too long: kill its worker, count a timeout, go on after it.
        for job in &mut jobs {
            if let (Some((index, since)), Some(child)) = (job.current, job.child.as_mut())
                && since.elapsed() > o.timeout
            {
                let _ = child.kill();
                tally.inputs += 1;
                tally.timeouts.push(index);
                keep(o, "timeout", index, format!("over {:?}", o.timeout));
                job.next = index + 1;
                job.current = None;
            }
        }
        if last_note.elapsed() > Duration::from_secs(30) {
            last_note = Instant::now();
            eprintln!(
                "{} of {} inputs, {:.0} s; {} panics, {} aborts, {} timeouts",
                tally.inputs,
                o.inputs,
                started.elapsed().as_secs_f64(),
                tally.panics.len(),
                tally.aborts.len(),
                tally.timeouts.len()
            );
        }
    }
    let t = &tally;
    println!(
        "fuzz run: seed {}, {} inputs in {:.0} s with {} workers",
        o.seed,
        t.inputs,
        started.elapsed().as_secs_f64(),
        o.jobs
    );
    println!("verdicts: {:?}", t.kinds);
    println!(
        "panics {}: {:?}",
        t.panics.len(),
        t.panics.iter().take(20).collect::<Vec<_>>()
    );
    println!(
        "aborts {}: {:?}",
        t.aborts.len(),
        t.aborts.iter().take(20).collect::<Vec<_>>()
    );
    println!(
        "timeouts {}: {:?}",
        t.timeouts.len(),
        t.timeouts.iter().take(20).collect::<Vec<_>>()
    );
    println!(
        "slowest to validate: {:.3} s (input {})",
        t.slowest_validate.0 as f64 / 1e6,
        t.slowest_validate.1
    );
    println!(
        "slowest in all (validate and a run of at most 1 s simulated, {MAX_EVENTS} events): {:.3} s (input {})",
        t.slowest_total.0 as f64 / 1e6,
        t.slowest_total.1
    );
    println!(
        "most memory: {} MiB (input {})",
        t.most_bytes.0 >> 20,
        t.most_bytes.1
    );
    println!(
        "most events: {} (input {})",
        t.most_events.0, t.most_events.1
    );
    if !(t.panics.is_empty() && t.aborts.is_empty() && t.timeouts.is_empty()) {
        println!("failing inputs are in {}", o.out.display());
        std::process::exit(1);
    }
}

/// Writes a failing input (made again from its index) and why it failed.
fn keep(o: &Options, what: &str, index: u64, why: String) {
    let input = fuzzing::input(&fuzzing::corpus(), o.seed, index);
    let path = o.out.join(format!("{what}-{index}.ron"));
    let _ = std::fs::write(&path, input);
    let _ = std::fs::write(o.out.join(format!("{what}-{index}.txt")), why);
}
