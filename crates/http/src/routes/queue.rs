//! The Tier-2 queue: check (join), status, heartbeat, leave, and a stream of position
//! changes and the admission itself.

use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::Stream;
use tokio::sync::broadcast::error::RecvError;
use urr_actors::event::QueueView;
use urr_actors::ids::UserId;
use urr_auth::Tier;
use urr_wire::queue::{LeaveReply, QueueReply};
use urr_wire::status::QueueStatus;
use uuid::Uuid;

use crate::entry;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiPath;
use crate::session::CurrentUser;
use crate::state::AppState;

/// Seconds a client should wait before polling again (docs/architecture.md#tier-1-and-tier-2): 1 s near the head,
/// 5 s within 5,000, rising to 60 s at 100,000 and beyond.
pub fn next_poll_secs(people_ahead: u64) -> u64 {
    match people_ahead {
        0..=1_000 => 1,
        1_001..=5_000 => 5,
        5_001..=100_000 => 5 + (people_ahead - 5_000) * 55 / 95_000,
        _ => 60,
    }
}

pub(crate) fn reply(
    state: &AppState,
    event: Uuid,
    user: &CurrentUser,
    view: QueueView,
) -> ApiResult<QueueReply> {
    let sold_out = view.sold_out();
    Ok(match view {
        QueueView::Active { .. } => {
            let (token, _) = state.keys.issue_queue(
                &event.to_string(),
                &user.id.to_string(),
                Tier::Two,
                None,
            )?;
            QueueReply {
                event_id: event,
                queued: false,
                status: QueueStatus::Active,
                position: None,
                people_ahead: Some(0),
                people_behind: None,
                estimated_wait: Some(0),
                next_poll: 1,
                sold_out,
                entry_token: Some(token),
            }
        }
        QueueView::Queued {
            position,
            people_ahead,
            people_behind,
            estimated_wait,
            heartbeat_within,
            ..
        } => QueueReply {
            event_id: event,
            queued: true,
            status: QueueStatus::Queued,
            position: Some(position),
            people_ahead: Some(people_ahead),
            people_behind: Some(people_behind),
            estimated_wait: Some(estimated_wait.as_secs()),
            // Far back, polls thin out, but always to well within the queue's
            // patience: a client that polls as told is never dropped.
            next_poll: next_poll_secs(people_ahead).min((heartbeat_within.as_secs() / 3).max(1)),
            sold_out,
            entry_token: None,
        },
        QueueView::Absent { .. } => QueueReply {
            event_id: event,
            queued: false,
            status: QueueStatus::Absent,
            position: None,
            people_ahead: None,
            people_behind: None,
            estimated_wait: None,
            next_poll: 5,
            sold_out,
            entry_token: None,
        },
    })
}

/// The JSON reply, and the entry token as a cookie too when admitted.
fn respond(state: &AppState, body: QueueReply) -> Response {
    let cookie = body
        .entry_token
        .as_deref()
        .map(|token| crate::cookies::entry(token, state.config.secure_cookies));
    let mut response = Json(body).into_response();
    if let Some(value) = cookie {
        response
            .headers_mut()
            .append(axum::http::header::SET_COOKIE, value);
    }
    response
}

/// Joins the queue (idempotent: one place per user), or is admitted at once when there
/// is room and nobody waits. With the event's Tier-1 room active, a Tier-1 token is
/// required and its position, not any query parameter, is the priority. During a
/// members-only pre-sale window, only members of its tier may check in.
#[utoipa::path(
    post,
    operation_id = "queue_check",
    path = "/api/v1/queue/check/{event_id}",
    tag = "queue",
    summary = "Join an event's queue, or be admitted at once",
    params(("event_id" = Uuid, Path, description = "The event's id"), ("x-vwr-token" = Option<String>, Header, description = "A Tier-1 token: queue priority by its position (or the urr-vwr-token cookie); required while the event's Tier-1 room is active")),
    responses(
        (status = 200, description = "Queued or admitted; when admitted the entry token is also set as the urr-entry-token cookie", body = urr_wire::queue::QueueReply),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody),
        (status = 401, description = "Not signed in, or the token is invalid or expired", body = urr_wire::ErrorBody),
        (status = 403, description = "Forbidden", body = urr_wire::ErrorBody),
        (status = 404, description = "Not found", body = urr_wire::ErrorBody),
        (status = 409, description = "Conflict", body = urr_wire::ErrorBody),
        (status = 503, description = "Unavailable; retry", body = urr_wire::ErrorBody)
    ),
    security(("bearer" = []), ("accessCookie" = []))
)]
pub async fn check(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(event): ApiPath<Uuid>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    crate::presale::admit(&state, event, &user).await?;
    let tier1_pos = entry::tier1_position(&state, &headers, event, &user).await?;
    let view = state
        .events
        .event(event)
        .join(UserId::from(user.id), tier1_pos)
        .await?;
    Ok(respond(&state, reply(&state, event, &user, view)?))
}

/// The same as `status`, as a `POST` for clients that keep their place explicitly.
#[utoipa::path(
    post,
    operation_id = "queue_heartbeat",
    path = "/api/v1/queue/heartbeat/{event_id}",
    tag = "queue",
    summary = "Keep the caller's place in an event's queue",
    params(("event_id" = Uuid, Path, description = "The event's id")),
    responses(
        (status = 200, description = "OK", body = urr_wire::queue::QueueReply),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody),
        (status = 401, description = "Not signed in, or the token is invalid or expired", body = urr_wire::ErrorBody),
        (status = 404, description = "Not found", body = urr_wire::ErrorBody)
    ),
    security(("bearer" = []), ("accessCookie" = []))
)]
pub async fn heartbeat(
    state: State<AppState>,
    user: CurrentUser,
    event: ApiPath<Uuid>,
) -> ApiResult<Response> {
    status(state, user, event).await
}

/// Where the user stands. Asking is also the heartbeat, so `GET status` and
/// `POST heartbeat` answer alike.
#[utoipa::path(
    get,
    operation_id = "queue_status",
    path = "/api/v1/queue/status/{event_id}",
    tag = "queue",
    summary = "The caller's place in an event's queue (also a heartbeat)",
    params(("event_id" = Uuid, Path, description = "The event's id")),
    responses(
        (status = 200, description = "OK", body = urr_wire::queue::QueueReply),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody),
        (status = 401, description = "Not signed in, or the token is invalid or expired", body = urr_wire::ErrorBody),
        (status = 404, description = "Not found", body = urr_wire::ErrorBody)
    ),
    security(("bearer" = []), ("accessCookie" = []))
)]
pub async fn status(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(event): ApiPath<Uuid>,
) -> ApiResult<Response> {
    let view = state
        .events
        .event(event)
        .status(UserId::from(user.id))
        .await?;
    Ok(respond(&state, reply(&state, event, &user, view)?))
}

#[utoipa::path(
    post,
    operation_id = "queue_leave",
    path = "/api/v1/queue/leave/{event_id}",
    tag = "queue",
    summary = "Leave an event's queue",
    params(("event_id" = Uuid, Path, description = "The event's id")),
    responses(
        (status = 200, description = "OK", body = urr_wire::queue::LeaveReply),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody),
        (status = 401, description = "Not signed in, or the token is invalid or expired", body = urr_wire::ErrorBody),
        (status = 404, description = "Not found", body = urr_wire::ErrorBody)
    ),
    security(("bearer" = []), ("accessCookie" = []))
)]
pub async fn leave(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(event): ApiPath<Uuid>,
) -> ApiResult<Json<LeaveReply>> {
    let left = state
        .events
        .event(event)
        .leave(UserId::from(user.id))
        .await?;
    Ok(Json(LeaveReply {
        event_id: event,
        left,
    }))
}

/// Server-sent events: `position` after every admission tick while waiting (`sold_out`
/// instead while everything is sold: the line waits, admitting nobody, unless a refund
/// brings a seat back), then one `admitted` event carrying the entry token, then the
/// stream ends. The stream outlives the event's actor: after a restart it goes on with
/// the new one.
#[utoipa::path(
    get,
    operation_id = "queue_stream",
    path = "/api/v1/queue/stream/{event_id}",
    tag = "queue",
    summary = "The caller's queue place as server-sent events",
    params(("event_id" = Uuid, Path, description = "The event's id")),
    responses(
        (status = 200, description = "Server-sent events (`position` or `sold_out` while waiting, then `admitted` or `left`) whose `data` is a `QueueReply` as JSON", content_type = "text/event-stream", body = crate::openapi::ServerSentEvent),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody),
        (status = 401, description = "Not signed in, or the token is invalid or expired", body = urr_wire::ErrorBody),
        (status = 404, description = "Not found", body = urr_wire::ErrorBody)
    ),
    security(("bearer" = []), ("accessCookie" = []))
)]
pub async fn stream(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(event): ApiPath<Uuid>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let event = state.events.event(event);
    let first = event.status(UserId::from(user.id)).await?;
    if matches!(first, QueueView::Absent { .. }) {
        return Err(ApiError::new(
            crate::error::ErrorCode::NotFound,
            "not in this event's queue: check in first",
        ));
    }
    let ticks = event.subscribe_queue().await?;
    let stream = futures::stream::unfold(
        Some((state, event, ticks, user, true)),
        move |cursor| async move {
            let (state, event, mut ticks, user, first) = cursor?;
            if !first {
                match ticks.recv().await {
                    Ok(_) | Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => return None,
                }
            }
            let view = match event.status(UserId::from(user.id)).await {
                Ok(view) => view,
                Err(_) => return None,
            };
            let body = reply(&state, event.event_id(), &user, view).ok()?;
            let done = !matches!(view, QueueView::Queued { .. });
            let name = match view {
                QueueView::Active { .. } => "admitted",
                QueueView::Queued { sold_out: true, .. } => "sold_out",
                QueueView::Queued { .. } => "position",
                QueueView::Absent { .. } => "left",
            };
            let sse = Event::default()
                .event(name)
                .json_data(&body)
                .unwrap_or_else(|_| Event::default().event(name));
            let next = (!done).then_some((state, event, ticks, user, false));
            Some((Ok(sse), next))
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

#[cfg(test)]
mod tests {
    use super::next_poll_secs;

    #[test]
    fn poll_ladder() {
        assert_eq!(next_poll_secs(0), 1);
        assert_eq!(next_poll_secs(1_000), 1);
        assert_eq!(next_poll_secs(1_001), 5);
        assert_eq!(next_poll_secs(5_000), 5);
        assert_eq!(next_poll_secs(52_500), 32);
        assert_eq!(next_poll_secs(100_000), 60);
        assert_eq!(next_poll_secs(10_000_000), 60);
        let mut last = 0;
        for ahead in (0..200_000).step_by(997) {
            let poll = next_poll_secs(ahead);
            assert!(poll >= last && (1..=60).contains(&poll));
            last = poll;
        }
    }
}
