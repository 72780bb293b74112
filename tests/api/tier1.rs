//! Tier 1 inside the edge (`/vwr-api`, Redis store) feeding the Tier-2 queue: with the
//! event's room active, queue/check requires the room's token and orders by its position.

use std::time::Duration;

use crate::common::{Session, TestApp, assert_error, spawn_app};
use reqwest::StatusCode;
use serde_json::{Value, json};
use urr_wire::status::QueueStatus;
use uuid::Uuid;

/// Assigns `user` a Tier-1 position and waits until the room admits them; the token.
async fn pass_tier1(app: &TestApp, event: Uuid, user: &Session) -> (u64, String) {
    let assigned: Value = app
        .post(
            &format!("/vwr-api/vwr/assign/{event}"),
            &json!({"userId": user.user_id.to_string()}),
        )
        .await
        .json()
        .await
        .expect("assign");
    let position = assigned["position"].as_u64().expect("position");
    let request = assigned["requestId"]
        .as_str()
        .expect("request id")
        .to_owned();
    for _ in 0..100 {
        let check: Value = app
            .get(&format!(
                "/vwr-api/vwr/check/{event}/{request}?userId={}",
                user.user_id
            ))
            .await
            .json()
            .await
            .expect("check");
        if let Some(token) = check["token"].as_str() {
            return (position, token.to_owned());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("never admitted by Tier 1");
}

#[tokio::test]
async fn an_active_room_gates_the_queue_and_its_positions_order_it() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (event, _) = app.seated_event(&admin, 1, 4).await;
    app.queue_settings(&admin, event, json!({"threshold": 1}))
        .await;

    // The room is off: the queue needs no Tier-1 token, and assign says so.
    let filler = app.quick_user("filler").await;
    assert_eq!(
        app.queue_check(event, &filler).await.status,
        QueueStatus::Active
    );
    let off = app
        .post(
            &format!("/vwr-api/vwr/assign/{event}"),
            &json!({"userId": "u"}),
        )
        .await;
    assert_error(off, StatusCode::NOT_FOUND, "vwr_inactive").await;

    // An admin opens the room (admin JWT, through the edge).
    let open = app
        .post_as(
            &format!("/vwr-api/vwr/admin/rooms/{event}/open"),
            &json!({"batch": 500, "intervalSecs": 1}),
            &admin,
        )
        .await;
    assert_eq!(open.status(), StatusCode::OK, "{:?}", open.text().await);
    let status: Value = app
        .get(&format!("/vwr-api/vwr/status/{event}"))
        .await
        .json()
        .await
        .expect("status");
    assert_eq!(status["isActive"], true);

    let early = app.quick_user("early").await;
    let late = app.quick_user("late").await;
    let refused = app
        .post_as(&format!("/api/v1/queue/check/{event}"), &json!({}), &late)
        .await;
    assert_error(refused, StatusCode::FORBIDDEN, "tier1_token_required").await;

    let (early_pos, early_token) = pass_tier1(&app, event, &early).await;
    let (late_pos, late_token) = pass_tier1(&app, event, &late).await;
    assert!(early_pos < late_pos);
    // The late one checks in first; the earlier Tier-1 position still goes ahead.
    for (user, token) in [(&late, &late_token), (&early, &early_token)] {
        let response = app
            .client
            .post(app.url(&format!("/api/v1/queue/check/{event}")))
            .bearer_auth(&user.access)
            .header("x-vwr-token", token)
            .send()
            .await
            .expect("check");
        assert_eq!(response.status(), StatusCode::OK);
    }
    assert_eq!(app.queue_status(event, &early).await.position, Some(1));
    assert_eq!(app.queue_status(event, &late).await.position, Some(2));
    // Someone else's Tier-1 token is refused.
    let thief = app.quick_user("thief").await;
    let stolen = app
        .client
        .post(app.url(&format!("/api/v1/queue/check/{event}")))
        .bearer_auth(&thief.access)
        .header("x-vwr-token", &early_token)
        .send()
        .await
        .expect("check");
    assert_error(stolen, StatusCode::FORBIDDEN, "forbidden").await;
}
