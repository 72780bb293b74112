//! Writing to the transactional outbox: callers append inside the transaction of the
//! change the event describes, so an event exists exactly when its change does.

use sqlx::{Postgres, Transaction};

use crate::StoreError;

/// One event to publish.
#[derive(Debug, Clone)]
pub struct OutboxEvent<'a> {
    /// The stream, e.g. `payment-events`.
    pub topic: &'a str,
    /// The partition key, e.g. the order id.
    pub key: &'a str,
    /// The proto message name, e.g. `PaymentConfirmed`.
    pub event_type: &'a str,
    /// The prost-encoded message.
    pub payload: Vec<u8>,
}

pub async fn append(
    tx: &mut Transaction<'_, Postgres>,
    event: &OutboxEvent<'_>,
) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(
        "INSERT INTO outbox (topic, key, event_type, payload) VALUES ($1, $2, $3, $4) \
         RETURNING id",
    )
    .bind(event.topic)
    .bind(event.key)
    .bind(event.event_type)
    .bind(&event.payload)
    .fetch_one(&mut **tx)
    .await?)
}

/// Appends many events to one topic in one statement, in order, inside the transaction
/// of the changes they describe. Per event: its key, type and payload.
pub async fn append_many(
    tx: &mut Transaction<'_, Postgres>,
    topic: &str,
    events: &[(String, &str, Vec<u8>)],
) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    let keys: Vec<&str> = events.iter().map(|(key, _, _)| key.as_str()).collect();
    let types: Vec<&str> = events.iter().map(|(_, kind, _)| *kind).collect();
    let payloads: Vec<&[u8]> = events.iter().map(|(_, _, p)| p.as_slice()).collect();
    sqlx::query(
        "INSERT INTO outbox (topic, key, event_type, payload) \
         SELECT $1, key, event_type, payload \
         FROM UNNEST($2::text[], $3::text[], $4::bytea[]) WITH ORDINALITY \
         AS t(key, event_type, payload, n) ORDER BY n",
    )
    .bind(topic)
    .bind(&keys)
    .bind(&types)
    .bind(&payloads)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
