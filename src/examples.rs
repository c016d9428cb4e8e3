//! The example scenarios of `scenarios/`, embedded in the binary so that the lab
//! opens on one from any directory and lists them all under File > Open Example.

/// (name, RON text), in the order the lab lists them.
pub const EXAMPLES: &[(&str, &str)] = &[
    (
        "delivery-guarantees",
        include_str!("../scenarios/delivery-guarantees.ron"),
    ),
    ("hello", include_str!("../scenarios/hello.ron")),
    ("work-queue", include_str!("../scenarios/work-queue.ron")),
    ("fanout", include_str!("../scenarios/fanout.ron")),
    (
        "topic-routing",
        include_str!("../scenarios/topic-routing.ron"),
    ),
    ("kafka-topic", include_str!("../scenarios/kafka-topic.ron")),
    ("ordering", include_str!("../scenarios/ordering.ron")),
    (
        "idempotent-consumer",
        include_str!("../scenarios/idempotent-consumer.ron"),
    ),
    (
        "visibility-timeout",
        include_str!("../scenarios/visibility-timeout.ron"),
    ),
    (
        "retry-backoff",
        include_str!("../scenarios/retry-backoff.ron"),
    ),
    ("retry-queue", include_str!("../scenarios/retry-queue.ron")),
    ("poison-dlq", include_str!("../scenarios/poison-dlq.ron")),
    (
        "confirms-fanout",
        include_str!("../scenarios/confirms-fanout.ron"),
    ),
    (
        "connection-cut",
        include_str!("../scenarios/connection-cut.ron"),
    ),
    (
        "prefetch-latency",
        include_str!("../scenarios/prefetch-latency.ron"),
    ),
    (
        "exactly-once",
        include_str!("../scenarios/exactly-once.ron"),
    ),
    (
        "lag-and-retention",
        include_str!("../scenarios/lag-and-retention.ron"),
    ),
    ("rebalance", include_str!("../scenarios/rebalance.ron")),
    (
        "leader-failover",
        include_str!("../scenarios/leader-failover.ron"),
    ),
    (
        "broker-failure",
        include_str!("../scenarios/broker-failure.ron"),
    ),
    (
        "sync-vs-async",
        include_str!("../scenarios/sync-vs-async.ron"),
    ),
];

/// The example the lab opens on.
pub const DEFAULT_EXAMPLE: &str = "delivery-guarantees";

/// The description of the example called `name` (parsed once, then kept).
pub fn description(name: &str) -> &'static str {
    static DESCRIPTIONS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let all = DESCRIPTIONS.get_or_init(|| {
        EXAMPLES
            .iter()
            .map(|(_, text)| {
                crate::scenario::parse_raw(text)
                    .map(|raw| raw.description)
                    .unwrap_or_default()
            })
            .collect()
    });
    EXAMPLES
        .iter()
        .position(|(n, _)| *n == name)
        .and_then(|i| all.get(i))
        .map_or("", String::as_str)
}

/// The text of the example called `name`.
pub fn example(name: &str) -> Option<&'static str> {
    EXAMPLES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, text)| *text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_example_file_is_embedded_and_loads() {
        let mut on_disk: Vec<String> =
            std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios"))
                .unwrap()
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "ron"))
                .filter_map(|p| p.file_stem()?.to_str().map(String::from))
                .collect();
        on_disk.sort();
        let mut embedded: Vec<String> = EXAMPLES.iter().map(|(n, _)| n.to_string()).collect();
        embedded.sort();
        assert_eq!(on_disk, embedded);
        for (name, text) in EXAMPLES {
            assert!(crate::scenario::parse(text, name).is_ok(), "{name}");
        }
        assert!(example(DEFAULT_EXAMPLE).is_some());
    }
}
