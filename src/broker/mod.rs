//! Broker and client models: what each node kind does with a message.
//!
//! [`world::World`] is the [`crate::engine::Model`]: it owns every node's
//! state and handles the events. The other modules hold one concept each.

pub mod breaker;
pub mod budget;
mod build;
pub mod call;
mod consume;
pub mod consumer;
pub mod deaths;
mod delivery;
pub mod error;
mod failover;
pub mod faults;
mod flow;
pub mod generation;
pub mod group;
mod holdings;
pub mod ids;
pub mod index;
pub mod ledger;
mod link;
mod log;
pub mod matching;
pub mod message;
pub mod murmur2;
pub mod queue;
pub mod request;
pub mod routing;
pub mod sampling;
pub mod service;
pub mod subscription;
pub mod topic;
pub mod trace;
pub mod view;
pub mod world;
