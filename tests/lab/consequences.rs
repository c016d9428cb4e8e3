//! What a run costs each node, where the eye already is: a consumer's guarantee in words
//! under it, its lost and duplicated copies as pills, a queue's backlog as a fill. Read
//! here through the accessibility tree, as a screen reader (or the class) would.

use egui_kittest::kittest::{NodeT, Queryable};
use evlab::gui::document::Edit;
use evlab::report::status::Consequences;
use evlab::scenario::guarantees::Idempotency;
use evlab::scenario::raw::RawNode;

use super::support::*;

/// The labels under the canvas that start with `prefix` and end with `suffix`.
fn labels(harness: &LabHarness, prefix: &str, suffix: &str) -> Vec<String> {
    harness
        .get_all_by_label_contains(prefix)
        .filter_map(|n| {
            let node = n.accesskit_node();
            node.label().or_else(|| node.value())
        })
        .filter(|l| l.starts_with(prefix) && l.ends_with(suffix))
        .collect()
}

fn consequences_of(harness: &LabHarness, id: &str) -> Consequences {
    lab(harness)
        .snapshot
        .nodes
        .iter()
        .find(|n| n.id == id)
        .map(|n| n.consequences)
        .unwrap_or_else(|| panic!("no node {id}"))
}

/// The teacher's demo: two consumers one setting apart, three crashes each. Before
/// Run, each says what it promises; after, the at-most-once one shows what it lost and
/// the at-least-once one what it did twice, each on its own node.
#[test]
fn each_consumer_says_its_guarantee_and_shows_what_its_crashes_cost() {
    let mut harness = harness();
    harness.get_by_label("amo-worker: acks on delivery: at-most-once");
    harness.get_by_label("alo-worker: acks after processing: at-least-once");
    // Nothing has happened yet: no pills.
    assert!(labels(&harness, "amo-worker: ", " lost").is_empty());
    harness.get_by_label("flat out").click();
    harness.get_by_label("Run").click();
    harness.run_steps(1);
    until(&mut harness, |lab| lab.snapshot.finished);
    harness.run_steps(2);

    let amo = consequences_of(&harness, "amo-worker");
    let alo = consequences_of(&harness, "alo-worker");
    assert!(amo.lost > 0 && amo.duplicates == 0, "{amo:?}");
    assert!(alo.duplicates > 0 && alo.lost == 0, "{alo:?}");
    harness.get_by_label(&format!("amo-worker: {} lost", amo.lost));
    harness.get_by_label(&format!("alo-worker: {} duplicates", alo.duplicates));
    assert!(labels(&harness, "alo-worker: ", " lost").is_empty());
    assert!(labels(&harness, "amo-worker: ", " duplicates").is_empty());

    // The pills agree with the report the Report tab shows.
    let report = lab(&harness).snapshot.report.clone().expect("a report");
    assert_eq!(amo.lost + alo.lost, report.totals.lost);
    assert_eq!(amo.duplicates + alo.duplicates, report.totals.duplicates);

    // The fanout exchange copies every order to both queues: the throughput plot says so,
    // or a class would wonder why "processed" is twice "produced".
    harness.get_by_label_contains("each message becomes 2.0 copies");
    // The dots' colours are explained on the canvas.
    harness.get_by_label_contains("Dots: white normal, amber retried, purple duplicate");

    // The Failures tab splits per node: each point carries each node's own counts, the
    // last equal to what the pills say.
    harness.get_by_label("Failures").click();
    harness.run_steps(1);
    harness.get_by_label("per node").click();
    harness.run_steps(2);
    assert!(lab(&harness).plots.failures_per_node);
    let last = lab(&harness).plots.points.last().cloned().expect("points");
    let of = |id: &str| last.nodes.iter().find(|n| n.0 == id).map(|n| n.1);
    assert_eq!(of("amo-worker"), Some(amo));
    assert_eq!(of("alo-worker"), Some(alo));
    assert_eq!(of("orders"), None, "a producer has no consequences");

    // The Report tab splits the same figures per node.
    choose(&mut harness, &["Report"]);
    harness.get_by_label_contains("Per node: where copies were lost");
    harness.get_by_label(&amo.lost.to_string());

    // Each queue's backlog is a label too (and a fill inside its box).
    assert_eq!(labels(&harness, "amo: ", " unacked").len(), 1);
    assert_eq!(labels(&harness, "alo: ", " unacked").len(), 1);
}

/// A guarantee follows the design: turning on idempotency changes the words at once,
/// before any run.
#[test]
fn the_guarantee_words_follow_an_edit_of_the_consumer() {
    let mut harness = harness();
    harness.get_by_label("alo-worker: acks after processing: at-least-once");
    let doc = &lab(&harness).doc;
    let index = doc.node_index("alo-worker").expect("the consumer");
    let mut node = doc.raw.nodes[index].clone();
    let RawNode::Consumer(c) = &mut node else {
        panic!("alo-worker is a consumer")
    };
    c.idempotency = Idempotency::Exact;
    let lab = harness.state_mut().as_mut().expect("the lab");
    lab.apply(Edit::SetNode { index, node });
    harness.run_steps(2);
    harness.get_by_label("alo-worker: acks after processing, dedupes by id: effectively once");
}
