//! RabbitMQ routing rules for topic and headers exchanges, as pure functions.
//!
//! The simulator decides which queues a message reaches the way a RabbitMQ broker would, so
//! these functions follow RabbitMQ's own code rather than a paraphrase of the docs:
//!
//! * topic: `rabbit_db_topic_exchange.erl` (formerly `rabbit_exchange_type_topic.erl`), which
//!   stores binding keys in a trie of words and walks it with `trie_match` /
//!   `trie_match_skip_any`;
//! * headers: `rabbit_exchange_type_headers.erl`, `headers_match/5`.
//!
//! Topic matching runs when a scenario is built (bindings are resolved once), so it favours
//! clarity over speed, but it is still linear-ish: no regex, no backtracking blow-up on patterns
//! with many `#`.

use crate::scenario::raw::XMatch;

/// Splits a topic key into words exactly like RabbitMQ's `split_topic_key/1`:
/// the empty key has *no* words, otherwise every `.` separates words and empty words are kept
/// (`"a..b"` is `["a", "", "b"]`, `"a."` is `["a", ""]`, `"."` is `["", ""]`).
fn split_words(key: &str) -> Vec<&str> {
    if key.is_empty() {
        Vec::new()
    } else {
        key.split('.').collect()
    }
}

/// RabbitMQ topic-exchange matching: binding pattern vs routing key, both dot-separated words;
/// `*` matches exactly one word, `#` matches zero or more words. Exactly as RabbitMQ matches them
/// (including edge cases: empty routing key, empty words from consecutive dots like "a..b",
/// "#" alone matches everything including "", "a.#" matches "a", "#.a" matches "a", "*" does not
/// match "", "a.*.#", multiple "#", "#.#", and a `*`/`#` that is part of a longer word such as "a*" is a literal word).
///
/// RabbitMQ's trie walk (`trie_match` in `rabbit_db_topic_exchange.erl`) follows, from each node,
/// the edge for the literal word, the `"*"` edge (consuming one word) and the `"#"` edge
/// (`trie_match_skip_any`: consuming zero, one, ... all remaining words); with no words left it
/// only follows `"#"` edges. Edges are whole words, so `"a*"` is just a literal word. For a single
/// binding that is ordinary wildcard matching over word sequences with `#` as "any run" and `*`
/// as "any one", which the loop below does with the classic single-backtrack-point algorithm
/// (O(pattern × key) worst case, no recursion).
pub fn topic_matches(pattern: &str, routing_key: &str) -> bool {
    let pattern = split_words(pattern);
    let key = split_words(routing_key);

    let mut p = 0; // next pattern word
    let mut k = 0; // next key word
    // The most recent `#`: (index of the word after it, key position it is currently resumed at).
    let mut backtrack: Option<(usize, usize)> = None;

    while let Some(&word) = key.get(k) {
        match pattern.get(p).copied() {
            Some("#") => {
                // Let `#` swallow nothing for now; remember where to resume if that fails.
                p += 1;
                backtrack = Some((p, k));
            }
            Some(pw) if pw == "*" || pw == word => {
                p += 1;
                k += 1;
            }
            _ => match backtrack {
                // Let the last `#` swallow one more key word and retry after it.
                Some((after_hash, resumed_at)) => {
                    let resumed_at = resumed_at + 1;
                    backtrack = Some((after_hash, resumed_at));
                    p = after_hash;
                    k = resumed_at;
                }
                None => return false,
            },
        }
    }

    // Key exhausted: only `#` words (matching zero words) may remain in the pattern.
    pattern
        .get(p..)
        .is_some_and(|rest| rest.iter().all(|w| *w == "#"))
}

/// RabbitMQ headers-exchange matching. `binding` are the binding's arguments (name, value);
/// `message` the message headers. All: every binding header must be present with an equal value;
/// Any: at least one matches. For All/Any, binding arguments whose name starts with "x-" are ignored
/// (for AllWithX / AnyWithX they take part). A binding with no (non-ignored) headers: All matches every
/// message, Any matches none (check RabbitMQ's rabbit_exchange_type_headers behaviour and follow it; cite in a comment).
///
/// Follows `headers_match/5` in RabbitMQ's `rabbit_exchange_type_headers.erl`:
/// * the `x-match` argument itself is always skipped, whatever the mode;
/// * other `x-` arguments are skipped unless the mode is `all-with-x` / `any-with-x`;
/// * the walk starts with `AllMatch = true, AnyMatch = false` and, once the binding's arguments are
///   used up, returns `AllMatch` for all/all-with-x and `AnyMatch` for any/any-with-x, so a
///   binding left with no arguments matches every message under `all` and none under `any`.
///
/// Names and values compare byte for byte (Erlang binaries). RabbitMQ merges two key-sorted
/// tables; that is the same as a lookup per binding argument when names are unique, as they are
/// in any AMQP table built from a map. With duplicate names here, a binding argument matches when
/// *some* message header has that name and an equal value.
pub fn headers_match(
    x_match: XMatch,
    binding: &[(String, String)],
    message: &[(String, String)],
) -> bool {
    let with_x = matches!(x_match, XMatch::AllWithX | XMatch::AnyWithX);
    let considered = binding
        .iter()
        .filter(|(name, _)| name != "x-match" && (with_x || !name.starts_with("x-")));
    let header_matches =
        |(name, value): &(String, String)| message.iter().any(|(n, v)| n == name && v == value);

    match x_match {
        XMatch::All | XMatch::AllWithX => considered.into_iter().all(header_matches),
        XMatch::Any | XMatch::AnyWithX => considered.into_iter().any(header_matches),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The RabbitMQ topic tutorial ("Topics", tutorial five): Q1 is bound with `*.orange.*`,
    /// Q2 with `*.*.rabbit` and `lazy.#`. Every example key against every binding.
    const TUTORIAL: &[(&str, &str, bool)] = &[
        // quick.orange.rabbit -> Q1 and Q2
        ("*.orange.*", "quick.orange.rabbit", true),
        ("*.*.rabbit", "quick.orange.rabbit", true),
        ("lazy.#", "quick.orange.rabbit", false),
        // lazy.orange.elephant -> Q1 and Q2
        ("*.orange.*", "lazy.orange.elephant", true),
        ("*.*.rabbit", "lazy.orange.elephant", false),
        ("lazy.#", "lazy.orange.elephant", true),
        // quick.orange.fox -> Q1 only
        ("*.orange.*", "quick.orange.fox", true),
        ("*.*.rabbit", "quick.orange.fox", false),
        ("lazy.#", "quick.orange.fox", false),
        // lazy.brown.fox -> Q2 only
        ("*.orange.*", "lazy.brown.fox", false),
        ("*.*.rabbit", "lazy.brown.fox", false),
        ("lazy.#", "lazy.brown.fox", true),
        // lazy.pink.rabbit -> Q2 (once, though both of its bindings match)
        ("*.orange.*", "lazy.pink.rabbit", false),
        ("*.*.rabbit", "lazy.pink.rabbit", true),
        ("lazy.#", "lazy.pink.rabbit", true),
        // quick.brown.fox -> nowhere
        ("*.orange.*", "quick.brown.fox", false),
        ("*.*.rabbit", "quick.brown.fox", false),
        ("lazy.#", "quick.brown.fox", false),
        // quick.orange.new.rabbit -> nowhere
        ("*.orange.*", "quick.orange.new.rabbit", false),
        ("*.*.rabbit", "quick.orange.new.rabbit", false),
        ("lazy.#", "quick.orange.new.rabbit", false),
        // lazy.orange.new.rabbit -> Q2
        ("*.orange.*", "lazy.orange.new.rabbit", false),
        ("*.*.rabbit", "lazy.orange.new.rabbit", false),
        ("lazy.#", "lazy.orange.new.rabbit", true),
        // orange -> nowhere
        ("*.orange.*", "orange", false),
        ("*.*.rabbit", "orange", false),
        ("lazy.#", "orange", false),
        // quick.orange.male.rabbit (the tutorial's other four-word example) -> nowhere
        ("*.orange.*", "quick.orange.male.rabbit", false),
        ("*.*.rabbit", "quick.orange.male.rabbit", false),
        ("lazy.#", "quick.orange.male.rabbit", false),
    ];

    /// Edge cases, derived from `split_topic_key` and the trie walk in `rabbit_db_topic_exchange.erl`.
    const EDGES: &[(&str, &str, bool)] = &[
        // Literal keys.
        ("a", "a", true),
        ("a", "b", false),
        ("a.b", "a.b", true),
        ("a.b", "a", false),
        ("a", "a.b", false),
        ("a.b.c", "a.b.c", true),
        ("a.b.c", "a.b.d", false),
        // Empty routing key has zero words.
        ("", "", true),
        ("#", "", true),
        ("*", "", false),
        ("#.#", "", true),
        ("a", "", false),
        ("a.#", "", false),
        ("", "a", false),
        // `#` alone matches everything.
        ("#", "a", true),
        ("#", "a.b.c.d.e", true),
        ("#", ".", true),
        ("#", "a..b", true),
        // `#` matches zero words at either end or in the middle.
        ("a.#", "a", true),
        ("a.#", "a.b", true),
        ("a.#", "a.b.c", true),
        ("a.#", "b.a", false),
        ("#.a", "a", true),
        ("#.a", "x.y.a", true),
        ("#.a", "a.x", false),
        ("a.#.b", "a.b", true),
        ("a.#.b", "a.x.y.b", true),
        ("a.#.b", "a.x.y.c", false),
        ("#.a.#", "a", true),
        ("#.a.#", "x.a.y", true),
        ("#.a.#", "x.y", false),
        // `*` is exactly one word.
        ("*", "a", true),
        ("*", "a.b", false),
        ("*.*", "a", false),
        ("*.*", "a.b", true),
        ("a.*", "a", false),
        ("a.*", "a.b", true),
        ("a.*", "a.b.c", false),
        ("*.a", "a", false),
        // Mixed `*` and `#`.
        ("a.*.#", "a", false),
        ("a.*.#", "a.b", true),
        ("a.*.#", "a.b.c.d", true),
        ("#.*", "", false),
        ("#.*", "a", true),
        ("#.*", "a.b.c", true),
        ("*.#", "a", true),
        ("*.#.*", "a", false),
        ("*.#.*", "a.b", true),
        ("*.#.*", "a.b.c", true),
        ("#.*.#", "", false),
        ("#.*.#", "a.b", true),
        // Several `#`.
        ("#.#", "a", true),
        ("#.#", "a.b.c", true),
        ("#.#.#", "a.b", true),
        ("a.#.#.b", "a.b", true),
        ("a.#.b.#.c", "a.x.b.y.c", true),
        ("a.#.b.#.c", "a.b.c", true),
        ("a.#.b.#.c", "a.c.b", false),
        ("#.b.#.b", "b.b", true),
        ("#.b.#.b", "b", false),
        ("#.a.b", "a.a.b", true),
        ("#.a.b", "a.b.a", false),
        // Empty words from consecutive, leading or trailing dots are real (empty) words.
        ("a..b", "a..b", true),
        ("a..b", "a.b", false),
        ("a.b", "a..b", false),
        ("a.*.b", "a..b", true),
        ("a.#.b", "a..b", true),
        ("*", ".", false),
        ("*.*", ".", true),
        (".", ".", true),
        ("a.", "a.", true),
        ("a.", "a", false),
        ("a.*", "a.", true),
        ("a.#", "a.", true),
        (".a", ".a", true),
        ("*.a", ".a", true),
        ("", ".", false),
        // `*` / `#` inside a longer word are literal words.
        ("a*", "a*", true),
        ("a*", "ab", false),
        ("a#", "a", false),
        ("a#", "a#", true),
        ("a.b#", "a.b.c", false),
        ("#a", "a", false),
        ("**", "a", false),
        ("##", "", false),
        ("##", "a", false),
        ("##", "##", true),
        // Wildcard characters in the routing key are plain words (RabbitMQ reaches the same
        // node through both the literal and the wildcard edge; a set of queues either way).
        ("*", "*", true),
        ("#", "#", true),
        ("a", "*", false),
        ("a", "#", false),
        ("a.b", "a.#", false),
        // Case-sensitive, byte-wise words.
        ("A", "a", false),
        ("caf\u{e9}.*", "caf\u{e9}.au-lait", true),
    ];

    fn run(cases: &[(&str, &str, bool)]) {
        for &(pattern, key, expected) in cases {
            assert_eq!(
                topic_matches(pattern, key),
                expected,
                "topic_matches({pattern:?}, {key:?})"
            );
        }
    }

    #[test]
    fn topic_tutorial_examples() {
        run(TUTORIAL);
    }

    #[test]
    fn topic_edge_cases() {
        assert!(TUTORIAL.len() + EDGES.len() >= 40);
        run(EDGES);
    }

    #[test]
    fn topic_many_hashes_does_not_blow_up() {
        let pattern = vec!["#"; 40].join(".") + ".z";
        let key = vec!["a"; 200].join(".");
        assert!(!topic_matches(&pattern, &key));
        assert!(topic_matches(&pattern, &(key + ".z")));
    }

    /// The trie walk of `rabbit_db_topic_exchange:trie_match/5` for a single binding, written
    /// recursively and directly: the spec the iterative matcher is checked against.
    fn rabbit_trie_match(pattern: &[&str], words: &[&str]) -> bool {
        match (pattern.split_first(), words.split_first()) {
            // No words left: bindings here, or follow `#` edges matching zero words.
            (None, None) => true,
            (Some((&"#", rest)), None) => rabbit_trie_match(rest, &[]),
            (_, None) => false,
            (None, Some(_)) => false,
            // `#` edge: trie_match_skip_any over every suffix, including the empty one.
            (Some((&"#", rest)), Some(_)) => {
                (0..=words.len()).any(|i| rabbit_trie_match(rest, &words[i..]))
            }
            // Literal edge, or `*` edge.
            (Some((&pw, rest)), Some((&w, wrest))) => {
                (pw == w || pw == "*") && rabbit_trie_match(rest, wrest)
            }
        }
    }

    fn spec(pattern: &str, key: &str) -> bool {
        rabbit_trie_match(&split_words(pattern), &split_words(key))
    }

    #[test]
    fn spec_agrees_with_tables() {
        for &(pattern, key, expected) in TUTORIAL.iter().chain(EDGES) {
            assert_eq!(spec(pattern, key), expected, "spec({pattern:?}, {key:?})");
        }
    }

    #[test]
    fn split_words_matches_rabbit() {
        assert!(split_words("").is_empty());
        assert_eq!(split_words("a"), ["a"]);
        assert_eq!(split_words("a..b"), ["a", "", "b"]);
        assert_eq!(split_words("."), ["", ""]);
        assert_eq!(split_words("a."), ["a", ""]);
    }

    fn word() -> impl Strategy<Value = &'static str> {
        prop::sample::select(&["a", "b", "", "*", "#", "a*"][..])
    }

    fn key_of(words: Vec<&str>) -> String {
        words.join(".")
    }

    proptest! {
        #[test]
        fn hash_matches_every_key(key in "[a-c.]{0,12}") {
            prop_assert!(topic_matches("#", &key));
        }

        #[test]
        fn a_key_matches_itself_as_a_pattern(
            words in prop::collection::vec("[a-z]{0,3}", 0..6),
        ) {
            let key = key_of(words.iter().map(String::as_str).collect());
            prop_assert!(topic_matches(&key, &key));
        }

        #[test]
        fn iterative_matcher_agrees_with_trie_walk(
            pattern in prop::collection::vec(word(), 0..7),
            key in prop::collection::vec(prop::sample::select(&["a", "b", ""][..]), 0..7),
        ) {
            let pattern = key_of(pattern);
            let key = key_of(key);
            prop_assert_eq!(topic_matches(&pattern, &key), spec(&pattern, &key));
        }
    }

    fn table(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|&(n, v)| (n.to_owned(), v.to_owned()))
            .collect()
    }

    /// (mode, binding arguments, message headers, expected)
    type HeadersCase = (
        XMatch,
        &'static [(&'static str, &'static str)],
        &'static [(&'static str, &'static str)],
        bool,
    );

    const HEADERS_CASES: &[HeadersCase] = &[
        // all: every binding header present with the same value; extra message headers are fine.
        (
            XMatch::All,
            &[("format", "pdf"), ("type", "report")],
            &[("format", "pdf"), ("type", "report")],
            true,
        ),
        (
            XMatch::All,
            &[("format", "pdf"), ("type", "report")],
            &[("type", "report"), ("format", "pdf"), ("x", "1")],
            true,
        ),
        (
            XMatch::All,
            &[("format", "pdf"), ("type", "report")],
            &[("format", "pdf")],
            false,
        ),
        (
            XMatch::All,
            &[("format", "pdf"), ("type", "report")],
            &[("format", "pdf"), ("type", "log")],
            false,
        ),
        (XMatch::All, &[("format", "pdf")], &[], false),
        // any: one is enough.
        (
            XMatch::Any,
            &[("format", "pdf"), ("type", "report")],
            &[("format", "pdf"), ("type", "log")],
            true,
        ),
        (
            XMatch::Any,
            &[("format", "pdf"), ("type", "report")],
            &[("type", "report")],
            true,
        ),
        (
            XMatch::Any,
            &[("format", "pdf"), ("type", "report")],
            &[("format", "zip"), ("type", "log")],
            false,
        ),
        (XMatch::Any, &[("format", "pdf")], &[], false),
        // Values and names compare exactly (case-sensitive, no trimming).
        (
            XMatch::All,
            &[("format", "pdf")],
            &[("format", "PDF")],
            false,
        ),
        (
            XMatch::All,
            &[("format", "pdf")],
            &[("Format", "pdf")],
            false,
        ),
        (XMatch::All, &[("format", "")], &[("format", "")], true),
        (XMatch::All, &[("format", "")], &[], false),
        // A binding with no arguments: all matches everything, any matches nothing
        // (headers_match/5 starts from AllMatch = true, AnyMatch = false).
        (XMatch::All, &[], &[], true),
        (XMatch::All, &[], &[("a", "1")], true),
        (XMatch::Any, &[], &[], false),
        (XMatch::Any, &[], &[("a", "1")], false),
        (XMatch::AllWithX, &[], &[("a", "1")], true),
        (XMatch::AnyWithX, &[], &[("a", "1")], false),
        // `x-` arguments are ignored by all/any ...
        (
            XMatch::All,
            &[("x-tenant", "t1"), ("a", "1")],
            &[("a", "1")],
            true,
        ),
        (
            XMatch::Any,
            &[("x-tenant", "t1"), ("a", "1")],
            &[("x-tenant", "t1")],
            false,
        ),
        (XMatch::All, &[("x-tenant", "t1")], &[("a", "1")], true),
        (
            XMatch::Any,
            &[("x-tenant", "t1")],
            &[("x-tenant", "t1")],
            false,
        ),
        // ... but take part under all-with-x / any-with-x.
        (
            XMatch::AllWithX,
            &[("x-tenant", "t1"), ("a", "1")],
            &[("a", "1")],
            false,
        ),
        (
            XMatch::AllWithX,
            &[("x-tenant", "t1"), ("a", "1")],
            &[("a", "1"), ("x-tenant", "t1")],
            true,
        ),
        (
            XMatch::AnyWithX,
            &[("x-tenant", "t1"), ("a", "1")],
            &[("x-tenant", "t1")],
            true,
        ),
        (
            XMatch::AnyWithX,
            &[("x-tenant", "t1"), ("a", "1")],
            &[("x-tenant", "t2")],
            false,
        ),
        // `x-match` itself is always skipped, even in the -with-x modes.
        (
            XMatch::All,
            &[("x-match", "all"), ("a", "1")],
            &[("a", "1")],
            true,
        ),
        (
            XMatch::Any,
            &[("x-match", "any")],
            &[("x-match", "any")],
            false,
        ),
        (
            XMatch::AllWithX,
            &[("x-match", "all-with-x"), ("a", "1")],
            &[("a", "1")],
            true,
        ),
        (
            XMatch::AnyWithX,
            &[("x-match", "any-with-x")],
            &[("x-match", "any-with-x")],
            false,
        ),
        // Only the exact "x-" prefix counts.
        (XMatch::All, &[("X-tenant", "t1")], &[], false),
        (XMatch::All, &[("x_tenant", "t1")], &[], false),
    ];

    #[test]
    fn headers_table() {
        for (i, &(mode, binding, message, expected)) in HEADERS_CASES.iter().enumerate() {
            assert_eq!(
                headers_match(mode, &table(binding), &table(message)),
                expected,
                "case {i}: {mode:?} binding {binding:?} message {message:?}"
            );
        }
    }

    #[test]
    fn xmatch_defaults_to_all() {
        assert_eq!(XMatch::default(), XMatch::All);
    }
}
