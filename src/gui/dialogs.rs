//! The lab's modal windows: unsaved changes, a file that failed to load, and the
//! typed-path prompt used where no native file dialog can be shown.

use std::path::PathBuf;

use eframe::egui::{self, Key, RichText};

use super::Lab;
use super::commands::LabCommand;
use super::controls::command_button_ui;
use super::style;

impl Lab {
    pub(super) fn dialogs_ui(&mut self, ctx: &egui::Context, commands: &mut Vec<LabCommand>) {
        if self.confirm.is_some() {
            egui::Window::new("Unsaved changes")
                .collapsible(false)
                .resizable(false)
                .anchor(egui::Align2::CENTER_CENTER, egui::Vec2::ZERO)
                .show(ctx, |ui| {
                    ui.label(format!("{} has unsaved changes.", self.doc.title()));
                    ui.horizontal(|ui| {
                        command_button_ui(ui, LabCommand::SaveChanges, commands);
                        command_button_ui(ui, LabCommand::DiscardChanges, commands);
                        command_button_ui(ui, LabCommand::KeepChanges, commands);
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
                    command_button_ui(ui, LabCommand::DismissLoadError, commands);
                });
        }
        self.typed_path_ui(ctx, commands);
    }

    /// The typed-path prompt, where no native file dialog can be shown.
    pub(super) fn typed_path_ui(&mut self, ctx: &egui::Context, commands: &mut Vec<LabCommand>) {
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
        } else {
            // A Save As given up: what waited for it stays undone, the work unsaved.
            self.after_save = None;
        }
    }

    pub(super) fn files_dropped(&self, ctx: &egui::Context, commands: &mut Vec<LabCommand>) {
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
}
