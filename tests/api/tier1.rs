//! Tier 1 inside the edge (`/vwr-api`, Redis store) feeding the Tier-2 queue: with the
//! event's room active, queue/check requires the room's token and orders by its position.

use std::time::Duration;

use crate::common::{Session, TestApp, assert_error, spawn_app};
use reqwest::StatusCode;
use serde_json::{Value, json};
use urr_wire::status::QueueStatus;
use uuid::Uuid;

/// Assigns `user` their Tier-1 place (as the signed-in user) and waits until the room
/// admits them; the position and the token.
pub(crate) async fn pass_tier1(app: &TestApp, event: Uuid, user: &Session) -> (u64, String) {
    let assigned: Value = app
        .post_as(&format!("/vwr-api/vwr/assign/{event}"), &json!({}), user)
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
            .get_as(&format!("/vwr-api/vwr/check/{event}/{request}"), user)
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
        .post_as(&format!("/vwr-api/vwr/assign/{event}"), &json!({}), &filler)
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

/// Opens `event`'s Tier-1 room as `admin`, admitting everyone at once.
pub(crate) async fn open_room(app: &TestApp, admin: &Session, event: Uuid) {
    let open = app
        .post_as(
            &format!("/vwr-api/vwr/admin/rooms/{event}/open"),
            &json!({"batch": 500, "intervalSecs": 1}),
            admin,
        )
        .await;
    assert_eq!(open.status(), StatusCode::OK, "{:?}", open.text().await);
}

/// A wrong operator key is refused even beside an admin's valid token (the node has no
/// key configured, so any key is wrong), though the token alone works. Found by the API
/// fuzz (`scripts/fuzz-api.sh`, its ignored-auth check).
#[tokio::test]
async fn a_wrong_operator_key_is_refused_beside_a_valid_token() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let event = Uuid::new_v4();
    // The token alone works.
    open_room(&app, &admin, event).await;
    let with_key = app
        .client
        .post(app.url(&format!("/vwr-api/vwr/admin/rooms/{event}/pause")))
        .bearer_auth(&admin.access)
        .header(urr_vwr::ADMIN_KEY_HEADER, "guess")
        .send()
        .await
        .expect("POST pause");
    assert_error(with_key, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

#[tokio::test]
async fn a_user_holds_one_place_bound_to_their_sign_in() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (event, _) = app.seated_event(&admin, 1, 4).await;
    open_room(&app, &admin, event).await;
    let path = format!("/vwr-api/vwr/assign/{event}");

    // Signed out, nobody joins, whatever the body claims.
    let fan = app.quick_user("fan").await;
    let anonymous = app
        .post(&path, &json!({"userId": fan.user_id.to_string()}))
        .await;
    assert_error(anonymous, StatusCode::UNAUTHORIZED, "unauthorized").await;

    // Joining again (by token or by the session cookie) gives back the same place.
    let first: Value = app
        .post_as(&path, &json!({}), &fan)
        .await
        .json()
        .await
        .expect("json");
    let by_cookie: Value = app
        .client
        .post(app.url(&path))
        .header("cookie", format!("access_token={}", fan.access))
        .send()
        .await
        .expect("assign")
        .json()
        .await
        .expect("json");
    assert_eq!(by_cookie["requestId"], first["requestId"], "{by_cookie}");
    assert_eq!(by_cookie["position"], first["position"]);
    // A body naming another user is not read: the place is still the fan's.
    let other = app.quick_user("other").await;
    let again: Value = app
        .post_as(&path, &json!({"userId": other.user_id.to_string()}), &fan)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(again["requestId"], first["requestId"]);

    // Someone else cannot check the fan's place.
    let request = first["requestId"].as_str().expect("request id");
    let snooped = app
        .get_as(&format!("/vwr-api/vwr/check/{event}/{request}"), &other)
        .await;
    assert_error(snooped, StatusCode::FORBIDDEN, "forbidden").await;

    // The fan's Tier-1 token is for the fan's account and opens the Tier-2 queue.
    let (position, token) = pass_tier1(&app, event, &fan).await;
    assert_eq!(Some(position), first["position"].as_u64());
    let checked = app
        .client
        .post(app.url(&format!("/api/v1/queue/check/{event}")))
        .bearer_auth(&fan.access)
        .header("x-vwr-token", &token)
        .send()
        .await
        .expect("check");
    assert_eq!(checked.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_unreadable_room_fails_closed_with_a_retryable_503() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (event, _) = app.seated_event(&admin, 1, 4).await;
    app.queue_settings(&admin, event, json!({"threshold": 10}))
        .await;
    open_room(&app, &admin, event).await;
    let passed = app.quick_user("passed").await;
    let (_, token) = pass_tier1(&app, event, &passed).await;

    // The room's record becomes unreadable (as a store fault would make it).
    let mut conn = app.kv.conn();
    let _: i64 = redis::cmd("HSET")
        .arg(app.kv.key(&format!("vwr:{{{event}}}:room")))
        .arg("state")
        .arg("not json")
        .query_async(&mut conn)
        .await
        .expect("corrupt the room record");
    // Past the room's short read cache.
    tokio::time::sleep(Duration::from_millis(700)).await;

    let walker = app.quick_user("walker").await;
    let refused = app
        .post_as(&format!("/api/v1/queue/check/{event}"), &json!({}), &walker)
        .await;
    let retry_after = refused
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    assert!(
        retry_after.is_some_and(|s| s >= 1),
        "Retry-After: {retry_after:?}"
    );
    assert_error(
        refused,
        StatusCode::SERVICE_UNAVAILABLE,
        "tier1_unavailable",
    )
    .await;
    assert_eq!(
        app.queue_status(event, &walker).await.status,
        QueueStatus::Absent,
        "nobody got around the room"
    );
    let rules = app.get(&format!("/api/v1/events/{event}/booking")).await;
    assert_error(rules, StatusCode::SERVICE_UNAVAILABLE, "tier1_unavailable").await;

    // Whoever already passed the room still gets in: their token is proof enough.
    let admitted = app
        .client
        .post(app.url(&format!("/api/v1/queue/check/{event}")))
        .bearer_auth(&passed.access)
        .header("x-vwr-token", &token)
        .send()
        .await
        .expect("check");
    assert_eq!(admitted.status(), StatusCode::OK);
}
