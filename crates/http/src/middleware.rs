//! Layers every request passes through.

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_http::set_header::SetResponseHeaderLayer;
use tracing::Instrument;
use urr_actors::event::with_request_id;
use urr_cluster::HOP_HEADER;

use crate::error::{ApiError, ErrorCode};
use crate::startup::REQUEST_ID;

/// The id the edge gave the request (`x-request-id`), when it is one worth logging.
fn request_id(request: &Request) -> Option<Arc<str>> {
    let id = request.headers().get(REQUEST_ID)?.to_str().ok()?;
    (!id.is_empty() && id.len() <= MAX_REQUEST_ID).then(|| Arc::from(id))
}

/// A client may name its own request id; a longer one is not carried (it would only
/// bloat every log line of the call).
const MAX_REQUEST_ID: usize = 128;

/// Runs the request as part of its id, so a call it makes to an event actor, here or on
/// the owner's node, is logged with it (`docs/operations.md#following-one-request`).
pub async fn carry_request_id(request: Request, next: Next) -> Response {
    match request_id(&request) {
        Some(id) => with_request_id(id, next.run(request)).await,
        None => next.run(request).await,
    }
}

/// The same for a call another node forwarded here: its span names the request and the
/// node it came from.
pub async fn carry_forwarded_request_id(request: Request, next: Next) -> Response {
    let from = request
        .headers()
        .get(HOP_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_owned();
    let id = request_id(&request);
    let span = tracing::info_span!("forwarded", from = %from,
        request_id = id.as_deref().unwrap_or("-"));
    match id {
        Some(id) => with_request_id(id, next.run(request).instrument(span)).await,
        None => next.run(request).instrument(span).await,
    }
}

/// Abandons a request that takes longer than the configured timeout with a JSON 503,
/// so a stuck dependency cannot pile up connections.
pub async fn timeout(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(ErrorCode::Timeout, "request timed out").into_response(),
    }
}

/// Every 413 leaves as the JSON error: extractors that read a raw body (`Bytes`, `String`,
/// forms) and layers below the handlers answer an oversized body in plain text.
pub async fn json_payload_too_large(response: Response) -> Response {
    let json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE && !json {
        return ApiError::new(ErrorCode::PayloadTooLarge, "request body is too large")
            .into_response();
    }
    response
}

/// A panic in a handler becomes a JSON 500 instead of a dropped connection.
pub fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let detail = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    tracing::error!(%detail, "handler panicked");
    ApiError::new(ErrorCode::Internal, "internal error").into_response()
}

/// The gateway's security headers (`docs/architecture.md#the-gateway`): HSTS, nosniff, frame deny, referrer policy.
pub fn security_headers() -> [SetResponseHeaderLayer<HeaderValue>; 4] {
    [
        SetResponseHeaderLayer::if_not_present(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=63072000; includeSubDomains"),
        ),
        SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ),
        SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("referrer-policy"),
            HeaderValue::from_static("strict-origin-when-cross-origin"),
        ),
    ]
}
