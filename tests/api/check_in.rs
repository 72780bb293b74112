//! Tickets at the door (`docs/tickets.md`) through the real router, store and payments
//! sandbox: signed codes and QR images for confirmed tickets only, the first scan admits
//! and every later one is told when and where it was, codes die with a refund or a
//! transfer, doors racing on one code admit it once, and the operator's door figures.

use std::io::Cursor;

use crate::common::{Session, TestApp, assert_error, spawn_app_with};
use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};
use urr_wire::tickets::{CheckInRefusal, CheckInReply, DoorCountsView, TicketsView};
use uuid::Uuid;

async fn app() -> TestApp {
    spawn_app_with(|c| {
        c.events.queue_tick_ms = 50;
        c.payments.payment_sandbox = true;
    })
    .await
}

async fn tickets(app: &TestApp, user: &Session, reservation: Uuid) -> reqwest::Response {
    app.get_as(&format!("/api/v1/reservations/{reservation}/tickets"), user)
        .await
}

async fn codes(app: &TestApp, user: &Session, reservation: Uuid) -> Vec<String> {
    let listed = tickets(app, user, reservation).await;
    assert_eq!(listed.status(), StatusCode::OK);
    let listed: TicketsView = listed.json().await.expect("tickets");
    listed.tickets.into_iter().map(|t| t.code).collect()
}

async fn scan(
    app: &TestApp,
    staff: &Session,
    event: Uuid,
    code: &str,
    gate: &str,
) -> reqwest::Response {
    let body = json!({"eventId": event, "code": code, "gate": gate});
    app.post_as("/api/v1/check-in", &body, staff).await
}

/// A user the admin has made door staff.
async fn door_staff(app: &TestApp, admin: &Session) -> Session {
    let staff = app.quick_user("door").await;
    let made = app
        .put_as(
            "/api/v1/admin/roles",
            &json!({"email": staff.email, "role": "staff"}),
            admin,
        )
        .await;
    assert_eq!(made.status(), StatusCode::OK, "make staff");
    staff
}

async fn counts(app: &TestApp, admin: &Session, event: Uuid) -> DoorCountsView {
    let counted = app
        .get_as(&format!("/api/v1/admin/events/{event}/check-ins"), admin)
        .await;
    assert_eq!(counted.status(), StatusCode::OK);
    counted.json().await.expect("counts")
}

/// `code` as a phone would photograph it off a screen: a PNG of its QR image.
fn photo_of(code: &str) -> Vec<u8> {
    let qr = qrcode::QrCode::new(code.as_bytes()).expect("encodes");
    let image = qr
        .render::<image::Luma<u8>>()
        .min_dimensions(400, 400)
        .build();
    let mut png = Vec::new();
    image::DynamicImage::ImageLuma8(image)
        .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
        .expect("png");
    png
}

#[tokio::test]
async fn a_ticket_admits_once_and_a_second_scan_says_when_and_where_the_first_was() {
    let app = app().await;
    let admin = app.admin().await;
    let (event, seats) = app.seated_event(&admin, 1, 4).await;
    let (other_event, _) = app.seated_event(&admin, 1, 1).await;
    let buyer = app.quick_user("buyer").await;

    // Before payment a reservation has no tickets.
    let pending = app
        .held_reservation(&buyer, event, &seats[2..3], "pending")
        .await;
    let listed: TicketsView = tickets(&app, &buyer, pending).await.json().await.unwrap();
    assert!(listed.tickets.is_empty(), "a pending hold admits nobody");

    let (reservation, _) = app.buy(&buyer, event, &seats[..2], "mine").await;
    let listed: TicketsView = tickets(&app, &buyer, reservation)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed.event_id, event);
    let labels: Vec<_> = listed.tickets.iter().map(|t| t.label.as_str()).collect();
    assert_eq!(labels, ["A-1-1", "A-1-2"]);
    assert_ne!(listed.tickets[0].code, listed.tickets[1].code);
    for ticket in &listed.tickets {
        assert!(ticket.qr_svg.contains("<svg"), "a QR image");
    }
    let stranger = app.quick_user("stranger").await;
    let theirs = tickets(&app, &stranger, reservation).await;
    assert_error(theirs, StatusCode::NOT_FOUND, "not_found").await;
    let codes: Vec<String> = listed.tickets.into_iter().map(|t| t.code).collect();

    // Only staff check in; the buyer is not.
    let refused = scan(&app, &buyer, event, &codes[0], "North").await;
    assert_error(refused, StatusCode::FORBIDDEN, "forbidden").await;
    let staff = door_staff(&app, &admin).await;

    let first = scan(&app, &staff, event, &codes[0], "North").await;
    assert_eq!(first.status(), StatusCode::OK);
    let first: CheckInReply = first.json().await.unwrap();
    assert_eq!(first.ticket.reservation_id, reservation);
    assert_eq!(first.ticket.label, "A-1-1");
    assert_eq!(first.ticket.holder_name, "buyer");
    assert_eq!(first.check_in.gate, "North");
    assert_eq!(first.check_in.staff_name, "door");

    // The same code again, at another gate, typed in lower case: refused, with the first.
    let again = scan(&app, &staff, event, &codes[0].to_lowercase(), "South").await;
    let again = assert_error(again, StatusCode::CONFLICT, "already_checked_in").await;
    let again: CheckInRefusal = serde_json::from_value(again).unwrap();
    let before = again.first_check_in.expect("the first scan");
    assert_eq!(before.gate, "North");
    assert_eq!(before.at, first.check_in.at);
    assert_eq!(again.ticket.map(|t| t.label).as_deref(), Some("A-1-1"));

    // The second ticket from a photo of its QR image.
    let photo = app
        .client
        .post(app.url(&format!(
            "/api/v1/check-in/photo?eventId={event}&gate=South"
        )))
        .bearer_auth(&staff.access)
        .header("content-type", "image/png")
        .body(photo_of(&codes[1]))
        .send()
        .await
        .unwrap();
    assert_eq!(photo.status(), StatusCode::OK);
    let photo: CheckInReply = photo.json().await.unwrap();
    assert_eq!(photo.ticket.label, "A-1-2");

    // A valid ticket at another event's door, an altered code, garbage, a photo of
    // nothing: each refused with its own code, and nothing recorded.
    let elsewhere = scan(&app, &staff, other_event, &codes[1], "North").await;
    assert_error(elsewhere, StatusCode::CONFLICT, "wrong_event").await;
    let mut altered = codes[1].clone();
    let last = if altered.ends_with('A') { "B" } else { "A" };
    altered.replace_range(altered.len() - 1.., last);
    for bad in [altered.as_str(), "hello", "URR1"] {
        let forged = scan(&app, &staff, event, bad, "North").await;
        assert_error(forged, StatusCode::BAD_REQUEST, "invalid_ticket_code").await;
    }
    let no_gate = scan(&app, &staff, event, &codes[1], " ").await;
    assert_error(no_gate, StatusCode::BAD_REQUEST, "invalid_input").await;
    let blank = app
        .client
        .post(app.url(&format!(
            "/api/v1/check-in/photo?eventId={event}&gate=South"
        )))
        .bearer_auth(&staff.access)
        .header("content-type", "image/png")
        .body(b"not a photo".to_vec())
        .send()
        .await
        .unwrap();
    assert_error(blank, StatusCode::BAD_REQUEST, "invalid_input").await;

    let counted = counts(&app, &admin, event).await;
    assert_eq!((counted.tickets, counted.checked_in), (2, 2));
    let gates: Vec<_> = counted
        .by_gate
        .iter()
        .map(|g| (g.gate.as_str(), g.checked_in))
        .collect();
    assert_eq!(gates, [("North", 1), ("South", 1)]);
    let nosy = app
        .get_as(&format!("/api/v1/admin/events/{event}/check-ins"), &staff)
        .await;
    assert_error(nosy, StatusCode::FORBIDDEN, "forbidden").await;
}

#[tokio::test]
async fn a_refund_and_a_transfer_void_the_old_codes() {
    let app = app().await;
    let admin = app.admin().await;
    let club = app.club_event(&admin, 1, 4).await;
    let staff = door_staff(&app, &admin).await;

    // Refunded: its code no longer admits, and it has no tickets any more.
    let refunded = app.member("refunded", club.artist).await;
    let (reservation, order) = app.buy(&refunded, club.event, &club.seats[..1], "r").await;
    let old = codes(&app, &refunded, reservation).await;
    let back = app.refund(&refunded, &order).await;
    assert_eq!(back.status(), StatusCode::OK, "refund");
    let void = scan(&app, &staff, club.event, &old[0], "North").await;
    let void = assert_error(void, StatusCode::GONE, "ticket_void").await;
    assert!(
        void["error"]["message"]
            .as_str()
            .unwrap()
            .contains("cancelled")
    );
    assert!(codes(&app, &refunded, reservation).await.is_empty());

    // Transferred: the seller's code is void, the buyer's new one admits.
    let seller = app.member("seller", club.artist).await;
    let buyer = app.member("newholder", club.artist).await;
    let (reservation, _) = app.buy(&seller, club.event, &club.seats[1..2], "s").await;
    let sellers = codes(&app, &seller, reservation).await;
    let listed: Value = app
        .post_as(
            "/api/v1/transfers",
            &json!({"reservationId": reservation, "price": 10000}),
            &seller,
        )
        .await
        .json()
        .await
        .unwrap();
    let transfer = listed["transferId"].as_str().expect("listed").to_owned();
    let paid = app.pay_transfer(&buyer, &transfer).await;
    assert_eq!(paid.status(), StatusCode::OK, "transfer paid");
    let gone = tickets(&app, &seller, reservation).await;
    assert_error(gone, StatusCode::NOT_FOUND, "not_found").await;
    let buyers = codes(&app, &buyer, reservation).await;
    assert_ne!(buyers, sellers);
    let replaced = scan(&app, &staff, club.event, &sellers[0], "North").await;
    let replaced = assert_error(replaced, StatusCode::GONE, "ticket_void").await;
    assert!(
        replaced["error"]["message"]
            .as_str()
            .unwrap()
            .contains("transferred")
    );
    let admitted = scan(&app, &staff, club.event, &buyers[0], "North").await;
    assert_eq!(admitted.status(), StatusCode::OK);
    let admitted: CheckInReply = admitted.json().await.unwrap();
    assert_eq!(admitted.ticket.holder_name, "newholder");

    let counted = counts(&app, &admin, club.event).await;
    assert_eq!((counted.tickets, counted.checked_in), (1, 1));
}

#[tokio::test]
async fn doors_racing_on_one_code_admit_it_once() {
    let app = app().await;
    let admin = app.admin().await;
    let (event, seats) = app.seated_event(&admin, 1, 1).await;
    let buyer = app.quick_user("buyer").await;
    let (reservation, _) = app.buy(&buyer, event, &seats, "mine").await;
    let code = codes(&app, &buyer, reservation).await.remove(0);
    let staff = door_staff(&app, &admin).await;

    let gates: Vec<String> = (0..8).map(|i| format!("Gate {i}")).collect();
    let scans = join_all(gates.iter().map(|g| scan(&app, &staff, event, &code, g))).await;
    let statuses: Vec<StatusCode> = scans.iter().map(|r| r.status()).collect();
    let admitted = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::CONFLICT)
        .count();
    assert_eq!((admitted, refused), (1, 7), "{statuses:?}");
    assert_eq!(counts(&app, &admin, event).await.checked_in, 1);
}

#[tokio::test]
async fn only_an_admin_makes_staff_and_never_an_admin() {
    let app = app().await;
    let admin = app.admin().await;
    let user = app.quick_user("someone").await;
    let as_user = app
        .put_as(
            "/api/v1/admin/roles",
            &json!({"email": user.email, "role": "staff"}),
            &user,
        )
        .await;
    assert_error(as_user, StatusCode::FORBIDDEN, "forbidden").await;
    for (body, status, code) in [
        (
            json!({"email": user.email, "role": "admin"}),
            StatusCode::BAD_REQUEST,
            "invalid_input",
        ),
        (
            json!({"email": user.email, "role": "king"}),
            StatusCode::BAD_REQUEST,
            "invalid_input",
        ),
        (
            json!({"email": "nobody@urr.test", "role": "staff"}),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            json!({"email": admin.email, "role": "user"}),
            StatusCode::CONFLICT,
            "conflict",
        ),
    ] {
        let refused = app.put_as("/api/v1/admin/roles", &body, &admin).await;
        assert_error(refused, status, code).await;
    }
    let account = urr_store::users::find_by_id(&app.db, user.user_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        account.role,
        urr_wire::status::Role::User,
        "nothing changed"
    );
}
