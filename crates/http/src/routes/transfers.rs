//! Ticket transfers (docs/architecture.md#fan-clubs-pre-sales-and-transfers): list a confirmed, paid ticket for another fan at no more
//! than its face value, browse open listings per event, withdraw a listing. Buying goes
//! through the payments flow with the listing's `transferId`; the ticket's owner changes
//! in the transaction that records the buyer's payment. A ticket changes hands once.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use urr_store::reservations;
use urr_store::transfers::{self, ListRefusal, Transfer};
use urr_wire::status::{TransferRole, TransferStatus};
use urr_wire::transfers::{ListingRequest, MyTransfers, TicketView, TransferList, TransferView};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::pagination::Page;
use crate::session::CurrentUser;
use crate::state::AppState;

/// Views of `listings`, with their tickets read in one query; `viewer` sees more of the
/// ones they sold or bought.
async fn views(
    state: &AppState,
    listings: Vec<Transfer>,
    viewer: Option<Uuid>,
) -> ApiResult<Vec<TransferView>> {
    let ids: Vec<Uuid> = listings.iter().map(|t| t.reservation_id).collect();
    let items = reservations::items(&state.db, &ids).await?;
    Ok(listings
        .into_iter()
        .map(|t| {
            let tickets = items
                .iter()
                .filter(|i| i.reservation_id == t.reservation_id)
                .map(|i| TicketView {
                    seat_id: i.seat_id,
                    label: i
                        .seat_label
                        .clone()
                        .or_else(|| i.ticket_type_name.clone())
                        .unwrap_or_default(),
                    quantity: i.quantity,
                })
                .collect();
            let role = match viewer {
                Some(v) if v == t.seller_id => Some(TransferRole::Seller),
                Some(v) if Some(v) == t.buyer_id => Some(TransferRole::Buyer),
                _ => None,
            };
            let private = role.is_some();
            TransferView {
                transfer_id: t.id,
                event_id: t.event_id,
                event_title: t.event_title,
                price: t.price,
                face_value: t.face_value,
                status: t.status,
                tickets,
                created_at: t.created_at,
                role,
                reservation_id: private.then_some(t.reservation_id),
                completed_at: t.completed_at,
                settlement: t.settlement.filter(|_| private),
                settlement_status: t.settlement_status.filter(|_| private),
            }
        })
        .collect())
}

async fn one(state: &AppState, listing: Transfer, viewer: Uuid) -> ApiResult<TransferView> {
    views(state, vec![listing], Some(viewer))
        .await?
        .pop()
        .ok_or_else(|| ApiError::not_found("transfer"))
}

/// Lists one of the caller's confirmed tickets for transfer.
#[utoipa::path(
    post,
    operation_id = "transfers_create",
    path = "/api/v1/transfers",
    tag = "transfers",
    summary = "List a confirmed ticket for resale at no more than face value",
    request_body = urr_wire::transfers::ListingRequest,
    responses(
        (status = 201, description = "OK", body = urr_wire::transfers::TransferView,
            links(
                ("GetTransfer" = (operation_id = "transfers_get", parameters(("id" = "$response.body#/id")))),
                ("CancelTransfer" = (operation_id = "transfers_cancel", parameters(("id" = "$response.body#/id"))))
            )
        ),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody),
        (status = 401, description = "Not signed in, or the token is invalid or expired", body = urr_wire::ErrorBody),
        (status = 404, description = "Not found", body = urr_wire::ErrorBody),
        (status = 409, description = "Conflict", body = urr_wire::ErrorBody)
    ),
    security(("bearer" = []), ("accessCookie" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(body): ApiJson<ListingRequest>,
) -> ApiResult<(StatusCode, Json<TransferView>)> {
    if body.price < 1 {
        return Err(ApiError::invalid("price must be at least 1 won"));
    }
    let listed = transfers::list(&state.db, user.id, body.reservation_id, body.price).await?;
    let listing = listed.map_err(|refusal| match refusal {
        ListRefusal::NotFound => ApiError::not_found("reservation"),
        ListRefusal::AboveFaceValue { face_value } => ApiError::invalid(format!(
            "price must be at most the ticket's face value of {face_value} won"
        )),
        ListRefusal::NotConfirmed => ApiError::new(
            ErrorCode::NotPending,
            "only a confirmed, paid reservation can be transferred",
        ),
        ListRefusal::AlreadyTransferred => ApiError::new(
            ErrorCode::Conflict,
            "this ticket was already transferred once and cannot be transferred again",
        ),
        ListRefusal::AlreadyListed => {
            ApiError::new(ErrorCode::Conflict, "this ticket is already listed")
        }
        ListRefusal::EventOver => ApiError::new(
            ErrorCode::Conflict,
            "the event has started, ended or been cancelled",
        ),
    })?;
    Ok((
        StatusCode::CREATED,
        Json(one(&state, listing, user.id).await?),
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct OpenQuery {
    event_id: Option<Uuid>,
    /// 1-based.
    #[param(minimum = 1, maximum = 1_000_000)]
    page: Option<i64>,
    /// Items per page (20 when absent; more than 100 is 100).
    #[param(minimum = 1)]
    limit: Option<i64>,
}

/// Open listings, of one event when `eventId` is given, oldest first.
#[utoipa::path(
    get,
    operation_id = "transfers_open",
    path = "/api/v1/transfers",
    tag = "transfers",
    summary = "Open listings, of one event when eventId is given",
    params(OpenQuery),
    responses(
        (status = 200, description = "OK", body = urr_wire::transfers::TransferList),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody),
        (status = 401, description = "Not signed in, or the token is invalid or expired", body = urr_wire::ErrorBody)
    ),
    security(("bearer" = []), ("accessCookie" = []))
)]
pub async fn open(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(query): ApiQuery<OpenQuery>,
) -> ApiResult<Json<TransferList>> {
    let page = Page::from_query(query.page, query.limit)?;
    let (found, total) =
        transfers::open_listings(&state.db, query.event_id, page.limit, page.offset()).await?;
    Ok(Json(TransferList {
        transfers: views(&state, found, Some(user.id)).await?,
        page: page.meta(total),
    }))
}

/// The transfers the caller sold or bought, newest first.
#[utoipa::path(
    get,
    operation_id = "transfers_mine",
    path = "/api/v1/transfers/my",
    tag = "transfers",
    summary = "The caller's listings and purchases",
    responses(
        (status = 200, description = "OK", body = urr_wire::transfers::MyTransfers),
        (status = 401, description = "Not signed in, or the token is invalid or expired", body = urr_wire::ErrorBody)
    ),
    security(("bearer" = []), ("accessCookie" = []))
)]
pub async fn mine(
    State(state): State<AppState>,
    user: CurrentUser,
) -> ApiResult<Json<MyTransfers>> {
    let found = transfers::for_user(&state.db, user.id).await?;
    Ok(Json(MyTransfers {
        transfers: views(&state, found, Some(user.id)).await?,
    }))
}

/// A listing: anyone signed in sees an open one; a closed one only its seller and buyer.
#[utoipa::path(
    get,
    operation_id = "transfers_get",
    path = "/api/v1/transfers/{id}",
    tag = "transfers",
    summary = "A listing",
    params(("id" = Uuid, Path, description = "The listing's id")),
    responses(
        (status = 200, description = "OK", body = urr_wire::transfers::TransferView),
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
) -> ApiResult<Json<TransferView>> {
    let listing = transfers::get(&state.db, id)
        .await?
        .filter(|t| {
            t.status == TransferStatus::Listed
                || t.seller_id == user.id
                || t.buyer_id == Some(user.id)
        })
        .ok_or_else(|| ApiError::not_found("transfer"))?;
    Ok(Json(one(&state, listing, user.id).await?))
}

/// The seller withdraws an open listing.
#[utoipa::path(
    post,
    operation_id = "transfers_cancel",
    path = "/api/v1/transfers/{id}/cancel",
    tag = "transfers",
    summary = "Withdraw the caller's listing",
    params(("id" = Uuid, Path, description = "The listing's id")),
    responses(
        (status = 200, description = "OK", body = urr_wire::transfers::TransferView),
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
) -> ApiResult<Json<TransferView>> {
    let listing = transfers::cancel(&state.db, id, user.id)
        .await
        .map_err(|e| match e {
            urr_store::StoreError::NotFound => ApiError::not_found("transfer"),
            other => other.into(),
        })?;
    Ok(Json(one(&state, listing, user.id).await?))
}
