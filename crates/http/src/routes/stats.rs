//! Operator statistics (docs/architecture.md#durability-and-the-bus): sales figures kept by the stats consumer, and live
//! queue figures from the event's actor.

use axum::Json;
use axum::extract::State;
use urr_store::stats;
use urr_wire::stats::{EventStats, QueueFigures, SeatCounts, StatsOverview};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::extract::ApiPath;
use crate::session::AdminUser;
use crate::state::AppState;

#[utoipa::path(
    get,
    operation_id = "stats_event",
    path = "/api/v1/stats/events/{event_id}",
    tag = "admin",
    summary = "An event's figures (admin)",
    params(("event_id" = Uuid, Path, description = "The event's id")),
    responses(
        (status = 200, description = "OK", body = urr_wire::stats::EventStats),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody),
        (status = 401, description = "Not signed in, or the token is invalid or expired", body = urr_wire::ErrorBody),
        (status = 403, description = "Forbidden", body = urr_wire::ErrorBody),
        (status = 404, description = "Not found", body = urr_wire::ErrorBody)
    ),
    security(("bearer" = []), ("accessCookie" = []))
)]
pub async fn event(
    State(state): State<AppState>,
    _admin: AdminUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<EventStats>> {
    if urr_store::events::get(&state.db, id).await?.is_none() {
        return Err(ApiError::not_found("event"));
    }
    let figures = stats::for_event(&state.db, id).await?;
    let live = state.events.event(id).overview().await?;
    Ok(Json(EventStats {
        event_id: id,
        confirmed: figures.confirmed,
        cancelled: figures.cancelled,
        expired: figures.expired,
        refunded: figures.refunded,
        revenue: figures.revenue,
        refunded_amount: figures.refunded_amount,
        transfers: figures.transfers,
        queue: QueueFigures {
            waiting: live.queue.waiting as u64,
            active: live.queue.active as u64,
            admitted_per_minute: (live.admitted_per_sec * 60.0).round() as u64,
            total_admitted: live.queue.total_admitted,
        },
        seats: seat_counts(&live),
    }))
}

/// An event's seats by state, from its actor's overview.
pub fn seat_counts(live: &urr_actors::event::EventOverview) -> SeatCounts {
    SeatCounts {
        available: live.seats_available as u64,
        held: live.seats_held as u64,
        sold: live.seats_sold as u64,
    }
}

#[utoipa::path(
    get,
    operation_id = "stats_overview",
    path = "/api/v1/stats/overview",
    tag = "admin",
    summary = "Figures over all events (admin)",
    responses(
        (status = 200, description = "OK", body = urr_wire::stats::StatsOverview),
        (status = 401, description = "Not signed in, or the token is invalid or expired", body = urr_wire::ErrorBody),
        (status = 403, description = "Forbidden", body = urr_wire::ErrorBody)
    ),
    security(("bearer" = []), ("accessCookie" = []))
)]
pub async fn overview(
    State(state): State<AppState>,
    _admin: AdminUser,
) -> ApiResult<Json<StatsOverview>> {
    let (totals, events) = stats::overview(&state.db).await?;
    Ok(Json(StatsOverview {
        events,
        confirmed: totals.confirmed,
        cancelled: totals.cancelled,
        expired: totals.expired,
        refunded: totals.refunded,
        revenue: totals.revenue,
        refunded_amount: totals.refunded_amount,
        transfers: totals.transfers,
    }))
}
