//! `/api/v1/stats/*`: sales figures kept by the stats consumer, and live queue figures.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Seats of an event by state, live from its actor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SeatCounts {
    pub available: u64,
    pub held: u64,
    pub sold: u64,
}

/// An event's queue as the stats page shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueueFigures {
    pub waiting: u64,
    pub active: u64,
    /// Admissions over the last minute.
    pub admitted_per_minute: u64,
    pub total_admitted: u64,
}

/// `GET /api/v1/stats/events/{id}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventStats {
    pub event_id: Uuid,
    /// Reservations confirmed, cancelled, expired and refunded.
    pub confirmed: i64,
    pub cancelled: i64,
    pub expired: i64,
    pub refunded: i64,
    /// Won taken, less refunds.
    pub revenue: i64,
    pub refunded_amount: i64,
    pub transfers: i64,
    pub queue: QueueFigures,
    pub seats: SeatCounts,
}

/// `GET /api/v1/stats/overview`: the sums over every event with figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatsOverview {
    /// How many events have figures.
    pub events: i64,
    pub confirmed: i64,
    pub cancelled: i64,
    pub expired: i64,
    pub refunded: i64,
    pub revenue: i64,
    pub refunded_amount: i64,
    pub transfers: i64,
}
