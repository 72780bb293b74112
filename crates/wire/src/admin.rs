//! `/api/v1/admin/*`: artists and events with their ticket types and seat layout, an
//! event's status, queue settings and overview, and its pre-sale windows.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::events::PresaleWindowView;
use crate::stats::SeatCounts;

/// `POST /api/v1/admin/artists`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ArtistRequest {
    #[schema(min_length = 1)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub genre: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TicketTypeRequest {
    #[schema(min_length = 1)]
    pub name: String,
    pub price: i64,
    /// `None`: unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<i64>,
}

/// A section of `rows` rows of `seatsPerRow` seats, all at `price`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SectionRequest {
    #[schema(min_length = 1)]
    pub name: String,
    pub rows: i64,
    pub seats_per_row: i64,
    pub price: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SeatLayoutRequest {
    pub sections: Vec<SectionRequest>,
}

/// `POST /api/v1/admin/events`: the event shape shared by the UI, the load generator and
/// the tests. It needs ticket types, a seat layout, or both.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateEventRequest {
    #[schema(min_length = 1)]
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artist_id: Option<Uuid>,
    #[schema(min_length = 1)]
    pub venue: String,
    #[schema(min_length = 1)]
    pub address: String,
    pub starts_at: DateTime<Utc>,
    pub sale_starts_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sale_ends_at: Option<DateTime<Utc>>,
    /// An event status (`upcoming` when none); a string so that a wrong one is refused
    /// with the list of the right ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default)]
    pub ticket_types: Vec<TicketTypeRequest>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seat_layout: Option<SeatLayoutRequest>,
}

/// `PATCH /api/v1/admin/events/{id}`: what is given changes.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateEventRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artist_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub venue: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sale_starts_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sale_ends_at: Option<DateTime<Utc>>,
}

/// `PATCH /api/v1/admin/events/{id}/status`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StatusRequest {
    /// An event status; a string so that a wrong one is refused with the right ones.
    pub status: String,
}

/// `PUT /api/v1/admin/events/{id}/queue`: what is given changes.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueueSettingsRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tick_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_ttl_secs: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_ttl_secs: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold_ttl_secs: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_seats_per_hold: Option<i64>,
    /// Seats (or tickets) one person may hold or buy for the event across reservations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_seats_per_user: Option<i64>,
    /// How long a waiting-list offer holds its seats (docs/waiting-list.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waitlist_offer_secs: Option<i64>,
}

/// An event's queue and hold settings as its actor applies them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueueSettingsView {
    /// False: the event sells without a queue (no entry token needed).
    pub enabled: bool,
    /// Active users beyond which newcomers queue.
    pub threshold: u32,
    /// Admitted per tick.
    pub batch: u32,
    pub tick_ms: u64,
    pub active_ttl_secs: u64,
    pub queue_ttl_secs: u64,
    pub hold_ttl_secs: u64,
    pub max_seats_per_hold: u32,
    /// The per-person limit in force (the per-hold limit unless set).
    pub max_seats_per_user: u32,
    /// How long a waiting-list offer holds its seats.
    pub waitlist_offer_secs: u64,
}

/// `GET /api/v1/admin/events/{id}/queue`: settings, waiting, active, admissions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueueOverview {
    pub event_id: Uuid,
    pub settings: QueueSettingsView,
    pub waiting: u64,
    pub active: u64,
    /// Over the last minute.
    pub admitted_per_second: f64,
    pub total_joined: u64,
    pub total_admitted: u64,
    pub total_left: u64,
    pub total_dropped: u64,
    pub total_expired: u64,
    pub seats: SeatCounts,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PresaleWindowRequest {
    /// `silver`, `gold` or `diamond`; a string so that a wrong one is refused with the
    /// right ones.
    pub tier: String,
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
}

/// `PUT /api/v1/admin/events/{id}/presales`: either the windows themselves (none clears
/// them), or `preset: "seed"`, the standard tier schedule ending at the event's
/// `saleStartsAt` (docs/architecture.md#fan-clubs-pre-sales-and-transfers).
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PresalesRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub windows: Option<Vec<PresaleWindowRequest>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
}

/// The reply to `PUT /api/v1/admin/events/{id}/presales`: the windows as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PresalesView {
    pub event_id: Uuid,
    pub presale_windows: Vec<PresaleWindowView>,
}
