//! The load generator's one error type.

#[derive(Debug, thiserror::Error)]
pub enum LoadgenError {
    #[error("configuration: {0}")]
    Config(String),
    #[error("HTTP: {0}")]
    Http(#[from] reqwest::Error),
    #[error("store: {0}")]
    Store(#[from] urr_store::StoreError),
    #[error("auth: {0}")]
    Auth(#[from] urr_auth::AuthError),
    #[error("setting up the run: {0}")]
    Setup(String),
    #[error("writing the report: {0}")]
    Io(#[from] std::io::Error),
    #[error("drawing the plot: {0}")]
    Plot(String),
    #[error("the run was stopped")]
    Stopped,
}
