//! Text from scenario files, made safe to print and easy to correct.
//!
//! A scenario file may come from a stranger. Its names, ids and descriptions end up in
//! error messages and report headers, so [`printable`] escapes every character that a
//! terminal would act on instead of showing: control characters (an escape sequence can
//! clear the screen, retitle the window or fake output) and the bidirectional overrides
//! that make text read differently than it is stored. They are written the way RON
//! writes them (`\u{1b}`), so the user sees what the file says.
//!
//! [`nearest`] finds the closest of a list of names to a misspelt one, for "did you mean".

use std::borrow::Cow;
use std::fmt::Write;

/// Whether `c` would be acted on by a terminal, or reorder the text around it.
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with control characters and bidirectional overrides escaped as `\u{..}`;
/// borrowed when there are none (the common case costs one scan).
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_unsafe(c) {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// [`printable`] for text made of lines: each line is escaped, the line breaks kept.
pub fn printable_lines(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| c != '\n' && is_unsafe(c)) {
        return Cow::Borrowed(text);
    }
    let lines: Vec<Cow<'_, str>> = text.split('\n').map(printable).collect();
    Cow::Owned(lines.join("\n"))
}

/// JSON text with every character [`printable`] would escape written as a JSON `\uXXXX`
/// escape. JSON writers escape only the ASCII controls; the rest (DEL, the C1 controls a
/// terminal also obeys, bidirectional overrides) can only occur inside strings, where the
/// escape means the same character.
pub fn json_safe(json: String) -> String {
    if !json.chars().any(|c| c != '\n' && is_unsafe(c)) {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if is_unsafe(c) && c != '\n' {
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

/// The candidate closest to `typed`, if it is close enough to be what was meant: a
/// different case, a letter or two wrong, missing or swapped, or a prefix of it.
pub fn nearest<'a>(typed: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let typed_lower = typed.to_lowercase();
    // Allow one edit for short names, about one in four for longer ones.
    let allowed = (typed.chars().count() / 4).max(1);
    let mut best: Option<(usize, &str)> = None;
    for candidate in candidates {
        if candidate == typed {
            continue;
        }
        let distance = if candidate.to_lowercase() == typed_lower {
            0
        } else {
            strsim::damerau_levenshtein(&typed_lower, &candidate.to_lowercase())
        };
        let prefix = typed.len() >= 3 && candidate.starts_with(typed);
        if (distance <= allowed || prefix) && best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_escapes_what_a_terminal_would_act_on() {
        let cases = [
            ("plain", "plain"),
            ("héllo wörld ✓", "héllo wörld ✓"),
            ("\u{1b}[2J", "\\u{1b}[2J"),
            ("a\u{7}b", "a\\u{7}b"),
            ("tab\there", "tab\\u{9}here"),
            ("line\nbreak", "line\\u{a}break"),
            ("\u{9b}31m", "\\u{9b}31m"),
            ("\u{7f}", "\\u{7f}"),
            ("abc\u{202e}fed", "abc\\u{202e}fed"),
            ("\u{2066}x\u{2069}", "\\u{2066}x\\u{2069}"),
        ];
        for (text, expected) in cases {
            assert_eq!(printable(text), expected, "{text:?}");
        }
        assert!(matches!(printable("safe"), Cow::Borrowed(_)));
        assert_eq!(printable_lines("a\u{1b}\nb"), "a\\u{1b}\nb");
        let json = "{\n  \"name\": \"a\u{9b}b\u{202e}\"\n}".to_string();
        let safe = json_safe(json);
        assert_eq!(safe, "{\n  \"name\": \"a\\u009bb\\u202e\"\n}");
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back["name"], "a\u{9b}b\u{202e}");
    }

    #[test]
    fn nearest_suggests_near_misses_only() {
        let ids = ["worker", "work", "orders", "p,1", "prefetch", "concurrency"];
        let cases = [
            ("wrker", Some("worker")),
            ("Worker", Some("worker")),
            ("prefetc", Some("prefetch")),
            ("concurency", Some("concurrency")),
            ("ordres", Some("orders")),
            ("wor", Some("work")),
            ("xyz", None),
            ("payments", None),
        ];
        for (typed, expected) in cases {
            assert_eq!(nearest(typed, ids), expected, "{typed}");
        }
    }
}
