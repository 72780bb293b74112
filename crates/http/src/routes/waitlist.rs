//! The waiting list of a sold-out event (docs/waiting-list.md): join, leave, where the
//! caller stands, and a stream that says so again whenever it may have changed. The
//! offers themselves are made by the event's actor (`urr_actors::event::offers`).

use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use tokio::sync::broadcast::error::RecvError;
use urr_store::waiting_list::{self, Entry};
use urr_wire::status::{EventStatus, ReservationStatus, WaitlistStatus};
use urr_wire::waitlist::{WaitlistJoinRequest, WaitlistOffer, WaitlistView};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::{ApiJson, ApiPath};
use crate::session::CurrentUser;
use crate::state::AppState;
use crate::validate;

/// The stream reads the caller's standing again at least this often, and at most this
/// often while seats change.
const STREAM_FLOOR: Duration = Duration::from_secs(15);
const STREAM_DEBOUNCE: Duration = Duration::from_millis(300);

async fn view(state: &AppState, event: Uuid, user: Uuid) -> ApiResult<WaitlistView> {
    let Some(entry) = waiting_list::current(&state.db, event, user).await? else {
        return Ok(WaitlistView {
            event_id: event,
            status: WaitlistStatus::None,
            quantity: None,
            position: None,
            joined_at: None,
            offer: None,
        });
    };
    let status = match entry.offer_status.0 {
        None => WaitlistStatus::Waiting,
        Some(ReservationStatus::Pending) => WaitlistStatus::Offered,
        Some(ReservationStatus::Confirmed) => WaitlistStatus::Bought,
        Some(ReservationStatus::Cancelled | ReservationStatus::Expired) => WaitlistStatus::Passed,
    };
    let position = if status == WaitlistStatus::Waiting {
        Some(waiting_list::ahead_of(&state.db, &entry).await? + 1)
    } else {
        None
    };
    Ok(shown(entry, status, position))
}

fn shown(entry: Entry, status: WaitlistStatus, position: Option<i64>) -> WaitlistView {
    let offer = entry
        .offer_id
        .zip(entry.offer_expires_at)
        .map(|(reservation_id, expires_at)| WaitlistOffer {
            reservation_id,
            expires_at,
        });
    WaitlistView {
        event_id: entry.event_id,
        status,
        quantity: Some(entry.quantity),
        position,
        joined_at: Some(entry.joined_at),
        offer,
    }
}

#[utoipa::path(
    post,
    operation_id = "waitlist_join",
    path = "/api/v1/waitlist/{event_id}",
    tag = "waitlist",
    summary = "Join a sold-out event's waiting list",
    description = "Only while no seat is free. Seats that come back are offered in the order people joined, to the first whose number of seats fits: held for them for the event's offer time (`waitlistOfferSecs`), as a pending reservation to pay. Joining again keeps the caller's place; after an offer lapsed, it puts them at the end.",
    params(("event_id" = Uuid, Path, description = "The event's id")),
    request_body = urr_wire::waitlist::WaitlistJoinRequest,
    responses(
        (status = 200, description = "Already on it: the place is kept", body = urr_wire::waitlist::WaitlistView),
        (status = 201, description = "Joined", body = urr_wire::waitlist::WaitlistView),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody),
        (status = 401, description = "Not signed in, or the token is invalid or expired", body = urr_wire::ErrorBody),
        (status = 404, description = "Not found", body = urr_wire::ErrorBody),
        (status = 409, description = "Seats are free: book instead (`seats_available`), or the event is not on sale", body = urr_wire::ErrorBody),
        (status = 415, description = "Not JSON", body = urr_wire::ErrorBody),
        (status = 503, description = "Unavailable; retry", body = urr_wire::ErrorBody)
    ),
    security(("bearer" = []), ("accessCookie" = []))
)]
pub async fn join(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(event): ApiPath<Uuid>,
    ApiJson(body): ApiJson<WaitlistJoinRequest>,
) -> ApiResult<(StatusCode, Json<WaitlistView>)> {
    let settings = crate::entry::settings(&state, event).await?;
    let max = i64::from(settings.max_seats_per_hold);
    let quantity = validate::range("quantity", body.quantity, 1, max)?;
    let found = urr_store::events::get(&state.db, event)
        .await?
        .ok_or_else(|| ApiError::not_found("event"))?;
    if !matches!(
        found.event.status,
        EventStatus::OnSale | EventStatus::SoldOut
    ) {
        return Err(ApiError::new(
            ErrorCode::NotOnSale,
            "this event is not on sale",
        ));
    }
    let live = state.events.event(event).overview().await?;
    if live.seats_available + live.seats_held + live.seats_sold == 0 {
        return Err(ApiError::new(
            ErrorCode::SeatsAvailable,
            "this event sells tickets without seats: there is no seat to wait for",
        ));
    }
    if live.seats_available > 0 {
        return Err(ApiError::new(
            ErrorCode::SeatsAvailable,
            "seats are still free: book one instead",
        ));
    }
    let quantity = i32::try_from(quantity).unwrap_or(1);
    let (_, joined) = waiting_list::join(&state.db, event, user.id, quantity).await?;
    let status = if joined {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(view(&state, event, user.id).await?)))
}

#[utoipa::path(
    get,
    operation_id = "waitlist_get",
    path = "/api/v1/waitlist/{event_id}",
    tag = "waitlist",
    summary = "Where the caller stands on an event's waiting list",
    params(("event_id" = Uuid, Path, description = "The event's id")),
    responses(
        (status = 200, description = "OK (`none` when not on it)", body = urr_wire::waitlist::WaitlistView),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody),
        (status = 401, description = "Not signed in, or the token is invalid or expired", body = urr_wire::ErrorBody)
    ),
    security(("bearer" = []), ("accessCookie" = []))
)]
pub async fn get(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(event): ApiPath<Uuid>,
) -> ApiResult<Json<WaitlistView>> {
    Ok(Json(view(&state, event, user.id).await?))
}

#[utoipa::path(
    delete,
    operation_id = "waitlist_leave",
    path = "/api/v1/waitlist/{event_id}",
    tag = "waitlist",
    summary = "Leave an event's waiting list",
    description = "An offer already made stays the caller's to pay or to cancel.",
    params(("event_id" = Uuid, Path, description = "The event's id")),
    responses(
        (status = 200, description = "OK: where the caller stands now", body = urr_wire::waitlist::WaitlistView),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody),
        (status = 401, description = "Not signed in, or the token is invalid or expired", body = urr_wire::ErrorBody)
    ),
    security(("bearer" = []), ("accessCookie" = []))
)]
pub async fn leave(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(event): ApiPath<Uuid>,
) -> ApiResult<Json<WaitlistView>> {
    waiting_list::leave(&state.db, event, user.id).await?;
    Ok(Json(view(&state, event, user.id).await?))
}

#[utoipa::path(
    get,
    operation_id = "waitlist_stream",
    path = "/api/v1/waitlist/{event_id}/stream",
    tag = "waitlist",
    summary = "Server-sent events: the caller's standing on the waiting list, as it changes",
    description = "A `waitlist` event (a WaitlistView) at once and whenever it changes: an offer arrives within a moment of the seats being held for the caller.",
    params(("event_id" = Uuid, Path, description = "The event's id")),
    responses(
        (status = 200, description = "Server-sent events: `waitlist` with a `WaitlistView` as JSON in `data`", content_type = "text/event-stream", body = crate::openapi::ServerSentEvent),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody),
        (status = 401, description = "Not signed in, or the token is invalid or expired", body = urr_wire::ErrorBody),
        (status = 404, description = "Not found", body = urr_wire::ErrorBody),
        (status = 503, description = "Unavailable; retry", body = urr_wire::ErrorBody)
    ),
    security(("bearer" = []), ("accessCookie" = []))
)]
pub async fn stream(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(event): ApiPath<Uuid>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    // An offer is a hold, and every hold is a seat change: each change is a cue to read
    // the caller's standing again (debounced), with a slow read as the floor.
    let changes = state.events.event(event).subscribe_seats().await?;
    let first = view(&state, event, user.id).await?;
    let stream = futures::stream::unfold(
        (state, changes, Some(first), None::<WaitlistView>),
        move |(state, mut changes, mut next, mut last)| async move {
            loop {
                if let Some(current) = next.take()
                    && last.as_ref() != Some(&current)
                {
                    let sent = Event::default()
                        .event("waitlist")
                        .json_data(&current)
                        .unwrap_or_else(|_| Event::default().comment("unserialisable"));
                    last = Some(current);
                    return Some((Ok(sent), (state, changes, None, last)));
                }
                let heard = tokio::time::timeout(STREAM_FLOOR, changes.recv()).await;
                if let Ok(Err(RecvError::Closed)) = heard {
                    // The event's actor stopped (idle): nothing is offered until it runs
                    // again, so reading at the floor's pace is enough.
                    tokio::time::sleep(STREAM_FLOOR).await;
                }
                tokio::time::sleep(STREAM_DEBOUNCE).await;
                while changes.try_recv().is_ok() {}
                next = view(&state, event, user.id).await.ok();
            }
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
