use thiserror::Error;

/// What can go wrong in a store. `NotFound` and `Conflict` are answers about the data;
/// the other variants mean a dependency failed.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A uniqueness or state rule refused the write; the string names what clashed.
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// The write names a row that does not exist (e.g. an unknown artist id).
    #[error("unknown {0}")]
    MissingReference(&'static str),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("redis error: {0}")]
    Redis(#[from] redis::RedisError),
    /// A `TEXT` column held a word outside its set (statuses, tiers, roles).
    #[error("unreadable column: {0}")]
    Unreadable(#[from] urr_wire::UnknownValue),
    /// An owning actor's write carried a stale epoch: a newer owner has taken the event
    /// and the write was refused (`docs/architecture.md#fencing`).
    #[error("write refused: epoch {epoch} of event {event} is stale")]
    Fenced { event: uuid::Uuid, epoch: u64 },
}

impl From<urr_kv::KvError> for StoreError {
    fn from(err: urr_kv::KvError) -> Self {
        StoreError::Redis(err.0)
    }
}

impl StoreError {
    /// True when the failure is a dependency being unreachable or saturated (answer 503),
    /// as opposed to a bug or a data problem.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Database(e) => matches!(
                e,
                sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_)
            ),
            StoreError::Redis(_) | StoreError::Fenced { .. } => true,
            _ => false,
        }
    }

    /// Maps a unique-constraint violation to `Conflict(what)`, anything else to `Database`.
    pub(crate) fn unique_violation(err: sqlx::Error, what: &'static str) -> Self {
        match &err {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what),
            _ => StoreError::Database(err),
        }
    }
}
