//! `/api/v1/waitlist/{eventId}`: the waiting list of a sold-out event and its timed
//! offers (docs/waiting-list.md).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::status::WaitlistStatus;

/// `POST /api/v1/waitlist/{eventId}`: wait for this many seats together.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WaitlistJoinRequest {
    /// 1 up to the event's seats per booking.
    #[schema(minimum = 1)]
    pub quantity: i64,
}

/// Seats held for the caller: pay for the reservation before `expiresAt`, or cancel it
/// to pass them on at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WaitlistOffer {
    pub reservation_id: Uuid,
    pub expires_at: DateTime<Utc>,
}

/// Where the caller stands on an event's waiting list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WaitlistView {
    pub event_id: Uuid,
    pub status: WaitlistStatus,
    /// Seats wanted together.
    pub quantity: Option<i32>,
    /// 1-based, among the people still waiting for an offer; only while `waiting`.
    pub position: Option<i64>,
    pub joined_at: Option<DateTime<Utc>>,
    /// While `offered`, and what it was once `bought` or `passed`.
    pub offer: Option<WaitlistOffer>,
}
