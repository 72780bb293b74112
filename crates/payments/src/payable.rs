//! What can be paid for now, and what it costs: a held reservation, a fan-club membership
//! awaiting its fee, a ticket listed for transfer.

use chrono::Utc;
use urr_store::payments::Target;
use urr_store::{PgPool, memberships, reservations, transfers};
use urr_wire::status::{MembershipStatus, ReservationStatus};
use uuid::Uuid;

use crate::error::PaymentError;

/// What paying for a target costs now, and the event it belongs to.
pub(crate) struct Payable {
    pub event_id: Option<Uuid>,
    pub amount: i64,
}

/// The caller's reservation, still pending and within its hold.
async fn payable_reservation(
    db: &PgPool,
    user: Uuid,
    reservation: Uuid,
) -> Result<reservations::Reservation, PaymentError> {
    let found = reservations::without_items(db, reservation)
        .await?
        .filter(|r| r.user_id == user)
        .ok_or(PaymentError::NotFound("reservation"))?;
    if found.status != ReservationStatus::Pending {
        return Err(PaymentError::NotPending);
    }
    if found.expires_at <= Utc::now() {
        return Err(PaymentError::HoldExpired);
    }
    Ok(found)
}

/// What `user` would pay for `target` now; refused when it cannot be paid for.
pub(crate) async fn payable(
    db: &PgPool,
    user: Uuid,
    target: Target,
) -> Result<Payable, PaymentError> {
    match target {
        Target::Reservation(id) => {
            let found = payable_reservation(db, user, id).await?;
            Ok(Payable {
                event_id: Some(found.event_id),
                amount: found.total_amount,
            })
        }
        Target::Membership(id) => {
            let found = memberships::get(db, id)
                .await?
                .filter(|m| m.user_id == user)
                .ok_or(PaymentError::NotFound("membership"))?;
            if found.status != MembershipStatus::Pending || found.price <= 0 {
                return Err(PaymentError::Conflict(format!(
                    "this membership is {}, not awaiting payment",
                    found.status
                )));
            }
            Ok(Payable {
                event_id: None,
                amount: found.price,
            })
        }
        Target::Transfer(id) => {
            if transfers::get(db, id).await?.is_none() {
                return Err(PaymentError::NotFound("transfer"));
            }
            let listing = transfers::buyable(db, id).await?.ok_or_else(|| {
                PaymentError::Conflict("this ticket is no longer for sale".into())
            })?;
            if listing.seller_id == user {
                return Err(PaymentError::Invalid(
                    "this is your own listing: withdraw it rather than buy it".into(),
                ));
            }
            Ok(Payable {
                event_id: Some(listing.event_id),
                amount: listing.price,
            })
        }
    }
}
