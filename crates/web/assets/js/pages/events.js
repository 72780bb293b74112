// The event list: search, status filter, pages, price ranges and sale countdowns.

import { api, describe } from '../api.js';
import { h, replace } from '../dom.js';
import { countdown, dateTime, priceRange } from '../format.js';
import { t } from '../i18n.js';
import { navigate } from '../router.js';
import { saleAhead } from '../sale.js';
import { badge, field, loading, notice, option, pageTitle } from '../ui.js';

const PAGE_SIZE = 12;
const STATUSES = ['', 'on_sale', 'upcoming', 'sold_out', 'ended', 'cancelled'];

function listUrl(q, status, page) {
  const params = new URLSearchParams();
  if (q) params.set('q', q);
  if (status) params.set('status', status);
  if (page > 1) params.set('page', String(page));
  const query = params.toString();
  return query ? `/?${query}` : '/';
}

function card(event) {
  const saleCountdown = h('span', { class: 'countdown', dataset: { saleStart: event.saleStartsAt } });
  return h(
    'li',
    { class: 'card event-card' },
    h(
      'div',
      { class: 'event-card__top' },
      badge(event.status),
      event.artistName && h('span', { class: 'muted' }, event.artistName),
    ),
    h('h2', { class: 'event-card__title' }, h('a', { href: `/events/${event.id}` }, event.title)),
    h('p', { class: 'muted' }, `${event.venue} · ${dateTime(event.startsAt)}`),
    h('p', { class: 'event-card__price' }, priceRange(event.minPrice, event.maxPrice)),
    saleAhead(event) &&
      h('p', { class: 'event-card__sale' }, h('span', {}, t('event.saleIn')), ' ', saleCountdown),
  );
}

function tickCountdowns(root) {
  for (const el of root.querySelectorAll('[data-sale-start]')) {
    const left = countdown(el.dataset.saleStart);
    el.textContent = left ?? t('event.saleNow');
  }
}

export async function render(outlet, ctx) {
  const q = ctx.query.get('q') ?? '';
  const status = ctx.query.get('status') ?? '';
  const page = Math.max(1, Number.parseInt(ctx.query.get('page') ?? '1', 10) || 1);

  const search = field(t('events.search'), { type: 'search', name: 'q', value: q, placeholder: t('events.searchHint') });
  const filter = field(t('events.status'), {
    tag: 'select',
    name: 'status',
    options: STATUSES.map((s) => option(s, s ? t(`status.${s}`) : t('events.allStatuses'), s === status)),
  });
  const form = h(
    'form',
    {
      class: 'toolbar',
      role: 'search',
      onsubmit: (e) => {
        e.preventDefault();
        navigate(listUrl(search.input.value.trim(), filter.input.value, 1));
      },
    },
    search,
    filter,
    h('button', { type: 'submit', class: 'btn btn--primary' }, t('events.searchButton')),
  );
  filter.input.addEventListener('change', () => form.requestSubmit());
  const results = h('section', { 'aria-live': 'polite' }, loading());
  replace(outlet, pageTitle(t('events.title')), form, results);

  let data;
  try {
    const params = new URLSearchParams({ page: String(page), limit: String(PAGE_SIZE) });
    if (q) params.set('q', q);
    if (status) params.set('status', status);
    data = await api.get(`/api/v1/events?${params}`);
  } catch (err) {
    replace(results, notice(describe(err), 'error'));
    return;
  }
  if (!ctx.alive) return;
  if (data.events.length === 0) {
    replace(results, notice(q || status ? t('events.noMatch') : t('events.none')));
    return;
  }
  const list = h('ul', { class: 'grid', 'aria-label': t('events.title') }, data.events.map(card));
  const pager = h(
    'nav',
    { class: 'pager', 'aria-label': t('pager.label') },
    page > 1 ? h('a', { href: listUrl(q, status, page - 1), class: 'btn', rel: 'prev' }, t('pager.prev')) : h('span'),
    h('span', { class: 'muted' }, t('pager.of', { page: data.page, pages: Math.max(1, data.totalPages), total: data.total })),
    page < data.totalPages ? h('a', { href: listUrl(q, status, page + 1), class: 'btn', rel: 'next' }, t('pager.next')) : h('span'),
  );
  replace(results, list, pager);
  tickCountdowns(list);
  ctx.every(1000, () => tickCountdowns(list));
}
