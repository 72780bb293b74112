//! The waiting room's operations over a store: what `status`, `assign` and `check` answer,
//! what operators may change, and one advancer step. HTTP and Lambda are thin layers on
//! top of this.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use urr_auth::{Tier, TokenKeys};
use uuid::Uuid;

use crate::VwrError;
use crate::domain::defence::{Defence, DefenceChange};
use crate::domain::ids::EventId;
use crate::domain::pacing::{estimated_wait_secs, next_poll_secs};
use crate::domain::proof::ChallengeKey;
use crate::domain::room::{Advance, Phase, RoomState, Schedule};
use crate::gate::{BotDefence, ChallengeReply, Gate, JoinProof};
use crate::joiner::Joiner;
use crate::metrics::Joins;
use crate::room_cache::RoomCache;
use crate::store::{Claimed, PositionRecord, RoomRecord, VwrStore};

/// Compare-and-set retries before an operator write gives up on a busy room.
const CAS_ATTEMPTS: usize = 16;

/// Settings a new room starts from, and how joins are stored and batched.
#[derive(Debug, Clone, PartialEq)]
pub struct RoomDefaults {
    pub batch: u64,
    pub interval_secs: u64,
    pub claim_window_secs: u64,
    pub position_ttl: Duration,
    pub max_block: usize,
    pub linger: Duration,
    /// How long a process reuses a room read for status, assign and check. The room item
    /// is read by every call; a short cache keeps it under one item's read limit in a
    /// rush, at the price of seeing the advancer's step that much later.
    pub cache_for: Duration,
}

impl Default for RoomDefaults {
    fn default() -> Self {
        Self {
            batch: 500,
            interval_secs: 10,
            claim_window_secs: 60,
            position_ttl: Duration::from_secs(24 * 3600),
            max_block: 500,
            linger: Duration::ZERO,
            cache_for: Duration::from_millis(500),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    pub is_active: bool,
    pub next_position: u64,
    pub serving_counter: u64,
    /// A new place needs a proof of work this hard (`GET /vwr/challenge/{eventId}`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub pow_difficulty: u8,
    /// A new place needs a CAPTCHA token.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub captcha: bool,
}

fn is_zero(n: &u8) -> bool {
    *n == 0
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Assignment {
    pub request_id: Uuid,
    /// The place in line; for a pre-queue join, its provisional ticket until the shuffle.
    pub position: u64,
    pub estimated_wait: u64,
    pub serving_counter: u64,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pre_queue: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckReply {
    pub admitted: bool,
    pub position: u64,
    pub serving_counter: u64,
    pub next_poll: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pre_queue: bool,
}

/// What an operator sees of a room (never the unpublished seed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoomView {
    pub event_id: String,
    pub is_active: bool,
    pub batch: u64,
    pub interval_secs: u64,
    pub claim_window_secs: u64,
    pub paused: bool,
    pub hold: bool,
    pub schedule: Option<Schedule>,
    pub next_position: u64,
    pub serving_counter: u64,
    pub serving_rate: Option<f64>,
    pub no_shows: u64,
    pub pre_queue_size: Option<u64>,
    pub seed_published: bool,
    pub bot_defence: Defence,
}

/// The published draw of a pre-queue: with these two numbers anyone can recompute every
/// place with [`crate::domain::shuffle::Shuffle`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ShuffleAudit {
    pub pre_queue_size: u64,
    /// A decimal string: the seed is a full 64-bit number, beyond JSON's safe integers.
    pub seed: String,
}

/// An operator's change to a room's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoomChange {
    Open {
        batch: Option<u64>,
        interval_secs: Option<u64>,
        claim_window_secs: Option<u64>,
        defence: DefenceChange,
    },
    Close,
    Pause(bool),
    Hold(bool),
    Schedule(Schedule),
    PublishSeed,
}

#[derive(Clone)]
pub struct WaitingRoom<S> {
    store: S,
    joiner: Joiner<S>,
    keys: TokenKeys,
    defaults: RoomDefaults,
    cache: RoomCache,
    gate: Gate,
    joins: Joins,
}

impl<S: VwrStore> WaitingRoom<S> {
    pub fn new(store: S, keys: TokenKeys, defaults: RoomDefaults) -> Self {
        let joiner = Joiner::new(store.clone(), defaults.max_block, defaults.linger);
        let cache = RoomCache::new(defaults.cache_for);
        let gate = Gate::new(ChallengeKey::derive(&keys), BotDefence::default());
        Self {
            store,
            joiner,
            keys,
            defaults,
            cache,
            gate,
            joins: Joins::default(),
        }
    }

    /// The node's bot-defence settings (CAPTCHA verifier, trusted proxies); without
    /// them, rooms may still ask for a proof of work and set join limits.
    pub fn with_defence(mut self, node: BotDefence) -> Self {
        self.gate = Gate::new(ChallengeKey::derive(&self.keys), node);
        self
    }

    pub fn defence(&self) -> &BotDefence {
        self.gate.node()
    }

    /// The room as read within the cache period; writes through this handle invalidate it.
    async fn cached_room(&self, event: &EventId) -> Result<Option<Arc<RoomRecord>>, VwrError> {
        if let Some(room) = self.cache.get(event) {
            return Ok(Some(room));
        }
        let room = self.store.room(event).await?.map(Arc::new);
        if let Some(room) = &room {
            self.cache.put(event, room.clone());
        }
        Ok(room)
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    pub fn keys(&self) -> &TokenKeys {
        &self.keys
    }

    pub async fn status(&self, event: &EventId) -> Result<Status, VwrError> {
        Ok(match self.cached_room(event).await? {
            Some(room) => Status {
                is_active: room.state.active,
                next_position: room.next_position,
                serving_counter: room.state.serving_counter,
                pow_difficulty: room.state.defence.pow_difficulty,
                captcha: room.state.defence.captcha,
            },
            None => Status {
                is_active: false,
                next_position: 0,
                serving_counter: 0,
                pow_difficulty: 0,
                captcha: false,
            },
        })
    }

    /// A proof-of-work challenge for `user_id` in the room, and whether a join also
    /// needs a CAPTCHA.
    pub async fn challenge(
        &self,
        event: &EventId,
        user_id: &str,
    ) -> Result<ChallengeReply, VwrError> {
        let room = self.cached_room(event).await?.ok_or(VwrError::Inactive)?;
        if !room.state.active {
            return Err(VwrError::Inactive);
        }
        Ok(self
            .gate
            .issue(event, user_id, &room.state.defence, Utc::now()))
    }

    /// [`Self::assign_with`] without a proof or an address: for rooms without bot defence.
    pub async fn assign(&self, event: &EventId, user_id: &str) -> Result<Assignment, VwrError> {
        self.assign_with(event, user_id, &JoinProof::default())
            .await
    }

    /// Gives `user_id` their one place in the room: a new one on the first call, the same
    /// request id and position on every later call (in the pre-queue too), so joining many
    /// times buys no extra draws. Every call counts against the room's join limits; only
    /// a new place needs the proof of work and the CAPTCHA the room asks for (a repeat
    /// gives nothing new, so a reload does not make a person solve again).
    pub async fn assign_with(
        &self,
        event: &EventId,
        user_id: &str,
        proof: &JoinProof,
    ) -> Result<Assignment, VwrError> {
        let now = Utc::now();
        let room = self.cached_room(event).await?.ok_or(VwrError::Inactive)?;
        let room = self.ensure_sealed(event, room, now).await?;
        match room.state.phase(now) {
            Phase::Inactive => return Err(VwrError::Inactive),
            Phase::NotYetOpen { opens_at } => return Err(VwrError::NotOpen(opens_at)),
            Phase::PreQueue { .. } | Phase::Open => {}
        }
        let defence = room.state.defence;
        self.gate
            .limit(&self.store, event, &defence, user_id, proof.address, now)
            .await?;
        // A repeat join is answered with the place held, without the proof a new place
        // needs; so a room that asks for one looks for the place first. Otherwise a store
        // that keeps places as it hands out tickets finds it in the same step.
        let asks_proof = defence.pow_difficulty > 0 || defence.captcha;
        let mut stale = None;
        if asks_proof || !self.store.keeps_places() {
            if let Some(request_id) = self.store.place_of(event, user_id, now).await? {
                match self.store.position(event, request_id, now).await? {
                    Some(record) => return Ok(assignment(&room, &record, now)),
                    // The place points at a join that is gone: it may be replaced.
                    None => stale = Some(request_id),
                }
            }
            self.gate
                .admit(&self.store, event, &defence, user_id, proof, now)
                .await?;
        }
        let expires_at = now + self.defaults.position_ttl;
        let claimed = self
            .joiner
            .join(event, user_id, expires_at)
            .await?
            .ok_or(VwrError::Inactive)?;
        let kept = match claimed {
            Claimed::Placed(record) => {
                self.joins.joined(event);
                return Ok(assignment(&room, &record, now));
            }
            Claimed::Held(request_id) => request_id,
            Claimed::Recorded(record) => {
                let kept = self.store.keep_place(event, &record, stale, now).await?;
                if kept == record.request_id {
                    self.joins.joined(event);
                    return Ok(assignment(&room, &record, now));
                }
                // Another join of this user won the race; this one's ticket stays
                // unclaimed and is settled as a no-show like any other.
                kept
            }
        };
        let held = self
            .store
            .position(event, kept, now)
            .await?
            .ok_or_else(|| VwrError::Conflict("your place is being recorded; retry".into()))?;
        Ok(assignment(&room, &held, now))
    }

    pub async fn check(
        &self,
        event: &EventId,
        request_id: Uuid,
        user_id: &str,
    ) -> Result<CheckReply, VwrError> {
        let now = Utc::now();
        let (record, room) = tokio::try_join!(
            self.store.position(event, request_id, now),
            self.cached_room(event)
        )?;
        let record = record.ok_or(VwrError::NotFound("requestId"))?;
        let room = room.ok_or(VwrError::Inactive)?;
        if record.user_id != user_id {
            return Err(VwrError::Forbidden(
                "this requestId was assigned to another user".into(),
            ));
        }
        if !room.state.active {
            return Err(VwrError::Inactive);
        }
        let room = self.ensure_sealed(event, room, now).await?;
        let serving = room.state.serving_counter;
        let Some(position) = room.state.position_of(record.ticket, room.seal) else {
            let until_open = match room.state.phase(now) {
                Phase::PreQueue { sale_opens_at } => (sale_opens_at - now).num_seconds(),
                _ => 0,
            };
            return Ok(CheckReply {
                admitted: false,
                position: record.ticket,
                serving_counter: serving,
                next_poll: until_open.clamp(2, 15) as u64,
                token: None,
                pre_queue: true,
            });
        };
        let admitted = position <= serving && !room.state.hold;
        let token = if admitted {
            let wave = room.state.wave_of(position);
            // Claim counting steers no-show replacement; a failure here must not cost the
            // user a place they have earned.
            if let Err(err) = self.store.mark_claimed(event, request_id, wave).await {
                tracing::warn!(%event, error = %err, "could not record a claim");
            }
            let (token, _) =
                self.keys
                    .issue_queue(event.as_str(), user_id, Tier::One, Some(position))?;
            Some(token)
        } else {
            None
        };
        Ok(CheckReply {
            admitted,
            position,
            serving_counter: serving,
            next_poll: next_poll_secs(position.saturating_sub(serving)),
            token,
            pre_queue: false,
        })
    }

    pub async fn view(&self, event: &EventId) -> Result<RoomView, VwrError> {
        let room = self
            .store
            .room(event)
            .await?
            .ok_or(VwrError::NotFound("room"))?;
        Ok(view_of(event, &room))
    }

    pub async fn shuffle_audit(&self, event: &EventId) -> Result<ShuffleAudit, VwrError> {
        let room = self.store.room(event).await?;
        match room {
            Some(RoomRecord {
                seal: Some(seal),
                state,
                ..
            }) if state.seed_published => Ok(ShuffleAudit {
                pre_queue_size: seal.pre_queue_size,
                seed: seal.seed.to_string(),
            }),
            _ => Err(VwrError::NotFound("published shuffle seed")),
        }
    }

    /// Applies an operator's change by compare-and-set, creating the room when the change
    /// opens or schedules it.
    pub async fn change(&self, event: &EventId, change: RoomChange) -> Result<RoomView, VwrError> {
        validate(&change)?;
        if let RoomChange::Open { defence, .. } = change
            && defence.captcha == Some(true)
            && self.gate.node().captcha.is_none()
        {
            return Err(VwrError::invalid(
                "captcha needs a CAPTCHA verifier on this node (--vwr-captcha-verify-url)",
            ));
        }
        for _ in 0..CAS_ATTEMPTS {
            let now = Utc::now();
            let existing = self.store.room(event).await?;
            let creates = matches!(change, RoomChange::Open { .. } | RoomChange::Schedule(_));
            let (mut state, expected, room) = match existing {
                Some(room) => (room.state.clone(), Some(room.version), Some(room)),
                None if creates => (
                    RoomState::new(
                        self.defaults.batch,
                        self.defaults.interval_secs,
                        self.defaults.claim_window_secs,
                    ),
                    None,
                    None,
                ),
                None => return Err(VwrError::NotFound("room")),
            };
            apply(&mut state, room.as_ref(), change, now)?;
            if self.store.save_room(event, &state, expected).await? {
                self.cache.forget(event);
                return self.view(event).await;
            }
        }
        Err(VwrError::Conflict(
            "the room is changing too fast; retry".into(),
        ))
    }

    /// One advancer step for one room, when its interval has come round.
    pub async fn advance(&self, event: &EventId, now: DateTime<Utc>) -> Result<Advance, VwrError> {
        for _ in 0..3 {
            let room = self
                .store
                .room(event)
                .await?
                .ok_or(VwrError::NotFound("room"))?;
            if !room.state.is_due(now) {
                return Ok(Advance::default());
            }
            let room = self.ensure_sealed(event, Arc::new(room), now).await?;
            let matured = room.state.matured_waves(now);
            let claims = self.store.wave_claims(event, &matured).await?;
            let mut state = room.state.clone();
            let step = state.advance(room.next_position, room.seal, &claims, now);
            if state == room.state
                || self
                    .store
                    .save_room(event, &state, Some(room.version))
                    .await?
            {
                self.cache.forget(event);
                crate::metrics::standing(event, &state, room.next_position, state.phase(now));
                return Ok(step);
            }
        }
        Err(VwrError::Conflict(
            "room changed during every advance attempt".into(),
        ))
    }

    /// Every room the store knows, for the advancer.
    pub async fn rooms(&self) -> Result<Vec<EventId>, VwrError> {
        self.store.rooms().await
    }

    /// Seals a scheduled room's pre-queue once its sale has opened; whoever comes first
    /// (a join, a check, the advancer) does it, and everyone re-reads the result.
    async fn ensure_sealed(
        &self,
        event: &EventId,
        room: Arc<RoomRecord>,
        now: DateTime<Utc>,
    ) -> Result<Arc<RoomRecord>, VwrError> {
        if !room.state.needs_seal(room.seal, now) {
            return Ok(room);
        }
        let seed = rand::random::<u64>();
        if self.store.seal(event, seed, room.version).await? {
            tracing::info!(%event, "pre-queue sealed and shuffled");
        }
        let sealed = Arc::new(
            self.store
                .room(event)
                .await?
                .ok_or(VwrError::NotFound("room"))?,
        );
        self.cache.put(event, sealed.clone());
        Ok(sealed)
    }
}

/// What assign answers for a join: its place (shuffled once the pre-queue is sealed) and
/// the wait from here.
fn assignment(room: &RoomRecord, record: &PositionRecord, now: DateTime<Utc>) -> Assignment {
    let state = &room.state;
    let serving = state.serving_counter;
    let wait =
        |ahead: u64| estimated_wait_secs(ahead, state.rate, state.batch, state.interval_secs);
    let (position, pre_queue, estimated_wait) = match state.position_of(record.ticket, room.seal) {
        Some(p) => (p, false, wait(p.saturating_sub(serving))),
        None => {
            let until_open = match state.phase(now) {
                Phase::PreQueue { sale_opens_at } => {
                    (sale_opens_at - now).num_seconds().max(0) as u64
                }
                _ => 0,
            };
            (record.ticket, true, until_open + wait(record.ticket))
        }
    };
    Assignment {
        request_id: record.request_id,
        position,
        estimated_wait,
        serving_counter: serving,
        pre_queue,
    }
}

fn validate(change: &RoomChange) -> Result<(), VwrError> {
    if let RoomChange::Open {
        batch,
        interval_secs,
        claim_window_secs,
        defence,
    } = change
    {
        defence.validate().map_err(VwrError::invalid)?;
        if batch.is_some_and(|b| !(1..=1_000_000).contains(&b)) {
            return Err(VwrError::invalid("batch must be between 1 and 1000000"));
        }
        if interval_secs.is_some_and(|i| !(1..=3_600).contains(&i)) {
            return Err(VwrError::invalid("intervalSecs must be between 1 and 3600"));
        }
        if claim_window_secs.is_some_and(|w| !(1..=86_400).contains(&w)) {
            return Err(VwrError::invalid(
                "claimWindowSecs must be between 1 and 86400",
            ));
        }
    }
    if let RoomChange::Schedule(s) = change
        && s.pre_queue_opens_at >= s.sale_opens_at
    {
        return Err(VwrError::invalid(
            "preQueueOpensAt must be before saleOpensAt",
        ));
    }
    Ok(())
}

fn apply(
    state: &mut RoomState,
    room: Option<&RoomRecord>,
    change: RoomChange,
    now: DateTime<Utc>,
) -> Result<(), VwrError> {
    match change {
        RoomChange::Open {
            batch,
            interval_secs,
            claim_window_secs,
            defence,
        } => {
            state.active = true;
            defence.apply(&mut state.defence);
            state.batch = batch.unwrap_or(state.batch);
            state.interval_secs = interval_secs.unwrap_or(state.interval_secs);
            state.claim_window_secs = claim_window_secs.unwrap_or(state.claim_window_secs);
        }
        RoomChange::Close => state.active = false,
        RoomChange::Pause(paused) => state.paused = paused,
        RoomChange::Hold(hold) => state.hold = hold,
        RoomChange::Schedule(schedule) => {
            // Shuffling people who joined first-come-first-served would break their
            // promise; a schedule only goes on a room nobody has joined yet.
            if room.is_some_and(|r| r.next_position > 0 || r.seal.is_some()) {
                return Err(VwrError::Conflict(
                    "a pre-queue can only be scheduled before anyone has joined".into(),
                ));
            }
            state.schedule = Some(schedule);
            state.active = true;
        }
        RoomChange::PublishSeed => {
            let sealed = room.is_some_and(|r| r.seal.is_some());
            if !sealed || state.phase(now) != Phase::Open {
                return Err(VwrError::Conflict(
                    "the seed is published only after the sale has opened".into(),
                ));
            }
            state.seed_published = true;
        }
    }
    Ok(())
}

fn view_of(event: &EventId, room: &RoomRecord) -> RoomView {
    let s = &room.state;
    RoomView {
        event_id: event.to_string(),
        is_active: s.active,
        batch: s.batch,
        interval_secs: s.interval_secs,
        claim_window_secs: s.claim_window_secs,
        paused: s.paused,
        hold: s.hold,
        schedule: s.schedule,
        next_position: room.next_position,
        serving_counter: s.serving_counter,
        serving_rate: s.rate,
        no_shows: s.no_shows,
        pre_queue_size: room.seal.map(|seal| seal.pre_queue_size),
        seed_published: s.seed_published,
        bot_defence: s.defence,
    }
}
