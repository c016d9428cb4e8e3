//! The palette: one button per node kind, clicked to add a node beside the selected
//! one (or near the view's centre), or dragged onto the canvas to add it where it is
//! dropped.

use eframe::egui::{self, Color32, RichText};

use super::Lab;
use super::commands::LabCommand;
use super::document::Edit;
use super::style::{self, Kind, Look};
use super::templates::new_node;
use crate::scenario::guarantees::EdgeKind;

impl Lab {
    pub(super) fn palette_ui(&self, ui: &mut egui::Ui, commands: &mut Vec<LabCommand>) {
        ui.add_space(4.0);
        ui.label(RichText::new("Add").strong());
        ui.label(
            RichText::new("click, or drag onto the canvas")
                .small()
                .weak(),
        );
        let connect = LabCommand::ToggleConnectNew;
        let mut on = self.canvas.connect_new;
        if ui
            .checkbox(&mut on, RichText::new("connect from selected").small())
            .on_hover_text(connect.tooltip())
            .clicked()
        {
            commands.push(connect);
        }
        for kind in Kind::ALL {
            let button = egui::Button::new(RichText::new(kind.label()).color(Color32::WHITE))
                .fill(kind.color().gamma_multiply(0.7))
                .min_size(egui::vec2(104.0, 30.0))
                .sense(egui::Sense::click_and_drag());
            let response = ui.add(button).on_hover_text(kind.help());
            if response.clicked() {
                commands.push(LabCommand::Edit(self.add_from_palette(kind)));
            }
            if response.drag_started() {
                egui::DragAndDrop::set_payload(ui.ctx(), kind);
            }
            if response.dragged()
                && let Some(pointer) = ui.ctx().pointer_interact_pos()
            {
                // The node being dragged follows the pointer.
                let painter = ui.ctx().layer_painter(egui::LayerId::new(
                    egui::Order::Tooltip,
                    egui::Id::unique("palette-drag"),
                ));
                let rect = egui::Rect::from_center_size(pointer, style::NODE_SIZE * 0.8);
                painter.add(kind.shape(
                    rect,
                    kind.color().gamma_multiply(0.6),
                    egui::Stroke::new(1.5, Color32::WHITE),
                ));
                painter.text(
                    rect.center(),
                    egui::Align2::CENTER_CENTER,
                    kind.label(),
                    egui::FontId::proportional(13.0),
                    Color32::WHITE,
                );
            }
        }
    }

    /// A click on a palette entry: a node beside the selected one (connected from it
    /// when "connect from the selection" is on and the kinds allow it), else near the
    /// middle of the view.
    fn add_from_palette(&self, kind: Kind) -> Edit {
        let (at, anchor) = self.canvas.new_node_spot(&self.doc);
        let node = new_node(kind, at);
        let from = anchor.filter(|id| {
            self.canvas.connect_new
                && self.doc.kind_of(id).is_some_and(|from| {
                    crate::scenario::check::edge_allowed(from, kind, EdgeKind::Normal).is_ok()
                })
        });
        match from {
            Some(from) => Edit::AddNodeFrom { node, from },
            None => Edit::AddNode(node),
        }
    }

    /// A palette entry dropped on the canvas adds a node there.
    pub(super) fn palette_drop(&self, ui: &egui::Ui, commands: &mut Vec<LabCommand>) {
        let released = ui.input(|i| i.pointer.any_released());
        let Some(pointer) = ui.input(|i| i.pointer.interact_pos()) else {
            return;
        };
        if released
            && self.canvas.screen_rect.contains(pointer)
            && let Some(kind) = egui::DragAndDrop::take_payload::<Kind>(ui.ctx())
            && let Some(at) = self.canvas.canvas_pos(pointer)
        {
            commands.push(LabCommand::Edit(Edit::AddNode(new_node(*kind, at))));
        }
    }
}
