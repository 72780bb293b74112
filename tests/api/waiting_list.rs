//! The waiting list (`docs/waiting-list.md`) through the real router, actor, Redis and
//! PostgreSQL: only a sold-out event has one; seats that come back (a cancelled or lapsed
//! hold, a refund) are held for the people on it in the order they joined, for the
//! event's offer time; an unpaid offer passes to the next; nobody else can take an offered
//! seat, and no seat is ever held for two people.

use std::collections::HashMap;
use std::time::Duration;

use crate::common::{Session, TestApp, assert_error, spawn_app_with};
use reqwest::StatusCode;
use serde_json::json;
use urr_wire::status::WaitlistStatus;
use urr_wire::waitlist::WaitlistView;
use uuid::Uuid;

async fn app() -> TestApp {
    spawn_app_with(|c| {
        c.events.queue_tick_ms = 50;
        c.payments.payment_sandbox = true;
    })
    .await
}

async fn join(app: &TestApp, user: &Session, event: Uuid, quantity: i64) -> reqwest::Response {
    app.post_as(
        &format!("/api/v1/waitlist/{event}"),
        &json!({ "quantity": quantity }),
        user,
    )
    .await
}

async fn standing(app: &TestApp, user: &Session, event: Uuid) -> WaitlistView {
    let got = app.get_as(&format!("/api/v1/waitlist/{event}"), user).await;
    assert_eq!(got.status(), StatusCode::OK);
    got.json().await.expect("waitlist view")
}

/// Waits (polling) until `user` stands as `status`.
async fn until(app: &TestApp, user: &Session, event: Uuid, status: WaitlistStatus) -> WaitlistView {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let view = standing(app, user, event).await;
        if view.status == status {
            return view;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still {:?}, not {status:?}",
            view.status
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every seat is held by at most one live reservation, in PostgreSQL itself.
async fn never_double_held(app: &TestApp, event: Uuid) {
    let holders = urr_store::reservations::live_holders_per_seat(&app.db, event)
        .await
        .expect("live holders per seat");
    assert!(holders.iter().all(|(_, n)| *n == 1), "{holders:?}");
}

#[tokio::test]
async fn returned_seats_go_to_the_list_in_order_and_an_unpaid_offer_passes_on() {
    let app = app().await;
    let admin = app.admin().await;
    let (event, seats) = app.seated_event(&admin, 1, 2).await;
    // Offers last two seconds here, so one can lapse within the test.
    app.queue_settings(&admin, event, json!({"waitlistOfferSecs": 2}))
        .await;
    let early = app.quick_user("early").await;
    let refused = join(&app, &early, event, 1).await;
    assert_error(refused, StatusCode::CONFLICT, "seats_available").await;

    // Sold out: one seat sold, one held.
    let sold_to = app.quick_user("buyer").await;
    let (_, sold_order) = app.buy(&sold_to, event, &seats[..1], "sold").await;
    let holder = app.quick_user("holder").await;
    let held = app
        .held_reservation(&holder, event, &seats[1..], "held")
        .await;

    let first = app.quick_user("first").await;
    let second = app.quick_user("second").await;
    let pair = app.quick_user("pair").await;
    let joined = join(&app, &first, event, 1).await;
    assert_eq!(joined.status(), StatusCode::CREATED);
    let joined: WaitlistView = joined.json().await.unwrap();
    assert_eq!(
        (joined.status, joined.position),
        (WaitlistStatus::Waiting, Some(1))
    );
    assert_eq!(
        join(&app, &second, event, 1).await.status(),
        StatusCode::CREATED
    );
    assert_eq!(
        join(&app, &pair, event, 2).await.status(),
        StatusCode::CREATED
    );
    // Asking again keeps the place.
    let again = join(&app, &first, event, 1).await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(standing(&app, &second, event).await.position, Some(2));

    // The holder lets go: the seat is held for the first on the list at once.
    let cancelled = app
        .post_as(
            &format!("/api/v1/reservations/{held}/cancel"),
            &json!({}),
            &holder,
        )
        .await;
    assert_eq!(cancelled.status(), StatusCode::OK);
    let offered = until(&app, &first, event, WaitlistStatus::Offered).await;
    let offer = offered.offer.expect("an offer");
    let offer_view = app.reservation(&first, offer.reservation_id).await;
    assert_eq!(offer_view["status"], "pending");
    assert_eq!(offer_view["seats"][0]["seatId"], seats[1].to_string());
    let second_view = standing(&app, &second, event).await;
    assert_eq!(
        (second_view.status, second_view.position),
        (WaitlistStatus::Waiting, Some(1))
    );
    // Nobody else can take it meanwhile.
    let grab = app.quick_user("grabber").await;
    let grabbed = app.enter_and_hold(&grab, event, &seats[1..], "grab").await;
    assert_error(grabbed, StatusCode::CONFLICT, "seats_taken").await;
    never_double_held(&app, event).await;

    // Unpaid, the offer lapses and goes to the second; the pair (two seats) still waits.
    until(&app, &first, event, WaitlistStatus::Passed).await;
    let offered = until(&app, &second, event, WaitlistStatus::Offered).await;
    let offer = offered.offer.expect("an offer");
    never_double_held(&app, event).await;
    let paid = app
        .pay_reservation(&second, offer.reservation_id, "kakaopay")
        .await;
    assert_eq!(
        paid.status(),
        StatusCode::OK,
        "the offer is paid as any hold"
    );
    until(&app, &second, event, WaitlistStatus::Bought).await;
    assert_eq!(
        standing(&app, &pair, event).await.status,
        WaitlistStatus::Waiting
    );

    // A refund brings one seat back: the pair wants two, so it waits; the first, whose
    // offer passed, joins again at the end and gets it.
    let rejoined = join(&app, &first, event, 1).await;
    assert_eq!(rejoined.status(), StatusCode::CREATED);
    let refunded = app.refund(&sold_to, &sold_order).await;
    assert_eq!(refunded.status(), StatusCode::OK);
    until(&app, &first, event, WaitlistStatus::Offered).await;
    assert_eq!(
        standing(&app, &pair, event).await.status,
        WaitlistStatus::Waiting
    );
    never_double_held(&app, event).await;
}

#[tokio::test]
async fn many_returns_at_once_are_each_offered_to_one_person() {
    let app = app().await;
    let admin = app.admin().await;
    let (event, seats) = app.seated_event(&admin, 2, 4).await;
    // Four holders of two seats each sell the event out.
    let mut holds = Vec::new();
    for (n, pair) in seats.chunks(2).enumerate() {
        let holder = app.quick_user(&format!("holder{n}")).await;
        let held = app.held_reservation(&holder, event, pair, "h").await;
        holds.push((holder, held));
    }
    let mut waiting = Vec::new();
    for n in 0..10 {
        let user = app.quick_user(&format!("waiter{n}")).await;
        assert_eq!(
            join(&app, &user, event, 1).await.status(),
            StatusCode::CREATED
        );
        waiting.push(user);
    }
    // All four let go at once: eight seats for the first eight on the list.
    let app = &app;
    let cancels = holds.iter().map(|(holder, held)| async move {
        let path = format!("/api/v1/reservations/{held}/cancel");
        app.post_as(&path, &json!({}), holder).await
    });
    for cancelled in futures::future::join_all(cancels).await {
        assert_eq!(cancelled.status(), StatusCode::OK);
    }
    let mut seat_of: HashMap<String, usize> = HashMap::new();
    for (n, user) in waiting.iter().enumerate().take(8) {
        let offered = until(app, user, event, WaitlistStatus::Offered).await;
        let reservation = app
            .reservation(user, offered.offer.unwrap().reservation_id)
            .await;
        let seat = reservation["seats"][0]["seatId"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(seat_of.insert(seat, n).is_none(), "a seat offered twice");
    }
    for user in &waiting[8..] {
        let view = standing(app, user, event).await;
        assert_eq!(view.status, WaitlistStatus::Waiting);
    }
    assert_eq!(standing(app, &waiting[9], event).await.position, Some(2));
    never_double_held(app, event).await;
}

#[tokio::test]
async fn bad_requests_change_nothing() {
    let app = app().await;
    let admin = app.admin().await;
    let (event, seats) = app.seated_event(&admin, 1, 1).await;
    let holder = app.quick_user("holder").await;
    app.held_reservation(&holder, event, &seats, "h").await;
    let user = app.quick_user("someone").await;
    for quantity in [0, 5, -1] {
        let refused = join(&app, &user, event, quantity).await;
        assert_error(refused, StatusCode::BAD_REQUEST, "invalid_input").await;
    }
    let unknown = join(&app, &user, Uuid::new_v4(), 1).await;
    assert_error(unknown, StatusCode::NOT_FOUND, "not_found").await;
    let anonymous = app
        .post(
            &format!("/api/v1/waitlist/{event}"),
            &json!({"quantity": 1}),
        )
        .await;
    assert_error(anonymous, StatusCode::UNAUTHORIZED, "unauthorized").await;
    assert_eq!(
        standing(&app, &user, event).await.status,
        WaitlistStatus::None
    );
    // Joining then leaving leaves nobody waiting.
    assert_eq!(
        join(&app, &user, event, 1).await.status(),
        StatusCode::CREATED
    );
    let left = app
        .client
        .delete(app.url(&format!("/api/v1/waitlist/{event}")))
        .bearer_auth(&user.access)
        .send()
        .await
        .unwrap();
    assert_eq!(left.status(), StatusCode::OK);
    let left: WaitlistView = left.json().await.unwrap();
    assert_eq!(left.status, WaitlistStatus::None);
    assert_eq!(
        urr_store::waiting_list::waiting_count(&app.db, event)
            .await
            .unwrap(),
        0
    );
}
