//! The seat map of an event: layout (stage, sections, rows, seats) with each seat's status,
//! whole, or compact (`docs/architecture.md#seat-map-on-the-wire`): the layout once, kept
//! by its `ETag`, then the live state as one character per seat, versioned, answering 304
//! while unchanged, and the stream's changes with their versions.

use std::collections::HashMap;
use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{Extensions, HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::Stream;
use sha2::{Digest, Sha256};
use tokio::sync::broadcast::error::RecvError;
use urr_actors::event::{SeatStatus as LiveStatus, SeatUpdate};
use urr_store::seats::{self, SeatLayout};
use urr_wire::seats::{
    LayoutRowView, LayoutSeatView, LayoutSectionView, LayoutView, RowView, SeatChange,
    SeatLayoutView, SeatMapView, SeatStateView, SeatView, SectionView,
};
use urr_wire::status::SeatStatus;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::ApiPath;
use crate::state::AppState;

/// The actor's word for a seat is the map's.
fn seat_status(live: LiveStatus) -> SeatStatus {
    match live {
        LiveStatus::Available => SeatStatus::Available,
        LiveStatus::Locked => SeatStatus::Locked,
        LiveStatus::Reserved => SeatStatus::Reserved,
    }
}

fn seat_map_view(layout: SeatLayout) -> SeatMapView {
    let mut total_seats = 0;
    let sections = layout
        .sections
        .into_iter()
        .map(|section| {
            total_seats += section.seats.len() as u64;
            let mut rows: Vec<RowView> = Vec::with_capacity(section.rows.max(0) as usize);
            for seat in section.seats {
                if rows.last().is_none_or(|row| row.number != seat.row_number) {
                    rows.push(RowView {
                        number: seat.row_number,
                        seats: Vec::new(),
                    });
                }
                if let Some(row) = rows.last_mut() {
                    row.seats.push(SeatView {
                        id: seat.id,
                        number: seat.seat_number,
                        label: format!("{}-{}-{}", section.name, seat.row_number, seat.seat_number),
                        price: seat.price,
                        status: seat.status,
                    });
                }
            }
            SectionView {
                id: section.id,
                name: section.name,
                price: section.price,
                rows,
            }
        })
        .collect();
    SeatMapView {
        event_id: layout.event_id,
        layout: LayoutView {
            id: layout.id,
            stage: layout.stage,
            total_seats,
            sections,
        },
    }
}

/// The layout from Postgres with each seat's live status from the event's actor (the
/// single writer, so the freshest truth).
#[utoipa::path(
    get,
    operation_id = "seats_for_event",
    path = "/api/v1/seats/events/{event_id}",
    tag = "seats",
    summary = "An event's seat map with live statuses",
    params(("event_id" = Uuid, Path, description = "The event's id")),
    responses(
        (status = 200, description = "OK", body = urr_wire::seats::SeatMapView),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody),
        (status = 404, description = "Not found", body = urr_wire::ErrorBody)
    )
)]
pub async fn for_event(
    State(state): State<AppState>,
    ApiPath(event_id): ApiPath<Uuid>,
) -> ApiResult<Json<SeatMapView>> {
    if urr_store::events::get(&state.db, event_id).await?.is_none() {
        return Err(ApiError::not_found("event"));
    }
    let mut layout = seats::layout_for_event(&state.db, event_id)
        .await?
        .ok_or_else(|| ApiError::not_found("seat layout for this event"))?;
    let live: HashMap<Uuid, LiveStatus> = state
        .events
        .event(event_id)
        .seat_statuses()
        .await?
        .into_iter()
        .map(|(seat, status)| (seat.0, status))
        .collect();
    for section in &mut layout.sections {
        for seat in &mut section.seats {
            if let Some(&status) = live.get(&seat.id) {
                seat.status = seat_status(status);
            }
        }
    }
    Ok(Json(seat_map_view(layout)))
}

/// The layout without statuses, in the order of the compact state's characters. Its
/// `ETag` is a digest of the body; `If-None-Match` with it answers 304.
#[utoipa::path(
    get,
    operation_id = "seat_layout",
    path = "/api/v1/seats/events/{event_id}/layout",
    tag = "seats",
    summary = "An event's seat layout, without statuses, cacheable",
    params(
        ("event_id" = Uuid, Path, description = "The event's id"),
        ("If-None-Match" = Option<String>, Header, description = "The `ETag` of a layout already held")
    ),
    responses(
        (status = 200, description = "OK", body = urr_wire::seats::SeatLayoutView, headers(("ETag" = String, description = "The layout's digest"))),
        (status = 304, description = "Unchanged since the `ETag` given"),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody),
        (status = 404, description = "Not found", body = urr_wire::ErrorBody)
    )
)]
pub async fn layout(
    State(state): State<AppState>,
    ApiPath(event_id): ApiPath<Uuid>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    if urr_store::events::get(&state.db, event_id).await?.is_none() {
        return Err(ApiError::not_found("event"));
    }
    let layout = seats::layout_for_event(&state.db, event_id)
        .await?
        .ok_or_else(|| ApiError::not_found("seat layout for this event"))?;
    let body = serde_json::to_vec(&seat_layout_view(layout))
        .map_err(|e| ApiError::new(ErrorCode::Internal, format!("encoding the layout: {e}")))?;
    let digest = Sha256::digest(&body);
    let etag = format!("\"{}\"", hex(&digest[..12]));
    Ok(conditional(&headers, &etag, || {
        ([(header::CONTENT_TYPE, "application/json")], body).into_response()
    }))
}

/// Every seat's live status as one character, in layout order, at the version of the
/// last change the event's actor announced; read off the owner's board, not its mailbox.
#[utoipa::path(
    get,
    operation_id = "seat_state",
    path = "/api/v1/seats/events/{event_id}/state",
    tag = "seats",
    summary = "Every seat's live status, compact and versioned",
    params(
        ("event_id" = Uuid, Path, description = "The event's id"),
        ("If-None-Match" = Option<String>, Header, description = "The `ETag` of a state already held")
    ),
    responses(
        (status = 200, description = "OK", body = urr_wire::seats::SeatStateView, headers(("ETag" = String, description = "The state's version"))),
        (status = 304, description = "Unchanged since the `ETag` given"),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody),
        (status = 404, description = "Not found", body = urr_wire::ErrorBody)
    )
)]
pub async fn live_state(
    State(state): State<AppState>,
    ApiPath(event_id): ApiPath<Uuid>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let live = state.events.event(event_id).seat_state().await?;
    let etag = format!("\"{:08x}.{}\"", live.version.actor, live.version.seq);
    Ok(conditional(&headers, &etag, || {
        Json(SeatStateView {
            event_id,
            actor: live.version.actor,
            seq: live.version.seq,
            seats: live.codes.iter().map(|&b| char::from(b)).collect(),
        })
        .into_response()
    }))
}

/// 304 when the caller holds `etag` already, else the body; either way with the `ETag`
/// and `Cache-Control: no-cache` (keep it, ask again before using it).
fn conditional(headers: &HeaderMap, etag: &str, body: impl FnOnce() -> Response) -> Response {
    let held = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|tag| {
            let tag = tag.trim();
            tag == etag || tag == "*" || tag.strip_prefix("W/") == Some(etag)
        });
    let mut response = if held {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        body()
    };
    if let Ok(value) = HeaderValue::from_str(etag) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn seat_layout_view(layout: SeatLayout) -> SeatLayoutView {
    let map = seat_map_view(layout);
    SeatLayoutView {
        event_id: map.event_id,
        layout_id: map.layout.id,
        stage: map.layout.stage,
        total_seats: map.layout.total_seats,
        sections: map
            .layout
            .sections
            .into_iter()
            .map(|section| LayoutSectionView {
                id: section.id,
                name: section.name,
                price: section.price,
                rows: section
                    .rows
                    .into_iter()
                    .map(|row| LayoutRowView {
                        number: row.number,
                        seats: row
                            .seats
                            .into_iter()
                            .map(|seat| LayoutSeatView {
                                id: seat.id,
                                number: seat.number,
                                label: seat.label,
                                price: seat.price,
                            })
                            .collect(),
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// Server-sent events: one `seat` event per change (`{seatId, status, actor, seq}`); `resync` when
/// this client fell behind, or the event's actor was replaced, and should reload the map.
/// Each stream holds a slot of the node's and the caller's caps (429 or 503 beyond them)
/// until it ends.
#[utoipa::path(
    get,
    operation_id = "seats_stream",
    path = "/api/v1/seats/events/{event_id}/stream",
    tag = "seats",
    summary = "Seat changes as server-sent events",
    params(("event_id" = Uuid, Path, description = "The event's id")),
    responses(
        (status = 200, description = "Server-sent events: `seat` with a `SeatChange` as JSON in `data`, or `resync` (read the map again)", content_type = "text/event-stream", body = crate::openapi::ServerSentEvent),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody),
        (status = 404, description = "Not found", body = urr_wire::ErrorBody)
    )
)]
pub async fn stream(
    State(state): State<AppState>,
    ApiPath(event_id): ApiPath<Uuid>,
    headers: HeaderMap,
    extensions: Extensions,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let caller = state.limits.caller(&headers, &extensions, false);
    let slot = state.seat_streams.take(&caller)?;
    let changes = state.events.event(event_id).subscribe_seats().await?;
    let stream = futures::stream::unfold((changes, slot), |(mut changes, slot)| async move {
        let event = match changes.recv().await {
            Ok(SeatUpdate::Changed(change)) => Event::default()
                .event("seat")
                .json_data(SeatChange {
                    seat_id: change.seat.0,
                    status: seat_status(change.status),
                    actor: change.version.actor,
                    seq: change.version.seq,
                })
                .unwrap_or_else(|_| Event::default().event("resync")),
            Ok(SeatUpdate::Resync) | Err(RecvError::Lagged(_)) => {
                Event::default().event("resync").data("{}")
            }
            Err(RecvError::Closed) => return None,
        };
        Some((Ok(event), (changes, slot)))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
