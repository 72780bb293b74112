//! Operator routes: open and close a room (and set its bot defence), pause, hold
//! everyone, schedule a pre-queue, publish its seed. Callers prove they are operators with the shared admin key or an
//! admin access token.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use urr_auth::{Role, TokenKeys};
use utoipa_axum::router::OpenApiRouter;

use crate::VwrError;
use crate::domain::defence::DefenceChange;
use crate::domain::room::Schedule;
use crate::error::ErrorCode;
use crate::openapi::{ErrorBody, route};
use crate::request::{event_id, json_body};
use crate::store::VwrStore;
use crate::waiting_room::{RoomChange, RoomView, WaitingRoom};

pub const ADMIN_KEY_HEADER: &str = "x-vwr-admin-key";

#[derive(Clone)]
struct OperatorAuth {
    admin_key: Option<String>,
    keys: TokenKeys,
}

impl OperatorAuth {
    pub fn new(admin_key: Option<String>, keys: TokenKeys) -> Self {
        // An empty key would let an empty header in.
        let admin_key = admin_key.filter(|k| !k.is_empty());
        Self { admin_key, keys }
    }

    fn authorize(&self, headers: &HeaderMap) -> Result<(), VwrError> {
        // A key that is presented is checked, even beside a valid token: a wrong key (or
        // one sent to a node that takes none) is refused, not silently passed over.
        if let Some(given) = headers.get(ADMIN_KEY_HEADER) {
            return match &self.admin_key {
                Some(expected) if constant_time_eq(expected.as_bytes(), given.as_bytes()) => Ok(()),
                _ => Err(VwrError::Unauthorized),
            };
        }
        let bearer = headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let Some(token) = bearer else {
            return Err(VwrError::Unauthorized);
        };
        let claims = self
            .keys
            .verify_access(token.trim())
            .map_err(|_| VwrError::Unauthorized)?;
        if claims.role != Role::Admin {
            return Err(VwrError::Forbidden(
                "operator calls need the admin role".into(),
            ));
        }
        Ok(())
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// What the operator routes share: the room and who may change it.
struct Api<S> {
    room: WaitingRoom<S>,
    auth: OperatorAuth,
}

impl<S: Clone> Clone for Api<S> {
    fn clone(&self) -> Self {
        Self {
            room: self.room.clone(),
            auth: self.auth.clone(),
        }
    }
}

/// The operator routes, merged into the room's router by `http::router`.
pub(crate) fn router<S: VwrStore>(
    room: WaitingRoom<S>,
    admin_key: Option<String>,
) -> OpenApiRouter {
    let auth = OperatorAuth::new(admin_key, room.keys().clone());
    OpenApiRouter::new()
        .routes(route::<__path_view, _, _, _>(view::<S>))
        .routes(route::<__path_open, _, _, _>(open::<S>))
        .routes(route::<__path_close, _, _, _>(close::<S>))
        .routes(route::<__path_pause, _, _, _>(pause::<S>))
        .routes(route::<__path_resume, _, _, _>(resume::<S>))
        .routes(route::<__path_hold, _, _, _>(hold::<S>))
        .routes(route::<__path_release, _, _, _>(release::<S>))
        .routes(route::<__path_schedule, _, _, _>(schedule::<S>))
        .routes(route::<__path_publish_seed, _, _, _>(publish_seed::<S>))
        .with_state(Api { room, auth })
}

type EventPath = Result<Path<String>, PathRejection>;

#[utoipa::path(
    post,
    operation_id = "tier1_operator_close",
    path = "/vwr/admin/rooms/{event_id}/close",
    tag = "tier1",
    summary = "Close the room",
    params(crate::openapi::EventIdParam),
    responses(
        (status = 200, description = "The room after the change", body = RoomView),
        (status = 400, description = "Invalid input", body = ErrorBody),
        (status = 401, description = "Operator credentials required", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 503, description = "The store is unavailable; retry", body = ErrorBody)
    ),
    security(("vwrAdminKey" = []), ("bearer" = []))
)]
async fn close<S: VwrStore>(
    api: State<Api<S>>,
    headers: HeaderMap,
    path: EventPath,
) -> Result<Json<RoomView>, VwrError> {
    change(api, headers, path, RoomChange::Close).await
}

#[utoipa::path(
    post,
    operation_id = "tier1_operator_pause",
    path = "/vwr/admin/rooms/{event_id}/pause",
    tag = "tier1",
    summary = "Pause admissions",
    params(crate::openapi::EventIdParam),
    responses(
        (status = 200, description = "The room after the change", body = RoomView),
        (status = 400, description = "Invalid input", body = ErrorBody),
        (status = 401, description = "Operator credentials required", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 503, description = "The store is unavailable; retry", body = ErrorBody)
    ),
    security(("vwrAdminKey" = []), ("bearer" = []))
)]
async fn pause<S: VwrStore>(
    api: State<Api<S>>,
    headers: HeaderMap,
    path: EventPath,
) -> Result<Json<RoomView>, VwrError> {
    change(api, headers, path, RoomChange::Pause(true)).await
}

#[utoipa::path(
    post,
    operation_id = "tier1_operator_resume",
    path = "/vwr/admin/rooms/{event_id}/resume",
    tag = "tier1",
    summary = "Resume admissions",
    params(crate::openapi::EventIdParam),
    responses(
        (status = 200, description = "The room after the change", body = RoomView),
        (status = 400, description = "Invalid input", body = ErrorBody),
        (status = 401, description = "Operator credentials required", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 503, description = "The store is unavailable; retry", body = ErrorBody)
    ),
    security(("vwrAdminKey" = []), ("bearer" = []))
)]
async fn resume<S: VwrStore>(
    api: State<Api<S>>,
    headers: HeaderMap,
    path: EventPath,
) -> Result<Json<RoomView>, VwrError> {
    change(api, headers, path, RoomChange::Pause(false)).await
}

#[utoipa::path(
    post,
    operation_id = "tier1_operator_hold",
    path = "/vwr/admin/rooms/{event_id}/hold",
    tag = "tier1",
    summary = "Hold everyone in the room",
    params(crate::openapi::EventIdParam),
    responses(
        (status = 200, description = "The room after the change", body = RoomView),
        (status = 400, description = "Invalid input", body = ErrorBody),
        (status = 401, description = "Operator credentials required", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 503, description = "The store is unavailable; retry", body = ErrorBody)
    ),
    security(("vwrAdminKey" = []), ("bearer" = []))
)]
async fn hold<S: VwrStore>(
    api: State<Api<S>>,
    headers: HeaderMap,
    path: EventPath,
) -> Result<Json<RoomView>, VwrError> {
    change(api, headers, path, RoomChange::Hold(true)).await
}

#[utoipa::path(
    post,
    operation_id = "tier1_operator_release",
    path = "/vwr/admin/rooms/{event_id}/release",
    tag = "tier1",
    summary = "Release the hold",
    params(crate::openapi::EventIdParam),
    responses(
        (status = 200, description = "The room after the change", body = RoomView),
        (status = 400, description = "Invalid input", body = ErrorBody),
        (status = 401, description = "Operator credentials required", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 503, description = "The store is unavailable; retry", body = ErrorBody)
    ),
    security(("vwrAdminKey" = []), ("bearer" = []))
)]
async fn release<S: VwrStore>(
    api: State<Api<S>>,
    headers: HeaderMap,
    path: EventPath,
) -> Result<Json<RoomView>, VwrError> {
    change(api, headers, path, RoomChange::Hold(false)).await
}

#[utoipa::path(
    post,
    operation_id = "tier1_operator_publish_seed",
    path = "/vwr/admin/rooms/{event_id}/publish-seed",
    tag = "tier1",
    summary = "Publish the pre-queue's shuffle seed",
    params(crate::openapi::EventIdParam),
    responses(
        (status = 200, description = "The room after the change", body = RoomView),
        (status = 400, description = "Invalid input", body = ErrorBody),
        (status = 401, description = "Operator credentials required", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 503, description = "The store is unavailable; retry", body = ErrorBody)
    ),
    security(("vwrAdminKey" = []), ("bearer" = []))
)]
async fn publish_seed<S: VwrStore>(
    api: State<Api<S>>,
    headers: HeaderMap,
    path: EventPath,
) -> Result<Json<RoomView>, VwrError> {
    change(api, headers, path, RoomChange::PublishSeed).await
}

#[utoipa::path(
    get,
    operation_id = "tier1_operator_view",
    path = "/vwr/admin/rooms/{event_id}",
    tag = "tier1",
    summary = "An event's room as operators see it",
    params(crate::openapi::EventIdParam),
    responses(
        (status = 200, description = "The room after the change", body = RoomView),
        (status = 400, description = "Invalid input", body = ErrorBody),
        (status = 401, description = "Operator credentials required", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 503, description = "The store is unavailable; retry", body = ErrorBody)
    ),
    security(("vwrAdminKey" = []), ("bearer" = []))
)]
async fn view<S: VwrStore>(
    State(api): State<Api<S>>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<RoomView>, VwrError> {
    api.auth.authorize(&headers)?;
    let event = event_id(path)?;
    Ok(Json(api.room.view(&event).await?))
}

/// A body-less operator change.
async fn change<S: VwrStore>(
    State(api): State<Api<S>>,
    headers: HeaderMap,
    path: EventPath,
    change: RoomChange,
) -> Result<Json<RoomView>, VwrError> {
    api.auth.authorize(&headers)?;
    let event = event_id(path)?;
    Ok(Json(api.room.change(&event, change).await?))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct OpenBody {
    batch: Option<u64>,
    interval_secs: Option<u64>,
    claim_window_secs: Option<u64>,
    /// Leading zero bits of the proof of work a new place needs (0: none; at most 28).
    #[schema(maximum = 28)]
    pow_difficulty: Option<u8>,
    /// A new place needs a CAPTCHA token (the node must have a verifier).
    captcha: Option<bool>,
    /// Join attempts per minute per source address (0: unlimited).
    joins_per_address_per_min: Option<u32>,
    /// Join attempts per minute per account (0: unlimited).
    joins_per_account_per_min: Option<u32>,
}

#[utoipa::path(
    post,
    operation_id = "tier1_operator_open",
    path = "/vwr/admin/rooms/{event_id}/open",
    tag = "tier1",
    summary = "Open the room, or change an open room's settings (no body: the defaults)",
    params(crate::openapi::EventIdParam),
    request_body(content = Option<OpenBody>, content_type = "application/json"),
    responses(
        (status = 200, description = "The room after the change", body = RoomView),
        (status = 400, description = "Invalid input", body = ErrorBody),
        (status = 401, description = "Operator credentials required", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 503, description = "The store is unavailable; retry", body = ErrorBody)
    ),
    security(("vwrAdminKey" = []), ("bearer" = []))
)]
async fn open<S: VwrStore>(
    State(api): State<Api<S>>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<RoomView>, VwrError> {
    api.auth.authorize(&headers)?;
    let event = event_id(path)?;
    // No body at all means "open with the defaults".
    let body = body.map_err(|e| VwrError::Body {
        code: ErrorCode::PayloadTooLarge,
        message: e.body_text(),
    })?;
    let body: OpenBody = if body.iter().all(u8::is_ascii_whitespace) {
        OpenBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| VwrError::Body {
            code: ErrorCode::InvalidJson,
            message: format!("invalid JSON body: {e}"),
        })?
    };
    let change = RoomChange::Open {
        batch: body.batch,
        interval_secs: body.interval_secs,
        claim_window_secs: body.claim_window_secs,
        defence: DefenceChange {
            pow_difficulty: body.pow_difficulty,
            captcha: body.captcha,
            joins_per_address_per_min: body.joins_per_address_per_min,
            joins_per_account_per_min: body.joins_per_account_per_min,
        },
    };
    Ok(Json(api.room.change(&event, change).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ScheduleBody {
    pre_queue_opens_at: DateTime<Utc>,
    sale_opens_at: DateTime<Utc>,
}

#[utoipa::path(
    post,
    operation_id = "tier1_operator_schedule",
    path = "/vwr/admin/rooms/{event_id}/schedule",
    tag = "tier1",
    summary = "Schedule a pre-queue and the sale opening",
    params(crate::openapi::EventIdParam),
    request_body = ScheduleBody,
    responses(
        (status = 200, description = "The room after the change", body = RoomView),
        (status = 400, description = "Invalid input", body = ErrorBody),
        (status = 401, description = "Operator credentials required", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 503, description = "The store is unavailable; retry", body = ErrorBody)
    ),
    security(("vwrAdminKey" = []), ("bearer" = []))
)]
async fn schedule<S: VwrStore>(
    State(api): State<Api<S>>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    body: Result<Json<ScheduleBody>, JsonRejection>,
) -> Result<Json<RoomView>, VwrError> {
    api.auth.authorize(&headers)?;
    let event = event_id(path)?;
    let body = json_body(body)?;
    let change = RoomChange::Schedule(Schedule {
        pre_queue_opens_at: body.pre_queue_opens_at,
        sale_opens_at: body.sale_opens_at,
    });
    Ok(Json(api.room.change(&event, change).await?))
}
