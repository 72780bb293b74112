// My reservations: status and seats; pay or cancel a pending hold, refund a paid one, and
// show a paid one's tickets (QR codes for the door, docs/tickets.md).

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

/** A confirmed reservation's tickets: one QR image per admission, with its code in text
 * for the door to type when a scan fails. */
function ticketsButton(reservation) {
  const panel = h('div', { class: 'passes-panel', 'aria-live': 'polite' });
  const button = h('button', { type: 'button', class: 'btn btn--small', 'aria-expanded': 'false' }, t('mine.tickets'));
  button.addEventListener('click', async () => {
    if (button.getAttribute('aria-expanded') === 'true') {
      button.setAttribute('aria-expanded', 'false');
      panel.replaceChildren();
      return;
    }
    button.setAttribute('aria-expanded', 'true');
    replace(panel, loading());
    try {
      const data = await api.get(`/api/v1/reservations/${reservation.reservationId}/tickets`);
      replace(
        panel,
        data.tickets.length
          ? h(
              'ul',
              { class: 'passes' },
              data.tickets.map((ticket) =>
                h(
                  'li',
                  { class: 'pass', 'data-testid': 'ticket', dataset: { code: ticket.code } },
                  // The server draws the image; as an <img> it cannot run script.
                  h('img', {
                    class: 'pass__qr',
                    src: `data:image/svg+xml;charset=utf-8,${encodeURIComponent(ticket.qrSvg)}`,
                    alt: t('mine.ticketQr', { label: ticket.label }),
                    width: 200,
                    height: 200,
                  }),
                  h('strong', { class: 'pass__label' }, ticket.label),
                  h('code', { class: 'pass__code' }, ticket.code.match(/.{1,4}/g).join(' ')),
                ),
              ),
            )
          : notice(t('mine.noTickets')),
      );
    } catch (err) {
      replace(panel, notice(describe(err), 'error'));
    }
  });
  return { button, panel };
}

function row(reservation, reload) {
  const pending = reservation.status === 'pending' && new Date(reservation.expiresAt) > new Date();
  const actions = h('div', { class: 'actions' });
  let tickets = null;
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
    tickets = ticketsButton(reservation);
    actions.append(
      tickets.button,
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
    tickets?.panel,
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
