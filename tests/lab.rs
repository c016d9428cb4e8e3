//! The desktop lab, driven through its accessibility tree with egui_kittest, as a user
//! would: open an example, add and connect nodes, undo and redo, break a parameter,
//! run, inject a crash. Plus image snapshots of the main screens (rendered on the CPU
//! by wgpu on Mesa; `.ci/run` installs the drivers).
#![cfg(feature = "gui")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::time::{Duration, Instant};

use eframe::egui;
use egui_kittest::kittest::{NodeT, Queryable};
use egui_kittest::{Harness, SnapshotOptions};
use evlab::gui::Lab;
use evlab::gui::plots::Tab;
use evlab::scenario::raw::{RawNode, RawService};
use evlab::scenario::units::Duration as Span;

type LabHarness = Harness<'static, Option<Lab>>;

fn harness() -> LabHarness {
    let mut harness = harness_with(|_| {});
    // The engine thread answers the first load in its own time: start every test from its
    // first snapshot (the fault timeline, the badges), not from whichever frame it lands in.
    until(&mut harness, |lab| lab.snapshot.report.is_some());
    harness
}

/// A lab that `setup` changes before its first frame, three frames in.
fn harness_with(setup: fn(&mut Lab)) -> LabHarness {
    let mut harness = Harness::builder()
        .with_size([1440.0, 900.0])
        .build_ui_state(
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

fn lab(harness: &LabHarness) -> &Lab {
    harness
        .state()
        .as_ref()
        .expect("the lab is built on the first frame")
}

/// Steps frames until `what` holds (the engine runs on its own thread), for at most 30 s.
fn until(harness: &mut LabHarness, what: impl Fn(&Lab) -> bool) {
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

/// Where node `id` is on the screen. (The accessibility tree has nodes in canvas
/// coordinates: the canvas is a transformed layer.)
fn node(harness: &LabHarness, id: &str) -> egui::Rect {
    harness.get_by_role_and_label(egui::accesskit::Role::Button, id);
    let lab = lab(harness);
    lab.canvas
        .node_screen_rect(&lab.doc, id)
        .expect("the node is on the canvas")
}

fn click_node(harness: &mut LabHarness, id: &str, button: egui::PointerButton) {
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
fn type_over(harness: &mut LabHarness, value: &str, text: &str) {
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
fn retype(harness: &mut LabHarness, value: &str, text: &str) {
    type_over(harness, value, text);
    harness.key_press(egui::Key::Enter);
    harness.run_steps(1);
}

/// The service time of consumer `id` in the document.
fn service_of(harness: &LabHarness, id: &str) -> RawService {
    let lab = lab(harness);
    match lab.doc.raw.nodes.iter().find(|n| n.id() == id) {
        Some(RawNode::Consumer(c)) => c.service.clone(),
        _ => panic!("no consumer {id}"),
    }
}

#[test]
fn opens_on_the_example_ready_to_run() {
    let harness = harness();
    let lab = lab(&harness);
    assert_eq!(lab.doc.raw.name, "delivery-guarantees");
    assert!(lab.problems.is_empty());
    for id in ["orders", "fanout", "amo", "alo", "amo-worker", "alo-worker"] {
        harness.get_by_role_and_label(egui::accesskit::Role::Button, id);
    }
    harness.get_by_label("Run");
    harness.get_by_label_contains("delivery-guarantees (example)");
}

#[test]
fn nodes_are_added_from_the_palette_connected_and_undone() {
    let mut harness = harness();
    let before = lab(&harness).doc.raw.nodes.len();
    harness.get_by_label("Queue").click();
    harness.run_steps(2);
    assert_eq!(lab(&harness).doc.raw.nodes.len(), before + 1);
    assert!(lab(&harness).doc.node_index("queue").is_some());
    // It lands at the view's centre: move it to an empty spot by dragging it.
    let queue = node(&harness, "queue");
    let spot = egui::pos2(250.0, 140.0);
    harness.drag_at(queue.center());
    harness.run_steps(1);
    harness.hover_at(spot);
    harness.run_steps(1);
    harness.drop_at(spot);
    harness.run_steps(2);
    assert!(
        node(&harness, "queue").center().distance(spot) < 25.0,
        "moved, then snapped to the grid"
    );
    // A consumer dragged from the palette lands where it is dropped.
    let spot = egui::pos2(480.0, 140.0);
    harness.drag_at(harness.get_by_label("Consumer").rect().center());
    harness.run_steps(1);
    harness.hover_at(spot);
    harness.run_steps(1);
    harness.drop_at(spot);
    harness.run_steps(2);
    assert_eq!(lab(&harness).doc.raw.nodes.len(), before + 2);
    assert!(node(&harness, "consumer").center().distance(spot) < 25.0);
    // Connect queue -> consumer: from the queue's output port to the consumer.
    let queue = node(&harness, "queue");
    let consumer = node(&harness, "consumer");
    assert!(!queue.intersects(consumer), "the drag moved the consumer");
    harness.drag_at(queue.right_center());
    harness.run_steps(1);
    harness.hover_at(consumer.center());
    harness.run_steps(1);
    harness.drop_at(consumer.center());
    harness.run_steps(2);
    let has_edge = |lab: &Lab| {
        lab.doc
            .raw
            .edges
            .iter()
            .any(|e| e.from == "queue" && e.to == "consumer")
    };
    assert!(has_edge(lab(&harness)), "{:?}", lab(&harness).status);
    // A connection into a producer makes no sense: refused, with the reason. Both ends are
    // measured now, in the frame before the gesture, not before the last one.
    let consumer = node(&harness, "consumer");
    let orders = node(&harness, "orders");
    harness.drag_at(consumer.right_center());
    harness.run_steps(1);
    harness.hover_at(orders.center());
    harness.run_steps(1);
    harness.drop_at(orders.center());
    harness.run_steps(2);
    assert!(!lab(&harness).doc.raw.edges.iter().any(|e| e.to == "orders"));
    harness.get_by_label_contains("Not connected:");
    // Undo the edge, the move and both nodes; redo them all.
    let full = lab(&harness).doc.raw.clone();
    harness.get_by_label("Edit").click();
    harness.run_steps(3);
    harness.get_by_label_contains("Undo").click();
    harness.run_steps(2);
    assert!(!has_edge(lab(&harness)));
    for _ in 0..3 {
        harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
        harness.run_steps(1);
    }
    assert_eq!(lab(&harness).doc.raw.nodes.len(), before);
    assert!(!lab(&harness).doc.is_dirty());
    for _ in 0..4 {
        harness.key_press_modifiers(
            egui::Modifiers::COMMAND | egui::Modifiers::SHIFT,
            egui::Key::Z,
        );
        harness.run_steps(1);
    }
    assert_eq!(lab(&harness).doc.raw, full);
    harness.get_by_label_contains(" •");
}

/// Regression: the fault timeline comes with the engine thread's snapshot, whenever that
/// lands. Its lines once widened the inspector, which shifted and re-zoomed the canvas in
/// that frame, so under load a drag measured a frame earlier missed its port and
/// `nodes_are_added_from_the_palette_connected_and_undone` found no "Not connected:".
#[test]
fn the_canvas_keeps_its_place_when_the_fault_timeline_arrives() {
    let mut harness = harness_with(|lab| {
        lab.open_scenario(evlab::gui::empty_scenario(), "empty".into());
    });
    let without_faults = lab(&harness).canvas.screen_rect;
    harness
        .state_mut()
        .as_mut()
        .expect("lab")
        .open_example("delivery-guarantees");
    until(&mut harness, |lab| lab.snapshot.faults.len() == 6);
    harness.run_steps(2);
    harness
        .get_all_by_label("remove")
        .next()
        .expect("the timeline");
    assert_eq!(lab(&harness).canvas.screen_rect, without_faults);
}

#[test]
fn an_invalid_parameter_shows_the_loaders_message() {
    let mut harness = harness();
    click_node(&mut harness, "orders", egui::PointerButton::Primary);
    harness.run_steps(2);
    retype(&mut harness, "100/s", "0/s");
    harness.run_steps(2);
    harness.get_by_label_contains("nodes[0].arrival.rate: must be > 0");
    assert_eq!(lab(&harness).problems.len(), 1);
}

#[test]
fn steps_and_a_run_feed_the_plots_and_a_crash_shows_on_the_node() {
    let mut harness = harness();
    harness.get_by_label("Step").click();
    harness.run_steps(1);
    until(&mut harness, |lab| lab.snapshot.events == 1);
    harness.get_by_label("Step").click();
    until(&mut harness, |lab| lab.snapshot.events == 2);
    // Flat out for a while: the plots receive points.
    harness.get_by_label("flat out").click();
    harness.get_by_label("Run").click();
    harness.run_steps(1);
    until(&mut harness, |lab| lab.plots.points.len() > 20);
    // Space pauses (and plays) when no text field has the keyboard.
    harness.key_press(egui::Key::Space);
    harness.run_steps(1);
    until(&mut harness, |lab| !lab.snapshot.playing);
    let last = lab(&harness).plots.points.last().cloned().expect("points");
    assert!(last.time_s > 0.0);
    assert!(last.produced_per_s > 0.0);
    // Crash a consumer through its context menu.
    click_node(&mut harness, "alo-worker", egui::PointerButton::Secondary);
    harness.get_by_label("Crash for good").click();
    harness.run_steps(1);
    until(&mut harness, |lab| {
        lab.snapshot
            .nodes
            .iter()
            .any(|n| n.id == "alo-worker" && n.alarm.as_deref() == Some("crashed"))
    });
    harness.get_by_label_contains("(injected)");
    assert_eq!(lab(&harness).injected_faults().len(), 1);
    harness
        .get_by_label("Save injected faults into the scenario")
        .click();
    harness.run_steps(2);
    let faults = &lab(&harness).doc.raw.faults;
    assert_eq!(faults.last().map(|f| f.target.as_str()), Some("alo-worker"));
}

/// The edge menu offers only the link faults evlab simulates there; a cut between a queue and
/// its consumer disconnects the consumer, and the lab marks both.
#[test]
fn a_cut_delivery_edge_disconnects_its_consumer_and_shows_on_the_canvas() {
    let mut harness = harness();
    harness.get_by_label("Step").click();
    until(&mut harness, |lab| lab.snapshot.events == 1);
    // Edge 4 is alo -> alo-worker.
    click_edge(&mut harness, 4, egui::PointerButton::Secondary);
    assert!(
        harness
            .get_by_label("Lose 20% of messages for 10 s")
            .accesskit_node()
            .is_disabled()
    );
    harness.get_by_label("Cut the link for 10 s").click();
    harness.run_steps(1);
    until(&mut harness, |lab| {
        lab.snapshot.edges.get(4).cloned().flatten().as_deref() == Some("cut")
            && lab
                .snapshot
                .nodes
                .iter()
                .any(|n| n.id == "alo-worker" && n.alarm.as_deref() == Some("disconnected"))
    });
    assert_eq!(
        lab(&harness)
            .injected_faults()
            .last()
            .map(|f| f.target.clone()),
        Some("alo->alo-worker".to_string())
    );
}

fn snapshot_options() -> SnapshotOptions {
    // Fonts are rasterised on the CPU and may differ by a pixel between machines.
    SnapshotOptions::new()
        .threshold(2.0)
        .max_failed_pixels(4000)
}

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

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("evlab-lab-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Types `path` into the typed-path prompt (tests have no native dialog) and confirms.
fn type_path(harness: &mut LabHarness, path: &std::path::Path) {
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
    harness.get_by_label("File").click();
    harness.run_steps(3);
    harness.get_by_label("New").click();
    harness.run_steps(3);
    harness.get_by_label("Save").click();
    harness.run_steps(3);
    harness.get_by_label("Cancel").click();
    harness.run_steps(3);
    assert_eq!(lab(&harness).doc.raw.nodes.len(), 1, "the work stays");
    assert!(lab(&harness).doc.is_dirty());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn every_built_in_example_opens_from_the_menu() {
    let mut harness = harness();
    for (name, _) in evlab::examples::EXAMPLES {
        harness.get_by_label("File").click();
        harness.run_steps(3);
        harness.get_by_label("Open Example").hover();
        harness.run_steps(3);
        harness.get_by_label(name).click();
        harness.run_steps(3);
        let lab = lab(&harness);
        assert_eq!(lab.doc.raw.name, *name);
        assert!(lab.problems.is_empty(), "{name}: {:?}", lab.problems);
        assert!(lab.load_error.is_none());
    }
}

/// A file dropped on the window.
#[derive(Debug)]
struct Dropped(std::path::PathBuf);

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &std::path::Path {
        &self.0
    }

    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

/// Clicks the middle of edge `index`'s curve with `button`.
fn click_edge(harness: &mut LabHarness, index: usize, button: egui::PointerButton) {
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

#[test]
fn an_edge_is_selected_on_its_curve_and_scheduled_faults_can_be_removed() {
    let mut harness = harness();
    click_edge(&mut harness, 0, egui::PointerButton::Primary);
    assert!(lab(&harness).canvas.selection.edges.contains(&0));
    harness.get_by_label("Edge orders -> fanout");
    harness.get_by_label("binding headers");
    // Back to the scenario: its six scheduled crashes, each removable.
    harness.key_press(egui::Key::Escape);
    harness.run_steps(2);
    assert!(lab(&harness).canvas.selection.is_empty());
    let faults = lab(&harness).doc.raw.faults.len();
    assert_eq!(faults, 6);
    harness
        .get_all_by_label("remove")
        .next()
        .expect("a remove button")
        .click();
    harness.run_steps(3);
    assert_eq!(lab(&harness).doc.raw.faults.len(), faults - 1);
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
    harness.run_steps(2);
    assert_eq!(lab(&harness).doc.raw.faults.len(), faults);
}

#[test]
fn a_rate_edited_during_a_run_applies_live_and_a_new_node_asks_to_restart() {
    let mut harness = harness();
    harness.get_by_label("Step").click();
    harness.run_steps(1);
    until(&mut harness, |lab| lab.snapshot.events >= 1);
    click_node(&mut harness, "orders", egui::PointerButton::Primary);
    retype(&mut harness, "100/s", "250/s");
    harness.run_steps(2);
    assert!(
        !lab(&harness).stale_run,
        "a rate change applies to the running simulation"
    );
    harness.get_by_label_contains("Applied to the running simulation");
    // A structural edit cannot: the lab offers a restart.
    harness.key_press(egui::Key::Escape);
    harness.run_steps(1);
    harness.get_by_label("Queue").click();
    harness.run_steps(2);
    assert!(lab(&harness).stale_run);
    harness.get_by_label("Restart to apply").click();
    harness.run_steps(2);
    assert!(!lab(&harness).stale_run);
}

/// The bug: a live edit applied on every keystroke, so typing `4ms` into a running
/// consumer's mean passed through `4m` (four minutes) and froze it for the rest of the run.
#[test]
fn a_live_edit_applies_on_enter_never_half_typed() {
    let mut harness = harness();
    harness.get_by_label("Step").click();
    harness.run_steps(1);
    until(&mut harness, |lab| lab.snapshot.events >= 1);
    click_node(&mut harness, "alo-worker", egui::PointerButton::Primary);
    let before = RawService::Exponential {
        mean: Span::from_millis(15),
    };
    assert_eq!(service_of(&harness, "alo-worker"), before);
    // Half typed: `4m` is four minutes, and must not reach the run, nor the document.
    type_over(&mut harness, "15ms", "4m");
    harness.run_steps(2);
    assert_eq!(service_of(&harness, "alo-worker"), before);
    assert!(
        harness
            .query_by_label_contains("Applied to the running")
            .is_none()
    );
    // Not a duration yet: the loader's own message, under the field.
    type_over(&mut harness, "4m", "4");
    harness.get_by_label_contains("`4` has no unit");
    assert_eq!(service_of(&harness, "alo-worker"), before);
    // Typed out and committed with Enter: applied, once.
    type_over(&mut harness, "4", "4ms");
    harness.key_press(egui::Key::Enter);
    harness.run_steps(2);
    assert_eq!(
        service_of(&harness, "alo-worker"),
        RawService::Exponential {
            mean: Span::from_millis(4)
        }
    );
    harness.get_by_label_contains("Applied to the running simulation");
    assert!(!lab(&harness).stale_run);
    // Escape drops a draft: the field shows the value again.
    type_over(&mut harness, "4ms", "9s");
    harness.key_press(egui::Key::Escape);
    harness.run_steps(2);
    assert_eq!(
        service_of(&harness, "alo-worker"),
        RawService::Exponential {
            mean: Span::from_millis(4)
        }
    );
}

/// The bug: "Restart to apply" reset and paused a playing run, and the canvas showed an
/// edited value the run was not using, with nothing to say so.
#[test]
fn restart_to_apply_keeps_a_playing_run_playing_and_pending_edits_are_marked() {
    let mut harness = harness();
    harness.get_by_label("Run").click();
    harness.run_steps(1);
    until(&mut harness, |lab| {
        lab.snapshot.playing && lab.snapshot.events > 0
    });
    // An edit the running simulation cannot take (the ack delay), valid as it is.
    click_node(&mut harness, "alo-worker", egui::PointerButton::Primary);
    retype(&mut harness, "20ms", "30ms");
    harness.run_steps(2);
    assert!(lab(&harness).stale_run);
    harness.get_by_label("alo-worker: edited, restart to apply");
    assert!(
        harness
            .query_by_label("amo-worker: edited, restart to apply")
            .is_none()
    );
    assert!(
        lab(&harness).snapshot.playing,
        "the old run goes on meanwhile"
    );
    let load = lab(&harness).snapshot.load;
    harness.get_by_label("Restart to apply").click();
    harness.run_steps(2);
    assert!(!lab(&harness).stale_run);
    assert!(
        harness
            .query_by_label_contains("edited, restart to apply")
            .is_none()
    );
    // The new run's snapshots, playing.
    until(&mut harness, |lab| {
        lab.snapshot.load > load && lab.snapshot.playing && lab.snapshot.events > 0
    });
}

#[test]
fn a_new_scenario_cannot_run_until_its_problems_are_fixed() {
    let mut harness = harness();
    harness.get_by_label("File").click();
    harness.run_steps(3);
    harness.get_by_label("New").click();
    harness.run_steps(3);
    assert!(lab(&harness).doc.raw.nodes.is_empty());
    harness.get_by_label("Producer").click();
    harness.run_steps(2);
    assert!(
        !lab(&harness).problems.is_empty(),
        "a producer alone goes nowhere"
    );
    harness.get_by_label("Run").click();
    harness.run_steps(2);
    harness.get_by_label_contains("Fix the scenario's problems");
    assert!(!lab(&harness).snapshot.playing);
    // Step and Reset on a scenario that cannot run change nothing and do not panic.
    harness.get_by_label("Step").click();
    harness.get_by_label("Reset").click();
    harness.run_steps(3);
    assert_eq!(lab(&harness).snapshot.events, 0);
}

#[test]
fn replicate_runs_in_the_background_and_shows_every_figure_with_its_interval() {
    let mut harness = harness();
    {
        let lab = harness.state_mut().as_mut().expect("lab");
        lab.plots.tab = Tab::Report;
        lab.plots.replicate.replications = 3;
    }
    harness.get_by_label("flat out").click();
    harness.get_by_label("Run").click();
    harness.run_steps(1);
    until(&mut harness, |lab| lab.snapshot.finished);
    harness.run_steps(2);
    harness.get_by_label("Replicate").click();
    harness.run_steps(1);
    // The UI goes on while the replications run.
    assert!(
        lab(&harness).plots.replicate.running() || lab(&harness).plots.replicate.result.is_some()
    );
    until(&mut harness, |lab| lab.plots.replicate.result.is_some());
    let (n, figures) = lab(&harness).plots.replicate.result.as_ref().unwrap();
    assert_eq!(*n, 3);
    let figures = figures.as_ref().expect("the replications ran");
    assert_eq!(figures["totals.produced"].n, 3);
    assert!(
        figures["totals.produced"].ci95 > 0.0,
        "three seeds, three different runs"
    );
    harness.run_steps(2);
    harness.get_by_label_contains("3 replications (seeds derived");
}

#[test]
fn a_second_design_runs_beside_the_first_with_its_plots_and_report() {
    let dir = temp_dir("compare");
    let other = dir.join("faster.ron");
    let text = evlab::examples::example("delivery-guarantees")
        .unwrap()
        .replace("mean: \"15ms\"", "mean: \"5ms\"");
    std::fs::write(&other, text).unwrap();
    let mut harness = harness();
    harness.get_by_label("File").click();
    harness.run_steps(3);
    harness.get_by_label("Compare with…").click();
    harness.run_steps(3);
    type_path(&mut harness, &other);
    until(&mut harness, |lab| lab.plots.compare.done().is_some());
    let series = &lab(&harness).plots.compare.done().unwrap().series;
    assert!(
        series.time_s.len() > 100,
        "the compared design's whole time series"
    );
    harness.state_mut().as_mut().expect("lab").plots.tab = Tab::Report;
    harness.get_by_label("flat out").click();
    harness.get_by_label("Run").click();
    harness.run_steps(1);
    until(&mut harness, |lab| lab.snapshot.finished);
    harness.run_steps(3);
    harness.get_by_label("A: this design (live)");
    harness.get_by_label_contains("B: ");
    // The saved version: save the open design, then compare with it.
    let saved = dir.join("saved.ron");
    harness.get_by_label("File").click();
    harness.run_steps(3);
    harness.get_by_label("Save As…").click();
    harness.run_steps(3);
    type_path(&mut harness, &saved);
    harness.get_by_label("File").click();
    harness.run_steps(3);
    harness
        .get_by_label("Compare with the saved version")
        .click();
    harness.run_steps(3);
    until(&mut harness, |lab| {
        lab.plots
            .compare
            .done()
            .is_some_and(|o| o.label.contains("(saved), seed "))
    });
    harness.get_by_label("File").click();
    harness.run_steps(3);
    harness.get_by_label("Stop comparing").click();
    harness.run_steps(2);
    assert!(lab(&harness).plots.compare.other.is_none());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_injected_fault_takes_the_duration_and_strength_set_in_the_menu() {
    let mut harness = harness();
    harness.get_by_label("Run").click();
    harness.run_steps(1);
    until(&mut harness, |lab| lab.snapshot.events > 0);
    click_node(&mut harness, "amo-worker", egui::PointerButton::Secondary);
    harness.run_steps(2);
    // The menu's defaults, then other settings (as if dragged in the menu's fields).
    harness.get_by_label("Slow down x4 for 10 s");
    harness.get_by_label("Duration");
    {
        let lab = harness.state_mut().as_mut().expect("lab");
        lab.canvas.fault_settings.seconds = 2.5;
        lab.canvas.fault_settings.slow_factor = 3.0;
        lab.canvas.fault_settings.fail_percent = 25.0;
    }
    harness.run_steps(2);
    harness.get_by_label("Fail 25% of processing for 2.5 s");
    harness.get_by_label("Slow down x3 for 2.5 s").click();
    harness.run_steps(1);
    until(&mut harness, |lab| lab.injected_faults().len() == 1);
    let fault = lab(&harness)
        .snapshot
        .faults
        .last()
        .expect("the injected fault");
    assert_eq!(
        fault.kind,
        evlab::scenario::guarantees::FaultKind::Slow { factor: 3.0 }
    );
    assert_eq!(fault.duration_nanos, Some(2_500_000_000));
}
