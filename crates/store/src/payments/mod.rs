//! Payment records. Every state change that others must hear about writes its outbox
//! event in the same transaction.
//!
//! A payment moves through the states of [`Status`]; the transitions live beside this
//! file by what drives them: a confirmation's outcome (`settle`), a refund (`refunds`)
//! and the reconciler's schedule (`due`). Every transition is a conditional update from
//! the states it may leave, so the request path, the ticket consumer and the reconciler
//! may race on one payment and the first to arrive wins.

mod due;
mod refunds;
mod settle;

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgPool};
use uuid::Uuid;

use urr_wire::status::{PaymentProvider, PaymentPurpose, PaymentStatus};

use crate::StoreError;

pub use due::claim_due;
pub use refunds::{
    BeginRefund, begin_refund, provider_cancelled, refund_late, refund_refused, refunded,
    refunded_partly,
};
pub(crate) use refunds::{record_refunded_with_ticket, refund_blocks_sale, refunds_blocking_sales};
pub use settle::{
    Fulfilment, charged_unfulfilled, fail, outcome_unknown, record_paid, record_success,
    start_confirming, ticketed, ticketed_and_read,
};
pub(crate) use settle::{ticketed_in, ticketed_in_many};

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
    /// How often the reconciler looked at it in its current state.
    pub attempts: i32,
    pub next_check_at: Option<DateTime<Utc>>,
    pub refund_reason: Option<String>,
    /// Where a refund the buyer asked for came from (`paid` or `done`); `None` for a
    /// refund owed because nothing could be delivered.
    pub refund_from: Option<String>,
    pub provider_cancelled_at: Option<DateTime<Utc>>,
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

pub(crate) const COLUMNS: &str = "id, order_id, purpose, reservation_id, membership_id, \
    transfer_id, user_id, event_id, amount, provider, method, payment_key, status, \
    failure_code, failure_message, created_at, confirmed_at, refunded_at, refunded_amount, \
    attempts, next_check_at, refund_reason, refund_from, provider_cancelled_at";

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
    insert(pool, new, None)
        .await
        .map_err(|e| StoreError::unique_violation(e, "order id"))
}

/// A new order already claimed for confirmation, for a flow that charges at once (the
/// sandbox): [`create`] and [`start_confirming`] in one statement. `None` (nothing
/// written) when another order of the same reservation or listing is being settled or is
/// done: the unique index `start_confirming` relies on refuses this one too.
pub async fn create_confirming(
    pool: &PgPool,
    new: &NewPayment<'_>,
    payment_key: &str,
    settle_within: std::time::Duration,
) -> Result<Option<Payment>, StoreError> {
    match insert(pool, new, Some((payment_key, settle_within))).await {
        Ok(payment) => Ok(Some(payment)),
        Err(sqlx::Error::Database(db))
            if db.is_unique_violation()
                && db
                    .constraint()
                    .is_some_and(|name| name.starts_with("payments_one_success_per_")) =>
        {
            Ok(None)
        }
        Err(err) => Err(StoreError::unique_violation(err, "order id")),
    }
}

/// The one INSERT of a new order: `ready`, or `confirming` when `claim` gives its payment
/// key and the time its own request has to settle it (the reconciler's next look).
async fn insert(
    pool: &PgPool,
    new: &NewPayment<'_>,
    claim: Option<(&str, std::time::Duration)>,
) -> Result<Payment, sqlx::Error> {
    let sql = format!(
        "INSERT INTO payments (id, order_id, purpose, reservation_id, membership_id, \
         transfer_id, user_id, event_id, amount, provider, method, status, payment_key, \
         next_check_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, \
         now() + make_interval(secs => $14)) RETURNING {COLUMNS}"
    );
    let (reservation, membership, transfer) = new.target.ids();
    let status = if claim.is_some() {
        "confirming"
    } else {
        "ready"
    };
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
        .bind(status)
        .bind(claim.map(|(key, _)| key))
        .bind(claim.map(|(_, within)| settle::secs(within)))
        .fetch_one(pool)
        .await
}

pub async fn by_order(pool: &PgPool, order_id: &str) -> Result<Option<Payment>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM payments WHERE order_id = $1");
    Ok(sqlx::query_as::<_, Payment>(sqlx::AssertSqlSafe(sql))
        .bind(order_id)
        .fetch_optional(pool)
        .await?)
}

pub async fn by_id(pool: &PgPool, id: Uuid) -> Result<Option<Payment>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM payments WHERE id = $1");
    Ok(sqlx::query_as::<_, Payment>(sqlx::AssertSqlSafe(sql))
        .bind(id)
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

fn text(id: Option<Uuid>) -> String {
    id.map(|id| id.to_string()).unwrap_or_default()
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
