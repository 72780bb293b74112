//! Building the router and serving it until shutdown.

use std::future::Future;

use axum::extract::DefaultBodyLimit;
use axum::extract::Request;
use axum::http::{HeaderName, Method};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Router};
use tokio::net::TcpListener;
use tower::{ServiceBuilder, ServiceExt};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa_axum::router::OpenApiRouter;

use crate::error::{ApiError, ErrorCode};
use crate::middleware;
use crate::openapi;
use crate::routes;
use crate::state::AppState;

pub(crate) const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The whole HTTP surface of a node.
pub fn router(state: AppState) -> Router {
    router_with(state, Vec::new())
}

/// A router mounted beside the API (the Tier-1 room at `/vwr-api`) with its own part of
/// the OpenAPI document, whose paths are prefixed with `path` like its routes.
pub struct Mount {
    pub path: &'static str,
    pub router: Router,
    pub api: utoipa::openapi::OpenApi,
}

/// The node's surface with further routers mounted (e.g. the Tier-1 room at `/vwr-api`),
/// all behind the same middleware.
pub fn router_with(state: AppState, mounts: Vec<Mount>) -> Router {
    assemble(state, mounts, None)
}

/// The node's surface with the browser UI as the fallback: a `GET`/`HEAD` that no route
/// took and that is not an API path (`/api/**`, `/vwr-api/**`, the probes) goes to `ui`;
/// everything else unknown stays the JSON 404 API clients expect.
pub fn router_with_ui(state: AppState, mounts: Vec<Mount>, ui: Router) -> Router {
    assemble(state, mounts, Some(ui))
}

fn assemble(state: AppState, mounts: Vec<Mount>, ui: Option<Router>) -> Router {
    let timeout = state.config.request_timeout();
    let body_limit = state.config.body_limit;
    let [hsts, nosniff, frames, referrer] = middleware::security_headers();
    let limiter = state.limits.clone();
    let internal = routes::internal()
        .with_state(state.clone())
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn(
            crate::request_id::carry_forwarded_request_id,
        ))
        .layer(CatchPanicLayer::custom(middleware::panic_response));
    let (app, mut api) = OpenApiRouter::with_openapi(openapi::base())
        .merge(routes::api(&state))
        .merge(routes::health())
        .split_for_parts();
    let mut app = app.with_state(state);
    for mount in mounts {
        app = app.nest(mount.path, mount.router);
        api = api.nest(mount.path, mount.api);
    }
    let document = openapi::Document::new(api);
    // One stack for every route, applied in one `layer` call, in the order the layers
    // always had (outermost first). axum clones a route's whole stack for every request,
    // and each `Router::layer` call would wrap it in one more boxed level: an allocation
    // per level per clone, and each `from_fn` layer clones everything below it again.
    let edge = ServiceBuilder::new()
        .layer(SetRequestIdLayer::new(
            REQUEST_ID,
            crate::request_id::RequestIds::new(),
        ))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
                let id = request
                    .headers()
                    .get(REQUEST_ID)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                tracing::info_span!("request", method = %request.method(),
                    uri = %request.uri(), request_id = %id)
            }),
        )
        .layer(crate::request_id::CarryRequestIdLayer)
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(CatchPanicLayer::custom(middleware::panic_response))
        .layer(hsts)
        .layer(nosniff)
        .layer(frames)
        .layer(referrer)
        // Only sets the limit the body extractors read: it may sit anywhere in the stack.
        .layer(DefaultBodyLimit::max(body_limit))
        // Rate limit, timeout, 413 as JSON, request metrics (innermost).
        .layer(axum::middleware::from_fn_with_state(
            middleware::Guard {
                limiter,
                timeout,
                metrics: crate::metrics::RequestMetrics::default(),
            },
            middleware::guard,
        ));
    app.layer(Extension(document))
        .fallback(move |request: Request| fallback(ui.clone(), request))
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                ErrorCode::MethodNotAllowed,
                "method not allowed on this route",
            )
        })
        .layer(edge)
        .merge(internal)
}

async fn fallback(ui: Option<Router>, request: Request) -> Response {
    let page = matches!(*request.method(), Method::GET | Method::HEAD)
        && !urr_web::is_api_path(request.uri().path());
    match ui {
        Some(ui) if page => match ui.oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        },
        _ => ApiError::new(ErrorCode::NotFound, "no such route").into_response(),
    }
}

/// Serves `router` on `listener` until `shutdown` resolves, then lets in-flight requests
/// finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // The peer address feeds the rate limits' client address (see `rate_limit`).
    let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, service)
        .with_graceful_shutdown(shutdown)
        .await
}
