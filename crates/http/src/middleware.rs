//! Layers every request passes through.

use std::any::Any;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::error::{ApiError, ErrorCode};
use crate::metrics::RequestMetrics;
use crate::rate_limit::RateLimiter;

/// What [`guard`] needs: the rate limits, the request timeout, the request metrics.
#[derive(Clone)]
pub struct Guard {
    pub limiter: RateLimiter,
    pub timeout: Duration,
    pub metrics: RequestMetrics,
}

/// The steps every routed request passes next to its handler, in this order: the request
/// metrics (outermost, so a request's time includes the rate limit's Redis call, and a
/// 429 or an abandoned request is counted with its status like any other), the rate
/// limit (a 429 goes back at once), the timeout, the 413 as JSON. One `from_fn` layer, not
/// four: each such layer boxes its future and clones the rest of the route's stack on
/// every request.
pub async fn guard(State(guard): State<Guard>, request: Request, next: Next) -> Response {
    let recording = guard.metrics.start(&request);
    let response = admitted(&guard, request, next).await;
    recording.finish(&response);
    response
}

async fn admitted(guard: &Guard, mut request: Request, next: Next) -> Response {
    if let Err(refused) = guard.limiter.admit(&mut request).await {
        return refused;
    }
    // A request that takes longer than the timeout is abandoned with a JSON 503, so a
    // stuck dependency cannot pile up connections.
    match tokio::time::timeout(guard.timeout, next.run(request)).await {
        Ok(response) => json_payload_too_large(response),
        Err(_) => ApiError::new(ErrorCode::Timeout, "request timed out").into_response(),
    }
}

/// Every 413 leaves as the JSON error: extractors that read a raw body (`Bytes`, `String`,
/// forms) and layers below the handlers answer an oversized body in plain text.
fn json_payload_too_large(response: Response) -> Response {
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
