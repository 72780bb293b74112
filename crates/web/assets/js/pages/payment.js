// Paying for a hold before it lapses: the countdown, the sandbox methods (and Toss's card
// window when the node has Toss keys).

import { api, describe } from '../api.js';
import { loadScript, siteConfig } from '../config.js';
import { h, replace } from '../dom.js';
import { clock, money } from '../format.js';
import { t } from '../i18n.js';
import { navigate } from '../router.js';
import { badge, loading, notice, pageTitle, requireUser } from '../ui.js';

const TOSS_SDK = 'https://js.tosspayments.com/v1/payment';

function itemsList(reservation) {
  return h(
    'ul',
    { class: 'chips', 'data-testid': 'reservation-items' },
    reservation.seats.map((item) =>
      h('li', { class: 'chip' }, item.label ?? `${item.ticketTypeName ?? ''} × ${item.quantity}`),
    ),
  );
}

async function payWithToss(reservation) {
  const prepared = await api.post('/api/v1/payments/prepare', { reservationId: reservation.reservationId });
  await loadScript(TOSS_SDK);
  const toss = window.TossPayments(prepared.clientKey);
  const back = `${location.origin}/payment`;
  await toss.requestPayment('카드', {
    amount: prepared.amount,
    orderId: prepared.orderId,
    orderName: reservation.eventTitle,
    successUrl: `${back}/success?reservationId=${reservation.reservationId}`,
    failUrl: `${back}/fail?reservationId=${reservation.reservationId}`,
  });
}

export async function render(outlet, ctx) {
  if (!requireUser()) return;
  replace(outlet, loading());
  const id = ctx.params.id;
  const reservation = await api.get(`/api/v1/reservations/${id}`);
  if (!ctx.alive) return;
  if (reservation.status === 'confirmed') {
    navigate(`/payment/success?reservationId=${id}`, { replace: true });
    return;
  }

  const config = siteConfig();
  const methods = [
    ...(config.paymentSandbox ? config.sandboxMethods : []),
    ...(config.toss ? ['toss'] : []),
  ];
  const message = h('div', { 'aria-live': 'assertive' });
  const timer = h('strong', { class: 'hold-timer', 'data-testid': 'hold-timer' });
  const pay = h('button', { type: 'submit', class: 'btn btn--primary btn--large', 'data-testid': 'pay' }, t('pay.pay', { amount: money(reservation.totalAmount) }));
  const choices = h(
    'fieldset',
    { class: 'methods' },
    h('legend', {}, t('pay.method')),
    methods.map((m, i) =>
      h('label', { class: 'method' }, h('input', { type: 'radio', name: 'method', value: m, checked: i === 0 }), h('span', {}, t(`pay.methods.${m}`))),
    ),
  );

  const status = h('p', {}, badge(reservation.status));
  const expired = () => {
    pay.disabled = true;
    if (reservation.status === 'pending') replace(status, badge('expired'));
    timer.textContent = '0:00';
    replace(
      message,
      notice(t('pay.expired'), 'error'),
      h('a', { class: 'btn', href: `/events/${reservation.eventId}/seats` }, t('pay.backToSeats')),
    );
  };
  const tick = () => {
    const left = (new Date(reservation.expiresAt).getTime() - Date.now()) / 1000;
    if (left <= 0) {
      expired();
      return false;
    }
    timer.textContent = clock(left);
    return true;
  };

  const form = h(
    'form',
    {
      class: 'stack',
      onsubmit: async (e) => {
        e.preventDefault();
        const method = new FormData(form).get('method');
        if (!method || !tick()) return;
        pay.disabled = true;
        replace(message, h('p', { class: 'muted', 'aria-busy': 'true' }, t('pay.processing')));
        try {
          if (method === 'toss') {
            await payWithToss(reservation);
            return;
          }
          const paid = await api.post('/api/v1/payments/process', { reservationId: id, method });
          navigate(`/payment/success?orderId=${encodeURIComponent(paid.orderId)}&reservationId=${id}`);
        } catch (err) {
          if (!ctx.alive) return;
          const query = new URLSearchParams({ reservationId: id, code: err.code ?? 'error', message: describe(err) });
          navigate(`/payment/fail?${query}`);
        }
      },
    },
    methods.length ? choices : notice(t('pay.noMethods'), 'error'),
    message,
    pay,
  );
  if (!methods.length) pay.disabled = true;

  replace(
    outlet,
    pageTitle(t('pay.title')),
    h(
      'div',
      { class: 'split' },
      h(
        'section',
        { class: 'card' },
        h('h2', {}, reservation.eventTitle),
        status,
        itemsList(reservation),
        h('p', { class: 'total' }, t('seats.total'), ' ', h('strong', { 'data-testid': 'amount' }, money(reservation.totalAmount))),
        h('p', { class: 'hold-box' }, t('pay.holdLeft'), ' ', timer),
      ),
      h('section', { class: 'card' }, form),
    ),
  );
  if (reservation.status !== 'pending') {
    expired();
    replace(message, notice(t('pay.notPending', { status: t(`status.${reservation.status}`) }), 'error'));
    return;
  }
  if (tick()) {
    const id2 = ctx.every(500, () => {
      if (!tick()) clearInterval(id2);
    });
  }
}
