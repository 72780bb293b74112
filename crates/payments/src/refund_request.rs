//! A refund as the buyer (or an operator) asks for it: recorded `refunding` at once, then
//! carried out in a task of its own (see `refund` for the steps), waited for a bounded
//! time. Asking again answers with where the refund stands, moving it on if it was cut
//! off.

use std::sync::Arc;

use tokio::time::Instant;
use urr_store::payments::{self, BeginRefund, Payment, Target};
use urr_wire::status::PaymentStatus;
use uuid::Uuid;

use crate::error::PaymentError;
use crate::service::PaymentService;
use crate::settler::Progress;
use crate::view::{PaymentView, view};

impl PaymentService {
    /// Gives the money back and puts the seats on sale again. Only a ticket's own sale is
    /// refundable, and only while its buyer still holds it: a ticket that changed hands,
    /// a ticket bought through a transfer and a membership fee are not. Asking again
    /// answers with where the refund stands (moving it on if it was cut off).
    pub async fn refund(
        &self,
        user: Uuid,
        is_admin: bool,
        order: &str,
        reason: &str,
    ) -> Result<PaymentView, PaymentError> {
        let payment = payments::by_order(self.db(), order)
            .await?
            .filter(|p| is_admin || p.user_id == user)
            .ok_or(PaymentError::NotFound("order"))?;
        match payment.target() {
            Some(Target::Reservation(_)) => {}
            Some(Target::Membership(_)) => {
                return Err(PaymentError::Conflict(
                    "membership fees are not refundable".into(),
                ));
            }
            Some(Target::Transfer(_)) => {
                return Err(PaymentError::Conflict(
                    "tickets bought through a transfer are final".into(),
                ));
            }
            None => return Err(PaymentError::NotFound("order")),
        }
        let refunding = match self.begin_refund(payment, reason).await? {
            Ok(refunding) => refunding,
            Err(settled) => return Ok(view(settled)),
        };
        let id = refunding.id;
        let settler = Arc::clone(&self.settler);
        let deadline = Instant::now() + settler.timing.request_wait;
        let task = self.settler.detach(async move {
            if let Progress::Waiting(why) = settler.refund(&refunding).await? {
                tracing::warn!(order = %refunding.order_id, %why, "refund under way");
            }
            settler.advance_until(&refunding, deadline).await
        });
        let now = self.outcome(task, id).await?;
        match now.status {
            PaymentStatus::Refunding => Err(PaymentError::ProviderUnavailable(
                "the refund is under way and will complete by itself; ask again for its outcome"
                    .into(),
            )),
            // The provider refused: the sale stands, and says why.
            PaymentStatus::Done | PaymentStatus::Paid => Err(PaymentError::Declined {
                code: now.failure_code.unwrap_or_default(),
                message: now.failure_message.unwrap_or_default(),
            }),
            _ => Ok(view(now)),
        }
    }

    /// `Ok` with the payment now `refunding` (started here or earlier), or `Err` with
    /// the payment when its refund is over already.
    async fn begin_refund(
        &self,
        payment: Payment,
        reason: &str,
    ) -> Result<Result<Payment, Payment>, PaymentError> {
        let grace = self.settler.timing.grace;
        let mut current = payment;
        for _ in 0..2 {
            match current.status {
                PaymentStatus::Refunding => return Ok(Ok(current)),
                // Refunded through a refund of its own (not a transfer's settlement).
                PaymentStatus::Refunded if current.refund_reason.is_some() => {
                    return Ok(Err(current));
                }
                PaymentStatus::Paid | PaymentStatus::Done => {
                    match payments::begin_refund(self.db(), &current, reason, grace).await? {
                        BeginRefund::Started(started) => return Ok(Ok(*started)),
                        BeginRefund::Transferred => {
                            return Err(PaymentError::Conflict(
                                "this ticket was transferred to another fan and can no longer \
                                 be refunded"
                                    .into(),
                            ));
                        }
                        // It moved meanwhile: look again.
                        BeginRefund::NotRefundable => {
                            current = self.settler.reread(current.id).await?;
                        }
                    }
                }
                _ => break,
            }
        }
        Err(PaymentError::NotRefundable)
    }
}
