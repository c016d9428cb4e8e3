//! The fields every form is made of: a grid of labelled rows that notes whether
//! any changed. Units are typed with their unit and parsed by the scenario
//! format's own parsers; optional settings are a checkbox and the value.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::str::FromStr;

use eframe::egui;

use crate::gui::style;

/// One form: a grid of labelled fields that notes whether any changed.
pub(super) struct Form<'u> {
    pub ui: &'u mut egui::Ui,
    pub changed: bool,
}

impl Form<'_> {
    pub fn row(&mut self, label: &str, help: &str, add: impl FnOnce(&mut egui::Ui) -> bool) {
        self.ui.label(label).on_hover_text(help);
        let changed = self.ui.push_id(label, |ui| add(ui)).inner;
        self.changed |= changed;
        self.ui.end_row();
    }

    pub fn text(&mut self, label: &str, help: &str, value: &mut String) {
        self.row(label, help, |ui| text_field(ui, value, help));
    }

    /// Text that may be absent: an empty field means `None`.
    pub fn optional_text(&mut self, label: &str, help: &str, value: &mut Option<String>) {
        let mut text = value.clone().unwrap_or_default();
        self.text(label, help, &mut text);
        *value = (!text.is_empty()).then_some(text);
    }

    /// A field shown as `text`; when it is edited, `parse` reads the new text back.
    fn parsed(&mut self, label: &str, help: &str, mut text: String, parse: impl FnOnce(&str)) {
        self.row(label, help, |ui| {
            let changed = text_field(ui, &mut text, help);
            if changed {
                parse(&text);
            }
            changed
        });
    }

    /// A list of words, typed comma-separated.
    pub fn list(&mut self, label: &str, help: &str, value: &mut Vec<String>) {
        self.parsed(label, help, value.join(", "), |text| {
            *value = text
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect();
        });
    }

    /// Headers, typed as `key=value` pairs separated by commas.
    pub fn headers(&mut self, label: &str, help: &str, value: &mut BTreeMap<String, String>) {
        let text = value
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ");
        self.parsed(label, help, text, |text| {
            *value = text
                .split(',')
                .filter_map(|pair| {
                    let (k, v) = pair.split_once('=')?;
                    let k = k.trim();
                    (!k.is_empty()).then(|| (k.to_string(), v.trim().to_string()))
                })
                .collect();
        });
    }

    pub fn unit<T: FromStr + Display + PartialEq>(
        &mut self,
        label: &str,
        help: &str,
        value: &mut T,
    ) {
        self.row(label, help, |ui| unit_field(ui, value, help));
    }

    /// A checkbox that turns an optional setting on (with `default`) or off, and the
    /// setting's own field while it is on.
    fn optional<T: Clone>(
        &mut self,
        label: &str,
        help: &str,
        value: &mut Option<T>,
        default: T,
        field: impl FnOnce(&mut egui::Ui, &mut T) -> bool,
    ) {
        self.row(label, help, |ui| {
            let mut on = value.is_some();
            let mut changed = false;
            ui.horizontal(|ui| {
                if ui.checkbox(&mut on, "").on_hover_text(help).changed() {
                    *value = on.then_some(default);
                    changed = true;
                }
                if let Some(v) = value {
                    changed |= field(ui, v);
                }
            });
            changed
        });
    }

    /// A checkbox that turns an optional group of settings on (with `default`) or off; the
    /// group's fields follow as rows of their own.
    pub fn toggle<T: Clone>(&mut self, label: &str, help: &str, value: &mut Option<T>, default: T) {
        self.optional(label, help, value, default, |_, _| false);
    }

    pub fn optional_unit<T: FromStr + Display + PartialEq + Clone>(
        &mut self,
        label: &str,
        help: &str,
        value: &mut Option<T>,
        default: T,
    ) {
        self.optional(label, help, value, default, |ui, v| unit_field(ui, v, help));
    }

    pub fn number<N: egui::emath::Numeric>(
        &mut self,
        label: &str,
        help: &str,
        value: &mut N,
        range: std::ops::RangeInclusive<N>,
    ) {
        self.row(label, help, |ui| number_field(ui, value, range, help));
    }

    pub fn optional_number<N: egui::emath::Numeric>(
        &mut self,
        label: &str,
        help: &str,
        value: &mut Option<N>,
        default: N,
        range: std::ops::RangeInclusive<N>,
    ) {
        self.optional(label, help, value, default, |ui, v| {
            number_field(ui, v, range, help)
        });
    }

    pub fn fraction(&mut self, label: &str, help: &str, value: &mut f64) {
        self.row(label, help, |ui| {
            ui.add(egui::Slider::new(value, 0.0..=1.0).max_decimals(3))
                .on_hover_text(help)
                .changed()
        });
    }

    pub fn flag(&mut self, label: &str, help: &str, value: &mut bool) {
        self.row(label, help, |ui| {
            ui.checkbox(value, "").on_hover_text(help).changed()
        });
    }

    /// A choice among variants: `options` gives (label, value-if-chosen) pairs.
    pub fn choice<T: Clone>(
        &mut self,
        label: &str,
        help: &str,
        value: &mut T,
        current: &str,
        options: &[(&str, T)],
    ) {
        self.row(label, help, |ui| {
            let mut changed = false;
            egui::ComboBox::from_id_salt(label)
                .selected_text(current)
                .show_ui(ui, |ui| {
                    for (name, option) in options {
                        if ui.selectable_label(*name == current, *name).clicked()
                            && *name != current
                        {
                            *value = option.clone();
                            changed = true;
                        }
                    }
                })
                .response
                .on_hover_text(help);
            changed
        });
    }
}

fn text_field(ui: &mut egui::Ui, value: &mut String, help: &str) -> bool {
    ui.add(egui::TextEdit::singleline(value).desired_width(150.0))
        .on_hover_text(help)
        .changed()
}

fn number_field<N: egui::emath::Numeric>(
    ui: &mut egui::Ui,
    value: &mut N,
    range: std::ops::RangeInclusive<N>,
    help: &str,
) -> bool {
    ui.add(egui::DragValue::new(value).range(range))
        .on_hover_text(help)
        .changed()
}

/// A text field for a value with units, kept as typed until it parses.
fn unit_field<T: FromStr + Display + PartialEq>(
    ui: &mut egui::Ui,
    value: &mut T,
    help: &str,
) -> bool {
    let id = ui.scope_id().with("unit");
    let shown = value.to_string();
    let mut text: String = ui
        .data_mut(|d| d.get_temp::<(String, String)>(id))
        .filter(|(for_value, _)| *for_value == shown)
        .map(|(_, text)| text)
        .unwrap_or_else(|| shown.clone());
    ui.add(egui::TextEdit::singleline(&mut text).desired_width(110.0))
        .on_hover_text(help);
    let mut changed = false;
    match text.trim().parse::<T>() {
        Ok(v) => {
            if v != *value {
                *value = v;
                changed = true;
            }
            ui.data_mut(|d| d.insert_temp(id, (value.to_string(), text)));
        }
        Err(_) => {
            ui.data_mut(|d| d.insert_temp(id, (shown, text)));
            ui.colored_label(style::ALARM, "?").on_hover_text(
                "Not understood: write a number with its unit, like 250ms, 2s, 100/s or 4KiB",
            );
        }
    }
    changed
}
