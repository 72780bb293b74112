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

/// Appends many events in one statement, in order, inside the transaction of the changes
/// they describe; each under its own partition key.
pub async fn append_many(
    tx: &mut Transaction<'_, Postgres>,
    events: &[(DomainEvent, String)],
) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    let topics: Vec<&str> = events.iter().map(|(e, _)| e.topic().as_str()).collect();
    let keys: Vec<&str> = events.iter().map(|(_, key)| key.as_str()).collect();
    let types: Vec<&str> = events.iter().map(|(e, _)| e.type_name()).collect();
    let payloads: Vec<Vec<u8>> = events.iter().map(|(e, _)| e.encode()).collect();
    sqlx::query(
        "INSERT INTO outbox (topic, key, event_type, payload) \
         SELECT topic, key, event_type, payload \
         FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bytea[]) WITH ORDINALITY \
         AS t(topic, key, event_type, payload, n) ORDER BY n",
    )
    .bind(&topics)
    .bind(&keys)
    .bind(&types)
    .bind(&payloads)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
