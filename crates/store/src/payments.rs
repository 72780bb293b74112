//! Payment records. Every state change that others must hear about writes its outbox
//! event in the same transaction.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgPool, Postgres, Transaction};
use urr_proto::DomainEvent;
use urr_proto::events::{PaymentConfirmed, PaymentRefunded};
use urr_wire::status::{HistoryStatus, PaymentProvider, PaymentPurpose, PaymentStatus};
use uuid::Uuid;

use crate::StoreError;
use crate::outbox;

/// What a payment pays for: exactly one of these rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Reservation(Uuid),
    Membership(Uuid),
    Transfer(Uuid),
}

impl Target {
    pub fn purpose(self) -> PaymentPurpose {
        match self {
            Target::Reservation(_) => PaymentPurpose::Reservation,
            Target::Membership(_) => PaymentPurpose::Membership,
            Target::Transfer(_) => PaymentPurpose::Transfer,
        }
    }

    /// (reservation id, membership id, transfer id): the one that is set.
    pub fn ids(self) -> (Option<Uuid>, Option<Uuid>, Option<Uuid>) {
        match self {
            Target::Reservation(id) => (Some(id), None, None),
            Target::Membership(id) => (None, Some(id), None),
            Target::Transfer(id) => (None, None, Some(id)),
        }
    }
}

#[derive(Debug, Clone, FromRow)]
pub struct Payment {
    pub id: Uuid,
    pub order_id: String,
    /// The matching id below is set.
    #[sqlx(try_from = "String")]
    pub purpose: PaymentPurpose,
    pub reservation_id: Option<Uuid>,
    pub membership_id: Option<Uuid>,
    pub transfer_id: Option<Uuid>,
    pub user_id: Uuid,
    /// The event a reservation or transfer payment is for; none for a membership.
    pub event_id: Option<Uuid>,
    pub amount: i64,
    #[sqlx(try_from = "String")]
    pub provider: PaymentProvider,
    pub method: Option<String>,
    pub payment_key: Option<String>,
    #[sqlx(try_from = "String")]
    pub status: PaymentStatus,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
    pub created_at: DateTime<Utc>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub refunded_at: Option<DateTime<Utc>>,
    pub refunded_amount: Option<i64>,
}

impl Payment {
    /// What the payment is for; `None` only for a row that breaks the table's check.
    pub fn target(&self) -> Option<Target> {
        match self.purpose {
            PaymentPurpose::Reservation => self.reservation_id.map(Target::Reservation),
            PaymentPurpose::Membership => self.membership_id.map(Target::Membership),
            PaymentPurpose::Transfer => self.transfer_id.map(Target::Transfer),
        }
    }
}

const COLUMNS: &str = "id, order_id, purpose, reservation_id, membership_id, transfer_id, \
    user_id, event_id, amount, provider, method, payment_key, status, failure_code, \
    failure_message, created_at, confirmed_at, refunded_at, refunded_amount";

pub struct NewPayment<'a> {
    pub order_id: &'a str,
    pub target: Target,
    pub user_id: Uuid,
    pub event_id: Option<Uuid>,
    pub amount: i64,
    pub provider: PaymentProvider,
    pub method: Option<&'a str>,
}

pub async fn create(pool: &PgPool, new: &NewPayment<'_>) -> Result<Payment, StoreError> {
    let sql = format!(
        "INSERT INTO payments (id, order_id, purpose, reservation_id, membership_id, \
         transfer_id, user_id, event_id, amount, provider, method, status) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'ready') RETURNING {COLUMNS}"
    );
    let (reservation, membership, transfer) = new.target.ids();
    sqlx::query_as::<_, Payment>(sqlx::AssertSqlSafe(sql))
        .bind(Uuid::now_v7())
        .bind(new.order_id)
        .bind(new.target.purpose().as_str())
        .bind(reservation)
        .bind(membership)
        .bind(transfer)
        .bind(new.user_id)
        .bind(new.event_id)
        .bind(new.amount)
        .bind(new.provider.as_str())
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

/// The newest payment by `user` for `target` in one of `statuses`.
pub async fn latest_for(
    pool: &PgPool,
    user: Uuid,
    target: Target,
    statuses: &[PaymentStatus],
) -> Result<Option<Payment>, StoreError> {
    // One indexed column per purpose; the name comes from this fixed set, never input.
    let (column, id) = match target {
        Target::Reservation(id) => ("reservation_id", id),
        Target::Membership(id) => ("membership_id", id),
        Target::Transfer(id) => ("transfer_id", id),
    };
    let sql = format!(
        "SELECT {COLUMNS} FROM payments WHERE {column} = $1 AND user_id = $2 \
         AND status = ANY($3) ORDER BY created_at DESC LIMIT 1"
    );
    let statuses: Vec<&str> = statuses.iter().map(|s| s.as_str()).collect();
    Ok(sqlx::query_as::<_, Payment>(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(user)
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

fn text(id: Option<Uuid>) -> String {
    id.map(|id| id.to_string()).unwrap_or_default()
}

/// The provider took the money: recorded with its `PaymentConfirmed` event.
pub async fn succeed(pool: &PgPool, payment: &Payment, method: &str) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    record_success(&mut tx, payment, method).await?;
    tx.commit().await?;
    Ok(())
}

/// [`succeed`] inside a caller's transaction, so what the money buys (a membership, a
/// transferred ticket) commits with the record of the money, or neither does.
pub async fn record_success(
    tx: &mut Transaction<'_, Postgres>,
    payment: &Payment,
    method: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE payments SET status = 'done', method = COALESCE(method, $2), \
         confirmed_at = now(), updated_at = now() WHERE id = $1",
    )
    .bind(payment.id)
    .bind(method)
    .execute(&mut **tx)
    .await?;
    let event = PaymentConfirmed {
        payment_id: payment.id.to_string(),
        order_id: payment.order_id.clone(),
        reservation_id: text(payment.reservation_id),
        user_id: payment.user_id.to_string(),
        event_id: text(payment.event_id),
        amount: payment.amount,
        method: method.to_owned(),
        occurred_at_ms: Utc::now().timestamp_millis(),
        purpose: payment.purpose.as_str().to_owned(),
        membership_id: text(payment.membership_id),
        transfer_id: text(payment.transfer_id),
    };
    outbox::append(tx, &DomainEvent::PaymentConfirmed(event), &payment.order_id).await?;
    Ok(())
}

/// The money went back: recorded with its `PaymentRefunded` event.
pub async fn refunded(pool: &PgPool, payment: &Payment, reason: &str) -> Result<bool, StoreError> {
    refunded_partly(
        pool,
        payment,
        payment.amount,
        HistoryStatus::Refunded,
        reason,
    )
    .await
}

/// `amount` (at most the payment's) went back; false when the payment was not `done`.
/// A reservation payment's history gets a `status` line saying why.
pub async fn refunded_partly(
    pool: &PgPool,
    payment: &Payment,
    amount: i64,
    status: HistoryStatus,
    reason: &str,
) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await?;
    let updated = sqlx::query(
        "UPDATE payments SET status = 'refunded', refunded_at = now(), refunded_amount = $2, \
         updated_at = now() WHERE id = $1 AND status = 'done'",
    )
    .bind(payment.id)
    .bind(amount.min(payment.amount))
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() == 0 {
        return Ok(false);
    }
    let event = PaymentRefunded {
        payment_id: payment.id.to_string(),
        order_id: payment.order_id.clone(),
        reservation_id: text(payment.reservation_id),
        user_id: payment.user_id.to_string(),
        event_id: text(payment.event_id),
        amount: amount.min(payment.amount),
        reason: reason.to_owned(),
        occurred_at_ms: Utc::now().timestamp_millis(),
        purpose: payment.purpose.as_str().to_owned(),
        membership_id: text(payment.membership_id),
        transfer_id: text(payment.transfer_id),
    };
    outbox::append(
        &mut tx,
        &DomainEvent::PaymentRefunded(event),
        &payment.order_id,
    )
    .await?;
    if let Some(reservation) = payment.reservation_id {
        sqlx::query(
            "INSERT INTO reservation_history (reservation_id, status, note) VALUES ($1, $2, $3)",
        )
        .bind(reservation)
        .bind(status.as_str())
        .bind(reason)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// Notes something about a reservation in its history (e.g. why a late payment was
/// refunded).
pub async fn note(
    pool: &PgPool,
    reservation: Uuid,
    status: HistoryStatus,
    note: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO reservation_history (reservation_id, status, note) VALUES ($1, $2, $3)",
    )
    .bind(reservation)
    .bind(status.as_str())
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
