//! The instruments: latency histograms and time averages, which the broker records
//! into and the report reads. A leaf: nothing here knows brokers, scenarios or reports.
//!
//! Everything here has a fixed size chosen at start-up (HDR histograms with
//! fixed bounds, counters), so recording never allocates. Windowed statistics
//! restart at the end of the warm-up; the ledger's counters (in the broker
//! model) never do.

pub mod node;

use hdrhistogram::Histogram;

pub use node::NodeHistogram;

use crate::engine::SimTime;

/// Latencies above this are clamped (and counted as the maximum): about 2.8 hours.
const HISTOGRAM_MAX_NANOS: u64 = 10_000_000_000_000;

/// A latency distribution in nanoseconds: HDR histogram (3 significant
/// digits, 1 µs resolution) for quantiles, exact sum and maximum. Counts are 32-bit: a
/// value range would need more than 4 billion samples to saturate.
#[derive(Clone)]
pub struct LatencyHistogram {
    hdr: Histogram<u32>,
    count: u64,
    sum_nanos: u128,
    max_nanos: u64,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self::with_precision(3)
    }
}

/// Summary of a latency distribution, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct LatencySummary {
    pub count: u64,
    pub mean: f64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

impl LatencySummary {
    /// The summary of `count` values with that mean and maximum, whose quantiles
    /// `quantile_nanos` gives (both histograms' summaries).
    pub fn of(
        count: u64,
        mean_nanos: f64,
        max_nanos: u64,
        quantile_nanos: impl Fn(f64) -> u64,
    ) -> LatencySummary {
        let ms = |nanos: u64| nanos as f64 / 1e6;
        LatencySummary {
            count,
            mean: mean_nanos / 1e6,
            p50: ms(quantile_nanos(0.50)),
            p95: ms(quantile_nanos(0.95)),
            p99: ms(quantile_nanos(0.99)),
            max: ms(max_nanos),
        }
    }
}

impl LatencyHistogram {
    /// `digits` significant decimal digits (2 or 3).
    pub fn with_precision(digits: u8) -> Self {
        // Constant bounds and 2..=3 digits are always valid: creation cannot fail.
        #[allow(clippy::expect_used)]
        let hdr = Histogram::new_with_bounds(1_000, HISTOGRAM_MAX_NANOS, digits.clamp(1, 5))
            .expect("constant histogram bounds are valid");
        Self {
            hdr,
            count: 0,
            sum_nanos: 0,
            max_nanos: 0,
        }
    }

    #[inline]
    pub fn record(&mut self, nanos: u64) {
        self.hdr.saturating_record(nanos);
        self.count += 1;
        self.sum_nanos += u128::from(nanos);
        self.max_nanos = self.max_nanos.max(nanos);
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// Memory its counts take (fixed: set by its bounds and precision).
    pub fn bytes(&self) -> u64 {
        (self.hdr.distinct_values() * std::mem::size_of::<u32>()) as u64
    }

    pub fn mean_nanos(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum_nanos as f64 / self.count as f64
        }
    }

    pub fn quantile_nanos(&self, q: f64) -> u64 {
        if self.count == 0 {
            0
        } else {
            self.hdr.value_at_quantile(q).min(self.max_nanos)
        }
    }

    pub fn max_nanos(&self) -> u64 {
        self.max_nanos
    }

    pub fn reset(&mut self) {
        self.hdr.reset();
        self.count = 0;
        self.sum_nanos = 0;
        self.max_nanos = 0;
    }

    pub fn summary_ms(&self) -> LatencySummary {
        LatencySummary::of(self.count, self.mean_nanos(), self.max_nanos, |q| {
            self.quantile_nanos(q)
        })
    }
}

/// The time average of a piecewise-constant quantity (queue depth, busy
/// servers): the area under it divided by the time it was observed.
#[derive(Debug, Clone, Copy, Default)]
pub struct TimeAverage {
    value: u64,
    since: SimTime,
    start: SimTime,
    area: u128,
    max: u64,
}

impl TimeAverage {
    /// The quantity changes to `value` at `now`.
    #[inline]
    pub fn set(&mut self, now: SimTime, value: u64) {
        self.area += u128::from(self.value) * u128::from(now.saturating_sub(self.since));
        self.since = now;
        self.value = value;
        self.max = self.max.max(value);
    }

    pub fn value(&self) -> u64 {
        self.value
    }

    /// Mean from the last reset until `now`.
    pub fn mean(&self, now: SimTime) -> f64 {
        let area = self.area + u128::from(self.value) * u128::from(now.saturating_sub(self.since));
        let span = now.saturating_sub(self.start);
        if span == 0 {
            self.value as f64
        } else {
            area as f64 / span as f64
        }
    }

    /// Largest value since the last reset.
    pub fn max(&self) -> u64 {
        self.max
    }

    /// Forgets the past: averaging restarts at `now` from the current value.
    pub fn reset(&mut self, now: SimTime) {
        self.area = 0;
        self.since = now;
        self.start = now;
        self.max = self.value;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_average_weights_by_duration() {
        let mut avg = TimeAverage::default();
        avg.set(0, 2);
        avg.set(10, 4);
        // 2 for 10 ns, then 4 for 30 ns.
        assert!((avg.mean(40) - (2.0 * 10.0 + 4.0 * 30.0) / 40.0).abs() < 1e-12);
        assert_eq!(avg.max(), 4);
        avg.reset(40);
        avg.set(50, 0);
        assert!((avg.mean(60) - 2.0).abs() < 1e-12);
    }

    #[test]
    fn histogram_quantiles_are_within_precision() {
        let mut h = LatencyHistogram::default();
        for v in 1..=100_000u64 {
            h.record(v * 1_000);
        }
        assert_eq!(h.count(), 100_000);
        let p99 = h.quantile_nanos(0.99) as f64;
        assert!((p99 / 99_000_000.0 - 1.0).abs() < 1e-3, "{p99}");
        assert!((h.mean_nanos() - 50_000_500.0).abs() < 1.0);
        assert_eq!(h.max_nanos(), 100_000_000);
        h.reset();
        assert_eq!(h.summary_ms(), LatencySummary::default());
    }
}
