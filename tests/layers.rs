//! The layering, as a table: for each layer (a module directory of `src/`), the crate
//! modules it must not import. ARCHITECTURE.md states the same as invariants; this test
//! keeps them true. It scans every source file of a layer, outside its `#[cfg(test)]`
//! modules (a unit test may wire a whole run), for `crate::X` paths and `use super::`
//! paths that climb out of the crate root, and names the file and line of each.

use std::path::{Path, PathBuf};

/// (layer, the crate modules it must not import).
const LAYERS: &[(&str, &[&str])] = &[
    (
        "engine",
        &[
            "broker", "scenario", "metrics", "report", "run", "gui", "cli",
        ],
    ),
    (
        "metrics",
        &[
            "broker",
            "scenario",
            "report",
            "run",
            "gui",
            "cli",
            "experiment",
        ],
    ),
    (
        "scenario",
        &[
            "broker",
            "engine",
            "metrics",
            "report",
            "run",
            "gui",
            "cli",
            "experiment",
        ],
    ),
    ("broker", &["report", "run", "gui", "cli", "experiment"]),
    ("report", &["gui", "cli", "experiment"]),
    ("experiment", &["broker", "gui", "cli"]),
];

/// Whether `c` may be part of an identifier.
fn ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The top-level names of a `{...}` list that starts `text` (`{a, b::{c, d}}` gives
/// `a` and `b`), each with its byte offset in `text`.
fn braced_names(text: &str) -> Vec<(usize, &str)> {
    let mut names = Vec::new();
    let mut depth = 0;
    let mut item_start = None;
    for (i, c) in text.char_indices() {
        match c {
            '{' => {
                depth += 1;
                if depth == 1 {
                    item_start = Some(i + 1);
                }
            }
            '}' => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            ',' if depth == 1 => item_start = Some(i + 1),
            _ => {}
        }
        if let Some(start) = item_start
            && depth == 1
            && i >= start
            && ident(c)
        {
            let name_len = text[i..]
                .find(|c: char| !ident(c))
                .unwrap_or(text.len() - i);
            names.push((i, &text[i..i + name_len]));
            item_start = None;
        }
    }
    names
}

/// Every `crate::X` that `code` names, with the byte offset of `X`.
fn crate_paths(code: &str) -> Vec<(usize, &str)> {
    let mut found = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        // `mycrate::x` is not the crate root.
        if code[..at].chars().next_back().is_some_and(ident) {
            continue;
        }
        let start = at + "crate::".len();
        let after = &code[start..];
        if after.starts_with('{') {
            found.extend(braced_names(after).into_iter().map(|(i, n)| (start + i, n)));
        } else {
            let name_len = after.find(|c: char| !ident(c)).unwrap_or(after.len());
            found.push((start, &after[..name_len]));
        }
    }
    found.retain(|(_, name)| !name.is_empty());
    found
}

/// The lines of `text` that are library code: up to the first `#[cfg(test)]` that opens
/// an inline module (`mod tests {`: test modules close their files in this crate).
fn library_lines(text: &str) -> Vec<&str> {
    let mut lines: Vec<&str> = text.lines().collect();
    let end = lines
        .windows(2)
        .position(|w| {
            let next = w[1].trim();
            w[0].trim() == "#[cfg(test)]" && next.contains("mod ") && next.ends_with('{')
        })
        .unwrap_or(lines.len());
    lines.truncate(end);
    lines
}

/// Every place in `text` that imports one of `forbidden`: (line, module). Comments
/// (doc links too) do not count.
fn violations(text: &str, forbidden: &[&str]) -> Vec<(usize, String)> {
    let code: Vec<&str> = library_lines(text)
        .into_iter()
        .map(|line| line.split("//").next().unwrap_or(""))
        .collect();
    let code = code.join("\n");
    crate_paths(&code)
        .into_iter()
        .filter(|(_, name)| forbidden.contains(name))
        .map(|(at, name)| (code[..at].matches('\n').count() + 1, name.to_string()))
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_layer_imports_what_is_above_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut problems = Vec::new();
    for (layer, forbidden) in LAYERS {
        let mut files = Vec::new();
        rust_files(&src.join(layer), &mut files);
        assert!(!files.is_empty(), "layer `{layer}` has no source files");
        files.sort();
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for (line, module) in violations(&text, forbidden) {
                problems.push(format!(
                    "{}:{line}: `{layer}` imports `crate::{module}`",
                    file.strip_prefix(&src).unwrap_or(&file).display()
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "layering broken:\n{}",
        problems.join("\n")
    );
}

/// The scanner on snippets: what it must catch, and what it must let through.
#[test]
fn the_scanner_finds_what_a_layer_imports() {
    let forbidden = &["broker", "report"];
    let cases: &[(&str, &[(usize, &str)])] = &[
        ("use crate::broker::world::World;", &[(1, "broker")]),
        ("let w: crate::broker::World = x;", &[(1, "broker")]),
        (
            "use crate::{engine::SimTime, report::Report};",
            &[(1, "report")],
        ),
        (
            "use crate::{\n    engine::{SimTime, Scheduler},\n    broker::x,\n};",
            &[(3, "broker")],
        ),
        ("use crate::engine::SimTime;", &[]),
        ("// use crate::broker::World;", &[]),
        ("use mycrate::broker::World;", &[]),
        ("use super::LatencyHistogram;", &[]),
        (
            "use crate::metrics::X;\n#[cfg(test)]\nmod tests {\n    use crate::broker::X;\n}",
            &[],
        ),
        (
            "#[cfg(test)]\nfn helper() {}\nuse crate::report::X;",
            &[(3, "report")],
        ),
        (
            "#[cfg(test)]\nmod toy;\nuse crate::report::X;",
            &[(3, "report")],
        ),
    ];
    for (text, expected) in cases {
        let found = violations(text, forbidden);
        let expected: Vec<(usize, String)> =
            expected.iter().map(|&(n, m)| (n, m.to_string())).collect();
        assert_eq!(found, expected, "{text}");
    }
}
