//! The cookies the edge sets: the access and refresh tokens, and the queue's entry token.

use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue};
use cookie::{Cookie, SameSite};

pub const ACCESS_COOKIE: &str = "access_token";
pub const REFRESH_COOKIE: &str = "refresh_token";
/// The refresh cookie only travels to the auth routes.
const REFRESH_PATH: &str = "/api/v1/auth";
/// A refresh family lives this long without use.
pub const REFRESH_TTL_DAYS: i64 = 14;

/// `access_token`: HttpOnly, Secure, SameSite=Lax, Path=/, for the access token's life.
pub fn access(token: &str, secure: bool) -> HeaderValue {
    let cookie = Cookie::build((ACCESS_COOKIE, token))
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .path("/")
        .max_age(cookie::time::Duration::seconds(
            urr_auth::tokens::ACCESS_TTL.num_seconds(),
        ))
        .build();
    header_value(&cookie)
}

/// `refresh_token`: HttpOnly, Secure, SameSite=Strict, Path=/api/v1/auth.
pub fn refresh(secret: &str, secure: bool) -> HeaderValue {
    let cookie = Cookie::build((REFRESH_COOKIE, secret))
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Strict)
        .path(REFRESH_PATH)
        .max_age(cookie::time::Duration::days(REFRESH_TTL_DAYS))
        .build();
    header_value(&cookie)
}

/// The Tier-2 entry token (`urr-entry-token`): HttpOnly, Secure, SameSite=Strict, Path=/,
/// for the token's life. Seat and reservation calls read it when no header carries it.
pub fn entry(token: &str, secure: bool) -> HeaderValue {
    queue_token(crate::entry::ENTRY_COOKIE, token, secure, true)
}

/// The Tier-1 token (`urr-vwr-token`) as the browser's waiting room keeps it
/// (`assets/js/waiting-room.js`): readable by scripts, which replace it when the person
/// passes another event's room, so not HttpOnly; SameSite=Strict, Path=/, the token's life.
pub fn tier1(token: &str, secure: bool) -> HeaderValue {
    queue_token(crate::entry::TIER1_COOKIE, token, secure, false)
}

/// A waiting-room token's cookie: SameSite=Strict, Path=/, for a queue token's life.
fn queue_token(name: &'static str, token: &str, secure: bool, http_only: bool) -> HeaderValue {
    let cookie = Cookie::build((name, token))
        .http_only(http_only)
        .secure(secure)
        .same_site(SameSite::Strict)
        .path("/")
        .max_age(cookie::time::Duration::seconds(
            urr_auth::tokens::QUEUE_TOKEN_TTL.num_seconds(),
        ))
        .build();
    header_value(&cookie)
}

/// Headers that delete both cookies (same names and paths, expired).
pub fn cleared(secure: bool) -> [HeaderValue; 2] {
    let clear = |name: &'static str, path: &'static str, same_site| {
        let cookie = Cookie::build((name, ""))
            .http_only(true)
            .secure(secure)
            .same_site(same_site)
            .path(path)
            .max_age(cookie::time::Duration::ZERO)
            .build();
        header_value(&cookie)
    };
    [
        clear(ACCESS_COOKIE, "/", SameSite::Lax),
        clear(REFRESH_COOKIE, REFRESH_PATH, SameSite::Strict),
    ]
}

/// The value of cookie `name` in the request, if any.
pub fn read(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|cookie| cookie.name() == name)
        .map(|cookie| cookie.value().to_owned())
}

pub fn append(headers: &mut HeaderMap, values: impl IntoIterator<Item = HeaderValue>) {
    for value in values {
        headers.append(SET_COOKIE, value);
    }
}

fn header_value(cookie: &Cookie<'_>) -> HeaderValue {
    // Tokens are base64url and JWTs: always valid header characters.
    HeaderValue::from_str(&cookie.to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
}
