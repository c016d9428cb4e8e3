//! The simulator against queueing theory's closed forms.
//!
//! Each test builds a scenario from parameters ([`System`] writes the RON
//! text), runs it, and compares what the report measured with what theory
//! predicts, as a table: quantity, theory, measured, standard error.
//!
//! # Method: independent replications
//!
//! Observations inside one run (successive waits, the depth over time) are
//! strongly correlated, so their naive standard error is far too small.
//! Instead every scenario is run [`REPLICATIONS`] = 20 times with seeds
//! 1..=20. Each run starts empty and discards a warm-up of 10-20 s of
//! simulated time, more than ten relaxation times of these queues (about
//! 1 s for M/M/1 at rho = 0.8), so the initial-condition bias is orders of
//! magnitude below the noise. Each replication yields one estimate (say its
//! mean queue wait); the 20 estimates are independent and identically
//! distributed, and close to normal since each averages 10^5-10^6 customers.
//! Their sample mean is the estimate and `s / sqrt(R)` its standard error
//! (SE). Quantities measured on the same replications whose difference theory
//! says is 0 (Little's law `L - lambda W`, M/D/1 against half the M/M/1 wait
//! on the same seeds) are tested as a per-replication difference (paired).
//!
//! A comparison passes when `|estimate - theory| < Z * SE` with [`Z`] = 4.5.
//! For a correct simulator `(estimate - theory) / SE` follows Student's t
//! with R - 1 = 19 degrees of freedom, so one comparison fails by chance
//! with probability 2.5e-4 (two-sided), and any of the 53 comparisons in
//! this file with probability at most 1.3% (union bound; the comparisons are
//! correlated, since every system's producer is `p` and draws the same unit
//! exponentials for the same seed). The seeds are fixed, so the outcome is
//! deterministic; that figure is the chance that a correct simulator meets
//! seeds that fail.
//!
//! A test that could never fail is worthless, so every comparison also
//! requires the SE to be below [`MAX_REL_SE`] = 3% of the quantity's scale
//! (the theoretical value, or for a difference the quantity it is a
//! difference of). Run lengths were set from each estimator's variance, not
//! by adjusting tolerances: for M/M/1 at rho = 0.8 the mean wait has an
//! asymptotic variance of about 0.2 s^2 per customer, so 20 x 6000 s at
//! 80/s (10^7 customers) gives an SE near 1.4e-4 s, 0.35% of the 40 ms
//! predicted. Across the file the SEs are 0.04-1% of the values, so the
//! acceptance bands are 0.2-4.5% wide.
//!
//! Every run also checks conservation (claim 7): [`assert_conserved`].
//!
//! `cargo test --release --test theory -- --nocapture` prints the tables.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::fmt::Write as _;
use std::sync::OnceLock;
use std::time::Instant;

use evlab::metrics::NodeHistogram;
use evlab::report::{NodeDetail, Report};
use evlab::run::Run;

// ===== statistics ====================================================================

/// Independent replications per scenario (seeds 1..=R).
const REPLICATIONS: u64 = 20;
/// Half-width of the acceptance band in standard errors (see the header).
const Z: f64 = 4.5;
/// Largest standard error allowed, relative to the quantity's scale.
const MAX_REL_SE: f64 = 0.03;

/// The mean of R independent per-replication estimates and its standard error.
#[derive(Debug, Clone, Copy)]
struct Estimate {
    mean: f64,
    se: f64,
}

impl Estimate {
    fn of(values: impl IntoIterator<Item = f64>) -> Estimate {
        let values: Vec<f64> = values.into_iter().collect();
        let n = values.len() as f64;
        assert!(values.len() >= 2, "need at least two replications");
        let mean = values.iter().sum::<f64>() / n;
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
        Estimate {
            mean,
            se: (var / n).sqrt(),
        }
    }
}

/// One line of a claim table: a measured estimate, what theory says, and the
/// scale the SE is judged against (the theoretical value itself, unless it is
/// 0 as for a difference).
struct Row {
    what: String,
    measured: Estimate,
    theory: f64,
    scale: f64,
}

fn row(what: &str, measured: Estimate, theory: f64) -> Row {
    Row {
        what: what.to_string(),
        measured,
        theory,
        scale: theory.abs(),
    }
}

/// A difference that theory says is 0, its SE judged against `scale`.
fn zero_row(what: &str, measured: Estimate, scale: f64) -> Row {
    Row {
        what: what.to_string(),
        measured,
        theory: 0.0,
        scale: scale.abs(),
    }
}

/// A claim as a test writes it: what, theory's value, and how to read the
/// per-replication estimate from an outcome.
type Claim<'a> = (&'a str, f64, &'a dyn Fn(&Outcome) -> f64);

/// Measures each claim over the replications.
fn rows(r: &Replications, claims: &[Claim]) -> Vec<Row> {
    claims
        .iter()
        .map(|(what, theory, metric)| row(what, r.est(metric), *theory))
        .collect()
}

/// Prints the table and asserts every row (all rows are reported before failing).
fn check(title: &str, rows: &[Row]) {
    let mut table = format!(
        "\n{title}\n{:<44} {:>11} {:>11} {:>10} {:>8} {:>6}\n",
        "quantity", "theory", "measured", "SE", "SE/scale", "z"
    );
    let mut failures = Vec::new();
    for r in rows {
        let z = (r.measured.mean - r.theory) / r.measured.se;
        let rel_se = r.measured.se / r.scale;
        let _ = writeln!(
            table,
            "{:<44} {:>11} {:>11} {:>10} {:>7.3}% {:>6.2}",
            r.what,
            num(r.theory),
            num(r.measured.mean),
            num(r.measured.se),
            rel_se * 100.0,
            z
        );
        // Written so that NaN fails too.
        if z.abs().partial_cmp(&Z) != Some(std::cmp::Ordering::Less) {
            failures.push(format!(
                "{}: measured {:.5} +- {:.5} (SE), theory {:.5}: {z:.2} SE away (limit {Z})",
                r.what, r.measured.mean, r.measured.se, r.theory
            ));
        }
        if rel_se.partial_cmp(&MAX_REL_SE) != Some(std::cmp::Ordering::Less) {
            failures.push(format!(
                "{}: SE {:.5} is {:.1}% of {:.5}, above {}%: the run is too short to test anything",
                r.what,
                r.measured.se,
                rel_se * 100.0,
                r.scale,
                MAX_REL_SE * 100.0
            ));
        }
    }
    println!("{table}");
    assert!(
        failures.is_empty(),
        "{title}:\n{}\n{table}",
        failures.join("\n")
    );
}

/// Six significant figures, in a fixed width.
fn num(v: f64) -> String {
    if v == 0.0 || (1e-3..1e5).contains(&v.abs()) {
        format!(
            "{:.*}",
            (5 - v.abs().log10().floor().max(0.0) as usize).min(6),
            v
        )
    } else {
        format!("{v:.4e}")
    }
}

// ===== theory ========================================================================

/// Erlang C: the probability that an arrival waits in M/M/c with offered load `a = lambda / mu` (< c).
fn erlang_c(c: u32, a: f64) -> f64 {
    // sum_{k<c} a^k / k!, and a^c / c! left in `term`.
    let (mut sum, mut term) = (0.0, 1.0);
    for k in 0..c {
        sum += term;
        term *= a / f64::from(k + 1);
    }
    let top = term * f64::from(c) / (f64::from(c) - a);
    top / (sum + top)
}

/// M/M/1/K: the stationary probabilities p_0..=p_K at `rho = lambda / mu` (rho != 1).
fn mm1k_probabilities(rho: f64, k: u32) -> Vec<f64> {
    (0..=k)
        .map(|n| (1.0 - rho) * rho.powi(n as i32) / (1.0 - rho.powi(k as i32 + 1)))
        .collect()
}

// ===== scenarios =====================================================================

/// A processing-time distribution, written in whole nanoseconds so that the
/// theory uses exactly the mean the simulator samples.
#[derive(Clone, Copy)]
enum Service {
    Exponential { mean_ns: u64 },
    Constant { ns: u64 },
    LogNormal { mean_ns: u64, stddev_ns: u64 },
}

impl Service {
    /// Exponential with rate `mu` per second.
    fn exp(mu: f64) -> Service {
        Service::Exponential {
            mean_ns: (1e9 / mu).round() as u64,
        }
    }

    fn constant(mu: f64) -> Service {
        Service::Constant {
            ns: (1e9 / mu).round() as u64,
        }
    }

    fn mean_s(self) -> f64 {
        match self {
            Service::Exponential { mean_ns }
            | Service::Constant { ns: mean_ns }
            | Service::LogNormal { mean_ns, .. } => mean_ns as f64 / 1e9,
        }
    }

    /// The service rate mu, per second.
    fn mu(self) -> f64 {
        1.0 / self.mean_s()
    }

    /// E[S^2] in s^2.
    fn second_moment_s2(self) -> f64 {
        let m = self.mean_s();
        match self {
            Service::Exponential { .. } => 2.0 * m * m,
            Service::Constant { .. } => m * m,
            Service::LogNormal { stddev_ns, .. } => m * m + (stddev_ns as f64 / 1e9).powi(2),
        }
    }

    fn ron(self) -> String {
        match self {
            Service::Exponential { mean_ns } => format!("Exponential(mean: \"{mean_ns}ns\")"),
            Service::Constant { ns } => format!("Constant(time: \"{ns}ns\")"),
            Service::LogNormal { mean_ns, stddev_ns } => {
                format!("LogNormal(mean: \"{mean_ns}ns\", stddev: \"{stddev_ns}ns\")")
            }
        }
    }
}

/// One service station: queue `q{n}` drained by `consumers` competing
/// consumers `c{n}_{i}` (concurrency 1, prefetch 1), which publish what they
/// processed to the next stage's queue, if any.
#[derive(Clone)]
struct Stage {
    consumers: u32,
    service: Service,
    /// `Some((max_length, "RejectPublish" | "DropHead"))`.
    limit: Option<(u64, &'static str)>,
    /// Latency of the links from the queue to its consumers (ns; 0: none).
    link_ns: u64,
}

fn stage(consumers: u32, service: Service) -> Stage {
    Stage {
        consumers,
        service,
        limit: None,
        link_ns: 0,
    }
}

/// A Poisson producer `p` feeding a line of stages.
#[derive(Clone)]
struct System {
    name: &'static str,
    lambda: f64,
    stages: Vec<Stage>,
    warmup_s: u64,
    /// Measured time after the warm-up.
    measure_s: u64,
}

impl System {
    fn ron(&self, seed: u64) -> String {
        let mut nodes = format!(
            "        Producer(id: \"p\", arrival: Poisson(rate: \"{}/s\")),\n",
            self.lambda
        );
        let mut edges = String::from("        (from: \"p\", to: \"q1\"),\n");
        for (s, st) in self.stages.iter().enumerate() {
            let n = s + 1;
            let limit = st.limit.map_or(String::new(), |(max, overflow)| {
                format!(", max_length: {max}, overflow: {overflow}")
            });
            let _ = writeln!(nodes, "        Queue(id: \"q{n}\"{limit}),");
            for i in 0..st.consumers {
                let _ = writeln!(
                    nodes,
                    "        Consumer(id: \"c{n}_{i}\", concurrency: 1, prefetch: 1, service: {}),",
                    st.service.ron()
                );
                let latency = if st.link_ns > 0 {
                    format!(", latency: \"{}ns\"", st.link_ns)
                } else {
                    String::new()
                };
                let _ = writeln!(
                    edges,
                    "        (from: \"q{n}\", to: \"c{n}_{i}\"{latency}),"
                );
                if n < self.stages.len() {
                    let _ = writeln!(edges, "        (from: \"c{n}_{i}\", to: \"q{}\"),", n + 1);
                }
            }
        }
        format!(
            "(\n    version: 1,\n    name: \"{}\",\n    seed: {seed},\n    duration: \"{}s\",\n    warmup: \"{}s\",\n    nodes: [\n{nodes}    ],\n    edges: [\n{edges}    ],\n)\n",
            self.name,
            self.warmup_s + self.measure_s,
            self.warmup_s
        )
    }

    /// Runs the replications (seeds 1..=R), one after the other.
    fn replicate(&self) -> Replications {
        let started = Instant::now();
        let outcomes = (1..=REPLICATIONS)
            .map(|seed| simulate(&self.ron(seed), self.name))
            .collect();
        println!(
            "{}: {REPLICATIONS} x {} s simulated in {:.2} s",
            self.name,
            self.warmup_s + self.measure_s,
            started.elapsed().as_secs_f64()
        );
        Replications(outcomes)
    }
}

// ===== running and reading the report =================================================

/// What one replication measured.
struct Outcome {
    report: Report,
    /// Per queue (in node order): the fraction of deliveries after the warm-up
    /// that waited at all (read from the queue's wait histogram).
    waited: Vec<f64>,
}

/// Runs one scenario to the end and checks conservation (claim 7) on the way out.
fn simulate(text: &str, name: &str) -> Outcome {
    let (_, scenario) =
        evlab::scenario::parse(text, name).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let mut run = Run::new(&scenario).unwrap();
    run.run_to_end(|_| {}).unwrap();
    let report = run.report(None, false);
    assert_conserved(&run, &report);
    let waited = run
        .world()
        .queues()
        .map(|q| fraction_waited(&q.metrics().wait))
        .collect();
    Outcome { report, waited }
}

/// Claim 7: the ledger balances, by its own recount and by the report's figures.
fn assert_conserved(run: &Run, report: &Report) {
    run.check_ledger()
        .unwrap_or_else(|e| panic!("{}: {e}", report.scenario));
    let t = &report.totals;
    assert_eq!(
        t.produced + t.fanned_out,
        t.processed + t.dropped_total + t.in_flight_at_end,
        "{}: ledger identity",
        report.scenario
    );
    assert_eq!(
        t.dropped_total,
        t.dropped.unroutable + t.dropped.overflow + t.dropped.ttl + t.dropped.retention
    );
    // Without topics, every copy in flight is ready in a queue or unacknowledged by its consumer.
    let in_queues: u64 = report
        .nodes
        .iter()
        .map(|n| match &n.detail {
            NodeDetail::Queue {
                depth_at_end,
                unacked_at_end,
                ..
            } => depth_at_end + unacked_at_end,
            NodeDetail::Topic { .. } => panic!("this file has no topics"),
            _ => 0,
        })
        .sum();
    assert_eq!(
        t.in_flight_at_end, in_queues,
        "{}: in flight at the end",
        report.scenario
    );
}

/// The fraction of recorded waits that are not zero. The histogram's lowest
/// bucket holds 0..512 ns (1 µs resolution); a real wait that short has
/// probability ~1e-5 here. Found by bisection on the quantile function: the
/// k-th smallest wait is in the lowest bucket iff the quantile (k - 0.5) / n
/// is below 1 µs.
fn fraction_waited(wait: &NodeHistogram) -> f64 {
    let n = wait.count();
    if n == 0 {
        return 0.0;
    }
    let zero = |k: u64| wait.quantile_nanos((k as f64 - 0.5) / n as f64) < 1_000;
    // Largest k in 0..=n with the k smallest waits all zero.
    let (mut lo, mut hi) = (0u64, n);
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if zero(mid) { lo = mid } else { hi = mid - 1 }
    }
    1.0 - lo as f64 / n as f64
}

/// A queue's figures after the warm-up.
struct QueueFigures {
    delivered: u64,
    mean_wait_s: f64,
    mean_depth: f64,
    mean_unacked: f64,
    dropped_overflow: u64,
}

/// A consumer's figures after the warm-up.
struct ConsumerFigures {
    processed: u64,
    utilization: f64,
    mean_service_s: f64,
}

struct Replications(Vec<Outcome>);

impl Replications {
    /// The estimate of `f` over the replications.
    fn est(&self, f: impl Fn(&Outcome) -> f64) -> Estimate {
        Estimate::of(self.0.iter().map(f))
    }
}

impl Outcome {
    fn node(&self, id: &str) -> &NodeDetail {
        &self
            .report
            .nodes
            .iter()
            .find(|n| n.id == id)
            .unwrap_or_else(|| panic!("no node {id}"))
            .detail
    }

    fn queue(&self, id: &str) -> QueueFigures {
        match self.node(id) {
            NodeDetail::Queue {
                delivered,
                mean_wait_ms,
                mean_depth,
                mean_unacked,
                dropped,
                ..
            } => QueueFigures {
                delivered: *delivered,
                mean_wait_s: mean_wait_ms / 1e3,
                mean_depth: *mean_depth,
                mean_unacked: *mean_unacked,
                dropped_overflow: dropped.overflow,
            },
            _ => panic!("{id} is not a queue"),
        }
    }

    fn consumer(&self, id: &str) -> ConsumerFigures {
        match self.node(id) {
            NodeDetail::Consumer {
                processed,
                utilization,
                mean_service_ms,
                ..
            } => ConsumerFigures {
                processed: *processed,
                utilization: *utilization,
                mean_service_s: mean_service_ms / 1e3,
            },
            _ => panic!("{id} is not a consumer"),
        }
    }

    /// Messages produced after the warm-up.
    fn produced(&self) -> u64 {
        match self.node("p") {
            NodeDetail::Producer { produced, .. } => *produced,
            _ => panic!("p is not a producer"),
        }
    }

    /// The measured window (after the warm-up), in seconds.
    fn window_s(&self) -> f64 {
        self.report.sim_seconds - self.report.warmup_seconds
    }

    /// End-to-end mean latency (sojourn), in seconds.
    fn sojourn_s(&self) -> f64 {
        self.report.latency_ms.mean / 1e3
    }

    /// Messages at a queue: ready plus unacknowledged (in its consumers' hands).
    fn in_queue(&self, id: &str) -> f64 {
        let q = self.queue(id);
        q.mean_depth + q.mean_unacked
    }

    /// Processed per second by a consumer, after the warm-up.
    fn rate(&self, consumer: &str) -> f64 {
        self.consumer(consumer).processed as f64 / self.window_s()
    }

    /// Fraction of the messages produced after the warm-up that `q1` rejected.
    fn blocked(&self) -> f64 {
        self.queue("q1").dropped_overflow as f64 / self.produced() as f64
    }
}

// ===== the systems under test ========================================================

const LAMBDA: f64 = 80.0;
const MU: f64 = 100.0;

fn mm1_system() -> System {
    System {
        name: "mm1",
        lambda: LAMBDA,
        stages: vec![stage(1, Service::exp(MU))],
        warmup_s: 20,
        measure_s: 6000,
    }
}

fn md1_system() -> System {
    System {
        name: "md1",
        lambda: LAMBDA,
        stages: vec![stage(1, Service::constant(MU))],
        warmup_s: 20,
        measure_s: 6000,
    }
}

/// Three servers at rho = 0.8 each.
fn mmc_system() -> System {
    System {
        name: "mm3",
        lambda: 240.0,
        stages: vec![stage(3, Service::exp(MU))],
        warmup_s: 20,
        measure_s: 2000,
    }
}

fn mm1k_system(name: &'static str, lambda: f64) -> System {
    let mut st = stage(1, Service::exp(MU));
    st.limit = Some((MM1K_K as u64 - 1, "RejectPublish"));
    System {
        name,
        lambda,
        stages: vec![st],
        warmup_s: 10,
        measure_s: 1000,
    }
}

const MM1K_K: u32 = 5;

fn tandem_system() -> System {
    System {
        name: "tandem",
        lambda: LAMBDA,
        stages: vec![stage(1, Service::exp(120.0)), stage(1, Service::exp(MU))],
        warmup_s: 20,
        measure_s: 4000,
    }
}

/// M/G/1 with a log-normal service, coefficient of variation 2, at rho = 0.7.
fn lognormal_system() -> System {
    let service = Service::LogNormal {
        mean_ns: 10_000_000,
        stddev_ns: 20_000_000,
    };
    System {
        name: "mg1-lognormal",
        lambda: 70.0,
        stages: vec![stage(1, service)],
        warmup_s: 20,
        measure_s: 8000,
    }
}

/// M/M/1's queue and consumer with 2.5 ms of latency between them: with prefetch 1, the
/// next delivery leaves only when the last acknowledgement is back, so the consumer is
/// a server busy for the service time plus the round trip (5 ms exponential + 5 ms).
fn remote_system() -> System {
    let mut remote = stage(1, Service::exp(200.0));
    remote.link_ns = 2_500_000;
    System {
        name: "mg1-remote",
        lambda: LAMBDA,
        stages: vec![remote],
        warmup_s: 20,
        measure_s: 6000,
    }
}

/// The replications of each system, shared between the tests that read them
/// (the same runs feed the closed-form claims and Little's law).
macro_rules! shared {
    ($name:ident, $system:expr) => {
        fn $name() -> &'static Replications {
            static CELL: OnceLock<Replications> = OnceLock::new();
            CELL.get_or_init(|| $system.replicate())
        }
    };
}

shared!(mm1, mm1_system());
shared!(md1, md1_system());
shared!(mmc, mmc_system());
shared!(mm1k_09, mm1k_system("mm1k-rho0.9", 90.0));
shared!(mm1k_15, mm1k_system("mm1k-rho1.5", 150.0));
shared!(tandem, tandem_system());
shared!(lognormal, lognormal_system());
shared!(remote, remote_system());

// ===== 1. M/M/1 ======================================================================

#[test]
fn mm1_matches_closed_forms() {
    let sys = mm1_system();
    let (lambda, mu) = (sys.lambda, sys.stages[0].service.mu());
    let rho = lambda / mu;
    let (wq, w) = (rho / (mu - lambda), 1.0 / (mu - lambda));
    let (lq, l) = (rho * rho / (1.0 - rho), rho / (1.0 - rho));
    #[rustfmt::skip]
    let claims: &[Claim] = &[
        ("Wq = rho/(mu-lambda) (s)", wq, &|o| o.queue("q1").mean_wait_s),
        ("W = 1/(mu-lambda), end-to-end (s)", w, &|o| o.sojourn_s()),
        ("utilization = rho", rho, &|o| o.consumer("c1_0").utilization),
        ("Lq = rho^2/(1-rho), mean ready depth", lq, &|o| o.queue("q1").mean_depth),
        ("L = rho/(1-rho), ready + unacked", l, &|o| o.in_queue("q1")),
        ("P(wait) = rho (PASTA)", rho, &|o| o.waited[0]),
    ];
    check("M/M/1, lambda 80/s, mu 100/s", &rows(mm1(), claims));
}

// ===== 2. M/M/c ======================================================================

#[test]
fn mmc_matches_erlang_c() {
    let sys = mmc_system();
    let (lambda, mu, c) = (
        sys.lambda,
        sys.stages[0].service.mu(),
        sys.stages[0].consumers,
    );
    assert_eq!(c, 3);
    let a = lambda / mu;
    let pw = erlang_c(c, a);
    let wq = pw / (f64::from(c) * mu - lambda);
    let per_server = a / f64::from(c);
    #[rustfmt::skip]
    let claims: &[Claim] = &[
        ("P(wait) = Erlang C(3, 2.4)", pw, &|o| o.waited[0]),
        ("Wq = C/(c mu - lambda) (s)", wq, &|o| o.queue("q1").mean_wait_s),
        ("W = Wq + 1/mu, end-to-end (s)", wq + 1.0 / mu, &|o| o.sojourn_s()),
        ("Lq = lambda Wq, mean ready depth", lambda * wq, &|o| o.queue("q1").mean_depth),
        ("busy servers = a, mean unacked", a, &|o| o.queue("q1").mean_unacked),
        ("utilization c1_0 = a/c", per_server, &|o| o.consumer("c1_0").utilization),
        ("utilization c1_1 = a/c", per_server, &|o| o.consumer("c1_1").utilization),
        ("utilization c1_2 = a/c", per_server, &|o| o.consumer("c1_2").utilization),
    ];
    check(
        "M/M/3, lambda 240/s, mu 100/s per server",
        &rows(mmc(), claims),
    );
}

// ===== 3. M/D/1 (and M/G/1) ==========================================================

#[test]
fn md1_matches_pollaczek_khinchine() {
    let sys = md1_system();
    let service = sys.stages[0].service;
    let (lambda, mu) = (sys.lambda, service.mu());
    let rho = lambda / mu;
    let wq = rho / (2.0 * mu * (1.0 - rho));
    // The general Pollaczek-Khinchine formula agrees.
    let pk = lambda * service.second_moment_s2() / (2.0 * (1.0 - rho));
    assert!((wq - pk).abs() < 1e-12);
    #[rustfmt::skip]
    let claims: &[Claim] = &[
        ("Wq = rho/(2 mu (1-rho)) (s)", wq, &|o| o.queue("q1").mean_wait_s),
        ("W = Wq + 1/mu, end-to-end (s)", wq + 1.0 / mu, &|o| o.sojourn_s()),
        ("Lq = lambda Wq, mean ready depth", lambda * wq, &|o| o.queue("q1").mean_depth),
    ];
    let mut table = rows(md1(), claims);
    // Half the M/M/1 wait at the same rho. Both systems use seeds 1..=R and
    // the same producer id, hence the same arrivals: compare per replication.
    let (d, m) = (md1(), mm1());
    let wait = |o: &Outcome| o.queue("q1").mean_wait_s;
    let paired = Estimate::of(d.0.iter().zip(&m.0).map(|(d, m)| wait(d) - 0.5 * wait(m)));
    table.push(zero_row("Wq(M/D/1) - Wq(M/M/1)/2, paired (s)", paired, wq));
    let ratio = d.est(wait).mean / m.est(wait).mean;
    check(
        &format!("M/D/1, lambda 80/s, service 10 ms (Wq ratio to M/M/1: {ratio:.4}, theory 0.5)"),
        &table,
    );
}

/// Latency between a queue and its consumer: with prefetch 1 the consumer holds each
/// message for the service time S plus the round trip 2L (delivery there, acknowledgement
/// back), so the queue is M/G/1 with G = S + 2L (Pollaczek-Khinchine), and a message's
/// journey is its wait, one link crossing and its service.
#[test]
fn prefetch_one_over_a_link_is_mg1_with_the_round_trip_in_the_service() {
    let sys = remote_system();
    let stage = &sys.stages[0];
    let lambda = sys.lambda;
    let (s, l) = (stage.service.mean_s(), stage.link_ns as f64 / 1e9);
    let g = s + 2.0 * l;
    // E[G^2] = Var(S) + E[G]^2; S is exponential, so Var(S) = s^2.
    let g2 = s * s + g * g;
    let rho = lambda * g;
    let wq = lambda * g2 / (2.0 * (1.0 - rho));
    #[rustfmt::skip]
    let claims: &[Claim] = &[
        ("Wq = lambda E[G^2] / (2 (1 - rho)), G = S + 2L (s)", wq, &|o| o.queue("q1").mean_wait_s),
        ("W = Wq + L + S, end-to-end (s)", wq + l + s, &|o| o.sojourn_s()),
        ("Lq = lambda Wq, mean ready depth", lambda * wq, &|o| o.queue("q1").mean_depth),
        ("rho = lambda (S + 2L), mean unacked", rho, &|o| o.queue("q1").mean_unacked),
    ];
    check(
        &format!("M/G/1 over a link, lambda 80/s, S exp 5 ms, L 2.5 ms (rho {rho:.2})"),
        &rows(remote(), claims),
    );
}

/// Not in the brief, but the same formula with a variable service time: the
/// general Pollaczek-Khinchine mean wait, for a log-normal service.
#[test]
fn mg1_lognormal_matches_pollaczek_khinchine() {
    let sys = lognormal_system();
    let service = sys.stages[0].service;
    let rho = sys.lambda * service.mean_s();
    let wq = sys.lambda * service.second_moment_s2() / (2.0 * (1.0 - rho));
    #[rustfmt::skip]
    let claims: &[Claim] = &[
        ("Wq = lambda E[S^2]/(2(1-rho)) (s)", wq, &|o| o.queue("q1").mean_wait_s),
        ("utilization = rho", rho, &|o| o.consumer("c1_0").utilization),
    ];
    check(
        "M/G/1, log-normal service mean 10 ms sd 20 ms, lambda 70/s",
        &rows(lognormal(), claims),
    );
}

// ===== 4. M/M/1/K ====================================================================

/// Rejections are counted by the queue and production by the producer, both
/// after the warm-up, so both cover the same window.
fn check_mm1k(r: &Replications, lambda: f64) {
    let mu = MU;
    let rho = lambda / mu;
    let p = mm1k_probabilities(rho, MM1K_K);
    let blocking = p[MM1K_K as usize];
    let l: f64 = p.iter().enumerate().map(|(n, pn)| n as f64 * pn).sum();
    let throughput = lambda * (1.0 - blocking);
    #[rustfmt::skip]
    let claims: &[Claim] = &[
        ("P_K = (1-rho) rho^K / (1-rho^(K+1))", blocking, &|o| o.blocked()),
        ("L = sum n p_n, ready + unacked", l, &|o| o.in_queue("q1")),
        ("W = L / (lambda (1-P_K)), end-to-end (s)", l / throughput, &|o| o.sojourn_s()),
        ("offered rate = lambda (/s)", lambda, &|o| o.produced() as f64 / o.window_s()),
        ("throughput = lambda (1-P_K) (/s)", throughput, &|o| o.rate("c1_0")),
    ];
    let k = MM1K_K;
    check(
        &format!(
            "M/M/1/{k}, lambda {lambda}/s, mu {mu}/s (max_length {}, RejectPublish)",
            k - 1
        ),
        &rows(r, claims),
    );
}

#[test]
fn mm1k_blocking_at_rho_0_9() {
    check_mm1k(mm1k_09(), 90.0);
}

#[test]
fn mm1k_blocking_when_overloaded() {
    check_mm1k(mm1k_15(), 150.0);
}

// ===== 5. Tandem (Jackson) ===========================================================

#[test]
fn tandem_matches_jackson() {
    let sys = tandem_system();
    let lambda = sys.lambda;
    let (mu1, mu2) = (sys.stages[0].service.mu(), sys.stages[1].service.mu());
    let (rho1, rho2) = (lambda / mu1, lambda / mu2);
    let w = 1.0 / (mu1 - lambda) + 1.0 / (mu2 - lambda);
    #[rustfmt::skip]
    let claims: &[Claim] = &[
        ("W = 1/(mu1-lambda) + 1/(mu2-lambda) (s)", w, &|o| o.sojourn_s()),
        ("Wq1 = rho1/(mu1-lambda) (s)", rho1 / (mu1 - lambda), &|o| o.queue("q1").mean_wait_s),
        ("Wq2 = rho2/(mu2-lambda) (s)", rho2 / (mu2 - lambda), &|o| o.queue("q2").mean_wait_s),
        ("Lq2 = rho2^2/(1-rho2)", rho2 * rho2 / (1.0 - rho2), &|o| o.queue("q2").mean_depth),
        ("utilization c1 = rho1", rho1, &|o| o.consumer("c1_0").utilization),
        ("utilization c2 = rho2", rho2, &|o| o.consumer("c2_0").utilization),
        ("throughput out = lambda (/s)", lambda, &|o| o.rate("c2_0")),
    ];
    check(
        "Tandem M/M/1 -> M/M/1, lambda 80/s, mu1 120/s, mu2 100/s",
        &rows(tandem(), claims),
    );
}

// ===== 6. Little's law ===============================================================

/// Little's law needs no distribution, so it is checked at every queue of
/// five systems, one with a log-normal service (its wait is known only
/// through Pollaczek-Khinchine's mean) and one that rejects a third of its
/// arrivals. Per replication, with T the measured window:
///
/// * ready messages: `mean_depth = (delivered / T) * mean_wait`;
/// * unacknowledged messages (prefetch = concurrency, so a delivered message
///   is in service until acknowledged): `mean_unacked = (delivered / T) * E[S]`,
///   with E[S] the consumers' mean service time weighted by what each processed.
///
/// Over a window both sides integrate the same messages and differ only by
/// those straddling its two ends, whose contributions have equal means in
/// steady state. So the difference has mean exactly 0 and a tiny spread: the
/// comparison is very sharp (SE about 1e-5 of L).
#[test]
fn littles_law_at_every_queue() {
    let systems: [(&str, &Replications, System); 5] = [
        ("M/M/1", mm1(), mm1_system()),
        ("M/M/3", mmc(), mmc_system()),
        ("tandem", tandem(), tandem_system()),
        ("M/G/1 log-normal", lognormal(), lognormal_system()),
        (
            "M/M/1/5 rho 1.5",
            mm1k_15(),
            mm1k_system("mm1k-rho1.5", 150.0),
        ),
    ];
    let mut rows = Vec::new();
    for (label, r, sys) in &systems {
        for (s, st) in sys.stages.iter().enumerate() {
            let q = format!("q{}", s + 1);
            let consumers: Vec<String> = (0..st.consumers)
                .map(|i| format!("c{}_{i}", s + 1))
                .collect();
            let lambda = |o: &Outcome| o.queue(&q).delivered as f64 / o.window_s();
            let mean_service = |o: &Outcome| {
                let figures: Vec<ConsumerFigures> =
                    consumers.iter().map(|c| o.consumer(c)).collect();
                let processed: u64 = figures.iter().map(|f| f.processed).sum();
                figures
                    .iter()
                    .map(|f| f.processed as f64 * f.mean_service_s)
                    .sum::<f64>()
                    / processed as f64
            };
            let depth = r.est(|o| o.queue(&q).mean_depth);
            let ready = r.est(|o| o.queue(&q).mean_depth - lambda(o) * o.queue(&q).mean_wait_s);
            rows.push(zero_row(
                &format!("{label} {q}: Lq - lambda Wq"),
                ready,
                depth.mean,
            ));
            let unacked = r.est(|o| o.queue(&q).mean_unacked);
            let held = r.est(|o| o.queue(&q).mean_unacked - lambda(o) * mean_service(o));
            rows.push(zero_row(
                &format!("{label} {q}: L_unacked - lambda E[S]"),
                held,
                unacked.mean,
            ));
        }
    }
    check("Little's law, L = lambda W, at every queue", &rows);
}

// ===== 7. Conservation ===============================================================

/// Every run above checks the ledger; these add the cases the queueing
/// scenarios lack: drop-head overflow, TTL expiry, fan-out copies, buffered
/// prefetch, and a run that ends overloaded with a backlog still in flight.
#[test]
fn conservation_with_drops_fan_out_and_backlog() {
    let fanout = simulate(
        r#"(version: 1, name: "fanout", seed: 7, duration: "60s", warmup: "5s",
            nodes: [
                Producer(id: "p", arrival: Poisson(rate: "200/s")),
                Exchange(id: "x", type: Fanout),
                Queue(id: "a", max_length: 10, overflow: DropHead),
                Queue(id: "b", ttl: "30ms"),
                Queue(id: "c"),
                Consumer(id: "ca", service: Exponential(mean: "6ms")),
                Consumer(id: "cb", concurrency: 2, prefetch: 5, service: Pareto(scale: "4ms", shape: 2.5)),
                Consumer(id: "cc", service: Constant(time: "4ms")),
                Queue(id: "d"),
                Consumer(id: "cd", concurrency: 4, service: Uniform(min: "1ms", max: "30ms")),
            ],
            edges: [
                (from: "p", to: "x"), (from: "x", to: "a"), (from: "x", to: "b"), (from: "x", to: "c"),
                (from: "a", to: "ca"), (from: "b", to: "cb"), (from: "c", to: "cc"),
                (from: "cc", to: "d"), (from: "ca", to: "d"), (from: "d", to: "cd"),
            ])"#,
        "fanout",
    );
    let backlog = simulate(
        r#"(version: 1, name: "backlog", seed: 8, duration: "30s",
            nodes: [
                Producer(id: "p", arrival: OnOff(rate: "400/s", on: "2s", off: "1s")),
                Queue(id: "q"),
                Consumer(id: "c", service: LogNormal(mean: "5ms", stddev: "5ms")),
            ],
            edges: [(from: "p", to: "q"), (from: "q", to: "c")])"#,
        "backlog",
    );
    for outcome in [&fanout, &backlog] {
        let t = &outcome.report.totals;
        println!(
            "{}: produced {} + fanned out {} = processed {} + dropped {} {:?} + in flight {}",
            outcome.report.scenario,
            t.produced,
            t.fanned_out,
            t.processed,
            t.dropped_total,
            t.dropped,
            t.in_flight_at_end
        );
    }
    let t = &fanout.report.totals;
    assert!(
        t.fanned_out > 0 && t.dropped.overflow > 0 && t.dropped.ttl > 0,
        "the fan-out scenario should exercise copies and both drop reasons"
    );
    assert!(
        backlog.report.totals.in_flight_at_end > 1000,
        "the backlog scenario should end with messages in flight"
    );
}
