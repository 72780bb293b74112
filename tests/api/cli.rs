//! The `urr` command's operator tasks against a real database: migrate, admin grant.

use std::process::Command;

use crate::common::{PASSWORD, session_from, spawn_app};
use reqwest::StatusCode;

fn urr(app: &crate::common::TestApp, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_urr"))
        .args(args)
        .env("DATABASE_URL", app.database_url())
        .env("REDIS_URL", crate::common::redis_url())
        .output()
        .expect("run urr")
}

#[tokio::test]
async fn migrate_is_idempotent_and_admin_grant_makes_an_admin() {
    let app = spawn_app().await;
    let migrate = urr(&app, &["migrate"]);
    assert!(migrate.status.success(), "{migrate:?}");
    assert!(String::from_utf8_lossy(&migrate.stdout).contains("migrations applied"));

    let user = app.register("boss@example.com").await;
    let me: serde_json::Value = app
        .get_as("/api/v1/auth/me", &user)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(me["user"]["role"], "user");

    let grant = urr(&app, &["admin", "grant", "BOSS@example.com"]);
    assert!(grant.status.success(), "{grant:?}");
    assert!(String::from_utf8_lossy(&grant.stdout).contains("is now an admin"));
    // The role arrives with the next sign-in.
    let again = session_from(app.login("boss@example.com", PASSWORD).await).await;
    let created = app
        .post_as(
            "/api/v1/admin/artists",
            &serde_json::json!({"name": "Granted"}),
            &again,
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);

    let unknown = urr(&app, &["admin", "grant", "nobody@example.com"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("register first"));
}
