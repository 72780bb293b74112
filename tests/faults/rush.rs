//! A rush through the load generator against a site, in the background, and the moments
//! a fault test waits for: the event exists, sales have begun, its owner.

use std::time::{Duration, Instant};

use tokio::task::JoinHandle;
use urr_loadgen::{Accounts, Backend, LoadgenConfig, Report};
use uuid::Uuid;

use crate::site::{Site, size};

pub struct Rush {
    pub task: JoinHandle<Report>,
    pub event: Uuid,
}

/// Starts a rush of `URR_FAULT_USERS` (CI: `users`) for `URR_FAULT_SEATS` (CI: `seats`)
/// across every node of `site`, users waiting out a node that is down for up to 60 s.
pub async fn start(site: &Site, users: usize, seats: usize) -> Rush {
    start_with(site, users, seats, |_| {}).await
}

/// [`start`], with the load generator's settings changed by `change`.
pub async fn start_with(
    site: &Site,
    users: usize,
    seats: usize,
    change: impl FnOnce(&mut LoadgenConfig),
) -> Rush {
    let mut config = LoadgenConfig {
        target: site.targets(),
        users: size("URR_FAULT_USERS", users),
        seats: size("URR_FAULT_SEATS", seats) as u32,
        concurrency: 64,
        arrival_secs: 2,
        max_secs: 180,
        accounts: Accounts::Provisioned,
        threshold: 40,
        batch: 20,
        tick_ms: 200,
        hold_ttl_secs: 20,
        tier1: true,
        tier1_batch: 100,
        tier1_interval_secs: 1,
        abandon: 0.1,
        sse: 0.2,
        patience_secs: 60,
        progress: false,
        forwarded_for: false,
        out: std::env::temp_dir().join(format!("urr-fault-rush-{}", Uuid::new_v4())),
        ..LoadgenConfig::default()
    };
    change(&mut config);
    let (db_url, secret) = (site.db_url(), site.secret.clone());
    // The rush runs on a runtime of its own, as a separate client would, with its own
    // connections to the database it provisions accounts in.
    let task = tokio::task::spawn_blocking(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime for the rush");
        runtime.block_on(async move {
            let backend = Backend {
                db: sqlx::postgres::PgPoolOptions::new()
                    .max_connections(4)
                    .connect(&db_url)
                    .await
                    .expect("the rush's database"),
                keys: urr_auth::TokenKeys::new(secret.as_bytes()),
            };
            let (report, _) = urr_loadgen::run(&config, &backend, "Fault night")
                .await
                .expect("the rush runs");
            let _ = std::fs::remove_dir_all(&config.out);
            report
        })
    });
    let event = wait_for(
        &site.db,
        Duration::from_secs(60),
        "the rush's event",
        |db| async move {
            sqlx::query_scalar::<_, Uuid>("SELECT id FROM events LIMIT 1")
                .fetch_optional(&db)
                .await
                .ok()
                .flatten()
        },
    )
    .await;
    Rush { task, event }
}

/// Polls `probe` every 50 ms until it gives a value; panics after `limit`.
pub async fn wait_for<T, F, Fut>(db: &sqlx::PgPool, limit: Duration, what: &str, probe: F) -> T
where
    F: Fn(sqlx::PgPool) -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(found) = probe(db.clone()).await {
            return found;
        }
        assert!(Instant::now() < deadline, "waited {limit:?} for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until at least `n` reservations of the event are paid for (mid-rush).
pub async fn until_sales(site: &Site, event: Uuid, n: i64) {
    wait_for(
        &site.db,
        Duration::from_secs(120),
        "sales to begin",
        |db| async move {
            let sold: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM reservations WHERE event_id = $1 AND status = 'confirmed'",
            )
            .bind(event)
            .fetch_one(&db)
            .await
            .ok()?;
            (sold >= n).then_some(())
        },
    )
    .await;
}

/// The node that owns the event now, by the system of record.
pub async fn owner(site: &Site, event: Uuid) -> usize {
    let node = wait_for(
        &site.db,
        Duration::from_secs(30),
        "an owner",
        |db| async move {
            sqlx::query_scalar::<_, String>(
                "SELECT owner_node FROM event_owners WHERE event_id = $1 AND released_at IS NULL",
            )
            .bind(event)
            .fetch_optional(&db)
            .await
            .ok()
            .flatten()
        },
    )
    .await;
    site.index_of(&node)
}

/// The epoch the event is owned at now.
pub async fn epoch(site: &Site, event: Uuid) -> i64 {
    sqlx::query_scalar("SELECT epoch FROM event_owners WHERE event_id = $1")
        .bind(event)
        .fetch_one(&site.db)
        .await
        .expect("epoch")
}

/// Time from `since` (the fault) until the event's seat map, which the owning actor
/// answers, comes back 200 through `via` from an owner at an epoch above `old_epoch`:
/// the first success on the new owner. Polled every 25 ms.
pub async fn failover_time(
    site: &Site,
    event: Uuid,
    via: &str,
    old_epoch: i64,
    since: Instant,
) -> Duration {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .expect("client");
    let url = format!("{via}/api/v1/seats/events/{event}");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let moved = sqlx::query_scalar::<_, i64>(
            "SELECT epoch FROM event_owners WHERE event_id = $1 AND released_at IS NULL",
        )
        .bind(event)
        .fetch_optional(&site.db)
        .await
        .ok()
        .flatten()
        .is_some_and(|epoch| epoch > old_epoch);
        if moved
            && client
                .get(&url)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        {
            return since.elapsed();
        }
        assert!(Instant::now() < deadline, "no new owner within 60 s");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Waits for the rush to end and returns its report.
pub async fn finish(rush: Rush) -> Report {
    let report = rush.task.await.expect("the rush's task");
    println!("{}", report.summary());
    report
}
