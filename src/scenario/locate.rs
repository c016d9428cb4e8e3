//! Maps a path such as `nodes[3].arrival.rate` to a line and column in RON source text.
//!
//! serde (and so the `ron` crate) keeps no spans for deserialized values, so a validation error
//! found after parsing could only name the path, not point at the text. This module re-scans the
//! text with a small, forgiving tokenizer and walks the bracketed groups along the path. Enum
//! variant names and `Some(..)` wrappers are transparent, because paths built from the
//! deserialized types do not mention them. It never panics: on malformed input, or a path that
//! does not fully exist, it reports the deepest prefix it could find.

use std::collections::HashMap;

/// One step of a path into a scenario document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathSegment {
    Field(String),
    Index(usize),
}

/// A 1-based line and column (column counts chars, not bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

/// Where `path` points in `source`: the start of the value at the deepest segment that could be
/// found (for a `Field`, the position of the field name or map key). Returns the position of the
/// deepest matched prefix when the full path does not exist (e.g. a field that was left out and
/// defaulted). `None` only if not even the first segment matches. An empty path gives the root.
/// To place many paths in one text, make one [`Locator`]: it scans the text once.
pub fn locate(source: &str, path: &[PathSegment]) -> Option<Position> {
    Locator::new(source).locate(path)
}

/// A text scanned once, to place any number of paths in it (see [`locate`]).
pub struct Locator<'a> {
    source: &'a str,
    tokens: Vec<Token<'a>>,
    /// The first token after any `#![enable(...)]` attributes.
    root: usize,
    /// Byte offset of the start of each line.
    line_starts: Vec<usize>,
}

impl<'a> Locator<'a> {
    pub fn new(source: &'a str) -> Self {
        let tokens = tokenize(source);
        let walker = Walker {
            tokens: &tokens,
            memo: HashMap::new(),
        };
        let mut root = 0;
        while walker.punct(root) == Some('#') {
            // `#![enable(...)]` attributes
            root = walker.skip_value(root + 1 + usize::from(walker.punct(root + 1) == Some('!')));
        }
        let line_starts = std::iter::once(0)
            .chain(source.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Locator {
            source,
            tokens,
            root,
            line_starts,
        }
    }

    /// Where `path` points; see [`locate`].
    pub fn locate(&self, path: &[PathSegment]) -> Option<Position> {
        let mut walker = Walker {
            tokens: &self.tokens,
            memo: HashMap::new(),
        };
        let offset = match path {
            [] => self.tokens.get(self.root)?.start,
            _ => walker.walk(self.root, path, 0)?.1,
        };
        Some(self.position_of(offset))
    }

    /// Line and column of a byte offset, as [`position_of`] gives them, without scanning
    /// the text before its line.
    pub fn position_of(&self, byte_offset: usize) -> Position {
        let mut end = byte_offset.min(self.source.len());
        while !self.source.is_char_boundary(end) {
            end -= 1;
        }
        let line = self.line_starts.partition_point(|&start| start <= end);
        let line_start = self
            .line_starts
            .get(line.wrapping_sub(1))
            .copied()
            .unwrap_or(0);
        Position {
            line: line.max(1),
            column: self
                .source
                .get(line_start..end)
                .unwrap_or("")
                .chars()
                .count()
                + 1,
        }
    }
}

/// Parses a display path such as `nodes[3].arrival.rate`, `edges[0].to` or `headers["x-format"]`
/// into segments. Anything but a number inside `[...]` becomes a `Field`.
pub fn parse_path(path: &str) -> Vec<PathSegment> {
    fn flush(field: &mut String, out: &mut Vec<PathSegment>) {
        if !field.is_empty() {
            out.push(PathSegment::Field(std::mem::take(field)));
        }
    }
    let (mut out, mut field) = (Vec::new(), String::new());
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '.' => flush(&mut field, &mut out),
            '[' if chars.next_if_eq(&'"').is_some() => {
                flush(&mut field, &mut out);
                while let Some(k) = chars.next() {
                    match k {
                        '\\' => field.extend(chars.next()),
                        '"' => break,
                        k => field.push(k),
                    }
                }
                chars.by_ref().find(|&k| k == ']');
                out.push(PathSegment::Field(std::mem::take(&mut field)));
            }
            '[' => {
                flush(&mut field, &mut out);
                let inner: String = chars.by_ref().take_while(|&k| k != ']').collect();
                match inner.trim().parse() {
                    Ok(i) => out.push(PathSegment::Index(i)),
                    Err(_) => flush(&mut inner.trim().to_owned(), &mut out),
                }
            }
            c => field.push(c),
        }
    }
    flush(&mut field, &mut out);
    out
}

/// Line and column of a byte offset (1-based; column in chars). Offsets past the end clamp to
/// the end; an offset inside a multi-byte char counts as that char.
pub fn position_of(source: &str, byte_offset: usize) -> Position {
    let mut end = byte_offset.min(source.len());
    while !source.is_char_boundary(end) {
        end -= 1;
    }
    let before = source.get(..end).unwrap_or("");
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    Position {
        line: before.matches('\n').count() + 1,
        column: before.get(line_start..).unwrap_or("").chars().count() + 1,
    }
}

// ---------------------------------------------------------------------------------------------
// Tokenizer

enum Kind<'a> {
    /// An identifier, without any `r#` prefix.
    Ident(&'a str),
    /// A string's unescaped content.
    Str(String),
    /// A number, char or other opaque value.
    Atom(&'a str),
    Punct(char),
}

struct Token<'a> {
    kind: Kind<'a>,
    /// Byte offset in the source.
    start: usize,
    /// Token index just past this token, or past the group it opens.
    end: usize,
}

struct Lexer<'a> {
    src: &'a str,
    chars: Vec<(usize, char)>,
    j: usize,
}

impl<'a> Lexer<'a> {
    fn peek(&self, k: usize) -> Option<char> {
        self.chars.get(self.j + k).map(|&(_, c)| c)
    }

    fn offset(&self) -> usize {
        self.chars.get(self.j).map_or(self.src.len(), |&(o, _)| o)
    }

    fn slice(&self, from: usize) -> &'a str {
        self.src.get(from..self.offset()).unwrap_or("")
    }

    fn eat_while(&mut self, mut f: impl FnMut(char) -> bool) {
        while self.peek(0).is_some_and(&mut f) {
            self.j += 1;
        }
    }

    /// RON block comments nest.
    fn block_comment(&mut self) {
        let mut depth = 0usize;
        loop {
            match (self.peek(0), self.peek(1)) {
                (None, _) => break,
                (Some('/'), Some('*')) => (depth, self.j) = (depth + 1, self.j + 2),
                (Some('*'), Some('/')) if depth <= 1 => break self.j += 2,
                (Some('*'), Some('/')) => (depth, self.j) = (depth - 1, self.j + 2),
                _ => self.j += 1,
            }
        }
    }

    /// A `"..."` string starting at the quote; returns the unescaped content.
    fn string(&mut self) -> String {
        self.j += 1;
        let mut out = String::new();
        while let Some(c) = self.peek(0) {
            self.j += 1;
            match (c, self.peek(0)) {
                ('"', _) => break,
                ('\\', Some('u')) => {
                    self.j += 1 + usize::from(self.peek(1) == Some('{'));
                    let from = self.offset();
                    self.eat_while(|c| c.is_ascii_hexdigit());
                    let code = u32::from_str_radix(self.slice(from), 16).ok();
                    out.extend(code.and_then(char::from_u32));
                    self.j += usize::from(self.peek(0) == Some('}'));
                }
                ('\\', Some(e)) => {
                    self.j += 1;
                    out.push(match e {
                        'n' => '\n',
                        't' => '\t',
                        'r' => '\r',
                        '0' => '\0',
                        e => e,
                    });
                }
                (c, _) => out.push(c),
            }
        }
        out
    }

    /// The content of a raw string (`r"..."`, `r#"..."#`, `br"..."`) if one starts here.
    fn raw_string(&mut self) -> Option<&'a str> {
        let r = usize::from(self.peek(0) == Some('b'));
        let hashes = (r + 1..).take_while(|&n| self.peek(n) == Some('#')).count();
        if self.peek(r) != Some('r') || self.peek(r + 1 + hashes) != Some('"') {
            return None;
        }
        self.j += r + hashes + 2;
        let from = self.offset();
        let closes = |lx: &Self| (1..=hashes).all(|n| lx.peek(n) == Some('#'));
        while self.peek(0).is_some() && !(self.peek(0) == Some('"') && closes(self)) {
            self.j += 1;
        }
        let content = self.slice(from);
        self.j += hashes + 1;
        Some(content)
    }

    fn char_literal(&mut self) {
        self.j += 1;
        while let Some(c) = self.peek(0) {
            self.j += if c == '\\' { 2 } else { 1 };
            if c == '\'' || c == '\n' {
                break;
            }
        }
    }
}

fn tokenize(src: &str) -> Vec<Token<'_>> {
    let is_ident = |c: char| c == '_' || c.is_alphanumeric();
    let mut lx = Lexer {
        src,
        chars: src.char_indices().collect(),
        j: 0,
    };
    let (mut out, mut open): (Vec<Token>, _) = (Vec::new(), Vec::new());
    while let Some(c) = lx.peek(0) {
        let start = lx.offset();
        let next = lx.peek(1);
        let kind = if c.is_whitespace() {
            lx.j += 1;
            continue;
        } else if c == '/' && next == Some('/') {
            lx.eat_while(|c| c != '\n');
            continue;
        } else if c == '/' && next == Some('*') {
            lx.block_comment();
            continue;
        } else if let Some(content) = lx.raw_string() {
            Kind::Str(content.to_owned())
        } else if c == 'r' && next == Some('#') {
            lx.j += 2;
            lx.eat_while(|c| is_ident(c) || matches!(c, '.' | '+' | '-'));
            Kind::Ident(lx.src.get(start + 2..lx.offset()).unwrap_or(""))
        } else if c == '"' || (c == 'b' && next == Some('"')) {
            lx.j += usize::from(c == 'b');
            Kind::Str(lx.string())
        } else if c == '\'' || (c == 'b' && next == Some('\'')) {
            lx.j += usize::from(c == 'b');
            lx.char_literal();
            Kind::Atom(lx.slice(start))
        } else if c == '_' || c.is_alphabetic() {
            lx.eat_while(is_ident);
            Kind::Ident(lx.slice(start))
        } else if c.is_ascii_digit() || (matches!(c, '-' | '+' | '.') && next.is_some_and(is_ident))
        {
            // Numbers: signs, `_`, `.`, hex, suffixes and exponents such as `1e-3`.
            let mut prev = c;
            lx.j += 1;
            lx.eat_while(|c| {
                let exponent_sign = matches!(c, '-' | '+') && matches!(prev, 'e' | 'E');
                prev = c;
                is_ident(c) || c == '.' || exponent_sign
            });
            Kind::Atom(lx.slice(start))
        } else {
            lx.j += 1;
            Kind::Punct(c)
        };
        // Match brackets as we go, so that skipping a group is a single step.
        let mut end = out.len() + 1;
        match kind {
            Kind::Punct('(' | '[' | '{') => {
                open.push(out.len());
                end = usize::MAX;
            }
            Kind::Punct(')' | ']' | '}') => {
                if let Some(opener) = open.pop().and_then(|o| out.get_mut(o)) {
                    opener.end = end;
                }
            }
            _ => {}
        }
        out.push(Token { kind, start, end });
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Walk

/// Wrappers nested deeper than this are not looked through, so hostile input cannot overflow
/// the stack.
const MAX_DEPTH: usize = 128;

/// The deepest match found below some value: (segments matched, byte offset), or `None` if not
/// even the first segment matched.
type Found = Option<(usize, usize)>;

/// A direct child of a bracketed group.
struct Child<'t> {
    /// The key of a `key: value` child.
    key: Option<&'t str>,
    /// Byte offset where the child starts (its key, if it has one).
    at: usize,
    /// Token index of its value, if there is one.
    value: Option<usize>,
}

/// Walks the token stream along a path. Transparent wrappers make it try two readings at some
/// groups, so results are memoized per (token, remaining path) to keep the walk linear.
struct Walker<'t, 'a> {
    tokens: &'t [Token<'a>],
    memo: HashMap<(usize, usize), Found>,
}

impl<'t, 'a> Walker<'t, 'a> {
    fn punct(&self, i: usize) -> Option<char> {
        match self.tokens.get(i)?.kind {
            Kind::Punct(c) => Some(c),
            _ => None,
        }
    }

    /// The name of a `Name(...)` (variant, named struct or `Some`) starting at token `i`.
    fn wrapper(&self, i: usize) -> Option<&'a str> {
        match self.tokens.get(i)?.kind {
            Kind::Ident(name) if self.punct(i + 1) == Some('(') => Some(name),
            _ => None,
        }
    }

    /// Token index after the value starting at `i`; `i` itself if no value starts there.
    fn skip_value(&self, i: usize) -> usize {
        let i = i + usize::from(self.wrapper(i).is_some());
        match (self.punct(i), self.tokens.get(i)) {
            (Some(')' | ']' | '}' | ',' | ':'), _) | (_, None) => i,
            (_, Some(token)) => token.end.min(self.tokens.len()),
        }
    }

    /// The direct children of the group opened at token `open`, up to its closing bracket.
    fn children(&self, open: usize) -> Vec<Child<'t>> {
        let mut out = Vec::new();
        let mut i = open + 1;
        while let Some(token) = self.tokens.get(i) {
            match token.kind {
                Kind::Punct(',') => i += 1,
                Kind::Punct(')' | ']' | '}') => break,
                _ => {
                    let key = match &token.kind {
                        _ if self.punct(i + 1) != Some(':') => None,
                        Kind::Ident(s) | Kind::Atom(s) => Some(*s),
                        Kind::Str(s) => Some(s.as_str()),
                        Kind::Punct(_) => None,
                    };
                    let start = i + if key.is_some() { 2 } else { 0 };
                    let end = self.skip_value(start);
                    let (at, value) = (token.start, (end > start).then_some(start));
                    out.push(Child { key, at, value });
                    i = end.max(i + 1);
                }
            }
        }
        out
    }

    /// The deepest match of `path` in the value at token `i`.
    fn walk(&mut self, i: usize, path: &[PathSegment], depth: usize) -> Found {
        if path.is_empty() || depth > MAX_DEPTH {
            return None;
        }
        if let Some(&found) = self.memo.get(&(i, path.len())) {
            return found;
        }
        let found = self.walk_uncached(i, path, depth);
        self.memo.insert((i, path.len()), found);
        found
    }

    fn walk_uncached(&mut self, i: usize, path: &[PathSegment], depth: usize) -> Found {
        let (head, rest) = path.split_first()?;
        let below = |this: &mut Self, value: Option<usize>| {
            value.and_then(|v| this.walk(v, rest, depth + 1))
        };
        if let Some(name) = self.wrapper(i) {
            // See through it; paths from serde_path_to_error may also name the variant.
            let at = self.tokens.get(i).map_or(0, |t| t.start);
            let named = matches!(head, PathSegment::Field(f) if f == name);
            let named = named.then(|| step(below(self, Some(i + 1)), at));
            return better(named, self.walk(i + 1, path, depth + 1));
        }
        let open = self.punct(i).filter(|c| matches!(c, '(' | '[' | '{'))?;
        let children = self.children(i);
        let keyed = open == '{' || children.first().is_some_and(|c| c.key.is_some());
        let direct = match head {
            PathSegment::Field(f) if keyed => children.iter().find(|c| c.key == Some(f.as_str())),
            PathSegment::Index(n) if !keyed => children.get(*n),
            _ => None,
        };
        let direct = direct.map(|c| step(below(self, c.value), c.at));
        // `Some(x)` and newtype variants `V((..))` hold a one-element tuple: see through it.
        let through = match children.as_slice() {
            [only] if open == '(' && !keyed => {
                only.value.and_then(|v| self.walk(v, path, depth + 1))
            }
            _ => None,
        };
        better(direct, through)
    }
}

/// Counts the segment matched at byte `at`, plus whatever matched below it.
fn step(below: Found, at: usize) -> (usize, usize) {
    below.map_or((1, at), |(d, o)| (d + 1, o))
}

/// The match with more segments; `a` on a tie.
fn better(a: Found, b: Found) -> Found {
    match (a, b) {
        (Some(x), Some(y)) if y.0 > x.0 => Some(y),
        (x, y) => x.or(y),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"#![enable(implicit_some)]
(
    version: 1,
    name: "hello",
    description: "A producer feeds a queue; one consumer drains it.",
    seed: 42,
    duration: "60s",
    nodes: [
        Producer(id: "orders", pos: (100.0, 200.0), arrival: Poisson(rate: "90/s")),
        Queue(id: "work", pos: (300.0, 200.0), max_length: 1000),
        Consumer(id: "worker", service: Exponential(mean: "10ms"), headers: {"format": "pdf"}),
    ],
    edges: [
        (from: "orders", to: "work"),
        (from: "work", to: "worker"),
    ],
)
"#;

    /// (source, path, expected (line, column)).
    type Case = (&'static str, &'static str, Option<(usize, usize)>);

    const CASES: &[Case] = &[
        // The scenario document.
        (DOC, "version", Some((3, 5))),
        (DOC, "nodes", Some((8, 5))),
        (DOC, "nodes[0]", Some((9, 9))),
        (DOC, "nodes[0].arrival", Some((9, 53))),
        (DOC, "nodes[0].arrival.rate", Some((9, 70))),
        (DOC, "nodes[0].pos[1]", Some((9, 45))),
        (DOC, "nodes[1].max_length", Some((10, 48))),
        (DOC, "nodes[2].service.mean", Some((11, 53))),
        (DOC, r#"nodes[2].headers["format"]"#, Some((11, 78))),
        (DOC, "nodes[2].headers.format", Some((11, 78))),
        (DOC, "edges[1].to", Some((15, 24))),
        (DOC, "edges[0].from", Some((14, 10))),
        (DOC, "", Some((2, 1))),
        // Variant named explicitly, as serde_path_to_error prints it.
        (DOC, "nodes[0].Producer.arrival", Some((9, 53))),
        // Missing field or index: deepest prefix.
        (DOC, "nodes[1].arrival.rate", Some((10, 9))),
        (DOC, "nodes[0].arrival.burst", Some((9, 53))),
        (DOC, "edges[7].to", Some((13, 5))),
        (DOC, "nodes[0].pos[5]", Some((9, 32))),
        (DOC, r#"nodes[2].headers["missing"]"#, Some((11, 68))),
        (DOC, "nodes[2].headers[0]", Some((11, 68))),
        (DOC, "edges.to", Some((13, 5))),
        (DOC, "version.major", Some((3, 5))),
        (DOC, "nonexistent", None),
        (DOC, "[0]", None),
        // Nested enums, Some, newtype variants.
        ("(k: Outer(Inner(rate: 3)))", "k.rate", Some((1, 17))),
        ("(a: Some((b: 1)))", "a.b", Some((1, 11))),
        ("(a: Some(5))", "a", Some((1, 2))),
        ("(a: Some([1, 2]))", "a[1]", Some((1, 14))),
        ("(n: Producer((id: \"a\")))", "n.id", Some((1, 15))),
        ("(n: Producer(id: \"a\"))", "n.id", Some((1, 14))),
        ("Scenario(version: 1)", "version", Some((1, 10))),
        // Comments containing brackets and quotes; nested block comments.
        (
            "(\n  // a (comment) with \"quotes\" and b: 1\n  /* nested /* ( \" */ ) */ b: 2,\n)",
            "b",
            Some((3, 28)),
        ),
        // Strings and chars containing punctuation, escapes, raw strings.
        ("(s: \"a(b: c, // d\", t: 2)", "t", Some((1, 21))),
        (r#"(s: "x\"(y", t: 1)"#, "t", Some((1, 14))),
        (r##"(s: r#"a "( b"#, t: 1)"##, "t", Some((1, 18))),
        (r#"(s: r"(]", t: 1)"#, "t", Some((1, 12))),
        (r#"(s: b"(", t: 1)"#, "t", Some((1, 11))),
        (r"(c: '\'', d: '(', e: 1)", "e", Some((1, 19))),
        ("(s: \"\\u{28}\", t: 1)", "t", Some((1, 15))),
        // Raw identifiers, maps, tuples, lists, numbers.
        ("(r#type: 1, b: 2)", "type", Some((1, 2))),
        ("(m: {a: 1, \"b c\": 2})", r#"m["b c"]"#, Some((1, 12))),
        ("(m: {a: 1, \"b c\": 2})", "m.a", Some((1, 6))),
        ("(m: {\"x\\\"y\": 2})", r#"m["x\"y"]"#, Some((1, 6))),
        ("(p: (1.0, -2.5e-3, 0x1F))", "p[2]", Some((1, 20))),
        ("(p: (1.0, -2.5e-3, 0x1F))", "p[1]", Some((1, 11))),
        ("(p: Point(1, 2))", "p[1]", Some((1, 14))),
        ("[[1, 2], [3, 4]]", "[1][0]", Some((1, 11))),
        ("[(a: 1), (a: 2, b: 3,),]", "[1].b", Some((1, 17))),
        // Columns count chars; CRLF line endings.
        ("(s: \"héllo\", t: 1)", "t", Some((1, 14))),
        ("(\r\n  a: 1,\r\n  b: 2\r\n)", "b", Some((3, 3))),
        // Truncated input still finds what exists.
        ("(a: 1, b: (c: ", "b.c", Some((1, 12))),
        ("(a: 1, b: (c: ", "b.d", Some((1, 8))),
        ("(a: [1, 2", "a[1]", Some((1, 9))),
        (
            "#![enable(implicit_some)] #![enable(unwrap_newtypes)]\n(a: 1)",
            "a",
            Some((2, 2)),
        ),
        ("#![enable(implicit_some)]", "a", None),
        ("", "a", None),
        (")", "a", None),
    ];

    #[test]
    fn table() {
        for &(source, path, expected) in CASES {
            let got = locate(source, &parse_path(path)).map(|p| (p.line, p.column));
            assert_eq!(got, expected, "path {path:?} in {source:?}");
        }
    }

    fn display(path: &[PathSegment]) -> String {
        let mut out = String::new();
        for segment in path {
            match segment {
                PathSegment::Index(i) => out.push_str(&format!("[{i}]")),
                PathSegment::Field(f) if f.contains(['.', '[', ']', '"', '\\']) => {
                    out.push_str(&format!("[{f:?}]"));
                }
                PathSegment::Field(f) if out.is_empty() => out.push_str(f),
                PathSegment::Field(f) => out.push_str(&format!(".{f}")),
            }
        }
        out
    }

    #[test]
    fn parse_path_round_trips() {
        use PathSegment::{Field, Index};
        let f = |s: &str| Field(s.to_owned());
        let cases = [
            (
                "nodes[3].arrival.rate",
                vec![f("nodes"), Index(3), f("arrival"), f("rate")],
            ),
            ("edges[12].to", vec![f("edges"), Index(12), f("to")]),
            (r#"headers["x-a.b"]"#, vec![f("headers"), f("x-a.b")]),
            ("version", vec![f("version")]),
        ];
        for (text, segments) in cases {
            assert_eq!(parse_path(text), segments, "{text}");
            assert_eq!(display(&segments), text);
        }
        assert_eq!(parse_path("."), vec![]);
        assert_eq!(parse_path(r#"m["q\"x"]"#), vec![f("m"), f("q\"x")]);
    }

    #[test]
    fn position_of_handles_any_offset() {
        let source = "ab\néx\n";
        let at = |o| {
            let p = position_of(source, o);
            (p.line, p.column)
        };
        assert_eq!(at(0), (1, 1));
        assert_eq!(at(3), (2, 1));
        assert_eq!(at(4), (2, 1)); // inside `é`
        assert_eq!(at(5), (2, 2));
        assert_eq!(at(7), (3, 1));
        assert_eq!(at(usize::MAX), (3, 1));
    }

    #[test]
    fn garbage_never_panics() {
        let deep = [
            "(".repeat(100_000),
            "[".repeat(100_000),
            "Some(".repeat(50_000),
            "(a:".repeat(50_000),
        ];
        let nasty = [
            "(",
            "((((",
            "\"unterminated",
            "r#\"abc",
            "r#",
            "br",
            "b'",
            "/* open",
            "'",
            "'\\",
            "\\",
            "#",
            "#![",
            "#![enable(",
            "(a:",
            "{:}",
            "(:,)",
            "-",
            "1e",
            "0x1e-",
            "(a: 1]}",
            "}{][)(",
            "\u{1F600}(\u{e9}: 1)",
        ];
        let paths: Vec<Vec<PathSegment>> = CASES.iter().map(|c| parse_path(c.1)).collect();
        for source in nasty {
            for path in &paths {
                let _ = locate(source, path);
            }
        }
        // Deep nesting is cut off, not followed down the stack, but the top still matches.
        let indexes = vec![PathSegment::Index(0); 500];
        let fields = vec![PathSegment::Field("a".into()); 500];
        for source in &deep {
            let found = locate(source, &indexes).or_else(|| locate(source, &fields));
            assert!(found.is_some(), "{:?}", source.get(..10));
        }
        for end in (0..=DOC.len()).filter(|&i| DOC.is_char_boundary(i)) {
            let prefix = DOC.get(..end).unwrap_or_default();
            for path in &paths {
                if let Some(p) = locate(prefix, path) {
                    assert!(
                        p.line <= prefix.lines().count().max(1),
                        "{p:?} beyond {prefix:?}"
                    );
                }
            }
            let _ = position_of(DOC, end + 1);
        }
    }
}
