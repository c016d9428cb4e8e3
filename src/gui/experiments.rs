//! The lab's experiments, off the UI thread: Replicate (N replications of the open
//! scenario, every figure with its 95% interval) and Compare (a second design run to the
//! end, its plots overlaid on the live ones and its report beside the live report).
//!
//! Both run on a named thread of their own and hand back one result through a channel;
//! the UI polls it each frame and never waits.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::mpsc;

use eframe::egui;

use crate::experiment::{self, Summary};
use crate::report::Report;
use crate::report::series::Series;
use crate::scenario::Scenario;

/// A background job's result, once it has one.
struct Job<T> {
    receiver: mpsc::Receiver<T>,
}

impl<T: Send + 'static> Job<T> {
    /// Runs `work` on a thread named `name`, waking the UI when it is done.
    fn start(
        name: &str,
        ctx: &egui::Context,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<Job<T>, String> {
        let (sender, receiver) = mpsc::channel();
        let ctx = ctx.clone();
        std::thread::Builder::new()
            .name(name.to_string())
            .spawn(move || {
                let _ = sender.send(work());
                ctx.request_repaint();
            })
            .map_err(|e| e.to_string())?;
        Ok(Job { receiver })
    }

    fn poll(&self) -> Option<T> {
        self.receiver.try_recv().ok()
    }
}

/// Every figure of N replications, by name, or why they did not run.
pub type Figures = Result<BTreeMap<String, Summary>, String>;

/// Replicate: the open scenario's figures over N replications.
pub struct Replicate {
    pub replications: u32,
    job: Option<(u32, Job<Figures>)>,
    /// The last result: how many replications, and their figures.
    pub result: Option<(u32, Figures)>,
}

impl Default for Replicate {
    fn default() -> Self {
        Self {
            replications: 10,
            job: None,
            result: None,
        }
    }
}

impl Replicate {
    pub fn running(&self) -> bool {
        self.job.is_some()
    }

    /// Starts N replications of `scenario` in the background.
    pub fn start(&mut self, ctx: &egui::Context, scenario: &Scenario) {
        let (scenario, n) = (scenario.clone(), self.replications.max(2));
        let job = Job::start("evlab-replicate", ctx, move || {
            let reports: Result<Vec<Report>, String> = experiment::replicate(&scenario, n)
                .into_iter()
                .collect::<Result<_, _>>()
                .map_err(|e| e.to_string());
            reports.map(|r| experiment::summarize(&r))
        });
        match job {
            Ok(job) => self.job = Some((n, job)),
            Err(why) => self.result = Some((n, Err(why))),
        }
    }

    fn poll(&mut self) {
        if let Some((n, job)) = &self.job
            && let Some(result) = job.poll()
        {
            self.result = Some((*n, result));
            self.job = None;
        }
    }

    /// The controls and the result, under the report.
    pub fn ui(&mut self, ui: &mut egui::Ui, scenario: Option<&Scenario>) {
        self.poll();
        ui.horizontal(|ui| {
            ui.add(
                egui::DragValue::new(&mut self.replications)
                    .range(2..=1000)
                    .suffix(" replications"),
            );
            let can = scenario.is_some() && !self.running();
            let button = ui
                .add_enabled(can, egui::Button::new("Replicate"))
                .on_hover_text(
                    "Run the scenario again on that many seeds, in the background, and show \
                     every figure as its mean and 95% confidence interval",
                );
            if button.clicked()
                && let Some(scenario) = scenario
            {
                let ctx = ui.ctx().clone();
                self.start(&ctx, scenario);
            }
            if self.running() {
                ui.spinner();
                ui.label("replicating…");
            }
        });
        match &self.result {
            None => {}
            Some((_, Err(why))) => {
                ui.colored_label(ui.visuals().error_fg_color, why);
            }
            Some((n, Ok(figures))) => {
                let (table, noisy) = experiment::summary_table(figures);
                ui.label(format!(
                    "{n} replications (seeds derived from the scenario's); {noisy} figures have an \
                     interval wider than 10% of their mean"
                ));
                ui.add(egui::Label::new(egui::RichText::new(table).monospace()).extend());
            }
        }
    }
}

/// Compare: another design, run to its end, beside the open one.
#[derive(Default)]
pub struct Compare {
    job: Option<Job<Result<Other, String>>>,
    pub other: Option<Result<Other, String>>,
}

/// The design compared with: where it came from, its report and its time series.
pub struct Other {
    pub label: String,
    pub report: Report,
    pub series: Series,
}

impl Compare {
    pub fn running(&self) -> bool {
        self.job.is_some()
    }

    /// Runs `scenario` (labelled `label`) to its end in the background.
    pub fn start(&mut self, ctx: &egui::Context, label: String, scenario: Scenario) {
        let job = Job::start("evlab-compare", ctx, move || {
            let mut run = crate::run::Run::new(&scenario).map_err(|e| e.to_string())?;
            run.run_to_end(|_| {}).map_err(|e| e.to_string())?;
            let mut report = run.report(None, true);
            let series = report.series.take().unwrap_or_default();
            Ok(Other {
                label,
                report,
                series,
            })
        });
        match job {
            Ok(job) => self.job = Some(job),
            Err(why) => self.other = Some(Err(why)),
        }
    }

    pub fn poll(&mut self) {
        if let Some(job) = &self.job
            && let Some(result) = job.poll()
        {
            self.other = Some(result);
            self.job = None;
        }
    }

    /// The design compared with, when its run is done.
    pub fn done(&self) -> Option<&Other> {
        self.other.as_ref().and_then(|o| o.as_ref().ok())
    }

    pub fn clear(&mut self) {
        self.job = None;
        self.other = None;
    }
}

/// Where a design to compare with comes from.
pub enum Source {
    /// The open document's file as it is on disk.
    Saved(PathBuf),
    /// Another file.
    File(PathBuf),
}
