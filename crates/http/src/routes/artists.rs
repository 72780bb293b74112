//! Artists: list and detail.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use urr_store::artists::{self, Artist};
use urr_wire::artists::{ArtistList, ArtistView};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, ApiQuery};
use crate::pagination::Page;
use crate::state::AppState;

pub fn artist_view(a: Artist) -> ArtistView {
    ArtistView {
        id: a.id,
        name: a.name,
        genre: a.genre,
        description: a.description,
        image_url: a.image_url,
        created_at: a.created_at,
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    q: Option<String>,
    /// 1-based.
    #[param(minimum = 1, maximum = 1_000_000)]
    page: Option<i64>,
    /// Items per page (20 when absent; more than 100 is 100).
    #[param(minimum = 1)]
    limit: Option<i64>,
}

#[utoipa::path(
    get,
    operation_id = "artists_list",
    path = "/api/v1/artists",
    tag = "catalog",
    summary = "List artists",
    params(ListQuery),
    responses(
        (status = 200, description = "OK", body = urr_wire::artists::ArtistList),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody)
    )
)]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult<Json<ArtistList>> {
    let page = Page::from_query(query.page, query.limit)?;
    let q = crate::validate::optional_text("q", query.q.as_deref(), 200)?;
    let (found, total) = artists::list(&state.db, q.as_deref(), page.limit, page.offset()).await?;
    Ok(Json(ArtistList {
        artists: found.into_iter().map(artist_view).collect(),
        page: page.meta(total),
    }))
}

#[utoipa::path(
    get,
    operation_id = "artists_detail",
    path = "/api/v1/artists/{id}",
    tag = "catalog",
    summary = "An artist",
    params(("id" = Uuid, Path, description = "The artist's id")),
    responses(
        (status = 200, description = "OK", body = urr_wire::artists::ArtistView),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody),
        (status = 404, description = "Not found", body = urr_wire::ErrorBody)
    )
)]
pub async fn detail(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<ArtistView>> {
    let artist = artists::get(&state.db, id)
        .await?
        .ok_or_else(|| ApiError::not_found("artist"))?;
    Ok(Json(artist_view(artist)))
}
