//! Random draws for the models: inter-arrival gaps, processing times, keys.
//!
//! Each sampler owns nothing but parameters; the caller passes the entity's
//! own stream, so draws stay per entity. All times are integer nanoseconds,
//! rounded from the continuous draw.

use rand::{Rng, RngExt};
use rand_distr::{Distribution, Exp1, StandardNormal, Zipf};

use crate::engine::SimTime;
use crate::engine::rng::Stream;
use crate::scenario::{Arrival, Keys, Service};

/// Marks a message without a key.
pub const NO_KEY: u32 = u32::MAX;

/// Gaps are capped here (about 115 days), so adding one to a time never overflows.
const MAX_GAP_NANOS: f64 = 1e16;

/// One exponential gap with the given rate, in nanoseconds (at least 1).
#[inline]
fn exponential_gap(rng: &mut Stream, rate_per_sec: f64) -> u64 {
    let unit: f64 = Exp1.sample(rng);
    // `+ 0.5` then truncation rounds a non-negative value without a libm call.
    ((unit * 1e9 / rate_per_sec + 0.5).min(MAX_GAP_NANOS) as u64).max(1)
}

/// When a producer publishes next, up to a horizon (the end of the run):
/// past it the process is done, which also bounds the search through off
/// phases and silent steps.
#[derive(Debug, Clone)]
pub struct ArrivalProcess {
    arrival: Arrival,
    horizon: SimTime,
    /// Constant rate: the exact (fractional) time of the next arrival, so
    /// rounding to nanoseconds never drifts.
    next_exact: f64,
}

impl ArrivalProcess {
    pub fn new(arrival: Arrival, horizon: SimTime) -> Self {
        Self {
            arrival,
            horizon,
            next_exact: 0.0,
        }
    }

    /// Time of the first arrival at or after time 0.
    pub fn first(&mut self, rng: &mut Stream) -> Option<SimTime> {
        match self.arrival {
            Arrival::Constant { rate_per_sec } => {
                // A constant source starts at a random phase so that several of them do not tick in lockstep.
                let period = 1e9 / rate_per_sec;
                self.next_exact = rng.random::<f64>() * period.min(MAX_GAP_NANOS);
                self.within_horizon(self.next_exact.round() as u64)
            }
            _ => self.next(0, rng),
        }
    }

    /// Changes the process from the next arrival on (a live edit in the lab).
    pub fn set_arrival(&mut self, arrival: Arrival) {
        self.arrival = arrival;
    }

    fn within_horizon(&self, t: SimTime) -> Option<SimTime> {
        (t <= self.horizon).then_some(t)
    }

    /// Time of the arrival after one at `now`. `None`: this producer is done for good.
    pub fn next(&mut self, now: SimTime, rng: &mut Stream) -> Option<SimTime> {
        let t = self.next_unbounded(now, rng)?;
        self.within_horizon(t)
    }

    fn next_unbounded(&mut self, now: SimTime, rng: &mut Stream) -> Option<SimTime> {
        let horizon = self.horizon;
        match &self.arrival {
            Arrival::Constant { rate_per_sec } => {
                self.next_exact += (1e9 / rate_per_sec).min(MAX_GAP_NANOS);
                Some((self.next_exact.round() as u64).max(now))
            }
            Arrival::Poisson { rate_per_sec } => {
                Some(now.saturating_add(exponential_gap(rng, *rate_per_sec)))
            }
            Arrival::OnOff {
                rate_per_sec,
                on_nanos,
                off_nanos,
            } => {
                let cycle = on_nanos + off_nanos;
                let mut t = now;
                // Memorylessness: a gap that runs past the end of an on phase
                // restarts at the next on phase with a fresh draw.
                while t <= horizon {
                    let phase = t % cycle;
                    if phase >= *on_nanos {
                        t += cycle - phase;
                        continue;
                    }
                    let on_end = t - phase + on_nanos;
                    let candidate = t.saturating_add(exponential_gap(rng, *rate_per_sec));
                    if candidate < on_end {
                        return Some(candidate);
                    }
                    t = on_end;
                }
                None
            }
            Arrival::Schedule { steps } => {
                let mut t = now;
                while t <= horizon {
                    // The step in force at t, and when the next one starts.
                    let index = steps
                        .partition_point(|(from, _)| *from <= t)
                        .checked_sub(1)?;
                    let rate = steps.get(index)?.1;
                    let step_end = steps.get(index + 1).map(|s| s.0);
                    if rate <= 0.0 {
                        t = step_end?;
                        continue;
                    }
                    let candidate = t.saturating_add(exponential_gap(rng, rate));
                    match step_end {
                        Some(end) if candidate >= end => t = end,
                        _ => return Some(candidate),
                    }
                }
                None
            }
        }
    }
}

/// Processing times.
#[derive(Debug, Clone, Copy)]
pub struct ServiceSampler {
    service: Service,
}

impl ServiceSampler {
    pub fn new(service: Service) -> Self {
        Self { service }
    }

    #[inline(always)]
    pub fn sample(&self, rng: &mut Stream) -> u64 {
        let nanos = match self.service {
            Service::Constant { nanos } => return nanos,
            Service::Exponential { mean_nanos } => {
                let unit: f64 = Exp1.sample(rng);
                unit * mean_nanos
            }
            Service::Uniform {
                min_nanos,
                max_nanos,
            } => {
                if max_nanos <= min_nanos {
                    return min_nanos;
                }
                return rng.random_range(min_nanos..=max_nanos);
            }
            Service::LogNormal { mu, sigma } => {
                let z: f64 = StandardNormal.sample(rng);
                (mu + sigma * z).exp()
            }
            Service::Pareto { scale_nanos, shape } => {
                // Inverse CDF: scale / U^(1/shape), U in (0, 1].
                let u = 1.0 - rng.random::<f64>();
                scale_nanos / u.powf(1.0 / shape)
            }
        };
        // Clamp: a heavy tail must not overflow simulated time.
        (nanos + 0.5).clamp(0.0, 1e15) as u64
    }
}

/// Message keys.
#[derive(Debug, Clone)]
pub enum KeySampler {
    None,
    Uniform { count: u32 },
    Zipf(Zipf<f64>),
}

impl KeySampler {
    pub fn new(keys: Keys) -> Self {
        match keys {
            Keys::None => KeySampler::None,
            Keys::Uniform { count } => KeySampler::Uniform {
                count: count.max(1),
            },
            Keys::Zipf { count, exponent } => match Zipf::new(f64::from(count.max(1)), exponent) {
                Ok(zipf) => KeySampler::Zipf(zipf),
                Err(_) => KeySampler::Uniform {
                    count: count.max(1),
                },
            },
        }
    }

    /// A key index, or [`NO_KEY`].
    #[inline]
    pub fn sample(&self, rng: &mut Stream) -> u32 {
        match self {
            KeySampler::None => NO_KEY,
            KeySampler::Uniform { count } => rng.random_range(0..*count),
            KeySampler::Zipf(zipf) => (zipf.sample(rng) as u32).saturating_sub(1),
        }
    }
}

/// The text of key `index`, as producers put it on the wire (and Kafka hashes it).
pub fn key_text(index: u32) -> String {
    format!("key-{index}")
}

/// Draws a uniform index below `n` (n >= 1).
#[inline]
pub fn pick(rng: &mut Stream, n: usize) -> usize {
    if n <= 1 {
        0
    } else {
        (rng.next_u64() % n as u64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rng::stream;

    fn mean_gap(arrival: Arrival, n: usize) -> f64 {
        let mut rng = stream(1, "p");
        let mut process = ArrivalProcess::new(arrival, u64::MAX / 2);
        let mut t = process.first(&mut rng).unwrap();
        let start = t;
        for _ in 0..n {
            t = process.next(t, &mut rng).unwrap();
        }
        (t - start) as f64 / n as f64
    }

    #[test]
    fn constant_and_poisson_have_the_right_mean_gap() {
        let constant = mean_gap(Arrival::Constant { rate_per_sec: 3.0 }, 3_000);
        assert!((constant - 1e9 / 3.0).abs() < 1.0, "{constant}");
        let poisson = mean_gap(
            Arrival::Poisson {
                rate_per_sec: 1000.0,
            },
            200_000,
        );
        // Standard error of the mean is 1e6/sqrt(2e5) ~ 2236 ns; allow 5 of them.
        assert!((poisson - 1e6).abs() < 5.0 * 2236.0, "{poisson}");
    }

    #[test]
    fn on_off_is_silent_when_off() {
        let mut rng = stream(3, "p");
        let mut process = ArrivalProcess::new(
            Arrival::OnOff {
                rate_per_sec: 10_000.0,
                on_nanos: 1_000_000_000,
                off_nanos: 3_000_000_000,
            },
            u64::MAX / 2,
        );
        let mut t = process.first(&mut rng).unwrap();
        let mut count = 0;
        while t < 40_000_000_000 {
            assert!(
                t % 4_000_000_000 < 1_000_000_000,
                "arrival at {t} during an off phase"
            );
            t = process.next(t, &mut rng).unwrap();
            count += 1;
        }
        // 10 on-seconds at 10k/s.
        assert!((count as f64 - 100_000.0).abs() < 5.0 * 316.0, "{count}");
    }

    #[test]
    fn schedule_follows_its_steps() {
        let mut rng = stream(4, "p");
        let mut process = ArrivalProcess::new(
            Arrival::Schedule {
                steps: vec![(0, 0.0), (1_000_000_000, 1000.0), (2_000_000_000, 0.0)],
            },
            u64::MAX / 2,
        );
        let mut times = vec![];
        let mut t = process.first(&mut rng);
        while let Some(now) = t {
            times.push(now);
            t = process.next(now, &mut rng);
        }
        assert!(
            times
                .iter()
                .all(|t| (1_000_000_000..2_000_000_000).contains(t))
        );
        assert!(
            (times.len() as f64 - 1000.0).abs() < 5.0 * 31.7,
            "{}",
            times.len()
        );
    }

    #[test]
    fn tiny_rates_stay_silent_until_the_horizon() {
        // Regression: a gap that saturated u64 made `t + gap` wrap and the producer publish forever.
        for arrival in [
            Arrival::Poisson {
                rate_per_sec: 1e-30,
            },
            Arrival::Constant {
                rate_per_sec: 1e-30,
            },
            Arrival::OnOff {
                rate_per_sec: 1e-30,
                on_nanos: 1_000_000,
                off_nanos: 1_000_000,
            },
            Arrival::Schedule {
                steps: vec![(0, 0.0), (1_000_000, 1e-30)],
            },
        ] {
            let mut rng = stream(1, "p");
            let mut process = ArrivalProcess::new(arrival.clone(), 10_000_000_000);
            let first = process.first(&mut rng);
            assert!(first.is_none_or(|t| t <= 10_000_000_000), "{arrival:?}");
            if let Some(t) = first {
                assert_eq!(process.next(t, &mut rng), None, "{arrival:?}");
            }
        }
    }

    #[test]
    fn service_means_match_their_distributions() {
        let services = [
            Service::Constant { nanos: 5_000 },
            Service::Exponential { mean_nanos: 1e6 },
            Service::Uniform {
                min_nanos: 1_000,
                max_nanos: 3_000,
            },
            Service::LogNormal {
                mu: (1e6f64).ln() - 0.125,
                sigma: 0.5,
            },
            Service::Pareto {
                scale_nanos: 1e6,
                shape: 3.0,
            },
        ];
        for service in services {
            let sampler = ServiceSampler::new(service);
            let mut rng = stream(9, "c");
            let n = 400_000;
            let mean = (0..n).map(|_| sampler.sample(&mut rng) as f64).sum::<f64>() / n as f64;
            let expected = service.mean_nanos();
            assert!(
                (mean / expected - 1.0).abs() < 0.01,
                "{service:?}: {mean} vs {expected}"
            );
        }
    }

    #[test]
    fn zipf_key_zero_is_hottest() {
        let keys = KeySampler::new(Keys::Zipf {
            count: 100,
            exponent: 1.0,
        });
        let mut rng = stream(5, "p");
        let mut counts = [0u32; 100];
        for _ in 0..100_000 {
            counts[keys.sample(&mut rng) as usize] += 1;
        }
        assert!(counts[0] > counts[1] && counts[1] > counts[9] && counts[9] > counts[99]);
    }
}
