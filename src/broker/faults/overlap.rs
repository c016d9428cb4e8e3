//! Faults that overlap on one target. Two crashes of one consumer, two cuts of one
//! link, a slow-down during a slow-down: the target stays affected until the last of
//! them ends, and faults with a strength combine while they overlap.

/// How many faults of one kind are on one target right now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Active(u32);

impl Active {
    /// One more begins. True when it is the first: the target changes state now.
    pub fn begin(&mut self) -> bool {
        self.0 += 1;
        self.0 == 1
    }

    /// One ends. True when it was the last: the target is back to normal now.
    pub fn end(&mut self) -> bool {
        if self.0 == 0 {
            return false;
        }
        self.0 -= 1;
        self.0 == 0
    }

    pub fn any(self) -> bool {
        self.0 > 0
    }
}

/// The faults on a consumer or a service right now.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodeFaults {
    pub crashes: Active,
    pub slows: Levels,
    pub fails: Levels,
}

/// The strengths of the faults of one kind on one target right now (factors,
/// probabilities, added delays).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Levels(Vec<f64>);

impl Levels {
    pub fn begin(&mut self, level: f64) {
        self.0.push(level);
    }

    /// The fault of this strength ends (one of them, if several are equal).
    pub fn end(&mut self, level: f64) {
        if let Some(i) = self.0.iter().position(|l| l.to_bits() == level.to_bits()) {
            self.0.swap_remove(i);
        }
    }

    /// Slow-downs multiply: 1 with none.
    pub fn product(&self) -> f64 {
        self.0.iter().product()
    }

    /// Independent chances (of failing, of losing a message): the chance that any
    /// one of them strikes. 0 with none.
    pub fn any_chance(&self) -> f64 {
        1.0 - self
            .0
            .iter()
            .map(|p| 1.0 - p.clamp(0.0, 1.0))
            .product::<f64>()
    }

    /// Added delays add up.
    pub fn sum(&self) -> f64 {
        self.0.iter().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_target_is_affected_until_the_last_overlapping_fault_ends() {
        let mut crashes = Active::default();
        assert!(crashes.begin());
        assert!(!crashes.begin());
        assert!(!crashes.end());
        assert!(crashes.any());
        assert!(crashes.end());
        assert!(!crashes.any());
        // An end without a beginning changes nothing.
        assert!(!crashes.end());
    }

    #[test]
    fn strengths_combine_while_they_overlap() {
        let mut slow = Levels::default();
        assert_eq!(slow.product(), 1.0);
        slow.begin(2.0);
        slow.begin(3.0);
        assert_eq!(slow.product(), 6.0);
        slow.end(2.0);
        assert_eq!(slow.product(), 3.0);
        let mut loss = Levels::default();
        assert_eq!(loss.any_chance(), 0.0);
        loss.begin(0.5);
        loss.begin(0.5);
        assert!((loss.any_chance() - 0.75).abs() < 1e-12);
        loss.end(0.5);
        assert!((loss.any_chance() - 0.5).abs() < 1e-12);
        loss.begin(1.0);
        assert_eq!(loss.any_chance(), 1.0);
    }
}
