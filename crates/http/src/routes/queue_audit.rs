//! The queue's audit trail for operators: every join (with its Tier-1 position), admission
//! and departure of an event, in the order the EventActor logged them. Anyone holding it
//! can check that nobody was admitted ahead of someone with an earlier place; the load
//! generator does exactly that after a rush.

use axum::Json;
use axum::extract::State;
use urr_actors::queue_log::QueueLogRecord;
use urr_wire::queue::{QueueLog, QueueLogRecord as RecordView};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::ApiPath;
use crate::session::AdminUser;
use crate::state::AppState;

fn record_view(record: QueueLogRecord) -> RecordView {
    match record {
        QueueLogRecord::Joined {
            user,
            tier1_pos,
            seq,
        } => RecordView::Joined {
            user_id: user.0,
            tier1_pos,
            seq,
        },
        QueueLogRecord::Left { user } => RecordView::Left { user_id: user.0 },
        QueueLogRecord::Admitted { user } => RecordView::Admitted { user_id: user.0 },
        QueueLogRecord::Dropped { user } => RecordView::Dropped { user_id: user.0 },
        QueueLogRecord::Expired { user } => RecordView::Expired { user_id: user.0 },
    }
}

#[utoipa::path(
    get,
    operation_id = "queue_audit_queue_log",
    path = "/api/v1/admin/events/{id}/queue/log",
    tag = "admin",
    summary = "An event's queue log (admin)",
    params(("id" = Uuid, Path, description = "The event's id")),
    responses(
        (status = 200, description = "OK", body = urr_wire::queue::QueueLog),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody),
        (status = 401, description = "Not signed in, or the token is invalid or expired", body = urr_wire::ErrorBody),
        (status = 403, description = "Forbidden", body = urr_wire::ErrorBody),
        (status = 404, description = "Not found", body = urr_wire::ErrorBody)
    ),
    security(("bearer" = []), ("accessCookie" = []))
)]
pub async fn queue_log(
    State(state): State<AppState>,
    _admin: AdminUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<QueueLog>> {
    let raw = urr_store::event_store::read_queue_log(&state.kv, id).await?;
    let records = raw
        .iter()
        .map(|bytes| QueueLogRecord::decode(bytes).map(record_view))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| {
            tracing::error!(event = %id, %err, "unreadable queue log record");
            ApiError::new(ErrorCode::Internal, "internal error")
        })?;
    Ok(Json(QueueLog {
        event_id: id,
        records,
    }))
}
