//! The command line: `evlab run`, `evlab validate`, `evlab bench`.
//!
//! Data goes to stdout (or `--out`), messages to stderr. Exit codes: 0 ok,
//! 1 the run failed, 2 the input is invalid.

pub mod bench;
mod experiment;
mod sweep;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use clap::{Parser, Subcommand, ValueEnum};

use crate::atomic::PendingFile;
use crate::run::{Run, RunError};
use crate::scenario;
use crate::scenario::units::Duration;
use crate::text::printable;

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
    /// Check scenario files without running them (exit 2 if any has a problem).
    Validate {
        /// The scenario files (.ron); `-` reads standard input.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Compare designs on common random numbers: each figure with its interval, and the
    /// paired difference from the first design.
    Compare(experiment::CompareArgs),
    /// Run a scenario over a grid of parameters, one row per run (wide CSV or JSON), and
    /// answer a sizing question (--where, --minimize).
    Sweep(sweep::SweepArgs),
    /// Join the outputs of a sharded sweep into exactly the file one sweep writes.
    Merge(sweep::MergeArgs),
    /// Run the built-in reference workloads and print engine speed.
    Bench(bench::BenchArgs),
}

/// The commands, for "did you mean".
const COMMANDS: &[&str] = &[
    "run", "validate", "compare", "sweep", "merge", "bench", "help",
];

/// What every command that runs scenarios takes from `evlab run`.
#[derive(clap::Args, Clone)]
pub struct RunFlags {
    /// Seed for every random stream (overrides the file's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Simulated duration, such as 60s or 5min (overrides the file's).
    #[arg(long, allow_hyphen_values = true)]
    pub duration: Option<Duration>,
    /// Statistics before this simulated time are discarded (overrides the file's).
    #[arg(long, allow_hyphen_values = true)]
    pub warmup: Option<Duration>,
}

/// Why the run flags do not fit a scenario.
#[derive(Debug, thiserror::Error)]
pub enum FlagError {
    #[error("--duration must be > 0")]
    ZeroDuration,
    #[error("the warm-up ({warmup}) must be shorter than the duration ({duration})")]
    WarmupNotShorter {
        warmup: Duration,
        duration: Duration,
    },
}

impl RunFlags {
    /// What applying the flags to `scenario` does that a user would not expect: a
    /// `--duration` no longer than the file's warm-up drops the warm-up.
    pub fn note(&self, scenario: &scenario::Scenario) -> Option<String> {
        let duration = self.duration?;
        (self.warmup.is_none() && scenario.warmup_nanos >= duration.nanos).then(|| {
            format!(
                "note: the file's warm-up ({}) is not shorter than --duration {duration}: \
                 statistics cover the whole run (give --warmup to keep one)",
                Duration::from_nanos(scenario.warmup_nanos)
            )
        })
    }

    /// Applies the flags to a scenario, or says why they do not fit it.
    pub fn apply(&self, scenario: &mut scenario::Scenario) -> Result<(), FlagError> {
        if let Some(seed) = self.seed {
            scenario.seed = seed;
        }
        if let Some(duration) = self.duration {
            if duration.nanos == 0 {
                return Err(FlagError::ZeroDuration);
            }
            scenario.set_duration(duration.nanos);
            if self.warmup.is_none() && scenario.warmup_nanos >= duration.nanos {
                scenario.warmup_nanos = 0;
            }
        }
        if let Some(warmup) = self.warmup {
            scenario.warmup_nanos = warmup.nanos;
        }
        if scenario.warmup_nanos >= scenario.duration_nanos {
            return Err(FlagError::WarmupNotShorter {
                warmup: Duration::from_nanos(scenario.warmup_nanos),
                duration: Duration::from_nanos(scenario.duration_nanos),
            });
        }
        Ok(())
    }
}

#[derive(clap::Args)]
pub struct RunArgs {
    /// The scenario file (.ron); `-` reads standard input.
    pub file: PathBuf,
    #[command(flatten)]
    pub flags: RunFlags,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write the report here instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Include the time series in JSON reports.
    #[arg(long)]
    pub series: bool,
    /// CSV only: add this run's rows to the --out file instead of replacing it; the header
    /// is written only into an empty or new file, so runs concatenate into one table.
    #[arg(long, requires = "out")]
    pub append: bool,
    /// Include wall-clock time in the report (then two runs no longer give identical bytes).
    #[arg(long)]
    pub timing: bool,
    /// Debugging: check the ledger's conservation law after every event (slow).
    #[arg(long)]
    pub check_ledger: bool,
    /// Independent runs, replication i on a seed derived from the base seed and i; every
    /// figure is then reported as mean, 95% interval and count. 1: the single run.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub replications: u32,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
}

/// Exit code of a run stopped by Ctrl+C (128 + SIGINT, as shells report it).
pub const EXIT_INTERRUPTED: u8 = 130;

pub fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Some(code) = unknown_command(&args) {
        return code;
    }
    let cli = match Cli::try_parse_from(&args) {
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
        Some(Command::Validate { files }) => validate(&files),
        Some(Command::Compare(args)) => experiment::compare(args),
        Some(Command::Sweep(args)) => sweep::sweep(args),
        Some(Command::Merge(args)) => sweep::merge(args),
        Some(Command::Bench(args)) => bench::main(args),
        None => lab(cli.file),
    }
}

/// `evlab runn file.ron`, or `evlab lab` with no such file: a mistyped command, said as
/// such (with the command it was probably meant to be) rather than opening the lab on a
/// file that is not there.
fn unknown_command(args: &[std::ffi::OsString]) -> Option<ExitCode> {
    let first = args.get(1)?.to_string_lossy();
    if first.starts_with('-') || COMMANDS.contains(&first.as_ref()) {
        return None;
    }
    let exists = Path::new(first.as_ref()).exists();
    if exists && args.len() == 2 {
        return None;
    }
    let shown = printable(&first);
    let near = crate::text::nearest(&first, COMMANDS.iter().copied());
    match near {
        Some(near) => eprintln!("error: unknown command `{shown}`; did you mean `{near}`?"),
        None if args.len() == 2 => eprintln!(
            "error: `{shown}` is neither a command (run, validate, compare, sweep, merge, bench) nor a scenario file; see `evlab --help`"
        ),
        None => eprintln!(
            "error: unknown command `{shown}`; the commands are run, validate, compare, sweep, merge and bench (see `evlab --help`)"
        ),
    }
    if exists {
        eprintln!("(to open `{shown}` in the lab, give only the file: `evlab {shown}`)");
    }
    Some(ExitCode::from(EXIT_INVALID))
}

/// Opens the desktop lab.
#[cfg(feature = "gui")]
fn lab(file: Option<PathBuf>) -> ExitCode {
    if let Err(why) = display_available() {
        eprintln!(
            "error: the lab needs a display, and {why}. To simulate without one, run a \
             scenario headless: `evlab run FILE.ron` (see `evlab --help`)"
        );
        return ExitCode::from(EXIT_FAILED);
    }
    match crate::gui::run(file) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let first_line = e.to_string();
            let first_line = first_line.lines().next().unwrap_or("");
            eprintln!("error: cannot open the lab: {}", printable(first_line));
            ExitCode::from(EXIT_FAILED)
        }
    }
}

/// Whether a window can be opened: on Linux and the BSDs, an X11 or Wayland display.
#[cfg(feature = "gui")]
fn display_available() -> Result<(), &'static str> {
    if cfg!(any(
        target_os = "linux",
        target_os = "freebsd",
        target_os = "openbsd"
    )) {
        let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
        if !set("DISPLAY") && !set("WAYLAND_DISPLAY") {
            return Err("none is set (DISPLAY and WAYLAND_DISPLAY are empty)");
        }
    }
    Ok(())
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

/// The name of a scenario file in messages.
pub(crate) fn file_name(file: &Path) -> String {
    if file == Path::new("-") {
        scenario::STDIN.to_string()
    } else {
        file.display().to_string()
    }
}

/// Reads and checks a scenario file (`-`: standard input), saying what is wrong if anything.
fn load(file: &Path) -> Result<scenario::Scenario, ExitCode> {
    let text = if file == Path::new("-") {
        scenario::read_stdin()
    } else {
        scenario::read_text(file)
    };
    match text.and_then(|text| scenario::parse(&text, &file_name(file))) {
        Ok((_, scenario)) => Ok(scenario),
        Err(e) => {
            eprintln!("error: {e}");
            if let count @ 2.. = e.problem_count() {
                eprintln!("{count} problems; fix them and run again");
            }
            Err(ExitCode::from(EXIT_INVALID))
        }
    }
}

/// A scenario that would need more than it may, or cannot be wired: the file's fault.
pub(crate) fn build_refused(file: &Path, e: &RunError) -> ExitCode {
    eprintln!(
        "error: {}: {}",
        printable(&file_name(file)),
        printable(&e.to_string())
    );
    ExitCode::from(EXIT_INVALID)
}

fn validate(files: &[PathBuf]) -> ExitCode {
    let mut worst = ExitCode::SUCCESS;
    for file in files {
        let scenario = match load(file) {
            Ok(scenario) => scenario,
            Err(code) => {
                worst = code;
                continue;
            }
        };
        // Wiring the model (without running it) finds what only building can: a scenario
        // too big for its memory limit, a routing table too large.
        match Run::new(&scenario) {
            Ok(_) => eprintln!(
                "{}: ok ({} nodes, {:.1} s simulated)",
                printable(&file_name(file)),
                scenario.nodes.len(),
                scenario.duration_nanos as f64 / 1e9
            ),
            Err(e) => worst = build_refused(file, &e),
        }
    }
    worst
}

/// Set by Ctrl+C during `evlab run`: the run stops at its next pause and reports.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Events between two looks at the clock and at Ctrl+C (a few hundredths of a second).
const EVENTS_PER_LOOK: u64 = 2_000_000;

/// Wall-clock time after which a run says how long it will take.
const ESTIMATE_AFTER_SECS: f64 = 1.0;

/// Prepares `--out` before anything runs: a file that cannot be written is found now.
pub(crate) fn prepare_out(out: Option<&Path>) -> Result<Option<PendingFile>, ExitCode> {
    out.map(PendingFile::create).transpose().map_err(|e| {
        eprintln!(
            "error: cannot write the report to {}: {e}",
            out.map_or(String::new(), |p| printable(&p.display().to_string())
                .into_owned())
        );
        ExitCode::from(EXIT_FAILED)
    })
}

/// Checks that `path` can take appended CSV rows: absent, empty, or a CSV report of this
/// evlab's format.
fn append_target(path: Option<&Path>) -> Result<(), ExitCode> {
    let Some(path) = path else { return Ok(()) };
    let header = crate::report::Report::CSV_HEADER;
    let shown = printable(&path.display().to_string()).into_owned();
    let refuse = |why: String| {
        eprintln!("error: cannot append to {shown}: {why}");
        Err(ExitCode::from(EXIT_FAILED))
    };
    match std::fs::read(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return refuse(e.to_string()),
        Ok(bytes) if bytes.is_empty() || bytes.starts_with(header.as_bytes()) => {}
        Ok(_) => {
            return refuse("it is not a CSV report of this evlab (its first line differs)".into());
        }
    }
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .map(drop)
        .or_else(|e| refuse(e.to_string()))
}

/// Appends a CSV report to `path`, leaving out its header when the file has one.
fn append_csv(path: &Path, text: &str) -> ExitCode {
    let has_header = std::fs::metadata(path).is_ok_and(|m| m.len() > 0);
    let rows = if has_header {
        text.strip_prefix(crate::report::Report::CSV_HEADER)
            .unwrap_or(text)
    } else {
        text
    };
    let written = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .and_then(|mut file| file.write_all(rows.as_bytes()));
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!(
                "error: cannot append to {}: {e}",
                printable(&path.display().to_string())
            );
            ExitCode::from(EXIT_FAILED)
        }
    }
}

/// Loads a scenario file and applies the run flags to it.
pub(crate) fn load_with(file: &Path, flags: &RunFlags) -> Result<scenario::Scenario, ExitCode> {
    let mut scenario = load(file)?;
    if let Some(note) = flags.note(&scenario) {
        eprintln!("{note}");
    }
    flags.apply(&mut scenario).map_err(|why| {
        eprintln!("error: {why}");
        ExitCode::from(EXIT_INVALID)
    })?;
    Ok(scenario)
}

fn run(args: RunArgs) -> ExitCode {
    if let Err(code) = check_run_args(&args) {
        return code;
    }
    let scenario = match load_with(&args.file, &args.flags) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let out = match report_out(&args) {
        Ok(out) => out,
        Err(code) => return code,
    };
    if args.replications > 1 {
        return experiment::replications(&args, &scenario, out);
    }
    let mut run = match Run::new(&scenario) {
        Ok(run) => run,
        Err(e) => return build_refused(&args.file, &e),
    };
    run.set_latency_series(args.series);
    run.set_check_every_step(args.check_ledger);
    let (stopped, wall) = simulate(&mut run, &args.file, scenario.max_events);
    if let Err(e) = run.check_ledger() {
        eprintln!("internal error: {e}");
        return ExitCode::from(EXIT_FAILED);
    }
    let timing = args.timing.then_some(wall);
    let report = match &stopped {
        Some((reason, _)) => run.partial_report(reason, timing, args.series),
        None => run.report(timing, args.series),
    };
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
    let written = match (args.append, args.out.as_deref()) {
        (true, Some(path)) => append_csv(path, &text),
        _ => write_output(out, &text),
    };
    match stopped {
        Some((_, code)) => ExitCode::from(code),
        None => written,
    }
}

/// Refuses flags that do not go together: `--series` but for JSON, `--append` but for
/// one CSV report.
fn check_run_args(args: &RunArgs) -> Result<(), ExitCode> {
    if args.series && args.format != Format::Json {
        eprintln!(
            "error: --series adds the time series to JSON reports: give --format json (a table or \
             CSV of every sample would bury the report)"
        );
        return Err(ExitCode::from(EXIT_INVALID));
    }
    if args.append && (args.format != Format::Csv || args.replications > 1) {
        eprintln!(
            "error: --append concatenates single-run CSV reports: give --format csv, without --replications"
        );
        return Err(ExitCode::from(EXIT_INVALID));
    }
    Ok(())
}

/// Where the report goes, checked before the run: the `--out` file prepared, or (with
/// `--append`) only checked, since it is appended to in place after the run.
fn report_out(args: &RunArgs) -> Result<Option<PendingFile>, ExitCode> {
    match args.append {
        true => append_target(args.out.as_deref()).map(|()| None),
        false => prepare_out(args.out.as_deref()),
    }
}

/// Runs to the end, or until an error, `limits.max_events` or Ctrl+C stops it (then
/// why, and the exit code), with a progress bar on a terminal and, for a long run, what
/// it will take. Returns also the wall-clock seconds it ran.
fn simulate(run: &mut Run, file: &Path, max_events: u64) -> (Option<(String, u8)>, f64) {
    INTERRUPTED.store(false, Ordering::Relaxed);
    // Without a handler Ctrl+C ends the process at once: the run still ends, only
    // without its partial report.
    let _ = ctrlc::set_handler(|| INTERRUPTED.store(true, Ordering::Relaxed));
    let name = file_name(file);
    let progress = std::io::stderr().is_terminal().then(|| progress_bar(&name));
    let started = Instant::now();
    let mut estimated = false;
    let mut stopped: Option<(String, u8)> = None;
    while !run.is_finished() {
        if let Err(e) = run.advance_to_or_pause(run.duration_nanos(), EVENTS_PER_LOOK) {
            eprintln!("error: {}", printable(&e.to_string()));
            stopped = Some((e.to_string(), EXIT_FAILED));
            break;
        }
        let fraction = run.now() as f64 / run.duration_nanos().max(1) as f64;
        if let Some(bar) = &progress {
            bar.set_position((fraction * 1000.0) as u64);
        }
        let wall = started.elapsed().as_secs_f64();
        if !estimated && wall >= ESTIMATE_AFTER_SECS && fraction < 0.5 {
            estimated = true;
            let line = estimate_line(run, wall, max_events);
            match &progress {
                Some(bar) => bar.println(line),
                None => eprintln!("{line}"),
            }
        }
        if INTERRUPTED.load(Ordering::Relaxed) {
            eprintln!(
                "interrupted at {:.3} s of {:.3} s simulated: the report covers the run so far",
                run.now() as f64 / 1e9,
                run.duration_nanos() as f64 / 1e9
            );
            stopped = Some(("interrupted (Ctrl+C)".into(), EXIT_INTERRUPTED));
            break;
        }
    }
    let wall = started.elapsed().as_secs_f64();
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    (stopped, wall)
}

fn progress_bar(name: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(1000);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} {msg} [{bar:40}] {percent}% ({eta} left)",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_message(format!("simulating {}", printable(name)));
    bar
}

/// What the run so far says of the whole: events it will need and how long it will take,
/// or that it will stop at `limits.max_events` first.
fn estimate_line(run: &Run, wall_secs: f64, max_events: u64) -> String {
    let done = run.now().max(1) as f64 / run.duration_nanos().max(1) as f64;
    let events = run.events().max(1) as f64;
    let needed = events / done;
    let rate = events / wall_secs.max(1e-9);
    if needed > max_events as f64 {
        format!(
            "note: at this pace the run needs about {needed:.2e} engine events, more than \
             limits.max_events ({max_events}): it will stop there in about {} with a partial \
             report (press Ctrl+C to stop now); simulate less time or raise limits.max_events",
            seconds_text((max_events as f64 - events).max(0.0) / rate)
        )
    } else {
        format!(
            "note: this run will take about {} more ({needed:.2e} engine events at {:.1} M/s); \
             press Ctrl+C to stop it with the report so far",
            seconds_text((needed - events).max(0.0) / rate),
            rate / 1e6
        )
    }
}

fn seconds_text(secs: f64) -> String {
    if secs >= 5400.0 {
        format!("{:.1} h", secs / 3600.0)
    } else if secs >= 90.0 {
        format!("{:.0} min", secs / 60.0)
    } else {
        format!("{secs:.0} s")
    }
}

/// Writes to the prepared file (atomically) or to stdout.
pub(crate) fn write_output(out: Option<PendingFile>, text: &str) -> ExitCode {
    let (result, name) = match out {
        Some(file) => {
            let name = file.target().display().to_string();
            (file.commit(text.as_bytes()), name)
        }
        None => (
            std::io::stdout().lock().write_all(text.as_bytes()),
            "stdout".into(),
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: cannot write {}: {e}", printable(&name));
            ExitCode::from(EXIT_FAILED)
        }
    }
}
