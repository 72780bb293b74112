//! Each test gets its own PostgreSQL database and Redis key prefix, so tests run in
//! parallel against the real servers.
#![allow(dead_code)] // each test binary uses a different part of the harness

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use urr_bus::retry::RetryPolicy;
use urr_bus::{BusEvent, Consumer, ConsumerConfig, Handler, HandlerError, Tx};
use urr_proto::DomainEvent;
use urr_store::{Kv, PgPool};
use uuid::Uuid;

pub fn postgres_server_url() -> String {
    std::env::var("URR_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

pub fn redis_url() -> String {
    std::env::var("URR_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".into())
}

pub struct TestEnv {
    pub db: PgPool,
    pub kv: Kv,
    db_name: String,
    prefix: String,
}

pub async fn env() -> TestEnv {
    let id = Uuid::new_v4().simple().to_string();
    let db_name = format!("urr_bus_test_{id}");
    let server = postgres_server_url();
    urr_store::db::create_database(&server, &db_name)
        .await
        .expect("create the test database (is PostgreSQL running?)");
    let (base, _) = server
        .rsplit_once('/')
        .expect("URR_TEST_DATABASE_URL must end in /DATABASE");
    let db = urr_store::db::connect(&format!("{base}/{db_name}"), 10)
        .await
        .expect("connect");
    urr_store::db::migrate(&db).await.expect("migrate");
    let prefix = format!("urr-bus-test:{id}:");
    let kv = Kv::connect(&redis_url(), prefix.clone())
        .await
        .expect("connect to Redis (is it running?)");
    TestEnv {
        db,
        kv,
        db_name,
        prefix,
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        // Async drop does not exist: clean up from a thread of its own.
        let name = self.db_name.clone();
        let pattern = format!("{}*", self.prefix);
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                let _ = urr_store::db::drop_database(&postgres_server_url(), &name).await;
                let _ = delete_keys(&pattern).await;
            });
        })
        .join();
    }
}

async fn delete_keys(pattern: &str) -> redis::RedisResult<()> {
    let client = redis::Client::open(redis_url())?;
    let mut conn = client.get_multiplexed_async_connection().await?;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(pattern)
        .query_async(&mut conn)
        .await?;
    if !keys.is_empty() {
        let _: usize = redis::cmd("DEL").arg(&keys).query_async(&mut conn).await?;
    }
    Ok(())
}

impl TestEnv {
    /// Writes one event to the outbox, as a producer does in its own transaction.
    pub async fn append(&self, event: &DomainEvent, key: &str) -> i64 {
        let mut tx = self.db.begin().await.expect("begin");
        let id = urr_store::outbox::append(&mut tx, event, key)
            .await
            .expect("append");
        tx.commit().await.expect("commit");
        id
    }

    pub async fn processed_count(&self, group: &str) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM processed_events WHERE consumer = $1")
            .bind(group)
            .fetch_one(&self.db)
            .await
            .expect("count")
    }

    pub async fn stream_len(&self, topic: &str) -> usize {
        let mut conn = self.kv.conn();
        redis::cmd("XLEN")
            .arg(self.kv.key(topic))
            .query_async(&mut conn)
            .await
            .expect("XLEN")
    }

    /// Entries delivered to `group` and not acked.
    pub async fn pending(&self, topic: &str, group: &str) -> usize {
        let mut conn = self.kv.conn();
        let reply: redis::streams::StreamPendingReply = redis::cmd("XPENDING")
            .arg(self.kv.key(topic))
            .arg(group)
            .query_async(&mut conn)
            .await
            .expect("XPENDING");
        reply.count()
    }

    pub fn consumer(
        &self,
        group: &str,
        name: &str,
        topic: &str,
        handler: Arc<dyn Handler>,
    ) -> Consumer {
        Consumer::new(
            self.db.clone(),
            self.kv.clone(),
            group,
            name,
            &[topic],
            handler,
        )
        .with_config(fast_config())
    }
}

/// Short waits so retries and takeovers happen within a test's patience.
pub fn fast_config() -> ConsumerConfig {
    ConsumerConfig {
        batch: 16,
        idle_poll: Duration::from_millis(20),
        retry: RetryPolicy {
            base: Duration::from_millis(200),
            max: Duration::from_millis(800),
            max_deliveries: 3,
        },
    }
}

/// The example handler: decodes payments with urr_proto, records what it saw, and fails
/// its first `fail_first` calls (all of them while `broken` is set).
#[derive(Default)]
pub struct RecordingHandler {
    pub seen: Mutex<Vec<BusEvent>>,
    pub calls: AtomicUsize,
    pub fail_first: usize,
    pub broken: std::sync::atomic::AtomicBool,
}

impl RecordingHandler {
    pub fn failing_first(n: usize) -> Self {
        Self {
            fail_first: n,
            ..Self::default()
        }
    }

    pub fn always_failing() -> Self {
        let handler = Self::default();
        handler.broken.store(true, Ordering::SeqCst);
        handler
    }

    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    pub fn seen(&self) -> Vec<BusEvent> {
        self.seen.lock().expect("lock").clone()
    }
}

#[async_trait]
impl Handler for RecordingHandler {
    async fn handle(&self, event: &BusEvent, tx: &mut Tx) -> Result<(), HandlerError> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        if self.broken.load(Ordering::SeqCst) || call <= self.fail_first {
            return Err(format!("simulated failure on call {call}").into());
        }
        // A write of the handler's own, committed together with processed_events.
        sqlx::query("SELECT 1").execute(&mut **tx).await?;
        self.seen.lock().expect("lock").push(event.clone());
        Ok(())
    }
}

/// Polls until `done` holds or a few seconds pass.
pub async fn poll_until(consumer: &Consumer, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(tokio::time::Instant::now() < deadline, "timed out polling");
        consumer.poll_once().await.expect("poll");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
