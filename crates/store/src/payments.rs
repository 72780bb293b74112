//! Payment records. Every state change that others must hear about writes its outbox
//! event in the same transaction.

use chrono::{DateTime, Utc};
use prost::Message;
use sqlx::{FromRow, PgPool};
use urr_proto::events::{PaymentConfirmed, PaymentRefunded};
use uuid::Uuid;

use crate::StoreError;
use crate::outbox::{self, OutboxEvent};

#[derive(Debug, Clone, FromRow)]
pub struct Payment {
    pub id: Uuid,
    pub order_id: String,
    pub reservation_id: Uuid,
    pub user_id: Uuid,
    pub event_id: Uuid,
    pub amount: i64,
    pub provider: String,
    pub method: Option<String>,
    pub payment_key: Option<String>,
    pub status: String,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
    pub created_at: DateTime<Utc>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub refunded_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, order_id, reservation_id, user_id, event_id, amount, provider, \
    method, payment_key, status, failure_code, failure_message, created_at, confirmed_at, \
    refunded_at";

pub struct NewPayment<'a> {
    pub order_id: &'a str,
    pub reservation_id: Uuid,
    pub user_id: Uuid,
    pub event_id: Uuid,
    pub amount: i64,
    pub provider: &'a str,
    pub method: Option<&'a str>,
}

pub async fn create(pool: &PgPool, new: &NewPayment<'_>) -> Result<Payment, StoreError> {
    let sql = format!(
        "INSERT INTO payments (id, order_id, reservation_id, user_id, event_id, amount, \
         provider, method, status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'ready') \
         RETURNING {COLUMNS}"
    );
    sqlx::query_as::<_, Payment>(sqlx::AssertSqlSafe(sql))
        .bind(Uuid::now_v7())
        .bind(new.order_id)
        .bind(new.reservation_id)
        .bind(new.user_id)
        .bind(new.event_id)
        .bind(new.amount)
        .bind(new.provider)
        .bind(new.method)
        .fetch_one(pool)
        .await
        .map_err(|e| StoreError::unique_violation(e, "order id"))
}

pub async fn by_order(pool: &PgPool, order_id: &str) -> Result<Option<Payment>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM payments WHERE order_id = $1");
    Ok(sqlx::query_as::<_, Payment>(sqlx::AssertSqlSafe(sql))
        .bind(order_id)
        .fetch_optional(pool)
        .await?)
}

/// The newest payment of a reservation in one of `statuses`.
pub async fn latest_for_reservation(
    pool: &PgPool,
    reservation: Uuid,
    statuses: &[&str],
) -> Result<Option<Payment>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM payments WHERE reservation_id = $1 AND status = ANY($2) \
         ORDER BY created_at DESC LIMIT 1"
    );
    let statuses: Vec<String> = statuses.iter().map(|s| (*s).to_owned()).collect();
    Ok(sqlx::query_as::<_, Payment>(sqlx::AssertSqlSafe(sql))
        .bind(reservation)
        .bind(&statuses)
        .fetch_optional(pool)
        .await?)
}

/// Claims a `ready` payment for confirmation. Only one caller can: the unique index on
/// confirming/done payments of a reservation also stops a second order being charged.
pub async fn start_confirming(
    pool: &PgPool,
    order_id: &str,
    payment_key: &str,
) -> Result<bool, StoreError> {
    let claimed = sqlx::query(
        "UPDATE payments SET status = 'confirming', payment_key = $2, updated_at = now() \
         WHERE order_id = $1 AND status = 'ready'",
    )
    .bind(order_id)
    .bind(payment_key)
    .execute(pool)
    .await;
    match claimed {
        Ok(done) => Ok(done.rows_affected() == 1),
        Err(sqlx::Error::Database(db)) if db.is_unique_violation() => Ok(false),
        Err(err) => Err(err.into()),
    }
}

/// The provider refused or failed: the payment is failed, the reservation untouched.
pub async fn fail(
    pool: &PgPool,
    order_id: &str,
    code: &str,
    message: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE payments SET status = 'failed', failure_code = $2, failure_message = $3, \
         updated_at = now() WHERE order_id = $1 AND status IN ('ready', 'confirming')",
    )
    .bind(order_id)
    .bind(code)
    .bind(message)
    .execute(pool)
    .await?;
    Ok(())
}

/// The provider took the money: recorded with its `PaymentConfirmed` event.
pub async fn succeed(pool: &PgPool, payment: &Payment, method: &str) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "UPDATE payments SET status = 'done', method = COALESCE(method, $2), \
         confirmed_at = now(), updated_at = now() WHERE id = $1",
    )
    .bind(payment.id)
    .bind(method)
    .execute(&mut *tx)
    .await?;
    let event = PaymentConfirmed {
        payment_id: payment.id.to_string(),
        order_id: payment.order_id.clone(),
        reservation_id: payment.reservation_id.to_string(),
        user_id: payment.user_id.to_string(),
        event_id: payment.event_id.to_string(),
        amount: payment.amount,
        method: method.to_owned(),
        occurred_at_ms: Utc::now().timestamp_millis(),
    };
    outbox::append(
        &mut tx,
        &OutboxEvent {
            topic: "payment-events",
            key: &payment.order_id,
            event_type: "PaymentConfirmed",
            payload: event.encode_to_vec(),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The money went back: recorded with its `PaymentRefunded` event.
pub async fn refunded(pool: &PgPool, payment: &Payment, reason: &str) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await?;
    let updated = sqlx::query(
        "UPDATE payments SET status = 'refunded', refunded_at = now(), updated_at = now() \
         WHERE id = $1 AND status = 'done'",
    )
    .bind(payment.id)
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() == 0 {
        return Ok(false);
    }
    let event = PaymentRefunded {
        payment_id: payment.id.to_string(),
        order_id: payment.order_id.clone(),
        reservation_id: payment.reservation_id.to_string(),
        user_id: payment.user_id.to_string(),
        event_id: payment.event_id.to_string(),
        amount: payment.amount,
        reason: reason.to_owned(),
        occurred_at_ms: Utc::now().timestamp_millis(),
    };
    outbox::append(
        &mut tx,
        &OutboxEvent {
            topic: "payment-events",
            key: &payment.order_id,
            event_type: "PaymentRefunded",
            payload: event.encode_to_vec(),
        },
    )
    .await?;
    sqlx::query(
        "INSERT INTO reservation_history (reservation_id, status, note) VALUES ($1, $2, $3)",
    )
    .bind(payment.reservation_id)
    .bind("refunded")
    .bind(reason)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Notes something about a reservation in its history (e.g. why a late payment was
/// refunded).
pub async fn note(
    pool: &PgPool,
    reservation: Uuid,
    status: &str,
    note: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO reservation_history (reservation_id, status, note) VALUES ($1, $2, $3)",
    )
    .bind(reservation)
    .bind(status)
    .bind(note)
    .execute(pool)
    .await?;
    Ok(())
}

/// Counts outbox events of a type (tests and operators).
pub async fn outbox_count(pool: &PgPool, event_type: &str) -> Result<i64, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM outbox WHERE event_type = $1")
            .bind(event_type)
            .fetch_one(pool)
            .await?,
    )
}
