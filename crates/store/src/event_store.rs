//! The EventActor's durable record: Redis for seat locks, fencing tokens and the queue
//! log; PostgreSQL for reservations. Implements [`urr_actors::ports::EventStore`].

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use prost::Message;
use sqlx::{FromRow, PgPool};
use urr_actors::event::QueueSettings;
use urr_actors::ids::{FencingToken, ReservationId, SeatId, TicketTypeId, UserId};
use urr_actors::ports::{
    ConfirmOutcome, Ending, EventSnapshot, EventStore, InsertOutcome, LiveReservation, LockOutcome,
    NewItem, NewReservation, StoreFailure,
};
use urr_proto::events::{ReservationCancelled, ReservationConfirmed, ReservationExpired};
use uuid::Uuid;

use crate::{Kv, StoreError, seat_locks};

pub struct PgRedisEventStore {
    db: PgPool,
    kv: Kv,
    /// Settings for events that have none stored.
    defaults: QueueSettings,
}

/// A batch insert that Postgres refused as a whole (or that failed): retry one by one.
struct BatchRefused;

impl PgRedisEventStore {
    /// One reservation in its own transaction: the path for counted tickets, and for
    /// isolating the one hold of a batch that Postgres refuses.
    pub(crate) async fn insert_one(
        &self,
        reservation: &NewReservation,
    ) -> Result<InsertOutcome, StoreFailure> {
        let mut tx = self.db.begin().await.map_err(failure)?;
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
        &self,
        reservations: &[NewReservation],
    ) -> Result<Vec<InsertOutcome>, BatchRefused> {
        let mut tx = self.db.begin().await.map_err(|_| BatchRefused)?;
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
}

impl PgRedisEventStore {
    pub fn new(db: PgPool, kv: Kv, defaults: QueueSettings) -> Self {
        Self { db, kv, defaults }
    }

    fn queue_log_key(&self, event: Uuid) -> String {
        queue_log_key(&self.kv, event)
    }
}

fn queue_log_key(kv: &Kv, event: Uuid) -> String {
    kv.key(&format!("qlog:{{{event}}}"))
}

/// The event's queue log as stored, oldest record first: what an auditor checks the
/// admission order against (the actor replays the same list on start).
pub async fn read_queue_log(kv: &Kv, event: Uuid) -> Result<Vec<Vec<u8>>, StoreError> {
    Ok(redis::cmd("LRANGE")
        .arg(queue_log_key(kv, event))
        .arg(0)
        .arg(-1)
        .query_async(&mut kv.conn())
        .await?)
}

fn failure(err: impl Into<StoreError>) -> StoreFailure {
    StoreFailure(err.into().to_string())
}

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

#[async_trait]
impl EventStore for PgRedisEventStore {
    async fn load(&self, event_id: Uuid) -> Result<Option<EventSnapshot>, StoreFailure> {
        let mut conn = self.db.acquire().await.map_err(failure)?;
        let status: Option<String> = sqlx::query_scalar("SELECT status FROM events WHERE id = $1")
            .bind(event_id)
            .fetch_optional(&mut *conn)
            .await
            .map_err(failure)?;
        let Some(status) = status else {
            return Ok(None);
        };
        let settings = crate::queue_settings::get(&self.db, event_id)
            .await
            .map_err(failure)?
            .unwrap_or(self.defaults);
        let seats: Vec<(Uuid, i64)> = sqlx::query_as(
            "SELECT s.id, s.price FROM seats s JOIN seat_sections sec ON sec.id = s.section_id \
             WHERE s.event_id = $1 ORDER BY sec.sort_order, s.row_number, s.seat_number",
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
            on_sale: status == "on_sale",
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

    async fn lock_seats(
        &self,
        event_id: Uuid,
        holds: &[(ReservationId, Vec<SeatId>)],
        ttl: Duration,
    ) -> Result<Vec<LockOutcome>, StoreFailure> {
        let requests: Vec<(Uuid, Vec<Uuid>)> = holds
            .iter()
            .map(|(r, seats)| (r.0, seats.iter().map(|s| s.0).collect()))
            .collect();
        let results = seat_locks::lock(&self.kv, event_id, &requests, ttl)
            .await
            .map_err(failure)?;
        Ok(results
            .into_iter()
            .zip(holds)
            .map(|(result, (_, seats))| match result {
                Ok(tokens) => LockOutcome::Locked(tokens.into_iter().map(FencingToken).collect()),
                Err(taken) => LockOutcome::Taken(
                    taken
                        .into_iter()
                        .filter_map(|i| seats.get(i).copied())
                        .collect(),
                ),
            })
            .collect())
    }

    async fn unlock_seats(
        &self,
        event_id: Uuid,
        reservation: ReservationId,
        seats: &[SeatId],
    ) -> Result<(), StoreFailure> {
        let ids: Vec<Uuid> = seats.iter().map(|s| s.0).collect();
        seat_locks::unlock(&self.kv, event_id, reservation.0, &ids)
            .await
            .map_err(failure)
    }

    async fn insert_pending(
        &self,
        reservations: &[NewReservation],
    ) -> Result<Vec<InsertOutcome>, StoreFailure> {
        let all_seats = reservations
            .iter()
            .all(|r| r.items.iter().all(|i| matches!(i, NewItem::Seat { .. })));
        if reservations.len() > 1 && all_seats {
            // A refusal inside the batch (a duplicate key, a seat conflict) rolls it all
            // back; then it is redone one by one below, so only the offender is refused.
            if let Ok(outcomes) = self.insert_seat_batch(reservations).await {
                return Ok(outcomes);
            }
        }
        let mut outcomes = Vec::with_capacity(reservations.len());
        for reservation in reservations {
            outcomes.push(self.insert_one(reservation).await?);
        }
        Ok(outcomes)
    }

    async fn confirm(
        &self,
        event_id: Uuid,
        reservation: ReservationId,
        seats: &[(SeatId, FencingToken)],
    ) -> Result<ConfirmOutcome, StoreFailure> {
        let mut tx = self.db.begin().await.map_err(failure)?;
        // The row lock keeps the sweeper off this reservation while Redis is checked.
        let pending: Option<Uuid> = sqlx::query_scalar(
            "SELECT id FROM reservations WHERE id = $1 AND status = 'pending' FOR UPDATE",
        )
        .bind(reservation.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(failure)?;
        if pending.is_none() {
            return Ok(ConfirmOutcome::NotPending);
        }
        let pairs: Vec<(Uuid, u64)> = seats.iter().map(|(s, t)| (s.0, t.0)).collect();
        if let Err(stale) = seat_locks::confirm(&self.kv, event_id, reservation.0, &pairs)
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
        let (user, total): (Uuid, i64) = sqlx::query_as(
            "UPDATE reservations SET status = 'confirmed', confirmed_at = now(), \
             updated_at = now() WHERE id = $1 RETURNING user_id, total_amount",
        )
        .bind(reservation.0)
        .fetch_one(&mut *tx)
        .await
        .map_err(failure)?;
        let sold: Vec<SeatId> = seats.iter().map(|(s, _)| *s).collect();
        record_sale(
            &mut tx,
            event_id,
            reservation,
            user,
            total,
            &sold,
            "fencing tokens verified",
        )
        .await?;
        tx.commit().await.map_err(failure)?;
        Ok(ConfirmOutcome::Confirmed)
    }

    async fn finish(
        &self,
        reservation: ReservationId,
        ending: Ending,
        note: &str,
    ) -> Result<bool, StoreFailure> {
        let status = match ending {
            Ending::Cancelled => "cancelled",
            Ending::Expired => "expired",
        };
        let mut tx = self.db.begin().await.map_err(failure)?;
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
        match ending {
            Ending::Cancelled => {
                let message = ReservationCancelled {
                    reservation_id: reservation.0.to_string(),
                    user_id: user.to_string(),
                    event_id: event.to_string(),
                    total_amount: total,
                    reason: note.to_owned(),
                    occurred_at_ms: now_ms,
                };
                publish(
                    &mut tx,
                    reservation.0,
                    "ReservationCancelled",
                    message.encode_to_vec(),
                )
                .await?;
            }
            Ending::Expired => {
                let message = ReservationExpired {
                    reservation_id: reservation.0.to_string(),
                    user_id: user.to_string(),
                    event_id: event.to_string(),
                    occurred_at_ms: now_ms,
                };
                publish(
                    &mut tx,
                    reservation.0,
                    "ReservationExpired",
                    message.encode_to_vec(),
                )
                .await?;
            }
        }
        sqlx::query("UPDATE reservation_items SET live = false WHERE reservation_id = $1")
            .bind(reservation.0)
            .execute(&mut *tx)
            .await
            .map_err(failure)?;
        history(&mut tx, reservation.0, status, note).await?;
        tx.commit().await.map_err(failure)?;
        Ok(true)
    }

    async fn revive(
        &self,
        event_id: Uuid,
        reservation: ReservationId,
        seats: &[(SeatId, FencingToken)],
        note: &str,
    ) -> Result<bool, StoreFailure> {
        let mut tx = self.db.begin().await.map_err(failure)?;
        let revived: Option<(Uuid, i64)> = sqlx::query_as(
            "UPDATE reservations SET status = 'confirmed', confirmed_at = now(), \
             updated_at = now() WHERE id = $1 AND status = 'expired' \
             RETURNING user_id, total_amount",
        )
        .bind(reservation.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(failure)?;
        let Some((user, total)) = revived else {
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
        if seat_locks::confirm(&self.kv, event_id, reservation.0, &pairs)
            .await
            .map_err(failure)?
            .is_err()
        {
            return Ok(false);
        }
        let sold: Vec<SeatId> = seats.iter().map(|(s, _)| *s).collect();
        record_sale(&mut tx, event_id, reservation, user, total, &sold, note).await?;
        tx.commit().await.map_err(failure)?;
        Ok(true)
    }

    async fn cancel_confirmed(
        &self,
        event_id: Uuid,
        reservation: ReservationId,
        seats: &[SeatId],
        note: &str,
    ) -> Result<bool, StoreFailure> {
        let mut tx = self.db.begin().await.map_err(failure)?;
        let ended: Option<(Uuid, i64)> = sqlx::query_as(
            "UPDATE reservations SET status = 'cancelled', updated_at = now() \
             WHERE id = $1 AND status = 'confirmed' RETURNING user_id, total_amount",
        )
        .bind(reservation.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(failure)?;
        let Some((user, total)) = ended else {
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
        sqlx::query("UPDATE reservation_items SET live = false WHERE reservation_id = $1")
            .bind(reservation.0)
            .execute(&mut *tx)
            .await
            .map_err(failure)?;
        history(&mut tx, reservation.0, "cancelled", note).await?;
        // The refund's own transaction: points go back exactly once, with the sale.
        crate::memberships::take_back(&mut tx, user, reservation.0, "refund")
            .await
            .map_err(failure)?;
        crate::transfers::withdraw(&mut tx, reservation.0)
            .await
            .map_err(failure)?;
        let message = ReservationCancelled {
            reservation_id: reservation.0.to_string(),
            user_id: user.to_string(),
            event_id: event_id.to_string(),
            total_amount: total,
            reason: note.to_owned(),
            occurred_at_ms: Utc::now().timestamp_millis(),
        };
        publish(
            &mut tx,
            reservation.0,
            "ReservationCancelled",
            message.encode_to_vec(),
        )
        .await?;
        tx.commit().await.map_err(failure)?;
        let ids: Vec<Uuid> = seats.iter().map(|s| s.0).collect();
        if let Err(err) = seat_locks::unlock(&self.kv, event_id, reservation.0, &ids).await {
            tracing::warn!(%err, %reservation, "freeing sold locks after a refund failed");
        }
        Ok(true)
    }

    async fn append_queue_log(
        &self,
        event_id: Uuid,
        records: &[Vec<u8>],
    ) -> Result<(), StoreFailure> {
        if records.is_empty() {
            return Ok(());
        }
        let _: i64 = redis::cmd("RPUSH")
            .arg(self.queue_log_key(event_id))
            .arg(records)
            .query_async(&mut self.kv.conn())
            .await
            .map_err(failure)?;
        Ok(())
    }

    async fn load_queue_log(&self, event_id: Uuid) -> Result<Vec<Vec<u8>>, StoreFailure> {
        read_queue_log_paged(&self.kv, event_id)
            .await
            .map_err(failure)
    }

    async fn rewrite_queue_log(
        &self,
        event_id: Uuid,
        records: &[Vec<u8>],
    ) -> Result<(), StoreFailure> {
        let key = self.queue_log_key(event_id);
        let mut pipe = redis::pipe();
        pipe.atomic().cmd("DEL").arg(&key).ignore();
        for chunk in records.chunks(10_000) {
            pipe.cmd("RPUSH").arg(&key).arg(chunk).ignore();
        }
        let _: () = pipe
            .query_async(&mut self.kv.conn())
            .await
            .map_err(failure)?;
        Ok(())
    }

    async fn finish_many(
        &self,
        endings: &[(ReservationId, Ending)],
        note: &str,
    ) -> Result<Vec<bool>, StoreFailure> {
        finish_many(&self.db, endings, note).await
    }

    async fn unlock_many(
        &self,
        event_id: Uuid,
        holds: &[(ReservationId, Vec<SeatId>)],
    ) -> Result<(), StoreFailure> {
        let holds: Vec<(Uuid, Vec<Uuid>)> = holds
            .iter()
            .map(|(r, seats)| (r.0, seats.iter().map(|s| s.0).collect()))
            .collect();
        seat_locks::unlock_many(&self.kv, event_id, &holds)
            .await
            .map_err(failure)
    }
}

/// The part of a sale shared by confirmation and late completion: seats `reserved`, the
/// history line, and the `ReservationConfirmed` event, all in the sale's transaction.
async fn record_sale(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    event_id: Uuid,
    reservation: ReservationId,
    user: Uuid,
    total: i64,
    seats: &[SeatId],
    note: &str,
) -> Result<(), StoreFailure> {
    sqlx::query(
        "UPDATE seats SET status = 'reserved' WHERE id IN (SELECT seat_id FROM \
         reservation_items WHERE reservation_id = $1 AND seat_id IS NOT NULL)",
    )
    .bind(reservation.0)
    .execute(&mut **tx)
    .await
    .map_err(failure)?;
    history(tx, reservation.0, "confirmed", note).await?;
    // Points are credited in the transaction that makes the sale, which happens once per
    // reservation (pending or expired → confirmed is a conditional update), so exactly
    // once; a bus consumer would need its own dedupe to promise the same.
    crate::memberships::credit(
        tx,
        user,
        event_id,
        reservation.0,
        crate::memberships::PURCHASE_POINTS,
        "purchase",
    )
    .await
    .map_err(failure)?;
    let event = ReservationConfirmed {
        reservation_id: reservation.0.to_string(),
        user_id: user.to_string(),
        event_id: event_id.to_string(),
        total_amount: total,
        seat_ids: seats.iter().map(|s| s.0.to_string()).collect(),
        occurred_at_ms: Utc::now().timestamp_millis(),
    };
    publish(
        tx,
        reservation.0,
        "ReservationConfirmed",
        event.encode_to_vec(),
    )
    .await
}

/// Writes a reservation event to the outbox inside the change's own transaction.
async fn publish(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    reservation: Uuid,
    event_type: &str,
    payload: Vec<u8>,
) -> Result<(), StoreFailure> {
    let key = reservation.to_string();
    crate::outbox::append(
        tx,
        &crate::outbox::OutboxEvent {
            topic: "reservation-events",
            key: &key,
            event_type,
            payload,
        },
    )
    .await
    .map_err(failure)?;
    Ok(())
}

async fn history(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    reservation: Uuid,
    status: &str,
    note: &str,
) -> Result<(), StoreFailure> {
    sqlx::query(
        "INSERT INTO reservation_history (reservation_id, status, note) VALUES ($1, $2, $3)",
    )
    .bind(reservation)
    .bind(status)
    .bind(note)
    .execute(&mut **tx)
    .await
    .map_err(failure)?;
    Ok(())
}

/// [`EventStore::finish`] for many reservations in one transaction (the tick ends every
/// lapsed hold at once): each ended one gets its status, history line and outbox event.
async fn finish_many(
    db: &PgPool,
    endings: &[(ReservationId, Ending)],
    note: &str,
) -> Result<Vec<bool>, StoreFailure> {
    if endings.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = endings.iter().map(|(r, _)| r.0).collect();
    let statuses: Vec<&str> = endings.iter().map(|(_, e)| ending_status(*e)).collect();
    let mut tx = db.begin().await.map_err(failure)?;
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
    let now_ms = Utc::now().timestamp_millis();
    let mut events = Vec::with_capacity(ended.len());
    let (mut ended_ids, mut ended_statuses) = (Vec::new(), Vec::new());
    for (id, user, event, total, status) in ended {
        let (kind, payload) = if status == "cancelled" {
            let message = ReservationCancelled {
                reservation_id: id.to_string(),
                user_id: user.to_string(),
                event_id: event.to_string(),
                total_amount: total,
                reason: note.to_owned(),
                occurred_at_ms: now_ms,
            };
            ("ReservationCancelled", message.encode_to_vec())
        } else {
            let message = ReservationExpired {
                reservation_id: id.to_string(),
                user_id: user.to_string(),
                event_id: event.to_string(),
                occurred_at_ms: now_ms,
            };
            ("ReservationExpired", message.encode_to_vec())
        };
        events.push((id.to_string(), kind, payload));
        ended_ids.push(id);
        ended_statuses.push(status);
    }
    crate::outbox::append_many(&mut tx, "reservation-events", &events)
        .await
        .map_err(failure)?;
    sqlx::query("UPDATE reservation_items SET live = false WHERE reservation_id = ANY($1)")
        .bind(&ended_ids)
        .execute(&mut *tx)
        .await
        .map_err(failure)?;
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

/// The queue log read a page at a time: a long one (the restart of a big line) then
/// never holds up the other commands on the node's shared Redis connection while it
/// arrives. The log only grows at its end meanwhile, so the pages make one prefix of it.
async fn read_queue_log_paged(kv: &Kv, event: Uuid) -> Result<Vec<Vec<u8>>, StoreError> {
    const PAGE: usize = 10_000;
    let key = queue_log_key(kv, event);
    let mut log: Vec<Vec<u8>> = Vec::new();
    loop {
        let start = log.len();
        let page: Vec<Vec<u8>> = redis::cmd("LRANGE")
            .arg(&key)
            .arg(start)
            .arg(start + PAGE - 1)
            .query_async(&mut kv.conn())
            .await?;
        let done = page.len() < PAGE;
        log.extend(page);
        if done {
            return Ok(log);
        }
    }
}
