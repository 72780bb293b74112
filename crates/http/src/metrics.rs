//! Prometheus metrics: the recorder every crate's `metrics::counter!`/`histogram!` calls
//! report to, the edge's own request metrics, and the `/metrics` page. The names and what
//! they mean are listed in `docs/operations.md#metrics`.
//!
//! The page is served two ways: on the node's own listener behind an operator credential
//! (an admin's access token, or `--metrics-token`), and, when `--metrics-listen` is set, on
//! a separate address without credentials, for a Prometheus that scrapes inside the cluster's
//! network only.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, Method};
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

/// The handles of one route template and method: a request is recorded with a lookup of
/// its route here and atomic adds, where `metrics::counter!` with owned labels would
/// allocate the labels and look the series up in the recorder's registry, twice, on
/// every request.
struct RouteMetrics {
    method: Method,
    /// Per status class, registered at its first request (so no series of zeros appear).
    requests: [OnceLock<metrics::Counter>; 5],
    latency: metrics::Histogram,
    route: String,
}

const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

impl RouteMetrics {
    fn new(route: &str, method: &Method) -> Self {
        Self {
            method: method.clone(),
            requests: Default::default(),
            latency: metrics::histogram!("urr_http_request_duration_seconds",
                "route" => route.to_owned(), "method" => method.as_str().to_owned()),
            route: route.to_owned(),
        }
    }

    fn record(&self, status: u16, took: f64) {
        let class = match status {
            100..=199 => 0,
            200..=299 => 1,
            300..=399 => 2,
            400..=499 => 3,
            _ => 4,
        };
        self.requests[class]
            .get_or_init(|| {
                metrics::counter!("urr_http_requests_total", "route" => self.route.clone(),
                    "method" => self.method.as_str().to_owned(), "status" => CLASSES[class])
            })
            .increment(1);
        self.latency.record(took);
    }
}

/// The request metrics' handles by route template, then method. Its size is the
/// recorder's: one entry per series the recorder keeps anyway. Cheap to clone.
#[derive(Clone, Default)]
pub struct RequestMetrics {
    routes: Arc<RwLock<Routes>>,
}

/// Route template → the handles of each method seen on it.
type Routes = HashMap<Box<str>, Vec<Arc<RouteMetrics>>>;

impl RequestMetrics {
    fn of(&self, route: &str, method: &Method) -> Arc<RouteMetrics> {
        let found = |routes: &Routes| {
            routes
                .get(route)?
                .iter()
                .find(|m| m.method == *method)
                .cloned()
        };
        // A poisoned lock still holds handles that work: nothing is left half-done in it.
        if let Some(handles) = found(&self.routes.read().unwrap_or_else(PoisonError::into_inner)) {
            return handles;
        }
        let mut routes = self.routes.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(handles) = found(&routes) {
            return handles;
        }
        let handles = Arc::new(RouteMetrics::new(route, method));
        routes
            .entry(route.into())
            .or_default()
            .push(handles.clone());
        handles
    }
}

/// A request being timed for the metrics (see `middleware::guard`).
pub(crate) struct Recording {
    handles: Arc<RouteMetrics>,
    started: Instant,
}

impl RequestMetrics {
    /// Starts recording a request: by route template (never the raw path, whose ids would
    /// make a series per event and user), method and status class; latency by route and
    /// method. The route template is only known once the router matched it.
    pub(crate) fn start(&self, request: &Request) -> Recording {
        let route = request
            .extensions()
            .get::<MatchedPath>()
            .map_or("unmatched", MatchedPath::as_str);
        Recording {
            handles: self.of(route, request.method()),
            started: Instant::now(),
        }
    }
}

impl Recording {
    pub(crate) fn finish(self, response: &Response) {
        self.handles.record(
            response.status().as_u16(),
            self.started.elapsed().as_secs_f64(),
        );
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_are_kept_per_route_template_and_method() {
        let metrics = RequestMetrics::default();
        let events = metrics.of("/api/v1/events", &Method::GET);
        assert!(Arc::ptr_eq(
            &events,
            &metrics.of("/api/v1/events", &Method::GET)
        ));
        let posted = metrics.of("/api/v1/events", &Method::POST);
        assert!(!Arc::ptr_eq(&events, &posted));
        assert_eq!(posted.method, Method::POST);
        let detail = metrics.of("/api/v1/events/{id}", &Method::GET);
        assert!(!Arc::ptr_eq(&events, &detail));
        assert_eq!(
            (events.route.as_str(), detail.route.as_str()),
            ("/api/v1/events", "/api/v1/events/{id}")
        );
    }
}
