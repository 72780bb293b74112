//! Community posts and comments per artist or event, with moderation (hidden rows).
//! Text is stored exactly as written; escaping is the edge's job.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgPool};
use uuid::Uuid;

use crate::StoreError;

#[derive(Debug, Clone, FromRow)]
pub struct Post {
    pub id: Uuid,
    pub artist_id: Option<Uuid>,
    pub event_id: Option<Uuid>,
    pub author_id: Uuid,
    pub author_name: String,
    pub title: String,
    pub body: String,
    pub hidden: bool,
    pub comment_count: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewPost {
    pub artist_id: Option<Uuid>,
    pub event_id: Option<Uuid>,
    pub author_id: Uuid,
    pub title: String,
    pub body: String,
}

/// Which posts a list shows.
#[derive(Debug, Clone, Copy, Default)]
pub struct PostFilter {
    pub artist_id: Option<Uuid>,
    pub event_id: Option<Uuid>,
    /// Moderators see hidden posts too.
    pub include_hidden: bool,
}

#[derive(Debug, Clone, FromRow)]
pub struct Comment {
    pub id: Uuid,
    pub post_id: Uuid,
    pub author_id: Uuid,
    pub author_name: String,
    pub body: String,
    pub hidden: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const POST_SELECT: &str = "SELECT p.id, p.artist_id, p.event_id, p.author_id, \
     u.name AS author_name, p.title, p.body, p.hidden, p.created_at, p.updated_at, \
     (SELECT count(*) FROM community_comments c WHERE c.post_id = p.id AND NOT c.hidden) \
     AS comment_count \
     FROM community_posts p JOIN users u ON u.id = p.author_id";

const COMMENT_SELECT: &str = "SELECT c.id, c.post_id, c.author_id, u.name AS author_name, \
     c.body, c.hidden, c.created_at, c.updated_at \
     FROM community_comments c JOIN users u ON u.id = c.author_id";

fn post_reference(err: sqlx::Error) -> StoreError {
    match &err {
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
            match db.constraint().unwrap_or_default() {
                c if c.contains("event") => StoreError::MissingReference("event"),
                c if c.contains("artist") => StoreError::MissingReference("artist"),
                _ => StoreError::MissingReference("user"),
            }
        }
        _ => StoreError::Database(err),
    }
}

pub async fn create_post(pool: &PgPool, post: &NewPost) -> Result<Post, StoreError> {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO community_posts (id, artist_id, event_id, author_id, title, body) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(post.artist_id)
    .bind(post.event_id)
    .bind(post.author_id)
    .bind(&post.title)
    .bind(&post.body)
    .execute(pool)
    .await
    .map_err(post_reference)?;
    get_post(pool, id).await?.ok_or(StoreError::NotFound)
}

/// One page of posts, newest first, and the total that match.
pub async fn list_posts(
    pool: &PgPool,
    filter: PostFilter,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Post>, i64), StoreError> {
    const WHERE: &str = " WHERE ($1::uuid IS NULL OR p.artist_id = $1) \
         AND ($2::uuid IS NULL OR p.event_id = $2) AND ($3 OR NOT p.hidden)";
    let posts = sqlx::query_as::<_, Post>(sqlx::AssertSqlSafe(format!(
        "{POST_SELECT}{WHERE} ORDER BY p.created_at DESC, p.id DESC LIMIT $4 OFFSET $5"
    )))
    .bind(filter.artist_id)
    .bind(filter.event_id)
    .bind(filter.include_hidden)
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await?;
    let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM community_posts p{WHERE}"
    )))
    .bind(filter.artist_id)
    .bind(filter.event_id)
    .bind(filter.include_hidden)
    .fetch_one(pool)
    .await?;
    Ok((posts, total))
}

pub async fn get_post(pool: &PgPool, id: Uuid) -> Result<Option<Post>, StoreError> {
    Ok(sqlx::query_as::<_, Post>(sqlx::AssertSqlSafe(format!(
        "{POST_SELECT} WHERE p.id = $1"
    )))
    .bind(id)
    .fetch_optional(pool)
    .await?)
}

/// Changes a post's title and/or body; `NotFound` when it does not exist.
pub async fn update_post(
    pool: &PgPool,
    id: Uuid,
    title: Option<&str>,
    body: Option<&str>,
) -> Result<Post, StoreError> {
    let done = sqlx::query(
        "UPDATE community_posts SET title = COALESCE($2, title), body = COALESCE($3, body), \
         updated_at = now() WHERE id = $1",
    )
    .bind(id)
    .bind(title)
    .bind(body)
    .execute(pool)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    get_post(pool, id).await?.ok_or(StoreError::NotFound)
}

pub async fn set_post_hidden(pool: &PgPool, id: Uuid, hidden: bool) -> Result<Post, StoreError> {
    let done = sqlx::query("UPDATE community_posts SET hidden = $2 WHERE id = $1")
        .bind(id)
        .bind(hidden)
        .execute(pool)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    get_post(pool, id).await?.ok_or(StoreError::NotFound)
}

/// Deletes a post and its comments; false when there was none.
pub async fn delete_post(pool: &PgPool, id: Uuid) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM community_posts WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Adds a comment; `NotFound` when the post does not exist.
pub async fn create_comment(
    pool: &PgPool,
    post_id: Uuid,
    author_id: Uuid,
    body: &str,
) -> Result<Comment, StoreError> {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO community_comments (id, post_id, author_id, body) VALUES ($1, $2, $3, $4)",
    )
    .bind(id)
    .bind(post_id)
    .bind(author_id)
    .bind(body)
    .execute(pool)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::NotFound,
        _ => StoreError::Database(e),
    })?;
    get_comment(pool, id).await?.ok_or(StoreError::NotFound)
}

/// One page of a post's comments, oldest first, and the total.
pub async fn list_comments(
    pool: &PgPool,
    post_id: Uuid,
    include_hidden: bool,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Comment>, i64), StoreError> {
    let comments = sqlx::query_as::<_, Comment>(sqlx::AssertSqlSafe(format!(
        "{COMMENT_SELECT} WHERE c.post_id = $1 AND ($2 OR NOT c.hidden) \
         ORDER BY c.created_at, c.id LIMIT $3 OFFSET $4"
    )))
    .bind(post_id)
    .bind(include_hidden)
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await?;
    let total: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM community_comments c WHERE c.post_id = $1 AND ($2 OR NOT c.hidden)",
    )
    .bind(post_id)
    .bind(include_hidden)
    .fetch_one(pool)
    .await?;
    Ok((comments, total))
}

pub async fn get_comment(pool: &PgPool, id: Uuid) -> Result<Option<Comment>, StoreError> {
    Ok(sqlx::query_as::<_, Comment>(sqlx::AssertSqlSafe(format!(
        "{COMMENT_SELECT} WHERE c.id = $1"
    )))
    .bind(id)
    .fetch_optional(pool)
    .await?)
}

pub async fn update_comment(pool: &PgPool, id: Uuid, body: &str) -> Result<Comment, StoreError> {
    let done =
        sqlx::query("UPDATE community_comments SET body = $2, updated_at = now() WHERE id = $1")
            .bind(id)
            .bind(body)
            .execute(pool)
            .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    get_comment(pool, id).await?.ok_or(StoreError::NotFound)
}

pub async fn set_comment_hidden(
    pool: &PgPool,
    id: Uuid,
    hidden: bool,
) -> Result<Comment, StoreError> {
    let done = sqlx::query("UPDATE community_comments SET hidden = $2 WHERE id = $1")
        .bind(id)
        .bind(hidden)
        .execute(pool)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    get_comment(pool, id).await?.ok_or(StoreError::NotFound)
}

pub async fn delete_comment(pool: &PgPool, id: Uuid) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM community_comments WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() > 0)
}
