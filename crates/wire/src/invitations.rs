//! Invitations (`docs/architecture.md#invitations`): the operator's
//! `/api/v1/admin/events/{id}/invitations[/audit]` and `/api/v1/admin/invitations/{id}/revoke`,
//! and the invitee's `POST /api/v1/invitations/redeem`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::queue::QueueReply;
use crate::status::{InvitationAction, InvitationStatus};

/// `POST /api/v1/admin/events/{id}/invitations`: `count` links alike.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MintInvitationsRequest {
    /// Who the links are for ("Press: Jane Doe"), 1 to 200 characters.
    #[schema(min_length = 1, max_length = 200)]
    pub label: String,
    /// The place in the Tier-2 queue, as a Tier-1 position: 0 is ahead of everyone.
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub priority: i64,
    /// How many links, 1 to 500 (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 500)]
    pub count: Option<i64>,
    /// How long the links work, 1 to 2160 hours (90 days).
    #[schema(minimum = 1, maximum = 2160)]
    pub expires_in_hours: i64,
}

/// One invitation as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvitationView {
    pub id: Uuid,
    pub event_id: Uuid,
    pub label: String,
    pub priority: i64,
    pub status: InvitationStatus,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redeemed_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redeemed_by: Option<Uuid>,
    /// The email of the account that used it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redeemed_by_email: Option<String>,
    /// The signed token the link carries (only while the link works).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// `<site>/invite#<token>` (only while the link works).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

/// How many of an event's invitations are in each state; `minted` is all of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvitationCounts {
    pub minted: u64,
    pub active: u64,
    pub redeemed: u64,
    pub revoked: u64,
    pub expired: u64,
}

/// The reply of a mint: the new links.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MintedInvitations {
    pub event_id: Uuid,
    pub invitations: Vec<InvitationView>,
}

/// `GET /api/v1/admin/events/{id}/invitations`: the newest invitations (at most 1,000)
/// and the counts over all of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvitationList {
    pub event_id: Uuid,
    pub counts: InvitationCounts,
    pub invitations: Vec<InvitationView>,
}

/// One line of an event's invitation audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvitationAuditEntry {
    pub id: i64,
    pub invitation_id: Uuid,
    pub label: String,
    pub action: InvitationAction,
    /// The operator who minted or revoked, or the person who used or tried the link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_email: Option<String>,
    /// Why a use was refused; what was minted.
    pub detail: String,
    pub at: DateTime<Utc>,
}

/// `GET /api/v1/admin/events/{id}/invitations/audit`: newest first, at most 1,000 lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvitationAudit {
    pub event_id: Uuid,
    pub entries: Vec<InvitationAuditEntry>,
}

/// `POST /api/v1/invitations/redeem`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RedeemInvitationRequest {
    /// The token from the link (after `#`).
    pub token: String,
}

/// The reply of a redeem: the caller's place in the event's queue, as `queue/check`
/// answers it, and the Tier-1 token the invitation stands for (also set as the
/// `urr-vwr-token` cookie), so a later `queue/check` passes an open Tier-1 room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RedeemedInvitation {
    pub invitation_id: Uuid,
    pub event_id: Uuid,
    pub queue: QueueReply,
    pub tier1_token: String,
}
