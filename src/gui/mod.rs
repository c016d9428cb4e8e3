//! The desktop lab: draw a topology, run it, watch it, break it.
//!
//! [`Lab`] is the whole application state with one `ui` function, so that the
//! eframe window and the egui_kittest tests drive the same code. It is glue:
//! the scenario lives in a [`document::Document`] changed only by
//! [`document::Edit`]s; the canvas, inspector and menus emit edits; the
//! simulation runs on its own thread behind [`runner::Runner`]. Nothing outside
//! this module depends on egui.

pub mod canvas;
pub mod commands;
pub mod document;
pub mod experiments;
pub mod files;
pub mod inspector;
pub mod layout;
mod menus;
pub mod plots;
pub mod runner;
pub mod style;
pub mod traffic;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use eframe::egui::{self, Color32, Key, RichText};

use self::canvas::Canvas;
use self::commands::{Aim, LabCommand};
use self::document::{Document, Edit};
use self::files::{Dialogs, Purpose};
use self::plots::{Export, Plots};
use self::runner::{RunCommand, Runner, Snapshot, Speed};
use self::style::Kind;
use self::traffic::Traffic;
use crate::examples::{DEFAULT_EXAMPLE, example};
use crate::scenario::check::{Problem, check};
use crate::scenario::raw::{RawNode, RawScenario};
use crate::scenario::{FaultTarget, LoadError, Scenario, leading_comments, parse_raw, to_ron};

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

/// Something waiting for the user to agree to lose unsaved changes.
#[derive(Debug, Clone, PartialEq)]
enum Discard {
    New,
    Open,
    OpenPath(PathBuf),
    Example(&'static str),
    Quit,
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
    /// A file that failed to load: the loader's error, shown until dismissed.
    pub load_error: Option<String>,
    confirm: Option<Discard>,
    allow_close: bool,
    title: String,
    /// To wake the UI from background work (replications, a design to compare with).
    ctx: egui::Context,
}

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
            load_error: None,
            confirm: None,
            allow_close: false,
            title: String::new(),
            ctx: ctx.clone(),
        };
        lab.place_unplaced_nodes();
        lab.sync_run();
        Ok(lab)
    }

    /// Replaces the document (after New, Open or an example); the old run ends. `header`:
    /// the comments above the scenario in its file, kept for saving.
    fn replace(&mut self, raw: RawScenario, path: Option<PathBuf>, label: String, header: String) {
        self.doc = Document::new(raw, path, label);
        self.doc.header = header;
        self.place_unplaced_nodes();
        let clipboard = std::mem::take(&mut self.canvas.clipboard);
        self.canvas = Canvas::default();
        self.canvas.clipboard = clipboard;
        self.loaded = None;
        self.stale_run = false;
        self.problems_for = None;
        self.plots.points.clear();
        self.sync_run();
    }

    /// Nodes without a canvas position (a hand-written file) get the auto-layout's.
    fn place_unplaced_nodes(&mut self) {
        if self.doc.raw.nodes.iter().all(|n| n.pos().is_some()) {
            return;
        }
        let positions = layout::arrange(&self.doc.raw);
        for (node, pos) in self.doc.raw.nodes.iter_mut().zip(positions) {
            if node.pos().is_none() {
                *node.pos_mut() = Some(pos);
            }
        }
        // Placing nodes is not an edit the user made.
        let path = self.doc.path.take();
        let label = std::mem::take(&mut self.doc.label);
        let header = std::mem::take(&mut self.doc.header);
        self.doc = Document::new(self.doc.raw.clone(), path, label);
        self.doc.header = header;
    }

    /// Opens a scenario that is not a file (a generated one).
    pub fn open_scenario(&mut self, raw: RawScenario, label: String) {
        self.replace(raw, None, label, String::new());
    }

    /// Opens the file at `path`; on failure the current work stays as it is.
    pub fn open_path(&mut self, path: &Path) {
        // A file that parses opens even if the checker has problems with it: it may be
        // work in progress, saved as it was. Its problems show in the inspector.
        let file = path.display().to_string();
        let raw = crate::scenario::read_text(path).and_then(|text| {
            parse_raw(&text)
                .map(|raw| (raw, leading_comments(&text)))
                .map_err(|problem| LoadError::Invalid {
                    file: file.clone(),
                    problems: vec![problem],
                    more: 0,
                })
        });
        match raw {
            Ok((raw, header)) => {
                files::remember(&mut self.recent, path);
                self.replace(raw, Some(path.to_path_buf()), file.clone(), header);
                let problems = match self.problems.len() {
                    0 => String::new(),
                    n => format!(" ({n} problem(s) to fix before it runs: see the inspector)"),
                };
                self.status = Some((format!("Opened {file}{problems}"), !problems.is_empty()));
            }
            Err(e) => self.load_error = Some(e.to_string()),
        }
    }

    pub fn open_example(&mut self, name: &'static str) {
        match example(name).map(|text| (parse_raw(text), leading_comments(text))) {
            Some((Ok(raw), header)) => self.replace(raw, None, format!("{name} (example)"), header),
            Some((Err(problem), _)) => {
                self.load_error = Some(format!("{name}: {}", problem.message))
            }
            None => self.load_error = Some(format!("no example called {name}")),
        }
    }

    /// Saves to the document's path, or asks for one.
    pub fn save(&mut self) {
        match self.doc.path.clone() {
            Some(path) => self.save_to(&path),
            None => self.dialogs.ask(Purpose::SaveAs, None),
        }
    }

    pub fn save_to(&mut self, path: &Path) {
        let written = to_ron(&self.doc.raw)
            .map(|text| format!("{}{text}", self.doc.header))
            .map_err(|e| e.to_string())
            .and_then(|text| files::write_atomically(path, &text).map_err(|e| e.to_string()));
        match written {
            Ok(()) => {
                self.doc.mark_saved(path.to_path_buf());
                files::remember(&mut self.recent, path);
                self.status = Some((format!("Saved {}", path.display()), false));
            }
            Err(e) => self.status = Some((format!("Could not save {}: {e}", path.display()), true)),
        }
    }

    fn export(&mut self, path: &Path, what: Export) {
        let Some(report) = &self.snapshot.report else {
            return;
        };
        let text = match what {
            Export::Json => report.to_json(),
            Export::Csv => report.to_csv(),
        };
        match files::write_atomically(path, &text) {
            Ok(()) => self.status = Some((format!("Report written to {}", path.display()), false)),
            Err(e) => {
                self.status = Some((format!("Could not write {}: {e}", path.display()), true))
            }
        }
    }

    /// Applies an edit: the one place where the scenario changes.
    pub fn apply(&mut self, edit: Edit) {
        let structural = edit.is_structural();
        let applied = self.doc.apply(edit);
        if !applied.added.is_empty() {
            self.canvas.selection.clear();
            self.canvas.selection.nodes.extend(applied.added);
        }
        if structural {
            self.after_structural_change();
        }
    }

    fn after_structural_change(&mut self) {
        self.refresh_problems();
        let started = self.snapshot.events > 0 || self.snapshot.playing;
        if !started {
            self.sync_run();
        } else if let Some(scenario) = self.retuned() {
            // Only rates, processing times, failure rates or retry policies changed: the
            // running simulation takes them from its next message on.
            self.runner
                .send(RunCommand::Retune(Box::new(scenario.clone())));
            self.loaded = Some((self.doc.generation, scenario));
            self.loaded_raw = Some(self.doc.raw.clone());
            self.status = Some((
                "Applied to the running simulation from now on.".into(),
                false,
            ));
        } else {
            self.stale_run = true;
        }
    }

    /// The scenario as edited, if it differs from the running one only in parameters a
    /// running simulation can take: producers' arrivals, consumers' processing times,
    /// failure and poison rates and retry policies (and positions on the canvas).
    fn retuned(&self) -> Option<Scenario> {
        if self.stale_run {
            return None;
        }
        let running = self.loaded_raw.as_ref()?;
        let edited = &self.doc.raw;
        if running.nodes.len() != edited.nodes.len() {
            return None;
        }
        let mut tuned = running.clone();
        for (node, new) in tuned.nodes.iter_mut().zip(&edited.nodes) {
            *node.pos_mut() = new.pos();
            match (node, new) {
                (RawNode::Producer(p), RawNode::Producer(n)) => p.arrival = n.arrival.clone(),
                (RawNode::Consumer(c), RawNode::Consumer(n)) => {
                    c.service = n.service.clone();
                    c.failure_probability = n.failure_probability;
                    c.poison_fraction = n.poison_fraction;
                    c.retry = n.retry;
                }
                _ => {}
            }
        }
        if tuned != *edited {
            return None;
        }
        check(edited).ok()
    }

    pub fn undo(&mut self) {
        if self.doc.undo() {
            self.after_structural_change();
        }
    }

    pub fn redo(&mut self) {
        if self.doc.redo() {
            self.after_structural_change();
        }
    }

    fn refresh_problems(&mut self) {
        if self.problems_for == Some(self.doc.generation) {
            return;
        }
        self.problems = match check(&self.doc.raw) {
            Ok(_) => Vec::new(),
            Err(problems) => problems.list,
        };
        self.problems_for = Some(self.doc.generation);
    }

    /// Gives the runner the scenario as it is now (a fresh run at time zero), if it is valid.
    pub fn sync_run(&mut self) {
        self.refresh_problems();
        self.stale_run = false;
        match check(&self.doc.raw) {
            Ok(mut scenario) => {
                scenario.seed = self.doc.raw.seed;
                self.runner
                    .send(RunCommand::Load(Box::new(scenario.clone())));
                self.node_ids = scenario.nodes.iter().map(|n| n.id.clone()).collect();
                self.loaded = Some((self.doc.generation, scenario));
                self.loaded_raw = Some(self.doc.raw.clone());
                self.plots.points.clear();
            }
            Err(_) => {
                // The last valid scenario must not keep running under the edited one.
                self.runner.send(RunCommand::Unload);
                self.loaded = None;
                self.loaded_raw = None;
                self.node_ids.clear();
                self.plots.points.clear();
            }
        }
    }

    pub fn play(&mut self) {
        if self.stale_run || self.loaded.is_none() {
            self.sync_run();
        }
        if self.loaded.is_some() {
            self.send_speed();
            self.runner.send(RunCommand::Play);
        } else {
            self.status = Some((
                "Fix the scenario's problems to run it (see the inspector).".into(),
                true,
            ));
        }
    }

    pub fn pause(&mut self) {
        self.runner.send(RunCommand::Pause);
    }

    pub fn step(&mut self) {
        if self.stale_run || self.loaded.is_none() {
            self.sync_run();
        }
        if self.loaded.is_some() {
            self.runner.send(RunCommand::Step);
        } else {
            self.status = Some((
                "Fix the scenario's problems to run it (see the inspector).".into(),
                true,
            ));
        }
    }

    fn send_speed(&self) {
        let speed = if self.flat_out {
            Speed::FlatOut
        } else {
            Speed::Paced(self.speed)
        };
        self.runner.send(RunCommand::SetSpeed(speed));
    }

    /// Injects a fault at the current simulated time.
    pub fn inject(
        &mut self,
        aim: &Aim,
        kind: crate::scenario::guarantees::FaultKind,
        duration: Option<crate::scenario::units::Duration>,
    ) {
        let Some((_, scenario)) = &self.loaded else {
            self.status = Some((
                "Run the scenario first: faults happen to a running system.".into(),
                true,
            ));
            return;
        };
        let target = match aim {
            Aim::Node(id) => scenario
                .nodes
                .iter()
                .position(|n| &n.id == id)
                .map(FaultTarget::Node),
            Aim::Edge(index) => {
                (*index < scenario.edges.len()).then_some(FaultTarget::Edge(*index))
            }
        };
        match target {
            Some(target) => self.runner.send(RunCommand::Inject {
                target,
                kind,
                duration_nanos: duration.map(|d| d.nanos),
            }),
            None => {
                self.status = Some((
                    "Restart the run first: it does not have this node yet.".into(),
                    true,
                ))
            }
        }
    }

    /// The faults injected during this run (beyond the scenario's), as the file writes them.
    pub fn injected_faults(&self) -> Vec<crate::scenario::raw::RawFault> {
        let Some((_, scenario)) = &self.loaded else {
            return Vec::new();
        };
        self.snapshot
            .faults
            .iter()
            .skip(scenario.faults.len())
            .filter_map(|f| scenario.fault_to_raw(f))
            .collect()
    }

    fn request(&mut self, what: Discard) {
        if self.doc.is_dirty() && what != Discard::Quit
            || (what == Discard::Quit && self.doc.is_dirty())
        {
            self.confirm = Some(what);
        } else {
            self.proceed(what);
        }
    }

    fn proceed(&mut self, what: Discard) {
        match what {
            Discard::New => self.replace(empty_scenario(), None, "untitled".into(), String::new()),
            Discard::Open => self.ask_path(Purpose::Open),
            Discard::OpenPath(path) => self.open_path(&path),
            Discard::Example(name) => self.open_example(name),
            Discard::Quit => self.allow_close = true,
        }
    }

    /// The whole lab, one frame. The panels only emit commands; they take effect at the
    /// end of the frame, in [`Lab::execute`].
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        self.take_engine_output();
        self.refresh_problems();
        let mut commands = commands::from_keyboard(&ctx);
        if let Some((purpose, path)) = self.dialogs.poll() {
            commands.push(LabCommand::PathChosen(purpose, path));
        }
        self.files_dropped(&ctx, &mut commands);
        self.window_title(&ctx);
        self.close_requested(&ctx);

        egui::Panel::top("menu").show(ui, |ui| self.menu_ui(ui, &mut commands));
        egui::Panel::top("run").show(ui, |ui| self.run_controls_ui(ui, &mut commands));
        egui::Panel::bottom("status").show(ui, |ui| self.status_ui(ui));
        egui::Panel::bottom("plots")
            .resizable(true)
            .default_size(250.0)
            .show(ui, |ui| self.plots_ui(ui, &mut commands));
        egui::Panel::left("palette")
            .resizable(false)
            .exact_size(120.0)
            .show(ui, |ui| self.palette_ui(ui, &mut commands));
        egui::Panel::right("inspector")
            .resizable(true)
            .default_size(330.0)
            .show(ui, |ui| {
                if let Some(edit) =
                    inspector::ui(ui, &self.doc, &self.canvas.selection, &self.problems)
                {
                    commands.push(LabCommand::Edit(edit));
                }
                ui.separator();
                self.faults_ui(ui, &mut commands);
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

    /// The plot dock, with the message-trace tab.
    fn plots_ui(&mut self, ui: &mut egui::Ui, commands: &mut Vec<LabCommand>) {
        let report = self.snapshot.report.clone();
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

    /// Asks for a path for `purpose`, starting beside the document's file.
    fn ask_path(&mut self, purpose: Purpose) {
        let near = self.doc.path.clone();
        self.dialogs.ask(purpose, near.as_deref());
    }

    fn paste(&mut self) {
        if let Some(edit) = self.canvas.paste_edit() {
            self.apply(edit);
        }
    }

    fn delete_selection(&mut self) {
        for edit in self.canvas.delete_edits() {
            self.apply(edit);
        }
    }

    pub fn auto_layout(&mut self) {
        let positions = layout::arrange(&self.doc.raw);
        let moves = self
            .doc
            .raw
            .nodes
            .iter()
            .zip(positions)
            .map(|(n, p)| (n.id().to_string(), p))
            .collect();
        self.doc.seal();
        self.apply(Edit::MoveNodes {
            moves,
            drag: u64::MAX,
        });
        self.doc.seal();
        self.canvas.request_fit();
    }

    fn run_controls_ui(&self, ui: &mut egui::Ui, commands: &mut Vec<LabCommand>) {
        ui.horizontal(|ui| {
            let toggle = LabCommand::TogglePlayPause;
            let label = if self.snapshot.playing {
                "Pause"
            } else {
                "Run"
            };
            if ui
                .button(label)
                .on_hover_text(toggle.tooltip_with_keys(ui.ctx()))
                .clicked()
            {
                commands.push(toggle);
            }
            for command in [LabCommand::Step, LabCommand::Reset] {
                command_button(ui, command, commands);
            }
            ui.separator();
            ui.label("Speed");
            let mut speed = self.speed;
            if ui
                .add_enabled(
                    !self.flat_out,
                    egui::Slider::new(&mut speed, 0.001..=1000.0)
                        .logarithmic(true)
                        .suffix("x")
                        .max_decimals(3),
                )
                .on_hover_text(LabCommand::SetSpeed(speed).tooltip())
                .changed()
            {
                commands.push(LabCommand::SetSpeed(speed));
            }
            let mut flat_out = self.flat_out;
            let command = LabCommand::SetFlatOut(flat_out);
            if ui
                .checkbox(&mut flat_out, command.text())
                .on_hover_text(command.tooltip())
                .changed()
            {
                commands.push(LabCommand::SetFlatOut(flat_out));
            }
            ui.separator();
            ui.label("Seed");
            let mut seed = self.doc.raw.seed;
            if ui
                .add(egui::DragValue::new(&mut seed))
                .on_hover_text("Same scenario and seed: the same run, every time")
                .changed()
            {
                let mut settings = self.doc.raw.clone();
                settings.seed = seed;
                commands.push(LabCommand::Edit(Edit::SetSettings(Box::new(settings))));
            }
            if self.stale_run {
                ui.separator();
                ui.label(
                    RichText::new("The scenario changed.")
                        .color(Color32::from_rgb(0xe0, 0x9a, 0x20)),
                );
                command_button(ui, LabCommand::RestartToApply, commands);
            }
        });
    }

    fn status_ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            let s = &self.snapshot;
            let state = if s.error.is_some() {
                "stopped"
            } else if s.finished {
                "finished"
            } else if s.playing {
                "running"
            } else {
                "paused"
            };
            let rate = s.events_per_s;
            let rate = if rate >= 1e6 {
                format!("{:.2} M", rate / 1e6)
            } else if rate >= 1e3 {
                format!("{:.1} k", rate / 1e3)
            } else {
                format!("{rate:.0}")
            };
            ui.label(format!(
                "t = {:.3} s / {:.1} s  ·  {state}  ·  speed {}  ·  {rate} events/s  ·  {} events",
                s.now_nanos as f64 / 1e9,
                s.duration_nanos as f64 / 1e9,
                if self.flat_out {
                    "flat out".to_string()
                } else {
                    format!("{}x", self.speed)
                },
                s.events,
            ));
            ui.separator();
            let dirty = if self.doc.is_dirty() { " •" } else { "" };
            ui.label(format!("{}{dirty}", self.doc.title()))
                .on_hover_text(if dirty.is_empty() {
                    "No unsaved changes"
                } else {
                    "Unsaved changes"
                });
            if let Some(error) = &s.error {
                ui.separator();
                ui.label(RichText::new(error).color(style::ALARM));
            } else if let Some(refused) = &s.refused {
                ui.separator();
                ui.label(RichText::new(format!("Fault refused: {refused}")).color(style::ALARM));
            } else if let Some((message, bad)) = &self.status {
                // The compared design's run ended since the status said it began.
                let message = match self.plots.compare.done() {
                    Some(other) if message.ends_with("in the background…") => format!(
                        "Comparing with {}: its plots are dashed, its report is in the Report tab",
                        other.label
                    ),
                    _ => message.clone(),
                };
                ui.separator();
                let color = if *bad {
                    style::ALARM
                } else {
                    ui.visuals().text_color()
                };
                ui.label(RichText::new(message).color(color));
            }
        });
    }

    fn palette_ui(&self, ui: &mut egui::Ui, commands: &mut Vec<LabCommand>) {
        ui.add_space(4.0);
        ui.label(RichText::new("Add").strong());
        ui.label(
            RichText::new("click, or drag onto the canvas")
                .small()
                .weak(),
        );
        for kind in Kind::ALL {
            let button = egui::Button::new(RichText::new(kind.label()).color(Color32::WHITE))
                .fill(kind.color().gamma_multiply(0.7))
                .min_size(egui::vec2(104.0, 30.0))
                .sense(egui::Sense::click_and_drag());
            let response = ui.add(button).on_hover_text(kind.help());
            if response.clicked() {
                let center = canvas::new_node(kind, self.canvas.center);
                commands.push(LabCommand::Edit(Edit::AddNode(center)));
            }
            if response.drag_started() {
                egui::DragAndDrop::set_payload(ui.ctx(), kind);
            }
            if response.dragged()
                && let Some(pointer) = ui.ctx().pointer_interact_pos()
            {
                // The node being dragged follows the pointer.
                let painter = ui.ctx().layer_painter(egui::LayerId::new(
                    egui::Order::Tooltip,
                    egui::Id::unique("palette-drag"),
                ));
                let rect = egui::Rect::from_center_size(pointer, style::NODE_SIZE * 0.8);
                painter.add(kind.shape(
                    rect,
                    kind.color().gamma_multiply(0.6),
                    egui::Stroke::new(1.5, Color32::WHITE),
                ));
                painter.text(
                    rect.center(),
                    egui::Align2::CENTER_CENTER,
                    kind.label(),
                    egui::FontId::proportional(13.0),
                    Color32::WHITE,
                );
            }
        }
    }

    /// A palette entry dropped on the canvas adds a node there.
    fn palette_drop(&self, ui: &egui::Ui, commands: &mut Vec<LabCommand>) {
        let released = ui.input(|i| i.pointer.any_released());
        let Some(pointer) = ui.input(|i| i.pointer.interact_pos()) else {
            return;
        };
        if released
            && self.canvas.screen_rect.contains(pointer)
            && let Some(kind) = egui::DragAndDrop::take_payload::<Kind>(ui.ctx())
            && let Some(at) = self.canvas.canvas_pos(pointer)
        {
            commands.push(LabCommand::Edit(Edit::AddNode(canvas::new_node(*kind, at))));
        }
    }

    fn faults_ui(&self, ui: &mut egui::Ui, commands: &mut Vec<LabCommand>) {
        egui::CollapsingHeader::new("Fault timeline")
            .default_open(true)
            .show(ui, |ui| {
                let faults = &self.snapshot.faults;
                if faults.is_empty() {
                    ui.label(RichText::new("No faults. Right-click a node or an edge while running to crash, slow or cut it.").small().weak());
                }
                let scenario_faults = self.loaded.as_ref().map_or(0, |(_, s)| s.faults.len());
                for (i, fault) in faults.iter().enumerate() {
                    let raw = self.loaded.as_ref().and_then(|(_, s)| s.fault_to_raw(fault));
                    let Some(raw) = raw else { continue };
                    let until = raw.duration.map(|d| format!(" for {d}")).unwrap_or_default();
                    let origin = if i < scenario_faults { "scheduled" } else { "injected" };
                    // Wrapped, never wider than the panel: the faults arrive with the
                    // runner's snapshot, and a line that widened the panel would shift and
                    // re-zoom the canvas under the pointer whenever a run was loaded.
                    ui.horizontal(|ui| {
                        let in_file = self.doc.raw.faults.iter().position(|f| *f == raw);
                        if let Some(index) = in_file
                            && i < scenario_faults
                            && ui
                                .small_button("remove")
                                .on_hover_text("Remove this fault from the scenario")
                                .clicked()
                        {
                            commands.push(LabCommand::Edit(Edit::RemoveFault(index)));
                        }
                        let line = format!(
                            "{:.3} s  {} {:?}{until} ({origin})",
                            raw.at.nanos as f64 / 1e9,
                            raw.target,
                            raw.kind
                        );
                        ui.add(egui::Label::new(line).wrap());
                    });
                }
                let injected = self.injected_faults();
                if !injected.is_empty()
                    && ui
                        .button("Save injected faults into the scenario")
                        .on_hover_text("Adds them to the scenario's faults, so a replay does the same")
                        .clicked()
                {
                    commands.push(LabCommand::Edit(Edit::AddFaults(injected)));
                }
            });
    }

    fn path_chosen(&mut self, purpose: Purpose, path: PathBuf) {
        match purpose {
            Purpose::Open => self.open_path(&path),
            Purpose::SaveAs => self.save_to(&path),
            Purpose::ExportJson => self.export(&path, Export::Json),
            Purpose::ExportCsv => self.export(&path, Export::Csv),
            Purpose::Compare => self.compare_with(experiments::Source::File(path)),
        }
    }

    /// Runs another design (a file, or the open one as saved) to compare the open one with.
    pub fn compare_with(&mut self, source: experiments::Source) {
        let (path, label) = match source {
            experiments::Source::Saved(path) => {
                let label = format!("{} (saved)", path.display());
                (path, label)
            }
            experiments::Source::File(path) => {
                let label = path.display().to_string();
                (path, label)
            }
        };
        match crate::scenario::load(&path) {
            Ok((_, mut scenario)) => {
                // Common random numbers: the other design runs on this one's seed, so nodes
                // they share draw the same numbers and a difference is the design's.
                scenario.seed = self.doc.raw.seed;
                let label = format!("{label}, seed {}", scenario.seed);
                let ctx = self.ctx.clone();
                self.plots.compare.start(&ctx, label.clone(), scenario);
                self.status = Some((
                    format!("Comparing with {label}: running it in the background…"),
                    false,
                ));
            }
            Err(e) => self.load_error = Some(e.to_string()),
        }
    }

    fn files_dropped(&self, ctx: &egui::Context, commands: &mut Vec<LabCommand>) {
        let dropped = ctx.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .find(|p| p.extension().is_some_and(|e| e == "ron"))
        });
        if let Some(path) = dropped {
            commands.push(LabCommand::OpenFile(path));
        }
    }

    fn window_title(&mut self, ctx: &egui::Context) {
        let dirty = if self.doc.is_dirty() { "• " } else { "" };
        let title = format!("{dirty}{} — evlab", self.doc.title());
        if title != self.title {
            ctx.send_viewport_cmd(egui::ViewportCommand::Title(title.clone()));
            self.title = title;
        }
    }

    fn close_requested(&mut self, ctx: &egui::Context) {
        if ctx.input(|i| i.viewport().close_requested()) && self.doc.is_dirty() && !self.allow_close
        {
            ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
            self.confirm = Some(Discard::Quit);
        }
        if self.allow_close {
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
    }

    fn dialogs_ui(&mut self, ctx: &egui::Context, commands: &mut Vec<LabCommand>) {
        if self.confirm.is_some() {
            egui::Window::new("Unsaved changes")
                .collapsible(false)
                .resizable(false)
                .anchor(egui::Align2::CENTER_CENTER, egui::Vec2::ZERO)
                .show(ctx, |ui| {
                    ui.label(format!("{} has unsaved changes.", self.doc.title()));
                    ui.horizontal(|ui| {
                        command_button(ui, LabCommand::DiscardChanges, commands);
                        command_button(ui, LabCommand::KeepChanges, commands);
                    });
                });
        }
        if let Some(error) = &self.load_error {
            egui::Window::new("Could not open the file")
                .collapsible(false)
                .anchor(egui::Align2::CENTER_CENTER, egui::Vec2::ZERO)
                .show(ctx, |ui| {
                    ui.label(RichText::new(error).monospace().color(style::ALARM));
                    ui.label("Your current work is untouched.");
                    command_button(ui, LabCommand::DismissLoadError, commands);
                });
        }
        self.typed_path_ui(ctx, commands);
    }

    /// The typed-path prompt, where no native file dialog can be shown.
    fn typed_path_ui(&mut self, ctx: &egui::Context, commands: &mut Vec<LabCommand>) {
        let Some((purpose, text)) = &mut self.dialogs.typed else {
            return;
        };
        let purpose = *purpose;
        let mut done = None;
        egui::Window::new(purpose.title())
            .collapsible(false)
            .anchor(egui::Align2::CENTER_CENTER, egui::Vec2::ZERO)
            .show(ctx, |ui| {
                let label = ui.label("Path of the file:");
                let response = ui
                    .add(
                        egui::TextEdit::singleline(text)
                            .desired_width(420.0)
                            .hint_text("/path/to/scenario.ron"),
                    )
                    .labelled_by(label.id);
                let enter = response.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter));
                ui.horizontal(|ui| {
                    if ui.button("OK").clicked() || enter {
                        done = Some(true);
                    }
                    if ui.button("Cancel").clicked() {
                        done = Some(false);
                    }
                });
            });
        let Some(chosen) = done else { return };
        let path = text.trim().to_string();
        self.dialogs.typed = None;
        if chosen && !path.is_empty() {
            commands.push(LabCommand::PathChosen(purpose, PathBuf::from(path)));
        }
    }
}

/// A new, empty scenario.
pub fn empty_scenario() -> RawScenario {
    RawScenario {
        version: 1,
        name: "untitled".into(),
        description: String::new(),
        seed: 1,
        duration: crate::scenario::units::Duration::from_secs(60),
        warmup: None,
        sample_every: None,
        limits: None,
        nodes: Vec::new(),
        edges: Vec::new(),
        faults: Vec::new(),
    }
}

/// A generated topology of `6 * groups` nodes: per group a producer, a fanout exchange,
/// two queues and two consumers. For the frame benchmark.
pub fn big_topology(groups: usize) -> RawScenario {
    use crate::scenario::raw::{RawEdge, RawNode};
    let mut raw = empty_scenario();
    raw.name = format!("{} nodes", groups * 6);
    let kinds = [
        Kind::Producer,
        Kind::Exchange,
        Kind::Queue,
        Kind::Queue,
        Kind::Consumer,
        Kind::Consumer,
    ];
    for g in 0..groups {
        let ids: Vec<String> = ["p", "x", "qa", "qb", "ca", "cb"]
            .iter()
            .map(|s| format!("{s}{g}"))
            .collect();
        let column = [0.0, 1.0, 2.0, 2.0, 3.0, 3.0];
        let row = [0.0, 0.0, -0.5, 0.5, -0.5, 0.5];
        for i in 0..6 {
            let at = egui::pos2(column[i] * 220.0, (g as f32 + row[i] * 0.8) * 120.0);
            let mut node: RawNode = canvas::new_node(kinds[i], at);
            *node.id_mut() = ids[i].clone();
            raw.nodes.push(node);
        }
        for (from, to) in [(0, 1), (1, 2), (1, 3), (2, 4), (3, 5)] {
            raw.edges.push(RawEdge {
                from: ids[from].clone(),
                to: ids[to].clone(),
                ..Default::default()
            });
        }
    }
    raw
}

/// The message-trace tab: one message's life as a timeline.
fn trace_ui(
    ui: &mut egui::Ui,
    traffic: &mut Traffic,
    input: &mut String,
    node_ids: &[String],
    every: u64,
    commands: &mut Vec<LabCommand>,
) {
    ui.horizontal(|ui| {
        let label = ui.label("Message id");
        let response = ui
            .add(egui::TextEdit::singleline(input).desired_width(100.0))
            .labelled_by(label.id);
        if response.changed() {
            traffic.selected = input.trim().parse().ok();
        }
        ui.label(
            RichText::new(format!(
                "Click a dot on the canvas, or type an id. 1 message in {every} is followed."
            ))
            .weak(),
        );
    });
    ui.horizontal_wrapped(|ui| {
        ui.label("Recent:");
        for message in traffic.recent_messages(12) {
            if ui.small_button(message.to_string()).clicked() {
                commands.push(LabCommand::TraceMessage(message));
            }
        }
    });
    ui.separator();
    let Some(message) = traffic.selected else {
        return;
    };
    let hops = traffic.trace(message);
    if hops.is_empty() {
        ui.label(format!(
            "No record of message {message}: only 1 in {every} messages is followed, and only the latest hops are kept."
        ));
        return;
    }
    egui::ScrollArea::vertical().show(ui, |ui| {
        egui::Grid::new("trace")
            .striped(true)
            .num_columns(3)
            .show(ui, |ui| {
                for hop in hops {
                    ui.label(RichText::new(format!("{:.6} s", hop.at as f64 / 1e9)).monospace());
                    let node = node_ids.get(hop.node as usize).map_or("", String::as_str);
                    ui.label(node);
                    ui.label(hop.kind.label());
                    ui.end_row();
                }
            });
    });
}

/// A button for `command`, with its tooltip and keys.
fn command_button(ui: &mut egui::Ui, command: LabCommand, commands: &mut Vec<LabCommand>) {
    if ui
        .button(command.text())
        .on_hover_text(command.tooltip_with_keys(ui.ctx()))
        .clicked()
    {
        commands.push(command);
    }
}
