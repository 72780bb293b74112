//! Placing holds: pending reservations with their items, one by one or, for seat holds,
//! a whole batch in one transaction.

use sqlx::{Acquire, PgPool};
use urr_actors::ids::ReservationId;
use urr_actors::ownership::Fence;
use urr_actors::ports::{InsertOutcome, NewItem, NewReservation, StoreFailure};
use uuid::Uuid;

use super::failure;
use super::record::{Tx, history};
use crate::fencing;

/// A batch insert that Postgres refused as a whole (or that failed): retry one by one;
/// or that the fence refused: nothing is retried.
enum BatchRefused {
    Retry,
    Fenced(StoreFailure),
}

pub(super) async fn insert_pending(
    db: &PgPool,
    fence: Option<&Fence>,
    reservations: &[NewReservation],
) -> Result<Vec<InsertOutcome>, StoreFailure> {
    let all_seats = reservations
        .iter()
        .all(|r| r.items.iter().all(|i| matches!(i, NewItem::Seat { .. })));
    if reservations.len() > 1 && all_seats {
        // A refusal inside the batch (a duplicate key, a seat conflict) rolls it all
        // back; then it is redone one by one below, so only the offender is refused.
        match insert_seat_batch(db, fence, reservations).await {
            Ok(outcomes) => return Ok(outcomes),
            Err(BatchRefused::Fenced(refused)) => return Err(refused),
            Err(BatchRefused::Retry) => {}
        }
    }
    insert_each(db, fence, reservations).await
}

/// The holds one by one in one transaction, a savepoint around each: a hold Postgres
/// refuses (a duplicate key, a seat already live) is rolled back alone and answered as
/// refused, while any other failure rolls back every hold of the call, so no caller who
/// is told their hold failed leaves a pending row behind
/// (docs/architecture.md#holds-in-flight).
async fn insert_each(
    db: &PgPool,
    fence: Option<&Fence>,
    reservations: &[NewReservation],
) -> Result<Vec<InsertOutcome>, StoreFailure> {
    let mut tx = fencing::begin(db, fence).await.map_err(failure)?;
    if let [reservation] = reservations {
        // Alone, its own transaction is the savepoint.
        let outcome = insert_one(&mut tx, reservation).await?;
        if matches!(outcome, InsertOutcome::Inserted) {
            tx.commit().await.map_err(failure)?;
        } else {
            tx.rollback().await.map_err(failure)?;
        }
        return Ok(vec![outcome]);
    }
    let mut outcomes = Vec::with_capacity(reservations.len());
    for reservation in reservations {
        let mut savepoint = tx.begin().await.map_err(failure)?;
        let outcome = insert_one(&mut savepoint, reservation).await?;
        if matches!(outcome, InsertOutcome::Inserted) {
            savepoint.commit().await.map_err(failure)?;
        } else {
            savepoint.rollback().await.map_err(failure)?;
        }
        outcomes.push(outcome);
    }
    tx.commit().await.map_err(failure)?;
    Ok(outcomes)
}

/// One reservation inside a transaction (or savepoint) the caller commits: the path for
/// counted tickets, and for isolating the one hold of a batch that Postgres refuses. A
/// refusal leaves the transaction to be rolled back.
async fn insert_one(
    tx: &mut Tx<'_>,
    reservation: &NewReservation,
) -> Result<InsertOutcome, StoreFailure> {
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
    .fetch_optional(&mut **tx)
    .await
    .map_err(failure)?;
    if inserted.is_none() {
        let existing: Uuid = sqlx::query_scalar(
            "SELECT id FROM reservations WHERE user_id = $1 AND idempotency_key = $2",
        )
        .bind(reservation.user.0)
        .bind(&reservation.idempotency_key)
        .fetch_one(&mut **tx)
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
            .execute(&mut **tx)
            .await
            .map(|r| r.rows_affected()),
            NewItem::Tickets {
                ticket_type,
                quantity,
                unit_price,
            } => insert_tickets(tx, reservation, *ticket_type, *quantity, *unit_price).await,
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
    history(tx, reservation.id.0, "pending", "held").await?;
    Ok(InsertOutcome::Inserted)
}

/// Counted inventory's last line of defence, sound on its own under concurrent
/// transactions: the ticket type's row is locked first, in a statement of its own, so
/// the count that follows (a fresh snapshot, in READ COMMITTED) sees every hold committed
/// by whoever held the lock before. Counting in the locking statement would read a
/// snapshot taken before it waited for the lock, and two concurrent holds would both
/// pass. Returns the rows inserted: 0 when capacity would be exceeded.
async fn insert_tickets(
    tx: &mut super::record::Tx<'_>,
    reservation: &NewReservation,
    ticket_type: urr_actors::ids::TicketTypeId,
    quantity: u32,
    unit_price: i64,
) -> Result<u64, sqlx::Error> {
    let capacity: Option<Option<i32>> =
        sqlx::query_scalar("SELECT quantity FROM ticket_types WHERE id = $1 FOR UPDATE")
            .bind(ticket_type.0)
            .fetch_optional(&mut **tx)
            .await?;
    let Some(Some(capacity)) = capacity else {
        return Ok(0);
    };
    let live: i64 = sqlx::query_scalar(
        "SELECT COALESCE(sum(quantity), 0)::bigint FROM reservation_items \
         WHERE ticket_type_id = $1 AND live",
    )
    .bind(ticket_type.0)
    .fetch_one(&mut **tx)
    .await?;
    if live + i64::from(quantity) > i64::from(capacity) {
        return Ok(0);
    }
    sqlx::query(
        "INSERT INTO reservation_items (id, reservation_id, event_id, ticket_type_id, \
         quantity, unit_price) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(Uuid::now_v7())
    .bind(reservation.id.0)
    .bind(reservation.event_id)
    .bind(ticket_type.0)
    .bind(i32::try_from(quantity).unwrap_or(i32::MAX))
    .bind(unit_price)
    .execute(&mut **tx)
    .await
    .map(|r| r.rows_affected())
}

/// Every seat hold of the batch in one transaction of one statement whatever its size:
/// the reservations, their items and their history as data-modifying CTEs, so a batch
/// costs the fence check, one round trip and the commit. All or nothing: a duplicate key
/// leaves its items without their reservation and a seat already live breaks the unique
/// index, either of which fails the statement (then the batch is redone one by one).
async fn insert_seat_batch(
    db: &PgPool,
    fence: Option<&Fence>,
    reservations: &[NewReservation],
) -> Result<Vec<InsertOutcome>, BatchRefused> {
    let mut tx = match fencing::begin(db, fence).await.map_err(failure) {
        Ok(tx) => tx,
        Err(refused @ StoreFailure::Fenced(_)) => return Err(BatchRefused::Fenced(refused)),
        Err(StoreFailure::Unavailable(_)) => return Err(BatchRefused::Retry),
    };
    let (mut ids, mut users, mut totals, mut keys, mut expiries) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut item_ids, mut owners, mut seats, mut prices, mut tokens) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for r in reservations {
        ids.push(r.id.0);
        users.push(r.user.0);
        totals.push(r.total_amount);
        keys.push(r.idempotency_key.clone());
        expiries.push(r.expires_at);
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
    let event_id = reservations.first().map(|r| r.event_id).unwrap_or_default();
    // The items' and the history's foreign keys are checked at the end of the statement,
    // after every CTE has run, so they find the reservations inserted beside them.
    let inserted: i64 = sqlx::query_scalar(
        "WITH held AS ( \
           INSERT INTO reservations (id, user_id, event_id, status, total_amount, \
           idempotency_key, expires_at) \
           SELECT id, user_id, $3, 'pending', total, key, expires \
           FROM UNNEST($1::uuid[], $2::uuid[], $4::bigint[], $5::text[], $6::timestamptz[]) \
           AS t(id, user_id, total, key, expires) \
           ON CONFLICT (user_id, idempotency_key) DO NOTHING RETURNING id), \
         items AS ( \
           INSERT INTO reservation_items (id, reservation_id, event_id, seat_id, quantity, \
           unit_price, fencing_token) \
           SELECT id, owner, $3, seat, 1, price, token \
           FROM UNNEST($7::uuid[], $8::uuid[], $9::uuid[], $10::bigint[], $11::bigint[]) \
           AS t(id, owner, seat, price, token)), \
         noted AS ( \
           INSERT INTO reservation_history (reservation_id, status, note) \
           SELECT id, 'pending', 'held' FROM held) \
         SELECT count(*) FROM held",
    )
    .bind(&ids)
    .bind(&users)
    .bind(event_id)
    .bind(&totals)
    .bind(&keys)
    .bind(&expiries)
    .bind(&item_ids)
    .bind(&owners)
    .bind(&seats)
    .bind(&prices)
    .bind(&tokens)
    .fetch_one(&mut *tx)
    .await
    .map_err(|_| BatchRefused::Retry)?;
    if usize::try_from(inserted).ok() != Some(reservations.len()) {
        return Err(BatchRefused::Retry);
    }
    tx.commit().await.map_err(|_| BatchRefused::Retry)?;
    Ok(vec![InsertOutcome::Inserted; reservations.len()])
}
