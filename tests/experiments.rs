//! Replications, comparisons and sweeps as a user runs them: figures that match the single
//! runs they stand for, intervals that mean what they say, and sharded sweeps that merge
//! into exactly the unsharded file.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn evlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_evlab"))
        .args(args)
        .output()
        .expect("evlab runs")
}

fn hello() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join("hello.ron")
        .display()
        .to_string()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(o: &Output) -> Value {
    assert!(o.status.success(), "{}", stderr(o));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// A scratch directory of its own for each test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("evlab-experiments-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn path(dir: &Path, name: &str) -> String {
    dir.join(name).display().to_string()
}

const SHORT: [&str; 2] = ["--duration", "60s"];

#[test]
fn one_replication_is_exactly_the_single_run() {
    let single = evlab(&["run", &hello(), "--format", "json", SHORT[0], SHORT[1]]);
    let one = evlab(&[
        "run",
        &hello(),
        "--format",
        "json",
        "--replications",
        "1",
        SHORT[0],
        SHORT[1],
    ]);
    assert_eq!(single.stdout, one.stdout);
}

#[test]
fn replications_are_the_mean_of_the_runs_on_their_seeds() {
    let out = json(&evlab(&[
        "run",
        &hello(),
        "--format",
        "json",
        "--replications",
        "4",
        SHORT[0],
        SHORT[1],
    ]));
    let seeds: Vec<u64> = out["seeds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_u64().unwrap())
        .collect();
    assert_eq!(seeds.len(), 4);
    assert_eq!(seeds[0], 42, "replication 0 runs on the file's seed");
    let produced: Vec<f64> = seeds
        .iter()
        .map(|seed| {
            let run = json(&evlab(&[
                "run",
                &hello(),
                "--format",
                "json",
                "--seed",
                &seed.to_string(),
                SHORT[0],
                SHORT[1],
            ]));
            run["totals"]["produced"].as_f64().unwrap()
        })
        .collect();
    let figure = &out["figures"]["totals.produced"];
    let mean = produced.iter().sum::<f64>() / 4.0;
    assert_eq!(figure["n"], 4);
    assert!((figure["mean"].as_f64().unwrap() - mean).abs() < 1e-9);
    let sd = (produced.iter().map(|p| (p - mean).powi(2)).sum::<f64>() / 3.0).sqrt();
    let ci95 = 3.182 * sd / 2.0;
    assert!(
        (figure["ci95"].as_f64().unwrap() - ci95).abs() < 1e-9,
        "Student t, 3 degrees of freedom"
    );
    let table = String::from_utf8(
        evlab(&["run", &hello(), "--replications", "4", SHORT[0], SHORT[1]]).stdout,
    )
    .unwrap();
    assert!(
        table.contains("! wide: run longer or add replications"),
        "{table}"
    );
}

#[test]
fn a_design_compared_with_itself_differs_by_exactly_nothing() {
    let out = json(&evlab(&[
        "compare",
        &hello(),
        &hello(),
        "--replications",
        "3",
        "--format",
        "json",
        SHORT[0],
        SHORT[1],
    ]));
    let figures = out["figures"].as_object().unwrap();
    assert!(figures.len() > 20);
    for (name, figure) in figures {
        let against = &figure["designs"][0];
        assert_eq!(against["difference"]["mean"], 0.0, "{name}");
        assert_eq!(against["difference"]["ci95"], 0.0, "{name}");
        assert_eq!(against["significant"], false, "{name}");
    }
}

#[test]
fn a_faster_worker_is_found_faster_with_confidence() {
    let dir = scratch("faster");
    let text = std::fs::read_to_string(hello())
        .unwrap()
        .replace("mean: \"10ms\"", "mean: \"5ms\"");
    let faster = path(&dir, "faster.ron");
    std::fs::write(&faster, text).unwrap();
    let out = json(&evlab(&[
        "compare",
        &hello(),
        &faster,
        "--replications",
        "5",
        "--format",
        "json",
        SHORT[0],
        SHORT[1],
    ]));
    let p50 = &out["figures"]["latency_ms.p50"]["designs"][0];
    assert_eq!(p50["significant"], true, "{p50}");
    assert!(p50["difference"]["mean"].as_f64().unwrap() < -10.0, "{p50}");
    let table = String::from_utf8(
        evlab(&[
            "compare",
            &hello(),
            &faster,
            "--replications",
            "5",
            SHORT[0],
            SHORT[1],
        ])
        .stdout,
    )
    .unwrap();
    let line = table
        .lines()
        .find(|l| l.starts_with("latency_ms.p50"))
        .unwrap();
    assert!(line.ends_with('*'), "{line}");
}

/// The sweep of the tests: 3 x 2 points, 3 replications.
fn sweep_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "--vary",
        "nodes.worker.concurrency=1..3",
        "--vary",
        "nodes.worker.service.mean=8ms,12ms",
        "--replications",
        "3",
        "--duration",
        "60s",
    ];
    args.extend_from_slice(extra);
    args
}

fn sweep(file: &str, extra: &[&str]) -> Output {
    let mut args = vec!["sweep", file];
    args.extend(sweep_args(extra));
    evlab(&args)
}

#[test]
fn every_row_of_a_sweep_is_the_run_it_stands_for() {
    let dir = scratch("rows");
    let out = path(&dir, "rows.json");
    let ran = sweep(&hello(), &["--out", &out]);
    assert!(ran.status.success(), "{}", stderr(&ran));
    let rows: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(rows.len(), 18);
    let original = std::fs::read_to_string(hello()).unwrap();
    for row in &rows {
        let (concurrency, mean) = (
            row["nodes.worker.concurrency"].as_str().unwrap(),
            row["nodes.worker.service.mean"].as_str().unwrap(),
        );
        let text = original.replace(
            "service: Exponential(mean: \"10ms\"),",
            &format!("service: Exponential(mean: \"{mean}\"), concurrency: {concurrency},"),
        );
        let file = path(&dir, "point.ron");
        std::fs::write(&file, text).unwrap();
        let seed = row["seed"].as_u64().unwrap().to_string();
        let single = json(&evlab(&[
            "run",
            &file,
            "--format",
            "json",
            "--seed",
            &seed,
            "--duration",
            "60s",
        ]));
        for (figure, value) in [
            ("totals.processed", &single["totals"]["processed"]),
            ("latency_ms.p99", &single["latency_ms"]["p99"]),
            ("nodes.work.max_depth", &single["nodes"][1]["max_depth"]),
        ] {
            assert_eq!(
                row[figure].as_f64(),
                value.as_f64(),
                "{figure} at {concurrency}, {mean}, seed {seed}"
            );
        }
    }
}

#[test]
fn sharded_resumed_and_threaded_sweeps_write_the_same_bytes() {
    let dir = scratch("shards");
    let whole = path(&dir, "whole.csv");
    assert!(sweep(&hello(), &["--out", &whole]).status.success());
    let expected = std::fs::read(&whole).unwrap();
    // Plain processes, one per shard, then merge.
    let shards: Vec<String> = (1..=3)
        .map(|k| path(&dir, &format!("shard-{k}.csv")))
        .collect();
    for (k, shard) in shards.iter().enumerate() {
        let spec = format!("{}/3", k + 1);
        assert!(
            sweep(&hello(), &["--shard", &spec, "--out", shard])
                .status
                .success()
        );
    }
    let merged = path(&dir, "merged.csv");
    let mut args = vec!["merge", merged.as_str()];
    args.extend(shards.iter().map(String::as_str));
    assert!(evlab(&args).status.success());
    assert_eq!(std::fs::read(&merged).unwrap(), expected, "merge of shards");
    // Resume from one shard's rows.
    let resumed = path(&dir, "resumed.csv");
    std::fs::copy(&shards[1], &resumed).unwrap();
    assert!(
        sweep(&hello(), &["--out", &resumed, "--resume"])
            .status
            .success()
    );
    assert_eq!(std::fs::read(&resumed).unwrap(), expected, "resume");
    // One thread.
    let single = path(&dir, "single.csv");
    assert!(
        sweep(&hello(), &["--out", &single, "--threads", "1"])
            .status
            .success()
    );
    assert_eq!(std::fs::read(&single).unwrap(), expected, "one thread");
    // JSON shards merge too.
    let whole_json = path(&dir, "whole.json");
    assert!(sweep(&hello(), &["--out", &whole_json]).status.success());
    let parts: Vec<String> = (1..=2)
        .map(|k| path(&dir, &format!("part-{k}.json")))
        .collect();
    for (k, part) in parts.iter().enumerate() {
        let spec = format!("{}/2", k + 1);
        assert!(
            sweep(&hello(), &["--shard", &spec, "--out", part])
                .status
                .success()
        );
    }
    let merged_json = path(&dir, "merged.json");
    assert!(
        evlab(&["merge", &merged_json, &parts[0], &parts[1]])
            .status
            .success()
    );
    assert_eq!(
        std::fs::read(&merged_json).unwrap(),
        std::fs::read(&whole_json).unwrap()
    );
}

/// GNU parallel as a batch engine: the job-script recipe of docs/batch-engines.md.
#[test]
fn gnu_parallel_runs_the_shards_and_merge_joins_them() {
    if Command::new("parallel").arg("--version").output().is_err() {
        // `.ci/run` installs it; a machine without it cannot run this test.
        eprintln!("GNU parallel is not installed: skipped");
        return;
    }
    let dir = scratch("parallel");
    let whole = path(&dir, "whole.csv");
    assert!(sweep(&hello(), &["--out", &whole]).status.success());
    let exe = env!("CARGO_BIN_EXE_evlab");
    let vary = sweep_args(&[]).join(" ");
    let script = format!(
        "parallel --will-cite --jobs 2 '{exe} sweep {hello} {vary} --shard {{}}/4 --out {dir}/p-{{}}.csv' ::: 1 2 3 4 \
         && {exe} merge {dir}/merged.csv {dir}/p-1.csv {dir}/p-2.csv {dir}/p-3.csv {dir}/p-4.csv",
        hello = hello(),
        dir = dir.display()
    );
    let out = Command::new("sh").args(["-c", &script]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        std::fs::read(dir.join("merged.csv")).unwrap(),
        std::fs::read(&whole).unwrap()
    );
}

#[test]
fn sweep_mistakes_get_the_nearest_path_and_refused_points_their_error() {
    let cases: &[(&str, &str)] = &[
        ("nodes.wrker.concurrency=1,2", "did you mean `worker`?"),
        (
            "nodes.worker.concurency=1,2",
            "did you mean `nodes.worker.concurrency`?",
        ),
        ("duraton=1min", "did you mean `duration`?"),
        (
            "nodes.worker.concurrency=4..1",
            "a range goes from the smaller value to the larger",
        ),
    ];
    for (vary, expected) in cases {
        let out = evlab(&["sweep", &hello(), "--vary", vary]);
        assert_eq!(out.status.code(), Some(2), "{vary}");
        assert!(stderr(&out).contains(expected), "{vary}: {}", stderr(&out));
    }
    let dir = scratch("refused");
    let out = path(&dir, "refused.json");
    let ran = evlab(&[
        "sweep",
        &hello(),
        "--vary",
        "nodes.worker.concurrency=0,1",
        "--duration",
        "10s",
        "--out",
        &out,
    ]);
    assert!(ran.status.success(), "{}", stderr(&ran));
    assert!(stderr(&ran).contains("1 with an error"), "{}", stderr(&ran));
    let rows: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert!(
        rows[0]["error"]
            .as_str()
            .unwrap()
            .contains("the checker refuses this point: nodes[2].concurrency"),
        "{}",
        rows[0]
    );
    assert!(rows[1]["error"].is_null() && rows[1]["totals.processed"].as_f64().unwrap() > 0.0);
}

#[test]
fn sizing_names_the_smallest_point_that_meets_the_conditions_and_the_one_below() {
    let dir = scratch("sizing");
    let out = path(&dir, "sizing.csv");
    // 80 msg/s at 10 ms each: one worker waits tens of ms, two hardly at all.
    let ran = evlab(&[
        "sweep",
        &hello(),
        "--vary",
        "nodes.worker.concurrency=1..4",
        "--replications",
        "5",
        "--duration",
        "2min",
        "--where",
        "latency_ms.p99 < 60 and totals.lost == 0",
        "--minimize",
        "nodes.worker.concurrency",
        "--out",
        &out,
    ]);
    let answer = String::from_utf8(ran.stdout.clone()).unwrap();
    assert!(ran.status.success(), "{}", stderr(&ran));
    assert!(answer.contains("sizing: the smallest nodes.worker.concurrency meeting latency_ms.p99 < 60 and totals.lost == 0"), "{answer}");
    assert!(
        answer.contains("  nodes.worker.concurrency = 2 (point 1)"),
        "{answer}"
    );
    assert!(
        answer.contains("the next smaller, nodes.worker.concurrency = 1 (point 0), fails:"),
        "{answer}"
    );
}
