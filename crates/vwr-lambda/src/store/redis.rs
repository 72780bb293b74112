//! The room on Redis, for the edge. Each event's keys share the `{eventId}` hash tag, so
//! every script touches one slot and runs atomically on a cluster too.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use redis::Script;
use urr_kv::Kv;
use uuid::Uuid;

use super::{BlockJoin, Claimed, PositionRecord, RoomRecord, VwrStore};
use crate::VwrError;
use crate::domain::ids::EventId;
use crate::domain::room::{RoomState, Seal};

/// Wave claim counts outlive any claim window by far; they only need to vanish eventually.
const CLAIMS_TTL_SECS: i64 = 24 * 3600;

/// A join-limit count lives a window past its own, then goes.
const HITS_TTL_SECS: i64 = 2 * crate::domain::defence::LIMIT_WINDOW_SECS;

const SAVE_ROOM: &str = r"
local v = redis.call('HGET', KEYS[1], 'version')
if ARGV[3] == '' then
  if v then return 0 end
elseif v ~= ARGV[3] then
  return 0
end
redis.call('HSET', KEYS[1], 'state', ARGV[1], 'active', ARGV[2], 'version', (tonumber(v) or 0) + 1)
redis.call('HSETNX', KEYS[1], 'next', 0)
return 1
";

const SEAL: &str = r"
local v = redis.call('HGET', KEYS[1], 'version')
if v ~= ARGV[2] or redis.call('HEXISTS', KEYS[1], 'seed') == 1 then return 0 end
local n = redis.call('HGET', KEYS[1], 'next') or '0'
redis.call('HSET', KEYS[1], 'psize', n, 'seed', ARGV[1], 'version', tonumber(v) + 1)
return 1
";

const CLAIM_BLOCK: &str = r"
if redis.call('HGET', KEYS[1], 'active') ~= '1' then return -1 end
return redis.call('HINCRBY', KEYS[1], 'next', ARGV[1])
";

const MARK_CLAIMED: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('HSETNX', KEYS[1], 'claimed', '1') == 0 then return 0 end
if ARGV[1] ~= '' then
  redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
  redis.call('EXPIRE', KEYS[2], ARGV[2])
end
return 1
";

/// KEYS[1] the user's place; ARGV: request id, expiry (ms), now (ms), stale request id
/// or ''. A live place other than the stale one wins; else this one is written.
const KEEP_PLACE: &str = r"
local held = redis.call('HMGET', KEYS[1], 'req', 'exp')
if held[1] and tonumber(held[2] or '0') > tonumber(ARGV[3]) and held[1] ~= ARGV[4] then
  return held[1]
end
redis.call('HSET', KEYS[1], 'req', ARGV[1], 'exp', ARGV[2])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return ARGV[1]
";

/// A block of joins in one step, only while the room is active (else `false`). KEYS[1]
/// the room, then for the i-th join KEYS[2i] the user's place and KEYS[2i+1] the new
/// position record; ARGV[1] now (ms), ARGV[2] the key prefix of position records, then for
/// the i-th join ARGV[3i] the user, ARGV[3i+1] the request id, ARGV[3i+2] the expiry (ms).
/// A user whose place is live and whose position record exists gets that request id
/// back; anyone else the next ticket, its record and the place (a place pointing at a
/// record that is gone is replaced, as `KEEP_PLACE` does with its stale request id). The
/// counter moves once, by the new tickets. Two joins of one user in a block: the second
/// finds the first's place.
const CLAIM_PLACES: &str = r"
if redis.call('HGET', KEYS[1], 'active') ~= '1' then return false end
local now = tonumber(ARGV[1])
local next = tonumber(redis.call('HGET', KEYS[1], 'next') or '0')
local out = {}
for i = 1, (#KEYS - 1) / 2 do
  local place, pos = KEYS[2 * i], KEYS[2 * i + 1]
  local held = redis.call('HMGET', place, 'req', 'exp')
  if held[1] and tonumber(held[2] or '0') > now
      and redis.call('EXISTS', ARGV[2] .. held[1]) == 1 then
    out[i] = held[1]
  else
    local exp = ARGV[3 * i + 2]
    next = next + 1
    redis.call('HSET', pos, 'user', ARGV[3 * i], 'ticket', next, 'exp', exp)
    redis.call('PEXPIREAT', pos, exp)
    redis.call('HSET', place, 'req', ARGV[3 * i + 1], 'exp', exp)
    redis.call('PEXPIREAT', place, exp)
    out[i] = next
  end
end
redis.call('HSET', KEYS[1], 'next', next)
return out
";

#[derive(Clone)]
pub struct RedisStore {
    kv: Kv,
    scripts: Arc<Scripts>,
    counter_writes: Arc<AtomicU64>,
}

struct Scripts {
    save_room: Script,
    seal: Script,
    claim_block: Script,
    mark_claimed: Script,
    keep_place: Script,
    claim_places: Script,
}

impl RedisStore {
    pub fn new(kv: Kv) -> Self {
        Self {
            kv,
            scripts: Arc::new(Scripts {
                save_room: Script::new(SAVE_ROOM),
                seal: Script::new(SEAL),
                claim_block: Script::new(CLAIM_BLOCK),
                mark_claimed: Script::new(MARK_CLAIMED),
                keep_place: Script::new(KEEP_PLACE),
                claim_places: Script::new(CLAIM_PLACES),
            }),
            counter_writes: Arc::new(AtomicU64::new(0)),
        }
    }

    fn room_key(&self, event: &EventId) -> String {
        self.kv.key(&format!("vwr:{{{event}}}:room"))
    }

    fn position_key(&self, event: &EventId, request_id: Uuid) -> String {
        format!("{}{request_id}", self.position_prefix(event))
    }

    /// What every position record's key of `event` starts with (the request id follows).
    fn position_prefix(&self, event: &EventId) -> String {
        self.kv.key(&format!("vwr:{{{event}}}:pos:"))
    }

    fn place_key(&self, event: &EventId, user: &str) -> String {
        self.kv.key(&format!("vwr:{{{event}}}:user:{user}"))
    }

    fn claims_key(&self, event: &EventId) -> String {
        self.kv.key(&format!("vwr:{{{event}}}:claims"))
    }

    fn used_key(&self, event: &EventId, token: &str) -> String {
        self.kv.key(&format!("vwr:{{{event}}}:used:{token}"))
    }

    fn hits_key(&self, event: &EventId, counter: &str, window_start: i64) -> String {
        self.kv
            .key(&format!("vwr:{{{event}}}:hits:{counter}:{window_start}"))
    }

    fn rooms_key(&self) -> String {
        self.kv.key("vwr:rooms")
    }
}

fn parse<T: std::str::FromStr>(fields: &HashMap<String, String>, name: &str) -> Option<T> {
    fields.get(name).and_then(|v| v.parse().ok())
}

impl VwrStore for RedisStore {
    async fn room(&self, event: &EventId) -> Result<Option<RoomRecord>, VwrError> {
        let mut conn = self.kv.conn();
        let fields: HashMap<String, String> = redis::cmd("HGETALL")
            .arg(self.room_key(event))
            .query_async(&mut conn)
            .await?;
        let Some(raw) = fields.get("state") else {
            return Ok(None);
        };
        let state: RoomState = serde_json::from_str(raw)
            .map_err(|e| VwrError::store(format!("room record of {event} is corrupt: {e}")))?;
        let seal = match (parse(&fields, "psize"), parse(&fields, "seed")) {
            (Some(pre_queue_size), Some(seed)) => Some(Seal {
                pre_queue_size,
                seed,
            }),
            _ => None,
        };
        Ok(Some(RoomRecord {
            state,
            next_position: parse(&fields, "next").unwrap_or(0),
            seal,
            version: parse(&fields, "version").unwrap_or(0),
        }))
    }

    async fn save_room(
        &self,
        event: &EventId,
        state: &RoomState,
        expected: Option<u64>,
    ) -> Result<bool, VwrError> {
        let json = serde_json::to_string(state).map_err(VwrError::store)?;
        let mut conn = self.kv.conn();
        let saved: i64 = self
            .scripts
            .save_room
            .key(self.room_key(event))
            .arg(json)
            .arg(if state.active { "1" } else { "0" })
            .arg(expected.map(|v| v.to_string()).unwrap_or_default())
            .invoke_async(&mut conn)
            .await?;
        if saved == 1 && expected.is_none() {
            let _: i64 = redis::cmd("SADD")
                .arg(self.rooms_key())
                .arg(event.as_str())
                .query_async(&mut conn)
                .await?;
        }
        Ok(saved == 1)
    }

    async fn seal(&self, event: &EventId, seed: u64, expected: u64) -> Result<bool, VwrError> {
        let mut conn = self.kv.conn();
        let sealed: i64 = self
            .scripts
            .seal
            .key(self.room_key(event))
            .arg(seed.to_string())
            .arg(expected.to_string())
            .invoke_async(&mut conn)
            .await?;
        Ok(sealed == 1)
    }

    async fn claim_block(&self, event: &EventId, count: u64) -> Result<Option<u64>, VwrError> {
        let mut conn = self.kv.conn();
        self.counter_writes.fetch_add(1, Ordering::Relaxed);
        let last: i64 = self
            .scripts
            .claim_block
            .key(self.room_key(event))
            .arg(count)
            .invoke_async(&mut conn)
            .await?;
        Ok(u64::try_from(last).ok())
    }

    async fn put_positions(
        &self,
        event: &EventId,
        records: &[PositionRecord],
    ) -> Result<(), VwrError> {
        let mut pipe = redis::pipe();
        for r in records {
            let key = self.position_key(event, r.request_id);
            pipe.cmd("HSET")
                .arg(&key)
                .arg("user")
                .arg(&r.user_id)
                .arg("ticket")
                .arg(r.ticket)
                .arg("exp")
                .arg(r.expires_at.timestamp_millis())
                .ignore();
            pipe.cmd("PEXPIREAT")
                .arg(&key)
                .arg(r.expires_at.timestamp_millis())
                .ignore();
        }
        let mut conn = self.kv.conn();
        pipe.query_async::<()>(&mut conn).await?;
        Ok(())
    }

    fn keeps_places(&self) -> bool {
        true
    }

    async fn claim_places(
        &self,
        event: &EventId,
        joins: &[BlockJoin],
        now: DateTime<Utc>,
    ) -> Result<Option<Vec<Claimed>>, VwrError> {
        if joins.is_empty() {
            return Ok(Some(Vec::new()));
        }
        let mut invocation = self.scripts.claim_places.prepare_invoke();
        invocation
            .key(self.room_key(event))
            .arg(now.timestamp_millis())
            .arg(self.position_prefix(event));
        for join in joins {
            invocation
                .key(self.place_key(event, &join.user_id))
                .key(self.position_key(event, join.request_id))
                .arg(&join.user_id)
                .arg(join.request_id.to_string())
                .arg(join.expires_at.timestamp_millis());
        }
        self.counter_writes.fetch_add(1, Ordering::Relaxed);
        let mut conn = self.kv.conn();
        let reply: Option<Vec<redis::Value>> = invocation.invoke_async(&mut conn).await?;
        let Some(reply) = reply else {
            return Ok(None);
        };
        if reply.len() != joins.len() {
            return Err(VwrError::store(format!(
                "a block of {} joins came back with {} answers",
                joins.len(),
                reply.len()
            )));
        }
        let corrupt = |what: &dyn std::fmt::Debug| {
            VwrError::store(format!("place record of {event} is corrupt: {what:?}"))
        };
        joins
            .iter()
            .zip(reply)
            .map(|(join, answer)| match answer {
                redis::Value::Int(ticket) => {
                    let ticket = u64::try_from(ticket).map_err(|_| corrupt(&ticket))?;
                    Ok(Claimed::Placed(PositionRecord {
                        request_id: join.request_id,
                        user_id: join.user_id.clone(),
                        ticket,
                        expires_at: join.expires_at,
                    }))
                }
                redis::Value::BulkString(held) => std::str::from_utf8(&held)
                    .ok()
                    .and_then(|held| Uuid::parse_str(held).ok())
                    .map(Claimed::Held)
                    .ok_or_else(|| corrupt(&held)),
                other => Err(corrupt(&other)),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    async fn position(
        &self,
        event: &EventId,
        request_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Option<PositionRecord>, VwrError> {
        let mut conn = self.kv.conn();
        let fields: HashMap<String, String> = redis::cmd("HGETALL")
            .arg(self.position_key(event, request_id))
            .query_async(&mut conn)
            .await?;
        let (Some(user_id), Some(ticket), Some(exp)) = (
            fields.get("user").cloned(),
            parse::<u64>(&fields, "ticket"),
            parse::<i64>(&fields, "exp"),
        ) else {
            return Ok(None);
        };
        let Some(expires_at) = DateTime::from_timestamp_millis(exp) else {
            return Ok(None);
        };
        Ok((expires_at > now).then_some(PositionRecord {
            request_id,
            user_id,
            ticket,
            expires_at,
        }))
    }

    async fn place_of(
        &self,
        event: &EventId,
        user: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Uuid>, VwrError> {
        let mut conn = self.kv.conn();
        let (request, exp): (Option<String>, Option<i64>) = redis::cmd("HMGET")
            .arg(self.place_key(event, user))
            .arg("req")
            .arg("exp")
            .query_async(&mut conn)
            .await?;
        let live = exp.is_some_and(|exp| exp > now.timestamp_millis());
        Ok(request
            .filter(|_| live)
            .and_then(|r| Uuid::parse_str(&r).ok()))
    }

    async fn keep_place(
        &self,
        event: &EventId,
        place: &PositionRecord,
        stale: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> Result<Uuid, VwrError> {
        let mut conn = self.kv.conn();
        let held: String = self
            .scripts
            .keep_place
            .key(self.place_key(event, &place.user_id))
            .arg(place.request_id.to_string())
            .arg(place.expires_at.timestamp_millis())
            .arg(now.timestamp_millis())
            .arg(stale.map(|s| s.to_string()).unwrap_or_default())
            .invoke_async(&mut conn)
            .await?;
        Uuid::parse_str(&held)
            .map_err(|e| VwrError::store(format!("place record of {event} is corrupt: {e}")))
    }

    async fn mark_claimed(
        &self,
        event: &EventId,
        request_id: Uuid,
        wave: Option<u64>,
    ) -> Result<bool, VwrError> {
        let mut conn = self.kv.conn();
        let first: i64 = self
            .scripts
            .mark_claimed
            .key(self.position_key(event, request_id))
            .key(self.claims_key(event))
            .arg(wave.map(|w| w.to_string()).unwrap_or_default())
            .arg(CLAIMS_TTL_SECS)
            .invoke_async(&mut conn)
            .await?;
        Ok(first == 1)
    }

    async fn wave_claims(
        &self,
        event: &EventId,
        waves: &[u64],
    ) -> Result<Vec<(u64, u64)>, VwrError> {
        if waves.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.kv.conn();
        let counts: Vec<Option<u64>> = redis::cmd("HMGET")
            .arg(self.claims_key(event))
            .arg(waves)
            .query_async(&mut conn)
            .await?;
        Ok(waves
            .iter()
            .zip(counts)
            .map(|(w, c)| (*w, c.unwrap_or(0)))
            .collect())
    }

    async fn use_once(
        &self,
        event: &EventId,
        token: &str,
        until: DateTime<Utc>,
    ) -> Result<bool, VwrError> {
        let mut conn = self.kv.conn();
        // PXAT in the past would refuse the SET; an expired challenge is refused before
        // it gets here, so a floor of a second from now changes nothing.
        let until = until
            .timestamp_millis()
            .max(Utc::now().timestamp_millis() + 1000);
        let set: Option<String> = redis::cmd("SET")
            .arg(self.used_key(event, token))
            .arg(1)
            .arg("NX")
            .arg("PXAT")
            .arg(until)
            .query_async(&mut conn)
            .await?;
        Ok(set.is_some())
    }

    async fn hit(
        &self,
        event: &EventId,
        counter: &str,
        window_start: i64,
    ) -> Result<u64, VwrError> {
        let key = self.hits_key(event, counter, window_start);
        let mut conn = self.kv.conn();
        let (count,): (u64,) = redis::pipe()
            .atomic()
            .cmd("INCR")
            .arg(&key)
            .cmd("EXPIREAT")
            .arg(&key)
            .arg(window_start + HITS_TTL_SECS)
            .ignore()
            .query_async(&mut conn)
            .await?;
        Ok(count)
    }

    async fn rooms(&self) -> Result<Vec<EventId>, VwrError> {
        let mut conn = self.kv.conn();
        let members: Vec<String> = redis::cmd("SMEMBERS")
            .arg(self.rooms_key())
            .query_async(&mut conn)
            .await?;
        Ok(members.iter().filter_map(|m| EventId::parse(m)).collect())
    }

    fn counter_writes(&self) -> u64 {
        self.counter_writes.load(Ordering::Relaxed)
    }
}
