//! The canvas's context menus: the faults a node or an edge can be given while the
//! simulation runs (only those evlab simulates there), each with the duration and
//! strength set at the top of the menu, and Delete.

use eframe::egui;

use crate::gui::commands::{Aim, LabCommand};
use crate::gui::document::{Document, Edit};
use crate::scenario::guarantees::FaultKind;
use crate::scenario::raw::RawNode;
use crate::scenario::units::Duration;

/// How long and how strong an injected fault is: set in the menu, kept between menus.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaultSettings {
    /// How long a fault lasts, in seconds.
    pub seconds: f64,
    /// A slowed consumer's processing time is multiplied by this.
    pub slow_factor: f64,
    /// The share of processing that fails.
    pub fail_percent: f64,
    /// Latency added to a link, in milliseconds.
    pub delay_ms: f64,
    /// The share of a link's messages lost.
    pub loss_percent: f64,
}

impl Default for FaultSettings {
    fn default() -> Self {
        Self {
            seconds: 10.0,
            slow_factor: 4.0,
            fail_percent: 50.0,
            delay_ms: 200.0,
            loss_percent: 20.0,
        }
    }
}

impl FaultSettings {
    fn duration(&self) -> Option<Duration> {
        Some(Duration::from_secs_f64(self.seconds))
    }

    /// The duration as the menu words it.
    fn lasting(&self) -> String {
        format!("for {} s", trim(self.seconds))
    }
}

/// A number as short as it can be written: 10, 2.5.
fn trim(value: f64) -> String {
    let text = format!("{value:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A labelled number in the menu's settings row.
fn setting(
    ui: &mut egui::Ui,
    label: &str,
    value: &mut f64,
    range: std::ops::RangeInclusive<f64>,
    unit: &str,
) {
    ui.horizontal(|ui| {
        let label = ui.label(label);
        ui.add(
            egui::DragValue::new(value)
                .range(range)
                .suffix(unit)
                .max_decimals(2),
        )
        .labelled_by(label.id);
    });
}

pub(super) fn node_menu_ui(
    ui: &mut egui::Ui,
    node: &RawNode,
    settings: &mut FaultSettings,
    commands: &mut Vec<LabCommand>,
) {
    let aim = Aim::Node(node.id().to_string());
    let faulty = matches!(
        node,
        RawNode::Consumer(_) | RawNode::Service(_) | RawNode::Queue(_)
    );
    if faulty {
        setting(ui, "Duration", &mut settings.seconds, 0.1..=3600.0, " s");
    }
    if let RawNode::Consumer(_) | RawNode::Service(_) = node {
        setting(
            ui,
            "Slow down",
            &mut settings.slow_factor,
            1.0..=100.0,
            " x",
        );
        setting(ui, "Fail", &mut settings.fail_percent, 1.0..=100.0, " %");
    }
    if faulty {
        ui.separator();
    }
    let s = *settings;
    let mut fault = |ui: &mut egui::Ui, label: String, kind: FaultKind, duration| {
        if ui.button(label).clicked() {
            commands.push(LabCommand::Inject {
                aim: aim.clone(),
                kind,
                duration,
            });
            ui.close();
        }
    };
    match node {
        RawNode::Consumer(_) | RawNode::Service(_) => {
            let restart = format!("Crash, restart after {} s", trim(s.seconds));
            fault(ui, restart, FaultKind::Crash, s.duration());
            fault(ui, "Crash for good".into(), FaultKind::Crash, None);
            fault(
                ui,
                format!("Slow down x{} {}", trim(s.slow_factor), s.lasting()),
                FaultKind::Slow {
                    factor: s.slow_factor,
                },
                s.duration(),
            );
            fault(
                ui,
                format!(
                    "Fail {}% of processing {}",
                    trim(s.fail_percent),
                    s.lasting()
                ),
                FaultKind::Fail {
                    probability: s.fail_percent / 100.0,
                },
                s.duration(),
            );
        }
        RawNode::Topic(_) => {
            fault(
                ui,
                "Fail the partition leaders (failover)".into(),
                FaultKind::BrokerFailure { partition: None },
                None,
            );
        }
        RawNode::Queue(_) => {
            fault(
                ui,
                format!("Broker failure {}", s.lasting()),
                FaultKind::BrokerFailure { partition: None },
                s.duration(),
            );
        }
        _ => {
            ui.label("No faults for this kind of node");
        }
    }
    ui.separator();
    if ui.button("Delete").clicked() {
        commands.push(LabCommand::Edit(Edit::RemoveNodes(vec![
            node.id().to_string(),
        ])));
        ui.close();
    }
}

pub(super) fn edge_menu_ui(
    ui: &mut egui::Ui,
    doc: &Document,
    edge: usize,
    settings: &mut FaultSettings,
    commands: &mut Vec<LabCommand>,
) {
    let Some(e) = doc.raw.edges.get(edge) else {
        return;
    };
    ui.label(format!("{} -> {}", e.from, e.to));
    setting(ui, "Duration", &mut settings.seconds, 0.1..=3600.0, " s");
    setting(ui, "Latency", &mut settings.delay_ms, 1.0..=60_000.0, " ms");
    setting(ui, "Loss", &mut settings.loss_percent, 1.0..=100.0, " %");
    ui.separator();
    let s = *settings;
    let kind_of = |id: &str| doc.kind_of(id);
    let (from, to) = (kind_of(&e.from), kind_of(&e.to));
    let mut fault = |ui: &mut egui::Ui, label: String, kind: FaultKind| {
        // Only where evlab simulates a link; elsewhere the button says why not.
        let allowed = crate::scenario::check::LinkUse::of_fault(&kind).map_or(Ok(()), |what| {
            let (Some(from), Some(to)) = (from, to) else {
                return Err("an end of this edge is no node");
            };
            crate::scenario::check::link_allowed(from, to, e.kind, what)
        });
        let button = ui.add_enabled(allowed.is_ok(), egui::Button::new(label));
        let button = match allowed {
            Err(why) => button.on_disabled_hover_text(why),
            Ok(()) => button,
        };
        if button.clicked() {
            commands.push(LabCommand::Inject {
                aim: Aim::Edge(edge),
                kind,
                duration: s.duration(),
            });
            ui.close();
        }
    };
    fault(ui, format!("Cut the link {}", s.lasting()), FaultKind::Cut);
    fault(
        ui,
        format!("Add {} ms latency {}", trim(s.delay_ms), s.lasting()),
        FaultKind::Delay {
            extra: Duration::from_secs_f64(s.delay_ms / 1000.0),
        },
    );
    fault(
        ui,
        format!("Lose {}% of messages {}", trim(s.loss_percent), s.lasting()),
        FaultKind::Loss {
            probability: s.loss_percent / 100.0,
        },
    );
    ui.separator();
    if ui.button("Delete").clicked() {
        commands.push(LabCommand::Edit(Edit::RemoveEdges(vec![edge])));
        ui.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_fault_labels_are_written_short() {
        for (value, text) in [
            (10.0, "10"),
            (2.5, "2.5"),
            (0.25, "0.25"),
            (100.0, "100"),
            (0.1, "0.1"),
        ] {
            assert_eq!(trim(value), text);
        }
    }
}
