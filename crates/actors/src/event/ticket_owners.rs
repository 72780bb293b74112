//! Who holds or bought the event's counted tickets: `Inventory` counts tickets, not
//! people, so the shell keeps each reservation's owner and quantity beside it, for
//! cancels (only the owner may) and the per-user limit.

use std::collections::HashMap;

use crate::ids::{ReservationId, UserId};

#[derive(Debug, Default)]
pub(super) struct TicketOwners {
    by_reservation: HashMap<ReservationId, (UserId, u32)>,
    /// Tickets per user over `by_reservation`, changed with it.
    per_user: HashMap<UserId, u32>,
}

impl TicketOwners {
    pub(super) fn insert(&mut self, reservation: ReservationId, user: UserId, quantity: u32) {
        self.remove(reservation);
        self.by_reservation.insert(reservation, (user, quantity));
        *self.per_user.entry(user).or_default() += quantity;
    }

    /// Forgets a reservation; its owner, if it was known.
    pub(super) fn remove(&mut self, reservation: ReservationId) -> Option<UserId> {
        let (user, quantity) = self.by_reservation.remove(&reservation)?;
        if let Some(tally) = self.per_user.get_mut(&user) {
            *tally = tally.saturating_sub(quantity);
            if *tally == 0 {
                self.per_user.remove(&user);
            }
        }
        Some(user)
    }

    pub(super) fn owner(&self, reservation: ReservationId) -> Option<UserId> {
        self.by_reservation.get(&reservation).map(|&(user, _)| user)
    }

    pub(super) fn contains(&self, reservation: ReservationId) -> bool {
        self.by_reservation.contains_key(&reservation)
    }

    pub(super) fn is_empty(&self) -> bool {
        self.by_reservation.is_empty()
    }

    /// Tickets `user` holds or bought.
    pub(super) fn tickets_of(&self, user: UserId) -> u32 {
        self.per_user.get(&user).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn tallies_follow_the_reservations() {
        let (a, b) = (UserId(Uuid::from_u128(1)), UserId(Uuid::from_u128(2)));
        let r = |n: u128| ReservationId(Uuid::from_u128(100 + n));
        let mut owners = TicketOwners::default();
        owners.insert(r(1), a, 2);
        owners.insert(r(2), a, 1);
        owners.insert(r(3), b, 4);
        assert_eq!((owners.tickets_of(a), owners.tickets_of(b)), (3, 4));
        // Inserting a reservation again replaces it rather than counting it twice.
        owners.insert(r(2), a, 1);
        assert_eq!(owners.tickets_of(a), 3);
        assert_eq!(owners.remove(r(1)), Some(a));
        assert_eq!(owners.remove(r(1)), None);
        assert_eq!(owners.tickets_of(a), 1);
        assert_eq!(owners.owner(r(3)), Some(b));
        owners.remove(r(2));
        owners.remove(r(3));
        assert!(owners.is_empty());
        assert_eq!(owners.tickets_of(b), 0);
    }
}
