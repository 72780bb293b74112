//! The queue's audit trail for operators: every join (with its Tier-1 position), admission
//! and departure of an event, in the order the EventActor logged them. Anyone holding it
//! can check that nobody was admitted ahead of someone with an earlier place; the load
//! generator does exactly that after a rush.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use urr_actors::queue_log::QueueLogRecord;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::ApiPath;
use crate::session::AdminUser;
use crate::state::AppState;

#[derive(Debug, Serialize)]
#[serde(
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    tag = "kind"
)]
pub enum RecordView {
    Joined {
        user_id: Uuid,
        tier1_pos: Option<u64>,
        seq: u64,
    },
    Left {
        user_id: Uuid,
    },
    Admitted {
        user_id: Uuid,
    },
    Dropped {
        user_id: Uuid,
    },
    Expired {
        user_id: Uuid,
    },
}

impl From<QueueLogRecord> for RecordView {
    fn from(record: QueueLogRecord) -> Self {
        match record {
            QueueLogRecord::Joined {
                user,
                tier1_pos,
                seq,
            } => Self::Joined {
                user_id: user.0,
                tier1_pos,
                seq,
            },
            QueueLogRecord::Left { user } => Self::Left { user_id: user.0 },
            QueueLogRecord::Admitted { user } => Self::Admitted { user_id: user.0 },
            QueueLogRecord::Dropped { user } => Self::Dropped { user_id: user.0 },
            QueueLogRecord::Expired { user } => Self::Expired { user_id: user.0 },
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueLogView {
    event_id: Uuid,
    /// Oldest first. A restarted actor compacts its log, so after a restart the trail
    /// starts with the line as it stood then.
    records: Vec<RecordView>,
}

pub async fn queue_log(
    State(state): State<AppState>,
    _admin: AdminUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<QueueLogView>> {
    let raw = urr_store::event_store::read_queue_log(&state.kv, id).await?;
    let records = raw
        .iter()
        .map(|bytes| QueueLogRecord::decode(bytes).map(RecordView::from))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| {
            tracing::error!(event = %id, %err, "unreadable queue log record");
            ApiError::new(ErrorCode::Internal, "internal error")
        })?;
    Ok(Json(QueueLogView {
        event_id: id,
        records,
    }))
}
