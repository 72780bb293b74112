//! Releasing holds: a pending reservation cancelled by its holder or expired, its items no
//! longer live, with the event that says which.

use chrono::Utc;
use sqlx::PgPool;
use urr_actors::ids::ReservationId;
use urr_actors::ports::{Ending, StoreFailure};
use urr_proto::DomainEvent;
use urr_proto::events::{ReservationCancelled, ReservationExpired};
use uuid::Uuid;

use super::failure;
use super::record::{history, publish};

/// Ends `reservation` if it is still pending; false when it was not.
pub(super) async fn finish(
    db: &PgPool,
    reservation: ReservationId,
    ending: Ending,
    note: &str,
) -> Result<bool, StoreFailure> {
    let status = match ending {
        Ending::Cancelled => "cancelled",
        Ending::Expired => "expired",
    };
    let mut tx = db.begin().await.map_err(failure)?;
    let ended: Option<(Uuid, Uuid, i64)> = sqlx::query_as(
        "UPDATE reservations SET status = $2, updated_at = now() \
         WHERE id = $1 AND status = 'pending' RETURNING user_id, event_id, total_amount",
    )
    .bind(reservation.0)
    .bind(status)
    .fetch_optional(&mut *tx)
    .await
    .map_err(failure)?;
    let Some((user, event, total)) = ended else {
        return Ok(false);
    };
    let now_ms = Utc::now().timestamp_millis();
    let message = match ending {
        Ending::Cancelled => DomainEvent::ReservationCancelled(ReservationCancelled {
            reservation_id: reservation.0.to_string(),
            user_id: user.to_string(),
            event_id: event.to_string(),
            total_amount: total,
            reason: note.to_owned(),
            occurred_at_ms: now_ms,
        }),
        Ending::Expired => DomainEvent::ReservationExpired(ReservationExpired {
            reservation_id: reservation.0.to_string(),
            user_id: user.to_string(),
            event_id: event.to_string(),
            occurred_at_ms: now_ms,
        }),
    };
    publish(&mut tx, reservation.0, message).await?;
    sqlx::query("UPDATE reservation_items SET live = false WHERE reservation_id = $1")
        .bind(reservation.0)
        .execute(&mut *tx)
        .await
        .map_err(failure)?;
    history(&mut tx, reservation.0, status, note).await?;
    tx.commit().await.map_err(failure)?;
    Ok(true)
}
