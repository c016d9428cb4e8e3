//! The fault timeline under the inspector: the run's faults, scheduled and
//! injected, with scheduled ones removable and injected ones savable.

use eframe::egui::{self, RichText};

use super::Lab;
use super::commands::LabCommand;
use super::document::Edit;

impl Lab {
    pub(super) fn faults_ui(&self, ui: &mut egui::Ui, commands: &mut Vec<LabCommand>) {
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
}
