//! What the browser UI needs to know and cannot read elsewhere: which sign-in and payment
//! options this node has, an event's booking rules (its per-event seat limit and hold
//! time are admin settings, otherwise behind the admin role), and which order paid for a
//! reservation (to refund it from "my reservations").

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};
use urr_store::payments::{self, Target};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::extract::ApiPath;
use crate::session::CurrentUser;
use crate::state::AppState;

/// Public: nothing here is secret (the Toss client key is meant for browsers).
pub async fn config(State(state): State<AppState>) -> Json<Value> {
    let payments = &state.config.payments;
    let toss = payments
        .toss_secret_key
        .as_ref()
        .filter(|_| !payments.toss_client_key.is_empty())
        .map(|_| json!({"clientKey": payments.toss_client_key}));
    let defaults = state.queue_defaults;
    Json(json!({
        "googleClientId": state.config.google_client_id,
        "toss": toss,
        "paymentSandbox": payments.payment_sandbox,
        "sandboxMethods": ["naverpay", "kakaopay", "transfer"],
        "maxSeatsPerHold": defaults.max_seats_per_hold,
        "holdTtlSecs": defaults.hold_ttl.as_secs(),
    }))
}

/// An event's booking rules as its actor applies them.
pub async fn booking_rules(
    State(state): State<AppState>,
    ApiPath(event): ApiPath<Uuid>,
) -> ApiResult<Json<Value>> {
    if urr_store::events::get(&state.db, event).await?.is_none() {
        return Err(ApiError::not_found("event"));
    }
    let settings = crate::entry::settings(&state, event).await?;
    Ok(Json(json!({
        "eventId": event,
        "queueEnabled": settings.enabled,
        "tier1Active": state.tier1_active(event).await?,
        "maxSeatsPerHold": settings.max_seats_per_hold,
        "holdTtlSecs": settings.hold_ttl.as_secs(),
    })))
}

/// The caller's paid (or refunded) order for one of their reservations.
pub async fn reservation_payment(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(reservation): ApiPath<Uuid>,
) -> ApiResult<Json<Value>> {
    let payment = payments::latest_for(
        &state.db,
        user.id,
        Target::Reservation(reservation),
        &["done", "refunded"],
    )
    .await?
    .ok_or_else(|| ApiError::not_found("payment for this reservation"))?;
    Ok(Json(json!({
        "orderId": payment.order_id,
        "reservationId": reservation,
        "amount": payment.amount,
        "status": payment.status,
        "method": payment.method,
        "confirmedAt": payment.confirmed_at,
        "refundedAt": payment.refunded_at,
    })))
}
