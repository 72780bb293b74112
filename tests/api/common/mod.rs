//! The one harness every API test uses: the real router on a random loopback port, its own
//! fresh PostgreSQL database and its own Redis key prefix, so tests run in parallel.
#![allow(dead_code)] // each test binary uses a different part of the harness

use std::collections::HashMap;

use reqwest::header::SET_COOKIE;
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use urr_http::{AppState, HttpConfig};
use urr_store::{Kv, PgPool};
use urr_wire::ErrorBody;
use urr_wire::auth::SessionView;
use urr_wire::events::EventDetailView;
use urr_wire::queue::QueueReply;
use urr_wire::seats::SeatMapView;
use urr_wire::status::SeatStatus;
use uuid::Uuid;

mod flows;
pub mod logs;
pub use flows::ClubEvent;

/// The PostgreSQL server tests create their databases on.
pub fn postgres_server_url() -> String {
    std::env::var("URR_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

pub fn redis_url() -> String {
    std::env::var("URR_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".into())
}

pub struct TestApp {
    /// This node's id in its cluster.
    pub node_id: String,
    pub address: String,
    pub client: reqwest::Client,
    pub db: PgPool,
    pub db_name: String,
    pub jwt_secret: String,
    pub kv: Kv,
    pub state: AppState,
    pub config: HttpConfig,
    running: Option<urr::node::Running>,
    owns_db: bool,
    timings: ClusterTimings,
}

/// The lease and member TTLs of a test's cluster.
#[derive(Debug, Clone, Copy)]
pub struct ClusterTimings {
    pub lease_ttl: std::time::Duration,
    pub member_ttl: std::time::Duration,
}

impl Default for ClusterTimings {
    fn default() -> Self {
        Self {
            lease_ttl: std::time::Duration::from_millis(urr::cli::DEFAULT_LEASE_TTL_MS),
            member_ttl: std::time::Duration::from_millis(urr::cli::DEFAULT_MEMBER_TTL_MS),
        }
    }
}

/// Which node of a test's cluster to start.
struct NodeSpec {
    node_id: String,
    timings: ClusterTimings,
}

impl NodeSpec {
    fn fresh(timings: ClusterTimings) -> Self {
        Self {
            node_id: format!("test-node-{}", &Uuid::new_v4().simple().to_string()[..8]),
            timings,
        }
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Spawns the app after letting the test adjust its configuration.
pub async fn spawn_app_with(configure: impl FnOnce(&mut HttpConfig)) -> TestApp {
    spawn_app_with_redis(&redis_url(), configure).await
}

/// Like [`spawn_app_with`] on a Redis server of the test's own (e.g. one it stops).
pub async fn spawn_app_with_redis(
    redis_url: &str,
    configure: impl FnOnce(&mut HttpConfig),
) -> TestApp {
    spawn_node(redis_url, configure, ClusterTimings::default()).await
}

async fn spawn_node(
    redis_url: &str,
    configure: impl FnOnce(&mut HttpConfig),
    timings: ClusterTimings,
) -> TestApp {
    logs::install();
    let id = Uuid::new_v4().simple().to_string();
    let db_name = format!("urr_test_{id}");
    let server = postgres_server_url();
    urr_store::db::create_database(&server, &db_name)
        .await
        .expect("create the test database (is PostgreSQL running?)");
    let db_url = match server.rsplit_once('/') {
        Some((base, _)) => format!("{base}/{db_name}"),
        None => panic!("URR_TEST_DATABASE_URL must end in /DATABASE"),
    };
    let db = urr_store::db::connect(&db_url, 10).await.expect("connect");
    urr_store::db::migrate(&db).await.expect("migrate");
    let kv = Kv::connect(redis_url, format!("urr-test:{id}:"))
        .await
        .expect("connect to Redis (is it running?)");
    let node = NodeSpec::fresh(timings);
    start(
        db,
        db_name,
        kv,
        configure,
        format!("test-secret-{id}"),
        node,
    )
    .await
}

/// `n` nodes of one cluster: one database, one Redis prefix, one secret, each node its
/// own id and port. The first owns the database.
pub async fn spawn_cluster(
    n: usize,
    timings: ClusterTimings,
    configure: impl Fn(&mut HttpConfig),
) -> Vec<TestApp> {
    let first = spawn_node(&redis_url(), |c| configure(c), timings).await;
    let mut nodes = vec![first];
    for _ in 1..n {
        let next = nodes[0].add_node_with(&configure).await;
        nodes.push(next);
    }
    nodes
}

async fn start(
    db: PgPool,
    db_name: String,
    kv: Kv,
    configure: impl FnOnce(&mut HttpConfig),
    jwt_secret: String,
    node: NodeSpec,
) -> TestApp {
    let mut config = HttpConfig {
        listen: "127.0.0.1:0".parse().expect("address"),
        ..HttpConfig::default()
    };
    configure(&mut config);
    let saved_config = config.clone();
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .expect("bind");
    let address = format!("http://{}", listener.local_addr().expect("address"));
    let options = urr::node::NodeOptions {
        http: config,
        vwr: urr_vwr::VwrConfig {
            advance_tick_ms: 100,
            ..urr_vwr::VwrConfig::default()
        },
        jwt_secret: jwt_secret.clone().into_bytes(),
        // Tests wait on the bus: poll it often.
        bus: urr_bus::ConsumerConfig {
            idle_poll: std::time::Duration::from_millis(50),
            ..urr_bus::ConsumerConfig::default()
        },
        cluster: urr_cluster::ClusterConfig {
            lease_ttl: node.timings.lease_ttl,
            member_ttl: node.timings.member_ttl,
            ..urr::node::cluster_config(&node.node_id, &address, format!("cluster-{jwt_secret}"))
        },
    };
    let assembled = urr::node::Node::assemble(db.clone(), kv.clone(), options)
        .await
        .expect("build the node");
    let state = assembled.state.clone();
    let running = assembled
        .run(listener, jwt_secret.clone().into_bytes())
        .expect("run the node");

    TestApp {
        node_id: node.node_id,
        address,
        client: reqwest::Client::new(),
        db,
        db_name,
        jwt_secret,
        kv,
        state,
        config: saved_config,
        running: Some(running),
        owns_db: true,
        timings: node.timings,
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if !self.owns_db {
            return;
        }
        urr_store::db::drop_database_blocking(&postgres_server_url(), &self.db_name);
    }
}

/// A signed-in user: the access token and the refresh cookie's value.
#[derive(Debug, Clone)]
pub struct Session {
    pub user_id: Uuid,
    pub email: String,
    pub access: String,
    pub refresh: String,
}

impl TestApp {
    /// The URL of this test's own database.
    pub fn database_url(&self) -> String {
        let server = postgres_server_url();
        let base = server
            .rsplit_once('/')
            .map(|(b, _)| b.to_owned())
            .unwrap_or(server);
        format!("{base}/{}", self.db_name)
    }

    /// The same node (same id) started again on the same database and Redis prefix, as
    /// after a process restart; this run stops first, as a crash would (its leases are
    /// not released: the new run takes over those of its own id).
    pub async fn restart(mut self) -> TestApp {
        if let Some(running) = self.running.take() {
            running.halt().await;
        }
        let owns_db = std::mem::replace(&mut self.owns_db, false);
        let config = self.config.clone();
        let node = NodeSpec {
            node_id: self.node_id.clone(),
            timings: self.timings,
        };
        let mut app = start(
            self.db.clone(),
            self.db_name.clone(),
            self.kv.clone(),
            move |c| *c = config,
            self.jwt_secret.clone(),
            node,
        )
        .await;
        app.owns_db = owns_db;
        app
    }

    /// Another node of this node's cluster: same database, Redis prefix and secret, its
    /// own id and port.
    pub async fn add_node(&self) -> TestApp {
        let config = self.config.clone();
        self.add_node_with(move |c| *c = config.clone()).await
    }

    async fn add_node_with(&self, configure: impl Fn(&mut HttpConfig)) -> TestApp {
        let mut app = start(
            self.db.clone(),
            self.db_name.clone(),
            self.kv.clone(),
            |c| configure(c),
            self.jwt_secret.clone(),
            NodeSpec::fresh(self.timings),
        )
        .await;
        app.owns_db = false;
        app
    }

    /// The node's part in the cluster.
    pub fn cluster(&self) -> &std::sync::Arc<urr_cluster::Cluster> {
        &self.running.as_ref().expect("the node runs").cluster
    }

    /// Stops the node as a crash would: it renews and releases nothing, serves nothing.
    /// The value stays (it may own the database the other nodes use).
    pub async fn halt(&mut self) {
        if let Some(running) = self.running.take() {
            running.halt().await;
        }
    }

    /// Stops the node as SIGTERM does: it drains every event to the other nodes first.
    pub async fn stop(&mut self) {
        if let Some(running) = self.running.take() {
            running.stop().await.expect("a clean stop");
        }
    }

    /// A user created straight in the store with a minted access token: for tests that
    /// need thousands of users without paying argon2 for each.
    pub async fn quick_user(&self, label: &str) -> Session {
        let email = format!("{label}-{}@urr.test", Uuid::new_v4().simple());
        let user = urr_store::users::create(&self.db, &email, label, "not-a-password-hash")
            .await
            .expect("create user");
        let (access, _) = urr_auth::TokenKeys::new(self.jwt_secret.as_bytes())
            .issue_access(user.id, &email, urr_auth::Role::User)
            .expect("sign");
        Session {
            user_id: user.id,
            email,
            access,
            refresh: String::new(),
        }
    }

    /// How many events of `event_type` the outbox holds (published or not).
    pub async fn outbox(&self, event_type: &str) -> i64 {
        urr_store::payments::outbox_count(&self.db, event_type)
            .await
            .expect("outbox count")
    }

    pub fn keys(&self) -> urr_auth::TokenKeys {
        urr_auth::TokenKeys::new(self.jwt_secret.as_bytes())
    }

    /// An on-sale event with one section of `rows` x `per_row` seats at 10,000 won;
    /// returns its id and seat ids in layout order.
    pub async fn seated_event(
        &self,
        admin: &Session,
        rows: u32,
        per_row: u32,
    ) -> (Uuid, Vec<Uuid>) {
        let mut body = event_body("Seated");
        body["seatLayout"] = json!({"sections": [
            {"name": "A", "rows": rows, "seatsPerRow": per_row, "price": 10000}
        ]});
        let event: EventDetailView =
            serde_json::from_value(self.create_event(admin, &body).await).expect("event");
        let id = event.event.id;
        let seats = self
            .seat_map(id)
            .await
            .seats()
            .map(|seat| seat.id)
            .collect();
        (id, seats)
    }

    /// The event's seat map, as anyone sees it.
    pub async fn seat_map(&self, event: Uuid) -> SeatMapView {
        let response = self.get(&format!("/api/v1/seats/events/{event}")).await;
        assert_eq!(response.status(), StatusCode::OK, "seat map of {event}");
        response.json().await.expect("seat map")
    }

    /// Every seat's live status on the event's map.
    pub async fn seat_statuses(&self, event: Uuid) -> HashMap<Uuid, SeatStatus> {
        self.seat_map(event)
            .await
            .seats()
            .map(|seat| (seat.id, seat.status))
            .collect()
    }

    /// Sets an event's queue settings through the admin API.
    pub async fn queue_settings(&self, admin: &Session, event: Uuid, settings: Value) {
        let response = self
            .client
            .put(self.url(&format!("/api/v1/admin/events/{event}/queue")))
            .bearer_auth(&admin.access)
            .json(&settings)
            .send()
            .await
            .expect("PUT queue settings");
        assert_eq!(response.status(), StatusCode::OK);
    }

    /// POST queue/check for `session`; returns the reply.
    pub async fn queue_check(&self, event: Uuid, session: &Session) -> QueueReply {
        let response = self
            .post_as(&format!("/api/v1/queue/check/{event}"), &json!({}), session)
            .await;
        assert_eq!(response.status(), StatusCode::OK, "queue check");
        response.json().await.expect("json")
    }

    pub async fn queue_status(&self, event: Uuid, session: &Session) -> QueueReply {
        let response = self
            .get_as(&format!("/api/v1/queue/status/{event}"), session)
            .await;
        assert_eq!(response.status(), StatusCode::OK, "queue status");
        response.json().await.expect("json")
    }

    /// Checks in and waits until admitted; returns the entry token.
    pub async fn enter(&self, event: Uuid, session: &Session) -> String {
        let mut reply = self.queue_check(event, session).await;
        for _ in 0..200 {
            if let Some(token) = reply.entry_token {
                return token;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            reply = self.queue_status(event, session).await;
        }
        panic!("not admitted: {reply:?}");
    }

    /// POST seats/reserve with an entry token (if any).
    pub async fn hold(
        &self,
        session: &Session,
        entry: Option<&str>,
        event: Uuid,
        seats: &[Uuid],
        key: &str,
    ) -> Response {
        let mut request = self
            .client
            .post(self.url("/api/v1/seats/reserve"))
            .bearer_auth(&session.access)
            .json(&json!({"eventId": event, "seatIds": seats, "idempotencyKey": key}));
        if let Some(entry) = entry {
            request = request.header("x-queue-entry-token", entry);
        }
        request.send().await.expect("POST seats/reserve")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    pub async fn get_as(&self, path: &str, session: &Session) -> Response {
        self.client
            .get(self.url(path))
            .bearer_auth(&session.access)
            .send()
            .await
            .expect("GET")
    }

    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("POST")
    }

    pub async fn post_as(&self, path: &str, body: &Value, session: &Session) -> Response {
        self.client
            .post(self.url(path))
            .bearer_auth(&session.access)
            .json(body)
            .send()
            .await
            .expect("POST")
    }

    pub async fn put_as(&self, path: &str, body: &Value, session: &Session) -> Response {
        self.client
            .put(self.url(path))
            .bearer_auth(&session.access)
            .json(body)
            .send()
            .await
            .expect("PUT")
    }

    pub async fn patch_as(&self, path: &str, body: &Value, session: &Session) -> Response {
        self.client
            .patch(self.url(path))
            .bearer_auth(&session.access)
            .json(body)
            .send()
            .await
            .expect("PATCH")
    }

    /// Registers `email` with a fixed good password and returns its session.
    pub async fn register(&self, email: &str) -> Session {
        let response = self
            .post(
                "/api/v1/auth/register",
                &json!({"email": email, "password": PASSWORD, "name": "Test Fan"}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED, "register {email}");
        session_from(response).await
    }

    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.post(
            "/api/v1/auth/login",
            &json!({"email": email, "password": password}),
        )
        .await
    }

    /// A fresh admin: registered, granted the role in the store, signed in again so the
    /// access token carries it.
    pub async fn admin(&self) -> Session {
        let email = format!("admin-{}@urr.test", Uuid::new_v4().simple());
        self.register(&email).await;
        urr_store::users::grant_admin(&self.db, &email)
            .await
            .expect("grant admin");
        let response = self.login(&email, PASSWORD).await;
        assert_eq!(response.status(), StatusCode::OK);
        session_from(response).await
    }

    /// Creates an event through the admin API and returns its JSON.
    pub async fn create_event(&self, admin: &Session, body: &Value) -> Value {
        let response = self.post_as("/api/v1/admin/events", body, admin).await;
        let status = response.status();
        let json: Value = response.json().await.expect("json");
        assert_eq!(status, StatusCode::CREATED, "create event: {json}");
        json
    }
}

pub const PASSWORD: &str = "correct-horse-battery";

/// Reads the session out of a sign-in response (body and `Set-Cookie`).
pub async fn session_from(response: Response) -> Session {
    let refresh = set_cookie(&response, "refresh_token").expect("refresh cookie");
    let body: SessionView = response.json().await.expect("session");
    Session {
        user_id: body.user.id,
        email: body.user.email,
        access: body.access_token,
        refresh: cookie_value(&refresh),
    }
}

/// The whole `Set-Cookie` header for cookie `name`, if the response sets it.
pub fn set_cookie(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

pub fn cookie_value(set_cookie: &str) -> String {
    set_cookie
        .split(';')
        .next()
        .and_then(|pair| pair.split_once('='))
        .map(|(_, value)| value.to_owned())
        .unwrap_or_default()
}

/// Asserts the response is `{error: {code, message}}` with `status` and `code`.
pub async fn assert_error(response: Response, status: StatusCode, code: &str) -> Value {
    let actual = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = response.text().await.expect("body");
    assert_eq!(actual, status, "status for body {text}");
    assert!(
        content_type.starts_with("application/json"),
        "JSON error, got {content_type}: {text}"
    );
    let typed: ErrorBody = serde_json::from_str(&text).expect("JSON error body");
    assert_eq!(typed.error.code, code, "code in {text}");
    assert!(!typed.error.message.is_empty(), "message in {text}");
    // Callers may read what some errors carry beside `error` (e.g. readiness details).
    serde_json::from_str(&text).expect("JSON error body")
}

/// A mail file of this test's own, for `--mail-sender file`.
pub fn mail_file() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("urr-test-mail-{}.jsonl", Uuid::new_v4().simple()))
}

/// Sends the node's mail to `path` (one JSON line per message).
pub fn mail_to(config: &mut HttpConfig, path: &std::path::Path) {
    config.mail = urr_http::mail::MailConfig {
        mail_sender: urr_http::mail::MailSender::File,
        mail_file: Some(path.to_owned()),
        public_url: Some("https://tickets.example".into()),
    };
}

/// The token of the newest verification link mailed to `to`, waiting up to 10 s for it.
pub async fn mailed_token(path: &std::path::Path, to: &str) -> String {
    for _ in 0..200 {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let token = text
            .lines()
            .rev()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|mail| mail["to"] == to)
            .filter_map(|mail| {
                let body = mail["text"].as_str()?.to_owned();
                let (_, rest) = body.split_once("https://tickets.example/verify-email?token=")?;
                rest.split_whitespace().next().map(str::to_owned)
            })
            .next();
        if let Some(token) = token {
            return token;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no verification link mailed to {to}");
}

/// An event body in the shape of `docs/architecture.md#the-apis-shape`, on sale from an hour ago until the show.
pub fn event_body(title: &str) -> Value {
    let now = chrono::Utc::now();
    json!({
        "title": title,
        "venue": "Olympic Hall",
        "address": "424 Olympic-ro, Songpa-gu, Seoul",
        "startsAt": (now + chrono::Duration::days(30)).to_rfc3339(),
        "saleStartsAt": (now - chrono::Duration::hours(1)).to_rfc3339(),
        "status": "on_sale",
        "ticketTypes": [{"name": "General", "price": 99000, "quantity": 100}]
    })
}
