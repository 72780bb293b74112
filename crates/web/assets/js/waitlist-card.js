// The waiting list on an event's page (docs/waiting-list.md): when no seat is free, a
// signed-in person may join it; seats that come back are held for them in turn, and this
// card says so the moment it happens (a server-sent stream), with the time left to pay.

import { api, describe } from './api.js';
import { h, replace } from './dom.js';
import { countdown, dateTime } from './format.js';
import { t } from './i18n.js';
import { navigate } from './router.js';
import { field, notice, option, toast } from './ui.js';

/** Whether any seat of the event is free now (the compact state: 'a' per free seat). */
async function anySeatFree(eventId) {
  const state = await api.get(`/api/v1/seats/events/${eventId}/state`);
  return state.seats.includes('a');
}

/** The card, or null for events without seats or visitors not signed in. */
export function waitlistCard(ctx, event, user) {
  if (!event.seatLayoutId || !user) return null;
  const body = h('div', { 'aria-live': 'polite' });
  const card = h('section', { class: 'card stack waitlist', 'data-testid': 'waitlist', hidden: true }, h('h2', {}, t('waitlist.title')), body);
  let stream = null;
  let view = null;
  const listen = () => {
    if (stream) return;
    stream = new EventSource(`/api/v1/waitlist/${event.id}/stream`);
    stream.addEventListener('waitlist', (e) => draw(JSON.parse(e.data)));
    ctx.onLeave(() => stream?.close());
  };

  const join = async (quantity) => {
    try {
      draw(await api.post(`/api/v1/waitlist/${event.id}`, { quantity: Number(quantity) }));
    } catch (err) {
      toast(describe(err), 'error');
    }
  };

  let maxSeats = 1;
  const joinForm = (intro) => {
    const quantity = field(t('waitlist.quantity'), {
      tag: 'select',
      name: 'waitlist-quantity',
      options: Array.from({ length: maxSeats }, (_, i) => option(String(i + 1), String(i + 1), i === 0)),
    });
    return h(
      'form',
      {
        class: 'stack',
        onsubmit: (e) => {
          e.preventDefault();
          join(quantity.input.value);
        },
      },
      h('p', {}, intro),
      quantity,
      h('button', { type: 'submit', class: 'btn btn--primary' }, t('waitlist.join')),
    );
  };

  const draw = (next) => {
    view = next;
    card.dataset.status = view.status;
    card.hidden = false;
    switch (view.status) {
      case 'waiting':
        listen();
        replace(
          body,
          h('p', { 'data-testid': 'waitlist-position' }, t('waitlist.waiting', { position: view.position, n: view.quantity })),
          h('p', { class: 'muted' }, t('waitlist.how')),
          h(
            'button',
            {
              type: 'button',
              class: 'btn btn--ghost',
              onclick: async () => {
                try {
                  draw(await api.delete(`/api/v1/waitlist/${event.id}`));
                } catch (err) {
                  toast(describe(err), 'error');
                }
              },
            },
            t('waitlist.leave'),
          ),
        );
        break;
      case 'offered': {
        listen();
        const left = h('strong', { 'data-testid': 'offer-left' }, countdown(view.offer.expiresAt) ?? '0:00');
        ctx.every(1000, () => {
          if (view?.status === 'offered') left.textContent = countdown(view.offer.expiresAt) ?? '0:00';
        });
        replace(
          body,
          notice(t('waitlist.offered', { n: view.quantity, until: dateTime(view.offer.expiresAt) }), 'ok'),
          h('p', {}, t('waitlist.timeLeft'), ' ', left),
          h(
            'div',
            { class: 'actions' },
            h('button', { type: 'button', class: 'btn btn--primary', 'data-testid': 'offer-pay', onclick: () => navigate(`/payment/${view.offer.reservationId}`) }, t('waitlist.pay')),
            h(
              'button',
              {
                type: 'button',
                class: 'btn btn--ghost',
                onclick: async () => {
                  try {
                    await api.post(`/api/v1/reservations/${view.offer.reservationId}/cancel`, {});
                    toast(t('waitlist.declined'), 'ok');
                  } catch (err) {
                    toast(describe(err), 'error');
                  }
                },
              },
              t('waitlist.decline'),
            ),
          ),
        );
        break;
      }
      case 'bought':
        replace(body, notice(t('waitlist.bought'), 'ok'), h('a', { href: '/reservations' }, t('nav.reservations')));
        break;
      case 'passed':
        replace(body, notice(t('waitlist.passed')), joinForm(t('waitlist.joinAgain')));
        break;
      default:
        replace(body, joinForm(t('waitlist.intro')));
    }
  };

  (async () => {
    try {
      const [current, rules] = await Promise.all([
        api.get(`/api/v1/waitlist/${event.id}`),
        api.get(`/api/v1/events/${event.id}/booking`),
      ]);
      if (!ctx.alive) return;
      maxSeats = rules.maxSeatsPerHold;
      // Nobody joins a list while seats are free; someone already on it sees it anyway.
      if (current.status === 'none' && (await anySeatFree(event.id))) return;
      if (ctx.alive) draw(current);
    } catch (err) {
      replace(body, notice(describe(err), 'error'));
      card.hidden = false;
    }
  })();
  return card;
}
