//! The invitation link's token (`docs/architecture.md#invitations`): HS256 over
//! `{sub: invitationId, evt: eventId, iat, exp}`, its own kind (`typ: invite`) so it is
//! never read as an access, queue or email-link token, nor they as it.
//!
//! The signature proves the node minted it; whether it still works (unused, not revoked,
//! not expired) is the store's to say, so `exp` is not checked here: the store refuses a
//! late use on the row's `expires_at`, which `exp` equals, and audits it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{AuthError, TokenKeys};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationClaims {
    /// The invitation.
    pub sub: Uuid,
    /// Its event.
    pub evt: Uuid,
    pub iat: i64,
    pub exp: i64,
    typ: InvitationKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum InvitationKind {
    #[serde(rename = "invite")]
    Invite,
}

impl TokenKeys {
    /// Signs the link token of invitation `id` of `event`. The same row always gives the
    /// same token, so the operator's list can show a link again without storing it.
    pub fn issue_invitation(
        &self,
        id: Uuid,
        event: Uuid,
        created_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<String, AuthError> {
        self.sign(&InvitationClaims {
            sub: id,
            evt: event,
            iat: created_at.timestamp(),
            exp: expires_at.timestamp(),
            typ: InvitationKind::Invite,
        })
    }

    /// Checks an invitation token's signature and kind (not its expiry: see the module).
    pub fn verify_invitation(&self, token: &str) -> Result<InvitationClaims, AuthError> {
        self.verify_signed(token)
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::{Role, Tier};

    #[test]
    fn invitations_round_trip_are_stable_and_are_no_other_kind_of_token() {
        let keys = TokenKeys::new(b"a-secret-of-at-least-32-bytes-long!!");
        let (id, event) = (Uuid::now_v7(), Uuid::now_v7());
        let now = Utc::now();
        let token = keys
            .issue_invitation(id, event, now, now + Duration::hours(2))
            .unwrap();
        let again = keys
            .issue_invitation(id, event, now, now + Duration::hours(2))
            .unwrap();
        assert_eq!(token, again, "the same row signs to the same link");
        let claims = keys.verify_invitation(&token).unwrap();
        assert_eq!((claims.sub, claims.evt), (id, event));
        assert!(keys.verify_access(&token).is_err(), "not an access token");
        assert!(keys.verify_email_link(&token).is_err(), "not an email link");
        let (access, _) = keys.issue_access(id, "a@b.c", Role::Admin).unwrap();
        assert!(
            keys.verify_invitation(&access).is_err(),
            "access is no invite"
        );
        let (queue, _) = keys
            .issue_queue(&event.to_string(), &id.to_string(), Tier::One, Some(0))
            .unwrap();
        assert!(
            keys.verify_invitation(&queue).is_err(),
            "queue is no invite"
        );
        let other = TokenKeys::new(b"another-secret-of-at-least-32-bytes");
        assert!(other.verify_invitation(&token).is_err(), "forged");
    }

    #[test]
    fn an_expired_invitation_still_names_its_row() {
        let keys = TokenKeys::new(b"a-secret-of-at-least-32-bytes-long!!");
        let then = Utc::now() - Duration::days(3);
        let id = Uuid::now_v7();
        let token = keys
            .issue_invitation(id, Uuid::now_v7(), then, then + Duration::hours(1))
            .unwrap();
        assert_eq!(keys.verify_invitation(&token).unwrap().sub, id);
    }
}
