//! News: published by admins, read by anyone. Text is HTML-escaped in every reply.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use urr_store::news::{self, News};
use urr_wire::news::{NewsList, NewsPatch, NewsRequest, NewsView};
use uuid::Uuid;

use super::community::escape_html;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::pagination::Page;
use crate::session::AdminUser;
use crate::state::AppState;
use crate::validate;

pub const MAX_TITLE: usize = 200;
pub const MAX_BODY: usize = 20_000;

fn news_view(n: News) -> NewsView {
    NewsView {
        id: n.id,
        title: escape_html(&n.title),
        body: escape_html(&n.body),
        author_id: n.author_id,
        published_at: n.published_at,
        updated_at: n.updated_at,
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// 1-based.
    #[param(minimum = 1, maximum = 1_000_000)]
    page: Option<i64>,
    /// Items per page (20 when absent; more than 100 is 100).
    #[param(minimum = 1)]
    limit: Option<i64>,
}

#[utoipa::path(
    get,
    operation_id = "news_list",
    path = "/api/v1/news",
    tag = "news",
    summary = "List news",
    params(ListQuery),
    responses(
        (status = 200, description = "OK", body = urr_wire::news::NewsList),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody)
    )
)]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult<Json<NewsList>> {
    let page = Page::from_query(query.page, query.limit)?;
    let (items, total) = news::list(&state.db, page.limit, page.offset()).await?;
    Ok(Json(NewsList {
        news: items.into_iter().map(news_view).collect(),
        page: page.meta(total),
    }))
}

#[utoipa::path(
    get,
    operation_id = "news_detail",
    path = "/api/v1/news/{id}",
    tag = "news",
    summary = "A news item",
    params(("id" = Uuid, Path, description = "The news item's id")),
    responses(
        (status = 200, description = "OK", body = urr_wire::news::NewsView),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody),
        (status = 404, description = "Not found", body = urr_wire::ErrorBody)
    )
)]
pub async fn detail(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<NewsView>> {
    let item = news::get(&state.db, id)
        .await?
        .ok_or_else(|| ApiError::not_found("news"))?;
    Ok(Json(news_view(item)))
}

#[utoipa::path(
    post,
    operation_id = "news_create",
    path = "/api/v1/news",
    tag = "news",
    summary = "Publish news (admin)",
    request_body = urr_wire::news::NewsRequest,
    responses(
        (status = 201, description = "OK", body = urr_wire::news::NewsView,
            links(
                ("GetNews" = (operation_id = "news_detail", parameters(("id" = "$response.body#/id")))),
                ("UpdateNews" = (operation_id = "news_update", parameters(("id" = "$response.body#/id"))))
            )
        ),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody),
        (status = 401, description = "Not signed in, or the token is invalid or expired", body = urr_wire::ErrorBody),
        (status = 403, description = "Forbidden", body = urr_wire::ErrorBody)
    ),
    security(("bearer" = []), ("accessCookie" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    ApiJson(body): ApiJson<NewsRequest>,
) -> ApiResult<(StatusCode, Json<NewsView>)> {
    let title = validate::text("title", &body.title, 1, MAX_TITLE)?;
    let text = validate::text("body", &body.body, 1, MAX_BODY)?;
    let item = news::create(&state.db, admin.id, &title, &text).await?;
    Ok((StatusCode::CREATED, Json(news_view(item))))
}

#[utoipa::path(
    patch,
    operation_id = "news_update",
    path = "/api/v1/news/{id}",
    tag = "news",
    summary = "Edit news (admin)",
    params(("id" = Uuid, Path, description = "The news item's id")),
    request_body = urr_wire::news::NewsPatch,
    responses(
        (status = 200, description = "OK", body = urr_wire::news::NewsView),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody),
        (status = 401, description = "Not signed in, or the token is invalid or expired", body = urr_wire::ErrorBody),
        (status = 403, description = "Forbidden", body = urr_wire::ErrorBody),
        (status = 404, description = "Not found", body = urr_wire::ErrorBody)
    ),
    security(("bearer" = []), ("accessCookie" = []))
)]
pub async fn update(
    State(state): State<AppState>,
    _admin: AdminUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<NewsPatch>,
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
    Ok(Json(news_view(item)))
}

#[utoipa::path(
    delete,
    operation_id = "news_delete",
    path = "/api/v1/news/{id}",
    tag = "news",
    summary = "Delete news (admin)",
    params(("id" = Uuid, Path, description = "The news item's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody),
        (status = 401, description = "Not signed in, or the token is invalid or expired", body = urr_wire::ErrorBody),
        (status = 403, description = "Forbidden", body = urr_wire::ErrorBody),
        (status = 404, description = "Not found", body = urr_wire::ErrorBody)
    ),
    security(("bearer" = []), ("accessCookie" = []))
)]
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
