//! The desktop lab: draw a topology, run it, watch it, break it.
//!
//! [`Lab`] is the whole application state with one `ui` function, so that the
//! eframe window and the egui_kittest tests drive the same code. It is glue:
//! the scenario lives in a [`document::Document`] changed only by
//! [`document::Edit`]s; the canvas, inspector and menus emit edits; the
//! simulation runs on its own thread behind [`runner::Runner`]. Nothing outside
//! this module depends on egui.

pub mod canvas;
pub mod document;
pub mod experiments;
pub mod files;
pub mod inspector;
pub mod layout;
pub mod plots;
pub mod runner;
pub mod style;
pub mod traffic;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use eframe::egui::{self, Color32, Key, KeyboardShortcut, Modifiers, RichText};

use self::canvas::{Action, Aim, Canvas};
use self::document::{Document, Edit};
use self::files::{Dialogs, Purpose};
use self::plots::{Export, Plots};
use self::runner::{RunCommand, Runner, Snapshot, Speed};
use self::style::Kind;
use self::traffic::Traffic;
use crate::examples::{self, DEFAULT_EXAMPLE, EXAMPLES, example};
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

    pub fn reset(&mut self) {
        self.sync_run();
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
            Discard::Open => {
                let near = self.doc.path.clone();
                self.dialogs.ask(Purpose::Open, near.as_deref());
            }
            Discard::OpenPath(path) => self.open_path(&path),
            Discard::Example(name) => self.open_example(name),
            Discard::Quit => self.allow_close = true,
        }
    }

    /// The whole lab, one frame.
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
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
        self.refresh_problems();
        if let Some((purpose, path)) = self.dialogs.poll() {
            self.path_chosen(purpose, path);
        }
        self.files_dropped(&ctx);
        self.window_title(&ctx);
        self.close_requested(&ctx);
        let mut actions = Vec::new();
        self.shortcuts(&ctx, &mut actions);

        egui::Panel::top("menu").show(ui, |ui| self.menu_ui(ui));
        egui::Panel::top("run").show(ui, |ui| self.run_controls_ui(ui));
        egui::Panel::bottom("status").show(ui, |ui| self.status_ui(ui));
        egui::Panel::bottom("plots")
            .resizable(true)
            .default_size(250.0)
            .show(ui, |ui| {
                let report = self.snapshot.report.clone();
                let trace = |ui: &mut egui::Ui| {
                    trace_ui(
                        ui,
                        &mut self.traffic,
                        &mut self.trace_input,
                        &self.node_ids,
                        self.snapshot.trace_every,
                    )
                };
                let scenario = self.loaded.as_ref().map(|(_, s)| s);
                if let Some(export) = self.plots.ui(ui, report.as_deref(), scenario, trace) {
                    let purpose = match export {
                        Export::Json => Purpose::ExportJson,
                        Export::Csv => Purpose::ExportCsv,
                    };
                    self.dialogs.ask(purpose, None);
                }
            });
        egui::Panel::left("palette")
            .resizable(false)
            .exact_size(120.0)
            .show(ui, |ui| self.palette_ui(ui, &mut actions));
        egui::Panel::right("inspector")
            .resizable(true)
            .default_size(330.0)
            .show(ui, |ui| {
                if let Some(edit) =
                    inspector::ui(ui, &self.doc, &self.canvas.selection, &self.problems)
                {
                    actions.push(Action::Edit(edit));
                }
                ui.separator();
                self.faults_ui(ui, &mut actions);
            });
        egui::CentralPanel::no_frame().show(ui, |ui| {
            let snapshot = self.snapshot.clone();
            self.canvas.ui(
                ui,
                &self.doc,
                &snapshot,
                &self.traffic,
                &self.node_ids,
                &mut actions,
            );
            self.palette_drop(ui, &mut actions);
        });
        self.dialogs_ui(&ctx);
        for action in actions {
            match action {
                Action::Edit(edit) => self.apply(edit),
                Action::Fault {
                    aim,
                    kind,
                    duration,
                } => self.inject(&aim, kind, duration),
                Action::EndGesture => self.doc.seal(),
                Action::TraceMessage(message) => {
                    self.traffic.selected = Some(message);
                    self.trace_input = message.to_string();
                    self.plots.tab = plots::Tab::Trace;
                }
            }
        }
        if let Some(refusal) = self.canvas.refusal.take() {
            self.status = Some((format!("Not connected: {refusal}"), true));
        }
    }

    fn shortcuts(&mut self, ctx: &egui::Context, actions: &mut Vec<Action>) {
        if ctx.egui_wants_keyboard_input() {
            return;
        }
        let command = Modifiers::COMMAND;
        let pressed = |m: Modifiers, k: Key| {
            ctx.input_mut(|i| i.consume_shortcut(&KeyboardShortcut::new(m, k)))
        };
        if pressed(command | Modifiers::SHIFT, Key::Z) || pressed(command, Key::Y) {
            self.redo();
        }
        if pressed(command, Key::Z) {
            self.undo();
        }
        if pressed(command, Key::S) {
            self.save();
        }
        if pressed(command, Key::O) {
            self.request(Discard::Open);
        }
        if pressed(command, Key::D) {
            self.canvas.copy(&self.doc);
            if let Some(edit) = self.canvas.paste_edit() {
                actions.push(Action::Edit(edit));
            }
        }
        if pressed(command, Key::A) {
            self.canvas.selection.nodes = self
                .doc
                .raw
                .nodes
                .iter()
                .map(|n| n.id().to_string())
                .collect();
        }
        if pressed(Modifiers::NONE, Key::Delete) || pressed(Modifiers::NONE, Key::Backspace) {
            for edit in self.canvas.delete_edits() {
                actions.push(Action::Edit(edit));
            }
        }
        if pressed(Modifiers::NONE, Key::Escape) {
            self.canvas.selection.clear();
        }
        if pressed(Modifiers::NONE, Key::F) {
            self.canvas.request_fit();
        }
        if pressed(Modifiers::NONE, Key::Space) {
            if self.snapshot.playing {
                self.pause()
            } else {
                self.play()
            }
        }
        // Copy and paste arrive as events, not keys.
        let events = ctx.input(|i| i.events.clone());
        for event in events {
            match event {
                egui::Event::Copy => self.canvas.copy(&self.doc),
                egui::Event::Cut => {
                    self.canvas.copy(&self.doc);
                    for edit in self.canvas.delete_edits() {
                        actions.push(Action::Edit(edit));
                    }
                }
                egui::Event::Paste(_) => {
                    if let Some(edit) = self.canvas.paste_edit() {
                        actions.push(Action::Edit(edit));
                    }
                }
                _ => {}
            }
        }
    }

    fn menu_ui(&mut self, ui: &mut egui::Ui) {
        egui::MenuBar::new().ui(ui, |ui| {
            ui.menu_button("File", |ui| {
                if ui.button("New").clicked() {
                    self.request(Discard::New);
                }
                if ui.button("Open…").clicked() {
                    self.request(Discard::Open);
                }
                ui.menu_button("Open Example", |ui| {
                    for (name, _) in EXAMPLES {
                        let description = examples::description(name);
                        if ui.button(*name).on_hover_text(description).clicked() {
                            self.request(Discard::Example(name));
                        }
                    }
                });
                ui.menu_button("Open Recent", |ui| {
                    if self.recent.is_empty() {
                        ui.label("Nothing yet");
                    }
                    for path in self.recent.clone() {
                        if ui.button(path.display().to_string()).clicked() {
                            self.request(Discard::OpenPath(path));
                        }
                    }
                });
                ui.separator();
                if ui.button("Save").clicked() {
                    self.save();
                }
                if ui.button("Save As…").clicked() {
                    let near = self.doc.path.clone();
                    self.dialogs.ask(Purpose::SaveAs, near.as_deref());
                }
                ui.separator();
                if ui
                    .button("Compare with…")
                    .on_hover_text(
                        "Run another design to its end and overlay its plots on this one's, with \
                         its report beside this one's",
                    )
                    .clicked()
                {
                    let near = self.doc.path.clone();
                    self.dialogs.ask(Purpose::Compare, near.as_deref());
                }
                let saved = self.doc.path.clone();
                if ui
                    .add_enabled(
                        saved.is_some(),
                        egui::Button::new("Compare with the saved version"),
                    )
                    .on_disabled_hover_text("Save the scenario first")
                    .clicked()
                    && let Some(path) = saved
                {
                    self.compare_with(experiments::Source::Saved(path));
                }
                if ui
                    .add_enabled(
                        self.plots.compare.other.is_some(),
                        egui::Button::new("Stop comparing"),
                    )
                    .clicked()
                {
                    self.plots.compare.clear();
                }
                ui.separator();
                if ui.button("Quit").clicked() {
                    ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
                }
            });
            ui.menu_button("Edit", |ui| {
                if ui
                    .add_enabled(
                        self.doc.can_undo(),
                        egui::Button::new("Undo").shortcut_text("Ctrl+Z"),
                    )
                    .clicked()
                {
                    self.undo();
                }
                if ui
                    .add_enabled(
                        self.doc.can_redo(),
                        egui::Button::new("Redo").shortcut_text("Ctrl+Shift+Z"),
                    )
                    .clicked()
                {
                    self.redo();
                }
                ui.separator();
                if ui
                    .add(egui::Button::new("Copy").shortcut_text("Ctrl+C"))
                    .clicked()
                {
                    self.canvas.copy(&self.doc);
                }
                if ui
                    .add(egui::Button::new("Paste").shortcut_text("Ctrl+V"))
                    .clicked()
                    && let Some(edit) = self.canvas.paste_edit()
                {
                    self.apply(edit);
                }
                if ui
                    .add(egui::Button::new("Duplicate").shortcut_text("Ctrl+D"))
                    .clicked()
                {
                    self.canvas.copy(&self.doc);
                    if let Some(edit) = self.canvas.paste_edit() {
                        self.apply(edit);
                    }
                }
                if ui
                    .add(egui::Button::new("Delete").shortcut_text("Del"))
                    .clicked()
                {
                    for edit in self.canvas.delete_edits() {
                        self.apply(edit);
                    }
                }
            });
            ui.menu_button("View", |ui| {
                if ui
                    .add(egui::Button::new("Fit to view").shortcut_text("F"))
                    .clicked()
                {
                    self.canvas.request_fit();
                }
                if ui
                    .button("Auto-layout")
                    .on_hover_text("Arrange the graph left to right, from producers to consumers")
                    .clicked()
                {
                    self.auto_layout();
                }
                ui.checkbox(&mut self.canvas.snap, "Snap to grid");
            });
        });
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

    fn run_controls_ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            let playing = self.snapshot.playing;
            if playing {
                if ui
                    .button("Pause")
                    .on_hover_text("Pause the simulation (Space)")
                    .clicked()
                {
                    self.pause();
                }
            } else if ui
                .button("Run")
                .on_hover_text("Run the simulation (Space)")
                .clicked()
            {
                self.play();
            }
            if ui
                .button("Step")
                .on_hover_text("Execute one engine event")
                .clicked()
            {
                self.step();
            }
            if ui
                .button("Reset")
                .on_hover_text("Back to time zero with the scenario as it is now")
                .clicked()
            {
                self.reset();
            }
            ui.separator();
            ui.label("Speed");
            let slow = ui
                .add_enabled(
                    !self.flat_out,
                    egui::Slider::new(&mut self.speed, 0.001..=1000.0)
                        .logarithmic(true)
                        .suffix("x")
                        .max_decimals(3),
                )
                .on_hover_text(
                    "Simulated seconds per real second: below 0.01 you can follow single messages",
                )
                .changed();
            let flat = ui
                .checkbox(&mut self.flat_out, "flat out")
                .on_hover_text("As fast as the engine goes")
                .changed();
            if slow || flat {
                self.send_speed();
            }
            ui.separator();
            let mut settings = self.doc.raw.clone();
            ui.label("Seed");
            if ui
                .add(egui::DragValue::new(&mut settings.seed))
                .on_hover_text("Same scenario and seed: the same run, every time")
                .changed()
            {
                self.apply(Edit::SetSettings(Box::new(settings)));
            }
            if self.stale_run {
                ui.separator();
                ui.label(
                    RichText::new("The scenario changed.")
                        .color(Color32::from_rgb(0xe0, 0x9a, 0x20)),
                );
                if ui.button("Restart to apply").clicked() {
                    self.sync_run();
                }
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

    fn palette_ui(&mut self, ui: &mut egui::Ui, actions: &mut Vec<Action>) {
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
                actions.push(Action::Edit(Edit::AddNode(center)));
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
    fn palette_drop(&mut self, ui: &egui::Ui, actions: &mut Vec<Action>) {
        let released = ui.input(|i| i.pointer.any_released());
        let Some(pointer) = ui.input(|i| i.pointer.interact_pos()) else {
            return;
        };
        if released
            && self.canvas.screen_rect.contains(pointer)
            && let Some(kind) = egui::DragAndDrop::take_payload::<Kind>(ui.ctx())
            && let Some(at) = self.canvas.canvas_pos(pointer)
        {
            actions.push(Action::Edit(Edit::AddNode(canvas::new_node(*kind, at))));
        }
    }

    fn faults_ui(&mut self, ui: &mut egui::Ui, actions: &mut Vec<Action>) {
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
                            actions.push(Action::Edit(Edit::RemoveFault(index)));
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
                    actions.push(Action::Edit(Edit::AddFaults(injected)));
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

    fn files_dropped(&mut self, ctx: &egui::Context) {
        let dropped: Vec<PathBuf> = ctx.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .collect()
        });
        if let Some(path) = dropped
            .into_iter()
            .find(|p| p.extension().is_some_and(|e| e == "ron"))
        {
            self.request(Discard::OpenPath(path));
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

    fn dialogs_ui(&mut self, ctx: &egui::Context) {
        if let Some(what) = self.confirm.clone() {
            egui::Window::new("Unsaved changes")
                .collapsible(false)
                .resizable(false)
                .anchor(egui::Align2::CENTER_CENTER, egui::Vec2::ZERO)
                .show(ctx, |ui| {
                    ui.label(format!("{} has unsaved changes.", self.doc.title()));
                    ui.horizontal(|ui| {
                        if ui.button("Discard changes").clicked() {
                            self.confirm = None;
                            self.proceed(what.clone());
                        }
                        if ui.button("Cancel").clicked() {
                            self.confirm = None;
                        }
                    });
                });
        }
        if let Some(error) = self.load_error.clone() {
            egui::Window::new("Could not open the file")
                .collapsible(false)
                .anchor(egui::Align2::CENTER_CENTER, egui::Vec2::ZERO)
                .show(ctx, |ui| {
                    ui.label(RichText::new(error).monospace().color(style::ALARM));
                    ui.label("Your current work is untouched.");
                    if ui.button("OK").clicked() {
                        self.load_error = None;
                    }
                });
        }
        if let Some((purpose, mut text)) = self.dialogs.typed.clone() {
            let mut done = None;
            egui::Window::new(purpose.title())
                .collapsible(false)
                .anchor(egui::Align2::CENTER_CENTER, egui::Vec2::ZERO)
                .show(ctx, |ui| {
                    let label = ui.label("Path of the file:");
                    let response = ui
                        .add(
                            egui::TextEdit::singleline(&mut text)
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
            match done {
                Some(true) => {
                    self.dialogs.typed = None;
                    let path = PathBuf::from(text.trim());
                    if !text.trim().is_empty() {
                        self.path_chosen(purpose, path);
                    }
                }
                Some(false) => self.dialogs.typed = None,
                None => self.dialogs.typed = Some((purpose, text)),
            }
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
                traffic.selected = Some(message);
                *input = message.to_string();
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
