//! The canvas's context menus: the faults a node or an edge can be given while the
//! simulation runs (only those evlab simulates there), and Delete.

use eframe::egui;

use crate::gui::commands::{Aim, LabCommand};
use crate::gui::document::{Document, Edit};
use crate::scenario::guarantees::FaultKind;
use crate::scenario::raw::RawNode;
use crate::scenario::units::Duration;

const FAULT_SECONDS: u64 = 10;

pub(super) fn node_menu_ui(ui: &mut egui::Ui, node: &RawNode, commands: &mut Vec<LabCommand>) {
    let aim = Aim::Node(node.id().to_string());
    let ten = Some(Duration::from_secs(FAULT_SECONDS));
    let mut fault = |ui: &mut egui::Ui, label: &str, kind: FaultKind, duration| {
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
            fault(ui, "Crash, restart after 10 s", FaultKind::Crash, ten);
            fault(ui, "Crash for good", FaultKind::Crash, None);
            fault(
                ui,
                "Slow down x4 for 10 s",
                FaultKind::Slow { factor: 4.0 },
                ten,
            );
            fault(
                ui,
                "Fail 50% of processing for 10 s",
                FaultKind::Fail { probability: 0.5 },
                ten,
            );
        }
        RawNode::Topic(_) => {
            fault(
                ui,
                "Fail the partition leaders (failover)",
                FaultKind::BrokerFailure { partition: None },
                None,
            );
        }
        RawNode::Queue(_) => {
            fault(
                ui,
                "Broker failure for 10 s",
                FaultKind::BrokerFailure { partition: None },
                ten,
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
    commands: &mut Vec<LabCommand>,
) {
    let Some(e) = doc.raw.edges.get(edge) else {
        return;
    };
    ui.label(format!("{} -> {}", e.from, e.to));
    let ten = Some(Duration::from_secs(FAULT_SECONDS));
    let kind_of = |id: &str| doc.kind_of(id);
    let (from, to) = (kind_of(&e.from), kind_of(&e.to));
    let mut fault = |ui: &mut egui::Ui, label: &str, kind: FaultKind| {
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
                duration: ten,
            });
            ui.close();
        }
    };
    fault(ui, "Cut the link for 10 s", FaultKind::Cut);
    fault(
        ui,
        "Add 200 ms latency for 10 s",
        FaultKind::Delay {
            extra: Duration::from_millis(200),
        },
    );
    fault(
        ui,
        "Lose 20% of messages for 10 s",
        FaultKind::Loss { probability: 0.2 },
    );
    ui.separator();
    if ui.button("Delete").clicked() {
        commands.push(LabCommand::Edit(Edit::RemoveEdges(vec![edge])));
        ui.close();
    }
}
