use thiserror::Error;

/// What can go wrong on the bus itself (not inside a handler: see `HandlerError`).
#[derive(Debug, Error)]
pub enum BusError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("redis error: {0}")]
    Redis(#[from] redis::RedisError),
    /// A stream entry that is not one of ours (missing or unreadable fields).
    #[error("malformed stream entry {id}: {reason}")]
    Malformed { id: String, reason: String },
    #[error("output failed: {0}")]
    Io(#[from] std::io::Error),
}
