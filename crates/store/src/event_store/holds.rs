//! Placing holds: pending reservations with their items, one by one or, for seat holds,
//! a whole batch in one transaction.

use sqlx::PgPool;
use urr_actors::ids::ReservationId;
use urr_actors::ports::{InsertOutcome, NewItem, NewReservation, StoreFailure};
use uuid::Uuid;

use super::failure;
use super::record::history;

/// A batch insert that Postgres refused as a whole (or that failed): retry one by one.
struct BatchRefused;

pub(super) async fn insert_pending(
    db: &PgPool,
    reservations: &[NewReservation],
) -> Result<Vec<InsertOutcome>, StoreFailure> {
    let all_seats = reservations
        .iter()
        .all(|r| r.items.iter().all(|i| matches!(i, NewItem::Seat { .. })));
    if reservations.len() > 1 && all_seats {
        // A refusal inside the batch (a duplicate key, a seat conflict) rolls it all
        // back; then it is redone one by one below, so only the offender is refused.
        if let Ok(outcomes) = insert_seat_batch(db, reservations).await {
            return Ok(outcomes);
        }
    }
    let mut outcomes = Vec::with_capacity(reservations.len());
    for reservation in reservations {
        outcomes.push(insert_one(db, reservation).await?);
    }
    Ok(outcomes)
}

/// One reservation in its own transaction: the path for counted tickets, and for
/// isolating the one hold of a batch that Postgres refuses.
async fn insert_one(
    db: &PgPool,
    reservation: &NewReservation,
) -> Result<InsertOutcome, StoreFailure> {
    let mut tx = db.begin().await.map_err(failure)?;
    let inserted: Option<Uuid> = sqlx::query_scalar(
        "INSERT INTO reservations (id, user_id, event_id, status, total_amount, \
         idempotency_key, expires_at) VALUES ($1, $2, $3, 'pending', $4, $5, $6) \
         ON CONFLICT (user_id, idempotency_key) DO NOTHING RETURNING id",
    )
    .bind(reservation.id.0)
    .bind(reservation.user.0)
    .bind(reservation.event_id)
    .bind(reservation.total_amount)
    .bind(&reservation.idempotency_key)
    .bind(reservation.expires_at)
    .fetch_optional(&mut *tx)
    .await
    .map_err(failure)?;
    if inserted.is_none() {
        let existing: Uuid = sqlx::query_scalar(
            "SELECT id FROM reservations WHERE user_id = $1 AND idempotency_key = $2",
        )
        .bind(reservation.user.0)
        .bind(&reservation.idempotency_key)
        .fetch_one(&mut *tx)
        .await
        .map_err(failure)?;
        return Ok(InsertOutcome::DuplicateKey(ReservationId::from(existing)));
    }
    for item in &reservation.items {
        let result = match item {
            NewItem::Seat { seat, price, token } => sqlx::query(
                "INSERT INTO reservation_items (id, reservation_id, event_id, seat_id, \
                     quantity, unit_price, fencing_token) VALUES ($1, $2, $3, $4, 1, $5, $6)",
            )
            .bind(Uuid::now_v7())
            .bind(reservation.id.0)
            .bind(reservation.event_id)
            .bind(seat.0)
            .bind(price)
            .bind(i64::try_from(token.0).unwrap_or(i64::MAX))
            .execute(&mut *tx)
            .await
            .map(|r| r.rows_affected()),
            NewItem::Tickets {
                ticket_type,
                quantity,
                unit_price,
            } => {
                // Counted inventory's last line of defence: the type row is locked and
                // the insert happens only while live quantities stay within capacity.
                sqlx::query(
                    "WITH capacity AS (SELECT quantity FROM ticket_types WHERE id = $4 \
                     FOR UPDATE) \
                     INSERT INTO reservation_items (id, reservation_id, event_id, \
                     ticket_type_id, quantity, unit_price) \
                     SELECT $1, $2, $3, $4, $5, $6 FROM capacity \
                     WHERE capacity.quantity IS NOT NULL AND capacity.quantity >= $5 + \
                     (SELECT COALESCE(sum(quantity), 0) FROM reservation_items \
                      WHERE ticket_type_id = $4 AND live)",
                )
                .bind(Uuid::now_v7())
                .bind(reservation.id.0)
                .bind(reservation.event_id)
                .bind(ticket_type.0)
                .bind(i32::try_from(*quantity).unwrap_or(i32::MAX))
                .bind(unit_price)
                .execute(&mut *tx)
                .await
                .map(|r| r.rows_affected())
            }
        };
        match result {
            Ok(1) => {}
            Ok(_) => return Ok(InsertOutcome::SeatConflict),
            Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                return Ok(InsertOutcome::SeatConflict);
            }
            Err(err) => return Err(failure(err)),
        }
    }
    history(&mut tx, reservation.id.0, "pending", "held").await?;
    tx.commit().await.map_err(failure)?;
    Ok(InsertOutcome::Inserted)
}

/// Every seat hold of the batch in one transaction: three statements whatever its size.
async fn insert_seat_batch(
    db: &PgPool,
    reservations: &[NewReservation],
) -> Result<Vec<InsertOutcome>, BatchRefused> {
    let mut tx = db.begin().await.map_err(|_| BatchRefused)?;
    let (mut ids, mut users, mut totals, mut keys, mut expiries) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for r in reservations {
        ids.push(r.id.0);
        users.push(r.user.0);
        totals.push(r.total_amount);
        keys.push(r.idempotency_key.clone());
        expiries.push(r.expires_at);
    }
    let event_id = reservations.first().map(|r| r.event_id).unwrap_or_default();
    let inserted: Vec<Uuid> = sqlx::query_scalar(
        "INSERT INTO reservations (id, user_id, event_id, status, total_amount, \
         idempotency_key, expires_at) \
         SELECT id, user_id, $3, 'pending', total, key, expires \
         FROM UNNEST($1::uuid[], $2::uuid[], $4::bigint[], $5::text[], $6::timestamptz[]) \
         AS t(id, user_id, total, key, expires) \
         ON CONFLICT (user_id, idempotency_key) DO NOTHING RETURNING id",
    )
    .bind(&ids)
    .bind(&users)
    .bind(event_id)
    .bind(&totals)
    .bind(&keys)
    .bind(&expiries)
    .fetch_all(&mut *tx)
    .await
    .map_err(|_| BatchRefused)?;
    if inserted.len() != reservations.len() {
        return Err(BatchRefused);
    }
    let (mut item_ids, mut owners, mut seats, mut prices, mut tokens) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for r in reservations {
        for item in &r.items {
            if let NewItem::Seat { seat, price, token } = item {
                item_ids.push(Uuid::now_v7());
                owners.push(r.id.0);
                seats.push(seat.0);
                prices.push(*price);
                tokens.push(i64::try_from(token.0).unwrap_or(i64::MAX));
            }
        }
    }
    sqlx::query(
        "INSERT INTO reservation_items (id, reservation_id, event_id, seat_id, quantity, \
         unit_price, fencing_token) \
         SELECT id, owner, $3, seat, 1, price, token \
         FROM UNNEST($1::uuid[], $2::uuid[], $4::uuid[], $5::bigint[], $6::bigint[]) \
         AS t(id, owner, seat, price, token)",
    )
    .bind(&item_ids)
    .bind(&owners)
    .bind(event_id)
    .bind(&seats)
    .bind(&prices)
    .bind(&tokens)
    .execute(&mut *tx)
    .await
    .map_err(|_| BatchRefused)?;
    sqlx::query(
        "INSERT INTO reservation_history (reservation_id, status, note) \
         SELECT unnest($1::uuid[]), 'pending', 'held'",
    )
    .bind(&ids)
    .execute(&mut *tx)
    .await
    .map_err(|_| BatchRefused)?;
    tx.commit().await.map_err(|_| BatchRefused)?;
    Ok(vec![InsertOutcome::Inserted; reservations.len()])
}
