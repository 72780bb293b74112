//! Artists: list and detail.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use urr_store::artists::{self, Artist};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, ApiQuery};
use crate::pagination::{Page, PageMeta};
use crate::state::AppState;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtistView {
    id: Uuid,
    name: String,
    genre: Option<String>,
    description: Option<String>,
    image_url: Option<String>,
    created_at: DateTime<Utc>,
}

impl From<Artist> for ArtistView {
    fn from(a: Artist) -> Self {
        Self {
            id: a.id,
            name: a.name,
            genre: a.genre,
            description: a.description,
            image_url: a.image_url,
            created_at: a.created_at,
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    q: Option<String>,
    page: Option<i64>,
    limit: Option<i64>,
}

#[derive(Debug, Serialize)]
pub struct ArtistList {
    artists: Vec<ArtistView>,
    #[serde(flatten)]
    page: PageMeta,
}

pub async fn list(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult<Json<ArtistList>> {
    let page = Page::from_query(query.page, query.limit)?;
    let q = crate::validate::optional_text("q", query.q.as_deref(), 200)?;
    let (found, total) = artists::list(&state.db, q.as_deref(), page.limit, page.offset()).await?;
    Ok(Json(ArtistList {
        artists: found.into_iter().map(Into::into).collect(),
        page: page.meta(total),
    }))
}

pub async fn detail(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<ArtistView>> {
    let artist = artists::get(&state.db, id)
        .await?
        .ok_or_else(|| ApiError::not_found("artist"))?;
    Ok(Json(artist.into()))
}
