//! The inspector: a typed editor for every parameter of the selected node or
//! edge, or of the scenario when nothing is selected.
//!
//! Durations, rates and sizes are typed with their units (`250ms`, `100/s`,
//! `1KiB`) and parsed by the scenario format's own parsers; every field has a
//! tooltip in plain words. The scenario checker's problems for the selection are
//! shown inline, with the same messages the loader gives. An edit works on a copy
//! of the node and comes out as one [`Edit`].
//!
//! `form` holds the fields every form is built from; each node kind has a form of
//! its own (`producer`, `exchange`, `queue`, `topic`, `consumer`, `service`), as do
//! edges (`edge`) and the scenario's settings (`settings`).

use eframe::egui::{self, Color32, RichText};

use self::form::Form;
use super::canvas::Selection;
use super::document::{Document, Edit};
use super::style::{self, Look};
use crate::scenario::check::Problem;
use crate::scenario::raw::RawNode;

mod consumer;
mod edge;
mod exchange;
mod form;
mod producer;
mod queue;
mod service;
mod settings;
mod topic;

/// The node's id, then its kind's own form (a consumer's shows only what applies to what
/// it reads).
fn node_form(f: &mut Form<'_>, node: &mut RawNode, reads: consumer::Reads) {
    f.text(
        "id",
        "The node's name; also seeds its random stream, so renaming changes its draws.",
        node.id_mut(),
    );
    match node {
        RawNode::Producer(p) => producer::form(f, p),
        RawNode::Exchange(x) => exchange::form(f, x),
        RawNode::Queue(q) => queue::form(f, q),
        RawNode::Topic(t) => topic::form(f, t),
        RawNode::Consumer(c) => consumer::form(f, c, reads),
        RawNode::Service(s) => service::form(f, s),
    }
}

/// Shows the problems whose path starts with `prefix`.
fn problems_ui(ui: &mut egui::Ui, problems: &[Problem], prefix: &str) {
    for p in problems.iter().filter(|p| {
        p.path == prefix
            || p.path.starts_with(&format!("{prefix}."))
            || p.path.starts_with(&format!("{prefix}["))
    }) {
        ui.label(RichText::new(format!("{}: {}", p.path, p.message)).color(style::ALARM));
    }
}

/// The inspector panel. `problems` are the checker's for the whole scenario.
pub fn ui(
    ui: &mut egui::Ui,
    doc: &Document,
    selection: &Selection,
    problems: &[Problem],
) -> Option<Edit> {
    let mut edit = None;
    ui.vertical(|ui| {
        if let [id] = selection.nodes.iter().collect::<Vec<_>>()[..]
            && selection.edges.is_empty()
            && let Some(index) = doc.node_index(id)
            && let Some(original) = doc.raw.nodes.get(index)
        {
            let kind = original.kind();
            ui.heading(RichText::new(kind.label()).color(kind.color()));
            ui.label(RichText::new(kind.help()).small().weak());
            ui.separator();
            let mut node = original.clone();
            let reads = consumer::Reads::of(doc, id);
            // Each node's fields are its own: a draft typed into one never shows in another.
            let changed = ui
                .push_id(("node", id), |ui| {
                    grid(ui, "node", |f| node_form(f, &mut node, reads))
                })
                .inner;
            problems_ui(ui, problems, &format!("nodes[{index}]"));
            if changed && node != *original {
                edit = Some(Edit::SetNode { index, node });
            }
        } else if let [&index] = selection.edges.iter().collect::<Vec<_>>()[..]
            && selection.nodes.is_empty()
            && let Some(original) = doc.raw.edges.get(index)
        {
            ui.heading(format!("Edge {} -> {}", original.from, original.to));
            ui.label(
                RichText::new(style::edge_help(original.kind))
                    .small()
                    .weak(),
            );
            ui.separator();
            let mut e = original.clone();
            let changed = grid(ui, "edge", |f| edge::form(f, &mut e));
            problems_ui(ui, problems, &format!("edges[{index}]"));
            if changed && e != *original {
                edit = Some(Edit::SetEdge { index, edge: e });
            }
        } else if !selection.is_empty() {
            ui.label(format!(
                "{} nodes and {} edges selected. Delete removes them; Ctrl+D duplicates.",
                selection.nodes.len(),
                selection.edges.len()
            ));
        } else {
            ui.heading("Scenario");
            ui.label(
                RichText::new("Select a node or an edge to edit it.")
                    .small()
                    .weak(),
            );
            ui.separator();
            // The settings alone: the graph is not copied every frame.
            let mut settings = doc.settings();
            let changed = grid(ui, "settings", |f| settings::form(f, &mut settings));
            for p in problems
                .iter()
                .filter(|p| !p.path.starts_with("nodes[") && !p.path.starts_with("edges["))
            {
                ui.label(RichText::new(format!("{}: {}", p.path, p.message)).color(style::ALARM));
            }
            if changed && settings != doc.settings() {
                edit = Some(Edit::SetSettings(Box::new(settings)));
            }
        }
        if !problems.is_empty() {
            ui.separator();
            ui.label(
                RichText::new(format!(
                    "{} problem(s) in the scenario: fix them to run.",
                    problems.len()
                ))
                .color(Color32::from_rgb(0xe0, 0x9a, 0x20)),
            );
        }
    });
    edit
}

fn grid(ui: &mut egui::Ui, id: &str, add: impl FnOnce(&mut Form<'_>)) -> bool {
    egui::Grid::new(id)
        .num_columns(2)
        .spacing([10.0, 6.0])
        .striped(true)
        .show(ui, |ui| {
            let mut form = Form { ui, changed: false };
            add(&mut form);
            form.changed
        })
        .inner
}
