//! Seat locks with fencing tokens in Redis, each operation one atomic Lua script.
//!
//! A lock's value is `owner|token` while held and `owner|token|sold` once sold (then it
//! has no TTL). Tokens come from one counter per event, so a lock re-taken after expiry
//! always carries a larger token than the one it replaced, and a confirmation presenting
//! the old token is refused. All keys of one event share the `{eventId}` hash tag, so a
//! script's keys live in one slot under Redis Cluster.
//!
//! Every script is fenced (`crate::fencing`): the owning actor passes its epoch and a
//! zombie owner's call is refused before it touches a lock; `None` is unfenced.

use std::sync::LazyLock;
use std::time::Duration;

use redis::Script;
use uuid::Uuid;

use crate::{Kv, StoreError, fencing};

/// Takes the locks of several holds in one call, all or none per hold. KEYS: the fence
/// counter, then every hold's seat keys in order; ARGV: ttl, then per hold its owner and
/// seat count. Returns, per hold, `{1, token...}` or `{0, index...}` (1-based indexes of
/// its seats held by someone else). Holds are taken in order, so when two holds of one
/// batch want the same seat the earlier one wins.
static LOCK: LazyLock<Script> = LazyLock::new(|| {
    fencing::script(
        r"
local ttl = tonumber(ARGV[1])
local results = {}
local key = 2
for h = 2, #ARGV, 2 do
  local owner, n = ARGV[h], tonumber(ARGV[h + 1])
  local taken = {0}
  for i = 0, n - 1 do
    local value = redis.call('GET', KEYS[key + i])
    if value and string.match(value, '^([^|]*)') ~= owner then
      table.insert(taken, i + 1)
    end
  end
  if #taken > 1 then
    table.insert(results, taken)
  else
    local first = redis.call('INCRBY', KEYS[1], n) - n + 1
    local tokens = {1}
    for i = 0, n - 1 do
      redis.call('SET', KEYS[key + i], owner .. '|' .. (first + i), 'PX', ttl)
      table.insert(tokens, first + i)
    end
    table.insert(results, tokens)
  end
  key = key + n
end
return results
",
    )
});

/// Deletes the locks `owner` still holds (held or sold).
static UNLOCK: LazyLock<Script> = LazyLock::new(|| {
    fencing::script(
        r"
local freed = 0
for i = 1, #KEYS do
  local value = redis.call('GET', KEYS[i])
  if value and string.match(value, '^([^|]*)') == ARGV[1] then
    redis.call('DEL', KEYS[i])
    freed = freed + 1
  end
end
return freed
",
    )
});

/// Checks every lock still reads `owner|token`, or `owner|token|sold` (this reservation
/// confirmed it already with this very token: a retry after the PostgreSQL commit failed),
/// and only then marks them all sold (no TTL). So confirming is idempotent per
/// reservation and token, while any other value (a lapsed lock, another owner's, a newer
/// token) still refuses. Returns `{1}` or `{0, index...}` of the stale ones.
static CONFIRM: LazyLock<Script> = LazyLock::new(|| {
    fencing::script(
        r"
local owner = ARGV[1]
local stale = {0}
for i = 1, #KEYS do
  local held = owner .. '|' .. ARGV[i + 1]
  local value = redis.call('GET', KEYS[i])
  if value ~= held and value ~= held .. '|sold' then
    table.insert(stale, i)
  end
end
if #stale > 1 then return stale end
for i = 1, #KEYS do
  redis.call('SET', KEYS[i], owner .. '|' .. ARGV[i + 1] .. '|sold')
end
return {1}
",
    )
});

fn seat_key(kv: &Kv, event: Uuid, seat: Uuid) -> String {
    kv.key(&format!("seat:{{{event}}}:{seat}"))
}

fn fence_key(kv: &Kv, event: Uuid) -> String {
    kv.key(&format!("fence:{{{event}}}"))
}

/// Per hold `(owner, seats)`: `Ok(tokens)` in seat order, or `Err(indexes)` (0-based) of
/// its seats someone else holds. One round trip for the whole batch.
pub async fn lock(
    kv: &Kv,
    event: Uuid,
    epoch: Option<u64>,
    holds: &[(Uuid, Vec<Uuid>)],
    ttl: Duration,
) -> Result<Vec<Result<Vec<u64>, Vec<usize>>>, StoreError> {
    if holds.is_empty() {
        return Ok(Vec::new());
    }
    let mut invocation = LOCK.prepare_invoke();
    fencing::bind(&mut invocation, kv, event, epoch);
    invocation.key(fence_key(kv, event));
    invocation.arg(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX));
    for (owner, seats) in holds {
        for &seat in seats {
            invocation.key(seat_key(kv, event, seat));
        }
        invocation.arg(owner.to_string()).arg(seats.len());
    }
    let reply: Vec<Vec<i64>> = invocation
        .invoke_async(&mut kv.conn())
        .await
        .map_err(|e| fencing::redis_error(e, event, epoch))?;
    Ok(reply.into_iter().map(|r| split_reply(r, 1)).collect())
}

pub async fn unlock(
    kv: &Kv,
    event: Uuid,
    epoch: Option<u64>,
    owner: Uuid,
    seats: &[Uuid],
) -> Result<(), StoreError> {
    if seats.is_empty() {
        return Ok(());
    }
    let mut invocation = UNLOCK.prepare_invoke();
    fencing::bind(&mut invocation, kv, event, epoch);
    for &seat in seats {
        invocation.key(seat_key(kv, event, seat));
    }
    invocation.arg(owner.to_string());
    let _: i64 = invocation
        .invoke_async(&mut kv.conn())
        .await
        .map_err(|e| fencing::redis_error(e, event, epoch))?;
    Ok(())
}

/// `Ok(())` when every token was current (now sold, or sold already by this owner with
/// this token), else the 0-based stale indexes.
pub async fn confirm(
    kv: &Kv,
    event: Uuid,
    epoch: Option<u64>,
    owner: Uuid,
    seats: &[(Uuid, u64)],
) -> Result<Result<(), Vec<usize>>, StoreError> {
    if seats.is_empty() {
        return Ok(Ok(()));
    }
    let mut invocation = CONFIRM.prepare_invoke();
    fencing::bind(&mut invocation, kv, event, epoch);
    for &(seat, _) in seats {
        invocation.key(seat_key(kv, event, seat));
    }
    invocation.arg(owner.to_string());
    for &(_, token) in seats {
        invocation.arg(token);
    }
    let reply: Vec<i64> = invocation
        .invoke_async(&mut kv.conn())
        .await
        .map_err(|e| fencing::redis_error(e, event, epoch))?;
    Ok(split_reply(reply, 1).map(|_| ()))
}

/// Reads the raw lock value of a seat (diagnostics and tests).
pub async fn read(kv: &Kv, event: Uuid, seat: Uuid) -> Result<Option<String>, StoreError> {
    let value: Option<String> = redis::cmd("GET")
        .arg(seat_key(kv, event, seat))
        .query_async(&mut kv.conn())
        .await?;
    Ok(value)
}

/// Overwrites a seat's lock as another owner would after re-taking it (tests of fencing).
pub async fn force_retake(
    kv: &Kv,
    event: Uuid,
    seat: Uuid,
    owner: Uuid,
) -> Result<u64, StoreError> {
    let token: u64 = redis::cmd("INCR")
        .arg(fence_key(kv, event))
        .query_async(&mut kv.conn())
        .await?;
    let _: () = redis::cmd("SET")
        .arg(seat_key(kv, event, seat))
        .arg(format!("{owner}|{token}"))
        .query_async(&mut kv.conn())
        .await?;
    Ok(token)
}

/// Splits `{1, values...}` into `Ok(values)` and `{0, indexes...}` into `Err(0-based)`.
fn split_reply(reply: Vec<i64>, ok: i64) -> Result<Vec<u64>, Vec<usize>> {
    match reply.split_first() {
        Some((&flag, rest)) if flag == ok => Ok(rest.iter().map(|&v| v.max(0) as u64).collect()),
        Some((_, rest)) => Err(rest
            .iter()
            .map(|&i| usize::try_from(i - 1).unwrap_or(0))
            .collect()),
        None => Err(Vec::new()),
    }
}

/// Deletes, for each hold `(owner, seats)`, the locks its owner still holds. KEYS: every
/// hold's seat keys in order; ARGV: per hold its owner and seat count.
static UNLOCK_MANY: LazyLock<Script> = LazyLock::new(|| {
    fencing::script(
        r"
local freed = 0
local key = 1
for h = 1, #ARGV, 2 do
  local owner, n = ARGV[h], tonumber(ARGV[h + 1])
  for i = 0, n - 1 do
    local value = redis.call('GET', KEYS[key + i])
    if value and string.match(value, '^([^|]*)') == owner then
      redis.call('DEL', KEYS[key + i])
      freed = freed + 1
    end
  end
  key = key + n
end
return freed
",
    )
});

/// [`unlock`] for many holds in one round trip (the tick frees every lapsed hold at once).
pub async fn unlock_many(
    kv: &Kv,
    event: Uuid,
    epoch: Option<u64>,
    holds: &[(Uuid, Vec<Uuid>)],
) -> Result<(), StoreError> {
    if holds.iter().all(|(_, seats)| seats.is_empty()) {
        return Ok(());
    }
    let mut invocation = UNLOCK_MANY.prepare_invoke();
    fencing::bind(&mut invocation, kv, event, epoch);
    for (owner, seats) in holds {
        for &seat in seats {
            invocation.key(seat_key(kv, event, seat));
        }
        invocation.arg(owner.to_string()).arg(seats.len());
    }
    let _: i64 = invocation
        .invoke_async(&mut kv.conn())
        .await
        .map_err(|e| fencing::redis_error(e, event, epoch))?;
    Ok(())
}

/// Seats read per `MGET`, so one event's whole map never travels in a single reply.
const READ_CHUNK: usize = 1_000;

/// The raw lock values of `seats`, in order (`None`: no lock), a chunk per round trip.
pub async fn read_many(
    kv: &Kv,
    event: Uuid,
    seats: &[Uuid],
) -> Result<Vec<Option<String>>, StoreError> {
    let mut values = Vec::with_capacity(seats.len());
    for chunk in seats.chunks(READ_CHUNK) {
        let keys: Vec<String> = chunk.iter().map(|&s| seat_key(kv, event, s)).collect();
        let page: Vec<Option<String>> = redis::cmd("MGET")
            .arg(&keys)
            .query_async(&mut kv.conn())
            .await?;
        values.extend(page);
    }
    Ok(values)
}

/// The reservation a lock value names (`owner|token` or `owner|token|sold`).
pub fn owner_of(value: &str) -> Option<Uuid> {
    value.split('|').next().and_then(|owner| owner.parse().ok())
}

/// Deletes each key only if it still holds the value given for it (a compare-and-delete:
/// a lock re-taken since it was read stays). KEYS: the seat keys; ARGV: their values.
/// Fenced like every write of an owner: a zombie's rebuild must not free the locks of
/// holds the new owner just took.
static DELETE_UNCHANGED: LazyLock<Script> = LazyLock::new(|| {
    fencing::script(
        r"
local freed = 0
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[i] then
    redis.call('DEL', KEYS[i])
    freed = freed + 1
  end
end
return freed
",
    )
});

/// Deletes the locks of `seats` that still read as `values` (as [`read_many`] returned
/// them); returns how many went.
pub async fn delete_unchanged(
    kv: &Kv,
    event: Uuid,
    epoch: Option<u64>,
    locks: &[(Uuid, String)],
) -> Result<usize, StoreError> {
    let mut freed = 0;
    for chunk in locks.chunks(READ_CHUNK) {
        let mut invocation = DELETE_UNCHANGED.prepare_invoke();
        fencing::bind(&mut invocation, kv, event, epoch);
        for (seat, value) in chunk {
            invocation.key(seat_key(kv, event, *seat)).arg(value);
        }
        let n: i64 = invocation
            .invoke_async(&mut kv.conn())
            .await
            .map_err(|e| fencing::redis_error(e, event, epoch))?;
        freed += usize::try_from(n).unwrap_or(0);
    }
    Ok(freed)
}
