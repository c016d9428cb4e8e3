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

    pub fn unit<T: FromStr<Err: Display> + Display + PartialEq>(
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

    pub fn optional_unit<T: FromStr<Err: Display> + Display + PartialEq + Clone>(
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
    let shown = value.clone();
    match draft_field(ui, &shown, 150.0, help, |_| None) {
        Some(text) => {
            *value = text;
            true
        }
        None => false,
    }
}

fn number_field<N: egui::emath::Numeric>(
    ui: &mut egui::Ui,
    value: &mut N,
    range: std::ops::RangeInclusive<N>,
    help: &str,
) -> bool {
    // A number typed in applies on Enter or when the field loses focus, as text does.
    ui.add(
        egui::DragValue::new(value)
            .range(range)
            .update_while_editing(false),
    )
    .on_hover_text(help)
    .changed()
}

/// A value with units: applied when the typed text is committed and parses; while it does
/// not, the text stays as typed, outlined, with the loader's own message under it.
fn unit_field<T: FromStr<Err: Display> + Display + PartialEq>(
    ui: &mut egui::Ui,
    value: &mut T,
    help: &str,
) -> bool {
    let shown = value.to_string();
    let parse = |text: &str| text.trim().parse::<T>().err().map(|e| e.to_string());
    let Some(text) = draft_field(ui, &shown, 110.0, help, parse) else {
        return false;
    };
    match text.trim().parse::<T>() {
        Ok(v) if v != *value => {
            *value = v;
            true
        }
        _ => false,
    }
}

/// What the user is typing into a field, kept apart from the value it edits.
#[derive(Clone)]
struct Draft {
    /// The value's text when the typing began: a value changed elsewhere (an undo) drops
    /// the draft.
    of: String,
    text: String,
}

/// A single-line field showing `shown`. What is typed is a draft, committed on Enter or
/// when the field loses focus (Escape drops it): a live run never sees a value half
/// typed (`4m` on the way to `4ms`). Returns the committed text when it differs from
/// `shown`. `problem` says what is wrong with a text (`None`: nothing); a draft with a
/// problem stays, outlined, with the problem under it, until it is mended or dropped.
fn draft_field(
    ui: &mut egui::Ui,
    shown: &str,
    width: f32,
    help: &str,
    problem: impl Fn(&str) -> Option<String>,
) -> Option<String> {
    let id = ui.scope_id().with("draft");
    let mut text = ui
        .data(|d| d.get_temp::<Draft>(id))
        .filter(|draft| draft.of == shown)
        .map_or_else(|| shown.to_string(), |draft| draft.text);
    let mut committed = None;
    ui.vertical(|ui| {
        let response = ui.add(egui::TextEdit::singleline(&mut text).desired_width(width));
        let response = response.on_hover_text(help);
        // Read from the frame's raw input: the lab's own Escape (select nothing) may have
        // consumed the key by the time the form is drawn.
        let escaped = response.lost_focus()
            && ui.input(|i| {
                i.raw.events.iter().any(|e| {
                    matches!(
                        e,
                        egui::Event::Key {
                            key: egui::Key::Escape,
                            pressed: true,
                            ..
                        }
                    )
                })
            });
        if escaped {
            text = shown.to_string();
        }
        let wrong = if text == shown { None } else { problem(&text) };
        if response.lost_focus() && !escaped && wrong.is_none() && text != shown {
            committed = Some(text.clone());
        }
        let keep =
            committed.is_none() && text != shown && (response.has_focus() || wrong.is_some());
        ui.data_mut(|d| {
            if keep {
                d.insert_temp(
                    id,
                    Draft {
                        of: shown.to_string(),
                        text: text.clone(),
                    },
                );
            } else {
                d.remove::<Draft>(id);
            }
        });
        if let Some(wrong) = wrong {
            ui.painter().rect_stroke(
                response.rect,
                2.0,
                egui::Stroke::new(1.5, style::ALARM),
                egui::StrokeKind::Outside,
            );
            ui.set_max_width(width.max(220.0));
            ui.add(egui::Label::new(egui::RichText::new(wrong).small().color(style::ALARM)).wrap());
        }
    });
    committed
}
