//! The kinds of node, as one enum: every rule that depends on what a node is
//! matches on it exhaustively, so a new kind cannot be forgotten anywhere.

use serde::Serialize;

/// What a node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Producer,
    Exchange,
    Queue,
    Topic,
    Consumer,
    Service,
}

impl Kind {
    /// Every kind, in the order the lab's palette shows them.
    pub const ALL: [Kind; 6] = [
        Kind::Producer,
        Kind::Exchange,
        Kind::Queue,
        Kind::Topic,
        Kind::Consumer,
        Kind::Service,
    ];

    /// Its name in reports and messages: `queue`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Producer => "producer",
            Kind::Exchange => "exchange",
            Kind::Queue => "queue",
            Kind::Topic => "topic",
            Kind::Consumer => "consumer",
            Kind::Service => "service",
        }
    }

    /// Its name as a title: `Queue`.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Producer => "Producer",
            Kind::Exchange => "Exchange",
            Kind::Queue => "Queue",
            Kind::Topic => "Topic",
            Kind::Consumer => "Consumer",
            Kind::Service => "Service",
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_serialize_and_print_alike() {
        for kind in Kind::ALL {
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.name()));
            assert_eq!(format!("{kind:<9}|"), format!("{:<9}|", kind.name()));
            assert_eq!(kind.label().to_lowercase(), kind.name());
        }
    }
}
