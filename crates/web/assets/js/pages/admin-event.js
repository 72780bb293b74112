// Running one event's on-sale: its status, its queue settings, its Tier-1 room (open,
// close, pause, resume) and a live watch of the queue (waiting, active, admitted/min).

import { ApiError, api, bearer, describe } from '../api.js';
import { requireAdmin } from '../admin-guard.js';
import { doorCard, staffCard } from './admin-door.js';
import { h, replace } from '../dom.js';
import { number } from '../format.js';
import { t } from '../i18n.js';
import { invitationsCard } from './admin-invitations.js';
import { sparkline } from '../sparkline.js';
import { badge, field, loading, notice, option, pageTitle, toast } from '../ui.js';

const STATUSES = ['upcoming', 'on_sale', 'sold_out', 'ended', 'cancelled'];
const SETTINGS = [
  ['threshold', 1],
  ['batch', 1],
  ['tickMs', 10],
  ['activeTtlSecs', 1],
  ['queueTtlSecs', 1],
  ['holdTtlSecs', 1],
  ['maxSeatsPerHold', 1],
];

/** Tier-1 operator calls take only a bearer token. */
async function roomCall(eventId, action, body) {
  const token = await bearer();
  if (!token) throw new ApiError(401, 'unauthorized', t('error.unauthorized'));
  const opts = { headers: { authorization: `Bearer ${token}` }, retry: false };
  const path = `/vwr-api/vwr/admin/rooms/${eventId}${action ? `/${action}` : ''}`;
  return action ? api.post(path, body ?? {}, opts) : api.get(path, opts);
}

function statusCard(event, onChange) {
  const select = field(t('events.status'), {
    tag: 'select',
    name: 'status',
    options: STATUSES.map((s) => option(s, t(`status.${s}`), s === event.status)),
  });
  return h(
    'form',
    {
      class: 'card stack',
      onsubmit: async (e) => {
        e.preventDefault();
        try {
          const updated = await api.patch(`/api/v1/admin/events/${event.id}/status`, { status: select.input.value });
          toast(t('admin.saved'), 'ok');
          onChange(updated);
        } catch (err) {
          toast(describe(err), 'error');
        }
      },
    },
    h('h2', {}, t('admin.statusTitle')),
    select,
    h('button', { type: 'submit', class: 'btn' }, t('admin.save')),
  );
}

function settingsCard(eventId, settings) {
  const enabled = h('input', { type: 'checkbox', id: 'q-enabled', checked: settings.enabled });
  const fields = SETTINGS.map(([name, min]) => field(t(`admin.q.${name}`), { type: 'number', name, min: String(min), value: String(settings[name]) }));
  return h(
    'form',
    {
      class: 'card stack',
      'data-testid': 'queue-settings',
      onsubmit: async (e) => {
        e.preventDefault();
        const body = { enabled: enabled.checked };
        SETTINGS.forEach(([name], i) => {
          body[name] = Number(fields[i].input.value);
        });
        try {
          await api.put(`/api/v1/admin/events/${eventId}/queue`, body);
          toast(t('admin.saved'), 'ok');
        } catch (err) {
          toast(describe(err), 'error');
        }
      },
    },
    h('h2', {}, t('admin.queueTitle')),
    h('label', { class: 'check', for: 'q-enabled' }, enabled, ' ', t('admin.q.enabled')),
    h('div', { class: 'form-grid form-grid--small' }, fields),
    h('button', { type: 'submit', class: 'btn' }, t('admin.save')),
  );
}

function roomCard(eventId) {
  const state = h('div', { 'data-testid': 'room-state' }, loading());
  const batch = field(t('admin.room.batch'), { type: 'number', name: 'batch', min: '1', value: '100' });
  const interval = field(t('admin.room.interval'), { type: 'number', name: 'intervalSecs', min: '1', value: '10' });
  // Bot defence (docs/architecture.md#bot-defence-at-tier-1): sent with Open, which also
  // changes an open room; filled from the room's own settings when it is read.
  const pow = field(t('admin.room.pow'), { type: 'number', name: 'powDifficulty', min: '0', max: '28', value: '0' });
  const perAddress = field(t('admin.room.perAddress'), { type: 'number', name: 'joinsPerAddressPerMin', min: '0', value: '0' });
  const perAccount = field(t('admin.room.perAccount'), { type: 'number', name: 'joinsPerAccountPerMin', min: '0', value: '0' });
  const captcha = h('input', { type: 'checkbox', id: `captcha-${eventId}`, name: 'captcha' });
  let filled = false;
  const fill = (defence) => {
    if (filled || !defence) return;
    filled = true;
    pow.input.value = String(defence.powDifficulty ?? 0);
    perAddress.input.value = String(defence.joinsPerAddressPerMin ?? 0);
    perAccount.input.value = String(defence.joinsPerAccountPerMin ?? 0);
    captcha.checked = Boolean(defence.captcha);
  };
  const show = (room) => {
    fill(room.botDefence);
    const stateKey = !room.isActive ? 'closed' : room.paused ? 'paused' : 'open';
    replace(
      state,
      h('p', {}, h('span', { class: `badge badge--${stateKey === 'open' ? 'ok' : stateKey === 'paused' ? 'warn' : 'muted'}`, 'data-testid': 'room-badge' }, t(`admin.room.state.${stateKey}`))),
      h(
        'dl',
        { class: 'facts facts--compact' },
        h('dt', {}, t('admin.room.next')),
        h('dd', {}, number(room.nextPosition)),
        h('dt', {}, t('admin.room.serving')),
        h('dd', {}, number(room.servingCounter)),
        room.isActive && [
          h('dt', {}, t('admin.room.pace')),
          h('dd', {}, t('admin.room.paceValue', { batch: room.batch, secs: room.intervalSecs })),
        ],
      ),
    );
  };
  const run = async (action, body) => {
    try {
      show(await roomCall(eventId, action, body));
      if (action) toast(t('admin.saved'), 'ok');
    } catch (err) {
      // A room that was never opened does not exist yet: it is simply closed.
      if (!action && err.status === 404) show({ isActive: false, nextPosition: 0, servingCounter: 0, batch: '—', intervalSecs: '—' });
      else replace(state, notice(describe(err), 'error'));
    }
  };
  const button = (action, label, body) =>
    h('button', { type: 'button', class: 'btn btn--small', 'data-action': action, onclick: () => run(action, body?.()) }, label);
  run(null);
  return {
    refresh: () => run(null),
    el: h(
      'section',
      { class: 'card stack', 'data-testid': 'room' },
      h('h2', {}, t('admin.room.title')),
      state,
      h('div', { class: 'form-grid form-grid--small' }, batch, interval, pow, perAddress, perAccount),
      h('label', { class: 'check', for: `captcha-${eventId}` }, captcha, ' ', t('admin.room.captcha')),
      h(
        'div',
        { class: 'actions' },
        button('open', t('admin.room.open'), () => ({
          batch: Number(batch.input.value),
          intervalSecs: Number(interval.input.value),
          powDifficulty: Number(pow.input.value),
          joinsPerAddressPerMin: Number(perAddress.input.value),
          joinsPerAccountPerMin: Number(perAccount.input.value),
          captcha: captcha.checked,
        })),
        button('pause', t('admin.room.pause')),
        button('resume', t('admin.room.resume')),
        button('close', t('admin.room.close')),
      ),
    ),
  };
}

function watchCard(ctx, eventId) {
  const figures = h('div', { class: 'stats', 'data-testid': 'queue-watch' });
  const chart = h('div', { class: 'chart' });
  const seats = h('p', { class: 'muted', 'data-testid': 'watch-seats' });
  // The last 2 minutes, one sample per refresh: people waiting and shopping, and the
  // seats sold in each interval (the sales rate).
  const history = { waiting: [], active: [], sold: [] };
  let lastSold = null;
  const keep = (series, value) => {
    series.push(value);
    if (series.length > 60) series.shift();
  };
  const chartOf = (values, label, id) =>
    h('figure', { class: 'chart__item', 'data-testid': id }, sparkline(values, { label }), h('figcaption', { class: 'muted' }, label));
  const stat = (label, value, id) => h('div', { class: 'stat' }, h('span', { class: 'stat__label' }, label), h('strong', { class: 'stat__value', 'data-testid': id }, value));
  const refresh = async () => {
    let o;
    try {
      o = await api.get(`/api/v1/admin/events/${eventId}/queue`);
    } catch (err) {
      replace(figures, notice(describe(err), 'error'));
      return;
    }
    if (!ctx.alive) return;
    const perMinute = Math.round((o.admittedPerSecond ?? 0) * 60);
    keep(history.waiting, o.waiting);
    keep(history.active, o.active);
    keep(history.sold, lastSold === null ? 0 : Math.max(0, o.seats.sold - lastSold));
    lastSold = o.seats.sold;
    replace(
      figures,
      stat(t('admin.watch.waiting'), number(o.waiting), 'watch-waiting'),
      stat(t('admin.watch.active'), number(o.active), 'watch-active'),
      stat(t('admin.watch.perMinute'), number(perMinute), 'watch-per-minute'),
      stat(t('admin.watch.admitted'), number(o.totalAdmitted), 'watch-admitted'),
    );
    seats.textContent = `${t('admin.watch.seats')}: ${t('admin.watch.seatsValue', o.seats)}`;
    replace(
      chart,
      chartOf(history.waiting, t('admin.watch.chart'), 'chart-waiting'),
      chartOf(history.active, t('admin.watch.chartActive'), 'chart-active'),
      chartOf(history.sold, t('admin.watch.chartSold'), 'chart-sold'),
    );
  };
  refresh();
  ctx.every(2000, refresh);
  return h('section', { class: 'card stack' }, h('h2', {}, t('admin.watch.title')), figures, seats, chart);
}

export async function render(outlet, ctx) {
  if (!requireAdmin(outlet)) return;
  replace(outlet, loading());
  const id = ctx.params.id;
  const [event, overview] = await Promise.all([api.get(`/api/v1/events/${id}`), api.get(`/api/v1/admin/events/${id}/queue`)]);
  if (!ctx.alive) return;
  const head = h('div', { class: 'page-head' });
  const drawHead = (e) =>
    replace(head, h('div', {}, badge(e.status), pageTitle(e.title)), h('a', { class: 'btn', href: `/events/${e.id}` }, t('admin.publicPage')));
  drawHead(event);
  const room = roomCard(id);
  ctx.every(3000, room.refresh);
  replace(
    outlet,
    head,
    h('div', { class: 'admin-grid' }, watchCard(ctx, id), room.el, statusCard(event, drawHead), settingsCard(id, overview.settings), doorCard(ctx, id), staffCard()),
    invitationsCard(ctx, id),
  );
}
