//! Files and screens: opening, saving and the unsaved-changes prompt, every example from
//! the menu, and the image snapshots of the main screens.

use eframe::egui;
use egui_kittest::kittest::Queryable;
use evlab::gui::plots::Tab;

use super::support::*;

#[test]
fn main_screens_look_as_they_did() {
    let mut harness = harness();
    harness.run_steps(3);
    harness.remove_cursor();
    harness.snapshot_options("lab-example", &snapshot_options());
    // After a run, with the report.
    harness.get_by_label("flat out").click();
    harness.get_by_label("Run").click();
    harness.run_steps(1);
    until(&mut harness, |lab| lab.snapshot.finished);
    harness.state_mut().as_mut().expect("lab").plots.tab = Tab::Report;
    harness.run_steps(3);
    harness.get_by_label("Export JSON…");
    harness.remove_cursor();
    // The plots' contents depend on when frames fell; only the report is snapshotted.
    harness.snapshot_options("lab-report", &snapshot_options());
}

/// A laptop's window: the canvas, the captions under its nodes and the panels still fit.
#[test]
fn the_main_screen_fits_a_small_window() {
    let mut harness = harness_at([1024.0, 700.0]);
    harness.run_steps(3);
    harness.remove_cursor();
    harness.snapshot_options("lab-example-1024x700", &snapshot_options());
    // A topic's lanes, its group's state and its members' partitions, before the run.
    open_example(&mut harness, "rebalance");
    until(&mut harness, |lab| {
        lab.doc.raw.name == "rebalance" && lab.snapshot.nodes.iter().any(|n| n.lanes.is_some())
    });
    harness.run_steps(3);
    harness.remove_cursor();
    harness.snapshot_options("lab-kafka-1024x700", &snapshot_options());
}

#[test]
fn a_big_screen_zooms_the_whole_window_until_the_user_chooses_a_zoom() {
    // (window in points, zoom the lab picks): a 2560x1440 screen the system does not
    // scale gets 1.5, a laptop stays at 1.
    for (size, zoom) in [([2560.0, 1440.0], 1.5), ([1024.0, 700.0], 1.0)] {
        let mut harness = harness_at(size);
        harness.run_steps(10);
        assert_eq!(harness.ctx.zoom_factor(), zoom, "{size:?}");
        assert_eq!(harness.ctx.pixels_per_point(), zoom, "{size:?}");
    }
    // The user's zoom stands.
    let mut harness = harness_at([2560.0, 1440.0]);
    harness.run_steps(3);
    choose(&mut harness, &["View", "Actual size (Ctrl 0)"]);
    harness.run_steps(10);
    assert_eq!(harness.ctx.zoom_factor(), 1.0);
}

#[test]
fn a_file_that_fails_to_load_shows_where_and_leaves_the_work_untouched() {
    let dir = temp_dir("bad");
    let bad = dir.join("bad.ron");
    std::fs::write(
        &bad,
        "(\n    version: 1,\n    duration: \"10s\",\n    nodes: [Producer(id: \"p\", arrival: Poisson(rate: \"-5/s\"))],\n)\n",
    )
    .unwrap();
    let mut harness = harness();
    // Some unsaved work first.
    harness.get_by_label("Queue").click();
    harness.run_steps(2);
    let work = lab(&harness).doc.raw.clone();
    harness.get_by_label("File").click();
    harness.run_steps(3);
    harness.get_by_label("Open…").click();
    harness.run_steps(3);
    // There is unsaved work: the lab asks first.
    harness.get_by_label("Discard changes").click();
    harness.run_steps(3);
    type_path(&mut harness, &bad);
    harness.get_by_label("Could not open the file");
    harness.get_by_label_contains("bad.ron:4:");
    assert_eq!(lab(&harness).doc.raw, work, "the current work is untouched");
    harness.get_by_label("OK").click();
    harness.run_steps(2);
    assert!(lab(&harness).load_error.is_none());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn save_as_then_open_gives_the_same_scenario_and_unsaved_changes_ask_first() {
    let dir = temp_dir("save");
    let path = dir.join("mine.ron");
    let mut harness = harness();
    harness.get_by_label("Topic").click();
    harness.run_steps(2);
    harness.get_by_label("File").click();
    harness.run_steps(3);
    harness.get_by_label("Save As…").click();
    harness.run_steps(3);
    harness
        .get_by_role_and_label(egui::accesskit::Role::TextInput, "Path of the file:")
        .focus();
    harness.run_steps(1);
    harness
        .get_by_role_and_label(egui::accesskit::Role::TextInput, "Path of the file:")
        .type_text(&path.display().to_string());
    harness.get_by_label("OK").click();
    harness.run_steps(3);
    assert!(!lab(&harness).doc.is_dirty());
    assert_eq!(lab(&harness).doc.title(), "mine.ron");
    let saved = lab(&harness).doc.raw.clone();
    // Saved as it is, problems and all (the new topic has no consumer yet): work is never lost.
    assert!(!lab(&harness).problems.is_empty());
    let written = std::fs::read_to_string(&path).unwrap();
    let reloaded = evlab::scenario::parse_raw(&written).unwrap();
    assert_eq!(reloaded, saved);
    // The example's lesson, in the comments above the scenario, is saved with it.
    assert!(
        written.starts_with("// delivery-guarantees:"),
        "{}",
        &written[..written.len().min(200)]
    );
    // An edit, then New: the lab asks before discarding it.
    harness.get_by_label("Queue").click();
    harness.run_steps(2);
    harness.get_by_label("File").click();
    harness.run_steps(3);
    harness.get_by_label("New").click();
    harness.run_steps(3);
    harness.get_by_label("Unsaved changes");
    harness.get_by_label("Cancel").click();
    harness.run_steps(2);
    assert!(lab(&harness).doc.is_dirty(), "cancel keeps the work");
    // A .ron file dropped on the window opens (after the same question).
    harness
        .input_mut()
        .dropped_files
        .push(std::sync::Arc::new(Dropped(path.clone())));
    harness.run_steps(2);
    harness.get_by_label("Discard changes").click();
    harness.run_steps(3);
    assert_eq!(lab(&harness).doc.raw, saved);
    assert!(!lab(&harness).doc.is_dirty());
    assert!(lab(&harness).recent.contains(&path));
    harness.get_by_label_contains("problem(s) to fix before it runs");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_unsaved_changes_prompt_offers_save_and_then_goes_on() {
    let dir = temp_dir("save-then-new");
    let path = dir.join("kept.ron");
    let mut harness = harness();
    harness.get_by_label("Queue").click();
    harness.run_steps(2);
    let edited = lab(&harness).doc.raw.clone();
    harness.get_by_label("File").click();
    harness.run_steps(3);
    harness.get_by_label("New").click();
    harness.run_steps(3);
    harness.get_by_label("Unsaved changes");
    // The example has no file yet: Save asks where, saves, then does what waited.
    harness.get_by_label("Save").click();
    harness.run_steps(3);
    type_path(&mut harness, &path);
    let written = std::fs::read_to_string(&path).unwrap();
    assert_eq!(evlab::scenario::parse_raw(&written).unwrap(), edited);
    assert!(lab(&harness).doc.raw.nodes.is_empty(), "then New went on");
    assert!(!lab(&harness).doc.is_dirty());
    // A Save As given up leaves the work as it is, and nothing goes on.
    harness.get_by_label("Producer").click();
    harness.run_steps(2);
    choose(&mut harness, &["File", "New", "Save", "Cancel"]);
    assert_eq!(lab(&harness).doc.raw.nodes.len(), 1, "the work stays");
    assert!(lab(&harness).doc.is_dirty());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn every_built_in_example_opens_from_the_menu() {
    let mut harness = harness();
    for (name, _) in evlab::examples::EXAMPLES {
        open_example(&mut harness, name);
        let lab = lab(&harness);
        assert_eq!(lab.doc.raw.name, *name);
        assert!(lab.problems.is_empty(), "{name}: {:?}", lab.problems);
        assert!(lab.load_error.is_none());
    }
}
