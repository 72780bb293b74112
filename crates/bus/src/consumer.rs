//! Consumer groups: read events from streams, process each once per group, retry failures
//! with backoff and dead-letter the ones that keep failing.
//!
//! Idempotency. The runner opens a Postgres transaction, records (group, event id) in
//! `processed_events` in it, passes it to the handler and commits after the handler
//! succeeds; the stream entry is acked only after that commit. So a handler's own
//! Postgres writes made through that transaction happen exactly once per group, even when
//! the entry is delivered again (relay republish, consumer crash before XACK, takeover of
//! a slow consumer's entry, replay). Effects outside that transaction (an actor call, an
//! HTTP request) run at least once and must be idempotent themselves. Recording first
//! also serialises concurrent duplicates: the second insert waits on the first's lock.
//!
//! Retry. A failed entry is rolled back and left unacked. Each poll looks at the group's
//! pending entries and XCLAIMs those idle longer than the backoff for their delivery
//! count (base, 2·base, ... see [`RetryPolicy`]); that is also how a dead consumer's
//! entries move to a live one. XCLAIM rather than XAUTOCLAIM because the wait depends on
//! each entry's delivery count, which XPENDING reports and XAUTOCLAIM does not; XCLAIM's
//! own min-idle check keeps two consumers from claiming the same entry.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use redis::AsyncCommands;
use redis::streams::{
    StreamClaimOptions, StreamClaimReply, StreamId, StreamPendingCountReply, StreamReadOptions,
    StreamReadReply,
};
use sqlx::{PgPool, Postgres, Transaction};
use urr_store::Kv;

use crate::event::Fields;
use crate::retry::RetryPolicy;
use crate::{BusError, BusEvent, dlq, store};

/// The transaction a handler writes through; it commits with the processed-event record.
pub type Tx = Transaction<'static, Postgres>;

/// Why a handler failed; its text becomes the dead letter's reason.
pub type HandlerError = Box<dyn std::error::Error + Send + Sync>;

/// What a consumer group does with each event.
#[async_trait]
pub trait Handler: Send + Sync {
    /// Handles one event. Writes through `tx` commit only if this returns `Ok`, together
    /// with the record that the group processed the event. An `Err` rolls them back and
    /// the event is retried, then dead-lettered.
    async fn handle(&self, event: &BusEvent, tx: &mut Tx) -> Result<(), HandlerError>;
}

#[derive(Debug, Clone)]
pub struct ConsumerConfig {
    /// Entries read (and, separately, reclaimed) per stream per poll.
    pub batch: usize,
    /// Pause between polls that found nothing. Reads do not BLOCK: the connection is the
    /// node's shared multiplexed one, and a blocking read would stall every other command.
    pub idle_poll: Duration,
    pub retry: RetryPolicy,
}

impl Default for ConsumerConfig {
    fn default() -> Self {
        Self {
            batch: 32,
            idle_poll: Duration::from_millis(250),
            retry: RetryPolicy::default(),
        }
    }
}

/// What one poll did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PollReport {
    /// Handled successfully and recorded.
    pub processed: usize,
    /// Already processed by this group: acked without calling the handler.
    pub duplicates: usize,
    /// Handler failed; left pending for a retry.
    pub failed: usize,
    /// Moved to the dead-letter stream and acked.
    pub dead_lettered: usize,
    /// Of all the above, how many were reclaimed pending entries rather than new ones.
    pub reclaimed: usize,
}

impl PollReport {
    pub fn is_idle(&self) -> bool {
        self.processed + self.duplicates + self.failed + self.dead_lettered == 0
    }

    fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Processed => self.processed += 1,
            Outcome::Duplicate => self.duplicates += 1,
            Outcome::Failed => self.failed += 1,
            Outcome::DeadLettered => self.dead_lettered += 1,
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Outcome {
    Processed,
    Duplicate,
    Failed,
    DeadLettered,
}

/// One member of a consumer group reading some topics.
pub struct Consumer {
    /// The group; also the `consumer` column of `processed_events`.
    pub group: String,
    /// This member's name, unique within the group (e.g. the node id).
    pub name: String,
    /// Logical topics, e.g. `payment-events`; the streams are their prefixed keys.
    pub topics: Vec<String>,
    pub handler: Arc<dyn Handler>,
    pub config: ConsumerConfig,
    db: PgPool,
    kv: Kv,
    groups_ready: AtomicBool,
}

impl Consumer {
    pub fn new(
        db: PgPool,
        kv: Kv,
        group: impl Into<String>,
        name: impl Into<String>,
        topics: &[&str],
        handler: Arc<dyn Handler>,
    ) -> Self {
        Self {
            group: group.into(),
            name: name.into(),
            topics: topics.iter().map(|t| (*t).to_owned()).collect(),
            handler,
            config: ConsumerConfig::default(),
            db,
            kv,
            groups_ready: AtomicBool::new(false),
        }
    }

    pub fn with_config(mut self, config: ConsumerConfig) -> Self {
        self.config = config;
        self
    }

    /// Creates the group on every stream (and the stream itself) unless it exists. The
    /// group starts at the beginning of the stream so that events relayed before this
    /// group first ran still reach it; processed_events absorbs any overlap.
    pub async fn ensure_groups(&self) -> Result<(), BusError> {
        let mut conn = self.kv.conn();
        for topic in &self.topics {
            let created: Result<(), redis::RedisError> = conn
                .xgroup_create_mkstream(self.kv.key(topic), &self.group, "0")
                .await;
            match created {
                Ok(()) => {}
                Err(err) if err.code() == Some("BUSYGROUP") => {}
                Err(err) => return Err(err.into()),
            }
        }
        self.groups_ready.store(true, Ordering::Release);
        Ok(())
    }

    /// One round: retry due pending entries, then read new ones, handling each.
    pub async fn poll_once(&self) -> Result<PollReport, BusError> {
        if !self.groups_ready.load(Ordering::Acquire) {
            self.ensure_groups().await?;
        }
        let result = self.poll_inner().await;
        if let Err(BusError::Redis(err)) = &result
            && err.code() == Some("NOGROUP")
        {
            // The stream was deleted under us: recreate the group on the next poll.
            self.groups_ready.store(false, Ordering::Release);
        }
        result
    }

    async fn poll_inner(&self) -> Result<PollReport, BusError> {
        let mut report = PollReport::default();
        for topic in &self.topics {
            for (entry, deliveries) in self.reclaim_due(topic).await? {
                report.reclaimed += 1;
                report.add(self.process(topic, entry, deliveries).await?);
            }
        }
        for (topic, entry) in self.read_new().await? {
            report.add(self.process(&topic, entry, 1).await?);
        }
        Ok(report)
    }

    /// Claims pending entries (this group's, any member's) whose backoff has passed.
    async fn reclaim_due(&self, topic: &str) -> Result<Vec<(StreamId, usize)>, BusError> {
        let stream = self.kv.key(topic);
        let retry = &self.config.retry;
        let mut conn = self.kv.conn();
        // Entries still inside the shortest backoff are filtered out by Redis already.
        let pending: StreamPendingCountReply = redis::cmd("XPENDING")
            .arg(&stream)
            .arg(&self.group)
            .arg("IDLE")
            .arg(retry.base.as_millis() as u64)
            .arg("-")
            .arg("+")
            .arg(self.config.batch * 4)
            .query_async(&mut conn)
            .await?;
        let mut claimed = Vec::new();
        for p in pending.ids {
            let wait = retry.backoff(p.times_delivered).as_millis() as u64;
            if (p.last_delivered_ms as u64) < wait {
                continue;
            }
            // XCLAIM re-checks the idle time atomically: if another member claimed the
            // entry meanwhile, its idle time was reset and nothing comes back.
            let reply: StreamClaimReply = conn
                .xclaim_options(
                    &stream,
                    &self.group,
                    &self.name,
                    wait,
                    &[&p.id],
                    StreamClaimOptions::default(),
                )
                .await?;
            claimed.extend(
                reply
                    .ids
                    .into_iter()
                    .map(|entry| (entry, p.times_delivered + 1)),
            );
            if claimed.len() >= self.config.batch {
                break;
            }
        }
        Ok(claimed)
    }

    /// Reads entries never delivered to this group.
    async fn read_new(&self) -> Result<Vec<(String, StreamId)>, BusError> {
        let keys: Vec<String> = self.topics.iter().map(|t| self.kv.key(t)).collect();
        let topic_of: HashMap<&str, &str> = keys
            .iter()
            .map(String::as_str)
            .zip(self.topics.iter().map(String::as_str))
            .collect();
        let options = StreamReadOptions::default()
            .group(&self.group, &self.name)
            .count(self.config.batch);
        let mut conn = self.kv.conn();
        let names: Vec<&str> = keys.iter().map(String::as_str).collect();
        let mut entries = Vec::new();
        // One XREADGROUP per hash slot: on a cluster one read over streams of several
        // slots fails with CROSSSLOT; on one Redis this is a single read as before.
        for group in self.kv.group_by_slot(&names) {
            let cursors = vec![">"; group.len()];
            let reply: Option<StreamReadReply> =
                conn.xread_options(&group, &cursors, &options).await?;
            for stream in reply.map(|r| r.keys).unwrap_or_default() {
                let Some(topic) = topic_of.get(stream.key.as_str()) else {
                    continue;
                };
                entries.extend(stream.ids.into_iter().map(|e| ((*topic).to_owned(), e)));
            }
        }
        Ok(entries)
    }

    /// Handles one delivery. An `Err` is the bus failing (not the handler): the entry
    /// stays pending and the poll stops, so an outage does not burn through deliveries.
    async fn process(
        &self,
        topic: &str,
        entry: StreamId,
        deliveries: usize,
    ) -> Result<Outcome, BusError> {
        let stream = self.kv.key(topic);
        let retry = &self.config.retry;
        let fields = match Fields::from_entry(&entry) {
            Ok(fields) => fields,
            Err(err) => {
                // Not an event of ours: retrying cannot help.
                tracing::error!(%err, group = %self.group, "dead-lettering a malformed entry");
                dlq::send_raw(&self.kv, &self.group, topic, &entry, &err.to_string()).await?;
                self.ack(&stream, &entry.id).await?;
                return Ok(Outcome::DeadLettered);
            }
        };
        let event = fields.into_event(entry.id, topic, &stream, deliveries);
        if deliveries > retry.max_deliveries {
            // Delivered too often without a verdict: the handler may be crashing the
            // consumer. Park it rather than let it take consumers down forever.
            let reason = format!("delivered {deliveries} times without completing");
            return self.give_up(&event, &reason).await;
        }

        let mut tx = self.db.begin().await?;
        if !store::record_processed(&mut tx, &self.group, &event.id).await? {
            drop(tx);
            self.ack(&stream, &event.entry_id).await?;
            return Ok(Outcome::Duplicate);
        }
        match self.handler.handle(&event, &mut tx).await {
            Ok(()) => {
                tx.commit().await?;
                self.ack(&stream, &event.entry_id).await?;
                Ok(Outcome::Processed)
            }
            Err(err) => {
                drop(tx);
                let reason = err.to_string();
                if deliveries >= retry.max_deliveries {
                    self.give_up(&event, &reason).await
                } else {
                    tracing::warn!(
                        group = %self.group, event_id = %event.id, topic, deliveries,
                        error = %reason, "event handler failed; will retry"
                    );
                    Ok(Outcome::Failed)
                }
            }
        }
    }

    async fn give_up(&self, event: &BusEvent, reason: &str) -> Result<Outcome, BusError> {
        tracing::error!(
            group = %self.group, event_id = %event.id, topic = %event.topic,
            deliveries = event.deliveries, reason, "event dead-lettered"
        );
        // Dead-letter before acking: a crash in between leaves the entry pending, and at
        // worst it is dead-lettered twice, never lost.
        dlq::send(&self.kv, &self.group, event, reason).await?;
        self.ack(&event.stream, &event.entry_id).await?;
        Ok(Outcome::DeadLettered)
    }

    async fn ack(&self, stream: &str, entry_id: &str) -> Result<(), BusError> {
        let mut conn = self.kv.conn();
        let _: usize = conn.xack(stream, &self.group, &[entry_id]).await?;
        Ok(())
    }

    /// Polls until `shutdown` resolves; a failed poll is logged and the next retries.
    /// The poll in progress finishes first, so no handler is cut off mid-transaction.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) {
        tokio::pin!(shutdown);
        let mut gauges_at = tokio::time::Instant::now();
        loop {
            let polled = self.poll_once().await;
            if let Ok(report) = &polled {
                crate::telemetry::polled(&self.group, report);
            }
            // After a poll, so the group exists.
            if tokio::time::Instant::now() >= gauges_at {
                crate::telemetry::pending_gauges(&self.kv, &self.group, &self.topics).await;
                gauges_at += crate::telemetry::GAUGES_EVERY;
            }
            let pause = match polled {
                Ok(report) if report.is_idle() => self.config.idle_poll,
                Ok(_) => Duration::ZERO,
                Err(err) => {
                    tracing::warn!(%err, group = %self.group, "consumer poll failed; retrying");
                    self.config.idle_poll
                }
            };
            tokio::select! {
                biased;
                _ = &mut shutdown => break,
                _ = tokio::time::sleep(pause) => {}
            }
        }
    }
}
