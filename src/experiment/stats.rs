//! Means and 95% confidence intervals over replications (Student's t), and paired
//! differences between designs run on common random numbers.

use serde::Serialize;

/// Two-sided 95% quantiles of Student's t for 1 to 30 degrees of freedom.
const T_975: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
    2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
    2.052, 2.048, 2.045, 2.042,
];

/// Beyond 30 degrees of freedom: (df, t) points, interpolated in 1/df towards the normal 1.960.
const T_975_TAIL: [(f64, f64); 4] = [(30.0, 2.042), (40.0, 2.021), (60.0, 2.000), (120.0, 1.980)];

/// The 97.5% quantile of Student's t with `df` degrees of freedom (0 for `df == 0`: no
/// interval can be drawn from one value).
pub fn t_975(df: usize) -> f64 {
    match df {
        0 => 0.0,
        1..=30 => T_975.get(df - 1).copied().unwrap_or(2.042),
        _ => {
            let inverse = 1.0 / df as f64;
            let mut points: Vec<(f64, f64)> =
                T_975_TAIL.iter().map(|&(d, t)| (1.0 / d, t)).collect();
            points.push((0.0, 1.960));
            for pair in points.windows(2) {
                let [(x0, y0), (x1, y1)] = [pair[0], pair[1]];
                if inverse <= x0 && inverse >= x1 {
                    return y1 + (y0 - y1) * (inverse - x1) / (x0 - x1);
                }
            }
            1.960
        }
    }
}

/// A figure over replications: its mean, the half-width of its 95% confidence interval,
/// and how many values it stands on.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Summary {
    pub mean: f64,
    /// Half the width of the 95% confidence interval (Student's t): the true mean is
    /// within `mean ± ci95` with 95% confidence. 0 for a single value.
    pub ci95: f64,
    pub n: usize,
}

impl Summary {
    pub fn of(values: &[f64]) -> Summary {
        let n = values.len();
        if n == 0 {
            return Summary {
                mean: 0.0,
                ci95: 0.0,
                n,
            };
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        if n == 1 {
            return Summary { mean, ci95: 0.0, n };
        }
        let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        Summary {
            mean,
            ci95: t_975(n - 1) * (variance / n as f64).sqrt(),
            n,
        }
    }

    /// Whether the interval is wide against the mean (over 10% of it): noise, not a result.
    pub fn is_noisy(&self) -> bool {
        self.n > 1 && self.ci95 > 0.1 * self.mean.abs() && self.ci95 > 1e-9
    }

    /// Whether the interval leaves out zero: a difference that is not noise.
    pub fn excludes_zero(&self) -> bool {
        self.n > 1 && (self.mean.abs() > self.ci95) && self.mean != 0.0
    }

    /// The upper end of the interval.
    pub fn upper(&self) -> f64 {
        self.mean + self.ci95
    }

    /// The lower end of the interval.
    pub fn lower(&self) -> f64 {
        self.mean - self.ci95
    }
}

/// The paired difference `b - a` of two designs' replications (replication i of each on
/// the same seeds): common random numbers make it far tighter than two separate intervals.
pub fn paired_difference(a: &[f64], b: &[f64]) -> Summary {
    let differences: Vec<f64> = a.iter().zip(b).map(|(x, y)| y - x).collect();
    Summary::of(&differences)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantiles_match_the_tables() {
        let cases = [
            (1, 12.706),
            (4, 2.776),
            (9, 2.262),
            (30, 2.042),
            (60, 2.000),
            (120, 1.980),
        ];
        for (df, t) in cases {
            assert!((t_975(df) - t).abs() < 1e-9, "{df}");
        }
        assert!((t_975(45) - 2.014).abs() < 0.002, "{}", t_975(45));
        assert!((t_975(1_000_000) - 1.960).abs() < 0.001);
        assert!(t_975(200) < t_975(120) && t_975(200) > 1.960);
    }

    #[test]
    fn summaries_and_paired_differences() {
        let s = Summary::of(&[10.0, 12.0, 14.0]);
        assert_eq!(s.mean, 12.0);
        // sd 2, n 3: 4.303 * 2 / sqrt(3).
        assert!((s.ci95 - 4.303 * 2.0 / 3f64.sqrt()).abs() < 1e-9);
        assert!(s.is_noisy());
        assert_eq!(Summary::of(&[5.0]).ci95, 0.0);
        let same = paired_difference(&[1.0, 5.0, 9.0], &[1.0, 5.0, 9.0]);
        assert_eq!((same.mean, same.ci95), (0.0, 0.0));
        assert!(!same.excludes_zero());
        let shifted = paired_difference(&[1.0, 5.0, 9.0], &[2.0, 6.1, 9.9]);
        assert!(shifted.excludes_zero(), "{shifted:?}");
    }
}
