//! Invitations (`docs/architecture.md#invitations`): operators mint signed single-use links
//! for an event, list, count and revoke them and read their audit log; a signed-in person
//! who opens one is put straight into the event's Tier-2 queue at the invitation's
//! priority, past the Tier-1 room.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use urr_actors::event::QueueView;
use urr_actors::ids::UserId;
use urr_auth::Tier;
use urr_store::StoreError;
use urr_store::invitations::{self, Invitation, NewInvitations, Redemption, Refusal, Revocation};
use urr_wire::invitations::{
    InvitationAudit, InvitationAuditEntry, InvitationCounts, InvitationList, InvitationView,
    MintInvitationsRequest, MintedInvitations, RedeemInvitationRequest, RedeemedInvitation,
};
use urr_wire::status::{EventStatus, InvitationStatus};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::{ApiJson, ApiPath};
use crate::session::{AdminUser, CurrentUser};
use crate::state::AppState;
use crate::validate;

/// Most links one mint makes.
const MAX_COUNT: i64 = 500;
/// The longest a link may work: 90 days.
const MAX_HOURS: i64 = 24 * 90;
/// Priorities are Tier-1 positions; no room hands out more than this.
const MAX_PRIORITY: i64 = 1_000_000_000;
/// Most invitations (and audit lines) one list returns, newest first.
const LIST_LIMIT: i64 = 1_000;

fn view(state: &AppState, invitation: Invitation) -> ApiResult<InvitationView> {
    // The link is shown again only while it works: a used, withdrawn or lapsed link is
    // of no use to copy.
    let token = match invitation.status {
        InvitationStatus::Active => Some(state.keys.issue_invitation(
            invitation.id,
            invitation.event_id,
            invitation.created_at,
            invitation.expires_at,
        )?),
        _ => None,
    };
    let link = token
        .as_deref()
        .map(|t| format!("{}/invite#{t}", state.config.public_url()));
    Ok(InvitationView {
        id: invitation.id,
        event_id: invitation.event_id,
        label: invitation.label,
        priority: invitation.priority,
        status: invitation.status,
        created_at: invitation.created_at,
        expires_at: invitation.expires_at,
        revoked_at: invitation.revoked_at,
        redeemed_at: invitation.redeemed_at,
        redeemed_by: invitation.redeemed_by,
        redeemed_by_email: invitation.redeemed_by_email,
        token,
        link,
    })
}

async fn require_event(state: &AppState, event: Uuid) -> ApiResult<EventStatus> {
    Ok(urr_store::events::get(&state.db, event)
        .await?
        .ok_or_else(|| ApiError::not_found("event"))?
        .event
        .status)
}

#[utoipa::path(
    post,
    operation_id = "invitations_mint",
    path = "/api/v1/admin/events/{id}/invitations",
    tag = "admin",
    summary = "Mint invitation links for an event (admin)",
    params(("id" = Uuid, Path, description = "The event's id")),
    request_body = urr_wire::invitations::MintInvitationsRequest,
    responses(
        (status = 201, description = "The new links", body = urr_wire::invitations::MintedInvitations),
        (status = 400, description = "Invalid input; nothing was minted", body = urr_wire::ErrorBody),
        (status = 401, description = "Not signed in, or the token is invalid or expired", body = urr_wire::ErrorBody),
        (status = 403, description = "Forbidden", body = urr_wire::ErrorBody),
        (status = 404, description = "Not found", body = urr_wire::ErrorBody)
    ),
    security(("bearer" = []), ("accessCookie" = []))
)]
pub async fn mint(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    ApiPath(event): ApiPath<Uuid>,
    ApiJson(body): ApiJson<MintInvitationsRequest>,
) -> ApiResult<(StatusCode, Json<MintedInvitations>)> {
    let new = NewInvitations {
        event_id: event,
        label: validate::text("label", &body.label, 1, 200)?,
        priority: validate::range("priority", body.priority, 0, MAX_PRIORITY)?,
        count: validate::range("count", body.count.unwrap_or(1), 1, MAX_COUNT)? as u32,
        expires_in_hours: validate::range("expiresInHours", body.expires_in_hours, 1, MAX_HOURS)?
            as i32,
        created_by: admin.id,
    };
    let minted = invitations::mint(&state.db, &new)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => ApiError::not_found("event"),
            other => other.into(),
        })?;
    let invitations = minted
        .into_iter()
        .map(|i| view(&state, i))
        .collect::<ApiResult<Vec<_>>>()?;
    Ok((
        StatusCode::CREATED,
        Json(MintedInvitations {
            event_id: event,
            invitations,
        }),
    ))
}

#[utoipa::path(
    get,
    operation_id = "invitations_list",
    path = "/api/v1/admin/events/{id}/invitations",
    tag = "admin",
    summary = "An event's invitations and their counts (admin)",
    params(("id" = Uuid, Path, description = "The event's id")),
    responses(
        (status = 200, description = "The newest 1,000 invitations, and counts over all", body = urr_wire::invitations::InvitationList),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody),
        (status = 401, description = "Not signed in, or the token is invalid or expired", body = urr_wire::ErrorBody),
        (status = 403, description = "Forbidden", body = urr_wire::ErrorBody),
        (status = 404, description = "Not found", body = urr_wire::ErrorBody)
    ),
    security(("bearer" = []), ("accessCookie" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    _admin: AdminUser,
    ApiPath(event): ApiPath<Uuid>,
) -> ApiResult<Json<InvitationList>> {
    require_event(&state, event).await?;
    let counts = invitations::counts(&state.db, event).await?;
    let invitations = invitations::list(&state.db, event, LIST_LIMIT)
        .await?
        .into_iter()
        .map(|i| view(&state, i))
        .collect::<ApiResult<Vec<_>>>()?;
    let n = |v: i64| u64::try_from(v).unwrap_or(0);
    Ok(Json(InvitationList {
        event_id: event,
        counts: InvitationCounts {
            minted: n(counts.minted),
            active: n(counts.active),
            redeemed: n(counts.redeemed),
            revoked: n(counts.revoked),
            expired: n(counts.expired),
        },
        invitations,
    }))
}

/// Withdraws a link that was not used. Revoking a revoked link changes nothing and
/// answers the same; a used one cannot be taken back (409).
#[utoipa::path(
    post,
    operation_id = "invitations_revoke",
    path = "/api/v1/admin/invitations/{id}/revoke",
    tag = "admin",
    summary = "Revoke an invitation link (admin)",
    params(("id" = Uuid, Path, description = "The invitation's id")),
    responses(
        (status = 200, description = "Revoked (now or before)", body = urr_wire::invitations::InvitationView),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody),
        (status = 401, description = "Not signed in, or the token is invalid or expired", body = urr_wire::ErrorBody),
        (status = 403, description = "Forbidden", body = urr_wire::ErrorBody),
        (status = 404, description = "Not found", body = urr_wire::ErrorBody),
        (status = 409, description = "Already used", body = urr_wire::ErrorBody)
    ),
    security(("bearer" = []), ("accessCookie" = []))
)]
pub async fn revoke(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<InvitationView>> {
    match invitations::revoke(&state.db, id, admin.id)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => ApiError::not_found("invitation"),
            other => other.into(),
        })? {
        Revocation::Revoked(i) | Revocation::AlreadyRevoked(i) => Ok(Json(view(&state, i)?)),
        Revocation::Redeemed(_) => Err(ApiError::new(
            ErrorCode::InvitationUsed,
            "this invitation was already used and cannot be revoked",
        )),
    }
}

#[utoipa::path(
    get,
    operation_id = "invitations_audit",
    path = "/api/v1/admin/events/{id}/invitations/audit",
    tag = "admin",
    summary = "An event's invitation audit log (admin)",
    params(("id" = Uuid, Path, description = "The event's id")),
    responses(
        (status = 200, description = "Newest first, at most 1,000 lines", body = urr_wire::invitations::InvitationAudit),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody),
        (status = 401, description = "Not signed in, or the token is invalid or expired", body = urr_wire::ErrorBody),
        (status = 403, description = "Forbidden", body = urr_wire::ErrorBody),
        (status = 404, description = "Not found", body = urr_wire::ErrorBody)
    ),
    security(("bearer" = []), ("accessCookie" = []))
)]
pub async fn audit(
    State(state): State<AppState>,
    _admin: AdminUser,
    ApiPath(event): ApiPath<Uuid>,
) -> ApiResult<Json<InvitationAudit>> {
    require_event(&state, event).await?;
    let entries = invitations::audit(&state.db, event, LIST_LIMIT)
        .await?
        .into_iter()
        .map(|a| InvitationAuditEntry {
            id: a.id,
            invitation_id: a.invitation_id,
            label: a.label,
            action: a.action,
            actor_id: a.actor_id,
            actor_email: a.actor_email,
            detail: a.detail,
            at: a.at,
        })
        .collect();
    Ok(Json(InvitationAudit {
        event_id: event,
        entries,
    }))
}

/// What stops a use before the link is spent: the link stays unused for a later try.
/// Someone already in the line keeps their place (a join never moves anyone), so the
/// link would be wasted on them: they are refused and keep it.
async fn may_use(state: &AppState, event: Uuid, user: &CurrentUser) -> ApiResult<()> {
    let status = require_event(state, event).await?;
    if !matches!(status, EventStatus::OnSale | EventStatus::SoldOut) {
        return Err(ApiError::new(
            ErrorCode::NotOnSale,
            "this event is not on sale now; the invitation is kept for when it is",
        ));
    }
    // An invitation passes the Tier-1 room, not a members-only pre-sale window: holds
    // are gated by the window too, so a place in line would buy nothing.
    crate::presale::admit(state, event, user).await?;
    match state
        .events
        .event(event)
        .status(UserId::from(user.id))
        .await?
    {
        QueueView::Absent { .. } => Ok(()),
        QueueView::Queued { .. } | QueueView::Active { .. } => Err(ApiError::new(
            ErrorCode::AlreadyQueued,
            "you already have a place in this event's queue; the invitation was not used",
        )),
    }
}

fn refused(refusal: Refusal) -> ApiError {
    match refusal {
        Refusal::Used => ApiError::new(
            ErrorCode::InvitationUsed,
            "this invitation was already used",
        ),
        Refusal::Revoked => ApiError::new(
            ErrorCode::InvitationRevoked,
            "this invitation was withdrawn by the organiser",
        ),
        Refusal::Expired => {
            ApiError::new(ErrorCode::InvitationExpired, "this invitation has expired")
        }
    }
}

/// Uses an invitation link: the caller gets the event's Tier-2 queue at the invitation's
/// priority (its Tier-1 token too), and the link is spent. Refused, and audited, when
/// used, revoked or expired; refused before anything is spent when the caller already
/// has a place in the queue or the event is not on sale.
#[utoipa::path(
    post,
    operation_id = "invitations_redeem",
    path = "/api/v1/invitations/redeem",
    tag = "queue",
    summary = "Use an invitation link: join the event's queue at its priority",
    request_body = urr_wire::invitations::RedeemInvitationRequest,
    responses(
        (status = 200, description = "Queued or admitted; the Tier-1 token is also set as the urr-vwr-token cookie, and when admitted the entry token as the urr-entry-token cookie", body = urr_wire::invitations::RedeemedInvitation),
        (status = 400, description = "Not a valid invitation link (`invalid_invitation`), or invalid input", body = urr_wire::ErrorBody),
        (status = 401, description = "Not signed in, or the token is invalid or expired", body = urr_wire::ErrorBody),
        (status = 403, description = "A members-only pre-sale window is open", body = urr_wire::ErrorBody),
        (status = 404, description = "The event is gone", body = urr_wire::ErrorBody),
        (status = 409, description = "Already used (`invitation_used`), the caller is already in the queue (`already_queued`), or the event is not on sale", body = urr_wire::ErrorBody),
        (status = 410, description = "Revoked (`invitation_revoked`) or expired (`invitation_expired`)", body = urr_wire::ErrorBody),
        (status = 503, description = "Unavailable; retry", body = urr_wire::ErrorBody)
    ),
    security(("bearer" = []), ("accessCookie" = []))
)]
pub async fn redeem(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(body): ApiJson<RedeemInvitationRequest>,
) -> ApiResult<Response> {
    let claims = state
        .keys
        .verify_invitation(body.token.trim())
        .map_err(|err| {
            tracing::info!(user = %user.id, %err, "invitation token refused");
            ApiError::new(
                ErrorCode::InvalidInvitation,
                "this invitation link is not valid: it was not issued here, or it was altered",
            )
        })?;
    let id = claims.sub;
    if let Err(err) = may_use(&state, claims.evt, &user).await {
        invitations::refuse(&state.db, id, user.id, &err.message).await?;
        return Err(err);
    }
    let invitation = match invitations::redeem(&state.db, id, user.id).await {
        Ok(Redemption::Redeemed(invitation)) => invitation,
        Ok(Redemption::Refused(refusal)) => return Err(refused(refusal)),
        Err(StoreError::NotFound) => {
            return Err(ApiError::new(
                ErrorCode::InvalidInvitation,
                "this invitation no longer exists",
            ));
        }
        Err(other) => return Err(other.into()),
    };
    let event = invitation.event_id;
    // A Tier-1 position of `priority`: the queue orders by it, then by arrival
    // (crates/actors/src/queue.rs), so priority 0 is the head of the line.
    let position = u64::try_from(invitation.priority).unwrap_or(0);
    let view = match state
        .events
        .event(event)
        .join(UserId::from(user.id), Some(position))
        .await
    {
        Ok(view) => view,
        Err(err) => {
            // The link bought nothing: give it back, so it can be tried again.
            let err = ApiError::from(err);
            invitations::release(&state.db, id, user.id, &err.message).await?;
            return Err(err);
        }
    };
    let queue = super::queue::reply(&state, event, &user, view)?;
    let (tier1_token, _) = state.keys.issue_queue(
        &event.to_string(),
        &user.id.to_string(),
        Tier::One,
        Some(position),
    )?;
    let secure = state.config.secure_cookies;
    let entry = queue
        .entry_token
        .as_deref()
        .map(|token| crate::cookies::entry(token, secure));
    let tier1 = crate::cookies::tier1(&tier1_token, secure);
    let mut response = Json(RedeemedInvitation {
        invitation_id: id,
        event_id: event,
        queue,
        tier1_token,
    })
    .into_response();
    crate::cookies::append(response.headers_mut(), entry.into_iter().chain([tier1]));
    Ok(response)
}
