// The operator's invitations for one event (docs/architecture.md#invitations): mint
// single-use links (who for, priority, how many, how long), see how many are unused,
// used, revoked or expired, copy a link, revoke one. Refreshed every few seconds, so a
// guest's use shows up while the page is open.

import { api, describe } from '../api.js';
import { h, replace } from '../dom.js';
import { dateTime, number } from '../format.js';
import { t } from '../i18n.js';
import { field, notice, toast } from '../ui.js';

const COUNTS = ['minted', 'active', 'redeemed', 'revoked', 'expired'];
const BADGE = { active: 'ok', redeemed: 'info', revoked: 'bad', expired: 'muted' };

/** The link as the operator's own site serves it; the server signs only the token. */
function linkOf(invitation) {
  return `${location.origin}/invite#${invitation.token}`;
}

async function copy(invitation, fallback) {
  const link = linkOf(invitation);
  try {
    await navigator.clipboard.writeText(link);
    toast(t('admin.invite.copied'), 'ok');
  } catch {
    // No clipboard (an insecure origin, a refused permission): show it to copy by hand.
    const input = h('input', { type: 'text', readonly: true, value: link, 'aria-label': t('admin.invite.copy') });
    replace(fallback, notice(t('admin.invite.copyFailed')), input);
    input.select();
  }
}

function row(invitation, refresh, fallback) {
  const revoke = async () => {
    if (!window.confirm(t('admin.invite.revokeConfirm', { label: invitation.label }))) return;
    try {
      await api.post(`/api/v1/admin/invitations/${invitation.id}/revoke`, {});
      toast(t('admin.invite.revoked'), 'ok');
    } catch (err) {
      toast(describe(err), 'error');
    }
    refresh();
  };
  const active = invitation.status === 'active';
  return h(
    'tr',
    { 'data-invitation': invitation.id, 'data-status': invitation.status },
    h('td', {}, invitation.label),
    h('td', {}, number(invitation.priority)),
    h('td', {}, h('span', { class: `badge badge--${BADGE[invitation.status] ?? 'muted'}`, 'data-testid': 'invite-status' }, t(`admin.invite.state.${invitation.status}`))),
    h('td', { 'data-testid': 'invite-redeemed-by' }, invitation.redeemedByEmail ?? '—'),
    h('td', {}, dateTime(invitation.expiresAt)),
    h(
      'td',
      {},
      active &&
        h(
          'div',
          { class: 'actions' },
          h('button', { type: 'button', class: 'btn btn--small', 'data-action': 'copy', onclick: () => copy(invitation, fallback) }, t('admin.invite.copy')),
          h('button', { type: 'button', class: 'btn btn--small btn--ghost', 'data-action': 'revoke', onclick: revoke }, t('admin.invite.revoke')),
        ),
    ),
  );
}

export function invitationsCard(ctx, eventId) {
  const counts = h('div', { class: 'stats', 'data-testid': 'invite-counts' });
  const list = h('div', { class: 'table-scroll' });
  const fallback = h('div', { 'aria-live': 'polite' });
  const label = field(t('admin.invite.label'), { type: 'text', name: 'label', required: true, maxlength: '200' });
  const priority = field(t('admin.invite.priority'), { type: 'number', name: 'priority', min: '0', value: '0', required: true });
  const count = field(t('admin.invite.count'), { type: 'number', name: 'count', min: '1', max: '500', value: '1', required: true });
  const hours = field(t('admin.invite.hours'), { type: 'number', name: 'expiresInHours', min: '1', max: '2160', value: '72', required: true });

  const refresh = async () => {
    let reply;
    try {
      reply = await api.get(`/api/v1/admin/events/${eventId}/invitations`);
    } catch (err) {
      replace(list, notice(describe(err), 'error'));
      return;
    }
    if (!ctx.alive) return;
    replace(
      counts,
      COUNTS.map((k) =>
        h('div', { class: 'stat' }, h('span', { class: 'stat__label' }, t(`admin.invite.count.${k}`)), h('strong', { class: 'stat__value', 'data-testid': `invite-count-${k}` }, number(reply.counts[k]))),
      ),
    );
    if (reply.invitations.length === 0) {
      replace(list, h('p', { class: 'muted' }, t('admin.invite.none')));
      return;
    }
    const columns = [t('admin.invite.label'), t('admin.invite.priority'), t('admin.invite.status'), t('admin.invite.redeemedBy'), t('admin.invite.expires'), ''];
    replace(
      list,
      h(
        'table',
        { class: 'table', 'data-testid': 'invite-table' },
        h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, reply.invitations.map((i) => row(i, refresh, fallback))),
      ),
    );
  };

  const form = h(
    'form',
    {
      class: 'stack',
      'data-testid': 'invite-form',
      onsubmit: async (e) => {
        e.preventDefault();
        const body = {
          label: label.input.value,
          priority: Number(priority.input.value),
          count: Number(count.input.value),
          expiresInHours: Number(hours.input.value),
        };
        try {
          const minted = await api.post(`/api/v1/admin/events/${eventId}/invitations`, body);
          toast(t('admin.invite.minted', { n: minted.invitations.length }), 'ok');
          label.input.value = '';
        } catch (err) {
          toast(describe(err), 'error');
        }
        refresh();
      },
    },
    h('div', { class: 'form-grid form-grid--small' }, label, priority, count, hours),
    h('button', { type: 'submit', class: 'btn' }, t('admin.invite.mint')),
  );

  refresh();
  ctx.every(5000, refresh);
  return h(
    'section',
    { class: 'card stack admin-wide', 'data-testid': 'invitations' },
    h('h2', {}, t('admin.invite.title')),
    h('p', { class: 'muted' }, t('admin.invite.intro')),
    form,
    counts,
    fallback,
    list,
  );
}
