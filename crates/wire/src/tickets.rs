//! Tickets and the door (docs/tickets.md): `/api/v1/reservations/{id}/tickets`,
//! `/api/v1/check-in`, and the operator's door figures and staff.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::status::Role;

/// One admission: its code, and the code as a QR image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TicketView {
    pub item_id: Uuid,
    /// Which of the item's tickets (0 for a seat).
    pub unit: i32,
    /// `SECTION-ROW-SEAT` for a seat, else the ticket type.
    pub label: String,
    /// What the QR image carries; typed in at the door when a scan fails.
    pub code: String,
    /// The QR image, as an SVG document.
    pub qr_svg: String,
}

/// `GET /api/v1/reservations/{id}/tickets`: the caller's tickets of a confirmed
/// reservation (none before payment, or after a refund or a transfer away).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TicketsView {
    pub reservation_id: Uuid,
    pub event_id: Uuid,
    pub tickets: Vec<TicketView>,
}

/// `POST /api/v1/check-in`: a scanned (or typed) code at one event's door.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckInRequest {
    pub event_id: Uuid,
    #[schema(min_length = 1, max_length = 200)]
    pub code: String,
    /// Where the scan happened ("North gate"); recorded with the admission.
    #[schema(min_length = 1, max_length = 60)]
    pub gate: String,
}

/// The ticket a code names, as the door sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DoorTicketView {
    pub reservation_id: Uuid,
    pub event_id: Uuid,
    pub label: String,
    pub holder_name: String,
}

/// A ticket's first and only admitting scan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckInView {
    pub at: DateTime<Utc>,
    pub gate: String,
    pub staff_name: String,
}

/// `200` from `POST /api/v1/check-in`: let them in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckInReply {
    pub ticket: DoorTicketView,
    pub check_in: CheckInView,
}

/// A refused scan: the usual error, and what the door should tell the person.
/// `already_checked_in` carries the first scan; `ticket_void` and `wrong_event` carry
/// the ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckInRefusal {
    pub error: crate::ErrorDetail,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<DoorTicketView>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_check_in: Option<CheckInView>,
}

/// Admissions at one gate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GateCount {
    pub gate: String,
    pub checked_in: i64,
}

/// `GET /api/v1/admin/events/{id}/check-ins`: how far the doors have got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DoorCountsView {
    pub event_id: Uuid,
    /// Tickets of confirmed reservations.
    pub tickets: i64,
    pub checked_in: i64,
    pub by_gate: Vec<GateCount>,
}

/// `PUT /api/v1/admin/roles`: give an account a role. Only `user` and `staff`: making an
/// admin stays a shell command on the node (`urr admin grant`).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoleRequest {
    pub email: String,
    pub role: Role,
}

/// The account after the change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoleView {
    pub user_id: Uuid,
    pub email: String,
    pub role: Role,
}
