//! The compact seat map (`docs/architecture.md#seat-map-on-the-wire`): the layout once,
//! kept by its `ETag`; the live state as one character per seat in layout order,
//! versioned, answering 304 while unchanged; the stream's changes carrying the versions
//! a client applies them by; and the same answers through a node that does not own the
//! event.

use std::collections::HashMap;
use std::time::Duration;

use futures::StreamExt;
use reqwest::StatusCode;
use reqwest::header::{ETAG, IF_NONE_MATCH};
use serde_json::json;
use urr_wire::seats::{SeatChange, SeatLayoutView, SeatStateView};
use urr_wire::status::SeatStatus;
use uuid::Uuid;

use crate::common::{ClusterTimings, TestApp, event_body, spawn_app, spawn_cluster};

/// GET `path`, with `If-None-Match: etag` when given: the status, the `ETag`, the body.
async fn conditional_get(
    app: &TestApp,
    path: &str,
    etag: Option<&str>,
) -> (StatusCode, String, Vec<u8>) {
    let mut request = app.client.get(app.url(path));
    if let Some(etag) = etag {
        request = request.header(IF_NONE_MATCH, etag);
    }
    let response = request.send().await.expect("GET");
    let status = response.status();
    let tag = response
        .headers()
        .get(ETAG)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, tag, response.bytes().await.expect("body").to_vec())
}

async fn live_state(app: &TestApp, event: Uuid) -> (SeatStateView, String) {
    let (status, etag, body) =
        conditional_get(app, &format!("/api/v1/seats/events/{event}/state"), None).await;
    assert_eq!(status, StatusCode::OK);
    (serde_json::from_slice(&body).expect("state json"), etag)
}

/// Two sections on one sort order, so the layout's order rests on the tie-breakers.
async fn two_section_event(app: &TestApp) -> Uuid {
    let admin = app.admin().await;
    let mut body = event_body("Compact");
    body["seatLayout"] = json!({"sections": [
        {"name": "B", "rows": 2, "seatsPerRow": 3, "price": 20000},
        {"name": "A", "rows": 1, "seatsPerRow": 4, "price": 10000}
    ]});
    let created = app.create_event(&admin, &body).await;
    created["id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .expect("event id")
}

#[tokio::test]
async fn the_compact_map_is_the_whole_map_in_layout_order_and_304_while_unchanged() {
    let app = spawn_app().await;
    let event = two_section_event(&app).await;
    let layout_path = format!("/api/v1/seats/events/{event}/layout");

    let (status, layout_tag, body) = conditional_get(&app, &layout_path, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(layout_tag.starts_with('"'), "a strong ETag: {layout_tag}");
    let layout: SeatLayoutView = serde_json::from_slice(&body).expect("layout json");
    assert_eq!(layout.total_seats, 10);
    assert_eq!(layout.seats().count(), 10);
    let (status, again, body) = conditional_get(&app, &layout_path, Some(&layout_tag)).await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert_eq!(again, layout_tag);
    assert!(body.is_empty());

    let (state, state_tag) = live_state(&app, event).await;
    assert_eq!(state.seats, "a".repeat(10));
    let state_path = format!("/api/v1/seats/events/{event}/state");
    let (status, _, _) = conditional_get(&app, &state_path, Some(&state_tag)).await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);

    // Two seats held, one of them then sold: the state moves on, in layout order.
    let ids: Vec<Uuid> = layout.seats().map(|seat| seat.id).collect();
    let fan = app.quick_user("fan").await;
    let entry = app.enter(event, &fan).await;
    let held = app
        .hold(&fan, Some(&entry), event, &[ids[1], ids[7]], "compact-1")
        .await;
    assert_eq!(held.status(), StatusCode::CREATED);
    let (status, _, _) = conditional_get(&app, &state_path, Some(&state_tag)).await;
    assert_eq!(status, StatusCode::OK, "the old version is stale now");
    let (state, newer_tag) = live_state(&app, event).await;
    assert_ne!(newer_tag, state_tag);
    assert_eq!(state.seats, "alaaaaalaa");
    let whole: HashMap<Uuid, SeatStatus> = app.seat_statuses(event).await;
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(
            state.status_at(i),
            Some(whole[id]),
            "seat {i} of the layout"
        );
    }

    let unknown = Uuid::new_v4();
    for path in [
        format!("/api/v1/seats/events/{unknown}/layout"),
        format!("/api/v1/seats/events/{unknown}/state"),
    ] {
        let (status, _, body) = conditional_get(&app, &path, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        let error: serde_json::Value = serde_json::from_slice(&body).expect("json error");
        assert!(error["error"]["code"].is_string(), "{error}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ten_thousand_seat_state_is_a_few_kilobytes_beside_the_whole_map() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (event, _) = app.seated_event(&admin, 100, 100).await;
    let whole = app
        .get(&format!("/api/v1/seats/events/{event}"))
        .await
        .bytes()
        .await
        .expect("map");
    let (status, _, state) =
        conditional_get(&app, &format!("/api/v1/seats/events/{event}/state"), None).await;
    assert_eq!(status, StatusCode::OK);
    println!(
        "10,000 seats: whole map {} bytes, compact state {} bytes ({:.0}x smaller)",
        whole.len(),
        state.len(),
        whole.len() as f64 / state.len() as f64
    );
    assert!(state.len() < 50_000, "{} bytes", state.len());
    assert!(whole.len() > 20 * state.len());
}

/// The next `seat` event on an SSE body.
async fn next_change<B: AsRef<[u8]> + std::fmt::Debug>(
    body: &mut (impl futures::Stream<Item = reqwest::Result<B>> + Unpin),
    buffer: &mut String,
) -> SeatChange {
    loop {
        if let Some(at) = buffer.find("event: seat\ndata: ") {
            let rest = &buffer[at + "event: seat\ndata: ".len()..];
            if let Some(end) = rest.find('\n') {
                let change = serde_json::from_str(&rest[..end]).expect("change json");
                let consumed = at + "event: seat\ndata: ".len() + end;
                buffer.drain(..consumed);
                return change;
            }
        }
        match tokio::time::timeout(Duration::from_secs(5), body.next()).await {
            Ok(Some(Ok(chunk))) => buffer.push_str(&String::from_utf8_lossy(chunk.as_ref())),
            other => panic!("no seat change: {other:?} after {buffer}"),
        }
    }
}

#[tokio::test]
async fn the_streams_changes_carry_the_versions_they_bring_the_state_to() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (event, seats) = app.seated_event(&admin, 1, 4).await;
    let response = app
        .get(&format!("/api/v1/seats/events/{event}/stream"))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.bytes_stream();
    let mut buffer = String::new();
    let (before, _) = live_state(&app, event).await;

    let fan = app.quick_user("fan").await;
    let entry = app.enter(event, &fan).await;
    let held = app
        .hold(&fan, Some(&entry), event, &seats[2..4], "versions")
        .await;
    assert_eq!(held.status(), StatusCode::CREATED);
    let first = next_change(&mut body, &mut buffer).await;
    let second = next_change(&mut body, &mut buffer).await;
    for (change, seq) in [(&first, before.seq + 1), (&second, before.seq + 2)] {
        assert_eq!(change.actor, before.actor);
        assert_eq!(change.seq, seq);
        assert_eq!(change.status, SeatStatus::Locked);
    }
    let (after, _) = live_state(&app, event).await;
    assert_eq!((after.actor, after.seq), (before.actor, second.seq));
    assert_eq!(after.seats, "aall");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_does_not_own_the_event_serves_the_owners_state() {
    let nodes = spawn_cluster(2, ClusterTimings::default(), |_| {}).await;
    let admin = nodes[0].admin().await;
    let (event, seats) = nodes[0].seated_event(&admin, 1, 3).await;
    let fan = nodes[0].quick_user("fan").await;
    let entry = nodes[0].enter(event, &fan).await;
    let held = nodes[0]
        .hold(&fan, Some(&entry), event, &seats[..1], "forwarded")
        .await;
    assert_eq!(held.status(), StatusCode::CREATED);
    let (a, a_tag) = live_state(&nodes[0], event).await;
    let (b, b_tag) = live_state(&nodes[1], event).await;
    assert_eq!(a, b);
    assert_eq!(a_tag, b_tag);
    assert_eq!(a.seats, "laa");
}
