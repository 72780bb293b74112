// Tier 1, the virtual waiting room (docs/architecture.md#tier-1-and-tier-2), as the seed's
// VWR page and modal run it (docs/architecture.md#the-design-urr-rebuilds):
// status → assign (or bypass when the room is off) → poll check at the server's pace →
// on admission keep the Tier-1 token in cookie `urr-vwr-token` and move on. The room
// knows who is calling from the session cookie, and gives each person one place: a
// reload resumes the requestId kept in localStorage, and a 404 on check (the place is
// gone) asks again, which hands back the person's place if the room still has it.
// A room with bot defence (docs/architecture.md#bot-defence-at-tier-1) first hands out a
// challenge: its proof of work is solved in a worker (pow.js) and, when the room asks for
// a CAPTCHA, the page's `captcha` callback supplies a token; both go with the assign.
// Asking again for a place already held needs neither.

import { ApiError, api } from './api.js';
import { solveChallenge } from './pow.js';

const COOKIE = 'urr-vwr-token';
const TOKEN_MAX_AGE = 600;
/** The seed's first poll comes after its default interval; ours soon, then the server's. */
const FIRST_POLL_SECS = 1;

const storageKey = (eventId, userId) => `urr.vwr.${eventId}.${userId}`;

export function savedPlace(eventId, userId) {
  try {
    return JSON.parse(localStorage.getItem(storageKey(eventId, userId)) ?? 'null');
  } catch {
    return null;
  }
}

function keep(eventId, userId, place) {
  localStorage.setItem(storageKey(eventId, userId), JSON.stringify(place));
}

export function forgetPlace(eventId, userId) {
  localStorage.removeItem(storageKey(eventId, userId));
}

function setTokenCookie(token) {
  const secure = window.isSecureContext ? '; Secure' : '';
  document.cookie = `${COOKIE}=${token}; Max-Age=${TOKEN_MAX_AGE}; Path=/; SameSite=Strict${secure}`;
}

/** Seconds the client waits before the next check: the server's hint, kept to 1–60. */
export function clampPoll(seconds) {
  const n = Number(seconds);
  return Number.isFinite(n) ? Math.min(60, Math.max(1, n)) : 5;
}

/**
 * One person's wait in one event's room. `onUpdate(view)` gets every change:
 * {phase: 'starting'|'solving'|'captcha'|'waiting'|'admitted'|'bypass'|'error', position,
 *  servingCounter, ahead, progress (0–1), estimatedWait (s), nextPoll (s), preQueue,
 *  solveMs (the proof of work's time), error}.
 * `captcha({siteKey})` resolves a CAPTCHA token when the room asks for one.
 */
export class WaitingRoom {
  constructor({ eventId, userId, onUpdate, onDone, captcha }) {
    this.eventId = eventId;
    this.userId = userId;
    this.onUpdate = onUpdate;
    this.onDone = onDone;
    this.captcha = captcha;
    this.aborter = new AbortController();
    this.timer = null;
    this.stopped = false;
    this.samples = [];
  }

  async start() {
    this.emit({ phase: 'starting' });
    try {
      const saved = savedPlace(this.eventId, this.userId);
      if (saved?.requestId) {
        this.place = saved;
        return await this.check();
      }
      const status = await api.get(`/vwr-api/vwr/status/${this.eventId}`);
      if (!status.isActive) return this.finish('bypass');
      // Awaited, so a refused join lands in the catch below and is retried.
      return await this.assign(status);
    } catch (err) {
      return this.failed(err);
    }
  }

  stop() {
    this.stopped = true;
    this.aborter.abort();
    clearTimeout(this.timer);
  }

  /** Gives up the place (the person closed the room). */
  abandon() {
    this.stop();
    forgetPlace(this.eventId, this.userId);
  }

  /** What the room asks of a new place: {} without bot defence, else the solved
   * challenge and the CAPTCHA token. */
  async prove(status) {
    if (!status?.powDifficulty && !status?.captcha) return {};
    const issued = await api.get(`/vwr-api/vwr/challenge/${this.eventId}`);
    const proof = {};
    if (issued.difficulty > 0) {
      this.emit({ phase: 'solving', progress: 0 });
      const solved = await solveChallenge(
        issued.challenge,
        issued.difficulty,
        (progress) => this.emit({ phase: 'solving', progress }),
        this.aborter.signal,
      );
      this.solveMs = Math.round(solved.ms);
      proof.challenge = issued.challenge;
      proof.counter = solved.counter;
    }
    if (issued.captcha) {
      this.emit({ phase: 'captcha', progress: 0 });
      if (!this.captcha) throw new ApiError(0, 'captcha_required', 'captcha_required');
      proof.captchaToken = await this.captcha({ siteKey: issued.captchaSiteKey ?? null });
    }
    return proof;
  }

  async assign(status) {
    let reply;
    try {
      const proof = await this.prove(status);
      if (this.stopped) return;
      reply = await api.post(`/vwr-api/vwr/assign/${this.eventId}`, proof);
    } catch (err) {
      if (this.stopped) return;
      if (err instanceof ApiError && err.status === 404) return this.finish('bypass');
      throw err;
    }
    this.place = {
      requestId: reply.requestId,
      position: reply.position,
      startServing: reply.servingCounter,
      estimatedWait: reply.estimatedWait,
      assignedAt: Date.now(),
      preQueue: Boolean(reply.preQueue),
    };
    keep(this.eventId, this.userId, this.place);
    this.show(reply.servingCounter, FIRST_POLL_SECS, this.place.preQueue);
    this.schedule(FIRST_POLL_SECS);
  }

  async check() {
    if (this.stopped) return;
    const { requestId } = this.place;
    let reply;
    try {
      reply = await api.get(`/vwr-api/vwr/check/${this.eventId}/${requestId}`);
    } catch (err) {
      if (this.stopped) return;
      if (err instanceof ApiError && err.status === 404) {
        // The place expired or the room was reset: start over, as the seed's client
        // does (docs/architecture.md#the-design-urr-rebuilds).
        forgetPlace(this.eventId, this.userId);
        this.place = null;
        return this.start();
      }
      this.emit({ ...this.view, phase: 'waiting', error: err });
      return this.schedule(5);
    }
    if (this.stopped) return;
    if (reply.admitted && reply.token) {
      setTokenCookie(reply.token);
      forgetPlace(this.eventId, this.userId);
      return this.finish('admitted', reply);
    }
    if (reply.position !== this.place.position) {
      // A pre-queue's provisional ticket became its shuffled place.
      this.place = { ...this.place, position: reply.position, preQueue: Boolean(reply.preQueue) };
      keep(this.eventId, this.userId, this.place);
    }
    const wait = clampPoll(reply.nextPoll);
    this.show(reply.servingCounter, wait, Boolean(reply.preQueue));
    this.schedule(wait);
  }

  schedule(seconds) {
    clearTimeout(this.timer);
    if (this.stopped) return;
    this.nextAt = Date.now() + seconds * 1000;
    // Without a place yet (status or assign failed) the retry starts over.
    const next = () => (this.place ? this.check() : this.start());
    this.timer = setTimeout(() => next().catch((err) => this.failed(err)), seconds * 1000);
  }

  show(servingCounter, nextPoll, preQueue) {
    const { position, startServing } = this.place;
    const ahead = Math.max(0, position - servingCounter - 1);
    const span = position - startServing;
    const progress = span <= 0 ? 1 : Math.min(1, Math.max(0, (servingCounter - startServing) / span));
    this.emit({
      phase: 'waiting',
      solveMs: this.solveMs,
      position,
      servingCounter,
      ahead,
      progress,
      estimatedWait: this.estimate(servingCounter, ahead),
      nextPoll,
      preQueue,
    });
  }

  /** Seconds left at the pace the counter has moved so far; the assign's guess until then. */
  estimate(servingCounter, ahead) {
    const now = Date.now();
    this.samples.push({ at: now, serving: servingCounter });
    this.samples = this.samples.filter((s) => now - s.at < 120_000);
    const first = this.samples[0];
    const moved = servingCounter - first.serving;
    const secs = (now - first.at) / 1000;
    if (moved > 0 && secs > 0) return ahead / (moved / secs);
    const guess = this.place.estimatedWait;
    if (guess == null) return null;
    return Math.max(0, guess - (now - this.place.assignedAt) / 1000);
  }

  emit(view) {
    this.view = view;
    if (!this.stopped || view.phase === 'admitted' || view.phase === 'bypass') this.onUpdate?.(view);
  }

  finish(phase, reply) {
    this.stop();
    this.emit({ ...(this.view ?? {}), phase, progress: 1, ahead: 0 });
    this.onDone?.(phase, reply);
  }

  failed(err) {
    if (this.stopped) return;
    this.emit({ ...(this.view ?? {}), phase: 'error', error: err });
    // Every attempt counts against a join limit: past one, wait for the window to pass.
    this.schedule(err instanceof ApiError && err.status === 429 ? 20 : 5);
  }
}
