//! The waiting room's part of the node's OpenAPI document. Its handlers are generic over
//! the store, which `utoipa_axum::routes!` cannot name, so [`route`] does what that macro
//! does for one handler: the route's path and methods come from the handler's
//! `#[utoipa::path]`, and a route cannot be served without being documented.
//!
//! An `event_id` is documented with a pattern a little looser than `EventId::parse` (a
//! UUID in any of its spellings, or digits; a number past `i64` is still refused by the
//! route), so no request the route takes is outside the document.
//!
//! The security schemes the handlers name (`bearer`, `accessCookie`, `vwrAdminKey`) are
//! declared by the document this part is nested into (the edge's, `urr_http::openapi`).

use axum::handler::Handler;
use axum::routing::MethodRouter;
use utoipa::__dev::{SchemaReferences, Tags};
use utoipa::openapi::path::Paths;
use utoipa_axum::PathItemExt;
use utoipa_axum::router::UtoipaMethodRouter;

/// The failure body every route answers with, `{error: {code, message}}`: the same shape
/// (and schema name) as the edge's, so the merged document has one `ErrorBody`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // described for the document; built as JSON by `VwrError`
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ErrorDetail {
    /// A stable, snake_case code clients branch on (`not_found`, `seats_taken`, ...).
    pub code: String,
    /// For people; may change wording at any time.
    pub message: String,
}

/// One documented route: `P` is the handler's generated path type (`__path_<handler>`).
pub(crate) fn route<P, H, T, S>(handler: H) -> UtoipaMethodRouter<S>
where
    P: utoipa::Path + SchemaReferences + for<'t> Tags<'t>,
    H: Handler<T, S>,
    T: 'static,
    S: Clone + Send + Sync + 'static,
{
    let mut schemas = Vec::new();
    P::schemas(&mut schemas);
    let methods = P::methods();
    let router = methods.iter().fold(MethodRouter::new(), |router, method| {
        router.on(method.to_method_filter(), handler.clone())
    });
    let mut operation = P::operation();
    let tags = P::tags();
    if !tags.is_empty() {
        operation
            .tags
            .get_or_insert_with(Vec::new)
            .extend(tags.iter().map(ToString::to_string));
    }
    let mut paths = Paths::new();
    paths.add_path_operation(P::path(), methods, operation);
    (schemas, paths, router)
}

/// The `{event_id}` of every room route, documented once: a UUID, or a positive number.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(
    dead_code,
    reason = "read by the document only; handlers take the path as text"
)]
pub(crate) struct EventIdParam {
    /// The event's id (a UUID, or a positive number)
    #[param(
        pattern = r"^(\{?[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}\}?|urn:uuid:[0-9a-fA-F-]{36}|[0-9]{1,19})$"
    )]
    event_id: String,
}
