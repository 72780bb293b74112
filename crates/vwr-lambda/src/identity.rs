//! Who is joining: the signed-in user of the node's access token, from
//! `Authorization: Bearer` or the edge's `access_token` cookie. A place in a room belongs
//! to that user, never to an id a client names.

use axum::http::HeaderMap;
use axum::http::header::{AUTHORIZATION, COOKIE};
use urr_auth::{AuthError, TokenKeys};

use crate::VwrError;

/// The cookie the edge keeps the access token in.
const ACCESS_COOKIE: &str = "access_token";

/// The verified user id of the caller.
pub(crate) fn signed_in(keys: &TokenKeys, headers: &HeaderMap) -> Result<String, VwrError> {
    verified(keys, access_token(headers).as_deref())
}

/// The access token a request presents: a bearer token, else the edge's cookie.
pub(crate) fn access_token(headers: &HeaderMap) -> Option<String> {
    bearer(headers).or_else(|| cookie(headers, ACCESS_COOKIE))
}

/// The user id of a presented access token, once verified.
pub(crate) fn verified(keys: &TokenKeys, token: Option<&str>) -> Result<String, VwrError> {
    let token = token
        .ok_or_else(|| VwrError::SignIn("sign-in required to join the waiting room".into()))?;
    match keys.verify_access(token) {
        Ok(claims) => Ok(claims.sub.to_string()),
        Err(AuthError::Expired) => Err(VwrError::SignIn("access token has expired".into())),
        Err(_) => Err(VwrError::SignIn("access token is not valid".into())),
    }
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim_matches('"').to_owned())
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;
    use urr_auth::Role;
    use uuid::Uuid;

    use super::*;

    #[test]
    fn the_user_comes_from_a_bearer_token_or_the_cookie() {
        let keys = TokenKeys::new(b"identity-test-secret-of-32-bytes-or-more");
        let user = Uuid::new_v4();
        let (token, _) = keys.issue_access(user, "a@b.c", Role::User).expect("sign");
        let mut headers = HeaderMap::new();
        assert!(signed_in(&keys, &headers).is_err());
        headers.insert(
            COOKIE,
            HeaderValue::from_str(&format!("theme=dark; access_token={token}")).expect("header"),
        );
        assert_eq!(
            signed_in(&keys, &headers).expect("cookie"),
            user.to_string()
        );
        let mut headers = HeaderMap::new();
        headers.insert(
            AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {token}")).expect("header"),
        );
        assert_eq!(
            signed_in(&keys, &headers).expect("bearer"),
            user.to_string()
        );
        let other = TokenKeys::new(b"another-secret-of-at-least-32-bytes!");
        assert!(signed_in(&other, &headers).is_err());
        let (queue, _) = keys
            .issue_queue("1", "u", urr_auth::Tier::One, None)
            .expect("sign");
        headers.insert(
            AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {queue}")).expect("header"),
        );
        assert!(
            signed_in(&keys, &headers).is_err(),
            "a queue token is no sign-in"
        );
    }
}
