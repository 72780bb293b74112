//! Holds and reservations (docs/architecture.md#booking): seat holds with an idempotency key, counted tickets,
//! the owner's reservations, and cancelling a pending one. The two hold routes sit behind
//! the entry-token gate (`entry::gate`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use urr_actors::event::EventError;
use urr_actors::ids::{ReservationId, SeatId, TicketTypeId, UserId};
use urr_store::reservations::{self, Item, Reservation};
use urr_wire::reservations::{
    HistoryView, ItemView, MyReservations, ReservationDetail, ReservationView, SeatHoldRequest,
    TicketHoldRequest,
};
use urr_wire::status::ReservationStatus;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::pagination::Page;
use crate::session::CurrentUser;
use crate::state::AppState;
use crate::validate;

/// Bounds one request's seat list before it reaches the actor (whose per-event limit is
/// usually far lower).
const MAX_SEATS_PER_REQUEST: usize = 50;

fn view(reservation: Reservation, items: Vec<Item>) -> ReservationView {
    ReservationView {
        reservation_id: reservation.id,
        event_id: reservation.event_id,
        event_title: reservation.event_title,
        status: reservation.status,
        total_amount: reservation.total_amount,
        expires_at: reservation.expires_at,
        created_at: reservation.created_at,
        confirmed_at: reservation.confirmed_at,
        seats: items
            .into_iter()
            .map(|i| ItemView {
                seat_id: i.seat_id,
                label: i.seat_label,
                ticket_type_id: i.ticket_type_id,
                ticket_type_name: i.ticket_type_name,
                quantity: i.quantity,
                unit_price: i.unit_price,
            })
            .collect(),
    }
}

/// The caller's own reservation, or 404 (another user's is not revealed).
async fn owned(state: &AppState, id: Uuid, user: &CurrentUser) -> ApiResult<ReservationView> {
    match reservations::get(&state.db, id).await? {
        Some((reservation, items)) if reservation.user_id == user.id => {
            Ok(view(reservation, items))
        }
        _ => Err(ApiError::not_found("reservation")),
    }
}

/// A repeated idempotency key answers with the first reservation, if it was for the same
/// event; reusing a key for something else is refused.
async fn replay(
    state: &AppState,
    user: &CurrentUser,
    key: &str,
    event: Uuid,
) -> ApiResult<Option<ReservationView>> {
    let Some(existing) = reservations::find_by_key(&state.db, user.id, key).await? else {
        return Ok(None);
    };
    let found = owned(state, existing, user).await?;
    if found.event_id != event {
        return Err(ApiError::new(
            crate::error::ErrorCode::Conflict,
            "this idempotencyKey was already used for another event",
        ));
    }
    Ok(Some(found))
}

#[utoipa::path(
    post,
    operation_id = "reservations_reserve_seats",
    path = "/api/v1/seats/reserve",
    tag = "seats",
    summary = "Hold seats (idempotent per idempotencyKey)",
    request_body = urr_wire::reservations::SeatHoldRequest,
    responses(
        (status = 201, description = "Held", body = urr_wire::reservations::ReservationView,
            links(
                ("GetReservation" = (operation_id = "reservations_get", parameters(("id" = "$response.body#/reservationId")))),
                ("GetPayment" = (operation_id = "site_reservation_payment", parameters(("id" = "$response.body#/reservationId")))),
                ("Cancel" = (operation_id = "reservations_cancel", parameters(("id" = "$response.body#/reservationId"))))
            )
        ),
        (status = 200, description = "The hold this idempotency key made before", body = urr_wire::reservations::ReservationView),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody),
        (status = 401, description = "Not signed in, or the token is invalid or expired", body = urr_wire::ErrorBody),
        (status = 403, description = "Forbidden", body = urr_wire::ErrorBody),
        (status = 404, description = "Not found", body = urr_wire::ErrorBody),
        (status = 409, description = "Conflict", body = urr_wire::ErrorBody)
    ),
    security(("bearer" = [], "entryToken" = []), ("accessCookie" = [], "entryCookie" = []), ("bearer" = []), ("accessCookie" = []))
)]
pub async fn reserve_seats(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(body): ApiJson<SeatHoldRequest>,
) -> ApiResult<(StatusCode, Json<ReservationView>)> {
    let key = validate::text("idempotencyKey", &body.idempotency_key, 1, 100)?;
    if body.seat_ids.is_empty() {
        return Err(ApiError::invalid("seatIds must name at least one seat"));
    }
    if body.seat_ids.len() > MAX_SEATS_PER_REQUEST {
        return Err(ApiError::invalid(format!(
            "at most {MAX_SEATS_PER_REQUEST} seats per request"
        )));
    }
    if let Some(existing) = replay(&state, &user, &key, body.event_id).await? {
        return Ok((StatusCode::OK, Json(existing)));
    }
    let seats: Vec<SeatId> = body.seat_ids.iter().copied().map(SeatId::from).collect();
    let held = state
        .events
        .event(body.event_id)
        .hold_seats(
            UserId::from(user.id),
            ReservationId::from(Uuid::now_v7()),
            seats,
            key,
        )
        .await;
    finish_hold(&state, &user, held).await
}

#[utoipa::path(
    post,
    operation_id = "reservations_reserve_tickets",
    path = "/api/v1/reservations",
    tag = "reservations",
    summary = "Hold counted tickets (idempotent per idempotencyKey)",
    request_body = urr_wire::reservations::TicketHoldRequest,
    responses(
        (status = 201, description = "Held", body = urr_wire::reservations::ReservationView,
            links(
                ("GetReservation" = (operation_id = "reservations_get", parameters(("id" = "$response.body#/reservationId")))),
                ("GetPayment" = (operation_id = "site_reservation_payment", parameters(("id" = "$response.body#/reservationId")))),
                ("Cancel" = (operation_id = "reservations_cancel", parameters(("id" = "$response.body#/reservationId"))))
            )
        ),
        (status = 200, description = "The hold this idempotency key made before", body = urr_wire::reservations::ReservationView),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody),
        (status = 401, description = "Not signed in, or the token is invalid or expired", body = urr_wire::ErrorBody),
        (status = 403, description = "Forbidden", body = urr_wire::ErrorBody),
        (status = 404, description = "Not found", body = urr_wire::ErrorBody),
        (status = 409, description = "Conflict", body = urr_wire::ErrorBody)
    ),
    security(("bearer" = [], "entryToken" = []), ("accessCookie" = [], "entryCookie" = []), ("bearer" = []), ("accessCookie" = []))
)]
pub async fn reserve_tickets(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(body): ApiJson<TicketHoldRequest>,
) -> ApiResult<(StatusCode, Json<ReservationView>)> {
    let key = validate::text("idempotencyKey", &body.idempotency_key, 1, 100)?;
    if body.quantity == 0 {
        return Err(ApiError::invalid("quantity must be at least 1"));
    }
    if let Some(existing) = replay(&state, &user, &key, body.event_id).await? {
        return Ok((StatusCode::OK, Json(existing)));
    }
    let held = state
        .events
        .event(body.event_id)
        .hold_tickets(
            UserId::from(user.id),
            ReservationId::from(Uuid::now_v7()),
            TicketTypeId::from(body.ticket_type_id),
            body.quantity,
            key,
        )
        .await;
    finish_hold(&state, &user, held).await
}

async fn finish_hold(
    state: &AppState,
    user: &CurrentUser,
    held: Result<urr_actors::event::HoldView, EventError>,
) -> ApiResult<(StatusCode, Json<ReservationView>)> {
    match held {
        Ok(hold) => Ok((
            StatusCode::CREATED,
            Json(owned(state, hold.reservation.0, user).await?),
        )),
        // Two requests with one key raced: the first made it; answer with that one.
        Err(EventError::DuplicateRequest(existing)) => {
            Ok((StatusCode::OK, Json(owned(state, existing.0, user).await?)))
        }
        Err(err) => Err(err.into()),
    }
}

/// One of the caller's reservations, with its history (what happened, and why).
#[utoipa::path(
    get,
    operation_id = "reservations_get",
    path = "/api/v1/reservations/{id}",
    tag = "reservations",
    summary = "A reservation of the caller with its history",
    params(("id" = Uuid, Path, description = "The reservation's id")),
    responses(
        (status = 200, description = "OK", body = urr_wire::reservations::ReservationDetail),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody),
        (status = 401, description = "Not signed in, or the token is invalid or expired", body = urr_wire::ErrorBody),
        (status = 404, description = "Not found", body = urr_wire::ErrorBody)
    ),
    security(("bearer" = []), ("accessCookie" = []))
)]
pub async fn get(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<ReservationDetail>> {
    let reservation = owned(&state, id, &user).await?;
    let history = reservations::history(&state.db, id)
        .await?
        .into_iter()
        .map(|h| HistoryView {
            status: h.status,
            note: h.note,
            at: h.at,
        })
        .collect();
    Ok(Json(ReservationDetail {
        reservation,
        history,
    }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MyQuery {
    /// 1-based.
    #[param(minimum = 1, maximum = 1_000_000)]
    page: Option<i64>,
    /// Items per page (20 when absent; more than 100 is 100).
    #[param(minimum = 1)]
    limit: Option<i64>,
}

#[utoipa::path(
    get,
    operation_id = "reservations_mine",
    path = "/api/v1/reservations/my",
    tag = "reservations",
    summary = "The caller's reservations",
    params(MyQuery),
    responses(
        (status = 200, description = "OK", body = urr_wire::reservations::MyReservations),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody),
        (status = 401, description = "Not signed in, or the token is invalid or expired", body = urr_wire::ErrorBody)
    ),
    security(("bearer" = []), ("accessCookie" = []))
)]
pub async fn mine(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(query): ApiQuery<MyQuery>,
) -> ApiResult<Json<MyReservations>> {
    let page = Page::from_query(query.page, query.limit)?;
    let (found, total) =
        reservations::list_for_user(&state.db, user.id, page.limit, page.offset()).await?;
    Ok(Json(MyReservations {
        reservations: found.into_iter().map(|(r, i)| view(r, i)).collect(),
        page: page.meta(total),
    }))
}

/// Cancels the caller's pending reservation; its seats go back on the map at once.
#[utoipa::path(
    post,
    operation_id = "reservations_cancel",
    path = "/api/v1/reservations/{id}/cancel",
    tag = "reservations",
    summary = "Cancel a pending reservation of the caller",
    params(("id" = Uuid, Path, description = "The reservation's id")),
    responses(
        (status = 200, description = "OK", body = urr_wire::reservations::ReservationView),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody),
        (status = 401, description = "Not signed in, or the token is invalid or expired", body = urr_wire::ErrorBody),
        (status = 404, description = "Not found", body = urr_wire::ErrorBody),
        (status = 409, description = "Conflict", body = urr_wire::ErrorBody)
    ),
    security(("bearer" = []), ("accessCookie" = []))
)]
pub async fn cancel(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<ReservationView>> {
    let current = owned(&state, id, &user).await?;
    if current.status != ReservationStatus::Pending {
        return Err(ApiError::new(
            crate::error::ErrorCode::NotPending,
            format!("a {} reservation cannot be cancelled", current.status),
        ));
    }
    state
        .events
        .event(current.event_id)
        .cancel(UserId::from(user.id), ReservationId::from(id))
        .await?;
    Ok(Json(owned(&state, id, &user).await?))
}
