//! Opening, saving and closing: the document's life in files, examples and the
//! window, with the question asked before unsaved work would be lost.

use std::path::{Path, PathBuf};

use eframe::egui;

use super::document::Document;
use super::experiments::Source;
use super::files::{self, Purpose};
use super::plots::Export;
use super::templates::empty_scenario;
use super::{Canvas, Lab, layout};
use crate::examples::example;
use crate::scenario::raw::RawScenario;
use crate::scenario::{LoadError, leading_comments, parse_raw, to_ron};

/// Something waiting for the user to agree to lose unsaved changes.
#[derive(Debug, Clone, PartialEq)]
pub enum Discard {
    New,
    Open,
    OpenPath(PathBuf),
    Example(&'static str),
    Quit,
}

impl Lab {
    /// Replaces the document (after New, Open or an example); the old run ends. `header`:
    /// the comments above the scenario in its file, kept for saving.
    pub(super) fn replace(
        &mut self,
        raw: RawScenario,
        path: Option<PathBuf>,
        label: String,
        header: String,
    ) {
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
    pub(super) fn place_unplaced_nodes(&mut self) {
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
        let raw = files::read_scenario_text(path).and_then(|text| {
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

    /// Save in the unsaved-changes prompt: saves, then does what waited. Without a file
    /// to save to, it asks for one first; if that save fails or is given up, nothing
    /// waits any more and the work stays as it is.
    pub(super) fn save_then_proceed(&mut self) {
        let Some(what) = self.confirm.take() else {
            return;
        };
        match self.doc.path.clone() {
            Some(path) => {
                self.save_to(&path);
                if !self.doc.is_dirty() {
                    self.proceed(what);
                }
            }
            None => {
                self.after_save = Some(what);
                self.ask_path(Purpose::SaveAs);
            }
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

    pub(super) fn export(&mut self, path: &Path, what: Export) {
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

    pub(super) fn request(&mut self, what: Discard) {
        if self.doc.is_dirty() && what != Discard::Quit
            || (what == Discard::Quit && self.doc.is_dirty())
        {
            self.confirm = Some(what);
        } else {
            self.proceed(what);
        }
    }

    pub(super) fn proceed(&mut self, what: Discard) {
        match what {
            Discard::New => self.replace(empty_scenario(), None, "untitled".into(), String::new()),
            Discard::Open => self.ask_path(Purpose::Open),
            Discard::OpenPath(path) => self.open_path(&path),
            Discard::Example(name) => self.open_example(name),
            Discard::Quit => self.allow_close = true,
        }
    }

    /// Asks for a path for `purpose`, starting beside the document's file.
    pub(super) fn ask_path(&mut self, purpose: Purpose) {
        let near = self.doc.path.clone();
        self.dialogs.ask(purpose, near.as_deref());
    }

    pub(super) fn path_chosen(&mut self, purpose: Purpose, path: PathBuf) {
        match purpose {
            Purpose::Open => self.open_path(&path),
            Purpose::SaveAs => {
                self.save_to(&path);
                if let Some(what) = self.after_save.take()
                    && !self.doc.is_dirty()
                {
                    self.proceed(what);
                }
            }
            Purpose::ExportJson => self.export(&path, Export::Json),
            Purpose::ExportCsv => self.export(&path, Export::Csv),
            Purpose::Compare => self.compare_with(Source::File(path)),
        }
    }

    /// Runs another design (a file, or the open one as saved) to compare the open one with.
    pub fn compare_with(&mut self, source: Source) {
        let (path, label) = match source {
            Source::Saved(path) => {
                let label = format!("{} (saved)", path.display());
                (path, label)
            }
            Source::File(path) => {
                let label = path.display().to_string();
                (path, label)
            }
        };
        let loaded = files::read_scenario_text(&path)
            .and_then(|text| crate::scenario::parse(&text, &path.display().to_string()));
        match loaded {
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

    pub(super) fn window_title(&mut self, ctx: &egui::Context) {
        let dirty = if self.doc.is_dirty() { "• " } else { "" };
        let title = format!("{dirty}{} — evlab", self.doc.title());
        if title != self.title {
            ctx.send_viewport_cmd(egui::ViewportCommand::Title(title.clone()));
            self.title = title;
        }
    }

    pub(super) fn close_requested(&mut self, ctx: &egui::Context) {
        if ctx.input(|i| i.viewport().close_requested()) && self.doc.is_dirty() && !self.allow_close
        {
            ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
            self.confirm = Some(Discard::Quit);
        }
        if self.allow_close {
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
    }
}
