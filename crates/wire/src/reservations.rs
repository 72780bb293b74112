//! `/api/v1/seats/reserve` and `/api/v1/reservations`: holds (seats or counted tickets)
//! and the caller's reservations.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::page::PageMeta;
use crate::status::{HistoryStatus, ReservationStatus};

/// `POST /api/v1/seats/reserve`: hold these seats. A repeated `idempotencyKey` answers
/// with the first reservation.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SeatHoldRequest {
    pub event_id: Uuid,
    pub seat_ids: Vec<Uuid>,
    #[schema(min_length = 1)]
    pub idempotency_key: String,
}

/// `POST /api/v1/reservations`: hold `quantity` tickets of a type.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TicketHoldRequest {
    pub event_id: Uuid,
    pub ticket_type_id: Uuid,
    pub quantity: u32,
    #[schema(min_length = 1)]
    pub idempotency_key: String,
}

/// A seat, or a number of tickets of one type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ItemView {
    pub seat_id: Option<Uuid>,
    /// `SECTION-ROW-SEAT` for a seat.
    pub label: Option<String>,
    pub ticket_type_id: Option<Uuid>,
    pub ticket_type_name: Option<String>,
    pub quantity: i32,
    pub unit_price: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReservationView {
    pub reservation_id: Uuid,
    pub event_id: Uuid,
    pub event_title: String,
    pub status: ReservationStatus,
    pub total_amount: i64,
    /// When a pending hold lapses.
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub seats: Vec<ItemView>,
}

/// What happened to a reservation, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryView {
    pub status: HistoryStatus,
    pub note: String,
    pub at: DateTime<Utc>,
}

/// `GET /api/v1/reservations/{id}`: the reservation with its history, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReservationDetail {
    #[serde(flatten)]
    pub reservation: ReservationView,
    pub history: Vec<HistoryView>,
}

/// `GET /api/v1/reservations/my`, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MyReservations {
    pub reservations: Vec<ReservationView>,
    #[serde(flatten)]
    pub page: PageMeta,
}
