//! The API contract: `/api/openapi.json` is an OpenAPI 3.1 document that lists every route
//! the node serves and nothing it does not, and `/api/docs` renders it.
//!
//! The routes are built from the handlers' `#[utoipa::path]` (utoipa-axum's
//! `OpenApiRouter`), so the two cannot drift by construction; these tests check it from
//! the outside. The node-to-node routes (`/internal/v1/...`) are left out of the public
//! document on purpose (prost bodies and the cluster secret), and the document says so.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::common::{TestApp, spawn_app};

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

async fn document(app: &TestApp) -> Value {
    let response = app.get("/api/openapi.json").await;
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let text = response.text().await.expect("body");
    serde_json::from_str(&text).expect("the document is JSON")
}

/// Every (method, path template) the document lists.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let paths = doc["paths"].as_object().expect("paths");
    let mut found = Vec::new();
    for (path, item) in paths {
        for method in METHODS {
            if let Some(operation) = item.get(method) {
                found.push((method.to_owned(), path.clone(), operation.clone()));
            }
        }
    }
    found
}

/// A concrete URL for a path template: ids are fresh UUIDs, an order id is a word.
fn concrete(template: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}').expect("closing brace") + open;
        let name = &rest[open + 1..close];
        if name == "order_id" {
            out.push_str("order-none");
        } else {
            out.push_str(&uuid::Uuid::new_v4().to_string());
        }
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

#[tokio::test]
async fn the_document_is_openapi_3_1_with_the_error_shape_and_security() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let version = doc["openapi"].as_str().expect("openapi version");
    assert!(version.starts_with("3.1."), "{version}");
    assert!(
        doc["info"]["description"]
            .as_str()
            .is_some_and(|d| d.contains("/internal/v1/")),
        "the description says the node-to-node routes are left out"
    );
    let schemes = doc["components"]["securitySchemes"]
        .as_object()
        .expect("security schemes");
    for scheme in ["bearer", "accessCookie", "entryToken", "entryCookie"] {
        assert!(schemes.contains_key(scheme), "{scheme}");
    }
    // Closed sets of words are documented as they travel (`on_sale`), not as the Rust
    // variants are named (`OnSale`).
    let status = &doc["components"]["schemas"]["EventStatus"];
    assert_eq!(
        status["enum"],
        serde_json::json!(["upcoming", "on_sale", "sold_out", "ended", "cancelled"]),
        "{status}"
    );
    let error = &doc["components"]["schemas"]["ErrorBody"];
    assert_eq!(error["required"], serde_json::json!(["error"]));
    // Every operation has its own id, which the response links name.
    let all = operations(&doc);
    let ids: BTreeSet<&str> = all
        .iter()
        .map(|(method, path, operation)| {
            operation["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path} has no operationId"))
        })
        .collect();
    assert_eq!(ids.len(), all.len(), "operationIds are unique");
    let mut links = 0;
    for (method, path, operation) in &all {
        for response in operation["responses"].as_object().into_iter().flatten() {
            for link in response.1["links"].as_object().into_iter().flatten() {
                links += 1;
                let target = link.1["operationId"].as_str().unwrap_or_default();
                assert!(ids.contains(target), "{method} {path}: link to {target}");
            }
        }
    }
    assert!(links > 10, "{links} links");
    // Every security requirement names a declared scheme; every operation documents the
    // error shape for the statuses it does not list.
    for (method, path, operation) in operations(&doc) {
        for requirement in operation["security"].as_array().into_iter().flatten() {
            for name in requirement.as_object().expect("requirement").keys() {
                assert!(schemes.contains_key(name), "{method} {path}: {name}");
            }
        }
        assert_eq!(
            operation["responses"]["default"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/ErrorBody",
            "{method} {path}"
        );
        assert!(
            !path.starts_with("/internal"),
            "{path} is a node-to-node route"
        );
    }
    // The Tier-1 room and the operator routes are in it, under their mount.
    let paths = doc["paths"].as_object().expect("paths");
    for path in [
        "/api/v1/events",
        "/api/v1/seats/reserve",
        "/api/v1/admin/events/{id}/queue",
        "/vwr-api/vwr/assign/{event_id}",
        "/vwr-api/vwr/admin/rooms/{event_id}/publish-seed",
        "/healthz",
        "/api/openapi.json",
    ] {
        assert!(paths.contains_key(path), "{path}");
    }
    // The gated holds name the entry token.
    let hold = &doc["paths"]["/api/v1/seats/reserve"]["post"]["security"];
    assert!(hold.to_string().contains("entryToken"), "{hold}");
}

/// Each documented operation, called without credentials, reaches a handler: the router
/// answers neither its "no such route" 404 nor a 405. An operation that refuses an
/// anonymous caller with 401 must say it needs credentials.
#[tokio::test]
async fn every_documented_operation_is_routed() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let operations = operations(&doc);
    assert!(operations.len() > 80, "{} operations", operations.len());
    for (method, path, operation) in operations {
        let url = app.url(&concrete(&path));
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
        let response = app
            .client
            .request(method.clone(), &url)
            .send()
            .await
            .expect("request");
        let status = response.status();
        assert_ne!(
            status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path} is documented but not routed"
        );
        let streaming = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("text/event-stream"));
        if streaming {
            continue;
        }
        let body = response.text().await.expect("body");
        if status == StatusCode::NOT_FOUND {
            let parsed: Value = serde_json::from_str(&body).expect("a JSON 404");
            let message = parsed["error"]["message"].as_str().unwrap_or_default();
            assert!(
                message != "no such route" && message != "route not found",
                "{method} {path} is documented but not routed: {body}"
            );
        }
        if status == StatusCode::UNAUTHORIZED {
            let security = operation["security"].as_array().map_or(0, Vec::len);
            assert!(
                security > 0,
                "{method} {path} refuses anonymous callers but documents no security"
            );
        }
    }
}

/// The other way round: a route added with a plain axum `.route(...)` (instead of
/// `OpenApiRouter::routes(routes!(handler))`) would be served but not documented. Every
/// literal route path in the sources that build routers must be in the document, except
/// the node-to-node ones.
#[tokio::test]
async fn every_routed_path_is_documented() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let documented: BTreeSet<String> = doc["paths"]
        .as_object()
        .expect("paths")
        .keys()
        .cloned()
        .collect();
    let root = env!("CARGO_MANIFEST_DIR");
    let mut checked = 0;
    for (dir, mount) in [
        ("crates/http/src", ""),
        ("crates/vwr-lambda/src", "/vwr-api"),
        ("src", ""),
    ] {
        for path in route_literals(&std::path::Path::new(root).join(dir)) {
            checked += 1;
            if path.starts_with("/internal/") {
                assert!(
                    !documented.contains(&path),
                    "{path} is internal but documented"
                );
                continue;
            }
            let full = format!("{mount}{path}");
            assert!(
                documented.contains(&full),
                "{full} is routed with a plain .route() and missing from the document"
            );
        }
    }
    // The scan must see the node-to-node routes, or it is not looking at the sources.
    assert!(checked >= 2, "found {checked} literal routes");
}

/// The path literals of `.route("...")` calls under `dir`.
fn route_literals(dir: &std::path::Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read source dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("read source");
                let compact: String = text.split_whitespace().collect();
                for piece in compact.split(".route(\"").skip(1) {
                    if let Some(end) = piece.find('"') {
                        found.push(piece[..end].to_owned());
                    }
                }
            }
        }
    }
    found
}

#[tokio::test]
async fn the_reference_page_renders_the_document_without_a_cdn() {
    let app = spawn_app().await;
    let response = app.get("/api/docs").await;
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(content_type, "text/html; charset=utf-8");
    let page = response.text().await.expect("page");
    assert!(page.contains("/assets/js/api-docs.js"), "{page}");
    assert!(page.contains("/api/openapi.json"));
    assert!(!page.contains("https://"), "no outside origin: {page}");
    let script = app.get("/assets/js/api-docs.js").await;
    assert_eq!(script.status(), StatusCode::OK);
    let script = script.text().await.expect("script");
    assert!(script.contains("/api/openapi.json"));
    assert!(!script.contains("https://"), "no outside origin");
}
