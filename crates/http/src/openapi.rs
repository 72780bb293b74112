//! The API contract: an OpenAPI 3.1 document built from the handlers' own annotations and
//! the wire types (`utoipa`), served at `GET /api/openapi.json`, and the reference page
//! that renders it at `GET /api/docs`.
//!
//! The routes are registered through `utoipa_axum`'s `OpenApiRouter`, which takes each
//! route's path and methods from the handler's `#[utoipa::path]`: a route cannot exist
//! without its entry in the document, nor the other way round. The node-to-node routes
//! (`/internal/v1/...`, `docs/architecture.md#ownership`) are left out on purpose: they
//! carry prost messages and the cluster secret, not a public contract.

use axum::Extension;
use axum::body::Bytes;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use urr_wire::ErrorBody;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi as _};

use crate::cookies::{ACCESS_COOKIE, REFRESH_COOKIE};
use crate::entry::{ENTRY_COOKIE, ENTRY_HEADER};

/// Security scheme names, as the handlers' `security(...)` lists name them.
const BEARER: &str = "bearer";
const ACCESS_COOKIE_SCHEME: &str = "accessCookie";
const ENTRY_TOKEN: &str = "entryToken";
const ENTRY_COOKIE_SCHEME: &str = "entryCookie";
const REFRESH_COOKIE_SCHEME: &str = "refreshCookie";
const METRICS_TOKEN: &str = "metricsToken";
const VWR_ADMIN_KEY: &str = "vwrAdminKey";

const DESCRIPTION: &str = "\
The public HTTP API of a URR node. Every failure answers `{\"error\": {\"code\", \"message\"}}` \
(`ErrorBody`) with the status its code maps to; each operation lists its usual failures and a \
`default` response for the rest (429 rate limited, 413 body too large, 503 unavailable or timed \
out). Sign in with `POST /api/v1/auth/login`: the access token comes back in the body (send it \
as `Authorization: Bearer`) and as the `access_token` cookie. Seat and ticket holds of an event \
whose queue is on need the entry token from `queue/check` (`x-queue-entry-token` or the \
`urr-entry-token` cookie). The Tier-1 waiting room is mounted under `/vwr-api`. \
Not documented here: the node-to-node routes under `/internal/v1/` (prost bodies, the cluster \
secret), which are no public contract.";

#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "URR", description = DESCRIPTION, license(name = "MIT")),
    modifiers(&Contract),
    components(schemas(ErrorBody)),
    tags(
        (name = "auth", description = "Accounts, sessions and email verification"),
        (name = "catalog", description = "Events, artists and what the UI needs to book"),
        (name = "queue", description = "The Tier-2 queue of an event"),
        (name = "seats", description = "Seat maps and holds"),
        (name = "reservations", description = "Holds, reservations and their payments"),
        (name = "payments", description = "Preparing, confirming and refunding payments"),
        (name = "memberships", description = "Fan clubs and points"),
        (name = "transfers", description = "Resale of tickets between fans"),
        (name = "check-in", description = "Tickets at the door (staff role)"),
        (name = "waitlist", description = "Waiting lists of sold-out events and their timed offers"),
        (name = "community", description = "Posts and comments"),
        (name = "news", description = "News"),
        (name = "admin", description = "Operator calls (admin role)"),
        (name = "tier1", description = "The Tier-1 virtual waiting room"),
        (name = "node", description = "Probes, metrics and this document"),
    )
)]
pub struct ApiDoc;

/// Adds the security schemes the handlers' `security(...)` lists name.
struct Contract;

impl Modify for Contract {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("The access token from sign-in (15 minutes)."))
                    .build(),
            ),
        );
        components.add_security_scheme(
            ACCESS_COOKIE_SCHEME,
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(ACCESS_COOKIE))),
        );
        components.add_security_scheme(
            ENTRY_TOKEN,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                ENTRY_HEADER,
                "The entry token `queue/check` gives once the caller is admitted.",
            ))),
        );
        components.add_security_scheme(
            ENTRY_COOKIE_SCHEME,
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(ENTRY_COOKIE))),
        );
        components.add_security_scheme(
            METRICS_TOKEN,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("The node's metrics token (`--metrics-token`)."))
                    .build(),
            ),
        );
        components.add_security_scheme(
            VWR_ADMIN_KEY,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "x-vwr-admin-key",
                "The Tier-1 operator key (`--vwr-admin-key`); an admin's access token works too.",
            ))),
        );
        components.add_security_scheme(
            REFRESH_COOKIE_SCHEME,
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(REFRESH_COOKIE))),
        );
    }
}

/// Gives every operation the error shape as its `default` response, so a status the
/// operation does not list still has a documented body. Run on the finished document:
/// the paths are merged in after [`base`].
fn with_default_error(openapi: &mut OpenApi) {
    let error = ResponseBuilder::new()
        .description("Any other failure: the JSON error shape.")
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(RefOr::Ref(Ref::from_schema_name("ErrorBody"))))
                .build(),
        )
        .build();
    for item in openapi.paths.paths.values_mut() {
        let operations: [&mut Option<Operation>; 8] = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
        ];
        for operation in operations.into_iter().flatten() {
            operation
                .responses
                .responses
                .entry("default".to_owned())
                .or_insert_with(|| RefOr::T(error.clone()));
        }
    }
}

/// One event of a `text/event-stream` response, as OpenAPI 3.1 tools read a stream: the
/// payload is JSON text in `data`; each stream's operation says which type. Only
/// described, never built: the streams write their events with axum's `Event`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ServerSentEvent {
    /// The event's name (its `event:` line).
    event: Option<String>,
    /// The payload, a JSON document.
    data: Option<String>,
    id: Option<String>,
}

/// The base document (info, tags, schemes) that the routers' paths are merged into.
pub fn base() -> OpenApi {
    ApiDoc::openapi()
}

/// The finished document, serialised once, shared by the route that serves it.
#[derive(Clone)]
pub struct Document(Bytes);

impl Document {
    pub fn new(mut api: OpenApi) -> Self {
        with_default_error(&mut api);
        // Serialising our own document cannot fail (string keys, no non-finite floats);
        // if it ever did, the route would serve `null` and the contract test would fail.
        Self(Bytes::from(
            serde_json::to_vec(&api).unwrap_or_else(|_| b"null".to_vec()),
        ))
    }
}

/// The OpenAPI document of this node.
#[utoipa::path(
    get,
    operation_id = "openapi_document",
    path = "/api/openapi.json",
    tag = "node",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json", body = Object))
)]
pub async fn document(Extension(doc): Extension<Document>) -> Response {
    ([(CONTENT_TYPE, "application/json")], doc.0).into_response()
}

/// The API reference page: renders `/api/openapi.json` in the browser, no CDN.
#[utoipa::path(
    get,
    operation_id = "openapi_docs_page",
    path = "/api/docs",
    tag = "node",
    responses((status = 200, description = "An HTML page", content_type = "text/html", body = String))
)]
pub async fn docs_page() -> Response {
    urr_web::api_docs_page()
}
