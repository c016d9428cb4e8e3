//! `evlab sweep` and `evlab merge`: a grid of parameters run on every core, one row per
//! run in wide CSV or JSON, sharded for batch engines and merged back byte for byte, and
//! the sizing answer (`--where` and `--minimize`).

mod sizing;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::Value;

use super::{EXIT_FAILED, EXIT_INTERRUPTED, EXIT_INVALID, RunFlags};
use crate::experiment::sweep::{Grid, Row, Sweep, Table, shard};
use crate::experiment::vary::{self, Vary};
use crate::scenario::raw::RawScenario;
use crate::text::printable;
use sizing::{Condition, parse_conditions, size};

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RowFormat {
    /// Wide CSV: one row per run, one column per parameter and figure.
    Csv,
    /// A JSON array of the same rows, as objects.
    Json,
}

#[derive(clap::Args)]
pub struct SweepArgs {
    /// The scenario file (.ron).
    pub file: PathBuf,
    /// A parameter and its values: PATH=VALUES, such as nodes.worker.concurrency=1..8,
    /// nodes.worker.service.mean=5ms,8ms or nodes.orders.arrival.rate=1k/s,5k/s. Repeat
    /// for a grid (the cross product; the first varies slowest).
    #[arg(long = "vary", value_name = "PATH=VALUES")]
    pub varies: Vec<Vary>,
    #[command(flatten)]
    pub flags: RunFlags,
    /// Replications of each point (replication i on the seed derived from the base and i).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub replications: u32,
    /// Rows format; by default from the --out file's extension, else CSV.
    #[arg(long, value_enum)]
    pub format: Option<RowFormat>,
    /// Write the rows here instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Run only slice K of N (such as 3/8): the runs whose number is K-1 modulo N.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<Shard>,
    /// Keep the rows already in --out and run only the others.
    #[arg(long, requires = "out")]
    pub resume: bool,
    /// Conditions a point must meet, on its 95% interval's bound, such as
    /// 'latency_ms.p99 < 200 and totals.lost == 0'.
    #[arg(long = "where", value_name = "CONDITIONS", requires = "minimize")]
    pub conditions: Option<String>,
    /// The parameter (one of --vary) whose smallest value meeting --where is the answer.
    #[arg(long, value_name = "PATH", requires = "conditions")]
    pub minimize: Option<String>,
    /// Worker threads (default: every core). The rows do not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
}

/// `K/N`: one of N slices of a sweep.
#[derive(Clone, Copy, Debug)]
pub struct Shard {
    pub k: usize,
    pub n: usize,
}

impl std::str::FromStr for Shard {
    type Err = String;
    fn from_str(text: &str) -> Result<Shard, String> {
        let parsed = text
            .split_once('/')
            .and_then(|(k, n)| Some((k.trim().parse().ok()?, n.trim().parse().ok()?)));
        match parsed {
            Some((k, n)) if k >= 1 && k <= n => Ok(Shard { k, n }),
            _ => Err(format!(
                "`{text}`: write K/N with 1 <= K <= N, such as 3/8 for the third of 8 slices"
            )),
        }
    }
}

/// Set by Ctrl+C: runs not yet started are skipped, finished rows are written.
static STOP: AtomicBool = AtomicBool::new(false);

pub fn sweep(args: SweepArgs) -> ExitCode {
    let raw = match load_raw(&args) {
        Ok(raw) => raw,
        Err(code) => return code,
    };
    let grid = match check_grid(&args, &raw) {
        Ok(grid) => grid,
        Err(code) => return code,
    };
    let minimize = match sizing_question(&args) {
        Ok(minimize) => minimize,
        Err(code) => return code,
    };
    let format = args.format.unwrap_or(match &args.out {
        Some(p) if p.extension().is_some_and(|e| e == "json") => RowFormat::Json,
        _ => RowFormat::Csv,
    });
    let mut table = match starting_table(&args, format) {
        Ok(table) => table,
        Err(code) => return code,
    };
    let out = match super::prepare_out(args.out.as_deref()) {
        Ok(out) => out,
        Err(code) => return code,
    };
    let all = match args.shard {
        Some(Shard { k, n }) => shard(grid.runs(), k, n),
        None => (0..grid.runs()).collect(),
    };
    let done = table.done(grid.replications);
    let todo: Vec<usize> = all.into_iter().filter(|r| !done.contains(r)).collect();
    let rows = match run_grid(&args, &raw, &grid, &todo) {
        Ok(rows) => rows,
        Err(code) => return code,
    };
    let (ran, failed) = (
        rows.len(),
        rows.iter()
            .filter(|r| !r.cells.get("error").is_none_or(Value::is_null))
            .count(),
    );
    table.extend(rows);
    let interrupted = STOP.load(Ordering::Relaxed);
    eprintln!(
        "{}",
        runs_line(ran, failed, interrupted, todo.len(), table.rows.len())
    );
    let text = write_table(&table, format);
    let code = super::write_output(out, &text);
    if let Some((conditions, path)) = minimize {
        let answer = size(&table, &conditions, &path, grid.replications);
        if args.out.is_some() {
            print!("{answer}");
        } else {
            eprint!("{answer}");
        }
    }
    if interrupted {
        ExitCode::from(EXIT_INTERRUPTED)
    } else {
        code
    }
}

/// What the sweep did: the runs, those that failed, those Ctrl+C left out of `todo`, and
/// the rows in the table.
fn runs_line(ran: usize, failed: usize, interrupted: bool, todo: usize, rows: usize) -> String {
    format!(
        "{ran} runs{}{}; {} rows in all",
        if failed > 0 {
            format!(", {failed} with an error (see their `error` column)")
        } else {
            String::new()
        },
        if interrupted {
            format!(
                ", interrupted before {} more (run again with --resume)",
                todo - ran
            )
        } else {
            String::new()
        },
        rows
    )
}

/// The scenario file, parsed but not checked (the sweep checks each point), with the
/// note on what the run flags do to it.
fn load_raw(args: &SweepArgs) -> Result<RawScenario, ExitCode> {
    let text = match crate::scenario::read_text(&args.file) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("error: {e}");
            return Err(ExitCode::from(EXIT_INVALID));
        }
    };
    let raw = match crate::scenario::parse_raw(&text) {
        Ok(raw) => raw,
        Err(problem) => {
            eprintln!(
                "error: {}:{problem}",
                printable(&super::file_name(&args.file))
            );
            return Err(ExitCode::from(EXIT_INVALID));
        }
    };
    if let Ok(scenario) = crate::scenario::check::check(&raw)
        && let Some(note) = args.flags.note(&scenario)
    {
        eprintln!("{note}");
    }
    Ok(raw)
}

/// The grid of `--vary` and `--replications`: every path names a field of the scenario,
/// and the runs are not too many.
fn check_grid(args: &SweepArgs, raw: &RawScenario) -> Result<Grid, ExitCode> {
    for vary in &args.varies {
        if let Err(why) = vary::check_path(raw, &vary.path) {
            eprintln!(
                "error: --vary {}: {}",
                printable(&vary.path),
                printable(&why.to_string())
            );
            return Err(ExitCode::from(EXIT_INVALID));
        }
    }
    let grid = Grid {
        varies: args.varies.clone(),
        replications: args.replications,
    };
    if grid.runs() > vary::MAX_VALUES * 10 {
        eprintln!(
            "error: the grid has {} runs, more than {}: vary fewer values",
            grid.runs(),
            vary::MAX_VALUES * 10
        );
        return Err(ExitCode::from(EXIT_INVALID));
    }
    Ok(grid)
}

/// `--where` and `--minimize`: the conditions and the parameter to minimize, if asked.
fn sizing_question(args: &SweepArgs) -> Result<Option<(Vec<Condition>, String)>, ExitCode> {
    match (&args.conditions, &args.minimize) {
        (Some(conditions), Some(path)) => match parse_conditions(conditions) {
            Ok(c) if args.varies.iter().any(|v| &v.path == path) => Ok(Some((c, path.clone()))),
            Ok(_) => {
                eprintln!("error: --minimize {path}: it must be one of the --vary parameters");
                Err(ExitCode::from(EXIT_INVALID))
            }
            Err(why) => {
                eprintln!("error: --where: {why}");
                Err(ExitCode::from(EXIT_INVALID))
            }
        },
        _ => Ok(None),
    }
}

/// The table the sweep adds its rows to: empty, or with `--resume` the rows already in
/// `--out`.
fn starting_table(args: &SweepArgs, format: RowFormat) -> Result<Table, ExitCode> {
    let table = Table {
        parameters: args.varies.iter().map(|v| v.path.clone()).collect(),
        rows: Vec::new(),
    };
    if args.resume
        && let Some(out) = &args.out
        && out.exists()
    {
        return match read_table(out, format) {
            Ok(existing) if existing.parameters == table.parameters => Ok(existing),
            Ok(_) => {
                eprintln!(
                    "error: --resume: {} varies other parameters than this sweep",
                    printable(&out.display().to_string())
                );
                Err(ExitCode::from(EXIT_INVALID))
            }
            Err(why) => {
                eprintln!("error: --resume: {}", printable(&why.to_string()));
                Err(ExitCode::from(EXIT_INVALID))
            }
        };
    }
    Ok(table)
}

/// Runs `todo` on `--threads` workers (by default every core), with a progress bar on a
/// terminal, until they are done or Ctrl+C sets [`STOP`].
fn run_grid(
    args: &SweepArgs,
    raw: &RawScenario,
    grid: &Grid,
    todo: &[usize],
) -> Result<Vec<Row>, ExitCode> {
    let flags = args.flags.clone();
    let prepare =
        move |s: &mut crate::scenario::Scenario| flags.apply(s).map_err(|e| e.to_string());
    let sweep = Sweep {
        raw,
        grid,
        prepare: &prepare,
    };
    STOP.store(false, Ordering::Relaxed);
    let _ = ctrlc::set_handler(|| STOP.store(true, Ordering::Relaxed));
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(todo.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} sweep [{bar:40}] {pos}/{len} runs ({eta} left)",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar
    });
    let tick = || {
        if let Some(bar) = &bar {
            bar.inc(1);
        }
    };
    let rows = match args.threads {
        Some(threads) => match rayon::ThreadPoolBuilder::new()
            .num_threads(threads.max(1))
            .build()
        {
            Ok(pool) => pool.install(|| sweep.run(todo, &STOP, &tick)),
            Err(e) => {
                eprintln!("error: cannot start {threads} threads: {e}");
                return Err(ExitCode::from(EXIT_FAILED));
            }
        },
        None => sweep.run(todo, &STOP, &tick),
    };
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(rows)
}

/// A cell as CSV text: numbers as JSON writes them, text as it is, nothing for null.
fn cell_text(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => printable(s).into_owned(),
        Some(other) => other.to_string(),
    }
}

/// The table as the sweep writes it.
pub fn write_table(table: &Table, format: RowFormat) -> String {
    let columns = table.columns();
    match format {
        RowFormat::Csv => {
            let mut writer = csv::Writer::from_writer(Vec::new());
            let _ = writer.write_record(&columns);
            for row in &table.rows {
                let _ = writer.write_record(columns.iter().map(|c| cell_text(row.cells.get(c))));
            }
            String::from_utf8(writer.into_inner().unwrap_or_default()).unwrap_or_default()
        }
        RowFormat::Json => {
            let rows: Vec<Value> = table
                .rows
                .iter()
                .map(|row| {
                    let mut object = serde_json::Map::new();
                    for column in &columns {
                        object.insert(
                            column.clone(),
                            row.cells.get(column).cloned().unwrap_or(Value::Null),
                        );
                    }
                    Value::Object(object)
                })
                .collect();
            crate::text::json_safe(serde_json::to_string_pretty(&rows).unwrap_or_default()) + "\n"
        }
    }
}

/// Why a table written by a sweep does not read back; `name` is its file, made printable.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error(transparent)]
    Load(#[from] crate::scenario::LoadError),
    #[error("{name}: {error}")]
    Csv { name: String, error: csv::Error },
    #[error("{name}: {error}")]
    Json {
        name: String,
        error: serde_json::Error,
    },
    #[error("{name} is not the output of `evlab sweep`: it has no warmup_seconds column")]
    NotASweep { name: String },
    #[error("{name}: a row without its point and replication")]
    NoPoint { name: String },
}

/// A table written by a sweep, read back: for `--resume` and `evlab merge`.
pub fn read_table(path: &Path, format: RowFormat) -> Result<Table, TableError> {
    let text = crate::scenario::read_text(path)?;
    let name = printable(&path.display().to_string()).into_owned();
    let (columns, rows): (Vec<String>, Vec<Cells>) = match format {
        RowFormat::Csv => {
            let mut reader = csv::Reader::from_reader(text.as_bytes());
            let header: Vec<String> = reader
                .headers()
                .map_err(|error| csv_error(&name, error))?
                .iter()
                .map(str::to_owned)
                .collect();
            let parameters = parameters_of(&header, &name)?;
            let mut rows = Vec::new();
            for record in reader.records() {
                let record = record.map_err(|error| csv_error(&name, error))?;
                let cells = header
                    .iter()
                    .zip(record.iter())
                    .map(|(column, text)| (column.clone(), parse_cell(column, text, &parameters)))
                    .collect();
                rows.push(cells);
            }
            (header, rows)
        }
        RowFormat::Json => {
            let rows: Vec<serde_json::Map<String, Value>> =
                serde_json::from_str(&text).map_err(|error| TableError::Json {
                    name: name.clone(),
                    error,
                })?;
            let header: Vec<String> = rows
                .first()
                .map(|r| r.keys().cloned().collect())
                .unwrap_or_default();
            (
                header,
                rows.into_iter().map(|r| r.into_iter().collect()).collect(),
            )
        }
    };
    let mut table = Table {
        parameters: parameters_of(&columns, &name)?,
        rows: Vec::new(),
    };
    let rows = rows
        .into_iter()
        .map(|cells| {
            let number = |key: &str| cells.get(key).and_then(Value::as_u64);
            match (number("point"), number("replication")) {
                (Some(point), Some(replication)) => Ok(Row {
                    point,
                    replication,
                    cells,
                }),
                _ => Err(TableError::NoPoint { name: name.clone() }),
            }
        })
        .collect::<Result<Vec<Row>, TableError>>()?;
    table.extend(rows);
    Ok(table)
}

type Cells = std::collections::BTreeMap<String, Value>;

fn csv_error(name: &str, error: csv::Error) -> TableError {
    TableError::Csv {
        name: name.to_string(),
        error,
    }
}

/// The parameter columns of a sweep's header: between the lead and `warmup_seconds`.
fn parameters_of(columns: &[String], name: &str) -> Result<Vec<String>, TableError> {
    let lead = crate::experiment::sweep::LEAD.len();
    let end = columns
        .iter()
        .position(|c| c == "warmup_seconds")
        .ok_or_else(|| TableError::NotASweep {
            name: name.to_string(),
        })?;
    Ok(columns.get(lead..end).unwrap_or_default().to_vec())
}

/// A CSV cell back as the value the sweep wrote: empty is null, parameters and text stay
/// text, numbers are numbers.
fn parse_cell(column: &str, text: &str, parameters: &[String]) -> Value {
    let textual = matches!(column, "evlab_version" | "scenario" | "error")
        || parameters.iter().any(|p| p == column);
    if text.is_empty() {
        Value::Null
    } else if textual {
        Value::String(text.to_string())
    } else {
        serde_json::from_str::<serde_json::Number>(text)
            .map_or_else(|_| Value::String(text.to_string()), Value::Number)
    }
}

#[derive(clap::Args)]
pub struct MergeArgs {
    /// The file to write: exactly what one unsharded sweep writes.
    pub out: PathBuf,
    /// The shards' outputs (all CSV or all JSON, by their extension).
    #[arg(required = true)]
    pub shards: Vec<PathBuf>,
}

/// `evlab merge OUT SHARD...`.
pub fn merge(args: MergeArgs) -> ExitCode {
    let format = |p: &Path| {
        if p.extension().is_some_and(|e| e == "json") {
            RowFormat::Json
        } else {
            RowFormat::Csv
        }
    };
    let out_format = format(&args.out);
    let mut merged: Option<Table> = None;
    for shard in &args.shards {
        if format(shard) != out_format {
            eprintln!(
                "error: {} and {} are not the same format",
                printable(&shard.display().to_string()),
                printable(&args.out.display().to_string())
            );
            return ExitCode::from(EXIT_INVALID);
        }
        let table = match read_table(shard, out_format) {
            Ok(t) => t,
            Err(why) => {
                eprintln!("error: {}", printable(&why.to_string()));
                return ExitCode::from(EXIT_INVALID);
            }
        };
        match &mut merged {
            None => merged = Some(table),
            Some(m) if m.parameters == table.parameters => m.extend(table.rows),
            Some(_) => {
                eprintln!(
                    "error: {} varies other parameters than the first shard",
                    printable(&shard.display().to_string())
                );
                return ExitCode::from(EXIT_INVALID);
            }
        }
    }
    let table = merged.unwrap_or_default();
    eprintln!(
        "{} rows from {} shards",
        table.rows.len(),
        args.shards.len()
    );
    let out = match super::prepare_out(Some(&args.out)) {
        Ok(out) => out,
        Err(code) => return code,
    };
    super::write_output(out, &write_table(&table, out_format))
}
