//! A room's bot defence settings (`docs/architecture.md#bot-defence-at-tier-1`): the
//! proof of work a join must carry, whether it needs a CAPTCHA, and how many joins one
//! address and one account may attempt per minute. All off by default.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::proof::MAX_DIFFICULTY;

/// The window join limits are counted in.
pub const LIMIT_WINDOW_SECS: i64 = 60;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Defence {
    /// Leading zero bits a join's proof of work must have (0: none asked).
    pub pow_difficulty: u8,
    /// A join needs a CAPTCHA token, verified with the configured verifier.
    pub captcha: bool,
    /// Join attempts per minute per source address (0: unlimited).
    pub joins_per_address_per_min: u32,
    /// Join attempts per minute per account (0: unlimited).
    pub joins_per_account_per_min: u32,
}

/// An operator's change to the settings: each field given replaces the room's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DefenceChange {
    pub pow_difficulty: Option<u8>,
    pub captcha: Option<bool>,
    pub joins_per_address_per_min: Option<u32>,
    pub joins_per_account_per_min: Option<u32>,
}

impl DefenceChange {
    pub fn validate(&self) -> Result<(), String> {
        match self.pow_difficulty {
            Some(d) if d > MAX_DIFFICULTY => Err(format!(
                "powDifficulty must be between 0 and {MAX_DIFFICULTY}"
            )),
            _ => Ok(()),
        }
    }

    pub fn apply(&self, defence: &mut Defence) {
        defence.pow_difficulty = self.pow_difficulty.unwrap_or(defence.pow_difficulty);
        defence.captcha = self.captcha.unwrap_or(defence.captcha);
        defence.joins_per_address_per_min = self
            .joins_per_address_per_min
            .unwrap_or(defence.joins_per_address_per_min);
        defence.joins_per_account_per_min = self
            .joins_per_account_per_min
            .unwrap_or(defence.joins_per_account_per_min);
    }
}

/// The fixed window `now` falls in: its start (Unix seconds) and the seconds left in it.
pub fn limit_window(now: DateTime<Utc>) -> (i64, u64) {
    let t = now.timestamp();
    let start = t - t.rem_euclid(LIMIT_WINDOW_SECS);
    (start, (start + LIMIT_WINDOW_SECS - t).max(1) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_replaces_only_what_it_names_and_caps_the_difficulty() {
        let mut defence = Defence {
            joins_per_account_per_min: 5,
            ..Defence::default()
        };
        let change = DefenceChange {
            pow_difficulty: Some(12),
            ..DefenceChange::default()
        };
        assert!(change.validate().is_ok());
        change.apply(&mut defence);
        assert_eq!(defence.pow_difficulty, 12);
        assert_eq!(defence.joins_per_account_per_min, 5);
        let hard = DefenceChange {
            pow_difficulty: Some(MAX_DIFFICULTY + 1),
            ..DefenceChange::default()
        };
        assert!(hard.validate().is_err());
    }

    #[test]
    fn windows_are_whole_minutes() {
        let at = |s| DateTime::from_timestamp(s, 0).expect("time");
        assert_eq!(limit_window(at(120)), (120, 60));
        assert_eq!(limit_window(at(179)), (120, 1));
        assert_eq!(limit_window(at(150)), (120, 30));
    }

    #[test]
    fn old_records_read_as_no_defence() {
        let d: Defence = serde_json::from_str("{}").expect("json");
        assert_eq!(d, Defence::default());
    }
}
