//! `/api/v1/community/*`: fans' posts and comments per artist or event. Text comes back
//! HTML-escaped.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::page::PageMeta;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuthorView {
    pub id: Uuid,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostView {
    pub id: Uuid,
    pub artist_id: Option<Uuid>,
    pub event_id: Option<Uuid>,
    pub author: AuthorView,
    pub title: String,
    pub body: String,
    pub hidden: bool,
    pub comment_count: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommentView {
    pub id: Uuid,
    pub post_id: Uuid,
    pub author: AuthorView,
    pub body: String,
    pub hidden: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PostList {
    pub posts: Vec<PostView>,
    #[serde(flatten)]
    pub page: PageMeta,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CommentList {
    pub comments: Vec<CommentView>,
    #[serde(flatten)]
    pub page: PageMeta,
}

/// `POST /api/v1/community/posts`: about an artist, an event, or both.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatePostRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artist_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<Uuid>,
    #[schema(min_length = 1)]
    pub title: String,
    #[schema(min_length = 1)]
    pub body: String,
}

/// `PATCH /api/v1/community/posts/{id}`: what is given changes.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UpdatePostRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

/// A new comment, or a comment's new text.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CommentRequest {
    #[schema(min_length = 1)]
    pub body: String,
}

/// Admin moderation: hide (or show again) a post or a comment.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ModerationRequest {
    pub hidden: bool,
}
