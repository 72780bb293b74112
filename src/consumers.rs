//! The node's bus consumers (SPEC 1): stats keeps per-event figures; ticket confirms a
//! paid reservation when the synchronous path could not (the seed's fallback).

use std::sync::Arc;

use async_trait::async_trait;
use prost::Message;
use urr_actors::event::{EventDirectory, EventError};
use urr_actors::ids::ReservationId;
use urr_bus::{BusEvent, Consumer, Handler, HandlerError, Tx};
use urr_proto::events::{
    PaymentConfirmed, PaymentRefunded, ReservationCancelled, ReservationConfirmed,
    ReservationExpired, TransferCompleted,
};
use urr_store::stats::{self, StatChange};
use urr_store::{Kv, PgPool};
use uuid::Uuid;

fn uuid(text: &str) -> Result<Uuid, HandlerError> {
    Ok(text.parse::<Uuid>()?)
}

/// Payments for memberships and transfers share the stream; only reservation payments
/// (whose events predate the field and leave it empty) are sales.
fn is_sale(purpose: &str) -> bool {
    purpose.is_empty() || purpose == "reservation"
}

/// Keeps `event_stats` from reservation, payment and transfer events.
pub struct Stats;

#[async_trait]
impl Handler for Stats {
    async fn handle(&self, event: &BusEvent, tx: &mut Tx) -> Result<(), HandlerError> {
        let payload = event.payload.as_slice();
        let (event_id, change) = match event.event_type.as_str() {
            "ReservationConfirmed" => {
                let e = ReservationConfirmed::decode(payload)?;
                (
                    e.event_id,
                    StatChange::Confirmed {
                        amount: e.total_amount,
                    },
                )
            }
            "ReservationCancelled" => (
                ReservationCancelled::decode(payload)?.event_id,
                StatChange::Cancelled,
            ),
            "ReservationExpired" => (
                ReservationExpired::decode(payload)?.event_id,
                StatChange::Expired,
            ),
            "PaymentRefunded" => {
                let e = PaymentRefunded::decode(payload)?;
                if !is_sale(&e.purpose) {
                    return Ok(());
                }
                (e.event_id, StatChange::Refunded { amount: e.amount })
            }
            "TransferCompleted" => {
                let e = TransferCompleted::decode(payload)?;
                // A refunded seller's money is counted back out by their PaymentRefunded;
                // the buyer's takes its place. A paid-out seller's sale stands as it was.
                let revenue = if e.settlement == "refund" { e.price } else { 0 };
                (e.event_id, StatChange::Transferred { revenue })
            }
            // Other events on these streams do not move the figures.
            _ => return Ok(()),
        };
        stats::apply(tx, uuid(&event_id)?, change).await?;
        Ok(())
    }
}

/// Confirms the reservation of a confirmed payment if it is not confirmed yet. Idempotent:
/// an already confirmed reservation answers `NotPending`, which is success here.
pub struct Ticket {
    pub events: EventDirectory,
}

#[async_trait]
impl Handler for Ticket {
    async fn handle(&self, event: &BusEvent, _tx: &mut Tx) -> Result<(), HandlerError> {
        if event.event_type != "PaymentConfirmed" {
            return Ok(());
        }
        let paid = PaymentConfirmed::decode(event.payload.as_slice())?;
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

/// The consumers one node runs, named after the node so each is a group member.
pub fn consumers(db: &PgPool, kv: &Kv, events: &EventDirectory, node: &str) -> Vec<Consumer> {
    vec![
        Consumer::new(
            db.clone(),
            kv.clone(),
            "stats-service-group",
            node,
            &["reservation-events", "payment-events", "transfer-events"],
            Arc::new(Stats),
        ),
        Consumer::new(
            db.clone(),
            kv.clone(),
            "ticket-service-group",
            node,
            &["payment-events"],
            Arc::new(Ticket {
                events: events.clone(),
            }),
        ),
    ]
}
