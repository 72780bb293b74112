//! The event as the actor starts from it: status, settings, seats, ticket types and the
//! reservations still live (pending or confirmed) with their seats and tokens.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgPool};
use urr_actors::event::QueueSettings;
use urr_actors::ids::{FencingToken, ReservationId, SeatId, TicketTypeId, UserId};
use urr_actors::ports::{EventSnapshot, LiveReservation, StoreFailure};
use uuid::Uuid;

use super::failure;

#[derive(FromRow)]
struct LiveRow {
    id: Uuid,
    user_id: Uuid,
    idempotency_key: String,
    status: String,
    expires_at: DateTime<Utc>,
    seat_id: Option<Uuid>,
    ticket_type_id: Option<Uuid>,
    quantity: i32,
    fencing_token: Option<i64>,
}

/// The snapshot of `event_id`, or `None` when there is no such event; `defaults` stand in
/// for settings the event has none of.
pub(super) async fn load(
    db: &PgPool,
    event_id: Uuid,
    defaults: QueueSettings,
) -> Result<Option<EventSnapshot>, StoreFailure> {
    let mut conn = db.acquire().await.map_err(failure)?;
    let status: Option<String> = sqlx::query_scalar("SELECT status FROM events WHERE id = $1")
        .bind(event_id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(failure)?;
    let Some(status) = status else {
        return Ok(None);
    };
    let settings = crate::queue_settings::get(db, event_id)
        .await
        .map_err(failure)?
        .unwrap_or(defaults);
    let seats: Vec<(Uuid, i64)> = sqlx::query_as(
        "SELECT s.id, s.price FROM seats s JOIN seat_sections sec ON sec.id = s.section_id \
         WHERE s.event_id = $1 \
         ORDER BY sec.sort_order, sec.id, s.row_number, s.seat_number, s.id",
    )
    .bind(event_id)
    .fetch_all(&mut *conn)
    .await
    .map_err(failure)?;
    let ticket_types: Vec<(Uuid, i64, Option<i32>)> = sqlx::query_as(
        "SELECT id, price, quantity FROM ticket_types WHERE event_id = $1 ORDER BY sort_order",
    )
    .bind(event_id)
    .fetch_all(&mut *conn)
    .await
    .map_err(failure)?;
    let rows = sqlx::query_as::<_, LiveRow>(
        "SELECT r.id, r.user_id, r.idempotency_key, r.status, r.expires_at, i.seat_id, i.ticket_type_id, \
         i.quantity, i.fencing_token FROM reservations r \
         JOIN reservation_items i ON i.reservation_id = r.id \
         WHERE r.event_id = $1 AND r.status IN ('pending', 'confirmed') ORDER BY r.id, i.id",
    )
    .bind(event_id)
    .fetch_all(&mut *conn)
    .await
    .map_err(failure)?;
    let mut live: Vec<LiveReservation> = Vec::new();
    let mut index: HashMap<Uuid, usize> = HashMap::new();
    for row in rows {
        let at = *index.entry(row.id).or_insert_with(|| {
            live.push(LiveReservation {
                id: ReservationId::from(row.id),
                user: UserId::from(row.user_id),
                idempotency_key: row.idempotency_key.clone(),
                pending_until: (row.status == "pending").then_some(row.expires_at),
                seats: Vec::new(),
                tickets: None,
            });
            live.len() - 1
        });
        let reservation = &mut live[at];
        if let Some(seat) = row.seat_id {
            let token = row
                .fencing_token
                .map(|t| FencingToken(u64::try_from(t).unwrap_or(0)));
            reservation.seats.push((SeatId::from(seat), token));
        } else if let Some(ticket_type) = row.ticket_type_id {
            reservation.tickets = Some((
                TicketTypeId::from(ticket_type),
                u32::try_from(row.quantity).unwrap_or(0),
            ));
        }
    }
    Ok(Some(EventSnapshot {
        event_id,
        // Sold out still sells: a refund brings a seat back, and the actor takes it.
        on_sale: status == "on_sale" || status == "sold_out",
        sold_out: status == "sold_out",
        settings,
        seats: seats
            .into_iter()
            .map(|(id, price)| (SeatId::from(id), price))
            .collect(),
        ticket_types: ticket_types
            .into_iter()
            .map(|(id, price, quantity)| {
                (
                    TicketTypeId::from(id),
                    price,
                    quantity.map(|q| u32::try_from(q).unwrap_or(0)),
                )
            })
            .collect(),
        live,
    }))
}
