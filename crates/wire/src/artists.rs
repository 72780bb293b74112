//! `/api/v1/artists`: list and detail.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::page::PageMeta;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ArtistView {
    pub id: Uuid,
    pub name: String,
    pub genre: Option<String>,
    pub description: Option<String>,
    pub image_url: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// `GET /api/v1/artists`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ArtistList {
    pub artists: Vec<ArtistView>,
    #[serde(flatten)]
    pub page: PageMeta,
}
