//! A short, fixed slice of the fuzz run (see `tests/fuzzing/` and `examples/fuzz.rs`):
//! a few thousand hostile variants of the examples, each of which must end in a
//! verdict (refused, stopped or finished) without a panic, within its event budget and
//! in bounded memory. The same seed gives the same inputs on every machine.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod alloc;
mod fuzzing;

#[global_allocator]
static ALLOCATOR: alloc::Counting = alloc::Counting;

/// Inputs in the slice, and the seed they come from.
const INPUTS: u64 = 5_000;
const SEED: u64 = 20261201;
/// Engine events an input may run (the 1M-input run uses the same).
const MAX_EVENTS: u64 = 2_000_000;
/// Most bytes live at once for any input.
const MAX_BYTES: usize = 2 << 30;

#[test]
fn a_slice_of_the_fuzz_run_ends_every_input_in_a_verdict() {
    let corpus = fuzzing::corpus();
    let mut kinds = std::collections::BTreeMap::new();
    let mut failures = Vec::new();
    for index in 0..INPUTS {
        let input = fuzzing::input(&corpus, SEED, index);
        let (verdict, peak) =
            alloc::peak_during(|| std::panic::catch_unwind(|| fuzzing::check(&input, MAX_EVENTS)));
        match verdict {
            Ok(verdict) => {
                *kinds.entry(format!("{:?}", verdict.kind)).or_insert(0) += 1;
                // A run may finish the event it was at when it reached the limit.
                if verdict.events > MAX_EVENTS + 1 {
                    failures.push(format!("input {index}: {} events", verdict.events));
                }
            }
            Err(_) => failures.push(format!("input {index}: panicked")),
        }
        if peak > MAX_BYTES {
            failures.push(format!("input {index}: {} MiB", peak >> 20));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    // The mutations reach every outcome, so the slice tests each path.
    for kind in ["Invalid", "Refused", "Stopped", "Finished"] {
        assert!(kinds.get(kind).is_some_and(|&n| n > 10), "{kinds:?}");
    }
}
