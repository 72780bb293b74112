//! What can go wrong when a node joins or operates the cluster.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum ClusterError {
    /// Redis or PostgreSQL failed.
    #[error("cluster storage: {0}")]
    Store(#[from] urr_store::StoreError),
}
