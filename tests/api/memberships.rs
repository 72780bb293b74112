//! Fan clubs, memberships, points and members-only pre-sales (`docs/architecture.md#fan-clubs-pre-sales-and-transfers`) through the real
//! router, payments (sandbox), actor, Postgres and the outbox.

use crate::common::{ClubEvent, Session, TestApp, assert_error, spawn_app_with};
use chrono::{Duration, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};
use urr_wire::payments::{PaymentView, PreparedPayment};
use urr_wire::status::{PaymentPurpose, PaymentStatus};
use uuid::Uuid;

async fn app() -> TestApp {
    spawn_app_with(|c| {
        c.events.queue_tick_ms = 50;
        c.payments.payment_sandbox = true;
        // Toss is on (prepare refuses without it); these tests never reach its API.
        c.payments.toss_secret_key = Some("test_sk_urr".into());
    })
    .await
}

/// The caller's membership of `artist`, with its point history.
async fn membership(app: &TestApp, user: &Session, artist: Uuid) -> Value {
    let list: Value = app
        .get_as("/api/v1/memberships", user)
        .await
        .json()
        .await
        .expect("memberships");
    let id = list["memberships"]
        .as_array()
        .expect("list")
        .iter()
        .find(|m| m["artistId"] == artist.to_string())
        .and_then(|m| m["membershipId"].as_str())
        .expect("a membership of this artist")
        .to_owned();
    let detail = app.get_as(&format!("/api/v1/memberships/{id}"), user).await;
    assert_eq!(detail.status(), StatusCode::OK);
    detail.json().await.expect("membership")
}

async fn put_presales(
    app: &TestApp,
    admin: &Session,
    event: Uuid,
    body: Value,
) -> reqwest::Response {
    app.put_as(
        &format!("/api/v1/admin/events/{event}/presales"),
        &body,
        admin,
    )
    .await
}

async fn check_in(app: &TestApp, event: Uuid, user: &Session) -> reqwest::Response {
    app.post_as(&format!("/api/v1/queue/check/{event}"), &json!({}), user)
        .await
}

#[tokio::test]
async fn joining_a_free_club_activates_at_once_and_a_paid_one_once_paid() {
    let app = app().await;
    let admin = app.admin().await;
    let fan = app.quick_user("fan").await;

    let free = app.artist_with_club(&admin, 0).await;
    let joined = app.join_club(&fan, free).await;
    assert_eq!(joined.status(), StatusCode::CREATED);
    let joined: Value = joined.json().await.unwrap();
    assert_eq!(joined["status"], "active");
    assert_eq!(joined["tier"], "silver");
    assert_eq!(joined["points"], 200, "the seed's welcome bonus");
    assert_eq!(joined["paymentRequired"], false);
    assert_eq!(joined["nextTier"], "gold");
    assert_eq!(joined["nextTierPoints"], 500);
    assert_error(
        app.join_club(&fan, free).await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    assert_eq!(app.outbox("MembershipActivated").await, 1);

    let paid = app.artist_with_club(&admin, 30000).await;
    let club: Value = app
        .get(&format!("/api/v1/artists/{paid}/membership"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(club["price"], 30000);
    assert_eq!(club["free"], false);
    assert_eq!(club["tiers"][2]["tier"], "diamond");
    let pending = app.join_club(&fan, paid).await;
    assert_eq!(pending.status(), StatusCode::CREATED);
    let pending: Value = pending.json().await.unwrap();
    assert_eq!(pending["status"], "pending");
    assert_eq!(pending["paymentRequired"], true);
    assert_eq!(pending["points"], 0);
    let id = pending["membershipId"].as_str().unwrap().to_owned();
    let again = app.join_club(&fan, paid).await;
    assert_eq!(
        again.status(),
        StatusCode::OK,
        "still pending: the same one"
    );
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["membershipId"], id.as_str());
    assert_eq!(
        app.outbox("MembershipActivated").await,
        1,
        "not before payment"
    );

    // Another fan cannot pay for it; the owner pays through the payments flow.
    let stranger = app.quick_user("stranger").await;
    let theirs = app.pay_membership(&stranger, &id).await;
    assert_error(theirs, StatusCode::NOT_FOUND, "not_found").await;
    let both = app
        .post_as(
            "/api/v1/payments/prepare",
            &json!({"membershipId": id, "reservationId": Uuid::new_v4()}),
            &fan,
        )
        .await;
    assert_error(both, StatusCode::BAD_REQUEST, "invalid_input").await;
    let prepared: PreparedPayment = app
        .post_as(
            "/api/v1/payments/prepare",
            &json!({"membershipId": id}),
            &fan,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(prepared.amount, 30000);
    assert_eq!(prepared.purpose, PaymentPurpose::Membership);
    assert_eq!(
        prepared.membership_id.map(|m| m.to_string()),
        Some(id.clone())
    );
    let paid_fee = app.pay_membership(&fan, &id).await;
    assert_eq!(paid_fee.status(), StatusCode::OK);
    let paid_fee: PaymentView = paid_fee.json().await.unwrap();
    assert_eq!(paid_fee.status, PaymentStatus::Done);
    assert_eq!(paid_fee.purpose, PaymentPurpose::Membership);
    assert_eq!(paid_fee.reservation_id, None);
    let active = membership(&app, &fan, paid).await;
    assert_eq!(active["status"], "active");
    assert_eq!(active["points"], 200);
    assert!(active["expiresAt"].is_string());
    assert_eq!(app.outbox("MembershipActivated").await, 2);
    let twice = app.pay_membership(&fan, &id).await;
    assert_eq!(twice.status(), StatusCode::OK, "idempotent");
    assert_eq!(app.outbox("PaymentConfirmed").await, 1, "charged once");
    let order = &paid_fee.order_id;
    let refund = app.refund(&fan, order).await;
    assert_error(refund, StatusCode::CONFLICT, "conflict").await;

    // Bad input: clear errors, nothing changes.
    let unknown = app.join_club(&fan, Uuid::new_v4()).await;
    assert_error(unknown, StatusCode::NOT_FOUND, "not_found").await;
    let junk = app
        .post_as("/api/v1/memberships", &json!({"artistId": "nope"}), &fan)
        .await;
    assert_error(junk, StatusCode::BAD_REQUEST, "invalid_input").await;
    assert_error(
        app.set_club(&fan, paid, json!({"price": 0})).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_error(
        app.set_club(&admin, paid, json!({"price": -1})).await,
        StatusCode::BAD_REQUEST,
        "invalid_input",
    )
    .await;
    assert_error(
        app.set_club(
            &admin,
            paid,
            json!({"price": 0, "goldPoints": 900, "diamondPoints": 900}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_input",
    )
    .await;
    let club: Value = app
        .get(&format!("/api/v1/artists/{paid}/membership"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(club["price"], 30000, "unchanged");
    let none = app
        .get(&format!("/api/v1/artists/{}/membership", Uuid::new_v4()))
        .await;
    assert_error(none, StatusCode::NOT_FOUND, "not_found").await;
    let anonymous = app.get("/api/v1/memberships").await;
    assert_error(anonymous, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

#[tokio::test]
async fn points_are_credited_on_a_confirmed_reservation_and_taken_back_on_refund() {
    let app = app().await;
    let admin = app.admin().await;
    let ClubEvent {
        artist,
        event,
        seats,
    } = app.club_event(&admin, 1, 6).await;
    let fan = app.member("fan", artist).await;
    let outsider = app.quick_user("outsider").await;

    let (reservation, order) = app.buy(&fan, event, &seats[..2], "first").await;
    let after = membership(&app, &fan, artist).await;
    assert_eq!(
        after["points"], 300,
        "200 welcome + 100 for the reservation"
    );
    let purchase = &after["pointHistory"][0];
    assert_eq!(purchase["reason"], "purchase");
    assert_eq!(purchase["points"], 100);
    assert_eq!(purchase["reservationId"], reservation.to_string());
    // Someone outside the club buys too: no points, no error.
    app.buy(&outsider, event, &seats[2..3], "outsider").await;
    let listed: Value = app
        .get_as("/api/v1/memberships", &outsider)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["memberships"], json!([]));

    // Redelivered bus events (the ticket consumer re-confirms) credit nothing more.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(membership(&app, &fan, artist).await["points"], 300);

    let refund = app.refund(&fan, &order).await;
    assert_eq!(refund.status(), StatusCode::OK);
    let refunded = membership(&app, &fan, artist).await;
    assert_eq!(
        refunded["points"], 200,
        "the reservation's points are taken back"
    );
    assert_eq!(refunded["pointHistory"][0]["reason"], "refund");
    assert_eq!(refunded["pointHistory"][0]["points"], -100);
    let again = app.refund(&fan, &order).await;
    // Asking again answers the refund's final state and takes nothing more back.
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(again.json::<Value>().await.unwrap()["status"], "refunded");
    assert_eq!(membership(&app, &fan, artist).await["points"], 200, "once");

    // Another purchase earns again; points decide the tier.
    app.buy(&fan, event, &seats[3..4], "second").await;
    let club = app
        .set_club(
            &admin,
            artist,
            json!({"price": 0, "goldPoints": 300, "diamondPoints": 1000}),
        )
        .await;
    assert_eq!(club.status(), StatusCode::OK);
    let gold = membership(&app, &fan, artist).await;
    assert_eq!(gold["points"], 300);
    assert_eq!(gold["tier"], "gold");
    assert_eq!(gold["nextTier"], "diamond");
}

#[tokio::test]
async fn a_presale_window_refuses_a_non_member_and_admits_a_member() {
    let app = app().await;
    let admin = app.admin().await;
    let ClubEvent {
        artist,
        event,
        seats,
    } = app.club_event(&admin, 1, 6).await;
    let member = app.member("member", artist).await;
    let outsider = app.quick_user("outsider").await;

    let detail: Value = app
        .get(&format!("/api/v1/events/{event}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(detail["presaleWindows"], json!([]), "none yet");

    let now = Utc::now();
    let closes = now + Duration::hours(1);
    let set = put_presales(
        &app,
        &admin,
        event,
        json!({"windows": [
            {"tier": "silver", "opensAt": (now - Duration::hours(1)).to_rfc3339(),
             "closesAt": closes.to_rfc3339()},
            {"tier": "diamond", "opensAt": (now - Duration::hours(2)).to_rfc3339(),
             "closesAt": closes.to_rfc3339()},
        ]}),
    )
    .await;
    assert_eq!(set.status(), StatusCode::OK);
    let detail: Value = app
        .get(&format!("/api/v1/events/{event}"))
        .await
        .json()
        .await
        .unwrap();
    let windows = detail["presaleWindows"].as_array().unwrap();
    assert_eq!(windows.len(), 2);
    assert_eq!(windows[0]["tier"], "diamond", "earliest first");
    assert_eq!(windows[1]["tier"], "silver");
    for window in windows {
        let keys: Vec<&String> = window.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 3, "{window}");
        assert!(window["opensAt"].is_string() && window["closesAt"].is_string());
    }

    // The non-member is refused on both ways in, with what is open and until when.
    let refused = assert_error(
        check_in(&app, event, &outsider).await,
        StatusCode::FORBIDDEN,
        "presale_members_only",
    )
    .await;
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(message.contains("silver pre-sale"), "{message}");
    assert!(message.contains("general sale opens at"), "{message}");
    assert!(message.contains("not a member"), "{message}");
    let hold = app.hold(&outsider, None, event, &seats[..1], "sneak").await;
    assert_error(hold, StatusCode::FORBIDDEN, "presale_members_only").await;
    let status: Value = app
        .get_as(&format!("/api/v1/queue/status/{event}"), &outsider)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        status["status"], "none",
        "the refused check-in joined nothing"
    );

    // The member queues, holds and buys.
    let (reservation, _) = app.buy(&member, event, &seats[..1], "early").await;
    let bought: Value = app.reservation(&member, reservation).await;
    assert_eq!(bought["status"], "confirmed");

    // A gold-only window turns the silver member away too, saying so.
    let gold = put_presales(
        &app,
        &admin,
        event,
        json!({"windows": [{"tier": "gold", "opensAt": (now - Duration::hours(1)).to_rfc3339(),
                            "closesAt": closes.to_rfc3339()}]}),
    )
    .await;
    assert_eq!(gold.status(), StatusCode::OK);
    let silver = app.member("silver", artist).await;
    let refused = assert_error(
        check_in(&app, event, &silver).await,
        StatusCode::FORBIDDEN,
        "presale_members_only",
    )
    .await;
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("your fan-club tier is silver"),
        "{message}"
    );

    // With the windows cleared the general sale is open to everyone.
    let cleared = put_presales(&app, &admin, event, json!({"windows": []})).await;
    assert_eq!(cleared.status(), StatusCode::OK);
    assert_eq!(
        check_in(&app, event, &outsider).await.status(),
        StatusCode::OK
    );
    let detail: Value = app
        .get(&format!("/api/v1/events/{event}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(detail["presaleWindows"], json!([]));
}

#[tokio::test]
async fn presale_schedules_are_validated_and_the_seed_preset_ends_at_the_general_sale() {
    let app = app().await;
    let admin = app.admin().await;
    let fan = app.quick_user("fan").await;
    let ClubEvent { event, .. } = app.club_event(&admin, 1, 2).await;
    let (clubless, _) = app.seated_event(&admin, 1, 2).await;
    let now = Utc::now();
    let window = |tier: &str, from: i64, to: i64| {
        json!({"tier": tier, "opensAt": (now + Duration::hours(from)).to_rfc3339(),
               "closesAt": (now + Duration::hours(to)).to_rfc3339()})
    };
    for (body, status, code) in [
        (
            json!({"windows": [window("bronze", 1, 2)]}),
            StatusCode::BAD_REQUEST,
            "invalid_input",
        ),
        (
            json!({"windows": [window("gold", 2, 1)]}),
            StatusCode::BAD_REQUEST,
            "invalid_input",
        ),
        (
            json!({"windows": [window("gold", 1, 24 * 60)]}),
            StatusCode::BAD_REQUEST,
            "invalid_input",
        ),
        (
            json!({"preset": "tiketi"}),
            StatusCode::BAD_REQUEST,
            "invalid_input",
        ),
        (json!({}), StatusCode::BAD_REQUEST, "invalid_input"),
        (
            json!({"windows": "soon"}),
            StatusCode::BAD_REQUEST,
            "invalid_input",
        ),
    ] {
        let response = put_presales(&app, &admin, event, body).await;
        assert_error(response, status, code).await;
    }
    let no_club = put_presales(
        &app,
        &admin,
        clubless,
        json!({"windows": [window("gold", 1, 2)]}),
    )
    .await;
    assert_error(no_club, StatusCode::CONFLICT, "conflict").await;
    let not_admin = put_presales(&app, &fan, event, json!({"windows": []})).await;
    assert_error(not_admin, StatusCode::FORBIDDEN, "forbidden").await;
    let unknown = put_presales(&app, &admin, Uuid::new_v4(), json!({"windows": []})).await;
    assert_error(unknown, StatusCode::NOT_FOUND, "not_found").await;
    let detail: Value = app
        .get(&format!("/api/v1/events/{event}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(detail["presaleWindows"], json!([]), "nothing was stored");

    let seeded = put_presales(&app, &admin, event, json!({"preset": "seed"})).await;
    assert_eq!(seeded.status(), StatusCode::OK);
    let seeded: Value = seeded.json().await.unwrap();
    let windows = seeded["presaleWindows"].as_array().unwrap();
    let tiers: Vec<&str> = windows
        .iter()
        .map(|w| w["tier"].as_str().unwrap())
        .collect();
    assert_eq!(tiers, ["diamond", "gold", "silver"]);
    let sale_starts: chrono::DateTime<Utc> =
        detail["saleStartsAt"].as_str().unwrap().parse().unwrap();
    for w in windows {
        let closes: chrono::DateTime<Utc> = w["closesAt"].as_str().unwrap().parse().unwrap();
        assert_eq!(
            closes, sale_starts,
            "every window ends where the general sale begins"
        );
    }
}
