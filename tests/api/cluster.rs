//! Several nodes of one cluster in this process, on one PostgreSQL database and one Redis
//! prefix, each with its own id and port (`docs/architecture.md#ownership`): any node
//! answers any request, the owner's state is the one everybody sees, a halted owner's
//! events move to the others with nothing lost, a joining node takes only the events it
//! wins, and a zombie owner's writes are refused.
//!
//! The processes-level faults (kill -9, SIGSTOP, partitions, rolling restarts) are run by
//! the fault harness against real processes; these tests cover the same paths in-process.

use std::time::{Duration, Instant};

use crate::common::{ClusterTimings, Session, TestApp, spawn_cluster};
use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};
use urr_actors::queue_log::QueueLogRecord;
use urr_store::cluster::leases::{self, LeaseValue};
use urr_store::cluster::{epochs, members};
use urr_wire::payments::PaymentView;
use urr_wire::queue::QueueReply;
use urr_wire::reservations::ReservationView;
use urr_wire::status::{PaymentStatus, QueueStatus, ReservationStatus, SeatStatus};
use uuid::Uuid;

/// Short leases, so a dead owner's events move within a couple of seconds.
fn fast() -> ClusterTimings {
    ClusterTimings {
        lease_ttl: Duration::from_millis(1_500),
        member_ttl: Duration::from_millis(1_500),
    }
}

fn config(c: &mut urr_http::HttpConfig) {
    c.events.queue_tick_ms = 50;
    c.events.queue_ttl_secs = 600;
    c.events.active_ttl_secs = 600;
    c.payments.payment_sandbox = true;
}

/// Waits until every node sees all `n` members, and one heartbeat more, so each node's
/// own view has them.
async fn settled(nodes: &[TestApp]) {
    let first = &nodes[0];
    let ttl = first.cluster().config().member_ttl;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let live = members::live(&first.kv, ttl).await.expect("members");
        if live.len() >= nodes.len() {
            break;
        }
        assert!(Instant::now() < deadline, "members never joined: {live:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(first.cluster().config().heartbeat_every() * 3).await;
}

/// The node holding the event's lease now, if any.
async fn lease_holder(app: &TestApp, event: Uuid) -> Option<LeaseValue> {
    leases::holder(&app.kv, event)
        .await
        .expect("lease")
        .as_deref()
        .and_then(LeaseValue::parse)
}

/// Waits until the event's lease is held (at an epoch, not mid-acquisition).
async fn owner(app: &TestApp, event: Uuid) -> LeaseValue {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(holder) = lease_holder(app, event).await.filter(|h| h.epoch > 0) {
            return holder;
        }
        assert!(Instant::now() < deadline, "nobody took {event}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn index_of(nodes: &[TestApp], node: &str) -> usize {
    nodes
        .iter()
        .position(|n| n.node_id == node)
        .unwrap_or_else(|| panic!("{node} is not one of the test's nodes"))
}

/// The rendezvous winner among `nodes` for `event`.
fn preferred(nodes: &[TestApp], event: Uuid) -> String {
    urr_cluster::placement::preferred(event, nodes.iter().map(|n| n.node_id.as_str()))
        .expect("a winner")
        .to_owned()
}

async fn hold(app: &TestApp, user: &Session, entry: &str, event: Uuid, seats: &[Uuid]) -> Uuid {
    let held = app
        .hold(user, Some(entry), event, seats, &Uuid::new_v4().to_string())
        .await;
    let status = held.status();
    let text = held.text().await.expect("body");
    assert_eq!(
        status,
        StatusCode::CREATED,
        "hold on {}: {text}",
        app.node_id
    );
    let view: ReservationView = serde_json::from_str(&text).expect("hold json");
    view.reservation_id
}

async fn pay(app: &TestApp, user: &Session, reservation: Uuid) -> PaymentView {
    let paid = app
        .post_as(
            "/api/v1/payments/process",
            &json!({"reservationId": reservation, "method": "kakaopay"}),
            user,
        )
        .await;
    let status = paid.status();
    let text = paid.text().await.expect("body");
    assert_eq!(status, StatusCode::OK, "pay on {}: {text}", app.node_id);
    serde_json::from_str(&text).expect("payment json")
}

async fn reservation(app: &TestApp, user: &Session, id: Uuid) -> ReservationView {
    app.get_as(&format!("/api/v1/reservations/{id}"), user)
        .await
        .json()
        .await
        .expect("reservation json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hold_on_one_node_is_paid_on_another_and_confirmed() {
    let nodes = spawn_cluster(2, fast(), config).await;
    settled(&nodes).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    let admin = a.admin().await;
    let (event, seats) = a.seated_event(&admin, 1, 4).await;
    let owner = owner(a, event).await;

    for (holds_on, pays_on, seat) in [(a, b, seats[0]), (b, a, seats[1])] {
        let user = a.quick_user("buyer").await;
        let entry = holds_on.enter(event, &user).await;
        let id = hold(holds_on, &user, &entry, event, &[seat]).await;
        let paid = pay(pays_on, &user, id).await;
        assert_eq!(paid.status, PaymentStatus::Done);
        for node in [a, b] {
            let seen = reservation(node, &user, id).await;
            assert_eq!(
                seen.status,
                ReservationStatus::Confirmed,
                "on {}",
                node.node_id
            );
        }
    }
    assert_eq!(a.outbox("PaymentConfirmed").await, 2);
    assert_eq!(a.outbox("PaymentRefunded").await, 0, "nothing refunded");
    for node in [a, b] {
        let statuses = node.seat_statuses(event).await;
        assert_eq!(statuses[&seats[0]], SeatStatus::Reserved);
        assert_eq!(statuses[&seats[1]], SeatStatus::Reserved);
        assert_eq!(statuses[&seats[2]], SeatStatus::Available);
    }
    let held = lease_holder(a, event).await.expect("still owned");
    assert_eq!(held, owner, "one owner served every call, at one epoch");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queue_through_a_non_owner_is_the_owners_queue() {
    let nodes = spawn_cluster(2, fast(), |c| {
        config(c);
        c.events.queue_threshold = 1;
    })
    .await;
    settled(&nodes).await;
    let admin = nodes[0].admin().await;
    let (event, _) = nodes[0].seated_event(&admin, 1, 4).await;
    let owner = owner(&nodes[0], event).await;
    let owner_node = &nodes[index_of(&nodes, &owner.node)];
    let other = &nodes[1 - index_of(&nodes, &owner.node)];

    let mut people = Vec::new();
    for i in 0..6 {
        let user = nodes[0].quick_user(&format!("q{i}")).await;
        // Alternate the node each person checks in through.
        let joined = nodes[i % 2].queue_check(event, &user).await;
        people.push((user, joined));
    }
    let positions: Vec<Option<u64>> = people.iter().map(|(_, r)| r.position).collect();
    assert_eq!(positions[0], None, "the first is admitted at once");
    assert_eq!(
        positions[1..].to_vec(),
        (1..=5).map(Some).collect::<Vec<_>>(),
        "one line, in check-in order, whichever node took the check-in"
    );
    for (user, _) in &people {
        let here = owner_node.queue_status(event, user).await;
        let there = other.queue_status(event, user).await;
        assert_eq!(here.status, there.status);
        assert_eq!(here.position, there.position);
        assert_eq!(here.people_ahead, there.people_ahead);
    }
    let overview = |node: &TestApp| {
        let admin = admin.clone();
        let url = node.url(&format!("/api/v1/admin/events/{event}/queue"));
        let client = node.client.clone();
        async move {
            let body: Value = client
                .get(url)
                .bearer_auth(&admin.access)
                .send()
                .await
                .expect("overview")
                .json()
                .await
                .expect("json");
            (body["waiting"].clone(), body["active"].clone())
        }
    };
    assert_eq!(overview(owner_node).await, overview(other).await);
    assert_eq!(overview(other).await, (json!(5), json!(1)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seat_stream_on_a_non_owner_hears_the_owners_changes() {
    let nodes = spawn_cluster(2, fast(), config).await;
    settled(&nodes).await;
    let admin = nodes[0].admin().await;
    let (event, seats) = nodes[0].seated_event(&admin, 1, 6).await;
    let owner = owner(&nodes[0], event).await;
    let owner_node = &nodes[index_of(&nodes, &owner.node)];
    let other = &nodes[1 - index_of(&nodes, &owner.node)];

    let response = other
        .get(&format!("/api/v1/seats/events/{event}/stream"))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.bytes_stream();
    let user = owner_node.quick_user("streamed").await;
    let entry = owner_node.enter(event, &user).await;

    // The relay connects to the owner in the background: a change made before it did is
    // not promised, the ones after are. Hold seat after seat on the owner until one
    // shows on the other node's stream.
    let mut text = String::new();
    let mut seen = false;
    for seat in &seats[..3] {
        hold(owner_node, &user, &entry, event, &[*seat]).await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
        while !text.contains(&seat.to_string()) {
            match tokio::time::timeout_at(deadline, body.next()).await {
                Ok(Some(Ok(chunk))) => text.push_str(&String::from_utf8_lossy(&chunk)),
                Ok(other) => panic!("the stream ended: {other:?}"),
                Err(_) => break,
            }
        }
        if text.contains(&seat.to_string()) {
            seen = true;
            break;
        }
    }
    assert!(
        seen,
        "the non-owner's stream heard none of the owner's holds: {text}"
    );
    assert!(text.contains("event: seat"), "{text}");
    assert!(text.contains("locked"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_writes_on_a_non_owner_reach_the_owners_actor() {
    let nodes = spawn_cluster(2, fast(), |c| {
        config(c);
        c.events.queue_threshold = 1;
    })
    .await;
    settled(&nodes).await;
    let admin = nodes[0].admin().await;
    let (event, _) = nodes[0].seated_event(&admin, 1, 4).await;
    let owner = owner(&nodes[0], event).await;
    let owner_node = &nodes[index_of(&nodes, &owner.node)];
    let other = &nodes[1 - index_of(&nodes, &owner.node)];

    let first = owner_node.quick_user("first").await;
    let second = owner_node.quick_user("second").await;
    assert_eq!(
        owner_node.queue_check(event, &first).await.status,
        QueueStatus::Active
    );
    assert_eq!(
        owner_node.queue_check(event, &second).await.status,
        QueueStatus::Queued
    );

    // Queue settings changed through the other node: the owner's actor admits more.
    other
        .queue_settings(&admin, event, json!({"threshold": 10}))
        .await;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let status = owner_node.queue_status(event, &second).await;
        if status.status == QueueStatus::Active {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the owner never applied the new threshold"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The event taken off sale through the other node: the owner's actor refuses joins.
    let closed = other
        .patch_as(
            &format!("/api/v1/admin/events/{event}/status"),
            &json!({"status": "upcoming"}),
            &admin,
        )
        .await;
    assert_eq!(closed.status(), StatusCode::OK);
    let late = owner_node.quick_user("late").await;
    let refused = owner_node
        .post_as(&format!("/api/v1/queue/check/{event}"), &json!({}), &late)
        .await;
    crate::common::assert_error(refused, StatusCode::CONFLICT, "not_on_sale").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_halted_owners_event_moves_with_every_hold_and_place_kept() {
    let mut nodes = spawn_cluster(3, fast(), |c| {
        config(c);
        c.events.queue_threshold = 1;
    })
    .await;
    settled(&nodes).await;
    let admin = nodes[0].admin().await;
    let (event, seats) = nodes[0].seated_event(&admin, 1, 6).await;
    let before = owner(&nodes[0], event).await;

    // Acknowledged before the crash: a hold (through a node other than the owner's) and
    // a line of twelve, checked in through every node.
    let holder = nodes[0].quick_user("holder").await;
    let entry = nodes[1].enter(event, &holder).await;
    let held = hold(&nodes[2], &holder, &entry, event, &seats[..2]).await;
    let mut line: Vec<(Session, u64)> = Vec::new();
    for i in 0..12 {
        let user = nodes[0].quick_user(&format!("w{i}")).await;
        let reply = nodes[i % 3].queue_check(event, &user).await;
        line.push((user, reply.position.expect("queued")));
    }

    let owner_index = index_of(&nodes, &before.node);
    let halted_at = Instant::now();
    // Kept to the end: it may own the database.
    let mut halted = nodes.remove(owner_index);
    halted.halt().await;

    // The first answer from a survivor after the crash: the failover time.
    let survivor = &nodes[0];
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let response = survivor
            .get_as(&format!("/api/v1/queue/status/{event}"), &line[0].0)
            .await;
        if response.status() == StatusCode::OK {
            break;
        }
        assert!(Instant::now() < deadline, "the event never came back");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let failover = halted_at.elapsed();
    eprintln!("failover after the owner halted: {failover:?}");
    assert!(failover < Duration::from_secs(10), "took {failover:?}");

    let after = owner(survivor, event).await;
    assert_ne!(after.node, before.node, "another node owns it");
    assert!(after.epoch > before.epoch, "at a higher epoch");
    assert_eq!(
        epochs::current(&survivor.db, event).await.expect("epoch"),
        after.epoch
    );
    assert!(
        survivor.cluster().counters().failovers + nodes[1].cluster().counters().failovers >= 1,
        "counted as a failover"
    );

    // Every acknowledged place, at its position, through both survivors.
    for (i, (user, position)) in line.iter().enumerate() {
        let status = nodes[i % 2].queue_status(event, user).await;
        assert_eq!(status.status, QueueStatus::Queued, "{status:?}");
        assert_eq!(status.position, Some(*position), "place kept");
    }
    // The acknowledged hold, with its fencing tokens: it pays and confirms.
    let statuses = nodes[1].seat_statuses(event).await;
    assert_eq!(statuses[&seats[0]], SeatStatus::Locked);
    assert_eq!(statuses[&seats[1]], SeatStatus::Locked);
    assert_eq!(statuses[&seats[2]], SeatStatus::Available);
    let paid = pay(&nodes[1], &holder, held).await;
    assert_eq!(paid.status, PaymentStatus::Done);
    assert_eq!(
        reservation(&nodes[0], &holder, held).await.status,
        ReservationStatus::Confirmed
    );

    // Admission order kept across the epochs: opening up admits the line in join order.
    nodes[0]
        .queue_settings(&admin, event, json!({"threshold": 100}))
        .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    for (user, _) in &line {
        loop {
            let status: QueueReply = nodes[1].queue_status(event, user).await;
            if status.status == QueueStatus::Active {
                break;
            }
            assert!(Instant::now() < deadline, "not admitted: {status:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let admitted: Vec<Uuid> = urr_store::event_store::read_queue_log(&survivor.kv, event)
        .await
        .expect("log")
        .iter()
        .filter_map(
            |bytes| match QueueLogRecord::decode(bytes).expect("decodes") {
                QueueLogRecord::Admitted { user } => Some(user.0),
                _ => None,
            },
        )
        .filter(|user| *user != holder.user_id)
        .collect();
    let joined: Vec<Uuid> = line.iter().map(|(user, _)| user.user_id).collect();
    assert_eq!(
        admitted, joined,
        "admitted in join order across the failover"
    );
    drop(halted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fourth_node_takes_only_the_events_it_wins() {
    let mut nodes = spawn_cluster(3, fast(), config).await;
    settled(&nodes).await;
    let admin = nodes[0].admin().await;
    let mut events = Vec::new();
    for _ in 0..16 {
        let (event, _) = nodes[0].seated_event(&admin, 1, 2).await;
        events.push(event);
    }
    // Each event ends up on its preferred node, whichever node its first call landed on.
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut before = Vec::new();
    for &event in &events {
        nodes[0].seat_map(event).await;
        let expected = preferred(&nodes, event);
        loop {
            let held = owner(&nodes[0], event).await;
            if held.node == expected {
                before.push(held);
                break;
            }
            assert!(Instant::now() < deadline, "{event} stayed on {}", held.node);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    let newcomer = nodes[0].add_node().await;
    let newcomer_id = newcomer.node_id.clone();
    nodes.push(newcomer);
    let winners: Vec<String> = events.iter().map(|e| preferred(&nodes, *e)).collect();
    let moving = winners.iter().filter(|w| **w == newcomer_id).count();
    assert!(
        moving > 0 && moving < events.len(),
        "{moving} of {} move",
        events.len()
    );

    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let mut settled = true;
        for (event, winner) in events.iter().zip(&winners) {
            let held = lease_holder(&nodes[0], *event).await;
            if held.is_none_or(|h| &h.node != winner || h.epoch == 0) {
                settled = false;
            }
        }
        if settled {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the events never settled on their winners"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for ((event, winner), old) in events.iter().zip(&winners).zip(&before) {
        let now = lease_holder(&nodes[0], *event).await.expect("owned");
        if *winner == newcomer_id {
            assert!(now.epoch > old.epoch, "{event} moved, at a new epoch");
        } else {
            assert_eq!(&now, old, "{event} did not move: same node, same epoch");
        }
    }
    // Every event still answers through every node.
    for node in &nodes {
        for &event in &events {
            node.seat_map(event).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zombie_actor_is_refused_at_its_first_write_and_stops() {
    // Long leases: the zombie must be caught by the fence, not by its renewal failing.
    let timings = ClusterTimings {
        lease_ttl: Duration::from_secs(30),
        member_ttl: Duration::from_secs(30),
    };
    let nodes = spawn_cluster(1, timings, config).await;
    let app = &nodes[0];
    let admin = app.admin().await;
    let (event, seats) = app.seated_event(&admin, 1, 4).await;
    let user = app.quick_user("zombie-buyer").await;
    let entry = app.enter(event, &user).await;
    let kept = hold(app, &user, &entry, event, &seats[..1]).await;
    let mine = owner(app, event).await;
    let actor = app
        .state
        .events
        .event(event)
        .running_actor()
        .expect("running");

    // Another node takes the event over behind this one's back (as after a pause past
    // the lease): its lease, a higher epoch in PostgreSQL and in Redis.
    leases::release(&app.kv, event, &mine)
        .await
        .expect("release");
    let taken = LeaseValue {
        node: "elsewhere".into(),
        incarnation: "x".into(),
        epoch: 0,
        url: "http://127.0.0.1:9".into(),
    };
    let ttl = Duration::from_secs(30);
    assert_eq!(
        leases::take(&app.kv, event, &taken, ttl, None)
            .await
            .expect("take"),
        None
    );
    let acquired = epochs::acquire(&app.db, event, &taken.node, &taken.url)
        .await
        .expect("epoch")
        .expect("event");
    let done = LeaseValue {
        epoch: acquired.epoch,
        ..taken.clone()
    };
    assert!(
        leases::complete(&app.kv, event, &taken, &done, ttl)
            .await
            .expect("complete")
    );

    // The old owner still thinks it owns the event; its next write is refused.
    let refused_before = app.cluster().counters().refused_writes;
    let zombie = app
        .hold(&user, Some(&entry), event, &seats[1..2], "after-takeover")
        .await;
    assert_eq!(zombie.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        app.cluster().counters().refused_writes > refused_before,
        "the refusal was counted"
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while app.state.events.event(event).running_actor() == Some(actor) {
        assert!(Instant::now() < deadline, "the zombie kept running");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Nothing of it landed: no reservation, no seat lock; the earlier hold is intact.
    let landed: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM reservations WHERE idempotency_key = 'after-takeover'",
    )
    .fetch_one(&app.db)
    .await
    .expect("count");
    assert_eq!(landed, 0);
    assert_eq!(
        urr_store::seat_locks::read(&app.kv, event, seats[1])
            .await
            .expect("lock"),
        None
    );
    assert_eq!(
        reservation(app, &user, kept).await.status,
        ReservationStatus::Pending
    );
    // And the old owner no longer serves it: calls go to the new owner (unreachable here).
    let after = app.get(&format!("/api/v1/seats/events/{event}")).await;
    assert_eq!(after.status(), StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draining_node_hands_its_events_over_and_drops_nothing() {
    let mut nodes = spawn_cluster(2, fast(), |c| {
        config(c);
        c.events.queue_threshold = 1;
    })
    .await;
    settled(&nodes).await;
    let admin = nodes[0].admin().await;
    let (event, seats) = nodes[0].seated_event(&admin, 1, 4).await;
    let before = owner(&nodes[0], event).await;
    let mut leaving = nodes.remove(index_of(&nodes, &before.node));
    let staying = nodes.remove(0);

    let holder = staying.quick_user("holder").await;
    let entry = staying.enter(event, &holder).await;
    let held = hold(&staying, &holder, &entry, event, &seats[..1]).await;
    let mut line = Vec::new();
    for i in 0..6 {
        let user = staying.quick_user(&format!("d{i}")).await;
        let reply = [&staying, &leaving][i % 2].queue_check(event, &user).await;
        line.push((user, reply.position.expect("queued")));
    }

    // Clients keep asking through the node that stays while the owner drains (SIGTERM).
    let asking = {
        let url = staying.url(&format!("/api/v1/queue/status/{event}"));
        let token = line[0].0.access.clone();
        let client = staying.client.clone();
        tokio::spawn(async move {
            let mut failures = Vec::new();
            let until = Instant::now() + Duration::from_secs(3);
            let mut asked = 0;
            while Instant::now() < until {
                let response = client
                    .get(&url)
                    .bearer_auth(&token)
                    .send()
                    .await
                    .expect("GET");
                asked += 1;
                if response.status() != StatusCode::OK {
                    failures.push(response.text().await.unwrap_or_default());
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            (asked, failures)
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    leaving.stop().await;
    let (asked, failures) = asking.await.expect("the asking task");
    assert!(asked > 20, "asked {asked} times");
    assert!(
        failures.is_empty(),
        "{} of {asked} failed: {failures:?}",
        failures.len()
    );

    let after = owner(&staying, event).await;
    assert_eq!(after.node, staying.node_id);
    assert_eq!(after.epoch, before.epoch + 1);
    assert_eq!(
        staying.cluster().counters().failovers,
        0,
        "a drain is a handoff, not a failover"
    );
    for (user, position) in &line {
        let status = staying.queue_status(event, user).await;
        assert_eq!(status.position, Some(*position), "place kept");
    }
    assert_eq!(
        pay(&staying, &holder, held).await.status,
        PaymentStatus::Done
    );
    drop(leaving);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_see_members_owners_and_counters() {
    let nodes = spawn_cluster(2, fast(), config).await;
    settled(&nodes).await;
    let admin = nodes[0].admin().await;
    let (event, _) = nodes[0].seated_event(&admin, 1, 2).await;
    let held = owner(&nodes[0], event).await;
    // One more heartbeat carries the owner's counters.
    tokio::time::sleep(nodes[0].cluster().config().heartbeat_every() * 2).await;

    let view: urr_wire::cluster::ClusterView = nodes[1]
        .get_as("/api/v1/admin/cluster", &admin)
        .await
        .json()
        .await
        .expect("cluster json");
    assert_eq!(view.node_id, nodes[1].node_id);
    assert_eq!(view.members.len(), 2);
    for node in &nodes {
        let member = view
            .members
            .iter()
            .find(|m| m.node_id == node.node_id)
            .expect("a member");
        assert!(member.live);
        assert_eq!(member.url, node.address);
        assert!(member.heartbeat_age_ms < 1_500, "{member:?}");
    }
    let owner_view = view
        .members
        .iter()
        .find(|m| m.node_id == held.node)
        .expect("the owner");
    assert_eq!(owner_view.events_owned, 1);
    assert!(owner_view.counters.acquisitions >= 1);
    let row = view
        .events
        .iter()
        .find(|e| e.event_id == event)
        .expect("the event");
    assert_eq!(row.node_id, held.node);
    assert_eq!(row.epoch, held.epoch);
    assert_eq!(row.lease_holder.as_deref(), Some(held.node.as_str()));
    assert_eq!(view.live_events, 1);

    let user = nodes[0].quick_user("not-admin").await;
    let refused = nodes[0].get_as("/api/v1/admin/cluster", &user).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    // `urr cluster status` reads the same from Redis and PostgreSQL (rendered here in the
    // test's process: the shared build's binary may be another branch's).
    use clap::Parser;
    let cli =
        urr::cli::Cli::try_parse_from(["urr", "cluster", "status", "--member-ttl-ms", "1500"])
            .expect("the command parses");
    assert!(matches!(
        cli.command,
        urr::cli::Command::Cluster(urr::cli::ClusterCommand::Status {
            member_ttl_ms: 1500,
            ..
        })
    ));
    let status = urr_cluster::status::read(&nodes[0].db, &nodes[0].kv, Duration::from_millis(1500))
        .await
        .expect("status");
    let text = urr::cluster_status::render(&status);
    assert!(text.contains("members: 2 live of 2"), "{text}");
    for node in &nodes {
        assert!(text.contains(&node.node_id), "{text}");
        assert!(text.contains(&node.address), "{text}");
    }
    assert!(text.contains(&event.to_string()), "{text}");
    assert!(text.contains("held"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_to_node_routes_need_the_cluster_secret_and_the_hop_header() {
    let nodes = spawn_cluster(1, fast(), config).await;
    let app = &nodes[0];
    let url = app.url(&format!("/internal/v1/events/{}/call", Uuid::new_v4()));
    let none = app
        .client
        .post(&url)
        .body(Vec::new())
        .send()
        .await
        .expect("POST");
    crate::common::assert_error(none, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let wrong = app
        .client
        .post(&url)
        .bearer_auth("not-the-secret")
        .header(urr_cluster::HOP_HEADER, "someone")
        .body(Vec::new())
        .send()
        .await
        .expect("POST");
    crate::common::assert_error(wrong, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let secret = app.cluster().config().secret.clone();
    let no_hop = app
        .client
        .post(&url)
        .bearer_auth(&secret)
        .body(Vec::new())
        .send()
        .await
        .expect("POST");
    crate::common::assert_error(no_hop, StatusCode::BAD_REQUEST, "invalid_input").await;
    // Garbage in the body is a clear refusal, not a panic.
    let garbage = app
        .client
        .post(&url)
        .bearer_auth(&secret)
        .header(urr_cluster::HOP_HEADER, "someone")
        .body(vec![0xff, 0xff, 0xff])
        .send()
        .await
        .expect("POST");
    assert_eq!(garbage.status(), StatusCode::BAD_REQUEST);
    // A well-formed call for an unknown event answers `EVENT_NOT_FOUND` in the reply.
    use prost::Message;
    let call = urr_proto::cluster::CallRequest {
        call: Some(urr_proto::cluster::call_request::Call::Overview(
            urr_proto::cluster::Overview {},
        )),
    };
    let answered = app
        .client
        .post(&url)
        .bearer_auth(&secret)
        .header(urr_cluster::HOP_HEADER, "someone")
        .body(call.encode_to_vec())
        .send()
        .await
        .expect("POST");
    assert_eq!(answered.status(), StatusCode::OK);
    let reply = urr_proto::cluster::CallReply::decode(answered.bytes().await.expect("body"))
        .expect("reply");
    let Some(urr_proto::cluster::call_reply::Result::Error(error)) = reply.result else {
        panic!("not an error: {reply:?}");
    };
    assert_eq!(
        error.code,
        urr_proto::cluster::ErrorCode::EventNotFound as i32
    );
}
