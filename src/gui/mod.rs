//! The desktop lab: draw a topology, run it, watch it, break it.
//!
//! [`Lab`] is the whole application state with one `ui` function, so that the
//! eframe window and the egui_kittest tests drive the same code. It is glue:
//! the scenario lives in a [`document::Document`] changed only by
//! [`document::Edit`]s; the menus, buttons, shortcuts, canvas and inspector
//! only emit [`commands::LabCommand`]s, which [`Lab::execute`] applies at the
//! end of the frame; the simulation runs on its own thread behind
//! [`runner::Runner`]. Nothing outside this module depends on egui.
//!
//! The lab's own behaviour is split by concern: `commands` (what can be asked,
//! and `execute`), `menus`, `controls` (run controls and status bar),
//! `palette`, `faults` (the fault timeline), `trace` (the message-trace tab),
//! `dialogs`, `open_save` (files, examples, the window), `editing` (edits,
//! undo, problems) and `running` (the engine thread's scenario and faults).

pub mod canvas;
pub mod commands;
mod controls;
mod dialogs;
pub mod document;
mod editing;
pub mod experiments;
mod faults;
pub mod files;
pub mod inspector;
pub mod layout;
mod menus;
mod open_save;
mod palette;
pub mod plots;
pub mod runner;
mod running;
mod scale;
pub mod style;
pub mod templates;
mod trace;
pub mod traffic;

pub use self::templates::{big_topology, empty_scenario};

use std::path::PathBuf;
use std::sync::Arc;

use eframe::egui;

use self::canvas::Canvas;
use self::commands::LabCommand;
use self::document::Document;
use self::files::Dialogs;
use self::open_save::Discard;
use self::plots::Plots;
use self::runner::{Runner, Snapshot};
use self::trace::trace_ui;
use self::traffic::Traffic;
use crate::examples::{DEFAULT_EXAMPLE, example};
use crate::scenario::check::Problem;
use crate::scenario::raw::RawScenario;
use crate::scenario::{Scenario, leading_comments, parse_raw};

/// Opens the lab window on `file`, or on the built-in example.
pub fn run(file: Option<PathBuf>) -> Result<(), String> {
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("evlab")
            .with_inner_size([1440.0, 900.0])
            .with_min_inner_size([800.0, 500.0])
            .with_drag_and_drop(true),
        ..Default::default()
    };
    eframe::run_native(
        "evlab",
        options,
        Box::new(move |cc| {
            let recent = cc
                .storage
                .and_then(|s| s.get_string(RECENT_KEY))
                .map(|s| s.lines().map(PathBuf::from).collect())
                .unwrap_or_default();
            let mut lab = Lab::new(cc.egui_ctx.clone(), true)?;
            lab.recent = recent;
            if let Some(file) = file {
                lab.open_path(&file);
            }
            Ok(Box::new(LabApp(lab)))
        }),
    )
    .map_err(|e| e.to_string())
}

const RECENT_KEY: &str = "recent-files";

struct LabApp(Lab);

impl eframe::App for LabApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.0.ui(ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        let recent: Vec<String> = self
            .0
            .recent
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        storage.set_string(RECENT_KEY, recent.join("\n"));
    }
}

/// The lab's whole state.
pub struct Lab {
    pub doc: Document,
    pub canvas: Canvas,
    pub plots: Plots,
    pub traffic: Traffic,
    /// Ids of the loaded scenario's nodes by index (hops name nodes by index).
    node_ids: Vec<String>,
    /// The id typed in the trace panel.
    trace_input: String,
    runner: Runner,
    pub snapshot: Arc<Snapshot>,
    dialogs: Dialogs,
    pub recent: Vec<PathBuf>,
    /// The checker's problems with the scenario as it is, and the generation they are for.
    pub problems: Vec<Problem>,
    problems_for: Option<u64>,
    /// The scenario the runner has, and the document generation it came from.
    loaded: Option<(u64, Scenario)>,
    /// The same scenario as the file has it.
    loaded_raw: Option<RawScenario>,
    /// The scenario changed after the run started: it runs the old one until restarted.
    pub stale_run: bool,
    pub speed: f64,
    pub flat_out: bool,
    /// A message for the status bar (an error, a refusal, a saved file).
    pub status: Option<(String, bool)>,
    /// The status message on show and since when: news goes after a while, an error stays
    /// until another message replaces it.
    status_shown: Option<(String, std::time::Instant)>,
    /// A file that failed to load: the loader's error, shown until dismissed.
    pub load_error: Option<String>,
    confirm: Option<Discard>,
    /// What waits for a Save As to succeed (Save in the unsaved-changes prompt).
    after_save: Option<Discard>,
    allow_close: bool,
    title: String,
    /// To wake the UI from background work (replications, a design to compare with).
    ctx: egui::Context,
    /// The zoom the lab chooses once, on a big screen.
    zoom: scale::AutoZoom,
}

/// How long a status message that is not an error stays in the status bar.
const STATUS_NEWS: std::time::Duration = std::time::Duration::from_secs(8);

impl Lab {
    /// A lab on the default example. `native_dialogs`: whether to try the system's file
    /// dialogs (tests ask for paths in a text field instead).
    pub fn new(
        ctx: egui::Context,
        native_dialogs: bool,
    ) -> Result<Lab, Box<dyn std::error::Error + Send + Sync>> {
        let repaint = ctx.clone();
        let runner = Runner::start(move || repaint.request_repaint())?;
        let raw = example(DEFAULT_EXAMPLE)
            .map(parse_raw)
            .and_then(Result::ok)
            .unwrap_or_else(empty_scenario);
        let mut doc = Document::new(raw, None, format!("{DEFAULT_EXAMPLE} (example)"));
        doc.header = example(DEFAULT_EXAMPLE)
            .map(leading_comments)
            .unwrap_or_default();
        let mut lab = Lab {
            doc,
            canvas: Canvas::default(),
            plots: Plots::new(),
            traffic: Traffic::default(),
            node_ids: Vec::new(),
            trace_input: String::new(),
            runner,
            snapshot: Arc::new(Snapshot::default()),
            dialogs: Dialogs::new(native_dialogs),
            recent: Vec::new(),
            problems: Vec::new(),
            problems_for: None,
            loaded: None,
            loaded_raw: None,
            stale_run: false,
            speed: 1.0,
            flat_out: false,
            status: None,
            status_shown: None,
            load_error: None,
            confirm: None,
            after_save: None,
            allow_close: false,
            title: String::new(),
            ctx: ctx.clone(),
            zoom: scale::AutoZoom::default(),
        };
        lab.place_unplaced_nodes();
        lab.sync_run();
        Ok(lab)
    }

    /// The whole lab, one frame. The panels only emit commands; they take effect at the
    /// end of the frame, in [`Lab::execute`].
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        self.zoom.apply(&ctx);
        self.take_engine_output();
        self.refresh_problems();
        let mut commands = commands::from_keyboard(&ctx);
        if let Some((purpose, path)) = self.dialogs.poll() {
            commands.push(LabCommand::PathChosen(purpose, path));
        }
        self.files_dropped(&ctx, &mut commands);
        self.expire_status(&ctx);
        self.window_title(&ctx);
        self.close_requested(&ctx);

        egui::Panel::top("menu").show(ui, |ui| self.menu_ui(ui, &mut commands));
        egui::Panel::top("run").show(ui, |ui| self.run_controls_ui(ui, &mut commands));
        egui::Panel::bottom("status").show(ui, |ui| self.status_ui(ui));
        // Panels start in proportion to the window, so a laptop's 1024x700 leaves the
        // canvas room enough to draw nodes at a readable size.
        let window = ctx.content_rect().size();
        egui::Panel::bottom("plots")
            .resizable(true)
            .default_size((window.y * 0.3).clamp(160.0, 320.0))
            .show(ui, |ui| self.plots_ui(ui, &mut commands));
        egui::Panel::left("palette")
            .resizable(false)
            .exact_size(120.0)
            .show(ui, |ui| self.palette_ui(ui, &mut commands));
        egui::Panel::right("inspector")
            .resizable(true)
            .default_size((window.x * 0.24).clamp(240.0, 360.0))
            .show(ui, |ui| {
                // One scroll area for the inspector and the fault timeline: a small window
                // scrolls them instead of cutting them off.
                egui::ScrollArea::vertical().show(ui, |ui| {
                    if let Some(edit) =
                        inspector::ui(ui, &self.doc, &self.canvas.selection, &self.problems)
                    {
                        commands.push(LabCommand::Edit(edit));
                    }
                    ui.separator();
                    self.faults_ui(ui, &mut commands);
                });
            });
        egui::CentralPanel::no_frame().show(ui, |ui| {
            let snapshot = self.snapshot.clone();
            self.canvas.ui(
                ui,
                &self.doc,
                &snapshot,
                &self.traffic,
                &self.node_ids,
                &mut commands,
            );
            self.palette_drop(ui, &mut commands);
        });
        self.dialogs_ui(&ctx, &mut commands);
        for command in commands {
            self.execute(command);
        }
        if let Some(refusal) = self.canvas.refusal.take() {
            self.status = Some((format!("Not connected: {refusal}"), true));
        }
    }

    /// Clears a status message that is news, not an error, once it has been on show for
    /// [`STATUS_NEWS`], so the status bar never tells of something long past.
    fn expire_status(&mut self, ctx: &egui::Context) {
        if self.expire_status_at(std::time::Instant::now()) {
            ctx.request_repaint_after(STATUS_NEWS);
        }
    }

    /// [`Lab::expire_status`] at `now`; true when a message of news has just been put up.
    fn expire_status_at(&mut self, now: std::time::Instant) -> bool {
        let Some((message, bad)) = &self.status else {
            self.status_shown = None;
            return false;
        };
        match &self.status_shown {
            Some((shown, since)) if shown == message => {
                if !bad && now.duration_since(*since) >= STATUS_NEWS {
                    self.status = None;
                    self.status_shown = None;
                }
                false
            }
            _ => {
                self.status_shown = Some((message.clone(), now));
                !bad
            }
        }
    }

    /// The engine thread's latest snapshot, time-series points and traced hops.
    fn take_engine_output(&mut self) {
        self.snapshot = self.runner.snapshot();
        self.plots.extend(self.runner.drain_points());
        let hops = self.runner.drain_hops();
        if let Some((_, scenario)) = &self.loaded {
            let now = std::time::Instant::now();
            let connected = |a: u32, b: u32| {
                scenario
                    .edges
                    .iter()
                    .any(|e| e.from == a as usize && e.to == b as usize)
            };
            for (load, hops) in hops {
                self.traffic.absorb(load, hops, now, connected);
            }
        }
    }

    /// When each of the run's faults begins, and what it is ("worker-b crash").
    fn fault_markers(&self) -> Vec<(f64, String)> {
        let Some((_, scenario)) = self.loaded.as_ref() else {
            return Vec::new();
        };
        self.snapshot
            .faults
            .iter()
            .filter_map(|f| {
                let raw = scenario.fault_to_raw(f)?;
                Some((f.at_nanos as f64 / 1e9, faults::fault_words(&raw)))
            })
            .collect()
    }

    /// The plot dock, with the message-trace tab.
    fn plots_ui(&mut self, ui: &mut egui::Ui, commands: &mut Vec<LabCommand>) {
        let report = self.snapshot.report.clone();
        self.plots.faults = self.fault_markers();
        let trace = |ui: &mut egui::Ui| {
            trace_ui(
                ui,
                &mut self.traffic,
                &mut self.trace_input,
                &self.node_ids,
                self.snapshot.trace_every,
                commands,
            )
        };
        let scenario = self.loaded.as_ref().map(|(_, s)| s);
        if let Some(export) = self.plots.ui(ui, report.as_deref(), scenario, trace) {
            commands.push(LabCommand::ExportReport(export));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    /// News leaves the status bar after a while; an error stays until replaced.
    #[test]
    fn status_news_goes_stale_and_is_cleared_but_errors_stay() {
        let mut lab = super::Lab::new(eframe::egui::Context::default(), false).unwrap();
        let start = Instant::now();
        let cases = [
            ("Saved demo.ron", false, None),
            ("Could not save", true, Some("Could not save")),
        ];
        for (message, bad, after) in cases {
            lab.status = Some((message.to_string(), bad));
            lab.expire_status_at(start);
            lab.expire_status_at(start + Duration::from_secs(2));
            assert!(lab.status.is_some(), "{message}: still news after 2 s");
            lab.expire_status_at(start + super::STATUS_NEWS + Duration::from_secs(1));
            assert_eq!(
                lab.status.as_ref().map(|(m, _)| m.as_str()),
                after,
                "{message}"
            );
        }
    }
}
