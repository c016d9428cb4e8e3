//! Commands: everything a user can ask of the lab, with its words and its keys.
//!
//! Menus, buttons, keyboard shortcuts and canvas gestures only emit a
//! [`LabCommand`]; [`Lab::execute`] is the one place that applies them (as Rerun's
//! viewer does with its `UICommand`). A command carries its own menu text, tooltip
//! and [`Trigger`]s, so the text a menu shows for a shortcut and the key the
//! handler listens for come from the same definition.

use std::borrow::Cow;
use std::path::PathBuf;

use eframe::egui::{self, Key, KeyboardShortcut, Modifiers};

use super::Lab;
use super::document::Edit;
use super::experiments::Source;
use super::files::Purpose;
use super::open_save::Discard;
use super::plots::{self, Export};
use crate::scenario::guarantees::FaultKind;
use crate::scenario::units::Duration;

/// What a fault from the canvas is aimed at.
#[derive(Debug, Clone, PartialEq)]
pub enum Aim {
    Node(String),
    Edge(usize),
}

/// Something the user asked the lab to do.
#[derive(Debug, Clone, PartialEq)]
pub enum LabCommand {
    // File
    New,
    Open,
    OpenExample(&'static str),
    /// A recent file, or a file dropped on the window.
    OpenFile(PathBuf),
    Save,
    SaveAs,
    CompareWith,
    CompareWithSaved,
    StopComparing,
    Quit,
    // Edit
    Undo,
    Redo,
    Copy,
    Cut,
    Paste,
    Duplicate,
    Delete,
    SelectAll,
    SelectNone,
    // View
    FitToView,
    AutoLayout,
    ToggleSnapToGrid,
    ToggleConnectNew,
    /// The whole window larger, smaller, or as the system has it (egui also reads
    /// Ctrl+Plus, Ctrl+Minus and Ctrl+0 itself).
    ZoomIn,
    ZoomOut,
    ZoomReset,
    // Run
    TogglePlayPause,
    Step,
    Reset,
    /// Reset, offered when the scenario changed under a running simulation.
    RestartToApply,
    SetSpeed(f64),
    SetFlatOut(bool),
    /// Inject a fault now.
    Inject {
        aim: Aim,
        kind: FaultKind,
        duration: Option<Duration>,
    },
    ExportReport(Export),
    // The scenario and the canvas
    Edit(Edit),
    /// Seal the undo merge: a gesture ended.
    EndGesture,
    /// Show this message's life in the trace panel.
    TraceMessage(u64),
    // Dialogs
    /// Save the unsaved changes (asking for a path if the document has none), then go on
    /// with what waited for them.
    SaveChanges,
    /// Go on with what waited for unsaved changes to be discarded.
    DiscardChanges,
    /// Keep the unsaved changes: forget what waited for them.
    KeepChanges,
    DismissLoadError,
    PathChosen(Purpose, PathBuf),
}

/// How a command is given from the keyboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    Key(KeyboardShortcut),
    /// The platform's copy, cut and paste keys, which egui delivers as `Event::Copy`,
    /// `Event::Cut` and `Event::Paste` rather than as key presses.
    Copy,
    Cut,
    Paste,
}

impl Trigger {
    /// The keys as the platform writes them ("Ctrl+Z", "⌘Z").
    pub fn text(self, ctx: &egui::Context) -> String {
        let clipboard = |key| KeyboardShortcut::new(Modifiers::COMMAND, key);
        let shortcut = match self {
            Trigger::Key(shortcut) => shortcut,
            Trigger::Copy => clipboard(Key::C),
            Trigger::Cut => clipboard(Key::X),
            Trigger::Paste => clipboard(Key::V),
        };
        ctx.format_shortcut(&shortcut)
    }

    fn of(self, event: &egui::Event) -> bool {
        matches!(
            (self, event),
            (Trigger::Copy, egui::Event::Copy)
                | (Trigger::Cut, egui::Event::Cut)
                | (Trigger::Paste, egui::Event::Paste(_))
        )
    }
}

const fn key(modifiers: Modifiers, key: Key) -> Trigger {
    Trigger::Key(KeyboardShortcut::new(modifiers, key))
}

const COMMAND: Modifiers = Modifiers::COMMAND;
const COMMAND_SHIFT: Modifiers = Modifiers {
    shift: true,
    ..Modifiers::COMMAND
};

impl LabCommand {
    /// The commands with keys, in the order the keyboard is read. egui matches a shortcut
    /// ignoring an extra Shift, so Ctrl+Shift+Z (redo) is tried before Ctrl+Z (undo).
    pub const KEYBOARD: [LabCommand; 13] = [
        LabCommand::Redo,
        LabCommand::Undo,
        LabCommand::Save,
        LabCommand::Open,
        LabCommand::Duplicate,
        LabCommand::SelectAll,
        LabCommand::Delete,
        LabCommand::SelectNone,
        LabCommand::FitToView,
        LabCommand::TogglePlayPause,
        LabCommand::Copy,
        LabCommand::Cut,
        LabCommand::Paste,
    ];

    /// The keys that give this command; a menu shows the first.
    pub fn triggers(&self) -> &'static [Trigger] {
        match self {
            LabCommand::Open => const { &[key(COMMAND, Key::O)] },
            LabCommand::Save => const { &[key(COMMAND, Key::S)] },
            LabCommand::Undo => const { &[key(COMMAND, Key::Z)] },
            LabCommand::Redo => const { &[key(COMMAND_SHIFT, Key::Z), key(COMMAND, Key::Y)] },
            LabCommand::Copy => &[Trigger::Copy],
            LabCommand::Cut => &[Trigger::Cut],
            LabCommand::Paste => &[Trigger::Paste],
            LabCommand::Duplicate => const { &[key(COMMAND, Key::D)] },
            LabCommand::Delete => {
                const {
                    &[
                        key(Modifiers::NONE, Key::Delete),
                        key(Modifiers::NONE, Key::Backspace),
                    ]
                }
            }
            LabCommand::SelectAll => const { &[key(COMMAND, Key::A)] },
            LabCommand::SelectNone => const { &[key(Modifiers::NONE, Key::Escape)] },
            LabCommand::FitToView => const { &[key(Modifiers::NONE, Key::F)] },
            LabCommand::TogglePlayPause => const { &[key(Modifiers::NONE, Key::Space)] },
            _ => &[],
        }
    }

    /// The words on its menu entry or button.
    pub fn text(&self) -> Cow<'static, str> {
        let text = match self {
            LabCommand::New => "New",
            LabCommand::Open => "Open…",
            LabCommand::OpenExample(name) => name,
            LabCommand::OpenFile(path) => return path.display().to_string().into(),
            LabCommand::Save => "Save",
            LabCommand::SaveAs => "Save As…",
            LabCommand::CompareWith => "Compare with…",
            LabCommand::CompareWithSaved => "Compare with the saved version",
            LabCommand::StopComparing => "Stop comparing",
            LabCommand::Quit => "Quit",
            LabCommand::Undo => "Undo",
            LabCommand::Redo => "Redo",
            LabCommand::Copy => "Copy",
            LabCommand::Cut => "Cut",
            LabCommand::Paste => "Paste",
            LabCommand::Duplicate => "Duplicate",
            LabCommand::Delete => "Delete",
            LabCommand::SelectAll => "Select All",
            LabCommand::SelectNone => "Select None",
            LabCommand::FitToView => "Fit to view",
            LabCommand::AutoLayout => "Auto-layout",
            LabCommand::ToggleSnapToGrid => "Snap to grid",
            LabCommand::ToggleConnectNew => "Connect from the selection",
            LabCommand::ZoomIn => "Zoom in (Ctrl +)",
            LabCommand::ZoomOut => "Zoom out (Ctrl -)",
            LabCommand::ZoomReset => "Actual size (Ctrl 0)",
            LabCommand::TogglePlayPause => "Run / Pause",
            LabCommand::Step => "Step",
            LabCommand::Reset => "Reset",
            LabCommand::RestartToApply => "Restart to apply",
            LabCommand::SetSpeed(_) => "Speed",
            LabCommand::SetFlatOut(_) => "flat out",
            LabCommand::Inject { .. } => "Inject a fault",
            LabCommand::ExportReport(Export::Json) => "Export JSON…",
            LabCommand::ExportReport(Export::Csv) => "Export CSV…",
            LabCommand::Edit(_) => "Edit the scenario",
            LabCommand::EndGesture => "End the gesture",
            LabCommand::TraceMessage(_) => "Trace the message",
            LabCommand::SaveChanges => "Save",
            LabCommand::DiscardChanges => "Discard changes",
            LabCommand::KeepChanges => "Cancel",
            LabCommand::DismissLoadError => "OK",
            LabCommand::PathChosen(..) => "OK",
        };
        text.into()
    }

    /// What it does, in plain words, for its tooltip.
    pub fn tooltip(&self) -> Cow<'static, str> {
        let tooltip = match self {
            LabCommand::New => "Start an empty scenario",
            LabCommand::Open => "Open a scenario file",
            LabCommand::OpenExample(name) => crate::examples::description(name),
            LabCommand::OpenFile(_) => "Open this scenario file",
            LabCommand::Save => "Save the scenario to its file",
            LabCommand::SaveAs => "Save the scenario to a new file",
            LabCommand::CompareWith => {
                "Run another design to its end and overlay its plots on this one's, with its \
                 report beside this one's"
            }
            LabCommand::CompareWithSaved => {
                "Run the scenario as last saved beside the one being edited"
            }
            LabCommand::StopComparing => "Drop the compared design's plots and report",
            LabCommand::Quit => "Close the lab",
            LabCommand::Undo => "Undo the last edit",
            LabCommand::Redo => "Redo the edit undone last",
            LabCommand::Copy => "Copy the selected nodes and the edges among them",
            LabCommand::Cut => "Copy the selection, then remove it",
            LabCommand::Paste => "Add the copied nodes beside the originals",
            LabCommand::Duplicate => "Copy and paste the selection in one go",
            LabCommand::Delete => "Remove the selected nodes and edges",
            LabCommand::SelectAll => "Select every node",
            LabCommand::SelectNone => "Clear the selection",
            LabCommand::FitToView => "Zoom and pan so the whole graph is in view",
            LabCommand::AutoLayout => {
                "Arrange the graph left to right, from producers to consumers"
            }
            LabCommand::ToggleSnapToGrid => "Moved nodes land on the grid",
            LabCommand::ToggleConnectNew => {
                "A node added from the palette is connected from the selected node, when \
                 their kinds allow it"
            }
            LabCommand::ZoomIn => {
                "Everything larger: text, panels, canvas (for a big screen or a projector)"
            }
            LabCommand::ZoomOut => "Everything smaller",
            LabCommand::ZoomReset => "Back to the system's scale",
            LabCommand::TogglePlayPause => "Run or pause the simulation",
            LabCommand::Step => "Execute one engine event",
            LabCommand::Reset => "Back to time zero with the scenario as it is now",
            LabCommand::RestartToApply => {
                "Start the run afresh with the edited scenario, running if it was"
            }
            LabCommand::SetSpeed(_) => {
                "Simulated seconds per real second: below 0.01 you can follow single messages"
            }
            LabCommand::SetFlatOut(_) => "As fast as the engine goes",
            LabCommand::Inject { .. } => "Inject a fault at the current simulated time",
            LabCommand::ExportReport(_) => "Write the report to a file",
            LabCommand::Edit(_) => "Change the scenario",
            LabCommand::EndGesture => "End the current gesture, for undo",
            LabCommand::TraceMessage(_) => "Show this message's life in the trace panel",
            LabCommand::SaveChanges => "Save the changes, then go on",
            LabCommand::DiscardChanges => "Lose the unsaved changes and go on",
            LabCommand::KeepChanges => "Keep the unsaved changes",
            LabCommand::DismissLoadError => "Close this message",
            LabCommand::PathChosen(..) => "Use this path",
        };
        tooltip.into()
    }

    /// The tooltip with the first key, as a button without a menu's shortcut column shows it.
    pub fn tooltip_with_keys(&self, ctx: &egui::Context) -> String {
        match self.triggers().first() {
            Some(trigger) => format!("{} ({})", self.tooltip(), trigger.text(ctx)),
            None => self.tooltip().into_owned(),
        }
    }
}

/// The commands the keyboard gives this frame, unless a text field has the keyboard.
pub fn from_keyboard(ctx: &egui::Context) -> Vec<LabCommand> {
    if ctx.egui_wants_keyboard_input() {
        return Vec::new();
    }
    let mut commands = Vec::new();
    for command in LabCommand::KEYBOARD {
        let given = command.triggers().iter().any(|trigger| match trigger {
            Trigger::Key(shortcut) => ctx.input_mut(|i| i.consume_shortcut(shortcut)),
            clipboard => ctx.input(|i| i.events.iter().any(|event| clipboard.of(event))),
        });
        if given {
            commands.push(command);
        }
    }
    commands
}

impl Lab {
    /// Whether `command` can do anything now, and if not, why not (menus grey it out and
    /// say so).
    pub fn availability(&self, command: &LabCommand) -> Result<(), &'static str> {
        let (available, why_not) = match command {
            LabCommand::Undo => (self.doc.can_undo(), "Nothing to undo"),
            LabCommand::Redo => (self.doc.can_redo(), "Nothing to redo"),
            LabCommand::CompareWithSaved => (self.doc.path.is_some(), "Save the scenario first"),
            LabCommand::StopComparing => (
                self.plots.compare.other.is_some(),
                "No design is being compared",
            ),
            LabCommand::Copy | LabCommand::Cut | LabCommand::Duplicate => (
                !self.canvas.selection.nodes.is_empty(),
                "Select some nodes first",
            ),
            LabCommand::Delete => (!self.canvas.selection.is_empty(), "Nothing is selected"),
            LabCommand::Paste => (
                !self.canvas.clipboard.nodes.is_empty(),
                "Copy some nodes first",
            ),
            _ => (true, ""),
        };
        if available { Ok(()) } else { Err(why_not) }
    }

    /// Does what the user asked: the one place commands take effect.
    pub fn execute(&mut self, command: LabCommand) {
        match command {
            LabCommand::New => self.request(Discard::New),
            LabCommand::Open => self.request(Discard::Open),
            LabCommand::OpenExample(name) => self.request(Discard::Example(name)),
            LabCommand::OpenFile(path) => self.request(Discard::OpenPath(path)),
            LabCommand::Save => self.save(),
            LabCommand::SaveAs => self.ask_path(Purpose::SaveAs),
            LabCommand::CompareWith => self.ask_path(Purpose::Compare),
            LabCommand::CompareWithSaved => {
                if let Some(path) = self.doc.path.clone() {
                    self.compare_with(Source::Saved(path));
                }
            }
            LabCommand::StopComparing => self.plots.compare.clear(),
            LabCommand::Quit => self.ctx.send_viewport_cmd(egui::ViewportCommand::Close),
            LabCommand::Undo => self.undo(),
            LabCommand::Redo => self.redo(),
            LabCommand::Copy => self.canvas.copy(&self.doc),
            LabCommand::Cut => {
                self.canvas.copy(&self.doc);
                self.delete_selection();
            }
            LabCommand::Paste => self.paste(),
            LabCommand::Duplicate => {
                self.canvas.copy(&self.doc);
                self.paste();
            }
            LabCommand::Delete => self.delete_selection(),
            LabCommand::SelectAll => self.canvas.select_all(&self.doc),
            LabCommand::SelectNone => self.canvas.selection.clear(),
            LabCommand::FitToView => self.canvas.request_fit(),
            LabCommand::AutoLayout => self.auto_layout(),
            LabCommand::ToggleSnapToGrid => self.canvas.snap = !self.canvas.snap,
            LabCommand::ToggleConnectNew => self.canvas.connect_new = !self.canvas.connect_new,
            LabCommand::ZoomIn => egui::gui_zoom::zoom_in(&self.ctx),
            LabCommand::ZoomOut => egui::gui_zoom::zoom_out(&self.ctx),
            LabCommand::ZoomReset => self.ctx.set_zoom_factor(1.0),
            LabCommand::TogglePlayPause if self.snapshot.playing => self.pause(),
            LabCommand::TogglePlayPause => self.play(),
            LabCommand::Step => self.step(),
            LabCommand::Reset => self.sync_run(),
            LabCommand::RestartToApply => self.restart_to_apply(),
            LabCommand::SetSpeed(speed) => {
                self.speed = speed;
                self.send_speed();
            }
            LabCommand::SetFlatOut(flat_out) => {
                self.flat_out = flat_out;
                self.send_speed();
            }
            LabCommand::Inject {
                aim,
                kind,
                duration,
            } => self.inject(&aim, kind, duration),
            LabCommand::ExportReport(Export::Json) => self.dialogs.ask(Purpose::ExportJson, None),
            LabCommand::ExportReport(Export::Csv) => self.dialogs.ask(Purpose::ExportCsv, None),
            LabCommand::Edit(edit) => self.apply(edit),
            LabCommand::EndGesture => self.doc.seal(),
            LabCommand::TraceMessage(message) => {
                self.traffic.selected = Some(message);
                self.trace_input = message.to_string();
                self.plots.tab = plots::Tab::Trace;
            }
            LabCommand::SaveChanges => self.save_then_proceed(),
            LabCommand::DiscardChanges => {
                if let Some(what) = self.confirm.take() {
                    self.proceed(what);
                }
            }
            LabCommand::KeepChanges => self.confirm = None,
            LabCommand::DismissLoadError => self.load_error = None,
            LabCommand::PathChosen(purpose, path) => self.path_chosen(purpose, path),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_keyboard_command_has_keys_and_no_two_share_one() {
        let mut seen = Vec::new();
        for command in LabCommand::KEYBOARD {
            assert!(!command.triggers().is_empty(), "{command:?} has no keys");
            for trigger in command.triggers() {
                assert!(!seen.contains(trigger), "{trigger:?} is given twice");
                seen.push(*trigger);
            }
        }
    }

    #[test]
    fn a_menu_shows_the_keys_the_handler_reads() {
        let ctx = egui::Context::default();
        ctx.set_os(egui::os::OperatingSystem::Nix);
        assert_eq!(LabCommand::Undo.triggers()[0].text(&ctx), "Ctrl+Z");
        assert_eq!(LabCommand::Redo.triggers()[0].text(&ctx), "Ctrl+Shift+Z");
        assert_eq!(LabCommand::Copy.triggers()[0].text(&ctx), "Ctrl+C");
        assert_eq!(
            LabCommand::TogglePlayPause.tooltip_with_keys(&ctx),
            "Run or pause the simulation (Space)"
        );
    }
}
