//! Running generated scenarios: checking, slicing, and the checks made after every slice.

#![allow(unused_imports)]

use super::*;

// ---------------------------------------------------------------------------------------------
// Running

pub(crate) fn checked(raw: &RawScenario) -> Result<Scenario, TestCaseError> {
    if let Some(path) = std::env::var_os("EVLAB_DUMP") {
        let _ = std::fs::write(path, evlab::scenario::to_ron(raw).unwrap_or_default());
    }
    check(raw).map_err(|problems| {
        TestCaseError::fail(format!("generated scenario rejected: {problems:#?}"))
    })
}

/// Bookkeeping the ledger does not cover: `World::check_holdings`, and the nodes'
/// consequences (the lab's pills) adding up to the run's.
pub(crate) fn check_consumers(run: &Run) -> Result<(), String> {
    run.world().check_holdings()?;
    evlab::report::status::check_consequences(run.world())
}

/// The report of `scenario` (tracing every `trace` messages), without its time series and
/// event count, or `None` when the run stops or takes more than [`EVENT_BUDGET`] events.
pub(crate) fn observed_report(
    scenario: &Scenario,
    trace: Option<u64>,
) -> Result<Option<serde_json::Value>, TestCaseError> {
    let mut run = Run::new(scenario).map_err(|e| TestCaseError::fail(format!("Run::new: {e}")))?;
    run.set_tracing(trace);
    let duration = run.duration_nanos();
    for i in 1..=10 {
        if run.advance_to(duration * i / 10).is_err() || run.events() > EVENT_BUDGET {
            return Ok(None);
        }
    }
    let json: serde_json::Value = serde_json::from_str(&run.report(None, false).to_json())
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    Ok(Some(json))
}

/// Engine events a run may execute before the properties stop it at the end of a slice: a few
/// generated scenarios amplify without bound (consumers publishing back into their own input
/// through fanouts, dead letters expiring around a cycle) and would otherwise take seconds.
pub(crate) const EVENT_BUDGET: u64 = 2_000_000;

/// How a run ended.
pub(crate) struct Outcome {
    pub(crate) json: String,
    pub(crate) stopped: bool,
    /// Where it was cut off for going over [`EVENT_BUDGET`].
    pub(crate) cut_at: Option<u64>,
}

/// Runs `scenario` in `slices` equal steps, checking the ledger and the consumers' bookkeeping
/// after every step and the report's totals at the end.
pub(crate) fn run_in_slices(scenario: &Scenario, slices: u64) -> Result<Outcome, TestCaseError> {
    let mut run = Run::new(scenario).map_err(|e| TestCaseError::fail(format!("Run::new: {e}")))?;
    let duration = run.duration_nanos();
    let mut stopped = false;
    let mut cut_at = None;
    for i in 1..=slices {
        let until = duration * i / slices;
        match run.advance_to(until) {
            Ok(_) => {}
            Err(RunError::Stopped { cause, .. }) => {
                prop_assert!(
                    cause.is_in_flight_cap(),
                    "stopped for another reason: {cause}"
                );
                stopped = true;
            }
            Err(e) => return Err(TestCaseError::fail(format!("advance_to({until}): {e}"))),
        }
        if let Err(e) = run.check_ledger() {
            return Err(TestCaseError::fail(format!(
                "after slice {i} (t = {} ns): {e}",
                run.now()
            )));
        }
        if let Err(e) = check_consumers(&run) {
            return Err(TestCaseError::fail(format!(
                "after slice {i} (t = {} ns): {e}",
                run.now()
            )));
        }
        if stopped {
            break;
        }
        if run.events() > EVENT_BUDGET && !run.is_finished() {
            cut_at = Some(run.now());
            break;
        }
    }
    prop_assert!(
        stopped || cut_at.is_some() || run.is_finished(),
        "run not finished at {} of {duration}",
        run.now()
    );
    let report = run.report(None, true);
    check_totals(&report)?;
    Ok(Outcome {
        json: report.to_json(),
        stopped,
        cut_at,
    })
}

/// The report's totals balance: every copy created ended once or is still in flight.
pub(crate) fn check_totals(report: &Report) -> Result<(), TestCaseError> {
    let t = &report.totals;
    prop_assert_eq!(t.lost, t.lost_by_reason.total());
    prop_assert_eq!(t.dropped_total, t.dropped.total());
    prop_assert_eq!(t.dropped_total, t.lost);
    prop_assert_eq!(
        t.lost,
        common::lost_at_nodes(report) + t.lost_in_transit,
        "queues' and groups' losses and those between nodes do not add up: {:?}",
        t.lost_by_reason
    );
    prop_assert_eq!(
        t.produced + t.fanned_out + t.duplicate_copies,
        t.processed + t.dead_lettered + t.lost + t.in_flight_at_end,
        "totals do not balance: {:?} {:?}",
        (
            t.produced,
            t.fanned_out,
            t.duplicate_copies,
            t.processed,
            t.dead_lettered,
            t.in_flight_at_end
        ),
        t.lost_by_reason
    );
    Ok(())
}
