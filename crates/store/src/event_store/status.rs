//! What PostgreSQL records, read or written outside a hold or a sale: a reservation's
//! status (so the actor settles an ambiguous "not pending" by the record, not by a guess)
//! and the event's sold-out status.

use sqlx::PgPool;
use urr_actors::ids::{ReservationId, UserId};
use urr_actors::ownership::Fence;
use urr_actors::ports::{Recorded, RecordedReservation, StoreFailure};
use uuid::Uuid;

use super::failure;

pub(super) async fn reservation(
    db: &PgPool,
    reservation: ReservationId,
) -> Result<Option<RecordedReservation>, StoreFailure> {
    let row: Option<(Uuid, String)> =
        sqlx::query_as("SELECT user_id, status FROM reservations WHERE id = $1")
            .bind(reservation.0)
            .fetch_optional(db)
            .await
            .map_err(failure)?;
    Ok(row.map(|(user, status)| RecordedReservation {
        user: UserId::from(user),
        status: match status.as_str() {
            "pending" => Recorded::Pending,
            "confirmed" => Recorded::Confirmed,
            _ => Recorded::Ended,
        },
    }))
}

/// Sold out from on sale, or back; any other status (set by an operator) stays.
pub(super) async fn record_sold_out(
    db: &PgPool,
    fence: Option<&Fence>,
    event_id: Uuid,
    sold_out: bool,
) -> Result<(), StoreFailure> {
    let (from, to) = if sold_out {
        ("on_sale", "sold_out")
    } else {
        ("sold_out", "on_sale")
    };
    let mut tx = crate::fencing::begin(db, fence).await.map_err(failure)?;
    sqlx::query("UPDATE events SET status = $3, updated_at = now() WHERE id = $1 AND status = $2")
        .bind(event_id)
        .bind(from)
        .bind(to)
        .execute(&mut *tx)
        .await
        .map_err(failure)?;
    tx.commit().await.map_err(failure)
}
