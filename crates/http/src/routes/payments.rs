//! Payments (docs/architecture.md#money): thin handlers over `urr_payments::PaymentService`. A payment is
//! for a reservation, a fan-club membership or a transfer listing: `prepare` and
//! `process` take exactly one of `reservationId`, `membershipId`, `transferId`.

use axum::Json;
use axum::extract::State;
use urr_auth::Role;
use urr_payments::Target;
use urr_wire::payments::{
    ConfirmRequest, PayFor, PaymentView, PreparedPayment, ProcessRequest, RefundRequest,
};

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath};
use crate::session::CurrentUser;
use crate::state::AppState;
use crate::validate;

/// What is paid for: exactly one of the three ids.
fn target(pay_for: &PayFor) -> Result<Target, ApiError> {
    match (
        pay_for.reservation_id,
        pay_for.membership_id,
        pay_for.transfer_id,
    ) {
        (Some(id), None, None) => Ok(Target::Reservation(id)),
        (None, Some(id), None) => Ok(Target::Membership(id)),
        (None, None, Some(id)) => Ok(Target::Transfer(id)),
        _ => Err(ApiError::invalid(
            "give exactly one of reservationId, membershipId and transferId",
        )),
    }
}

#[utoipa::path(
    post,
    operation_id = "payments_prepare",
    path = "/api/v1/payments/prepare",
    tag = "payments",
    summary = "Prepare an order for a reservation or a transfer",
    request_body = urr_wire::payments::PayFor,
    responses(
        (status = 200, description = "OK", body = urr_wire::payments::PreparedPayment,
            links(
                ("GetPayment" = (operation_id = "payments_get", parameters(("order_id" = "$response.body#/orderId"))))
            )
        ),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody),
        (status = 401, description = "Not signed in, or the token is invalid or expired", body = urr_wire::ErrorBody),
        (status = 404, description = "Not found", body = urr_wire::ErrorBody),
        (status = 409, description = "Conflict", body = urr_wire::ErrorBody)
    ),
    security(("bearer" = []), ("accessCookie" = []))
)]
pub async fn prepare(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(body): ApiJson<PayFor>,
) -> ApiResult<Json<PreparedPayment>> {
    let prepared = state.payments.prepare(user.id, target(&body)?).await?;
    let (reservation_id, membership_id, transfer_id) = prepared.target.ids();
    Ok(Json(PreparedPayment {
        purpose: prepared.target.purpose(),
        reservation_id,
        membership_id,
        transfer_id,
        order_id: prepared.order_id,
        amount: prepared.amount,
        client_key: prepared.client_key,
    }))
}

#[utoipa::path(
    post,
    operation_id = "payments_confirm",
    path = "/api/v1/payments/confirm",
    tag = "payments",
    summary = "Confirm a Toss payment",
    request_body = urr_wire::payments::ConfirmRequest,
    responses(
        (status = 200, description = "OK", body = urr_wire::payments::PaymentView),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody),
        (status = 401, description = "Not signed in, or the token is invalid or expired", body = urr_wire::ErrorBody),
        (status = 404, description = "Not found", body = urr_wire::ErrorBody),
        (status = 409, description = "Conflict", body = urr_wire::ErrorBody),
        (status = 422, description = "Unprocessable", body = urr_wire::ErrorBody),
        (status = 503, description = "Unavailable; retry", body = urr_wire::ErrorBody)
    ),
    security(("bearer" = []), ("accessCookie" = []))
)]
pub async fn confirm(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(body): ApiJson<ConfirmRequest>,
) -> ApiResult<Json<PaymentView>> {
    let key = validate::text("paymentKey", &body.payment_key, 1, 200)?;
    let order = validate::text("orderId", &body.order_id, 1, 64)?;
    if body.amount < 0 {
        return Err(ApiError::invalid("amount must not be negative"));
    }
    Ok(Json(
        state
            .payments
            .confirm(user.id, &key, &order, body.amount)
            .await?,
    ))
}

#[utoipa::path(
    post,
    operation_id = "payments_process",
    path = "/api/v1/payments/process",
    tag = "payments",
    summary = "Pay with the sandbox provider",
    request_body = urr_wire::payments::ProcessRequest,
    responses(
        (status = 200, description = "OK", body = urr_wire::payments::PaymentView),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody),
        (status = 401, description = "Not signed in, or the token is invalid or expired", body = urr_wire::ErrorBody),
        (status = 404, description = "Not found", body = urr_wire::ErrorBody),
        (status = 409, description = "Conflict", body = urr_wire::ErrorBody),
        (status = 422, description = "Unprocessable", body = urr_wire::ErrorBody)
    ),
    security(("bearer" = []), ("accessCookie" = []))
)]
pub async fn process(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(body): ApiJson<ProcessRequest>,
) -> ApiResult<Json<PaymentView>> {
    Ok(Json(
        state
            .payments
            .process(user.id, target(&body.target)?, body.method.trim())
            .await?,
    ))
}

/// A JSON body is required (`{}` when no reason is given): a form or text body a
/// cross-site page can send without asking is refused (415, or 400 when it is not JSON).
#[utoipa::path(
    post,
    operation_id = "payments_refund",
    path = "/api/v1/payments/{order_id}/refund",
    tag = "payments",
    summary = "Refund a payment of the caller",
    params(("order_id" = String, Path, description = "The order id from prepare")),
    request_body = urr_wire::payments::RefundRequest,
    responses(
        (status = 200, description = "OK", body = urr_wire::payments::PaymentView),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody),
        (status = 401, description = "Not signed in, or the token is invalid or expired", body = urr_wire::ErrorBody),
        (status = 404, description = "Not found", body = urr_wire::ErrorBody),
        (status = 409, description = "Conflict", body = urr_wire::ErrorBody),
        (status = 503, description = "Unavailable; retry", body = urr_wire::ErrorBody)
    ),
    security(("bearer" = []), ("accessCookie" = []))
)]
pub async fn refund(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(order): ApiPath<String>,
    ApiJson(request): ApiJson<RefundRequest>,
) -> ApiResult<Json<PaymentView>> {
    let reason = request
        .reason
        .map(|r| validate::text("reason", &r, 1, 200))
        .transpose()?
        .unwrap_or_else(|| "refund requested by the customer".to_owned());
    Ok(Json(
        state
            .payments
            .refund(user.id, user.role == Role::Admin, &order, &reason)
            .await?,
    ))
}

#[utoipa::path(
    get,
    operation_id = "payments_get",
    path = "/api/v1/payments/{order_id}",
    tag = "payments",
    summary = "A payment of the caller",
    params(("order_id" = String, Path, description = "The order id from prepare")),
    responses(
        (status = 200, description = "OK", body = urr_wire::payments::PaymentView),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody),
        (status = 401, description = "Not signed in, or the token is invalid or expired", body = urr_wire::ErrorBody),
        (status = 404, description = "Not found", body = urr_wire::ErrorBody)
    ),
    security(("bearer" = []), ("accessCookie" = []))
)]
pub async fn get(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(order): ApiPath<String>,
) -> ApiResult<Json<PaymentView>> {
    Ok(Json(
        state
            .payments
            .get(user.id, user.role == Role::Admin, &order)
            .await?,
    ))
}
