//! The scenario's own settings, shown when nothing is selected.

use eframe::egui;

use super::form::Form;
use crate::scenario::raw::RawScenario;
use crate::scenario::units::Duration;

pub(super) fn form(f: &mut Form<'_>, raw: &mut RawScenario) {
    f.text(
        "name",
        "The scenario's name, shown in reports.",
        &mut raw.name,
    );
    f.number(
        "seed",
        "Random seed: the same scenario and seed give the same run, every time.",
        &mut raw.seed,
        0..=u64::MAX,
    );
    f.unit(
        "duration",
        "Simulated time the run covers.",
        &mut raw.duration,
    );
    f.optional_unit(
        "warm-up",
        "Time at the start left out of the report's rates and latencies.",
        &mut raw.warmup,
        Duration::from_secs(1),
    );
    f.optional_unit(
        "sample every",
        "Interval between points of the plots' time series.",
        &mut raw.sample_every,
        Duration::from_millis(100),
    );
    let help = "What the scenario shows, for whoever opens it next.";
    let label = f.ui.label("description").on_hover_text(help);
    f.changed |=
        f.ui.add(
            egui::TextEdit::multiline(&mut raw.description)
                .desired_rows(4)
                .desired_width(220.0),
        )
        .labelled_by(label.id)
        .changed();
    f.ui.end_row();
}
