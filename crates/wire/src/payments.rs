//! `/api/v1/payments/*`: paying for a reservation, a fan-club membership or a transfer
//! listing, and the payment itself.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::status::{PaymentProvider, PaymentPurpose, PaymentStatus};

/// What is paid for: exactly one of the three ids.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PayFor {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reservation_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub membership_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer_id: Option<Uuid>,
}

/// `POST /api/v1/payments/confirm`: the browser paid through Toss; confirm the order.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfirmRequest {
    #[schema(min_length = 1)]
    pub payment_key: String,
    #[schema(min_length = 1)]
    pub order_id: String,
    pub amount: i64,
}

/// `POST /api/v1/payments/process`: pay through the sandbox (`naverpay`, `kakaopay`,
/// `transfer`).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProcessRequest {
    #[serde(flatten)]
    pub target: PayFor,
    pub method: String,
}

/// `POST /api/v1/payments/{orderId}/refund`; the body is optional.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RefundRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `POST /api/v1/payments/prepare`: what the browser needs to open Toss's payment window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PreparedPayment {
    pub purpose: PaymentPurpose,
    pub reservation_id: Option<Uuid>,
    pub membership_id: Option<Uuid>,
    pub transfer_id: Option<Uuid>,
    pub order_id: String,
    pub amount: i64,
    pub client_key: String,
}

/// A payment as its payer (or an admin) sees it: the reply of confirm, process, refund
/// and `GET /api/v1/payments/{orderId}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentView {
    /// `ORD_{unix ms}_{8 hex}`.
    pub order_id: String,
    pub purpose: PaymentPurpose,
    pub reservation_id: Option<Uuid>,
    pub membership_id: Option<Uuid>,
    pub transfer_id: Option<Uuid>,
    pub amount: i64,
    pub refunded_amount: Option<i64>,
    pub status: PaymentStatus,
    pub provider: PaymentProvider,
    pub method: Option<String>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub refunded_at: Option<DateTime<Utc>>,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
}

/// `GET /api/v1/reservations/{id}/payment`: the order that paid for one of the caller's
/// reservations (to refund it from "my reservations").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReservationPayment {
    pub order_id: String,
    pub reservation_id: Uuid,
    pub amount: i64,
    pub status: PaymentStatus,
    pub method: Option<String>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub refunded_at: Option<DateTime<Utc>>,
}
