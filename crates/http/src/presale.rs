//! The members-only pre-sale gate, on both ways into a sale: the queue check and the
//! seat and ticket holds. While one of an event's pre-sale windows is open, only fan-club
//! members of its tier (or higher) get through; the refusal says which window is open
//! and when the general sale opens.

use chrono::{SecondsFormat, Utc};
use urr_store::{memberships, presales};
use uuid::Uuid;

use crate::error::{ApiError, ErrorCode};
use crate::session::CurrentUser;
use crate::state::AppState;

pub async fn admit(state: &AppState, event: Uuid, user: &CurrentUser) -> Result<(), ApiError> {
    let windows = state.gate_rules.presale_windows(&state.db, event).await?;
    let now = Utc::now();
    // Most requests end here: no window is open, and membership is not even looked up.
    if !windows.iter().any(|w| w.is_open(now)) {
        return Ok(());
    }
    let tier = memberships::tier_for_event(&state.db, user.id, event).await?;
    presales::gate(&windows, tier, now).map_err(|refused| {
        let you = match tier {
            Some(tier) => format!("your fan-club tier is {}", tier.as_str()),
            None => "you are not a member of this artist's fan club".to_owned(),
        };
        ApiError::new(
            ErrorCode::PresaleMembersOnly,
            format!(
                "the {tier} pre-sale is open to fan-club members of tier {tier} or higher \
                 until {closes}, and {you}; the general sale opens at {general}",
                tier = refused.window.tier,
                closes = refused
                    .window
                    .closes_at
                    .to_rfc3339_opts(SecondsFormat::Secs, true),
                general = refused
                    .general_opens_at
                    .to_rfc3339_opts(SecondsFormat::Secs, true),
            ),
        )
    })
}
