// My reservations: status and seats; pay or cancel a pending hold, refund a paid one.

import { api, describe } from '../api.js';
import { h, replace } from '../dom.js';
import { countdown, dateTime, money } from '../format.js';
import { t } from '../i18n.js';
import { badge, loading, notice, pageTitle, requireUser, toast } from '../ui.js';

/** A button that asks once more before acting ("Refund" → "Really refund?"). */
function confirmButton(label, question, action) {
  const wrap = h('span', { class: 'confirm' });
  const first = h('button', { type: 'button', class: 'btn btn--small' }, label);
  const ask = () => {
    const yes = h('button', { type: 'button', class: 'btn btn--danger btn--small' }, t('common.yes'));
    const no = h('button', { type: 'button', class: 'btn btn--ghost btn--small', onclick: () => replace(wrap, first) }, t('common.no'));
    yes.addEventListener('click', async () => {
      yes.disabled = true;
      await action();
    });
    replace(wrap, h('span', { class: 'confirm__q' }, question), ' ', yes, ' ', no);
    yes.focus();
  };
  first.addEventListener('click', ask);
  return replace(wrap, first);
}

function row(reservation, reload) {
  const pending = reservation.status === 'pending' && new Date(reservation.expiresAt) > new Date();
  const actions = h('div', { class: 'actions' });
  if (pending) {
    actions.append(
      h('a', { class: 'btn btn--primary btn--small', href: `/payment/${reservation.reservationId}` }, t('mine.pay')),
      confirmButton(t('mine.cancel'), t('mine.cancelQ'), async () => {
        try {
          await api.post(`/api/v1/reservations/${reservation.reservationId}/cancel`, {});
          toast(t('mine.cancelled'), 'ok');
        } catch (err) {
          toast(describe(err), 'error');
        }
        reload();
      }),
    );
  } else if (reservation.status === 'confirmed') {
    actions.append(
      confirmButton(t('mine.refund'), t('mine.refundQ'), async () => {
        try {
          const payment = await api.get(`/api/v1/reservations/${reservation.reservationId}/payment`);
          await api.post(`/api/v1/payments/${encodeURIComponent(payment.orderId)}/refund`, {});
          toast(t('mine.refunded'), 'ok');
        } catch (err) {
          toast(describe(err), 'error');
        }
        reload();
      }),
    );
  }
  return h(
    'li',
    { class: 'card reservation', 'data-testid': 'reservation', dataset: { status: reservation.status } },
    h('div', { class: 'reservation__head' }, h('h2', {}, reservation.eventTitle), badge(reservation.status)),
    h(
      'ul',
      { class: 'chips' },
      reservation.seats.map((item) => h('li', { class: 'chip' }, item.label ?? `${item.ticketTypeName ?? ''} × ${item.quantity}`)),
    ),
    h(
      'p',
      { class: 'muted' },
      `${money(reservation.totalAmount)} · ${dateTime(reservation.createdAt)}`,
      pending && ` · ${t('mine.expiresIn', { left: countdown(reservation.expiresAt) ?? '0:00' })}`,
    ),
    actions,
  );
}

export async function render(outlet, ctx) {
  if (!requireUser()) return;
  const list = h('div', { 'aria-live': 'polite' }, loading());
  replace(outlet, pageTitle(t('mine.title')), list);
  const reload = async () => {
    let data;
    try {
      data = await api.get('/api/v1/reservations/my?limit=50');
    } catch (err) {
      replace(list, notice(describe(err), 'error'));
      return;
    }
    if (!ctx.alive) return;
    replace(
      list,
      data.reservations.length
        ? h('ul', { class: 'stack' }, data.reservations.map((r) => row(r, reload)))
        : notice(t('mine.none')),
    );
  };
  await reload();
}
