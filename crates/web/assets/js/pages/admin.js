// The operator's start page: every event, with a way in to each and to a new one.

import { api, describe } from '../api.js';
import { requireAdmin } from '../admin-guard.js';
import { h, replace } from '../dom.js';
import { dateTime } from '../format.js';
import { t } from '../i18n.js';
import { badge, loading, notice, pageTitle } from '../ui.js';

export async function render(outlet, ctx) {
  if (!requireAdmin(outlet)) return;
  const list = h('div', {}, loading());
  replace(
    outlet,
    h(
      'div',
      { class: 'page-head' },
      pageTitle(t('admin.title')),
      h('div', { class: 'actions' }, h('a', { class: 'btn', href: '/admin/cluster' }, t('cluster.title')), h('a', { class: 'btn btn--primary', href: '/admin/events/new' }, t('admin.newEvent'))),
    ),
    list,
  );
  try {
    const data = await api.get('/api/v1/events?limit=100');
    if (!ctx.alive) return;
    replace(
      list,
      data.events.length
        ? h(
            'table',
            { class: 'table' },
            h('thead', {}, h('tr', {}, [t('admin.event'), t('events.status'), t('event.saleWindow')].map((c) => h('th', { scope: 'col' }, c)))),
            h(
              'tbody',
              {},
              data.events.map((e) =>
                h('tr', {}, h('td', {}, h('a', { href: `/admin/events/${e.id}` }, e.title)), h('td', {}, badge(e.status)), h('td', {}, dateTime(e.saleStartsAt))),
              ),
            ),
          )
        : notice(t('events.none')),
    );
  } catch (err) {
    replace(list, notice(describe(err), 'error'));
  }
}
