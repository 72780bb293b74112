//! Ticket transfers between fans (`docs/architecture.md#fan-clubs-pre-sales-and-transfers`): a confirmed reservation listed at no more
//! than it cost, bought through a payment, and handed over in the transaction that
//! records that payment. A ticket changes hands at most once.

use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::{FromRow, PgPool, Postgres, Row, Transaction};
use urr_proto::DomainEvent;
use urr_proto::events::TransferCompleted;
use urr_wire::status::{
    PointReason, ReservationStatus, Settlement, SettlementStatus, TransferStatus,
};
use uuid::Uuid;

use crate::StoreError;
use crate::memberships::{self, PURCHASE_POINTS};
use crate::outbox;
use crate::payments::{Fulfilment, Payment};

#[derive(Debug, Clone)]
pub struct Transfer {
    pub id: Uuid,
    pub reservation_id: Uuid,
    pub event_id: Uuid,
    pub event_title: String,
    pub seller_id: Uuid,
    pub buyer_id: Option<Uuid>,
    pub price: i64,
    pub face_value: i64,
    pub status: TransferStatus,
    /// Set once completed.
    pub settlement: Option<Settlement>,
    pub settlement_status: Option<SettlementStatus>,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

/// By hand for the two nullable word columns (the derive reads only non-null ones).
impl<'r> FromRow<'r, PgRow> for Transfer {
    fn from_row(row: &'r PgRow) -> Result<Self, sqlx::Error> {
        fn word<T: std::str::FromStr<Err = urr_wire::UnknownValue>>(
            row: &PgRow,
            column: &str,
        ) -> Result<Option<T>, sqlx::Error> {
            let text: Option<String> = row.try_get(column)?;
            text.map(|t| t.parse())
                .transpose()
                .map_err(|e| sqlx::Error::ColumnDecode {
                    index: column.to_owned(),
                    source: Box::new(e),
                })
        }
        Ok(Self {
            id: row.try_get("id")?,
            reservation_id: row.try_get("reservation_id")?,
            event_id: row.try_get("event_id")?,
            event_title: row.try_get("event_title")?,
            seller_id: row.try_get("seller_id")?,
            buyer_id: row.try_get("buyer_id")?,
            price: row.try_get("price")?,
            face_value: row.try_get("face_value")?,
            status: word(row, "status")?.ok_or_else(|| sqlx::Error::ColumnDecode {
                index: "status".to_owned(),
                source: "a transfer without a status".into(),
            })?,
            settlement: word(row, "settlement")?,
            settlement_status: word(row, "settlement_status")?,
            created_at: row.try_get("created_at")?,
            completed_at: row.try_get("completed_at")?,
        })
    }
}

const SELECT: &str = "SELECT t.id, t.reservation_id, t.event_id, e.title AS event_title, \
     t.seller_id, t.buyer_id, t.price, t.face_value, t.status, t.settlement, \
     t.settlement_status, t.created_at, t.completed_at \
     FROM ticket_transfers t JOIN events e ON e.id = t.event_id";

/// A listing is buyable while it is listed and its ticket is still the seller's and
/// still confirmed (a refund withdraws it, but this does not rely on that).
const BUYABLE: &str = "t.status = 'listed' AND EXISTS (SELECT 1 FROM reservations r \
     WHERE r.id = t.reservation_id AND r.status = 'confirmed' AND r.user_id = t.seller_id)";

pub async fn get(pool: &PgPool, id: Uuid) -> Result<Option<Transfer>, StoreError> {
    let sql = format!("{SELECT} WHERE t.id = $1");
    Ok(sqlx::query_as::<_, Transfer>(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(pool)
        .await?)
}

/// The listing if someone may buy it now.
pub async fn buyable(pool: &PgPool, id: Uuid) -> Result<Option<Transfer>, StoreError> {
    let sql = format!("{SELECT} WHERE t.id = $1 AND {BUYABLE}");
    Ok(sqlx::query_as::<_, Transfer>(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(pool)
        .await?)
}

/// Open listings, optionally of one event, oldest first, and how many there are.
pub async fn open_listings(
    pool: &PgPool,
    event: Option<Uuid>,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Transfer>, i64), StoreError> {
    let filter = format!("WHERE ($1::uuid IS NULL OR t.event_id = $1) AND {BUYABLE}");
    let sql = format!("{SELECT} {filter} ORDER BY t.created_at, t.id LIMIT $2 OFFSET $3");
    let listings = sqlx::query_as::<_, Transfer>(sqlx::AssertSqlSafe(sql))
        .bind(event)
        .bind(limit)
        .bind(offset)
        .fetch_all(pool)
        .await?;
    let count = format!("SELECT count(*) FROM ticket_transfers t {filter}");
    let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(count))
        .bind(event)
        .fetch_one(pool)
        .await?;
    Ok((listings, total))
}

/// The transfers a user sold or bought, newest first.
pub async fn for_user(pool: &PgPool, user: Uuid) -> Result<Vec<Transfer>, StoreError> {
    let sql = format!(
        "{SELECT} WHERE t.seller_id = $1 OR t.buyer_id = $1 ORDER BY t.created_at DESC, t.id \
         LIMIT 200"
    );
    Ok(sqlx::query_as::<_, Transfer>(sqlx::AssertSqlSafe(sql))
        .bind(user)
        .fetch_all(pool)
        .await?)
}

/// Why a ticket cannot be listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListRefusal {
    /// No such reservation, or not the caller's.
    NotFound,
    /// Not a confirmed, paid (and not refunded) sale.
    NotConfirmed,
    AlreadyTransferred,
    AlreadyListed,
    EventOver,
    AboveFaceValue {
        face_value: i64,
    },
}

/// Lists `reservation` for transfer at `price`. Every rule is checked under the
/// reservation's row lock, so a refund or a sale racing the listing cannot slip past.
pub async fn list(
    pool: &PgPool,
    seller: Uuid,
    reservation: Uuid,
    price: i64,
) -> Result<Result<Transfer, ListRefusal>, StoreError> {
    let mut tx = pool.begin().await?;
    let found: Option<(Uuid, String, i64, Uuid, bool)> = sqlx::query_as(
        "SELECT r.user_id, r.status, r.total_amount, r.event_id, \
         (e.status IN ('ended', 'cancelled') OR e.starts_at <= now()) \
         FROM reservations r JOIN events e ON e.id = r.event_id WHERE r.id = $1 \
         FOR UPDATE OF r",
    )
    .bind(reservation)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((_, status, face_value, event, over)) = found.filter(|f| f.0 == seller) else {
        return Ok(Err(ListRefusal::NotFound));
    };
    let history: Vec<String> = sqlx::query_scalar(
        "SELECT status FROM ticket_transfers WHERE reservation_id = $1 \
         AND status IN ('listed', 'completed')",
    )
    .bind(reservation)
    .fetch_all(&mut *tx)
    .await?;
    let history = history
        .iter()
        .map(|s| s.parse())
        .collect::<Result<Vec<TransferStatus>, _>>()?;
    // Checked first: a ticket that came by transfer has no sale of its new owner's.
    if history.contains(&TransferStatus::Completed) {
        return Ok(Err(ListRefusal::AlreadyTransferred));
    }
    let paid: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM payments WHERE reservation_id = $1 AND user_id = $2 \
         AND status = 'done')",
    )
    .bind(reservation)
    .bind(seller)
    .fetch_one(&mut *tx)
    .await?;
    if status.parse::<ReservationStatus>()? != ReservationStatus::Confirmed || !paid {
        return Ok(Err(ListRefusal::NotConfirmed));
    }
    if over {
        return Ok(Err(ListRefusal::EventOver));
    }
    if price > face_value {
        return Ok(Err(ListRefusal::AboveFaceValue { face_value }));
    }
    if !history.is_empty() {
        return Ok(Err(ListRefusal::AlreadyListed));
    }
    let id = Uuid::now_v7();
    let inserted = sqlx::query(
        "INSERT INTO ticket_transfers (id, reservation_id, event_id, seller_id, price, \
         face_value, status) VALUES ($1, $2, $3, $4, $5, $6, 'listed')",
    )
    .bind(id)
    .bind(reservation)
    .bind(event)
    .bind(seller)
    .bind(price)
    .bind(face_value)
    .execute(&mut *tx)
    .await;
    match inserted {
        Ok(_) => {}
        Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
            return Ok(Err(ListRefusal::AlreadyListed));
        }
        Err(err) => return Err(err.into()),
    }
    tx.commit().await?;
    get(pool, id).await?.map(Ok).ok_or(StoreError::NotFound)
}

/// The seller withdraws a listing. Refused while a buyer's payment for it is being
/// confirmed (that buyer would only be refunded).
pub async fn cancel(pool: &PgPool, id: Uuid, seller: Uuid) -> Result<Transfer, StoreError> {
    let cancelled = sqlx::query(
        "UPDATE ticket_transfers t SET status = 'cancelled', updated_at = now() \
         WHERE t.id = $1 AND t.seller_id = $2 AND t.status = 'listed' AND NOT EXISTS \
         (SELECT 1 FROM payments p WHERE p.transfer_id = t.id \
         AND p.status IN ('confirming', 'unknown'))",
    )
    .bind(id)
    .bind(seller)
    .execute(pool)
    .await?;
    let found = get(pool, id)
        .await?
        .filter(|t| t.seller_id == seller)
        .ok_or(StoreError::NotFound)?;
    if cancelled.rows_affected() == 0 {
        return Err(StoreError::Conflict(
            if found.status == TransferStatus::Listed {
                "a buyer is paying for this listing right now"
            } else {
                "this listing is no longer open"
            },
        ));
    }
    Ok(found)
}

/// Withdraws the open listing of a reservation that is being refunded, inside the
/// refund's transaction.
pub(crate) async fn withdraw(
    tx: &mut Transaction<'_, Postgres>,
    reservation: Uuid,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE ticket_transfers SET status = 'cancelled', updated_at = now() \
         WHERE reservation_id = $1 AND status = 'listed'",
    )
    .bind(reservation)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// What a completed transfer changed.
#[derive(Debug, Clone)]
pub struct Completed {
    pub transfer_id: Uuid,
    pub reservation_id: Uuid,
    pub event_id: Uuid,
    pub seller_id: Uuid,
    pub buyer_id: Uuid,
    pub price: i64,
}

/// Records the buyer's payment and hands the ticket over, in one transaction: the
/// listing and the reservation are locked, the reservation must still be the seller's
/// and confirmed, and then its owner, the listing, the points of both fans, the
/// reservation's history and `TransferCompleted` all change together. `Impossible` (and
/// nothing written) when the ticket is no longer for sale: the caller refunds.
pub async fn pay_and_complete(
    pool: &PgPool,
    payment: &Payment,
    method: &str,
    settlement: Settlement,
) -> Result<Fulfilment<Completed>, StoreError> {
    let Some(id) = payment.transfer_id else {
        return Ok(Fulfilment::Impossible);
    };
    let buyer = payment.user_id;
    let mut tx = pool.begin().await?;
    if !crate::payments::record_success(&mut tx, payment, method).await? {
        return Ok(Fulfilment::AlreadySettled);
    }
    let listing: Option<(Uuid, Uuid, Uuid, i64)> = sqlx::query_as(
        "SELECT reservation_id, event_id, seller_id, price FROM ticket_transfers \
         WHERE id = $1 AND status = 'listed' FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((reservation, event, seller, price)) = listing.filter(|l| l.2 != buyer) else {
        return Ok(Fulfilment::Impossible);
    };
    let handed_over = sqlx::query(
        // A new generation voids the seller's ticket codes (docs/tickets.md).
        "UPDATE reservations SET user_id = $2, idempotency_key = $3, \
         code_generation = code_generation + 1, updated_at = now() \
         WHERE id = $1 AND user_id = $4 AND status = 'confirmed'",
    )
    .bind(reservation)
    .bind(buyer)
    // The key was the seller's; the buyer may have used the same one.
    .bind(format!("transfer:{id}"))
    .bind(seller)
    .execute(&mut *tx)
    .await?;
    if handed_over.rows_affected() != 1 {
        return Ok(Fulfilment::Impossible);
    }
    sqlx::query(
        "UPDATE ticket_transfers SET status = 'completed', buyer_id = $2, settlement = $3, \
         settlement_status = CASE WHEN $3 = 'payout' THEN 'payout_owed' ELSE 'pending' END, \
         completed_at = now(), updated_at = now() WHERE id = $1",
    )
    .bind(id)
    .bind(buyer)
    .bind(settlement.as_str())
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO reservation_history (reservation_id, status, note) \
         VALUES ($1, 'confirmed', 'transferred to another fan')",
    )
    .bind(reservation)
    .execute(&mut *tx)
    .await?;
    memberships::take_back(
        &mut tx,
        seller,
        reservation,
        PointReason::TransferOut.as_str(),
    )
    .await?;
    memberships::credit(
        &mut tx,
        buyer,
        event,
        reservation,
        PURCHASE_POINTS,
        PointReason::TransferIn.as_str(),
    )
    .await?;
    let completed = TransferCompleted {
        transfer_id: id.to_string(),
        reservation_id: reservation.to_string(),
        seller_id: seller.to_string(),
        buyer_id: buyer.to_string(),
        event_id: event.to_string(),
        price,
        occurred_at_ms: Utc::now().timestamp_millis(),
        settlement: settlement.as_str().to_owned(),
    };
    let key = id.to_string();
    outbox::append(&mut tx, &DomainEvent::TransferCompleted(completed), &key).await?;
    tx.commit().await?;
    Ok(Fulfilment::Delivered(Completed {
        transfer_id: id,
        reservation_id: reservation,
        event_id: event,
        seller_id: seller,
        buyer_id: buyer,
        price,
    }))
}

/// How the seller's settlement ended: refunded, payout owed, or failed.
pub async fn settled(pool: &PgPool, id: Uuid, status: SettlementStatus) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE ticket_transfers SET settlement_status = $2, updated_at = now() WHERE id = $1",
    )
    .bind(id)
    .bind(status.as_str())
    .execute(pool)
    .await?;
    Ok(())
}
