//! The public catalog: event list and detail.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use urr_store::events::{self, EventDetail, EventFilter, EventSummary, TicketType};
use urr_store::presales::PresaleWindow;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, ApiQuery};
use crate::pagination::{Page, PageMeta};
use crate::state::AppState;

/// Event statuses (SPEC 3).
pub const STATUSES: [&str; 5] = ["upcoming", "on_sale", "sold_out", "ended", "cancelled"];

pub fn parse_status(status: &str) -> Result<String, ApiError> {
    if STATUSES.contains(&status) {
        Ok(status.to_owned())
    } else {
        Err(ApiError::invalid(format!(
            "status must be one of {}",
            STATUSES.join(", ")
        )))
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventView {
    id: Uuid,
    title: String,
    description: Option<String>,
    artist_id: Option<Uuid>,
    artist_name: Option<String>,
    venue: String,
    address: String,
    starts_at: DateTime<Utc>,
    sale_starts_at: DateTime<Utc>,
    sale_ends_at: Option<DateTime<Utc>>,
    status: String,
    min_price: Option<i64>,
    max_price: Option<i64>,
    seat_layout_id: Option<Uuid>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<EventSummary> for EventView {
    fn from(e: EventSummary) -> Self {
        Self {
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
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TicketTypeView {
    id: Uuid,
    name: String,
    price: i64,
    quantity: Option<i32>,
}

impl From<TicketType> for TicketTypeView {
    fn from(t: TicketType) -> Self {
        Self {
            id: t.id,
            name: t.name,
            price: t.price,
            quantity: t.quantity,
        }
    }
}

/// A members-only window before the general sale: `{tier, opensAt, closesAt}`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PresaleWindowView {
    tier: String,
    opens_at: DateTime<Utc>,
    closes_at: DateTime<Utc>,
}

impl From<PresaleWindow> for PresaleWindowView {
    fn from(w: PresaleWindow) -> Self {
        Self {
            tier: w.tier,
            opens_at: w.opens_at,
            closes_at: w.closes_at,
        }
    }
}

/// An event with its ticket types and its pre-sale schedule (empty when it has none).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventDetailView {
    #[serde(flatten)]
    event: EventView,
    ticket_types: Vec<TicketTypeView>,
    presale_windows: Vec<PresaleWindowView>,
}

impl From<EventDetail> for EventDetailView {
    fn from(d: EventDetail) -> Self {
        Self {
            event: d.event.into(),
            ticket_types: d.ticket_types.into_iter().map(Into::into).collect(),
            presale_windows: d.presale_windows.into_iter().map(Into::into).collect(),
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    q: Option<String>,
    page: Option<i64>,
    limit: Option<i64>,
}

#[derive(Debug, Serialize)]
pub struct EventList {
    events: Vec<EventView>,
    #[serde(flatten)]
    page: PageMeta,
}

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
        events: found.into_iter().map(Into::into).collect(),
        page: page.meta(total),
    }))
}

pub async fn detail(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<EventDetailView>> {
    let event = events::get(&state.db, id)
        .await?
        .ok_or_else(|| ApiError::not_found("event"))?;
    Ok(Json(event.into()))
}
