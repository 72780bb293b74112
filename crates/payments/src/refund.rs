//! A refund's steps after it is recorded `refunding`, each repeatable: the provider gives
//! the money back (a second cancel is answered as done), then no ticket may remain: a
//! confirmed reservation is cancelled by its event's actor in the transaction that records
//! the payment `refunded`; with no ticket to cancel the payment is `refunded` directly.
//! A refund interrupted anywhere (a crash, the actor away, the provider down) is resumed
//! by the reconciler from the step it reached.

use urr_store::payments::{self, Payment, Target};
use urr_store::reservations;
use urr_wire::status::{PaymentStatus, ReservationStatus};

use crate::error::PaymentError;
use crate::provider::ProviderError;
use crate::settler::{Progress, Settler};

impl Settler {
    /// One attempt to take a refunding payment to `refunded`.
    pub async fn refund(&self, payment: &Payment) -> Result<Progress, PaymentError> {
        let payment = self.reread(payment.id).await?;
        if payment.status != PaymentStatus::Refunding {
            return Ok(Progress::reached(payment));
        }
        if payment.provider_cancelled_at.is_none()
            && let Some(waiting) = self.money_back(&payment).await?
        {
            return Ok(waiting);
        }
        if let Some(Target::Reservation(reservation)) = payment.target() {
            let event = payment.event_id.ok_or(PaymentError::NotFound("event"))?;
            let status = reservations::status(&self.db, reservation).await?;
            if status == Some(ReservationStatus::Pending) {
                // No ticket yet, and none can come (a refunding payment's sale is refused):
                // the hold is let go before the refund is called done, so its seats go
                // back on sale. While the event is served nowhere (its owner cannot hold
                // a lease: docs/architecture.md#ownership) the refund waits, with the
                // money back, and the reconciler tries again.
                let user = payment.user_id;
                if let Err(err) = self.tickets.cancel_hold(event, user, reservation).await {
                    let still = reservations::status(&self.db, reservation).await?;
                    if still == Some(ReservationStatus::Pending) {
                        return Ok(Progress::Waiting(format!(
                            "the money is back but the hold is not let go yet: {err}"
                        )));
                    }
                }
            }
            if status == Some(ReservationStatus::Confirmed)
                && let Err(err) = self.tickets.cancel_sale(event, reservation).await
            {
                let still = reservations::status(&self.db, reservation).await?;
                if still == Some(ReservationStatus::Confirmed) {
                    return Ok(Progress::Waiting(format!(
                        "the money is back but the ticket is not cancelled yet: {err}"
                    )));
                }
            }
        }
        // A no-op when the ticket's cancellation recorded it already.
        payments::refunded(&self.db, payment.id).await?;
        crate::telemetry::outcome(payment.provider, "refunded");
        Ok(Progress::reached(self.reread(payment.id).await?))
    }

    /// The refund's first step. `Some` when it cannot go further now; a refund the buyer
    /// asked for that the provider refuses returns to where it came from.
    async fn money_back(&self, payment: &Payment) -> Result<Option<Progress>, PaymentError> {
        let Ok(provider) = self.provider(&payment.provider) else {
            return Ok(Some(Progress::Waiting(format!(
                "provider {} is not configured on this node",
                payment.provider
            ))));
        };
        let key = payment.payment_key.clone().unwrap_or_default();
        let reason = payment.refund_reason.clone().unwrap_or_default();
        match provider.cancel(&key, &reason, payment.amount).await {
            Ok(()) => {
                payments::provider_cancelled(&self.db, payment.id).await?;
                Ok(None)
            }
            Err(ProviderError::Unavailable(why)) => Ok(Some(Progress::Waiting(format!(
                "the provider did not give the money back yet: {why}"
            )))),
            Err(ProviderError::Declined { code, message }) => {
                let back = payments::refund_refused(&self.db, payment.id, &code, &message).await?;
                if back.is_none() {
                    tracing::error!(
                        order = %payment.order_id, %code, %message,
                        "the provider refuses a refund that is owed: needs an operator"
                    );
                    return Ok(Some(Progress::Waiting(format!(
                        "the provider refused the refund: {code}: {message}"
                    ))));
                }
                Ok(Some(Progress::reached(self.reread(payment.id).await?)))
            }
        }
    }
}
