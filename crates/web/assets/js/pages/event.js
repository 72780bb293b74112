// Event detail: ticket types, venue, pre-sale windows, and a Book button that is live only
// while the sale is open. Book opens the Tier-1 room (the seed's modal:
// docs/architecture.md#the-design-urr-rebuilds).

import { api } from '../api.js';
import { h, replace } from '../dom.js';
import { countdown, dateTime, money, number } from '../format.js';
import { t } from '../i18n.js';
import { navigate } from '../router.js';
import { presaleNow, saleAhead, saleOpen } from '../sale.js';
import { currentUser } from '../session.js';
import { badge, loading, pageTitle } from '../ui.js';
import { openWaitingRoom } from '../vwr-modal.js';
import { savedPlace } from '../waiting-room.js';
import { waitlistCard } from '../waitlist-card.js';

/** A membership tier's name; an unknown tier is shown as the server names it. */
function tierName(tier) {
  const name = t(`tier.${tier}`);
  return name === `tier.${tier}` ? tier : name;
}

function facts(event) {
  const row = (label, value) => [h('dt', {}, label), h('dd', {}, value)];
  return h(
    'dl',
    { class: 'facts' },
    row(t('event.venue'), event.venue),
    row(t('event.address'), event.address),
    row(t('event.startsAt'), dateTime(event.startsAt)),
    row(t('event.saleWindow'), `${dateTime(event.saleStartsAt)} – ${event.saleEndsAt ? dateTime(event.saleEndsAt) : t('event.untilSoldOut')}`),
  );
}

function ticketTypes(event) {
  if (!event.ticketTypes?.length) return null;
  return h(
    'section',
    {},
    h('h2', {}, t('event.ticketTypes')),
    h(
      'table',
      { class: 'table' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('event.ticketType')), h('th', { scope: 'col' }, t('event.price')), h('th', { scope: 'col' }, t('event.quantity')))),
      h(
        'tbody',
        {},
        event.ticketTypes.map((tt) =>
          h('tr', {}, h('td', {}, tt.name), h('td', {}, money(tt.price)), h('td', {}, tt.quantity == null ? '—' : number(tt.quantity))),
        ),
      ),
    ),
  );
}

function presale(event) {
  if (!event.presaleWindows?.length) return null;
  return h(
    'section',
    {},
    h('h2', {}, t('event.presale')),
    h(
      'ul',
      { class: 'presale' },
      event.presaleWindows.map((w) =>
        h('li', {}, h('strong', {}, tierName(w.tier)), ' ', `${dateTime(w.opensAt)} – ${dateTime(w.closesAt)}`),
      ),
    ),
  );
}

export async function render(outlet, ctx) {
  replace(outlet, loading());
  const event = await api.get(`/api/v1/events/${ctx.params.id}`);
  if (!ctx.alive) return;

  const book = h('button', { type: 'button', class: 'btn btn--primary btn--large', 'data-testid': 'book' }, t('event.book'));
  const saleNote = h('p', { class: 'muted', 'aria-live': 'polite' });
  const refreshBook = () => {
    const open = saleOpen(event);
    book.disabled = !open;
    const left = saleAhead(event) ? countdown(event.saleStartsAt) : null;
    const presale = presaleNow(event);
    saleNote.textContent = presale
      ? t('event.presaleOpen', { tier: tierName(presale.tier) })
      : open
        ? t('event.saleOpen')
        : left
          ? t('event.saleOpensIn', { left })
          : t('event.saleClosed');
  };
  refreshBook();
  ctx.every(1000, refreshBook);

  const start = () => {
    const user = currentUser();
    if (!user) {
      navigate(`/login?next=${encodeURIComponent(location.pathname)}`);
      return;
    }
    openWaitingRoom(ctx, event, user);
  };
  book.addEventListener('click', start);

  replace(
    outlet,
    h(
      'div',
      { class: 'event-head' },
      h('div', {}, badge(event.status), event.artistName && h('span', { class: 'muted' }, ` ${event.artistName}`)),
      pageTitle(event.title),
    ),
    h(
      'div',
      { class: 'split' },
      h(
        'div',
        {},
        facts(event),
        event.description && h('p', { class: 'description' }, event.description),
        presale(event),
        ticketTypes(event),
        event.seatLayoutId && h('p', { class: 'muted' }, t('event.seated')),
      ),
      h('div', { class: 'stack' }, h('aside', { class: 'card book-box' }, h('h2', {}, t('event.bookTitle')), saleNote, book), waitlistCard(ctx, event, currentUser())),
    ),
  );

  // A reload while waiting in the room resumes the same place.
  const user = currentUser();
  if (user && savedPlace(event.id, user.id) && saleOpen(event)) start();
}
