//! The waiting-room tokens at the edge: the Tier-2 entry token that seat and reservation
//! calls of a queued event require, and the Tier-1 token that gives queue priority.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use serde::Deserialize;
use urr_actors::event::QueueSettings;
use urr_auth::Tier;
use uuid::Uuid;

use crate::cookies;
use crate::error::{ApiError, ErrorCode};
use crate::session::CurrentUser;
use crate::state::AppState;

pub const ENTRY_HEADER: &str = "x-queue-entry-token";
pub const ENTRY_COOKIE: &str = "urr-entry-token";
pub const TIER1_HEADER: &str = "x-vwr-token";
pub const TIER1_COOKIE: &str = "urr-vwr-token";

/// The event's queue settings as stored, else the node's defaults, read afresh: for the
/// operator's reads and changes, which must not build on what a gate keeps.
pub async fn stored_settings(state: &AppState, event: Uuid) -> Result<QueueSettings, ApiError> {
    Ok(urr_store::queue_settings::get(&state.db, event)
        .await?
        .unwrap_or(state.queue_defaults))
}

/// The event's queue settings (stored, else the node's defaults) as the gates read them:
/// kept for a moment (`crate::gate_rules`).
pub async fn settings(state: &AppState, event: Uuid) -> Result<QueueSettings, ApiError> {
    Ok(state
        .gate_rules
        .queue_settings(&state.db, event)
        .await?
        .unwrap_or(state.queue_defaults))
}

fn presented(headers: &HeaderMap, header: &str, cookie: &str) -> Option<String> {
    headers
        .get(header)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| cookies::read(headers, cookie))
}

#[derive(Deserialize)]
struct Target {
    #[serde(rename = "eventId")]
    event_id: Uuid,
}

/// Middleware on the seat and reservation calls: reads the body's `eventId` and lets the
/// request through only past the members-only pre-sale gate and with a valid entry token
/// for it (see [`require_entry`]). A body that does not parse goes on to the handler,
/// which answers with the precise 400.
pub async fn gate(
    State(state): State<AppState>,
    user: CurrentUser,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, state.config.body_limit)
        .await
        .map_err(|_| ApiError::new(ErrorCode::PayloadTooLarge, "request body is too large"))?;
    if let Ok(target) = serde_json::from_slice::<Target>(&bytes) {
        crate::presale::admit(&state, target.event_id, &user).await?;
        require_entry(&state, &parts.headers, target.event_id, &user).await?;
    }
    Ok(next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await)
}

/// The one gate for seat and reservation calls: when the event's queue is on, a valid
/// tier-2 entry token for this user and this event is required. Wrong event, wrong
/// user, wrong tier, expired or forged → 403, and nothing is attempted.
pub async fn require_entry(
    state: &AppState,
    headers: &HeaderMap,
    event: Uuid,
    user: &CurrentUser,
) -> Result<(), ApiError> {
    if !settings(state, event).await?.enabled {
        return Ok(());
    }
    let token = presented(headers, ENTRY_HEADER, ENTRY_COOKIE).ok_or_else(|| {
        ApiError::new(
            ErrorCode::EntryTokenRequired,
            "wait in the queue first: an entry token is required",
        )
    })?;
    state
        .keys
        .verify_queue(&token, Tier::Two, &event.to_string(), &user.id.to_string())
        .map_err(|e| ApiError::new(ErrorCode::Forbidden, format!("entry token refused: {e}")))?;
    Ok(())
}

/// The Tier-1 position from a presented Tier-1 token, which must be valid. Without one,
/// the caller may pass only when the event's Tier-1 room is known to be inactive: a room
/// that cannot be read refuses with a retryable 503 rather than letting anyone around it.
pub async fn tier1_position(
    state: &AppState,
    headers: &HeaderMap,
    event: Uuid,
    user: &CurrentUser,
) -> Result<Option<u64>, ApiError> {
    let Some(token) = presented(headers, TIER1_HEADER, TIER1_COOKIE) else {
        if state.tier1_active(event).await? {
            return Err(ApiError::new(
                ErrorCode::Tier1TokenRequired,
                "this event's waiting room is open: pass through it first",
            ));
        }
        return Ok(None);
    };
    let claims = state
        .keys
        .verify_queue(&token, Tier::One, &event.to_string(), &user.id.to_string())
        .map_err(|e| ApiError::new(ErrorCode::Forbidden, format!("tier-1 token refused: {e}")))?;
    Ok(claims.pos)
}
