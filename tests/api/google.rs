//! Google sign-in: ID tokens checked RS256 against a JWKS that this test serves itself.

use crate::common::{TestApp, assert_error, mail_file, mail_to, mailed_token, spawn_app_with};
use axum::Json;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use rsa::RsaPrivateKey;
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};

const CLIENT_ID: &str = "urr-test.apps.googleusercontent.com";

struct Google {
    key: EncodingKey,
    other_key: EncodingKey,
    app: TestApp,
    mail: std::path::PathBuf,
}

fn private_key() -> (EncodingKey, Value) {
    let key = RsaPrivateKey::new(&mut rand_core_rng(), 2048).expect("rsa key");
    let pem = key.to_pkcs1_pem(Default::default()).expect("pem");
    let jwk = json!({
        "kty": "RSA", "alg": "RS256", "use": "sig", "kid": "key-1",
        "n": URL_SAFE_NO_PAD.encode(key.n().to_bytes_be()),
        "e": URL_SAFE_NO_PAD.encode(key.e().to_bytes_be()),
    });
    (EncodingKey::from_rsa_pem(pem.as_bytes()).expect("key"), jwk)
}

fn rand_core_rng() -> rsa::rand_core::OsRng {
    rsa::rand_core::OsRng
}

async fn setup() -> Google {
    let (key, jwk) = private_key();
    let (other_key, _) = private_key();
    let jwks = json!({"keys": [jwk]});
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind JWKS server");
    let jwks_url = format!("http://{}/certs", listener.local_addr().expect("address"));
    let router = axum::Router::new().route("/certs", get(move || async move { Json(jwks) }));
    tokio::spawn(async move { axum::serve(listener, router).await });
    let mail = mail_file();
    let app = spawn_app_with(|config| {
        config.google_client_id = Some(CLIENT_ID.into());
        config.google_jwks_url = jwks_url;
        mail_to(config, &mail);
    })
    .await;
    Google {
        key,
        other_key,
        app,
        mail,
    }
}

fn claims(overrides: Value) -> Value {
    let now = chrono::Utc::now().timestamp();
    let mut claims = json!({
        "iss": "https://accounts.google.com", "aud": CLIENT_ID, "sub": "google-sub-1",
        "email": "gfan@gmail.com", "email_verified": true, "name": "G Fan",
        "iat": now, "exp": now + 3600,
    });
    if let (Some(base), Some(extra)) = (claims.as_object_mut(), overrides.as_object()) {
        for (k, v) in extra {
            base.insert(k.clone(), v.clone());
        }
    }
    claims
}

fn sign(key: &EncodingKey, kid: &str, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.into());
    jsonwebtoken::encode(&header, claims, key).expect("sign ID token")
}

async fn sign_in(app: &TestApp, credential: String) -> reqwest::Response {
    app.post("/api/v1/auth/google", &json!({"credential": credential}))
        .await
}

#[tokio::test]
async fn a_valid_id_token_signs_in_and_finds_the_same_account_again() {
    let g = setup().await;
    let token = sign(&g.key, "key-1", &claims(json!({})));
    let first = sign_in(&g.app, token.clone()).await;
    assert_eq!(first.status(), StatusCode::OK);
    assert!(crate::common::set_cookie(&first, "access_token").is_some());
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["user"]["email"], "gfan@gmail.com");
    assert_eq!(
        first["user"]["emailVerified"], true,
        "Google vouched for it"
    );
    let again: Value = sign_in(&g.app, token).await.json().await.unwrap();
    assert_eq!(again["user"]["id"], first["user"]["id"]);
}

/// Someone registers the victim's address with a password of their own (nothing checks
/// they own it); the victim then signs in with Google. Linking would hand the squatter
/// password access to the victim's account: the sign-in is refused and nothing is linked.
#[tokio::test]
async fn google_sign_in_does_not_link_an_account_whose_email_is_unverified() {
    let g = setup().await;
    let squatter = g.app.register("victim@example.com").await;
    let token = sign(
        &g.key,
        "key-1",
        &claims(json!({"sub": "google-victim", "email": "victim@example.com"})),
    );
    let refused = sign_in(&g.app, token).await;
    assert!(crate::common::set_cookie(&refused, "access_token").is_none());
    assert_error(refused, StatusCode::CONFLICT, "email_unverified").await;
    let (linked, users): (Option<String>, i64) = sqlx::query_as(
        "SELECT (SELECT google_sub FROM users WHERE id = $1), (SELECT count(*) FROM users)",
    )
    .bind(squatter.user_id)
    .fetch_one(&g.app.db)
    .await
    .unwrap();
    assert_eq!((linked, users), (None, 1), "no link, no second account");
}

/// An account whose owner verified its email is linked on Google sign-in, once.
#[tokio::test]
async fn google_sign_in_links_an_account_once_its_email_is_verified() {
    let g = setup().await;
    let existing = g.app.register("linked@example.com").await;
    let token = mailed_token(&g.mail, "linked@example.com").await;
    let verified = g
        .app
        .post("/api/v1/auth/verify-email", &json!({"token": token}))
        .await;
    assert_eq!(verified.status(), StatusCode::OK);
    let credential = sign(
        &g.key,
        "key-1",
        &claims(json!({"sub": "google-sub-2", "email": "Linked@Example.com"})),
    );
    let body: Value = sign_in(&g.app, credential.clone())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["user"]["id"], existing.user_id.to_string());
    assert_eq!(body["user"]["emailVerified"], true);
    // Another Google identity with the same address does not take the account over.
    let other = sign(
        &g.key,
        "key-1",
        &claims(json!({"sub": "google-sub-3", "email": "linked@example.com"})),
    );
    assert_error(
        sign_in(&g.app, other).await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    let again: Value = sign_in(&g.app, credential).await.json().await.unwrap();
    assert_eq!(again["user"]["id"], existing.user_id.to_string());
}

#[tokio::test]
async fn wrong_audience_issuer_signature_expiry_or_key_are_refused() {
    let g = setup().await;
    let past = chrono::Utc::now().timestamp() - 7200;
    let refused = [
        sign(&g.key, "key-1", &claims(json!({"aud": "someone-else"}))),
        sign(
            &g.key,
            "key-1",
            &claims(json!({"iss": "https://evil.example"})),
        ),
        sign(
            &g.key,
            "key-1",
            &claims(json!({"iat": past - 3600, "exp": past})),
        ),
        sign(&g.other_key, "key-1", &claims(json!({}))),
        sign(&g.key, "unknown-kid", &claims(json!({}))),
        sign(&g.key, "key-1", &claims(json!({"email_verified": false}))),
        // Same claims, HMAC-signed with a guessable secret: the alg must be RS256.
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims(json!({})),
            &EncodingKey::from_secret(b"secret"),
        )
        .unwrap(),
        "not.a.jwt".into(),
    ];
    for credential in refused {
        let response = sign_in(&g.app, credential).await;
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert!(
            body["error"]["code"] == "invalid_token" || body["error"]["code"] == "token_expired"
        );
    }
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&g.app.db)
        .await
        .unwrap();
    assert_eq!(users, 0, "no refused token created an account");
    let missing = g.app.post("/api/v1/auth/google", &json!({})).await;
    assert_error(missing, StatusCode::BAD_REQUEST, "invalid_input").await;
}
