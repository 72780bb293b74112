//! A site of real `urr serve` processes on loopback ports, on one fresh PostgreSQL
//! database and one Redis key prefix, that a test can kill (SIGKILL), freeze (SIGSTOP),
//! thaw (SIGCONT), stop (SIGTERM) and start again on the same address.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sqlx::postgres::PgPoolOptions;
use sqlx::{Executor, PgPool};
use uuid::Uuid;

/// The PostgreSQL server and Redis a site runs on.
#[derive(Clone)]
pub struct Backing {
    /// Base URL of the server, without a database.
    pub postgres: String,
    pub redis: String,
}

impl Backing {
    /// The machine's shared servers (each site takes its own database and key prefix).
    pub fn shared() -> Backing {
        Backing {
            postgres: "postgres://postgres@127.0.0.1:5432".into(),
            redis: std::env::var("URR_TEST_REDIS_URL")
                .unwrap_or_else(|_| "redis://127.0.0.1:6379/".into()),
        }
    }
}

/// How big a run is: small in CI, full size from `scripts/faults.sh`.
pub fn size(var: &str, ci: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(ci)
}

pub struct Node {
    pub id: String,
    /// The loopback address it listens on, advertises, and reaches the stores through.
    pub host: String,
    pub port: u16,
    child: Option<Child>,
}

impl Node {
    pub fn url(&self) -> String {
        format!("http://{}:{}", self.host, self.port)
    }

    fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    fn signal(&self, signal: &str) {
        if let Some(pid) = self.pid() {
            let status = Command::new("kill")
                .args([signal, &pid.to_string()])
                .status()
                .expect("kill runs");
            assert!(status.success(), "kill {signal} {pid}");
        }
    }
}

pub struct Site {
    pub backing: Backing,
    /// Added to every node's command line.
    extra: Vec<String>,
    pub db: PgPool,
    pub database: String,
    pub prefix: String,
    pub secret: String,
    pub lease_ttl_ms: u64,
    pub nodes: Vec<Node>,
    logs: std::path::PathBuf,
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl Site {
    /// `nodes` nodes with leases of `lease_ttl_ms`, each started and ready.
    pub async fn start(nodes: usize, lease_ttl_ms: u64) -> Site {
        Site::start_on(Backing::shared(), nodes, lease_ttl_ms).await
    }

    /// A site on `backing`'s servers.
    pub async fn start_on(backing: Backing, nodes: usize, lease_ttl_ms: u64) -> Site {
        Site::start_on_hosts(backing, vec!["127.0.0.1".to_owned(); nodes], lease_ttl_ms).await
    }

    /// One node per entry of `hosts`, each on its own loopback address, reaching
    /// `backing`'s servers at that address too (they must listen there), so that a
    /// partition can cut one node's traffic by its address alone.
    pub async fn start_on_hosts(backing: Backing, hosts: Vec<String>, lease_ttl_ms: u64) -> Site {
        Site::start_with(backing, hosts, lease_ttl_ms, Vec::new()).await
    }

    /// As [`Site::start_on_hosts`], with `extra` added to every node's command line.
    pub async fn start_with(
        backing: Backing,
        hosts: Vec<String>,
        lease_ttl_ms: u64,
        extra: Vec<String>,
    ) -> Site {
        let nodes = hosts.len();
        let server = backing.postgres.clone();
        let id = Uuid::new_v4().simple().to_string()[..16].to_owned();
        let database = format!("urr_fault_{id}");
        let admin = PgPoolOptions::new()
            .max_connections(1)
            .connect(&format!("{server}/postgres"))
            .await
            .expect("postgres");
        admin
            .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {database}")))
            .await
            .expect("create database");
        let db = PgPoolOptions::new()
            .max_connections(4)
            .connect(&format!("{server}/{database}"))
            .await
            .expect("test database");
        let logs = std::env::temp_dir().join(format!("urr-faults-{id}"));
        std::fs::create_dir_all(&logs).expect("log dir");
        println!("node logs: {}", logs.display());
        let mut site = Site {
            backing,
            extra,
            db,
            database,
            prefix: format!("urr-fault:{id}:"),
            secret: format!("fault-test-secret-{}", Uuid::new_v4()),
            lease_ttl_ms,
            nodes: Vec::new(),
            logs,
        };
        for (i, host) in hosts.into_iter().enumerate() {
            site.nodes.push(Node {
                id: format!("n{}", i + 1),
                host,
                port: free_port(),
                child: None,
            });
            site.launch(i);
        }
        for i in 0..nodes {
            site.wait_ready(i).await;
        }
        site
    }

    pub fn db_url(&self) -> String {
        format!("{}/{}", self.backing.postgres, self.database)
    }

    pub fn targets(&self) -> String {
        self.nodes
            .iter()
            .map(Node::url)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Adds a node and waits until it serves.
    pub async fn join_node(&mut self) -> usize {
        let i = self.nodes.len();
        self.nodes.push(Node {
            id: format!("n{}", i + 1),
            host: "127.0.0.1".to_owned(),
            port: free_port(),
            child: None,
        });
        self.launch(i);
        self.wait_ready(i).await;
        i
    }

    fn launch(&mut self, i: usize) {
        let node = &self.nodes[i];
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.logs.join(format!("{}.log", node.id)))
            .expect("node log");
        let err = log.try_clone().expect("node log");
        let child = Command::new(env!("CARGO_BIN_EXE_urr"))
            .args(["serve", "--listen", &format!("{}:{}", node.host, node.port)])
            .args([
                "--database-url",
                &self.db_url().replace("127.0.0.1", &node.host),
            ])
            .args([
                "--redis-url",
                &self.backing.redis.replace("127.0.0.1", &node.host),
            ])
            .args(["--redis-prefix", &self.prefix])
            .args(["--jwt-secret", &self.secret, "--payment-sandbox"])
            .args(["--db-max-connections", "8"])
            .args(["--vwr-advance-tick-ms", "100"])
            .args(["--sweep-interval-secs", "1", "--sweep-grace-secs", "1"])
            .args(["--node-id", &node.id, "--advertise-url", &node.url()])
            .args(["--lease-ttl-ms", &self.lease_ttl_ms.to_string()])
            .args(["--member-ttl-ms", &self.lease_ttl_ms.to_string()])
            // Every user of a run comes from loopback: no per-address limits in the way.
            .args(["--trusted-proxies", "127.0.0.1/32"])
            .args(&self.extra)
            .env(
                "RUST_LOG",
                std::env::var("URR_FAULT_LOG").unwrap_or("info".into()),
            )
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .spawn()
            .expect("urr serve starts");
        self.nodes[i].child = Some(child);
    }

    async fn wait_ready(&self, i: usize) {
        let url = format!("{}/readyz", self.nodes[i].url());
        let client = reqwest::Client::new();
        let limit = Instant::now() + Duration::from_secs(60);
        while Instant::now() < limit {
            if let Ok(r) = client.get(&url).send().await
                && r.status().is_success()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "node {} not ready in 60 s; log in {}",
            self.nodes[i].id,
            self.logs.display()
        );
    }

    /// SIGKILL: the process dies at once, releasing nothing.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.nodes[i].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then waits for the drain to finish (at most `limit`).
    pub async fn terminate(&mut self, i: usize, limit: Duration) {
        self.nodes[i].signal("-TERM");
        let deadline = Instant::now() + limit;
        if let Some(mut child) = self.nodes[i].child.take() {
            loop {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("node {} did not drain in {limit:?}", self.nodes[i].id);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }

    pub fn freeze(&self, i: usize) {
        self.nodes[i].signal("-STOP");
    }

    pub fn thaw(&self, i: usize) {
        self.nodes[i].signal("-CONT");
    }

    /// Starts node `i` again on its address and waits until it serves.
    pub async fn restart(&mut self, i: usize) {
        self.launch(i);
        self.wait_ready(i).await;
    }

    /// An operator's access token, signed with the site's secret.
    pub async fn operator_token(&self) -> String {
        let backend = urr_loadgen::Backend {
            db: self.db.clone(),
            keys: urr_auth::TokenKeys::new(self.secret.as_bytes()),
        };
        urr_loadgen::setup::operator(&backend)
            .await
            .expect("an operator")
            .access
            .expect("an operator's token")
    }

    /// Creates an on-sale event of `seats` seats through the first node; its id.
    pub async fn create_event(&self, token: &str, title: &str, seats: u32) -> Uuid {
        let now = chrono::Utc::now();
        let body = urr_wire::admin::CreateEventRequest {
            title: title.to_owned(),
            description: None,
            artist_id: None,
            venue: "Hall".into(),
            address: "1 Main St".into(),
            starts_at: now + chrono::Duration::days(30),
            sale_starts_at: now - chrono::Duration::minutes(1),
            sale_ends_at: None,
            status: Some("on_sale".into()),
            ticket_types: Vec::new(),
            seat_layout: Some(urr_loadgen::setup::layout(seats)),
        };
        let made: urr_wire::events::EventDetailView = reqwest::Client::new()
            .post(format!("{}/api/v1/admin/events", self.nodes[0].url()))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("create event")
            .json()
            .await
            .expect("event JSON");
        made.event.id
    }

    /// Everything node `i` has logged so far.
    pub fn log_of(&self, i: usize) -> String {
        std::fs::read_to_string(self.logs.join(format!("{}.log", self.nodes[i].id)))
            .unwrap_or_default()
    }

    pub fn index_of(&self, node_id: &str) -> usize {
        self.nodes
            .iter()
            .position(|n| n.id == node_id)
            .unwrap_or_else(|| panic!("no node {node_id}"))
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            if let Some(mut child) = node.child.take() {
                let _ = Command::new("kill")
                    .args(["-CONT", &child.id().to_string()])
                    .status();
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        // The database stays when a test failed, for reading; a passing run drops it.
        if !std::thread::panicking() {
            let database = self.database.clone();
            let server = self.backing.postgres.clone();
            let _ = std::thread::spawn(move || {
                let _ = Command::new("psql")
                    .args([&format!("{server}/postgres"), "-qAtc"])
                    .arg(format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
                    .status();
            })
            .join();
            let _ = std::fs::remove_dir_all(&self.logs);
        }
    }
}
