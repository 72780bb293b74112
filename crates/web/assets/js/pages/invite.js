// An invitation link, `/invite#<token>` (docs/architecture.md#invitations): sign in if
// need be (coming back here, token and all), use the invitation, and go on to the
// event's queue page, where the place it gave is waiting. The token rides in the
// fragment so it never reaches a server log or a Referer header.

import { api, describe } from '../api.js';
import { h, replace } from '../dom.js';
import { t } from '../i18n.js';
import { navigate } from '../router.js';
import { currentUser } from '../session.js';
import { notice, pageTitle, toast } from '../ui.js';

export async function render(outlet) {
  const status = h('div', { 'aria-live': 'polite', 'data-testid': 'invite' }, notice(t('invite.working')));
  replace(outlet, h('div', { class: 'card card--narrow' }, pageTitle(t('invite.title')), status));
  const token = location.hash.slice(1);
  if (!token) {
    replace(status, notice(t('invite.missing'), 'error'));
    return;
  }
  if (!currentUser()) {
    // Like requireUser, but keeping the fragment, which holds the token.
    const next = encodeURIComponent(location.pathname + location.search + location.hash);
    navigate(`/login?next=${next}`, { replace: true });
    return;
  }
  let reply;
  try {
    reply = await api.post('/api/v1/invitations/redeem', { token });
  } catch (err) {
    const eventId = err.code === 'already_queued' ? eventOf(token) : null;
    replace(
      status,
      notice(describe(err), 'error'),
      eventId && h('p', {}, h('a', { class: 'btn', href: `/queue/${eventId}` }, t('invite.toQueue'))),
      !eventId && h('p', {}, h('a', { class: 'btn btn--ghost', href: '/' }, t('nav.events'))),
    );
    return;
  }
  toast(t('invite.done'), 'ok');
  // Replaces the link in the history: going back does not try a used link again.
  navigate(`/queue/${reply.eventId}`, { replace: true });
}

/** The event a token names (its `evt` claim), to offer the way to a queue place the
 * caller already has; the server checked the token, this only reads it. */
function eventOf(token) {
  try {
    const payload = token.split('.')[1].replaceAll('-', '+').replaceAll('_', '/');
    const evt = JSON.parse(atob(payload)).evt;
    return /^[0-9a-f-]{36}$/i.test(evt) ? evt : null;
  } catch {
    return null;
  }
}
