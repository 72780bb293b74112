//! The room on DynamoDB, for the Lambda. Table `counters` holds one item per room (the
//! join counter, the settings and the seal), the wave claim counts, the join-limit counts
//! (one item per counter and minute) and the room index; table `positions` holds one item
//! per join, one per user's place in a room (which join is theirs, written by a
//! conditional put) and one per used proof-of-work challenge (a conditional put too). Both carry a `ttl` attribute; reads filter
//! on it because neither DynamoDB (promptly) nor its emulators delete expired items.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, KeysAndAttributes,
    PutRequest, ReturnValue, ScalarAttributeType, TimeToLiveSpecification, WriteRequest,
};
use chrono::{DateTime, Utc};
use tokio::sync::Semaphore;
use uuid::Uuid;

use super::{PositionRecord, RoomRecord, VwrStore};
use crate::VwrError;
use crate::domain::ids::EventId;
use crate::domain::room::{RoomState, Seal};

const KEY: &str = "pk";
const TTL: &str = "ttl";
const ROOMS_INDEX: &str = "rooms";
/// BatchWriteItem's and BatchGetItem's per-call limits.
const WRITE_BATCH: usize = 25;
const GET_BATCH: usize = 100;
const CLAIMS_TTL_SECS: i64 = 24 * 3600;
/// A join-limit count lives a window past its own, then goes.
const HITS_TTL_SECS: i64 = 2 * crate::domain::defence::LIMIT_WINDOW_SECS;
/// Conditional puts of a user's place that lose to a place expiring meanwhile, retried.
const PLACE_ATTEMPTS: usize = 3;
/// Requests one store handle has in flight at most.
const IN_FLIGHT: usize = 64;

/// The two table names; a deployment may prefix them per stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DynamoTables {
    pub counters: String,
    pub positions: String,
}

impl Default for DynamoTables {
    fn default() -> Self {
        Self {
            counters: "counters".into(),
            positions: "positions".into(),
        }
    }
}

#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    tables: Arc<DynamoTables>,
    counter_writes: Arc<AtomicU64>,
    slots: Arc<Semaphore>,
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn num<T: std::str::FromStr>(item: &HashMap<String, AttributeValue>, name: &str) -> Option<T> {
    item.get(name)?.as_n().ok()?.parse().ok()
}

fn failed<E: std::error::Error + 'static, R: std::fmt::Debug>(err: SdkError<E, R>) -> VwrError {
    VwrError::store(DisplayErrorContext(err))
}

fn lost_condition(err: &SdkError<UpdateItemError>) -> bool {
    err.as_service_error()
        .is_some_and(UpdateItemError::is_conditional_check_failed_exception)
}

/// Runs one request in one of the store's request slots. A rush of joins queues here
/// instead of opening a connection per join: an emulator (one process) drops them, and a
/// Lambda instance gains nothing from more requests in flight than it can answer.
async fn limited<T>(slots: &Semaphore, request: impl Future<Output = T>) -> T {
    let _slot = slots.acquire().await;
    request.await
}

fn lost_put(err: &SdkError<PutItemError>) -> bool {
    err.as_service_error()
        .is_some_and(PutItemError::is_conditional_check_failed_exception)
}

impl DynamoStore {
    pub fn new(client: Client, tables: DynamoTables) -> Self {
        Self {
            client,
            tables: Arc::new(tables),
            counter_writes: Arc::new(AtomicU64::new(0)),
            slots: Arc::new(Semaphore::new(IN_FLIGHT)),
        }
    }

    /// A client for AWS itself: region and credentials from the usual chain (the Lambda
    /// role). `endpoint` points it elsewhere, e.g. a DynamoDB Local in a dev stack.
    pub async fn from_env(endpoint: Option<&str>, tables: DynamoTables) -> Self {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(url) = endpoint {
            loader = loader.endpoint_url(url);
        }
        let config = loader.load().await;
        Self::new(Client::new(&config), tables)
    }

    /// A client for an emulator at `endpoint`, with fixed dummy credentials so that no
    /// credential provider probes the network.
    pub fn local(endpoint: &str, region: &str, tables: DynamoTables) -> Self {
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region.to_owned()))
            .endpoint_url(endpoint)
            .credentials_provider(Credentials::new("local", "local", None, None, "urr-vwr"))
            // An emulator is one process; under a rush it drops connections that a few
            // more attempts ride out.
            .retry_config(RetryConfig::standard().with_max_attempts(6))
            .build();
        Self::new(Client::from_conf(config), tables)
    }

    /// Creates both tables (on-demand, TTL on `ttl`) unless they exist: for emulators and
    /// local stacks; on AWS the deployment template owns the tables.
    pub async fn ensure_tables(&self) -> Result<(), VwrError> {
        let existing = limited(&self.slots, self.client.list_tables().send())
            .await
            .map_err(failed)?
            .table_names
            .unwrap_or_default();
        for table in [&self.tables.counters, &self.tables.positions] {
            if existing.contains(table) {
                continue;
            }
            let key = KeySchemaElement::builder()
                .attribute_name(KEY)
                .key_type(KeyType::Hash)
                .build()
                .map_err(VwrError::store)?;
            let attribute = AttributeDefinition::builder()
                .attribute_name(KEY)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(VwrError::store)?;
            limited(
                &self.slots,
                self.client
                    .create_table()
                    .table_name(table)
                    .key_schema(key)
                    .attribute_definitions(attribute)
                    .billing_mode(BillingMode::PayPerRequest)
                    .send(),
            )
            .await
            .map_err(failed)?;
            let ttl = TimeToLiveSpecification::builder()
                .attribute_name(TTL)
                .enabled(true)
                .build()
                .map_err(VwrError::store)?;
            limited(
                &self.slots,
                self.client
                    .update_time_to_live()
                    .table_name(table)
                    .time_to_live_specification(ttl)
                    .send(),
            )
            .await
            .map_err(failed)?;
        }
        Ok(())
    }

    fn room_key(event: &EventId) -> AttributeValue {
        s(format!("room#{event}"))
    }

    fn claims_key(event: &EventId, wave: u64) -> AttributeValue {
        s(format!("claims#{event}#{wave}"))
    }

    fn position_key(event: &EventId, request_id: Uuid) -> AttributeValue {
        s(format!("{event}#{request_id}"))
    }

    fn used_key(event: &EventId, token: &str) -> AttributeValue {
        s(format!("used#{event}#{token}"))
    }

    fn hits_key(event: &EventId, counter: &str, window_start: i64) -> AttributeValue {
        s(format!("hits#{event}#{counter}#{window_start}"))
    }

    fn place_key(event: &EventId, user: &str) -> AttributeValue {
        s(format!("user#{event}#{user}"))
    }

    async fn write_all(&self, mut pending: Vec<WriteRequest>) -> Result<(), VwrError> {
        // Unprocessed items come back under throttling; a few paced retries absorb it.
        for attempt in 0..8u32 {
            if pending.is_empty() {
                return Ok(());
            }
            let out = limited(
                &self.slots,
                self.client
                    .batch_write_item()
                    .request_items(self.tables.positions.clone(), pending)
                    .send(),
            )
            .await
            .map_err(failed)?;
            pending = out
                .unprocessed_items
                .and_then(|mut m| m.remove(&self.tables.positions))
                .unwrap_or_default();
            if !pending.is_empty() {
                tokio::time::sleep(Duration::from_millis(10 << attempt)).await;
            }
        }
        if pending.is_empty() {
            Ok(())
        } else {
            Err(VwrError::store("positions table kept throttling the write"))
        }
    }
}

impl VwrStore for DynamoStore {
    async fn room(&self, event: &EventId) -> Result<Option<RoomRecord>, VwrError> {
        let out = limited(
            &self.slots,
            self.client
                .get_item()
                .table_name(&self.tables.counters)
                .key(KEY, Self::room_key(event))
                .consistent_read(true)
                .send(),
        )
        .await
        .map_err(failed)?;
        let Some(item) = out.item else {
            return Ok(None);
        };
        let Some(raw) = item.get("state").and_then(|v| v.as_s().ok()) else {
            return Ok(None);
        };
        let state: RoomState = serde_json::from_str(raw)
            .map_err(|e| VwrError::store(format!("room record of {event} is corrupt: {e}")))?;
        let seal = match (num(&item, "preQueueSize"), num(&item, "seed")) {
            (Some(pre_queue_size), Some(seed)) => Some(Seal {
                pre_queue_size,
                seed,
            }),
            _ => None,
        };
        Ok(Some(RoomRecord {
            state,
            next_position: num(&item, "nextPosition").unwrap_or(0),
            seal,
            version: num(&item, "version").unwrap_or(0),
        }))
    }

    async fn save_room(
        &self,
        event: &EventId,
        state: &RoomState,
        expected: Option<u64>,
    ) -> Result<bool, VwrError> {
        let json = serde_json::to_string(state).map_err(VwrError::store)?;
        let mut update = self
            .client
            .update_item()
            .table_name(&self.tables.counters)
            .key(KEY, Self::room_key(event))
            .expression_attribute_values(":state", s(json))
            .expression_attribute_values(":active", AttributeValue::Bool(state.active))
            .expression_attribute_values(":serving", n(state.serving_counter));
        update = match expected {
            None => update
                .update_expression(
                    "SET #state = :state, isActive = :active, servingCounter = :serving, \
                     version = :one, nextPosition = if_not_exists(nextPosition, :zero)",
                )
                .condition_expression("attribute_not_exists(pk)")
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":zero", n(0)),
            Some(version) => update
                .update_expression(
                    "SET #state = :state, isActive = :active, servingCounter = :serving, \
                     version = :next",
                )
                .condition_expression("version = :version")
                .expression_attribute_values(":version", n(version))
                .expression_attribute_values(":next", n(version + 1)),
        };
        match limited(
            &self.slots,
            update.expression_attribute_names("#state", "state").send(),
        )
        .await
        {
            Ok(_) => {}
            Err(e) if lost_condition(&e) => return Ok(false),
            Err(e) => return Err(failed(e)),
        }
        if expected.is_none() {
            limited(
                &self.slots,
                self.client
                    .update_item()
                    .table_name(&self.tables.counters)
                    .key(KEY, s(ROOMS_INDEX))
                    .update_expression("ADD events :event")
                    .expression_attribute_values(
                        ":event",
                        AttributeValue::Ss(vec![event.to_string()]),
                    )
                    .send(),
            )
            .await
            .map_err(failed)?;
        }
        Ok(true)
    }

    async fn seal(&self, event: &EventId, seed: u64, expected: u64) -> Result<bool, VwrError> {
        let result = limited(
            &self.slots,
            self.client
                .update_item()
                .table_name(&self.tables.counters)
                .key(KEY, Self::room_key(event))
                .update_expression("SET preQueueSize = nextPosition, seed = :seed, version = :next")
                .condition_expression("version = :version AND attribute_not_exists(seed)")
                .expression_attribute_values(":seed", n(seed))
                .expression_attribute_values(":version", n(expected))
                .expression_attribute_values(":next", n(expected + 1))
                .send(),
        )
        .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if lost_condition(&e) => Ok(false),
            Err(e) => Err(failed(e)),
        }
    }

    async fn claim_block(&self, event: &EventId, count: u64) -> Result<Option<u64>, VwrError> {
        self.counter_writes.fetch_add(1, Ordering::Relaxed);
        let result = limited(
            &self.slots,
            self.client
                .update_item()
                .table_name(&self.tables.counters)
                .key(KEY, Self::room_key(event))
                .update_expression("ADD nextPosition :count")
                .condition_expression("isActive = :true")
                .expression_attribute_values(":count", n(count))
                .expression_attribute_values(":true", AttributeValue::Bool(true))
                .return_values(ReturnValue::UpdatedNew)
                .send(),
        )
        .await;
        match result {
            Ok(out) => {
                let last = out
                    .attributes
                    .as_ref()
                    .and_then(|a| num(a, "nextPosition"))
                    .ok_or_else(|| VwrError::store("counter update returned no nextPosition"))?;
                Ok(Some(last))
            }
            Err(e) if lost_condition(&e) => Ok(None),
            Err(e) => Err(failed(e)),
        }
    }

    async fn put_positions(
        &self,
        event: &EventId,
        records: &[PositionRecord],
    ) -> Result<(), VwrError> {
        for chunk in records.chunks(WRITE_BATCH) {
            let mut writes = Vec::with_capacity(chunk.len());
            for r in chunk {
                let item = HashMap::from([
                    (KEY.to_owned(), Self::position_key(event, r.request_id)),
                    ("userId".to_owned(), s(r.user_id.clone())),
                    ("ticket".to_owned(), n(r.ticket)),
                    ("expiresAtMs".to_owned(), n(r.expires_at.timestamp_millis())),
                    (TTL.to_owned(), n(r.expires_at.timestamp())),
                ]);
                let put = PutRequest::builder()
                    .set_item(Some(item))
                    .build()
                    .map_err(VwrError::store)?;
                writes.push(WriteRequest::builder().put_request(put).build());
            }
            self.write_all(writes).await?;
        }
        Ok(())
    }

    async fn position(
        &self,
        event: &EventId,
        request_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Option<PositionRecord>, VwrError> {
        let out = limited(
            &self.slots,
            self.client
                .get_item()
                .table_name(&self.tables.positions)
                .key(KEY, Self::position_key(event, request_id))
                .send(),
        )
        .await
        .map_err(failed)?;
        let Some(item) = out.item else {
            return Ok(None);
        };
        let (Some(user_id), Some(ticket), Some(expires_at)) = (
            item.get("userId").and_then(|v| v.as_s().ok()).cloned(),
            num::<u64>(&item, "ticket"),
            num::<i64>(&item, "expiresAtMs").and_then(DateTime::from_timestamp_millis),
        ) else {
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
        let out = limited(
            &self.slots,
            self.client
                .get_item()
                .table_name(&self.tables.positions)
                .key(KEY, Self::place_key(event, user))
                .consistent_read(true)
                .send(),
        )
        .await
        .map_err(failed)?;
        let Some(item) = out.item else {
            return Ok(None);
        };
        let live = num::<i64>(&item, "expiresAtMs").is_some_and(|exp| exp > now.timestamp_millis());
        Ok(item
            .get("requestId")
            .and_then(|v| v.as_s().ok())
            .filter(|_| live)
            .and_then(|r| Uuid::parse_str(r).ok()))
    }

    async fn keep_place(
        &self,
        event: &EventId,
        place: &PositionRecord,
        stale: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> Result<Uuid, VwrError> {
        for _ in 0..PLACE_ATTEMPTS {
            let item = HashMap::from([
                (KEY.to_owned(), Self::place_key(event, &place.user_id)),
                ("requestId".to_owned(), s(place.request_id.to_string())),
                (
                    "expiresAtMs".to_owned(),
                    n(place.expires_at.timestamp_millis()),
                ),
                (TTL.to_owned(), n(place.expires_at.timestamp())),
            ]);
            let mut put = self
                .client
                .put_item()
                .table_name(&self.tables.positions)
                .set_item(Some(item))
                .expression_attribute_values(":now", n(now.timestamp_millis()));
            put = match stale {
                Some(stale) => put
                    .condition_expression(
                        "attribute_not_exists(pk) OR expiresAtMs <= :now OR requestId = :stale",
                    )
                    .expression_attribute_values(":stale", s(stale.to_string())),
                None => put.condition_expression("attribute_not_exists(pk) OR expiresAtMs <= :now"),
            };
            match limited(&self.slots, put.send()).await {
                Ok(_) => return Ok(place.request_id),
                Err(e) if lost_put(&e) => {}
                Err(e) => return Err(failed(e)),
            }
            if let Some(held) = self.place_of(event, &place.user_id, now).await? {
                return Ok(held);
            }
        }
        Err(VwrError::Conflict("the place kept changing; retry".into()))
    }

    async fn mark_claimed(
        &self,
        event: &EventId,
        request_id: Uuid,
        wave: Option<u64>,
    ) -> Result<bool, VwrError> {
        let first = limited(
            &self.slots,
            self.client
                .update_item()
                .table_name(&self.tables.positions)
                .key(KEY, Self::position_key(event, request_id))
                .update_expression("SET claimed = :true")
                .condition_expression("attribute_exists(pk) AND attribute_not_exists(claimed)")
                .expression_attribute_values(":true", AttributeValue::Bool(true))
                .send(),
        )
        .await;
        match first {
            Ok(_) => {}
            Err(e) if lost_condition(&e) => return Ok(false),
            Err(e) => return Err(failed(e)),
        }
        if let Some(wave) = wave {
            // A separate item per wave keeps claim counting off the hot counter item.
            limited(
                &self.slots,
                self.client
                    .update_item()
                    .table_name(&self.tables.counters)
                    .key(KEY, Self::claims_key(event, wave))
                    .update_expression("ADD claims :one SET #ttl = :ttl")
                    .expression_attribute_names("#ttl", TTL)
                    .expression_attribute_values(":one", n(1))
                    .expression_attribute_values(
                        ":ttl",
                        n(Utc::now().timestamp() + CLAIMS_TTL_SECS),
                    )
                    .send(),
            )
            .await
            .map_err(failed)?;
        }
        Ok(true)
    }

    async fn wave_claims(
        &self,
        event: &EventId,
        waves: &[u64],
    ) -> Result<Vec<(u64, u64)>, VwrError> {
        let mut counts = HashMap::new();
        for chunk in waves.chunks(GET_BATCH) {
            let keys = chunk
                .iter()
                .map(|w| HashMap::from([(KEY.to_owned(), Self::claims_key(event, *w))]))
                .collect();
            let request = KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .consistent_read(true)
                .build()
                .map_err(VwrError::store)?;
            let out = limited(
                &self.slots,
                self.client
                    .batch_get_item()
                    .request_items(self.tables.counters.clone(), request)
                    .send(),
            )
            .await
            .map_err(failed)?;
            let items = out
                .responses
                .and_then(|mut r| r.remove(&self.tables.counters))
                .unwrap_or_default();
            for item in items {
                let wave = item
                    .get(KEY)
                    .and_then(|v| v.as_s().ok())
                    .and_then(|k| k.rsplit('#').next())
                    .and_then(|w| w.parse::<u64>().ok());
                if let (Some(wave), Some(claims)) = (wave, num::<u64>(&item, "claims")) {
                    counts.insert(wave, claims);
                }
            }
        }
        Ok(waves
            .iter()
            .map(|w| (*w, counts.get(w).copied().unwrap_or(0)))
            .collect())
    }

    async fn use_once(
        &self,
        event: &EventId,
        token: &str,
        until: DateTime<Utc>,
    ) -> Result<bool, VwrError> {
        let item = HashMap::from([
            (KEY.to_owned(), Self::used_key(event, token)),
            (TTL.to_owned(), n(until.timestamp())),
        ]);
        // No expiry in the condition: a used mark only needs to outlive its challenge,
        // which is refused as expired before it gets here.
        let put = self
            .client
            .put_item()
            .table_name(&self.tables.positions)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)");
        match limited(&self.slots, put.send()).await {
            Ok(_) => Ok(true),
            Err(e) if lost_put(&e) => Ok(false),
            Err(e) => Err(failed(e)),
        }
    }

    async fn hit(
        &self,
        event: &EventId,
        counter: &str,
        window_start: i64,
    ) -> Result<u64, VwrError> {
        // One item per window and counter, off the room's hot item; `ADD` is atomic.
        let out = limited(
            &self.slots,
            self.client
                .update_item()
                .table_name(&self.tables.counters)
                .key(KEY, Self::hits_key(event, counter, window_start))
                .update_expression("ADD hits :one SET #ttl = :ttl")
                .expression_attribute_names("#ttl", TTL)
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":ttl", n(window_start + HITS_TTL_SECS))
                .return_values(ReturnValue::UpdatedNew)
                .send(),
        )
        .await
        .map_err(failed)?;
        out.attributes
            .as_ref()
            .and_then(|a| num(a, "hits"))
            .ok_or_else(|| VwrError::store("counter update returned no hits"))
    }

    async fn rooms(&self) -> Result<Vec<EventId>, VwrError> {
        let out = limited(
            &self.slots,
            self.client
                .get_item()
                .table_name(&self.tables.counters)
                .key(KEY, s(ROOMS_INDEX))
                .consistent_read(true)
                .send(),
        )
        .await
        .map_err(failed)?;
        Ok(out
            .item
            .and_then(|item| item.get("events").and_then(|v| v.as_ss().ok()).cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|e| EventId::parse(e))
            .collect())
    }

    fn counter_writes(&self) -> u64 {
        self.counter_writes.load(Ordering::Relaxed)
    }
}
