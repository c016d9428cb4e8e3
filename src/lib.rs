//! evlab: a discrete-event simulator for event-driven architectures.
//!
//! The library is the whole product: scenario files ([`scenario`]) are parsed
//! and checked, wired into a model of brokers and clients ([`broker`]) that
//! runs on a domain-free discrete-event core ([`engine`]), measured by the
//! instruments of [`metrics`], and summed up by [`report`], which reads the model
//! through its read API ([`broker::view`]). The command line ([`cli`]) and the desktop lab are thin
//! fronts over [`run`].

pub mod atomic;
pub mod broker;
pub mod cli;
pub mod engine;
pub mod examples;
pub mod experiment;
#[cfg(feature = "gui")]
pub mod gui;
pub mod marks;
pub mod metrics;
pub mod report;
pub mod run;
pub mod scenario;
pub mod text;
