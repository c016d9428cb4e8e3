//! The dock of live plots, sharing the simulated-time axis, and the report panel:
//! `figures.rs` draws each plot, `report.rs` the Report tab.

use std::cell::RefCell;
use std::collections::BTreeSet;

use eframe::egui;
use egui_plot::{Line, Plot, PlotPoints};

use self::figures::{depth_ui, failures_ui, lag_ui, latency_ui, throughput_ui};
pub use self::report::Export;
use self::report::report_ui;
use super::experiments::{Compare, Replicate};
use super::runner::Point;
use crate::report::Report;
use crate::report::series::{NodeSeries, Series};

mod figures;
mod report;

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
    /// The Consumer lag tab's picker: one group (`topic/group`) or all, and one partition
    /// or all of them.
    pub lag_pick: (Option<String>, Option<usize>),
    /// Lines the user unticked in a legend, by name.
    pub hidden: BTreeSet<String>,
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
        let mut pick = self.lag_pick.clone();
        let hidden = RefCell::new(std::mem::take(&mut self.hidden));
        let lines = Lines {
            points: self.visible(),
            other: self.compare.done().map(|o| &o.series),
            faults: &self.faults,
            legend: RefCell::default(),
            hidden: &hidden,
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
            self.hidden = hidden.into_inner();
            return export;
        }
        match self.tab {
            Tab::Throughput => throughput_ui(ui, &lines),
            Tab::Latency => latency_ui(ui, &lines),
            Tab::Depth => depth_ui(ui, &lines),
            Tab::Lag => lag_ui(ui, &lines, &mut pick),
            Tab::Failures => failures_ui(ui, &lines, &mut per_node),
            Tab::Report => {
                let nodes = self.points.last().map_or(&[][..], |p| p.nodes.as_slice());
                export = report_ui(
                    ui,
                    report,
                    nodes,
                    &mut self.replicate,
                    &self.compare,
                    scenario,
                )
            }
            Tab::Trace => trace_ui(ui),
        }
        self.hidden = hidden.into_inner();
        self.failures_per_node = per_node;
        self.lag_pick = pick;
        export
    }
}

/// The live run's points and the compared design's series, as plot lines.
struct Lines<'a> {
    points: &'a [Point],
    /// The compared design's series, drawn dashed and named with a "(B)".
    other: Option<&'a Series>,
    faults: &'a [(f64, String)],
    /// The lines drawn this frame, in order, for the legend beside the plot.
    legend: RefCell<Vec<(String, egui::Color32)>>,
    /// Names the user unticked: drawn without points.
    hidden: &'a RefCell<BTreeSet<String>>,
}

/// The legend's width beside a plot.
const LEGEND_WIDTH: f32 = 190.0;

impl Lines<'_> {
    /// Draws a plot on the shared time axis with the lines `body` adds, and their legend
    /// beside it (outside the plot, so no line hides under it), in the order they were
    /// added; unticking a name hides its line.
    fn show<'p>(
        &'p self,
        ui: &mut egui::Ui,
        id: &str,
        y: Y,
        body: impl FnOnce(&mut egui_plot::PlotUi<'p>) + 'p,
    ) {
        let size = ui.available_size();
        let legend_width = LEGEND_WIDTH.min(size.x * 0.35);
        ui.allocate_ui_with_layout(size, egui::Layout::left_to_right(egui::Align::Min), |ui| {
            let plot: Plot<'p> = plot(id, y);
            plot.width((size.x - legend_width - 8.0).max(120.0))
                .height(size.y)
                .show(ui, body);
            let column = egui::Layout::top_down(egui::Align::Min);
            ui.allocate_ui_with_layout(egui::vec2(legend_width, size.y), column, |ui| {
                egui::ScrollArea::vertical()
                    .id_salt(("legend", id))
                    .auto_shrink([false, true])
                    .show(ui, |ui| self.legend_ui(ui));
            });
        });
    }

    /// One row per line: its colour and a tick box with its name.
    fn legend_ui(&self, ui: &mut egui::Ui) {
        let entries = self.legend.take();
        let mut hidden = self.hidden.borrow_mut();
        for (name, colour) in entries {
            ui.horizontal(|ui| {
                let (swatch, _) =
                    ui.allocate_exact_size(egui::vec2(14.0, 10.0), egui::Sense::hover());
                ui.painter().line_segment(
                    [swatch.left_center(), swatch.right_center()],
                    egui::Stroke::new(2.5, colour),
                );
                let mut shown = !hidden.contains(&name);
                let text = egui::RichText::new(&name).small();
                if ui.checkbox(&mut shown, text).changed() {
                    if shown {
                        hidden.remove(&name);
                    } else {
                        hidden.insert(name.clone());
                    }
                }
            });
        }
    }

    /// Notes line `name` for the legend; whether it is shown.
    fn listed(&self, name: &str, colour: egui::Color32) -> bool {
        let mut legend = self.legend.borrow_mut();
        if !legend.iter().any(|(n, _)| n == name) {
            legend.push((name.to_string(), colour));
        }
        !self.hidden.borrow().contains(name)
    }

    /// The live line of figure `f`; each figure has one colour.
    fn line(&self, name: &str, f: &dyn Fn(&Point) -> Option<f64>) -> Line<'_> {
        let shown = self.listed(name, colour(name));
        Line::new(
            name.to_string(),
            self.points
                .iter()
                .filter(|_| shown)
                .filter_map(|p| Some([p.time_s, f(p)?]))
                .collect::<PlotPoints<'_>>(),
        )
        .color(colour(name))
    }

    /// The compared design's line for `column`, dashed, in the same colour as its twin.
    fn overlay(&self, name: &str, column: &[f64]) -> Line<'_> {
        let times = self.other.map_or(&[][..], |s| s.time_s.as_slice());
        let label = format!("{name} (B)");
        let shown = self.listed(&label, colour(name));
        Line::new(
            label,
            times
                .iter()
                .zip(column)
                .filter(|_| shown)
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
        let fault = egui::Color32::from_rgb(0xe0, 0x40, 0x40);
        for (at, what) in self.faults.iter().filter(|(at, _)| *at <= reached) {
            let name = format!("fault: {what}");
            if self.listed(&name, fault) {
                p.vline(egui_plot::VLine::new(name, *at).color(fault).style(dashed));
            }
        }
        let rebalance = egui::Color32::from_rgb(0xf0, 0xa8, 0x30);
        for pair in self.points.windows(2) {
            if pair[1].rebalances > pair[0].rebalances && self.listed("rebalance", rebalance) {
                p.vline(
                    egui_plot::VLine::new("rebalance", pair[1].time_s)
                        .color(rebalance)
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

/// What a plot's y axis shows, with its label.
#[derive(Clone, Copy)]
enum Y {
    /// Messages or records: whole numbers only on the axis.
    Count(&'static str),
    /// Rates and times.
    Rate(&'static str),
}

/// A plot on the shared simulated-time axis.
fn plot(id: &str, y: Y) -> Plot<'static> {
    let (label, least) = match y {
        Y::Count(label) => (label, 1.0),
        Y::Rate(label) => (label, 0.0),
    };
    Plot::new(id)
        .x_grid_spacer(egui_plot::uniform_grid_spacer(|input| {
            round_steps(input.base_step_size)
        }))
        .y_grid_spacer(egui_plot::uniform_grid_spacer(move |input| {
            round_steps(input.base_step_size.max(least))
        }))
        .x_axis_formatter(|mark, _| tick(mark.value, mark.step_size))
        .y_axis_formatter(|mark, _| tick(mark.value, mark.step_size))
        .x_axis_label("simulated time (s)")
        .y_axis_label(label)
        .link_axis(egui::Id::unique("time-axis"), [true, false])
        .link_cursor(egui::Id::unique("time-axis"), [true, false])
        .allow_scroll(false)
}

/// An axis's grid steps for a smallest step of `base` (8 points' worth): round
/// numbers (1, 2 or 5 times a power of ten), the labelled one at least 24 points apart and
/// the largest a multiple of it, so a short plot of thousands still says "2000, 4000"
/// where powers of ten alone would label only 0 (and a 3-minute run's time axis says 0,
/// 50, 100, 150).
fn round_steps(base: f64) -> [f64; 3] {
    fn round_up(x: f64) -> f64 {
        let power = 10f64.powf(x.log10().floor());
        [1.0, 2.0, 5.0, 10.0]
            .into_iter()
            .map(|m| m * power)
            .find(|&step| step >= x * (1.0 - 1e-9))
            .unwrap_or(10.0 * power)
    }
    if !(base.is_finite() && base > 0.0) {
        return [1.0, 10.0, 100.0];
    }
    let labelled = round_up(base * 3.0);
    let lead = labelled / 10f64.powf(labelled.log10().floor());
    let larger = labelled * if (lead - 5.0).abs() < 1e-6 { 2.0 } else { 5.0 };
    [round_up(base), labelled, larger]
}

/// A tick's label: as many decimals as its step needs (a step of 0.5 says "2.5", not a
/// rounded "2" beside another "2").
fn tick(value: f64, step: f64) -> String {
    let decimals = if step > 0.0 && step.is_finite() {
        (-step.log10() - 1e-9).ceil().clamp(0.0, 9.0) as usize
    } else {
        0
    };
    format!("{value:.decimals$}")
}

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
    // A group's lag: its total in grey, its partitions in the seven other colours in
    // turn (from a place of the group's own), so neighbours never share one.
    if name.ends_with(" (total)") {
        return PALETTE[7];
    }
    if let Some((group, p)) = name.rsplit_once(" p")
        && let Ok(partition) = p.parse::<u64>()
    {
        return PALETTE[((fnv(group) + partition) % 7) as usize];
    }
    PALETTE[(fnv(name) % PALETTE.len() as u64) as usize]
}

/// FNV-1a: a hash stable across runs and platforms.
fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn names(all: impl Iterator<Item = String>) -> Vec<String> {
    let mut names: Vec<String> = all.collect();
    names.sort();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_groups_lag_lines_never_share_a_colour_with_a_neighbour_or_the_total() {
        for group in ["events-log/workers", "payment-events/fraud"] {
            let total = colour(&format!("{group} (total)"));
            let lines: Vec<_> = (0..7).map(|p| colour(&format!("{group} p{p}"))).collect();
            for (p, line) in lines.iter().enumerate() {
                assert_ne!(*line, total, "{group} p{p}");
                for (q, other) in lines.iter().enumerate().skip(p + 1) {
                    assert_ne!(line, other, "{group} p{p} and p{q}");
                }
            }
        }
    }

    #[test]
    fn a_tick_has_the_decimals_its_step_needs() {
        let cases = [
            (2000.0, 2000.0, "2000"),
            (2.5, 0.5, "2.5"),
            (3.0, 0.5, "3.0"),
            (0.15, 0.05, "0.15"),
            (40.0, 10.0, "40"),
            (7.0, 1.0, "7"),
        ];
        for (value, step, label) in cases {
            assert_eq!(tick(value, step), label, "{value} by {step}");
        }
    }

    #[test]
    fn the_y_axis_steps_are_round_and_the_labelled_ones_far_enough_apart() {
        // (smallest step, steps): 6500 records over 110 points gives a base of about 472.
        let cases = [
            (472.0, [500.0, 2000.0, 10000.0]),
            (120.0, [200.0, 500.0, 1000.0]),
            (1.0, [1.0, 5.0, 10.0]),
            (0.03, [0.05, 0.1, 0.5]),
            (0.0, [1.0, 10.0, 100.0]),
        ];
        for (base, steps) in cases {
            let got = round_steps(base);
            for (g, s) in got.iter().zip(steps) {
                assert!((g - s).abs() < 1e-9 * s.max(1.0), "{base}: {got:?}");
            }
            // The largest is a multiple of the labelled one: their labels never overlap.
            let ratio = got[2] / got[1];
            assert!((ratio - ratio.round()).abs() < 1e-9, "{base}: {got:?}");
        }
    }
}
