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

export async function render(outlet, ctx) {
  if (!requireUser()) return;
  replace(outlet, loading());
  const eventId = ctx.params.id;
  const [event, rules, map, holds] = await Promise.all([
    api.get(`/api/v1/events/${eventId}`),
    api.get(`/api/v1/events/${eventId}/booking`),
    api.get(`/api/v1/seats/events/${eventId}`),
    myPendingHolds(eventId),
  ]);
  if (!ctx.alive) return;

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
  draw(map.layout);

  /** Reloads every seat's status (after a 409 or a stream gap) and drops lost choices. */
  const reload = async () => {
    const fresh = await api.get(`/api/v1/seats/events/${eventId}`);
    if (!ctx.alive) return [];
    const lost = [];
    for (const section of fresh.layout.sections) {
      for (const row of section.rows) {
        for (const seat of row.seats) {
          seatMap.setStatus(seat.id, seat.status);
          if (selected.has(seat.id) && seat.status !== 'available') {
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

  const stream = new EventSource(`/api/v1/seats/events/${eventId}/stream`);
  ctx.onLeave(() => stream.close());
  stream.addEventListener('seat', (e) => {
    const change = JSON.parse(e.data);
    seatMap.setStatus(change.seatId, change.status);
    if (change.status === 'available') mine.delete(change.seatId);
    if (selected.has(change.seatId) && change.status !== 'available' && !holding) {
      selected.delete(change.seatId);
      seatMap.repaint();
      say(t('seats.justTaken', { label: seatMap.seat(change.seatId)?.label ?? '' }), 'warn');
    }
    drawSummary();
  });
  stream.addEventListener('resync', () => reload().catch(() => {}));
  stream.addEventListener('error', () => {
    if (stream.readyState === EventSource.CLOSED) ctx.every(5000, () => reload().catch(() => {}));
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
        const lost = await reload().catch(() => []);
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
