//! What every change of a reservation writes besides its row, in the change's own
//! transaction: a line of its history and, for changes others hear about, its event.

use sqlx::{Postgres, Transaction};
use urr_actors::ports::StoreFailure;
use urr_proto::DomainEvent;
use uuid::Uuid;

use super::failure;

pub(super) type Tx<'c> = Transaction<'c, Postgres>;

pub(super) async fn history(
    tx: &mut Tx<'_>,
    reservation: Uuid,
    status: &str,
    note: &str,
) -> Result<(), StoreFailure> {
    history_many(tx, &[reservation], status, note).await
}

/// [`history`]: the same line for many reservations in one statement.
pub(super) async fn history_many(
    tx: &mut Tx<'_>,
    reservations: &[Uuid],
    status: &str,
    note: &str,
) -> Result<(), StoreFailure> {
    sqlx::query(
        "INSERT INTO reservation_history (reservation_id, status, note) \
         SELECT id, $2, $3 FROM UNNEST($1::uuid[]) AS t(id)",
    )
    .bind(reservations)
    .bind(status)
    .bind(note)
    .execute(&mut **tx)
    .await
    .map_err(failure)?;
    Ok(())
}

/// Writes a reservation's event to the outbox, keyed by the reservation.
pub(super) async fn publish(
    tx: &mut Tx<'_>,
    reservation: Uuid,
    event: DomainEvent,
) -> Result<(), StoreFailure> {
    crate::outbox::append(tx, &event, &reservation.to_string())
        .await
        .map_err(failure)?;
    Ok(())
}
