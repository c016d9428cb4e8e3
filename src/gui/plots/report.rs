//! The Report tab: the same report `evlab run` prints, its exports, replications and a
//! compared design's report beside it.

use eframe::egui;

use super::{Compare, Replicate};
use crate::report::Report;

/// A request to save the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Export {
    Json,
    Csv,
}

pub(super) fn report_ui(
    ui: &mut egui::Ui,
    report: Option<&Report>,
    replicate: &mut Replicate,
    compare: &Compare,
    scenario: Option<&crate::scenario::Scenario>,
) -> Option<Export> {
    let Some(report) = report else {
        ui.label("Run the scenario to see its report.");
        return None;
    };
    let mut export = None;
    ui.horizontal(|ui| {
        if ui.button("Export JSON…").clicked() {
            export = Some(Export::Json);
        }
        if ui.button("Export CSV…").clicked() {
            export = Some(Export::Csv);
        }
        ui.label("The same report `evlab run` prints.");
    });
    let monospace = |ui: &mut egui::Ui, text: String| {
        ui.add(egui::Label::new(egui::RichText::new(text).monospace()).extend());
    };
    egui::ScrollArea::both().show(ui, |ui| {
        replicate.ui(ui, scenario);
        ui.separator();
        match &compare.other {
            Some(Ok(other)) => {
                // Side by side, each report scrolls on its own rather than running into the other.
                ui.columns(2, |columns| {
                    let tables = [
                        ("A: this design (live)".to_string(), report.to_table()),
                        (
                            format!("B: {} (run to its end)", other.label),
                            other.report.to_table(),
                        ),
                    ];
                    for (column, (title, table)) in columns.iter_mut().zip(tables) {
                        column.strong(title.as_str());
                        egui::ScrollArea::horizontal()
                            .id_salt(title.as_str())
                            .show(column, |ui| monospace(ui, table));
                    }
                });
            }
            Some(Err(why)) => {
                ui.colored_label(
                    ui.visuals().error_fg_color,
                    format!("The design to compare with did not run: {why}"),
                );
                monospace(ui, report.to_table());
            }
            None if compare.running() => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label("running the design to compare with…");
                });
                monospace(ui, report.to_table());
            }
            None => monospace(ui, report.to_table()),
        }
    });
    export
}
