// Where payments land: the success page (confirming a Toss redirect first) shows the
// ticket; the failure page says why and offers the way back.

import { api, describe } from '../api.js';
import { h, replace } from '../dom.js';
import { dateTime, money } from '../format.js';
import { t } from '../i18n.js';
import { badge, loading, notice, pageTitle, requireUser } from '../ui.js';

function ticket(reservation, payment) {
  return h(
    'article',
    { class: 'ticket', 'data-testid': 'ticket', 'aria-label': t('ticket.label') },
    h('div', { class: 'ticket__head' }, h('span', { class: 'ticket__brand' }, 'URR'), badge(reservation.status)),
    h('h2', { class: 'ticket__title' }, reservation.eventTitle),
    h(
      'ul',
      { class: 'ticket__seats' },
      reservation.seats.map((item) => h('li', {}, item.label ?? `${item.ticketTypeName ?? ''} × ${item.quantity}`)),
    ),
    h(
      'dl',
      { class: 'facts facts--compact' },
      h('dt', {}, t('ticket.number')),
      h('dd', { class: 'mono' }, reservation.reservationId),
      h('dt', {}, t('ticket.amount')),
      h('dd', {}, money(reservation.totalAmount)),
      payment && [h('dt', {}, t('ticket.order')), h('dd', { class: 'mono' }, payment.orderId)],
      reservation.confirmedAt && [h('dt', {}, t('ticket.confirmedAt')), h('dd', {}, dateTime(reservation.confirmedAt))],
    ),
  );
}

export const success = {
  async render(outlet, ctx) {
    if (!requireUser()) return;
    replace(outlet, loading());
    const q = ctx.query;
    let payment = null;
    try {
      if (q.get('paymentKey')) {
        payment = await api.post('/api/v1/payments/confirm', {
          paymentKey: q.get('paymentKey'),
          orderId: q.get('orderId'),
          amount: Number(q.get('amount')),
        });
      } else if (q.get('orderId')) {
        payment = await api.get(`/api/v1/payments/${encodeURIComponent(q.get('orderId'))}`);
      }
    } catch (err) {
      if (!ctx.alive) return;
      replace(outlet, pageTitle(t('result.failTitle')), notice(describe(err), 'error'));
      return;
    }
    const reservationId = q.get('reservationId') ?? payment?.reservationId;
    const fetchReservation = () => (reservationId ? api.get(`/api/v1/reservations/${reservationId}`) : null);
    let reservation = await fetchReservation();
    // Paid, ticket not issued yet (the event's owner was busy or a node restarted): the
    // server finishes it by itself, so wait for it here rather than alarm the buyer.
    for (let i = 0; i < 15 && reservation?.status === 'pending' && payment?.status === 'paid'; i += 1) {
      if (i === 0) replace(outlet, pageTitle(t('result.issuingTitle')), h('p', { class: 'lead', 'aria-busy': 'true' }, t('result.issuing')));
      await new Promise((resolve) => setTimeout(resolve, 2000));
      if (!ctx.alive) return;
      reservation = await fetchReservation();
    }
    if (!ctx.alive) return;
    const issued = !(reservation?.status === 'pending' && payment?.status === 'paid');
    replace(
      outlet,
      pageTitle(t(issued ? 'result.successTitle' : 'result.issuingTitle')),
      h('p', { class: 'lead' }, t(issued ? 'result.successLead' : 'result.issuingLater')),
      reservation && ticket(reservation, payment),
      h('p', { class: 'actions' }, h('a', { class: 'btn btn--primary', href: '/reservations' }, t('nav.reservations')), h('a', { class: 'btn', href: '/' }, t('nav.events'))),
    );
  },
};

export const failure = {
  async render(outlet, ctx) {
    const q = ctx.query;
    const reservationId = q.get('reservationId');
    replace(
      outlet,
      pageTitle(t('result.failTitle')),
      notice(q.get('message') || t('result.failLead'), 'error'),
      q.get('code') && h('p', { class: 'muted mono' }, q.get('code')),
      h(
        'p',
        { class: 'actions' },
        reservationId && h('a', { class: 'btn btn--primary', href: `/payment/${encodeURIComponent(reservationId)}` }, t('result.tryAgain')),
        h('a', { class: 'btn', href: '/reservations' }, t('nav.reservations')),
      ),
    );
  },
};
