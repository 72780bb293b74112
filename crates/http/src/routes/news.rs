//! News: published by admins, read by anyone. Text is HTML-escaped in every reply.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use urr_store::news::{self, News};
use uuid::Uuid;

use super::community::escape_html;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::pagination::{Page, PageMeta};
use crate::session::AdminUser;
use crate::state::AppState;
use crate::validate;

pub const MAX_TITLE: usize = 200;
pub const MAX_BODY: usize = 20_000;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewsView {
    id: Uuid,
    title: String,
    body: String,
    author_id: Option<Uuid>,
    published_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<News> for NewsView {
    fn from(n: News) -> Self {
        Self {
            id: n.id,
            title: escape_html(&n.title),
            body: escape_html(&n.body),
            author_id: n.author_id,
            published_at: n.published_at,
            updated_at: n.updated_at,
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    page: Option<i64>,
    limit: Option<i64>,
}

#[derive(Debug, Serialize)]
pub struct NewsList {
    news: Vec<NewsView>,
    #[serde(flatten)]
    page: PageMeta,
}

pub async fn list(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult<Json<NewsList>> {
    let page = Page::from_query(query.page, query.limit)?;
    let (items, total) = news::list(&state.db, page.limit, page.offset()).await?;
    Ok(Json(NewsList {
        news: items.into_iter().map(Into::into).collect(),
        page: page.meta(total),
    }))
}

pub async fn detail(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<NewsView>> {
    let item = news::get(&state.db, id)
        .await?
        .ok_or_else(|| ApiError::not_found("news"))?;
    Ok(Json(item.into()))
}

#[derive(Debug, Deserialize)]
pub struct CreateRequest {
    title: String,
    body: String,
}

pub async fn create(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    ApiJson(body): ApiJson<CreateRequest>,
) -> ApiResult<(StatusCode, Json<NewsView>)> {
    let title = validate::text("title", &body.title, 1, MAX_TITLE)?;
    let text = validate::text("body", &body.body, 1, MAX_BODY)?;
    let item = news::create(&state.db, admin.id, &title, &text).await?;
    Ok((StatusCode::CREATED, Json(item.into())))
}

#[derive(Debug, Deserialize)]
pub struct UpdateRequest {
    title: Option<String>,
    body: Option<String>,
}

pub async fn update(
    State(state): State<AppState>,
    _admin: AdminUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<UpdateRequest>,
) -> ApiResult<Json<NewsView>> {
    let (title, text) = validate::title_body_patch(
        body.title.as_deref(),
        body.body.as_deref(),
        MAX_TITLE,
        MAX_BODY,
    )?;
    let item = news::update(&state.db, id, title.as_deref(), text.as_deref())
        .await
        .map_err(|e| match e {
            urr_store::StoreError::NotFound => ApiError::not_found("news"),
            other => other.into(),
        })?;
    Ok(Json(item.into()))
}

pub async fn delete(
    State(state): State<AppState>,
    _admin: AdminUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    if !news::delete(&state.db, id).await? {
        return Err(ApiError::not_found("news"));
    }
    Ok(StatusCode::NO_CONTENT)
}
