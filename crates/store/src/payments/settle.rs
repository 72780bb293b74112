//! A confirmation's outcome: claimed, then charged (paid, or done at once when what it
//! buys is recorded with the money), declined, or unknown until the provider says.

use std::time::Duration;

use chrono::Utc;
use sqlx::{PgExecutor, PgPool, Postgres, Transaction};
use urr_proto::DomainEvent;
use urr_proto::events::PaymentConfirmed;
use uuid::Uuid;

use super::{COLUMNS, Payment, text};
use crate::StoreError;

/// Seconds for `make_interval(secs => ..)`.
pub(super) fn secs(wait: Duration) -> f64 {
    wait.as_secs_f64()
}

/// Claims a `ready` payment for confirmation. Only one caller can: the unique index on
/// unsettled and done payments of a reservation (or listing) also stops a second order
/// being charged. The reconciler leaves it alone for `settle_within` (the provider's
/// timeout and a margin), the time its own request needs to settle it.
pub async fn start_confirming(
    pool: &PgPool,
    order_id: &str,
    payment_key: &str,
    settle_within: Duration,
) -> Result<bool, StoreError> {
    let claimed = sqlx::query(
        "UPDATE payments SET status = 'confirming', payment_key = $2, attempts = 0, \
         next_check_at = now() + make_interval(secs => $3), updated_at = now() \
         WHERE order_id = $1 AND status = 'ready'",
    )
    .bind(order_id)
    .bind(payment_key)
    .bind(secs(settle_within))
    .execute(pool)
    .await;
    match claimed {
        Ok(done) => Ok(done.rows_affected() == 1),
        Err(sqlx::Error::Database(db)) if db.is_unique_violation() => Ok(false),
        Err(err) => Err(err.into()),
    }
}

/// Nothing was charged (declined, not payable, or the provider says it never charged):
/// the payment is failed, what it was for untouched. False when it had settled already.
pub async fn fail(
    pool: &PgPool,
    order_id: &str,
    code: &str,
    message: &str,
) -> Result<bool, StoreError> {
    let failed = sqlx::query(
        "UPDATE payments SET status = 'failed', failure_code = $2, failure_message = $3, \
         next_check_at = NULL, updated_at = now() \
         WHERE order_id = $1 AND status IN ('ready', 'confirming', 'unknown')",
    )
    .bind(order_id)
    .bind(code)
    .bind(message)
    .execute(pool)
    .await?;
    Ok(failed.rows_affected() == 1)
}

/// The provider gave no verdict: the charge may have happened. The payment keeps its
/// next look (past its request's time), so the provider is asked only once a
/// confirmation still in flight there has surely landed.
pub async fn outcome_unknown(pool: &PgPool, id: Uuid, why: &str) -> Result<bool, StoreError> {
    let marked = sqlx::query(
        "UPDATE payments SET status = 'unknown', failure_message = $2, updated_at = now() \
         WHERE id = $1 AND status = 'confirming'",
    )
    .bind(id)
    .bind(why)
    .execute(pool)
    .await?;
    Ok(marked.rows_affected() == 1)
}

fn confirmed_event(payment: &Payment, method: &str) -> DomainEvent {
    DomainEvent::PaymentConfirmed(PaymentConfirmed {
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
    })
}

/// Moves an unsettled payment (confirming or unknown) to `status` with the charge's
/// method and its `PaymentConfirmed` event, both in one statement: on a pool it is its
/// own transaction, inside a caller's it commits with the rest. The payment as it now
/// stands, or `None` (nothing written) when another caller settled it first.
async fn charge<'e>(
    executor: impl PgExecutor<'e>,
    payment: &Payment,
    method: &str,
    status: &str,
    check_in: Option<Duration>,
    refund_reason: Option<&str>,
) -> Result<Option<Payment>, StoreError> {
    let event = confirmed_event(payment, method);
    // The event goes into the outbox only when the payment moved, as `outbox::append`
    // would write it. A data-modifying CTE runs to completion whether or not the rest of
    // the statement reads it, so the answer can be the moved row itself.
    let sql = format!(
        "WITH moved AS ( \
           UPDATE payments SET status = $2, method = COALESCE(method, $3), \
           confirmed_at = now(), failure_code = NULL, failure_message = NULL, attempts = 0, \
           next_check_at = now() + make_interval(secs => $4), refund_reason = $5, \
           updated_at = now() WHERE id = $1 AND status IN ('confirming', 'unknown') \
           RETURNING {COLUMNS}), \
         appended AS ( \
           INSERT INTO outbox (topic, key, event_type, payload) \
           SELECT $6, $7, $8, $9 FROM moved) \
         SELECT {COLUMNS} FROM moved"
    );
    Ok(sqlx::query_as::<_, Payment>(sqlx::AssertSqlSafe(sql))
        .bind(payment.id)
        .bind(status)
        .bind(method)
        .bind(check_in.map(secs))
        .bind(refund_reason)
        .bind(event.topic().as_str())
        .bind(&payment.order_id)
        .bind(event.type_name())
        .bind(event.encode())
        .fetch_optional(executor)
        .await?)
}

/// The provider took the money for a reservation: `paid`, with its `PaymentConfirmed`
/// event, until the ticket is confirmed. The reconciler completes it after `grace` if the
/// request and the ticket consumer have not. The payment as it now stands (so its
/// completion need not read it again), or `None` when another caller settled it first.
pub async fn record_paid(
    pool: &PgPool,
    payment: &Payment,
    method: &str,
    grace: Duration,
) -> Result<Option<Payment>, StoreError> {
    charge(pool, payment, method, "paid", Some(grace), None).await
}

/// The money is recorded `done` inside a caller's transaction, so what it buys (a
/// membership, a transferred ticket) commits with the record of the money, or neither
/// does. False (write nothing more) when another caller settled the payment first.
pub async fn record_success(
    tx: &mut Transaction<'_, Postgres>,
    payment: &Payment,
    method: &str,
) -> Result<bool, StoreError> {
    Ok(charge(&mut **tx, payment, method, "done", None, None)
        .await?
        .is_some())
}

/// What recording a charge together with what it buys came to.
#[derive(Debug)]
pub enum Fulfilment<T> {
    /// Recorded, with what it bought.
    Delivered(T),
    /// What was paid for can no longer be had: nothing was written; the money goes back.
    Impossible,
    /// Another caller settled this payment first; nothing was written.
    AlreadySettled,
}

/// Charged for something that can no longer be delivered: recorded as charged (its
/// `PaymentConfirmed` event) and owed back at once, with no way back to `done`.
pub async fn charged_unfulfilled(
    pool: &PgPool,
    payment: &Payment,
    method: &str,
    reason: &str,
    grace: Duration,
) -> Result<bool, StoreError> {
    Ok(charge(
        pool,
        payment,
        method,
        "refunding",
        Some(grace),
        Some(reason),
    )
    .await?
    .is_some())
}

/// The reservation a paid payment is for was confirmed: `done`. False when it was not
/// `paid` (already done, or being refunded). One statement, so its own transaction.
pub async fn ticketed(pool: &PgPool, reservation: Uuid) -> Result<bool, StoreError> {
    let moved = sqlx::query(TICKETED)
        .bind(reservation)
        .execute(pool)
        .await?;
    Ok(moved.rows_affected() > 0)
}

/// [`ticketed`], and the payment as it then stands, in one statement: the last two steps
/// of a paid reservation's payment, each a wait for a pooled connection when a rush keeps
/// the pool busy (`BENCHMARKS.md`, "a seventh session"). `None` when no payment has `id`.
pub async fn ticketed_and_read(
    pool: &PgPool,
    reservation: Uuid,
    id: Uuid,
) -> Result<Option<Payment>, StoreError> {
    // A data-modifying CTE's changes are invisible to the rest of its statement, so the
    // payment moved here is read from what the update returned, any other from the table.
    let sql = format!(
        "WITH moved AS ({TICKETED} RETURNING {COLUMNS}) \
         SELECT {COLUMNS} FROM moved WHERE id = $2 \
         UNION ALL \
         SELECT {COLUMNS} FROM payments WHERE id = $2 \
         AND NOT EXISTS (SELECT 1 FROM moved WHERE id = $2)"
    );
    Ok(sqlx::query_as::<_, Payment>(sqlx::AssertSqlSafe(sql))
        .bind(reservation)
        .bind(id)
        .fetch_optional(pool)
        .await?)
}

const TICKETED: &str = "UPDATE payments SET status = 'done', next_check_at = NULL, \
    attempts = 0, updated_at = now() WHERE reservation_id = $1 AND status = 'paid'";

/// [`ticketed_in`] for every reservation a batch of sales confirms.
pub(crate) async fn ticketed_in_many(
    tx: &mut Transaction<'_, Postgres>,
    reservations: &[Uuid],
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE payments SET status = 'done', next_check_at = NULL, attempts = 0, \
         updated_at = now() WHERE reservation_id = ANY($1) AND status = 'paid'",
    )
    .bind(reservations)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// [`ticketed`] inside the transaction that confirms the reservation.
pub(crate) async fn ticketed_in(
    tx: &mut Transaction<'_, Postgres>,
    reservation: Uuid,
) -> Result<bool, StoreError> {
    let moved = sqlx::query(TICKETED)
        .bind(reservation)
        .execute(&mut **tx)
        .await?;
    Ok(moved.rows_affected() > 0)
}
