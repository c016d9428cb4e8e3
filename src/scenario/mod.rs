//! Scenario files: RON text -> raw serde types ([`raw`]) -> a checked
//! [`Scenario`] ([`check`]) that the engine can trust.
//!
//! Every problem is reported with the file, the line and column, a path into
//! the document such as `nodes[3].arrival.rate`, and what to do about it.

pub mod check;
pub mod guarantees;
pub mod kind;
pub mod locate;
pub mod model;
pub mod raw;
pub mod units;
pub mod whole;

use std::fmt;
use std::path::Path;

use crate::text::printable;

pub use check::{Problem, Problems};
pub use kind::Kind;
pub use model::*;
pub use raw::RawScenario;

/// RON extensions evlab turns on for every file, so users may write
/// `max_length: 100` instead of `max_length: Some(100)` and
/// `Producer(id: "p", ...)` instead of `Producer((id: "p", ...))`.
fn ron_options() -> ron::Options {
    ron::Options::default()
        .with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME)
        .with_default_extension(ron::extensions::Extensions::UNWRAP_VARIANT_NEWTYPES)
}

/// One problem, placed in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocatedProblem {
    pub line: usize,
    pub column: usize,
    /// Path into the document, such as `nodes[3].arrival.rate`; empty for syntax errors.
    pub path: String,
    pub message: String,
}

/// Why a scenario could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{}: cannot read the file: {source}", printable(.file))]
    Io {
        file: String,
        source: std::io::Error,
    },
    #[error("{}", render_problems(.file, .problems, *.more))]
    Invalid {
        file: String,
        /// The first problems found, at most [`check::MAX_PROBLEMS`].
        problems: Vec<LocatedProblem>,
        /// How many more were found and not kept.
        more: usize,
    },
}

impl LoadError {
    /// One problem in the file.
    fn one(file: &str, problem: LocatedProblem) -> LoadError {
        LoadError::Invalid {
            file: file.to_string(),
            problems: vec![problem],
            more: 0,
        }
    }

    /// Every problem found, kept or not.
    pub fn problem_count(&self) -> usize {
        match self {
            LoadError::Io { .. } => 1,
            LoadError::Invalid { problems, more, .. } => problems.len() + more,
        }
    }
}

fn render_problems(file: &str, problems: &[LocatedProblem], more: usize) -> String {
    let file = printable(file);
    let mut out = String::new();
    for (i, p) in problems.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&format!("{file}:{p}"));
    }
    if more > 0 {
        out.push_str(&format!(
            "\n... and {more} more problem{} (only the first {} are listed)",
            if more == 1 { "" } else { "s" },
            problems.len()
        ));
    }
    out
}

impl fmt::Display for LocatedProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: ", self.line, self.column)?;
        if !self.path.is_empty() {
            write!(f, "{}: ", printable(&self.path))?;
        }
        f.write_str(&printable(&self.message))
    }
}

/// Reads a scenario file's text. A file that is not UTF-8 is refused with the line,
/// column and byte offset of the first byte that is not.
pub fn read_text(path: &Path) -> Result<String, LoadError> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| LoadError::Io {
        file: file.clone(),
        source,
    })?;
    text_of(bytes).map_err(|problem| LoadError::one(&file, problem))
}

/// Reads a scenario's text from standard input (`-` on the command line).
pub fn read_stdin() -> Result<String, LoadError> {
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut bytes).map_err(|source| {
        LoadError::Io {
            file: STDIN.into(),
            source,
        }
    })?;
    text_of(bytes).map_err(|problem| LoadError::one(STDIN, problem))
}

/// How standard input is named in messages.
pub const STDIN: &str = "<stdin>";

/// Bytes as UTF-8 text, or where they stop being UTF-8.
pub fn text_of(bytes: Vec<u8>) -> Result<String, LocatedProblem> {
    String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        let valid = std::str::from_utf8(bytes.get(..offset).unwrap_or_default()).unwrap_or("");
        let position = locate::position_of(valid, offset);
        let bad = bytes.get(offset).copied().unwrap_or(0);
        LocatedProblem {
            line: position.line,
            column: position.column,
            path: String::new(),
            message: format!(
                "the file is not UTF-8 text: byte 0x{bad:02X} at byte offset {offset} does not \
                 start a UTF-8 character; save the file as UTF-8"
            ),
        }
    })
}

/// Reads and checks a scenario file.
pub fn load(path: &Path) -> Result<(RawScenario, Scenario), LoadError> {
    let source = read_text(path)?;
    parse(&source, &path.display().to_string())
}

/// Parses and checks scenario text; `file` names it in errors.
pub fn parse(source: &str, file: &str) -> Result<(RawScenario, Scenario), LoadError> {
    let raw = parse_raw(source).map_err(|problem| LoadError::one(file, problem))?;
    let scenario = check::check(&raw).map_err(|found| {
        let locator = locate::Locator::new(source);
        LoadError::Invalid {
            file: file.to_string(),
            problems: found
                .list
                .into_iter()
                .map(|p| place_with(&locator, p))
                .collect(),
            more: found.more,
        }
    })?;
    Ok((raw, scenario))
}

/// Puts a checker's problem at its place in the text.
pub fn place(source: &str, problem: Problem) -> LocatedProblem {
    place_with(&locate::Locator::new(source), problem)
}

/// Puts a checker's problem at its place in a text already scanned.
pub fn place_with(locator: &locate::Locator<'_>, problem: Problem) -> LocatedProblem {
    let segments = locate::parse_path(&problem.path);
    let position = locator
        .locate(&segments)
        .unwrap_or(locate::Position { line: 1, column: 1 });
    LocatedProblem {
        line: position.line,
        column: position.column,
        path: problem.path,
        message: problem.message,
    }
}

/// The comment lines at the top of a scenario file, before the scenario itself (where the
/// examples explain their lesson), verbatim with their line ends; empty when there are none.
/// Saving writes the values, not the text: a front that saves what it loaded puts these back.
pub fn leading_comments(source: &str) -> String {
    let mut header = String::new();
    for line in source.split_inclusive('\n') {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with("//") {
            header.push_str(line);
        } else {
            break;
        }
    }
    if header.lines().any(|l| l.trim().starts_with("//")) {
        header
    } else {
        String::new()
    }
}

/// RON text -> raw types, with syntax and type errors placed in the text.
pub fn parse_raw(source: &str) -> Result<RawScenario, LocatedProblem> {
    let options = ron_options();
    let syntax_error = |e: ron::error::SpannedError| LocatedProblem {
        line: e.span.start.line,
        column: e.span.start.col,
        path: String::new(),
        message: describe_ron_error(&e.code),
    };
    let mut deserializer =
        ron::Deserializer::from_str_with_options(source, &options).map_err(syntax_error)?;
    let mut track = serde_path_to_error::Track::new();
    let result = serde::Deserialize::deserialize(serde_path_to_error::Deserializer::new(
        &mut deserializer,
        &mut track,
    ));
    match result {
        Ok(raw) => {
            deserializer
                .end()
                .map_err(|code| syntax_error(deserializer.span_error(code)))?;
            Ok(raw)
        }
        Err(code) => {
            let path = display_path(&track.path());
            let span = deserializer.span_error(code);
            Err(LocatedProblem {
                line: span.span.start.line,
                column: span.span.start.col,
                path,
                message: describe_ron_error(&span.code),
            })
        }
    }
}

/// A serde path as evlab writes paths: `nodes[3].arrival.rate` (enum variant names left out).
fn display_path(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            // Struct fields and map keys both come as map keys.
            Segment::Map { key } if key.chars().all(|c| c.is_alphanumeric() || c == '_') => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Segment::Map { key } => out.push_str(&format!("[{key:?}]")),
            Segment::Enum { .. } | Segment::Unknown => {}
        }
    }
    out
}

/// ron's messages, with a hint on what to write where one helps.
fn describe_ron_error(code: &ron::Error) -> String {
    match code {
        ron::Error::NoSuchStructField {
            expected, found, ..
        } => match crate::text::nearest(found, expected.iter().copied()) {
            Some(near) => format!(
                "unknown field `{found}`; did you mean `{near}`? This place takes: {}",
                expected.join(", ")
            ),
            None => format!(
                "unknown field `{found}`; this place takes: {}",
                expected.join(", ")
            ),
        },
        ron::Error::MissingStructField { field, .. } => {
            format!("missing field `{field}`: add `{field}: ...`")
        }
        ron::Error::NoSuchEnumVariant {
            expected, found, ..
        } => match crate::text::nearest(found, expected.iter().copied()) {
            Some(near) => format!(
                "unknown kind `{found}`; did you mean `{near}`? Expected one of: {}",
                expected.join(", ")
            ),
            None => format!(
                "unknown kind `{found}`; expected one of: {}",
                expected.join(", ")
            ),
        },
        other => other.to_string(),
    }
}

/// Writes a raw scenario back as RON, in the form users write it: one line per node,
/// edge and fault, only the fields that differ from their defaults, canvas positions in
/// whole points, and a final newline.
pub fn to_ron(raw: &RawScenario) -> Result<String, ron::Error> {
    let pretty = ron::ser::PrettyConfig::new()
        .struct_names(false)
        .indentor("    ".to_string())
        .separate_tuple_members(false)
        .depth_limit(2);
    let mut rounded = raw.clone();
    for node in &mut rounded.nodes {
        if let Some((x, y)) = node.pos_mut() {
            (*x, *y) = (x.round(), y.round());
        }
    }
    let concise = raw::LeaveOutDefaults::new();
    let mut text = ron_options().to_string_pretty(&rounded, pretty)?;
    drop(concise);
    text.push('\n');
    Ok(text)
}

#[cfg(test)]
mod header_tests {
    #[test]
    fn leading_comments_are_the_lines_before_the_scenario() {
        let text = "// lesson: one\n//\n// two\n\n(\n    // inside\n    version: 1,\n)\n";
        assert_eq!(
            super::leading_comments(text),
            "// lesson: one\n//\n// two\n\n"
        );
        assert_eq!(super::leading_comments("(version: 1)"), "");
        assert_eq!(super::leading_comments("\n\n(version: 1)"), "");
    }
}

#[cfg(test)]
mod saving_tests {
    use super::{parse_raw, to_ron};

    /// Every example saved: one line per node, edge and fault, no field at its default,
    /// no raw identifiers, a final newline; and the saved text reads back to the same
    /// scenario and saves to the same bytes.
    #[test]
    fn a_saved_scenario_is_what_a_person_would_write_and_reads_back_the_same() {
        for (name, text) in crate::examples::EXAMPLES {
            let raw = parse_raw(text).unwrap();
            let saved = to_ron(&raw).unwrap();
            assert!(saved.ends_with(")\n"), "{name}");
            assert!(!saved.contains("r#"), "{name}: {saved}");
            for default in [
                "idempotent: false",
                "durable: true",
                "size: \"1KiB\"",
                "ack: AfterProcessing",
            ] {
                assert!(
                    !saved.contains(default),
                    "{name} writes the default {default}"
                );
            }
            let lines = saved.lines().count();
            let items = raw.nodes.len() + raw.edges.len() + raw.faults.len();
            assert!(
                lines <= items + 20,
                "{name}: {lines} lines for {items} items"
            );
            let again = parse_raw(&saved).unwrap();
            assert_eq!(again, raw, "{name}");
            assert_eq!(to_ron(&again).unwrap(), saved, "{name}");
        }
    }

    #[test]
    fn positions_are_saved_in_whole_points() {
        let mut raw = parse_raw(
            r#"(version: 1, duration: "1s", nodes: [Queue(id: "q", pos: (10.4, 20.6))])"#,
        )
        .unwrap();
        let saved = to_ron(&raw).unwrap();
        assert!(saved.contains("pos: (10.0, 21.0)"), "{saved}");
        *raw.nodes[0].pos_mut() = Some((10.0, 21.0));
        assert_eq!(parse_raw(&saved).unwrap(), raw);
    }
}
