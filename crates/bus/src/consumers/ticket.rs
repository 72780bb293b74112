//! The ticket consumer owns the completion of a paid reservation: for each
//! `PaymentConfirmed` it completes the payment (the ticket confirmed, completed late on
//! still-free seats, or the money back) and acknowledges only once the payment is
//! delivered or refunded (or was never charged). Anything short of that fails the
//! delivery, so it is retried; a payment still unfinished after the last retry is the
//! reconciler's. It never confirms a reservation whose payment is being refunded: the
//! store refuses that sale.

use std::sync::Arc;

use async_trait::async_trait;
use urr_payments::{Completion, PaymentService};
use urr_proto::DomainEvent;

use super::{domain_event, is_sale};
use crate::{BusEvent, Handler, HandlerError, Tx};

pub struct Ticket {
    pub payments: Arc<PaymentService>,
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
        match self.payments.complete_order(&paid.order_id).await? {
            Completion::Delivered | Completion::Refunded | Completion::NotCharged => Ok(()),
            Completion::Unfinished(why) => {
                Err(format!("payment {} is not settled yet: {why}", paid.order_id).into())
            }
        }
    }
}
