//! The queue log: each event's admission records, appended in order to one Redis list,
//! which the actor replays on start and compacts by rewriting.

use uuid::Uuid;

use crate::{Kv, StoreError};

/// Large rewrites go out in slices so no single command carries the whole log.
const REWRITE_CHUNK: usize = 10_000;

/// The log's key; the hash tag keeps an event's keys on one cluster slot.
fn key(kv: &Kv, event: Uuid) -> String {
    kv.key(&format!("qlog:{{{event}}}"))
}

/// Records read per round trip: a long log (the restart of a big line) then never holds
/// up the other commands on the node's shared Redis connection while it arrives.
const READ_PAGE: usize = 10_000;

/// The event's queue log as stored, oldest record first: what an auditor checks the
/// admission order against (the actor replays the same list on start). The log only
/// grows at its end meanwhile, so the pages make one prefix of it.
pub async fn read_queue_log(kv: &Kv, event: Uuid) -> Result<Vec<Vec<u8>>, StoreError> {
    let key = key(kv, event);
    let mut log: Vec<Vec<u8>> = Vec::new();
    loop {
        let start = log.len();
        let page: Vec<Vec<u8>> = redis::cmd("LRANGE")
            .arg(&key)
            .arg(start)
            .arg(start + READ_PAGE - 1)
            .query_async(&mut kv.conn())
            .await?;
        let done = page.len() < READ_PAGE;
        log.extend(page);
        if done {
            return Ok(log);
        }
    }
}

pub(super) async fn append(kv: &Kv, event: Uuid, records: &[Vec<u8>]) -> Result<(), StoreError> {
    if records.is_empty() {
        return Ok(());
    }
    let _: i64 = redis::cmd("RPUSH")
        .arg(key(kv, event))
        .arg(records)
        .query_async(&mut kv.conn())
        .await?;
    Ok(())
}

/// Replaces the whole log atomically (MULTI/EXEC), so a reader never sees half of it.
pub(super) async fn rewrite(kv: &Kv, event: Uuid, records: &[Vec<u8>]) -> Result<(), StoreError> {
    let key = key(kv, event);
    let mut pipe = redis::pipe();
    pipe.atomic().cmd("DEL").arg(&key).ignore();
    for chunk in records.chunks(REWRITE_CHUNK) {
        pipe.cmd("RPUSH").arg(&key).arg(chunk).ignore();
    }
    let _: () = pipe.query_async(&mut kv.conn()).await?;
    Ok(())
}
