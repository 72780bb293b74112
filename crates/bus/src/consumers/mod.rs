//! The consumer groups a node runs: stats keeps per-event figures; ticket completes a paid
//! reservation (its ticket, or the money back) when the request that took the payment
//! could not.

mod stats;
mod ticket;

use std::sync::Arc;

use urr_payments::PaymentService;
use urr_proto::{DecodeError, DomainEvent, Topic};
use urr_store::{Kv, PgPool};
use uuid::Uuid;

use crate::{BusEvent, Consumer, HandlerError};

pub use stats::Stats;
pub use ticket::Ticket;

/// The consumers one node runs, named after the node so each is a group member.
pub fn for_node(db: &PgPool, kv: &Kv, payments: &Arc<PaymentService>, node: &str) -> Vec<Consumer> {
    vec![
        Consumer::new(
            db.clone(),
            kv.clone(),
            "stats-service-group",
            node,
            &[
                Topic::Reservations.as_str(),
                Topic::Payments.as_str(),
                Topic::Transfers.as_str(),
            ],
            Arc::new(Stats),
        ),
        Consumer::new(
            db.clone(),
            kv.clone(),
            "ticket-service-group",
            node,
            &[Topic::Payments.as_str()],
            Arc::new(Ticket {
                payments: payments.clone(),
            }),
        ),
    ]
}

/// The domain event `event` carries; `None` for a type this build does not know (one a
/// newer node publishes), which none of these consumers handles.
fn domain_event(event: &BusEvent) -> Result<Option<DomainEvent>, HandlerError> {
    match DomainEvent::decode(&event.event_type, &event.payload) {
        Ok(domain) => Ok(Some(domain)),
        Err(DecodeError::UnknownType(_)) => Ok(None),
        Err(err) => Err(Box::new(err)),
    }
}

fn uuid(text: &str) -> Result<Uuid, HandlerError> {
    Ok(text.parse::<Uuid>()?)
}

/// Payments for memberships and transfers share the stream; only reservation payments
/// (whose events predate the field and leave it empty) are sales.
fn is_sale(purpose: &str) -> bool {
    purpose.is_empty() || purpose == "reservation"
}
