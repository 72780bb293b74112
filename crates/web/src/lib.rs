//! The browser UI (`docs/architecture.md#the-design-urr-rebuilds`): plain HTML, ES modules
//! and CSS from `assets/`, embedded in the binary so a node needs no Node.js and no files beside it.
//!
//! [`router`] answers `GET`/`HEAD`: `/assets/<file>` is that file; any other page path
//! (a client-side route such as `/events/<id>/seats`) is `index.html`, whose scripts route
//! in the browser. The edge mounts it as its fallback and keeps `/api/**`, `/vwr-api/**`
//! and the probes to itself (see `urr_http::router_with_ui`); this router refuses them too,
//! so an unknown API path never comes back as a page.

use std::borrow::Cow;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "assets/"]
struct Assets;

/// Where the assets live in URL space; `index.html` links them under it.
const ASSET_PREFIX: &str = "/assets/";
const INDEX: &str = "index.html";
const API_DOCS: &str = "api-docs.html";

/// No inline script or style anywhere; the only other origins are Google's sign-in button
/// and Toss Payments' window, loaded only when the node configures them.
const CSP: &str = "default-src 'self'; \
    script-src 'self' https://accounts.google.com/gsi/client https://js.tosspayments.com; \
    style-src 'self' https://accounts.google.com/gsi/style; \
    img-src 'self' data: https:; \
    connect-src 'self' https://accounts.google.com/gsi/ https://*.tosspayments.com https://*.toss.im; \
    frame-src https://accounts.google.com/gsi/ https://*.tosspayments.com https://*.toss.im; \
    object-src 'none'; base-uri 'self'; \
    form-action 'self' https://*.tosspayments.com https://*.toss.im; frame-ancestors 'none'";

/// The UI's router, to mount as the edge's fallback.
pub fn router() -> Router {
    Router::new().fallback(serve)
}

/// The API reference page (`GET /api/docs`, routed by the edge since it lives under
/// `/api`): `api-docs.html`, whose script renders the node's `/api/openapi.json`.
pub fn api_docs_page() -> Response {
    match Assets::get(API_DOCS) {
        Some(file) => respond(API_DOCS, file, &HeaderMap::new()),
        None => not_found(),
    }
}

/// Whether `path` belongs to the API side of the node, never to the UI: the edge answers
/// unknown ones with its JSON 404, and the UI never serves them a page. Called on every
/// fallback request, so it does not allocate.
pub fn is_api_path(path: &str) -> bool {
    [
        "/api",
        "/vwr-api",
        "/internal",
        "/healthz",
        "/readyz",
        "/metrics",
    ]
    .iter()
    .any(|p| {
        path.strip_prefix(p)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    })
}

/// A client-side route: not an API path, and no file extension on its last segment (so a
/// mistyped script URL is a 404, not a page that fails to parse as JavaScript).
pub fn is_page_path(path: &str) -> bool {
    if is_api_path(path) || path.starts_with(ASSET_PREFIX) {
        return false;
    }
    let last = path.rsplit('/').next().unwrap_or_default();
    !last.contains('.')
}

async fn serve(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    if method != Method::GET && method != Method::HEAD {
        let mut response = (StatusCode::METHOD_NOT_ALLOWED, "method not allowed").into_response();
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    let path = uri.path();
    let name = if let Some(asset) = path.strip_prefix(ASSET_PREFIX) {
        asset
    } else if is_page_path(path) {
        INDEX
    } else {
        return not_found();
    };
    match Assets::get(name) {
        Some(file) => respond(name, file, &headers),
        None => not_found(),
    }
}

fn respond(name: &str, file: rust_embed::EmbeddedFile, request: &HeaderMap) -> Response {
    let etag = etag(&file.metadata.sha256_hash());
    // Every response revalidates: without a bundler the module URLs carry no hash, so a
    // long max-age would pin browsers to old code after an upgrade. The ETag makes the
    // revalidation a 304 with no body.
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == etag));
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let body = match file.data {
            Cow::Borrowed(bytes) => Body::from(bytes),
            Cow::Owned(bytes) => Body::from(bytes),
        };
        let mut response = Response::new(body);
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(content_type(name)),
        );
        response
    };
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    response
}

fn etag(hash: &[u8; 32]) -> String {
    let hex: String = hash[..12].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        "not found",
    )
        .into_response()
}

/// Content types of what `assets/` holds; anything else is served as opaque bytes.
fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("json") => "application/json",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("webmanifest") => "application/manifest+json",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;
    use tower::ServiceExt;

    async fn get(path: &str, headers: &[(&str, &str)]) -> Response {
        let mut request = Request::get(path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        router()
            .oneshot(request.body(Body::empty()).expect("request"))
            .await
            .expect("infallible")
    }

    async fn text(response: Response) -> String {
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        String::from_utf8(bytes.to_vec()).expect("utf-8")
    }

    fn header(response: &Response, name: header::HeaderName) -> &str {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    #[tokio::test]
    async fn client_routes_get_the_page() {
        for path in [
            "/",
            "/events/0190f3a1-0000-7000-8000-000000000000/seats",
            "/queue/x",
            "/payment/success",
            "/admin",
        ] {
            let response = get(path, &[]).await;
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            assert_eq!(
                header(&response, header::CONTENT_TYPE),
                "text/html; charset=utf-8"
            );
            assert!(header(&response, header::CONTENT_SECURITY_POLICY).contains("default-src"));
            assert!(text(response).await.contains("<main id=\"app\""), "{path}");
        }
    }

    #[tokio::test]
    async fn assets_have_their_content_types() {
        for (path, kind) in [
            ("/assets/js/main.js", "text/javascript; charset=utf-8"),
            ("/assets/app.css", "text/css; charset=utf-8"),
            ("/assets/favicon.svg", "image/svg+xml"),
        ] {
            let response = get(path, &[]).await;
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            assert_eq!(header(&response, header::CONTENT_TYPE), kind, "{path}");
            assert_eq!(header(&response, header::CACHE_CONTROL), "no-cache");
        }
    }

    #[tokio::test]
    async fn an_unchanged_asset_revalidates_with_its_etag() {
        let first = get("/assets/js/main.js", &[]).await;
        let tag = header(&first, header::ETAG).to_owned();
        assert!(tag.starts_with('"') && tag.len() > 10);
        let again = get("/assets/js/main.js", &[("if-none-match", &tag)]).await;
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        assert!(text(again).await.is_empty());
        let other = get("/assets/js/main.js", &[("if-none-match", "\"nope\"")]).await;
        assert_eq!(other.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn missing_files_and_api_paths_are_not_pages() {
        for path in [
            "/assets/js/nope.js",
            "/favicon.ico",
            "/api/v1/nope",
            "/api",
            "/vwr-api/vwr/x",
            "/healthz",
        ] {
            let response = get(path, &[]).await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
            assert!(!text(response).await.contains("<html"), "{path}");
        }
    }

    #[tokio::test]
    async fn only_reads_are_served() {
        let response = router()
            .oneshot(Request::post("/").body(Body::empty()).expect("request"))
            .await
            .expect("infallible");
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    }

    #[test]
    fn page_paths() {
        assert!(is_page_path("/"));
        assert!(is_page_path("/events/abc"));
        assert!(!is_page_path("/apifoo.js"));
        assert!(is_page_path("/apifoo"));
        assert!(!is_page_path("/api/v1/events"));
        assert!(!is_page_path("/vwr-api"));
        assert!(!is_page_path("/readyz"));
    }

    #[test]
    fn every_module_the_page_loads_is_embedded() {
        // index.html names the entry module; the rest are imported by relative path.
        for file in Assets::iter() {
            let Some(source) = Assets::get(&file) else {
                panic!("{file} listed but missing");
            };
            if !file.ends_with(".js") {
                continue;
            }
            let text = String::from_utf8_lossy(&source.data);
            for line in text
                .lines()
                .filter(|l| l.trim_start().starts_with("import "))
            {
                let Some(spec) = line.split(['\'', '"']).nth(1) else {
                    continue;
                };
                let base = file.rsplit_once('/').map(|(dir, _)| dir).unwrap_or("");
                let resolved = resolve(base, spec);
                assert!(
                    Assets::get(&resolved).is_some(),
                    "{file} imports {spec} ({resolved}), which is not in assets/"
                );
            }
        }
    }

    /// `spec` relative to directory `base`, both inside `assets/`.
    fn resolve(base: &str, spec: &str) -> String {
        let mut parts: Vec<&str> = base.split('/').filter(|p| !p.is_empty()).collect();
        for segment in spec.split('/') {
            match segment {
                "." | "" => {}
                ".." => {
                    parts.pop();
                }
                other => parts.push(other),
            }
        }
        parts.join("/")
    }
}
