//! Liveness (the process answers) and readiness (its dependencies answer).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::state::AppState;

pub async fn live() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// 200 when PostgreSQL and Redis both answer, else 503 naming which did not.
pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let (db, kv) = tokio::join!(urr_store::db::ping(&state.db), state.kv.ping());
    let status = if db.is_ok() && kv.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": if status == StatusCode::OK { "ready" } else { "unavailable" },
        "postgres": verdict(db.is_ok()),
        "redis": verdict(kv.is_ok()),
    });
    if status != StatusCode::OK {
        // Keep the error shape of every other failure, with the details beside it.
        let body = json!({
            "error": {"code": "unavailable", "message": "a dependency is down"},
            "postgres": body["postgres"],
            "redis": body["redis"],
        });
        return (status, Json(body));
    }
    (status, Json(body))
}

fn verdict(answered: bool) -> &'static str {
    if answered { "ok" } else { "down" }
}
