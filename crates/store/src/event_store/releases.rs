//! Releasing holds: a pending reservation cancelled by its holder or expired, its items no
//! longer live, with the event that says which.

use chrono::Utc;
use sqlx::PgPool;
use urr_actors::ids::ReservationId;
use urr_actors::ownership::Fence;
use urr_actors::ports::{Ending, StoreFailure};
use urr_proto::DomainEvent;
use urr_proto::events::{ReservationCancelled, ReservationExpired};
use uuid::Uuid;

use super::failure;
use super::record::{history, publish};
use crate::fencing;

/// Ends `reservation` if it is still pending; false when it was not.
pub(super) async fn finish(
    db: &PgPool,
    fence: Option<&Fence>,
    reservation: ReservationId,
    ending: Ending,
    note: &str,
) -> Result<bool, StoreFailure> {
    let status = ending_status(ending);
    let mut tx = fencing::begin(db, fence).await.map_err(failure)?;
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
    let message = ended_event(reservation.0, user, event, total, ending, note);
    publish(&mut tx, reservation.0, message).await?;
    let seats: Vec<Option<Uuid>> = sqlx::query_scalar(
        "UPDATE reservation_items SET live = false WHERE reservation_id = $1 RETURNING seat_id",
    )
    .bind(reservation.0)
    .fetch_all(&mut *tx)
    .await
    .map_err(failure)?;
    // A lock marked sold has no expiry (a crash between Redis's confirm and this row's):
    // the release is owed until the actor's unlock lands, else the reconciler does it.
    let seats: Vec<Uuid> = seats.into_iter().flatten().collect();
    crate::seat_releases::owe(&mut tx, reservation.0, event, &seats)
        .await
        .map_err(failure)?;
    history(&mut tx, reservation.0, status, note).await?;
    tx.commit().await.map_err(failure)?;
    Ok(true)
}

/// [`finish`] for many reservations in one transaction (the tick ends every lapsed hold
/// at once): each one still pending gets its status, history line and outbox event. Per
/// reservation, whether it was still pending.
pub(super) async fn finish_many(
    db: &PgPool,
    fence: Option<&Fence>,
    endings: &[(ReservationId, Ending)],
    note: &str,
) -> Result<Vec<bool>, StoreFailure> {
    if endings.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = endings.iter().map(|(r, _)| r.0).collect();
    let statuses: Vec<&str> = endings.iter().map(|(_, e)| ending_status(*e)).collect();
    let mut tx = fencing::begin(db, fence).await.map_err(failure)?;
    let ended: Vec<(Uuid, Uuid, Uuid, i64, String)> = sqlx::query_as(
        "UPDATE reservations r SET status = t.status, updated_at = now() \
         FROM UNNEST($1::uuid[], $2::text[]) AS t(id, status) \
         WHERE r.id = t.id AND r.status = 'pending' \
         RETURNING r.id, r.user_id, r.event_id, r.total_amount, t.status",
    )
    .bind(&ids)
    .bind(&statuses)
    .fetch_all(&mut *tx)
    .await
    .map_err(failure)?;
    let mut events = Vec::with_capacity(ended.len());
    let (mut ended_ids, mut ended_statuses) = (Vec::new(), Vec::new());
    for (id, user, event, total, status) in ended {
        let ending = if status == ending_status(Ending::Cancelled) {
            Ending::Cancelled
        } else {
            Ending::Expired
        };
        events.push((
            ended_event(id, user, event, total, ending, note),
            id.to_string(),
        ));
        ended_ids.push(id);
        ended_statuses.push(status);
    }
    crate::outbox::append_many(&mut tx, &events)
        .await
        .map_err(failure)?;
    let released: Vec<(Uuid, Option<Uuid>, Uuid)> = sqlx::query_as(
        "UPDATE reservation_items SET live = false WHERE reservation_id = ANY($1) \
         RETURNING reservation_id, seat_id, event_id",
    )
    .bind(&ended_ids)
    .fetch_all(&mut *tx)
    .await
    .map_err(failure)?;
    // Owed until the actor's unlock lands (see `finish`); one event per actor.
    if let Some(&(_, _, event)) = released.first() {
        let seats: Vec<(Uuid, Uuid)> = released
            .iter()
            .filter_map(|&(r, seat, _)| seat.map(|s| (r, s)))
            .collect();
        crate::seat_releases::owe_many(&mut tx, event, &seats)
            .await
            .map_err(failure)?;
    }
    sqlx::query(
        "INSERT INTO reservation_history (reservation_id, status, note) \
         SELECT id, status, $3 FROM UNNEST($1::uuid[], $2::text[]) AS t(id, status)",
    )
    .bind(&ended_ids)
    .bind(&ended_statuses)
    .bind(note)
    .execute(&mut *tx)
    .await
    .map_err(failure)?;
    tx.commit().await.map_err(failure)?;
    let done: std::collections::HashSet<Uuid> = ended_ids.into_iter().collect();
    Ok(ids.iter().map(|id| done.contains(id)).collect())
}

fn ending_status(ending: Ending) -> &'static str {
    match ending {
        Ending::Cancelled => "cancelled",
        Ending::Expired => "expired",
    }
}

/// The event others hear when a pending reservation ends without a sale.
fn ended_event(
    reservation: Uuid,
    user: Uuid,
    event: Uuid,
    total: i64,
    ending: Ending,
    note: &str,
) -> DomainEvent {
    let now_ms = Utc::now().timestamp_millis();
    match ending {
        Ending::Cancelled => DomainEvent::ReservationCancelled(ReservationCancelled {
            reservation_id: reservation.to_string(),
            user_id: user.to_string(),
            event_id: event.to_string(),
            total_amount: total,
            reason: note.to_owned(),
            occurred_at_ms: now_ms,
        }),
        Ending::Expired => DomainEvent::ReservationExpired(ReservationExpired {
            reservation_id: reservation.to_string(),
            user_id: user.to_string(),
            event_id: event.to_string(),
            occurred_at_ms: now_ms,
        }),
    }
}
