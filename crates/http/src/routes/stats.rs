//! Operator statistics (SPEC 2.6): sales figures kept by the stats consumer, and live
//! queue figures from the event's actor.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};
use urr_store::stats;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::extract::ApiPath;
use crate::session::AdminUser;
use crate::state::AppState;

pub async fn event(
    State(state): State<AppState>,
    _admin: AdminUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Value>> {
    if urr_store::events::get(&state.db, id).await?.is_none() {
        return Err(ApiError::not_found("event"));
    }
    let figures = stats::for_event(&state.db, id).await?;
    let queue = state.events.event(id).overview().await?;
    Ok(Json(json!({
        "eventId": id,
        "confirmed": figures.confirmed,
        "cancelled": figures.cancelled,
        "expired": figures.expired,
        "refunded": figures.refunded,
        "revenue": figures.revenue,
        "refundedAmount": figures.refunded_amount,
        "transfers": figures.transfers,
        "queue": {
            "waiting": queue.queue.waiting,
            "active": queue.queue.active,
            "admittedPerMinute": (queue.admitted_per_sec * 60.0).round() as u64,
            "totalAdmitted": queue.queue.total_admitted,
        },
        "seats": {
            "available": queue.seats_available,
            "held": queue.seats_held,
            "sold": queue.seats_sold,
        },
    })))
}

pub async fn overview(State(state): State<AppState>, _admin: AdminUser) -> ApiResult<Json<Value>> {
    let (totals, events) = stats::overview(&state.db).await?;
    Ok(Json(json!({
        "events": events,
        "confirmed": totals.confirmed,
        "cancelled": totals.cancelled,
        "expired": totals.expired,
        "refunded": totals.refunded,
        "revenue": totals.revenue,
        "refundedAmount": totals.refunded_amount,
        "transfers": totals.transfers,
    })))
}
