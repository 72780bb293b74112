//! Payments (SPEC 2.4): thin handlers over `urr_payments::PaymentService`. A payment is
//! for a reservation, a fan-club membership or a transfer listing: `prepare` and
//! `process` take exactly one of `reservationId`, `membershipId`, `transferId`.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use urr_auth::Role;
use urr_payments::{PaymentView, Target};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath};
use crate::session::CurrentUser;
use crate::state::AppState;
use crate::validate;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentReply {
    order_id: String,
    purpose: String,
    reservation_id: Option<Uuid>,
    membership_id: Option<Uuid>,
    transfer_id: Option<Uuid>,
    amount: i64,
    refunded_amount: Option<i64>,
    status: String,
    provider: String,
    method: Option<String>,
    confirmed_at: Option<DateTime<Utc>>,
    refunded_at: Option<DateTime<Utc>>,
    failure_code: Option<String>,
    failure_message: Option<String>,
}

impl From<PaymentView> for PaymentReply {
    fn from(p: PaymentView) -> Self {
        Self {
            order_id: p.order_id,
            purpose: p.purpose,
            reservation_id: p.reservation_id,
            membership_id: p.membership_id,
            transfer_id: p.transfer_id,
            amount: p.amount,
            refunded_amount: p.refunded_amount,
            status: p.status,
            provider: p.provider,
            method: p.method,
            confirmed_at: p.confirmed_at,
            refunded_at: p.refunded_at,
            failure_code: p.failure_code,
            failure_message: p.failure_message,
        }
    }
}

/// What is paid for: exactly one of the three ids.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PayFor {
    reservation_id: Option<Uuid>,
    membership_id: Option<Uuid>,
    transfer_id: Option<Uuid>,
}

impl PayFor {
    fn target(&self) -> Result<Target, ApiError> {
        match (self.reservation_id, self.membership_id, self.transfer_id) {
            (Some(id), None, None) => Ok(Target::Reservation(id)),
            (None, Some(id), None) => Ok(Target::Membership(id)),
            (None, None, Some(id)) => Ok(Target::Transfer(id)),
            _ => Err(ApiError::invalid(
                "give exactly one of reservationId, membershipId and transferId",
            )),
        }
    }
}

fn target_fields(target: Target) -> serde_json::Value {
    let (reservation, membership, transfer) = target.ids();
    serde_json::json!({
        "purpose": target.purpose(),
        "reservationId": reservation,
        "membershipId": membership,
        "transferId": transfer,
    })
}

pub async fn prepare(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(body): ApiJson<PayFor>,
) -> ApiResult<Json<serde_json::Value>> {
    let prepared = state.payments.prepare(user.id, body.target()?).await?;
    let mut reply = target_fields(prepared.target);
    reply["orderId"] = prepared.order_id.into();
    reply["amount"] = prepared.amount.into();
    reply["clientKey"] = prepared.client_key.into();
    Ok(Json(reply))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfirmRequest {
    payment_key: String,
    order_id: String,
    amount: i64,
}

pub async fn confirm(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(body): ApiJson<ConfirmRequest>,
) -> ApiResult<Json<PaymentReply>> {
    let key = validate::text("paymentKey", &body.payment_key, 1, 200)?;
    let order = validate::text("orderId", &body.order_id, 1, 64)?;
    if body.amount < 0 {
        return Err(ApiError::invalid("amount must not be negative"));
    }
    Ok(Json(
        state
            .payments
            .confirm(user.id, &key, &order, body.amount)
            .await?
            .into(),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProcessRequest {
    #[serde(flatten)]
    target: PayFor,
    method: String,
}

pub async fn process(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(body): ApiJson<ProcessRequest>,
) -> ApiResult<Json<PaymentReply>> {
    Ok(Json(
        state
            .payments
            .process(user.id, body.target.target()?, body.method.trim())
            .await?
            .into(),
    ))
}

#[derive(Debug, Default, Deserialize)]
pub struct RefundRequest {
    reason: Option<String>,
}

/// A JSON body is required (`{}` when no reason is given): a form or text body a
/// cross-site page can send without asking is refused (415, or 400 when it is not JSON).
pub async fn refund(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(order): ApiPath<String>,
    ApiJson(request): ApiJson<RefundRequest>,
) -> ApiResult<Json<PaymentReply>> {
    let reason = request
        .reason
        .map(|r| validate::text("reason", &r, 1, 200))
        .transpose()?
        .unwrap_or_else(|| "refund requested by the customer".to_owned());
    Ok(Json(
        state
            .payments
            .refund(user.id, user.role == Role::Admin, &order, &reason)
            .await?
            .into(),
    ))
}

pub async fn get(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(order): ApiPath<String>,
) -> ApiResult<Json<PaymentReply>> {
    Ok(Json(
        state
            .payments
            .get(user.id, user.role == Role::Admin, &order)
            .await?
            .into(),
    ))
}
