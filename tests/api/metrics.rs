//! The Prometheus page: operators only on the node's listener, open on its own address;
//! requests counted by route template and status class.

use crate::common::{Session, TestApp, assert_error, spawn_app_with};
use reqwest::StatusCode;

/// The sum of the samples of `name` whose labels include every one of `labels`.
fn value(text: &str, name: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name) && labels.iter().all(|n| l.contains(n)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>()
}

/// The metrics page as `admin` reads it, again every 100 ms until `ready` holds of it
/// (10 s at most; then the last one read).
async fn scrape_until(app: &TestApp, admin: &Session, ready: impl Fn(&str) -> bool) -> String {
    let mut text = String::new();
    for _ in 0..100 {
        text = app
            .get_as("/metrics", admin)
            .await
            .text()
            .await
            .expect("text");
        if ready(&text) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    text
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

#[tokio::test]
async fn metrics_are_for_operators_and_count_requests_by_route_template() {
    let scrape_port = free_port();
    let app = spawn_app_with(|c| {
        c.metrics.metrics_token = Some("scrape-me-please".into());
        c.metrics.metrics_listen = Some(([127, 0, 0, 1], scrape_port).into());
    })
    .await;
    let user = app.quick_user("curious").await;
    let admin = app.admin().await;

    let anonymous = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("get");
    assert_error(anonymous, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let plain = app.get_as("/metrics", &user).await;
    assert_error(plain, StatusCode::FORBIDDEN, "forbidden").await;

    // Two catalog reads and one unknown event: the route template, not the raw path.
    for _ in 0..2 {
        assert_eq!(app.get("/api/v1/events").await.status(), StatusCode::OK);
    }
    let missing = format!("/api/v1/events/{}", uuid::Uuid::new_v4());
    assert_eq!(app.get(&missing).await.status(), StatusCode::NOT_FOUND);

    let page = app.get_as("/metrics", &admin).await;
    assert_eq!(page.status(), StatusCode::OK);
    let text = page.text().await.expect("text");
    let count = |needle: &[&str]| {
        text.lines()
            .filter(|l| l.starts_with("urr_http_requests_total{"))
            .filter(|l| needle.iter().all(|n| l.contains(n)))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>()
    };
    assert!(
        count(&["route=\"/api/v1/events\"", "status=\"2xx\""]) >= 2.0,
        "{text}"
    );
    assert!(
        count(&["route=\"/api/v1/events/{id}\"", "status=\"4xx\""]) >= 1.0,
        "{text}"
    );
    assert!(!text.contains(&missing), "raw paths never become labels");
    assert!(
        text.contains("urr_http_request_duration_seconds_bucket"),
        "{text}"
    );

    let with_token = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth("scrape-me-please")
        .send()
        .await
        .expect("get");
    assert_eq!(with_token.status(), StatusCode::OK);

    let scraped = reqwest::get(format!("http://127.0.0.1:{scrape_port}/metrics"))
        .await
        .expect("scrape");
    assert_eq!(scraped.status(), StatusCode::OK);
    assert!(
        scraped
            .text()
            .await
            .expect("text")
            .contains("urr_http_requests_total")
    );
}

#[tokio::test]
async fn the_cluster_reports_owned_events_leases_and_refusals_per_node() {
    let app = spawn_app_with(|_| {}).await;
    let admin = app.admin().await;
    let (event, _) = app.seated_event(&admin, 1, 2).await;
    // Serving the seat map takes the event's lease on this node.
    let map = app.get(&format!("/api/v1/seats/events/{event}")).await;
    assert_eq!(map.status(), StatusCode::OK);
    let node = app
        .state
        .cluster
        .as_ref()
        .expect("every node is a cluster member")
        .node_id()
        .to_owned();
    let series = |text: &str, name: &str| {
        text.lines()
            .filter(|l| l.starts_with(name) && l.contains(&format!("node=\"{node}\"")))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>()
    };
    // The heartbeat publishes the counters; renewals come every third of the lease.
    let text = scrape_until(&app, &admin, |text| {
        series(text, "urr_cluster_events_owned") >= 1.0
    })
    .await;
    assert!(series(&text, "urr_cluster_events_owned") >= 1.0, "{text}");
    assert!(
        series(&text, "urr_cluster_lease_acquisitions_total") >= 1.0,
        "{text}"
    );
    assert!(text.contains("urr_cluster_refused_writes_total"), "{text}");
    assert!(text.contains("urr_cluster_failovers_total"), "{text}");
}

#[tokio::test]
async fn the_tier1_room_and_the_event_bus_report_where_they_stand() {
    let app = spawn_app_with(|_| {}).await;
    let admin = app.admin().await;
    let (event, _) = app.seated_event(&admin, 1, 2).await;
    let open = app
        .post_as(
            &format!("/vwr-api/vwr/admin/rooms/{event}/open"),
            &serde_json::json!({"batch": 500, "intervalSecs": 1}),
            &admin,
        )
        .await;
    assert_eq!(open.status(), StatusCode::OK);
    for name in ["a", "b", "c"] {
        let fan = app.quick_user(name).await;
        let joined = app
            .post_as(
                &format!("/vwr-api/vwr/assign/{event}"),
                &serde_json::json!({}),
                &fan,
            )
            .await;
        assert_eq!(joined.status(), StatusCode::OK);
    }
    let label = format!("event=\"{event}\"");
    // The advancer lets the three through within a tick or two; the relay and consumers
    // read their gauges as they start.
    let text = scrape_until(&app, &admin, |text| {
        value(text, "urr_tier1_serving", &[&label]) >= 3.0
    })
    .await;
    assert_eq!(
        value(&text, "urr_tier1_joins_total", &[&label]),
        3.0,
        "{text}"
    );
    assert_eq!(
        value(&text, "urr_tier1_positions_issued", &[&label]),
        3.0,
        "{text}"
    );
    assert!(
        value(&text, "urr_tier1_serving", &[&label]) >= 3.0,
        "{text}"
    );
    assert_eq!(value(&text, "urr_tier1_waiting", &[&label]), 0.0, "{text}");
    for bus in [
        "urr_bus_outbox_unpublished",
        "urr_bus_outbox_lag_seconds",
        "urr_bus_pending{",
    ] {
        assert!(text.contains(bus), "{bus} missing:\n{text}");
    }
}

/// Every metric the Grafana dashboard (docs/grafana/urr.json) queries is one the code
/// emits, so the dashboard cannot drift into names nothing exports.
#[test]
fn the_dashboard_queries_only_metrics_the_code_emits() {
    fn metric_names(text: &str) -> std::collections::BTreeSet<String> {
        let mut names = std::collections::BTreeSet::new();
        let mut rest = text;
        while let Some(at) = rest.find("urr_") {
            let tail = &rest[at..];
            let end = tail
                .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
                .unwrap_or(tail.len());
            names.insert(tail[..end].to_owned());
            rest = &tail[end..];
        }
        names
    }
    fn sources(dir: &std::path::Path, out: &mut String) {
        for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push_str(&std::fs::read_to_string(&path).expect("read source"));
            }
        }
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dashboard =
        std::fs::read_to_string(root.join("docs/grafana/urr.json")).expect("the dashboard");
    let mut code = String::new();
    sources(&root.join("crates"), &mut code);
    let emitted: std::collections::BTreeSet<String> = metric_names(&code)
        .into_iter()
        .filter(|n| code.contains(&format!("\"{n}\"")))
        .collect();
    let queried = metric_names(&dashboard);
    assert!(queried.len() > 15, "{queried:?}");
    for name in queried {
        let base = name.strip_suffix("_bucket").unwrap_or(&name).to_owned();
        assert!(
            emitted.contains(&base),
            "the dashboard queries {name}, which no crate emits"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_actor_reports_its_mailbox_group_commits_and_holds() {
    let app = spawn_app_with(|c| c.events.queue_tick_ms = 50).await;
    let admin = app.admin().await;
    let (event, seats) = app.seated_event(&admin, 1, 8).await;
    let mut fans = Vec::new();
    for i in 0..8 {
        let fan = app.quick_user(&format!("fan{i}")).await;
        let entry = app.enter(event, &fan).await;
        fans.push((fan, entry));
    }
    // Eight holds at once: they queue in the actor's mailbox and commit in batches.
    let app = &app;
    let holds = fans
        .iter()
        .zip(&seats)
        .map(|((fan, entry), seat)| async move {
            app.hold(fan, Some(entry), event, &[*seat], &seat.to_string())
                .await
        });
    for held in futures::future::join_all(holds).await {
        assert_eq!(held.status(), StatusCode::CREATED);
    }

    let label = format!("event=\"{event}\"");
    let scrape = || async {
        app.get_as("/metrics", &admin)
            .await
            .text()
            .await
            .expect("text")
    };
    let text = scrape().await;
    assert_eq!(
        value(
            &text,
            "urr_event_holds_total",
            &[&label, "outcome=\"made\""]
        ),
        8.0,
        "{text}"
    );
    assert!(
        value(&text, "urr_actor_commit_batch_count", &["kind=\"holds\""]) >= 1.0,
        "{text}"
    );
    // Every message counted in is counted out: at rest (between ticks) the mailbox is
    // empty, and it is never below zero.
    let mut depths = Vec::new();
    for _ in 0..40 {
        let text = scrape().await;
        assert!(text.contains("urr_actor_mailbox_depth{"), "{text}");
        let depth = value(&text, "urr_actor_mailbox_depth{", &[&label]);
        depths.push(depth);
        if depth == 0.0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(depths.iter().all(|d| *d >= 0.0), "{depths:?}");
    assert_eq!(depths.last(), Some(&0.0), "{depths:?}");
}

/// A request the gateway refuses (429) is counted with its status like any other, and
/// its time includes the rate limit's check.
#[tokio::test]
async fn refused_requests_are_counted_with_their_status() {
    let app = spawn_app_with(|c| {
        c.rate_limits.enabled = true;
        c.rate_limits.rate_limit_general_per_min = 2;
    })
    .await;
    let admin = app.admin().await;
    let news = |text: &str, status: &str| {
        value(
            text,
            "urr_http_requests_total{",
            &["route=\"/api/v1/news\"", "method=\"GET\"", status],
        )
    };
    let before = scrape_until(&app, &admin, |_| true).await;
    let statuses = [
        app.get("/api/v1/news").await.status(),
        app.get("/api/v1/news").await.status(),
        app.get("/api/v1/news").await.status(),
    ];
    assert_eq!(
        statuses,
        [
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
    let after = scrape_until(&app, &admin, |text| {
        news(text, "status=\"4xx\"") > news(&before, "status=\"4xx\"")
    })
    .await;
    assert!(
        news(&after, "status=\"4xx\"") >= news(&before, "status=\"4xx\"") + 1.0,
        "the 429 is counted: {after}"
    );
    assert!(
        news(&after, "status=\"2xx\"") >= news(&before, "status=\"2xx\"") + 2.0,
        "{after}"
    );
}
