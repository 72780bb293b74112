//! The relay: publishes outbox rows to Redis Streams and marks them published.
//!
//! Each cycle locks a batch of unpublished rows, XADDs them, then marks them published
//! and commits. A crash between the XADDs and the commit leaves the rows unpublished, so
//! they go out again: delivery is at least once, and consumers dedupe by event id.

use std::time::Duration;

use redis::streams::StreamTrimmingMode;
use sqlx::{PgPool, Postgres, Transaction};
use urr_store::Kv;

use crate::BusError;
use crate::event::Fields;
use crate::store::{self, OutboxRow};

#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// Pause between cycles when the outbox is drained.
    pub interval: Duration,
    /// Rows per cycle (one transaction, one pipeline).
    pub batch: i64,
    /// Approximate cap on each stream's length (XADD MAXLEN ~), so Redis memory stays
    /// bounded; `None` keeps everything. It must comfortably exceed what consumers can
    /// fall behind by: a trimmed entry that was never read is lost to its group (the
    /// outbox row still records it).
    pub max_stream_len: Option<usize>,
}

impl Default for RelayConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_millis(250),
            batch: 100,
            max_stream_len: Some(100_000),
        }
    }
}

/// Publishes the outbox; run one per node, several may run at once.
#[derive(Clone)]
pub struct Relay {
    db: PgPool,
    kv: Kv,
    config: RelayConfig,
}

impl Relay {
    pub fn new(db: PgPool, kv: Kv, config: RelayConfig) -> Self {
        Self { db, kv, config }
    }

    /// One cycle: claim, publish, mark. Returns how many rows went out.
    pub async fn relay_once(&self) -> Result<usize, BusError> {
        let batch = self.claim().await?;
        if batch.is_empty() {
            return Ok(0);
        }
        batch.publish().await?;
        batch.commit().await
    }

    /// The first step of a cycle, public so tests can stop between the steps as a crash
    /// would: dropping the batch rolls back and releases its rows.
    pub async fn claim(&self) -> Result<ClaimedBatch, BusError> {
        let mut tx = self.db.begin().await?;
        let rows = store::claim_unpublished(&mut tx, self.config.batch).await?;
        Ok(ClaimedBatch {
            tx,
            rows,
            kv: self.kv.clone(),
            max_stream_len: self.config.max_stream_len,
        })
    }

    /// Cycles until `shutdown` resolves; a failed cycle is logged and the next retries it.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) {
        tokio::pin!(shutdown);
        let mut gauges_at = tokio::time::Instant::now();
        loop {
            let relayed = self.relay_once().await;
            if let Ok(n) = &relayed {
                crate::telemetry::relayed(*n);
            }
            // After the cycle, so reading the gauges never holds up the events.
            if tokio::time::Instant::now() >= gauges_at {
                crate::telemetry::relay_gauges(&self.db, &self.kv).await;
                gauges_at = tokio::time::Instant::now() + crate::telemetry::GAUGES_EVERY;
            }
            let pause = match relayed {
                // A full batch means more may be waiting: go again at once.
                Ok(n) if n as i64 >= self.config.batch => Duration::ZERO,
                Ok(_) => self.config.interval,
                Err(err) => {
                    tracing::warn!(%err, "outbox relay cycle failed; retrying");
                    self.config.interval
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

/// Outbox rows locked by this relay's open transaction.
pub struct ClaimedBatch {
    tx: Transaction<'static, Postgres>,
    rows: Vec<OutboxRow>,
    kv: Kv,
    max_stream_len: Option<usize>,
}

impl ClaimedBatch {
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The outbox ids in this batch.
    pub fn ids(&self) -> Vec<i64> {
        self.rows.iter().map(|r| r.id).collect()
    }

    /// XADDs every row, in id order, in one pipeline per hash slot: one pipeline on a
    /// single Redis; on a cluster a pipeline must stay on one slot, and each topic's
    /// rows keep their order within its own stream.
    pub async fn publish(&self) -> Result<(), BusError> {
        let streams: Vec<String> = self.rows.iter().map(|r| self.kv.key(&r.topic)).collect();
        let names: Vec<&str> = streams.iter().map(String::as_str).collect();
        let mut conn = self.kv.conn();
        for group in self.kv.group_by_slot(&names) {
            let mut pipe = redis::pipe();
            for (row, stream) in self.rows.iter().zip(&streams) {
                if !group.contains(&stream.as_str()) {
                    continue;
                }
                let mut cmd = redis::cmd("XADD");
                cmd.arg(stream);
                if let Some(max) = self.max_stream_len {
                    cmd.arg("MAXLEN").arg(StreamTrimmingMode::Approx).arg(max);
                }
                cmd.arg("*");
                Fields {
                    id: row.id.to_string(),
                    key: row.key.clone(),
                    event_type: row.event_type.clone(),
                    payload: row.payload.clone(),
                }
                .write_to(&mut cmd);
                pipe.add_command(cmd);
            }
            let _: Vec<redis::Value> = pipe.query_async(&mut conn).await?;
        }
        Ok(())
    }

    /// Marks the rows published and commits; call only after [`publish`](Self::publish).
    pub async fn commit(mut self) -> Result<usize, BusError> {
        let ids = self.ids();
        store::mark_published(&mut self.tx, &ids).await?;
        self.tx.commit().await?;
        Ok(ids.len())
    }
}
