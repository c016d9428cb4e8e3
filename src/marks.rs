//! Coverage marks: a regression test proves it still reaches the branch it pins.
//!
//! The code says `mark!(Name)` (or `mark!(Name if condition)`) at a branch a bug
//! once went wrong in; the bug's regression test says
//! `let _hit = marks::check(Mark::Name);` and fails if the branch was not taken
//! while the guard lived. This is `cov_mark`'s idea, but `cov_mark` counts only
//! under the library's own `cfg(test)`, which the integration tests in `tests/`
//! never see; here the counting is the `marks` feature, which the tests turn on
//! through the package's dev-dependency on itself. Without it (every normal and
//! release build) `mark!` expands to an empty block: no code, no branch, no data.
//!
//! Hits count per thread, so tests running side by side do not see each other's;
//! a test that runs its scenario on a thread of its own brings that thread's
//! hits home with [`counts`] and [`add`].

/// Every branch a regression test pins, with the test that pins it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// A deduplicated copy waiting for its delayed ack is not forwarded and stays in hand
    /// (`deduplicated_copy_awaiting_its_ack_stays_in_the_ledger`).
    AckDelayDeduplicated,
    /// A ghost waiting for its delayed ack is not forwarded
    /// (`expired_pull_message_is_not_forwarded_by_a_consumer_with_ack_delay`).
    AckDelayGhost,
    /// A dead letter waiting for its delayed ack is not forwarded
    /// (`dead_letter_is_not_forwarded_by_a_consumer_with_ack_delay`).
    AckDelayDeadLetter,
    /// A crashed pull consumer's ghost leaves the queue's unacknowledged count
    /// (`crashed_pull_consumer_leaves_no_unacked_message_behind`).
    CrashedPullGhost,
    /// A dead letter a crashed pull consumer held waits out its timeout out of the ledger
    /// (`dead_letter_received_by_a_crashed_pull_consumer_is_not_in_flight`).
    DeadOrphan,
    /// A visibility deadline of an earlier receive of the same message is stale
    /// (`message_back_in_a_pull_queue_keeps_its_own_visibility_deadline`).
    StaleVisibilityDeadline,
    /// A record processed again after a rebalance is one duplicate copy
    /// (`record_processed_again_after_a_rebalance_is_one_duplicate_copy`).
    ReprocessedDuplicate,
    /// A record an at-most-once member fetched again is a duplicate
    /// (`record_replayed_by_an_at_most_once_member_is_a_duplicate`).
    ReplayedAtMostOnce,
    /// A copy that fails after its journey ended is dropped, not lost again
    /// (`record_rejected_before_a_rebalance_is_lost_once`).
    FailedAfterItsJourneyEnded,
    /// A rebalance leaves an at-most-once member's records in its hands in the ledger
    /// (`rebalance_keeps_the_records_of_at_most_once_members_in_the_ledger`).
    AtMostOnceThroughRebalance,
    /// A group rewound below the log start resets at once
    /// (`group_rewound_below_the_log_start_reads_from_it`).
    RewoundBelowLogStart,
    /// A copy that finds the arena full on a link is lost, and counted
    /// (`copy_that_finds_the_arena_full_on_a_link_is_lost`).
    ArenaFullOnLink,
    /// A queue whose broker is down keeps what comes back, with consumers waiting
    /// (`queue_whose_broker_is_down_delivers_no_retry`).
    BrokerDownHolds,
    /// A fault injected into an instant that has not run yet waits for its events
    /// (`fault_injected_before_the_first_instant_runs_replays_identically`).
    InjectedIntoUnrunInstant,
    /// Faults due at one instant apply together, in the order they were due
    /// (`faults_at_one_instant_replay_in_their_order`).
    FaultsAtOneInstant,
    /// A reset to the latest offset stops at the high watermark, short of the log end
    /// (`latest_offset_reset_stops_at_the_high_watermark`).
    LatestResetAtHighWatermark,
}

/// How many marks there are.
pub const COUNT: usize = Mark::LatestResetAtHighWatermark as usize + 1;

/// Counts a hit of `$name` on this thread, when the `marks` feature is on.
#[macro_export]
macro_rules! mark {
    ($name:ident) => {{
        #[cfg(feature = "marks")]
        $crate::marks::hit($crate::marks::Mark::$name);
    }};
    ($name:ident if $condition:expr) => {{
        #[cfg(feature = "marks")]
        if $condition {
            $crate::marks::hit($crate::marks::Mark::$name);
        }
    }};
}

#[cfg(feature = "marks")]
pub use counting::*;

#[cfg(feature = "marks")]
mod counting {
    use super::{COUNT, Mark};
    use std::cell::Cell;

    /// A thread's hits, mark by mark.
    pub type Counts = [u64; COUNT];

    thread_local! {
        static HITS: Cell<Counts> = const { Cell::new([0; COUNT]) };
    }

    /// Counts one hit of `mark` on this thread (what `mark!` calls).
    pub fn hit(mark: Mark) {
        HITS.with(|hits| {
            let mut counts = hits.get();
            counts[mark as usize] += 1;
            hits.set(counts);
        });
    }

    /// The hits of every mark on this thread so far.
    pub fn counts() -> Counts {
        HITS.with(Cell::get)
    }

    /// Adds the hits another thread counted (one that ran a scenario for this one).
    pub fn add(other: &Counts) {
        HITS.with(|hits| {
            let mut counts = hits.get();
            for (count, more) in counts.iter_mut().zip(other) {
                *count += more;
            }
            hits.set(counts);
        });
    }

    /// Fails, when dropped, unless `mark` was hit on this thread since it was made.
    #[must_use = "the check is made when the guard is dropped"]
    pub struct Check {
        mark: Mark,
        before: u64,
    }

    /// A guard that fails the test unless `mark` is hit before it is dropped.
    pub fn check(mark: Mark) -> Check {
        Check {
            mark,
            before: counts()[mark as usize],
        }
    }

    impl Drop for Check {
        fn drop(&mut self) {
            if !std::thread::panicking() && counts()[self.mark as usize] == self.before {
                panic!(
                    "the test no longer reaches its branch: {:?} was not hit",
                    self.mark
                );
            }
        }
    }
}

#[cfg(all(test, feature = "marks"))]
mod tests {
    use super::*;

    #[test]
    fn a_check_passes_when_its_mark_is_hit_and_fails_when_not() {
        {
            let _hit = check(Mark::FaultsAtOneInstant);
            crate::mark!(FaultsAtOneInstant);
        }
        {
            let _hit = check(Mark::FaultsAtOneInstant);
            crate::mark!(FaultsAtOneInstant if false);
            let other = std::thread::spawn(|| {
                crate::mark!(FaultsAtOneInstant);
                counts()
            });
            add(&other.join().unwrap());
        }
        let missed = std::panic::catch_unwind(|| {
            let _hit = check(Mark::ArenaFullOnLink);
            crate::mark!(ArenaFullOnLink if 1 + 1 == 3);
        });
        assert!(missed.is_err(), "a mark not hit fails its check");
    }
}
