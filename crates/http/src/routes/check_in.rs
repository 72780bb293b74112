//! Tickets at the door (docs/tickets.md): a buyer's ticket codes and QR images, the
//! check-in that admits each ticket once, the operator's door figures and door staff.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use urr_auth::TicketCode;
use urr_store::check_ins::{self, CheckIn, DoorTicket, FirstScan, Scan, Void};
use urr_wire::status::Role;
use urr_wire::tickets::{
    CheckInReply, CheckInRequest, CheckInView, DoorCountsView, DoorTicketView, GateCount,
    RoleRequest, RoleView, TicketView, TicketsView,
};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::session::{AdminUser, CurrentUser, StaffUser};
use crate::state::AppState;
use crate::{qr, validate};

/// The largest door photo taken (`check_in_photo`); a phone's JPEG is 2–5 MB.
pub const PHOTO_LIMIT: usize = 8 * 1024 * 1024;

#[utoipa::path(
    get,
    operation_id = "reservations_tickets",
    path = "/api/v1/reservations/{id}/tickets",
    tag = "reservations",
    summary = "The caller's tickets of a reservation: codes and QR images",
    description = "One ticket per seat, or per unit of a counted item, while the reservation is confirmed; none before payment, after a refund, or once the reservation was transferred away. A transfer gives the new holder new codes and voids the old ones.",
    params(("id" = Uuid, Path, description = "The reservation's id")),
    responses(
        (status = 200, description = "OK", body = urr_wire::tickets::TicketsView),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody),
        (status = 401, description = "Not signed in, or the token is invalid or expired", body = urr_wire::ErrorBody),
        (status = 404, description = "Not found", body = urr_wire::ErrorBody)
    ),
    security(("bearer" = []), ("accessCookie" = []))
)]
pub async fn tickets(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<TicketsView>> {
    let reservation = match urr_store::reservations::get(&state.db, id).await? {
        Some((reservation, _)) if reservation.user_id == user.id => reservation,
        _ => return Err(ApiError::not_found("reservation")),
    };
    let units = check_ins::tickets(&state.db, id).await?;
    let tickets = units
        .into_iter()
        .filter_map(|t| {
            let code = state.keys.sign_ticket(TicketCode {
                item: t.item_id,
                unit: u32::try_from(t.unit).ok()?,
                generation: u32::try_from(t.generation).ok()?,
            });
            Some(TicketView {
                item_id: t.item_id,
                unit: t.unit,
                label: t.label,
                qr_svg: qr::svg(&code),
                code,
            })
        })
        .collect();
    Ok(Json(TicketsView {
        reservation_id: id,
        event_id: reservation.event_id,
        tickets,
    }))
}

#[utoipa::path(
    post,
    operation_id = "check_in",
    path = "/api/v1/check-in",
    tag = "check-in",
    summary = "Check a ticket in at an event's door (staff)",
    description = "The first scan of a confirmed ticket admits. A later scan is refused with when and where the first one was; a refunded ticket, or a transferred ticket's old code, is refused as void.",
    request_body = urr_wire::tickets::CheckInRequest,
    responses(
        (status = 200, description = "Admitted", body = urr_wire::tickets::CheckInReply),
        (status = 400, description = "Invalid input, or not a ticket code of this site", body = urr_wire::ErrorBody),
        (status = 401, description = "Not signed in, or the token is invalid or expired", body = urr_wire::ErrorBody),
        (status = 403, description = "Not door staff", body = urr_wire::ErrorBody),
        (status = 409, description = "Checked in before (with the first scan), or a ticket of another event", body = urr_wire::tickets::CheckInRefusal),
        (status = 410, description = "The ticket no longer admits anyone: refunded, cancelled, or replaced by a transfer", body = urr_wire::tickets::CheckInRefusal),
        (status = 415, description = "Not JSON", body = urr_wire::ErrorBody),
        (status = 503, description = "Unavailable; retry", body = urr_wire::ErrorBody)
    ),
    security(("bearer" = []), ("accessCookie" = []))
)]
pub async fn check_in(
    State(state): State<AppState>,
    StaffUser(staff): StaffUser,
    ApiJson(body): ApiJson<CheckInRequest>,
) -> ApiResult<Response> {
    let gate = validate::text("gate", &body.gate, 1, 60)?;
    validate::text("code", &body.code, 1, 200)?;
    admit(&state, &staff, body.event_id, &gate, &body.code).await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct PhotoQuery {
    /// The door's event.
    event_id: Uuid,
    /// Where the scan happened.
    gate: String,
}

#[utoipa::path(
    post,
    operation_id = "check_in_photo",
    path = "/api/v1/check-in/photo",
    tag = "check-in",
    summary = "Check a ticket in from a photo of its QR code (staff)",
    description = "For door devices whose browser cannot read QR codes itself: the server finds the code in the photo (PNG or JPEG, at most 8 MiB and 6,000 pixels a side) and answers as `POST /api/v1/check-in` does.",
    params(PhotoQuery),
    request_body(content = Vec<u8>, content_type = "image/jpeg", description = "The photo (image/jpeg or image/png)"),
    responses(
        (status = 200, description = "Admitted", body = urr_wire::tickets::CheckInReply),
        (status = 400, description = "Invalid input, an unreadable photo, no QR code in it, or not a ticket code of this site", body = urr_wire::ErrorBody),
        (status = 401, description = "Not signed in, or the token is invalid or expired", body = urr_wire::ErrorBody),
        (status = 403, description = "Not door staff", body = urr_wire::ErrorBody),
        (status = 409, description = "Checked in before (with the first scan), or a ticket of another event", body = urr_wire::tickets::CheckInRefusal),
        (status = 410, description = "The ticket no longer admits anyone", body = urr_wire::tickets::CheckInRefusal),
        (status = 413, description = "The photo is too large", body = urr_wire::ErrorBody),
        (status = 503, description = "Unavailable; retry", body = urr_wire::ErrorBody)
    ),
    security(("bearer" = []), ("accessCookie" = []))
)]
pub async fn check_in_photo(
    State(state): State<AppState>,
    StaffUser(staff): StaffUser,
    ApiQuery(query): ApiQuery<PhotoQuery>,
    photo: Bytes,
) -> ApiResult<Response> {
    let gate = validate::text("gate", &query.gate, 1, 60)?;
    if photo.is_empty() {
        return Err(ApiError::invalid("the photo is empty"));
    }
    let code = tokio::task::spawn_blocking(move || qr::read(&photo))
        .await
        .map_err(|e| ApiError::new(ErrorCode::Internal, format!("photo reader failed: {e}")))?
        .map_err(|e| ApiError::invalid(e.to_string()))?;
    admit(&state, &staff, query.event_id, &gate, &code).await
}

/// The one check-in, whether the code was read by the browser, typed, or found in a photo.
async fn admit(
    state: &AppState,
    staff: &CurrentUser,
    event: Uuid,
    gate: &str,
    text: &str,
) -> ApiResult<Response> {
    let code = state.keys.verify_ticket(text).map_err(|_| {
        ApiError::new(
            ErrorCode::InvalidTicketCode,
            "not a ticket code of this site: check it was typed right",
        )
    })?;
    let scan = Scan {
        item: code.item,
        unit: code.unit,
        generation: code.generation,
        event,
        gate,
        staff: staff.id,
    };
    let refused = |code, message: String, ticket: Option<DoorTicket>, first| {
        let refusal = Refusal {
            ticket: ticket.map(door_view),
            first_check_in: first,
        };
        Ok(ApiError::new(code, message).with_details(refusal))
    };
    match check_ins::check_in(&state.db, scan).await? {
        CheckIn::Admitted { ticket, scan } => Ok(Json(CheckInReply {
            ticket: door_view(ticket),
            check_in: scan_view(scan),
        })
        .into_response()),
        CheckIn::AlreadyCheckedIn { ticket, first } => {
            let message = format!(
                "already checked in at {} ({}) by {}",
                first.gate,
                first.at.format("%H:%M:%S UTC"),
                first.staff_name
            );
            let first = scan_view(first);
            refused(
                ErrorCode::AlreadyCheckedIn,
                message,
                Some(ticket),
                Some(first),
            )
        }
        CheckIn::Void { ticket, why } => {
            let message = match why {
                Void::Replaced => {
                    "this code was replaced when the ticket was transferred: the new holder has the valid one".to_owned()
                }
                Void::NotConfirmed(status) => {
                    format!("this ticket does not admit anyone: its reservation is {status}")
                }
            };
            refused(ErrorCode::TicketVoid, message, Some(ticket), None)
        }
        CheckIn::WrongEvent { ticket } => refused(
            ErrorCode::WrongEvent,
            "this ticket is for another event".to_owned(),
            Some(ticket),
            None,
        ),
        CheckIn::Unknown => refused(
            ErrorCode::TicketVoid,
            "this code names no ticket".to_owned(),
            None,
            None,
        ),
    }
}

/// What a refused scan carries beside its error (`urr_wire::tickets::CheckInRefusal`).
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Refusal {
    #[serde(skip_serializing_if = "Option::is_none")]
    ticket: Option<DoorTicketView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    first_check_in: Option<CheckInView>,
}

fn scan_view(scan: FirstScan) -> CheckInView {
    CheckInView {
        at: scan.at,
        gate: scan.gate,
        staff_name: scan.staff_name,
    }
}

fn door_view(ticket: DoorTicket) -> DoorTicketView {
    DoorTicketView {
        reservation_id: ticket.reservation_id,
        event_id: ticket.event_id,
        label: ticket.label,
        holder_name: ticket.holder_name,
    }
}

#[utoipa::path(
    get,
    operation_id = "admin_check_ins",
    path = "/api/v1/admin/events/{event_id}/check-ins",
    tag = "admin",
    summary = "How far an event's doors have got (admin)",
    params(("event_id" = Uuid, Path, description = "The event's id")),
    responses(
        (status = 200, description = "OK", body = urr_wire::tickets::DoorCountsView),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody),
        (status = 401, description = "Not signed in, or the token is invalid or expired", body = urr_wire::ErrorBody),
        (status = 403, description = "Forbidden", body = urr_wire::ErrorBody),
        (status = 404, description = "Not found", body = urr_wire::ErrorBody)
    ),
    security(("bearer" = []), ("accessCookie" = []))
)]
pub async fn door_counts(
    State(state): State<AppState>,
    _admin: AdminUser,
    ApiPath(event): ApiPath<Uuid>,
) -> ApiResult<Json<DoorCountsView>> {
    if urr_store::events::get(&state.db, event).await?.is_none() {
        return Err(ApiError::not_found("event"));
    }
    let counts = check_ins::counts(&state.db, event).await?;
    Ok(Json(DoorCountsView {
        event_id: event,
        tickets: counts.tickets,
        checked_in: counts.checked_in,
        by_gate: counts
            .by_gate
            .into_iter()
            .map(|(gate, checked_in)| GateCount { gate, checked_in })
            .collect(),
    }))
}

#[utoipa::path(
    put,
    operation_id = "admin_set_role",
    path = "/api/v1/admin/roles",
    tag = "admin",
    summary = "Make an account door staff, or a plain user again (admin)",
    description = "Only `staff` and `user` can be given here; making an admin is `urr admin grant` on a node. An admin cannot be demoted here either.",
    request_body = urr_wire::tickets::RoleRequest,
    responses(
        (status = 200, description = "OK", body = urr_wire::tickets::RoleView),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody),
        (status = 401, description = "Not signed in, or the token is invalid or expired", body = urr_wire::ErrorBody),
        (status = 403, description = "Forbidden", body = urr_wire::ErrorBody),
        (status = 404, description = "No account with that email", body = urr_wire::ErrorBody),
        (status = 409, description = "The account is an admin", body = urr_wire::ErrorBody),
        (status = 415, description = "Not JSON", body = urr_wire::ErrorBody)
    ),
    security(("bearer" = []), ("accessCookie" = []))
)]
pub async fn set_role(
    State(state): State<AppState>,
    _admin: AdminUser,
    ApiJson(body): ApiJson<RoleRequest>,
) -> ApiResult<Json<RoleView>> {
    let email = validate::email(&body.email)?;
    if body.role == Role::Admin {
        return Err(ApiError::invalid(
            "role must be staff or user: admins are made with `urr admin grant`",
        ));
    }
    let account = urr_store::users::find_by_email(&state.db, &email)
        .await?
        .ok_or_else(|| ApiError::not_found("account"))?;
    if account.role == Role::Admin {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            "that account is an admin; its role is not changed here",
        ));
    }
    let account = urr_store::users::set_role(&state.db, &email, body.role).await?;
    Ok(Json(RoleView {
        user_id: account.id,
        email: account.email,
        role: account.role,
    }))
}
