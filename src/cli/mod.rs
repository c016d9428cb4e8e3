//! The command line: `evlab run`, `evlab validate`, `evlab bench`.
//!
//! Data goes to stdout (or `--out`), messages to stderr. Exit codes: 0 ok,
//! 1 the run failed, 2 the input is invalid.

pub mod bench;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand, ValueEnum};

use crate::run::Run;
use crate::scenario::units::Duration;
use crate::scenario::{self, LoadError};

/// Exit code for invalid input (a bad file or bad arguments).
pub const EXIT_INVALID: u8 = 2;
/// Exit code for a run that failed.
pub const EXIT_FAILED: u8 = 1;

#[derive(Parser)]
#[command(
    name = "evlab",
    version,
    about = "Simulate event-driven architectures: queues, topics, consumers, faults.",
    long_about = "Simulate event-driven architectures: queues, topics, consumers, faults.\n\n\
                  With no command, opens the desktop lab (on FILE if given, else on a built-in example).",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// A scenario file (.ron) to open in the desktop lab.
    pub file: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run a scenario headless and print its report.
    Run(RunArgs),
    /// Check a scenario file without running it.
    Validate {
        /// The scenario file (.ron).
        file: PathBuf,
    },
    /// Run the built-in reference workloads and print engine speed.
    Bench(bench::BenchArgs),
}

#[derive(clap::Args)]
pub struct RunArgs {
    /// The scenario file (.ron).
    pub file: PathBuf,
    /// Seed for every random stream (overrides the file's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Simulated duration, such as 60s or 5min (overrides the file's).
    #[arg(long)]
    pub duration: Option<Duration>,
    /// Statistics before this simulated time are discarded (overrides the file's).
    #[arg(long)]
    pub warmup: Option<Duration>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write the report here instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Include the time series in JSON reports.
    #[arg(long)]
    pub series: bool,
    /// Include wall-clock time in the report (then two runs no longer give identical bytes).
    #[arg(long)]
    pub timing: bool,
    /// Debugging: check the ledger's conservation law after every event (slow).
    #[arg(long)]
    pub check_ledger: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
}

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(EXIT_INVALID)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match cli.command {
        Some(Command::Run(args)) => run(args),
        Some(Command::Validate { file }) => validate(&file),
        Some(Command::Bench(args)) => bench::main(args),
        None => match cli.file {
            // A typo of a command would otherwise open the lab on a file that is not there.
            Some(file) if !file.exists() => {
                eprintln!(
                    "error: `{}` is neither a command (run, validate, bench) nor a scenario file; see `evlab --help`",
                    file.display()
                );
                ExitCode::from(EXIT_INVALID)
            }
            file => lab(file),
        },
    }
}

/// Opens the desktop lab.
#[cfg(feature = "gui")]
fn lab(file: Option<PathBuf>) -> ExitCode {
    match crate::gui::run(file) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: cannot open the lab: {e}");
            ExitCode::from(EXIT_FAILED)
        }
    }
}

/// Without the `gui` feature there is no lab: say how to get it.
#[cfg(not(feature = "gui"))]
fn lab(_file: Option<PathBuf>) -> ExitCode {
    eprintln!(
        "error: this evlab was built without the desktop lab (the `gui` feature); \
         use `evlab run FILE.ron`, or build with default features"
    );
    ExitCode::from(EXIT_INVALID)
}

fn load(file: &Path) -> Result<scenario::Scenario, ExitCode> {
    match scenario::load(file) {
        Ok((_, scenario)) => Ok(scenario),
        Err(e) => {
            eprintln!("error: {e}");
            if let LoadError::Invalid { problems, .. } = &e
                && problems.len() > 1
            {
                eprintln!("{} problems; fix them and run again", problems.len());
            }
            Err(ExitCode::from(EXIT_INVALID))
        }
    }
}

fn validate(file: &Path) -> ExitCode {
    match load(file) {
        Ok(scenario) => {
            eprintln!(
                "{}: ok ({} nodes, {:.1} s simulated)",
                file.display(),
                scenario.nodes.len(),
                scenario.duration_nanos as f64 / 1e9
            );
            ExitCode::SUCCESS
        }
        Err(code) => code,
    }
}

fn run(args: RunArgs) -> ExitCode {
    let mut scenario = match load(&args.file) {
        Ok(s) => s,
        Err(code) => return code,
    };
    if let Some(seed) = args.seed {
        scenario.seed = seed;
    }
    if let Some(duration) = args.duration {
        if duration.nanos == 0 {
            eprintln!("error: --duration must be > 0");
            return ExitCode::from(EXIT_INVALID);
        }
        scenario.set_duration(duration.nanos);
        if args.warmup.is_none() && scenario.warmup_nanos >= duration.nanos {
            scenario.warmup_nanos = 0;
        }
    }
    if let Some(warmup) = args.warmup {
        scenario.warmup_nanos = warmup.nanos;
    }
    if scenario.warmup_nanos >= scenario.duration_nanos {
        eprintln!(
            "error: the warm-up ({}) must be shorter than the duration ({})",
            Duration::from_nanos(scenario.warmup_nanos),
            Duration::from_nanos(scenario.duration_nanos)
        );
        return ExitCode::from(EXIT_INVALID);
    }
    let mut run = match Run::new(&scenario) {
        Ok(run) => run,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    run.set_latency_series(args.series);
    run.set_check_every_step(args.check_ledger);
    let progress = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(1000);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {msg} [{bar:40}] {percent}% ({eta} left)",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_message(format!("simulating {}", args.file.display()));
        bar
    });
    let started = Instant::now();
    let result = run.run_to_end(|fraction| {
        if let Some(bar) = &progress {
            bar.set_position((fraction * 1000.0) as u64);
        }
    });
    let wall = started.elapsed().as_secs_f64();
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    if let Err(e) = result {
        eprintln!("error: {e}");
        return ExitCode::from(EXIT_FAILED);
    }
    if let Err(e) = run.check_ledger() {
        eprintln!("internal error: {e}");
        return ExitCode::from(EXIT_FAILED);
    }
    let report = run.report(args.timing.then_some(wall), args.series);
    let text = match args.format {
        Format::Table => report.to_table(),
        Format::Json => report.to_json() + "\n",
        Format::Csv => report.to_csv(),
    };
    eprintln!(
        "{} events in {:.3} s wall clock ({:.2} M events/s)",
        run.events(),
        wall,
        run.events() as f64 / wall.max(1e-9) / 1e6
    );
    write_output(args.out.as_deref(), &text)
}

/// Writes to `out` (atomically: a temporary file, then a rename) or to stdout.
fn write_output(out: Option<&Path>, text: &str) -> ExitCode {
    let result = match out {
        Some(path) => write_atomically(path, text.as_bytes()),
        None => std::io::stdout().lock().write_all(text.as_bytes()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!(
                "error: cannot write {}: {e}",
                out.map_or("stdout".into(), |p| p.display().to_string())
            );
            ExitCode::from(EXIT_FAILED)
        }
    }
}

/// Writes `bytes` to a temporary file beside `path`, then renames it over `path`.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}
