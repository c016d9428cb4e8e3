//! The one way the broker model tells a current event from a stale one.
//!
//! Events are small `Copy` values in the engine's pending set and cannot be
//! taken back out of it. So whatever may make a scheduled event meaningless
//! (a consumer crashing or coming back, a request moving on to its next step,
//! a circuit breaker changing state) bumps the [`Generation`] of what the event
//! is about, and the event carries the generation it was scheduled with: its
//! handler ignores it unless the generation is still current.
//!
//! Where at most one event of a kind may be pending (a queue's next expiry
//! check, its next visibility deadline, the flush of the faults due at an
//! instant), a [`Pending`] says whether one is: `arm` tells the caller to
//! schedule one (and with which generation), `fire` tells the handler whether
//! the event is the pending one, and `cancel` makes the pending one stale.

/// How many times something moved on. Compared only for equality, so it wraps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Generation(u32);

impl Generation {
    /// Moves on: every event scheduled with an earlier generation is stale from now on.
    #[inline]
    pub fn bump(&mut self) {
        self.0 = self.0.wrapping_add(1);
    }

    /// Whether an event scheduled with `scheduled` is still current.
    #[inline]
    pub fn is_current(self, scheduled: Generation) -> bool {
        self == scheduled
    }
}

/// At most one pending event, and which one it is.
#[derive(Debug, Clone, Copy, Default)]
pub struct Pending {
    generation: Generation,
    armed: bool,
}

impl Pending {
    /// Arms it unless an event is pending already: the generation to schedule the new
    /// event with, or `None` when there is nothing to schedule.
    #[inline]
    pub fn arm(&mut self) -> Option<Generation> {
        if self.armed {
            return None;
        }
        self.armed = true;
        self.generation.bump();
        Some(self.generation)
    }

    /// Whether the event scheduled with `scheduled` is the pending one (a handler that must
    /// keep it pending while it works asks this first, and fires it when done).
    #[inline]
    pub fn is_pending(self, scheduled: Generation) -> bool {
        self.armed && self.generation.is_current(scheduled)
    }

    /// The event scheduled with `scheduled` fires: whether it is the pending one (then
    /// nothing is pending any more, and the handler may arm it again).
    #[inline]
    #[must_use]
    pub fn fire(&mut self, scheduled: Generation) -> bool {
        let current = self.is_pending(scheduled);
        if current {
            self.armed = false;
        }
        current
    }

    /// The pending event, if any, is stale: it will not fire.
    #[inline]
    pub fn cancel(&mut self) {
        self.armed = false;
    }

    /// Whether an event is pending.
    #[inline]
    pub fn is_armed(self) -> bool {
        self.armed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a test does to a `Generation`: schedule an event (remembered by its label)
    /// with the current generation, bump it, or check a remembered event.
    #[derive(Clone, Copy)]
    enum GenerationStep {
        Schedule(&'static str),
        Bump,
        Current(&'static str, bool),
    }

    #[test]
    fn an_event_is_current_until_its_generation_is_bumped() {
        use GenerationStep::*;
        let cases: &[(&str, &[GenerationStep])] = &[
            (
                "nothing happened",
                &[Schedule("done"), Current("done", true)],
            ),
            (
                "a crash in between",
                &[Schedule("done"), Bump, Current("done", false)],
            ),
            (
                "scheduled after the crash",
                &[
                    Schedule("old"),
                    Bump,
                    Schedule("new"),
                    Current("old", false),
                    Current("new", true),
                ],
            ),
            (
                "down and up again: two bumps",
                &[Schedule("done"), Bump, Bump, Current("done", false)],
            ),
            (
                "two events of one generation",
                &[
                    Schedule("a"),
                    Schedule("b"),
                    Current("a", true),
                    Current("b", true),
                ],
            ),
        ];
        for (name, steps) in cases {
            let mut generation = Generation::default();
            let mut scheduled = Vec::new();
            for step in *steps {
                match *step {
                    Schedule(label) => scheduled.push((label, generation)),
                    Bump => generation.bump(),
                    Current(label, expected) => {
                        let (_, event) = scheduled.iter().find(|(l, _)| *l == label).unwrap();
                        assert_eq!(generation.is_current(*event), expected, "{name}: {label}");
                    }
                }
            }
        }
    }

    #[test]
    fn a_generation_wraps() {
        let mut generation = Generation(u32::MAX);
        let before = generation;
        generation.bump();
        assert_eq!(generation, Generation(0));
        assert!(!generation.is_current(before));
    }

    /// What a test does to a `Pending`, with what it must answer: `Arm(label, scheduled)`
    /// schedules an event remembered by `label` when `arm` says so; `Fire(label, current)`.
    #[derive(Clone, Copy)]
    enum PendingStep {
        Arm(&'static str, bool),
        Fire(&'static str, bool),
        Cancel,
        Armed(bool),
    }

    #[test]
    fn at_most_one_event_is_pending() {
        use PendingStep::*;
        let cases: &[(&str, &[PendingStep])] = &[
            ("nothing armed", &[Armed(false)]),
            (
                "arm then fire",
                &[Arm("a", true), Armed(true), Fire("a", true), Armed(false)],
            ),
            (
                "armed twice: one event",
                &[
                    Arm("a", true),
                    Arm("b", false),
                    Fire("a", true),
                    Armed(false),
                ],
            ),
            (
                "the handler arms it again",
                &[
                    Arm("a", true),
                    Fire("a", true),
                    Arm("b", true),
                    Armed(true),
                    Fire("b", true),
                ],
            ),
            (
                "an event fires once",
                &[Arm("a", true), Fire("a", true), Fire("a", false)],
            ),
            (
                "cancelled: the event is stale",
                &[Arm("a", true), Cancel, Armed(false), Fire("a", false)],
            ),
            (
                "cancelled and armed again: only the new one fires",
                &[
                    Arm("a", true),
                    Cancel,
                    Arm("b", true),
                    Fire("a", false),
                    Armed(true),
                    Fire("b", true),
                ],
            ),
            (
                "an old event after a later one fired",
                &[
                    Arm("a", true),
                    Fire("a", true),
                    Arm("b", true),
                    Fire("a", false),
                    Fire("b", true),
                ],
            ),
        ];
        for (name, steps) in cases {
            let mut pending = Pending::default();
            let mut scheduled = Vec::new();
            for step in *steps {
                match *step {
                    Arm(label, expected) => {
                        let armed = pending.arm();
                        assert_eq!(armed.is_some(), expected, "{name}: arm {label}");
                        if let Some(generation) = armed {
                            scheduled.push((label, generation));
                        }
                    }
                    Fire(label, expected) => {
                        let (_, event) = scheduled.iter().find(|(l, _)| *l == label).unwrap();
                        assert_eq!(pending.fire(*event), expected, "{name}: fire {label}");
                    }
                    Cancel => pending.cancel(),
                    Armed(expected) => assert_eq!(pending.is_armed(), expected, "{name}"),
                }
            }
        }
    }
}
