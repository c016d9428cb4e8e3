//! The broker's errors, one type for each way out of it: wiring a world from a
//! scenario ([`BuildError`]), injecting a fault into a running one
//! ([`InjectError`]), a run that cannot go on ([`Failure`]), and a ledger
//! recount that disagrees with the counts ([`LedgerError`]).
//!
//! Each variant carries its figures; the text a user reads is its `Display`.

use super::deaths::MAX_PATHS;
use super::ledger::Ledger;
use super::request::RequestLedger;
use super::routing::MAX_ROUTING_STEPS;

/// Why a checked scenario could not be wired into a world: it asks for more than the
/// model can hold. (The `Unchecked*` variants are scenarios the checker should have
/// refused: a `Scenario` built by hand.)
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    #[error("more than 65535 distinct routing keys and header sets: use fewer")]
    TooManyVariants,
    #[error(
        "its routing table ({exchanges} exchanges x {variants} routing keys and header sets) \
         needs more than {}, more than limits.max_memory leaves for it: use fewer distinct \
         routing keys, or fewer exchanges, or raise limits.max_memory",
        super::budget::bytes_text(*bytes)
    )]
    RoutingTableTooBig {
        exchanges: usize,
        variants: usize,
        bytes: u64,
    },
    #[error(
        "resolving its routing takes more than {MAX_ROUTING_STEPS} binding matches (many \
         routing keys and header sets through exchanges with many bindings): use fewer \
         distinct routing keys or fewer bindings"
    )]
    RoutingTooLong,
    #[error("cannot reserve memory for {samples} samples of the time series: sample less often")]
    SeriesTooBig { samples: usize },
    #[error("consumer source is not a topic")]
    UncheckedTopic,
    #[error("consumer's group is not on its topic")]
    UncheckedGroup,
    #[error("consumer is not a member of its group")]
    UncheckedMember,
    #[error("consumer `{consumer}` reads from something that is not a queue or topic")]
    UncheckedSource { consumer: String },
    #[error("service `{service}` calls something else")]
    UncheckedCall { service: String },
}

/// Why a fault cannot be injected where and as it was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InjectError {
    /// One of the fault's own settings is out of range (the checker's rule for it).
    #[error("{field} {message}")]
    Setting {
        field: &'static str,
        message: String,
    },
    #[error("on an edge, inject a link fault: cut it, delay it or make it lose messages")]
    NotALinkFault,
    #[error("no such edge")]
    NoSuchEdge,
    /// The edge is not a link evlab simulates (`scenario::check::link_allowed` says why).
    #[error("{0}")]
    NotALink(&'static str),
    #[error(
        "this fault cannot be injected there: crash, slow down or fail a consumer or a service"
    )]
    WrongTarget,
}

/// Why a run cannot go on: a cap the machine or `limits` set was hit. The run stops
/// and reports it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    #[error(
        "topics hold more than {max_records} records: shorten retention, add consumers, or \
         raise limits.max_in_flight"
    )]
    LogsFull { max_records: u64 },
    #[error(
        "the machine gave no memory for more than {held} message copies in flight: reduce the \
         load or duration, add consumers, or lower limits.max_in_flight"
    )]
    NoMemoryForCopies { held: usize },
    #[error(
        "more than {cap} message copies in flight at once: the system is overloaded or the run \
         too long; reduce the load or duration, add consumers, or raise limits.max_in_flight"
    )]
    TooManyCopies { cap: usize },
    #[error(
        "more than {cap} requests in flight at once: the services are overloaded or the run too \
         long; reduce the load, add workers, set a queue_limit, or raise limits.max_in_flight"
    )]
    TooManyRequests { cap: usize },
    #[error(
        "messages take more than {MAX_PATHS} distinct dead-letter paths: the dead-letter \
         topology is too large to follow; use fewer dead-letter edges between queues"
    )]
    TooManyDeadLetterPaths,
    #[error(
        "the machine gave no more memory to remember which messages were processed: simulate \
         less time or at lower rates"
    )]
    NoMemoryForIds,
}

impl Failure {
    /// Whether a `limits.max_in_flight` cap stopped the run (its message says which).
    pub fn is_in_flight_cap(&self) -> bool {
        matches!(
            self,
            Failure::LogsFull { .. }
                | Failure::NoMemoryForCopies { .. }
                | Failure::TooManyCopies { .. }
                | Failure::TooManyRequests { .. }
        )
    }
}

/// A recount of the copies (or requests) in flight that disagrees with the ledger or
/// with a running sum: a bug in the model, never a problem with the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    #[error(
        "ledger broken: {ledger_in_flight} in flight by the counts, {found} found ({in_sources} \
         in queues and logs, {in_hands} in consumers, {parked} parked); {ledger:?}",
        ledger_in_flight = ledger.in_flight()
    )]
    InFlight {
        found: u64,
        in_sources: u64,
        in_hands: u64,
        parked: u64,
        ledger: Box<Ledger>,
    },
    #[error("more copies ended ({ended}) than were created ({created}): {ledger:?}")]
    MoreEnded {
        ended: u64,
        created: u64,
        ledger: Box<Ledger>,
    },
    #[error("a copy of message {live} is alive, but subscriptions forgot the ids below {below}")]
    ForgottenId { live: u64, below: u64 },
    #[error("topic {topic}: log ends sum to {sum}, kept as {kept}")]
    LogEnds { topic: usize, sum: u64, kept: u64 },
    #[error("topic {topic}, group {group}: committed offsets sum to {sum}, kept as {kept}")]
    Committed {
        topic: usize,
        group: String,
        sum: u64,
        kept: u64,
    },
    #[error(
        "queue `{queue}` counts {counted} orphans, {found} found waiting out their visibility \
         timeout"
    )]
    Orphans {
        queue: String,
        counted: u64,
        found: u64,
    },
    #[error(
        "request ledger broken: {} in flight by the counts, {found} found; {ledger:?}",
        ledger.in_flight()
    )]
    RequestsInFlight { found: u64, ledger: RequestLedger },
    #[error("request ledger broken: the clients' counts {clients:?} differ from {ledger:?}")]
    ClientCounts {
        clients: (u64, u64, u64),
        ledger: RequestLedger,
    },
    #[error("service {service}: its workers or waiting line hold requests that are not there")]
    ServiceLists { service: usize },
    #[error("{admitted} requests are at services but their lists hold {held}")]
    RequestsAtServices { admitted: usize, held: usize },
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The texts users and tests read, which the variants must keep word for word.
    #[test]
    fn messages_read_as_they_always_have() {
        let cases: Vec<(String, &str)> = vec![
            (
                BuildError::RoutingTableTooBig {
                    exchanges: 2,
                    variants: 3,
                    bytes: 2048,
                }
                .to_string(),
                "its routing table (2 exchanges x 3 routing keys and header sets) needs more \
                 than 2 KiB, more than limits.max_memory leaves for it: use fewer distinct \
                 routing keys, or fewer exchanges, or raise limits.max_memory",
            ),
            (
                InjectError::Setting {
                    field: "factor",
                    message: "must be > 0".into(),
                }
                .to_string(),
                "factor must be > 0",
            ),
            (
                Failure::TooManyCopies { cap: 10 }.to_string(),
                "more than 10 message copies in flight at once: the system is overloaded or \
                 the run too long; reduce the load or duration, add consumers, or raise \
                 limits.max_in_flight",
            ),
            (
                LedgerError::Committed {
                    topic: 1,
                    group: "g".into(),
                    sum: 5,
                    kept: 4,
                }
                .to_string(),
                "topic 1, group g: committed offsets sum to 5, kept as 4",
            ),
            (
                LedgerError::RequestsInFlight {
                    found: 1,
                    ledger: RequestLedger {
                        sent: 3,
                        succeeded: 1,
                        failed: 0,
                    },
                }
                .to_string(),
                "request ledger broken: 2 in flight by the counts, 1 found; RequestLedger { \
                 sent: 3, succeeded: 1, failed: 0 }",
            ),
        ];
        for (got, want) in cases {
            assert_eq!(got, want);
        }
    }
}
