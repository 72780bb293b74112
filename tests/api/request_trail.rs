//! One hold followed through the logs by its request id: the route, the event actor's
//! call, the Redis lock and the PostgreSQL record of its group commit, and across a
//! forward to the owner's node (`docs/operations.md#following-one-request`).
//!
//! The logs are the node's own JSON lines (`urr::telemetry::json_layer`), caught for this
//! test's thread by the harness's logger (`common::logs`).

use reqwest::StatusCode;
use serde_json::{Value, json};
use urr_store::cluster::leases::{self, LeaseValue};
use uuid::Uuid;

use crate::common::logs::Logs;
use crate::common::{ClusterTimings, Session, TestApp, spawn_app, spawn_cluster};

/// Every line logged inside a span that carries `request_id`.
fn of_request(logs: &Logs, request_id: &str) -> Vec<Value> {
    logs.lines()
        .into_iter()
        .filter(|line| spans(line).iter().any(|s| s["request_id"] == request_id))
        .collect()
}

fn spans(line: &Value) -> Vec<Value> {
    line["spans"].as_array().cloned().unwrap_or_default()
}

fn message(line: &Value) -> &str {
    line["fields"]["message"].as_str().unwrap_or_default()
}

/// The one line with `text` as its message.
fn the_line<'a>(lines: &'a [Value], text: &str) -> &'a Value {
    let found: Vec<_> = lines.iter().filter(|l| message(l) == text).collect();
    assert_eq!(found.len(), 1, "one `{text}` line in {lines:#?}");
    found[0]
}

fn span_named<'a>(line: &'a Value, name: &str) -> Option<&'a Value> {
    line["spans"]
        .as_array()?
        .iter()
        .find(|span| span["name"] == name)
}

async fn hold_as(
    app: &TestApp,
    user: &Session,
    entry: &str,
    event: Uuid,
    seat: Uuid,
    request_id: &str,
) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/seats/reserve"))
        .bearer_auth(&user.access)
        .header("x-queue-entry-token", entry)
        .header("x-request-id", request_id)
        .json(&json!({"eventId": event, "seatIds": [seat], "idempotencyKey": request_id}))
        .send()
        .await
        .expect("POST seats/reserve")
}

/// What the actor logged for the hold: taken in memory, locked in Redis, recorded in
/// PostgreSQL, each inside the call's span with the request id and the reservation.
fn assert_hold_trail(lines: &[Value], request_id: &str, reservation: &str) {
    for text in [
        "hold taken in memory, its durable write queued",
        "seats locked in Redis",
        "hold recorded in PostgreSQL",
    ] {
        let line = the_line(lines, text);
        assert!(
            line["target"]
                .as_str()
                .is_some_and(|t| t.starts_with("urr_actors::event")),
            "{line}"
        );
        assert_eq!(line["fields"]["reservation"], reservation, "{line}");
        let call = span_named(line, "event_call").expect("inside the call's span");
        assert_eq!(call["call"], "hold_seats", "{line}");
        assert_eq!(call["request_id"], request_id, "{line}");
    }
    let locked = the_line(lines, "seats locked in Redis");
    assert!(
        locked["fields"]["tokens"]
            .as_str()
            .is_some_and(|t| t.contains("FencingToken")),
        "the lock line names the fencing tokens: {locked}"
    );
}

#[tokio::test]
async fn one_hold_is_followed_by_its_request_id_from_the_route_to_redis_and_postgres() {
    let logs = Logs::capture();
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (event, seats) = app.seated_event(&admin, 1, 2).await;
    let fan = app.quick_user("fan").await;
    let other = app.quick_user("other").await;
    let entry = app.enter(event, &fan).await;
    let other_entry = app.enter(event, &other).await;

    let request_id = format!("trail-{}", Uuid::new_v4().simple());
    let held = hold_as(&app, &fan, &entry, event, seats[0], &request_id).await;
    assert_eq!(held.status(), StatusCode::CREATED);
    assert_eq!(held.headers()["x-request-id"], request_id.as_str());
    let reservation = held.json::<Value>().await.expect("json")["reservationId"]
        .as_str()
        .expect("reservation id")
        .to_owned();
    let beside = format!("beside-{}", Uuid::new_v4().simple());
    let second = hold_as(&app, &other, &other_entry, event, seats[1], &beside).await;
    assert_eq!(second.status(), StatusCode::CREATED);

    let lines = of_request(&logs, &request_id);
    let route = lines
        .iter()
        .find(|l| l["target"] == "tower_http::trace::on_response")
        .unwrap_or_else(|| panic!("the route's response line: {lines:#?}"));
    let request = span_named(route, "request").expect("the request span");
    assert_eq!(request["uri"], "/api/v1/seats/reserve");
    assert_hold_trail(&lines, &request_id, &reservation);
    assert!(
        lines
            .iter()
            .all(|l| !l.to_string().contains(beside.as_str())),
        "another request's lines stay under its own id"
    );
    assert_eq!(
        of_request(&logs, &beside)
            .iter()
            .filter(|l| message(l) == "hold recorded in PostgreSQL")
            .count(),
        1
    );
}

#[tokio::test]
async fn a_forwarded_hold_is_logged_on_the_owner_under_the_same_request_id() {
    let logs = Logs::capture();
    let nodes = spawn_cluster(2, ClusterTimings::default(), |c| {
        c.events.queue_tick_ms = 50;
    })
    .await;
    let admin = nodes[0].admin().await;
    let (event, seats) = nodes[0].seated_event(&admin, 1, 2).await;
    // The seat map was served by the event's owner; the other node forwards to it.
    let owner = leases::holder(&nodes[0].kv, event)
        .await
        .expect("lease")
        .as_deref()
        .and_then(LeaseValue::parse)
        .expect("an owner");
    let via = nodes
        .iter()
        .find(|n| n.node_id != owner.node)
        .expect("a node that does not own the event");
    let fan = via.quick_user("fan").await;
    let entry = via.enter(event, &fan).await;

    let request_id = format!("trail-{}", Uuid::new_v4().simple());
    let held = hold_as(via, &fan, &entry, event, seats[0], &request_id).await;
    assert_eq!(held.status(), StatusCode::CREATED);
    let reservation = held.json::<Value>().await.expect("json")["reservationId"]
        .as_str()
        .expect("reservation id")
        .to_owned();

    let lines = of_request(&logs, &request_id);
    assert_hold_trail(&lines, &request_id, &reservation);
    let recorded = the_line(&lines, "hold recorded in PostgreSQL");
    let forwarded = span_named(recorded, "forwarded").expect("served as a forwarded call");
    assert_eq!(forwarded["from"], via.node_id.as_str(), "{recorded}");
    assert_eq!(forwarded["request_id"], request_id.as_str(), "{recorded}");
}
