//! Connecting to PostgreSQL and keeping its schema current.

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgConnection, PgPool};

use crate::StoreError;

/// The schema, embedded at compile time so the binary migrates itself.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// How long the server lets a session sit idle inside a transaction before ending it.
/// Every transaction of an owning actor holds its event's `event_owners` row FOR SHARE
/// (docs/architecture.md#fencing); a node frozen (SIGSTOP, a VM pause) or cut off between
/// two statements would otherwise hold that lock, and block the takeover that must
/// replace it, for as long as it stays frozen. No transaction of ours waits this long
/// between statements: none calls out to a provider or a person mid-transaction.
pub const IDLE_IN_TRANSACTION_TIMEOUT: &str = "2s";

/// An idle connection is checked with a round trip before it is lent out only when it has
/// sat this long. sqlx checks every connection as it comes back, so one lent out again
/// within a moment was just seen alive; checking it again cost a round trip per
/// statement run on the pool (a rush's payments are mostly such statements). A
/// connection idle through a database restart has sat at least as long as the restart,
/// so it is still checked and replaced.
const CHECK_IDLE_AFTER: Duration = Duration::from_millis(500);

/// Opens a pool. Acquiring waits at most a few seconds so a dead database answers 503
/// quickly instead of hanging requests.
pub async fn connect(url: &str, max_connections: u32) -> Result<PgPool, StoreError> {
    let options: PgConnectOptions = url.parse()?;
    let options = options.options([(
        "idle_in_transaction_session_timeout",
        IDLE_IN_TRANSACTION_TIMEOUT,
    )]);
    let pool = pool_options(max_connections)
        .connect_with(options.log_statements(tracing::log::LevelFilter::Trace))
        .await?;
    Ok(pool)
}

/// A second pool to the same database as `pool`, for the event actors' own writes
/// (`docs/architecture.md#the-writers-lane`). An event's actor is the single writer of
/// its sales and holds, so every request waiting on it waits on its transactions; lent
/// from the pool the request handlers use, each of them first queued for a connection
/// behind those very handlers (a rush measured ~170 ms of a sale batch's ~245 ms there).
/// Opened lazily: a node that owns no event opens none of these connections.
pub fn writers(pool: &PgPool, max_connections: u32) -> PgPool {
    let options = (*pool.connect_options()).clone();
    pool_options(max_connections.max(1)).connect_lazy_with(options)
}

fn pool_options(max_connections: u32) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= CHECK_IDLE_AFTER {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
}

/// Applies every migration that has not run yet.
pub async fn migrate(pool: &PgPool) -> Result<(), StoreError> {
    MIGRATOR.run(pool).await?;
    Ok(())
}

/// A cheap round trip for readiness checks.
pub async fn ping(pool: &PgPool) -> Result<(), StoreError> {
    sqlx::query("SELECT 1").execute(pool).await?;
    Ok(())
}

/// Tries a single connection, for deciding whether a server is reachable at all.
pub async fn reachable(url: &str) -> bool {
    let Ok(options) = url.parse::<PgConnectOptions>() else {
        return false;
    };
    match tokio::time::timeout(Duration::from_secs(3), PgConnection::connect_with(&options)).await {
        Ok(Ok(conn)) => {
            let _ = conn.close().await;
            true
        }
        _ => false,
    }
}

/// Creates an empty database `name` on the server at `server_url` (used by test harnesses
/// and the private dev server). `name` must be a plain identifier.
pub async fn create_database(server_url: &str, name: &str) -> Result<(), StoreError> {
    assert_identifier(name)?;
    let mut conn = PgConnection::connect(server_url).await?;
    let sql = format!(r#"CREATE DATABASE "{name}""#);
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    Ok(())
}

/// Creates database `name` unless it already exists.
pub async fn ensure_database(server_url: &str, name: &str) -> Result<(), StoreError> {
    assert_identifier(name)?;
    let mut conn = PgConnection::connect(server_url).await?;
    let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(name)
        .fetch_optional(&mut conn)
        .await?;
    if exists.is_none() {
        let sql = format!(r#"CREATE DATABASE "{name}""#);
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&mut conn)
            .await?;
    }
    conn.close().await?;
    Ok(())
}

/// Drops database `name`, disconnecting anyone still using it.
pub async fn drop_database(server_url: &str, name: &str) -> Result<(), StoreError> {
    assert_identifier(name)?;
    let mut conn = PgConnection::connect(server_url).await?;
    let sql = format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#);
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    Ok(())
}

/// [`drop_database`] from synchronous code, such as a test harness's `Drop` (async drop
/// does not exist): on a thread and runtime of its own, so it works whether or not the
/// caller is inside a runtime. Best effort: a database left behind is only litter.
pub fn drop_database_blocking(server_url: &str, name: &str) {
    let (server_url, name) = (server_url.to_owned(), name.to_owned());
    let _ = std::thread::spawn(move || {
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        let _ = runtime.block_on(drop_database(&server_url, &name));
    })
    .join();
}

fn assert_identifier(name: &str) -> Result<(), StoreError> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(StoreError::Conflict(
            "database name must be [A-Za-z0-9_]{1,63}",
        ))
    }
}
