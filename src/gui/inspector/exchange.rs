//! The exchange's form: its type and its alternate exchange.

use super::form::Form;
use crate::scenario::raw::{ExchangeType, RawExchange};

pub(super) fn form(f: &mut Form<'_>, x: &mut RawExchange) {
    let current = format!("{:?}", x.exchange_type);
    f.choice(
        "type",
        "Direct: a binding matches an equal routing key. Fanout: every binding gets a \
         copy. Topic: binding patterns, * is one word and # zero or more. Headers: \
         bindings match message headers (all or any).",
        &mut x.exchange_type,
        &current,
        &[
            ("Direct", ExchangeType::Direct),
            ("Fanout", ExchangeType::Fanout),
            ("Topic", ExchangeType::Topic),
            ("Headers", ExchangeType::Headers),
        ],
    );
    f.optional_text("alternate", "RabbitMQ's alternate exchange: where messages that match no binding go, instead of being dropped.", &mut x.alternate);
}
