//! Scenario files: raw serde types that mirror the RON, checked into a
//! [`Scenario`] the engine can trust.

pub mod locate;
