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
