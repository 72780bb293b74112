//! The browser UI as mounted in a node: pages for page paths, JSON 404s for unknown API
//! paths, and the small public endpoints the UI reads (config, booking rules).

use crate::common::{assert_error, spawn_app, spawn_app_with};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn page_paths_get_the_ui_and_api_paths_keep_json_404s() {
    let app = spawn_app().await;
    for path in [
        "/",
        "/events/0190f3a1-0000-7000-8000-000000000000/seats",
        "/admin",
        "/admin/cluster",
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(
            header(&response, "content-type"),
            "text/html; charset=utf-8"
        );
        assert!(header(&response, "content-security-policy").contains("script-src 'self'"));
        // The edge's security headers apply to the UI too.
        assert_eq!(header(&response, "x-frame-options"), "DENY");
        let body = response.text().await.expect("body");
        assert!(body.contains("/assets/js/main.js"), "{path}");
    }
    let script = app.get("/assets/js/main.js").await;
    assert_eq!(script.status(), StatusCode::OK);
    assert_eq!(
        header(&script, "content-type"),
        "text/javascript; charset=utf-8"
    );

    assert_error(
        app.get("/api/v1/no-such-route").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(app.get("/api").await, StatusCode::NOT_FOUND, "not_found").await;
    // The node-to-node paths are never pages either.
    assert_error(
        app.get("/internal/v1/nope").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        app.get("/vwr-api/vwr/nope").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    // Writes never reach the UI.
    assert_error(
        app.post("/events/x", &json!({})).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    // A missing asset is a 404, not the page.
    assert_eq!(
        app.get("/assets/js/nope.js").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_ui_reads_the_node_config_and_an_events_booking_rules() {
    let app = spawn_app_with(|c| {
        c.payments.payment_sandbox = true;
        c.google_client_id = Some("client-123.apps.googleusercontent.com".into());
    })
    .await;
    let config: Value = app.get("/api/v1/config").await.json().await.expect("json");
    assert_eq!(config["paymentSandbox"], true);
    assert_eq!(
        config["googleClientId"],
        "client-123.apps.googleusercontent.com"
    );
    // Toss is off without its secret key.
    assert_eq!(config["toss"], Value::Null);
    assert_eq!(config["maxSeatsPerHold"], 4);

    let admin = app.admin().await;
    let (event, _) = app.seated_event(&admin, 1, 4).await;
    app.queue_settings(
        &admin,
        event,
        json!({"maxSeatsPerHold": 2, "holdTtlSecs": 90}),
    )
    .await;
    let rules: Value = app
        .get(&format!("/api/v1/events/{event}/booking"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(rules["maxSeatsPerHold"], 2);
    assert_eq!(rules["holdTtlSecs"], 90);
    assert_eq!(rules["queueEnabled"], true);
    assert_eq!(rules["tier1Active"], false);
    assert_error(
        app.get("/api/v1/events/0190f3a1-0000-7000-8000-000000000000/booking")
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    // No payment yet for a reservation: 404, and never someone else's.
    let fan = app.quick_user("fan").await;
    assert_error(
        app.get_as(
            "/api/v1/reservations/0190f3a1-0000-7000-8000-000000000000/payment",
            &fan,
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}
