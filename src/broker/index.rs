//! Typed indices into the world's tables of nodes.
//!
//! A producer, an exchange, a queue, a topic, a consumer, a service and an edge are each
//! an index into a vector of `World`; an event
//! or a list that names one keeps it in 4 bytes. These types say which table an index is
//! for, so a consumer's index can never look up a queue, and the tables
//! (`typed_index_collections::TiVec`) take only their own index: no `as usize` at the
//! places that look one up.

/// Declares an index type: a `u32` that indexes one table.
macro_rules! index {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(u32);

        impl $name {
            /// The index as a position in its table.
            #[inline]
            pub fn index(self) -> usize {
                self.0 as usize
            }
        }

        impl From<usize> for $name {
            /// Tables are built with fewer than `u32::MAX` entries (the scenario's node
            /// cap), so a position always fits.
            #[inline]
            fn from(index: usize) -> Self {
                debug_assert!(u32::try_from(index).is_ok());
                Self(index as u32)
            }
        }

        impl From<$name> for usize {
            #[inline]
            fn from(id: $name) -> usize {
                id.index()
            }
        }
    };
}

index!(
    /// A queue: an index into `World::queues`.
    QueueId
);
index!(
    /// A consumer: an index into `World::consumers`.
    ConsumerId
);
index!(
    /// An edge of the scenario: an index into `World::edges` and `World::links`.
    EdgeId
);
index!(
    /// A topic: an index into `World::topics`.
    TopicId
);
index!(
    /// A producer: an index into `World::producers`.
    ProducerId
);
index!(
    /// A request/response service: an index into `Services::nodes`.
    ServiceId
);
index!(
    /// An exchange: an index into `World::exchanges`.
    ExchangeId
);
