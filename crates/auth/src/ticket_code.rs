//! The code on a ticket (docs/tickets.md): what a door scanner reads from its QR image.
//!
//! `URR1` followed by base32 (RFC 4648, no padding) of the reservation item, the unit
//! within it, the reservation's code generation, and an 80-bit HMAC-SHA256 tag over
//! those. Upper-case base32 keeps the whole code in the QR alphanumeric mode (a smaller
//! image than bytes) and readable aloud for manual entry. The tag proves the server
//! issued the code; whether it still admits anyone is the store's part (the ticket is
//! confirmed, its generation current, and it has not been scanned before).

use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

use crate::{AuthError, TokenKeys};

const PREFIX: &str = "URR1";
const TAG_LEN: usize = 10;
const BODY_LEN: usize = 16 + 4 + 4;

/// One admission: unit `unit` of reservation item `item`, as of `generation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TicketCode {
    pub item: Uuid,
    pub unit: u32,
    pub generation: u32,
}

impl TicketCode {
    fn body(&self) -> [u8; BODY_LEN] {
        let mut body = [0u8; BODY_LEN];
        body[..16].copy_from_slice(self.item.as_bytes());
        body[16..20].copy_from_slice(&self.unit.to_be_bytes());
        body[20..].copy_from_slice(&self.generation.to_be_bytes());
        body
    }

    fn from_body(body: &[u8]) -> Option<Self> {
        Some(Self {
            item: Uuid::from_slice(body.get(..16)?).ok()?,
            unit: u32::from_be_bytes(body.get(16..20)?.try_into().ok()?),
            generation: u32::from_be_bytes(body.get(20..24)?.try_into().ok()?),
        })
    }
}

impl TokenKeys {
    /// The text a ticket's QR image carries.
    pub fn sign_ticket(&self, code: TicketCode) -> String {
        let body = code.body();
        let mut signed = body.to_vec();
        signed.extend_from_slice(&self.ticket_mac(&body).finalize().into_bytes()[..TAG_LEN]);
        format!("{PREFIX}{}", data_encoding::BASE32_NOPAD.encode(&signed))
    }

    /// Reads a scanned or typed code. Case, spaces and dashes are forgiven (people type
    /// codes off a screen); anything altered or not issued by this key is refused.
    pub fn verify_ticket(&self, text: &str) -> Result<TicketCode, AuthError> {
        let cleaned: String = text
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let invalid = || AuthError::Invalid("not a ticket code of this site".to_owned());
        let encoded = cleaned.strip_prefix(PREFIX).ok_or_else(invalid)?;
        let signed = data_encoding::BASE32_NOPAD
            .decode(encoded.as_bytes())
            .map_err(|_| invalid())?;
        if signed.len() != BODY_LEN + TAG_LEN {
            return Err(invalid());
        }
        let (body, tag) = signed.split_at(BODY_LEN);
        self.ticket_mac(body)
            .verify_truncated_left(tag)
            .map_err(|_| invalid())?;
        TicketCode::from_body(body).ok_or_else(invalid)
    }

    fn ticket_mac(&self, body: &[u8]) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.ticket_key)
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
        mac.update(body);
        mac
    }
}

/// The ticket-code key, derived from the token secret so that a leaked code key (or a
/// code) says nothing about the secret that signs access tokens.
pub(crate) fn derive_key(secret: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
    mac.update(b"urr ticket codes v1");
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn keys() -> TokenKeys {
        TokenKeys::new(b"a-secret-of-at-least-32-bytes-long!!")
    }

    fn code() -> TicketCode {
        TicketCode {
            item: Uuid::now_v7(),
            unit: 2,
            generation: 1,
        }
    }

    #[test]
    fn a_signed_code_reads_back_and_fits_the_qr_alphanumeric_mode() {
        let code = code();
        let text = keys().sign_ticket(code);
        assert!(
            text.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        );
        assert_eq!(text.len(), 4 + 55);
        assert_eq!(keys().verify_ticket(&text).ok(), Some(code));
        // As typed by a person: lower case, in groups.
        let typed = text
            .to_lowercase()
            .as_bytes()
            .chunks(4)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join("-");
        assert_eq!(keys().verify_ticket(&typed).ok(), Some(code));
    }

    #[test]
    fn another_sites_code_and_garbage_are_refused() {
        let text = keys().sign_ticket(code());
        let other = TokenKeys::new(b"another-secret-of-at-least-32-bytes");
        assert!(other.verify_ticket(&text).is_err());
        for bad in ["", "URR1", "URR2AAAA", "hello", &text[..text.len() - 1]] {
            assert!(keys().verify_ticket(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        /// Changing any one character of a code never yields a valid code.
        #[test]
        fn any_altered_character_is_refused(at in 4usize..59, with in "[A-Z2-7]") {
            let text = keys().sign_ticket(code());
            let mut altered = text.clone();
            altered.replace_range(at..at + 1, &with);
            prop_assume!(altered != text);
            prop_assert!(keys().verify_ticket(&altered).is_err());
        }
    }
}
