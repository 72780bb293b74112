//! A waiting room's state and the rules that move it: which phase it is in, and the
//! advancer's step, which admits a batch per interval and replaces no-shows.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::defence::Defence;
use super::pacing::fold_rate;
use super::shuffle::Shuffle;

/// Waves kept for no-show settlement. A wave settles after the claim window, so only a
/// handful are ever open; the bound protects the record if an operator sets a window
/// far longer than the interval.
const MAX_OPEN_WAVES: usize = 128;

/// The pre-queue opens at `pre_queue_opens_at`; at `sale_opens_at` its entrants are
/// shuffled and admission begins in FIFO order for everyone after them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Schedule {
    pub pre_queue_opens_at: DateTime<Utc>,
    pub sale_opens_at: DateTime<Utc>,
}

/// One advancer cycle's admissions, positions `from..=to`, kept until its claim window
/// has passed so the positions nobody came back for can be counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Wave {
    pub id: u64,
    pub from: u64,
    pub to: u64,
    pub at: DateTime<Utc>,
}

impl Wave {
    pub fn size(&self) -> u64 {
        self.to + 1 - self.from
    }
}

/// The operator's settings and the advancer's bookkeeping for one event's room. The
/// atomic parts (the join counter and the pre-queue seal) live beside it in the store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoomState {
    pub active: bool,
    pub batch: u64,
    pub interval_secs: u64,
    /// Seconds an admitted client has to come back for its token before its place counts
    /// as a no-show.
    pub claim_window_secs: u64,
    /// Admission stops; those already admitted still get their tokens.
    pub paused: bool,
    /// Emergency: admission stops and nobody, not even the already admitted, gets a token.
    pub hold: bool,
    pub schedule: Option<Schedule>,
    pub serving_counter: u64,
    /// Positions served per second, as measured over recent unconstrained cycles.
    pub rate: Option<f64>,
    pub last_advance_at: Option<DateTime<Utc>>,
    pub waves: Vec<Wave>,
    pub next_wave: u64,
    /// No-shows counted but not yet replaced by extra admissions.
    pub no_show_credit: u64,
    /// Total no-shows ever counted, for operators.
    pub no_shows: u64,
    pub seed_published: bool,
    /// Proof of work, CAPTCHA and join limits; absent in records written before them.
    #[serde(default)]
    pub defence: Defence,
}

/// Where a room is in its life, at a given instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Inactive,
    /// Scheduled, but the pre-queue has not opened: joins are refused, not bypassed.
    NotYetOpen {
        opens_at: DateTime<Utc>,
    },
    /// Joins are collected and will be shuffled when the sale opens.
    PreQueue {
        sale_opens_at: DateTime<Utc>,
    },
    Open,
}

/// The seal taken when the sale opens: how many joined the pre-queue, and the seed of
/// their shuffle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seal {
    pub pre_queue_size: u64,
    pub seed: u64,
}

impl Seal {
    pub fn shuffle(&self) -> Shuffle {
        Shuffle::new(self.seed, self.pre_queue_size)
    }
}

/// What one advancer step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Advance {
    pub admitted: u64,
    pub no_shows_settled: u64,
}

impl RoomState {
    pub fn new(batch: u64, interval_secs: u64, claim_window_secs: u64) -> Self {
        Self {
            active: false,
            batch,
            interval_secs,
            claim_window_secs,
            paused: false,
            hold: false,
            schedule: None,
            serving_counter: 0,
            rate: None,
            last_advance_at: None,
            waves: Vec::new(),
            next_wave: 0,
            no_show_credit: 0,
            no_shows: 0,
            seed_published: false,
            defence: Defence::default(),
        }
    }

    pub fn phase(&self, now: DateTime<Utc>) -> Phase {
        if !self.active {
            return Phase::Inactive;
        }
        match self.schedule {
            Some(s) if now < s.pre_queue_opens_at => Phase::NotYetOpen {
                opens_at: s.pre_queue_opens_at,
            },
            Some(s) if now < s.sale_opens_at => Phase::PreQueue {
                sale_opens_at: s.sale_opens_at,
            },
            _ => Phase::Open,
        }
    }

    /// True when the sale has opened on a scheduled room whose pre-queue is not sealed.
    pub fn needs_seal(&self, seal: Option<Seal>, now: DateTime<Utc>) -> bool {
        self.schedule.is_some() && seal.is_none() && self.phase(now) == Phase::Open
    }

    /// The place in line of join ticket `ticket`: pre-queue tickets are drawn by the
    /// shuffle once sealed and have no place before that; later tickets keep their order.
    pub fn position_of(&self, ticket: u64, seal: Option<Seal>) -> Option<u64> {
        match seal {
            Some(seal) if ticket <= seal.pre_queue_size => seal.shuffle().position(ticket),
            Some(_) => Some(ticket),
            None if self.schedule.is_some() => None,
            None => Some(ticket),
        }
    }

    /// True when a cycle's interval has passed since the last admission. Half a second
    /// of slack keeps a ten-second schedule from skipping every other cycle on jitter.
    pub fn is_due(&self, now: DateTime<Utc>) -> bool {
        let interval = Duration::milliseconds(self.interval_secs as i64 * 1000 - 500);
        self.last_advance_at
            .is_none_or(|last| now - last >= interval)
    }

    /// The waves whose claim window has passed; their claim counts settle the no-shows.
    pub fn matured_waves(&self, now: DateTime<Utc>) -> Vec<u64> {
        let window = Duration::seconds(self.claim_window_secs as i64);
        self.waves
            .iter()
            .filter(|w| w.at + window <= now)
            .map(|w| w.id)
            .collect()
    }

    /// The wave that admitted `position`, while it is still open for claims.
    pub fn wave_of(&self, position: u64) -> Option<u64> {
        self.waves
            .iter()
            .find(|w| (w.from..=w.to).contains(&position))
            .map(|w| w.id)
    }

    /// One advancer step. `claims` gives, for matured waves, how many of their positions
    /// came back for a token. Admits `batch` plus the no-shows not yet replaced, never
    /// past `next_position`, and only while the room is open and neither paused nor held.
    pub fn advance(
        &mut self,
        next_position: u64,
        seal: Option<Seal>,
        claims: &[(u64, u64)],
        now: DateTime<Utc>,
    ) -> Advance {
        let mut step = Advance::default();
        for (id, claimed) in claims {
            if let Some(i) = self.waves.iter().position(|w| w.id == *id) {
                let wave = self.waves.remove(i);
                let missing = wave.size().saturating_sub(*claimed);
                step.no_shows_settled += missing;
            }
        }
        self.no_shows += step.no_shows_settled;
        self.no_show_credit += step.no_shows_settled;

        let admitting = self.phase(now) == Phase::Open
            && !self.paused
            && !self.hold
            && (self.schedule.is_none() || seal.is_some());
        if !admitting {
            // A pause is not a slow cycle: restart the measurement when admission resumes.
            self.last_advance_at = None;
            return step;
        }

        let room = next_position.saturating_sub(self.serving_counter);
        let wanted = self.batch.saturating_add(self.no_show_credit);
        let admitted = wanted.min(room);
        if admitted > 0 {
            self.waves.push(Wave {
                id: self.next_wave,
                from: self.serving_counter + 1,
                to: self.serving_counter + admitted,
                at: now,
            });
            self.next_wave += 1;
            if self.waves.len() > MAX_OPEN_WAVES {
                self.waves.remove(0);
            }
        }
        self.serving_counter += admitted;
        self.no_show_credit -= admitted.saturating_sub(self.batch).min(self.no_show_credit);
        if self.serving_counter >= next_position {
            // Everyone waiting is in: capacity nobody could use is not owed to later joins.
            self.no_show_credit = 0;
        }
        // Only a cycle limited by the batch says how fast the room serves; one limited by
        // an empty line would make the estimate far too pessimistic.
        if admitted == wanted
            && let Some(last) = self.last_advance_at
        {
            let elapsed = (now - last).num_milliseconds() as f64 / 1000.0;
            self.rate = fold_rate(self.rate, admitted, elapsed);
        }
        self.last_advance_at = Some(now);
        step.admitted = admitted;
        step
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open_room() -> RoomState {
        let mut room = RoomState::new(100, 10, 30);
        room.active = true;
        room
    }

    #[test]
    fn serving_never_passes_next_position() {
        let mut room = open_room();
        let t = Utc::now();
        room.advance(250, None, &[], t);
        assert_eq!(room.serving_counter, 100);
        room.advance(250, None, &[], t + Duration::seconds(10));
        room.advance(250, None, &[], t + Duration::seconds(20));
        assert_eq!(room.serving_counter, 250);
        room.advance(250, None, &[], t + Duration::seconds(30));
        assert_eq!(room.serving_counter, 250);
    }

    #[test]
    fn paused_held_and_inactive_rooms_do_not_advance() {
        let t = Utc::now();
        for tweak in [
            |r: &mut RoomState| r.paused = true,
            |r: &mut RoomState| r.hold = true,
            |r: &mut RoomState| r.active = false,
        ] {
            let mut room = open_room();
            tweak(&mut room);
            assert_eq!(room.advance(1000, None, &[], t).admitted, 0);
            assert_eq!(room.serving_counter, 0);
        }
    }

    #[test]
    fn no_shows_are_replaced_once_their_window_passes() {
        let mut room = open_room();
        let t0 = Utc::now();
        room.advance(10_000, None, &[], t0);
        assert_eq!(room.waves.len(), 1);
        // Within the window nothing has matured.
        assert!(room.matured_waves(t0 + Duration::seconds(10)).is_empty());
        room.advance(10_000, None, &[], t0 + Duration::seconds(10));
        let later = t0 + Duration::seconds(30);
        assert_eq!(room.matured_waves(later), vec![0]);
        // Only 60 of the first 100 came back: 40 extra places this cycle.
        let step = room.advance(10_000, None, &[(0, 60)], later);
        assert_eq!(step.no_shows_settled, 40);
        assert_eq!(step.admitted, 140);
        assert_eq!(room.serving_counter, 340);
        assert_eq!(room.no_show_credit, 0);
        assert_eq!(room.wave_of(150), Some(1));
        assert_eq!(room.wave_of(50), None);
    }

    #[test]
    fn credit_is_dropped_when_the_line_is_empty() {
        let mut room = open_room();
        let t0 = Utc::now();
        room.advance(50, None, &[], t0);
        let step = room.advance(60, None, &[(0, 0)], t0 + Duration::seconds(40));
        assert_eq!(step.admitted, 10);
        assert_eq!(room.no_show_credit, 0);
    }

    #[test]
    fn scheduled_room_phases_and_seal() {
        let now = Utc::now();
        let mut room = open_room();
        room.schedule = Some(Schedule {
            pre_queue_opens_at: now + Duration::seconds(10),
            sale_opens_at: now + Duration::seconds(20),
        });
        assert!(matches!(room.phase(now), Phase::NotYetOpen { .. }));
        assert!(matches!(
            room.phase(now + Duration::seconds(15)),
            Phase::PreQueue { .. }
        ));
        let open = now + Duration::seconds(25);
        assert_eq!(room.phase(open), Phase::Open);
        assert!(room.needs_seal(None, open));
        // Not sealed: no admission and no final places yet.
        assert_eq!(room.advance(10, None, &[], open).admitted, 0);
        assert_eq!(room.position_of(3, None), None);
        let seal = Seal {
            pre_queue_size: 5,
            seed: 9,
        };
        assert!(!room.needs_seal(Some(seal), open));
        let mut places: Vec<u64> = (1..=5)
            .filter_map(|t| room.position_of(t, Some(seal)))
            .collect();
        places.sort_unstable();
        assert_eq!(places, vec![1, 2, 3, 4, 5]);
        assert_eq!(room.position_of(6, Some(seal)), Some(6));
        assert_eq!(room.advance(10, Some(seal), &[], open).admitted, 10);
    }

    #[test]
    fn rate_is_measured_from_full_cycles_only() {
        let mut room = open_room();
        let t0 = Utc::now();
        room.advance(10_000, None, &[], t0);
        assert_eq!(room.rate, None);
        room.advance(10_000, None, &[], t0 + Duration::seconds(10));
        assert_eq!(room.rate, Some(10.0));
        // Limited by an almost empty line: the rate stays.
        room.advance(205, None, &[], t0 + Duration::seconds(20));
        assert_eq!(room.rate, Some(10.0));
    }
}
