//! The catalog (`docs/architecture.md#the-apis-shape`): events, artists, the admin API and the seat map.

use crate::common::{Session, TestApp, assert_error, event_body, spawn_app};
use reqwest::StatusCode;
use serde_json::{Value, json};
use urr_wire::seats::SeatMapView;
use urr_wire::status::SeatStatus;

async fn body(response: reqwest::Response) -> Value {
    let status = response.status();
    let json: Value = response.json().await.expect("JSON body");
    assert!(status.is_success(), "{status}: {json}");
    json
}

/// Four events with distinct sale starts, statuses, places and prices, one with seats.
async fn seed(app: &TestApp, admin: &Session) -> (Value, Vec<Value>) {
    let artist = body(
        app.post_as(
            "/api/v1/admin/artists",
            &json!({"name": "IU", "genre": "K-pop"}),
            admin,
        )
        .await,
    )
    .await;
    let now = chrono::Utc::now();
    let at = |days: i64| (now + chrono::Duration::days(days)).to_rfc3339();
    let mut events = Vec::new();
    let specs = [
        (
            "Golden Hour",
            Some(artist["id"].clone()),
            "Jamsil Stadium",
            "Seoul",
            3,
            "upcoming",
        ),
        (
            "Winter Jazz",
            None,
            "Bexco",
            "Busan Haeundae-gu",
            1,
            "on_sale",
        ),
        (
            "Spring 100% Live",
            None,
            "KSPO Dome",
            "Seoul Songpa-gu",
            2,
            "on_sale",
        ),
        ("Farewell", None, "Arena", "Incheon", 4, "ended"),
    ];
    for (title, artist_id, venue, address, sale_day, status) in specs {
        let mut event = json!({
            "title": title, "artistId": artist_id, "venue": venue, "address": address,
            "startsAt": at(40), "saleStartsAt": at(sale_day), "status": status,
            "ticketTypes": [
                {"name": "R", "price": 150000, "quantity": 10},
                {"name": "S", "price": 99000, "quantity": 10}
            ]
        });
        if title == "Golden Hour" {
            event["seatLayout"] = json!({"sections": [
                {"name": "A", "rows": 3, "seatsPerRow": 4, "price": 220000},
                {"name": "B", "rows": 2, "seatsPerRow": 5, "price": 55000}
            ]});
        }
        events.push(app.create_event(admin, &event).await);
    }
    (artist, events)
}

fn titles(list: &Value) -> Vec<String> {
    list["events"]
        .as_array()
        .expect("events array")
        .iter()
        .map(|e| e["title"].as_str().expect("title").to_owned())
        .collect()
}

#[tokio::test]
async fn list_sorts_by_sale_start_filters_and_searches() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    seed(&app, &admin).await;

    let all = body(app.get("/api/v1/events").await).await;
    assert_eq!(
        titles(&all),
        ["Winter Jazz", "Spring 100% Live", "Golden Hour", "Farewell"]
    );
    assert_eq!(
        (
            all["page"].clone(),
            all["limit"].clone(),
            all["total"].clone(),
            all["totalPages"].clone()
        ),
        (json!(1), json!(20), json!(4), json!(1))
    );

    let on_sale = body(app.get("/api/v1/events?status=on_sale").await).await;
    assert_eq!(titles(&on_sale), ["Winter Jazz", "Spring 100% Live"]);

    // q matches title, artist, venue and address, case-insensitively.
    for (q, expected) in [
        ("golden", vec!["Golden Hour"]),
        ("iu", vec!["Golden Hour"]),
        ("bexco", vec!["Winter Jazz"]),
        ("SONGPA", vec!["Spring 100% Live"]),
        ("seoul", vec!["Spring 100% Live", "Golden Hour"]),
        ("100%25", vec!["Spring 100% Live"]),
        ("%25", vec!["Spring 100% Live"]),
        ("nothing-like-this", vec![]),
    ] {
        let found = body(app.get(&format!("/api/v1/events?q={q}")).await).await;
        assert_eq!(titles(&found), expected, "q={q}");
        assert_eq!(found["total"], expected.len());
    }
    let combined = body(app.get("/api/v1/events?status=upcoming&q=seoul").await).await;
    assert_eq!(titles(&combined), ["Golden Hour"]);
}

#[tokio::test]
async fn list_reports_min_and_max_price_across_ticket_types_and_sections() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    seed(&app, &admin).await;
    let found = body(app.get("/api/v1/events?q=golden").await).await;
    let event = &found["events"][0];
    assert_eq!(event["minPrice"], 55000);
    assert_eq!(event["maxPrice"], 220000);
    assert_eq!(event["artistName"], "IU");
    let jazz = body(app.get("/api/v1/events?q=jazz").await).await;
    assert_eq!(jazz["events"][0]["minPrice"], 99000);
    assert_eq!(jazz["events"][0]["maxPrice"], 150000);
    assert!(jazz["events"][0]["seatLayoutId"].is_null());
}

#[tokio::test]
async fn pagination_edges() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    seed(&app, &admin).await;

    let page2 = body(app.get("/api/v1/events?page=2&limit=3").await).await;
    assert_eq!(titles(&page2), ["Farewell"]);
    assert_eq!(page2["totalPages"], 2);

    let past_end = body(app.get("/api/v1/events?page=9&limit=3").await).await;
    assert_eq!(titles(&past_end), Vec::<String>::new());
    assert_eq!(past_end["total"], 4, "total is still reported past the end");

    let huge = body(app.get("/api/v1/events?limit=1000000").await).await;
    assert_eq!(huge["limit"], 100, "limit is bounded");
    assert_eq!(titles(&huge).len(), 4);

    for bad in [
        "page=0",
        "page=-1",
        "limit=0",
        "page=abc",
        "limit=1.5",
        "page=99999999999999999999",
        "status=sold",
    ] {
        let response = app.get(&format!("/api/v1/events?{bad}")).await;
        assert_error(response, StatusCode::BAD_REQUEST, "invalid_input").await;
    }
}

#[tokio::test]
async fn detail_has_ticket_types_and_layout_id() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (artist, events) = seed(&app, &admin).await;
    let golden = &events[0];
    let detail = body(
        app.get(&format!(
            "/api/v1/events/{}",
            golden["id"].as_str().unwrap()
        ))
        .await,
    )
    .await;
    assert_eq!(detail["title"], "Golden Hour");
    assert_eq!(detail["artistId"], artist["id"]);
    assert_eq!(detail["ticketTypes"].as_array().unwrap().len(), 2);
    assert_eq!(detail["ticketTypes"][0]["name"], "R");
    assert!(detail["seatLayoutId"].is_string());

    let unknown = app
        .get(&format!("/api/v1/events/{}", uuid::Uuid::new_v4()))
        .await;
    assert_error(unknown, StatusCode::NOT_FOUND, "not_found").await;
    let not_uuid = app.get("/api/v1/events/42").await;
    assert_error(not_uuid, StatusCode::BAD_REQUEST, "invalid_input").await;
}

#[tokio::test]
async fn seat_map_has_every_generated_seat_available() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (_, events) = seed(&app, &admin).await;
    let golden = events[0]["id"].as_str().unwrap();
    let map: SeatMapView = serde_json::from_value(
        body(app.get(&format!("/api/v1/seats/events/{golden}")).await).await,
    )
    .expect("seat map");
    assert_eq!(map.event_id.to_string(), golden);
    assert_eq!(map.layout.total_seats, 22);
    assert_eq!(map.layout.stage, "top");
    let sections = &map.layout.sections;
    assert_eq!(sections.len(), 2);
    assert_eq!(sections[0].rows.len(), 3);
    assert_eq!(sections[0].rows[0].seats.len(), 4);
    assert_eq!(sections[0].rows[2].seats[3].label, "A-3-4");
    assert_eq!(sections[1].price, 55000);
    assert_eq!(map.seats().count(), 22);
    assert!(map.seats().all(|seat| seat.status == SeatStatus::Available));
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM seats WHERE event_id = $1::uuid")
        .bind(golden)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(rows, 22, "one Postgres row per seat");

    let jazz = events[1]["id"].as_str().unwrap();
    let none = app.get(&format!("/api/v1/seats/events/{jazz}")).await;
    assert_error(none, StatusCode::NOT_FOUND, "not_found").await;
    let unknown = app
        .get(&format!("/api/v1/seats/events/{}", uuid::Uuid::new_v4()))
        .await;
    assert_error(unknown, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn admin_routes_refuse_anonymous_401_and_users_403() {
    let app = spawn_app().await;
    let user = app.register("fan@example.com").await;
    let admin = app.admin().await;
    let event = app.create_event(&admin, &event_body("Gate")).await;
    let id = event["id"].as_str().unwrap();
    let routes = [
        (
            "POST",
            "/api/v1/admin/events".to_owned(),
            event_body("Nope"),
        ),
        (
            "POST",
            "/api/v1/admin/artists".to_owned(),
            json!({"name": "X"}),
        ),
        (
            "PATCH",
            format!("/api/v1/admin/events/{id}"),
            json!({"title": "X"}),
        ),
        (
            "PATCH",
            format!("/api/v1/admin/events/{id}/status"),
            json!({"status": "ended"}),
        ),
    ];
    for (method, path, body) in routes {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let anonymous = app
            .client
            .request(method.clone(), app.url(&path))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_error(anonymous, StatusCode::UNAUTHORIZED, "unauthorized").await;
        let as_user = app
            .client
            .request(method, app.url(&path))
            .bearer_auth(&user.access)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_error(as_user, StatusCode::FORBIDDEN, "forbidden").await;
    }
    let detail = body(app.get(&format!("/api/v1/events/{id}")).await).await;
    assert_eq!(detail["title"], "Gate", "refused calls changed nothing");
    assert_eq!(detail["status"], "on_sale");
}

#[tokio::test]
async fn admin_updates_an_event_and_changes_its_status() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let event = app.create_event(&admin, &event_body("Draft")).await;
    let id = event["id"].as_str().unwrap();

    let updated = body(
        app.patch_as(
            &format!("/api/v1/admin/events/{id}"),
            &json!({"title": "Final Title", "venue": "Gocheok Sky Dome"}),
            &admin,
        )
        .await,
    )
    .await;
    assert_eq!(updated["title"], "Final Title");
    assert_eq!(updated["venue"], "Gocheok Sky Dome");
    assert_eq!(
        updated["address"], event["address"],
        "untouched fields stay"
    );

    // A sale window that ends before it starts is refused.
    let bad_window = app
        .patch_as(
            &format!("/api/v1/admin/events/{id}"),
            &json!({"saleEndsAt": "2000-01-01T00:00:00Z"}),
            &admin,
        )
        .await;
    assert_error(bad_window, StatusCode::BAD_REQUEST, "invalid_input").await;

    let sold_out = body(
        app.patch_as(
            &format!("/api/v1/admin/events/{id}/status"),
            &json!({"status": "sold_out"}),
            &admin,
        )
        .await,
    )
    .await;
    assert_eq!(sold_out["status"], "sold_out");
    let bad = app
        .patch_as(
            &format!("/api/v1/admin/events/{id}/status"),
            &json!({"status": "paused"}),
            &admin,
        )
        .await;
    assert_error(bad, StatusCode::BAD_REQUEST, "invalid_input").await;

    let cancel = app
        .patch_as(
            &format!("/api/v1/admin/events/{id}/status"),
            &json!({"status": "cancelled"}),
            &admin,
        )
        .await;
    assert_eq!(cancel.status(), StatusCode::OK);
    let reopen = app
        .patch_as(
            &format!("/api/v1/admin/events/{id}/status"),
            &json!({"status": "on_sale"}),
            &admin,
        )
        .await;
    assert_error(reopen, StatusCode::CONFLICT, "conflict").await;

    let unknown = app
        .patch_as(
            &format!("/api/v1/admin/events/{}/status", uuid::Uuid::new_v4()),
            &json!({"status": "ended"}),
            &admin,
        )
        .await;
    assert_error(unknown, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn event_creation_is_validated_and_all_or_nothing() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let mut cases = Vec::new();
    let mut negative_price = event_body("X");
    negative_price["ticketTypes"][0]["price"] = json!(-1);
    cases.push(negative_price);
    let mut negative_quantity = event_body("X");
    negative_quantity["ticketTypes"][0]["quantity"] = json!(-5);
    cases.push(negative_quantity);
    let mut sale_after_show = event_body("X");
    sale_after_show["saleStartsAt"] = json!("2100-01-01T00:00:00Z");
    cases.push(sale_after_show);
    let mut nothing_to_sell = event_body("X");
    nothing_to_sell["ticketTypes"] = json!([]);
    cases.push(nothing_to_sell);
    let mut huge_layout = event_body("X");
    huge_layout["seatLayout"] =
        json!({"sections": [{"name": "A", "rows": 100000, "seatsPerRow": 100000, "price": 1}]});
    cases.push(huge_layout);
    let mut too_many_seats = event_body("X");
    too_many_seats["seatLayout"] = json!({"sections": (0..3)
        .map(|i| json!({"name": format!("S{i}"), "rows": 200, "seatsPerRow": 200, "price": 1}))
        .collect::<Vec<_>>()});
    cases.push(too_many_seats);
    let mut twin_sections = event_body("X");
    twin_sections["seatLayout"] = json!({"sections": [
        {"name": "A", "rows": 1, "seatsPerRow": 1, "price": 1},
        {"name": "a", "rows": 1, "seatsPerRow": 1, "price": 1}
    ]});
    cases.push(twin_sections);
    let mut bad_status = event_body("X");
    bad_status["status"] = json!("open");
    cases.push(bad_status);
    let mut bad_time = event_body("X");
    bad_time["startsAt"] = json!("tomorrow");
    cases.push(bad_time);
    let mut no_title = event_body("X");
    no_title["title"] = json!("  ");
    cases.push(no_title);
    for case in cases {
        let response = app.post_as("/api/v1/admin/events", &case, &admin).await;
        assert_error(response, StatusCode::BAD_REQUEST, "invalid_input").await;
    }
    let mut unknown_artist = event_body("X");
    unknown_artist["artistId"] = json!(uuid::Uuid::new_v4());
    let response = app
        .post_as("/api/v1/admin/events", &unknown_artist, &admin)
        .await;
    assert_error(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_reference",
    )
    .await;

    let (events, seats): (i64, i64) =
        sqlx::query_as("SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM seats)")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!((events, seats), (0, 0), "refused requests wrote nothing");
}

#[tokio::test]
async fn artists_list_and_detail() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    for name in ["NewJeans", "BTS", "IU"] {
        body(
            app.post_as("/api/v1/admin/artists", &json!({"name": name}), &admin)
                .await,
        )
        .await;
    }
    let list = body(app.get("/api/v1/artists").await).await;
    let names: Vec<&str> = list["artists"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["BTS", "IU", "NewJeans"]);
    assert_eq!(list["total"], 3);
    let search = body(app.get("/api/v1/artists?q=jeans&limit=1").await).await;
    assert_eq!(search["artists"][0]["name"], "NewJeans");
    let id = search["artists"][0]["id"].as_str().unwrap();
    let one = body(app.get(&format!("/api/v1/artists/{id}")).await).await;
    assert_eq!(one["name"], "NewJeans");
    let missing = app
        .get(&format!("/api/v1/artists/{}", uuid::Uuid::new_v4()))
        .await;
    assert_error(missing, StatusCode::NOT_FOUND, "not_found").await;
}
