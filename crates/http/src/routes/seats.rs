//! The seat map of an event: layout (stage, sections, rows, seats) with each seat's status.

use std::collections::HashMap;
use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{Extensions, HeaderMap};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use serde::Serialize;
use tokio::sync::broadcast::error::RecvError;
use urr_actors::event::SeatStatus;
use urr_store::seats::{self, SeatLayout};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::extract::ApiPath;
use crate::state::AppState;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SeatMapView {
    event_id: Uuid,
    layout: LayoutView,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct LayoutView {
    id: Uuid,
    stage: String,
    total_seats: usize,
    sections: Vec<SectionView>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SectionView {
    id: Uuid,
    name: String,
    price: i64,
    rows: Vec<RowView>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct RowView {
    number: i32,
    seats: Vec<SeatView>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SeatView {
    id: Uuid,
    number: i32,
    /// `SECTION-ROW-SEAT`, what a person reads on a ticket.
    label: String,
    price: i64,
    status: String,
}

impl From<SeatLayout> for SeatMapView {
    fn from(layout: SeatLayout) -> Self {
        let mut total_seats = 0;
        let sections = layout
            .sections
            .into_iter()
            .map(|section| {
                total_seats += section.seats.len();
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
                            label: format!(
                                "{}-{}-{}",
                                section.name, seat.row_number, seat.seat_number
                            ),
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
}

/// The layout from Postgres with each seat's live status from the event's actor (the
/// single writer, so the freshest truth).
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
    let live: HashMap<Uuid, SeatStatus> = state
        .events
        .with_event(event_id, |h| async move { h.seat_statuses().await })
        .await?
        .into_iter()
        .map(|(seat, status)| (seat.0, status))
        .collect();
    for section in &mut layout.sections {
        for seat in &mut section.seats {
            if let Some(status) = live.get(&seat.id) {
                seat.status = status.as_str().to_owned();
            }
        }
    }
    Ok(Json(layout.into()))
}

/// Server-sent events: one `seat` event per change (`{seatId, status}`); `resync` when
/// this client fell behind and should reload the map. Each stream holds a slot of the
/// node's and the caller's caps (429 or 503 beyond them) until it ends.
pub async fn stream(
    State(state): State<AppState>,
    ApiPath(event_id): ApiPath<Uuid>,
    headers: HeaderMap,
    extensions: Extensions,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let caller = state.limits.caller(&headers, &extensions, false);
    let slot = state.seat_streams.take(&caller)?;
    let handle = state.events.get(event_id).await?;
    let changes = handle.subscribe_seats();
    let stream = futures::stream::unfold((changes, slot), |(mut changes, slot)| async move {
        let event = match changes.recv().await {
            Ok(change) => Event::default()
                .event("seat")
                .json_data(serde_json::json!({
                    "seatId": change.seat.0,
                    "status": change.status.as_str(),
                }))
                .unwrap_or_else(|_| Event::default().event("resync")),
            Err(RecvError::Lagged(_)) => Event::default().event("resync").data("{}"),
            Err(RecvError::Closed) => return None,
        };
        Some((Ok(event), (changes, slot)))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
