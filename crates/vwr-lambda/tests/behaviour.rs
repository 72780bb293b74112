//! One behaviour suite, run against both stores: every scenario below runs once on Redis
//! and once on DynamoDB (served by a private moto_server), over HTTP through the real
//! router.

mod support;

use std::collections::HashSet;
use std::time::Duration;

use chrono::Utc;
use futures::future::join_all;
use serde_json::{Value, json};
use support::{ADMIN_KEY, Harness, Kind};
use urr_auth::{AuthError, QueueTokenClaims, Role, Tier, TokenKeys};
use urr_vwr::domain::shuffle::Shuffle;
use urr_vwr::{RoomDefaults, VwrStore};
use uuid::Uuid;

fn num(v: &Value, field: &str) -> u64 {
    v[field]
        .as_u64()
        .unwrap_or_else(|| panic!("{field} in {v}"))
}

fn text(v: &Value, field: &str) -> String {
    v[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} in {v}"))
        .to_owned()
}

/// 1,000 joins at once: every position unique, together exactly 1..=1000, and the
/// counter written far less than once per join.
async fn assign_is_atomic_and_batched(h: Harness) {
    let event = Harness::event();
    h.admin(&event, "open", json!({"batch": 100})).await;
    let joins = (0..1000).map(|i| {
        let h = &h;
        let event = &event;
        async move { h.assign(event, &format!("user-{i}")).await }
    });
    let replies = join_all(joins).await;
    let mut positions = Vec::new();
    let mut requests = HashSet::new();
    for (status, reply) in &replies {
        assert_eq!(*status, 200, "{reply}");
        positions.push(num(reply, "position"));
        assert!(requests.insert(text(reply, "requestId")));
        assert_eq!(num(reply, "servingCounter"), 0);
    }
    positions.sort_unstable();
    assert_eq!(positions, (1..=1000).collect::<Vec<u64>>());
    let writes = h.room.store().counter_writes();
    let per_join = writes as f64 / 1000.0;
    println!(
        "{:?}: {writes} counter writes for 1000 joins ({per_join:.3} per join)",
        h.kind
    );
    assert!(per_join < 0.25, "{writes} counter writes for 1000 joins");
    // Status may answer from a room read up to half a second old.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let status = h.status(&event).await;
    assert_eq!(
        status,
        json!({"isActive": true, "nextPosition": 1000, "servingCounter": 0})
    );
}

/// Admission is exactly `position <= servingCounter`, the token is for that user and
/// position, and the counter never passes the last position handed out.
async fn check_admits_exactly_the_served(h: Harness) {
    let event = Harness::event();
    h.admin(&event, "open", json!({"batch": 10, "intervalSecs": 10}))
        .await;
    let mut joined = Vec::new();
    for i in 0..25 {
        let user = format!("user-{i}");
        let (status, reply) = h.assign(&event, &user).await;
        assert_eq!(status, 200, "{reply}");
        joined.push((user, text(&reply, "requestId"), num(&reply, "position")));
    }
    let t0 = Utc::now();
    let step = h.room.advance(&event, t0).await.expect("advance");
    assert_eq!(step.admitted, 10);
    for (user, request, position) in &joined {
        let (status, reply) = h.check(&event, request, user).await;
        assert_eq!(status, 200, "{reply}");
        let admitted = *position <= 10;
        assert_eq!(reply["admitted"], json!(admitted), "{reply}");
        assert_eq!(num(&reply, "position"), *position);
        assert_eq!(num(&reply, "servingCounter"), 10);
        assert_eq!(num(&reply, "nextPoll"), 2);
        if admitted {
            let claims = h
                .keys
                .verify_queue(
                    &text(&reply, "token"),
                    Tier::One,
                    event.as_str(),
                    &h.uid(user),
                )
                .expect("a valid tier-1 token");
            assert_eq!(claims.pos, Some(*position));
            assert_eq!(claims.exp - claims.iat, 600);
        } else {
            assert!(reply.get("token").is_none(), "{reply}");
        }
    }
    // Someone else's requestId gets no token.
    let (status, reply) = h.check(&event, &joined[0].1, "intruder").await;
    assert_eq!(status, 403, "{reply}");
    // Not due again within the interval; then capped at nextPosition.
    assert_eq!(
        h.room
            .advance(&event, t0 + chrono::Duration::seconds(3))
            .await
            .expect("advance")
            .admitted,
        0
    );
    for k in 1..5 {
        h.room
            .advance(&event, t0 + chrono::Duration::seconds(10 * k))
            .await
            .expect("advance");
        let status = h.status(&event).await;
        assert!(
            num(&status, "servingCounter") <= num(&status, "nextPosition"),
            "{status}"
        );
    }
    assert_eq!(h.status(&event).await["servingCounter"], json!(25));
}

/// Positions admitted but never claimed within the claim window do not eat the batch.
async fn no_shows_are_replaced(h: Harness) {
    let event = Harness::event();
    h.admin(
        &event,
        "open",
        json!({"batch": 10, "intervalSecs": 10, "claimWindowSecs": 30}),
    )
    .await;
    let mut joined = Vec::new();
    for i in 0..60 {
        let user = format!("user-{i}");
        let (_, reply) = h.assign(&event, &user).await;
        joined.push((user, text(&reply, "requestId")));
    }
    let t0 = Utc::now();
    h.room.advance(&event, t0).await.expect("advance");
    // Four of the first ten come back for their token (twice, counted once).
    for (user, request) in joined.iter().take(4) {
        for _ in 0..2 {
            let (_, reply) = h.check(&event, request, user).await;
            assert_eq!(reply["admitted"], json!(true));
        }
    }
    h.room
        .advance(&event, t0 + chrono::Duration::seconds(10))
        .await
        .expect("advance");
    assert_eq!(h.status(&event).await["servingCounter"], json!(20));
    let step = h
        .room
        .advance(&event, t0 + chrono::Duration::seconds(31))
        .await
        .expect("advance");
    assert_eq!(step.no_shows_settled, 6);
    assert_eq!(step.admitted, 16);
    assert_eq!(h.status(&event).await["servingCounter"], json!(36));
}

/// Off, unknown, closed: 404 `vwr_inactive`, which the client takes as "bypass".
async fn inactive_rooms_answer_404(h: Harness) {
    let event = Harness::event();
    let (status, reply) = h.assign(&event, "u").await;
    assert_eq!(status, 404);
    assert_eq!(reply["error"]["code"], "vwr_inactive");
    assert_eq!(
        h.status(&event).await,
        json!({"isActive": false, "nextPosition": 0, "servingCounter": 0})
    );
    h.admin(&event, "open", json!({})).await;
    let (status, joined) = h.assign(&event, "u").await;
    assert_eq!(status, 200);
    h.admin(&event, "close", json!({})).await;
    let (status, reply) = h.assign(&event, "v").await;
    assert_eq!(status, 404);
    assert_eq!(reply["error"]["code"], "vwr_inactive");
    let (status, reply) = h.check(&event, &text(&joined, "requestId"), "u").await;
    assert_eq!(status, 404, "{reply}");
    assert_eq!(h.status(&event).await["isActive"], json!(false));
}

/// Unknown and expired requestIds answer 404 (the client then re-assigns).
async fn expired_positions_answer_404(h: Harness) {
    let event = Harness::event();
    h.admin(&event, "open", json!({})).await;
    let (_, joined) = h.assign(&event, "u").await;
    let request = text(&joined, "requestId");
    let (status, _) = h.check(&event, &request, "u").await;
    assert_eq!(status, 200);
    let (status, reply) = h.check(&event, &Uuid::new_v4().to_string(), "u").await;
    assert_eq!(status, 404);
    assert_eq!(reply["error"]["code"], "not_found");
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let (status, reply) = h.check(&event, &request, "u").await;
    assert_eq!(status, 404, "{reply}");
    // The lapsed place is no longer the user's: joining again takes a new one.
    let (status, again) = h.assign(&event, "u").await;
    assert_eq!(status, 200, "{again}");
    assert_ne!(text(&again, "requestId"), request);
}

/// The verifier refuses forged, expired, other-event, other-user and wrong-tier tokens.
async fn tokens_are_bound_and_unforgeable(h: Harness) {
    let event = Harness::event();
    h.admin(&event, "open", json!({"batch": 5})).await;
    let (_, joined) = h.assign(&event, "alice").await;
    h.room.advance(&event, Utc::now()).await.expect("advance");
    let (_, reply) = h.check(&event, &text(&joined, "requestId"), "alice").await;
    let token = text(&reply, "token");
    let e = event.as_str();
    let (alice, bob) = (h.uid("alice"), h.uid("bob"));
    assert!(h.keys.verify_queue(&token, Tier::One, e, &alice).is_ok());
    assert!(
        h.keys.verify_queue(&token, Tier::Two, e, &alice).is_err(),
        "wrong tier"
    );
    assert!(
        h.keys
            .verify_queue(&token, Tier::One, "42", &alice)
            .is_err(),
        "other event"
    );
    assert!(
        h.keys.verify_queue(&token, Tier::One, e, &bob).is_err(),
        "other user"
    );
    let forger = TokenKeys::new(b"not-the-secret-but-also-32-bytes-long");
    let (forged, _) = forger
        .issue_queue(e, &alice, Tier::One, Some(1))
        .expect("sign");
    assert!(
        h.keys.verify_queue(&forged, Tier::One, e, &alice).is_err(),
        "forged"
    );
    let mut tampered = token.clone();
    tampered.pop();
    tampered.push(if token.ends_with('A') { 'B' } else { 'A' });
    assert!(
        h.keys
            .verify_queue(&tampered, Tier::One, e, &alice)
            .is_err(),
        "tampered"
    );
    let now = Utc::now().timestamp();
    let stale = QueueTokenClaims {
        sub: e.into(),
        uid: alice.clone(),
        tier: Tier::One,
        pos: Some(1),
        iat: now - 700,
        exp: now - 100,
    };
    let expired = h.keys.sign(&stale).expect("sign");
    assert_eq!(
        h.keys.verify_queue(&expired, Tier::One, e, &alice),
        Err(AuthError::Expired)
    );
}

/// The pre-queue is shuffled at open by a seed published afterwards: the draw is a
/// bijection and anyone can recompute it; joins after open are first come first served.
async fn pre_queue_is_shuffled_by_a_published_seed(h: Harness) {
    let now = Utc::now();
    let later = Harness::event();
    let sched = |from: i64, to: i64| {
        json!({
            "preQueueOpensAt": (now + chrono::Duration::milliseconds(from)).to_rfc3339(),
            "saleOpensAt": (now + chrono::Duration::milliseconds(to)).to_rfc3339(),
        })
    };
    // Before the pre-queue opens, joins are refused (not bypassed).
    h.admin(&later, "schedule", sched(60_000, 120_000)).await;
    let (status, reply) = h.assign(&later, "early").await;
    assert_eq!(status, 409, "{reply}");
    assert_eq!(reply["error"]["code"], "not_open");

    let event = Harness::event();
    h.admin(&event, "open", json!({"batch": 1000})).await;
    let (status, _) = h.admin_raw(&event, "schedule", sched(-1000, 3000)).await;
    assert_eq!(status, 200);
    let mut tickets = Vec::new();
    for i in 0..40 {
        let user = format!("early-{i}");
        let (status, reply) = h.assign(&event, &user).await;
        assert_eq!(status, 200, "{reply}");
        assert_eq!(reply["preQueue"], json!(true));
        tickets.push((user, text(&reply, "requestId"), num(&reply, "position")));
    }
    let (_, waiting) = h.check(&event, &tickets[0].1, &tickets[0].0).await;
    assert_eq!(waiting["preQueue"], json!(true), "{waiting}");
    assert_eq!(waiting["admitted"], json!(false));
    let (status, _) = h.admin_raw(&event, "publish-seed", json!({})).await;
    assert_eq!(status, 409, "no seed before the sale opens");
    let wait = (now + chrono::Duration::milliseconds(3100) - Utc::now()).num_milliseconds();
    tokio::time::sleep(Duration::from_millis(wait.max(0) as u64)).await;

    // Sale open: the first caller seals; later joins are FIFO after the pre-queue.
    let (_, after) = h.assign(&event, "late").await;
    assert_eq!(num(&after, "position"), 41);
    assert!(after.get("preQueue").is_none());
    let missing = h
        .http
        .get(h.url(&format!("/vwr/shuffle/{event}")))
        .send()
        .await
        .expect("call");
    assert_eq!(missing.status(), 404, "seed hidden until published");
    h.admin(&event, "publish-seed", json!({})).await;
    let audit: Value = h
        .http
        .get(h.url(&format!("/vwr/shuffle/{event}")))
        .send()
        .await
        .expect("call")
        .json()
        .await
        .expect("json");
    assert_eq!(num(&audit, "preQueueSize"), 40);
    let seed: u64 = text(&audit, "seed").parse().expect("decimal seed");
    let shuffle = Shuffle::new(seed, 40);
    let mut places = HashSet::new();
    let mut moved = 0;
    for (user, request, ticket) in &tickets {
        let (_, reply) = h.check(&event, request, user).await;
        let position = num(&reply, "position");
        assert_eq!(
            Some(position),
            shuffle.position(*ticket),
            "recomputable from the seed"
        );
        assert!(places.insert(position));
        moved += usize::from(position != *ticket);
    }
    assert_eq!(
        places,
        (1..=40).collect::<HashSet<u64>>(),
        "a bijection over the pre-queue"
    );
    assert!(moved > 20, "only {moved} of 40 moved");
    // Admission follows the drawn order.
    h.room.advance(&event, Utc::now()).await.expect("advance");
    assert_eq!(h.status(&event).await["servingCounter"], json!(41));
}

/// One place per user per room, bound to the access token: joining again, or many times
/// at once, gives back the same requestId and position; a body naming someone else is not
/// read; only the place's owner may check it.
async fn one_place_per_signed_in_user(h: Harness) {
    let event = Harness::event();
    h.admin(&event, "open", json!({"batch": 100})).await;
    let (status, first) = h.assign(&event, "alice").await;
    assert_eq!(status, 200, "{first}");
    let request = text(&first, "requestId");
    for _ in 0..5 {
        let (status, again) = h.assign(&event, "alice").await;
        assert_eq!(status, 200, "{again}");
        assert_eq!(text(&again, "requestId"), request);
        assert_eq!(num(&again, "position"), num(&first, "position"));
    }
    let issued = || async {
        h.room
            .store()
            .room(&event)
            .await
            .expect("room")
            .expect("a room")
            .next_position
    };
    assert_eq!(issued().await, 1, "a repeat join takes no ticket");
    let burst = join_all((0..20).map(|_| h.assign(&event, "bob"))).await;
    let bobs: HashSet<String> = burst
        .iter()
        .map(|(status, reply)| {
            assert_eq!(*status, 200, "{reply}");
            text(reply, "requestId")
        })
        .collect();
    assert_eq!(
        bobs.len(),
        1,
        "one place for twenty joins at once: {bobs:?}"
    );
    if h.room.store().keeps_places() {
        // The store finds the place in the step that hands out tickets, so joins at once
        // by one person take one ticket between them (elsewhere the losers' tickets are
        // settled as no-shows).
        assert_eq!(issued().await, 2, "one ticket for bob's twenty joins");
    }
    let carol: Value = h
        .http
        .post(h.url(&format!("/vwr/assign/{event}")))
        .bearer_auth(h.access("carol"))
        .json(&json!({"userId": h.uid("alice")}))
        .send()
        .await
        .expect("assign")
        .json()
        .await
        .expect("JSON");
    assert_ne!(text(&carol, "requestId"), request, "{carol}");
    // The edge's access-token cookie signs in as well as a bearer token.
    let by_cookie: Value = h
        .http
        .post(h.url(&format!("/vwr/assign/{event}")))
        .header(
            "cookie",
            format!("lang=ko; access_token={}", h.access("alice")),
        )
        .send()
        .await
        .expect("assign")
        .json()
        .await
        .expect("JSON");
    assert_eq!(text(&by_cookie, "requestId"), request);
    let (status, reply) = h.check(&event, &request, "mallory").await;
    assert_eq!(status, 403, "{reply}");
    h.room.advance(&event, Utc::now()).await.expect("advance");
    let (status, reply) = h.check(&event, &request, "alice").await;
    assert_eq!(status, 200, "{reply}");
    h.keys
        .verify_queue(
            &text(&reply, "token"),
            Tier::One,
            event.as_str(),
            &h.uid("alice"),
        )
        .expect("a Tier-1 token for alice's account");
}

/// In a pre-queue, joining again is no second draw: each person holds one provisional
/// ticket, so the shuffle at open draws over people, not over calls.
async fn one_pre_queue_ticket_per_user(h: Harness) {
    let event = Harness::event();
    let now = Utc::now();
    let sale_opens = now + chrono::Duration::milliseconds(2500);
    h.admin(
        &event,
        "schedule",
        json!({
            "preQueueOpensAt": (now - chrono::Duration::seconds(1)).to_rfc3339(),
            "saleOpensAt": sale_opens.to_rfc3339(),
        }),
    )
    .await;
    let mut held = std::collections::HashMap::new();
    for _ in 0..4 {
        for i in 0..5 {
            let fan = format!("fan-{i}");
            let (status, reply) = h.assign(&event, &fan).await;
            assert_eq!(status, 200, "{reply}");
            assert_eq!(reply["preQueue"], json!(true), "{reply}");
            let request = text(&reply, "requestId");
            assert_eq!(held.entry(fan).or_insert_with(|| request.clone()), &request);
        }
    }
    let burst = join_all((0..10).map(|_| h.assign(&event, "fan-0"))).await;
    for (status, reply) in &burst {
        assert_eq!(*status, 200, "{reply}");
        assert_eq!(text(reply, "requestId"), held["fan-0"]);
    }
    let wait = (sale_opens + chrono::Duration::milliseconds(100) - Utc::now()).num_milliseconds();
    tokio::time::sleep(Duration::from_millis(wait.max(0) as u64)).await;
    let (_, late) = h.assign(&event, "late").await;
    assert_eq!(
        num(&late, "position"),
        6,
        "five people, five tickets: {late}"
    );
    let view: Value = h
        .http
        .get(h.url(&format!("/vwr/admin/rooms/{event}")))
        .header(urr_vwr::ADMIN_KEY_HEADER, ADMIN_KEY)
        .send()
        .await
        .expect("view")
        .json()
        .await
        .expect("JSON");
    assert_eq!(view["preQueueSize"], json!(5), "{view}");
    let mut places = HashSet::new();
    for (fan, request) in &held {
        let (status, reply) = h.assign(&event, fan).await;
        assert_eq!(status, 200, "{reply}");
        assert_eq!(&text(&reply, "requestId"), request);
        assert!(reply.get("preQueue").is_none(), "{reply}");
        assert!(places.insert(num(&reply, "position")));
    }
    assert_eq!(places, (1..=5).collect::<HashSet<u64>>());
}

/// Pause stops admission but honours it; hold stops it and withholds every token.
async fn pause_and_hold(h: Harness) {
    let event = Harness::event();
    h.admin(&event, "open", json!({"batch": 1, "intervalSecs": 1}))
        .await;
    let (_, a) = h.assign(&event, "a").await;
    let (_, b) = h.assign(&event, "b").await;
    let t0 = Utc::now();
    h.room.advance(&event, t0).await.expect("advance");
    h.admin(&event, "pause", json!({})).await;
    h.room
        .advance(&event, t0 + chrono::Duration::seconds(5))
        .await
        .expect("advance");
    assert_eq!(h.status(&event).await["servingCounter"], json!(1));
    let (_, reply) = h.check(&event, &text(&a, "requestId"), "a").await;
    assert_eq!(reply["admitted"], json!(true));
    h.admin(&event, "hold", json!({})).await;
    let (_, reply) = h.check(&event, &text(&a, "requestId"), "a").await;
    assert_eq!(reply["admitted"], json!(false));
    assert!(reply.get("token").is_none());
    h.admin(&event, "release", json!({})).await;
    let view = h.admin(&event, "resume", json!({})).await;
    assert_eq!(view["paused"], json!(false));
    assert_eq!(view["hold"], json!(false));
    h.room
        .advance(&event, t0 + chrono::Duration::seconds(10))
        .await
        .expect("advance");
    let (_, reply) = h.check(&event, &text(&b, "requestId"), "b").await;
    assert_eq!(reply["admitted"], json!(true));
}

/// Junk in, 4xx JSON out: never a 5xx, never an empty or non-JSON body.
async fn bad_input_is_4xx_json(h: Harness) {
    let event = Harness::event();
    h.admin(&event, "open", json!({})).await;
    let e = event.as_str();
    let user_token = h
        .keys
        .issue_access(Uuid::new_v4(), "u@example.com", Role::User)
        .expect("sign")
        .0;
    let admin_token = h
        .keys
        .issue_access(Uuid::new_v4(), "a@example.com", Role::Admin)
        .expect("sign")
        .0;
    let huge = "x".repeat(64 * 1024);
    let queue_token = h
        .keys
        .issue_queue(e, &h.uid("u"), Tier::One, Some(1))
        .expect("sign")
        .0;
    let foreign_token = TokenKeys::new(b"some-other-deployment-secret-32-bytes!")
        .issue_access(Uuid::new_v4(), "u@example.com", Role::User)
        .expect("sign")
        .0;
    let http = &h.http;
    let cases: Vec<(&str, reqwest::RequestBuilder, u16)> = vec![
        ("non-numeric id", http.get(h.url("/vwr/status/abc")), 400),
        ("huge id", http.get(h.url("/vwr/status/99999999999999999999999999")), 400),
        ("zero id", http.get(h.url("/vwr/status/0")), 400),
        ("assign signed out", http.post(h.url(&format!("/vwr/assign/{e}"))).json(&json!({"userId": "u"})), 401),
        ("assign junk token", http.post(h.url(&format!("/vwr/assign/{e}"))).bearer_auth("a.b.c"), 401),
        ("assign with a queue token", http.post(h.url(&format!("/vwr/assign/{e}"))).bearer_auth(&queue_token), 401),
        ("assign with a foreign token", http.post(h.url(&format!("/vwr/assign/{e}"))).bearer_auth(&foreign_token), 401),
        ("assign junk cookie", http.post(h.url(&format!("/vwr/assign/{e}"))).header("cookie", "access_token=nope"), 401),
        ("assign on bad event", http.post(h.url("/vwr/assign/abc")).bearer_auth(&user_token), 400),
        // The server answers 413 before reading the body and drops the connection; the
        // client must not reuse it for the next case.
        ("huge body", http.post(h.url(&format!("/vwr/admin/rooms/{e}/open"))).header(urr_vwr::ADMIN_KEY_HEADER, ADMIN_KEY).header("content-type", "application/json").header("connection", "close").body(format!("{{\"batch\":\"{huge}\"}}")), 413),
        ("bad requestId", http.get(h.url(&format!("/vwr/check/{e}/not-a-uuid"))).bearer_auth(&user_token), 400),
        ("check signed out", http.get(h.url(&format!("/vwr/check/{e}/{}?userId=u", Uuid::new_v4()))), 401),
        ("check on bad event", http.get(h.url(&format!("/vwr/check/x/{}", Uuid::new_v4()))).bearer_auth(&user_token), 400),
        ("admin without key", http.post(h.url(&format!("/vwr/admin/rooms/{e}/pause"))), 401),
        ("admin wrong key", http.post(h.url(&format!("/vwr/admin/rooms/{e}/pause"))).header(urr_vwr::ADMIN_KEY_HEADER, "guess"), 401),
        ("admin with user token", http.post(h.url(&format!("/vwr/admin/rooms/{e}/pause"))).bearer_auth(&user_token), 403),
        ("admin with junk token", http.post(h.url(&format!("/vwr/admin/rooms/{e}/pause"))).bearer_auth("a.b.c"), 401),
        ("open junk body", http.post(h.url(&format!("/vwr/admin/rooms/{e}/open"))).header(urr_vwr::ADMIN_KEY_HEADER, ADMIN_KEY).body("]"), 400),
        ("open batch 0", http.post(h.url(&format!("/vwr/admin/rooms/{e}/open"))).header(urr_vwr::ADMIN_KEY_HEADER, ADMIN_KEY).body("{\"batch\":0}"), 400),
        ("open batch negative", http.post(h.url(&format!("/vwr/admin/rooms/{e}/open"))).header(urr_vwr::ADMIN_KEY_HEADER, ADMIN_KEY).body("{\"batch\":-5}"), 400),
        ("open unknown field", http.post(h.url(&format!("/vwr/admin/rooms/{e}/open"))).header(urr_vwr::ADMIN_KEY_HEADER, ADMIN_KEY).body("{\"bacth\":5}"), 400),
        ("schedule backwards", http.post(h.url(&format!("/vwr/admin/rooms/{e}/schedule"))).bearer_auth(&admin_token).json(&json!({"preQueueOpensAt": "2030-01-02T00:00:00Z", "saleOpensAt": "2030-01-01T00:00:00Z"})), 400),
        ("schedule bad time", http.post(h.url(&format!("/vwr/admin/rooms/{e}/schedule"))).bearer_auth(&admin_token).json(&json!({"preQueueOpensAt": "soon", "saleOpensAt": "later"})), 400),
        ("schedule after joins", http.post(h.url(&format!("/vwr/admin/rooms/{}/schedule", Harness::event()))).bearer_auth(&admin_token).json(&json!({"preQueueOpensAt": "2030-01-01T00:00:00Z", "saleOpensAt": "2030-01-02T00:00:00Z"})), 200),
        ("unknown room", http.get(h.url("/vwr/admin/rooms/77")).bearer_auth(&admin_token), 404),
        ("unknown route", http.get(h.url("/vwr/nothing")), 404),
        ("wrong method", http.delete(h.url(&format!("/vwr/status/{e}"))), 405),
    ];
    for (name, request, expected) in cases {
        let response = request.send().await.expect(name);
        let status = response.status().as_u16();
        let body: Value = response
            .json()
            .await
            .unwrap_or_else(|e| panic!("{name}: body not JSON: {e}"));
        assert_eq!(status, expected, "{name}: {body}");
        if status >= 400 {
            assert!(body["error"]["code"].is_string(), "{name}: {body}");
            assert!(body["error"]["message"].is_string(), "{name}: {body}");
        }
    }
    // A room with joiners cannot be turned into a pre-queue after the fact.
    h.assign(&event, "someone").await;
    let (status, reply) = h
        .admin_raw(&event, "schedule", json!({"preQueueOpensAt": "2030-01-01T00:00:00Z", "saleOpensAt": "2030-01-02T00:00:00Z"}))
        .await;
    assert_eq!(status, 409, "{reply}");
}

/// The advancer keeps going when one room fails, and one cycle covers every room.
async fn advancer_cycles_all_rooms(h: Harness) {
    let a = Harness::event();
    let b = Harness::event();
    for event in [&a, &b] {
        h.admin(event, "open", json!({"batch": 3, "intervalSecs": 1}))
            .await;
        for i in 0..5 {
            h.assign(event, &format!("u{i}")).await;
        }
    }
    let advancer = urr_vwr::Advancer::new(h.room.clone(), Duration::from_millis(50));
    let report = advancer.run_cycles(2, Duration::from_millis(1100)).await;
    assert!(report.rooms >= 2);
    assert_eq!(report.failures, 0);
    for event in [&a, &b] {
        assert_eq!(h.status(event).await["servingCounter"], json!(5));
    }
}

macro_rules! both_stores {
    ($($name:ident $(($defaults:expr))?),* $(,)?) => {
        mod on_redis {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    #[allow(unused_mut, unused_assignments)]
                    let mut defaults = urr_vwr::RoomDefaults::default();
                    $(defaults = $defaults;)?
                    super::$name(super::Harness::with(super::Kind::Redis, defaults).await).await;
                }
            )*
        }
        mod on_dynamodb {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    #[allow(unused_mut, unused_assignments)]
                    let mut defaults = urr_vwr::RoomDefaults::default();
                    $(defaults = $defaults;)?
                    super::$name(super::Harness::with(super::Kind::Dynamo, defaults).await).await;
                }
            )*
        }
    };
}

fn short_lived() -> RoomDefaults {
    RoomDefaults {
        position_ttl: Duration::from_secs(1),
        ..RoomDefaults::default()
    }
}

both_stores!(
    assign_is_atomic_and_batched,
    check_admits_exactly_the_served,
    no_shows_are_replaced,
    inactive_rooms_answer_404,
    expired_positions_answer_404(crate::short_lived()),
    tokens_are_bound_and_unforgeable,
    one_place_per_signed_in_user,
    one_pre_queue_ticket_per_user,
    pre_queue_is_shuffled_by_a_published_seed,
    pause_and_hold,
    bad_input_is_4xx_json,
    advancer_cycles_all_rooms,
);

/// On Redis a block of joins is one script: each join's ticket, position record and place
/// in one step. A second join of one person in the same block finds the first's place,
/// a place whose record is gone is replaced, and an inactive room hands out nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_block_of_joins_keeps_each_persons_one_place_on_redis() {
    use urr_vwr::store::{BlockJoin, Claimed};

    let h = Harness::start(Kind::Redis).await;
    let store = h.room.store();
    assert!(store.keeps_places());
    let event = Harness::event();
    let now = Utc::now();
    let join = |user: &str| BlockJoin {
        user_id: user.to_owned(),
        request_id: Uuid::new_v4(),
        expires_at: now + chrono::Duration::hours(1),
    };
    let block = vec![join("ann"), join("ben"), join("ann")];
    assert_eq!(
        store
            .claim_places(&event, &block, now)
            .await
            .expect("claim"),
        None,
        "no room, no tickets"
    );
    h.admin(&event, "open", json!({})).await;
    let writes = store.counter_writes();
    let claimed = store
        .claim_places(&event, &block, now)
        .await
        .expect("claim")
        .expect("an active room");
    assert_eq!(
        store.counter_writes(),
        writes + 1,
        "one write for the block"
    );
    let tickets: Vec<u64> = claimed[..2]
        .iter()
        .map(|c| match c {
            Claimed::Placed(record) => record.ticket,
            other => panic!("a new place, not {other:?}"),
        })
        .collect();
    assert_eq!(tickets, [1, 2]);
    assert_eq!(claimed[2], Claimed::Held(block[0].request_id));
    for (n, j) in block[..2].iter().enumerate() {
        assert_eq!(
            store
                .place_of(&event, &j.user_id, now)
                .await
                .expect("place"),
            Some(j.request_id)
        );
        let record = store
            .position(&event, j.request_id, now)
            .await
            .expect("read")
            .expect("a durable record");
        assert_eq!(
            (record.user_id.as_str(), record.ticket),
            (j.user_id.as_str(), n as u64 + 1)
        );
    }
    // Ann's record vanishes: her place points at nothing and is replaced.
    let kv = h.kv.as_ref().expect("redis harness");
    let _: i64 = redis::cmd("DEL")
        .arg(kv.key(&format!("vwr:{{{event}}}:pos:{}", block[0].request_id)))
        .query_async(&mut kv.conn())
        .await
        .expect("delete the record");
    let again = vec![join("ann"), join("ben")];
    let claimed = store
        .claim_places(&event, &again, now)
        .await
        .expect("claim")
        .expect("an active room");
    assert!(
        matches!(&claimed[0], Claimed::Placed(r) if r.ticket == 3 && r.request_id == again[0].request_id),
        "{claimed:?}"
    );
    assert_eq!(claimed[1], Claimed::Held(block[1].request_id));
    let room = store.room(&event).await.expect("room").expect("a room");
    assert_eq!(
        room.next_position, 3,
        "the counter moves by new tickets only"
    );
}

/// Over HTTP: a place whose position record is gone is no place, and the next join
/// takes a new one (on Redis, where records can be removed by hand).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_place_whose_record_is_gone_is_replaced() {
    let h = Harness::start(Kind::Redis).await;
    let event = Harness::event();
    h.admin(&event, "open", json!({})).await;
    let (_, first) = h.assign(&event, "u").await;
    let request = text(&first, "requestId");
    let kv = h.kv.as_ref().expect("redis harness");
    let _: i64 = redis::cmd("DEL")
        .arg(kv.key(&format!("vwr:{{{event}}}:pos:{request}")))
        .query_async(&mut kv.conn())
        .await
        .expect("delete the record");
    let (status, again) = h.assign(&event, "u").await;
    assert_eq!(status, 200, "{again}");
    assert_ne!(text(&again, "requestId"), request);
    assert_eq!(num(&again, "position"), 2);
    let (status, _) = h.check(&event, &request, "u").await;
    assert_eq!(status, 404);
    let (status, check) = h.check(&event, &text(&again, "requestId"), "u").await;
    assert_eq!(status, 200, "{check}");
}

// Keeps `Kind` used when only one store's module is compiled in an edit.
const _: [Kind; 2] = [Kind::Redis, Kind::Dynamo];

/// A room whose record is unreadable fails its own step only; the others still advance.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_broken_room_does_not_stop_the_advancer() {
    let h = Harness::start(Kind::Redis).await;
    let (good, broken) = (Harness::event(), Harness::event());
    for event in [&good, &broken] {
        h.admin(event, "open", json!({"batch": 2})).await;
        h.assign(event, "u").await;
    }
    let kv = h.kv.as_ref().expect("redis harness");
    let mut conn = kv.conn();
    let _: i64 = redis::cmd("HSET")
        .arg(kv.key(&format!("vwr:{{{broken}}}:room")))
        .arg("state")
        .arg("not json")
        .query_async(&mut conn)
        .await
        .expect("corrupt the record");
    let advancer = urr_vwr::Advancer::new(h.room.clone(), Duration::from_secs(1));
    let report = advancer.cycle().await;
    assert_eq!(report.failures, 1);
    assert_eq!(report.admitted, 1);
    assert_eq!(h.status(&good).await["servingCounter"], json!(1));
    // The broken room answers 503 JSON, not a panic (once its cached read has aged out).
    tokio::time::sleep(Duration::from_millis(600)).await;
    let response = h
        .http
        .get(h.url(&format!("/vwr/status/{broken}")))
        .send()
        .await
        .expect("call");
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["error"]["code"], "unavailable");
}
