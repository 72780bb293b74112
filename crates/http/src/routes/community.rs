//! Community: fans' posts and comments per artist or event. Anyone may read; signed-in
//! users write; only the author edits; the author or an admin deletes; admins hide.
//! Text is stored as written and HTML-escaped in every reply.

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::Deserialize;
use urr_auth::Role;
use urr_store::community::{self, Comment, NewPost, Post, PostFilter};
use urr_wire::community::{
    AuthorView, CommentList, CommentRequest, CommentView, CreatePostRequest, ModerationRequest,
    PostList, PostView, UpdatePostRequest,
};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::pagination::Page;
use crate::session::{AdminUser, CurrentUser};
use crate::state::AppState;
use crate::validate;

pub const MAX_TITLE: usize = 200;
pub const MAX_POST_BODY: usize = 10_000;
pub const MAX_COMMENT_BODY: usize = 2_000;

/// Escapes the characters that matter in HTML text and attributes, so stored text can
/// never become markup in a page that shows it.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The caller when signed in; anonymous otherwise. A bad token is still an error.
pub struct MaybeUser(pub Option<CurrentUser>);

impl FromRequestParts<AppState> for MaybeUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match CurrentUser::from_request_parts(parts, state).await {
            Ok(user) => Ok(MaybeUser(Some(user))),
            Err(e) if e.code == ErrorCode::Unauthorized => Ok(MaybeUser(None)),
            Err(e) => Err(e),
        }
    }
}

impl MaybeUser {
    fn is_admin(&self) -> bool {
        self.0.as_ref().is_some_and(|u| u.role == Role::Admin)
    }
}

fn post_view(p: Post) -> PostView {
    PostView {
        id: p.id,
        artist_id: p.artist_id,
        event_id: p.event_id,
        author: AuthorView {
            id: p.author_id,
            name: escape_html(&p.author_name),
        },
        title: escape_html(&p.title),
        body: escape_html(&p.body),
        hidden: p.hidden,
        comment_count: p.comment_count,
        created_at: p.created_at,
        updated_at: p.updated_at,
    }
}

fn comment_view(c: Comment) -> CommentView {
    CommentView {
        id: c.id,
        post_id: c.post_id,
        author: AuthorView {
            id: c.author_id,
            name: escape_html(&c.author_name),
        },
        body: escape_html(&c.body),
        hidden: c.hidden,
        created_at: c.created_at,
        updated_at: c.updated_at,
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct PostQuery {
    artist_id: Option<Uuid>,
    event_id: Option<Uuid>,
    /// 1-based.
    #[param(minimum = 1, maximum = 1_000_000)]
    page: Option<i64>,
    /// Items per page (20 when absent; more than 100 is 100).
    #[param(minimum = 1)]
    limit: Option<i64>,
}

#[utoipa::path(
    get,
    operation_id = "community_list_posts",
    path = "/api/v1/community/posts",
    tag = "community",
    summary = "List posts",
    params(PostQuery),
    responses(
        (status = 200, description = "OK", body = urr_wire::community::PostList),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody)
    )
)]
pub async fn list_posts(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<PostQuery>,
) -> ApiResult<Json<PostList>> {
    let page = Page::from_query(query.page, query.limit)?;
    let filter = PostFilter {
        artist_id: query.artist_id,
        event_id: query.event_id,
        include_hidden: false,
    };
    let (posts, total) =
        community::list_posts(&state.db, filter, page.limit, page.offset()).await?;
    Ok(Json(PostList {
        posts: posts.into_iter().map(post_view).collect(),
        page: page.meta(total),
    }))
}

#[utoipa::path(
    post,
    operation_id = "community_create_post",
    path = "/api/v1/community/posts",
    tag = "community",
    summary = "Write a post",
    request_body = urr_wire::community::CreatePostRequest,
    responses(
        (status = 201, description = "OK", body = urr_wire::community::PostView,
            links(
                ("GetPost" = (operation_id = "community_get_post", parameters(("id" = "$response.body#/id")))),
                ("ListComments" = (operation_id = "community_list_comments", parameters(("id" = "$response.body#/id")))),
                ("Comment" = (operation_id = "community_create_comment", parameters(("id" = "$response.body#/id")))),
                ("UpdatePost" = (operation_id = "community_update_post", parameters(("id" = "$response.body#/id")))),
                ("ModeratePost" = (operation_id = "community_moderate_post", parameters(("id" = "$response.body#/id"))))
            )
        ),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody),
        (status = 401, description = "Not signed in, or the token is invalid or expired", body = urr_wire::ErrorBody),
        (status = 404, description = "Not found", body = urr_wire::ErrorBody)
    ),
    security(("bearer" = []), ("accessCookie" = []))
)]
pub async fn create_post(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(body): ApiJson<CreatePostRequest>,
) -> ApiResult<(StatusCode, Json<PostView>)> {
    if body.artist_id.is_none() && body.event_id.is_none() {
        return Err(ApiError::invalid(
            "a post belongs to an artistId or an eventId",
        ));
    }
    let new = NewPost {
        artist_id: body.artist_id,
        event_id: body.event_id,
        author_id: user.id,
        title: validate::text("title", &body.title, 1, MAX_TITLE)?,
        body: validate::text("body", &body.body, 1, MAX_POST_BODY)?,
    };
    let post = community::create_post(&state.db, &new).await?;
    Ok((StatusCode::CREATED, Json(post_view(post))))
}

/// A post the caller may see: hidden posts exist only for admins.
async fn visible_post(state: &AppState, id: Uuid, admin: bool) -> ApiResult<Post> {
    match community::get_post(&state.db, id).await? {
        Some(post) if admin || !post.hidden => Ok(post),
        _ => Err(ApiError::not_found("post")),
    }
}

#[utoipa::path(
    get,
    operation_id = "community_get_post",
    path = "/api/v1/community/posts/{id}",
    tag = "community",
    summary = "A post",
    params(("id" = Uuid, Path, description = "The post's id")),
    responses(
        (status = 200, description = "OK", body = urr_wire::community::PostView),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody),
        (status = 404, description = "Not found", body = urr_wire::ErrorBody)
    )
)]
pub async fn get_post(
    State(state): State<AppState>,
    user: MaybeUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<PostView>> {
    Ok(Json(post_view(
        visible_post(&state, id, user.is_admin()).await?,
    )))
}

fn forbid_unless_author(author: Uuid, user: &CurrentUser, what: &str) -> ApiResult<()> {
    if author != user.id {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            format!("only the author may change this {what}"),
        ));
    }
    Ok(())
}

fn forbid_unless_author_or_admin(author: Uuid, user: &CurrentUser, what: &str) -> ApiResult<()> {
    if user.role == Role::Admin {
        return Ok(());
    }
    forbid_unless_author(author, user, what)
}

#[utoipa::path(
    patch,
    operation_id = "community_update_post",
    path = "/api/v1/community/posts/{id}",
    tag = "community",
    summary = "Edit the caller's post",
    params(("id" = Uuid, Path, description = "The post's id")),
    request_body = urr_wire::community::UpdatePostRequest,
    responses(
        (status = 200, description = "OK", body = urr_wire::community::PostView),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody),
        (status = 401, description = "Not signed in, or the token is invalid or expired", body = urr_wire::ErrorBody),
        (status = 403, description = "Forbidden", body = urr_wire::ErrorBody),
        (status = 404, description = "Not found", body = urr_wire::ErrorBody)
    ),
    security(("bearer" = []), ("accessCookie" = []))
)]
pub async fn update_post(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<UpdatePostRequest>,
) -> ApiResult<Json<PostView>> {
    let post = visible_post(&state, id, user.role == Role::Admin).await?;
    forbid_unless_author(post.author_id, &user, "post")?;
    let (title, text) = validate::title_body_patch(
        body.title.as_deref(),
        body.body.as_deref(),
        MAX_TITLE,
        MAX_POST_BODY,
    )?;
    let updated = community::update_post(&state.db, id, title.as_deref(), text.as_deref()).await?;
    Ok(Json(post_view(updated)))
}

#[utoipa::path(
    delete,
    operation_id = "community_delete_post",
    path = "/api/v1/community/posts/{id}",
    tag = "community",
    summary = "Delete the caller's post",
    params(("id" = Uuid, Path, description = "The post's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody),
        (status = 401, description = "Not signed in, or the token is invalid or expired", body = urr_wire::ErrorBody),
        (status = 403, description = "Forbidden", body = urr_wire::ErrorBody),
        (status = 404, description = "Not found", body = urr_wire::ErrorBody)
    ),
    security(("bearer" = []), ("accessCookie" = []))
)]
pub async fn delete_post(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    let post = visible_post(&state, id, user.role == Role::Admin).await?;
    forbid_unless_author_or_admin(post.author_id, &user, "post")?;
    if !community::delete_post(&state.db, id).await? {
        return Err(ApiError::not_found("post"));
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// 1-based.
    #[param(minimum = 1, maximum = 1_000_000)]
    page: Option<i64>,
    /// Items per page (20 when absent; more than 100 is 100).
    #[param(minimum = 1)]
    limit: Option<i64>,
}

#[utoipa::path(
    get,
    operation_id = "community_list_comments",
    path = "/api/v1/community/posts/{id}/comments",
    tag = "community",
    summary = "A post's comments",
    params(("id" = Uuid, Path, description = "The post's id"), PageQuery),
    responses(
        (status = 200, description = "OK", body = urr_wire::community::CommentList),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody),
        (status = 404, description = "Not found", body = urr_wire::ErrorBody)
    )
)]
pub async fn list_comments(
    State(state): State<AppState>,
    user: MaybeUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<Json<CommentList>> {
    let page = Page::from_query(query.page, query.limit)?;
    let admin = user.is_admin();
    visible_post(&state, id, admin).await?;
    let (comments, total) =
        community::list_comments(&state.db, id, admin, page.limit, page.offset()).await?;
    Ok(Json(CommentList {
        comments: comments.into_iter().map(comment_view).collect(),
        page: page.meta(total),
    }))
}

#[utoipa::path(
    post,
    operation_id = "community_create_comment",
    path = "/api/v1/community/posts/{id}/comments",
    tag = "community",
    summary = "Comment on a post",
    params(("id" = Uuid, Path, description = "The post's id")),
    request_body = urr_wire::community::CommentRequest,
    responses(
        (status = 201, description = "OK", body = urr_wire::community::CommentView,
            links(
                ("UpdateComment" = (operation_id = "community_update_comment", parameters(("id" = "$response.body#/id")))),
                ("ModerateComment" = (operation_id = "community_moderate_comment", parameters(("id" = "$response.body#/id"))))
            )
        ),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody),
        (status = 401, description = "Not signed in, or the token is invalid or expired", body = urr_wire::ErrorBody),
        (status = 404, description = "Not found", body = urr_wire::ErrorBody)
    ),
    security(("bearer" = []), ("accessCookie" = []))
)]
pub async fn create_comment(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<CommentRequest>,
) -> ApiResult<(StatusCode, Json<CommentView>)> {
    visible_post(&state, id, user.role == Role::Admin).await?;
    let text = validate::text("body", &body.body, 1, MAX_COMMENT_BODY)?;
    let comment = community::create_comment(&state.db, id, user.id, &text)
        .await
        .map_err(|e| match e {
            urr_store::StoreError::NotFound => ApiError::not_found("post"),
            other => other.into(),
        })?;
    Ok((StatusCode::CREATED, Json(comment_view(comment))))
}

async fn visible_comment(state: &AppState, id: Uuid, admin: bool) -> ApiResult<Comment> {
    match community::get_comment(&state.db, id).await? {
        Some(comment) if admin || !comment.hidden => Ok(comment),
        _ => Err(ApiError::not_found("comment")),
    }
}

#[utoipa::path(
    patch,
    operation_id = "community_update_comment",
    path = "/api/v1/community/comments/{id}",
    tag = "community",
    summary = "Edit the caller's comment",
    params(("id" = Uuid, Path, description = "The comment's id")),
    request_body = urr_wire::community::CommentRequest,
    responses(
        (status = 200, description = "OK", body = urr_wire::community::CommentView),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody),
        (status = 401, description = "Not signed in, or the token is invalid or expired", body = urr_wire::ErrorBody),
        (status = 403, description = "Forbidden", body = urr_wire::ErrorBody),
        (status = 404, description = "Not found", body = urr_wire::ErrorBody)
    ),
    security(("bearer" = []), ("accessCookie" = []))
)]
pub async fn update_comment(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<CommentRequest>,
) -> ApiResult<Json<CommentView>> {
    let comment = visible_comment(&state, id, user.role == Role::Admin).await?;
    forbid_unless_author(comment.author_id, &user, "comment")?;
    let text = validate::text("body", &body.body, 1, MAX_COMMENT_BODY)?;
    Ok(Json(comment_view(
        community::update_comment(&state.db, id, &text).await?,
    )))
}

#[utoipa::path(
    delete,
    operation_id = "community_delete_comment",
    path = "/api/v1/community/comments/{id}",
    tag = "community",
    summary = "Delete the caller's comment",
    params(("id" = Uuid, Path, description = "The comment's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody),
        (status = 401, description = "Not signed in, or the token is invalid or expired", body = urr_wire::ErrorBody),
        (status = 403, description = "Forbidden", body = urr_wire::ErrorBody),
        (status = 404, description = "Not found", body = urr_wire::ErrorBody)
    ),
    security(("bearer" = []), ("accessCookie" = []))
)]
pub async fn delete_comment(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    let comment = visible_comment(&state, id, user.role == Role::Admin).await?;
    forbid_unless_author_or_admin(comment.author_id, &user, "comment")?;
    if !community::delete_comment(&state.db, id).await? {
        return Err(ApiError::not_found("comment"));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Admin moderation: hide (or show again) any post.
#[utoipa::path(
    patch,
    operation_id = "community_moderate_post",
    path = "/api/v1/admin/community/posts/{id}",
    tag = "admin",
    summary = "Hide or show a post (admin)",
    params(("id" = Uuid, Path, description = "The post's id")),
    request_body = urr_wire::community::ModerationRequest,
    responses(
        (status = 200, description = "OK", body = urr_wire::community::PostView),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody),
        (status = 401, description = "Not signed in, or the token is invalid or expired", body = urr_wire::ErrorBody),
        (status = 403, description = "Forbidden", body = urr_wire::ErrorBody),
        (status = 404, description = "Not found", body = urr_wire::ErrorBody)
    ),
    security(("bearer" = []), ("accessCookie" = []))
)]
pub async fn moderate_post(
    State(state): State<AppState>,
    _admin: AdminUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<ModerationRequest>,
) -> ApiResult<Json<PostView>> {
    let post = community::set_post_hidden(&state.db, id, body.hidden)
        .await
        .map_err(|e| match e {
            urr_store::StoreError::NotFound => ApiError::not_found("post"),
            other => other.into(),
        })?;
    Ok(Json(post_view(post)))
}

/// Admin moderation: hide (or show again) any comment.
#[utoipa::path(
    patch,
    operation_id = "community_moderate_comment",
    path = "/api/v1/admin/community/comments/{id}",
    tag = "admin",
    summary = "Hide or show a comment (admin)",
    params(("id" = Uuid, Path, description = "The comment's id")),
    request_body = urr_wire::community::ModerationRequest,
    responses(
        (status = 200, description = "OK", body = urr_wire::community::CommentView),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody),
        (status = 401, description = "Not signed in, or the token is invalid or expired", body = urr_wire::ErrorBody),
        (status = 403, description = "Forbidden", body = urr_wire::ErrorBody),
        (status = 404, description = "Not found", body = urr_wire::ErrorBody)
    ),
    security(("bearer" = []), ("accessCookie" = []))
)]
pub async fn moderate_comment(
    State(state): State<AppState>,
    _admin: AdminUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<ModerationRequest>,
) -> ApiResult<Json<CommentView>> {
    let comment = community::set_comment_hidden(&state.db, id, body.hidden)
        .await
        .map_err(|e| match e {
            urr_store::StoreError::NotFound => ApiError::not_found("comment"),
            other => other.into(),
        })?;
    Ok(Json(comment_view(comment)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn html_is_escaped() {
        assert_eq!(
            super::escape_html(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(super::escape_html("plain 한글"), "plain 한글");
    }
}
