//! The waiting room over HTTP (`docs/architecture.md#tier-1-and-tier-2`): the public
//! status, the signed-in assign and check calls, the published shuffle, and the operator routes. Every failure, including
//! extractor rejections and unknown routes, answers `{error: {code, message}}`.

use axum::extract::rejection::PathRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Json, Router};
use uuid::Uuid;

use crate::VwrError;
use crate::domain::ids::EventId;
use crate::error::ErrorCode;
use crate::identity::signed_in;
use crate::operator;
use crate::request::event_id;
use crate::store::VwrStore;
use crate::waiting_room::{Assignment, CheckReply, ShuffleAudit, Status, WaitingRoom};

/// Bodies here are a few operator settings; anything bigger is not one of ours.
const BODY_LIMIT: usize = 16 * 1024;

struct Api<S> {
    room: WaitingRoom<S>,
}

impl<S: Clone> Clone for Api<S> {
    fn clone(&self) -> Self {
        Self {
            room: self.room.clone(),
        }
    }
}

/// The waiting room's routes, to serve at the root (Lambda) or nest under `/vwr-api`.
pub fn router<S: VwrStore>(room: WaitingRoom<S>, admin_key: Option<String>) -> Router {
    let operator = operator::router(room.clone(), admin_key);
    Router::new()
        .route("/vwr/status/{event_id}", get(status::<S>))
        .route("/vwr/assign/{event_id}", post(assign::<S>))
        .route("/vwr/check/{event_id}/{request_id}", get(check::<S>))
        .route("/vwr/shuffle/{event_id}", get(shuffle::<S>))
        .with_state(Api { room })
        .merge(operator)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
}

async fn status<S: VwrStore>(
    State(api): State<Api<S>>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Status>, VwrError> {
    let event = event_id(path)?;
    Ok(Json(api.room.status(&event).await?))
}

/// Takes the caller's one place in the room. The user is the access token's; a body (old
/// clients sent `{userId}`) is not read.
async fn assign<S: VwrStore>(
    State(api): State<Api<S>>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Result<Json<Assignment>, VwrError> {
    let event = event_id(path)?;
    let user = signed_in(api.room.keys(), &headers)?;
    Ok(Json(api.room.assign(&event, &user).await?))
}

/// The caller's place: only the user it was assigned to may check it (a `userId` query
/// parameter, which old clients send, is not read).
async fn check<S: VwrStore>(
    State(api): State<Api<S>>,
    path: Result<Path<(String, String)>, PathRejection>,
    headers: HeaderMap,
) -> Result<Json<CheckReply>, VwrError> {
    let Path((raw_event, raw_request)) = path.map_err(|e| VwrError::invalid(e.body_text()))?;
    let event = EventId::parse(&raw_event)
        .ok_or_else(|| VwrError::invalid("eventId must be a UUID or a positive number"))?;
    let request_id =
        Uuid::parse_str(&raw_request).map_err(|_| VwrError::invalid("requestId must be a UUID"))?;
    let user = signed_in(api.room.keys(), &headers)?;
    Ok(Json(api.room.check(&event, request_id, &user).await?))
}

async fn shuffle<S: VwrStore>(
    State(api): State<Api<S>>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<ShuffleAudit>, VwrError> {
    let event = event_id(path)?;
    Ok(Json(api.room.shuffle_audit(&event).await?))
}

async fn not_found() -> VwrError {
    VwrError::NotFound("route")
}

async fn method_not_allowed() -> VwrError {
    VwrError::Body {
        code: ErrorCode::MethodNotAllowed,
        message: "method not allowed on this route".into(),
    }
}
