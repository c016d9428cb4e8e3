//! The fault timeline under the inspector: the run's faults, scheduled and
//! injected, with scheduled ones removable and injected ones savable.

use eframe::egui::{self, RichText};

use super::Lab;
use super::commands::LabCommand;
use super::document::Edit;
use crate::scenario::guarantees::{FaultKind, RawFault};

/// What a fault does, in words: "worker-b crash", "worker-b slow x4", "a->b loss 10%".
/// The fault timeline and the plots' markers both say it so.
pub(super) fn fault_words(raw: &RawFault) -> String {
    let what = match raw.kind {
        FaultKind::Crash => "crash".to_string(),
        FaultKind::Slow { factor } => format!("slow x{factor}"),
        FaultKind::Fail { probability } => format!("fail {}%", probability * 100.0),
        FaultKind::BrokerFailure { partition: None } => "broker failure".to_string(),
        FaultKind::BrokerFailure { partition: Some(p) } => format!("broker failure p{p}"),
        FaultKind::Cut => "cut".to_string(),
        FaultKind::Delay { extra } => format!("delay +{extra}"),
        FaultKind::Loss { probability } => format!("loss {}%", probability * 100.0),
    };
    format!("{} {what}", raw.target)
}

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
                            "{:.3} s  {}{until} ({origin})",
                            raw.at.nanos as f64 / 1e9,
                            fault_words(&raw)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::units::Duration;

    #[test]
    fn a_fault_is_said_in_words_with_its_strength() {
        let ms = |n: u64| Duration {
            nanos: n * 1_000_000,
        };
        let cases = [
            (FaultKind::Crash, "w crash"),
            (FaultKind::Slow { factor: 4.0 }, "w slow x4"),
            (FaultKind::Fail { probability: 0.5 }, "w fail 50%"),
            (
                FaultKind::BrokerFailure { partition: Some(2) },
                "w broker failure p2",
            ),
            (FaultKind::Cut, "w cut"),
            (FaultKind::Delay { extra: ms(200) }, "w delay +200ms"),
            (FaultKind::Loss { probability: 0.1 }, "w loss 10%"),
        ];
        for (kind, words) in cases {
            let raw = RawFault {
                at: ms(0),
                target: "w".into(),
                kind,
                duration: None,
            };
            assert_eq!(fault_words(&raw), words);
        }
    }
}
