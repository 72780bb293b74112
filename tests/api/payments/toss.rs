//! A local HTTP server speaking the Toss Payments API (confirm, cancel, lookups by key
//! and by order), with a ledger of what it charged. The payment key chooses how it
//! behaves, as a real provider might:
//! - `decline…`: refuses, charges nothing (400);
//! - `down…`: answers 503 and charges nothing;
//! - `error…`: charges, then answers 500;
//! - `garbage…`: charges, then answers 200 with a body that is not JSON;
//! - `slow…`: charges, answers 200 after 3 s (past a 1 s client timeout);
//! - `lag…`: charges, answers 200 after 1.5 s;
//! - `stall…`: charges, answers 200 after 3 s (for cutting a node off meanwhile);
//! - `slowcancel…`: charges at once; a cancel gives the money back, then answers 2 s later;
//! - anything else: charges and answers 200 at once.
//!
//! A cancel of a cancelled payment is `ALREADY_CANCELED_PAYMENT`, as Toss answers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

pub const SECRET: &str = "test_sk_urr";

/// The provider's own record of one order.
#[derive(Debug, Clone)]
pub struct Charge {
    pub key: String,
    pub amount: i64,
    pub cancelled: bool,
}

/// What the stand-in received and what it holds.
#[derive(Default)]
pub struct Calls {
    /// Confirm calls per order id.
    pub confirms: HashMap<String, usize>,
    /// Cancel calls per payment key.
    pub cancels: HashMap<String, usize>,
    /// Lookup calls per order id (or key).
    pub lookups: HashMap<String, usize>,
    /// Order id → what was charged.
    pub ledger: HashMap<String, Charge>,
}

pub type Shared = Arc<Mutex<Calls>>;

fn authorised(headers: &HeaderMap) -> bool {
    use base64::Engine;
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{SECRET}:"))
    );
    headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(expected.as_str())
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({"code": code, "message": message}))).into_response()
}

fn unauthorised() -> Response {
    error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED_KEY", "bad key")
}

fn payment(order: &str, charge: &Charge) -> Value {
    json!({
        "paymentKey": charge.key, "orderId": order, "method": "카드",
        "status": if charge.cancelled { "CANCELED" } else { "DONE" },
        "totalAmount": charge.amount,
    })
}

async fn confirm(
    State(calls): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if !authorised(&headers) {
        return unauthorised();
    }
    let key = body["paymentKey"].as_str().unwrap_or_default().to_owned();
    let order = body["orderId"].as_str().unwrap_or_default().to_owned();
    let amount = body["amount"].as_i64().unwrap_or_default();
    *calls
        .lock()
        .unwrap()
        .confirms
        .entry(order.clone())
        .or_default() += 1;
    if key.starts_with("decline") {
        return error(
            StatusCode::BAD_REQUEST,
            "REJECT_CARD_PAYMENT",
            "한도초과 혹은 잔액부족",
        );
    }
    if key.starts_with("down") {
        return error(StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE", "try later");
    }
    let charge = Charge {
        key: key.clone(),
        amount,
        cancelled: false,
    };
    calls
        .lock()
        .unwrap()
        .ledger
        .insert(order.clone(), charge.clone());
    if key.starts_with("slow") && !key.starts_with("slowcancel") || key.starts_with("stall") {
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    if key.starts_with("lag") {
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
    if key.starts_with("error") {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "FAILED_INTERNAL_SYSTEM_PROCESSING",
            "oops",
        );
    }
    if key.starts_with("garbage") {
        return (StatusCode::OK, "<html>upstream proxy error</html>").into_response();
    }
    (StatusCode::OK, Json(payment(&order, &charge))).into_response()
}

async fn cancel(
    State(calls): State<Shared>,
    headers: HeaderMap,
    Path(key): Path<String>,
) -> Response {
    if !authorised(&headers) {
        return unauthorised();
    }
    let found = {
        let mut calls = calls.lock().unwrap();
        *calls.cancels.entry(key.clone()).or_default() += 1;
        let charge = calls.ledger.values_mut().find(|c| c.key == key);
        match charge {
            None => None,
            Some(charge) if charge.cancelled => Some(true),
            Some(charge) => {
                charge.cancelled = true;
                Some(false)
            }
        }
    };
    match found {
        None => error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND_PAYMENT",
            "no such payment",
        ),
        Some(true) => error(
            StatusCode::BAD_REQUEST,
            "ALREADY_CANCELED_PAYMENT",
            "이미 취소된 결제 입니다.",
        ),
        Some(false) => {
            if key.starts_with("slowcancel") {
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            (
                StatusCode::OK,
                Json(json!({"paymentKey": key, "status": "CANCELED"})),
            )
                .into_response()
        }
    }
}

async fn by_order(
    State(calls): State<Shared>,
    headers: HeaderMap,
    Path(order): Path<String>,
) -> Response {
    if !authorised(&headers) {
        return unauthorised();
    }
    let mut calls = calls.lock().unwrap();
    *calls.lookups.entry(order.clone()).or_default() += 1;
    match calls.ledger.get(&order) {
        Some(charge) => (StatusCode::OK, Json(payment(&order, charge))).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND_PAYMENT",
            "no such payment",
        ),
    }
}

async fn by_key(
    State(calls): State<Shared>,
    headers: HeaderMap,
    Path(key): Path<String>,
) -> Response {
    if !authorised(&headers) {
        return unauthorised();
    }
    let mut calls = calls.lock().unwrap();
    *calls.lookups.entry(key.clone()).or_default() += 1;
    let found = calls.ledger.iter().find(|(_, c)| c.key == key);
    match found {
        Some((order, charge)) => (StatusCode::OK, Json(payment(order, charge))).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND_PAYMENT",
            "no such payment",
        ),
    }
}

/// Starts the stand-in on a free loopback port; returns its base URL and its record.
pub async fn start() -> (String, Shared) {
    let calls: Shared = Arc::default();
    let router = axum::Router::new()
        .route("/v1/payments/confirm", post(confirm))
        .route("/v1/payments/orders/{order}", get(by_order))
        .route("/v1/payments/{key}", get(by_key))
        .route("/v1/payments/{key}/cancel", post(cancel))
        .with_state(calls.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (url, calls)
}
