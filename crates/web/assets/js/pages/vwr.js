// The seed's static VWR page (/vwr/{eventId}): the Tier-1 wait on a page of its own,
// where the Tier-2 queue sends people whose room token is missing or expired
// (docs/architecture.md#the-design-urr-rebuilds).

import { api } from '../api.js';
import { captchaHook } from '../captcha.js';
import { h, replace } from '../dom.js';
import { t } from '../i18n.js';
import { navigate } from '../router.js';
import { loading, pageTitle, requireUser } from '../ui.js';
import { WaitingRoom } from '../waiting-room.js';
import { createPanel } from '../waiting-panel.js';

export async function render(outlet, ctx) {
  const user = requireUser();
  if (!user) return;
  replace(outlet, loading());
  const event = await api.get(`/api/v1/events/${ctx.params.id}`);
  if (!ctx.alive) return;
  const panel = createPanel({ title: t('vwr.title'), intro: t('vwr.pageIntro') });
  ctx.onLeave(() => panel.destroy());
  replace(
    outlet,
    pageTitle(event.title),
    h('div', { class: 'card card--narrow', 'data-testid': 'vwr-page' }, panel.el),
    h('p', {}, h('a', { href: `/events/${event.id}` }, t('common.backToEvent'))),
  );
  const room = new WaitingRoom({
    eventId: event.id,
    userId: user.id,
    onUpdate: (view) => panel.update(view),
    captcha: captchaHook(panel.extra),
    onDone: () => navigate(`/queue/${event.id}`, { replace: true }),
  });
  ctx.onLeave(() => room.stop());
  room.start();
}
