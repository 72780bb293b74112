//! Dead letters: events a consumer group gave up on, kept on `{topic}.dlq` with the
//! reason, until an operator replays them onto their original stream.
//!
//! Replay re-adds the entry with its original event id, so groups that had processed it
//! skip it (processed_events) and only the group that failed handles it again.

use std::time::{SystemTime, UNIX_EPOCH};

use redis::AsyncCommands;
use redis::streams::{StreamId, StreamRangeReply};
use urr_store::Kv;

use crate::BusError;
use crate::event::{BusEvent, Fields, dlq_topic};

mod field {
    pub const REASON: &str = "reason";
    pub const GROUP: &str = "group";
    pub const DELIVERIES: &str = "deliveries";
    pub const SOURCE_ENTRY: &str = "source_entry";
    pub const FAILED_AT_MS: &str = "failed_at_ms";
}

const DLQ_SUFFIX: &str = ".dlq";

/// One entry of a dead-letter stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// The original topic, e.g. `payment-events`.
    pub topic: String,
    /// This entry's id on the dead-letter stream (what `replay --id` takes).
    pub dlq_id: String,
    /// The event id (outbox id).
    pub event_id: String,
    pub key: String,
    pub event_type: String,
    pub payload: Vec<u8>,
    /// The consumer group that gave up.
    pub group: String,
    /// The last failure.
    pub reason: String,
    pub deliveries: usize,
    /// The entry id on the original stream.
    pub source_entry: String,
    pub failed_at_ms: u64,
}

/// Copies `event` to its topic's dead-letter stream with `reason`.
pub(crate) async fn send(
    kv: &Kv,
    group: &str,
    event: &BusEvent,
    reason: &str,
) -> Result<(), BusError> {
    let mut cmd = redis::cmd("XADD");
    cmd.arg(kv.key(&dlq_topic(&event.topic))).arg("*");
    Fields {
        id: event.id.clone(),
        key: event.key.clone(),
        event_type: event.event_type.clone(),
        payload: event.payload.clone(),
    }
    .write_to(&mut cmd);
    cmd.arg(field::REASON)
        .arg(reason)
        .arg(field::GROUP)
        .arg(group)
        .arg(field::DELIVERIES)
        .arg(event.deliveries)
        .arg(field::SOURCE_ENTRY)
        .arg(&event.entry_id)
        .arg(field::FAILED_AT_MS)
        .arg(now_ms());
    let mut conn = kv.conn();
    let _: String = cmd.query_async(&mut conn).await?;
    Ok(())
}

/// Copies an entry that is not even a readable event, raw fields and all.
pub(crate) async fn send_raw(
    kv: &Kv,
    group: &str,
    topic: &str,
    entry: &StreamId,
    reason: &str,
) -> Result<(), BusError> {
    let mut cmd = redis::cmd("XADD");
    cmd.arg(kv.key(&dlq_topic(topic))).arg("*");
    for (name, value) in &entry.map {
        // Stream field values are bulk strings; anything else cannot occur in XRANGE or
        // XREADGROUP replies and is dropped.
        if let redis::Value::BulkString(bytes) = value {
            cmd.arg(name).arg(bytes.as_slice());
        }
    }
    cmd.arg(field::REASON)
        .arg(reason)
        .arg(field::GROUP)
        .arg(group)
        .arg(field::SOURCE_ENTRY)
        .arg(&entry.id)
        .arg(field::FAILED_AT_MS)
        .arg(now_ms());
    let mut conn = kv.conn();
    let _: String = cmd.query_async(&mut conn).await?;
    Ok(())
}

/// The topics that have a dead-letter stream, sorted.
pub async fn topics(kv: &Kv) -> Result<Vec<String>, BusError> {
    let prefix = kv.key("");
    let pattern = format!("{}*{DLQ_SUFFIX}", glob_escape(&prefix));
    // Dead-letter streams live in every slot: scan every master of a cluster.
    let keys = kv.scan(&pattern, Some("stream")).await.map_err(|e| e.0)?;
    let mut found: Vec<String> = keys
        .iter()
        .filter_map(|k| {
            k.strip_prefix(&prefix)?
                .strip_suffix(DLQ_SUFFIX)
                .map(str::to_owned)
        })
        .collect();
    found.sort();
    found.dedup();
    Ok(found)
}

/// How many dead letters `topic` has.
pub async fn len(kv: &Kv, topic: &str) -> Result<usize, BusError> {
    let mut conn = kv.conn();
    Ok(conn.xlen(kv.key(&dlq_topic(topic))).await?)
}

/// Up to `limit` dead letters of `topic`, oldest first.
pub async fn list(kv: &Kv, topic: &str, limit: usize) -> Result<Vec<DeadLetter>, BusError> {
    let mut conn = kv.conn();
    let reply: StreamRangeReply = conn
        .xrange_count(kv.key(&dlq_topic(topic)), "-", "+", limit)
        .await?;
    Ok(reply
        .ids
        .iter()
        .map(|entry| to_dead_letter(topic, entry))
        .collect())
}

/// Replays dead letters of `topic` (only entry `dlq_id` when given) onto the original
/// stream and removes them from the dead-letter stream. Returns how many were replayed.
/// Entries without a readable event are left in place.
pub async fn replay(kv: &Kv, topic: &str, dlq_id: Option<&str>) -> Result<usize, BusError> {
    let dlq_key = kv.key(&dlq_topic(topic));
    let mut conn = kv.conn();
    let entries: Vec<StreamId> = match dlq_id {
        Some(id) => {
            let reply: StreamRangeReply = conn.xrange(&dlq_key, id, id).await?;
            reply.ids
        }
        None => {
            let reply: StreamRangeReply = conn.xrange_all(&dlq_key).await?;
            reply.ids
        }
    };
    let mut replayed = 0;
    for entry in entries {
        let fields = match Fields::from_entry(&entry) {
            Ok(fields) => fields,
            Err(err) => {
                tracing::warn!(%err, topic, "dead letter is not a readable event; left in place");
                continue;
            }
        };
        // Add before deleting: a crash in between leaves a duplicate, which consumers
        // absorb, rather than a lost event.
        let mut cmd = redis::cmd("XADD");
        cmd.arg(kv.key(topic)).arg("*");
        fields.write_to(&mut cmd);
        let _: String = cmd.query_async(&mut conn).await?;
        let _: usize = conn.xdel(&dlq_key, &[&entry.id]).await?;
        replayed += 1;
    }
    Ok(replayed)
}

fn to_dead_letter(topic: &str, entry: &StreamId) -> DeadLetter {
    let text = |name: &str| entry.get::<String>(name).unwrap_or_default();
    DeadLetter {
        topic: topic.to_owned(),
        dlq_id: entry.id.clone(),
        event_id: text(crate::event::field::ID),
        key: text(crate::event::field::KEY),
        event_type: text(crate::event::field::TYPE),
        payload: entry
            .get::<Vec<u8>>(crate::event::field::PAYLOAD)
            .unwrap_or_default(),
        group: text(field::GROUP),
        reason: text(field::REASON),
        deliveries: entry.get(field::DELIVERIES).unwrap_or_default(),
        source_entry: text(field::SOURCE_ENTRY),
        failed_at_ms: entry.get(field::FAILED_AT_MS).unwrap_or_default(),
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

/// Escapes Redis glob characters so a key prefix matches literally in SCAN MATCH.
fn glob_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn glob_escape_makes_prefixes_literal() {
        assert_eq!(super::glob_escape("a*b?[c]\\"), "a\\*b\\?\\[c\\]\\\\");
    }
}
