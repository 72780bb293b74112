//! The waiting room over HTTP (`docs/architecture.md#tier-1-and-tier-2`): the public
//! status, the signed-in challenge, assign and check calls, the published shuffle, and the operator routes. Every failure, including
//! extractor rejections and unknown routes, answers `{error: {code, message}}`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::HeaderMap;
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::openapi::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use uuid::Uuid;

use crate::VwrError;
use crate::address::Origin;
use crate::domain::ids::EventId;
use crate::error::ErrorCode;
use crate::gate::{ChallengeReply, JoinProof};
use crate::identity::{signed_in, verified};
use crate::openapi::{ErrorBody, route};
use crate::operator;
use crate::request::event_id;
use crate::store::VwrStore;
use crate::waiting_room::{Assignment, CheckReply, ShuffleAudit, Status, WaitingRoom};

/// Bodies here are a few operator settings; anything bigger is not one of ours.
const BODY_LIMIT: usize = 16 * 1024;

/// The routes' state. axum clones it for every request, so the room sits behind an
/// `Arc`: one count, where a clone of the room copies its keys and store handles.
struct Api<S> {
    room: Arc<WaitingRoom<S>>,
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
    documented_router(room, admin_key).0
}

/// The routes with their OpenAPI document (paths relative to where they are served).
pub fn documented_router<S: VwrStore>(
    room: WaitingRoom<S>,
    admin_key: Option<String>,
) -> (Router, OpenApi) {
    let operator = operator::router(room.clone(), admin_key);
    let (router, api) = OpenApiRouter::new()
        .routes(route::<__path_status, _, _, _>(status::<S>))
        .routes(route::<__path_challenge, _, _, _>(challenge::<S>))
        .routes(route::<__path_assign, _, _, _>(assign::<S>))
        .routes(route::<__path_check, _, _, _>(check::<S>))
        .routes(route::<__path_shuffle, _, _, _>(shuffle::<S>))
        .with_state(Api {
            room: Arc::new(room),
        })
        .merge(operator)
        .split_for_parts();
    let router = router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT));
    (router, api)
}

#[utoipa::path(
    get,
    operation_id = "tier1_status",
    path = "/vwr/status/{event_id}",
    tag = "tier1",
    summary = "Whether an event's waiting room is active, and its counters",
    params(crate::openapi::EventIdParam),
    responses(
        (status = 200, description = "OK", body = Status),
        (status = 400, description = "Invalid input", body = ErrorBody),
        (status = 503, description = "The store is unavailable; retry", body = ErrorBody)
    )
)]
async fn status<S: VwrStore>(
    State(api): State<Api<S>>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Status>, VwrError> {
    let event = event_id(path)?;
    Ok(Json(api.room.status(&event).await?))
}

/// A proof-of-work challenge for the caller (`docs/architecture.md#bot-defence-at-tier-1`).
#[utoipa::path(
    get,
    operation_id = "tier1_challenge",
    path = "/vwr/challenge/{event_id}",
    tag = "tier1",
    summary = "A proof-of-work challenge for the caller's join, and whether it needs a CAPTCHA",
    params(crate::openapi::EventIdParam),
    responses(
        (status = 200, description = "OK", body = ChallengeReply),
        (status = 400, description = "Invalid input", body = ErrorBody),
        (status = 401, description = "Not signed in, or the token is invalid or expired", body = ErrorBody),
        (status = 404, description = "The room is not active (`vwr_inactive`)", body = ErrorBody),
        (status = 503, description = "The store is unavailable; retry", body = ErrorBody)
    ),
    security(("bearer" = []), ("accessCookie" = []))
)]
async fn challenge<S: VwrStore>(
    State(api): State<Api<S>>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Result<Json<ChallengeReply>, VwrError> {
    let event = event_id(path)?;
    let user = signed_in(api.room.keys(), &headers)?;
    Ok(Json(api.room.challenge(&event, &user).await?))
}

/// What a join may bring: the solved challenge and the CAPTCHA token its room asks for.
/// Other fields (old clients sent `{userId}`) are ignored: the user is the access token's.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct AssignBody {
    /// The `challenge` from `/vwr/challenge/{eventId}`, as given.
    challenge: Option<String>,
    /// A counter solving it.
    counter: Option<u64>,
    /// The CAPTCHA provider's token.
    captcha_token: Option<String>,
}

/// Takes the caller's one place in the room. The user is the access token's.
#[utoipa::path(
    post,
    operation_id = "tier1_assign",
    path = "/vwr/assign/{event_id}",
    tag = "tier1",
    summary = "Take the caller's one place in the room (the same place when asked again)",
    params(crate::openapi::EventIdParam),
    request_body(content = Option<AssignBody>, content_type = "application/json", description = "Needed only when the room asks for a proof of work or a CAPTCHA"),
    responses(
        (status = 200, description = "OK", body = Assignment),
        (status = 400, description = "Invalid input, or the proof of work or CAPTCHA token the room asks for is missing (`challenge_required`, `captcha_required`)", body = ErrorBody),
        (status = 401, description = "Not signed in, or the token is invalid or expired", body = ErrorBody),
        (status = 403, description = "The proof of work or CAPTCHA was refused (`challenge_invalid`, `challenge_expired`, `challenge_unsolved`, `captcha_failed`)", body = ErrorBody),
        (status = 404, description = "Not found", body = ErrorBody),
        (status = 409, description = "Conflict, or the challenge was already used (`challenge_used`)", body = ErrorBody),
        (status = 413, description = "Payload too large", body = ErrorBody),
        (status = 429, description = "Past the room's join limit per address or account (`too_many_joins`); see Retry-After", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds until the limit's window ends"))),
        (status = 503, description = "The store or the CAPTCHA verifier is unavailable; retry", body = ErrorBody)
    ),
    security(("bearer" = []), ("accessCookie" = []))
)]
async fn assign<S: VwrStore>(
    State(api): State<Api<S>>,
    path: Result<Path<String>, PathRejection>,
    origin: Origin,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Assignment>, VwrError> {
    let event = event_id(path)?;
    let user = verified(api.room.keys(), origin.access.as_deref())?;
    let body = body.map_err(|e| VwrError::Body {
        code: ErrorCode::PayloadTooLarge,
        message: e.body_text(),
    })?;
    // Old clients send `{userId}` or nothing: an empty body, `null` or an object with
    // fields of its own is no proof, and a room that wants one says so. Anything else is
    // not the body this call takes.
    let body: AssignBody = if body.iter().all(u8::is_ascii_whitespace) {
        AssignBody::default()
    } else {
        match serde_json::from_slice::<serde_json::Value>(&body) {
            Ok(serde_json::Value::Null) => AssignBody::default(),
            Ok(value @ serde_json::Value::Object(_)) => serde_json::from_value(value)
                .map_err(|e| VwrError::invalid(format!("the assign body: {e}")))?,
            Ok(_) => return Err(VwrError::invalid("the assign body must be a JSON object")),
            Err(_) => return Err(VwrError::invalid("the assign body is not JSON")),
        }
    };
    let proof = JoinProof {
        challenge: body.challenge,
        counter: body.counter,
        captcha_token: body.captcha_token,
        address: origin.client(&api.room.defence().trusted_proxies),
    };
    Ok(Json(api.room.assign_with(&event, &user, &proof).await?))
}

/// The caller's place: only the user it was assigned to may check it (a `userId` query
/// parameter, which old clients send, is not read).
#[utoipa::path(
    get,
    operation_id = "tier1_check",
    path = "/vwr/check/{event_id}/{request_id}",
    tag = "tier1",
    summary = "The caller's place; a Tier-1 token once admitted",
    params(("event_id" = String, Path, pattern = r"^(\{?[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}\}?|urn:uuid:[0-9a-fA-F-]{36}|[0-9]{1,19})$", description = "The event's id (a UUID, or a positive number)"), ("request_id" = Uuid, Path, description = "The requestId assign gave")),
    responses(
        (status = 200, description = "OK", body = CheckReply),
        (status = 400, description = "Invalid input", body = ErrorBody),
        (status = 401, description = "Not signed in, or the token is invalid or expired", body = ErrorBody),
        (status = 403, description = "Forbidden", body = ErrorBody),
        (status = 404, description = "Not found", body = ErrorBody),
        (status = 503, description = "The store is unavailable; retry", body = ErrorBody)
    ),
    security(("bearer" = []), ("accessCookie" = []))
)]
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

#[utoipa::path(
    get,
    operation_id = "tier1_shuffle",
    path = "/vwr/shuffle/{event_id}",
    tag = "tier1",
    summary = "The published draw of an event's pre-queue",
    params(crate::openapi::EventIdParam),
    responses(
        (status = 200, description = "OK", body = ShuffleAudit),
        (status = 400, description = "Invalid input", body = ErrorBody),
        (status = 404, description = "Not found", body = ErrorBody),
        (status = 503, description = "The store is unavailable; retry", body = ErrorBody)
    )
)]
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
