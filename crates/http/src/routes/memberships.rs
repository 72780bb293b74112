//! Fan clubs and memberships (docs/architecture.md#fan-clubs-pre-sales-and-transfers): an
//! artist's club (free or paid, with silver, gold and diamond tiers), joining it, and the caller's memberships with their points. A paid membership
//! is pending until paid through the payments flow with its `membershipId`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use urr_store::artists;
use urr_store::memberships::{
    self, DEFAULT_DIAMOND_POINTS, DEFAULT_GOLD_POINTS, FanClub, JOIN_BONUS, Membership,
    PURCHASE_POINTS, PointEntry,
};
use urr_wire::memberships::{
    ClubRequest, ClubView, JoinReply, JoinRequest, MembershipDetail, MembershipList,
    MembershipView, PointView, TierView,
};
use urr_wire::status::{MembershipStatus, MembershipTier};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::{ApiJson, ApiPath};
use crate::session::{AdminUser, CurrentUser};
use crate::state::AppState;
use crate::validate;

/// Won; a year's membership costs no more than this.
const MAX_PRICE: i64 = 10_000_000;
const MAX_POINTS: i64 = 1_000_000_000;
const HISTORY_LIMIT: i64 = 50;

fn club_view(c: FanClub) -> ClubView {
    ClubView {
        artist_id: c.artist_id,
        price: c.price,
        free: c.price == 0,
        tiers: vec![
            TierView {
                tier: MembershipTier::Silver,
                min_points: 0,
            },
            TierView {
                tier: MembershipTier::Gold,
                min_points: c.gold_points,
            },
            TierView {
                tier: MembershipTier::Diamond,
                min_points: c.diamond_points,
            },
        ],
        join_bonus: JOIN_BONUS,
        points_per_reservation: PURCHASE_POINTS,
        updated_at: c.updated_at,
    }
}

fn membership_view(m: Membership) -> MembershipView {
    let (next_tier, next_tier_points) = if m.points < m.gold_points {
        (Some(MembershipTier::Gold), Some(m.gold_points))
    } else if m.points < m.diamond_points {
        (Some(MembershipTier::Diamond), Some(m.diamond_points))
    } else {
        (None, None)
    };
    MembershipView {
        membership_id: m.id,
        artist_id: m.artist_id,
        artist_name: m.artist_name,
        status: m.status,
        tier: m.tier,
        points: m.points,
        price: m.price,
        next_tier,
        next_tier_points,
        joined_at: m.joined_at,
        expires_at: m.expires_at,
        created_at: m.created_at,
    }
}

fn point_view(p: PointEntry) -> PointView {
    PointView {
        points: p.delta,
        reason: p.reason,
        reservation_id: p.reservation_id,
        at: p.at,
    }
}

/// The caller's memberships, newest first.
#[utoipa::path(
    get,
    operation_id = "memberships_mine",
    path = "/api/v1/memberships",
    tag = "memberships",
    summary = "The caller's fan-club memberships",
    responses(
        (status = 200, description = "OK", body = urr_wire::memberships::MembershipList),
        (status = 401, description = "Not signed in, or the token is invalid or expired", body = urr_wire::ErrorBody)
    ),
    security(("bearer" = []), ("accessCookie" = []))
)]
pub async fn mine(
    State(state): State<AppState>,
    user: CurrentUser,
) -> ApiResult<Json<MembershipList>> {
    let found = memberships::list_for_user(&state.db, user.id).await?;
    Ok(Json(MembershipList {
        memberships: found.into_iter().map(membership_view).collect(),
    }))
}

/// One of the caller's memberships with its newest point changes.
#[utoipa::path(
    get,
    operation_id = "memberships_get",
    path = "/api/v1/memberships/{id}",
    tag = "memberships",
    summary = "A membership of the caller with its points history",
    params(("id" = Uuid, Path, description = "The membership's id")),
    responses(
        (status = 200, description = "OK", body = urr_wire::memberships::MembershipDetail),
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
) -> ApiResult<Json<MembershipDetail>> {
    let membership = memberships::get(&state.db, id)
        .await?
        .filter(|m| m.user_id == user.id)
        .ok_or_else(|| ApiError::not_found("membership"))?;
    let history = memberships::points_history(&state.db, id, HISTORY_LIMIT).await?;
    Ok(Json(MembershipDetail {
        membership: membership_view(membership),
        point_history: history.into_iter().map(point_view).collect(),
    }))
}

/// Joins an artist's fan club: active at once when the club is free, else pending until
/// paid. 201 when this call opened the membership, 200 when it was already pending.
#[utoipa::path(
    post,
    operation_id = "memberships_join",
    path = "/api/v1/memberships",
    tag = "memberships",
    summary = "Join an artist's fan club",
    request_body = urr_wire::memberships::JoinRequest,
    responses(
        (status = 201, description = "Joined", body = urr_wire::memberships::JoinReply),
        (status = 200, description = "Already a member", body = urr_wire::memberships::JoinReply),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody),
        (status = 401, description = "Not signed in, or the token is invalid or expired", body = urr_wire::ErrorBody),
        (status = 404, description = "Not found", body = urr_wire::ErrorBody),
        (status = 409, description = "Conflict", body = urr_wire::ErrorBody)
    ),
    security(("bearer" = []), ("accessCookie" = []))
)]
pub async fn join(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(body): ApiJson<JoinRequest>,
) -> ApiResult<(StatusCode, Json<JoinReply>)> {
    let (membership, opened) = memberships::join(&state.db, user.id, body.artist_id)
        .await
        .map_err(|e| match e {
            urr_store::StoreError::NotFound => ApiError::not_found("fan club of this artist"),
            other => other.into(),
        })?;
    let status = if opened {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let payment_required = membership.status == MembershipStatus::Pending;
    Ok((
        status,
        Json(JoinReply {
            membership: membership_view(membership),
            payment_required,
        }),
    ))
}

/// An artist's fan club, for anyone deciding whether to join.
#[utoipa::path(
    get,
    operation_id = "memberships_club",
    path = "/api/v1/artists/{id}/membership",
    tag = "memberships",
    summary = "An artist's fan club",
    params(("id" = Uuid, Path, description = "The artist's id")),
    responses(
        (status = 200, description = "OK", body = urr_wire::memberships::ClubView),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody),
        (status = 404, description = "Not found", body = urr_wire::ErrorBody)
    )
)]
pub async fn club(
    State(state): State<AppState>,
    ApiPath(artist): ApiPath<Uuid>,
) -> ApiResult<Json<ClubView>> {
    let club = memberships::club(&state.db, artist)
        .await?
        .ok_or_else(|| ApiError::not_found("fan club of this artist"))?;
    Ok(Json(club_view(club)))
}

/// Sets up or changes an artist's fan club (admin).
#[utoipa::path(
    put,
    operation_id = "memberships_put_club",
    path = "/api/v1/admin/artists/{id}/membership",
    tag = "admin",
    summary = "Set an artist's fan club (admin)",
    params(("id" = Uuid, Path, description = "The artist's id")),
    request_body = urr_wire::memberships::ClubRequest,
    responses(
        (status = 200, description = "OK", body = urr_wire::memberships::ClubView),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody),
        (status = 401, description = "Not signed in, or the token is invalid or expired", body = urr_wire::ErrorBody),
        (status = 403, description = "Forbidden", body = urr_wire::ErrorBody),
        (status = 404, description = "Not found", body = urr_wire::ErrorBody)
    ),
    security(("bearer" = []), ("accessCookie" = []))
)]
pub async fn put_club(
    State(state): State<AppState>,
    _admin: AdminUser,
    ApiPath(artist): ApiPath<Uuid>,
    ApiJson(body): ApiJson<ClubRequest>,
) -> ApiResult<Json<ClubView>> {
    let price = validate::range("price", body.price, 0, MAX_PRICE)?;
    let gold = validate::range(
        "goldPoints",
        body.gold_points.unwrap_or(DEFAULT_GOLD_POINTS),
        1,
        MAX_POINTS,
    )?;
    let diamond = validate::range(
        "diamondPoints",
        body.diamond_points.unwrap_or(DEFAULT_DIAMOND_POINTS),
        1,
        MAX_POINTS,
    )?;
    if diamond <= gold {
        return Err(ApiError::invalid("diamondPoints must be above goldPoints"));
    }
    if artists::get(&state.db, artist).await?.is_none() {
        return Err(ApiError::not_found("artist"));
    }
    let club = memberships::put_club(&state.db, artist, price, gold, diamond)
        .await
        .map_err(|e| match e {
            urr_store::StoreError::NotFound => {
                ApiError::new(ErrorCode::NotFound, "artist not found")
            }
            other => other.into(),
        })?;
    Ok(Json(club_view(club)))
}
