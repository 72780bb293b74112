//! The ids that arrive in paths and bodies, validated before they reach a store key.

use std::fmt;

use uuid::Uuid;

/// User ids longer than this are refused: they go into tokens and records.
pub const MAX_USER_ID_LEN: usize = 128;

/// An event id: a UUID (the catalog's ids) or a positive decimal that fits in an `i64`
/// (the seed's numeric ids: `docs/architecture.md#the-design-urr-rebuilds`). Normalised, so one event never has two keys.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EventId(String);

impl EventId {
    pub fn parse(raw: &str) -> Option<Self> {
        if let Ok(uuid) = Uuid::parse_str(raw) {
            return Some(Self(uuid.hyphenated().to_string()));
        }
        if raw.is_empty() || raw.len() > 19 || !raw.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let n: i64 = raw.parse().ok()?;
        (n > 0).then(|| Self(n.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A user id as the client sends it: non-empty, bounded, printable, no whitespace.
pub fn valid_user_id(raw: &str) -> bool {
    !raw.is_empty()
        && raw.len() <= MAX_USER_ID_LEN
        && raw.chars().all(|c| !c.is_control() && !c.is_whitespace())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_are_uuids_or_positive_numbers() {
        assert_eq!(EventId::parse("42").unwrap().as_str(), "42");
        assert_eq!(EventId::parse("0042").unwrap().as_str(), "42");
        let u = "67E55044-10B1-426F-9247-BB680E5FE0C8";
        assert_eq!(EventId::parse(u).unwrap().as_str(), u.to_lowercase());
        for bad in [
            "",
            "0",
            "-1",
            "abc",
            "1e3",
            "99999999999999999999",
            "9223372036854775808",
            "{x}",
        ] {
            assert!(EventId::parse(bad).is_none(), "{bad}");
        }
        assert!(EventId::parse("9223372036854775807").is_some());
    }

    #[test]
    fn user_ids_are_bounded_and_printable() {
        assert!(valid_user_id("user-1"));
        assert!(!valid_user_id(""));
        assert!(!valid_user_id("a b"));
        assert!(!valid_user_id("a\nb"));
        assert!(!valid_user_id(&"x".repeat(129)));
    }
}
