//! The inspector: a typed editor for every parameter of the selected node or
//! edge, or of the scenario when nothing is selected.
//!
//! Durations, rates and sizes are typed with their units (`250ms`, `100/s`,
//! `1KiB`) and parsed by the scenario format's own parsers; every field has a
//! tooltip in plain words. The scenario checker's problems for the selection are
//! shown inline, with the same messages the loader gives. An edit works on a copy
//! of the node and comes out as one [`Edit`].

use std::collections::BTreeMap;
use std::fmt::Display;
use std::str::FromStr;

use eframe::egui::{self, Color32, RichText};

use super::document::{Document, Edit};
use super::style::{self, Kind};
use crate::broker::matching::XMatch;
use crate::scenario::check::Problem;
use crate::scenario::guarantees::{
    AckMode, Acks, Backoff, CallPolicy, CircuitBreaker, Commit, Delivery, EdgeKind, Idempotency,
    Jitter, OffsetReset, PublishRetry,
};
use crate::scenario::raw::{
    ExchangeType, Overflow, Partitioner, RawArrival, RawEdge, RawKeys, RawNode, RawRateStep,
    RawScenario, RawService,
};
use crate::scenario::units::{Duration, Rate, Size};

/// One form: a grid of labelled fields that notes whether any changed.
struct Form<'u> {
    ui: &'u mut egui::Ui,
    changed: bool,
}

impl Form<'_> {
    fn row(&mut self, label: &str, help: &str, add: impl FnOnce(&mut egui::Ui) -> bool) {
        self.ui.label(label).on_hover_text(help);
        let changed = self.ui.push_id(label, |ui| add(ui)).inner;
        self.changed |= changed;
        self.ui.end_row();
    }

    fn text(&mut self, label: &str, help: &str, value: &mut String) {
        self.row(label, help, |ui| {
            ui.add(egui::TextEdit::singleline(value).desired_width(150.0))
                .on_hover_text(help)
                .changed()
        });
    }

    /// A checkbox that turns an optional group of settings on (with `default`) or off.
    fn toggle<T: Clone>(&mut self, label: &str, help: &str, value: &mut Option<T>, default: T) {
        self.row(label, help, |ui| {
            let mut on = value.is_some();
            let changed = ui.checkbox(&mut on, "").on_hover_text(help).changed();
            if changed {
                *value = on.then_some(default);
            }
            changed
        });
    }

    /// A list of words, typed comma-separated.
    fn list(&mut self, label: &str, help: &str, value: &mut Vec<String>) {
        let mut text = value.join(", ");
        self.row(label, help, |ui| {
            let changed = ui
                .add(egui::TextEdit::singleline(&mut text).desired_width(150.0))
                .on_hover_text(help)
                .changed();
            if changed {
                *value = text
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect();
            }
            changed
        });
    }

    /// Headers, typed as `key=value` pairs separated by commas.
    fn headers(&mut self, label: &str, help: &str, value: &mut BTreeMap<String, String>) {
        let mut text = value
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ");
        self.row(label, help, |ui| {
            let changed = ui
                .add(egui::TextEdit::singleline(&mut text).desired_width(150.0))
                .on_hover_text(help)
                .changed();
            if changed {
                *value = text
                    .split(',')
                    .filter_map(|pair| {
                        let (k, v) = pair.split_once('=')?;
                        let k = k.trim();
                        (!k.is_empty()).then(|| (k.to_string(), v.trim().to_string()))
                    })
                    .collect();
            }
            changed
        });
    }

    fn unit<T: FromStr + Display + PartialEq>(&mut self, label: &str, help: &str, value: &mut T) {
        self.row(label, help, |ui| unit_field(ui, value, help));
    }

    fn optional_unit<T: FromStr + Display + PartialEq + Clone>(
        &mut self,
        label: &str,
        help: &str,
        value: &mut Option<T>,
        default: T,
    ) {
        self.row(label, help, |ui| {
            let mut on = value.is_some();
            let mut changed = false;
            ui.horizontal(|ui| {
                if ui.checkbox(&mut on, "").on_hover_text(help).changed() {
                    *value = on.then(|| default.clone());
                    changed = true;
                }
                if let Some(v) = value {
                    changed |= unit_field(ui, v, help);
                }
            });
            changed
        });
    }

    fn number<N: egui::emath::Numeric>(
        &mut self,
        label: &str,
        help: &str,
        value: &mut N,
        range: std::ops::RangeInclusive<N>,
    ) {
        self.row(label, help, |ui| {
            ui.add(egui::DragValue::new(value).range(range))
                .on_hover_text(help)
                .changed()
        });
    }

    fn optional_number<N: egui::emath::Numeric>(
        &mut self,
        label: &str,
        help: &str,
        value: &mut Option<N>,
        default: N,
        range: std::ops::RangeInclusive<N>,
    ) {
        self.row(label, help, |ui| {
            let mut on = value.is_some();
            let mut changed = false;
            ui.horizontal(|ui| {
                if ui.checkbox(&mut on, "").on_hover_text(help).changed() {
                    *value = on.then_some(default);
                    changed = true;
                }
                if let Some(v) = value {
                    changed |= ui
                        .add(egui::DragValue::new(v).range(range))
                        .on_hover_text(help)
                        .changed();
                }
            });
            changed
        });
    }

    fn fraction(&mut self, label: &str, help: &str, value: &mut f64) {
        self.row(label, help, |ui| {
            ui.add(egui::Slider::new(value, 0.0..=1.0).max_decimals(3))
                .on_hover_text(help)
                .changed()
        });
    }

    fn flag(&mut self, label: &str, help: &str, value: &mut bool) {
        self.row(label, help, |ui| {
            ui.checkbox(value, "").on_hover_text(help).changed()
        });
    }

    /// A choice among variants: `options` gives (label, value-if-chosen) pairs.
    fn choice<T: Clone>(
        &mut self,
        label: &str,
        help: &str,
        value: &mut T,
        current: &str,
        options: &[(&str, T)],
    ) {
        self.row(label, help, |ui| {
            let mut changed = false;
            egui::ComboBox::from_id_salt(label)
                .selected_text(current)
                .show_ui(ui, |ui| {
                    for (name, option) in options {
                        if ui.selectable_label(*name == current, *name).clicked()
                            && *name != current
                        {
                            *value = option.clone();
                            changed = true;
                        }
                    }
                })
                .response
                .on_hover_text(help);
            changed
        });
    }
}

/// A text field for a value with units, kept as typed until it parses.
fn unit_field<T: FromStr + Display + PartialEq>(
    ui: &mut egui::Ui,
    value: &mut T,
    help: &str,
) -> bool {
    let id = ui.scope_id().with("unit");
    let shown = value.to_string();
    let mut text: String = ui
        .data_mut(|d| d.get_temp::<(String, String)>(id))
        .filter(|(for_value, _)| *for_value == shown)
        .map(|(_, text)| text)
        .unwrap_or_else(|| shown.clone());
    let response = ui
        .add(egui::TextEdit::singleline(&mut text).desired_width(110.0))
        .on_hover_text(help);
    let mut changed = false;
    let parsed = text.trim().parse::<T>();
    match parsed {
        Ok(v) => {
            if v != *value {
                *value = v;
                changed = true;
            }
            ui.data_mut(|d| d.insert_temp(id, (value.to_string(), text)));
        }
        Err(_) => {
            ui.data_mut(|d| d.insert_temp(id, (shown, text)));
            ui.colored_label(style::ALARM, "?").on_hover_text(
                "Not understood: write a number with its unit, like 250ms, 2s, 100/s or 4KiB",
            );
        }
    }
    let _ = response;
    changed
}

fn service_name(s: &RawService) -> &'static str {
    match s {
        RawService::Constant { .. } => "Constant",
        RawService::Exponential { .. } => "Exponential",
        RawService::Uniform { .. } => "Uniform",
        RawService::LogNormal { .. } => "LogNormal",
        RawService::Pareto { .. } => "Pareto",
    }
}

fn service_form(f: &mut Form<'_>, service: &mut RawService) {
    let ms = |n| Duration::from_millis(n);
    let current = service_name(service);
    f.choice(
        "service time",
        "How long processing one message takes: a fixed time, or drawn from a distribution. \
         Exponential is the textbook M/M/c case; Pareto has a heavy tail (rare very slow ones).",
        service,
        current,
        &[
            ("Constant", RawService::Constant { time: ms(10) }),
            ("Exponential", RawService::Exponential { mean: ms(10) }),
            (
                "Uniform",
                RawService::Uniform {
                    min: ms(5),
                    max: ms(15),
                },
            ),
            (
                "LogNormal",
                RawService::LogNormal {
                    mean: ms(10),
                    stddev: ms(5),
                },
            ),
            (
                "Pareto",
                RawService::Pareto {
                    scale: ms(5),
                    shape: 2.5,
                },
            ),
        ],
    );
    match service {
        RawService::Constant { time } => {
            f.unit("  time", "Every message takes exactly this long.", time)
        }
        RawService::Exponential { mean } => f.unit("  mean", "Mean processing time.", mean),
        RawService::Uniform { min, max } => {
            f.unit("  min", "Shortest processing time.", min);
            f.unit("  max", "Longest processing time.", max);
        }
        RawService::LogNormal { mean, stddev } => {
            f.unit("  mean", "Mean processing time.", mean);
            f.unit(
                "  stddev",
                "Standard deviation of the processing time.",
                stddev,
            );
        }
        RawService::Pareto { scale, shape } => {
            f.unit("  scale", "The shortest processing time.", scale);
            f.number(
                "  shape",
                "Tail index: smaller means a heavier tail (more very slow messages).",
                shape,
                1.01..=10.0,
            );
        }
    }
}

fn node_form(f: &mut Form<'_>, node: &mut RawNode) {
    let kind = Kind::of(node.kind_name());
    f.text(
        "id",
        "The node's name; also seeds its random stream, so renaming changes its draws.",
        node.id_mut(),
    );
    match node {
        RawNode::Producer(p) => {
            let rate = match &p.arrival {
                RawArrival::Constant { rate }
                | RawArrival::Poisson { rate }
                | RawArrival::OnOff { rate, .. } => *rate,
                RawArrival::Schedule { steps } => {
                    steps.first().map_or(Rate::per_sec(10.0), |s| s.rate)
                }
            };
            let current = match p.arrival {
                RawArrival::Constant { .. } => "Constant",
                RawArrival::Poisson { .. } => "Poisson",
                RawArrival::OnOff { .. } => "OnOff",
                RawArrival::Schedule { .. } => "Schedule",
            };
            f.choice(
                "arrivals",
                "When messages are produced: evenly spaced (constant), at random (Poisson, the \
                 usual model of independent users), in bursts (on/off) or following a schedule.",
                &mut p.arrival,
                current,
                &[
                    ("Constant", RawArrival::Constant { rate }),
                    ("Poisson", RawArrival::Poisson { rate }),
                    (
                        "OnOff",
                        RawArrival::OnOff {
                            rate,
                            on: Duration::from_secs(1),
                            off: Duration::from_secs(1),
                        },
                    ),
                    (
                        "Schedule",
                        RawArrival::Schedule {
                            steps: vec![RawRateStep {
                                at: Duration::ZERO,
                                rate,
                            }],
                        },
                    ),
                ],
            );
            match &mut p.arrival {
                RawArrival::Constant { rate } | RawArrival::Poisson { rate } => f.unit(
                    "  rate",
                    "Messages per second (100/s) or per minute (6000/min).",
                    rate,
                ),
                RawArrival::OnOff { rate, on, off } => {
                    f.unit("  rate", "Rate while on.", rate);
                    f.unit("  on", "How long each burst lasts.", on);
                    f.unit("  off", "How long the silence between bursts lasts.", off);
                }
                RawArrival::Schedule { steps } => {
                    for (i, step) in steps.iter_mut().enumerate() {
                        f.unit(
                            &format!("  step {i} at"),
                            "When this rate starts.",
                            &mut step.at,
                        );
                        f.unit(
                            &format!("  step {i} rate"),
                            "The rate from then on.",
                            &mut step.rate,
                        );
                    }
                    f.row("", "", |ui| {
                        let mut changed = false;
                        if ui.small_button("add step").clicked() {
                            let last = steps.last().map_or(Duration::ZERO, |s| s.at);
                            steps.push(RawRateStep {
                                at: Duration::from_nanos(last.nanos + 1_000_000_000),
                                rate,
                            });
                            changed = true;
                        }
                        if steps.len() > 1 && ui.small_button("remove last").clicked() {
                            steps.pop();
                            changed = true;
                        }
                        changed
                    });
                }
            }
            f.unit(
                "size",
                "Bytes per message (counts toward topic retention by size).",
                &mut p.size,
            );
            let current = match p.keys {
                RawKeys::None => "None",
                RawKeys::Uniform { .. } => "Uniform",
                RawKeys::Zipf { .. } => "Zipf",
            };
            f.choice(
                "keys",
                "Message keys: a topic puts equal keys in one partition (order per key); ordering \
                 is checked per key. Zipf makes a few keys hot.",
                &mut p.keys,
                current,
                &[
                    ("None", RawKeys::None),
                    ("Uniform", RawKeys::Uniform { count: 100 }),
                    (
                        "Zipf",
                        RawKeys::Zipf {
                            count: 100,
                            exponent: 1.0,
                        },
                    ),
                ],
            );
            match &mut p.keys {
                RawKeys::None => {}
                RawKeys::Uniform { count } => {
                    f.number("  count", "How many distinct keys.", count, 1..=1_000_000)
                }
                RawKeys::Zipf { count, exponent } => {
                    f.number("  count", "How many distinct keys.", count, 1..=1_000_000);
                    f.number(
                        "  exponent",
                        "Skew: 0 is uniform, 1 and above is very skewed.",
                        exponent,
                        0.0..=5.0,
                    );
                }
            }
            let mut key = p.routing_key.clone().unwrap_or_default();
            f.text(
                "routing key",
                "The key exchanges route on (direct: equal; topic: patterns with * and #).",
                &mut key,
            );
            p.routing_key = (!key.is_empty()).then_some(key);
            f.list(
                "routing keys",
                "Several routing keys, comma-separated: each message gets one of them at random.",
                &mut p.routing_keys,
            );
            f.headers(
                "headers",
                "Message headers as key=value pairs, comma-separated, for headers exchanges.",
                &mut p.headers,
            );
            f.optional_number(
                "priority",
                "Message priority, for queues with a max priority.",
                &mut p.priority,
                1,
                0..=255,
            );
            let current = format!("{:?}", p.acks);
            f.choice(
                "acks",
                "What a publish waits for. None: fire and forget. Leader (acks=1, publisher \
                 confirms): the leader has it, but a failover can lose it; to a queue, or \
                 through an exchange, every queue it reaches has taken it, and a full queue's \
                 nack makes the producer retry the whole message (duplicates in the others). \
                 All (acks=all): every in-sync replica has it, so a failover loses nothing.",
                &mut p.acks,
                &current,
                &[
                    ("None", Acks::None),
                    ("Leader", Acks::Leader),
                    ("All", Acks::All),
                ],
            );
            let default_retry = PublishRetry {
                max: 3,
                backoff: Duration::from_millis(100),
                timeout: Duration::from_secs(30),
            };
            f.toggle("publish retries", "Retry a publish that failed or got no ack in time. Without an idempotent producer, a retry of a write that did arrive is a duplicate.", &mut p.retries, default_retry);
            if let Some(retries) = &mut p.retries {
                f.number(
                    "  max",
                    "Most retries of one publish.",
                    &mut retries.max,
                    0..=100,
                );
                f.unit("  backoff", "Wait before a retry.", &mut retries.backoff);
                f.unit(
                    "  timeout",
                    "How long to wait for the ack before retrying.",
                    &mut retries.timeout,
                );
            }
            f.flag(
                "idempotent",
                "Kafka's idempotent producer: the broker drops a retried write it already has.",
                &mut p.idempotent,
            );
        }
        RawNode::Exchange(x) => {
            let current = format!("{:?}", x.exchange_type);
            f.choice(
                "type",
                "Direct: a binding matches an equal routing key. Fanout: every binding gets a \
                 copy. Topic: binding patterns, * is one word and # zero or more. Headers: \
                 bindings match message headers (all or any).",
                &mut x.exchange_type,
                &current,
                &[
                    ("Direct", ExchangeType::Direct),
                    ("Fanout", ExchangeType::Fanout),
                    ("Topic", ExchangeType::Topic),
                    ("Headers", ExchangeType::Headers),
                ],
            );
            let mut alternate = x.alternate.clone().unwrap_or_default();
            f.text("alternate", "RabbitMQ's alternate exchange: where messages that match no binding go, instead of being dropped.", &mut alternate);
            x.alternate = (!alternate.is_empty()).then_some(alternate);
        }
        RawNode::Queue(q) => {
            f.optional_number(
                "max length",
                "Most messages the queue holds; then the overflow policy applies.",
                &mut q.max_length,
                1000,
                1..=u64::MAX,
            );
            let current = format!("{:?}", q.overflow);
            f.choice(
                "overflow",
                "When full: drop the oldest message (drop-head, dead-lettered if there is a \
                 dead-letter edge) or refuse the new one (reject-publish).",
                &mut q.overflow,
                &current,
                &[
                    ("DropHead", Overflow::DropHead),
                    ("RejectPublish", Overflow::RejectPublish),
                ],
            );
            f.optional_unit("TTL", "Message time-to-live: a message waiting longer expires (to the dead-letter edge if any).", &mut q.ttl, Duration::from_secs(10));
            f.optional_number("max priority", "Priority levels (RabbitMQ's x-max-priority): higher priority messages are delivered first.", &mut q.max_priority, 5, 1..=255);
            f.flag("durable", "A durable queue keeps its messages through a broker failure; a transient one loses them.", &mut q.durable);
            let current = match q.delivery {
                Delivery::Push => "Push",
                Delivery::Pull { .. } => "Pull",
            };
            f.choice(
                "delivery",
                "Push: the broker sends messages to consumers up to their prefetch (RabbitMQ). \
                 Pull: consumers receive messages, which become invisible for the visibility \
                 timeout and come back if not deleted in time (SQS).",
                &mut q.delivery,
                current,
                &[
                    ("Push", Delivery::Push),
                    (
                        "Pull",
                        Delivery::Pull {
                            visibility_timeout: Duration::from_secs(30),
                            max_receive_count: None,
                        },
                    ),
                ],
            );
            if let Delivery::Pull {
                visibility_timeout,
                max_receive_count,
            } = &mut q.delivery
            {
                f.unit("  visibility timeout", "How long a received message stays invisible. Shorter than the processing time: it is delivered again while still being processed (duplicates).", visibility_timeout);
                f.optional_number("  max receive count", "SQS redrive: after this many receives the message goes to the dead-letter edge.", max_receive_count, 3, 1..=1000);
            }
            f.optional_number("max deliveries", "RabbitMQ's delivery limit: a message delivered this many times without success is dead-lettered.", &mut q.max_deliveries, 5, 1..=1000);
        }
        RawNode::Topic(t) => {
            f.number("partitions", "The log is split into partitions; each is read by one member of a group, so partitions bound a group's parallelism.", &mut t.partitions, 1..=10_000);
            let current = match t.partitioner {
                Partitioner::KeyHash => "KeyHash",
                Partitioner::RoundRobin => "RoundRobin",
                Partitioner::Sticky { .. } => "Sticky",
            };
            f.choice(
                "partitioner",
                "Which partition a record goes to: by the murmur2 hash of its key (Kafka's \
                 default; order per key), round-robin, or sticky batches.",
                &mut t.partitioner,
                current,
                &[
                    ("KeyHash", Partitioner::KeyHash),
                    ("RoundRobin", Partitioner::RoundRobin),
                    ("Sticky", Partitioner::Sticky { batch: 16 }),
                ],
            );
            if let Partitioner::Sticky { batch } = &mut t.partitioner {
                f.number(
                    "  batch",
                    "Records sent to one partition before moving on.",
                    batch,
                    1..=100_000,
                );
            }
            f.optional_unit("retention", "Segments whose records are all older than this are deleted at the next retention check, read or not: a group lagging behind loses them.", &mut t.retention, Duration::from_secs(60));
            f.optional_unit(
                "retention bytes",
                "Most bytes kept per partition; the oldest segments go first.",
                &mut t.retention_bytes,
                Size { bytes: 1 << 20 },
            );
            if t.retention.is_some() || t.retention_bytes.is_some() {
                f.optional_unit(
                    "segment bytes",
                    "Retention deletes whole log segments: a new one starts past this size. Kafka's default is 1 GiB.",
                    &mut t.segment_bytes,
                    Size { bytes: 1 << 20 },
                );
                f.optional_unit(
                    "segment roll",
                    "A new segment also starts when the current one is this old. Kafka's default is 7 days.",
                    &mut t.segment_roll,
                    Duration::from_secs(10),
                );
                f.optional_unit(
                    "retention check",
                    "How often the broker deletes expired segments. Kafka's default is 5 minutes: with it, short runs delete nothing.",
                    &mut t.retention_check,
                    Duration::from_secs(5),
                );
            }
            f.number(
                "replication factor",
                "Copies of each partition. With acks=all a write waits for the in-sync ones.",
                &mut t.replication_factor,
                1..=10,
            );
            f.number(
                "min in-sync replicas",
                "With acks=all, a write is refused when fewer replicas are in sync.",
                &mut t.min_insync_replicas,
                1..=10,
            );
            f.unit("replication delay", "How long a follower takes to copy a record; a leader failure loses what is not copied yet (acks=1).", &mut t.replication_delay);
            f.unit(
                "failover",
                "How long electing a new leader takes; publishes wait or fail meanwhile.",
                &mut t.failover,
            );
        }
        RawNode::Consumer(c) => {
            let mut group = c.group.clone().unwrap_or_default();
            f.text("group", "Kafka consumer group: members share the partitions, and the group has one committed offset per partition. Empty: the consumer's own id.", &mut group);
            c.group = (!group.is_empty()).then_some(group);
            f.number(
                "concurrency",
                "Messages processed at the same time (threads).",
                &mut c.concurrency,
                1..=10_000,
            );
            f.optional_number("prefetch", "RabbitMQ's prefetch (basic.qos): most unacknowledged messages pushed to this consumer. Large values hoard messages; 1 spreads them fairly.", &mut c.prefetch, 10, 1..=100_000);
            service_form(f, &mut c.service);
            let current = format!("{:?}", c.ack);
            f.choice(
                "ack",
                "Acknowledge before processing: a crash loses what was in hand (at-most-once). \
                 After processing: a crash redelivers it, so some are processed twice \
                 (at-least-once).",
                &mut c.ack,
                &current,
                &[
                    ("BeforeProcessing", AckMode::BeforeProcessing),
                    ("AfterProcessing", AckMode::AfterProcessing),
                ],
            );
            f.unit("ack delay", "Time between finishing a message and the broker holding its ack; a crash in this window redelivers a processed message.", &mut c.ack_delay);
            let current = match c.commit {
                Commit::AfterEach => "AfterEach",
                Commit::Interval { .. } => "Interval",
                Commit::Batch { .. } => "Batch",
                Commit::Transactional { .. } => "Transactional",
            };
            f.choice(
                "commit",
                "Topics: when the group's offsets are committed. Auto-commit every interval \
                 (Kafka's default, 5 s), after each record, after a batch, or in transactions \
                 with the outputs (exactly-once within the broker). After a crash, the group \
                 restarts from the last commit.",
                &mut c.commit,
                current,
                &[
                    ("AfterEach", Commit::AfterEach),
                    (
                        "Interval",
                        Commit::Interval {
                            every: Duration::from_secs(5),
                        },
                    ),
                    ("Batch", Commit::Batch { size: 100 }),
                    (
                        "Transactional",
                        Commit::Transactional {
                            every: Duration::from_millis(100),
                        },
                    ),
                ],
            );
            match &mut c.commit {
                Commit::Interval { every } | Commit::Transactional { every } => {
                    f.unit("  every", "Time between commits.", every)
                }
                Commit::Batch { size } => {
                    f.number("  size", "Records per commit.", size, 1..=100_000)
                }
                Commit::AfterEach => {}
            }
            let current = match c.idempotency {
                Idempotency::None => "None",
                Idempotency::Exact => "Exact",
                Idempotency::Window { .. } => "Window",
                Idempotency::TimeWindow { .. } => "TimeWindow",
            };
            f.choice(
                "idempotency",
                "A dedupe store of message ids: a redelivered message already processed is \
                 skipped. Exact remembers every id; a window remembers only the last N ids or \
                 the last span of time, so late duplicates slip through.",
                &mut c.idempotency,
                current,
                &[
                    ("None", Idempotency::None),
                    ("Exact", Idempotency::Exact),
                    ("Window", Idempotency::Window { count: 1000 }),
                    (
                        "TimeWindow",
                        Idempotency::TimeWindow {
                            span: Duration::from_secs(60),
                        },
                    ),
                ],
            );
            match &mut c.idempotency {
                Idempotency::Window { count } => {
                    f.number("  count", "Ids remembered.", count, 1..=10_000_000)
                }
                Idempotency::TimeWindow { span } => {
                    f.unit("  span", "How long an id is remembered.", span)
                }
                _ => {}
            }
            f.number("max attempts", "Tries per message, the first included; then it goes to the dead-letter edge (or is dropped).", &mut c.retry.max_attempts, 1..=1000);
            let current = match c.retry.backoff {
                Backoff::Immediate => "Immediate",
                Backoff::Fixed { .. } => "Fixed",
                Backoff::Exponential { .. } => "Exponential",
            };
            f.choice(
                "backoff",
                "Wait before a retry: none (immediate requeue), fixed, or exponential with a cap \
                 and jitter, which spreads retries so a failing dependency is not hammered.",
                &mut c.retry.backoff,
                current,
                &[
                    ("Immediate", Backoff::Immediate),
                    (
                        "Fixed",
                        Backoff::Fixed {
                            delay: Duration::from_secs(1),
                        },
                    ),
                    (
                        "Exponential",
                        Backoff::Exponential {
                            base: Duration::from_millis(100),
                            cap: Duration::from_secs(10),
                            jitter: Jitter::Full,
                        },
                    ),
                ],
            );
            match &mut c.retry.backoff {
                Backoff::Fixed { delay } => f.unit("  delay", "Wait before each retry.", delay),
                Backoff::Exponential { base, cap, jitter } => {
                    f.unit(
                        "  base",
                        "Wait before the first retry; doubled each time.",
                        base,
                    );
                    f.unit("  cap", "Longest wait.", cap);
                    let current = format!("{jitter:?}");
                    f.choice(
                        "  jitter",
                        "Randomness in the wait: none, full (0 to the wait), equal (half to the \
                         wait) or decorrelated (from the previous wait).",
                        jitter,
                        &current,
                        &[
                            ("None", Jitter::None),
                            ("Full", Jitter::Full),
                            ("Equal", Jitter::Equal),
                            ("Decorrelated", Jitter::Decorrelated),
                        ],
                    );
                }
                Backoff::Immediate => {}
            }
            f.fraction("failure probability", "Chance that processing a message fails (a transient error); it is retried per the policy.", &mut c.failure_probability);
            f.fraction("poison fraction", "Fraction of messages that always fail: they end in the dead-letter queue after max attempts.", &mut c.poison_fraction);
            let current = format!("{:?}", c.auto_offset_reset);
            f.choice(
                "auto offset reset",
                "Topics: where a group starts without a valid committed offset (retention deleted \
                 it): the earliest record kept, or the latest (skipping the rest).",
                &mut c.auto_offset_reset,
                &current,
                &[
                    ("Earliest", OffsetReset::Earliest),
                    ("Latest", OffsetReset::Latest),
                ],
            );
            f.unit(
                "session timeout",
                "Topics: how long a crashed member stays in its group before the group rebalances.",
                &mut c.session_timeout,
            );
            f.unit(
                "rebalance time",
                "Topics: how long a rebalance pauses the whole group.",
                &mut c.rebalance_time,
            );
        }
        RawNode::Service(s) => {
            f.number(
                "workers",
                "Requests handled at the same time.",
                &mut s.concurrency,
                1..=10_000,
            );
            f.optional_number(
                "queue limit",
                "Most requests waiting for a worker; more are refused at once.",
                &mut s.queue_limit,
                100,
                0..=1_000_000,
            );
            service_form(f, &mut s.service);
        }
    }
    let _ = kind;
}

fn edge_form(f: &mut Form<'_>, edge: &mut RawEdge) {
    let current = format!("{:?}", edge.kind);
    f.choice(
        "kind",
        "Normal: messages flow here. DeadLetter: where a queue or consumer sends what expired, \
         overflowed or failed too often. Retry: where a consumer sends failed messages to be \
         tried later.",
        &mut edge.kind,
        &current,
        &[
            ("Normal", EdgeKind::Normal),
            ("DeadLetter", EdgeKind::DeadLetter),
            ("Retry", EdgeKind::Retry),
        ],
    );
    let mut key = edge.key.clone().unwrap_or_default();
    f.text("binding key", "From an exchange: the binding key (direct: equal to the routing key; topic: a pattern). From a consumer: the routing key it publishes with.", &mut key);
    edge.key = (!key.is_empty()).then_some(key);
    f.headers(
        "binding headers",
        "From a headers exchange: the headers this binding matches, as key=value pairs.",
        &mut edge.headers,
    );
    let current = match edge.x_match {
        None => "default (all)",
        Some(XMatch::All) => "all",
        Some(XMatch::Any) => "any",
        Some(XMatch::AllWithX) => "all-with-x",
        Some(XMatch::AnyWithX) => "any-with-x",
    };
    f.choice(
        "x-match",
        "Headers bindings: whether all the binding's headers must match, or any one.",
        &mut edge.x_match,
        current,
        &[
            ("default (all)", None),
            ("all", Some(XMatch::All)),
            ("any", Some(XMatch::Any)),
            ("all-with-x", Some(XMatch::AllWithX)),
            ("any-with-x", Some(XMatch::AnyWithX)),
        ],
    );
    f.optional_unit(
        "latency",
        "Network latency on this edge: each publish (from a producer or a consumer), each delivery and acknowledgement (from a queue to its consumer), or each call and answer (between services) takes this long.",
        &mut edge.latency,
        Duration::from_millis(5),
    );
    f.toggle("synchronous call", "Between services: the caller waits for the answer, with a timeout, retries and an optional circuit breaker.", &mut edge.call, CallPolicy { timeout: Duration::from_secs(1), retries: 0, backoff: Duration::ZERO, circuit_breaker: None });
    if let Some(call) = &mut edge.call {
        f.unit(
            "  timeout",
            "The caller gives up after this long.",
            &mut call.timeout,
        );
        f.number(
            "  retries",
            "Retries after a failure or timeout.",
            &mut call.retries,
            0..=100,
        );
        f.unit("  backoff", "Wait before a retry.", &mut call.backoff);
        f.toggle("  circuit breaker", "Stops calling a failing service for a cool-down (open), then lets a few calls through (half-open), and closes again if they succeed.", &mut call.circuit_breaker, CircuitBreaker { failure_rate: 0.5, window: 20, cooldown: Duration::from_secs(5), half_open_calls: 3 });
        if let Some(breaker) = &mut call.circuit_breaker {
            f.fraction(
                "    failure rate",
                "Opens when this share of the last calls failed.",
                &mut breaker.failure_rate,
            );
            f.number(
                "    window",
                "Calls the failure rate is measured over.",
                &mut breaker.window,
                1..=10_000,
            );
            f.unit(
                "    cool-down",
                "How long it stays open.",
                &mut breaker.cooldown,
            );
            f.number(
                "    half-open calls",
                "Trial calls let through after the cool-down.",
                &mut breaker.half_open_calls,
                1..=100,
            );
        }
    }
}

fn settings_form(f: &mut Form<'_>, raw: &mut RawScenario) {
    f.text(
        "name",
        "The scenario's name, shown in reports.",
        &mut raw.name,
    );
    f.number(
        "seed",
        "Random seed: the same scenario and seed give the same run, every time.",
        &mut raw.seed,
        0..=u64::MAX,
    );
    f.unit(
        "duration",
        "Simulated time the run covers.",
        &mut raw.duration,
    );
    f.optional_unit(
        "warm-up",
        "Time at the start left out of the report's rates and latencies.",
        &mut raw.warmup,
        Duration::from_secs(1),
    );
    f.optional_unit(
        "sample every",
        "Interval between points of the plots' time series.",
        &mut raw.sample_every,
        Duration::from_millis(100),
    );
    let help = "What the scenario shows, for whoever opens it next.";
    let label = f.ui.label("description").on_hover_text(help);
    f.changed |=
        f.ui.add(
            egui::TextEdit::multiline(&mut raw.description)
                .desired_rows(4)
                .desired_width(220.0),
        )
        .labelled_by(label.id)
        .changed();
    f.ui.end_row();
}

/// Shows the problems whose path starts with `prefix`.
fn problems_ui(ui: &mut egui::Ui, problems: &[Problem], prefix: &str) {
    for p in problems.iter().filter(|p| {
        p.path == prefix
            || p.path.starts_with(&format!("{prefix}."))
            || p.path.starts_with(&format!("{prefix}["))
    }) {
        ui.label(RichText::new(format!("{}: {}", p.path, p.message)).color(style::ALARM));
    }
}

/// The inspector panel. `problems` are the checker's for the whole scenario.
pub fn ui(
    ui: &mut egui::Ui,
    doc: &Document,
    selection: &super::canvas::Selection,
    problems: &[Problem],
) -> Option<Edit> {
    let mut edit = None;
    egui::ScrollArea::vertical().show(ui, |ui| {
        if let [id] = selection.nodes.iter().collect::<Vec<_>>()[..]
            && selection.edges.is_empty()
            && let Some(index) = doc.node_index(id)
            && let Some(original) = doc.raw.nodes.get(index)
        {
            let kind = Kind::of(original.kind_name());
            ui.heading(RichText::new(kind.label()).color(kind.color()));
            ui.label(RichText::new(kind.help()).small().weak());
            ui.separator();
            let mut node = original.clone();
            let changed = grid(ui, "node", |f| node_form(f, &mut node));
            problems_ui(ui, problems, &format!("nodes[{index}]"));
            if changed && node != *original {
                edit = Some(Edit::SetNode { index, node });
            }
        } else if let [&index] = selection.edges.iter().collect::<Vec<_>>()[..]
            && selection.nodes.is_empty()
            && let Some(original) = doc.raw.edges.get(index)
        {
            ui.heading(format!("Edge {} -> {}", original.from, original.to));
            ui.label(
                RichText::new(style::edge_help(original.kind))
                    .small()
                    .weak(),
            );
            ui.separator();
            let mut e = original.clone();
            let changed = grid(ui, "edge", |f| edge_form(f, &mut e));
            problems_ui(ui, problems, &format!("edges[{index}]"));
            if changed && e != *original {
                edit = Some(Edit::SetEdge { index, edge: e });
            }
        } else if !selection.is_empty() {
            ui.label(format!(
                "{} nodes and {} edges selected. Delete removes them; Ctrl+D duplicates.",
                selection.nodes.len(),
                selection.edges.len()
            ));
        } else {
            ui.heading("Scenario");
            ui.label(
                RichText::new("Select a node or an edge to edit it.")
                    .small()
                    .weak(),
            );
            ui.separator();
            let mut settings = doc.raw.clone();
            let changed = grid(ui, "settings", |f| settings_form(f, &mut settings));
            for p in problems
                .iter()
                .filter(|p| !p.path.starts_with("nodes[") && !p.path.starts_with("edges["))
            {
                ui.label(RichText::new(format!("{}: {}", p.path, p.message)).color(style::ALARM));
            }
            if changed && settings != doc.raw {
                edit = Some(Edit::SetSettings(Box::new(settings)));
            }
        }
        if !problems.is_empty() {
            ui.separator();
            ui.label(
                RichText::new(format!(
                    "{} problem(s) in the scenario: fix them to run.",
                    problems.len()
                ))
                .color(Color32::from_rgb(0xe0, 0x9a, 0x20)),
            );
        }
    });
    edit
}

fn grid(ui: &mut egui::Ui, id: &str, add: impl FnOnce(&mut Form<'_>)) -> bool {
    egui::Grid::new(id)
        .num_columns(2)
        .spacing([10.0, 6.0])
        .striped(true)
        .show(ui, |ui| {
            let mut form = Form { ui, changed: false };
            add(&mut form);
            form.changed
        })
        .inner
}
