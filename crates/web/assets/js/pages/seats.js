// The live seat map: choose up to the event's limit, hold them, pay. Other people's holds
// and sales arrive over the seat stream and repaint the map as they happen.

import { api, describe } from '../api.js';
import { h, replace } from '../dom.js';
import { countdown, money } from '../format.js';
import { t } from '../i18n.js';
import { navigate } from '../router.js';
import { entryHeaders } from '../queue-client.js';
import { createSeatMap } from '../seatmap.js';
import { loading, notice, pageTitle, requireUser, toast } from '../ui.js';

const LEGEND = ['available', 'selected', 'held', 'sold', 'mine'];

function legend() {
  return h(
    'ul',
    { class: 'legend', 'aria-label': t('seatmap.legend') },
    LEGEND.map((state) => h('li', {}, h('span', { class: `swatch swatch--${state}`, 'aria-hidden': 'true' }), t(`seatmap.state.${state}`))),
  );
}

async function myPendingHolds(eventId) {
  const mine = await api.get('/api/v1/reservations/my?limit=50');
  return mine.reservations.filter((r) => r.eventId === eventId && r.status === 'pending' && new Date(r.expiresAt) > new Date());
}

const STATUS_OF = { a: 'available', l: 'locked', r: 'reserved' };

/**
 * The compact seat map (docs/architecture.md#seat-map-on-the-wire): the layout, which
 * the browser keeps by its ETag, and the live state, one character per seat in layout
 * order, with its version. Returns the layout with each seat's status filled in.
 */
function withStatuses(layout, state) {
  let i = 0;
  for (const section of layout.sections) {
    for (const row of section.rows) {
      for (const seat of row.seats) {
        seat.status = STATUS_OF[state.seats[i]] ?? 'reserved';
        i += 1;
      }
    }
  }
  return layout;
}

export async function render(outlet, ctx) {
  if (!requireUser()) return;
  replace(outlet, loading());
  const eventId = ctx.params.id;
  const stateUrl = `/api/v1/seats/events/${eventId}/state`;
  const [event, rules, layout, state, holds] = await Promise.all([
    api.get(`/api/v1/events/${eventId}`),
    api.get(`/api/v1/events/${eventId}/booking`),
    api.get(`/api/v1/seats/events/${eventId}/layout`),
    api.get(stateUrl),
    myPendingHolds(eventId),
  ]);
  if (!ctx.alive) return;
  // The version of what the map shows: the stream's changes apply on top of it in order.
  let version = { actor: state.actor, seq: state.seq };

  const limit = rules.maxSeatsPerHold;
  const selected = new Set();
  const mine = new Set(holds.flatMap((r) => r.seats.map((s) => s.seatId).filter(Boolean)));
  const message = h('div', { class: 'seat-message', 'aria-live': 'assertive', 'data-testid': 'seat-message' });
  const summary = h('div', { class: 'selection', 'data-testid': 'selection' });
  const holdButton = h('button', { type: 'button', class: 'btn btn--primary btn--large', 'data-testid': 'hold', disabled: true }, t('seats.hold'));
  const counts = h('p', { class: 'muted', 'data-testid': 'seat-counts' });
  const mapBox = h('div', { class: 'seatmap-scroll' });

  let seatMap;
  // While our own hold is in flight its seats turn "held" on the stream: not someone else's.
  let holding = false;
  const say = (text, kind = 'error') => replace(message, text ? notice(text, kind) : null);

  const drawSummary = () => {
    const chosen = [...selected].map((id) => seatMap.seat(id)).filter(Boolean);
    const total = chosen.reduce((sum, seat) => sum + seat.price, 0);
    replace(
      summary,
      h('h2', {}, t('seats.chosen', { n: chosen.length, limit })),
      chosen.length
        ? h('ul', { class: 'chips' }, chosen.map((seat) => h('li', { class: 'chip' }, seat.label)))
        : h('p', { class: 'muted' }, t('seats.pickHint')),
      h('p', { class: 'total' }, t('seats.total'), ' ', h('strong', {}, money(total))),
    );
    holdButton.disabled = chosen.length === 0;
    const c = seatMap.counts();
    counts.textContent = t('seats.counts', c);
  };

  const toggle = (seat) => {
    say(null);
    if (selected.has(seat.id)) selected.delete(seat.id);
    else if (selected.size >= limit) {
      toast(t('seats.limit', { limit }), 'warn');
      return;
    } else selected.add(seat.id);
    seatMap.repaint();
    drawSummary();
  };

  const draw = (layout) => {
    seatMap = createSeatMap({ layout, isMine: (id) => mine.has(id), isSelected: (id) => selected.has(id), onToggle: toggle });
    replace(mapBox, seatMap.el);
    drawSummary();
  };
  draw(withStatuses(layout, state));

  /**
   * Reads the live state again (after a 409 or a gap in the stream; unchanged, it is a
   * 304 the browser answers from its cache) and drops choices that were lost.
   */
  const reload = async () => {
    const fresh = await api.get(stateUrl);
    if (!ctx.alive) return [];
    version = { actor: fresh.actor, seq: fresh.seq };
    const lost = [];
    let i = 0;
    for (const section of layout.sections) {
      for (const row of section.rows) {
        for (const seat of row.seats) {
          const status = STATUS_OF[fresh.seats[i]] ?? 'reserved';
          i += 1;
          seatMap.setStatus(seat.id, status);
          if (selected.has(seat.id) && status !== 'available') {
            selected.delete(seat.id);
            lost.push(seat.label);
          }
        }
      }
    }
    seatMap.repaint();
    drawSummary();
    return lost;
  };

  // Changes that arrive while the state is read again wait here, then apply on top of it.
  let pending = null;
  /** Reads the state again, once at a time; the lost choices' labels. */
  const resync = async () => {
    if (pending) return [];
    pending = [];
    try {
      return await reload();
    } finally {
      const queued = pending;
      pending = null;
      queued.forEach(onChange);
    }
  };

  function onChange(change) {
    if (pending) {
      pending.push(change);
      return;
    }
    // Already in what the map shows; or a gap, or another actor: read the state again.
    if (change.actor === version.actor && change.seq <= version.seq) return;
    if (change.actor !== version.actor || change.seq !== version.seq + 1) {
      resync().catch(() => {});
      pending?.push(change);
      return;
    }
    version.seq = change.seq;
    seatMap.setStatus(change.seatId, change.status);
    if (change.status === 'available') mine.delete(change.seatId);
    if (selected.has(change.seatId) && change.status !== 'available' && !holding) {
      selected.delete(change.seatId);
      seatMap.repaint();
      say(t('seats.justTaken', { label: seatMap.seat(change.seatId)?.label ?? '' }), 'warn');
    }
    drawSummary();
  }

  const stream = new EventSource(`/api/v1/seats/events/${eventId}/stream`);
  ctx.onLeave(() => stream.close());
  stream.addEventListener('seat', (e) => onChange(JSON.parse(e.data)));
  stream.addEventListener('resync', () => resync().catch(() => {}));
  stream.addEventListener('error', () => {
    if (stream.readyState === EventSource.CLOSED) ctx.every(5000, () => resync().catch(() => {}));
  });

  if (rules.queueEnabled) {
    // Keeps the admitted place while the person chooses.
    ctx.every(30_000, () => api.post(`/api/v1/queue/heartbeat/${eventId}`, {}).catch(() => {}));
  }

  holdButton.addEventListener('click', async () => {
    holdButton.disabled = true;
    holding = true;
    say(null);
    try {
      const held = await api.post(
        '/api/v1/seats/reserve',
        { eventId, seatIds: [...selected], idempotencyKey: crypto.randomUUID() },
        { headers: entryHeaders(eventId) },
      );
      navigate(`/payment/${held.reservationId}`);
    } catch (err) {
      holding = false;
      if (!ctx.alive) return;
      if (err.status === 409 && ['seats_taken', 'conflict'].includes(err.code)) {
        const lost = await resync().catch(() => []);
        say(t('seats.taken', { labels: lost.join(', ') || '—' }));
      } else if (err.code === 'entry_token_required' || (err.status === 403 && rules.queueEnabled)) {
        replace(message, notice(t('seats.needQueue'), 'error'), h('a', { class: 'btn', href: `/queue/${eventId}` }, t('seats.toQueue')));
      } else {
        say(describe(err));
      }
      drawSummary();
    }
  });

  const holdBanner = holds.length
    ? notice(
        h(
          'span',
          {},
          t('seats.youHold', { labels: holds.flatMap((r) => r.seats.map((s) => s.label)).join(', ') }),
          ' ',
          h('a', { href: `/payment/${holds[0].reservationId}` }, t('seats.continuePayment')),
          ' ',
          h('span', { class: 'countdown', 'data-testid': 'hold-left' }, countdown(holds[0].expiresAt) ?? ''),
        ),
        'info',
      )
    : null;

  replace(
    outlet,
    pageTitle(event.title),
    h('p', { class: 'muted', id: 'seatmap-help' }, t('seats.help', { limit })),
    holdBanner,
    h(
      'div',
      { class: 'seats-layout' },
      h('div', { class: 'card seatmap-card' }, legend(), mapBox, counts),
      h('aside', { class: 'card selection-card' }, summary, message, holdButton),
    ),
  );
}
