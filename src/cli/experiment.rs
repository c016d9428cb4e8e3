//! `evlab run --replications N` and `evlab compare`: figures with their 95% intervals, and
//! designs side by side on common random numbers.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde::Serialize;

use super::{EXIT_FAILED, EXIT_INVALID, Format, RunArgs, RunFlags};
use crate::atomic::PendingFile;
use crate::experiment::{
    self, HEADLINE, Summary, number, ordered, paired_difference, replication_seed,
};
use crate::report::Report;
use crate::scenario::Scenario;
use crate::text::printable;

/// Runs `replications` replications of `scenario`; a failed one is an error naming its seed.
fn replicate(scenario: &Scenario, replications: u32) -> Result<Vec<Report>, (u32, String)> {
    experiment::replicate(scenario, replications)
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            r.map_err(|e| {
                let seed = replication_seed(scenario.seed, i as u32);
                (i as u32, format!("replication {i} (seed {seed}): {e}"))
            })
        })
        .collect()
}

#[derive(Serialize)]
struct Replicated<'a> {
    evlab_version: &'static str,
    scenario: &'a str,
    /// The base seed: replication 0's, and the one the others derive from.
    seed: u64,
    replications: u32,
    seeds: Vec<u64>,
    sim_seconds: f64,
    warmup_seconds: f64,
    figures: &'a BTreeMap<String, Summary>,
}

/// `evlab run FILE --replications N`.
pub fn replications(args: &RunArgs, scenario: &Scenario, out: Option<PendingFile>) -> ExitCode {
    let n = args.replications;
    let reports = match replicate(scenario, n) {
        Ok(reports) => reports,
        Err((_, why)) => {
            eprintln!("error: {}", printable(&why));
            return ExitCode::from(EXIT_FAILED);
        }
    };
    let figures = experiment::summarize(&reports);
    let (sim, warmup) = (
        scenario.duration_nanos as f64 / 1e9,
        scenario.warmup_nanos as f64 / 1e9,
    );
    let text = match args.format {
        Format::Table => {
            let mut t = String::new();
            let _ = writeln!(
                t,
                "evlab {} | scenario: {} | {n} replications (seed {}, then seeds derived from it) | {sim:.1} s simulated (warm-up {warmup:.1} s)\n",
                env!("CARGO_PKG_VERSION"),
                printable(&scenario.name),
                scenario.seed,
            );
            let (table, noisy) = experiment::summary_table(&figures);
            t.push_str(&table);
            if noisy > 0 {
                let _ = writeln!(
                    t,
                    "\n{noisy} figures have an interval wider than 10% of their mean: do not read them as results yet"
                );
            }
            t
        }
        Format::Json => {
            let seeds = (0..n).map(|i| replication_seed(scenario.seed, i)).collect();
            let report = Replicated {
                evlab_version: env!("CARGO_PKG_VERSION"),
                scenario: &scenario.name,
                seed: scenario.seed,
                replications: n,
                seeds,
                sim_seconds: sim,
                warmup_seconds: warmup,
                figures: &figures,
            };
            crate::text::json_safe(serde_json::to_string_pretty(&report).unwrap_or_default()) + "\n"
        }
        Format::Csv => {
            let mut t = String::from(
                "evlab_version,scenario,seed,replications,warmup_seconds,metric,mean,ci95,n\n",
            );
            for (name, s) in &figures {
                let _ = writeln!(
                    t,
                    "{},{},{},{n},{warmup},{name},{},{},{}",
                    env!("CARGO_PKG_VERSION"),
                    csv(&scenario.name),
                    scenario.seed,
                    s.mean,
                    s.ci95,
                    s.n
                );
            }
            t
        }
    };
    super::write_output(out, &text)
}

/// A CSV field: quoted when it must be, control characters escaped.
pub fn csv(text: &str) -> String {
    let text = printable(text);
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.into_owned()
    }
}

#[derive(clap::Args)]
pub struct CompareArgs {
    /// Two or more scenario files: the first is the baseline the others are compared with.
    #[arg(required = true, num_args = 2..)]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub flags: RunFlags,
    /// Replications of each design (replication i of every design on the same seed).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(2..=10_000))]
    pub replications: u32,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write the comparison here instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Show every figure in the table, not only the headline ones and those that differ.
    #[arg(long)]
    pub all: bool,
}

/// One figure of one design against the baseline.
#[derive(Serialize)]
struct Against {
    design: String,
    value: Summary,
    /// The paired difference design - baseline, replication by replication.
    difference: Summary,
    significant: bool,
}

#[derive(Serialize)]
struct FigureComparison {
    baseline: Summary,
    designs: Vec<Against>,
}

#[derive(Serialize)]
struct Comparison<'a> {
    evlab_version: &'static str,
    baseline: &'a str,
    designs: Vec<&'a str>,
    seed: u64,
    replications: u32,
    seeds: Vec<u64>,
    figures: BTreeMap<String, FigureComparison>,
}

/// `evlab compare A.ron B.ron ...`.
pub fn compare(args: CompareArgs) -> ExitCode {
    let mut scenarios = Vec::new();
    for file in &args.files {
        match super::load_with(file, &args.flags) {
            Ok(s) => scenarios.push((file.clone(), s)),
            Err(code) => return code,
        }
    }
    let out = match super::prepare_out(args.out.as_deref()) {
        Ok(out) => out,
        Err(code) => return code,
    };
    // Common random numbers: every design on the baseline's seeds.
    let base_seed = scenarios.first().map_or(0, |(_, s)| s.seed);
    let mut runs: Vec<(String, BTreeMap<String, Vec<f64>>)> = Vec::new();
    for (file, scenario) in &mut scenarios {
        scenario.seed = base_seed;
        match replicate(scenario, args.replications) {
            Ok(reports) => runs.push((design_name(file, scenario), experiment::gather(&reports))),
            Err((_, why)) => {
                eprintln!(
                    "error: {}: {}",
                    printable(&super::file_name(file)),
                    printable(&why)
                );
                return ExitCode::from(EXIT_FAILED);
            }
        }
    }
    let Some((baseline_name, baseline)) = runs.first() else {
        return ExitCode::from(EXIT_INVALID);
    };
    let mut figures = BTreeMap::new();
    for (name, base_values) in baseline {
        let designs = runs
            .iter()
            .skip(1)
            .filter_map(|(design, values)| {
                let values = values.get(name)?;
                let difference = paired_difference(base_values, values);
                Some(Against {
                    design: design.clone(),
                    value: Summary::of(values),
                    significant: difference.excludes_zero(),
                    difference,
                })
            })
            .collect();
        figures.insert(
            name.clone(),
            FigureComparison {
                baseline: Summary::of(base_values),
                designs,
            },
        );
    }
    let comparison = Comparison {
        evlab_version: env!("CARGO_PKG_VERSION"),
        baseline: baseline_name,
        designs: runs.iter().skip(1).map(|(d, _)| d.as_str()).collect(),
        seed: base_seed,
        replications: args.replications,
        seeds: (0..args.replications)
            .map(|i| replication_seed(base_seed, i))
            .collect(),
        figures,
    };
    let text = match args.format {
        Format::Table => compare_table(&comparison, args.all),
        Format::Json => {
            crate::text::json_safe(serde_json::to_string_pretty(&comparison).unwrap_or_default())
                + "\n"
        }
        Format::Csv => compare_csv(&comparison),
    };
    super::write_output(out, &text)
}

/// A design's name: its scenario's name, or its file's when the names clash or are empty.
fn design_name(file: &Path, scenario: &Scenario) -> String {
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    if scenario.name.is_empty() {
        stem
    } else {
        format!("{} ({stem})", scenario.name)
    }
}

fn compare_table(c: &Comparison<'_>, all: bool) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "evlab {} | compare, {} replications each on common seeds (seed {}) | baseline: {}\n",
        c.evlab_version,
        c.replications,
        c.seed,
        printable(c.baseline)
    );
    for (i, design) in c.designs.iter().enumerate() {
        let _ = writeln!(t, "design {}: {}", i + 1, printable(design));
    }
    let _ = writeln!(t);
    let width = c
        .figures
        .keys()
        .map(String::len)
        .max()
        .unwrap_or(10)
        .max(10);
    let mut header = format!("{:<width$}  {:>22}", "figure", "baseline (±95%)");
    for i in 0..c.designs.len() {
        let _ = write!(
            header,
            "  {:>22}  {:>24}",
            format!("design {} (±95%)", i + 1),
            "difference (±95%)"
        );
    }
    let _ = writeln!(t, "{header}");
    let mut hidden = 0;
    for name in ordered(c.figures.keys()) {
        let Some(f) = c.figures.get(&name) else {
            continue;
        };
        let differs = f.designs.iter().any(|d| d.significant);
        if !(all || differs || HEADLINE.contains(&name.as_str())) {
            hidden += 1;
            continue;
        }
        let cell = |s: &Summary| format!("{} ± {}", number(s.mean), number(s.ci95));
        let mut line = format!("{:<width$}  {:>22}", printable(&name), cell(&f.baseline));
        for d in &f.designs {
            let mark = if d.significant { " *" } else { "  " };
            let _ = write!(
                line,
                "  {:>22}  {:>22}{mark}",
                cell(&d.value),
                format!(
                    "{} ± {}",
                    Signed(d.difference.mean),
                    number(d.difference.ci95)
                )
            );
        }
        let _ = writeln!(t, "{}", line.trim_end());
    }
    let _ = writeln!(
        t,
        "\n* the paired difference's 95% interval leaves out zero: the designs differ, not only the noise"
    );
    if hidden > 0 {
        let _ = writeln!(
            t,
            "{hidden} more figures do not differ significantly (--all shows them)"
        );
    }
    t
}

/// A signed number as the tables print it.
struct Signed(f64);

impl std::fmt::Display for Signed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0 >= 0.0 {
            write!(f, "+{}", number(self.0))
        } else {
            write!(f, "{}", number(self.0))
        }
    }
}

fn compare_csv(c: &Comparison<'_>) -> String {
    let mut t = String::from(
        "evlab_version,seed,replications,metric,design,mean,ci95,n,difference,difference_ci95,significant\n",
    );
    for (name, f) in &c.figures {
        let _ = writeln!(
            t,
            "{},{},{},{name},{},{},{},{},0,0,false",
            c.evlab_version,
            c.seed,
            c.replications,
            csv(c.baseline),
            f.baseline.mean,
            f.baseline.ci95,
            f.baseline.n
        );
        for d in &f.designs {
            let _ = writeln!(
                t,
                "{},{},{},{name},{},{},{},{},{},{},{}",
                c.evlab_version,
                c.seed,
                c.replications,
                csv(&d.design),
                d.value.mean,
                d.value.ci95,
                d.value.n,
                d.difference.mean,
                d.difference.ci95,
                d.significant
            );
        }
    }
    t
}
