//! The message-trace tab: one traced message's life as a timeline.

use eframe::egui::{self, RichText};

use super::commands::LabCommand;
use super::traffic::Traffic;

/// The message-trace tab: one message's life as a timeline.
pub(super) fn trace_ui(
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
