//! The dock of live plots, sharing the simulated-time axis, and the report panel.

use std::collections::BTreeMap;

use eframe::egui;
use egui_plot::{Legend, Line, Plot, PlotPoints};

use super::experiments::{Compare, Replicate};
use super::runner::Point;
use crate::report::Report;
use crate::report::series::{NodeSeries, Series};
use crate::report::status::Consequences;

/// Which plot the dock shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tab {
    #[default]
    Throughput,
    Latency,
    Depth,
    Lag,
    Failures,
    Trace,
    Report,
}

impl Tab {
    pub const ALL: [Tab; 7] = [
        Tab::Throughput,
        Tab::Latency,
        Tab::Depth,
        Tab::Lag,
        Tab::Failures,
        Tab::Trace,
        Tab::Report,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Tab::Throughput => "Throughput",
            Tab::Latency => "Latency",
            Tab::Depth => "Queue depth",
            Tab::Lag => "Consumer lag",
            Tab::Failures => "Failures",
            Tab::Trace => "Message trace",
            Tab::Report => "Report",
        }
    }
}

/// The time series received so far for the current run.
#[derive(Default)]
pub struct Plots {
    pub tab: Tab,
    pub points: Vec<Point>,
    /// Replications of the open scenario, shown in the Report tab.
    pub replicate: Replicate,
    /// Another design run to its end: its lines overlaid (dashed), its report beside.
    pub compare: Compare,
    /// Show only the last `window_s` seconds of simulated time.
    pub rolling: bool,
    pub window_s: f64,
    /// The Failures tab draws each node's own counts instead of the run's.
    pub failures_per_node: bool,
    /// When each fault of the run begins (seconds) and what it is: a marker on every plot.
    pub faults: Vec<(f64, String)>,
}

impl Plots {
    pub fn new() -> Self {
        Self {
            window_s: 30.0,
            ..Default::default()
        }
    }

    /// Takes new points; points of an earlier run are dropped.
    pub fn extend(&mut self, points: Vec<Point>) {
        for point in points {
            if self
                .points
                .last()
                .is_some_and(|last| last.load != point.load)
            {
                self.points.clear();
            }
            self.points.push(point);
        }
    }

    fn visible(&self) -> &[Point] {
        let Some(last) = self.points.last() else {
            return &[];
        };
        if !self.rolling {
            return &self.points;
        }
        let from = last.time_s - self.window_s;
        let start = self.points.partition_point(|p| p.time_s < from);
        &self.points[start..]
    }

    /// The dock; `trace_ui` draws the message-trace tab.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        report: Option<&Report>,
        scenario: Option<&crate::scenario::Scenario>,
        trace_ui: impl FnOnce(&mut egui::Ui),
    ) -> Option<Export> {
        let mut export = None;
        self.compare.poll();
        ui.horizontal(|ui| {
            for tab in Tab::ALL {
                ui.selectable_value(&mut self.tab, tab, tab.label());
            }
            ui.separator();
            ui.checkbox(&mut self.rolling, "rolling window")
                .on_hover_text(
                    "Show only the last seconds of simulated time instead of the whole run",
                );
            if self.rolling {
                ui.add(
                    egui::DragValue::new(&mut self.window_s)
                        .range(1.0..=3600.0)
                        .suffix(" s"),
                );
            }
        });
        let mut per_node = self.failures_per_node;
        let lines = Lines {
            points: self.visible(),
            other: self.compare.done().map(|o| &o.series),
            faults: &self.faults,
        };
        let plotted = !matches!(self.tab, Tab::Report | Tab::Trace);
        if plotted && lines.points.len() < 2 && lines.other.is_none() {
            // No axes with made-up ranges before the run has data (a line needs two
            // points); the panel keeps its height.
            ui.add_space(12.0);
            ui.label(
                egui::RichText::new("Press Run: the plots fill as the simulation runs.").weak(),
            );
            ui.allocate_space(ui.available_size());
            return export;
        }
        match self.tab {
            Tab::Throughput => throughput_ui(ui, &lines),
            Tab::Latency => latency_ui(ui, &lines),
            Tab::Depth => depth_ui(ui, &lines),
            Tab::Lag => lag_ui(ui, &lines),
            Tab::Failures => failures_ui(ui, &lines, &mut per_node),
            Tab::Report => {
                export = report_ui(ui, report, &mut self.replicate, &self.compare, scenario)
            }
            Tab::Trace => trace_ui(ui),
        }
        self.failures_per_node = per_node;
        export
    }
}

/// The live run's points and the compared design's series, as plot lines.
struct Lines<'a> {
    points: &'a [Point],
    /// The compared design's series, drawn dashed and named with a "(B)".
    other: Option<&'a Series>,
    faults: &'a [(f64, String)],
}

impl Lines<'_> {
    /// The live line of figure `f`; each figure has one colour.
    fn line(&self, name: &str, f: &dyn Fn(&Point) -> Option<f64>) -> Line<'_> {
        Line::new(
            name.to_string(),
            self.points
                .iter()
                .filter_map(|p| Some([p.time_s, f(p)?]))
                .collect::<PlotPoints<'_>>(),
        )
        .color(colour(name))
    }

    /// The compared design's line for `column`, dashed, in the same colour as its twin.
    fn overlay(&self, name: &str, column: &[f64]) -> Line<'_> {
        let times = self.other.map_or(&[][..], |s| s.time_s.as_slice());
        Line::new(
            format!("{name} (B)"),
            times
                .iter()
                .zip(column)
                .map(|(t, v)| [*t, *v])
                .collect::<PlotPoints<'_>>(),
        )
        .color(colour(name))
        .style(egui_plot::LineStyle::dashed_loose())
    }

    /// A dashed vertical line where each fault began and where each rebalance did, once
    /// the run has reached it (a scheduled fault is not drawn ahead of its time).
    fn markers(&self, p: &mut egui_plot::PlotUi<'_>) {
        let dashed = egui_plot::LineStyle::dashed_dense();
        let reached = self.points.last().map_or(f64::NEG_INFINITY, |p| p.time_s);
        for (at, what) in self.faults.iter().filter(|(at, _)| *at <= reached) {
            p.vline(
                egui_plot::VLine::new(format!("fault: {what}"), *at)
                    .color(egui::Color32::from_rgb(0xe0, 0x40, 0x40))
                    .style(dashed),
            );
        }
        for pair in self.points.windows(2) {
            if pair[1].rebalances > pair[0].rebalances {
                p.vline(
                    egui_plot::VLine::new("rebalance", pair[1].time_s)
                        .color(egui::Color32::from_rgb(0xf0, 0xa8, 0x30))
                        .style(dashed),
                );
            }
        }
    }

    /// The compared design's nodes.
    fn other_nodes(&self) -> &[NodeSeries] {
        self.other.map_or(&[][..], |s| s.nodes.as_slice())
    }
}

/// A plot on the shared simulated-time axis.
fn plot(id: &str, y: &str) -> Plot<'static> {
    Plot::new(id)
        .legend(Legend::default().follow_insertion_order(true))
        .x_axis_label("simulated time (s)")
        .y_axis_label(y.to_string())
        .link_axis(egui::Id::unique("time-axis"), [true, false])
        .link_cursor(egui::Id::unique("time-axis"), [true, false])
        .allow_scroll(false)
}

/// With fan-out, "processed" counts every copy: the plot says how many copies a message
/// makes, and draws them, so processed above produced is not a mystery.
fn throughput_ui(ui: &mut egui::Ui, lines: &Lines<'_>) {
    let copies = fan_out(lines.points);
    if let Some(copies) = copies {
        ui.label(
            egui::RichText::new(format!(
                "Fan-out: each message becomes {copies:.1} copies on average, and \
                 \"processed\" counts copies, so it can be above \"produced\"."
            ))
            .small(),
        );
    }
    plot("throughput", "messages / s").show(ui, |p| {
        lines.markers(p);
        p.line(lines.line("produced (in)", &|p| Some(p.produced_per_s)));
        if copies.is_some() {
            p.line(lines.line("copies (in + fan-out)", &|p| {
                Some(p.produced_per_s + p.fanned_out_per_s)
            }));
        }
        p.line(lines.line("processed (out)", &|p| Some(p.processed_per_s)));
        if let Some(s) = lines.other {
            p.line(lines.overlay("produced (in)", &s.produced_per_s));
            p.line(lines.overlay("processed (out)", &s.processed_per_s));
        }
    });
}

/// Copies per produced message over `points`, when fan-out made more than one.
fn fan_out(points: &[Point]) -> Option<f64> {
    let (produced, fanned) = points.iter().fold((0.0, 0.0), |(p, f), pt| {
        (p + pt.produced_per_s, f + pt.fanned_out_per_s)
    });
    (produced > 0.0 && fanned > 0.0).then(|| (produced + fanned) / produced)
}

fn latency_ui(ui: &mut egui::Ui, lines: &Lines<'_>) {
    plot("latency", "end-to-end latency (ms)").show(ui, |p| {
        lines.markers(p);
        for (i, name) in ["p50", "p95", "p99"].into_iter().enumerate() {
            p.line(lines.line(name, &|p| p.latency_ms.map(|l| l[i])));
        }
        if let Some(s) = lines.other {
            p.line(lines.overlay("p50", &s.latency_p50_ms));
            p.line(lines.overlay("p95", &s.latency_p95_ms));
            p.line(lines.overlay("p99", &s.latency_p99_ms));
        }
    });
}

/// Ready and unacknowledged messages per queue.
fn depth_ui(ui: &mut egui::Ui, lines: &Lines<'_>) {
    let names = names(
        lines
            .points
            .iter()
            .flat_map(|p| p.queues.iter().map(|q| q.0.clone())),
    );
    plot("depth", "messages").show(ui, |p| {
        lines.markers(p);
        for name in &names {
            p.line(lines.line(&format!("{name} ready"), &|pt| {
                pt.queues.iter().find(|q| &q.0 == name).map(|q| q.1 as f64)
            }));
            p.line(lines.line(&format!("{name} unacked"), &|pt| {
                pt.queues.iter().find(|q| &q.0 == name).map(|q| q.2 as f64)
            }));
        }
        for node in lines.other_nodes() {
            if node.kind == crate::scenario::Kind::Queue {
                let ready: Vec<f64> = node.depth.iter().map(|&v| v as f64).collect();
                p.line(lines.overlay(&format!("{} ready", node.id), &ready));
            }
        }
    });
}

/// A group's lag per partition at one point.
fn lags_of<'p>(point: &'p Point, group: &str) -> Option<&'p [u64]> {
    point
        .lags
        .iter()
        .find(|l| l.0 == group)
        .map(|l| l.1.as_slice())
}

/// Each group's lag in total and, for up to 12 partitions, per partition.
fn lag_ui(ui: &mut egui::Ui, lines: &Lines<'_>) {
    let mut partitions: BTreeMap<String, usize> = BTreeMap::new();
    for p in lines.points {
        for (group, lags) in &p.lags {
            let n = partitions.entry(group.clone()).or_default();
            *n = (*n).max(lags.len());
        }
    }
    plot("lag", "records behind").show(ui, |p| {
        lines.markers(p);
        for (group, &count) in &partitions {
            p.line(lines.line(&format!("{group} (total)"), &|pt| {
                lags_of(pt, group).map(|l| l.iter().sum::<u64>() as f64)
            }));
            if count <= 12 {
                for partition in 0..count {
                    p.line(lines.line(&format!("{group} p{partition}"), &|pt| {
                        lags_of(pt, group)
                            .and_then(|l| l.get(partition))
                            .map(|&v| v as f64)
                    }));
                }
            }
        }
        // The compared design keeps a topic's lag summed over its groups.
        for node in lines.other_nodes() {
            if node.kind == crate::scenario::Kind::Topic {
                let lag: Vec<f64> = node.depth.iter().map(|&v| v as f64).collect();
                p.line(lines.overlay(&format!("{} lag, all groups", node.id), &lag));
            }
        }
    });
}

/// The run's failure counts so far, or, split per node, each consumer's and queue's own
/// (what the pills on the canvas show), one line per node and consequence that occurred.
fn failures_ui(ui: &mut egui::Ui, lines: &Lines<'_>, per_node: &mut bool) {
    ui.checkbox(per_node, "per node").on_hover_text(
        "One line per node and consequence: what each consumer and queue lost, did twice, \
         dead-lettered or reordered, counted where it happened",
    );
    if *per_node {
        let nodes = names(
            lines
                .points
                .iter()
                .flat_map(|p| p.nodes.iter().map(|n| n.0.clone())),
        );
        plot("failures", "messages so far").show(ui, |p| {
            lines.markers(p);
            for node in &nodes {
                for (what, figure) in CONSEQUENCES {
                    let of = |pt: &Point| {
                        let c = pt.nodes.iter().find(|n| &n.0 == node).map(|n| n.1);
                        Some(c.map_or(0, |c| figure(&c)) as f64)
                    };
                    if lines.points.last().and_then(of).is_some_and(|v| v > 0.0) {
                        p.line(lines.line(&format!("{node} {what}"), &of));
                    }
                }
            }
        });
        return;
    }
    plot("failures", "messages so far").show(ui, |p| {
        lines.markers(p);
        p.line(lines.line("retries", &|p| Some(p.retries as f64)));
        p.line(lines.line("dead-lettered", &|p| Some(p.dead_lettered as f64)));
        p.line(lines.line("duplicates", &|p| Some(p.duplicates as f64)));
        p.line(lines.line("lost", &|p| Some(p.lost as f64)));
        p.line(lines.line("reordered", &|p| Some(p.reordered as f64)));
    });
}

/// A node's consequences by name, for the Failures tab's per-node lines.
type Figure = fn(&Consequences) -> u64;
const CONSEQUENCES: [(&str, Figure); 4] = [
    ("lost", |c| c.lost),
    ("duplicates", |c| c.duplicates),
    ("dead-lettered", |c| c.dead_lettered),
    ("reordered", |c| c.reordered),
];

/// A line's colour, from its name, so that a design and the one compared with it draw the
/// same figure in the same colour (a topic's summed lag takes its groups' total's).
fn colour(name: &str) -> egui::Color32 {
    const PALETTE: [egui::Color32; 8] = [
        egui::Color32::from_rgb(0x4e, 0x9a, 0xf0),
        egui::Color32::from_rgb(0xf0, 0x8a, 0x3c),
        egui::Color32::from_rgb(0x5c, 0xc8, 0x6e),
        egui::Color32::from_rgb(0xe0, 0x5a, 0x6a),
        egui::Color32::from_rgb(0xb0, 0x84, 0xf0),
        egui::Color32::from_rgb(0xe8, 0xd0, 0x4a),
        egui::Color32::from_rgb(0x4a, 0xd0, 0xd0),
        egui::Color32::from_rgb(0xd0, 0xd0, 0xd0),
    ];
    // The usual figures get colours far apart; others one from a hash of the name.
    let known = [
        ("p50", 0),
        ("p95", 1),
        ("p99", 3),
        ("produced", 0),
        ("copies", 5),
        ("processed", 2),
    ];
    if let Some(&(_, i)) = known.iter().find(|(prefix, _)| name.starts_with(prefix)) {
        return PALETTE[i];
    }
    // FNV-1a: stable across runs and platforms.
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    PALETTE[(hash % PALETTE.len() as u64) as usize]
}

fn names(all: impl Iterator<Item = String>) -> Vec<String> {
    let mut names: Vec<String> = all.collect();
    names.sort();
    names.dedup();
    names
}

/// A request to save the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Export {
    Json,
    Csv,
}

fn report_ui(
    ui: &mut egui::Ui,
    report: Option<&Report>,
    replicate: &mut Replicate,
    compare: &Compare,
    scenario: Option<&crate::scenario::Scenario>,
) -> Option<Export> {
    let Some(report) = report else {
        ui.label("Run the scenario to see its report.");
        return None;
    };
    let mut export = None;
    ui.horizontal(|ui| {
        if ui.button("Export JSON…").clicked() {
            export = Some(Export::Json);
        }
        if ui.button("Export CSV…").clicked() {
            export = Some(Export::Csv);
        }
        ui.label("The same report `evlab run` prints.");
    });
    let monospace = |ui: &mut egui::Ui, text: String| {
        ui.add(egui::Label::new(egui::RichText::new(text).monospace()).extend());
    };
    egui::ScrollArea::both().show(ui, |ui| {
        replicate.ui(ui, scenario);
        ui.separator();
        match &compare.other {
            Some(Ok(other)) => {
                // Side by side, each report scrolls on its own rather than running into the other.
                ui.columns(2, |columns| {
                    let tables = [
                        ("A: this design (live)".to_string(), report.to_table()),
                        (
                            format!("B: {} (run to its end)", other.label),
                            other.report.to_table(),
                        ),
                    ];
                    for (column, (title, table)) in columns.iter_mut().zip(tables) {
                        column.strong(title.as_str());
                        egui::ScrollArea::horizontal()
                            .id_salt(title.as_str())
                            .show(column, |ui| monospace(ui, table));
                    }
                });
            }
            Some(Err(why)) => {
                ui.colored_label(
                    ui.visuals().error_fg_color,
                    format!("The design to compare with did not run: {why}"),
                );
                monospace(ui, report.to_table());
            }
            None if compare.running() => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label("running the design to compare with…");
                });
                monospace(ui, report.to_table());
            }
            None => monospace(ui, report.to_table()),
        }
    });
    export
}
