//! One event as it travels on a stream, and its encoding as stream entry fields.

use redis::streams::StreamId;

use crate::BusError;

/// Field names of a stream entry. The event id is the outbox id, stable across
/// republishing and replay, so consumers dedupe on it rather than on the entry id.
pub(crate) mod field {
    pub const ID: &str = "id";
    pub const KEY: &str = "key";
    pub const TYPE: &str = "type";
    pub const PAYLOAD: &str = "payload";
}

/// An event delivered to a handler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusEvent {
    /// The event id: the outbox row id as a string.
    pub id: String,
    /// The Redis entry id of this delivery (a republished event has a new one).
    pub entry_id: String,
    /// The logical topic, e.g. `payment-events`.
    pub topic: String,
    /// The Redis key of the stream (the topic under this deployment's prefix).
    pub stream: String,
    /// The partition key, e.g. the order id.
    pub key: String,
    /// The proto message name, e.g. `PaymentConfirmed`.
    pub event_type: String,
    /// The prost-encoded message.
    pub payload: Vec<u8>,
    /// How many times this entry has been delivered to the group, this one included.
    pub deliveries: usize,
}

/// The fields of an event on a stream, without where and how often it was delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fields {
    pub id: String,
    pub key: String,
    pub event_type: String,
    pub payload: Vec<u8>,
}

impl Fields {
    pub fn from_entry(entry: &StreamId) -> Result<Self, BusError> {
        let text = |name: &str| {
            entry
                .get::<String>(name)
                .ok_or_else(|| BusError::Malformed {
                    id: entry.id.clone(),
                    reason: format!("field `{name}` missing or not text"),
                })
        };
        Ok(Self {
            id: text(field::ID)?,
            key: text(field::KEY)?,
            event_type: text(field::TYPE)?,
            payload: entry
                .get::<Vec<u8>>(field::PAYLOAD)
                .ok_or_else(|| BusError::Malformed {
                    id: entry.id.clone(),
                    reason: "field `payload` missing".into(),
                })?,
        })
    }

    /// Appends `field value` pairs to an XADD.
    pub fn write_to(&self, cmd: &mut redis::Cmd) {
        cmd.arg(field::ID)
            .arg(&self.id)
            .arg(field::KEY)
            .arg(&self.key)
            .arg(field::TYPE)
            .arg(&self.event_type)
            .arg(field::PAYLOAD)
            .arg(self.payload.as_slice());
    }

    pub fn into_event(
        self,
        entry_id: String,
        topic: &str,
        stream: &str,
        deliveries: usize,
    ) -> BusEvent {
        BusEvent {
            id: self.id,
            entry_id,
            topic: topic.to_owned(),
            stream: stream.to_owned(),
            key: self.key,
            event_type: self.event_type,
            payload: self.payload,
            deliveries,
        }
    }
}

/// The dead-letter stream's logical name for `topic`.
pub fn dlq_topic(topic: &str) -> String {
    format!("{topic}.dlq")
}
