//! Liveness (the process answers) and readiness (its dependencies answer).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use urr_wire::ErrorDetail;
use urr_wire::health::{Dependency, Live, Ready, Unready};

use crate::state::AppState;

#[utoipa::path(
    get,
    operation_id = "health_live",
    path = "/healthz",
    tag = "node",
    summary = "Liveness: the process answers",
    responses(
        (status = 200, description = "OK", body = urr_wire::health::Live)
    )
)]
pub async fn live() -> Json<Live> {
    Json(Live {
        status: "ok".to_owned(),
    })
}

/// 200 when PostgreSQL and Redis both answer, else 503 naming which did not.
#[utoipa::path(
    get,
    operation_id = "health_ready",
    path = "/readyz",
    tag = "node",
    summary = "Readiness: PostgreSQL and Redis answer",
    responses(
        (status = 200, description = "OK", body = urr_wire::health::Ready),
        (status = 503, description = "A dependency is down", body = urr_wire::health::Unready)
    )
)]
pub async fn ready(State(state): State<AppState>) -> Response {
    let (db, kv) = tokio::join!(urr_store::db::ping(&state.db), state.kv.ping());
    let verdict = |ok: bool| {
        if ok { Dependency::Ok } else { Dependency::Down }
    };
    let (postgres, redis) = (verdict(db.is_ok()), verdict(kv.is_ok()));
    if db.is_ok() && kv.is_ok() {
        return Json(Ready {
            status: "ready".to_owned(),
            postgres,
            redis,
        })
        .into_response();
    }
    // Keep the error shape of every other failure, with the details beside it.
    let body = Unready {
        error: ErrorDetail {
            code: "unavailable".to_owned(),
            message: "a dependency is down".to_owned(),
        },
        postgres,
        redis,
    };
    (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
}
