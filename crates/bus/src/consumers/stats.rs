//! The stats consumer: keeps `event_stats` from reservation, payment and transfer events.

use async_trait::async_trait;
use urr_proto::DomainEvent;
use urr_store::stats::{self, StatChange};

use super::{domain_event, is_sale, uuid};
use crate::{BusEvent, Handler, HandlerError, Tx};

pub struct Stats;

#[async_trait]
impl Handler for Stats {
    async fn handle(&self, event: &BusEvent, tx: &mut Tx) -> Result<(), HandlerError> {
        let Some(domain) = domain_event(event)? else {
            return Ok(());
        };
        let (event_id, change) = match domain {
            DomainEvent::ReservationConfirmed(e) => (
                e.event_id,
                StatChange::Confirmed {
                    amount: e.total_amount,
                },
            ),
            DomainEvent::ReservationCancelled(e) => (e.event_id, StatChange::Cancelled),
            DomainEvent::ReservationExpired(e) => (e.event_id, StatChange::Expired),
            DomainEvent::PaymentRefunded(e) if is_sale(&e.purpose) => {
                (e.event_id, StatChange::Refunded { amount: e.amount })
            }
            DomainEvent::TransferCompleted(e) => {
                // A refunded seller's money is counted back out by their PaymentRefunded;
                // the buyer's takes its place. A paid-out seller's sale stands as it was.
                let revenue = if e.settlement == "refund" { e.price } else { 0 };
                (e.event_id, StatChange::Transferred { revenue })
            }
            // Payments count once their reservation is confirmed or cancelled; refunds of
            // memberships and transfers are not sales.
            DomainEvent::PaymentConfirmed(_)
            | DomainEvent::PaymentRefunded(_)
            | DomainEvent::MembershipActivated(_) => return Ok(()),
        };
        stats::apply(tx, uuid(&event_id)?, change).await?;
        Ok(())
    }
}
