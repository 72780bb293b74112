//! `/api/v1/transfers`: a confirmed ticket listed for another fan at no more than its
//! face value, open listings, and the caller's own.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::page::PageMeta;
use crate::status::{Settlement, SettlementStatus, TransferRole, TransferStatus};

/// `POST /api/v1/transfers`: list one of the caller's confirmed tickets.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListingRequest {
    pub reservation_id: Uuid,
    /// Won; at least 1 and at most what the ticket cost.
    pub price: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TicketView {
    pub seat_id: Option<Uuid>,
    /// The seat's label, or the ticket type's name.
    pub label: String,
    pub quantity: i32,
}

/// A listing as anyone sees it; its seller and buyer also see `reservationId`, their
/// `role` and how the seller was settled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TransferView {
    pub transfer_id: Uuid,
    pub event_id: Uuid,
    pub event_title: String,
    pub price: i64,
    pub face_value: i64,
    pub status: TransferStatus,
    pub tickets: Vec<TicketView>,
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<TransferRole>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reservation_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settlement: Option<Settlement>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settlement_status: Option<SettlementStatus>,
}

/// `GET /api/v1/transfers`: open listings, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TransferList {
    pub transfers: Vec<TransferView>,
    #[serde(flatten)]
    pub page: PageMeta,
}

/// `GET /api/v1/transfers/my`: what the caller sold or bought, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MyTransfers {
    pub transfers: Vec<TransferView>,
}
