//! Broker and client models: what each node kind does with a message.

pub mod matching;
pub mod murmur2;
