//! The one harness every API test uses: the real router on a random loopback port, its own
//! fresh PostgreSQL database and its own Redis key prefix, so tests run in parallel.
#![allow(dead_code)] // each test binary uses a different part of the harness

use std::future::pending;

use reqwest::header::SET_COOKIE;
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use urr_http::{AppState, HttpConfig};
use urr_store::{Kv, PgPool};
use uuid::Uuid;

/// The PostgreSQL server tests create their databases on.
pub fn postgres_server_url() -> String {
    std::env::var("URR_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

pub fn redis_url() -> String {
    std::env::var("URR_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".into())
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub db: PgPool,
    pub db_name: String,
    pub jwt_secret: String,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Spawns the app after letting the test adjust its configuration.
pub async fn spawn_app_with(configure: impl FnOnce(&mut HttpConfig)) -> TestApp {
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
    let kv = Kv::connect(&redis_url(), format!("urr-test:{id}:"))
        .await
        .expect("connect to Redis (is it running?)");

    let mut config = HttpConfig {
        listen: "127.0.0.1:0".parse().expect("address"),
        ..HttpConfig::default()
    };
    configure(&mut config);
    let jwt_secret = format!("test-secret-{id}");
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .expect("bind");
    let address = format!("http://{}", listener.local_addr().expect("address"));
    let state = AppState::new(db.clone(), kv, config, jwt_secret.as_bytes());
    tokio::spawn(urr_http::serve(
        listener,
        urr_http::router(state),
        pending(),
    ));

    TestApp {
        address,
        client: reqwest::Client::new(),
        db,
        db_name,
        jwt_secret,
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Async drop does not exist: drop the database from a thread of its own.
        let name = self.db_name.clone();
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                let _ = urr_store::db::drop_database(&postgres_server_url(), &name).await;
            });
        })
        .join();
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
    let body: Value = response.json().await.expect("json");
    Session {
        user_id: body["user"]["id"]
            .as_str()
            .and_then(|id| id.parse().ok())
            .expect("user id"),
        email: body["user"]["email"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        access: body["accessToken"].as_str().expect("token").to_owned(),
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
    let body: Value = serde_json::from_str(&text).expect("JSON error body");
    assert_eq!(body["error"]["code"], code, "code in {body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "message in {body}"
    );
    body
}

/// An event body in the SPEC 3 shape, on sale from an hour ago until the show.
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
