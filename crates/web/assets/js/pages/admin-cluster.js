// The cluster as an operator sees it: the members (address, last heartbeat, counters)
// and which node owns which event at which epoch, refreshed every few seconds.

import { api, describe } from '../api.js';
import { requireAdmin } from '../admin-guard.js';
import { h, replace } from '../dom.js';
import { dateTime, number } from '../format.js';
import { t } from '../i18n.js';
import { loading, notice, pageTitle } from '../ui.js';

const COUNTERS = ['acquisitions', 'releases', 'handoffs', 'refusedWrites', 'failovers'];

function table(columns, rows) {
  return h(
    'table',
    { class: 'table' },
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, rows),
  );
}

function membersTable(view) {
  const rows = view.members.map((m) =>
    h(
      'tr',
      { 'data-node': m.nodeId },
      h('td', {}, m.nodeId, m.nodeId === view.nodeId ? h('span', { class: 'muted' }, ` (${t('cluster.thisNode')})`) : null),
      h('td', {}, m.url),
      h('td', {}, t('cluster.ago', { s: (m.heartbeatAgeMs / 1000).toFixed(1) })),
      h('td', {}, h('span', { class: `badge badge--${m.live ? 'ok' : 'bad'}` }, t(m.live ? 'cluster.live' : 'cluster.gone'))),
      h('td', {}, number(m.eventsOwned)),
      COUNTERS.map((c) => h('td', {}, number(m.counters[c]))),
    ),
  );
  return table([t('cluster.node'), t('cluster.url'), t('cluster.heartbeat'), t('cluster.state'), t('cluster.events'), ...COUNTERS.map((c) => t(`cluster.c.${c}`))], rows);
}

function lease(e) {
  if (!e.leaseHolder) return h('span', { class: 'badge badge--muted' }, t(e.releasedAt ? 'cluster.released' : 'cluster.lapsed'));
  if (e.leaseHolder === e.nodeId && e.leaseEpoch === e.epoch) return h('span', { class: 'badge badge--ok' }, t('cluster.held'));
  return h('span', { class: 'badge badge--warn' }, `${e.leaseHolder} @ ${e.leaseEpoch}`);
}

function eventsTable(view) {
  const rows = view.events.map((e) =>
    h(
      'tr',
      { 'data-event': e.eventId },
      h('td', {}, h('a', { href: `/admin/events/${e.eventId}` }, e.title)),
      h('td', {}, e.nodeId),
      h('td', {}, number(e.epoch)),
      h('td', {}, lease(e)),
      h('td', {}, dateTime(e.acquiredAt)),
    ),
  );
  return table([t('admin.event'), t('cluster.owner'), t('cluster.epoch'), t('cluster.lease'), t('cluster.acquired')], rows);
}

export async function render(outlet, ctx) {
  if (!requireAdmin(outlet)) return;
  const body = h('div', { class: 'stack', 'data-testid': 'cluster' }, loading());
  replace(outlet, h('div', { class: 'page-head' }, pageTitle(t('cluster.title'))), body);
  const refresh = async () => {
    let view;
    try {
      view = await api.get('/api/v1/admin/cluster');
    } catch (err) {
      replace(body, notice(describe(err), 'error'));
      return;
    }
    if (!ctx.alive) return;
    const live = view.members.filter((m) => m.live).length;
    replace(
      body,
      h('section', { class: 'card stack' }, h('h2', {}, t('cluster.members', { live, all: view.members.length })), membersTable(view)),
      h(
        'section',
        { class: 'card stack' },
        h('h2', {}, t('cluster.ownership')),
        h('p', { class: 'muted' }, t('cluster.liveEvents', { n: number(view.liveEvents) })),
        view.events.length ? eventsTable(view) : notice(t('cluster.noEvents')),
      ),
    );
  };
  await refresh();
  ctx.every(3000, refresh);
}
