//! `/api/v1/queue/*`: the Tier-2 queue (check in, status, heartbeat, leave, stream), and
//! its audit trail for operators, `GET /api/v1/admin/events/{id}/queue/log`.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::status::QueueStatus;

/// The reply to check, status and heartbeat, and the data of each queue stream event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueueReply {
    pub event_id: Uuid,
    pub queued: bool,
    pub status: QueueStatus,
    pub position: Option<u64>,
    pub people_ahead: Option<u64>,
    pub people_behind: Option<u64>,
    /// Seconds, at the configured admission rate.
    pub estimated_wait: Option<u64>,
    /// Seconds until the client should ask again.
    pub next_poll: u64,
    /// Every seat and ticket is sold: nobody is admitted unless a refund brings one
    /// back, so waiting may be in vain.
    #[serde(default)]
    pub sold_out: bool,
    /// Only when admitted: the Tier-2 token seat and reservation calls need.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry_token: Option<String>,
}

/// `POST /api/v1/queue/leave/{id}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LeaveReply {
    pub event_id: Uuid,
    /// False when the caller was not in the queue.
    pub left: bool,
}

/// One record of an event's queue log, in the order the event's actor wrote them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    tag = "kind"
)]
pub enum QueueLogRecord {
    Joined {
        user_id: Uuid,
        /// The Tier-1 place the user joined with, if they came through that room.
        tier1_pos: Option<u64>,
        /// Arrival order in this queue.
        seq: u64,
    },
    Left {
        user_id: Uuid,
    },
    Admitted {
        user_id: Uuid,
    },
    /// Removed from the line for not heartbeating.
    Dropped {
        user_id: Uuid,
    },
    /// An admission that lapsed unused.
    Expired {
        user_id: Uuid,
    },
}

/// `GET /api/v1/admin/events/{id}/queue/log`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueueLog {
    pub event_id: Uuid,
    /// Oldest first. A restarted actor compacts its log, so after a restart the trail
    /// starts with the line as it stood then.
    pub records: Vec<QueueLogRecord>,
}
