//! The queue log: each event's admission records, appended in order to one Redis list,
//! which the actor replays on start and compacts by rewriting. Both writes are fenced
//! scripts (`crate::fencing`): a zombie owner can neither append to the line nor
//! compact it under the new owner.

use std::sync::LazyLock;

use redis::Script;
use uuid::Uuid;

use crate::{Kv, StoreError, fencing};

/// A compacted log is written in slices so no single command carries the whole log.
const REWRITE_CHUNK: usize = 10_000;

/// A compacted log being written lives this long unless its rewrite completes.
const REWRITE_TTL_MS: u64 = 600_000;

/// The log's key; the hash tag keeps an event's keys on one cluster slot.
fn key(kv: &Kv, event: Uuid) -> String {
    kv.key(&format!("qlog:{{{event}}}"))
}

/// Where a compacted log is written before it replaces the log in one step.
fn rewrite_key(kv: &Kv, event: Uuid) -> String {
    kv.key(&format!("qlog:{{{event}}}:rewrite"))
}

/// Appends ARGV to the list KEYS[1] (and, with a TTL in ARGV's first place when it is
/// not empty, keeps the list that long); returns its length.
static APPEND: LazyLock<Script> = LazyLock::new(|| {
    fencing::script(
        r"
local ttl = table.remove(ARGV, 1)
local n = redis.call('LLEN', KEYS[1])
for i = 1, #ARGV, 1000 do
  n = redis.call('RPUSH', KEYS[1], unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
if ttl ~= '' then
  redis.call('PEXPIRE', KEYS[1], ttl)
end
return n
",
    )
});

/// Starts a rewrite: the half-written compacted log of an earlier attempt goes.
static REWRITE_BEGIN: LazyLock<Script> = LazyLock::new(|| {
    fencing::script(
        r"
redis.call('DEL', KEYS[1])
return 1
",
    )
});

/// Replaces the log KEYS[1] with the compacted one KEYS[2] when it holds all ARGV[1]
/// records; returns 0 (nothing changed) when it does not.
static REWRITE_COMMIT: LazyLock<Script> = LazyLock::new(|| {
    fencing::script(
        r"
local expected = tonumber(ARGV[1])
if expected == 0 then
  redis.call('DEL', KEYS[1], KEYS[2])
  return 1
end
if redis.call('LLEN', KEYS[2]) ~= expected then
  return 0
end
redis.call('RENAME', KEYS[2], KEYS[1])
redis.call('PERSIST', KEYS[1])
return 1
",
    )
});

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

/// Appends `records` to `list` in one script call, refused when `epoch` is stale.
async fn push(
    kv: &Kv,
    event: Uuid,
    epoch: Option<u64>,
    list: &str,
    records: &[Vec<u8>],
    ttl_ms: Option<u64>,
) -> Result<(), StoreError> {
    let mut invocation = APPEND.prepare_invoke();
    fencing::bind(&mut invocation, kv, event, epoch);
    invocation.key(list);
    invocation.arg(ttl_ms.map(|t| t.to_string()).unwrap_or_default());
    for record in records {
        invocation.arg(record.as_slice());
    }
    let _: i64 = invocation
        .invoke_async(&mut kv.conn())
        .await
        .map_err(|e| fencing::redis_error(e, event, epoch))?;
    Ok(())
}

pub(super) async fn append(
    kv: &Kv,
    event: Uuid,
    epoch: Option<u64>,
    records: &[Vec<u8>],
) -> Result<(), StoreError> {
    if records.is_empty() {
        return Ok(());
    }
    // One call: a batch lands whole or not at all, as the actor's retry expects.
    push(kv, event, epoch, &key(kv, event), records, None).await
}

/// Replaces the whole log in one step: the compacted records are written beside it,
/// then renamed over it, so a reader never sees half of it.
pub(super) async fn rewrite(
    kv: &Kv,
    event: Uuid,
    epoch: Option<u64>,
    records: &[Vec<u8>],
) -> Result<(), StoreError> {
    let fenced = |e| fencing::redis_error(e, event, epoch);
    let mut begin = REWRITE_BEGIN.prepare_invoke();
    fencing::bind(&mut begin, kv, event, epoch);
    begin.key(rewrite_key(kv, event));
    let _: i64 = begin.invoke_async(&mut kv.conn()).await.map_err(fenced)?;
    let staging = rewrite_key(kv, event);
    for chunk in records.chunks(REWRITE_CHUNK) {
        push(kv, event, epoch, &staging, chunk, Some(REWRITE_TTL_MS)).await?;
    }
    let mut commit = REWRITE_COMMIT.prepare_invoke();
    fencing::bind(&mut commit, kv, event, epoch);
    commit
        .key(key(kv, event))
        .key(rewrite_key(kv, event))
        .arg(records.len());
    let done: i64 = commit.invoke_async(&mut kv.conn()).await.map_err(fenced)?;
    if done != 1 {
        return Err(StoreError::Conflict(
            "the compacted queue log was incomplete; the log is unchanged",
        ));
    }
    Ok(())
}
