//! The sell-out time the admission rate alone allows, worked out for the run's own
//! people: what a node that answered everything at once would take, so that the run's
//! figure reads as a ratio to it (BENCHMARKS.md, "The rush").
//!
//! No I/O and no clock: people are admitted in the order they arrived, one every
//! `1 / rate` seconds but never before they arrive; each takes at once what they want of
//! what is free; a walker's seats come back one hold time later and go at once to the
//! first admitted person still wanting seats. Walkers are why the bound is not simply
//! "people needed ÷ rate": no admission rate sells a seat that someone holds and has
//! walked away from before its hold lapses.

use std::collections::VecDeque;
use std::time::Duration;

/// One person of the run, as planned before it started.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Person {
    /// When they arrive, from the start of the rush.
    pub arrives: Duration,
    /// Seats they want (they take fewer if fewer are free).
    pub wants: u32,
    /// They hold their seats and never pay.
    pub walks_away: bool,
}

/// How the sale admits and holds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pace {
    /// People admitted per second (the slower of the two tiers).
    pub admissions_per_sec: f64,
    /// How long an unpaid hold lasts.
    pub hold_ttl: Duration,
}

/// When the last of `seats` is paid for, or `None` if these people never buy them all.
/// `people` must be in arrival order.
pub fn ideal_sell_out(people: &[Person], seats: u64, pace: Pace) -> Option<Duration> {
    if seats == 0 {
        return Some(Duration::ZERO);
    }
    if !(pace.admissions_per_sec.is_finite() && pace.admissions_per_sec > 0.0) {
        return None;
    }
    let every = 1.0 / pace.admissions_per_sec;
    let ttl = pace.hold_ttl.as_secs_f64();
    let mut sale = Sale {
        free: seats,
        unsold: seats,
        returns: VecDeque::new(),
    };
    // Admitted, found nothing free, still wanting: served first when seats come back.
    let mut waiting: VecDeque<Person> = VecDeque::new();
    let mut next = 0usize;
    loop {
        let admit_at = people
            .get(next)
            .map(|p| (next as f64 * every).max(p.arrives.as_secs_f64()));
        let return_at = sale.returns.front().map(|&(back, _)| back);
        if let Some(back) = return_at
            && admit_at.is_none_or(|admit| back <= admit)
        {
            sale.take_back();
            while sale.free > 0
                && let Some(person) = waiting.pop_front()
            {
                if sale.serve(person, back, ttl) {
                    return Some(Duration::from_secs_f64(back));
                }
            }
            continue;
        }
        let at = admit_at?;
        let person = people[next];
        next += 1;
        if sale.free == 0 {
            waiting.push_back(person);
        } else if sale.serve(person, at, ttl) {
            return Some(Duration::from_secs_f64(at));
        }
    }
}

struct Sale {
    free: u64,
    unsold: u64,
    /// Walkers' seats coming back: when, and how many (in time order, as holds are).
    returns: VecDeque<(f64, u64)>,
}

impl Sale {
    fn take_back(&mut self) {
        if let Some((_, seats)) = self.returns.pop_front() {
            self.free += seats;
        }
    }

    /// `person` takes what they can at `at`; true once the last seat is paid for.
    fn serve(&mut self, person: Person, at: f64, ttl: f64) -> bool {
        let take = u64::from(person.wants).min(self.free);
        self.free -= take;
        if person.walks_away {
            self.returns.push_back((at + ttl, take));
            false
        } else {
            self.unsold -= take;
            self.unsold == 0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buyers(n: usize, wants: u32) -> Vec<Person> {
        vec![
            Person {
                arrives: Duration::ZERO,
                wants,
                walks_away: false,
            };
            n
        ]
    }

    fn pace(rate: f64, ttl: u64) -> Pace {
        Pace {
            admissions_per_sec: rate,
            hold_ttl: Duration::from_secs(ttl),
        }
    }

    #[test]
    fn without_walkers_it_is_the_people_needed_over_the_rate() {
        // 100 seats, two each: the 50th person (admitted at 49 / 10 s) buys the last.
        let at = ideal_sell_out(&buyers(1_000, 2), 100, pace(10.0, 60));
        assert_eq!(at, Some(Duration::from_secs_f64(4.9)));
    }

    #[test]
    fn nobody_is_admitted_before_they_arrive() {
        let mut people = buyers(3, 1);
        people[2].arrives = Duration::from_secs(30);
        let at = ideal_sell_out(&people, 3, pace(1_000.0, 60));
        assert_eq!(at, Some(Duration::from_secs(30)));
    }

    #[test]
    fn a_walkers_seats_sell_only_once_their_hold_lapses() {
        // The first person walks away with the only seat: it comes back at 60 s and goes
        // at once to the second, admitted long before and waiting.
        let mut people = buyers(2, 1);
        people[0].walks_away = true;
        let at = ideal_sell_out(&people, 1, pace(10.0, 60));
        assert_eq!(at, Some(Duration::from_secs(60)));
    }

    #[test]
    fn walkers_in_a_row_add_a_hold_time_each() {
        let mut people = buyers(4, 1);
        for person in &mut people[..3] {
            person.walks_away = true;
        }
        let at = ideal_sell_out(&people, 1, pace(1_000.0, 60));
        assert_eq!(at, Some(Duration::from_secs_f64(180.0)));
    }

    proptest::proptest! {
        /// Walkers never make a sale end sooner, and no sale ends before enough people
        /// have been admitted to buy every seat.
        #[test]
        fn walkers_only_delay_and_the_rate_bounds_from_below(
            plan in proptest::collection::vec((1u32..=2, proptest::bool::weighted(0.2)), 1..300),
            seats in 1u64..150,
            rate in 1.0f64..500.0,
        ) {
            let people: Vec<Person> = plan
                .iter()
                .map(|&(wants, walks_away)| Person { arrives: Duration::ZERO, wants, walks_away })
                .collect();
            let calm: Vec<Person> = people
                .iter()
                .map(|p| Person { walks_away: false, ..*p })
                .collect();
            let pace = pace(rate, 60);
            let with = ideal_sell_out(&people, seats, pace);
            let without = ideal_sell_out(&calm, seats, pace);
            if let Some(with) = with {
                let without = without.expect("fewer walkers sell out too");
                proptest::prop_assert!(without <= with);
            }
            if let Some(without) = without {
                // The k-th person (from 0) is admitted at k / rate; at two seats each,
                // at least ceil(seats / 2) people are needed.
                let needed = seats.div_ceil(2) - 1;
                proptest::prop_assert!(without.as_secs_f64() + 1e-9 >= needed as f64 / rate);
            }
        }
    }

    #[test]
    fn too_few_buyers_never_sell_out() {
        assert_eq!(ideal_sell_out(&buyers(3, 1), 4, pace(10.0, 60)), None);
        let mut people = buyers(2, 1);
        people[1].walks_away = true;
        assert_eq!(ideal_sell_out(&people, 2, pace(10.0, 60)), None);
        assert_eq!(ideal_sell_out(&buyers(3, 1), 2, pace(0.0, 60)), None);
    }
}
