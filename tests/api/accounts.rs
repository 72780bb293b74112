//! Accounts (`docs/architecture.md#accounts-and-tokens`) against real PostgreSQL and Redis through the real router.

use crate::common::{PASSWORD, assert_error, session_from, set_cookie, spawn_app};
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn register_sets_spec_cookies_and_me_works_with_bearer_and_cookie() {
    let app = spawn_app().await;
    let response = app
        .post(
            "/api/v1/auth/register",
            &json!({"email": "Fan@Example.com", "password": PASSWORD, "name": " Kim "}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let access_cookie = set_cookie(&response, "access_token").expect("access cookie");
    let refresh_cookie = set_cookie(&response, "refresh_token").expect("refresh cookie");
    for attribute in [
        "HttpOnly",
        "Secure",
        "SameSite=Lax",
        "Path=/",
        "Max-Age=900",
    ] {
        assert!(
            access_cookie.contains(attribute),
            "{attribute} in {access_cookie}"
        );
    }
    for attribute in ["HttpOnly", "Secure", "Path=/api/v1/auth"] {
        assert!(
            refresh_cookie.contains(attribute),
            "{attribute} in {refresh_cookie}"
        );
    }
    let session = session_from(response).await;
    assert_eq!(session.email, "Fan@Example.com");

    let me: Value = app
        .get_as("/api/v1/auth/me", &session)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["user"]["id"], session.user_id.to_string());
    assert_eq!(me["user"]["name"], "Kim");
    assert_eq!(me["user"]["role"], "user");

    let by_cookie = app
        .client
        .get(app.url("/api/v1/auth/me"))
        .header("cookie", format!("access_token={}", session.access))
        .send()
        .await
        .unwrap();
    assert_eq!(by_cookie.status(), StatusCode::OK);

    // Email is case-insensitive for sign-in too.
    let login = app.login("fan@example.COM", PASSWORD).await;
    assert_eq!(login.status(), StatusCode::OK);
}

#[tokio::test]
async fn duplicate_email_is_409_whatever_its_case() {
    let app = spawn_app().await;
    app.register("dup@example.com").await;
    let again = app
        .post(
            "/api/v1/auth/register",
            &json!({"email": "DUP@example.com", "password": PASSWORD, "name": "Other"}),
        )
        .await;
    assert_error(again, StatusCode::CONFLICT, "email_taken").await;
}

#[tokio::test]
async fn wrong_password_and_unknown_email_are_the_same_401() {
    let app = spawn_app().await;
    app.register("known@example.com").await;
    let wrong = assert_error(
        app.login("known@example.com", "not-the-password").await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
    let unknown = assert_error(
        app.login("nobody@example.com", "not-the-password").await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
    assert_eq!(wrong, unknown, "identical answers reveal no account");
}

#[tokio::test]
async fn registration_input_is_validated_and_changes_nothing() {
    let app = spawn_app().await;
    let cases = [
        json!({"email": "a@example.com", "password": "short", "name": "A"}),
        json!({"email": "not-an-email", "password": PASSWORD, "name": "A"}),
        json!({"email": "a@example.com", "password": PASSWORD, "name": "   "}),
        json!({"email": "a@example.com", "password": "x".repeat(500), "name": "A"}),
        json!({"email": "a@example.com", "password": PASSWORD}),
        json!({"email": 5, "password": PASSWORD, "name": "A"}),
    ];
    for body in cases {
        let response = app.post("/api/v1/auth/register", &body).await;
        assert_error(response, StatusCode::BAD_REQUEST, "invalid_input").await;
    }
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(count, 0);
    // Eight characters is enough.
    let ok = app
        .post(
            "/api/v1/auth/register",
            &json!({"email": "a@example.com", "password": "12345678", "name": "A"}),
        )
        .await;
    assert_eq!(ok.status(), StatusCode::CREATED);
}

async fn refresh(app: &crate::common::TestApp, refresh: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/auth/refresh"))
        .header("cookie", format!("refresh_token={refresh}"))
        .send()
        .await
        .expect("refresh request")
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_whole_family() {
    let app = spawn_app().await;
    let first = app.register("rotate@example.com").await;

    let response = refresh(&app, &first.refresh).await;
    assert_eq!(response.status(), StatusCode::OK);
    let second = session_from(response).await;
    assert_ne!(second.refresh, first.refresh, "the refresh token rotates");
    assert_eq!(
        app.get_as("/api/v1/auth/me", &second).await.status(),
        StatusCode::OK
    );

    let response = refresh(&app, &second.refresh).await;
    assert_eq!(response.status(), StatusCode::OK);
    let third = session_from(response).await;

    // Replaying a spent token is theft: refused, and the newest token dies with it.
    assert_error(
        refresh(&app, &first.refresh).await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    )
    .await;
    assert_error(
        refresh(&app, &third.refresh).await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    )
    .await;

    // Another sign-in is another family, unaffected.
    let other = session_from(app.login("rotate@example.com", PASSWORD).await).await;
    assert_eq!(refresh(&app, &other.refresh).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn concurrent_use_of_one_refresh_token_rotates_at_most_once() {
    let app = spawn_app().await;
    let session = app.register("race@example.com").await;
    let (a, b) = tokio::join!(
        refresh(&app, &session.refresh),
        refresh(&app, &session.refresh)
    );
    let mut statuses = [a.status(), b.status()];
    statuses.sort();
    // The row lock orders them: one rotation, then one replay that revokes the family.
    assert_eq!(statuses, [StatusCode::OK, StatusCode::UNAUTHORIZED]);
}

#[tokio::test]
async fn refresh_without_or_with_unknown_token_is_401() {
    let app = spawn_app().await;
    let none = app
        .client
        .post(app.url("/api/v1/auth/refresh"))
        .send()
        .await
        .unwrap();
    assert_error(none, StatusCode::UNAUTHORIZED, "unauthorized").await;
    assert_error(
        refresh(&app, "made-up").await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    )
    .await;
}

#[tokio::test]
async fn logout_clears_cookies_and_kills_the_refresh_family() {
    let app = spawn_app().await;
    let session = app.register("bye@example.com").await;
    let response = app
        .client
        .post(app.url("/api/v1/auth/logout"))
        .header("cookie", format!("refresh_token={}", session.refresh))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let cleared = set_cookie(&response, "refresh_token").expect("cleared cookie");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    assert!(set_cookie(&response, "access_token").is_some_and(|c| c.contains("Max-Age=0")));
    assert_error(
        refresh(&app, &session.refresh).await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    )
    .await;
}

#[tokio::test]
async fn expired_forged_and_missing_access_tokens_are_401() {
    let app = spawn_app().await;
    let session = app.register("tokens@example.com").await;
    let now = chrono::Utc::now().timestamp();
    let claims = json!({
        "sub": session.user_id, "email": "tokens@example.com", "role": "admin",
        "iat": now - 2000, "exp": now - 1000, "typ": "access"
    });
    let expired = urr_auth::TokenKeys::new(app.jwt_secret.as_bytes())
        .sign(&claims)
        .unwrap();
    let forged = urr_auth::TokenKeys::new(b"not-the-server-secret")
        .sign(&json!({
            "sub": session.user_id, "email": "tokens@example.com", "role": "admin",
            "iat": now, "exp": now + 600, "typ": "access"
        }))
        .unwrap();
    // A queue token signed with the right key is still not an access token.
    let (queue_token, _) = urr_auth::TokenKeys::new(app.jwt_secret.as_bytes())
        .issue_queue(
            "event",
            &session.user_id.to_string(),
            urr_auth::Tier::Two,
            None,
        )
        .unwrap();
    let me = |token: String| {
        let request = app
            .client
            .get(app.url("/api/v1/auth/me"))
            .bearer_auth(token);
        async move { request.send().await.unwrap() }
    };
    assert_error(me(expired).await, StatusCode::UNAUTHORIZED, "token_expired").await;
    assert_error(me(forged).await, StatusCode::UNAUTHORIZED, "invalid_token").await;
    assert_error(
        me(queue_token).await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    )
    .await;
    assert_error(
        me("garbage".into()).await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    )
    .await;
    assert_error(
        app.get("/api/v1/auth/me").await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
}

#[tokio::test]
async fn google_sign_in_is_404_when_not_configured() {
    let app = spawn_app().await;
    let response = app
        .post("/api/v1/auth/google", &json!({"credential": "x.y.z"}))
        .await;
    assert_error(response, StatusCode::NOT_FOUND, "google_disabled").await;
}

#[tokio::test]
async fn a_granted_admin_role_works_from_the_next_request_without_signing_in_again() {
    let app = spawn_app().await;
    let user = app.quick_user("soon-admin").await;
    let artist = json!({"name": "Granted"});
    let refused = app.post_as("/api/v1/admin/artists", &artist, &user).await;
    assert_error(refused, StatusCode::FORBIDDEN, "forbidden").await;

    urr_store::users::grant_admin(&app.db, &user.email)
        .await
        .expect("grant");
    // The same access token, which still says "user".
    let created = app.post_as("/api/v1/admin/artists", &artist, &user).await;
    assert_eq!(created.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn a_node_refuses_a_token_secret_shorter_than_32_bytes() {
    let app = spawn_app().await;
    let options = |secret: &str| urr::node::NodeOptions {
        http: urr_http::HttpConfig::default(),
        vwr: urr_vwr::VwrConfig::default(),
        jwt_secret: secret.as_bytes().to_vec(),
        bus: urr_bus::ConsumerConfig::default(),
        cluster: urr::node::cluster_config("secret-test", "http://127.0.0.1:1", "cluster"),
    };
    let refused = urr::node::Node::assemble(
        app.db.clone(),
        app.kv.clone(),
        options("31-bytes-is-one-too-few-for-us!"),
    )
    .await
    .err()
    .expect("a short secret is refused");
    let message = format!("{refused:#}");
    assert!(message.contains("at least 32"), "{message}");
    assert!(message.contains("URR_JWT_SECRET"), "{message}");
    assert!(
        urr::node::Node::assemble(
            app.db.clone(),
            app.kv.clone(),
            options("exactly-32-bytes-is-long-enough!")
        )
        .await
        .is_ok()
    );
}

/// POST /auth/verify-email with `token`.
async fn verify(app: &crate::common::TestApp, token: &str) -> reqwest::Response {
    app.post("/api/v1/auth/verify-email", &json!({"token": token}))
        .await
}

async fn me(app: &crate::common::TestApp, access: &str) -> Value {
    app.client
        .get(app.url("/api/v1/auth/me"))
        .bearer_auth(access)
        .send()
        .await
        .expect("me")
        .json()
        .await
        .expect("json")
}

#[tokio::test]
async fn a_mailed_single_use_link_verifies_the_email() {
    let mail = crate::common::mail_file();
    let app = crate::common::spawn_app_with(|c| crate::common::mail_to(c, &mail)).await;
    let fan = app.register("verify-me@example.com").await;
    assert_eq!(me(&app, &fan.access).await["user"]["emailVerified"], false);

    let token = crate::common::mailed_token(&mail, "verify-me@example.com").await;
    let verified = verify(&app, &token).await;
    assert_eq!(verified.status(), StatusCode::OK);
    let verified: Value = verified.json().await.expect("json");
    assert_eq!(verified["user"]["emailVerified"], true);
    assert_eq!(me(&app, &fan.access).await["user"]["emailVerified"], true);
    // Once only.
    assert_error(
        verify(&app, &token).await,
        StatusCode::CONFLICT,
        "link_used",
    )
    .await;
    // Asking again once verified sends nothing.
    let resend: Value = app
        .post_as("/api/v1/auth/verify-email/resend", &json!({}), &fan)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(resend, json!({"emailVerified": true, "sent": false}));
}

#[tokio::test]
async fn forged_expired_and_foreign_links_verify_nothing() {
    let mail = crate::common::mail_file();
    let app = crate::common::spawn_app_with(|c| crate::common::mail_to(c, &mail)).await;
    let fan = app.register("careful@example.com").await;
    let keys = app.keys();
    let now = chrono::Utc::now().timestamp();
    let link = |email: &str, exp: i64| {
        json!({"sub": fan.user_id, "email": email, "jti": uuid::Uuid::new_v4(),
               "iat": now - 10, "exp": exp, "typ": "email"})
    };
    let forged = urr_auth::TokenKeys::new(b"someone-else's-secret-of-32-bytes!!")
        .sign(&link("careful@example.com", now + 3600))
        .expect("sign");
    let expired = keys
        .sign(&link("careful@example.com", now - 60))
        .expect("sign");
    // Signed by us, but for an address the account does not have.
    let elsewhere = keys
        .sign(&link("other@example.com", now + 3600))
        .expect("sign");
    for token in [
        forged,
        expired,
        elsewhere,
        fan.access.clone(),
        "junk".into(),
    ] {
        assert_error(
            verify(&app, &token).await,
            StatusCode::BAD_REQUEST,
            "invalid_link",
        )
        .await;
    }
    assert_eq!(me(&app, &fan.access).await["user"]["emailVerified"], false);
    // A fresh link can be asked for, and works.
    let resend = app
        .post_as("/api/v1/auth/verify-email/resend", &json!({}), &fan)
        .await;
    assert_eq!(resend.status(), StatusCode::ACCEPTED);
    let token = crate::common::mailed_token(&mail, "careful@example.com").await;
    assert_eq!(verify(&app, &token).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn signing_up_does_not_wait_on_a_broken_mail_port() {
    // A mail file in a directory that does not exist: every send fails.
    let broken = std::env::temp_dir()
        .join(format!("no-such-dir-{}", uuid::Uuid::new_v4().simple()))
        .join("mail.jsonl");
    let app = crate::common::spawn_app_with(|c| crate::common::mail_to(c, &broken)).await;
    let started = std::time::Instant::now();
    let fan = app.register("unlucky@example.com").await;
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert_eq!(me(&app, &fan.access).await["user"]["emailVerified"], false);
    // Asking for a link says plainly that it could not be sent.
    let resend = app
        .post_as("/api/v1/auth/verify-email/resend", &json!({}), &fan)
        .await;
    assert_error(resend, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
}
