//! The menu bar: loops over commands. Each entry shows its command's text, tooltip
//! and first key, is greyed out when the command can do nothing, and emits the
//! command when clicked.

use eframe::egui;

use super::Lab;
use super::commands::LabCommand;
use crate::examples::EXAMPLES;

/// A menu's commands in groups, with a line between groups.
type Groups = &'static [&'static [LabCommand]];

const FILE: Groups = &[
    &[LabCommand::Save, LabCommand::SaveAs],
    &[
        LabCommand::CompareWith,
        LabCommand::CompareWithSaved,
        LabCommand::StopComparing,
    ],
    &[LabCommand::Quit],
];

const EDIT: Groups = &[
    &[LabCommand::Undo, LabCommand::Redo],
    &[
        LabCommand::Cut,
        LabCommand::Copy,
        LabCommand::Paste,
        LabCommand::Duplicate,
        LabCommand::Delete,
    ],
    &[LabCommand::SelectAll, LabCommand::SelectNone],
];

const VIEW: Groups = &[
    &[LabCommand::FitToView, LabCommand::AutoLayout],
    &[
        LabCommand::ZoomIn,
        LabCommand::ZoomOut,
        LabCommand::ZoomReset,
    ],
];

impl Lab {
    pub(super) fn menu_ui(&self, ui: &mut egui::Ui, commands: &mut Vec<LabCommand>) {
        egui::MenuBar::new().ui(ui, |ui| {
            ui.menu_button("File", |ui| {
                self.command_ui(ui, LabCommand::New, commands);
                self.command_ui(ui, LabCommand::Open, commands);
                ui.menu_button("Open Example", |ui| {
                    for (name, _) in EXAMPLES {
                        self.command_ui(ui, LabCommand::OpenExample(name), commands);
                    }
                });
                ui.menu_button("Open Recent", |ui| {
                    if self.recent.is_empty() {
                        ui.label("Nothing yet");
                    }
                    for path in &self.recent {
                        self.command_ui(ui, LabCommand::OpenFile(path.clone()), commands);
                    }
                });
                ui.separator();
                self.groups_ui(ui, FILE, commands);
            });
            ui.menu_button("Edit", |ui| self.groups_ui(ui, EDIT, commands));
            ui.menu_button("View", |ui| {
                self.groups_ui(ui, VIEW, commands);
                let snap = LabCommand::ToggleSnapToGrid;
                let mut on = self.canvas.snap;
                if ui
                    .checkbox(&mut on, snap.text())
                    .on_hover_text(snap.tooltip())
                    .clicked()
                {
                    commands.push(snap);
                }
            });
        });
    }

    fn groups_ui(&self, ui: &mut egui::Ui, groups: Groups, commands: &mut Vec<LabCommand>) {
        for (i, group) in groups.iter().enumerate() {
            if i > 0 {
                ui.separator();
            }
            for command in *group {
                self.command_ui(ui, command.clone(), commands);
            }
        }
    }

    /// A menu entry for `command`, with its first key in the shortcut column.
    fn command_ui(&self, ui: &mut egui::Ui, command: LabCommand, commands: &mut Vec<LabCommand>) {
        let text = command.text();
        let keys = command.triggers().first().map(|t| t.text(ui.ctx()));
        let mut button = egui::Button::new(text.as_ref());
        if let Some(keys) = &keys {
            button = button.shortcut_text(keys.as_str());
        }
        let availability = self.availability(&command);
        let enabled = availability.is_ok();
        let response = ui
            .add_enabled(enabled, button)
            .on_hover_text(command.tooltip());
        // Assistive technology reads the entry by its name and its keys apart.
        response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, enabled, &text));
        if let Some(keys) = keys {
            ui.ctx()
                .accesskit_node_builder(response.id, |node| node.set_keyboard_shortcut(keys));
        }
        let response = match availability {
            Err(why_not) => response.on_disabled_hover_text(why_not),
            Ok(()) => response,
        };
        if response.clicked() {
            commands.push(command);
        }
    }
}
