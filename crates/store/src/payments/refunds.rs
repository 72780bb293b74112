//! Refunds as one recoverable sequence: `refunding` is recorded first (with why, and the
//! state a refused refund returns to), then the provider gives the money back
//! (`provider_cancelled_at`), then no ticket remains and the payment is `refunded` with
//! its `PaymentRefunded` event. For a confirmed reservation that last step is the
//! transaction that cancels the ticket, so a ticket and a refund never coexist. Each step
//! is conditional, so repeating one (after a crash, by the reconciler) changes nothing.

use std::time::Duration;

use chrono::Utc;
use sqlx::{PgPool, Postgres, Transaction};
use urr_proto::DomainEvent;
use urr_proto::events::PaymentRefunded;
use uuid::Uuid;

use super::settle::secs;
use super::{COLUMNS, Payment, text};
use crate::{StoreError, outbox, transfers};

/// How asking for a refund went.
#[derive(Debug)]
pub enum BeginRefund {
    /// Recorded as `refunding`: the refund goes ahead, and resumes after any crash.
    Started(Box<Payment>),
    /// The payment is not paid or done (any more).
    NotRefundable,
    /// The ticket is no longer the payer's: it was transferred to another fan.
    Transferred,
}

/// Starts the refund of a paid (or done) reservation payment. Under the reservation's row
/// lock: the ticket must still be the payer's, its open resale listing is withdrawn, and
/// the payment becomes `refunding`; from then on no listing can be made (listing needs a
/// `done` payment) and no confirmation lands (it refuses a refunding payment).
pub async fn begin_refund(
    pool: &PgPool,
    payment: &Payment,
    reason: &str,
    grace: Duration,
) -> Result<BeginRefund, StoreError> {
    let mut tx = pool.begin().await?;
    if let Some(reservation) = payment.reservation_id {
        // NO KEY UPDATE: the refund's own history rows (a foreign key to this row) still
        // go in.
        let owner: Option<Uuid> =
            sqlx::query_scalar("SELECT user_id FROM reservations WHERE id = $1 FOR NO KEY UPDATE")
                .bind(reservation)
                .fetch_optional(&mut *tx)
                .await?;
        if owner != Some(payment.user_id) {
            return Ok(BeginRefund::Transferred);
        }
        transfers::withdraw(&mut tx, reservation).await?;
    }
    let sql = format!(
        "UPDATE payments SET status = 'refunding', refund_from = status, refund_reason = $2, \
         provider_cancelled_at = NULL, failure_code = NULL, failure_message = NULL, \
         attempts = 0, next_check_at = now() + make_interval(secs => $3), updated_at = now() \
         WHERE id = $1 AND status IN ('paid', 'done') RETURNING {COLUMNS}"
    );
    let started = sqlx::query_as::<_, Payment>(sqlx::AssertSqlSafe(sql))
        .bind(payment.id)
        .bind(reason)
        .bind(secs(grace))
        .fetch_optional(&mut *tx)
        .await?;
    let Some(started) = started else {
        return Ok(BeginRefund::NotRefundable);
    };
    tx.commit().await?;
    Ok(BeginRefund::Started(Box::new(started)))
}

/// A paid reservation payment whose ticket cannot be had (the hold lapsed and its seats
/// were taken): owed back, with no way back to `paid`. False when it was not `paid`.
pub async fn refund_late(
    pool: &PgPool,
    id: Uuid,
    reason: &str,
    grace: Duration,
) -> Result<bool, StoreError> {
    let moved = sqlx::query(
        "UPDATE payments SET status = 'refunding', refund_from = NULL, refund_reason = $2, \
         attempts = 0, next_check_at = now() + make_interval(secs => $3), updated_at = now() \
         WHERE id = $1 AND status = 'paid'",
    )
    .bind(id)
    .bind(reason)
    .bind(secs(grace))
    .execute(pool)
    .await?;
    Ok(moved.rows_affected() == 1)
}

/// The provider gave the money back (the refund's first step).
pub async fn provider_cancelled(pool: &PgPool, id: Uuid) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE payments SET provider_cancelled_at = COALESCE(provider_cancelled_at, now()), \
         updated_at = now() WHERE id = $1 AND status = 'refunding'",
    )
    .bind(id)
    .execute(pool)
    .await?;
    Ok(())
}

/// The provider refused to give the money back. A refund the buyer asked for returns to
/// the state it left (the ticket stands), and says why; `None` when the refund has no way
/// back (nothing can be delivered for the money) and stays owed.
pub async fn refund_refused(
    pool: &PgPool,
    id: Uuid,
    code: &str,
    message: &str,
) -> Result<Option<String>, StoreError> {
    // SET reads the row as it was: `status` becomes the old `refund_from`.
    Ok(sqlx::query_scalar(
        "UPDATE payments SET status = refund_from, refund_from = NULL, refund_reason = NULL, \
         failure_code = $2, failure_message = $3, attempts = 0, \
         next_check_at = CASE WHEN refund_from = 'paid' THEN now() END, updated_at = now() \
         WHERE id = $1 AND status = 'refunding' AND refund_from IS NOT NULL \
         AND provider_cancelled_at IS NULL RETURNING status",
    )
    .bind(id)
    .bind(code)
    .bind(message)
    .fetch_optional(pool)
    .await?)
}

fn refunded_event(payment: &Payment, amount: i64, reason: &str) -> DomainEvent {
    DomainEvent::PaymentRefunded(PaymentRefunded {
        payment_id: payment.id.to_string(),
        order_id: payment.order_id.clone(),
        reservation_id: text(payment.reservation_id),
        user_id: payment.user_id.to_string(),
        event_id: text(payment.event_id),
        amount,
        reason: reason.to_owned(),
        occurred_at_ms: Utc::now().timestamp_millis(),
        purpose: payment.purpose.as_str().to_owned(),
        membership_id: text(payment.membership_id),
        transfer_id: text(payment.transfer_id),
    })
}

/// The refund's event and, for a reservation, the history line saying why.
async fn record_refund(
    tx: &mut Transaction<'_, Postgres>,
    payment: &Payment,
    amount: i64,
    status: &str,
    reason: &str,
) -> Result<(), StoreError> {
    outbox::append(
        tx,
        &refunded_event(payment, amount, reason),
        &payment.order_id,
    )
    .await?;
    if let Some(reservation) = payment.reservation_id {
        sqlx::query(
            "INSERT INTO reservation_history (reservation_id, status, note) VALUES ($1, $2, $3)",
        )
        .bind(reservation)
        .bind(status)
        .bind(reason)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

const FINISH: &str = "status = 'refunded', refunded_at = now(), refunded_amount = amount, \
    next_check_at = NULL, attempts = 0, updated_at = now()";

/// The refund's last step when no ticket is left to cancel (none was issued, or it is
/// cancelled already): `refunded`, with its event. False unless it was `refunding` with
/// the money back.
pub async fn refunded(pool: &PgPool, id: Uuid) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await?;
    let sql = format!(
        "UPDATE payments SET {FINISH} WHERE id = $1 AND status = 'refunding' \
         AND provider_cancelled_at IS NOT NULL RETURNING {COLUMNS}"
    );
    let done = sqlx::query_as::<_, Payment>(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(done) = done else {
        return Ok(false);
    };
    let reason = done.refund_reason.clone().unwrap_or_default();
    record_refund(&mut tx, &done, done.amount, "refunded", &reason).await?;
    tx.commit().await?;
    Ok(true)
}

/// The refund's last step inside the transaction that cancels the reservation's ticket.
pub(crate) async fn record_refunded_with_ticket(
    tx: &mut Transaction<'_, Postgres>,
    reservation: Uuid,
) -> Result<(), StoreError> {
    let sql = format!(
        "UPDATE payments SET {FINISH} WHERE reservation_id = $1 AND status = 'refunding' \
         AND provider_cancelled_at IS NOT NULL RETURNING {COLUMNS}"
    );
    let done = sqlx::query_as::<_, Payment>(sqlx::AssertSqlSafe(sql))
        .bind(reservation)
        .fetch_optional(&mut **tx)
        .await?;
    if let Some(done) = done {
        let reason = done.refund_reason.clone().unwrap_or_default();
        record_refund(tx, &done, done.amount, "refunded", &reason).await?;
    }
    Ok(())
}

/// True when a confirmation of `reservation` must not land: its payment is being (or
/// was) refunded. Locks its paid payment, so a refund deciding meanwhile waits for the
/// confirmation and then finds the payment `done`.
pub(crate) async fn refund_blocks_sale(
    tx: &mut Transaction<'_, Postgres>,
    reservation: Uuid,
) -> Result<bool, StoreError> {
    let statuses: Vec<String> = sqlx::query_scalar(
        "SELECT status FROM payments WHERE reservation_id = $1 \
         AND status IN ('paid', 'refunding', 'refunded') FOR UPDATE",
    )
    .bind(reservation)
    .fetch_all(&mut **tx)
    .await?;
    Ok(statuses.iter().any(|s| s != "paid"))
}

/// [`refund_blocks_sale`] for many reservations at once: those whose sale must not land.
/// Locks their paid payments in one order, so two such batches never wait on each other
/// crosswise.
pub(crate) async fn refunds_blocking_sales(
    tx: &mut Transaction<'_, Postgres>,
    reservations: &[Uuid],
) -> Result<std::collections::HashSet<Uuid>, StoreError> {
    if reservations.is_empty() {
        return Ok(std::collections::HashSet::new());
    }
    let rows: Vec<(Uuid, String)> = sqlx::query_as(
        "SELECT reservation_id, status FROM payments WHERE reservation_id = ANY($1) \
         AND status IN ('paid', 'refunding', 'refunded') ORDER BY id FOR UPDATE",
    )
    .bind(reservations)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .filter(|(_, status)| status != "paid")
        .map(|(reservation, _)| reservation)
        .collect())
}

/// `amount` (at most the payment's) went back outside a refund's sequence (a transfer's
/// seller settled from their own payment); false when the payment was not `done`. A
/// reservation payment's history gets a `status` line saying why.
pub async fn refunded_partly(
    pool: &PgPool,
    payment: &Payment,
    amount: i64,
    status: &str,
    reason: &str,
) -> Result<bool, StoreError> {
    let amount = amount.min(payment.amount);
    let mut tx = pool.begin().await?;
    let updated = sqlx::query(
        "UPDATE payments SET status = 'refunded', refunded_at = now(), refunded_amount = $2, \
         updated_at = now() WHERE id = $1 AND status = 'done'",
    )
    .bind(payment.id)
    .bind(amount)
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() == 0 {
        return Ok(false);
    }
    record_refund(&mut tx, payment, amount, status, reason).await?;
    tx.commit().await?;
    Ok(true)
}
