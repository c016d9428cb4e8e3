//! The Report tab: the same report `evlab run` prints, its exports, replications and a
//! compared design's report beside it.

use eframe::egui;

use super::{Compare, Replicate};
use crate::report::status::Consequences;
use crate::report::{NodeDetail, Report};

/// A request to save the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Export {
    Json,
    Csv,
}

pub(super) fn report_ui(
    ui: &mut egui::Ui,
    report: Option<&Report>,
    nodes: &[(String, Consequences)],
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
        consequences_ui(ui, nodes);
        partitions_ui(ui, report);
    });
    export
}

/// The report split per node: what each consumer and queue lost, processed twice,
/// dead-lettered or reordered (the pills on the canvas), as of the last sample.
fn consequences_ui(ui: &mut egui::Ui, nodes: &[(String, Consequences)]) {
    if nodes.is_empty() {
        return;
    }
    ui.separator();
    ui.strong("Per node: where copies were lost, processed twice, dead-lettered or reordered");
    egui::Grid::new("consequences per node")
        .striped(true)
        .show(ui, |ui| {
            for title in ["node", "lost", "duplicates", "dead-lettered", "reordered"] {
                ui.strong(title);
            }
            ui.end_row();
            for (id, c) in nodes {
                ui.monospace(id);
                for figure in [c.lost, c.duplicates, c.dead_lettered, c.reordered] {
                    ui.monospace(figure.to_string());
                }
                ui.end_row();
            }
        });
}

/// Each topic's groups, partition by partition: the log-end and committed offsets, the
/// lag at the end, on average and at most, with the members and the rebalances.
fn partitions_ui(ui: &mut egui::Ui, report: &Report) {
    for node in &report.nodes {
        let NodeDetail::Topic {
            partitions, groups, ..
        } = &node.detail
        else {
            continue;
        };
        for group in groups {
            ui.separator();
            let rebalances = match group.rebalances {
                1 => "1 rebalance".to_string(),
                n => format!("{n} rebalances"),
            };
            ui.strong(format!(
                "{} / {}: members {}; {rebalances}",
                node.id,
                group.group,
                group.members.join(", ")
            ));
            egui::Grid::new(("partitions", node.id.as_str(), group.group.as_str()))
                .striped(true)
                .show(ui, |ui| {
                    for title in [
                        "partition",
                        "log-end",
                        "committed",
                        "lag",
                        "mean lag",
                        "max lag",
                    ] {
                        ui.strong(title);
                    }
                    ui.end_row();
                    for (p, partition) in partitions.iter().enumerate() {
                        let lag = group.lag_per_partition.get(p).copied().unwrap_or(0);
                        let mean = group.mean_lag_per_partition.get(p).copied().unwrap_or(0.0);
                        let max = group.max_lag_per_partition.get(p).copied().unwrap_or(0);
                        ui.monospace(format!("p{}", partition.partition));
                        ui.monospace(partition.end_offset.to_string());
                        ui.monospace(partition.end_offset.saturating_sub(lag).to_string());
                        ui.monospace(lag.to_string());
                        ui.monospace(format!("{mean:.1}"));
                        ui.monospace(max.to_string());
                        ui.end_row();
                    }
                });
        }
    }
}
