// Tier 2, the queue (docs/architecture.md#tier-1-and-tier-2): check in, then follow the position over the server-sent
// stream, falling back to polling at the server's pace when the stream fails; heartbeat
// while waiting so the place is kept; the entry token arrives on admission.

import { api } from './api.js';
import { clampPoll } from './waiting-room.js';

const HEARTBEAT_SECS = 20;
const ENTRY_KEY = (eventId) => `urr.entry.${eventId}`;

/** The entry token of an event, for the `x-queue-entry-token` header of seat calls. */
export function entryToken(eventId) {
  return sessionStorage.getItem(ENTRY_KEY(eventId));
}

export function entryHeaders(eventId) {
  const token = entryToken(eventId);
  return token ? { 'x-queue-entry-token': token } : {};
}

/**
 * `onUpdate(reply, mode)` for every position (mode 'live' or 'polling'); `onAdmitted()`
 * once; `onLeft()` when the server no longer has the place.
 */
export class Queue {
  constructor({ eventId, onUpdate, onAdmitted, onLeft, onError }) {
    Object.assign(this, { eventId, onUpdate, onAdmitted, onLeft, onError });
    this.stopped = false;
    this.timers = [];
  }

  async join() {
    const reply = await api.post(`/api/v1/queue/check/${this.eventId}`, {});
    this.handle(reply, 'live');
    if (reply.status === 'queued' && !this.stopped) {
      this.listen();
      this.timers.push(setInterval(() => this.heartbeat(), HEARTBEAT_SECS * 1000));
    }
    return reply;
  }

  handle(reply, mode) {
    if (this.stopped) return;
    if (reply.status === 'active') {
      this.admitted(reply.entryToken);
    } else if (reply.status === 'queued') {
      this.last = reply;
      this.onUpdate?.(reply, mode);
    } else {
      this.stop();
      this.onLeft?.();
    }
  }

  listen() {
    const source = new EventSource(`/api/v1/queue/stream/${this.eventId}`);
    this.source = source;
    const data = (e) => JSON.parse(e.data);
    source.addEventListener('position', (e) => this.handle(data(e), 'live'));
    source.addEventListener('sold_out', (e) => this.handle(data(e), 'live'));
    source.addEventListener('admitted', (e) => this.handle(data(e), 'live'));
    source.addEventListener('left', () => this.handle({ status: 'none' }, 'live'));
    source.addEventListener('error', () => {
      // The browser retries a dropped stream by itself; a refused one (401, 404) stays
      // closed, and then we poll.
      if (source.readyState === EventSource.CLOSED && !this.stopped) this.poll();
    });
  }

  poll() {
    this.source?.close();
    this.source = null;
    const wait = clampPoll(this.last?.nextPoll);
    if (this.last) this.onUpdate?.(this.last, 'polling');
    const id = setTimeout(async () => {
      try {
        this.handle(await api.get(`/api/v1/queue/status/${this.eventId}`), 'polling');
      } catch (err) {
        this.onError?.(err);
      }
      if (!this.stopped) this.poll();
    }, wait * 1000);
    this.timers.push(id);
  }

  async heartbeat() {
    try {
      this.handle(await api.post(`/api/v1/queue/heartbeat/${this.eventId}`, {}), this.source ? 'live' : 'polling');
    } catch (err) {
      this.onError?.(err);
    }
  }

  async admitted(token) {
    if (this.done) return;
    this.done = true;
    this.stop();
    if (token) sessionStorage.setItem(ENTRY_KEY(this.eventId), token);
    // The stream carries the token in its body only; a status call sets the HttpOnly
    // entry cookie as well.
    try {
      await api.get(`/api/v1/queue/status/${this.eventId}`);
    } catch {
      // The header copy above still lets the seat calls through.
    }
    this.onAdmitted?.();
  }

  async leave() {
    this.stop();
    await api.post(`/api/v1/queue/leave/${this.eventId}`, {});
  }

  stop() {
    this.stopped = true;
    this.source?.close();
    for (const id of this.timers) {
      clearInterval(id);
      clearTimeout(id);
    }
    this.timers = [];
  }
}
