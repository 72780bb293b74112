//! `docs/architecture.md#bad-input`: bad input gets a clear JSON error with the right status and changes nothing.

use crate::common::{assert_error, event_body, spawn_app, spawn_app_with};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn malformed_json_wrong_types_and_missing_content_type_are_4xx_json() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let send = |body: &'static str, content_type: Option<&'static str>| {
        let mut request = app
            .client
            .post(app.url("/api/v1/admin/events"))
            .bearer_auth(&admin.access)
            .body(body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        async move { request.send().await.unwrap() }
    };
    assert_error(
        send("{not json", Some("application/json")).await,
        StatusCode::BAD_REQUEST,
        "invalid_json",
    )
    .await;
    assert_error(
        send(r#"{"title": 5}"#, Some("application/json")).await,
        StatusCode::BAD_REQUEST,
        "invalid_input",
    )
    .await;
    assert_error(
        send("[]", Some("application/json")).await,
        StatusCode::BAD_REQUEST,
        "invalid_input",
    )
    .await;
    assert_error(
        send(r#"{"title": "x"}"#, None).await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
    assert_error(
        send(r#"{"title": "x"}"#, Some("text/plain")).await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(events, 0);
}

#[tokio::test]
async fn oversized_bodies_are_413_json_and_write_nothing() {
    let app = spawn_app_with(|config| config.body_limit = 4096).await;
    let admin = app.admin().await;
    let mut body = event_body("Big");
    body["description"] = json!("x".repeat(10_000));
    let response = app.post_as("/api/v1/admin/events", &body, &admin).await;
    assert_error(response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    let register = app
        .post(
            "/api/v1/auth/register",
            &json!({"email": "big@example.com", "password": "x".repeat(8000), "name": "B"}),
        )
        .await;
    assert_error(register, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    let (events, users): (i64, i64) =
        sqlx::query_as("SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM users)")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!((events, users), (0, 1), "only the admin exists");
}

#[tokio::test]
async fn unknown_routes_methods_and_ids_are_json_errors() {
    let app = spawn_app().await;
    assert_error(
        app.get("/api/v1/nope").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let wrong_method = app
        .client
        .delete(app.url("/api/v1/events"))
        .send()
        .await
        .unwrap();
    assert_error(
        wrong_method,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    )
    .await;
    for path in [
        "/api/v1/events/not-a-uuid",
        "/api/v1/artists/%00",
        "/api/v1/seats/events/123",
    ] {
        assert_error(
            app.get(path).await,
            StatusCode::BAD_REQUEST,
            "invalid_input",
        )
        .await;
    }
}

#[tokio::test]
async fn edge_basics_headers_request_ids_and_health() {
    let app = spawn_app().await;
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers();
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert!(headers.contains_key("strict-transport-security"));
    assert!(headers.contains_key("referrer-policy"));
    assert!(headers.contains_key("x-request-id"));

    // A caller's request id is kept, so logs can be joined across hops.
    let traced = app
        .client
        .get(app.url("/readyz"))
        .header("x-request-id", "trace-me-123")
        .send()
        .await
        .unwrap();
    assert_eq!(traced.status(), StatusCode::OK);
    assert_eq!(traced.headers()["x-request-id"], "trace-me-123");
    let ready: serde_json::Value = traced.json().await.unwrap();
    assert_eq!(ready["postgres"], "ok");
    assert_eq!(ready["redis"], "ok");
}

#[tokio::test]
async fn readyz_is_503_when_postgres_is_gone() {
    let app = spawn_app().await;
    app.db.close().await;
    let response = app.get("/readyz").await;
    let body = assert_error(response, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
    assert_eq!(body["postgres"], "down");
    assert_eq!(body["redis"], "ok");
    // Data routes answer 503 too, not 500.
    let list = app.get("/api/v1/events").await;
    assert_error(list, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
}

#[tokio::test]
async fn every_413_is_the_json_error() {
    let app = spawn_app_with(|config| config.body_limit = 4096).await;
    let admin = app.admin().await;
    let fan = app.quick_user("fan").await;
    let big = json!({"reason": "x".repeat(10_000)}).to_string();
    let cases = [
        // A handler that reads the raw body.
        (
            "refund",
            "/api/v1/payments/order-1/refund",
            &fan,
            big.clone(),
        ),
        // The entry gate, which reads the body before the handler.
        (
            "seat hold",
            "/api/v1/seats/reserve",
            &fan,
            json!({"eventId": uuid::Uuid::new_v4(), "seatIds": [], "pad": "x".repeat(10_000)})
                .to_string(),
        ),
        // A JSON extractor.
        ("admin", "/api/v1/admin/events", &admin, big.clone()),
        // The Tier-1 router mounted in the edge (its own limit is 16 KiB).
        (
            "tier-1 operator",
            "/vwr-api/vwr/admin/rooms/1/open",
            &admin,
            json!({"batch": 1, "pad": "x".repeat(20_000)}).to_string(),
        ),
    ];
    for (name, path, session, body) in cases {
        let response = app
            .client
            .post(app.url(path))
            .bearer_auth(&session.access)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect(name);
        let body = assert_error(response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
        assert!(body["error"]["message"].is_string(), "{name}");
    }
    // Without a length up front (chunked), the limit still answers in JSON.
    let chunks = futures::stream::iter((0..10).map(|_| Ok::<_, std::io::Error>(vec![b' '; 1024])));
    let response = app
        .client
        .post(app.url("/api/v1/payments/order-1/refund"))
        .bearer_auth(&fan.access)
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .expect("chunked refund");
    assert_error(response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
}

#[tokio::test]
async fn control_characters_in_text_are_400_and_reach_no_store() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let register = app
        .post(
            "/api/v1/auth/register",
            &json!({"email": "nul@example.com", "password": "correct-horse-battery", "name": "Kim\u{0}"}),
        )
        .await;
    let body = assert_error(register, StatusCode::BAD_REQUEST, "invalid_input").await;
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("control character")),
        "{body}"
    );
    let login = app
        .post(
            "/api/v1/auth/login",
            &json!({"email": "fan\u{0}@example.com", "password": "whatever-it-is"}),
        )
        .await;
    assert_error(login, StatusCode::BAD_REQUEST, "invalid_input").await;
    let mut event = event_body("Bell");
    event["description"] = json!("ring\u{7}");
    let created = app.post_as("/api/v1/admin/events", &event, &admin).await;
    assert_error(created, StatusCode::BAD_REQUEST, "invalid_input").await;
    let mut nested = event_body("Nested");
    nested["ticketTypes"][0]["name"] = json!("VIP\u{0}");
    let created = app.post_as("/api/v1/admin/events", &nested, &admin).await;
    assert_error(created, StatusCode::BAD_REQUEST, "invalid_input").await;
    for path in ["/api/v1/events?q=%00", "/api/v1/payments/order%00"] {
        let response = app.get_as(path, &admin).await;
        assert_error(response, StatusCode::BAD_REQUEST, "invalid_input").await;
    }
    let refund = app
        .post_as(
            "/api/v1/payments/order-1/refund",
            &json!({"reason": "why\u{0}"}),
            &admin,
        )
        .await;
    assert_error(refund, StatusCode::BAD_REQUEST, "invalid_input").await;
    // Line breaks and tabs are text, not control: they go through.
    let mut fine = event_body("Lines");
    fine["description"] = json!("first line\nsecond\tline");
    app.create_event(&admin, &fine).await;
    let (events, users): (i64, i64) =
        sqlx::query_as("SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM users)")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(
        (events, users),
        (1, 1),
        "only the admin and the clean event"
    );
}
