//! The email verification link's token: HS256 over `{sub: userId, email, jti, iat, exp}`,
//! its own kind (`typ: email`) so it is never read as an access or queue token. The
//! signature and expiry are checked here; using it once only is the store's part (by
//! `jti`).

use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{AuthError, TokenKeys};

/// How long a verification link works.
pub const EMAIL_LINK_TTL: Duration = Duration::hours(24);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailLinkClaims {
    /// The account.
    pub sub: Uuid,
    /// The address the link was sent to; it verifies only while the account has it.
    pub email: String,
    /// The link's id, recorded when used.
    pub jti: Uuid,
    pub iat: i64,
    pub exp: i64,
    typ: EmailLinkKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum EmailLinkKind {
    #[serde(rename = "email")]
    Email,
}

impl TokenKeys {
    /// Signs a verification link token for `user`'s `email`, valid for [`EMAIL_LINK_TTL`].
    pub fn issue_email_link(
        &self,
        user: Uuid,
        email: &str,
    ) -> Result<(String, EmailLinkClaims), AuthError> {
        let now = Utc::now().timestamp();
        let claims = EmailLinkClaims {
            sub: user,
            email: email.to_owned(),
            jti: Uuid::new_v4(),
            iat: now,
            exp: now + EMAIL_LINK_TTL.num_seconds(),
            typ: EmailLinkKind::Email,
        };
        Ok((self.sign(&claims)?, claims))
    }

    pub fn verify_email_link(&self, token: &str) -> Result<EmailLinkClaims, AuthError> {
        self.verify(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Role;

    #[test]
    fn email_links_round_trip_and_are_no_other_kind_of_token() {
        let keys = TokenKeys::new(b"a-secret-of-at-least-32-bytes-long!!");
        let user = Uuid::now_v7();
        let (link, claims) = keys.issue_email_link(user, "fan@example.com").unwrap();
        assert_eq!(keys.verify_email_link(&link).unwrap(), claims);
        assert_eq!(claims.exp - claims.iat, 24 * 3600);
        assert!(keys.verify_access(&link).is_err(), "not an access token");
        let (access, _) = keys
            .issue_access(user, "fan@example.com", Role::User)
            .unwrap();
        assert!(keys.verify_email_link(&access).is_err(), "not a link");
        let other = TokenKeys::new(b"another-secret-of-at-least-32-bytes");
        assert!(other.verify_email_link(&link).is_err(), "forged");
    }
}
