//! The test harness: a room on a real store (Redis on 127.0.0.1:6379 under a unique
//! prefix, or DynamoDB served by a private `moto_server` on a free loopback port), served
//! over HTTP by the real router on 127.0.0.1:0.

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::TcpListener as StdListener;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;
use urr_auth::{Role, TokenKeys};
use urr_kv::Kv;
use urr_vwr::domain::ids::EventId;
use urr_vwr::{
    AnyStore, BotDefence, DynamoStore, DynamoTables, RedisStore, RoomDefaults, WaitingRoom,
};
use uuid::Uuid;

pub const SECRET: &[u8] = b"vwr-test-secret-of-at-least-32-bytes!";
pub const ADMIN_KEY: &str = "test-admin-key";
pub const REDIS_URL: &str = "redis://127.0.0.1:6379";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Redis,
    Dynamo,
}

/// A `moto_server` owned by one test, killed when the test ends (also on panic).
pub struct Moto {
    child: Child,
    pub endpoint: String,
}

impl Moto {
    pub async fn start() -> Moto {
        for _ in 0..5 {
            let port = free_port();
            let child = Command::new("moto_server")
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("moto_server on PATH (python3 -m pip install 'moto[server]')");
            let mut moto = Moto {
                child,
                endpoint: format!("http://127.0.0.1:{port}"),
            };
            if moto.wait_ready().await {
                return moto;
            }
        }
        panic!("moto_server did not start");
    }

    async fn wait_ready(&mut self) -> bool {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false; // e.g. the port was taken in the meantime
            }
            if client
                .get(format!("{}/moto-api/", self.endpoint))
                .send()
                .await
                .is_ok()
            {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .expect("bind a loopback port")
        .local_addr()
        .expect("local address")
        .port()
}

pub struct Harness {
    pub kind: Kind,
    pub room: WaitingRoom<AnyStore>,
    pub keys: TokenKeys,
    pub base: String,
    pub http: reqwest::Client,
    /// The Redis connection, for tests that tamper with records directly.
    pub kv: Option<Kv>,
    /// The account behind each user label the tests use.
    users: Mutex<HashMap<String, Uuid>>,
    _moto: Option<Moto>,
}

impl Harness {
    pub async fn start(kind: Kind) -> Harness {
        Self::with(kind, RoomDefaults::default()).await
    }

    pub async fn with(kind: Kind, defaults: RoomDefaults) -> Harness {
        Self::defended(kind, defaults, BotDefence::default()).await
    }

    /// A harness whose node has `defence` (a CAPTCHA verifier, trusted proxies).
    pub async fn defended(kind: Kind, defaults: RoomDefaults, defence: BotDefence) -> Harness {
        let _ = tracing_subscriber::fmt()
            .with_env_filter("urr_vwr=warn")
            .with_test_writer()
            .try_init();
        let (store, moto, kv) = match kind {
            Kind::Redis => {
                let prefix = format!("test:vwr:{}:", Uuid::new_v4().simple());
                let kv = Kv::connect(REDIS_URL, prefix)
                    .await
                    .expect("redis on 127.0.0.1:6379");
                (AnyStore::Redis(RedisStore::new(kv.clone())), None, Some(kv))
            }
            Kind::Dynamo => {
                let moto = Moto::start().await;
                let suffix = Uuid::new_v4().simple().to_string();
                let tables = DynamoTables {
                    counters: format!("counters-{suffix}"),
                    positions: format!("positions-{suffix}"),
                };
                let store = DynamoStore::local(&moto.endpoint, "us-east-1", tables);
                store.ensure_tables().await.expect("create tables on moto");
                (AnyStore::Dynamo(store), Some(moto), None)
            }
        };
        let keys = TokenKeys::new(SECRET);
        let room = WaitingRoom::new(store, keys.clone(), defaults).with_defence(defence);
        let app = urr_vwr::router(room.clone(), Some(ADMIN_KEY.into()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the router");
        let addr = listener.local_addr().expect("router address");
        let service = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
        tokio::spawn(async move {
            axum::serve(listener, service)
                .await
                .expect("serve the router");
        });
        Harness {
            kind,
            room,
            keys,
            base: format!("http://{addr}"),
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(1024)
                .build()
                .expect("http client"),
            kv,
            users: Mutex::new(HashMap::new()),
            _moto: moto,
        }
    }

    /// The account id of user `label` (the same one every time).
    pub fn uid(&self, label: &str) -> String {
        let mut users = self.users.lock().expect("users");
        users
            .entry(label.to_owned())
            .or_insert_with(Uuid::new_v4)
            .to_string()
    }

    /// A fresh access token for user `label`, as the edge would issue at sign-in.
    pub fn access(&self, label: &str) -> String {
        let id = Uuid::parse_str(&self.uid(label)).expect("uuid");
        self.keys
            .issue_access(id, &format!("{label}@example.com"), Role::User)
            .expect("sign")
            .0
    }

    pub fn event() -> EventId {
        EventId::parse(&Uuid::new_v4().to_string()).expect("a UUID is an event id")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// An operator call with the admin key; panics unless it succeeds.
    pub async fn admin(&self, event: &EventId, action: &str, body: Value) -> Value {
        let (status, reply) = self.admin_raw(event, action, body).await;
        assert!(status.is_success(), "{action}: {status} {reply}");
        reply
    }

    pub async fn admin_raw(
        &self,
        event: &EventId,
        action: &str,
        body: Value,
    ) -> (reqwest::StatusCode, Value) {
        let response = self
            .http
            .post(self.url(&format!("/vwr/admin/rooms/{event}/{action}")))
            .header(urr_vwr::ADMIN_KEY_HEADER, ADMIN_KEY)
            .json(&body)
            .send()
            .await
            .expect("operator call");
        let status = response.status();
        (status, response.json().await.expect("JSON reply"))
    }

    pub async fn assign(&self, event: &EventId, user: &str) -> (reqwest::StatusCode, Value) {
        let response = self
            .http
            .post(self.url(&format!("/vwr/assign/{event}")))
            .bearer_auth(self.access(user))
            .send()
            .await
            .expect("assign call");
        let status = response.status();
        (status, response.json().await.expect("JSON reply"))
    }

    pub async fn check(
        &self,
        event: &EventId,
        request_id: &str,
        user: &str,
    ) -> (reqwest::StatusCode, Value) {
        let response = self
            .http
            .get(self.url(&format!("/vwr/check/{event}/{request_id}")))
            .bearer_auth(self.access(user))
            .send()
            .await
            .expect("check call");
        let status = response.status();
        (status, response.json().await.expect("JSON reply"))
    }

    pub async fn status(&self, event: &EventId) -> Value {
        self.http
            .get(self.url(&format!("/vwr/status/{event}")))
            .send()
            .await
            .expect("status call")
            .json()
            .await
            .expect("JSON reply")
    }
}
