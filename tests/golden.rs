//! Golden reports: the JSON report (with its time series) of every scenario under
//! `scenarios/`, as `evlab run FILE --format json --series` prints it, byte for byte.
//!
//! Runs are deterministic, so these files pin the simulator's behaviour: a refactor that
//! changes none of them changed nothing a user can see. A golden file changes only in a
//! commit that says which behaviour changed and why. To write them after such a change:
//!
//! ```text
//! UPDATE_GOLDEN=1 cargo test --test golden
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::path::{Path, PathBuf};
use std::process::Command;

const SCENARIOS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios");
const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden");

/// Every `.ron` file under `dir`, sorted.
fn scenarios(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(scenarios(&path));
        } else if path.extension().is_some_and(|e| e == "ron") {
            found.push(path);
        }
    }
    found.sort();
    found
}

/// `scenarios/compare/acks-1.ron` -> `compare-acks-1.json`.
fn golden_name(scenario: &Path) -> String {
    let relative = scenario.strip_prefix(SCENARIOS).unwrap();
    let stem = relative.with_extension("");
    let parts: Vec<String> = stem
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    format!("{}.json", parts.join("-"))
}

fn report(scenario: &Path) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_evlab"))
        .args(["run", "--format", "json", "--series"])
        .arg(scenario)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{} did not run: {}",
        scenario.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// The first line where `want` and `got` differ, both sides, for the failure message.
fn first_difference(want: &str, got: &str) -> String {
    let mut lines = want.lines().zip(got.lines()).enumerate();
    match lines.find(|(_, (w, g))| w != g) {
        Some((i, (w, g))) => format!("line {}: golden `{}`, now `{}`", i + 1, w.trim(), g.trim()),
        None => format!(
            "one is longer: {} lines golden, {} now",
            want.lines().count(),
            got.lines().count()
        ),
    }
}

#[test]
fn every_scenario_reports_exactly_its_golden_json() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    std::fs::create_dir_all(GOLDEN).unwrap();
    let files = scenarios(Path::new(SCENARIOS));
    assert!(files.len() >= 20, "the examples are there: {files:?}");
    let mut differ = Vec::new();
    let mut names = Vec::new();
    for scenario in &files {
        let name = golden_name(scenario);
        let path = Path::new(GOLDEN).join(&name);
        let got = report(scenario);
        names.push(name.clone());
        if update {
            std::fs::write(&path, &got).unwrap();
            continue;
        }
        match std::fs::read_to_string(&path) {
            Ok(want) if want == got => {}
            Ok(want) => differ.push(format!("{name}: {}", first_difference(&want, &got))),
            Err(_) => differ.push(format!("{name}: no golden file")),
        }
    }
    // A golden file whose scenario is gone pins nothing.
    for entry in std::fs::read_dir(GOLDEN).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if !names.contains(&name) {
            if update {
                std::fs::remove_file(Path::new(GOLDEN).join(&name)).unwrap();
            } else {
                differ.push(format!("{name}: no scenario reports it"));
            }
        }
    }
    assert!(
        differ.is_empty(),
        "reports differ from tests/golden/ (if the change is meant, say why in the commit and \
         run UPDATE_GOLDEN=1 cargo test --test golden):\n  {}",
        differ.join("\n  ")
    );
}

#[test]
fn golden_names_keep_the_folder() {
    let cases = [
        ("hello.ron", "hello.json"),
        ("compare/acks-1.ron", "compare-acks-1.json"),
    ];
    for (file, golden) in cases {
        assert_eq!(golden_name(&Path::new(SCENARIOS).join(file)), golden);
    }
}
