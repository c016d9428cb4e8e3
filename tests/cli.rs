//! The command line as a user meets it: exit codes, where output goes,
//! error messages with file, line, column and path, and byte-identical
//! reports for one scenario and seed.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn evlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_evlab"))
        .args(args)
        .output()
        .expect("evlab runs")
}

fn scenario(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(name)
        .display()
        .to_string()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A scratch file with `text`, removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, text: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("evlab-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        TempFile(path)
    }
    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

const SHORT: [&str; 2] = ["--duration", "20s"];

#[test]
fn every_example_validates_and_runs() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut count = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "ron") {
            continue;
        }
        let file = path.to_str().unwrap();
        let v = evlab(&["validate", file]);
        assert!(v.status.success(), "{file}: {}", stderr(&v));
        let r = evlab(&["run", file, "--format", "json"]);
        assert!(r.status.success(), "{file}: {}", stderr(&r));
        let json: serde_json::Value = serde_json::from_str(&stdout(&r)).unwrap();
        assert!(
            json["totals"]["processed"].as_u64().unwrap() > 0,
            "{file} processed nothing"
        );
        count += 1;
    }
    assert!(count >= 5, "expected at least 5 examples, found {count}");
}

#[test]
fn json_report_is_byte_identical_for_one_seed_and_differs_for_another() {
    let file = scenario("work-queue.ron");
    let run = |seed: &str| {
        stdout(&evlab(&[
            "run",
            &file,
            "--format",
            "json",
            "--seed",
            seed,
            "--duration",
            "30s",
        ]))
    };
    let first = run("9");
    assert_eq!(first, run("9"));
    assert_ne!(first, run("10"));
}

#[test]
fn json_report_has_the_contract_keys() {
    let out = evlab(&[
        "run",
        &scenario("kafka-topic.ron"),
        "--format",
        "json",
        "--duration",
        "20s",
        "--warmup",
        "2s",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    for key in [
        "evlab_version",
        "scenario",
        "seed",
        "sim_seconds",
        "events",
        "wall_seconds",
        "totals",
        "latency_ms",
        "throughput_per_s",
        "nodes",
    ] {
        assert!(json.get(key).is_some(), "missing {key}");
    }
    for key in ["produced", "processed", "in_flight_at_end", "dropped"] {
        assert!(json["totals"].get(key).is_some(), "missing totals.{key}");
    }
    for key in ["mean", "p50", "p95", "p99", "max"] {
        assert!(
            json["latency_ms"][key].as_f64().is_some(),
            "missing latency_ms.{key}"
        );
    }
    assert_eq!(json["sim_seconds"].as_f64(), Some(20.0));
    let nodes = json["nodes"].as_array().unwrap();
    let topic = nodes.iter().find(|n| n["kind"] == "topic").unwrap();
    assert_eq!(topic["partitions"].as_array().unwrap().len(), 12);
    let consumer = nodes.iter().find(|n| n["kind"] == "consumer").unwrap();
    for key in ["processed", "utilization", "mean_service_ms"] {
        assert!(consumer.get(key).is_some(), "consumer lacks {key}");
    }
    let queue_run = evlab(&[
        "run",
        &scenario("hello.ron"),
        "--format",
        "json",
        "--duration",
        "20s",
        "--warmup",
        "1s",
    ]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&queue_run)).unwrap();
    let queue = json["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["kind"] == "queue")
        .unwrap()
        .clone();
    for key in ["mean_wait_ms", "mean_depth", "max_depth", "dropped"] {
        assert!(queue.get(key).is_some(), "queue lacks {key}");
    }
}

#[test]
fn timing_is_only_in_the_report_when_asked_for() {
    let file = scenario("hello.ron");
    let plain: serde_json::Value = serde_json::from_str(&stdout(&evlab(&[
        "run",
        &file,
        "--format",
        "json",
        "--duration",
        "5s",
    ])))
    .unwrap();
    assert!(plain["wall_seconds"].is_null());
    let timed: serde_json::Value = serde_json::from_str(&stdout(&evlab(&[
        "run",
        &file,
        "--format",
        "json",
        "--duration",
        "5s",
        "--timing",
    ])))
    .unwrap();
    assert!(timed["wall_seconds"].as_f64().unwrap() > 0.0);
}

#[test]
fn csv_is_long_format_with_one_value_per_row() {
    let out = evlab(&[
        "run",
        &scenario("fanout.ron"),
        "--format",
        "csv",
        "--duration",
        "10s",
    ]);
    assert!(out.status.success());
    let text = stdout(&out);
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("evlab_version,scenario,seed,warmup_seconds,scope,id,kind,metric,value")
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert!(rows.iter().all(|r| r.len() == 9), "every row has 9 fields");
    assert!(
        rows.iter()
            .all(|r| r[0] == env!("CARGO_PKG_VERSION") && r[3] == "0")
    );
    assert!(rows.iter().any(|r| r[4] == "run" && r[7] == "processed"));
    assert!(
        rows.iter()
            .any(|r| r[5] == "analytics" && r[7] == "dropped.overflow")
    );
}

#[test]
fn csv_runs_append_under_one_header_and_flags_do_what_they_say() {
    let dir = std::env::temp_dir().join(format!("evlab-cli-append-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("runs.csv");
    let out = out.to_str().unwrap();
    for seed in ["1", "2"] {
        let run = evlab(&[
            "run",
            &scenario("hello.ron"),
            "--duration",
            "40s",
            "--seed",
            seed,
            "--format",
            "csv",
            "--out",
            out,
            "--append",
        ]);
        assert!(run.status.success(), "{}", stderr(&run));
    }
    let text = std::fs::read_to_string(out).unwrap();
    assert_eq!(
        text.matches("evlab_version,scenario").count(),
        1,
        "one header"
    );
    assert!(text.contains(",hello,1,30,") && text.contains(",hello,2,30,"));
    let series = evlab(&["run", &scenario("hello.ron"), "--series"]);
    assert_eq!(series.status.code(), Some(2));
    assert!(stderr(&series).contains("--series adds the time series to JSON reports"));
    let timed = stdout(&evlab(&[
        "run",
        &scenario("hello.ron"),
        "--duration",
        "40s",
        "--format",
        "csv",
        "--timing",
    ]));
    assert!(timed.contains(",run,,,wall_seconds,"), "{timed}");
    let short = evlab(&["run", &scenario("hello.ron"), "--duration", "10s"]);
    assert!(
        stderr(&short).contains("is not shorter than --duration 10s"),
        "{}",
        stderr(&short)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn out_writes_the_file_and_leaves_stdout_empty() {
    let dir = std::env::temp_dir().join(format!("evlab-out-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let target = dir.join("report.json");
    let out = evlab(&[
        "run",
        &scenario("hello.ron"),
        "--format",
        "json",
        "--duration",
        "5s",
        "--out",
        target.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).is_empty());
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&target).unwrap()).unwrap();
    assert_eq!(written["scenario"], "hello");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_bad_value_gets_file_line_column_path_and_exit_2() {
    let text = std::fs::read_to_string(scenario("hello.ron"))
        .unwrap()
        .replace("rate: \"80/s\"", "rate: \"0/s\"");
    let file = TempFile::new("zero-rate.ron", &text);
    let out = evlab(&["validate", file.path()]);
    assert_eq!(out.status.code(), Some(2));
    let line = text.lines().position(|l| l.contains("\"0/s\"")).unwrap() + 1;
    let err = stderr(&out);
    assert!(err.contains(&format!("{}:{line}:", file.path())), "{err}");
    assert!(err.contains("nodes[0].arrival.rate: must be > 0"), "{err}");
    assert!(stdout(&out).is_empty());
    // `run` refuses the same file the same way.
    assert_eq!(evlab(&["run", file.path()]).status.code(), Some(2));
}

#[test]
fn syntax_and_type_errors_are_placed_too() {
    let cases: &[(&str, &str, &str)] = &[
        // (what to break, replacement, expected fragment of the message)
        (
            "rate: \"80/s\"",
            "rate: \"80/fortnight\"",
            "unknown time unit",
        ),
        ("mean: \"10ms\"", "mean: \"10\"", "has no unit"),
        (
            "size: \"1KiB\",",
            "size: \"1KiB\", colour: \"red\",",
            "unknown field `colour`",
        ),
        (
            "Queue(id: \"work\"",
            "Qeueu(id: \"work\"",
            "unknown kind `Qeueu`",
        ),
        (
            "(from: \"work\", to: \"worker\"),",
            "(from: \"work\", to: \"wroker\"),",
            "no node has the id `wroker`",
        ),
        (
            "(from: \"work\", to: \"worker\"),",
            "(from: \"worker\", to: \"orders\"),",
            "nothing sends to a producer",
        ),
        ("version: 1,", "version: 7,", "scenario version 1"),
        ("edges: [", "edges: [[", ""),
    ];
    let original = std::fs::read_to_string(scenario("hello.ron")).unwrap();
    for (from, to, expected) in cases {
        assert!(original.contains(from), "{from}");
        let text = original.replacen(from, to, 1);
        let file = TempFile::new("broken.ron", &text);
        let out = evlab(&["validate", file.path()]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{to}: {err}");
        assert!(err.contains(expected), "{to}: {err}");
        // file:line:column: and a line that exists.
        let rest = err
            .trim_start_matches("error: ")
            .strip_prefix(file.path())
            .unwrap_or_else(|| panic!("{err}"));
        let mut parts = rest.trim_start_matches(':').split(':');
        let line: usize = parts
            .next()
            .unwrap()
            .parse()
            .unwrap_or_else(|_| panic!("{err}"));
        let column: usize = parts
            .next()
            .unwrap()
            .parse()
            .unwrap_or_else(|_| panic!("{err}"));
        assert!(
            line >= 1 && line <= text.lines().count() + 1 && column >= 1,
            "{err}"
        );
    }
}

#[test]
fn every_problem_is_reported_at_once() {
    let text = std::fs::read_to_string(scenario("hello.ron"))
        .unwrap()
        .replace("rate: \"80/s\"", "rate: \"0/s\"")
        .replace(
            "(from: \"work\", to: \"worker\"),",
            "(from: \"work\", to: \"nobody\"),",
        );
    let file = TempFile::new("two-problems.ron", &text);
    let err = stderr(&evlab(&["validate", file.path()]));
    assert!(
        err.contains("must be > 0") && err.contains("`nobody`"),
        "{err}"
    );
}

#[test]
fn missing_file_and_bad_arguments_exit_2() {
    assert_eq!(evlab(&["run", "/nonexistent/x.ron"]).status.code(), Some(2));
    assert_eq!(
        evlab(&["run", &scenario("hello.ron"), "--duration", "10"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        evlab(&["run", &scenario("hello.ron"), "--format", "xml"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        evlab(&["run", &scenario("hello.ron"), "--warmup", "20min"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(evlab(&["frobnicate"]).status.code(), Some(2));
}

#[test]
fn a_run_that_exceeds_the_memory_cap_fails_with_exit_1_and_says_why() {
    let text = r#"(version: 1, name: "flood", duration: "10s", limits: (max_in_flight: 1000),
        nodes: [Producer(id: "p", arrival: Constant(rate: "1000/s")), Queue(id: "q"),
                Consumer(id: "c", service: Constant(time: "1s"))],
        edges: [(from: "p", to: "q"), (from: "q", to: "c")])"#;
    let file = TempFile::new("flood.ron", text);
    let out = evlab(&["run", file.path()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("limits.max_in_flight"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn bench_prints_the_ratio_as_json() {
    let out = evlab(&[
        "bench",
        "--format",
        "json",
        "--messages",
        "20000",
        "--repeat",
        "1",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    for key in [
        "events_per_sec",
        "messages_per_sec",
        "bare_messages_per_sec",
        "ratio",
    ] {
        assert!(json[key].as_f64().unwrap() > 0.0, "{key}");
    }
}

#[test]
fn series_adds_the_time_series_with_one_row_per_interval() {
    let file = scenario("hello.ron");
    let out = evlab(&[
        "run",
        &file,
        "--format",
        "json",
        "--series",
        "--duration",
        "20s",
        "--warmup",
        "0s",
    ]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let series = &json["series"];
    // 200 samples by default, every 100 ms of the 20 s. Regression: the interval used to
    // follow the file's duration (10 min), not the --duration override, leaving 6 samples.
    let times = series["time_s"].as_array().unwrap();
    assert_eq!(times.len(), 200);
    for column in [
        "produced_per_s",
        "processed_per_s",
        "in_flight",
        "latency_p50_ms",
        "latency_p99_ms",
    ] {
        assert_eq!(series[column].as_array().unwrap().len(), 200, "{column}");
    }
    let queue = series["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["id"] == "work")
        .unwrap();
    assert_eq!(queue["depth"].as_array().unwrap().len(), 200);
    let p99: Vec<f64> = series["latency_p99_ms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert!(
        p99.iter().filter(|v| **v > 0.0).count() > 150,
        "intervals have latency quantiles"
    );
    let plain: serde_json::Value = serde_json::from_str(&stdout(&evlab(&[
        "run",
        &file,
        "--format",
        "json",
        "--duration",
        "20s",
    ])))
    .unwrap();
    assert!(plain.get("series").is_none());
}

#[test]
fn short_runs_use_the_override() {
    let out = evlab(&[
        "run",
        &scenario("hello.ron"),
        "--format",
        "json",
        SHORT[0],
        SHORT[1],
        "--warmup",
        "0s",
    ]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["sim_seconds"].as_f64(), Some(20.0));
    assert_eq!(json["warmup_seconds"].as_f64(), Some(0.0));
}

#[test]
fn check_ledger_checks_after_every_event() {
    // Slow but thorough: every example with faults and retries keeps the conservation law.
    for example in [
        "delivery-guarantees.ron",
        "leader-failover.ron",
        "visibility-timeout.ron",
        "retry-queue.ron",
    ] {
        let out = evlab(&[
            "run",
            &scenario(example),
            "--check-ledger",
            "--duration",
            "30s",
            "--format",
            "json",
        ]);
        assert!(out.status.success(), "{example}: {}", stderr(&out));
        let checked: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        let plain: serde_json::Value = serde_json::from_str(&stdout(&evlab(&[
            "run",
            &scenario(example),
            "--duration",
            "30s",
            "--format",
            "json",
        ])))
        .unwrap();
        assert_eq!(
            checked["totals"], plain["totals"],
            "{example}: checking must not change the run"
        );
    }
}

/// `evlab` with `stdin` piped in.
fn evlab_with_input(args: &[&str], input: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_evlab"))
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("evlab runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn mistyped_commands_and_arguments_say_what_was_meant() {
    let hello = scenario("hello.ron");
    // (arguments, what stderr must say); each exits 2.
    let cases: &[(&[&str], &str)] = &[
        (
            &["runn", &hello],
            "unknown command `runn`; did you mean `run`?",
        ),
        (&["validat", &hello], "did you mean `validate`?"),
        (
            &["frobnicate", &hello],
            "unknown command `frobnicate`; the commands are run, validate, compare, sweep, merge and bench",
        ),
        (
            &["nosuch.ron"],
            "`nosuch.ron` is neither a command (run, validate, compare, sweep, merge, bench) nor a scenario file",
        ),
        (
            &["run", &hello, "--duration", "-1s"],
            "`-1s`: a duration cannot be negative",
        ),
        (
            &["run", &hello, "--warmup", "-5s"],
            "a duration cannot be negative",
        ),
        (&["bench", "--repeat", "0"], "0 is not in 1.."),
        (&["bench", "--messages", "0"], "0 is not in 1000.."),
    ];
    for (args, expected) in cases {
        let out = evlab(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(expected),
            "{args:?}: {}",
            stderr(&out)
        );
        assert!(!stdout(&out).contains("NaN"), "{args:?}");
    }
}

#[test]
fn validate_takes_several_files_and_standard_input() {
    let broken = TempFile::new(
        "one-of-several.ron",
        "(version: 1, duration: \"1s\", nodes: [])",
    );
    let hello = scenario("hello.ron");
    let out = evlab(&["validate", &hello, broken.path(), &scenario("fanout.ron")]);
    assert_eq!(out.status.code(), Some(2), "one bad file fails the whole");
    let said = stderr(&out);
    assert_eq!(said.matches(": ok (").count(), 2, "{said}");
    assert!(said.contains("the scenario has no nodes"), "{said}");
    let text = std::fs::read_to_string(&hello).unwrap();
    let out = evlab_with_input(&["validate", "-"], &text);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("<stdin>: ok"), "{}", stderr(&out));
    let out = evlab_with_input(&["run", "-", "--duration", "5s", "--format", "json"], &text);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["scenario"], "hello");
    let out = evlab_with_input(&["validate", "-"], "(version: 1,");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("<stdin>:1:"), "{}", stderr(&out));
}

#[test]
fn an_unwritable_out_is_refused_before_the_run() {
    let out = evlab(&[
        "run",
        &scenario("hello.ron"),
        "--out",
        "/nonexistent-dir/report.json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let said = stderr(&out);
    assert!(
        said.contains("cannot write the report to /nonexistent-dir/report.json"),
        "{said}"
    );
    assert!(!said.contains("events in"), "nothing ran: {said}");
}

#[cfg(unix)]
#[test]
fn out_onto_a_symbolic_link_writes_the_file_it_points_to() {
    let real = TempFile::new("real-report.json", "old");
    let link = std::env::temp_dir()
        .join(format!("evlab-cli-{}", std::process::id()))
        .join("link-report.json");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(real.path(), &link).unwrap();
    let out = evlab(&[
        "run",
        &scenario("hello.ron"),
        "--duration",
        "5s",
        "--format",
        "json",
        "--out",
        link.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let written = std::fs::read_to_string(real.path()).unwrap();
    assert!(written.contains("\"scenario\": \"hello\""));
    std::fs::remove_file(&link).unwrap();
}

#[test]
fn a_run_at_its_event_limit_reports_what_it_did_as_partial() {
    let text = std::fs::read_to_string(scenario("hello.ron"))
        .unwrap()
        .replace("seed: 42,", "seed: 42, limits: (max_events: 5000),");
    let file = TempFile::new("limited.ron", &text);
    let out = evlab(&["run", file.path(), "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("it reached limits.max_events (5000 engine events)"),
        "{}",
        stderr(&out)
    );
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["events"], 5000);
    assert!(
        json["partial"]["reason"]
            .as_str()
            .unwrap()
            .contains("limits.max_events")
    );
    let table = evlab(&["run", file.path()]);
    assert!(
        stdout(&table).contains("PARTIAL REPORT: the run stopped at"),
        "{}",
        stdout(&table)
    );
    let csv = evlab(&["run", file.path(), "--format", "csv"]);
    assert!(
        stdout(&csv).contains(",run,,,partial,1"),
        "{}",
        stdout(&csv)
    );
}

#[cfg(unix)]
#[test]
fn ctrl_c_stops_a_run_and_prints_the_report_so_far() {
    // About 10 s of work: stopped after half a second.
    let child = Command::new(env!("CARGO_BIN_EXE_evlab"))
        .args([
            "run",
            &scenario("hello.ron"),
            "--duration",
            "100h",
            "--format",
            "json",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    let sent = Command::new("sh")
        .args(["-c", &format!("kill -INT {}", child.id())])
        .status()
        .unwrap();
    assert!(sent.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    assert!(stderr(&out).contains("interrupted at"), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["partial"]["reason"], "interrupted (Ctrl+C)");
    assert!(json["sim_seconds"].as_f64().unwrap() < 360_000.0);
}

#[cfg(feature = "gui")]
#[test]
fn the_lab_without_a_display_says_how_to_run_headless() {
    let out = Command::new(env!("CARGO_BIN_EXE_evlab"))
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let said = stderr(&out);
    assert!(said.contains("the lab needs a display"), "{said}");
    assert!(said.contains("evlab run FILE.ron"), "{said}");
    assert!(!said.contains(".rs:"), "no build paths: {said}");
}
