//! Broker and client models: what each node kind does with a message.
//!
//! [`world::World`] is the [`crate::engine::Model`]: it owns every node's
//! state and handles the events. The other modules hold one concept each.

pub mod consumer;
mod flow;
pub mod matching;
pub mod murmur2;
pub mod queue;
pub mod routing;
pub mod sampling;
pub mod topic;
pub mod world;
