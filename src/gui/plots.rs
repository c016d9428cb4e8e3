//! The dock of live plots, sharing the simulated-time axis, and the report panel.

use std::collections::BTreeMap;

use eframe::egui;
use egui_plot::{Legend, Line, Plot, PlotPoints};

use super::runner::Point;
use crate::metrics::report::Report;

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
    /// Show only the last `window_s` seconds of simulated time.
    pub rolling: bool,
    pub window_s: f64,
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
        trace_ui: impl FnOnce(&mut egui::Ui),
    ) -> Option<Export> {
        let mut export = None;
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
        let points = self.visible();
        let line = |name: &str, f: &dyn Fn(&Point) -> Option<f64>| {
            Line::new(
                name.to_string(),
                points
                    .iter()
                    .filter_map(|p| Some([p.time_s, f(p)?]))
                    .collect::<PlotPoints<'_>>(),
            )
        };
        let plot = |id: &str, y: &str| {
            Plot::new(id)
                .legend(Legend::default())
                .x_axis_label("simulated time (s)")
                .y_axis_label(y.to_string())
                .link_axis(egui::Id::unique("time-axis"), [true, false])
                .link_cursor(egui::Id::unique("time-axis"), [true, false])
                .allow_scroll(false)
        };
        match self.tab {
            Tab::Throughput => {
                plot("throughput", "messages / s").show(ui, |p| {
                    p.line(line("produced (in)", &|p| Some(p.produced_per_s)));
                    p.line(line("processed (out)", &|p| Some(p.processed_per_s)));
                });
            }
            Tab::Latency => {
                plot("latency", "end-to-end latency (ms)").show(ui, |p| {
                    for (i, name) in ["p50", "p95", "p99"].into_iter().enumerate() {
                        p.line(line(name, &|p| p.latency_ms.map(|l| l[i])));
                    }
                });
            }
            Tab::Depth => {
                let names = names(
                    points
                        .iter()
                        .flat_map(|p| p.queues.iter().map(|q| q.0.clone())),
                );
                plot("depth", "messages").show(ui, |p| {
                    for name in &names {
                        p.line(line(&format!("{name} ready"), &|pt| {
                            pt.queues.iter().find(|q| &q.0 == name).map(|q| q.1 as f64)
                        }));
                        p.line(line(&format!("{name} unacked"), &|pt| {
                            pt.queues.iter().find(|q| &q.0 == name).map(|q| q.2 as f64)
                        }));
                    }
                });
            }
            Tab::Lag => {
                let mut partitions: BTreeMap<String, usize> = BTreeMap::new();
                for p in points {
                    for (group, lags) in &p.lags {
                        let n = partitions.entry(group.clone()).or_default();
                        *n = (*n).max(lags.len());
                    }
                }
                plot("lag", "records behind").show(ui, |p| {
                    for (group, &count) in &partitions {
                        p.line(line(&format!("{group} (total)"), &|pt| {
                            pt.lags
                                .iter()
                                .find(|l| &l.0 == group)
                                .map(|l| l.1.iter().sum::<u64>() as f64)
                        }));
                        if count <= 12 {
                            for partition in 0..count {
                                p.line(line(&format!("{group} p{partition}"), &|pt| {
                                    pt.lags
                                        .iter()
                                        .find(|l| &l.0 == group)
                                        .and_then(|l| l.1.get(partition))
                                        .map(|&v| v as f64)
                                }));
                            }
                        }
                    }
                });
            }
            Tab::Failures => {
                plot("failures", "messages so far").show(ui, |p| {
                    p.line(line("retries", &|p| Some(p.retries as f64)));
                    p.line(line("dead-lettered", &|p| Some(p.dead_lettered as f64)));
                    p.line(line("duplicates", &|p| Some(p.duplicates as f64)));
                    p.line(line("lost", &|p| Some(p.lost as f64)));
                    p.line(line("reordered", &|p| Some(p.reordered as f64)));
                });
            }
            Tab::Report => export = report_ui(ui, report),
            Tab::Trace => trace_ui(ui),
        }
        export
    }
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

fn report_ui(ui: &mut egui::Ui, report: Option<&Report>) -> Option<Export> {
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
    egui::ScrollArea::both().show(ui, |ui| {
        ui.add(egui::Label::new(egui::RichText::new(report.to_table()).monospace()).extend());
    });
    export
}
