//! `GET /api/v1/admin/cluster`: the cluster as an operator sees it: members, their
//! addresses, last heartbeats and counters, and which node owns which event at which
//! epoch (`docs/architecture.md#ownership`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterView {
    /// The node that answered.
    pub node_id: String,
    /// When it was read, by Redis's clock.
    pub checked_at: DateTime<Utc>,
    /// A member not heard from for longer is no longer live.
    pub member_ttl_ms: u64,
    pub members: Vec<MemberView>,
    /// The most recently acquired events, newest first.
    pub events: Vec<EventOwnerView>,
    /// Events with a live actor somewhere.
    pub live_events: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MemberView {
    pub node_id: String,
    pub url: String,
    pub last_heartbeat: DateTime<Utc>,
    pub heartbeat_age_ms: u64,
    pub live: bool,
    /// Events whose lease it holds now.
    pub events_owned: u64,
    pub counters: NodeCountersView,
}

/// What a node counted since it started, as of its last heartbeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeCountersView {
    pub acquisitions: u64,
    pub releases: u64,
    pub handoffs: u64,
    /// Writes of a zombie owner that the stores refused.
    pub refused_writes: u64,
    /// Acquisitions of an event whose last owner never gave it back.
    pub failovers: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventOwnerView {
    pub event_id: Uuid,
    pub title: String,
    /// The last node to acquire it, at `epoch`.
    pub node_id: String,
    pub epoch: u64,
    pub acquired_at: DateTime<Utc>,
    /// Set once that owner gave it back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub released_at: Option<DateTime<Utc>>,
    /// Who holds its lease now; absent when nobody does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_holder: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_epoch: Option<u64>,
}
