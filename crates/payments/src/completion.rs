//! Completion: a paid reservation payment ends with the buyer's ticket or their money
//! back. One routine for the request that took the payment, the ticket consumer of
//! `PaymentConfirmed` and the reconciler:
//! - the reservation is confirmed → the payment is `done` (the store does both at once);
//! - it is pending → the actor confirms it; if it cannot (the hold is lapsing, the actor
//!   is away) it waits for the next attempt, since the hold's end decides what follows;
//! - it has lapsed → the sale completes late when every seat is still free, else the
//!   money goes back (as it does for a hold its buyer cancelled).

use urr_actors::event::EventError;
use urr_store::payments::{self, Payment, Target};
use urr_store::reservations;
use urr_wire::status::{PaymentStatus, ReservationStatus};
use uuid::Uuid;

use crate::error::PaymentError;
use crate::settler::{Progress, Settler};

/// Why a paid payment is given back when its ticket cannot be had.
const LATE: &str = "paid after the hold lapsed and its seats were taken, so the payment was \
                    refunded automatically";
const CANCELLED: &str = "paid for a hold that was cancelled, so the payment was refunded \
                         automatically";

/// Failures of a late completion that say the seats are gone for good (any other is the
/// actor being unavailable, or a hold that has not lapsed yet: worth another attempt).
fn seats_gone(err: &EventError) -> bool {
    matches!(
        err,
        EventError::SeatsTaken(_)
            | EventError::UnknownSeats(_)
            | EventError::DuplicateSeats(_)
            | EventError::TooMany { .. }
            | EventError::Empty
            | EventError::EventNotFound
    )
}

impl Settler {
    /// One attempt to take a paid reservation payment to `done` or into its refund.
    pub async fn complete(&self, payment: &Payment) -> Result<Progress, PaymentError> {
        let payment = self.reread(payment.id).await?;
        self.complete_as_read(payment).await
    }

    /// [`Self::complete`] of a payment as it stands now: just read, or answered by the
    /// statement that recorded its charge (one pooled statement fewer per payment in a
    /// rush, `BENCHMARKS.md`, "an eighth session").
    pub(crate) async fn complete_as_read(
        &self,
        payment: Payment,
    ) -> Result<Progress, PaymentError> {
        match payment.status {
            PaymentStatus::Paid => {}
            PaymentStatus::Refunding => return self.refund(&payment).await,
            _ => return Ok(Progress::reached(payment)),
        }
        let Some(Target::Reservation(reservation)) = payment.target() else {
            return Ok(Progress::reached(payment));
        };
        let event = payment.event_id.ok_or(PaymentError::NotFound("event"))?;
        // The actor is asked first, without reading the reservation's status: it sells
        // only a pending hold and answers `Ok` only for a sale PostgreSQL has committed
        // (now or before), and whatever else it answers, the status is read then. In a
        // rush most payments find their hold pending, and a read first was one more wait
        // for a pooled connection per payment (`BENCHMARKS.md`, "a seventh session").
        let status = match self.tickets.confirm(event, reservation).await {
            Ok(()) => Some(ReservationStatus::Confirmed),
            Err(err) => {
                tracing::debug!(order = %payment.order_id, %err, "confirming a paid reservation");
                let now = self.reservation_status(reservation).await?;
                if now == Some(ReservationStatus::Pending) {
                    return Ok(Progress::Waiting(format!(
                        "the reservation is still held and could not be confirmed: {err}"
                    )));
                }
                now
            }
        };
        match status {
            Some(ReservationStatus::Confirmed) => {
                let settled = payments::ticketed_and_read(&self.db, reservation, payment.id)
                    .await?
                    .ok_or(PaymentError::NotFound("order"))?;
                crate::telemetry::outcome(payment.provider, "ticketed");
                Ok(Progress::reached(settled))
            }
            Some(ReservationStatus::Expired) => {
                self.complete_late(&payment, reservation, event).await
            }
            Some(ReservationStatus::Cancelled) => self.give_back(&payment, CANCELLED).await,
            other => Ok(Progress::Waiting(format!(
                "the reservation is {}",
                other.map_or("missing", ReservationStatus::as_str)
            ))),
        }
    }

    async fn reservation_status(
        &self,
        reservation: Uuid,
    ) -> Result<Option<ReservationStatus>, PaymentError> {
        Ok(reservations::status(&self.db, reservation).await?)
    }

    /// The hold lapsed before the payment completed: the sale is completed on fresh locks
    /// when every seat is still free, else the money goes back.
    async fn complete_late(
        &self,
        payment: &Payment,
        reservation: Uuid,
        event: Uuid,
    ) -> Result<Progress, PaymentError> {
        let seats: Vec<Uuid> = reservations::get(&self.db, reservation)
            .await?
            .map(|(_, items)| items.iter().filter_map(|i| i.seat_id).collect())
            .unwrap_or_default();
        if seats.is_empty() {
            // Counted tickets are not held back for a late payment.
            return self.give_back(payment, LATE).await;
        }
        let revived = self
            .tickets
            .revive(event, payment.user_id, reservation, seats)
            .await;
        match revived {
            Ok(()) => {
                crate::telemetry::outcome(payment.provider, "ticketed");
                Ok(Progress::reached(self.reread(payment.id).await?))
            }
            Err(err) => {
                if self.reservation_status(reservation).await? == Some(ReservationStatus::Confirmed)
                {
                    payments::ticketed(&self.db, reservation).await?;
                    return Ok(Progress::reached(self.reread(payment.id).await?));
                }
                if seats_gone(&err) {
                    self.give_back(payment, LATE).await
                } else {
                    Ok(Progress::Waiting(format!(
                        "completing a lapsed reservation: {err}"
                    )))
                }
            }
        }
    }

    /// No ticket can be had for the money: it is owed back from now on, and the refund
    /// starts.
    async fn give_back(&self, payment: &Payment, why: &str) -> Result<Progress, PaymentError> {
        payments::refund_late(&self.db, payment.id, why, self.timing.grace).await?;
        let owed = self.reread(payment.id).await?;
        self.refund(&owed).await
    }
}
