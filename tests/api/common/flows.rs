//! The set-up flows the payment, membership and transfer tests share: a fan club with an
//! event, a member, a hold, a sale through the sandbox, a refund, and reading back the
//! reservation and the payment they left.

use std::fmt::Display;

use reqwest::{Response, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use urr_wire::payments::PaymentView;
use urr_wire::reservations::ReservationView;
use urr_wire::status::PaymentStatus;
use uuid::Uuid;

use super::{Session, TestApp};

/// An artist with a free fan club and one seated event of theirs.
pub struct ClubEvent {
    pub artist: Uuid,
    pub event: Uuid,
    pub seats: Vec<Uuid>,
}

impl TestApp {
    /// A new artist whose fan club costs `price` won a year (0: free to join).
    pub async fn artist_with_club(&self, admin: &Session, price: i64) -> Uuid {
        let id = self.artist(admin).await;
        let club = self.set_club(admin, id, json!({"price": price})).await;
        assert_eq!(club.status(), StatusCode::OK, "set up the fan club");
        id
    }

    /// A new artist (IU), created by `admin`.
    pub async fn artist(&self, admin: &Session) -> Uuid {
        let response = self
            .post_as("/api/v1/admin/artists", &json!({"name": "IU"}), admin)
            .await;
        assert_eq!(response.status(), StatusCode::CREATED, "create the artist");
        let artist: Value = response.json().await.expect("artist");
        artist["id"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .expect("artist id")
    }

    /// Asks, as `who`, to set `artist`'s fan club (price, tier thresholds) to `body`.
    pub async fn set_club(&self, who: &Session, artist: Uuid, body: Value) -> Response {
        self.put_as(
            &format!("/api/v1/admin/artists/{artist}/membership"),
            &body,
            who,
        )
        .await
    }

    /// Like [`TestApp::seated_event`], for `artist`.
    pub async fn artist_event(
        &self,
        admin: &Session,
        artist: Uuid,
        rows: u32,
        per_row: u32,
    ) -> (Uuid, Vec<Uuid>) {
        let (event, seats) = self.seated_event(admin, rows, per_row).await;
        let response = self
            .patch_as(
                &format!("/api/v1/admin/events/{event}"),
                &json!({"artistId": artist}),
                admin,
            )
            .await;
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "give the event its artist"
        );
        (event, seats)
    }

    /// Queues, holds `seats` and pays with the sandbox (which must be on): a confirmed
    /// reservation. Returns its id and the payment's order id.
    pub async fn buy(
        &self,
        user: &Session,
        event: Uuid,
        seats: &[Uuid],
        key: &str,
    ) -> (Uuid, String) {
        let held = self.enter_and_hold(user, event, seats, key).await;
        assert_eq!(held.status(), StatusCode::CREATED, "hold");
        let held: ReservationView = held.json().await.expect("hold json");
        let reservation = held.reservation_id;
        let paid = self.pay_reservation(user, reservation, "kakaopay").await;
        let status = paid.status();
        let text = paid.text().await.expect("payment body");
        assert_eq!(status, StatusCode::OK, "pay: {text}");
        let paid: PaymentView = serde_json::from_str(&text).expect("payment json");
        assert_eq!(paid.status, PaymentStatus::Done);
        (reservation, paid.order_id)
    }

    /// An artist with a free fan club and a seated event of `rows` × `per_row` seats.
    pub async fn club_event(&self, admin: &Session, rows: u32, per_row: u32) -> ClubEvent {
        let artist = self.artist_with_club(admin, 0).await;
        let (event, seats) = self.artist_event(admin, artist, rows, per_row).await;
        ClubEvent {
            artist,
            event,
            seats,
        }
    }

    /// Asks to join `artist`'s fan club.
    pub async fn join_club(&self, user: &Session, artist: Uuid) -> Response {
        self.post_as("/api/v1/memberships", &json!({"artistId": artist}), user)
            .await
    }

    /// A new user who has joined `artist`'s free fan club.
    pub async fn member(&self, label: &str, artist: Uuid) -> Session {
        let user = self.quick_user(label).await;
        let joined = self.join_club(&user, artist).await;
        assert_eq!(joined.status(), StatusCode::CREATED, "join the fan club");
        user
    }

    /// Queues for `event` until admitted, then asks to hold `seats`.
    pub async fn enter_and_hold(
        &self,
        user: &Session,
        event: Uuid,
        seats: &[Uuid],
        key: &str,
    ) -> Response {
        let entry = self.enter(event, user).await;
        self.hold(user, Some(&entry), event, seats, key).await
    }

    /// Queues, holds `seats` and returns the pending reservation's id.
    pub async fn held_reservation(
        &self,
        user: &Session,
        event: Uuid,
        seats: &[Uuid],
        key: &str,
    ) -> Uuid {
        let held: Value = self
            .enter_and_hold(user, event, seats, key)
            .await
            .json()
            .await
            .expect("hold json");
        held["reservationId"]
            .as_str()
            .and_then(|id| id.parse().ok())
            .expect("a reservation id")
    }

    /// Pays for a held reservation through the sandbox with `method`.
    pub async fn pay_reservation(
        &self,
        user: &Session,
        reservation: impl Display,
        method: &str,
    ) -> Response {
        let body = json!({"reservationId": reservation.to_string(), "method": method});
        self.post_as("/api/v1/payments/process", &body, user).await
    }

    /// Pays a paid fan club's fee through the sandbox (kakaopay).
    pub async fn pay_membership(&self, user: &Session, membership: &str) -> Response {
        let body = json!({"membershipId": membership, "method": "kakaopay"});
        self.post_as("/api/v1/payments/process", &body, user).await
    }

    /// Buys a listed ticket through the sandbox (naverpay).
    pub async fn pay_transfer(&self, user: &Session, transfer: &str) -> Response {
        let body = json!({"transferId": transfer, "method": "naverpay"});
        self.post_as("/api/v1/payments/process", &body, user).await
    }

    /// Asks for the payment of `order` back.
    pub async fn refund(&self, user: &Session, order: &str) -> Response {
        self.post_as(
            &format!("/api/v1/payments/{order}/refund"),
            &json!({}),
            user,
        )
        .await
    }

    /// The reservation `id` as its owner (or an admin) sees it.
    pub async fn reservation(&self, user: &Session, id: impl Display) -> Value {
        self.get_as(&format!("/api/v1/reservations/{id}"), user)
            .await
            .json()
            .await
            .expect("reservation json")
    }

    /// The payment of `order` as its payer sees it.
    pub async fn payment<T: DeserializeOwned>(&self, user: &Session, order: &str) -> T {
        self.get_as(&format!("/api/v1/payments/{order}"), user)
            .await
            .json()
            .await
            .expect("payment json")
    }
}
