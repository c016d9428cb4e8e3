//! Drawing and changing a design: the palette, connections, undo, selection, and the
//! problems that keep an unfinished design from running.

use eframe::egui;
use egui_kittest::kittest::Queryable;
use evlab::gui::Lab;

use super::support::*;

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
    // It lands near the view's centre, on no other node: move it by dragging it.
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
fn an_invalid_parameter_shows_the_loaders_message_and_no_panel_moves() {
    let mut harness = harness();
    click_node(&mut harness, "orders", egui::PointerButton::Primary);
    harness.run_steps(2);
    let canvas = lab(&harness).canvas.screen_rect;
    retype(&mut harness, "100/s", "0/s");
    harness.run_steps(2);
    harness.get_by_label_contains("nodes[0].arrival.rate: must be > 0");
    assert_eq!(lab(&harness).problems.len(), 1);
    // The message shows in the inspector, which scrolls: the canvas (and so the plots
    // under it and the panels beside it) keeps its place and size.
    assert_eq!(lab(&harness).canvas.screen_rect, canvas);
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
fn a_new_scenario_cannot_run_until_its_problems_are_fixed() {
    let mut harness = harness();
    choose(&mut harness, &["File", "New"]);
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

/// New nodes from the palette land beside the selected node (after an add, the one just
/// added), never on another, and are connected from it where the kinds allow.
#[test]
fn palette_nodes_land_beside_the_selection_connected_from_it() {
    let mut harness = harness();
    click_node(&mut harness, "alo", egui::PointerButton::Primary);
    let edges = lab(&harness).doc.raw.edges.len();
    harness
        .get_by_role_and_label(egui::accesskit::Role::Button, "Consumer")
        .click();
    harness.run_steps(2);
    let doc = &lab(&harness).doc;
    let last = doc.raw.edges.last().expect("an edge");
    assert_eq!(doc.raw.edges.len(), edges + 1);
    assert_eq!((last.from.as_str(), last.to.as_str()), ("alo", "consumer"));
    let alo = node(&harness, "alo");
    let consumer = node(&harness, "consumer");
    assert!(consumer.left() > alo.right(), "to the right of its queue");
    // A second consumer beside the first: a consumer does not read a consumer, so no edge.
    harness
        .get_by_role_and_label(egui::accesskit::Role::Button, "Consumer")
        .click();
    harness.run_steps(2);
    assert_eq!(lab(&harness).doc.raw.edges.len(), edges + 1);
    // Undo takes the node and its edge back in one step.
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
    harness.run_steps(2);
    assert_eq!(lab(&harness).doc.raw.edges.len(), edges);
    assert!(lab(&harness).doc.node_index("consumer").is_none());
    // Redo, and with "connect from selected" off a new node comes unconnected.
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Y);
    harness.run_steps(2);
    harness.get_by_label("connect from selected").click();
    harness.run_steps(1);
    click_node(&mut harness, "alo", egui::PointerButton::Primary);
    harness
        .get_by_role_and_label(egui::accesskit::Role::Button, "Consumer")
        .click();
    harness.run_steps(2);
    assert_eq!(lab(&harness).doc.raw.edges.len(), edges + 1);
    // Nothing sits on anything else.
    let lab = lab(&harness);
    let rects: Vec<_> = lab
        .doc
        .raw
        .nodes
        .iter()
        .map(|n| {
            lab.canvas
                .node_screen_rect(&lab.doc, n.id())
                .expect("on the canvas")
        })
        .collect();
    for (i, a) in rects.iter().enumerate() {
        for b in &rects[i + 1..] {
            assert!(!a.intersects(*b), "{a:?} overlaps {b:?}");
        }
    }
}

/// The inspector shows only the fields that apply: a queue's consumer has a prefetch and
/// an ack delay, and no Kafka group, commit, offset reset or session timeout.
#[test]
fn a_queue_consumers_inspector_has_no_kafka_fields() {
    let mut harness = harness();
    click_node(&mut harness, "alo-worker", egui::PointerButton::Primary);
    for shown in ["prefetch", "ack delay", "concurrency", "max attempts"] {
        harness.get_by_label(shown);
    }
    for hidden in [
        "group",
        "commit",
        "auto offset reset",
        "session timeout",
        "rebalance time",
    ] {
        assert!(
            harness.query_by_label(hidden).is_none(),
            "{hidden} shown for a queue's consumer"
        );
    }
}

/// The architect's walkthrough: from an empty scenario, three palette clicks draw a
/// producer, a queue and a consumer, each connected from the one before; the design runs
/// at once, and the consumer says what it promises and what it did.
#[test]
fn an_architect_draws_a_pipeline_from_scratch_and_runs_it() {
    let mut harness = harness();
    choose(&mut harness, &["File", "New"]);
    for kind in ["Producer", "Queue", "Consumer"] {
        harness
            .get_by_role_and_label(egui::accesskit::Role::Button, kind)
            .click();
        harness.run_steps(2);
    }
    let doc = &lab(&harness).doc;
    let edges: Vec<(&str, &str)> = doc
        .raw
        .edges
        .iter()
        .map(|e| (e.from.as_str(), e.to.as_str()))
        .collect();
    assert_eq!(edges, [("producer", "queue"), ("queue", "consumer")]);
    assert!(
        lab(&harness).problems.is_empty(),
        "{:?}",
        lab(&harness).problems
    );
    harness.get_by_label("consumer: acks after processing: at-least-once");
    harness.get_by_label("flat out").click();
    harness.get_by_label("Run").click();
    harness.run_steps(1);
    until(&mut harness, |lab| lab.snapshot.finished);
    harness.run_steps(2);
    let report = lab(&harness).snapshot.report.clone().expect("a report");
    assert!(report.totals.processed > 0);
    assert_eq!(report.totals.lost, 0);
    let badge = |id: &str| {
        let lab = lab(&harness);
        lab.snapshot
            .nodes
            .iter()
            .find(|n| n.id == id)
            .map(|n| n.badge.clone())
    };
    assert_eq!(
        badge("consumer"),
        Some(format!("done {}", report.totals.processed))
    );
}

/// View > Zoom scales the whole window (text, panels, canvas), for a big screen or a
/// projector, and Actual size puts it back.
#[test]
fn the_whole_window_zooms_from_the_view_menu() {
    let mut harness = harness();
    for (item, zoom) in [
        ("Zoom in (Ctrl +)", 1.1),
        ("Zoom in (Ctrl +)", 1.2),
        ("Actual size (Ctrl 0)", 1.0),
    ] {
        harness.get_by_label("View").click();
        harness.run_steps(2);
        harness.get_by_label(item).click();
        harness.run_steps(2);
        let got = harness.ctx.zoom_factor();
        assert!((got - zoom).abs() < 1e-3, "{item}: {got}");
    }
}
