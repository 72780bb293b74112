//! `/api/v1/memberships` and `/api/v1/artists/{id}/membership`: fan clubs, joining them,
//! and the caller's memberships with their points.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::status::{MembershipStatus, MembershipTier, PointReason};

/// A tier and the points it starts at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TierView {
    pub tier: MembershipTier,
    pub min_points: i64,
}

/// An artist's fan club, for anyone deciding whether to join.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClubView {
    pub artist_id: Uuid,
    /// Won for a year.
    pub price: i64,
    pub free: bool,
    /// Lowest first.
    pub tiers: Vec<TierView>,
    pub join_bonus: i64,
    pub points_per_reservation: i64,
    pub updated_at: DateTime<Utc>,
}

/// `PUT /api/v1/admin/artists/{id}/membership`: set up or change a fan club.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClubRequest {
    /// Won for a year; 0 makes joining free.
    pub price: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gold_points: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diamond_points: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MembershipView {
    pub membership_id: Uuid,
    pub artist_id: Uuid,
    pub artist_name: String,
    /// `pending`: pay with this `membershipId`.
    pub status: MembershipStatus,
    pub tier: MembershipTier,
    pub points: i64,
    pub price: i64,
    /// The next tier up and the points it needs; none at the top.
    pub next_tier: Option<MembershipTier>,
    pub next_tier_points: Option<i64>,
    pub joined_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// A change to a membership's points.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PointView {
    pub points: i64,
    pub reason: PointReason,
    pub reservation_id: Option<Uuid>,
    pub at: DateTime<Utc>,
}

/// `GET /api/v1/memberships`, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MembershipList {
    pub memberships: Vec<MembershipView>,
}

/// `GET /api/v1/memberships/{id}`, with its newest point changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MembershipDetail {
    #[serde(flatten)]
    pub membership: MembershipView,
    pub point_history: Vec<PointView>,
}

/// `POST /api/v1/memberships`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JoinRequest {
    pub artist_id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JoinReply {
    #[serde(flatten)]
    pub membership: MembershipView,
    /// True when the membership waits for its fee: pay it with `POST
    /// /api/v1/payments/prepare` (or `/process`) and this `membershipId`.
    pub payment_required: bool,
}
