//! Sales: a pending reservation confirmed once its fencing tokens check out, an expired
//! one revived by a payment that came late, and a confirmed one cancelled by a refund.
//! Each is one transaction holding every effect of the change, the buyer's fan-club
//! points among them, and the payment's state with it: a sale makes a `paid` payment
//! `done`, a refund's cancellation makes a `refunding` one `refunded`, and no sale lands
//! while its payment is being refunded. So a ticket and a refund never coexist.

use std::collections::HashMap;

use chrono::Utc;
use sqlx::PgPool;
use urr_actors::ids::{FencingToken, ReservationId, SeatId};
use urr_actors::ownership::Fence;
use urr_actors::ports::{ConfirmOutcome, SaleRequest, StoreFailure};
use urr_proto::DomainEvent;
use urr_proto::events::{ReservationCancelled, ReservationConfirmed};
use uuid::Uuid;

use super::failure;
use super::record::{Tx, history, history_many, publish};
use crate::memberships::{self, PURCHASE_POINTS};
use crate::{Kv, fencing, payments, seat_locks, seat_releases};

/// A reservation that is becoming (or has been) a sale.
struct Sale<'a> {
    event: Uuid,
    reservation: ReservationId,
    buyer: Uuid,
    total: i64,
    seats: &'a [(SeatId, FencingToken)],
}

/// Confirms a pending reservation whose seats' fencing tokens are still current.
pub(super) async fn confirm(
    db: &PgPool,
    kv: &Kv,
    fence: Option<&Fence>,
    event_id: Uuid,
    reservation: ReservationId,
    seats: &[(SeatId, FencingToken)],
) -> Result<ConfirmOutcome, StoreFailure> {
    let mut tx = fencing::begin(db, fence).await.map_err(failure)?;
    // The row lock keeps the sweeper off this reservation while Redis is checked.
    let status: Option<String> =
        sqlx::query_scalar("SELECT status FROM reservations WHERE id = $1 FOR UPDATE")
            .bind(reservation.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(failure)?;
    match status.as_deref() {
        Some("pending") => {}
        // Confirmed already (a retry whose first attempt committed but did not answer):
        // the sale stands, and saying so keeps the caller from undoing it.
        Some("confirmed") => return Ok(ConfirmOutcome::Confirmed),
        _ => return Ok(ConfirmOutcome::NotPending),
    }
    if payments::refund_blocks_sale(&mut tx, reservation.0)
        .await
        .map_err(failure)?
    {
        return Ok(ConfirmOutcome::NotPending);
    }
    let pairs: Vec<(Uuid, u64)> = seats.iter().map(|(s, t)| (s.0, t.0)).collect();
    if let Err(stale) =
        seat_locks::confirm(kv, event_id, fence.map(|f| f.epoch), reservation.0, &pairs)
            .await
            .map_err(failure)?
    {
        return Ok(ConfirmOutcome::StaleToken(
            stale
                .into_iter()
                .filter_map(|i| seats.get(i).map(|s| s.0))
                .collect(),
        ));
    }
    let (buyer, total): (Uuid, i64) = sqlx::query_as(
        "UPDATE reservations SET status = 'confirmed', confirmed_at = now(), \
         updated_at = now() WHERE id = $1 RETURNING user_id, total_amount",
    )
    .bind(reservation.0)
    .fetch_one(&mut *tx)
    .await
    .map_err(failure)?;
    let sale = Sale {
        event: event_id,
        reservation,
        buyer,
        total,
        seats,
    };
    record_sale(&mut tx, &sale, "fencing tokens verified").await?;
    credit_purchase_points(&mut tx, &sale).await?;
    payments::ticketed_in(&mut tx, reservation.0)
        .await
        .map_err(failure)?;
    tx.commit().await.map_err(failure)?;
    Ok(ConfirmOutcome::Confirmed)
}

/// Confirms a batch of the actor's sales in one transaction
/// (`docs/architecture.md#sales-in-batches`): each reservation gets the outcome
/// [`confirm`] would give it alone, and only those that check out are written, with
/// every effect `confirm` writes. The rows are locked in one order, and the seats'
/// tokens checked by one script call per sale, sent together.
pub(super) async fn confirm_many(
    db: &PgPool,
    kv: &Kv,
    fence: Option<&Fence>,
    event_id: Uuid,
    sales: &[SaleRequest],
) -> Result<Vec<ConfirmOutcome>, StoreFailure> {
    let mut outcomes: Vec<Option<ConfirmOutcome>> = vec![None; sales.len()];
    // A reservation asked twice gets its first answer twice, and is written once.
    let mut first: HashMap<Uuid, usize> = HashMap::new();
    let mut repeats = Vec::new();
    for (i, sale) in sales.iter().enumerate() {
        if let Some(&earlier) = first.get(&sale.reservation.0) {
            repeats.push((i, earlier));
        } else {
            first.insert(sale.reservation.0, i);
        }
    }
    let ids: Vec<Uuid> = first.keys().copied().collect();
    let mut tx = fencing::begin(db, fence).await.map_err(failure)?;
    // The row locks keep the sweeper off these reservations while Redis is checked.
    let statuses: HashMap<Uuid, String> = sqlx::query_as::<_, (Uuid, String)>(
        "SELECT id, status FROM reservations WHERE id = ANY($1) ORDER BY id FOR UPDATE",
    )
    .bind(&ids)
    .fetch_all(&mut *tx)
    .await
    .map_err(failure)?
    .into_iter()
    .collect();
    let mut pending = Vec::new();
    for (&id, &i) in &first {
        match statuses.get(&id).map(String::as_str) {
            Some("pending") => pending.push(i),
            Some("confirmed") => outcomes[i] = Some(ConfirmOutcome::Confirmed),
            _ => outcomes[i] = Some(ConfirmOutcome::NotPending),
        }
    }
    pending.sort_unstable();
    let pending_ids: Vec<Uuid> = pending.iter().map(|&i| sales[i].reservation.0).collect();
    let blocked = payments::refunds_blocking_sales(&mut tx, &pending_ids)
        .await
        .map_err(failure)?;
    pending.retain(|&i| {
        let refunded = blocked.contains(&sales[i].reservation.0);
        if refunded {
            outcomes[i] = Some(ConfirmOutcome::NotPending);
        }
        !refunded
    });
    let epoch = fence.map(|f| f.epoch);
    let checks = futures::future::join_all(pending.iter().map(|&i| {
        let pairs: Vec<(Uuid, u64)> = sales[i].seats.iter().map(|(s, t)| (s.0, t.0)).collect();
        let owner = sales[i].reservation.0;
        async move { seat_locks::confirm(kv, event_id, epoch, owner, &pairs).await }
    }))
    .await;
    let mut selling = Vec::new();
    for (i, checked) in pending.into_iter().zip(checks) {
        match checked.map_err(failure)? {
            Ok(()) => selling.push(i),
            Err(stale) => {
                let seats = &sales[i].seats;
                outcomes[i] = Some(ConfirmOutcome::StaleToken(
                    stale
                        .into_iter()
                        .filter_map(|k| seats.get(k).map(|s| s.0))
                        .collect(),
                ));
            }
        }
    }
    if !selling.is_empty() {
        let selling_ids: Vec<Uuid> = selling.iter().map(|&i| sales[i].reservation.0).collect();
        let sold: HashMap<Uuid, (Uuid, i64)> = sqlx::query_as::<_, (Uuid, Uuid, i64)>(
            "UPDATE reservations SET status = 'confirmed', confirmed_at = now(), \
             updated_at = now() WHERE id = ANY($1) RETURNING id, user_id, total_amount",
        )
        .bind(&selling_ids)
        .fetch_all(&mut *tx)
        .await
        .map_err(failure)?
        .into_iter()
        .map(|(id, buyer, total)| (id, (buyer, total)))
        .collect();
        let mut made = Vec::with_capacity(selling.len());
        for &i in &selling {
            let sale = &sales[i];
            let Some(&(buyer, total)) = sold.get(&sale.reservation.0) else {
                // Locked as pending above, so the update found it; should it not have,
                // nothing is committed and the actor answers each sale on its own.
                return Err(StoreFailure::Unavailable(format!(
                    "reservation {} was locked pending but not confirmed",
                    sale.reservation.0
                )));
            };
            made.push(Sale {
                event: event_id,
                reservation: sale.reservation,
                buyer,
                total,
                seats: &sale.seats,
            });
        }
        record_sales(&mut tx, &made, "fencing tokens verified").await?;
        let purchases: Vec<(Uuid, Uuid)> =
            made.iter().map(|s| (s.buyer, s.reservation.0)).collect();
        memberships::credit_many(&mut tx, event_id, &purchases, PURCHASE_POINTS, "purchase")
            .await
            .map_err(failure)?;
        payments::ticketed_in_many(&mut tx, &selling_ids)
            .await
            .map_err(failure)?;
    }
    tx.commit().await.map_err(failure)?;
    for i in selling {
        outcomes[i] = Some(ConfirmOutcome::Confirmed);
    }
    for (i, earlier) in repeats {
        outcomes[i] = outcomes[earlier].clone();
    }
    Ok(outcomes
        .into_iter()
        .map(|o| o.unwrap_or(ConfirmOutcome::NotPending))
        .collect())
}

/// Completes an expired reservation whose seats could be locked again (a late payment);
/// false when it was not expired or a seat has gone to someone else.
pub(super) async fn revive(
    db: &PgPool,
    kv: &Kv,
    fence: Option<&Fence>,
    event_id: Uuid,
    reservation: ReservationId,
    seats: &[(SeatId, FencingToken)],
    note: &str,
) -> Result<bool, StoreFailure> {
    let mut tx = fencing::begin(db, fence).await.map_err(failure)?;
    if payments::refund_blocks_sale(&mut tx, reservation.0)
        .await
        .map_err(failure)?
    {
        return Ok(false);
    }
    let revived: Option<(Uuid, i64)> = sqlx::query_as(
        "UPDATE reservations SET status = 'confirmed', confirmed_at = now(), \
         updated_at = now() WHERE id = $1 AND status = 'expired' \
         RETURNING user_id, total_amount",
    )
    .bind(reservation.0)
    .fetch_optional(&mut *tx)
    .await
    .map_err(failure)?;
    let Some((buyer, total)) = revived else {
        return Ok(false);
    };
    for (seat, token) in seats {
        let updated = sqlx::query(
            "UPDATE reservation_items SET live = true, fencing_token = $3 \
             WHERE reservation_id = $1 AND seat_id = $2",
        )
        .bind(reservation.0)
        .bind(seat.0)
        .bind(i64::try_from(token.0).unwrap_or(i64::MAX))
        .execute(&mut *tx)
        .await;
        match updated {
            Ok(_) => {}
            // The last line of defence: the seat has another live reservation.
            Err(sqlx::Error::Database(db)) if db.is_unique_violation() => return Ok(false),
            Err(err) => return Err(failure(err)),
        }
    }
    let pairs: Vec<(Uuid, u64)> = seats.iter().map(|(s, t)| (s.0, t.0)).collect();
    if seat_locks::confirm(kv, event_id, fence.map(|f| f.epoch), reservation.0, &pairs)
        .await
        .map_err(failure)?
        .is_err()
    {
        return Ok(false);
    }
    let sale = Sale {
        event: event_id,
        reservation,
        buyer,
        total,
        seats,
    };
    record_sale(&mut tx, &sale, note).await?;
    credit_purchase_points(&mut tx, &sale).await?;
    payments::ticketed_in(&mut tx, reservation.0)
        .await
        .map_err(failure)?;
    tx.commit().await.map_err(failure)?;
    Ok(true)
}

/// Undoes a sale for a refund: seats available again, the items no longer live, the
/// purchase points taken back, any resale listing withdrawn and the refunding payment
/// `refunded`, in one transaction; the sold seats' locks are owed a release in it and
/// freed after the commit (the reconciler retries a release Redis failed). False when the
/// reservation was not confirmed.
pub(super) async fn cancel_confirmed(
    db: &PgPool,
    kv: &Kv,
    fence: Option<&Fence>,
    event_id: Uuid,
    reservation: ReservationId,
    seats: &[SeatId],
    note: &str,
) -> Result<bool, StoreFailure> {
    let mut tx = fencing::begin(db, fence).await.map_err(failure)?;
    let ended: Option<(Uuid, i64)> = sqlx::query_as(
        "UPDATE reservations SET status = 'cancelled', updated_at = now() \
         WHERE id = $1 AND status = 'confirmed' RETURNING user_id, total_amount",
    )
    .bind(reservation.0)
    .fetch_optional(&mut *tx)
    .await
    .map_err(failure)?;
    let Some((buyer, total)) = ended else {
        return Ok(false);
    };
    sqlx::query(
        "UPDATE seats SET status = 'available' WHERE id IN (SELECT seat_id FROM \
         reservation_items WHERE reservation_id = $1 AND seat_id IS NOT NULL)",
    )
    .bind(reservation.0)
    .execute(&mut *tx)
    .await
    .map_err(failure)?;
    let sold: Vec<Option<Uuid>> = sqlx::query_scalar(
        "UPDATE reservation_items SET live = false WHERE reservation_id = $1 RETURNING seat_id",
    )
    .bind(reservation.0)
    .fetch_all(&mut *tx)
    .await
    .map_err(failure)?;
    let mut ids: Vec<Uuid> = sold.into_iter().flatten().collect();
    for seat in seats {
        if !ids.contains(&seat.0) {
            ids.push(seat.0);
        }
    }
    seat_releases::owe(&mut tx, reservation.0, event_id, &ids)
        .await
        .map_err(failure)?;
    history(&mut tx, reservation.0, "cancelled", note).await?;
    take_back_purchase_points(&mut tx, buyer, reservation).await?;
    crate::transfers::withdraw(&mut tx, reservation.0)
        .await
        .map_err(failure)?;
    let cancelled = ReservationCancelled {
        reservation_id: reservation.0.to_string(),
        user_id: buyer.to_string(),
        event_id: event_id.to_string(),
        total_amount: total,
        reason: note.to_owned(),
        occurred_at_ms: Utc::now().timestamp_millis(),
    };
    publish(
        &mut tx,
        reservation.0,
        DomainEvent::ReservationCancelled(cancelled),
    )
    .await?;
    payments::record_refunded_with_ticket(&mut tx, reservation.0)
        .await
        .map_err(failure)?;
    tx.commit().await.map_err(failure)?;
    if let Err(err) = seat_releases::release(
        db,
        kv,
        fence.map(|f| f.epoch),
        reservation.0,
        event_id,
        &ids,
    )
    .await
    {
        tracing::warn!(%err, %reservation, "freeing sold locks after a refund failed; the reconciler retries");
    }
    Ok(true)
}

/// The record of a sale shared by confirmation and late completion: seats `reserved`, the
/// history line, and the `ReservationConfirmed` event.
async fn record_sale(tx: &mut Tx<'_>, sale: &Sale<'_>, note: &str) -> Result<(), StoreFailure> {
    sqlx::query(
        "UPDATE seats SET status = 'reserved' WHERE id IN (SELECT seat_id FROM \
         reservation_items WHERE reservation_id = $1 AND seat_id IS NOT NULL)",
    )
    .bind(sale.reservation.0)
    .execute(&mut **tx)
    .await
    .map_err(failure)?;
    history(tx, sale.reservation.0, "confirmed", note).await?;
    let confirmed = confirmed_event(sale);
    publish(
        tx,
        sale.reservation.0,
        DomainEvent::ReservationConfirmed(confirmed),
    )
    .await
}

/// [`record_sale`] for a batch of sales: the seats reserved, a history line and an
/// outbox event each, in three statements.
async fn record_sales(tx: &mut Tx<'_>, sales: &[Sale<'_>], note: &str) -> Result<(), StoreFailure> {
    let ids: Vec<Uuid> = sales.iter().map(|s| s.reservation.0).collect();
    sqlx::query(
        "UPDATE seats SET status = 'reserved' WHERE id IN (SELECT seat_id FROM \
         reservation_items WHERE reservation_id = ANY($1) AND seat_id IS NOT NULL)",
    )
    .bind(&ids)
    .execute(&mut **tx)
    .await
    .map_err(failure)?;
    history_many(tx, &ids, "confirmed", note).await?;
    let events: Vec<(DomainEvent, String)> = sales
        .iter()
        .map(|sale| {
            (
                DomainEvent::ReservationConfirmed(confirmed_event(sale)),
                sale.reservation.0.to_string(),
            )
        })
        .collect();
    crate::outbox::append_many(tx, &events)
        .await
        .map_err(failure)
}

fn confirmed_event(sale: &Sale<'_>) -> ReservationConfirmed {
    ReservationConfirmed {
        reservation_id: sale.reservation.0.to_string(),
        user_id: sale.buyer.to_string(),
        event_id: sale.event.to_string(),
        total_amount: sale.total,
        seat_ids: sale.seats.iter().map(|(s, _)| s.0.to_string()).collect(),
        occurred_at_ms: Utc::now().timestamp_millis(),
    }
}

/// The buyer's active membership in the club of the event's artist earns its purchase
/// points (no membership, no points). Credited in the transaction that makes the sale,
/// which happens once per reservation (pending or expired → confirmed is a conditional
/// update), so exactly once; a bus consumer would need its own dedupe to promise the same.
async fn credit_purchase_points(tx: &mut Tx<'_>, sale: &Sale<'_>) -> Result<(), StoreFailure> {
    memberships::credit(
        tx,
        sale.buyer,
        sale.event,
        sale.reservation.0,
        PURCHASE_POINTS,
        "purchase",
    )
    .await
    .map_err(failure)
}

/// A refund takes back what the sale credited, in the refund's own transaction, so the
/// points go back exactly once, with the sale.
async fn take_back_purchase_points(
    tx: &mut Tx<'_>,
    buyer: Uuid,
    reservation: ReservationId,
) -> Result<(), StoreFailure> {
    memberships::take_back(tx, buyer, reservation.0, "refund")
        .await
        .map_err(failure)
}
