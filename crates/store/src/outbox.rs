//! Writing to the transactional outbox: callers append inside the transaction of the
//! change the event describes, so an event exists exactly when its change does.

use sqlx::{Postgres, Transaction};
use urr_proto::DomainEvent;

use crate::StoreError;

/// Appends `event` to its topic, under the partition `key` (e.g. the order id).
pub async fn append(
    tx: &mut Transaction<'_, Postgres>,
    event: &DomainEvent,
    key: &str,
) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(
        "INSERT INTO outbox (topic, key, event_type, payload) VALUES ($1, $2, $3, $4) \
         RETURNING id",
    )
    .bind(event.topic().as_str())
    .bind(key)
    .bind(event.type_name())
    .bind(event.encode())
    .fetch_one(&mut **tx)
    .await?)
}
