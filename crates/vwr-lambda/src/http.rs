//! The waiting room over HTTP (SPEC 2.1): the public status, assign and check calls, the
//! published shuffle, and the operator routes. Every failure, including extractor
//! rejections and unknown routes, answers `{error: {code, message}}`.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use uuid::Uuid;

use crate::VwrError;
use crate::domain::ids::{EventId, valid_user_id};
use crate::error::ErrorCode;
use crate::operator;
use crate::request::{event_id, json_body};
use crate::store::VwrStore;
use crate::waiting_room::{Assignment, CheckReply, ShuffleAudit, Status, WaitingRoom};

/// Bodies here are a user id or a few settings; anything bigger is not one of ours.
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

fn user_id(raw: Option<String>) -> Result<String, VwrError> {
    match raw {
        Some(id) if valid_user_id(&id) => Ok(id),
        Some(_) => Err(VwrError::invalid(
            "userId must be 1 to 128 printable characters without spaces",
        )),
        None => Err(VwrError::invalid("userId is required")),
    }
}

async fn status<S: VwrStore>(
    State(api): State<Api<S>>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Status>, VwrError> {
    let event = event_id(path)?;
    Ok(Json(api.room.status(&event).await?))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AssignBody {
    user_id: Option<String>,
}

async fn assign<S: VwrStore>(
    State(api): State<Api<S>>,
    path: Result<Path<String>, PathRejection>,
    body: Result<Json<AssignBody>, JsonRejection>,
) -> Result<Json<Assignment>, VwrError> {
    let event = event_id(path)?;
    let user = user_id(json_body(body)?.user_id)?;
    Ok(Json(api.room.assign(&event, &user).await?))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CheckQuery {
    user_id: Option<String>,
}

async fn check<S: VwrStore>(
    State(api): State<Api<S>>,
    path: Result<Path<(String, String)>, PathRejection>,
    query: Result<Query<CheckQuery>, QueryRejection>,
) -> Result<Json<CheckReply>, VwrError> {
    let Path((raw_event, raw_request)) = path.map_err(|e| VwrError::invalid(e.body_text()))?;
    let event = EventId::parse(&raw_event)
        .ok_or_else(|| VwrError::invalid("eventId must be a UUID or a positive number"))?;
    let request_id =
        Uuid::parse_str(&raw_request).map_err(|_| VwrError::invalid("requestId must be a UUID"))?;
    let Query(query) = query.map_err(|e| VwrError::invalid(e.body_text()))?;
    let user = user_id(query.user_id)?;
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
