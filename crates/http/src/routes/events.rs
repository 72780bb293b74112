//! The public catalog: event list and detail.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use urr_store::events::{self, EventDetail, EventFilter, EventSummary, TicketType};
use urr_store::presales::PresaleWindow;
use urr_wire::events::{EventDetailView, EventList, EventView, PresaleWindowView, TicketTypeView};
use urr_wire::status::EventStatus;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, ApiQuery};
use crate::pagination::Page;
use crate::state::AppState;

/// An event status from a request; a wrong one is refused with the list of right ones.
pub fn parse_status(status: &str) -> Result<EventStatus, ApiError> {
    status.parse().map_err(|_| {
        let all: Vec<&str> = EventStatus::ALL.iter().map(|s| s.as_str()).collect();
        ApiError::invalid(format!("status must be one of {}", all.join(", ")))
    })
}

pub fn event_view(e: EventSummary) -> EventView {
    EventView {
        id: e.id,
        title: e.title,
        description: e.description,
        artist_id: e.artist_id,
        artist_name: e.artist_name,
        venue: e.venue,
        address: e.address,
        starts_at: e.starts_at,
        sale_starts_at: e.sale_starts_at,
        sale_ends_at: e.sale_ends_at,
        status: e.status,
        min_price: e.min_price,
        max_price: e.max_price,
        seat_layout_id: e.seat_layout_id,
        created_at: e.created_at,
        updated_at: e.updated_at,
    }
}

fn ticket_type_view(t: TicketType) -> TicketTypeView {
    TicketTypeView {
        id: t.id,
        name: t.name,
        price: t.price,
        quantity: t.quantity,
    }
}

pub fn presale_window_view(w: PresaleWindow) -> PresaleWindowView {
    PresaleWindowView {
        tier: w.tier,
        opens_at: w.opens_at,
        closes_at: w.closes_at,
    }
}

/// An event with its ticket types and its pre-sale schedule (empty when it has none).
pub fn detail_view(d: EventDetail) -> EventDetailView {
    EventDetailView {
        event: event_view(d.event),
        ticket_types: d.ticket_types.into_iter().map(ticket_type_view).collect(),
        presale_windows: d
            .presale_windows
            .into_iter()
            .map(presale_window_view)
            .collect(),
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    status: Option<String>,
    q: Option<String>,
    /// 1-based.
    #[param(minimum = 1, maximum = 1_000_000)]
    page: Option<i64>,
    /// Items per page (20 when absent; more than 100 is 100).
    #[param(minimum = 1)]
    limit: Option<i64>,
}

#[utoipa::path(
    get,
    operation_id = "events_list",
    path = "/api/v1/events",
    tag = "catalog",
    summary = "List events",
    params(ListQuery),
    responses(
        (status = 200, description = "OK", body = urr_wire::events::EventList),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody)
    )
)]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult<Json<EventList>> {
    let page = Page::from_query(query.page, query.limit)?;
    let status = query
        .status
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(parse_status)
        .transpose()?;
    let q = crate::validate::optional_text("q", query.q.as_deref(), 200)?;
    let (found, total) = events::list(
        &state.db,
        &EventFilter {
            status,
            q,
            limit: page.limit,
            offset: page.offset(),
        },
    )
    .await?;
    Ok(Json(EventList {
        events: found.into_iter().map(event_view).collect(),
        page: page.meta(total),
    }))
}

#[utoipa::path(
    get,
    operation_id = "events_detail",
    path = "/api/v1/events/{id}",
    tag = "catalog",
    summary = "An event with its ticket types and pre-sale windows",
    params(("id" = Uuid, Path, description = "The event's id")),
    responses(
        (status = 200, description = "OK", body = urr_wire::events::EventDetailView),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody),
        (status = 404, description = "Not found", body = urr_wire::ErrorBody)
    )
)]
pub async fn detail(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<EventDetailView>> {
    let event = events::get(&state.db, id)
        .await?
        .ok_or_else(|| ApiError::not_found("event"))?;
    Ok(Json(detail_view(event)))
}
