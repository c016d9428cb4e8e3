//! Running a design: stepping, playing, live edits, restarts, faults injected from the
//! menus, replications and a second design beside the first.

use eframe::egui;
use egui_kittest::kittest::{NodeT, Queryable};
use evlab::gui::plots::Tab;
use evlab::scenario::raw::RawService;
use evlab::scenario::units::Duration as Span;

use super::support::*;

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
