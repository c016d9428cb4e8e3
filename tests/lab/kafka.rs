//! The Kafka learner's walkthrough: a topic drawn as its partitions, with each group's
//! committed offset in the colour of the member that owns the partition, each member's
//! partitions under it, and the group's state through a crash, the session timeout and
//! the rebalance, marked on the plots.

use egui_kittest::kittest::{NodeT, Queryable};
use evlab::gui::commands::LabCommand;

use super::support::*;

/// Every label in the tree that contains `part` (a label or a value).
fn texts(harness: &LabHarness, part: &str) -> Vec<String> {
    harness
        .get_all_by_label_contains(part)
        .filter_map(|n| {
            let node = n.accesskit_node();
            node.label().or_else(|| node.value())
        })
        .collect()
}

/// Opens `name` and waits for its first snapshot with the topic's lanes.
fn open_topic_example(harness: &mut LabHarness, name: &str) {
    open_example(harness, name);
    until(harness, |lab| {
        lab.doc.raw.name == name && lab.snapshot.nodes.iter().any(|n| n.lanes.is_some())
    });
    harness.run_steps(2);
}

#[test]
fn a_topic_shows_its_partitions_owners_and_the_groups_rebalance() {
    let mut harness = harness();
    open_topic_example(&mut harness, "rebalance");
    // Six lanes, each owned by one of the three members; each member says what it owns.
    for p in 0..6 {
        let lane = texts(&harness, &format!("events-log p{p}: log-end"));
        assert_eq!(lane.len(), 1, "p{p}: {lane:?}");
        assert!(
            lane[0].contains("workers committed 0, owned by worker-"),
            "{lane:?}"
        );
    }
    harness.get_by_label("worker-a: owns p0, p1 of workers");
    harness.get_by_label("worker-b: owns p2, p3 of workers");
    harness.get_by_label("events-log workers: stable, 3 members");
    // A member's inspector has the group's settings, and nothing only queues use.
    click_node(
        &mut harness,
        "worker-a",
        eframe::egui::PointerButton::Primary,
    );
    for shown in [
        "group",
        "commit",
        "auto offset reset",
        "session timeout",
        "rebalance time",
    ] {
        harness.get_by_label(shown);
    }
    for hidden in ["prefetch", "ack delay"] {
        assert!(
            harness.query_by_label(hidden).is_none(),
            "{hidden} shown for a member"
        );
    }
    harness.key_press(eframe::egui::Key::Escape);
    harness.run_steps(1);

    // Play at 10x until worker-b (crashed at 30 s) is missing: its session has not timed out.
    let lab_mut = harness.state_mut().as_mut().expect("the lab");
    lab_mut.execute(LabCommand::SetSpeed(10.0));
    harness.get_by_label("Run").click();
    harness.run_steps(1);
    until(&mut harness, |lab| lab.snapshot.now_nanos > 31_000_000_000);
    harness.run_steps(1);
    let missing = texts(
        &harness,
        "events-log workers: worker-b missing: rebalance in",
    );
    assert_eq!(missing.len(), 1, "{missing:?}");

    // Flat out to the end: the survivors own every partition, and the group is stable again.
    harness.get_by_label("flat out").click();
    until(&mut harness, |lab| lab.snapshot.finished);
    harness.run_steps(2);
    harness.get_by_label("events-log workers: stable, 2 of 3 members up");
    harness.get_by_label("worker-b: owns no partition of workers");
    harness.get_by_label("worker-a: owns p0, p1, p2 of workers");
    for p in 0..6 {
        let lane = texts(&harness, &format!("events-log p{p}: log-end"));
        assert!(!lane[0].contains("worker-b"), "{lane:?}");
    }
    // The plots know when the group rebalanced.
    let points = &lab(&harness).plots.points;
    let first = points.first().map_or(0, |p| p.rebalances);
    let last = points.last().map_or(0, |p| p.rebalances);
    assert_eq!((first, last), (0, 1));

    // The lag plot picks a group, then one of its partitions.
    choose(&mut harness, &["Consumer lag"]);
    harness.get_by_value("every group").click();
    harness.run_steps(2);
    choose(&mut harness, &["events-log/workers"]);
    harness.get_by_value("every partition").click();
    harness.run_steps(2);
    choose(&mut harness, &["p2"]);
    let pick = lab(&harness).plots.lag_pick.clone();
    assert_eq!(pick, (Some("events-log/workers".to_string()), Some(2)));

    // The Report tab lists the group's members, rebalances and partitions.
    harness.get_by_label("Report").click();
    harness.run_steps(3);
    harness.get_by_label("events-log / workers: members worker-a, worker-b, worker-c; 1 rebalance");
    harness.get_by_label("committed");
}

#[test]
fn the_lag_legend_sits_beside_the_plot_in_partition_order_and_hides_a_line() {
    let mut harness = harness();
    open_topic_example(&mut harness, "kafka-topic");
    harness.get_by_label("flat out").click();
    harness.get_by_label("Run").click();
    until(&mut harness, |lab| lab.snapshot.finished);
    choose(&mut harness, &["Consumer lag"]);
    harness.run_steps(2);
    let entry = |harness: &LabHarness, name: &str| {
        harness
            .get_all_by_label(name)
            .next()
            .unwrap_or_else(|| panic!("no legend entry {name}"))
            .rect()
    };
    let group = lab(&harness)
        .plots
        .points
        .last()
        .and_then(|p| p.lags.first().map(|l| l.0.clone()))
        .expect("a group's lag");
    let p2 = entry(&harness, &format!("{group} p2"));
    let p10 = entry(&harness, &format!("{group} p10"));
    assert!(p2.top() < p10.top(), "p2 {p2:?} listed after p10 {p10:?}");
    // Outside the plot: the legend column is right of where the plot ends.
    let width = harness.ctx.content_rect().width();
    assert!(p2.left() > width - 200.0, "legend at {p2:?} in {width}");
    harness
        .get_all_by_label(&format!("{group} p2"))
        .next()
        .unwrap()
        .click();
    harness.run_steps(2);
    assert!(lab(&harness).plots.hidden.contains(&format!("{group} p2")));
}

#[test]
fn a_group_without_partition_leaders_says_it_is_paused_and_its_lanes_say_why() {
    let mut harness = harness();
    open_topic_example(&mut harness, "leader-failover");
    // Both topics lose every leader at 20 s; a new one is elected after 1 s.
    let lab_mut = harness.state_mut().as_mut().expect("the lab");
    lab_mut.execute(LabCommand::SetSpeed(10.0));
    harness.get_by_label("Run").click();
    harness.run_steps(1);
    until(&mut harness, |lab| lab.snapshot.now_nanos > 19_000_000_000);
    let lab_mut = harness.state_mut().as_mut().expect("the lab");
    lab_mut.execute(LabCommand::SetSpeed(0.5));
    until(&mut harness, |lab| lab.snapshot.now_nanos > 20_100_000_000);
    harness.run_steps(1);
    let paused = texts(&harness, ": paused: no partition leader, failover in");
    assert_eq!(paused.len(), 2, "{paused:?}");
    assert!(
        paused.iter().any(|t| t.starts_with("orders-1 ")),
        "{paused:?}"
    );
    let leaderless = texts(&harness, ", no leader");
    assert!(leaderless.len() >= 12, "{leaderless:?}");
    until(&mut harness, |lab| lab.snapshot.now_nanos > 21_500_000_000);
    harness.run_steps(1);
    let lanes = texts(&harness, ": log-end");
    assert_eq!(lanes.len(), 12, "{lanes:?}");
    assert!(lanes.iter().all(|l| !l.contains("no leader")), "{lanes:?}");
}
