//! The ticket consumer: confirms the reservation of a confirmed payment if it is not
//! confirmed yet. Idempotent: an already confirmed reservation answers `NotPending`, which
//! is success here.

use async_trait::async_trait;
use urr_actors::event::{EventDirectory, EventError};
use urr_actors::ids::ReservationId;
use urr_proto::DomainEvent;

use super::{domain_event, is_sale, uuid};
use crate::{BusEvent, Handler, HandlerError, Tx};

pub struct Ticket {
    pub events: EventDirectory,
}

#[async_trait]
impl Handler for Ticket {
    async fn handle(&self, event: &BusEvent, _tx: &mut Tx) -> Result<(), HandlerError> {
        let Some(DomainEvent::PaymentConfirmed(paid)) = domain_event(event)? else {
            return Ok(());
        };
        if !is_sale(&paid.purpose) {
            return Ok(());
        }
        let reservation = ReservationId::from(uuid(&paid.reservation_id)?);
        let result = self
            .events
            .event(uuid(&paid.event_id)?)
            .confirm(reservation)
            .await;
        match result {
            Ok(()) | Err(EventError::NotPending) => Ok(()),
            // The synchronous path refunds late payments; nothing more to do here.
            Err(EventError::HoldExpired | EventError::StaleFencingToken(_)) => {
                tracing::warn!(order = %paid.order_id, "paid reservation no longer held");
                Ok(())
            }
            Err(err) => Err(Box::new(err)),
        }
    }
}
