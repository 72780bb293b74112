//! `GET /api/v1/admin/cluster`: members, addresses, last heartbeats, counters, and which
//! node owns which event at which epoch (`docs/architecture.md#ownership`).

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use urr_cluster::status::{self, ClusterStatus};
use urr_wire::cluster::{ClusterView, EventOwnerView, MemberView, NodeCountersView};

use crate::error::ApiResult;
use crate::session::AdminUser;
use crate::state::AppState;

/// A node without a cluster part still reports the records (as the CLI does).
const DEFAULT_MEMBER_TTL: Duration = Duration::from_secs(5);

fn time(ms: u64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(i64::try_from(ms).unwrap_or(i64::MAX)).unwrap_or_default()
}

pub fn view(node_id: String, status: ClusterStatus) -> ClusterView {
    ClusterView {
        node_id,
        checked_at: time(status.now_ms),
        member_ttl_ms: u64::try_from(status.member_ttl.as_millis()).unwrap_or(u64::MAX),
        members: status
            .members
            .into_iter()
            .map(|m| MemberView {
                heartbeat_age_ms: status.now_ms.saturating_sub(m.last_heartbeat_ms),
                last_heartbeat: time(m.last_heartbeat_ms),
                node_id: m.node,
                url: m.url,
                live: m.live,
                events_owned: m.events_owned as u64,
                counters: NodeCountersView {
                    acquisitions: m.counters.acquisitions,
                    releases: m.counters.releases,
                    handoffs: m.counters.handoffs,
                    refused_writes: m.counters.refused_writes,
                    failovers: m.counters.failovers,
                },
            })
            .collect(),
        events: status
            .events
            .into_iter()
            .map(|e| EventOwnerView {
                event_id: e.event_id,
                title: e.title,
                node_id: e.node,
                epoch: e.epoch,
                acquired_at: e.acquired_at,
                released_at: e.released_at,
                lease_epoch: e.lease.as_ref().map(|(_, epoch)| *epoch),
                lease_holder: e.lease.map(|(node, _)| node),
            })
            .collect(),
        live_events: status.live_events as u64,
    }
}

#[utoipa::path(
    get,
    operation_id = "cluster_overview",
    path = "/api/v1/admin/cluster",
    tag = "admin",
    summary = "The cluster's members and event owners (admin)",
    responses(
        (status = 200, description = "OK", body = urr_wire::cluster::ClusterView),
        (status = 401, description = "Not signed in, or the token is invalid or expired", body = urr_wire::ErrorBody),
        (status = 403, description = "Forbidden", body = urr_wire::ErrorBody)
    ),
    security(("bearer" = []), ("accessCookie" = []))
)]
pub async fn overview(
    State(state): State<AppState>,
    _admin: AdminUser,
) -> ApiResult<Json<ClusterView>> {
    let (node_id, ttl) = match &state.cluster {
        Some(cluster) => (cluster.node_id().to_owned(), cluster.config().member_ttl),
        None => (String::new(), DEFAULT_MEMBER_TTL),
    };
    let status = status::read(&state.db, &state.kv, ttl).await?;
    Ok(Json(view(node_id, status)))
}
