//! Helpers the scenario tests share: a scenario's text from its parts, parsing it into a
//! run, and reading reports. Each test file is its own crate and uses some of them.

#![allow(dead_code)]

use evlab::broker::view::GroupView;
use evlab::report::{NodeDetail, Report};
use evlab::run::Run;

/// A scenario in RON from its parts (`nodes`, `edges` and `faults` are list bodies).
pub fn scenario(
    name: &str,
    seed: u64,
    duration: &str,
    nodes: &str,
    edges: &str,
    faults: &str,
) -> String {
    format!(
        "(version: 1, name: \"{name}\", seed: {seed}, duration: \"{duration}\", \
         nodes: [{nodes}], edges: [{edges}], faults: [{faults}])"
    )
}

/// Parses and wires a scenario, failing the test with the checker's message and the text.
pub fn start(text: &str, name: &str) -> Run {
    let (_, scenario) =
        evlab::scenario::parse(text, name).unwrap_or_else(|e| panic!("{e}\n{text}"));
    Run::new(&scenario).unwrap_or_else(|e| panic!("{e}"))
}

/// Runs `text` to the end, checks the ledger and the report's balance, and reports
/// (without the time series).
pub fn run_checked(text: &str, name: &str) -> Report {
    let mut run = start(text, name);
    run.run_to_end(|_| {}).unwrap_or_else(|e| panic!("{e}"));
    run.check_ledger().unwrap_or_else(|e| panic!("{e}"));
    let report = run.report(None, false);
    assert_balanced(&report);
    report
}

/// What the report says of node `id`.
pub fn node<'a>(report: &'a Report, id: &str) -> &'a NodeDetail {
    &report
        .nodes
        .iter()
        .find(|n| n.id == id)
        .unwrap_or_else(|| panic!("no node {id}"))
        .detail
}

/// The report's totals keep the conservation law:
/// `produced + fanned_out + duplicate_copies = processed + dead_lettered + lost + in flight`,
/// and the losses add up by reason.
pub fn assert_balanced(report: &Report) {
    let t = &report.totals;
    assert_eq!(
        t.produced + t.fanned_out + t.duplicate_copies,
        t.processed + t.dead_lettered + t.lost + t.in_flight_at_end,
        "totals do not balance: produced {} + fanned out {} + duplicate copies {} vs processed {} + \
         dead-lettered {} + lost {} + in flight {}",
        t.produced,
        t.fanned_out,
        t.duplicate_copies,
        t.processed,
        t.dead_lettered,
        t.lost,
        t.in_flight_at_end
    );
    assert_eq!(t.lost, t.lost_by_reason.total());
    assert_eq!(
        t.lost,
        lost_at_nodes(report) + t.lost_in_transit,
        "the losses of queues and groups and those between nodes do not add up to lost"
    );
}

/// Copies the report's queues and consumer groups say they lost, summed.
pub fn lost_at_nodes(report: &Report) -> u64 {
    report
        .nodes
        .iter()
        .map(|n| match &n.detail {
            NodeDetail::Queue { lost, .. } => *lost,
            NodeDetail::Topic { groups, .. } => groups.iter().map(|g| g.lost).sum(),
            _ => 0,
        })
        .sum()
}

/// The first consumer group of the run's first topic.
pub fn first_group(run: &Run) -> GroupView<'_> {
    run.world()
        .topics()
        .next()
        .and_then(|topic| topic.groups().next())
        .unwrap_or_else(|| panic!("the scenario has no topic with a consumer group"))
}
