//! The stores at the edge of the domain: PostgreSQL, the system of record (users, tokens,
//! catalog, seats), and Redis. SQL lives here and in `migrations/`, nowhere else.

pub mod artists;
pub mod check_ins;
pub mod cluster;
pub mod community;
pub mod db;
mod error;
pub mod event_store;
pub mod events;
pub mod fencing;
pub mod invitations;
pub mod memberships;
pub mod news;
pub mod outbox;
pub mod payments;
pub mod presales;
pub mod queue_settings;
pub mod rate_limit;
pub mod refresh_tokens;
pub mod reservations;
pub mod seat_locks;
pub mod seat_releases;
pub mod seats;
pub mod stats;
pub mod sweeper;
pub mod transfers;
pub mod users;
pub mod waiting_list;

pub use error::StoreError;
pub use sqlx::PgPool;
pub use urr_kv::Kv;

/// Escapes `%`, `_` and `\` so user text matches literally inside an `ILIKE` pattern.
pub(crate) fn like_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

#[cfg(test)]
mod tests {
    #[test]
    fn like_pattern_matches_wildcards_literally() {
        assert_eq!(super::like_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
    }
}
