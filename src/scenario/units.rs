//! Quantities with units, as users write them in scenario files.
//!
//! Durations (`"250ms"`, `"2s"`, `"1.5min"`), rates (`"90/s"`, `"5k/min"`, or a
//! bare number meaning per second) and sizes (`"1KiB"`, `"512B"`, or a bare
//! number of bytes). Each parses into an integer or a float in one fixed base
//! unit (nanoseconds, events per second, bytes), so the rest of evlab never
//! sees a unit again. Each writes back in the shortest exact form, so a file
//! that is loaded and saved keeps what the user typed where possible.

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Nanoseconds in one of each duration unit, longest suffix first so that
/// `"ms"` is not read as minutes-then-`s`.
const DURATION_UNITS: &[(&str, u64)] = &[
    ("min", 60_000_000_000),
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
    ("d", 86_400_000_000_000),
];

/// The units a duration is written back in, largest first.
const DURATION_WRITE_UNITS: &[(&str, u64)] = &[
    ("h", 3_600_000_000_000),
    ("min", 60_000_000_000),
    ("s", 1_000_000_000),
    ("ms", 1_000_000),
    ("us", 1_000),
    ("ns", 1),
];

/// A simulated span of time, held as integer nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration {
    pub nanos: u64,
}

impl Duration {
    pub const ZERO: Duration = Duration { nanos: 0 };

    pub const fn from_nanos(nanos: u64) -> Self {
        Self { nanos }
    }

    pub const fn from_millis(millis: u64) -> Self {
        Self {
            nanos: millis * 1_000_000,
        }
    }

    /// `secs` seconds, to the nearest nanosecond (negative and NaN: zero).
    pub fn from_secs_f64(secs: f64) -> Self {
        Self {
            nanos: (secs * 1e9).round().clamp(0.0, u64::MAX as f64) as u64,
        }
    }

    pub const fn from_secs(secs: u64) -> Self {
        Self {
            nanos: secs * 1_000_000_000,
        }
    }

    pub fn as_secs_f64(self) -> f64 {
        self.nanos as f64 / 1e9
    }

    pub fn as_millis_f64(self) -> f64 {
        self.nanos as f64 / 1e6
    }
}

impl std::str::FromStr for Duration {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let trimmed = text.trim();
        let Some((number, unit_nanos)) = DURATION_UNITS
            .iter()
            .find_map(|(suffix, nanos)| trimmed.strip_suffix(suffix).map(|n| (n, *nanos)))
        else {
            return Err(format!(
                "`{text}` has no unit: write a duration such as \"250ms\", \"2s\" or \"5min\" (units: ns, us, ms, s, min, h, d)"
            ));
        };
        let value = parse_number(number.trim()).ok_or_else(|| {
            format!("`{text}` is not a duration: write a number then a unit, such as \"250ms\"")
        })?;
        if value < 0.0 {
            return Err(format!("`{text}`: a duration cannot be negative"));
        }
        let nanos = value * unit_nanos as f64;
        if !nanos.is_finite() || nanos > u64::MAX as f64 / 2.0 {
            return Err(format!("`{text}` is too long a duration"));
        }
        Ok(Duration {
            nanos: nanos.round() as u64,
        })
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.nanos == 0 {
            return f.write_str("0s");
        }
        for (suffix, unit) in DURATION_WRITE_UNITS {
            if self.nanos % unit == 0 {
                return write!(f, "{}{suffix}", self.nanos / unit);
            }
        }
        write!(f, "{}ns", self.nanos)
    }
}

/// A rate in events per second.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default)]
pub struct Rate {
    pub per_sec: f64,
}

impl Rate {
    pub const fn per_sec(per_sec: f64) -> Self {
        Self { per_sec }
    }
}

impl std::str::FromStr for Rate {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let trimmed = text.trim();
        let (number, per) = match trimmed.split_once('/') {
            Some((number, unit)) => {
                let unit = unit.trim();
                let per_unit = match unit {
                    "s" | "sec" => 1.0,
                    "ms" => 1e-3,
                    "us" | "µs" => 1e-6,
                    "min" | "m" => 60.0,
                    "h" => 3600.0,
                    "d" => 86400.0,
                    _ => {
                        return Err(format!(
                            "`{text}`: unknown time unit `{unit}`; write a rate such as \"90/s\", \"5k/min\" or \"2/ms\""
                        ));
                    }
                };
                (number.trim(), per_unit)
            }
            None => (trimmed, 1.0),
        };
        let value = parse_number(number).ok_or_else(|| {
            format!("`{text}` is not a rate: write it such as \"90/s\", \"1.5k/s\" or \"300/min\"")
        })?;
        let per_sec = value / per;
        if !per_sec.is_finite() || per_sec < 0.0 {
            return Err(format!("`{text}`: a rate must be a finite number >= 0"));
        }
        Ok(Rate { per_sec })
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/s", self.per_sec)
    }
}

/// A number of bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Size {
    pub bytes: u64,
}

const SIZE_UNITS: &[(&str, u64)] = &[
    ("KiB", 1 << 10),
    ("MiB", 1 << 20),
    ("GiB", 1 << 30),
    ("TiB", 1 << 40),
    ("KB", 1_000),
    ("kB", 1_000),
    ("MB", 1_000_000),
    ("GB", 1_000_000_000),
    ("TB", 1_000_000_000_000),
    ("B", 1),
];

impl std::str::FromStr for Size {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let trimmed = text.trim();
        let (number, unit) = SIZE_UNITS
            .iter()
            .find_map(|(suffix, bytes)| trimmed.strip_suffix(suffix).map(|n| (n, *bytes)))
            .unwrap_or((trimmed, 1));
        let value = parse_number(number.trim()).ok_or_else(|| {
            format!("`{text}` is not a size: write it such as \"512B\", \"1KiB\" or \"10MB\"")
        })?;
        let bytes = value * unit as f64;
        if !bytes.is_finite() || bytes < 0.0 || bytes > u64::MAX as f64 / 2.0 {
            return Err(format!(
                "`{text}`: a size must be a finite number of bytes >= 0"
            ));
        }
        Ok(Size {
            bytes: bytes.round() as u64,
        })
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (suffix, unit) in [("GiB", 1u64 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] {
            if self.bytes >= unit && self.bytes % unit == 0 {
                return write!(f, "{}{suffix}", self.bytes / unit);
            }
        }
        write!(f, "{}B", self.bytes)
    }
}

/// A decimal number with an optional `k`/`M`/`G` multiplier and `_` separators.
fn parse_number(text: &str) -> Option<f64> {
    let cleaned: String = text.chars().filter(|c| *c != '_').collect();
    let (digits, multiplier) = match cleaned.chars().last()? {
        'k' | 'K' => (&cleaned[..cleaned.len() - 1], 1e3),
        'M' => (&cleaned[..cleaned.len() - 1], 1e6),
        'G' => (&cleaned[..cleaned.len() - 1], 1e9),
        _ => (cleaned.as_str(), 1.0),
    };
    let value: f64 = digits.trim().parse().ok()?;
    value.is_finite().then_some(value * multiplier)
}

/// Serde glue: each unit type is written as a string and read from a string
/// or, where a bare number is unambiguous, a number.
macro_rules! string_serde {
    ($ty:ty, $expecting:literal, $bare_number:expr) => {
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct UnitVisitor;
                impl Visitor<'_> for UnitVisitor {
                    type Value = $ty;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_str<E: de::Error>(self, text: &str) -> Result<$ty, E> {
                        text.parse().map_err(E::custom)
                    }
                    fn visit_f64<E: de::Error>(self, value: f64) -> Result<$ty, E> {
                        let bare: fn(f64) -> Result<$ty, String> = $bare_number;
                        bare(value).map_err(E::custom)
                    }
                    fn visit_u64<E: de::Error>(self, value: u64) -> Result<$ty, E> {
                        self.visit_f64(value as f64)
                    }
                    fn visit_i64<E: de::Error>(self, value: i64) -> Result<$ty, E> {
                        self.visit_f64(value as f64)
                    }
                }
                deserializer.deserialize_any(UnitVisitor)
            }
        }
    };
}

string_serde!(
    Duration,
    "a duration with a unit, such as \"250ms\" or \"2s\"",
    |value| Err(format!(
        "`{value}` has no unit: write a duration as a string such as \"{value}ms\" or \"{value}s\""
    ))
);
string_serde!(Rate, "a rate such as \"90/s\"", |value| {
    if value.is_finite() && value >= 0.0 {
        Ok(Rate::per_sec(value))
    } else {
        Err(format!("`{value}`: a rate must be a finite number >= 0"))
    }
});
string_serde!(
    Size,
    "a size such as \"1KiB\" or a number of bytes",
    |value| {
        if value.is_finite() && value >= 0.0 && value.fract() == 0.0 {
            Ok(Size {
                bytes: value as u64,
            })
        } else {
            Err(format!(
                "`{value}`: a size must be a whole number of bytes >= 0"
            ))
        }
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        let cases: &[(&str, u64)] = &[
            ("250ms", 250_000_000),
            ("2s", 2_000_000_000),
            ("1.5min", 90_000_000_000),
            ("3m", 180_000_000_000),
            ("1h", 3_600_000_000_000),
            ("10us", 10_000),
            ("7ns", 7),
            ("0s", 0),
            (" 0.5 s ", 500_000_000),
            ("1_000ms", 1_000_000_000),
        ];
        for (text, nanos) in cases {
            assert_eq!(
                text.parse::<Duration>().map(|d| d.nanos),
                Ok(*nanos),
                "{text}"
            );
        }
    }

    #[test]
    fn durations_reject_missing_or_bad_units() {
        for text in ["250", "2 parsecs", "-1s", "s", "", "1e400s"] {
            assert!(
                text.parse::<Duration>().is_err(),
                "{text} should be rejected"
            );
        }
    }

    #[test]
    fn durations_write_back_exactly() {
        for text in ["250ms", "2s", "90s", "1h", "7ns", "0s", "1500us"] {
            let d: Duration = text.parse().unwrap();
            assert_eq!(d.to_string().parse::<Duration>().unwrap(), d, "{text}");
        }
        assert_eq!(Duration::from_millis(1500).to_string(), "1500ms");
        assert_eq!(Duration::from_secs(120).to_string(), "2min");
    }

    #[test]
    fn rates_parse() {
        let cases: &[(&str, f64)] = &[
            ("90/s", 90.0),
            ("90", 90.0),
            ("5k/min", 5000.0 / 60.0),
            ("2/ms", 2000.0),
            ("1.5k/s", 1500.0),
            ("3600/h", 1.0),
        ];
        for (text, per_sec) in cases {
            let rate: Rate = text.parse().unwrap();
            assert!((rate.per_sec - per_sec).abs() < 1e-9, "{text}");
        }
        for text in ["fast", "10/fortnight", "-3/s", "/s"] {
            assert!(text.parse::<Rate>().is_err(), "{text}");
        }
    }

    #[test]
    fn sizes_parse() {
        let cases: &[(&str, u64)] = &[
            ("512B", 512),
            ("1KiB", 1024),
            ("1KB", 1000),
            ("2MiB", 2 << 20),
            ("100", 100),
        ];
        for (text, bytes) in cases {
            assert_eq!(text.parse::<Size>().map(|s| s.bytes), Ok(*bytes), "{text}");
        }
        assert!("lots".parse::<Size>().is_err());
    }

    #[test]
    fn serde_reads_strings_and_bare_numbers() {
        let rate: Rate = ron::from_str("120").unwrap();
        assert_eq!(rate.per_sec, 120.0);
        let size: Size = ron::from_str("\"4KiB\"").unwrap();
        assert_eq!(size.bytes, 4096);
        let err = ron::from_str::<Duration>("250").unwrap_err();
        assert!(err.to_string().contains("has no unit"), "{err}");
        let d: Duration = ron::from_str("\"250ms\"").unwrap();
        assert_eq!(ron::to_string(&d).unwrap(), "\"250ms\"");
    }
}
