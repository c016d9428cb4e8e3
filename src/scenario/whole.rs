//! Whole-number fields (`max_length: 1000`), read so that a wrong value gets a sentence
//! saying what the field takes: `-5`, `1.5`, `"5"` or `300` for a field that stops at 255.
//!
//! Use with `#[serde(deserialize_with = "whole::u32")]` (or `opt_u32` for an optional
//! field). The field keeps its plain type, so the lab edits it as before.

use std::fmt;
use std::marker::PhantomData;

use serde::Deserializer;
use serde::de::{self, Visitor};

/// An unsigned integer type a field may have.
pub trait Unsigned: TryFrom<u64> + Copy {
    const MAX: u64;
}

impl Unsigned for u8 {
    const MAX: u64 = u8::MAX as u64;
}
impl Unsigned for u16 {
    const MAX: u64 = u16::MAX as u64;
}
impl Unsigned for u32 {
    const MAX: u64 = u32::MAX as u64;
}
impl Unsigned for u64 {
    const MAX: u64 = u64::MAX;
}

/// What the field takes, in words.
fn takes<T: Unsigned>() -> String {
    if T::MAX == u64::MAX {
        "takes a whole number, 0 or more".into()
    } else {
        format!("takes a whole number from 0 to {}", T::MAX)
    }
}

struct Whole<T>(PhantomData<T>);

impl<T: Unsigned> Whole<T> {
    fn fits<E: de::Error>(value: u64) -> Result<T, E> {
        T::try_from(value).map_err(|_| Self::wrong("is too large", value))
    }

    /// `value` is `what` (negative, too large): the sentence saying what the field takes.
    fn wrong<E: de::Error>(what: &str, value: impl fmt::Display) -> E {
        E::custom(format!("`{value}` {what}: this field {}", takes::<T>()))
    }

    /// A signed or wide value: in range, negative, or too large.
    fn of_wide<E: de::Error>(value: i128) -> Result<T, E> {
        match u64::try_from(value) {
            Ok(value) => Self::fits(value),
            Err(_) if value < 0 => Err(Self::wrong("is negative", value)),
            Err(_) => Err(Self::wrong("is too large", value)),
        }
    }
}

impl<'de, T: Unsigned> Visitor<'de> for Whole<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a whole number from 0 to {}", T::MAX)
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<T, E> {
        Self::fits(value)
    }

    fn visit_u128<E: de::Error>(self, value: u128) -> Result<T, E> {
        match i128::try_from(value) {
            Ok(value) => Self::of_wide(value),
            Err(_) => Err(Self::wrong("is too large", value)),
        }
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<T, E> {
        Self::of_wide(i128::from(value))
    }

    fn visit_i128<E: de::Error>(self, value: i128) -> Result<T, E> {
        Self::of_wide(value)
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<T, E> {
        if value.fract() == 0.0 && value > T::MAX as f64 {
            return Err(Self::wrong("is too large", value));
        }
        if value.fract() == 0.0 && (0.0..=T::MAX as f64).contains(&value) {
            // `1e3` or `1000.0`: say how to write it rather than guess.
            return Err(E::custom(format!(
                "`{value}` is written as a decimal: write it as a whole number, {value:.0}"
            )));
        }
        Err(Self::wrong("is not a whole number", value))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<T, E> {
        let hint = match value.trim().parse::<u64>() {
            Ok(n) => format!(": write {n} without quotes"),
            Err(_) => String::new(),
        };
        Err(E::custom(format!(
            "{:?} is text: this field {}{hint}",
            crate::text::printable(value),
            takes::<T>()
        )))
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<T, E> {
        Err(Self::wrong("is not a number", value))
    }

    fn visit_char<E: de::Error>(self, value: char) -> Result<T, E> {
        Err(E::custom(format!(
            "{:?} is a character, not a number: this field {}",
            value,
            takes::<T>()
        )))
    }
}

fn whole<'de, D: Deserializer<'de>, T: Unsigned>(d: D) -> Result<T, D::Error> {
    d.deserialize_any(Whole(PhantomData))
}

/// An optional whole number: `Some` is implied (`max_length: 5`), and `None` may be written.
struct Optional<T>(PhantomData<T>);

impl<'de, T: Unsigned> Visitor<'de> for Optional<T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a whole number from 0 to {}", T::MAX)
    }

    fn visit_none<E: de::Error>(self) -> Result<Option<T>, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Option<T>, D::Error> {
        whole(d).map(Some)
    }
}

fn optional<'de, D: Deserializer<'de>, T: Unsigned>(d: D) -> Result<Option<T>, D::Error> {
    d.deserialize_option(Optional(PhantomData))
}

pub fn u8<'de, D: Deserializer<'de>>(d: D) -> Result<u8, D::Error> {
    whole(d)
}

pub fn u32<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    whole(d)
}

pub fn u64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    whole(d)
}

pub fn opt_u8<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u8>, D::Error> {
    optional(d)
}

pub fn opt_u32<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    optional(d)
}

pub fn opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    optional(d)
}

#[cfg(test)]
mod tests {
    #[derive(Debug, serde::Deserialize)]
    struct Fields {
        #[serde(deserialize_with = "super::u8", default)]
        small: u8,
        #[serde(deserialize_with = "super::opt_u64", default)]
        big: Option<u64>,
    }

    fn read(text: &str) -> Result<Fields, String> {
        ron::Options::default()
            .with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME)
            .from_str::<Fields>(text)
            .map_err(|e| e.code.to_string())
    }

    #[test]
    fn a_wrong_number_says_what_the_field_takes() {
        let cases = [
            (
                "(small: -5)",
                "`-5` is negative: this field takes a whole number from 0 to 255",
            ),
            (
                "(small: 300)",
                "`300` is too large: this field takes a whole number from 0 to 255",
            ),
            ("(small: 1.5)", "`1.5` is not a whole number"),
            (
                "(small: \"7\")",
                "\"7\" is text: this field takes a whole number from 0 to 255: write 7 without quotes",
            ),
            ("(small: true)", "`true` is not a number"),
            ("(big: 1e3)", "write it as a whole number, 1000"),
            (
                "(big: 3e20)",
                "`300000000000000000000` is too large: this field takes a whole number, 0 or more",
            ),
            ("(big: -1)", "`-1` is negative"),
        ];
        for (text, expected) in cases {
            let error = read(text).unwrap_err();
            assert!(error.contains(expected), "{text}: {error}");
        }
        let ok = read("(small: 255, big: 1_000)").unwrap();
        assert_eq!((ok.small, ok.big), (255, Some(1000)));
        assert_eq!(read("(big: None)").unwrap().big, None);
        assert_eq!(read("(big: Some(0x10))").unwrap().big, Some(16));
        assert_eq!(read("()").unwrap().big, None);
    }
}
