//! `/api/v1/news`: published by admins, read by anyone. Text comes back HTML-escaped.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::page::PageMeta;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewsView {
    pub id: Uuid,
    pub title: String,
    pub body: String,
    pub author_id: Option<Uuid>,
    pub published_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NewsList {
    pub news: Vec<NewsView>,
    #[serde(flatten)]
    pub page: PageMeta,
}

/// `POST /api/v1/news`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NewsRequest {
    #[schema(min_length = 1)]
    pub title: String,
    #[schema(min_length = 1)]
    pub body: String,
}

/// `PATCH /api/v1/news/{id}`: what is given changes.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NewsPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}
