//! The cluster as an operator sees it (`urr cluster status`, `GET /api/v1/admin/cluster`):
//! the members with their addresses, last heartbeats and counters; which node owns which
//! event at which epoch; how many events each node owns. Read from Redis and
//! PostgreSQL, so any node (or the CLI, with no node running) answers the same.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use urr_store::cluster::epochs;
use urr_store::cluster::leases::{self, LeaseValue};
use urr_store::cluster::members::{self, NodeCounters};
use urr_store::{Kv, PgPool, StoreError};
use uuid::Uuid;

/// How many ownership records the status shows, newest first.
const OWNERS_SHOWN: i64 = 500;

#[derive(Debug, Clone)]
pub struct ClusterStatus {
    /// Redis's time when read, in milliseconds since the epoch.
    pub now_ms: u64,
    pub member_ttl: Duration,
    pub members: Vec<MemberStatus>,
    pub events: Vec<EventOwnership>,
    /// Events with a live actor somewhere (kept moving by their preferred owner).
    pub live_events: usize,
}

#[derive(Debug, Clone)]
pub struct MemberStatus {
    pub node: String,
    pub url: String,
    pub last_heartbeat_ms: u64,
    /// Heard from within the member TTL.
    pub live: bool,
    pub counters: NodeCounters,
    /// Events whose lease it holds now.
    pub events_owned: usize,
}

#[derive(Debug, Clone)]
pub struct EventOwnership {
    pub event_id: Uuid,
    pub title: String,
    /// The last node to acquire it, and at which epoch (PostgreSQL).
    pub node: String,
    pub epoch: u64,
    pub acquired_at: DateTime<Utc>,
    pub released_at: Option<DateTime<Utc>>,
    /// The lease in Redis now: who holds it at which epoch (`None`: nobody).
    pub lease: Option<(String, u64)>,
}

pub async fn read(db: &PgPool, kv: &Kv, member_ttl: Duration) -> Result<ClusterStatus, StoreError> {
    let (records, now_ms) = members::records(kv).await?;
    let rows = epochs::owners(db, OWNERS_SHOWN).await?;
    let holders = futures::future::join_all(
        rows.iter()
            .map(|row| async move { leases::holder(kv, row.event_id).await }),
    )
    .await;
    let mut events = Vec::with_capacity(rows.len());
    let mut owned: HashMap<String, usize> = HashMap::new();
    for (row, holder) in rows.into_iter().zip(holders) {
        let lease = holder?
            .as_deref()
            .and_then(LeaseValue::parse)
            .map(|value| (value.node, value.epoch));
        if let Some((node, _)) = &lease {
            *owned.entry(node.clone()).or_default() += 1;
        }
        events.push(EventOwnership {
            event_id: row.event_id,
            title: row.title,
            node: row.owner_node,
            epoch: u64::try_from(row.epoch).unwrap_or(0),
            acquired_at: row.acquired_at,
            released_at: row.released_at,
            lease,
        });
    }
    let ttl_ms = u64::try_from(member_ttl.as_millis()).unwrap_or(u64::MAX);
    let members = records
        .into_iter()
        .map(|record| MemberStatus {
            live: now_ms.saturating_sub(record.last_heartbeat_ms) <= ttl_ms,
            events_owned: owned.get(&record.node).copied().unwrap_or(0),
            node: record.node,
            url: record.url,
            last_heartbeat_ms: record.last_heartbeat_ms,
            counters: record.counters,
        })
        .collect();
    Ok(ClusterStatus {
        now_ms,
        member_ttl,
        members,
        events,
        live_events: members::live_events(kv).await?.len(),
    })
}
