//! Operator routes: open and close a room, pause, hold everyone, schedule a pre-queue,
//! publish its seed. Callers prove they are operators with the shared admin key or an
//! admin access token.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use urr_auth::{Role, TokenKeys};

use crate::VwrError;
use crate::domain::room::Schedule;
use crate::error::ErrorCode;
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
        if let (Some(expected), Some(given)) = (&self.admin_key, headers.get(ADMIN_KEY_HEADER)) {
            if constant_time_eq(expected.as_bytes(), given.as_bytes()) {
                return Ok(());
            }
            return Err(VwrError::Unauthorized);
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
pub(crate) fn router<S: VwrStore>(room: WaitingRoom<S>, admin_key: Option<String>) -> Router {
    let auth = OperatorAuth::new(admin_key, room.keys().clone());
    Router::new()
        .route("/vwr/admin/rooms/{event_id}", get(view::<S>))
        .route("/vwr/admin/rooms/{event_id}/open", post(open::<S>))
        .route(
            "/vwr/admin/rooms/{event_id}/close",
            post(simple::<S, Close>),
        )
        .route(
            "/vwr/admin/rooms/{event_id}/pause",
            post(simple::<S, Pause>),
        )
        .route(
            "/vwr/admin/rooms/{event_id}/resume",
            post(simple::<S, Resume>),
        )
        .route(
            "/vwr/admin/rooms/{event_id}/hold",
            post(simple::<S, HoldOn>),
        )
        .route(
            "/vwr/admin/rooms/{event_id}/release",
            post(simple::<S, HoldOff>),
        )
        .route("/vwr/admin/rooms/{event_id}/schedule", post(schedule::<S>))
        .route(
            "/vwr/admin/rooms/{event_id}/publish-seed",
            post(simple::<S, PublishSeed>),
        )
        .with_state(Api { room, auth })
}

/// A body-less operator change, named by type so each route is one line above.
trait SimpleChange {
    const CHANGE: RoomChange;
}
struct Close;
struct Pause;
struct Resume;
struct HoldOn;
struct HoldOff;
struct PublishSeed;
impl SimpleChange for Close {
    const CHANGE: RoomChange = RoomChange::Close;
}
impl SimpleChange for Pause {
    const CHANGE: RoomChange = RoomChange::Pause(true);
}
impl SimpleChange for Resume {
    const CHANGE: RoomChange = RoomChange::Pause(false);
}
impl SimpleChange for HoldOn {
    const CHANGE: RoomChange = RoomChange::Hold(true);
}
impl SimpleChange for HoldOff {
    const CHANGE: RoomChange = RoomChange::Hold(false);
}
impl SimpleChange for PublishSeed {
    const CHANGE: RoomChange = RoomChange::PublishSeed;
}

async fn view<S: VwrStore>(
    State(api): State<Api<S>>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<RoomView>, VwrError> {
    api.auth.authorize(&headers)?;
    let event = event_id(path)?;
    Ok(Json(api.room.view(&event).await?))
}

async fn simple<S: VwrStore, C: SimpleChange>(
    State(api): State<Api<S>>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<RoomView>, VwrError> {
    api.auth.authorize(&headers)?;
    let event = event_id(path)?;
    Ok(Json(api.room.change(&event, C::CHANGE).await?))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct OpenBody {
    batch: Option<u64>,
    interval_secs: Option<u64>,
    claim_window_secs: Option<u64>,
}

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
    };
    Ok(Json(api.room.change(&event, change).await?))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ScheduleBody {
    pre_queue_opens_at: DateTime<Utc>,
    sale_opens_at: DateTime<Utc>,
}

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
