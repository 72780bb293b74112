//! Operator routes: artists and events, with their ticket types and seat layout.

use std::collections::HashSet;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use urr_actors::event::QueueSettings;
use urr_store::artists::{self, NewArtist};
use urr_store::events::{self, EventPatch, NewEvent, NewSection, NewTicketType};
use urr_wire::admin::PresalesView;
use urr_wire::admin::{
    ArtistRequest, CreateEventRequest, PresalesRequest, QueueOverview, QueueSettingsRequest,
    QueueSettingsView, SeatLayoutRequest, StatusRequest, UpdateEventRequest,
};
use urr_wire::artists::ArtistView;
use urr_wire::events::EventDetailView;
use urr_wire::status::{EventStatus, MembershipTier};
use uuid::Uuid;

use super::artists::artist_view;
use super::events::{detail_view, parse_status, presale_window_view};
use super::stats::seat_counts;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath};
use crate::session::AdminUser;
use crate::state::AppState;
use crate::validate;

/// Prices are won; nothing we sell costs more than this.
const MAX_PRICE: i64 = 100_000_000;
const MAX_TICKET_TYPES: usize = 20;
const MAX_SECTIONS: usize = 50;
const MAX_ROWS: i64 = 200;
const MAX_SEATS_PER_ROW: i64 = 200;
/// The largest venue we model; bounds the rows one request can create.
const MAX_SEATS: i64 = 100_000;

#[utoipa::path(
    post,
    operation_id = "admin_create_artist",
    path = "/api/v1/admin/artists",
    tag = "admin",
    summary = "Create an artist (admin)",
    request_body = urr_wire::admin::ArtistRequest,
    responses(
        (status = 201, description = "OK", body = urr_wire::artists::ArtistView,
            links(
                ("GetArtist" = (operation_id = "artists_detail", parameters(("id" = "$response.body#/id")))),
                ("GetClub" = (operation_id = "memberships_club", parameters(("id" = "$response.body#/id")))),
                ("PutClub" = (operation_id = "memberships_put_club", parameters(("id" = "$response.body#/id"))))
            )
        ),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody),
        (status = 401, description = "Not signed in, or the token is invalid or expired", body = urr_wire::ErrorBody),
        (status = 403, description = "Forbidden", body = urr_wire::ErrorBody)
    ),
    security(("bearer" = []), ("accessCookie" = []))
)]
pub async fn create_artist(
    State(state): State<AppState>,
    _admin: AdminUser,
    ApiJson(body): ApiJson<ArtistRequest>,
) -> ApiResult<(StatusCode, Json<ArtistView>)> {
    let artist = NewArtist {
        name: validate::text("name", &body.name, 1, 200)?,
        genre: validate::optional_text("genre", body.genre.as_deref(), 100)?,
        description: validate::optional_text("description", body.description.as_deref(), 5000)?,
        image_url: validate::optional_text("imageUrl", body.image_url.as_deref(), 2000)?,
    };
    let created = artists::create(&state.db, &artist).await?;
    Ok((StatusCode::CREATED, Json(artist_view(created))))
}

#[utoipa::path(
    post,
    operation_id = "admin_create_event",
    path = "/api/v1/admin/events",
    tag = "admin",
    summary = "Create an event with its seat layout or ticket types (admin)",
    request_body = urr_wire::admin::CreateEventRequest,
    responses(
        (status = 201, description = "OK", body = urr_wire::events::EventDetailView,
            links(
                ("GetEvent" = (operation_id = "events_detail", parameters(("id" = "$response.body#/id")))),
                ("GetBookingRules" = (operation_id = "site_booking_rules", parameters(("id" = "$response.body#/id")))),
                ("GetSeats" = (operation_id = "seats_for_event", parameters(("event_id" = "$response.body#/id")))),
                ("JoinQueue" = (operation_id = "queue_check", parameters(("event_id" = "$response.body#/id")))),
                ("GetQueue" = (operation_id = "admin_queue_overview", parameters(("id" = "$response.body#/id")))),
                ("GetStats" = (operation_id = "stats_event", parameters(("event_id" = "$response.body#/id")))),
                ("UpdateEvent" = (operation_id = "admin_update_event", parameters(("id" = "$response.body#/id")))),
                ("SetStatus" = (operation_id = "admin_set_status", parameters(("id" = "$response.body#/id")))),
                ("SetPresales" = (operation_id = "admin_presales", parameters(("id" = "$response.body#/id")))),
                ("GetQueueLog" = (operation_id = "queue_audit_queue_log", parameters(("id" = "$response.body#/id"))))
            )
        ),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody),
        (status = 401, description = "Not signed in, or the token is invalid or expired", body = urr_wire::ErrorBody),
        (status = 403, description = "Forbidden", body = urr_wire::ErrorBody),
        (status = 404, description = "Not found", body = urr_wire::ErrorBody)
    ),
    security(("bearer" = []), ("accessCookie" = []))
)]
pub async fn create_event(
    State(state): State<AppState>,
    _admin: AdminUser,
    ApiJson(body): ApiJson<CreateEventRequest>,
) -> ApiResult<(StatusCode, Json<EventDetailView>)> {
    let new = validate_new_event(body)?;
    let created = events::create(&state.db, &new).await?;
    Ok((StatusCode::CREATED, Json(detail_view(created))))
}

fn validate_new_event(body: CreateEventRequest) -> Result<NewEvent, ApiError> {
    check_window(body.starts_at, body.sale_starts_at, body.sale_ends_at)?;
    if body.ticket_types.is_empty() && body.seat_layout.is_none() {
        return Err(ApiError::invalid(
            "an event needs ticket types, a seat layout, or both",
        ));
    }
    if body.ticket_types.len() > MAX_TICKET_TYPES {
        return Err(ApiError::invalid(format!(
            "at most {MAX_TICKET_TYPES} ticket types"
        )));
    }
    let ticket_types = body
        .ticket_types
        .iter()
        .map(|t| {
            Ok(NewTicketType {
                name: validate::text("ticketTypes.name", &t.name, 1, 100)?,
                price: validate::range("ticketTypes.price", t.price, 0, MAX_PRICE)?,
                quantity: t
                    .quantity
                    .map(|q| validate::range("ticketTypes.quantity", q, 0, 1_000_000))
                    .transpose()?
                    .map(|q| q as i32),
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let sections = body.seat_layout.map(validate_layout).transpose()?;
    Ok(NewEvent {
        title: validate::text("title", &body.title, 1, 200)?,
        description: validate::optional_text("description", body.description.as_deref(), 5000)?,
        artist_id: body.artist_id,
        venue: validate::text("venue", &body.venue, 1, 200)?,
        address: validate::text("address", &body.address, 1, 500)?,
        starts_at: body.starts_at,
        sale_starts_at: body.sale_starts_at,
        sale_ends_at: body.sale_ends_at,
        status: body
            .status
            .as_deref()
            .map(parse_status)
            .transpose()?
            .unwrap_or(EventStatus::Upcoming),
        ticket_types,
        sections,
    })
}

fn validate_layout(layout: SeatLayoutRequest) -> Result<Vec<NewSection>, ApiError> {
    if layout.sections.is_empty() || layout.sections.len() > MAX_SECTIONS {
        return Err(ApiError::invalid(format!(
            "a seat layout has 1 to {MAX_SECTIONS} sections"
        )));
    }
    let mut names = HashSet::new();
    let mut total = 0;
    let sections = layout
        .sections
        .iter()
        .map(|s| {
            let name = validate::text("sections.name", &s.name, 1, 50)?;
            if !names.insert(name.to_lowercase()) {
                return Err(ApiError::invalid(format!("section {name} appears twice")));
            }
            let rows = validate::range("sections.rows", s.rows, 1, MAX_ROWS)?;
            let per_row = validate::range(
                "sections.seatsPerRow",
                s.seats_per_row,
                1,
                MAX_SEATS_PER_ROW,
            )?;
            total += rows * per_row;
            Ok(NewSection {
                name,
                rows: rows as i32,
                seats_per_row: per_row as i32,
                price: validate::range("sections.price", s.price, 0, MAX_PRICE)?,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    if total > MAX_SEATS {
        return Err(ApiError::invalid(format!(
            "a seat layout has at most {MAX_SEATS} seats"
        )));
    }
    Ok(sections)
}

fn check_window(
    starts_at: DateTime<Utc>,
    sale_starts_at: DateTime<Utc>,
    sale_ends_at: Option<DateTime<Utc>>,
) -> Result<(), ApiError> {
    if sale_starts_at >= starts_at {
        return Err(ApiError::invalid("saleStartsAt must be before startsAt"));
    }
    if let Some(end) = sale_ends_at
        && (end <= sale_starts_at || end > starts_at)
    {
        return Err(ApiError::invalid(
            "saleEndsAt must be after saleStartsAt and no later than startsAt",
        ));
    }
    Ok(())
}

#[utoipa::path(
    patch,
    operation_id = "admin_update_event",
    path = "/api/v1/admin/events/{id}",
    tag = "admin",
    summary = "Edit an event (admin)",
    params(("id" = Uuid, Path, description = "The event's id")),
    request_body = urr_wire::admin::UpdateEventRequest,
    responses(
        (status = 200, description = "OK", body = urr_wire::events::EventDetailView),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody),
        (status = 401, description = "Not signed in, or the token is invalid or expired", body = urr_wire::ErrorBody),
        (status = 403, description = "Forbidden", body = urr_wire::ErrorBody),
        (status = 404, description = "Not found", body = urr_wire::ErrorBody)
    ),
    security(("bearer" = []), ("accessCookie" = []))
)]
pub async fn update_event(
    State(state): State<AppState>,
    _admin: AdminUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<UpdateEventRequest>,
) -> ApiResult<Json<EventDetailView>> {
    let current = events::get(&state.db, id)
        .await?
        .ok_or_else(|| ApiError::not_found("event"))?
        .event;
    check_window(
        body.starts_at.unwrap_or(current.starts_at),
        body.sale_starts_at.unwrap_or(current.sale_starts_at),
        body.sale_ends_at.or(current.sale_ends_at),
    )?;
    let text = |field, value: &Option<String>, max| {
        value
            .as_deref()
            .map(|v| validate::text(field, v, 1, max))
            .transpose()
    };
    let patch = EventPatch {
        title: text("title", &body.title, 200)?,
        description: text("description", &body.description, 5000)?,
        artist_id: body.artist_id,
        venue: text("venue", &body.venue, 200)?,
        address: text("address", &body.address, 500)?,
        starts_at: body.starts_at,
        sale_starts_at: body.sale_starts_at,
        sale_ends_at: body.sale_ends_at,
    };
    Ok(Json(detail_view(
        events::update(&state.db, id, &patch).await?,
    )))
}

#[utoipa::path(
    patch,
    operation_id = "admin_set_status",
    path = "/api/v1/admin/events/{id}/status",
    tag = "admin",
    summary = "Set an event's status (admin)",
    params(("id" = Uuid, Path, description = "The event's id")),
    request_body = urr_wire::admin::StatusRequest,
    responses(
        (status = 200, description = "OK", body = urr_wire::events::EventDetailView),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody),
        (status = 401, description = "Not signed in, or the token is invalid or expired", body = urr_wire::ErrorBody),
        (status = 403, description = "Forbidden", body = urr_wire::ErrorBody),
        (status = 404, description = "Not found", body = urr_wire::ErrorBody),
        (status = 409, description = "Conflict", body = urr_wire::ErrorBody)
    ),
    security(("bearer" = []), ("accessCookie" = []))
)]
pub async fn set_status(
    State(state): State<AppState>,
    _admin: AdminUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<StatusRequest>,
) -> ApiResult<Json<EventDetailView>> {
    let status = parse_status(&body.status)?;
    let event = events::set_status(&state.db, id, status)
        .await
        .map_err(|e| match e {
            urr_store::StoreError::NotFound => ApiError::not_found("event"),
            other => other.into(),
        })?;
    // A running actor learns at once whether it may sell.
    let settings = crate::entry::stored_settings(&state, id).await?;
    state
        .events
        .event(id)
        .update_settings(settings, sells(status))
        .await?;
    Ok(Json(detail_view(event)))
}

/// Whether the event's actor may sell: on sale, or sold out (its actor records that
/// itself, and takes back a seat a refund returns).
fn sells(status: EventStatus) -> bool {
    matches!(status, EventStatus::OnSale | EventStatus::SoldOut)
}

fn settings_view(s: &QueueSettings) -> QueueSettingsView {
    QueueSettingsView {
        enabled: s.enabled,
        threshold: s.threshold,
        batch: s.batch,
        tick_ms: s.tick.as_millis() as u64,
        active_ttl_secs: s.active_ttl.as_secs(),
        queue_ttl_secs: s.queue_ttl.as_secs(),
        hold_ttl_secs: s.hold_ttl.as_secs(),
        max_seats_per_hold: s.max_seats_per_hold,
        max_seats_per_user: s.seats_per_user(),
        waitlist_offer_secs: s.waitlist_offer_ttl.as_secs(),
    }
}

/// Changes an event's queue and hold settings; a running actor applies them at once.
#[utoipa::path(
    put,
    operation_id = "admin_queue_settings",
    path = "/api/v1/admin/events/{id}/queue",
    tag = "admin",
    summary = "Change an event's queue settings (admin)",
    params(("id" = Uuid, Path, description = "The event's id")),
    request_body = urr_wire::admin::QueueSettingsRequest,
    responses(
        (status = 200, description = "OK", body = urr_wire::admin::QueueSettingsView),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody),
        (status = 401, description = "Not signed in, or the token is invalid or expired", body = urr_wire::ErrorBody),
        (status = 403, description = "Forbidden", body = urr_wire::ErrorBody),
        (status = 404, description = "Not found", body = urr_wire::ErrorBody)
    ),
    security(("bearer" = []), ("accessCookie" = []))
)]
pub async fn queue_settings(
    State(state): State<AppState>,
    _admin: AdminUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<QueueSettingsRequest>,
) -> ApiResult<Json<QueueSettingsView>> {
    let event = events::get(&state.db, id)
        .await?
        .ok_or_else(|| ApiError::not_found("event"))?;
    let mut s = crate::entry::stored_settings(&state, id).await?;
    let num = |field: &str, v: Option<i64>, min: i64, max: i64| {
        v.map(|v| validate::range(field, v, min, max)).transpose()
    };
    if let Some(enabled) = body.enabled {
        s.enabled = enabled;
    }
    if let Some(v) = num("threshold", body.threshold, 1, 1_000_000)? {
        s.threshold = v as u32;
    }
    if let Some(v) = num("batch", body.batch, 1, 100_000)? {
        s.batch = v as u32;
    }
    if let Some(v) = num("tickMs", body.tick_ms, 10, 60_000)? {
        s.tick = Duration::from_millis(v as u64);
    }
    if let Some(v) = num("activeTtlSecs", body.active_ttl_secs, 1, 86_400)? {
        s.active_ttl = Duration::from_secs(v as u64);
    }
    if let Some(v) = num("queueTtlSecs", body.queue_ttl_secs, 1, 86_400)? {
        s.queue_ttl = Duration::from_secs(v as u64);
    }
    if let Some(v) = num("holdTtlSecs", body.hold_ttl_secs, 1, 3_600)? {
        s.hold_ttl = Duration::from_secs(v as u64);
    }
    if let Some(v) = num("maxSeatsPerHold", body.max_seats_per_hold, 1, 50)? {
        s.max_seats_per_hold = v as u32;
    }
    if let Some(v) = num("maxSeatsPerUser", body.max_seats_per_user, 1, 200)? {
        s.max_seats_per_user = Some(v as u32);
    }
    if let Some(v) = num("waitlistOfferSecs", body.waitlist_offer_secs, 1, 86_400)? {
        s.waitlist_offer_ttl = Duration::from_secs(v as u64);
    }
    urr_store::queue_settings::put(&state.db, id, &s).await?;
    state.gate_rules.forget(id);
    state
        .events
        .event(id)
        .update_settings(s, sells(event.event.status))
        .await?;
    Ok(Json(settings_view(&s)))
}

/// The operator's view of an event's queue: settings, waiting, active, admissions.
#[utoipa::path(
    get,
    operation_id = "admin_queue_overview",
    path = "/api/v1/admin/events/{id}/queue",
    tag = "admin",
    summary = "An event's queue: settings and figures (admin)",
    params(("id" = Uuid, Path, description = "The event's id")),
    responses(
        (status = 200, description = "OK", body = urr_wire::admin::QueueOverview),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody),
        (status = 401, description = "Not signed in, or the token is invalid or expired", body = urr_wire::ErrorBody),
        (status = 403, description = "Forbidden", body = urr_wire::ErrorBody),
        (status = 404, description = "Not found", body = urr_wire::ErrorBody)
    ),
    security(("bearer" = []), ("accessCookie" = []))
)]
pub async fn queue_overview(
    State(state): State<AppState>,
    _admin: AdminUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<QueueOverview>> {
    let settings = crate::entry::stored_settings(&state, id).await?;
    let overview = state.events.event(id).overview().await?;
    Ok(Json(QueueOverview {
        event_id: id,
        settings: settings_view(&settings),
        waiting: overview.queue.waiting as u64,
        active: overview.queue.active as u64,
        admitted_per_second: overview.admitted_per_sec,
        total_joined: overview.queue.total_joined,
        total_admitted: overview.queue.total_admitted,
        total_left: overview.queue.total_left,
        total_dropped: overview.queue.total_dropped,
        total_expired: overview.queue.total_expired,
        seats: seat_counts(&overview),
    }))
}

/// Most pre-sale windows one event may have.
const MAX_PRESALE_WINDOWS: usize = 10;

/// Sets an event's members-only pre-sale windows. Only an event whose artist has a fan
/// club can have them (nobody else could buy in them).
#[utoipa::path(
    put,
    operation_id = "admin_presales",
    path = "/api/v1/admin/events/{id}/presales",
    tag = "admin",
    summary = "Set an event's pre-sale windows (admin)",
    params(("id" = Uuid, Path, description = "The event's id")),
    request_body = urr_wire::admin::PresalesRequest,
    responses(
        (status = 200, description = "OK", body = urr_wire::admin::PresalesView),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody),
        (status = 401, description = "Not signed in, or the token is invalid or expired", body = urr_wire::ErrorBody),
        (status = 403, description = "Forbidden", body = urr_wire::ErrorBody),
        (status = 404, description = "Not found", body = urr_wire::ErrorBody)
    ),
    security(("bearer" = []), ("accessCookie" = []))
)]
pub async fn presales(
    State(state): State<AppState>,
    _admin: AdminUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<PresalesRequest>,
) -> ApiResult<Json<PresalesView>> {
    use urr_store::presales;

    let event = events::get(&state.db, id)
        .await?
        .ok_or_else(|| ApiError::not_found("event"))?
        .event;
    let windows = match (body.windows, body.preset.as_deref()) {
        (Some(windows), None) => windows
            .iter()
            .map(|w| {
                let tier: MembershipTier =
                    w.tier.trim().parse().map_err(|_| {
                        ApiError::invalid("tier must be one of silver, gold, diamond")
                    })?;
                if w.closes_at <= w.opens_at {
                    return Err(ApiError::invalid("closesAt must be after opensAt"));
                }
                if w.closes_at > event.starts_at {
                    return Err(ApiError::invalid(
                        "a pre-sale window must close by the event's startsAt",
                    ));
                }
                Ok((tier, w.opens_at, w.closes_at))
            })
            .collect::<Result<Vec<_>, ApiError>>()?,
        (None, Some("seed")) => presales::seed_schedule(event.sale_starts_at),
        (None, Some(_)) => return Err(ApiError::invalid("preset must be \"seed\"")),
        _ => {
            return Err(ApiError::invalid(
                "give either windows or preset, not both or neither",
            ));
        }
    };
    if windows.len() > MAX_PRESALE_WINDOWS {
        return Err(ApiError::invalid(format!(
            "at most {MAX_PRESALE_WINDOWS} pre-sale windows"
        )));
    }
    if !windows.is_empty() {
        let club = match event.artist_id {
            Some(artist) => urr_store::memberships::club(&state.db, artist).await?,
            None => None,
        };
        if club.is_none() {
            return Err(ApiError::new(
                crate::error::ErrorCode::Conflict,
                "pre-sale windows need the event's artist to have a fan club: set it up \
                 with PUT /api/v1/admin/artists/{id}/membership first",
            ));
        }
    }
    let stored = presales::replace(&state.db, id, &windows)
        .await
        .map_err(|e| match e {
            urr_store::StoreError::NotFound => ApiError::not_found("event"),
            other => other.into(),
        })?;
    state.gate_rules.forget(id);
    Ok(Json(PresalesView {
        event_id: id,
        presale_windows: stored.into_iter().map(presale_window_view).collect(),
    }))
}
