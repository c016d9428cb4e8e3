//! What every lab test drives the lab with: a harness on the built-in example, waiting
//! for the engine thread, and the pointer and keyboard gestures a user makes.

use eframe::egui;
use egui_kittest::kittest::Queryable;
use egui_kittest::{Harness, SnapshotOptions};
use evlab::gui::Lab;
use evlab::scenario::raw::{RawNode, RawService};
use std::time::{Duration, Instant};

pub type LabHarness = Harness<'static, Option<Lab>>;

pub fn harness() -> LabHarness {
    harness_at([1440.0, 900.0])
}

/// The lab on the built-in example in a window of `size`, from its first snapshot.
pub fn harness_at(size: [f32; 2]) -> LabHarness {
    let mut harness = sized(size, |_| {});
    // The engine thread answers the first load in its own time: start every test from its
    // first snapshot (the fault timeline, the badges), not from whichever frame it lands in.
    until(&mut harness, |lab| lab.snapshot.report.is_some());
    harness
}

/// A lab that `setup` changes before its first frame, three frames in.
pub fn harness_with(setup: fn(&mut Lab)) -> LabHarness {
    sized([1440.0, 900.0], setup)
}

fn sized(size: [f32; 2], setup: fn(&mut Lab)) -> LabHarness {
    let mut harness = Harness::builder().with_size(size).build_ui_state(
        move |ui, lab: &mut Option<Lab>| {
            let lab = lab.get_or_insert_with(|| {
                let mut lab = Lab::new(ui.ctx().clone(), false).expect("the lab starts");
                setup(&mut lab);
                lab
            });
            lab.ui(ui);
        },
        None,
    );
    harness.run_steps(3);
    harness
}

pub fn lab(harness: &LabHarness) -> &Lab {
    harness
        .state()
        .as_ref()
        .expect("the lab is built on the first frame")
}

/// Steps frames until `what` holds (the engine runs on its own thread), for at most 30 s.
pub fn until(harness: &mut LabHarness, what: impl Fn(&Lab) -> bool) {
    let started = Instant::now();
    while !what(lab(harness)) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "timed out waiting"
        );
        std::thread::sleep(Duration::from_millis(10));
        harness.step();
    }
}

/// Clicks the widgets labelled `path` one after the other, a few frames apart (a menu,
/// its item, a dialog's button): `choose(&mut harness, &["File", "New"])`.
pub fn choose(harness: &mut LabHarness, path: &[&str]) {
    for label in path {
        harness.get_by_label(label).click();
        harness.run_steps(3);
    }
}

/// Opens built-in example `name` from File > Open Example.
pub fn open_example(harness: &mut LabHarness, name: &str) {
    harness.get_by_label("File").click();
    harness.run_steps(3);
    harness.get_by_label("Open Example").hover();
    harness.run_steps(3);
    harness.get_by_label(name).click();
    harness.run_steps(3);
}

/// Where node `id` is on the screen. (The accessibility tree has nodes in canvas
/// coordinates: the canvas is a transformed layer.)
pub fn node(harness: &LabHarness, id: &str) -> egui::Rect {
    harness.get_by_role_and_label(egui::accesskit::Role::Button, id);
    let lab = lab(harness);
    lab.canvas
        .node_screen_rect(&lab.doc, id)
        .expect("the node is on the canvas")
}

pub fn click_node(harness: &mut LabHarness, id: &str, button: egui::PointerButton) {
    let at = node(harness, id).center();
    harness.hover_at(at);
    for pressed in [true, false] {
        harness.event(egui::Event::PointerButton {
            pos: at,
            button,
            pressed,
            modifiers: egui::Modifiers::default(),
        });
    }
    harness.run_steps(2);
}

/// Replaces the text of the field showing `value` with `text`, as typed, without
/// committing it.
pub fn type_over(harness: &mut LabHarness, value: &str, text: &str) {
    let field = harness.get_all_by_value(value).next().expect("the field");
    field.focus();
    harness.run_steps(1);
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness.run_steps(1);
    let field = harness.get_all_by_value(value).next().expect("the field");
    field.type_text(text);
    harness.run_steps(1);
}

/// Replaces the text of the field showing `value` with `text` and presses Enter.
pub fn retype(harness: &mut LabHarness, value: &str, text: &str) {
    type_over(harness, value, text);
    harness.key_press(egui::Key::Enter);
    harness.run_steps(1);
}

/// The service time of consumer `id` in the document.
pub fn service_of(harness: &LabHarness, id: &str) -> RawService {
    let lab = lab(harness);
    match lab.doc.raw.nodes.iter().find(|n| n.id() == id) {
        Some(RawNode::Consumer(c)) => c.service.clone(),
        _ => panic!("no consumer {id}"),
    }
}

pub fn snapshot_options() -> SnapshotOptions {
    // Fonts are rasterised on the CPU and may differ by a pixel between machines.
    SnapshotOptions::new()
        .threshold(2.0)
        .max_failed_pixels(4000)
}

pub fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("evlab-lab-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Types `path` into the typed-path prompt (tests have no native dialog) and confirms.
pub fn type_path(harness: &mut LabHarness, path: &std::path::Path) {
    let field =
        harness.get_by_role_and_label(egui::accesskit::Role::TextInput, "Path of the file:");
    field.focus();
    harness.run_steps(1);
    harness
        .get_by_role_and_label(egui::accesskit::Role::TextInput, "Path of the file:")
        .type_text(&path.display().to_string());
    harness.run_steps(1);
    harness.get_by_label("OK").click();
    harness.run_steps(3);
}

/// A file dropped on the window.
#[derive(Debug)]
pub struct Dropped(pub std::path::PathBuf);

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &std::path::Path {
        &self.0
    }

    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

/// Clicks the middle of edge `index`'s curve with `button`.
pub fn click_edge(harness: &mut LabHarness, index: usize, button: egui::PointerButton) {
    let middle = {
        let lab = lab(harness);
        lab.canvas
            .edge_screen_midpoint(&lab.doc, index)
            .expect("the edge")
    };
    harness.hover_at(middle);
    for pressed in [true, false] {
        harness.event(egui::Event::PointerButton {
            pos: middle,
            button,
            pressed,
            modifiers: egui::Modifiers::default(),
        });
    }
    harness.run_steps(2);
}
