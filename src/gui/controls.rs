//! The run controls above the canvas and the status bar below it.

use eframe::egui::{self, Color32, RichText};

use super::Lab;
use super::commands::LabCommand;
use super::document::Edit;
use super::style;

impl Lab {
    pub(super) fn run_controls_ui(&self, ui: &mut egui::Ui, commands: &mut Vec<LabCommand>) {
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
                command_button_ui(ui, command, commands);
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
                let mut settings = self.doc.settings();
                settings.seed = seed;
                commands.push(LabCommand::Edit(Edit::SetSettings(Box::new(settings))));
            }
            if self.stale_run {
                ui.separator();
                ui.label(
                    RichText::new("The scenario changed.")
                        .color(Color32::from_rgb(0xe0, 0x9a, 0x20)),
                );
                command_button_ui(ui, LabCommand::RestartToApply, commands);
            }
        });
    }

    pub(super) fn status_ui(&self, ui: &mut egui::Ui) {
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
            // A rate only while it runs: a paused or finished run does no events.
            let rate = if s.playing && !s.finished {
                s.events_per_s
            } else {
                0.0
            };
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
}

/// A button for `command`, with its tooltip and keys.
pub(super) fn command_button_ui(
    ui: &mut egui::Ui,
    command: LabCommand,
    commands: &mut Vec<LabCommand>,
) {
    if ui
        .button(command.text())
        .on_hover_text(command.tooltip_with_keys(ui.ctx()))
        .clicked()
    {
        commands.push(command);
    }
}
