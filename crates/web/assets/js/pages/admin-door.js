// The operator's side of the door (docs/tickets.md): how many ticket holders are in, per
// gate, and who may check tickets in.

import { api, describe } from '../api.js';
import { h, replace } from '../dom.js';
import { number } from '../format.js';
import { t } from '../i18n.js';
import { field, loading, notice, option, toast } from '../ui.js';

/** Check-ins of one event, refreshed while the page is open. */
export function doorCard(ctx, eventId) {
  const body = h('div', { 'aria-live': 'polite' }, loading());
  const refresh = async () => {
    try {
      const counts = await api.get(`/api/v1/admin/events/${eventId}/check-ins`);
      if (!ctx.alive) return;
      replace(
        body,
        h(
          'p',
          { class: 'door-counts', 'data-testid': 'door-counts', dataset: { checkedIn: counts.checkedIn, tickets: counts.tickets } },
          t('door.counts', { in: number(counts.checkedIn), of: number(counts.tickets) }),
        ),
        counts.byGate.length
          ? h('ul', { class: 'chips' }, counts.byGate.map((g) => h('li', { class: 'chip' }, `${g.gate}: ${number(g.checkedIn)}`)))
          : null,
      );
    } catch (err) {
      replace(body, notice(describe(err), 'error'));
    }
  };
  refresh();
  ctx.every(5000, refresh);
  return h('section', { class: 'card stack' }, h('h2', {}, t('door.cardTitle')), body);
}

/** Makes an account door staff (or a plain user again). */
export function staffCard() {
  const email = field(t('auth.email'), { type: 'email', name: 'staff-email', required: true });
  const role = field(t('door.role'), {
    tag: 'select',
    name: 'staff-role',
    options: [option('staff', t('door.roleStaff'), true), option('user', t('door.roleUser'))],
  });
  return h(
    'form',
    {
      class: 'card stack',
      onsubmit: async (e) => {
        e.preventDefault();
        try {
          const account = await api.put('/api/v1/admin/roles', { email: email.input.value.trim(), role: role.input.value });
          toast(t('door.roleSet', { email: account.email, role: t(account.role === 'staff' ? 'door.roleStaff' : 'door.roleUser') }), 'ok');
          email.input.value = '';
        } catch (err) {
          toast(describe(err), 'error');
        }
      },
    },
    h('h2', {}, t('door.staffTitle')),
    h('p', { class: 'muted' }, t('door.staffHint')),
    email,
    role,
    h('button', { type: 'submit', class: 'btn' }, t('door.setRole')),
  );
}
