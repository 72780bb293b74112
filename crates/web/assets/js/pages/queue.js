// The Tier-2 queue page: live position, heartbeat, leave; on to the seat map (or the
// ticket-type booking) once admitted.

import { api, describe } from '../api.js';
import { h, replace } from '../dom.js';
import { t } from '../i18n.js';
import { navigate } from '../router.js';
import { Queue } from '../queue-client.js';
import { loading, notice, pageTitle, requireUser, toast } from '../ui.js';
import { createPanel } from '../waiting-panel.js';

export async function render(outlet, ctx) {
  if (!requireUser()) return;
  replace(outlet, loading());
  const eventId = ctx.params.id;
  const event = await api.get(`/api/v1/events/${eventId}`);
  if (!ctx.alive) return;
  const next = event.seatLayoutId ? `/events/${eventId}/seats` : `/events/${eventId}/book`;

  const panel = createPanel({ title: t('queue.title'), intro: t('queue.intro') });
  ctx.onLeave(() => panel.destroy());
  const mode = h('p', { class: 'live-mode', 'data-testid': 'queue-mode' });
  const behind = h('p', { class: 'muted', 'data-testid': 'behind' });
  const message = h('div', { 'aria-live': 'assertive' });
  const leave = h('button', { type: 'button', class: 'btn btn--ghost' }, t('queue.leave'));
  panel.extra.append(behind, mode);
  replace(
    outlet,
    pageTitle(event.title),
    h('div', { class: 'card card--narrow', 'data-testid': 'queue-page' }, panel.el, message, h('div', { class: 'actions' }, leave)),
  );

  let startAhead = null;
  const queue = new Queue({
    eventId,
    onUpdate: (reply, how) => {
      startAhead ??= reply.peopleAhead;
      panel.update({
        phase: 'waiting',
        position: reply.position,
        ahead: reply.peopleAhead,
        estimatedWait: reply.estimatedWait,
        progress: startAhead > 0 ? (startAhead - reply.peopleAhead) / startAhead : 0,
        nextPoll: how === 'polling' ? reply.nextPoll : null,
      });
      behind.textContent = t('queue.behind', { n: reply.peopleBehind ?? 0 });
      // Sold out: the line keeps its order and waits for refunds; say so.
      if (reply.soldOut) replace(message, notice(t('queue.soldOut'), 'info'));
      else if (message.dataset.soldOut) replace(message);
      message.dataset.soldOut = reply.soldOut ? '1' : '';
      mode.textContent = how === 'live' ? t('queue.live') : t('queue.polling');
      mode.dataset.mode = how;
    },
    onAdmitted: () => {
      panel.update({ phase: 'admitted', progress: 1, ahead: 0 });
      toast(t('queue.admitted'), 'ok');
      navigate(next, { replace: true });
    },
    onLeft: () => {
      replace(message, notice(t('queue.dropped'), 'error'), h('button', { type: 'button', class: 'btn', onclick: () => navigate(location.pathname, { replace: true }) }, t('queue.rejoin')));
    },
    onError: (err) => replace(message, notice(describe(err), 'error')),
  });
  ctx.onLeave(() => queue.stop());
  leave.addEventListener('click', async () => {
    try {
      await queue.leave();
    } finally {
      navigate(`/events/${eventId}`);
    }
  });

  try {
    await queue.join();
  } catch (err) {
    if (!ctx.alive) return;
    if (err.code === 'tier1_token_required') {
      // The room is open and this browser has no (or an expired) Tier-1 token.
      navigate(`/vwr/${eventId}`, { replace: true });
      return;
    }
    replace(message, notice(describe(err), 'error'));
  }
}
