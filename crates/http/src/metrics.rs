//! Prometheus metrics: the recorder every crate's `metrics::counter!`/`histogram!` calls
//! report to, the edge's own request metrics, and the `/metrics` page. The names and what
//! they mean are listed in `docs/operations.md#metrics`.
//!
//! The page is served two ways: on the node's own listener behind an operator credential
//! (an admin's access token, or `--metrics-token`), and, when `--metrics-listen` is set, on
//! a separate address without credentials, for a Prometheus that scrapes inside the cluster's
//! network only.

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use clap::Args;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::error::{ApiError, ErrorCode};
use crate::session::AdminUser;
use crate::state::AppState;

/// Where the metrics page is served and who may read it.
#[derive(Debug, Clone, Default, Args)]
pub struct MetricsConfig {
    /// Also serve `/metrics` on this address, without credentials (bind it to an address
    /// only the scraper reaches). The node's own listener serves it to operators only.
    #[arg(long, env = "URR_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,

    /// A bearer token that may read `/metrics` on the node's own listener (besides an
    /// admin's access token).
    #[arg(long, env = "URR_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
}

/// Request latency buckets, in seconds: from a cached status read to a slow payment.
const LATENCY_BUCKETS: [f64; 14] = [
    0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Group-commit batch sizes: one to a full mailbox.
const BATCH_BUCKETS: [f64; 10] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

/// The process's recorder. The `metrics` facade is process-wide by design (every crate
/// reports without being handed a registry), so it is installed once however many nodes
/// a process runs (the tests run several).
static RECORDER: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the Prometheus recorder (once per process) and returns its handle; `None` when
/// another recorder was installed first.
pub fn install() -> Option<PrometheusHandle> {
    RECORDER
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &LATENCY_BUCKETS)
                .and_then(|b| {
                    b.set_buckets_for_metric(Matcher::Suffix("_batch".into()), &BATCH_BUCKETS)
                });
            match builder.and_then(PrometheusBuilder::install_recorder) {
                Ok(handle) => Some(handle),
                Err(err) => {
                    tracing::warn!(%err, "metrics recorder not installed");
                    None
                }
            }
        })
        .clone()
}

/// Records every request: by route template (never the raw path, whose ids would make a
/// series per event and user), method and status class; latency by route and method.
pub async fn track(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let class = match response.status().as_u16() {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    };
    metrics::counter!("urr_http_requests_total", "route" => route.clone(),
        "method" => method.clone(), "status" => class)
    .increment(1);
    metrics::histogram!("urr_http_request_duration_seconds", "route" => route, "method" => method)
        .record(started.elapsed().as_secs_f64());
    response
}

/// `/metrics` on the node's own listener: an admin, or the metrics token.
#[utoipa::path(
    get,
    operation_id = "metrics_page",
    path = "/metrics",
    tag = "node",
    summary = "Prometheus metrics (an admin, or the metrics token)",
    responses(
        (status = 200, description = "Prometheus text format", content_type = "text/plain", body = String),
        (status = 401, description = "Not signed in, or the token is invalid or expired", body = urr_wire::ErrorBody),
        (status = 403, description = "Forbidden", body = urr_wire::ErrorBody)
    ),
    security(("metricsToken" = []), ("bearer" = []), ("accessCookie" = []))
)]
pub async fn page(State(state): State<AppState>, request: Request) -> Result<Response, ApiError> {
    let (mut parts, _) = request.into_parts();
    if !token_matches(
        &parts.headers,
        state.config.metrics.metrics_token.as_deref(),
    ) {
        <AdminUser as axum::extract::FromRequestParts<AppState>>::from_request_parts(
            &mut parts, &state,
        )
        .await?;
    }
    render()
}

fn token_matches(headers: &HeaderMap, expected: Option<&str>) -> bool {
    let Some(expected) = expected.filter(|t| !t.is_empty()) else {
        return false;
    };
    headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|given| constant_time_eq(given.trim().as_bytes(), expected.as_bytes()))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn render() -> Result<Response, ApiError> {
    let handle = install()
        .ok_or_else(|| ApiError::new(ErrorCode::Unavailable, "metrics are not recorded"))?;
    let mut response = handle.render().into_response();
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(response)
}

/// The separate metrics listener's router: `/metrics` only, no credentials.
pub fn scrape_router() -> Router {
    Router::new().route("/metrics", get(|| async { render() }))
}
