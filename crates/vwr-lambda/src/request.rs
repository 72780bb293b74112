//! Reading a waiting-room request: the path's event id and a JSON body, with every
//! rejection mapped to the room's error shape. Shared by the public and operator routes.

use axum::Json;
use axum::extract::Path;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::http::StatusCode;

use crate::VwrError;
use crate::domain::ids::EventId;
use crate::error::ErrorCode;

pub(crate) fn event_id(path: Result<Path<String>, PathRejection>) -> Result<EventId, VwrError> {
    let Path(raw) = path.map_err(|e| VwrError::invalid(e.body_text()))?;
    EventId::parse(&raw)
        .ok_or_else(|| VwrError::invalid("eventId must be a UUID or a positive number"))
}

/// Maps a JSON rejection to our error shape, keeping 413 and 415 apart from bad JSON.
pub(crate) fn json_body<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, VwrError> {
    match body {
        Ok(Json(value)) => Ok(value),
        Err(rejection) => {
            let code = match rejection.status() {
                StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::PayloadTooLarge,
                StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorCode::UnsupportedMediaType,
                _ => ErrorCode::InvalidJson,
            };
            Err(VwrError::Body {
                code,
                message: rejection.body_text(),
            })
        }
    }
}
