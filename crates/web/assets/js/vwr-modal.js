// The seed's VWR modal: the Tier-1 wait over the event page, in a <dialog>
// (docs/architecture.md#the-design-urr-rebuilds).

import { captchaHook } from './captcha.js';
import { h } from './dom.js';
import { t } from './i18n.js';
import { navigate } from './router.js';
import { WaitingRoom } from './waiting-room.js';
import { createPanel } from './waiting-panel.js';

/** Opens the room for (event, user); moves on to the Tier-2 queue when let through. */
export function openWaitingRoom(ctx, event, user) {
  const panel = createPanel({ title: t('vwr.title'), intro: t('vwr.intro', { title: event.title }) });
  const leave = h('button', { type: 'button', class: 'btn btn--ghost' }, t('vwr.leave'));
  const dialog = h(
    'dialog',
    { class: 'modal', 'aria-label': t('vwr.title'), 'data-testid': 'vwr-modal' },
    panel.el,
    h('div', { class: 'modal__actions' }, leave),
  );
  document.body.append(dialog);
  const room = new WaitingRoom({
    eventId: event.id,
    userId: user.id,
    onUpdate: (view) => {
      panel.update(view);
      // How long the proof of work took, for the curious and the UI tests.
      if (view.solveMs != null) dialog.dataset.solveMs = view.solveMs;
    },
    captcha: captchaHook(panel.extra),
    onDone: () => {
      close();
      navigate(`/queue/${event.id}`);
    },
  });
  const close = () => {
    room.stop();
    panel.destroy();
    if (dialog.open) dialog.close();
    dialog.remove();
  };
  leave.addEventListener('click', () => {
    room.abandon();
    close();
  });
  // Escape closes the dialog but keeps the place: reopening resumes it.
  dialog.addEventListener('cancel', (e) => {
    e.preventDefault();
    close();
  });
  ctx.onLeave(close);
  dialog.showModal();
  room.start();
  return close;
}
