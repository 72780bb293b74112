//! The node-to-node routes of a cluster (`proto/urr/cluster.proto`,
//! `docs/architecture.md#ownership`): a call another node forwarded to this one, the
//! event's owner, and the feed of an event's live updates that another node's relay
//! follows. Only a caller with the cluster secret and the hop header gets in; a call that
//! came this way is served here or refused as `NOT_OWNER`, never forwarded again.
//!
//! They sit outside the public API's rate limits and sessions: the node that forwarded
//! the call already applied them.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use urr_actors::event::EventError;
use urr_cluster::{CALL_CONTENT_TYPE, Cluster, FEED_CONTENT_TYPE, HOP_HEADER};
use uuid::Uuid;

use crate::error::{ApiError, ErrorCode};
use crate::extract::ApiPath;
use crate::state::AppState;

/// The cluster, when the caller is one of its nodes.
fn admit<'a>(state: &'a AppState, headers: &HeaderMap) -> Result<&'a Cluster, ApiError> {
    let cluster = state
        .cluster
        .as_deref()
        .ok_or_else(|| ApiError::not_found("cluster"))?;
    let authorization = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok());
    if !cluster.authorized(authorization) {
        return Err(ApiError::new(
            ErrorCode::Unauthorized,
            "node-to-node calls need the cluster secret",
        ));
    }
    if !headers.contains_key(HOP_HEADER) {
        return Err(ApiError::invalid(format!(
            "a forwarded call names its node in {HOP_HEADER}"
        )));
    }
    Ok(cluster)
}

/// `POST /internal/v1/events/{id}/call`: a `CallRequest`, answered with a `CallReply`.
pub async fn call(
    State(state): State<AppState>,
    ApiPath(event): ApiPath<Uuid>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    admit(&state, &headers)?;
    let (status, reply) = match urr_cluster::serve_call(&state.events, event, &body).await {
        Ok(reply) => (StatusCode::OK, reply),
        Err(err) => (
            StatusCode::BAD_REQUEST,
            urr_cluster::undecodable_reply(&err),
        ),
    };
    Ok((status, [(CONTENT_TYPE, CALL_CONTENT_TYPE)], reply).into_response())
}

/// `GET /internal/v1/events/{id}/feed`: the event's live updates while this node owns
/// it; 409 when it does not.
pub async fn feed(
    State(state): State<AppState>,
    ApiPath(event): ApiPath<Uuid>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    admit(&state, &headers)?;
    match state.events.event(event).feed_here().await {
        Ok(feed) => Ok((
            [(CONTENT_TYPE, FEED_CONTENT_TYPE)],
            Body::from_stream(urr_cluster::serve_feed(feed)),
        )
            .into_response()),
        Err(EventError::NotOwner) => Ok((
            StatusCode::CONFLICT,
            ApiError::new(ErrorCode::Conflict, "this node does not own the event"),
        )
            .into_response()),
        Err(err) => Err(err.into()),
    }
}
