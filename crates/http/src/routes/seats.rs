//! The seat map of an event: layout (stage, sections, rows, seats) with each seat's status.

use std::collections::HashMap;
use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{Extensions, HeaderMap};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use tokio::sync::broadcast::error::RecvError;
use urr_actors::event::{SeatStatus as LiveStatus, SeatUpdate};
use urr_store::seats::{self, SeatLayout};
use urr_wire::seats::{LayoutView, RowView, SeatChange, SeatMapView, SeatView, SectionView};
use urr_wire::status::SeatStatus;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
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

/// Server-sent events: one `seat` event per change (`{seatId, status}`); `resync` when
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
