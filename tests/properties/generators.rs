//! Generators of random valid scenarios, built as Rust values piece by piece.

#![allow(unused_imports)]

use super::*;

// ---------------------------------------------------------------------------------------------
// Vocabularies

/// Routing keys producers publish with and consumers rewrite to.
pub(crate) const ROUTING_KEYS: &[&str] = &["a.b", "a.c", "x.y.z", "a", ""];
/// Binding keys: literal keys for direct exchanges, patterns for topic exchanges.
pub(crate) const BINDING_KEYS: &[&str] = &[
    "a.b", "a.*", "#", "*.b", "x.#", "a.c", "x.y.z", "*", "#.z", "",
];
pub(crate) const HEADER_NAMES: &[&str] = &["format", "region", "x-kind"];
pub(crate) const HEADER_VALUES: &[&str] = &["pdf", "csv", "eu"];

// ---------------------------------------------------------------------------------------------
// Generator: pieces

pub(crate) fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

pub(crate) fn us(micros: u64) -> Duration {
    Duration::from_nanos(micros * 1_000)
}

pub(crate) fn pos() -> impl Strategy<Value = Option<CanvasPos>> {
    prop::option::of((-2000.0f32..2000.0, -2000.0f32..2000.0))
}

pub(crate) fn rate() -> impl Strategy<Value = Rate> {
    prop_oneof![
        4 => (1.0f64..800.0).prop_map(Rate::per_sec),
        1 => select(&[0.5, 10.0, 100.0, 250.0][..]).prop_map(Rate::per_sec),
    ]
}

pub(crate) fn arrival() -> impl Strategy<Value = RawArrival> {
    let step_rate = prop_oneof![1 => Just(0.0), 3 => 1.0f64..800.0];
    let schedule = prop::collection::vec((0u64..800, step_rate), 1..=3).prop_map(|gaps| {
        let mut at = 0;
        let steps = gaps
            .into_iter()
            .enumerate()
            .map(|(i, (gap, rate))| {
                // The first step may start after 0 (silence before it); later ones strictly later.
                at += if i == 0 { gap } else { gap + 1 };
                RawRateStep {
                    at: ms(at),
                    rate: Rate::per_sec(rate),
                }
            })
            .collect();
        RawArrival::Schedule { steps }
    });
    prop_oneof![
        rate().prop_map(|rate| RawArrival::Constant { rate }),
        rate().prop_map(|rate| RawArrival::Poisson { rate }),
        (rate(), 1u64..500, 0u64..500).prop_map(|(rate, on, off)| RawArrival::OnOff {
            rate,
            on: ms(on),
            off: ms(off),
        }),
        schedule,
    ]
}

pub(crate) fn keys() -> impl Strategy<Value = RawKeys> {
    prop_oneof![
        Just(RawKeys::None),
        (1u32..100).prop_map(|count| RawKeys::Uniform { count }),
        (1u32..100, 0.0f64..2.5).prop_map(|(count, exponent)| RawKeys::Zipf { count, exponent }),
    ]
}

pub(crate) fn headers(min: usize) -> impl Strategy<Value = BTreeMap<String, String>> {
    prop::collection::btree_map(
        select(HEADER_NAMES).prop_map(String::from),
        select(HEADER_VALUES).prop_map(String::from),
        min..=2,
    )
}

/// A producer's publish guarantees: fire-and-forget, or acks (leader or all) with or without
/// retries (0-4 of them, backoffs of 0-20 ms, timeouts of 1 us-50 ms), idempotent now and then
/// with acks all.
pub(crate) fn publish_guarantees() -> impl Strategy<Value = (Acks, Option<PublishRetry>, bool)> {
    prop_oneof![
        2 => Just((Acks::None, None, false)),
        3 => (
            select(&[Acks::Leader, Acks::All][..]),
            prop::option::weighted(0.7, (0u32..=4, 0u64..20_000, 1u64..50_000)),
            any::<bool>(),
        )
            .prop_map(|(acks, retry, idempotent)| {
                let retry = retry.map(|(max, backoff, timeout)| PublishRetry {
                    max,
                    backoff: us(backoff),
                    timeout: us(timeout),
                });
                (acks, retry, idempotent && acks == Acks::All)
            }),
    ]
}

/// A producer (id left empty) and a selector for its target.
pub(crate) fn producer() -> impl Strategy<Value = (RawProducer, usize)> {
    (
        (pos(), publish_guarantees()),
        arrival(),
        1u64..4096,
        keys(),
        prop::collection::vec(select(ROUTING_KEYS).prop_map(String::from), 0..=3),
        any::<bool>(),
        headers(0),
        prop::option::of(0u8..=5),
        any::<usize>(),
    )
        .prop_map(
            |(
                (pos, (acks, retries, idempotent)),
                arrival,
                size,
                keys,
                mut routing_keys,
                single_field,
                headers,
                priority,
                target,
            )| {
                // One key may be written either way; never both fields.
                let routing_key = if routing_keys.len() == 1 && single_field {
                    routing_keys.pop()
                } else {
                    None
                };
                (
                    RawProducer {
                        id: String::new(),
                        pos,
                        arrival,
                        size: Size { bytes: size },
                        keys,
                        routing_key,
                        routing_keys,
                        headers,
                        priority,
                        acks,
                        retries,
                        idempotent,
                    },
                    target,
                )
            },
        )
}

#[derive(Debug, Clone)]
pub(crate) struct BindingSpec {
    pub(crate) target: usize,
    pub(crate) key: &'static str,
    /// Fanout and headers bindings: whether to write the (ignored) key anyway.
    pub(crate) keep_key: bool,
    pub(crate) headers: BTreeMap<String, String>,
    pub(crate) x_match: Option<XMatch>,
}

#[derive(Debug, Clone)]
pub(crate) struct ExchangeSpec {
    pub(crate) pos: Option<CanvasPos>,
    pub(crate) exchange_type: ExchangeType,
    pub(crate) alternate: Option<usize>,
    pub(crate) bindings: Vec<BindingSpec>,
}

pub(crate) fn exchange() -> impl Strategy<Value = ExchangeSpec> {
    let binding = (
        any::<usize>(),
        select(BINDING_KEYS),
        prop::bool::weighted(0.2),
        headers(1),
        prop::option::of(select(
            &[XMatch::All, XMatch::Any, XMatch::AllWithX, XMatch::AnyWithX][..],
        )),
    )
        .prop_map(|(target, key, keep_key, headers, x_match)| BindingSpec {
            target,
            key,
            keep_key,
            headers,
            x_match,
        });
    (
        pos(),
        select(
            &[
                ExchangeType::Direct,
                ExchangeType::Fanout,
                ExchangeType::Topic,
                ExchangeType::Headers,
            ][..],
        ),
        prop::option::weighted(0.3, any::<usize>()),
        prop::collection::vec(binding, 0..=4),
    )
        .prop_map(|(pos, exchange_type, alternate, bindings)| ExchangeSpec {
            pos,
            exchange_type,
            alternate,
            bindings,
        })
}

#[derive(Debug, Clone)]
pub(crate) struct QueueSpec {
    pub(crate) raw: RawQueue,
    /// The queue's one `kind: DeadLetter` (true) or `kind: Retry` (false) edge, and a
    /// selector for its target.
    pub(crate) failed: Option<(bool, usize)>,
    /// The dead-letter target of a redrive (`max_receive_count`) when `failed` is `None`.
    pub(crate) redrive: usize,
}

pub(crate) fn delivery() -> impl Strategy<Value = Delivery> {
    prop_oneof![
        1 => Just(Delivery::Push),
        // Visibility timeouts near the processing times, so that some run out.
        1 => ((100u64..20_000).prop_map(us), prop::option::weighted(0.5, 1u32..=5)).prop_map(
            |(visibility_timeout, max_receive_count)| Delivery::Pull {
                visibility_timeout,
                max_receive_count,
            }
        ),
    ]
}

pub(crate) fn queue() -> impl Strategy<Value = QueueSpec> {
    (
        (
            pos(),
            prop::option::of(1u64..50),
            select(&[Overflow::DropHead, Overflow::RejectPublish][..]),
            prop::option::of((1_000u64..1_000_000).prop_map(us)),
            prop::option::of(1u8..=5),
            prop::bool::weighted(0.7),
        ),
        delivery(),
        prop::option::weighted(0.3, 1u32..=5),
        prop::option::weighted(0.3, (prop::bool::weighted(0.7), any::<usize>())),
        any::<usize>(),
    )
        .prop_map(
            |(
                (pos, max_length, overflow, ttl, max_priority, durable),
                delivery,
                max_deliveries,
                failed,
                redrive,
            )| {
                QueueSpec {
                    raw: RawQueue {
                        id: String::new(),
                        pos,
                        max_length,
                        overflow,
                        ttl,
                        max_priority,
                        durable,
                        delivery,
                        max_deliveries,
                    },
                    failed,
                    redrive,
                }
            },
        )
}

pub(crate) fn topic() -> impl Strategy<Value = RawTopic> {
    (
        pos(),
        1u32..=8,
        prop_oneof![
            Just(Partitioner::KeyHash),
            Just(Partitioner::RoundRobin),
            (1u32..10).prop_map(|batch| Partitioner::Sticky { batch }),
        ],
        prop::option::of((1u64..1000).prop_map(ms)),
        prop::option::of((1u64..20_000).prop_map(|bytes| Size { bytes })),
        // Replication: 1-3 replicas, any min in-sync count up to them, replication delays of
        // 0-5 ms and failovers of 0-50 ms (near the processing times and fault lengths).
        prop::option::weighted(0.5, (1u32..=3, any::<u32>(), 0u64..5_000, 0u64..50_000)),
        // Segments and retention checks small enough for retention to act within a run:
        // segments of 1 B (a record each) to 10 kB, rolled after 1-500 ms, checked every
        // 1-200 ms (Kafka's defaults, mostly, when left out).
        prop::option::weighted(0.8, 1u64..10_000),
        prop::option::weighted(0.5, 1u64..500),
        prop::option::weighted(0.8, 1u64..200),
    )
        .prop_map(
            |(
                pos,
                partitions,
                partitioner,
                retention,
                retention_bytes,
                replication,
                segment_bytes,
                segment_roll,
                retention_check,
            )| {
                let mut topic = RawTopic {
                    id: String::new(),
                    pos,
                    partitions,
                    partitioner,
                    retention,
                    retention_bytes,
                    segment_bytes: segment_bytes.map(|bytes| Size { bytes }),
                    segment_roll: segment_roll.map(ms),
                    retention_check: retention_check.map(ms),
                    ..Default::default()
                };
                if let Some((factor, insync, delay, failover)) = replication {
                    topic.replication_factor = factor;
                    topic.min_insync_replicas = 1 + insync % factor;
                    topic.replication_delay = us(delay);
                    topic.failover = us(failover);
                }
                topic
            },
        )
}

/// Processing times with small means (tens of microseconds to a few milliseconds).
pub(crate) fn service() -> impl Strategy<Value = RawService> {
    prop_oneof![
        (0u64..3_000).prop_map(|t| RawService::Constant { time: us(t) }),
        (50u64..3_000).prop_map(|m| RawService::Exponential { mean: us(m) }),
        (0u64..1_000, 50u64..2_000).prop_map(|(min, span)| RawService::Uniform {
            min: us(min),
            max: us(min + span),
        }),
        (50u64..3_000, 0u64..5_000).prop_map(|(mean, stddev)| RawService::LogNormal {
            mean: us(mean),
            stddev: us(stddev),
        }),
        (20u64..1_000, 1.2f64..4.0).prop_map(|(scale, shape)| RawService::Pareto {
            scale: us(scale),
            shape
        }),
    ]
}

#[derive(Debug, Clone)]
pub(crate) struct ConsumerSpec {
    pub(crate) raw: RawConsumer,
    pub(crate) source: usize,
    pub(crate) group: Option<&'static str>,
    pub(crate) outputs: Vec<(usize, Option<&'static str>)>,
    /// Selectors for the targets of a `kind: DeadLetter` and a `kind: Retry` edge.
    pub(crate) dead_letter: Option<usize>,
    pub(crate) retry_to: Option<usize>,
}

pub(crate) fn backoff() -> impl Strategy<Value = Backoff> {
    let jitter = select(
        &[
            Jitter::None,
            Jitter::Full,
            Jitter::Equal,
            Jitter::Decorrelated,
        ][..],
    );
    prop_oneof![
        2 => Just(Backoff::Immediate),
        1 => (0u64..50_000).prop_map(|d| Backoff::Fixed { delay: us(d) }),
        2 => (1u64..10_000, 1u64..=20, jitter).prop_map(|(base, times, jitter)| {
            Backoff::Exponential {
                base: us(base),
                cap: us(base * times),
                jitter,
            }
        }),
    ]
}

pub(crate) fn idempotency() -> impl Strategy<Value = Idempotency> {
    prop_oneof![
        3 => Just(Idempotency::None),
        1 => Just(Idempotency::Exact),
        1 => (1u32..20).prop_map(|count| Idempotency::Window { count }),
        1 => (1u64..500).prop_map(|span| Idempotency::TimeWindow { span: ms(span) }),
    ]
}

/// Delivery guarantees and failure handling of one consumer, written into `raw`.
#[derive(Debug, Clone)]
pub(crate) struct Guarantees {
    pub(crate) ack: AckMode,
    pub(crate) ack_delay: Duration,
    pub(crate) idempotency: Idempotency,
    pub(crate) retry: RetryPolicy,
    pub(crate) failure_probability: f64,
    pub(crate) poison_fraction: f64,
    /// Short session timeouts and rebalances, so that both happen within a run.
    pub(crate) group_times: Option<(Duration, Duration)>,
    pub(crate) auto_offset_reset: OffsetReset,
}

pub(crate) fn guarantees() -> impl Strategy<Value = Guarantees> {
    (
        prop::bool::weighted(0.25),
        prop_oneof![1 => Just(0u64), 1 => 1u64..5_000].prop_map(us),
        idempotency(),
        (backoff(), 1u32..=5).prop_map(|(backoff, max_attempts)| RetryPolicy {
            backoff,
            max_attempts,
        }),
        prop_oneof![1 => Just(0.0), 1 => 0.01f64..0.5],
        prop_oneof![3 => Just(0.0), 1 => 0.001f64..0.1],
        prop::option::weighted(0.8, (10u64..=200, 10u64..=200)),
        any::<bool>(),
    )
        .prop_map(
            |(before, ack_delay, idempotency, retry, failure, poison, group_times, earliest)| {
                Guarantees {
                    ack: if before {
                        AckMode::BeforeProcessing
                    } else {
                        AckMode::AfterProcessing
                    },
                    ack_delay,
                    idempotency,
                    retry,
                    failure_probability: failure,
                    poison_fraction: poison,
                    group_times: group_times.map(|(s, r)| (ms(s), ms(r))),
                    auto_offset_reset: if earliest {
                        OffsetReset::Earliest
                    } else {
                        OffsetReset::Latest
                    },
                }
            },
        )
}

impl Guarantees {
    fn apply(self, raw: &mut RawConsumer) {
        raw.ack = self.ack;
        raw.ack_delay = self.ack_delay;
        raw.idempotency = self.idempotency;
        raw.retry = self.retry;
        raw.failure_probability = self.failure_probability;
        raw.poison_fraction = self.poison_fraction;
        if let Some((session, rebalance)) = self.group_times {
            raw.session_timeout = session;
            raw.rebalance_time = rebalance;
        }
        raw.auto_offset_reset = self.auto_offset_reset;
    }
}

pub(crate) fn consumer() -> impl Strategy<Value = ConsumerSpec> {
    let output = (any::<usize>(), prop::option::of(select(ROUTING_KEYS)));
    (
        (
            pos(),
            1u32..=4,
            prop::option::of(1u32..=5),
            service(),
            any::<usize>(),
            // Group names may equal another consumer's id (its default group).
            prop::option::of(select(&["g0", "g1", "c0", "c1"][..])),
            prop_oneof![3 => Just(Vec::new()), 2 => prop::collection::vec(output, 1..=2)],
        ),
        // A quarter of the consumers keep every default (the plain at-least-once consumer).
        prop::option::weighted(0.75, guarantees()),
        prop::option::weighted(0.3, any::<usize>()),
        prop::option::weighted(0.2, any::<usize>()),
    )
        .prop_map(
            |(
                (pos, concurrency, prefetch, service, source, group, outputs),
                guarantees,
                dead_letter,
                retry_to,
            )| {
                let mut raw = RawConsumer {
                    id: String::new(),
                    pos,
                    group: None,
                    concurrency,
                    prefetch,
                    service,
                    ..Default::default()
                };
                if let Some(g) = guarantees {
                    g.apply(&mut raw);
                }
                ConsumerSpec {
                    raw,
                    source,
                    group,
                    outputs,
                    dead_letter,
                    retry_to,
                }
            },
        )
}

/// What a generated fault does, and to what kind of target.
#[derive(Debug, Clone, Copy)]
pub(crate) enum FaultWhat {
    /// A crash (with or without restart), a slow-down or failing processing, of a consumer.
    Consumer(FaultKind),
    /// A cut, a delay or a loss, on an edge that takes it (see [`link_edges`]); a cut of a
    /// consumer's delivery edge is a lost connection.
    Link(FaultKind),
    /// A broker failure of a queue, or of a topic: every partition, or the one selected.
    Broker { partition: Option<u32> },
}

#[derive(Debug, Clone)]
pub(crate) struct FaultSpec {
    /// When, in thousandths of the run.
    pub(crate) at_per_mille: u64,
    /// Selects the target among those the fault applies to.
    pub(crate) target: usize,
    pub(crate) what: FaultWhat,
    pub(crate) duration: Option<Duration>,
}

pub(crate) fn fault_what() -> impl Strategy<Value = FaultWhat> {
    prop_oneof![
        3 => Just(FaultWhat::Consumer(FaultKind::Crash)),
        1 => (1.1f64..20.0).prop_map(|factor| FaultWhat::Consumer(FaultKind::Slow { factor })),
        1 => (0.0f64..=1.0)
            .prop_map(|probability| FaultWhat::Consumer(FaultKind::Fail { probability })),
        2 => Just(FaultWhat::Link(FaultKind::Cut)),
        1 => (1u64..20_000).prop_map(|extra| FaultWhat::Link(FaultKind::Delay { extra: us(extra) })),
        1 => (0.0f64..=1.0)
            .prop_map(|probability| FaultWhat::Link(FaultKind::Loss { probability })),
        3 => prop::option::weighted(0.4, any::<u32>())
            .prop_map(|partition| FaultWhat::Broker { partition }),
    ]
}

pub(crate) fn fault_duration() -> impl Strategy<Value = Option<Duration>> {
    prop::option::weighted(0.75, (1u64..1_000_000).prop_map(us))
}

pub(crate) fn fault() -> impl Strategy<Value = FaultSpec> {
    (0u64..1000, any::<usize>(), fault_what(), fault_duration()).prop_map(
        |(at_per_mille, target, what, duration)| FaultSpec {
            at_per_mille,
            target,
            what,
            duration,
        },
    )
}

pub(crate) fn node_index(raw: &RawScenario, id: &str) -> Option<usize> {
    raw.nodes.iter().position(|n| n.id() == id)
}

/// Whether edge `e` of `raw` takes `what`, as the checker decides
/// ([`evlab::scenario::check::link_allowed`]).
pub(crate) fn link_takes(raw: &RawScenario, e: usize, what: LinkUse) -> bool {
    let Some(edge) = raw.edges.get(e) else {
        return false;
    };
    let kind = |id: &str| node_index(raw, id).map(|n| raw.nodes[n].kind());
    match (kind(&edge.from), kind(&edge.to)) {
        (Some(from), Some(to)) => link_allowed(from, to, edge.kind, what).is_ok(),
        _ => false,
    }
}

/// The edges a link fault of kind `what` may target: those that take it and that a
/// `"from->to"` target names (the first edge between their ends), in file order.
pub(crate) fn link_edges(raw: &RawScenario, what: LinkUse) -> Vec<usize> {
    (0..raw.edges.len())
        .filter(|&e| {
            let edge = &raw.edges[e];
            raw.edges
                .iter()
                .position(|o| o.from == edge.from && o.to == edge.to)
                == Some(e)
                && link_takes(raw, e, what)
        })
        .collect()
}

/// Resolves a generated fault against a scenario: its target (node and edge indices are the
/// same in `raw` and in the checked scenario, all of whose nodes and edges are valid), the
/// target as written in a file, and its kind. `None` when the scenario has nothing it applies to.
pub(crate) fn resolve_fault(
    raw: &RawScenario,
    what: FaultWhat,
    sel: usize,
) -> Option<(FaultTarget, String, FaultKind)> {
    let of_kind = |pred: fn(&RawNode) -> bool| -> Vec<usize> {
        (0..raw.nodes.len())
            .filter(|&n| pred(&raw.nodes[n]))
            .collect()
    };
    let pick = |list: &[usize]| (!list.is_empty()).then(|| list[sel % list.len()]);
    match what {
        FaultWhat::Consumer(kind) => {
            let n = pick(&of_kind(|n| matches!(n, RawNode::Consumer(_))))?;
            Some((FaultTarget::Node(n), raw.nodes[n].id().to_string(), kind))
        }
        FaultWhat::Link(kind) => {
            let what = LinkUse::of_fault(&kind)?;
            let e = pick(&link_edges(raw, what))?;
            let edge = &raw.edges[e];
            Some((
                FaultTarget::Edge(e),
                format!("{}->{}", edge.from, edge.to),
                kind,
            ))
        }
        FaultWhat::Broker { partition } => {
            let n = pick(&of_kind(|n| {
                matches!(n, RawNode::Queue(_) | RawNode::Topic(_))
            }))?;
            let partition = match &raw.nodes[n] {
                RawNode::Topic(t) => partition.map(|p| p % t.partitions.max(1)),
                _ => None,
            };
            Some((
                FaultTarget::Node(n),
                raw.nodes[n].id().to_string(),
                FaultKind::BrokerFailure { partition },
            ))
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Parts {
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) seed: u64,
    pub(crate) duration_ms: u64,
    pub(crate) warmup_per_mille: Option<u64>,
    pub(crate) samples: Option<u64>,
    pub(crate) limits: Option<RawLimits>,
    pub(crate) producers: Vec<(RawProducer, usize)>,
    pub(crate) exchanges: Vec<ExchangeSpec>,
    pub(crate) queues: Vec<QueueSpec>,
    pub(crate) topics: Vec<RawTopic>,
    pub(crate) consumers: Vec<ConsumerSpec>,
    pub(crate) faults: Vec<FaultSpec>,
    /// Latency of edge `i`, for the first edges, where the edge takes latency.
    pub(crate) latencies: Vec<Option<Duration>>,
}

pub(crate) fn limits() -> impl Strategy<Value = Option<RawLimits>> {
    prop_oneof![
        4 => Just(None),
        4 => Just(Some(RawLimits { max_in_flight: Some(200_000), ..Default::default() })),
        1 => Just(Some(RawLimits::default())),
        // Small caps, so that some runs stop early and the stop path is checked too.
        1 => (20u64..2_000).prop_map(|cap| Some(RawLimits { max_in_flight: Some(cap), ..Default::default() })),
    ]
}

pub(crate) fn parts(names: BoxedStrategy<(String, String)>) -> impl Strategy<Value = Parts> {
    (
        (
            names,
            // A fifth of the edges that take latency get 0-5 ms of it.
            prop::collection::vec(prop::option::weighted(0.2, (0u64..5_000).prop_map(us)), 16),
        ),
        any::<u64>(),
        200u64..=3_000,
        prop::option::weighted(0.3, 1u64..1000),
        prop::option::weighted(0.3, 5u64..300),
        limits(),
        prop::collection::vec(producer(), 1..=3),
        prop::collection::vec(exchange(), 0..=2),
        prop::collection::vec(queue(), 1..=3),
        prop::collection::vec(topic(), 0..=2),
        prop::collection::vec(consumer(), 1..=5),
        prop_oneof![2 => Just(Vec::new()), 3 => prop::collection::vec(fault(), 1..=4)],
    )
        .prop_map(
            |(
                ((name, description), latencies),
                seed,
                duration_ms,
                warmup_per_mille,
                samples,
                limits,
                producers,
                exchanges,
                queues,
                topics,
                consumers,
                faults,
            )| Parts {
                name,
                description,
                seed,
                duration_ms,
                warmup_per_mille,
                samples,
                limits,
                producers,
                exchanges,
                queues,
                topics,
                consumers,
                faults,
                latencies,
            },
        )
}

pub(crate) fn edge(from: &str, to: &str) -> RawEdge {
    RawEdge {
        from: from.to_string(),
        to: to.to_string(),
        key: None,
        headers: BTreeMap::new(),
        x_match: None,
        ..Default::default()
    }
}

/// Adds `edge` unless an edge with the same ends, key, headers and kind is already there (the
/// checker rejects those as duplicates).
pub(crate) fn push_edge(edges: &mut Vec<RawEdge>, edge: RawEdge) {
    if !edges.iter().any(|e| {
        e.from == edge.from
            && e.to == edge.to
            && e.key == edge.key
            && e.headers == edge.headers
            && e.kind == edge.kind
    }) {
        edges.push(edge);
    }
}

/// Wires the parts into a scenario the checker accepts.
pub(crate) fn assemble(parts: Parts) -> RawScenario {
    let Parts {
        name,
        description,
        seed,
        duration_ms,
        warmup_per_mille,
        samples,
        limits,
        producers,
        exchanges,
        queues,
        mut topics,
        consumers,
        faults,
        latencies,
    } = parts;
    // Every topic needs a consumer: the first consumers read the topics, one each.
    topics.truncate(consumers.len());
    let pid = |i: usize| format!("p{i}");
    let xid = |i: usize| format!("x{i}");
    let qid = |i: usize| format!("q{i}");
    let tid = |i: usize| format!("t{i}");
    let cid = |i: usize| format!("c{i}");
    let (nx, nq, nt) = (exchanges.len(), queues.len(), topics.len());
    // Publish targets: exchanges, queues, topics.
    let publish_target = |sel: usize| {
        let sel = sel % (nx + nq + nt);
        if sel < nx {
            xid(sel)
        } else if sel < nx + nq {
            qid(sel - nx)
        } else {
            tid(sel - nx - nq)
        }
    };

    let mut nodes = Vec::new();
    let mut edges = Vec::new();
    for (i, (mut p, target)) in producers.into_iter().enumerate() {
        p.id = pid(i);
        push_edge(&mut edges, edge(&p.id, &publish_target(target)));
        nodes.push(RawNode::Producer(p));
    }
    for (i, x) in exchanges.iter().enumerate() {
        let alternate = match x.alternate {
            Some(sel) if nx > 1 => Some(xid((i + 1 + sel % (nx - 1)) % nx)),
            _ => None,
        };
        for b in &x.bindings {
            // Bindings go to queues or to other exchanges.
            let others = nq + nx - 1;
            let sel = b.target % others;
            let to = if sel < nq {
                qid(sel)
            } else {
                xid((i + 1 + (sel - nq)) % nx)
            };
            let mut e = edge(&xid(i), &to);
            match x.exchange_type {
                ExchangeType::Direct | ExchangeType::Topic => e.key = Some(b.key.to_string()),
                ExchangeType::Fanout => e.key = b.keep_key.then(|| b.key.to_string()),
                ExchangeType::Headers => {
                    e.key = b.keep_key.then(|| b.key.to_string());
                    e.headers = b.headers.clone();
                    e.x_match = b.x_match;
                }
            }
            push_edge(&mut edges, e);
        }
        nodes.push(RawNode::Exchange(RawExchange {
            id: xid(i),
            pos: x.pos,
            exchange_type: x.exchange_type,
            alternate,
        }));
    }
    // A failed-message edge leads to an exchange, a queue or a topic; never back to its own
    // queue. Drawn over the targets other than `own`.
    let failed_target = |sel: usize, own: Option<&str>| {
        let total = nx + nq + nt;
        let target = publish_target(sel);
        if own != Some(target.as_str()) {
            Some(target)
        } else if total > 1 {
            Some(publish_target(sel % total + 1))
        } else {
            None
        }
    };
    for (i, spec) in queues.into_iter().enumerate() {
        let mut q = spec.raw;
        q.id = qid(i);
        // A redrive needs a dead-letter edge: one is added when the queue has none.
        let redrives = matches!(
            q.delivery,
            Delivery::Pull {
                max_receive_count: Some(_),
                ..
            }
        );
        let failed = spec
            .failed
            .or(redrives.then_some((true, spec.redrive)))
            .and_then(|(dead, sel)| Some((dead, failed_target(sel, Some(&q.id))?)));
        match (failed, &mut q.delivery) {
            (Some((dead, to)), _) => {
                let mut e = edge(&q.id, &to);
                e.kind = if dead {
                    EdgeKind::DeadLetter
                } else {
                    EdgeKind::Retry
                };
                push_edge(&mut edges, e);
            }
            // No other node to redrive to.
            (
                None,
                Delivery::Pull {
                    max_receive_count, ..
                },
            ) => *max_receive_count = None,
            (None, Delivery::Push) => {}
        }
        nodes.push(RawNode::Queue(q));
    }
    for (i, t) in topics.iter_mut().enumerate() {
        t.id = tid(i);
        nodes.push(RawNode::Topic(t.clone()));
    }
    let nc = consumers.len();
    for (i, spec) in consumers.into_iter().enumerate() {
        let mut c = spec.raw;
        c.id = cid(i);
        let source = if i < nt {
            tid(i)
        } else {
            let sel = spec.source % (nq + nt);
            if sel < nq { qid(sel) } else { tid(sel - nq) }
        };
        // Groups and offset commits are for topic readers; several readers of one topic may
        // share a group. Commit modes vary with the consumer's index.
        if source.starts_with('t') {
            c.group = spec.group.map(String::from);
            c.commit = match i % 3 {
                0 => Commit::AfterEach,
                1 => Commit::Interval {
                    every: ms(1 + spec.source as u64 % 50),
                },
                _ => Commit::Batch {
                    size: 1 + spec.source as u32 % 7,
                },
            };
        }
        push_edge(&mut edges, edge(&source, &c.id));
        for (target, key) in spec.outputs {
            let mut e = edge(&c.id, &publish_target(target));
            e.key = key.map(String::from);
            push_edge(&mut edges, e);
        }
        for (sel, kind) in [
            (spec.dead_letter, EdgeKind::DeadLetter),
            (spec.retry_to, EdgeKind::Retry),
        ] {
            if let Some(to) = sel.and_then(|sel| failed_target(sel, None)) {
                let mut e = edge(&c.id, &to);
                e.kind = kind;
                push_edge(&mut edges, e);
            }
        }
        nodes.push(RawNode::Consumer(c));
    }
    // Every exchange must receive something: a publisher, a binding or being an alternate.
    for i in 0..nx {
        let id = xid(i);
        let receives = edges.iter().any(|e| e.to == id)
            || nodes.iter().any(|n| matches!(n, RawNode::Exchange(x) if x.alternate.as_deref() == Some(id.as_str())));
        if !receives {
            let from = cid(i % nc);
            push_edge(&mut edges, edge(&from, &id));
        }
    }
    // A consumer that publishes onwards (that exchange fix-up included) or sends failures on
    // may feed a loop: keep its processing time above zero so that a loop cannot spin forever
    // at one instant.
    for node in &mut nodes {
        if let RawNode::Consumer(c) = node
            && let RawService::Constant { time } = &mut c.service
            && edges.iter().any(|e| e.from == c.id)
        {
            time.nanos = time.nanos.max(50_000);
        }
    }
    let duration = ms(duration_ms);
    let mut raw = RawScenario {
        version: FORMAT_VERSION,
        name,
        description,
        seed,
        duration,
        warmup: warmup_per_mille
            .map(|w| Duration::from_nanos(duration.nanos * w / 1000))
            .filter(|w| w.nanos > 0),
        sample_every: samples.map(|k| Duration::from_nanos(duration.nanos / k)),
        limits,
        nodes,
        edges,
        faults: Vec::new(),
    };
    for (e, latency) in latencies.into_iter().enumerate() {
        if latency.is_some() && link_takes(&raw, e, LinkUse::Latency) {
            raw.edges[e].latency = latency;
        }
    }
    raw.faults = faults
        .into_iter()
        .filter_map(|f| {
            let (_, target, kind) = resolve_fault(&raw, f.what, f.target)?;
            Some(RawFault {
                at: Duration::from_nanos(duration.nanos * f.at_per_mille / 1000),
                target,
                kind,
                duration: f.duration,
            })
        })
        .collect();
    raw
}

pub(crate) fn plain_names() -> BoxedStrategy<(String, String)> {
    (select(&["", "random", "gen"][..]), Just(""))
        .prop_map(|(n, d)| (n.to_string(), d.to_string()))
        .boxed()
}

/// Names and descriptions with quotes, backslashes, newlines and unicode, for the round trip.
pub(crate) fn odd_names() -> BoxedStrategy<(String, String)> {
    (
        "\\PC{0,20}",
        prop_oneof![Just(String::new()), "[a-z \"\\\\\n\t{}()/*é日]{0,40}"],
    )
        .boxed()
}

pub(crate) fn scenario() -> impl Strategy<Value = RawScenario> {
    parts(plain_names()).prop_map(assemble)
}

pub(crate) fn scenario_with_odd_names() -> impl Strategy<Value = RawScenario> {
    parts(odd_names()).prop_map(assemble)
}
