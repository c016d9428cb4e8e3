//! Maps a path such as `nodes[3].arrival.rate` to a line and column in RON source text.
//!
//! serde (and so the `ron` crate) keeps no spans for deserialized values, so a validation error
//! found after parsing could only name the path, not point at the text. This module re-scans the
//! text with a small, forgiving tokenizer, builds a lightweight tree of the document and walks
//! it along the path. Enum variant names and `Some(..)` wrappers are transparent, because paths
//! built from the deserialized types do not mention them. It never panics: on malformed input
//! or a path that does not fully exist it reports the deepest prefix it could find.

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
pub fn locate(source: &str, path: &[PathSegment]) -> Option<Position> {
    let tokens = tokenize(source);
    let mut parser = Parser {
        tokens: &tokens,
        i: 0,
    };
    parser.skip_attributes();
    let root = parser.value(0)?;
    let offset = if path.is_empty() {
        root.start()
    } else {
        Walker::default().walk(&root, path)?.1
    };
    Some(position_of(source, offset))
}

/// Parses a display path such as `nodes[3].arrival.rate`, `edges[0].to` or `headers["x-format"]`
/// into segments. Anything that is not a number inside `[...]` becomes a `Field`.
pub fn parse_path(path: &str) -> Vec<PathSegment> {
    fn flush(field: &mut String, out: &mut Vec<PathSegment>) {
        if !field.is_empty() {
            out.push(PathSegment::Field(std::mem::take(field)));
        }
    }
    let mut out = Vec::new();
    let mut field = String::new();
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '.' => flush(&mut field, &mut out),
            '[' => {
                flush(&mut field, &mut out);
                if chars.next_if_eq(&'"').is_some() {
                    let mut key = String::new();
                    while let Some(k) = chars.next() {
                        match k {
                            '\\' => key.extend(chars.next()),
                            '"' => break,
                            k => key.push(k),
                        }
                    }
                    chars.by_ref().find(|&k| k == ']');
                    out.push(PathSegment::Field(key));
                } else {
                    let inner: String = chars.by_ref().take_while(|&k| k != ']').collect();
                    let inner = inner.trim();
                    match inner.parse::<usize>() {
                        Ok(i) => out.push(PathSegment::Index(i)),
                        Err(_) if !inner.is_empty() => out.push(PathSegment::Field(inner.into())),
                        Err(_) => {}
                    }
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

#[derive(Debug)]
enum Kind<'a> {
    /// An identifier, with any `r#` prefix removed.
    Ident(&'a str),
    /// A string's decoded content.
    Str(String),
    /// A number, char or anything else that is a single opaque value.
    Atom(&'a str),
    Punct(char),
}

#[derive(Debug)]
struct Token<'a> {
    kind: Kind<'a>,
    start: usize,
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

    fn eat_while(&mut self, f: impl Fn(char) -> bool) {
        while self.peek(0).is_some_and(&f) {
            self.j += 1;
        }
    }

    /// RON block comments nest.
    fn block_comment(&mut self) {
        self.j += 2;
        let mut depth = 1usize;
        while depth > 0 {
            match (self.peek(0), self.peek(1)) {
                (None, _) => break,
                (Some('/'), Some('*')) => (depth, self.j) = (depth + 1, self.j + 2),
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
            match c {
                '"' => break,
                '\\' => {
                    let Some(e) = self.peek(0) else { break };
                    self.j += 1;
                    let code = match e {
                        'u' => {
                            self.j += usize::from(self.peek(0) == Some('{'));
                            let from = self.offset();
                            self.eat_while(|c| c.is_ascii_hexdigit());
                            let hex = self.slice(from);
                            self.j += usize::from(self.peek(0) == Some('}'));
                            u32::from_str_radix(hex, 16).ok().and_then(char::from_u32)
                        }
                        'n' => Some('\n'),
                        't' => Some('\t'),
                        'r' => Some('\r'),
                        '0' => Some('\0'),
                        other => Some(other),
                    };
                    out.extend(code);
                }
                c => out.push(c),
            }
        }
        out
    }

    /// If a raw string (`r"`, `r#"`, `br"` ...) starts here: chars up to the opening quote
    /// inclusive, and the number of `#`.
    fn raw_prefix(&self) -> Option<(usize, usize)> {
        let mut k = usize::from(self.peek(0) == Some('b'));
        if self.peek(k) != Some('r') {
            return None;
        }
        k += 1;
        let hashes = (k..).take_while(|&n| self.peek(n) == Some('#')).count();
        (self.peek(k + hashes) == Some('"')).then_some((k + hashes + 1, hashes))
    }

    fn raw_string(&mut self, skip: usize, hashes: usize) -> String {
        self.j += skip;
        let from = self.offset();
        loop {
            match self.peek(0) {
                None => return self.slice(from).to_owned(),
                Some('"') if (1..=hashes).all(|n| self.peek(n) == Some('#')) => {
                    let content = self.slice(from).to_owned();
                    self.j += hashes + 1;
                    return content;
                }
                Some(_) => self.j += 1,
            }
        }
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

    fn number(&mut self) {
        let from = self.offset();
        self.j += 1;
        while let Some(c) = self.peek(0) {
            let text = self.slice(from).trim_start_matches(['-', '+']);
            let exponent_sign =
                matches!(c, '-' | '+') && text.ends_with(['e', 'E']) && !text.starts_with("0x");
            if !(c.is_alphanumeric() || matches!(c, '_' | '.') || exponent_sign) {
                break;
            }
            self.j += 1;
        }
    }
}

fn is_ident_start(c: char) -> bool {
    c == '_' || c.is_alphabetic()
}

fn is_ident_char(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

fn tokenize(src: &str) -> Vec<Token<'_>> {
    let mut lx = Lexer {
        src,
        chars: src.char_indices().collect(),
        j: 0,
    };
    let mut out = Vec::new();
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
        } else if let Some((skip, hashes)) = lx.raw_prefix() {
            Kind::Str(lx.raw_string(skip, hashes))
        } else if c == 'r' && next == Some('#') {
            lx.j += 2;
            lx.eat_while(|c| is_ident_char(c) || matches!(c, '.' | '+' | '-'));
            Kind::Ident(lx.src.get(start + 2..lx.offset()).unwrap_or(""))
        } else if c == '"' || (c == 'b' && next == Some('"')) {
            lx.j += usize::from(c == 'b');
            Kind::Str(lx.string())
        } else if c == '\'' || (c == 'b' && next == Some('\'')) {
            lx.j += usize::from(c == 'b');
            lx.char_literal();
            Kind::Atom(lx.slice(start))
        } else if is_ident_start(c) {
            lx.eat_while(is_ident_char);
            Kind::Ident(lx.slice(start))
        } else if c.is_ascii_digit()
            || (matches!(c, '-' | '+' | '.') && next.is_some_and(|n| n.is_alphanumeric()))
        {
            lx.number();
            Kind::Atom(lx.slice(start))
        } else {
            lx.j += 1;
            Kind::Punct(c)
        };
        out.push(Token { kind, start });
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Tree

/// Nesting deeper than this is skipped over token by token, so hostile input cannot overflow
/// the stack.
const MAX_DEPTH: usize = 128;

enum Node<'a> {
    Atom(usize),
    /// `Name(...)`: a named struct, enum variant or `Some`.
    Named {
        start: usize,
        name: &'a str,
        inner: Box<Node<'a>>,
    },
    /// `(field: value, ...)` or `{key: value, ...}`.
    Keyed {
        start: usize,
        entries: Vec<Entry<'a>>,
    },
    /// `[a, b]`, or `(a, b)` when `list` is false.
    Seq {
        start: usize,
        list: bool,
        items: Vec<Node<'a>>,
    },
}

struct Entry<'a> {
    key: String,
    pos: usize,
    value: Option<Node<'a>>,
}

impl Node<'_> {
    fn start(&self) -> usize {
        match *self {
            Node::Atom(start)
            | Node::Named { start, .. }
            | Node::Keyed { start, .. }
            | Node::Seq { start, .. } => start,
        }
    }
}

struct Parser<'t, 'a> {
    tokens: &'t [Token<'a>],
    i: usize,
}

impl<'a> Parser<'_, 'a> {
    fn punct(&self, k: usize) -> Option<char> {
        match self.tokens.get(self.i + k)?.kind {
            Kind::Punct(c) => Some(c),
            _ => None,
        }
    }

    /// Skips `#![enable(...)]` style attributes.
    fn skip_attributes(&mut self) {
        while self.punct(0) == Some('#') {
            self.i += 1;
            self.i += usize::from(self.punct(0) == Some('!'));
            if self.punct(0) != Some('[') {
                return;
            }
            let mut depth = 0usize;
            while let Some(token) = self.tokens.get(self.i) {
                self.i += 1;
                match token.kind {
                    Kind::Punct('[') => depth += 1,
                    Kind::Punct(']') if depth <= 1 => break,
                    Kind::Punct(']') => depth -= 1,
                    _ => {}
                }
            }
        }
    }

    /// Parses one value; returns `None` without consuming anything if no value starts here.
    fn value(&mut self, depth: usize) -> Option<Node<'a>> {
        let token = self.tokens.get(self.i)?;
        if depth > MAX_DEPTH {
            return None;
        }
        let start = token.start;
        match token.kind {
            Kind::Punct('(') => Some(self.paren(depth)),
            Kind::Punct('[') => {
                self.i += 1;
                let items = self.items(']', depth);
                Some(Node::Seq {
                    start,
                    list: true,
                    items,
                })
            }
            Kind::Punct('{') => {
                self.i += 1;
                Some(Node::Keyed {
                    start,
                    entries: self.entries('}', depth),
                })
            }
            Kind::Ident(name) if self.punct(1) == Some('(') => {
                self.i += 1;
                let inner = Box::new(self.paren(depth));
                Some(Node::Named { start, name, inner })
            }
            Kind::Punct(')' | ']' | '}' | ',' | ':') => None,
            _ => {
                self.i += 1;
                Some(Node::Atom(start))
            }
        }
    }

    /// `(...)` at the current token: a struct if it starts with `ident :`, else a tuple.
    fn paren(&mut self, depth: usize) -> Node<'a> {
        let start = self.tokens.get(self.i).map_or(0, |t| t.start);
        self.i += 1;
        let is_struct = matches!(
            self.tokens.get(self.i).map(|t| &t.kind),
            Some(Kind::Ident(_))
        ) && self.punct(1) == Some(':');
        if is_struct {
            Node::Keyed {
                start,
                entries: self.entries(')', depth),
            }
        } else {
            Node::Seq {
                start,
                list: false,
                items: self.items(')', depth),
            }
        }
    }

    /// Skips separating commas; on a closing bracket consumes it if it is `close` and returns
    /// true. Returns true at the end of input.
    fn at_end(&mut self, close: char) -> bool {
        loop {
            match self.punct(0) {
                Some(',') => self.i += 1,
                Some(c @ (')' | ']' | '}')) => {
                    self.i += usize::from(c == close);
                    return true;
                }
                _ => return self.i >= self.tokens.len(),
            }
        }
    }

    fn items(&mut self, close: char, depth: usize) -> Vec<Node<'a>> {
        let mut items = Vec::new();
        while !self.at_end(close) {
            match self.value(depth + 1) {
                Some(item) => items.push(item),
                None => self.i += 1,
            }
        }
        items
    }

    fn entries(&mut self, close: char, depth: usize) -> Vec<Entry<'a>> {
        let mut entries = Vec::new();
        while !self.at_end(close) {
            let Some(token) = self.tokens.get(self.i) else {
                break;
            };
            let key = match &token.kind {
                Kind::Ident(s) | Kind::Atom(s) => Some((*s).to_owned()),
                Kind::Str(s) => Some(s.clone()),
                Kind::Punct(_) => None,
            };
            if self.value(depth + 1).is_none() {
                self.i += 1;
            }
            let mut value = None;
            if self.punct(0) == Some(':') {
                self.i += 1;
                value = self.value(depth + 1);
            }
            if let Some(key) = key {
                entries.push(Entry {
                    key,
                    pos: token.start,
                    value,
                });
            }
        }
        entries
    }
}

// ---------------------------------------------------------------------------------------------
// Walk

/// Walks the tree along a path. Transparent wrappers make it try two readings at some nodes, so
/// results are memoized per (node, remaining path) to keep nested wrappers from going exponential.
#[derive(Default)]
struct Walker {
    memo: HashMap<(usize, usize), Option<(usize, usize)>>,
}

impl Walker {
    /// The deepest match of `path` inside `node` as (segments matched, byte offset), or `None` if
    /// the first segment does not match.
    fn walk(&mut self, node: &Node<'_>, path: &[PathSegment]) -> Option<(usize, usize)> {
        let key = (std::ptr::from_ref(node).addr(), path.len());
        if let Some(&found) = self.memo.get(&key) {
            return found;
        }
        let found = self.walk_uncached(node, path);
        self.memo.insert(key, found);
        found
    }

    /// Matches the rest of the path in `child`, which itself matched the head at `at`.
    fn descend(&mut self, child: &Node<'_>, rest: &[PathSegment], at: usize) -> (usize, usize) {
        self.walk(child, rest).map_or((1, at), |(d, o)| (d + 1, o))
    }

    fn walk_uncached(&mut self, node: &Node<'_>, path: &[PathSegment]) -> Option<(usize, usize)> {
        let (head, rest) = path.split_first()?;
        match node {
            Node::Atom(_) => None,
            Node::Named { start, name, inner } => {
                // Paths from serde_path_to_error may name the variant; ours do not.
                let named = match head {
                    PathSegment::Field(f) if f == name => Some(self.descend(inner, rest, *start)),
                    _ => None,
                };
                let through = self.walk(inner, path);
                deeper(named, through)
            }
            Node::Keyed { entries, .. } => {
                let PathSegment::Field(field) = head else {
                    return None;
                };
                let entry = entries.iter().find(|e| e.key == *field)?;
                Some(match &entry.value {
                    Some(value) => self.descend(value, rest, entry.pos),
                    None => (1, entry.pos),
                })
            }
            Node::Seq { list, items, .. } => {
                let direct = match head {
                    PathSegment::Index(i) => items
                        .get(*i)
                        .map(|item| self.descend(item, rest, item.start())),
                    PathSegment::Field(_) => None,
                };
                // `Some(x)` and newtype variants `V((..))` hold a one-element tuple: see through.
                let through = match items.as_slice() {
                    [only] if !list => self.walk(only, path),
                    _ => None,
                };
                deeper(direct, through)
            }
        }
    }
}

/// The match with more segments; `a` on a tie.
fn deeper(a: Option<(usize, usize)>, b: Option<(usize, usize)>) -> Option<(usize, usize)> {
    match (a, b) {
        (Some(x), Some(y)) => Some(if y.0 > x.0 { y } else { x }),
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
